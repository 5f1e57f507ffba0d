"""The deployed stack, proven by real requests through Nginx to Gunicorn under systemd."""

import json
import re
import subprocess
import tarfile
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import (
    ADMIN_PASSWORD,
    APP_ROOT,
    BIND,
    CURRENT,
    ENV_FILE,
    INSTANCE,
    LOAD_STOP,
    PREFIX,
    PROJECT,
    PUBLIC_HOST,
    PUBLIC_URL,
    RELEASES,
    SERVICE,
    SITE,
    SLUGS,
    STACK_ONLY,
    UPLOAD_LIMIT,
    UPLOADS,
    all_containers,
    changed_copy_of_the_example,
    containers,
    data_checksums,
    finish_load,
    public,
    recaps,
    run_playbook,
    start_load,
    unit_property,
    wait_until_healthy,
)

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9"}


@pytest.mark.parametrize("path", ["/", f"/articles/{SLUGS[0]}", "/admin/login", "/healthz"])
def test_pages_answer_through_nginx(host, path):
    response = public(host, path)
    assert response.status == 200, response.body[:300]


def test_canonical_link_is_on_the_public_url(host):
    html = public(host, f"/articles/{SLUGS[0]}").body
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html).group(1)
    assert canonical == f"{PUBLIC_URL}/articles/{SLUGS[0]}"


def test_sitemap_lists_every_article_on_the_public_url(host):
    response = public(host, "/sitemap.xml")
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/xml")
    locs = [e.text for e in ElementTree.fromstring(response.body).findall(".//sm:loc", SITEMAP_NS)]
    assert all(loc.startswith(PUBLIC_URL + "/") for loc in locs), locs
    for slug in SLUGS:
        assert f"{PUBLIC_URL}/articles/{slug}" in locs
    robots = public(host, "/robots.txt").body
    assert f"Sitemap: {PUBLIC_URL}/sitemap.xml" in robots


def test_proxyfix_restores_the_request_as_the_client_made_it(host):
    seen = json.loads(public(host, "/healthz").body)["request"]
    assert seen == {
        "remote_addr": "127.0.0.1",
        "scheme": "https",
        "host": PUBLIC_HOST,
        "script_root": PREFIX,
    }


def test_forwarded_headers_sent_by_the_client_change_nothing(host):
    spoofed = [
        "-H", "X-Forwarded-For: 203.0.113.9",
        "-H", "X-Forwarded-Proto: http",
        "-H", "X-Forwarded-Host: evil.example",
        "-H", "X-Forwarded-Prefix: /evil",
        "-H", "X-Real-IP: 203.0.113.9",
        "-H", "Forwarded: for=203.0.113.9;proto=http;host=evil.example",
    ]  # fmt: skip
    seen = json.loads(public(host, "/healthz", *spoofed).body)["request"]
    assert seen == {
        "remote_addr": "127.0.0.1",
        "scheme": "https",
        "host": PUBLIC_HOST,
        "script_root": PREFIX,
    }
    html = public(host, f"/articles/{SLUGS[0]}", *spoofed).body
    assert f'href="{PUBLIC_URL}/articles/{SLUGS[0]}"' in html
    assert "evil.example" not in html
    login = public(host, "/admin/", *spoofed)
    assert login.status in (302, 303)
    assert "evil" not in login.headers.get("location", "")


def test_upload_limit_is_the_same_in_nginx_and_flask(host):
    probe = (Path(__file__).parent / "upload_probe.py").read_text()
    result = host.run(
        "python3 -c %s %s %s %s %s", probe, PUBLIC_URL, BIND, str(UPLOAD_LIMIT), ADMIN_PASSWORD
    )
    assert result.rc == 0, result.stderr
    outcome = json.loads(result.stdout)
    for layer in ("nginx", "gunicorn"):
        assert outcome[layer]["login"] == 303, outcome
        assert outcome[layer]["under"] == 303, outcome  # accepted, back to the dashboard
        assert outcome[layer]["over"] == 413, outcome
    assert outcome["nginx"]["over_answered_by_nginx"], outcome
    assert not outcome["gunicorn"]["over_answered_by_nginx"], outcome


