"""The real thing: gunicorn serving wsgi:app, articles loaded with the CLI."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from conftest import BLOG_DIR, SAMPLE_DIR

pytest.importorskip("gunicorn")

PUBLIC_URL = "https://blog.example.test"
# Talk to 127.0.0.1 directly, whatever http_proxy says.
http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base_url, process, log_path, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with http.open(f"{base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not become healthy in time:\n{log_path.read_text()}")


def test_gunicorn_serves_sitemap_with_canonical_urls(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'blog.db'}",
        "SITE_PUBLIC_URL": PUBLIC_URL,
        "SECRET_KEY": "gunicorn-test-secret",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "FLASK_DEBUG": "0",
    }
    samples = sorted(SAMPLE_DIR.glob("*.json"))
    loaded = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blog", "load-articles", *map(str, samples)],
        cwd=BLOG_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.count("created: ") == len(samples)

    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--chdir", str(BLOG_DIR)]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"]
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url, process, log_path)
        with http.open(f"{base_url}/sitemap.xml", timeout=5) as response:
            assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
            root = ET.fromstring(response.read())
        ns = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}
        locs = [loc.text for loc in root.findall("sm:url/sm:loc", ns)]
        for loc in locs:
            parts = urlsplit(loc)
            assert (parts.scheme, parts.hostname) == ("https", "blog.example.test")
        for sample in samples:
            slug = json.loads(sample.read_text(encoding="utf-8"))["slug"]
            assert f"{PUBLIC_URL}/articles/{slug}" in locs
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
