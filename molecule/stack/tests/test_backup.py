"""Scheduled online backups of the SQLite database (sqlite_backup), measured on the deployed
stack: the timer and the sandboxed oneshot service, a backup taken while a writer keeps
inserting rows holds every row committed before it began, retention, no backup reachable
through Nginx, and playbooks/restore.yml putting a backup back (and refusing a bad name)."""

import json
import re
import shlex
import time

import pytest
from conftest import (
    DATABASE,
    INSTANCE,
    PROJECT,
    SERVICE,
    SLUGS,
    STACK_ONLY,
    all_containers,
    exposure,
    public,
    recaps,
    run_playbook,
    unit_properties,
    unit_property,
)

UNIT = "blog-backup"
BACKUP_DIR = "/var/backups/blog"
PROGRAM = "/usr/local/libexec/blog-backup"
RETENTION = 3  # sqlite_backup_retention in molecule/resources/vars/site.yml
EXPOSURE_LIMIT = 1.5  # the app unit's limit (test_hardening.py)
BACKUP_NAME = re.compile(r"^database-[0-9]{8}T[0-9]{6}Z\.db$")
PROBE = "backup_probe"
RESTORE = PROJECT / "playbooks" / "restore.yml"

# One query on a database (path, URI parameters, query), the rows as JSON.
SQL = """
import json, sqlite3, sys
from urllib.parse import quote
conn = sqlite3.connect("file:" + quote(sys.argv[1]) + "?" + sys.argv[2], uri=True,
                       isolation_level=None, timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
print(json.dumps([list(row) for row in conn.execute(sys.argv[3])]))
"""
PROBE_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {PROBE} "
    "(id INTEGER PRIMARY KEY, payload TEXT NOT NULL, written_at REAL NOT NULL)"
)
# The concurrent writer: one committed transaction per row, in WAL mode as the app writes,
# bounded in time and rows. Arguments: database, seconds, rows.
WRITER = f"""
import sqlite3, sys, time
from urllib.parse import quote
db, seconds, limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
conn = sqlite3.connect("file:" + quote(db) + "?mode=rw", uri=True, isolation_level=None,
                       timeout=30)
conn.execute("PRAGMA busy_timeout = 30000")
conn.execute("PRAGMA journal_mode = WAL")
conn.execute("{PROBE_TABLE}")
end = time.monotonic() + seconds
for _row in range(limit):
    if time.monotonic() > end:
        break
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO {PROBE} (payload, written_at) VALUES (?, ?)",
                 ("x" * 256, time.time()))
    conn.execute("COMMIT")
    time.sleep(0.001)
"""
WRITER_UNIT = "backup-probe-writer"


def sql(host, query, path=DATABASE, live=True, mode="mode=rw"):
    """Rows of one query: as the service user on the live database (so that SQLite's -wal and -shm
    files stay the app's), as root and read-only on a backup (live=False)."""
    user, mode = (SERVICE, mode) if live else ("root", "mode=ro")
    run = host.run(
        f"runuser -u {user} -- python3 -c {shlex.quote(SQL)} {path} {mode} {shlex.quote(query)}"
    )
    assert run.rc == 0, (query, run.stderr)
    return json.loads(run.stdout)


def probe_rows(host, path=DATABASE, live=True):
    """(count, min id, max id) of the probe table."""
    return tuple(sql(host, f"SELECT count(*), min(id), max(id) FROM {PROBE}", path, live)[0])


def backups(host):
    """Every entry of the backup directory, sorted (names sort by time)."""
    return sorted(host.run(f"ls -1A {BACKUP_DIR}").stdout.split())


def backup_now(host):
    """Start the oneshot service (systemctl returns when it is done); its seconds and summary."""
    start = time.monotonic()
    run = host.run(f"systemctl start {UNIT}.service")
    seconds = time.monotonic() - start
    invocation = unit_property(host, f"{UNIT}.service", "InvocationID")
    journal = host.run(f"journalctl _SYSTEMD_INVOCATION_ID={invocation} --no-pager -o cat").stdout
    journal = journal.strip()  # the program's own lines, of this run only
    assert run.rc == 0, (run.stderr, journal)
    return seconds, journal


