"""Releases (issue 11), proven on the deployed stack with playbooks/deploy.yml and rollback.yml
while a bounded load requests the home page through Nginx: four broken releases never go live
(an import error, a home page that answers 500, a failing migration, an app that never
answers), and the site serves the last release that passed, also after a restart; a good
release serves its own code (gunicorn#394), with the release layout and its permissions, the
source's own instance/ left behind, and pruning; an unchanged redeploy changes nothing; a
rollback goes back and forward again; a release that fails only through Nginx is rolled back
after the switch. Each session fixture acts on every container at once, with one run of a
playbook per step."""

import contextlib
import json
import re
import subprocess
import time

import pytest
import yaml
from conftest import (
    APP_ROOT,
    CURRENT,
    DEPLOY_LOG,
    INSTANCE,
    LOAD_STOP,
    PROJECT,
    RELEASES,
    SERVICE,
    STACK_ONLY,
    UPLOADS,
    all_containers,
    changed_copy_of_the_example,
    data_checksums,
    direct,
    finish_load,
    public,
    recaps,
    run_playbook,
    start_load,
    unit_property,
    wait_until_healthy,
)

DEPLOY = PROJECT / "playbooks" / "deploy.yml"
ROLLBACK = PROJECT / "playbooks" / "rollback.yml"
CANDIDATE = "blog-candidate.service"
RELEASE_ID = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{12}$")
FAILED_CHECKS = "failed its checks before going live"
UPLOADED = f"{UPLOADS}/releases-check.bin"  # an upload that every deploy must leave alone
GOOD_MARK = '<meta name="release" content="good">'
KEEP = 2  # app_deploy_keep_releases of the good deploy
BUILD_STEP = "python -m compileall -q blog"  # gunicorn_systemd_build_commands of the good deploy
SECRET = "molecule-secret-key-0123456789abcdef"  # gunicorn_systemd_secret_key (resources/vars)
STALE_VENV = f"{APP_ROOT}/venvs/0123456789abcdef"  # made before the good deploy, pruned by it

pytestmark = STACK_ONLY


def broken_mark(case):
    return f'<meta name="release" content="broken-{case}">'


# --- how each release is broken ------------------------------------------------------------


def break_import(source):
    init = source / "blog" / "__init__.py"
    init.write_text('raise RuntimeError("broken on purpose: import")\n' + init.read_text())


def break_home_page(source):
    """Only the home page's template: every other page, /healthz among them, still answers."""
    index = source / "blog" / "templates" / "index.html"
    text = index.read_text()
    assert "{% block content %}" in text
    broken = "{% block content %}\n  {{ articles|broken_on_purpose }}"
    index.write_text(text.replace("{% block content %}", broken, 1))


def break_nothing(_source):
    """The failing migration's release: valid code, the failure is in the commands."""


def break_start(source):
    """Hangs at import of the WSGI module: Gunicorn's workers never answer."""
    wsgi = source / "wsgi.py"
    wsgi.write_text("import time\n\ntime.sleep(3600)  # on purpose\n" + wsgi.read_text())


# Each case: how its copy of the example is broken, its extra vars, and what the output must say
# (regular expressions, on the output with its whitespace collapsed; the design's wording is
# "release <id> failed its checks before going live: <path> answered <status>/timed out").
CASES = {
    "import": {
        "break": break_import,
        # The migrations (flask --app blog ...) would import the package first and fail there:
        # without them, the candidate's check is what catches it.
        "extra": [json.dumps({"gunicorn_systemd_commands": []})],
        "says": [
            rf"(?i)release \S+ {FAILED_CHECKS}",
            re.escape("RuntimeError: broken on purpose: import"),  # the candidate's journal
        ],
    },
    "home_page": {
        "break": break_home_page,
        "extra": [],
        "says": [rf"(?i)release \S+ {FAILED_CHECKS}", r"(^|\s)/:? answered 500\b"],
    },
    "migration": {
        "break": break_nothing,
        "extra": [
            json.dumps(
                {
                    "gunicorn_systemd_commands": [
                        "flask --app blog init-db",
                        'sh -c "echo migration broken on purpose >&2; exit 3"',
                    ]
                }
            )
        ],
        "says": ["migration broken on purpose"],
    },
    "never_answers": {
        "break": break_start,
        "extra": ["gunicorn_systemd_check_timeout=15"],
        "says": [rf"(?i)release \S+ {FAILED_CHECKS}", r"(?i)timed out|time-?out|no answer within"],
    },
}


