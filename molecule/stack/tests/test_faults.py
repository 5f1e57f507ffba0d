"""Faults on the deployed stack: a bounded load through Nginx, a worker killed under load, a
full uploads disk, an app that cannot start (it never goes live), and a missing or unusable
environment file. Each session fixture acts on every container at once and leaves the stack as
it found it."""

import json
import re
import time
from pathlib import Path

import pytest
from conftest import (
    ADMIN_PASSWORD,
    BIND,
    ENV_FILE,
    PROJECT,
    PUBLIC_URL,
    SERVICE,
    SLUGS,
    STACK_ONLY,
    UPLOAD_LIMIT,
    UPLOADS,
    all_containers,
    finish_load,
    public,
    recaps,
    run_playbook,
    start_load,
    unit_property,
    wait_until_healthy,
)

HERE = Path(__file__).parent
CONCURRENCY = 50
LOAD_SECONDS = 60
APP_SERVICE = HERE / "app_service.yml"
VERIFY = PROJECT / "playbooks" / "verify.yml"


def through_nginx(container, seconds):
    """CONCURRENCY connections for `seconds` on the home page, an article and a static file."""
    start_load(
        container, "--paths", f"/,/articles/{SLUGS[0]},/static/style.css",
        "--concurrency", str(CONCURRENCY), "--seconds", str(seconds),
    )  # fmt: skip


def workers(container):
    main = unit_property(container, "blog.service", "MainPID")
    return main, sorted(container.run("pgrep -P %s", main).stdout.split())


# --- load ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sustained_load():
    """LOAD_SECONDS of CONCURRENCY connections through Nginx, in every container at once."""
    hosts = all_containers()
    for container in hosts.values():
        through_nginx(container, LOAD_SECONDS)
    time.sleep(LOAD_SECONDS)
    return {name: finish_load(c, 30) for name, c in hosts.items()}


@STACK_ONLY
def test_sustained_load_through_nginx_fails_no_request(hostname, sustained_load):
    figures = sustained_load[hostname]
    print(
        f"{CONCURRENCY} connections for {figures['seconds']} s: {figures['requests']} requests "
        f"({figures['per_second']}/s), {figures['failed']} failed, p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms"
    )
    assert figures["seconds"] >= LOAD_SECONDS
    assert figures["failed"] == 0, figures["failures"]
    assert figures["requests"] > 1000


@pytest.fixture(scope="session")
def worker_killed_under_load():
    """kill -9 of one Gunicorn worker 3 s into a 10 s load, in every container at once."""
    hosts = all_containers()
    before = {name: workers(c) for name, c in hosts.items()}
    for container in hosts.values():
        through_nginx(container, 10)
    time.sleep(3)
    for name, container in hosts.items():
        assert container.run("kill -9 %s", before[name][1][0]).rc == 0
    time.sleep(7)
    figures = {name: finish_load(c, 10) for name, c in hosts.items()}
    after = {name: workers(c) for name, c in hosts.items()}
    journals = {
        name: c.run("journalctl -u blog.service --since -1min --no-pager -o cat").stdout
        for name, c in hosts.items()
    }
    return before, figures, after, journals


@STACK_ONLY
def test_a_killed_worker_costs_at_most_its_own_request(hostname, worker_killed_under_load):
    before, figures, after, journals = worker_killed_under_load
    (main, old), (main_after, new) = before[hostname], after[hostname]
    load = figures[hostname]
    print(
        f"kill -9 of worker {old[0]} under load: {load['failed']} failed of {load['requests']}, "
        f"workers {old} -> {new}"
    )
    # A sync worker (gunicorn_systemd_threads: 1) holds one request at a time.
    assert load["failed"] <= 1, load["failures"]
    assert load["requests"] > 100
    assert main_after == main  # the arbiter lived on ...
    assert len(new) == len(old) and old[0] not in new  # ... and replaced the worker
    assert f"Worker (pid:{old[0]}) was sent SIGKILL" in journals[hostname]


# --- full disk -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def full_uploads_disk():
    """Each container's uploads directory on a full 128 KiB tmpfs (same owner and mode), the app
    restarted to see it; an upload through Nginx and the pages meanwhile; then all undone."""
    hosts = all_containers()
    outcome = {}
    probe = (HERE / "upload_probe.py").read_text()
    for name, container in hosts.items():
        mounted = container.run(
            "d=%s; mount -t tmpfs -o size=128k,uid=$(stat -c %%u $d),gid=$(stat -c %%g $d),"
            f"mode=$(stat -c %%a $d) flask-blog-full $d && runuser -u {SERVICE} -- "
            "dd if=/dev/zero of=$d/.filler bs=4k; df --output=avail $d | tail -1",
            UPLOADS,
        )
        restarted = container.run("systemctl restart blog.service")
        upload = container.run(
            "python3 -c %s %s %s %s %s %s",
            probe, PUBLIC_URL, BIND, str(UPLOAD_LIMIT), ADMIN_PASSWORD, "65536",
        )  # fmt: skip
        outcome[name] = {
            "available": mounted.stdout.split()[-1] if mounted.stdout else "",
            "restarted": restarted.rc,
            "upload": json.loads(upload.stdout) if upload.rc == 0 else upload.stderr,
            "left": container.run("ls -A %s", UPLOADS).stdout.split(),
            "pages": [public(container, p).status for p in ("/", f"/articles/{SLUGS[0]}")],
        }
    for container in hosts.values():
        container.run("umount %s && systemctl restart blog.service", UPLOADS)
    return outcome