def test_gunicorn_listens_on_loopback_only(host):
    listening = host.run("ss -Hltn").stdout
    if BIND.startswith("unix:"):
        socket = host.file(BIND[5:])
        assert socket.is_socket
        assert socket.mode == 0o660
        assert (socket.user, socket.group) == ("root", "www-data")
        assert ":8000 " not in listening
    else:
        port = BIND.rsplit(":", 1)[1]
        addresses = [line.split()[3] for line in listening.splitlines()]
        mine = [a for a in addresses if a.endswith(":" + port)]
        assert mine == [BIND], listening


@pytest.mark.parametrize(
    "path",
    [
        "/static/../.env",
        "/static/..%2f.env",
        "/static..%2f.env",
        "/static../.env",
        "/static/%2e%2e/.env",
        "/static/%2e%2e%2f%2e%2e%2fetc/passwd",
        "/static/uploads/../../.env",
        "/static/uploads/..%2f..%2f.env",
        "/static../wsgi.py",
        "/static/../wsgi.py",
        "/static/..%252f.env",
        # The static directory is current/static: the app root is two levels up from it.
        "/static/../../.env",
        "/static/..%2f..%2f.env",
        "/static/%2e%2e/%2e%2e/.env",
        "/static/uploads/../../../.env",
        "/static/../../deploy.log",
        "/static/..%2f..%2fshared/instance/database.db",
        "/static/uploads/..%2f..%2f..%2fshared/instance/database.db",
    ],
)
def test_nothing_outside_static_is_reachable(host, path):
    response = public(host, path, "--path-as-is")
    assert response.status in (400, 403, 404), (response.status, response.body[:200])
    assert "SECRET_KEY" not in response.body
    assert "SQLite format 3" not in response.body
    assert "create_app" not in response.body
    assert "root:" not in response.body


DOTFILES = [
    "/.env",
    "/.flask_blog-release",
    "/.git/config",
    "/static/.hidden",
    "/.venv/pyvenv.cfg",
    "/static/.flask_blog-release",
    "/static/uploads/.hidden",
]


@pytest.mark.parametrize("path", DOTFILES)
def test_dotfiles_are_not_served(host, path):
    assert public(host, path).status in (403, 404)


def test_static_file_is_served_by_nginx_itself(host):
    assert host.run("systemctl stop blog.socket blog.service").rc == 0
    try:
        assert public(host, "/").status == 502  # the app is really down
        css = public(host, "/static/style.css")
        assert css.status == 200
        assert css.headers["content-type"].startswith("text/css")
        assert "cache-control" in css.headers or "expires" in css.headers
    finally:
        assert host.run("systemctl start blog.socket blog.service").rc == 0
    assert wait_until_healthy(host, 30) is not None


def test_env_file_is_not_world_readable(host):
    env = host.file(ENV_FILE)
    assert (env.user, env.group, env.mode) == ("root", SERVICE, 0o640)
    assert host.run(f"sudo -u nobody cat {ENV_FILE}").rc != 0


# `test -w` follows links: current/ is the live release, current/.venv its virtualenv.
@pytest.mark.parametrize(
    "path",
    [APP_ROOT, RELEASES, f"{CURRENT}/", f"{CURRENT}/blog", f"{CURRENT}/wsgi.py",
     f"{CURRENT}/.venv/", f"{CURRENT}/.venv/bin", f"{APP_ROOT}/venvs"],
)  # fmt: skip
def test_service_user_cannot_write_the_code(host, path):
    assert host.file(path).exists, path
    assert host.run(f"sudo -u {SERVICE} test -w {path}").rc != 0
    for writable in (INSTANCE, UPLOADS, f"{CURRENT}/instance/", f"{CURRENT}/static/uploads/"):
        assert host.run(f"sudo -u {SERVICE} test -w {writable}").rc == 0, writable


