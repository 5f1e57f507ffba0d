"""Converge times of playbooks/site.yml against a minimal hand-written playbook of the same stack
(benchmarks/converge/minimal.yml: the example blog's deploy steps as plain tasks, no checks, no
hardening, no TLS), each on its own fresh systemd container from the same image:

  1. first converge: ours, then theirs, one after the other (target: ours at most 3x theirs);
  2. no-op re-run, --repeat rounds, the order rotating each round (target: ours at most 2x
     theirs, and 0 changed);
  3. what pipelining saves: our no-op run with ANSIBLE_PIPELINING=False, in the same rounds
     (and, with --pipelining-first, our first converge on a third container).

Before any converge, every container gets the same `apt-get update` and an
`apt-get install --download-only` of the union of both sides' Debian packages, so the mirror's
speed stays out of the ratio (dpkg still unpacks and configures on each side; pip still
downloads from PyPI on each side). Both sides must really serve the blog through Nginx: checked
with curl inside each container after the first converges and again after the last run.

Tasks are counted from the recap, per host: ok + skipped + failed (each task once, however many
loop items it has; `changed` is part of `ok`); the TASK and RUNNING HANDLER headers the default
callback printed are counted too. ansible.posix.profile_tasks times every task of every run (the
same small cost on both sides); the costliest tasks of our no-op run are printed at the end.

  .venv/bin/python benchmarks/converge.py [--repeat 1] [--image debian12] [--pipelining-first]
"""

import argparse
import re
import signal
import statistics
import sys
import time

from lib import stack

MINIMAL = stack.ROOT / "benchmarks" / "converge" / "minimal.yml"
PREFIX = "flask-blog-bench-converge"
# Both sides' Debian packages (python_venv and nginx_proxy's defaults; minimal.yml's list),
# downloaded into every container's apt cache before any converge.
PACKAGES = ["python3", "python3-venv", "python3-packaging", "nginx", "openssl"]
PROFILE = {
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "all",
}
NO_PIPELINING = {"ANSIBLE_PIPELINING": "False"}
TARGETS = {"first": 3.0, "noop": 2.0}
PROFILE_LINE = re.compile(r"^(.+?) -+ +([0-9.]+)s$", re.MULTILINE)


def prepare(name):
    """The same package index and downloaded .debs on every container; nothing installed."""
    stack.sh(
        name,
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
        "--download-only " + " ".join(PACKAGES) + " >/dev/null",
    )


def check_blog(name, base, insecure):
    """The home page, an article and the stylesheet answer 200 through Nginx in the container."""
    flag = "-k " if insecure else ""
    script = (
        f"for p in / /articles/welcome /static/style.css; do "
        f"curl -sS {flag}-o /dev/null -w '%{{http_code}} ' --max-time 10 {base}$p; done; "
        f"curl -sS {flag}--max-time 10 {base}/articles/welcome"
        " | grep -c 'Welcome to your self-hosted'"
    )
    done = stack.sh(name, script, check=False, timeout=60)
    codes = done.stdout.split()
    if codes[:3] != ["200"] * 3 or done.returncode != 0:
        raise RuntimeError(f"{name}: the blog does not answer through Nginx at {base}: {codes}")
    return f"{base}: 200 x3"


def counts(run):
    """(tasks per host from the recap, TASK headers, handler headers, changed)."""
    (per_host,) = run.recap.values()
    tasks = per_host.get("ok", 0) + per_host.get("skipped", 0) + per_host.get("failed", 0)
    headers = len(re.findall(r"^TASK \[", run.output, re.MULTILINE))
    handlers = len(re.findall(r"^RUNNING HANDLER \[", run.output, re.MULTILINE))
    return tasks, headers, handlers, per_host.get("changed", 0)


def profile(run):
    """profile_tasks' time of every task of a run, slowest first: [(seconds, name)]."""
    recap = run.output.split("TASKS RECAP", 1)[-1]
    found = [(float(sec), name.strip()) for name, sec in PROFILE_LINE.findall(recap)]
    return sorted(found, reverse=True)