@STACK_ONLY
def test_a_full_uploads_disk_fails_uploads_cleanly_and_pages_still_load(
    host, hostname, full_uploads_disk
):
    outcome = full_uploads_disk[hostname]
    assert outcome["available"] == "0" and outcome["restarted"] == 0, outcome
    upload = outcome["upload"]
    assert upload["login"] == 303, outcome
    assert upload["status"] == 507, upload  # Insufficient Storage, in the site's error page
    assert "No space is left to store the image; nothing was saved." in upload["text"]
    assert outcome["left"] == [".filler"]  # no partial upload stays behind
    assert outcome["pages"] == [200, 200]
    assert wait_until_healthy(host, 30) is not None
    assert not host.mount_point(UPLOADS).exists


# --- an app that cannot start, environment file ---------------------------------------------


def unit_state(container, unit="blog.service", wait_for=None, seconds=40):
    """ActiveState of the unit, waiting (bounded) for `wait_for` when given."""
    state = ""
    for _attempt in range(seconds):
        state = unit_property(container, unit, "ActiveState")
        if wait_for is None or state == wait_for:
            break
        time.sleep(1)
    return state


@pytest.fixture(scope="session")
def broken_releases():
    """In every container at once: gunicorn_systemd with an app that cannot import (its
    candidate fails the checks, so it never goes live); then the env file removed behind the
    service's back and the service restarted, and verify.yml; the env file's path taken by a
    directory and gunicorn_systemd again; finally the scenario's own run, which must recover
    from all of it (systemd had given up on the unit)."""
    hosts = all_containers()
    runs, seen = {}, {name: {} for name in hosts}
    for name, container in hosts.items():
        seen[name]["pid"] = unit_property(container, "blog.service", "MainPID")
    runs["crash"] = run_playbook(
        APP_SERVICE, "gunicorn_systemd_app=nosuch_module:app", "gunicorn_systemd_check_timeout=20"
    )
    for name, container in hosts.items():
        seen[name]["crash"] = unit_state(container)
        seen[name]["crash_pid"] = unit_property(container, "blog.service", "MainPID")
        seen[name]["crash_page"] = public(container, "/").status
        seen[name]["candidate"] = unit_state(container, "blog-candidate.service")
    for name, container in hosts.items():
        container.run("mv %s /root/env.saved && systemctl reset-failed blog.service", ENV_FILE)
        seen[name]["restart_without_env"] = container.run("systemctl restart blog.service").rc
    for name, container in hosts.items():
        seen[name]["without_env"] = unit_state(container, wait_for="failed")
        seen[name]["journal"] = container.run(
            "journalctl -u blog.service -n 20 --no-pager -o cat"
        ).stdout
    runs["verify"] = run_playbook(VERIFY)
    for container in hosts.values():
        container.run("mkdir %s", ENV_FILE)
    runs["directory"] = run_playbook(APP_SERVICE)
    for name, container in hosts.items():
        seen[name]["directory_kept"] = container.file(ENV_FILE).is_directory
        container.run("rmdir %s && rm -f /root/env.saved", ENV_FILE)
    runs["recovered"] = run_playbook(APP_SERVICE)
    return runs, seen


@STACK_ONLY
def test_an_app_that_cannot_import_never_goes_live_and_the_play_shows_its_journal(
    hostname, broken_releases
):
    runs, seen = broken_releases
    crash = runs["crash"]
    output = " ".join(crash.stdout.split())
    assert crash.returncode != 0
    assert re.search(r"\bfailed=1\b", recaps(crash)[hostname]), recaps(crash)
    assert "failed its checks before going live" in output, output[-3000:]  # the candidate's
    assert "ModuleNotFoundError: No module named 'nosuch_module'" in output  # its journal
    # The live app was never touched: same arbiter, still answering; the candidate is gone.
    assert seen[hostname]["crash"] == "active"
    assert seen[hostname]["crash_pid"] == seen[hostname]["pid"]
    assert seen[hostname]["crash_page"] == 200  # not 502
    assert seen[hostname]["candidate"] != "active"


@STACK_ONLY
def test_a_missing_env_file_fails_the_service_and_verify_names_it(hostname, broken_releases):
    runs, seen = broken_releases
    assert seen[hostname]["restart_without_env"] != 0
    assert seen[hostname]["without_env"] == "failed"
    assert re.search(r"Failed to load environment files: No such file", seen[hostname]["journal"])
    verify = " ".join(runs["verify"].stdout.split())
    assert runs["verify"].returncode != 0
    assert f"cannot read {ENV_FILE}: No such file or directory" in verify


@STACK_ONLY
def test_an_env_file_path_that_is_not_a_file_fails_before_anything_changes(
    hostname, broken_releases
):
    runs, seen = broken_releases
    output = " ".join(runs["directory"].stdout.split())
    assert runs["directory"].returncode != 0
    assert f"gunicorn_systemd_env_file is {ENV_FILE}, which exists but is not a regular" in output
    assert "changed=0" in recaps(runs["directory"])[hostname]
    assert seen[hostname]["directory_kept"]


@STACK_ONLY
def test_the_role_recovers_from_every_fault_above(host, hostname, broken_releases):
    runs, _seen = broken_releases
    # A working release starts although systemd had given up on the unit; the env file is back.
    assert "failed=0" in recaps(runs["recovered"])[hostname], runs["recovered"].stdout[-3000:]
    env = host.file(ENV_FILE)
    assert env.is_file and env.mode == 0o640 and env.group == SERVICE
    assert unit_state(host) == "active"
    assert public(host, f"/articles/{SLUGS[0]}").status == 200