# --- helpers -------------------------------------------------------------------------------


def live(container):
    """Where `current` points: releases/<id> (a relative link)."""
    return container.run("readlink %s", CURRENT).stdout.strip()


def release_dirs(container):
    return sorted(container.run("ls -1A %s", RELEASES).stdout.split())


def pages(container):
    """The home page through Nginx and straight from Gunicorn: (status, body) each."""
    via_nginx, via_gunicorn = public(container, "/"), direct(container, "/")
    return {
        "public": (via_nginx.status, via_nginx.body),
        "direct": (via_gunicorn.status, via_gunicorn.body),
    }


def snapshot(container):
    return {
        "live": live(container),
        "releases": release_dirs(container),
        "pid": unit_property(container, "blog.service", "MainPID"),
        "data": data_checksums(container),
        **pages(container),
    }


def worker_dirs(container):
    """Working directory of each Gunicorn worker of blog.service, resolved by the kernel; read
    as the service user, since root here lacks CAP_SYS_PTRACE to read another user's cwd."""
    main = unit_property(container, "blog.service", "MainPID")
    pids = container.run("pgrep -P %s", main).stdout.split()
    return sorted(
        {
            container.run(f"runuser -u {SERVICE} -- readlink -f /proc/%s/cwd", pid).stdout.strip()
            for pid in pids
        }
    )


def output(run):
    return " ".join(run.stdout.split())


@contextlib.contextmanager
def bounded_load(hosts):
    """Two keep-alive connections per container on the home page through Nginx, 20 req/s, at
    most 200 s, stopped 3 s after the block; the figures land in the yielded dict."""
    loads = {}
    for container in hosts.values():
        container.run("rm -f %s", LOAD_STOP)
        start_load(
            container, "--concurrency", "2", "--rate", "20", "--seconds", "200",
            "--stop-file", LOAD_STOP,
        )  # fmt: skip
    time.sleep(2)
    try:
        yield loads
    finally:
        time.sleep(3)
        for container in hosts.values():
            container.run("touch %s", LOAD_STOP)
        loads.update({name: finish_load(container, 1) for name, container in hosts.items()})


def timed_run(playbook, *extra_vars):
    start = time.monotonic()
    run = run_playbook(playbook, *extra_vars)
    return run, time.monotonic() - start


def assert_no_failed_request(load, least=50):
    assert load["failed"] == 0, load["failures"]
    assert load["requests"] >= least, load


@pytest.fixture(scope="session")
def an_upload():
    """One upload in every container, removed at the end of the session."""
    hosts = all_containers()
    for container in hosts.values():
        made = container.run(
            f"runuser -u {SERVICE} -- sh -c %s sh %s", 'head -c 4096 /dev/urandom > "$1"', UPLOADED
        )
        assert made.rc == 0, made.stderr
    yield UPLOADED
    for container in hosts.values():
        container.run("rm -f %s", UPLOADED)


# --- a-d: broken releases never go live ----------------------------------------------------


def deploy_that_fails(hosts, source, *extra):
    """deploy.yml of `source` to every container at once, under load: the run, its seconds, the
    load figures and each container's state before and after (with the candidate unit's state,
    the new release directories and whether each is marked failed, and the deploy log's last
    line)."""
    before = {name: snapshot(container) for name, container in hosts.items()}
    with bounded_load(hosts) as loads:
        run, seconds = timed_run(DEPLOY, f"app_deploy_src={source}/", *extra)
    after = {}
    for name, container in hosts.items():
        state = snapshot(container)
        new = sorted(set(state["releases"]) - set(before[name]["releases"]))
        state["new_releases"] = {
            release: container.file(f"{RELEASES}/{release}/.flask_blog-failed").exists
            for release in new
        }
        state["candidate"] = unit_property(container, CANDIDATE, "ActiveState")
        state["log"] = container.run("tail -n 1 %s", DEPLOY_LOG).stdout.strip()
        after[name] = state
    return {"run": run, "seconds": seconds, "loads": loads, "before": before, "after": after}


