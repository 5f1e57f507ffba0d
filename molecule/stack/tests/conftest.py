"""Helpers for the stack scenarios: real HTTP requests made inside the container (curl), through
Nginx on the public name (blog.example.test resolves to 127.0.0.1 there) or straight to
Gunicorn."""

import os
import re
import shlex
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import testinfra

PUBLIC_URL = os.environ.get("BLOG_PUBLIC_URL", "https://blog.example.test")
BIND = os.environ.get("BLOG_BIND", "127.0.0.1:8000")
PREFIX = urlsplit(PUBLIC_URL).path.rstrip("/")
PUBLIC_HOST = urlsplit(PUBLIC_URL).hostname
UPLOAD_LIMIT = 1024 * 1024  # blog_upload_limit_mb: 1
ADMIN_PASSWORD = "molecule-admin-password"  # see molecule/resources/admin_password_hash
SLUGS = ["welcome", "backups-that-restore", "por-que-hospedar-seu-blog"]


@dataclass
class Response:
    status: int
    headers: dict = field(default_factory=dict)
    body: str = ""


def parse(raw):
    """Parse `curl -i` output (the last response when curl followed nothing)."""
    head, _blank, body = raw.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    match = re.match(r"HTTP/[\d.]+ (\d{3})", lines[0]) if lines else None
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return Response(int(match.group(1)) if match else 0, headers, body)


def curl(host, url, *options):
    """One request with curl inside the container; a failed connection gives status 0."""
    args = " ".join(shlex.quote(o) for o in options)
    result = host.run(f"curl -sk -i --max-time 15 {args} {shlex.quote(url)}")
    return parse(result.stdout) if result.rc == 0 else Response(0, {}, result.stderr)


def public(host, path, *options):
    """Through Nginx, over HTTPS, on the public URL (path is below the site's prefix)."""
    return curl(host, PUBLIC_URL + path, *options)


def direct(host, path, *options):
    """Straight to Gunicorn, bypassing Nginx."""
    if BIND.startswith("unix:"):
        return curl(host, "http://localhost" + path, "--unix-socket", BIND[5:], *options)
    return curl(host, f"http://{BIND}{path}", *options)


def wait_until_healthy(host, seconds):
    """Poll the health check through Nginx; return the seconds it took (None: never)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if public(host, "/healthz", "--max-time", "2").status == 200:
            return time.monotonic() - start
        time.sleep(0.5)
    return None


@pytest.fixture
def host(host):
    """The same container, reached with `docker exec` instead of one Ansible run per command."""
    return testinfra.get_host("docker://" + host.backend.get_hostname())


@pytest.fixture
def hostname(host):
    return host.backend.name
