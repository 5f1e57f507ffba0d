"""Runs inside the test container (python3 stdlib only): a bounded load on the site through
Nginx. CONCURRENCY threads, each with its own keep-alive connection, request PATHS in turn for
SECONDS (and at most MAX_REQUESTS in all); print one JSON object with the request count, the
failures (status other than 200, or no answer) with their times, and latency percentiles.

Usage: python3 -c "$(cat load_probe.py)" BASE_URL CONCURRENCY SECONDS PATHS [MAX_REQUESTS]
  (PATHS: comma-separated, below BASE_URL)
"""

import http.client
import json
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

BASE, CONCURRENCY, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
PATHS = [urlsplit(BASE).path.rstrip("/") + p for p in sys.argv[4].split(",")]
MAX_REQUESTS = int(sys.argv[5]) if len(sys.argv) > 5 else 500_000
PARTS = urlsplit(BASE)
CONTEXT = ssl._create_unverified_context()  # the test site's self-signed certificate

lock = threading.Lock()
latencies, failures = [], []
started = time.monotonic()
deadline = started + SECONDS


def connect():
    if PARTS.scheme == "https":
        return http.client.HTTPSConnection(PARTS.netloc, timeout=30, context=CONTEXT)
    return http.client.HTTPConnection(PARTS.netloc, timeout=30)


def worker(offset):
    conn = connect()
    n = offset
    while time.monotonic() < deadline:
        with lock:
            if len(latencies) + len(failures) >= MAX_REQUESTS:
                break
        path = PATHS[n % len(PATHS)]
        n += 1
        begin = time.monotonic()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            outcome = response.status
            if response.getheader("connection", "").lower() == "close":
                conn.close()
                conn = connect()
        except (OSError, http.client.HTTPException) as e:
            outcome = f"{type(e).__name__}: {e}"
            conn.close()
            conn = connect()
        took = time.monotonic() - begin
        with lock:
            if outcome == 200:
                latencies.append(took)
            else:
                failures.append({"at": round(begin - started, 3), "path": path, "outcome": outcome})
    conn.close()


threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONCURRENCY)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.monotonic() - started
latencies.sort()


def percentile(p):
    return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 1)


print(
    json.dumps(
        {
            "requests": len(latencies) + len(failures),
            "failed": len(failures),
            "failures": sorted(failures, key=lambda f: f["at"])[:20],
            "seconds": round(elapsed, 1),
            "per_second": round((len(latencies) + len(failures)) / elapsed, 1),
            "p50_ms": percentile(50) if latencies else None,
            "p99_ms": percentile(99) if latencies else None,
            "max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        }
    )
)