@pytest.fixture(scope="session")
def failed_deploys(tmp_path_factory, an_upload):
    """Each broken release deployed with deploy.yml to every container at once, under load
    (deploy_that_fails), by case."""
    hosts = all_containers()
    outcome = {}
    for case, spec in CASES.items():
        source = changed_copy_of_the_example(tmp_path_factory.mktemp(case), broken_mark(case))
        spec["break"](source)
        outcome[case] = deploy_that_fails(hosts, source, *spec["extra"])
    return outcome


@pytest.mark.parametrize("case", CASES)
def test_a_broken_release_fails_the_play_naming_the_cause(hostname, failed_deploys, case):
    result = failed_deploys[case]
    run, text = result["run"], output(result["run"])
    load = result["loads"][hostname]
    print(
        f"{case}: the play failed after {result['seconds']:.0f} s; "
        f"{load['failed']} failed of {load['requests']} requests, slowest {load['max_ms']} ms"
    )
    assert run.returncode != 0, text[-3000:]
    assert re.search(r"\bfailed=1\b", recaps(run)[hostname]), recaps(run)
    for says in CASES[case]["says"]:
        assert re.search(says, text), (says, text[-4000:])
    assert "rolled back" not in text  # caught before the switch, not after it
    if case == "home_page":
        # The health check passed: the check of the root is what caught it.
        assert "/healthz: answered 200" in text, text[-3000:]
    if case == "migration":
        assert FAILED_CHECKS not in text  # the deploy stopped before a candidate started


@pytest.mark.parametrize("case", CASES)
def test_a_broken_release_fails_no_request(hostname, failed_deploys, case):
    assert_no_failed_request(failed_deploys[case]["loads"][hostname])


@pytest.mark.parametrize("case", CASES)
def test_a_broken_release_leaves_the_live_release_serving(hostname, failed_deploys, case):
    before = failed_deploys[case]["before"][hostname]
    after = failed_deploys[case]["after"][hostname]
    assert RELEASE_ID.match(before["live"].removeprefix("releases/")), before["live"]
    assert after["live"] == before["live"]
    assert after["public"] == before["public"]  # same status, same old page
    assert after["public"][0] == 200
    assert broken_mark(case) not in after["public"][1] + after["direct"][1]
    assert after["pid"] == before["pid"]  # the live service was not even restarted
    assert after["candidate"] != "active"  # the candidate did not outlive the run


@pytest.mark.parametrize("case", CASES)
def test_a_broken_release_is_marked_failed(hostname, failed_deploys, case):
    after = failed_deploys[case]["after"][hostname]
    # A release directory that is still there is marked; the attempt is in the deploy log.
    assert all(after["new_releases"].values()), after["new_releases"]
    assert "fail" in after["log"].lower(), after["log"]


@pytest.mark.parametrize("case", CASES)
def test_a_broken_release_leaves_the_data_alone(hostname, failed_deploys, case):
    before = failed_deploys[case]["before"][hostname]["data"]
    after = failed_deploys[case]["after"][hostname]["data"]
    assert "database content" in before and "./releases-check.bin" in before
    assert after == before


@pytest.fixture(scope="session")
def restarted_after_failures(failed_deploys):
    """One `docker restart` of every container after the four broken releases; what serves."""
    hosts = all_containers()
    subprocess.run(["docker", "restart", "-t", "30", *hosts], check=True, timeout=240)
    took = {name: wait_until_healthy(container, 90) for name, container in hosts.items()}
    after = {}
    for name, container in hosts.items():
        after[name] = snapshot(container)
        after[name]["active"] = unit_property(container, "blog.service", "ActiveState")
        after[name]["candidate"] = unit_property(container, CANDIDATE, "ActiveState")
    return took, after