def test_timer_is_enabled_active_and_scheduled(host):
    show = unit_properties(
        host, f"{UNIT}.timer", "UnitFileState", "ActiveState", "Unit", "Persistent",
        "RandomizedDelayUSec", "NextElapseUSecRealtime",
    )  # fmt: skip
    print(f"{UNIT}.timer: {show}")
    assert show["UnitFileState"] == "enabled"
    assert show["ActiveState"] == "active"
    assert show["Unit"] == f"{UNIT}.service"
    assert show["Persistent"] == "yes"
    assert show["RandomizedDelayUSec"] == "1h"
    assert show["NextElapseUSecRealtime"] not in ("", "n/a", "0")


def test_backup_service_runs_as_the_service_user_in_the_apps_sandbox(host):
    show = unit_properties(
        host, f"{UNIT}.service", "Type", "User", "Group", "ReadWritePaths", "ProtectSystem",
        "PrivateNetwork", "ExecStart",
    )  # fmt: skip
    assert (show["Type"], show["User"], show["Group"]) == ("oneshot", SERVICE, SERVICE)
    assert set(show["ReadWritePaths"].split()) == {BACKUP_DIR, INSTANCE}
    assert (show["ProtectSystem"], show["PrivateNetwork"]) == ("strict", "yes")
    assert PROGRAM in show["ExecStart"]
    directory = host.file(BACKUP_DIR)
    assert (directory.user, directory.group, directory.mode) == (SERVICE, SERVICE, 0o700)
    program = host.file(PROGRAM)
    assert (program.user, program.group, program.mode) == ("root", "root", 0o755)
    assert exposure(host, f"{UNIT}.service") <= EXPOSURE_LIMIT


def test_backup_taken_under_writes_holds_every_row_committed_before_it(host):
    host.run(f"systemctl stop {WRITER_UNIT}; systemctl reset-failed {WRITER_UNIT}")
    script = "/tmp/backup_probe_writer.py"  # inside the container
    assert host.run(f"printf %s {shlex.quote(WRITER)} > {script}").rc == 0
    started = host.run(
        f"systemd-run --unit={WRITER_UNIT} --uid={SERVICE} --gid={SERVICE} --collect --quiet "
        f"/usr/bin/python3 {script} {DATABASE} 60 200000"
    )
    assert started.rc == 0, started.stderr
    try:
        deadline = time.monotonic() + 30
        while host.run(f"test -s {DATABASE}-wal").rc != 0 or probe_rows(host)[0] < 300:
            assert time.monotonic() < deadline, "the writer committed too few rows"
            time.sleep(0.5)
        before = probe_rows(host)[0]  # committed before the backup began
        seconds, journal = backup_now(host)
        writer_ran_through = host.run(f"systemctl is-active {WRITER_UNIT}").stdout.strip()
        time.sleep(1)
    finally:
        host.run(f"systemctl stop {WRITER_UNIT}")
    end = probe_rows(host)[0]
    newest = [name for name in backups(host) if BACKUP_NAME.match(name)][-1]
    path = f"{BACKUP_DIR}/{newest}"
    assert newest in journal, journal
    assert sql(host, "PRAGMA integrity_check", path, live=False) == [["ok"]]
    assert sql(host, "PRAGMA journal_mode", path, live=False) == [["delete"]]  # one file
    count, first, last = probe_rows(host, path, live=False)
    print(
        f"rows before the backup: {before}, in the backup: {count}, at the end: {end}; "
        f"backup {seconds:.2f} s: {journal}"
    )
    assert writer_ran_through == "active"  # the writer kept going while the backup ran
    assert count >= before
    assert (first, last) == (1, count)  # contiguous ids: no committed row missing
    assert end > count  # and went on writing after it


def test_retention_keeps_the_newest_backups(host):
    made = []
    for _run in range(RETENTION + 1):
        _seconds, journal = backup_now(host)
        made.append(re.search(r"backup (\S+) ", journal).group(1))
    entries = backups(host)
    print(f"after {len(made)} backups: {entries}")
    assert entries == sorted(made)[-RETENTION:]  # exactly the newest, and no temporary file
    assert entries[-1] == made[-1]
    assert all(BACKUP_NAME.match(name) for name in entries)


def test_backups_are_not_served_by_nginx(host):
    name = backups(host)[-1]
    assert public(host, f"/{name}").status == 404
    assert public(host, f"/static/{name}").status == 404