def by_role(timed):
    """{role: [tasks, seconds]} from profile(), slowest role first."""
    roles = {}
    for seconds, name in timed:
        role = name.split(" : ", 1)[0].rsplit(".", 1)[-1] if " : " in name else "(play tasks)"
        entry = roles.setdefault(role, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds
    return dict(sorted(roles.items(), key=lambda item: -item[1][1]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="no-op rounds (medians if > 1)")
    parser.add_argument("--image", choices=sorted(stack.IMAGES), default="debian12")
    parser.add_argument(
        "--pipelining-first",
        action="store_true",
        help="also our first converge with pipelining off, on a third container (+ ~1 run)",
    )
    parser.add_argument("--top", type=int, default=12, help="costliest no-op tasks to list")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the containers are removed (stack.containers' finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("converge: terminated"))
    began = time.monotonic()
    image = stack.IMAGES[args.image]

    names = {"ours": f"{PREFIX}-ours", "theirs": f"{PREFIX}-theirs"}
    if args.pipelining_first:
        names["ours-nopipe"] = f"{PREFIX}-ours-nopipe"
    inventories = {}
    runs = {}  # row key -> [Run]

    def converge(side, label, env=None):
        env = {**PROFILE, **(env or {})}
        if side == "theirs":
            run = stack.playbook(MINIMAL, inventories[side], env=env)
        else:
            run = stack.site(inventories[side], env=env)
        runs.setdefault(label, []).append(run)
        tasks, _headers, _handlers, changed = counts(run)
        print(
            f"  {label:<28} {run.seconds:7.1f} s  tasks {tasks}, changed {changed}",
            file=sys.stderr,
            flush=True,
        )
        return run

    with stack.containers(*names.values(), image=image):
        for side, name in names.items():
            prepare(name)
            inventories[side] = stack.inventory([name])
        print(f"converge: containers ready on {image}", file=sys.stderr, flush=True)

        # Ours first: whatever the first converge warms up (PyPI, the page cache) favours theirs.
        converge("ours", "first converge: ours")
        converge("theirs", "first converge: theirs")
        if args.pipelining_first:
            converge("ours-nopipe", "first converge: ours, no pipelining", NO_PIPELINING)
        checks = {
            "ours": check_blog(names["ours"], f"https://{stack.PUBLIC_HOST}", insecure=True),
            "theirs": check_blog(names["theirs"], "http://127.0.0.1", insecure=False),
        }

        noop = [
            ("theirs", "no-op: theirs", None),
            ("ours", "no-op: ours", None),
            ("ours", "no-op: ours, no pipelining", NO_PIPELINING),
        ]
        for round_ in range(args.repeat):
            shift = round_ % len(noop)
            for side, label, env in noop[shift:] + noop[:shift]:
                converge(side, label, env)
        check_blog(names["ours"], f"https://{stack.PUBLIC_HOST}", insecure=True)
        check_blog(names["theirs"], "http://127.0.0.1", insecure=False)

    def median(label):
        return statistics.median(run.seconds for run in runs[label])

    rows = []
    for label, measured in runs.items():
        tasks, headers, handlers, _changed = counts(measured[-1])
        changed = "/".join(str(counts(run)[3]) for run in measured)
        rows.append((label, median(label), len(measured), tasks, headers, handlers, changed))

    print(
        f"converge on {image}: playbooks/site.yml (ours) vs benchmarks/converge/minimal.yml"
        f" (theirs), one container each, runs one at a time"
    )
    print(
        "before any run, every container: apt-get update + apt-get install --download-only "
        + " ".join(PACKAGES)
    )
    print(f"{'run':<38} {'time s':>7} {'runs':>4} {'tasks':>6} {'TASK hdr':>9} {'handlers':>9}"
          f"  changed")  # fmt: skip
    for label, seconds, count, tasks, headers, handlers, changed in rows:
        print(f"{label:<38} {seconds:7.1f} {count:>4} {tasks:>6} {headers:>9} {handlers:>9}"
              f"  {changed}")  # fmt: skip

    print(
        "  time: wall seconds of ansible-playbook (median of the runs); tasks: per host, from the"
        " recap,\n  ok + skipped + failed; TASK hdr / handlers: headers the default callback"
        " printed;\n  changed: the recap's changed count of each run, in order"
    )
    print()
    print(f"{'ratio ours/theirs':<38} {'ratio':>7} {'target':>7}  result")
    results = []
    for key, stage in (("first", "first converge"), ("noop", "no-op")):
        ratio = median(f"{stage}: ours") / median(f"{stage}: theirs")
        met = ratio <= TARGETS[key]
        results.append(met)
        print(f"{stage + ' time':<38} {ratio:7.2f} {'<= ' + str(TARGETS[key]):>7}  "
              f"{'met' if met else 'MISSED'}")  # fmt: skip
    ours_changed = [counts(run)[3] for run in runs["no-op: ours"]]
    zero = all(changed == 0 for changed in ours_changed)
    print(f"{'no-op changed (ours)':<38} {max(ours_changed):7d} {'0':>7}  "
          f"{'met' if zero else 'MISSED'}")  # fmt: skip
    tasks_ours = counts(runs["no-op: ours"][-1])[0]
    tasks_theirs = counts(runs["no-op: theirs"][-1])[0]
    print(f"{'no-op tasks per host':<38} {tasks_ours / tasks_theirs:7.2f} {'-':>7}  "
          f"{tasks_ours} vs {tasks_theirs}")  # fmt: skip

    print()
    noop_ours, off = median("no-op: ours"), median("no-op: ours, no pipelining")
    saved = off - noop_ours
    print(f"pipelining, our no-op run: on {noop_ours:.1f} s, off {off:.1f} s, "
          f"saves {saved:.1f} s ({saved / off:.0%} of the run without it)")  # fmt: skip
    if args.pipelining_first:
        on, off = median("first converge: ours"), median("first converge: ours, no pipelining")
        print(f"pipelining, our first converge: on {on:.1f} s, off {off:.1f} s, "
              f"saves {off - on:.1f} s ({(off - on) / off:.0%})")  # fmt: skip
    print(f"checked through Nginx: ours {checks['ours']}; theirs {checks['theirs']}")

    typical = min(runs["no-op: ours"], key=lambda run: abs(run.seconds - noop_ours))
    print()
    timed = profile(typical)
    print(f"costliest tasks of our no-op run ({typical.seconds:.1f} s, profile_tasks):")
    for seconds, name in timed[: args.top]:
        print(f"  {seconds:7.2f} s  {name}")
    print("the same run by role (tasks timed, seconds):")
    for role, (tasks, seconds) in by_role(timed).items():
        print(f"  {role:<28} {tasks:4d} {seconds:8.1f} s")
    theirs = min(runs["no-op: theirs"], key=lambda run: abs(run.seconds - median("no-op: theirs")))
    print(f"costliest tasks of their no-op run ({theirs.seconds:.1f} s, profile_tasks):")
    for seconds, name in profile(theirs)[:5]:
        print(f"  {seconds:7.2f} s  {name}")
    print(f"total time of this benchmark: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
