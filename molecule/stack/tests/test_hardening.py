"""Exposure and hostile requests, measured on the deployed stack: the app unit's
systemd-analyze score, and requests no browser sends, all through the real Nginx."""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    PUBLIC_URL,
    SERVICE,
    SLUGS,
    STACK_ONLY,
    UPLOADS,
    all_containers,
    curl,
    exposure,
    public,
    run_playbook,
)

EXPOSURE_LIMIT = 1.5  # the stock nginx unit scores 9.6 in the same containers
NGINX_EXPOSURE_LIMIT = 3.0  # with nginx_proxy_service_hardening: 2.6 measured
# Mozilla's "intermediate" TLS 1.2 ciphers that an RSA certificate (the self-signed one) can use.
INTERMEDIATE_RSA = {
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
}
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def test_app_unit_exposure_is_at_most_1_5(host):
    assert exposure(host, "blog.service") <= EXPOSURE_LIMIT


def test_sandboxed_nginx_serves_and_reloads(host):
    assert exposure(host, "nginx.service") <= NGINX_EXPOSURE_LIMIT
    assert host.run("systemctl reload nginx").rc == 0
    assert public(host, "/").status == 200
    assert public(host, "/static/style.css").status == 200


DROPIN = "/etc/systemd/system/nginx.service.d/flask_blog-hardening.conf"


def nginx_state(container):
    return {
        "dropin": container.file(DROPIN).exists,
        "running": container.service("nginx").is_running,
        "home": public(container, "/").status,
    }


@pytest.fixture(scope="session")
def sandbox_rollback():
    """The sandbox tasks of nginx_proxy with a sandbox nginx cannot start in (it cannot write
    its logs or pid file), then again with the scenario's own; each container's nginx after
    each run."""
    hosts = all_containers()
    playbook = Path(__file__).parent / "nginx_sandbox.yml"
    broken = run_playbook(playbook, '{"nginx_proxy_service_writable_paths": ["/var/lib/nginx"]}')
    after_broken = {name: nginx_state(container) for name, container in hosts.items()}
    restored = run_playbook(playbook)
    after_restored = {name: nginx_state(container) for name, container in hosts.items()}
    return broken, after_broken, restored, after_restored


@STACK_ONLY
def test_a_sandbox_nginx_cannot_start_in_is_rolled_back(hostname, sandbox_rollback):
    broken, after_broken, restored, after_restored = sandbox_rollback
    assert broken.returncode != 0
    assert "did not start inside the sandbox" in broken.stdout, broken.stdout[-2000:]
    assert after_broken[hostname] == {"dropin": False, "running": True, "home": 200}
    assert restored.returncode == 0, restored.stdout[-2000:]
    assert after_restored[hostname] == {"dropin": True, "running": True, "home": 200}


def test_trace_is_refused(host):
    response = public(host, "/", "-X", "TRACE")
    assert response.status == 405
    assert "TRACE" not in response.body


# Over HTTP/1.1 Nginx answers 414 or 400; over HTTP/2 it resets the stream. Either way the
# request never reaches the app.
@pytest.mark.parametrize(
    ("what", "options", "status"),
    [("URL", ("--path-as-is",), 414), ("header", ("-H", "X-Junk: " + "j" * 20000), 400)],
)
def test_absurdly_long_urls_and_headers_are_refused_by_nginx(host, what, options, status):
    path = "/" + "a" * 20000 if what == "URL" else "/"
    assert public(host, path, "--http1.1", *options).status == status
    assert public(host, path, "--http2", *options).status in (0, status)


def test_unknown_host_is_never_answered_by_the_blog(host):
    other = "other.example.test"
    over_tls = curl(host, f"https://{other}/", "--resolve", f"{other}:443:127.0.0.1")
    assert over_tls.status == 0  # the TLS handshake is refused
    plain = curl(host, "http://127.0.0.1/", "-H", f"Host: {other}")
    assert plain.status == 0  # 444: the connection is closed without an answer
    mixed = public(host, "/", "-H", f"Host: {other}")
    assert mixed.status == 421
    assert SLUGS[0] not in mixed.body


@pytest.mark.parametrize(
    "path",
    ["/", f"/articles/{SLUGS[0]}", "/sitemap.xml", "/no-such-page", "/static/style.css",
     "/static/uploads/hardening-probe.png", "/static/missing.css"],
)  # fmt: skip
def test_security_headers_are_on_every_route(host, path):
    host.run(f"install -o {SERVICE} -g www-data -m 0640 /dev/null {UPLOADS}/hardening-probe.png")
    response = public(host, path)
    assert response.status in (200, 404), (path, response.status)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name, response.headers)


@pytest.mark.parametrize("path", ["//evil.example/", "/%2f%2fevil.example/", "/\\evil.example/"])
def test_no_open_redirect(host, path):
    response = public(host, path, "--path-as-is")
    location = response.headers.get("location", "")
    assert not re.match(r"^(https?:)?//evil", location), (path, location)
    assert not location.startswith(("/\\", "\\")), (path, location)
    if location:
        assert location.startswith((PUBLIC_URL, "/")), (path, location)


def handshake(host, *options):
    """One TLS handshake with the site (SNI: its public name); True when it succeeded. The
    client allows everything (security level 0), so a refusal is the server's."""
    name = shlex.quote(PUBLIC_URL.split("/")[2])
    run = host.run(
        f"openssl s_client -connect 127.0.0.1:443 -servername {name} {' '.join(options)} </dev/null"
    )
    return run.rc == 0 and "Cipher is (NONE)" not in run.stdout


def test_tls_offers_only_1_2_and_1_3(host):
    seclevel0 = "-cipher 'ALL:@SECLEVEL=0'"
    offered = {
        version: handshake(host, flag, seclevel0)
        for version, flag in [("TLSv1", "-tls1"), ("TLSv1.1", "-tls1_1"),
                              ("TLSv1.2", "-tls1_2"), ("TLSv1.3", "-tls1_3")]
    }  # fmt: skip
    assert offered == {"TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}


@STACK_ONLY
def test_tls_1_2_ciphers_are_the_intermediate_list(host):
    candidates = host.run("openssl ciphers -tls1_2 'ALL:@SECLEVEL=0'").stdout.strip().split(":")
    tls12 = [c for c in candidates if not c.startswith("TLS_")]  # TLS 1.3 suites are separate
    accepted = {c for c in tls12 if handshake(host, "-tls1_2", f"-cipher '{c}:@SECLEVEL=0'")}
    print(f"TLS 1.2: {len(accepted)} of {len(tls12)} ciphers accepted: {sorted(accepted)}")
    assert accepted == INTERMEDIATE_RSA


def test_gixy_finds_nothing_in_the_rendered_configuration(host):
    # gixy-ng (from the test venv) reads the whole configuration as nginx itself loaded it.
    dump = host.run("nginx -T")
    assert dump.rc == 0, dump.stderr
    gixy = Path(sys.executable).with_name("gixy")
    report = subprocess.run(
        [str(gixy), "--format", "json", "-"],
        input=dump.stdout, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    findings = json.loads(report.stdout)
    assert findings == [], json.dumps(findings, indent=2)
    assert "ssl_protocols" in dump.stdout and "server_name" in dump.stdout  # it read the site
