"""HTTP figures of the stack that playbooks/site.yml deploys: Nginx vs Gunicorn vs bare Nginx.

The example blog in two Debian 12 systemd containers converged in one run, one per Gunicorn
bind (flask-blog-bench-serving-tcp: 127.0.0.1:8000, flask-blog-bench-serving-unix:
unix:/run/blog/gunicorn.sock). Every load runs inside the container against 127.0.0.1 and is
bounded in time and in count; each ratio's two sides use the same generator, interleaved in
rounds in the same run (the median round is shown):

  1. a static file (/static/style.css) through our Nginx site (HTTPS) vs the same file from
     Gunicorn straight (the Flask app serves /static too), target >= 20x; and vs a bare Nginx
     server block (benchmarks/serving/bare-nginx.conf: HTTPS with the same certificate on
     127.0.0.1:8443, in the same nginx, so under the same nginx.conf: Debian's, with the role's
     edits of ssl_protocols, ssl_prefer_server_ciphers and worker_rlimit_nofile), target >= 0.9.
     All three with wrk.
  2. the home page through Nginx vs straight from Gunicorn, target >= 0.85: on the TCP bind with
     wrk and with the stdlib generator load.py (the suite's molecule/stack/tests/load_probe.py),
     on the Unix socket with load.py (wrk cannot talk to a Unix socket).
  3. a redeploy of changed code (a template edit, so the app must restart) with site.yml while a
     paced load runs through Nginx on both containers: failed requests (target 0), the slowest.

Prints a table; a missed target says MISSED. Asserts nothing about speed.

  .venv/bin/python benchmarks/serving.py [--seconds 5] [--rounds 3] [--quick]
"""

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib import stack

FILES = Path(__file__).resolve().parent / "serving"
LOAD_PY = stack.ROOT / "molecule" / "stack" / "tests" / "load_probe.py"  # "load.py" in the table
TCP, UNIX = "flask-blog-bench-serving-tcp", "flask-blog-bench-serving-unix"
BINDS = {TCP: "127.0.0.1:8000", UNIX: "unix:/run/blog/gunicorn.sock"}
PUBLIC = f"https://{stack.PUBLIC_HOST}"
BARE = f"https://{stack.PUBLIC_HOST}:8443"
DIRECT_TCP = f"http://{BINDS[TCP]}"
STATIC = "/static/style.css"
PAGE = "/"
WORK = "/root/bench-serving"  # the generator's files in the container
# New in every run, so that each redeploy changes the code.
RELEASE_MARK = f'<meta name="release" content="bench-serving-{time.time_ns()}">'


def wrk(name, url, args, seconds, max_requests):
    """One wrk run (threads, connections, duration), stopped after max_requests in all."""
    threads = int(args.wrk_threads)
    command = (
        f"timeout {seconds + 15} wrk -t{threads} -c{args.wrk_connections} -d{seconds}s "
        f"--timeout 10s -s {WORK}/bounded.lua {shlex.quote(url)} "
        f"-- {max_requests // threads}"
    )
    out = stack.sh(name, command, timeout=seconds + 30).stdout
    result = json.loads(out.strip().splitlines()[-1])
    errors = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    result.update(per_second=result["requests"] / result["seconds"], failed=errors)
    # wrk's duration is -d even when every thread stopped early on its count
    result["count_bound"] = result["requests"] >= max_requests - args.wrk_connections
    result["bytes_per_response"] = result["bytes"] / max(result["requests"], 1)
    return result


def load(name, target, path, concurrency, seconds, max_requests, rate=0, stop_file=""):
    """The command line of one load.py run in the container (the script goes on stdin)."""
    options = {"paths": path, "concurrency": concurrency, "seconds": seconds,
               "max-requests": max_requests, "rate": rate}  # fmt: skip
    argv = [f"--{option}={value}" for option, value in options.items()]
    if stop_file:
        argv.append(f"--stop-file={stop_file}")
    return [
        "docker", "exec", "-i", name, "timeout", str(int(seconds) + 30),
        "python3", "-", target, *argv,
    ]  # fmt: skip


def python_load(name, target, path, args, seconds, max_requests):
    run = subprocess.run(
        load(name, target, path, args.py_concurrency, seconds, max_requests),
        input=LOAD_PY.read_text(), capture_output=True, text=True,
        timeout=seconds + 60, check=True,
    )  # fmt: skip
    result = json.loads(run.stdout)
    result["count_bound"] = result["requests"] >= max_requests
    return result


