"""A template-only code change deployed by playbooks/deploy.yml (the fast path) against
playbooks/site.yml doing the same kind of change, on one systemd container converged once by
site.yml, each under a bounded load through Nginx (load.py: --rate req/s on 2 keep-alive
connections, stopped 3 s after the playbook); then site.yml's no-op re-run.

Targets (issue 11): deploy.yml at most 25 s wall time with 0 failed requests; site.yml's no-op
re-run at most 45 s. Each round deploys a new change with each playbook, in turns.

  .venv/bin/python benchmarks/deploy.py [--rounds 1] [--rate 20] [--image debian12]
"""

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lib import stack
from serving import LOAD_PY, PUBLIC, changed_copy_of_the_example, curl, load

NAME = "flask-blog-bench-deploy"
STOP = "/root/bench-deploy.stop"
TARGETS = {"deploy.yml": 25.0, "site.yml no-op": 45.0}


def under_load(inventory, playbook, source, rate, max_seconds=300):
    """`playbook` with app_deploy_src=source while load.py runs; (Run, load.py's result)."""
    stack.sh(NAME, f"rm -f {STOP}")
    with LOAD_PY.open() as script:
        generator = subprocess.Popen(
            load(NAME, PUBLIC, "/", 2, max_seconds, rate * max_seconds, rate, STOP),
            stdin=script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    try:
        time.sleep(2)
        run = stack.playbook(
            stack.ROOT / "playbooks" / playbook, inventory,
            "-e", f"@{stack.SITE_VARS}", "-e", f"app_deploy_src={source}/",
        )  # fmt: skip
        time.sleep(3)
    finally:
        stack.sh(NAME, f"touch {STOP}", check=False)
    out, err = generator.communicate(timeout=60)
    if generator.returncode != 0:
        sys.exit(f"load.py failed: {err[-2000:]}")
    return run, json.loads(out)


def marked_copy(directory, mark):
    """The example blog with a line added to its base template: a template-only change."""
    source = changed_copy_of_the_example(directory)
    base = source / "blog" / "templates" / "base.html"
    base.write_text(base.read_text().replace("<head>", f"<head>\n{mark}", 1))
    return source


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=int, default=20, help="requests/s through Nginx")
    parser.add_argument("--image", choices=sorted(stack.IMAGES), default="debian12")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("deploy: terminated"))
    began = time.monotonic()
    rows = {"deploy.yml": [], "site.yml": [], "site.yml no-op": []}
    image = stack.IMAGES[args.image]
    with stack.containers(NAME, image=image), tempfile.TemporaryDirectory() as scratch:
        inventory = stack.inventory([NAME])
        first = stack.site(inventory)
        print(f"deploy: first converge {first.seconds:.1f} s", file=sys.stderr, flush=True)
        for round_ in range(args.rounds):
            for playbook in ("deploy.yml", "site.yml"):
                mark = f'<meta name="bench-deploy" content="{playbook}-{round_}-{time.time_ns()}">'
                source = marked_copy(Path(scratch) / f"{playbook}-{round_}", mark)
                run, result = under_load(inventory, playbook, source, args.rate)
                live = mark in curl(NAME, PUBLIC + "/")[1]
                rows[playbook].append((run, result, live))
                print(f"  {playbook:<10} {run.seconds:6.1f} s, {result['failed']} failed of"
                      f" {result['requests']}, new code {'live' if live else 'NOT live'}",
                      file=sys.stderr, flush=True)  # fmt: skip
            noop = stack.site(inventory, "-e", f"app_deploy_src={source}/")  # the last one again
            rows["site.yml no-op"].append((noop, None, True))
            print(f"  no-op      {noop.seconds:6.1f} s, changed {noop.total('changed')}",
                  file=sys.stderr, flush=True)  # fmt: skip

    print(f"deploy on {image}: a template-only change, {args.rounds} round(s), load.py at"
          f" {args.rate} req/s on 2 connections through Nginx during each deploy")  # fmt: skip
    print(f"{'run':<16} {'time s':>7} {'tasks':>6} {'changed':>8} {'requests':>9} {'failed':>7}"
          f"  new code  target")  # fmt: skip
    for label, measured in rows.items():
        seconds = statistics.median(run.seconds for run, _result, _live in measured)
        last, result, live = measured[-1]
        tasks = sum(last.recap[NAME].get(k, 0) for k in ("ok", "skipped", "failed"))
        requests = sum(r["requests"] for _run, r, _live in measured if r) if result else "-"
        failed = sum(r["failed"] for _run, r, _live in measured if r) if result else "-"
        target = TARGETS.get(label)
        verdict = f"<= {target:.0f} s {'met' if seconds <= target else 'MISSED'}" if target else ""
        print(f"{label:<16} {seconds:7.1f} {tasks:>6} {last.total('changed'):>8} {requests!s:>9}"
              f" {failed!s:>7}  {'live' if live else 'NOT live':<8}  {verdict}")  # fmt: skip
    print("  time: wall seconds of ansible-playbook (median of the rounds); tasks: from the recap,"
          " ok + skipped + failed")  # fmt: skip
    print(f"\nwhole run {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
