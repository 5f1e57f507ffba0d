"""Unit tests import the collection as ansible_collections.selfhosted.flask_blog, through the
link `make setup` creates in .collections/, and the helpers of plugins/modules/module_harness.py
as module_harness, whatever the import mode.

Fixtures for every test directory: a small static HTTP server on 127.0.0.1 (static_server) and
the example blog served on 127.0.0.1 (start_blog)."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / ".collections"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "plugins" / "modules"))

from module_harness import Blog

NOT_FOUND = (404, b"not found", {})


class _StaticHandler(BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, answer, headers = self.server.static.answer(
            self.command, self.path, self.headers, body
        )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format, *args):
        pass


class StaticServer:
    """Fixed answers on 127.0.0.1:<free port> (base: http://127.0.0.1:<port>), served in a
    thread. put() says what a path answers, whatever the method; a path without an answer
    answers 404. Every request is recorded in `requests` as a dict: method, path, headers (the
    request's, Host included) and body."""

    def __init__(self):
        self.requests = []
        self._lasting = {}  # path: (status, body, headers)
        self._next = {}  # path: [[(status, body, headers), times left], ...]
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _StaticHandler)
        self._server.daemon_threads = True
        self._server.static = self
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def put(self, path, body=b"", status=200, headers=None, times=None):
        """Answer `path` with `status`, `body` (a str is sent as UTF-8) and `headers`
        (Content-Length is added); returns the path's URL. Without `times` this is the path's
        answer from now on; with times=N, the next N requests get this answer instead (after
        those of an earlier put with times)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        answer = (status, body, dict(headers or {}))
        with self._lock:
            if times is None:
                self._lasting[path] = answer
            else:
                self._next.setdefault(path, []).append([answer, times])
        return self.base + path

    def answer(self, method, path, headers, body):
        """Record one request; return its answer, (status, body, headers)."""
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
            upcoming = self._next.get(path)
            if upcoming:
                upcoming[0][1] -= 1
                answer = upcoming[0][0]
                if upcoming[0][1] <= 0:
                    upcoming.pop(0)
                return answer
            return self._lasting.get(path, NOT_FOUND)

    @property
    def seen(self):
        """(path, Host header) of every request, in order."""
        return [(request["path"], request["headers"].get("Host")) for request in self.requests]

    def count(self, method):
        """How many requests used `method`."""
        return sum(1 for request in self.requests if request["method"] == method)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)


@pytest.fixture
def static_server():
    server = StaticServer()
    yield server
    server.stop()


@pytest.fixture
def start_blog(tmp_path):
    """start_blog(public_url=None, articles=()): the example blog with a database in tmp_path,
    given articles stored, served on 127.0.0.1 until the end of the test (module_harness.Blog)."""
    started = []

    def start(public_url=None, articles=()):
        blog = Blog(tmp_path, public_url=public_url)
        started.append(blog)
        for article in articles:
            blog.add(article)
        return blog

    yield start
    for blog in started:
        blog.stop()
