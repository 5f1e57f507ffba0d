"""Helpers for the stack scenarios: real HTTP requests made inside the container (curl), through
Nginx on the public name (blog.example.test resolves to 127.0.0.1 there) or straight to
Gunicorn."""

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import testinfra

PUBLIC_URL = os.environ.get("BLOG_PUBLIC_URL", "https://blog.example.test")
BIND = os.environ.get("BLOG_BIND", "127.0.0.1:8000")
# The account the app runs as (blog_service_user, and its group): www-data, Nginx's own, or one
# of its own (stack_unix); Nginx's group stays www-data either way.
SERVICE = os.environ.get("BLOG_SERVICE_USER", "www-data")
PREFIX = urlsplit(PUBLIC_URL).path.rstrip("/")
PUBLIC_HOST = urlsplit(PUBLIC_URL).hostname
UPLOAD_LIMIT = 1024 * 1024  # blog_upload_limit_mb: 1
ADMIN_PASSWORD = "molecule-admin-password"  # see molecule/resources/admin_password_hash
SLUGS = ["welcome", "backups-that-restore", "por-que-hospedar-seu-blog"]
# Tests that exercise a role or playbook the same way whatever the bind and prefix run in the
# stack scenario only (stack_unix shares this directory), to keep the suite's time down.
STACK_ONLY = pytest.mark.skipif(
    BIND.startswith("unix:"), reason="the same code path is tested in the stack scenario"
)
PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
INVENTORY = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "") + "/inventory"
SITE = PROJECT / "playbooks" / "site.yml"
# The release layout on the host (blog_app_root and the site-wide paths below it).
APP_ROOT = "/var/www/blog"
CURRENT = f"{APP_ROOT}/current"  # link to releases/<id>, the live release
RELEASES = f"{APP_ROOT}/releases"
SHARED = f"{APP_ROOT}/shared"
INSTANCE = f"{SHARED}/instance"
UPLOADS = f"{SHARED}/uploads"
DATABASE = f"{INSTANCE}/database.db"
ENV_FILE = f"{APP_ROOT}/.env"
DEPLOY_LOG = f"{APP_ROOT}/deploy.log"


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


def run_playbook(playbook, *extra_vars, site_inputs=True, options=(), timeout=900):
    """Run a playbook on every container of the scenario, by default with the inputs molecule's
    converge has (extra vars, so they override anything the playbook sets); `options` are more
    ansible-playbook options (--check, --diff)."""
    args = ["-e", f"@{PROJECT}/molecule/resources/vars/site.yml"] if site_inputs else []
    for extra in extra_vars:
        args += ["-e", extra]
    args += list(options)
    return subprocess.run(
        ["ansible-playbook", str(playbook), "-i", INVENTORY, *args],
        env=dict(
            os.environ,
            ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=str(PROJECT / ".collections"),
            ANSIBLE_FORCE_COLOR="0",  # molecule sets it; the recap lines are parsed
            ANSIBLE_NOCOLOR="1",
        ),
        cwd=PROJECT, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def recaps(run):
    """PLAY RECAP line of each host; a run that matched no host has none."""
    return dict(re.findall(r"^(\S+)\s+: (ok=.*)$", run.stdout, re.MULTILINE))


def containers():
    listing = subprocess.run(
        ["ansible-inventory", "-i", INVENTORY, "--list"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return sorted(json.loads(listing.stdout)["_meta"]["hostvars"])


def all_containers():
    """Every container of the scenario by name, reached with `docker exec`."""
    return {name: testinfra.get_host("docker://" + name) for name in containers()}


def unit_properties(host, unit, *names):
    """Properties of a systemd unit (`systemctl show -p`), by name."""
    listing = host.run("systemctl show %s " + " ".join(["-p %s"] * len(names)), unit, *names)
    return dict(line.split("=", 1) for line in listing.stdout.splitlines() if "=" in line)


def unit_property(host, unit, name):
    return unit_properties(host, unit, name).get(name, "")


def exposure(host, unit):
    """The overall exposure level `systemd-analyze security` gives a unit (printed)."""
    report = host.run(f"systemd-analyze security --no-pager {shlex.quote(unit)}")
    assert report.rc == 0, report.stderr
    score = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", report.stdout)
    assert score, report.stdout[-500:]
    print(f"systemd-analyze security {unit}: {score.group(1)}")
    return float(score.group(1))


LOAD_PROBE = (Path(__file__).parent / "load_probe.py").read_text()
LOAD_UNIT = "blog-load-probe"
LOAD_OUTPUT = "/tmp/load-probe.json"


def start_load(host, *options):
    """load_probe.py through Nginx on the public URL, as a transient unit in the container (so
    it outlives this call); `options` are its own (--paths, --seconds, ...)."""
    host.run("rm -f %s", LOAD_OUTPUT)
    started = host.run(
        "systemd-run --unit=%s --collect /bin/sh -c %s sh %s %s %s" + " %s" * len(options),
        LOAD_UNIT, 'out=$1; shift; exec python3 -c "$@" > "$out"',
        LOAD_OUTPUT, LOAD_PROBE, PUBLIC_URL, *options,
    )  # fmt: skip
    assert started.rc == 0, started.stderr


def finish_load(host, seconds):
    """Wait for the probe, due to end within `seconds`, a minute longer at most; return its
    figures."""
    for _attempt in range(int(seconds) + 60):
        if host.run("systemctl is-active %s", LOAD_UNIT).stdout.strip() != "active":
            break
        time.sleep(1)
    text = host.run("cat %s", LOAD_OUTPUT).stdout
    if not text:
        journal = host.run("journalctl -u %s -o cat --no-pager", LOAD_UNIT).stdout
        pytest.fail(f"the load probe wrote nothing; its journal:\n{journal[-2000:]}")
    return json.loads(text)


LOAD_STOP = "/tmp/load-probe.stop"  # load_probe.py's --stop-file in the tests that use one

DATA_CHECKSUMS = f"""cd {UPLOADS} &&
  find . -type f -print0 | sort -z | xargs -0r sha256sum
stat -c 'database inode %i' {DATABASE}
runuser -u {SERVICE} -- python3 -c '
import hashlib, sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print("database content", hashlib.sha256("\\n".join(db.iterdump()).encode()).hexdigest())
' {DATABASE}"""


def data_checksums(container):
    """Checksums of every upload, the database file's inode and its content (as SQL, read as
    the service user: reading a WAL database writes its -shm file)."""
    result = container.run("sh -c %s", DATA_CHECKSUMS)
    assert result.rc == 0, result.stderr
    return result.stdout


def changed_copy_of_the_example(directory, mark):
    """A copy of the example blog in directory/blog with `mark` in the <head> of every page."""
    source = directory / "blog"
    shutil.copytree(
        PROJECT / "examples" / "blog",
        source,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache", "instance"),
    )
    base = source / "blog" / "templates" / "base.html"
    base.write_text(base.read_text().replace("<head>", f"<head>\n{mark}", 1))
    return source