def rounds(pairs, args):
    """Run every (label, measure) once per round, in turn; warm each up first. Returns
    {label: [results]}."""
    results = {label: [] for label, _measure in pairs}
    for _label, measure in pairs:
        measure(1, 10_000)
    for _round in range(args.rounds):
        for label, measure in pairs:
            results[label].append(measure(args.seconds, args.max_requests))
    return results


def median(results):
    """The round with the median requests/s, and the min and max of all rounds."""
    ordered = sorted(results, key=lambda r: r["per_second"])
    return ordered[len(ordered) // 2], ordered[0]["per_second"], ordered[-1]["per_second"]


def curl(name, url, *options):
    """Status and body of one request from inside the container."""
    opts = " ".join(shlex.quote(o) for o in options)
    out = stack.sh(name, f"curl -sk --max-time 15 -w '%{{http_code}}' {opts} {shlex.quote(url)}")
    return int(out.stdout[-3:]), out.stdout[:-3]


def require_200(name, url, *options):
    status, body = curl(name, url, *options)
    if status != 200:
        sys.exit(f"{name}: {url} answered {status}: {body[:300]}")
    return body


def tls_of(name, port):
    out = stack.sh(
        name,
        f"openssl s_client -connect 127.0.0.1:{port} -servername {stack.PUBLIC_HOST} "
        "</dev/null 2>/dev/null | sed -n 's/^New, \\(.*\\)$/\\1/p' | head -1",
        check=False,
    ).stdout.strip()
    return out or "?"


def setup_bare_nginx(name):
    site = stack.sh(name, "cat /etc/nginx/sites-enabled/*").stdout
    certificate = next(
        line.split()[1].rstrip(";")
        for line in site.splitlines()
        if line.strip().startswith("ssl_certificate ")
    )
    key = next(
        line.split()[1].rstrip(";")
        for line in site.splitlines()
        if line.strip().startswith("ssl_certificate_key ")
    )
    conf = (FILES / "bare-nginx.conf").read_text()
    conf = conf.replace("@CERTIFICATE@", certificate).replace("@KEY@", key)
    stack.put(name, "/etc/nginx/sites-enabled/zz-bench-bare.conf", conf)
    stack.sh(name, "nginx -t -q && systemctl reload nginx && sleep 1")


def remove_bare_nginx(name):
    stack.sh(name, "rm -f /etc/nginx/sites-enabled/zz-bench-bare.conf && systemctl reload nginx")


def changed_copy_of_the_example(directory):
    """The example blog with a line added to its base template (as test_stack.py redeploys)."""
    source = directory / "blog"
    shutil.copytree(
        stack.ROOT / "examples" / "blog",
        source,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "instance"),
    )
    base = source / "blog" / "templates" / "base.html"
    base.write_text(base.read_text().replace("<head>", f"<head>\n{RELEASE_MARK}", 1))
    return source


def gunicorn_pids(name):
    script = "p=$(systemctl show -p MainPID --value blog.service); echo $p $(pgrep -P $p)"
    main, *workers = stack.sh(name, script).stdout.split()
    return main, set(workers)