def test_service_is_active_and_enabled(host):
    for unit in ("blog.service", "blog.socket", "nginx.service"):
        service = host.service(unit)
        assert service.is_running, unit
        assert service.is_enabled, unit


def test_site_answers_again_after_gunicorn_is_killed(host):
    pid = unit_property(host, "blog.service", "MainPID")
    assert pid not in ("", "0")
    assert host.run(f"kill -9 {pid}").rc == 0
    took = wait_until_healthy(host, 10)
    assert took is not None, "no answer within 10 s of kill -9"
    print(f"answered again {took:.1f} s after kill -9 of the arbiter")
    assert unit_property(host, "blog.service", "MainPID") != pid


BAD_INPUTS = {
    "blog_public_url=blog.example.test/blog": "blog_public_url must be an absolute",
    "gunicorn_systemd_bind=0.0.0.0:8000": "gunicorn_systemd_bind is 0.0.0.0:8000, which is not",
    "blog_upload_limit_mb=lots": "blog_upload_limit_mb",
    "nginx_proxy_tls_certificate=/etc/ssl/certs/ours.pem": "nginx_proxy_tls_certificate_key",
    '{"gunicorn_systemd_config_files": [{"path": "../config.py", "content": "X = 1"}]}': (
        "gunicorn_systemd_config_files must list distinct files"
    ),
}
WATCHED = [
    "/etc/blog/gunicorn.conf.py",
    ENV_FILE,
    "/etc/nginx/sites-available/blog.conf",
]


@pytest.fixture(scope="session")
def bad_input_runs():
    return {extra: run_playbook(SITE, extra, timeout=300) for extra in BAD_INPUTS}


@STACK_ONLY
def test_bad_input_fails_before_anything_changes(host, hostname, bad_input_runs):
    before = {path: host.file(path).sha256sum for path in WATCHED}
    pid = unit_property(host, "blog.service", "MainPID")
    for extra, message in BAD_INPUTS.items():
        run = bad_input_runs[extra]
        assert run.returncode != 0, extra
        assert message in run.stdout, (extra, run.stdout[-2000:])
        assert "changed=0" in recaps(run)[hostname], (extra, recaps(run))
    assert {path: host.file(path).sha256sum for path in WATCHED} == before
    assert unit_property(host, "blog.service", "MainPID") == pid