def test_after_a_restart_the_last_release_that_passed_serves(
    hostname, failed_deploys, restarted_after_failures
):
    took, after = restarted_after_failures
    first = failed_deploys[next(iter(CASES))]["before"][hostname]  # before any broken release
    assert took[hostname] is not None, "the site did not come back after the restart"
    print(f"answered {took[hostname]:.1f} s after the container restarted")
    mine = after[hostname]
    assert mine["live"] == first["live"]
    assert mine["public"] == first["public"]
    assert mine["public"][0] == 200
    assert (mine["active"], mine["candidate"]) == ("active", "inactive")
    assert mine["data"] == first["data"]


# --- e, h, i: a good release -------------------------------------------------------------


@pytest.fixture(scope="session")
def good_deploy(tmp_path_factory, an_upload):
    """A copy of the example with a mark in every page, carrying a developer's own instance/
    (a fake database.db) and static/uploads/, deployed with deploy.yml and
    app_deploy_keep_releases=2 to every container at once, under load; the run, the load
    figures, each container's state before and after, and its workers' directories."""
    hosts = all_containers()
    source = changed_copy_of_the_example(tmp_path_factory.mktemp("good"), GOOD_MARK)
    (source / "instance").mkdir()
    (source / "instance" / "database.db").write_text("not a database: the developer's own\n")
    (source / "static" / "uploads").mkdir(parents=True, exist_ok=True)
    (source / "static" / "uploads" / "from-the-laptop.txt").write_text("a developer's upload\n")
    extra = [
        f"app_deploy_src={source}/", f"app_deploy_keep_releases={KEEP}",
        json.dumps({"gunicorn_systemd_build_commands": [BUILD_STEP]}),
    ]  # fmt: skip
    for container in hosts.values():  # a virtualenv that no release runs with
        made = container.run("install -d %s", f"{STALE_VENV}/bin")
        assert made.rc == 0, made.stderr
    before = {name: snapshot(container) for name, container in hosts.items()}
    with bounded_load(hosts) as loads:
        run, seconds = timed_run(DEPLOY, *extra)
    after = {}
    for name, container in hosts.items():
        after[name] = snapshot(container)
        after[name]["workers"] = worker_dirs(container)
    return {
        "source": source, "extra": extra, "run": run, "seconds": seconds, "loads": loads,
        "before": before, "after": after,
    }  # fmt: skip


def test_a_good_release_goes_live_under_load(hostname, good_deploy):
    run, load = good_deploy["run"], good_deploy["loads"][hostname]
    print(
        f"good deploy: {good_deploy['seconds']:.0f} s, {load['failed']} failed of "
        f"{load['requests']} requests, slowest {load['max_ms']} ms"
    )
    assert run.returncode == 0, run.stdout[-4000:]
    assert re.search(r"\bfailed=0\b", recaps(run)[hostname]), recaps(run)
    assert_no_failed_request(load)
    before, after = good_deploy["before"][hostname], good_deploy["after"][hostname]
    assert after["live"] != before["live"]
    assert RELEASE_ID.match(after["live"].removeprefix("releases/")), after["live"]


def test_the_new_code_is_what_serves(hostname, good_deploy):
    """gunicorn#394: a HUP does not follow a new `current` by itself; the new code must serve
    anyway. Only the code changed, so the arbiter was reloaded, not restarted: the new workers
    it forked load the new release."""
    before, after = good_deploy["before"][hostname], good_deploy["after"][hostname]
    assert after["public"][0] == after["direct"][0] == 200
    assert GOOD_MARK in after["public"][1]  # through Nginx
    assert GOOD_MARK in after["direct"][1]  # and from Gunicorn itself
    assert after["pid"] == before["pid"]  # reloaded (SIGHUP), the same arbiter
    assert after["workers"] == [f"{APP_ROOT}/{after['live']}"]  # its new workers run the release


