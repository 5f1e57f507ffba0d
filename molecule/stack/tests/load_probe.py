"""A bounded HTTP load, run inside a test container (python3 stdlib only). The suite's fault and
redeploy tests and the benchmarks (benchmarks/serving.py) all use it.

  python3 - TARGET [--paths P[,P...]] [--concurrency N] [--seconds S] [--max-requests N]
      [--rate R] [--stop-file FILE] < load_probe.py

TARGET is https://HOST[:PORT][/PREFIX], http://HOST[:PORT][/PREFIX] or unix:/path/to.sock
(HTTP/1.1 on a Unix socket, Host: localhost); the PATHS (default /) are requested below PREFIX,
in turn. CONCURRENCY threads, each with its own keep-alive connection (opened again when the
server closes it, as Gunicorn's sync workers do after every response, or closed an idle one, as
Nginx does on a reload: like a browser, the probe does not send on a connection the server has
already closed), until SECONDS have
passed, MAX_REQUESTS were made or STOP_FILE exists; with RATE > 0, at most RATE requests/s in
all (evenly spaced, no catching up in bursts). Prints one JSON object: requests, failures
(status other than 200, or no answer) with the first few, requests/s and the latency p50, p99
and max in ms (of every request, failed ones included).
"""

import argparse
import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

parser = argparse.ArgumentParser(prog="load_probe")
parser.add_argument("target")
parser.add_argument("--paths", default="/")
parser.add_argument("--concurrency", type=int, default=1)
parser.add_argument("--seconds", type=float, default=10)
parser.add_argument("--max-requests", type=int, default=1_000_000)
parser.add_argument("--rate", type=float, default=0)
parser.add_argument("--stop-file")
ARGS = parser.parse_args()
UNIX = ARGS.target[5:] if ARGS.target.startswith("unix:") else None
PARTS = urlsplit("http://localhost" if UNIX else ARGS.target)
PATHS = [PARTS.path.rstrip("/") + path for path in ARGS.paths.split(",")]
CONTEXT = ssl._create_unverified_context()  # the test site's self-signed certificate


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def connect():
    if UNIX:
        return UnixConnection(UNIX, timeout=30)
    if PARTS.scheme == "https":
        return http.client.HTTPSConnection(PARTS.netloc, timeout=30, context=CONTEXT)
    return http.client.HTTPConnection(PARTS.netloc, timeout=30)


lock = threading.Lock()
latencies, failures = [], []
started = time.monotonic()
deadline = started + ARGS.seconds
stop = threading.Event()
schedule = [started]


def wait_for_slot():
    with lock:
        slot = max(schedule[0], time.monotonic())
        schedule[0] = slot + 1 / ARGS.rate
    time.sleep(max(0.0, slot - time.monotonic()))


def watch_stop_file():
    while not stop.wait(0.2):
        if time.monotonic() >= deadline or os.path.exists(ARGS.stop_file):
            stop.set()


def worker(offset):
    conn = connect()
    turn = offset
    while not stop.is_set() and time.monotonic() < deadline:
        with lock:
            if len(latencies) >= ARGS.max_requests:
                break
        if ARGS.rate:
            wait_for_slot()
        path = PATHS[turn % len(PATHS)]
        turn += 1
        # An idle keep-alive connection that is readable was closed by the server (EOF).
        if conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
            conn.close()
        begin = time.monotonic()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            outcome = response.status
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as e:
            outcome = f"{type(e).__name__}: {e}"
            conn.close()
        took = time.monotonic() - begin
        with lock:
            latencies.append(took)
            if outcome != 200:
                at_s = round(begin - started, 3)
                failures.append({"at_s": at_s, "path": path, "outcome": outcome})
    conn.close()


if ARGS.stop_file:
    threading.Thread(target=watch_stop_file, daemon=True).start()
threads = [threading.Thread(target=worker, args=(n,)) for n in range(ARGS.concurrency)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
elapsed = time.monotonic() - started
stop.set()
latencies.sort()


def ms(fraction):
    if not latencies:
        return None
    return round(latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] * 1000, 2)


print(
    json.dumps(
        {
            "requests": len(latencies),
            "failed": len(failures),
            "failures": failures[:20],
            "seconds": round(elapsed, 2),
            "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
            "max_ms": ms(1.0),
        }
    )
)