@pytest.fixture(scope="module")
def restore_runs():
    """On each container: a fresh backup, then a marker row and deleted probe rows that the
    restore must undo; one run of playbooks/restore.yml with the newest backup, then one with
    a bad name. Drops the probe table and the before-restore copies afterwards."""
    hosts = all_containers()
    before = {}
    for name, container in hosts.items():
        sql(container, PROBE_TABLE)
        for _row in range(20):
            sql(container, f"INSERT INTO {PROBE} (payload, written_at) VALUES ('restore', 0)")
        backup_now(container)
        newest = backups(container)[-1]
        database = container.file(DATABASE)
        before[name] = {
            "backup": newest,
            "rows": probe_rows(container, f"{BACKUP_DIR}/{newest}", live=False),
            "stat": (database.user, database.group, database.mode),
        }
        sql(container, f"INSERT INTO {PROBE} (payload, written_at) VALUES ('marker', 0)")
        sql(container, f"DELETE FROM {PROBE} WHERE payload != 'marker' AND id <= 10")
    start = time.monotonic()
    good = run_playbook(RESTORE, "sqlite_backup_restore_file=latest")
    seconds = time.monotonic() - start
    after = {name: restored_state(container) for name, container in hosts.items()}
    bad = run_playbook(RESTORE, "sqlite_backup_restore_file=no-such-backup.db")
    after_bad = {name: restored_state(container) for name, container in hosts.items()}
    yield before, good, seconds, after, bad, after_bad
    for container in hosts.values():
        sql(container, f"DROP TABLE IF EXISTS {PROBE}")
        container.run(f"rm -f {DATABASE}.before-restore-*")


def restored_state(container):
    database = container.file(DATABASE)
    listed = container.run(f"ls -1 {DATABASE}.before-restore-*").stdout.split()
    asides = [path for path in listed if not path.endswith(("-wal", "-shm"))]
    markers = f"SELECT count(*) FROM {PROBE} WHERE payload = 'marker'"
    return {
        "rows": probe_rows(container),
        "markers": sql(container, markers)[0][0],
        "integrity": sql(container, "PRAGMA integrity_check"),
        "stat": (database.user, database.group, database.mode),
        "aside": asides,
        # The newest before-restore copy is the database the restore replaced.
        "aside_markers": sql(container, markers, asides[-1], mode="mode=ro")[0][0] if asides else 0,
        "active": container.run(
            f"systemctl is-active blog.socket blog.service {UNIT}.timer"
        ).stdout.split(),
        "healthz": public(container, "/healthz").status,
        "article": public(container, f"/articles/{SLUGS[0]}").status,
    }


@STACK_ONLY
def test_restore_puts_the_backup_back_and_the_site_answers(hostname, restore_runs):
    before, good, seconds, after, _bad, _after_bad = restore_runs
    mine, state = before[hostname], after[hostname]
    print(f"restore.yml on {len(after)} hosts: {seconds:.1f} s; {hostname}: {mine} -> {state}")
    assert good.returncode == 0, good.stdout[-3000:]
    assert re.search(r"failed=0\b", recaps(good)[hostname]), recaps(good)
    assert state["rows"] == mine["rows"]  # the deleted probe rows are back
    assert state["markers"] == 0  # the row written after the backup is gone
    assert state["integrity"] == [["ok"]]
    assert state["stat"] == mine["stat"]
    assert state["active"] == ["active", "active", "active"]
    assert (state["healthz"], state["article"]) == (200, 200)
    assert state["aside"], "no before-restore copy of the database"
    assert state["aside_markers"] == 1  # the previous database, marker and all, is kept


@STACK_ONLY
def test_restore_of_a_bad_name_fails_naming_it_and_leaves_the_app_running(hostname, restore_runs):
    _before, _good, _seconds, after, bad, after_bad = restore_runs
    assert bad.returncode != 0
    assert re.search(r"failed=[1-9]", recaps(bad)[hostname]), recaps(bad)
    assert "sqlite_backup_restore_file" in bad.stdout
    assert "no-such-backup.db" in bad.stdout
    assert after_bad[hostname]["rows"] == after[hostname]["rows"]  # nothing changed
    assert after_bad[hostname]["active"] == ["active", "active", "active"]
    assert after_bad[hostname]["healthz"] == 200