def test_the_live_release_is_a_relative_link_into_releases(host, hostname, good_deploy):
    after = good_deploy["after"][hostname]
    assert host.file(CURRENT).is_symlink
    assert after["live"].startswith("releases/")  # relative: the app root can move
    assert host.file(f"{APP_ROOT}/{after['live']}").is_directory
    record = yaml.safe_load(host.file(f"{CURRENT}/.flask_blog-release").content_string)
    live = after["live"].removeprefix("releases/")
    assert record["id"] == live
    assert record["source"] == "local"
    assert live.rsplit("-", 1)[1] in str(record["version"])
    assert record["built_at"]
    assert SECRET not in host.file(f"{CURRENT}/.flask_blog-release").content_string


def test_the_build_steps_ran_in_the_new_release_as_its_owner(host, hostname, good_deploy):
    release = f"{APP_ROOT}/{good_deploy['after'][hostname]['live']}"
    cache = host.file(f"{release}/blog/__pycache__")
    assert cache.is_directory, output(good_deploy["run"])[-2000:]
    assert (cache.user, cache.group) == ("root", "root")
    assert host.run("ls %s", cache.path).stdout.count(".pyc") >= 5


@pytest.mark.parametrize(
    "path, owners",
    [
        # writable through the service group; the deploy user owns it, and the sticky bit keeps
        # the service from replacing files it does not own
        (INSTANCE, ("root", SERVICE, 0o1770)),
        # served by Nginx: the service's, in Nginx's group (setgid: so is every upload)
        (UPLOADS, (SERVICE, "www-data", 0o2750)),
    ],
)
def test_shared_state_is_the_services_to_write(host, good_deploy, path, owners):
    assert good_deploy["run"].returncode == 0
    shared = host.file(path)
    assert shared.is_directory and not shared.is_symlink
    assert (shared.user, shared.group, shared.mode) == owners
    assert host.run(f"sudo -u {SERVICE} test -w %s", path).rc == 0
    assert host.run("sudo -u www-data test -w %s", path).rc != 0 or SERVICE == "www-data"


def test_the_release_is_read_only_to_the_service(host, hostname, good_deploy):
    release = f"{APP_ROOT}/{good_deploy['after'][hostname]['live']}"
    assert host.run(f"sudo -u {SERVICE} test -w %s", release).rc != 0
    # Every file and directory of the release (links are the shared state, checked above).
    writable = host.run(f"sudo -u {SERVICE} find %s ! -type l -writable", release)
    assert writable.rc == 0, writable.stderr
    assert writable.stdout.strip() == ""


def test_the_release_links_to_the_shared_state_and_its_venv(host, hostname, good_deploy):
    release = f"{APP_ROOT}/{good_deploy['after'][hostname]['live']}"
    for link, target in [("instance", INSTANCE), ("static/uploads", UPLOADS)]:
        assert host.file(f"{release}/{link}").is_symlink, link
        assert host.run("readlink %s", f"{release}/{link}").stdout.strip() == target, link
    venv = host.run("readlink -f %s", f"{release}/.venv").stdout.strip()
    assert host.file(f"{release}/.venv").is_symlink
    assert venv.startswith(f"{APP_ROOT}/venvs/"), venv
    assert host.file(f"{venv}/bin/gunicorn").exists


def test_a_local_instance_folder_never_reaches_the_server(host, hostname, good_deploy):
    before, after = good_deploy["before"][hostname], good_deploy["after"][hostname]
    release = f"{APP_ROOT}/{after['live']}"
    assert host.file(f"{release}/instance").is_symlink  # not the source's directory
    assert not host.file(f"{UPLOADS}/from-the-laptop.txt").exists
    assert "./releases-check.bin" in before["data"]
    assert after["data"] == before["data"]  # the production database and uploads, untouched
    # The operator is told that the source held state that was left out.
    assert re.search(r"WARNING\b.{0,300}?\binstance\b", output(good_deploy["run"]))