def redeploy_under_load(inventory_file, args):
    """site.yml with changed code on both containers while load.py runs through Nginx on each
    (paced, bounded; stopped 3 s after the playbook); returns ({name: result}, run, notes)."""
    before = {name: gunicorn_pids(name) for name in BINDS}
    stop_file = f"{WORK}/stop"
    generators = {}
    for name in BINDS:
        stack.sh(name, f"rm -f {stop_file}")
        with LOAD_PY.open() as script:
            generators[name] = subprocess.Popen(
                load(name, PUBLIC, PAGE, args.redeploy_concurrency, args.redeploy_max_seconds,
                     args.redeploy_rate * args.redeploy_max_seconds, args.redeploy_rate,
                     stop_file),
                stdin=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
    try:
        time.sleep(2)
        with tempfile.TemporaryDirectory() as scratch:
            source = changed_copy_of_the_example(Path(scratch))
            run = stack.site(inventory_file, "-e", f"app_deploy_src={source}/")
        time.sleep(3)
    finally:
        for name in BINDS:
            stack.sh(name, f"touch {stop_file}", check=False)
    results, notes = {}, {}
    for name, generator in generators.items():
        out, err = generator.communicate(timeout=60)
        if generator.returncode != 0:
            sys.exit(f"{name}: load.py failed: {err[-2000:]}")
        results[name] = json.loads(out)
        pid, workers = gunicorn_pids(name)
        live = RELEASE_MARK in curl(name, PUBLIC + PAGE)[1]
        restarted = "arbiter restarted" if pid != before[name][0] else "arbiter kept"
        replaced = "workers replaced" if not workers & before[name][1] else "workers kept"
        notes[name] = f"new code {'live' if live else 'NOT live'}; {restarted}, {replaced}"
    return results, run, notes


def verdict(value, target):
    return "met" if value >= target else "MISSED"


def prepare(args):
    """wrk, its script and the bare Nginx in the converged containers; checks that every URL
    measured answers 200 (the static one with the example's file); returns facts to print."""
    stack.apt_install(TCP, "wrk", "netbase")  # netbase: /etc/services, for wrk's "https"
    for name in BINDS:
        stack.put(name, f"{WORK}/bounded.lua", (FILES / "bounded.lua").read_text())
    setup_bare_nginx(TCP)
    css = (stack.ROOT / "examples" / "blog" / "static" / "style.css").read_bytes()
    for url in (PUBLIC + STATIC, DIRECT_TCP + STATIC, BARE + STATIC):
        if len(require_200(TCP, url).encode()) != len(css):
            sys.exit(f"{url} is not examples/blog{STATIC}")
    for name, bind in BINDS.items():
        require_200(name, PUBLIC + PAGE)
        if bind.startswith("unix:"):
            require_200(name, "http://localhost" + PAGE, "--unix-socket", bind[5:])
        else:
            require_200(name, f"http://{bind}{PAGE}")
    nginx, gunicorn, cpus = stack.sh(
        TCP,
        "nginx -v 2>&1 | cut -d/ -f2; "
        "grep -E '^(workers|threads) =' /etc/blog/gunicorn.conf.py | tr '\\n' ' '; echo; nproc",
    ).stdout.splitlines()
    return {
        "nginx": nginx,
        "gunicorn": gunicorn.strip(),
        "cpus": cpus,
        "css": len(css),
        "tls": {"ours": tls_of(TCP, 443), "bare": tls_of(TCP, 8443)},
    }


def measure(args):
    """Every ratio's sides, in rounds; {section: {side: [results]}}."""

    def w(url):
        return lambda s, n: wrk(TCP, url, args, s, n)

    def p(name, target):
        return lambda s, n: python_load(name, target, PAGE, args, s, n)

    static = [("ours", w(PUBLIC + STATIC)), ("gunicorn", w(DIRECT_TCP + STATIC)),
              ("bare", w(BARE + STATIC))]  # fmt: skip
    measured = {"static": rounds(static, args)}
    remove_bare_nginx(TCP)
    for section, pairs in (
        ("wrk tcp", [("nginx", w(PUBLIC + PAGE)), ("gunicorn", w(DIRECT_TCP + PAGE))]),
        ("py tcp", [("nginx", p(TCP, PUBLIC)), ("gunicorn", p(TCP, DIRECT_TCP))]),
        ("py unix", [("nginx", p(UNIX, PUBLIC)), ("gunicorn", p(UNIX, BINDS[UNIX]))]),
    ):
        measured[section] = rounds(pairs, args)
    return measured


def report(args, facts, converge, measured):
    print(
        f"HTTP through the stack in Debian containers ({args.image}): nginx {facts['nginx']}, "
        f"gunicorn {facts['gunicorn']}, {facts['cpus']} CPUs shared by generators and servers"
    )
    print(
        f"converge of both containers {converge.seconds:.0f} s. Each side of a ratio: a 1 s "
        f"warm-up, then {args.rounds} round(s) of {args.seconds} s (at most {args.max_requests} "
        "requests each), the sides in turn; shown: the median round, the range of all rounds"
    )
    print(
        f"TLS negotiated (HTTP/1.1 keep-alive): ours {facts['tls']['ours']}; "
        f"bare {facts['tls']['bare']}"
    )
    runs = f"{args.rounds}x{args.seconds}s"
    wrk_tool = f"wrk -t{args.wrk_threads} -c{args.wrk_connections} {runs}"
    py_tool = f"load.py c{args.py_concurrency} {runs}"
    print()
    print(
        f"{'row':<54} {'generator':<22} {'req/s':>8} {'(min-max)':>15} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'errors':>6}"
    )
    ratios = []

    def row(label, tool, results):
        best, low, high = median(results)
        bound = "  count bound reached: req/s understated" if best["count_bound"] else ""
        print(
            f"{label:<54} {tool:<22} {best['per_second']:8.0f} {f'({low:.0f}-{high:.0f})':>15} "
            f"{best['p50_ms']:7.2f} {best['p99_ms']:7.2f} {best['failed']:6d}{bound}"
        )
        return best["per_second"]

    static = measured["static"]
    size = median(static["ours"])[0]["bytes_per_response"]
    print(f"1. static {STATIC} ({facts['css']} B, {size:.0f} B a response through our site)")
    ours = row("   our Nginx site, HTTPS :443", wrk_tool, static["ours"])
    gunicorn = row("   Gunicorn straight, HTTP 127.0.0.1:8000", wrk_tool, static["gunicorn"])
    bare = row("   bare Nginx server block, HTTPS :8443 same cert", wrk_tool, static["bare"])
    ratios.append((f"1. static, {wrk_tool}: our Nginx / Gunicorn straight", ours / gunicorn, 20))
    ratios.append((f"1. static, {wrk_tool}: our Nginx / bare Nginx", ours / bare, 0.9))
    print(f"2. dynamic {PAGE} (the home page)")
    for section, bind, tool in (
        ("wrk tcp", "TCP 127.0.0.1:8000", wrk_tool),
        ("py tcp", "TCP 127.0.0.1:8000", py_tool),
        ("py unix", BINDS[UNIX], py_tool),
    ):
        via = row(f"   {bind}: through Nginx, HTTPS", tool, measured[section]["nginx"])
        straight = row(f"   {bind}: Gunicorn straight", tool, measured[section]["gunicorn"])
        ratios.append((f"2. dynamic, {bind}, {tool}: Nginx / straight", via / straight, 0.85))
    print()
    print(f"{'ratio':<76} {'value':>6} {'target':>7}  verdict")
    for label, value, target in ratios:
        print(f"{label:<76} {value:6.2f} {'>=' + str(target):>7}  {verdict(value, target)}")


def report_redeploy(args, results, run, notes):
    print()
    print(
        f"3. redeploy under load: site.yml with a changed template on both containers "
        f"({run.seconds:.0f} s, changed={run.total('changed')}, failed={run.total('failed')}) "
        f"while load.py c{args.redeploy_concurrency} sent at most {args.redeploy_rate} req/s "
        f"to {PUBLIC}{PAGE} in each, from 2 s before the run to 3 s after it"
    )
    print(
        f"{'container':<28} {'requests':>8} {'failed':>6} {'target':>6} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'slowest ms':>10}  verdict; what happened"
    )
    for name, result in results.items():
        print(
            f"{name:<28} {result['requests']:8d} {result['failed']:6d} {0:6d} "
            f"{result['p50_ms']:7.2f} {result['p99_ms']:7.2f} {result['max_ms']:10.1f}  "
            f"{'met' if result['failed'] == 0 else 'MISSED'}; {notes[name]}"
        )
        for failure in result["failures"]:
            print(f"   failed at {failure['at_s']} s: {failure['outcome']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="measured runs of each side")
    parser.add_argument("--max-requests", type=int, default=500_000, help="per measured run")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=32)
    parser.add_argument("--py-concurrency", type=int, default=8, help="load.py threads")
    parser.add_argument("--redeploy-concurrency", type=int, default=4, help="load.py threads")
    parser.add_argument("--redeploy-rate", type=int, default=50, help="req/s per container")
    parser.add_argument("--redeploy-max-seconds", type=int, default=600)
    parser.add_argument("--no-redeploy", action="store_true")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s, no redeploy")
    parser.add_argument("--image", default=stack.IMAGES["debian12"])
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.no_redeploy = 2, 1, True

    sys.stdout.reconfigure(line_buffering=True)  # the table before the redeploy starts
    began = time.monotonic()
    inventory_file = stack.inventory({name: {"blog_bind": bind} for name, bind in BINDS.items()})
    with stack.containers(*BINDS, image=args.image):
        converge = stack.site(inventory_file)
        facts = prepare(args)
        report(args, facts, converge, measure(args))
        if not args.no_redeploy:
            report_redeploy(args, *redeploy_under_load(inventory_file, args))
    print(f"\nwhole run {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
