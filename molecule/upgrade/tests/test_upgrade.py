"""After the upgrade from 0.1.0 (prepare.yml deployed the released version, made data through it,
recorded its checksums in BEFORE and started the load probe; converge ran the current site.yml):
the data is the same, no request failed, the host is in the release layout, and stays so across
a restart."""

import json
import re
import subprocess
import time

import pytest
import testinfra

NAME = "upgrade-debian12"
CONTAINER = testinfra.get_host("docker://" + NAME)
URL = "https://blog.example.test"
ROOT = "/var/www/blog"
BEFORE = "/root/before-upgrade.txt"
UPLOAD = "before-upgrade.bin"
ARTICLE = "written-before-the-upgrade"
PROBE_UNIT = "upgrade-load-probe"
# The env file's variables that name a path: the release layout moves them, by design.
MOVED = {
    "DATABASE_URL": (
        "sqlite:///{}/instance/database.db",
        "sqlite:///{}/shared/instance/database.db",
    ),
}
MOVED_LINES = re.compile(rf"^env ({'|'.join(MOVED)})=.*\n", re.MULTILINE)
# The env file's variables this version no longer sets, by design: FLASK_SKIP_DOTENV kept the
# one-off commands from reading the app's .flaskenv (issue 15); the example blog's paths and its
# unused ONLINE_BLOG_* were every app's defaults (issue 12): it finds the same directories
# through the release's links, which the uploaded file's test proves.
DROPPED = [
    "FLASK_SKIP_DOTENV",
    "ONLINE_BLOG_SITE_URL",
    "ONLINE_BLOG_PUBLISH_URL",
    "STATIC_DIR",
    "UPLOAD_DIR",
]
DROPPED_LINES = re.compile(rf"^env ({'|'.join(DROPPED)})[ =].*\n", re.MULTILINE)


def run(command, *args):
    result = CONTAINER.run(command, *args)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def status(path):
    """HTTP status of a GET through Nginx on the public URL ("000": no answer)."""
    return CONTAINER.run("curl -sk -o /dev/null -w %%{http_code} -m 15 %s", URL + path).stdout


def before():
    return CONTAINER.file(BEFORE).content_string


def checksums():
    """What /usr/local/bin/upgrade-data-checksums (files/data-checksums.sh) reads now."""
    return run("/usr/local/bin/upgrade-data-checksums") + "\n"


def assert_data_unchanged():
    """Every line of the checksums as before the upgrade, but the env file's paths (those at
    their new places) and the variables dropped by design (gone)."""
    recorded, now = before(), checksums()
    assert MOVED_LINES.sub("", now) == DROPPED_LINES.sub("", MOVED_LINES.sub("", recorded))
    for name in DROPPED:
        line = re.compile(rf"^env {name}[ =]", re.MULTILINE)
        assert line.search(recorded) and not line.search(now), (name, recorded, now)
    for name, (old, new) in MOVED.items():
        assert f'env {name}="{old.format(ROOT)}"' in recorded, recorded
        assert f'env {name}="{new.format(ROOT)}"' in now, now


def probe_active():
    return CONTAINER.run("systemctl is-active %s", PROBE_UNIT).stdout.strip() == "active"


@pytest.fixture(scope="module")
def load():
    """Stop the load probe; whether it was still running (it covered the whole converge), and
    its figures."""
    covered = probe_active()
    run("touch /root/load-probe.stop")
    deadline = time.monotonic() + 30
    while probe_active() and time.monotonic() < deadline:
        time.sleep(0.5)
    text = CONTAINER.run("cat /root/load-probe.json").stdout
    if not text:
        journal = CONTAINER.run("journalctl -u %s -o cat --no-pager", PROBE_UNIT).stdout
        pytest.fail(f"the load probe wrote nothing; its journal:\n{journal[-2000:]}")
    return covered, json.loads(text)


def test_data_is_unchanged():
    recorded = before()
    assert f"./{UPLOAD}" in recorded and "env SECRET_KEY " in recorded, recorded
    assert "env file root:www-data 640" in recorded and "database content" in recorded, recorded
    assert int(re.search(r"^articles (\d+)$", recorded, re.MULTILINE).group(1)) >= 4
    assert_data_unchanged()


def test_no_request_failed_during_the_upgrade(load):
    covered, figures = load
    print(
        f"during the upgrade: {figures['requests']} requests in {figures['seconds']} s, "
        f"{figures['failed']} failed, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms"
    )
    assert covered, "the load probe had ended before the tests: it did not cover the converge"
    assert figures["requests"] > 50
    assert figures["failed"] == 0, figures["failures"]


def test_the_host_is_in_the_release_layout():
    release = CONTAINER.file(f"{ROOT}/current").linked_to
    assert CONTAINER.file(f"{ROOT}/current").is_symlink
    assert re.fullmatch(rf"{ROOT}/releases/\d{{8}}T\d{{6}}Z-[0-9a-f]{{12}}", release), release
    database = CONTAINER.file(f"{ROOT}/shared/instance/database.db")
    assert database.is_file and database.user == "www-data"
    for old, shared in [("instance", "instance"), ("static/uploads", "uploads")]:
        for place in (f"{ROOT}/{old}", f"{release}/{old}"):
            assert CONTAINER.file(place).is_symlink, place
            assert CONTAINER.file(place).linked_to == f"{ROOT}/shared/{shared}", place
    assert status("/") == "200"
    assert status(f"/articles/{ARTICLE}") == "200"
    served = run("curl -sfk --max-time 15 %s | sha256sum", f"{URL}/static/uploads/{UPLOAD}")
    assert served.split()[0] in before()


def test_the_service_runs_the_release_from_a_shared_venv():
    release = CONTAINER.file(f"{ROOT}/current").linked_to
    venv = CONTAINER.file(f"{release}/.venv").linked_to
    assert venv.startswith(f"{ROOT}/venvs/"), venv
    main_pid = run("systemctl show -p MainPID --value blog.service")
    assert main_pid not in ("", "0")
    workers = run("pgrep -P %s", main_pid).split()
    assert workers
    for pid in workers:
        # Reading another user's /proc/<pid>/cwd takes CAP_SYS_PTRACE, which root lacks here.
        assert run("runuser -u www-data -- readlink -f /proc/%s/cwd", pid) == release
    for pid in [main_pid, *workers]:
        program = run("tr '\\0' '\\n' < /proc/%s/cmdline", pid).splitlines()[1]
        assert run("readlink -f %s", program).startswith(venv + "/"), program


def test_after_a_restart_the_site_answers_with_the_same_data():
    subprocess.run(["docker", "restart", "-t", "30", NAME], check=True, timeout=120)
    start = time.monotonic()
    while status("/healthz") != "200":
        assert time.monotonic() - start < 90, "the site did not answer within 90 s of a restart"
        time.sleep(0.5)
    print(f"answered {time.monotonic() - start:.1f} s after the restart")
    assert status(f"/articles/{ARTICLE}") == "200"
    assert_data_unchanged()