def test_the_deploy_log_records_the_live_release(host, hostname, good_deploy):
    log = host.file(DEPLOY_LOG)
    assert log.is_file
    assert log.mode == 0o640
    live = good_deploy["after"][hostname]["live"].removeprefix("releases/")
    assert any(live in line for line in log.content_string.splitlines()), log.content_string
    assert host.run("sudo -u nobody cat %s", DEPLOY_LOG).rc != 0


def test_pruning_keeps_the_live_release_and_the_newest_that_passed(
    hostname, failed_deploys, good_deploy
):
    before, after = good_deploy["before"][hostname], good_deploy["after"][hostname]
    kept = after["releases"]
    print(f"releases after the good deploy (keep {KEEP}): {kept}")
    assert all(RELEASE_ID.match(release) for release in kept), kept
    assert len(kept) <= KEEP
    assert after["live"].removeprefix("releases/") in kept
    assert before["live"].removeprefix("releases/") in kept  # the one to roll back to
    failed = set()
    for case in failed_deploys.values():
        failed |= set(case["after"][hostname]["new_releases"])
    assert not failed & set(kept), (failed, kept)  # failed releases are pruned whatever KEEP


def test_pruning_removes_the_virtualenvs_no_release_runs_with(host, hostname, good_deploy):
    assert good_deploy["run"].returncode == 0
    assert not host.file(STALE_VENV).exists
    for release in good_deploy["after"][hostname]["releases"]:
        venv = host.run("readlink -e %s", f"{RELEASES}/{release}/.venv")
        assert venv.rc == 0, release  # every kept release still has its virtualenv
        assert host.file(f"{venv.stdout.strip()}/bin/gunicorn").exists, release


# --- f: an unchanged redeploy ----------------------------------------------------------------


@pytest.fixture(scope="session")
def unchanged_redeploy(good_deploy):
    """The good deploy's source again, with the same extra vars, to every container at once."""
    hosts = all_containers()
    before = {name: snapshot(container) for name, container in hosts.items()}
    run, seconds = timed_run(DEPLOY, *good_deploy["extra"])
    after = {name: snapshot(container) for name, container in hosts.items()}
    return run, seconds, before, after


def test_an_unchanged_redeploy_changes_nothing(hostname, unchanged_redeploy):
    run, seconds, before, after = unchanged_redeploy
    print(f"unchanged redeploy: {seconds:.0f} s; {recaps(run).get(hostname)}")
    assert run.returncode == 0, run.stdout[-3000:]
    recap = recaps(run)[hostname]
    assert re.search(r"\bchanged=0\b", recap) and re.search(r"\bfailed=0\b", recap), recap
    mine, was = after[hostname], before[hostname]
    for key in ("live", "releases", "pid"):  # same release, none built, no restart
        assert mine[key] == was[key], key
    assert GOOD_MARK in mine["public"][1]


# --- g: rollback round trip ------------------------------------------------------------------


@pytest.fixture(scope="session")
def rollback_round_trip(good_deploy):
    """rollback.yml with no extra var, then with rollback_release=<the good release>, on every
    container at once, under one load; the runs and what serves after each."""
    hosts = all_containers()
    forward = {good_deploy["after"][name]["live"].removeprefix("releases/") for name in hosts}
    if len(forward) != 1:
        pytest.fail(f"the good deploy made different release ids on the hosts: {forward}")
    forward_id = forward.pop()
    with bounded_load(hosts) as loads:
        back = run_playbook(ROLLBACK)
        at_back = {name: {"live": live(c), **pages(c)} for name, c in hosts.items()}
        again = run_playbook(ROLLBACK, f"rollback_release={forward_id}")
        at_again = {name: {"live": live(c), **pages(c)} for name, c in hosts.items()}
    return forward_id, back, at_back, again, at_again, loads