@STACK_ONLY
def test_app_sources_archive_and_git(tmp_path):
    """app_deploy from an archive and from git (twice each): the assertions are in
    app_sources.yml, which runs on every container."""
    archive = tmp_path / "blog.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(
            PROJECT / "examples" / "blog",
            arcname="blog",
            filter=lambda member: None if "__pycache__" in member.name else member,
        )
    run = run_playbook(
        Path(__file__).parent / "app_sources.yml",
        f"app_sources_archive={archive}",
        site_inputs=False,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert sorted(recaps(run)) == containers(), run.stdout[-2000:]
    assert all("failed=0" in line for line in recaps(run).values())


CHECK_MARK = '<meta name="release" content="checked">'
CHECK_WATCHED = [f"{CURRENT}/blog/templates/base.html", f"{CURRENT}/.flask_blog-release"]


@pytest.fixture(scope="session")
def check_mode_run(tmp_path_factory):
    """site.yml in check and diff mode with an edited template, on every container; the
    watched files' checksums, the live release, the list of releases and the app's main PID
    before and after."""
    hosts = all_containers()

    def state():
        return {
            name: (
                [c.file(p).sha256sum for p in CHECK_WATCHED],
                c.run("readlink %s", CURRENT).stdout.strip(),
                c.run("ls -1A %s", RELEASES).stdout.split(),
                unit_property(c, "blog.service", "MainPID"),
            )
            for name, c in hosts.items()
        }

    source = changed_copy_of_the_example(tmp_path_factory.mktemp("check"), CHECK_MARK)
    before = state()
    run = run_playbook(SITE, f"app_deploy_src={source}/", options=["--check", "--diff"])
    return run, source, before, state()


@STACK_ONLY
def test_check_mode_shows_a_code_change_and_changes_nothing(host, hostname, check_mode_run):
    run, source, before, after = check_mode_run
    assert run.returncode == 0, run.stdout[-3000:]
    recap = recaps(run)[hostname]
    assert "failed=0" in recap and "changed=0" not in recap, recap
    assert f"+{CHECK_MARK}" in run.stdout  # the template's diff against the live release
    assert f"changed: [{hostname}] => (item=blog/templates/base.html)" in run.stdout
    said = " ".join(run.stdout.split())  # the callback folds long messages
    assert re.search(r"Release \S+ is built from " + re.escape(f"{source}/"), said)
    # The once-per-host commands ran at the converge; the migrations would, for the new release.
    assert "no once-per-host command and the migrations (after a backup of the database)" in said
    # The source's requirements are the live release's: their virtualenv is complete already.
    assert "Check mode: pip would not run: the virtualenv of these requirements" in said
    assert after[hostname] == before[hostname]  # no release built, none switched to
    assert CHECK_MARK not in public(host, "/").body


RELEASE_MARK = '<meta name="release" content="redeployed">'
UPLOADED = f"{UPLOADS}/redeploy-check.bin"  # an upload, whatever ran before


@pytest.fixture(scope="session")
def redeploy_under_load(tmp_path_factory):
    """Redeploy changed code to every container in one run of site.yml, while two keep-alive
    connections per container (50 req/s, at most 240 s, stopped 3 s after the run) request the
    home page through Nginx; return the run, each container's load figures, and its data
    checksums (an upload among them) before and after."""
    hosts = all_containers()
    for container in hosts.values():
        made = container.run(
            f"runuser -u {SERVICE} -- sh -c %s sh %s", 'head -c 4096 /dev/urandom > "$1"', UPLOADED
        )
        assert made.rc == 0, made.stderr
    before = {name: data_checksums(container) for name, container in hosts.items()}
    for container in hosts.values():
        container.run("rm -f %s", LOAD_STOP)
        start_load(
            container, "--concurrency", "2", "--rate", "50", "--seconds", "240",
            "--stop-file", LOAD_STOP,
        )  # fmt: skip
    time.sleep(2)
    source = changed_copy_of_the_example(tmp_path_factory.mktemp("redeploy"), RELEASE_MARK)
    run = run_playbook(SITE, f"app_deploy_src={source}/")
    time.sleep(3)
    for container in hosts.values():
        container.run("touch %s", LOAD_STOP)
    loads = {name: finish_load(container, 1) for name, container in hosts.items()}
    after = {name: data_checksums(container) for name, container in hosts.items()}
    for container in hosts.values():
        container.run("rm -f %s", UPLOADED)
    return run, loads, before, after


def test_redeploy_under_load_fails_no_request(host, hostname, redeploy_under_load):
    run, loads, _before, _after = redeploy_under_load
    assert run.returncode == 0, run.stdout[-3000:]
    assert "failed=0" in recaps(run)[hostname]
    load = loads[hostname]
    print(
        f"redeploy under load: {load['failed']} failed of {load['requests']}, "
        f"slowest {load['max_ms']} ms"
    )
    assert load["requests"] > 100
    assert load["failed"] == 0, load["failures"]
    assert RELEASE_MARK in public(host, "/").body


def test_redeploy_leaves_the_database_and_the_uploads_alone(hostname, redeploy_under_load):
    run, _loads, before, after = redeploy_under_load
    assert run.returncode == 0
    assert "database content" in before[hostname] and "./redeploy-check.bin" in before[hostname]
    assert after[hostname] == before[hostname]


def test_site_comes_back_after_a_reboot(host, hostname):
    subprocess.run(["docker", "restart", "-t", "30", hostname], check=True, timeout=120)
    took = wait_until_healthy(host, 90)
    assert took is not None, "the site did not come back after the restart"
    print(f"answered {took:.1f} s after the container restarted")
    assert host.service("blog.service").is_running
    assert public(host, f"/articles/{SLUGS[0]}").status == 200
