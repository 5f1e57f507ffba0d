"""gunicorn_systemd's files/check_release.py: the checks a release must answer before (on its own
Gunicorn) and after it goes live, against a real HTTP server on a Unix socket."""

import importlib.util
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "gunicorn_systemd" / "files"
spec = importlib.util.spec_from_file_location("check_release", SCRIPT / "check_release.py")
check_release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_release)

HEADERS = {"Host": "blog.example.test", "X-Forwarded-Proto": "https"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Host")))
        status = self.server.statuses.get(self.path, 404)
        if callable(status):
            status = status()
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _address = super().get_request()
        return request, ("local", 0)


@pytest.fixture
def app(tmp_path):
    server = UnixHTTPServer(str(tmp_path / "gunicorn.sock"), Handler)
    server.statuses, server.seen = {}, []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def unit(monkeypatch):
    """Whether the unit serving the socket runs, as systemctl would say."""
    state = {"active": True, "asked": 0}

    def active(_name):
        state["asked"] += 1
        return state["active"]

    monkeypatch.setattr(check_release, "active", active)
    return state


def run(app, *checks, deadline=3):
    target = f"unix:{app.server_address}"
    argv = [target, "blog-candidate.service", str(deadline), json.dumps(HEADERS), *checks]
    return check_release.main(argv)


def test_pages_answer_2xx_or_3xx_and_health_200(app, unit, capsys):
    app.statuses.update({"/": 302, "/about": 200, "/healthz": 200})
    assert run(app, "page:/", "page:/about", "health:/healthz") == 0
    assert capsys.readouterr().out.splitlines() == [
        "/: answered 302", "/about: answered 200", "/healthz: answered 200"
    ]  # fmt: skip
    assert app.seen == [(path, "blog.example.test") for path in ("/", "/about", "/healthz")]


def test_a_health_path_must_answer_200_not_a_redirect(app, unit, capsys):
    app.statuses.update({"/healthz": 302})
    assert run(app, "health:/healthz", deadline=1) == 1
    assert "/healthz: answered 302, still after 1 s" in capsys.readouterr().out


def test_a_page_that_answers_500_fails_at_the_deadline_and_later_checks_still_run(
    app, unit, capsys
):
    app.statuses.update({"/": 500, "/healthz": 200})
    began = time.monotonic()
    assert run(app, "page:/", "health:/healthz", deadline=2) == 1
    took = time.monotonic() - began
    out = capsys.readouterr().out
    assert "/: answered 500, still after 2 s" in out
    assert "/healthz: answered 200" in out
    assert 2 <= took < 4


def test_a_check_that_passes_after_a_few_tries_passes(app, unit, capsys):
    answers = iter([503, 503, 200])
    app.statuses["/"] = lambda: next(answers, 200)
    assert run(app, "page:/", deadline=5) == 0
    assert [path for path, _host in app.seen] == ["/", "/", "/"]


def test_the_checks_stop_at_once_when_the_unit_is_gone(app, unit, capsys):
    app.server_close()  # the release's Gunicorn died at import: nothing listens any more
    unit["active"] = False
    began = time.monotonic()
    assert run(app, "page:/", "health:/healthz", deadline=60) == 1
    assert time.monotonic() - began < 2
    out = capsys.readouterr().out
    assert "/: no answer (" in out and "blog-candidate.service stopped" in out
    assert "/healthz" not in out  # nothing more is asked of a dead unit