def test_rollback_goes_back_to_the_previous_release(hostname, good_deploy, rollback_round_trip):
    _forward, back, at_back, _again, _at_again, _loads = rollback_round_trip
    old = good_deploy["before"][hostname]  # what served before the good deploy
    assert back.returncode == 0, back.stdout[-3000:]
    assert re.search(r"\bfailed=0\b", recaps(back)[hostname]), recaps(back)
    mine = at_back[hostname]
    assert mine["live"] == old["live"]
    assert mine["public"] == old["public"]  # the old content, through Nginx
    assert GOOD_MARK not in mine["direct"][1]  # and from Gunicorn itself


def test_rollback_to_a_named_release_goes_forward_again(hostname, rollback_round_trip):
    forward, _back, _at_back, again, at_again, _loads = rollback_round_trip
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r"\bfailed=0\b", recaps(again)[hostname]), recaps(again)
    mine = at_again[hostname]
    assert mine["live"] == f"releases/{forward}"
    assert GOOD_MARK in mine["public"][1]
    assert GOOD_MARK in mine["direct"][1]


def test_rollbacks_fail_no_request(hostname, rollback_round_trip):
    assert_no_failed_request(rollback_round_trip[-1][hostname])


# --- j: a release that fails only behind Nginx is rolled back --------------------------------

PROXIED_MARK = '<meta name="release" content="fails-behind-nginx">'


def break_behind_nginx(source):
    """The home page raises (at render time) only for a request that carries X-Real-IP, a header
    that only the Nginx in front sets: the release passes its checks on its own Gunicorn and
    fails those through Nginx, after the switch."""
    index = source / "blog" / "templates" / "index.html"
    text = index.read_text()
    assert "{% block content %}" in text
    broken = (
        "{% block content %}\n  {% if request.headers.get('X-Real-IP') %}"
        "{{ request.headers['X-Real-IP'] | length // 0 }}{% endif %}"
    )
    index.write_text(text.replace("{% block content %}", broken, 1))


@pytest.fixture(scope="session")
def rolled_back_after_the_switch(tmp_path_factory, rollback_round_trip):
    """deploy.yml with a release that fails only through Nginx (deploy_that_fails)."""
    source = changed_copy_of_the_example(tmp_path_factory.mktemp("proxied"), PROXIED_MARK)
    break_behind_nginx(source)
    return deploy_that_fails(all_containers(), source)


def test_a_release_failing_through_nginx_is_rolled_back_and_the_play_says_so(
    hostname, rolled_back_after_the_switch
):
    result = rolled_back_after_the_switch
    run, text = result["run"], output(result["run"])
    load = result["loads"][hostname]
    # Between the switch and the rollback the home page answers 500: those requests fail.
    print(
        f"behind Nginx: the play failed after {result['seconds']:.0f} s; {load['failed']} failed"
        f" of {load['requests']} requests, slowest {load['max_ms']} ms"
    )
    assert run.returncode != 0, text[-3000:]
    assert re.search(r"\bfailed=1\b", recaps(run)[hostname]), recaps(run)
    assert FAILED_CHECKS not in text  # it passed on its own Gunicorn
    assert re.search(r"(?i)release \S+ failed its checks through Nginx", text), text[-3000:]
    previous = result["before"][hostname]["live"].removeprefix("releases/")
    assert f"It was rolled back to {previous}, which answers again." in text, text[-3000:]


def test_after_the_rollback_the_previous_release_serves(hostname, rolled_back_after_the_switch):
    before = rolled_back_after_the_switch["before"][hostname]
    after = rolled_back_after_the_switch["after"][hostname]
    assert after["live"] == before["live"]
    assert after["public"][0] == 200
    assert after["public"][1] == before["public"][1]
    assert PROXIED_MARK not in after["public"][1] + after["direct"][1]
    assert after["data"] == before["data"]


def test_the_release_rolled_back_from_is_marked_failed(hostname, rolled_back_after_the_switch):
    after = rolled_back_after_the_switch["after"][hostname]
    assert len(after["new_releases"]) == 1, after["new_releases"]
    assert all(after["new_releases"].values()), after["new_releases"]
    assert "rolled-back" in after["log"], after["log"]
