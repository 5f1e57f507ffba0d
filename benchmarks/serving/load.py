"""A bounded HTTP load, run inside the test container (python3 stdlib only), fed on stdin:

  docker exec -i NAME python3 - TARGET PATH CONCURRENCY SECONDS MAX_REQUESTS [RATE [STOP_FILE]]
      < load.py

TARGET is https://HOST[:PORT], http://HOST[:PORT] or unix:/path/to.sock (HTTP/1.1 on a Unix
socket, Host: localhost). CONCURRENCY threads, each with its own keep-alive connection (opened
again when the server closes it, as Gunicorn's sync workers do after every response), GET PATH
until SECONDS have passed, MAX_REQUESTS were made or STOP_FILE exists; with RATE > 0, at
most RATE requests/s in all (evenly spaced, no catching up in bursts). Prints one JSON object:
requests, failures (status other than 200, or no answer) with the first few, requests/s and the
latency p50, p99 and max in ms (of every request, failed ones included).
"""

import http.client
import json
import os
import socket
import ssl
import sys
import threading
import time
from urllib.parse import urlsplit

TARGET, PATH = sys.argv[1], sys.argv[2]
CONCURRENCY, SECONDS, MAX_REQUESTS = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
RATE = float(sys.argv[6]) if len(sys.argv) > 6 else 0
STOP_FILE = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] else None
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
    if TARGET.startswith("unix:"):
        return UnixConnection(TARGET[5:], timeout=30)
    parts = urlsplit(TARGET)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.netloc, timeout=30, context=CONTEXT)
    return http.client.HTTPConnection(parts.netloc, timeout=30)


lock = threading.Lock()
latencies, failures = [], []
started = time.monotonic()
deadline = started + SECONDS
stop = threading.Event()
schedule = [started]


def wait_for_slot():
    with lock:
        slot = max(schedule[0], time.monotonic())
        schedule[0] = slot + 1 / RATE
    time.sleep(max(0.0, slot - time.monotonic()))


def watch_stop_file():
    while not stop.wait(0.2):
        if time.monotonic() >= deadline or os.path.exists(STOP_FILE):
            stop.set()


def worker():
    conn = connect()
    while not stop.is_set() and time.monotonic() < deadline:
        with lock:
            if len(latencies) >= MAX_REQUESTS:
                break
        if RATE:
            wait_for_slot()
        begin = time.monotonic()
        try:
            conn.request("GET", PATH)
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
                failures.append({"at_s": round(begin - started, 3), "outcome": outcome})
    conn.close()


if STOP_FILE:
    threading.Thread(target=watch_stop_file, daemon=True).start()
threads = [threading.Thread(target=worker) for _worker in range(CONCURRENCY)]
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
            "failures": failures[:10],
            "seconds": round(elapsed, 2),
            "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": ms(0.50),
            "p99_ms": ms(0.99),
            "max_ms": ms(1.0),
        }
    )
)
