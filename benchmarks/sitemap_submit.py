"""sitemap_submit on a generated 50,000-URL sitemap, the module run as its own process (as on a
managed host) against the fake engines of tests/fakes/engines.py (IndexNow, Google, Baidu):

  1. first run: every URL is new;
  2. nothing changed: the figure that matters, requests to the engines must be 0;
  3. one URL's lastmod changed: exactly that URL must be submitted.

Side by side, in the same run: a bare `python3 -c "import xml.etree..."` parse of the same
file in its own process (the least any reader of the sitemap costs). Prints a table; asserts
nothing about time.

  .venv/bin/python benchmarks/sitemap_submit.py [--urls 50000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fakes"))
from engines import FakeEngines  # noqa: E402

SITE = "http://blog.example.test"
KEY = "benchmark-indexnow-key"
MODULE = "ansible_collections.selfhosted.flask_blog.plugins.modules.sitemap_submit"


def sitemap(site, count, changed=None):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    lines.append('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">')
    for i in range(count):
        day = "2026-11-02" if i == changed else "2026-11-01"
        lines.append(f"<url><loc>{site}/articles/a-{i:05d}</loc><lastmod>{day}</lastmod></url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode()


class Site(BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


# Runs a module or a snippet in a fresh interpreter that reports its own peak RSS at exit.
PEAK = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'PEAK_KIB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
)


def child(code, *args, env=None):
    """Run `code` with sys.argv[1:] = args; return (seconds, peak RSS in MiB, stdout)."""
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", PEAK + code, *args],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    took = time.perf_counter() - start
    peaks = [line.split()[1] for line in run.stderr.splitlines() if line.startswith("PEAK_KIB ")]
    if not peaks:
        sys.exit(f"the child failed: {run.stderr[-2000:]}")
    return took, int(peaks[-1]) / 1024, run.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=50000)
    args = parser.parse_args()

    site = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    base = f"{SITE}:{site.server_address[1]}"
    port = site.server_address[1]
    site.body = sitemap(base, args.urls)
    fake = FakeEngines(
        indexnow_keys=[KEY], google_tokens=["bench-token"], baidu_tokens=["bench-token"]
    ).start()
    scratch = Path(tempfile.mkdtemp())
    state = scratch / "state.json"
    module_args = {
        "ANSIBLE_MODULE_ARGS": {
            "sitemap_url": f"{base}/sitemap.xml",
            "connect_to": "127.0.0.1",
            "state_path": str(state),
            "retries": 0,
            "indexnow": {"key": KEY, "endpoint": fake.url + "/indexnow"},
            "google": {"access_token": "bench-token", "endpoint": fake.url + "/webmasters/v3"},
            "baidu": {"token": "bench-token", "endpoint": fake.url + "/urls"},
        }
    }
    (scratch / "args.json").write_text(json.dumps(module_args))
    env = dict(os.environ, PYTHONPATH=str(ROOT / ".collections"))
    module = f"runpy.run_module({MODULE!r}, run_name='__main__')"

    rows = []
    baseline = (
        "import urllib.request, xml.etree.ElementTree as ET\n"
        "root = ET.fromstring(urllib.request.urlopen(sys.argv[1]).read())\n"
        "print(sum(1 for e in root.iter() if e.tag.endswith('}loc')))\n"
    )
    took, peak, out = child(baseline, f"http://127.0.0.1:{port}/sitemap.xml")
    rows.append(("baseline: fetch + ElementTree parse", took, peak, "-", f"{out.strip()} locs"))

    for label, changed in (
        ("first run (all new)", None),
        ("nothing changed", None),
        ("one URL's lastmod changed", 12345 % args.urls),
    ):
        site.body = sitemap(base, args.urls, changed)
        sent_before = len(fake.requests)
        took, peak, out = child(module, str(scratch / "args.json"), env=env)
        result = json.loads(out)
        if result.get("failed"):
            sys.exit(f"sitemap_submit failed: {result['msg']}")
        engine_requests = len(fake.requests) - sent_before
        submitted = {
            name: len(info.get("submitted") or []) for name, info in result["engines"].items()
        }
        note = ", ".join(f"{name} {count}" for name, count in submitted.items())
        rows.append(
            (
                f"sitemap_submit: {label}",
                took,
                peak,
                engine_requests,
                f"changed={result['changed']}; URLs submitted: {note}",
            )
        )
    fake.stop()
    site.shutdown()

    print(f"sitemap_submit on a {args.urls}-URL sitemap ({len(site.body) / 1e6:.1f} MB)")
    print(f"{'run':<44} {'time s':>7} {'peak MiB':>9} {'engine requests':>16}  result")
    for label, took, peak, requests, note in rows:
        print(f"{label:<44} {took:7.2f} {peak:9.1f} {requests!s:>16}  {note}")


if __name__ == "__main__":
    main()
