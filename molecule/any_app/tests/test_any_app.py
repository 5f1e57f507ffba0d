"""An app the collection never saw (issues 12 and 15): the second test app deployed with the
inventory of the README's "Deploy your own app", used through Nginx over HTTPS as a visitor
would (register, log in, write a note, see it listed), then redeployed with changed code from a
source that holds the developer's own instance folder, and restarted: every row stays."""

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import testinfra
import yaml

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
SCENARIO = PROJECT / "molecule" / "any_app"
INVENTORY = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"] + "/inventory"
NOTES = PROJECT / "molecule" / "resources" / "apps" / "notes"
PUBLIC = "https://notes.example.com"
APP_ROOT = "/var/www/blog"
SHARED = f"{APP_ROOT}/shared"
DATABASE = f"{SHARED}/instance/notes.sqlite"
JAR = "/root/notes-cookies.txt"
SERVICE = "notes"  # blog_service_user and blog_service_group of the inventory
NEW_MARK = "<!-- notes: changed code -->"


@pytest.fixture(scope="module")
def host():
    """The container, reached with `docker exec`."""
    listing = subprocess.run(
        ["ansible-inventory", "-i", INVENTORY, "--list"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    name = sorted(yaml.safe_load(listing.stdout)["_meta"]["hostvars"])[0]
    return testinfra.get_host("docker://" + name)


def curl(host, path, *options):
    """One request through Nginx on the public name, with the cookie jar: (status, headers in
    lower case, body)."""
    args = " ".join(shlex.quote(o) for o in options)
    result = host.run(
        f"curl -sk -i --max-time 15 -b {JAR} -c {JAR} {args} {shlex.quote(PUBLIC + path)}"
    )
    assert result.rc == 0, result.stderr
    head, _blank, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def rows(host):
    """Every user and note in the database, as the service user reads it."""
    read = host.run(
        f"runuser -u {SERVICE} -- python3 -c %s %s",
        "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
        "print(db.execute('select id, username from user order by id').fetchall(),"
        " db.execute('select id, title, body from note order by id').fetchall())",
        DATABASE,
    )
    assert read.rc == 0, read.stderr
    return read.stdout.strip()


def run_playbook(name, *extra_vars):
    args = [arg for extra in extra_vars for arg in ("-e", extra)]
    return subprocess.run(
        ["ansible-playbook", str(PROJECT / "playbooks" / name), "-i", INVENTORY, *args],
        env=dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"),
                 ANSIBLE_COLLECTIONS_PATH=str(PROJECT / ".collections"),
                 ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1"),
        cwd=PROJECT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


# --- the README's inventory ------------------------------------------------------------------


def test_the_scenario_inventory_is_the_readmes():
    """The README's "Deploy your own app" YAML block is this scenario's group_vars, word for
    word as data."""
    readme = (PROJECT / "README.md").read_text()
    section = readme.split("## Deploy your own app", 1)[1].split("\n## ", 1)[0]
    block = re.search(
        r"```yaml\n# inventory/group_vars/blog/main\.yml.*?\n(.*?)```", section, re.DOTALL
    )
    assert block, "no inventory/group_vars/blog/main.yml block in the README's own-app section"
    molecule = yaml.safe_load((SCENARIO / "molecule.yml").read_text())
    inventory = molecule["provisioner"]["inventory"]["group_vars"]["blog"]
    assert yaml.safe_load(block.group(1)) == inventory


# --- a visitor's path --------------------------------------------------------------------


@pytest.fixture(scope="module")
def visit(host):
    """Register, log in and write a note through Nginx; each step's answer."""
    host.run("rm -f %s", JAR)
    steps = {"home": curl(host, "/")}
    steps["register"] = curl(
        host, "/auth/register", "--data-urlencode", "username=ada",
        "--data-urlencode", "password=correct horse battery",
    )  # fmt: skip
    steps["login"] = curl(
        host, "/auth/login", "--data-urlencode", "username=ada",
        "--data-urlencode", "password=correct horse battery",
    )  # fmt: skip
    steps["create"] = curl(
        host, "/create", "--data-urlencode", "title=First note",
        "--data-urlencode", "body=written through Nginx",
    )  # fmt: skip
    steps["listed"] = curl(host, "/")
    return steps


def test_a_visitor_registers_logs_in_and_writes_a_note(visit):
    assert visit["home"][0] == 200 and "No notes yet." in visit["home"][2]
    assert visit["register"][0] == 302 and visit["login"][0] == 302 and visit["create"][0] == 302
    status, _headers, body = visit["listed"]
    assert status == 200
    assert "First note" in body and "written through Nginx" in body and "by ada" in body


def test_the_session_cookie_is_secure(visit):
    """The app sets nothing about it: the entry point does, as the public URL is https."""
    cookies = visit["login"][1]["set-cookie"]
    assert any(re.search(r"(?i)^session=.*;\s*secure\b", c) for c in cookies), cookies


def test_redirects_stay_on_the_public_site(visit):
    for step in ("register", "login", "create"):
        for location in visit[step][1]["location"]:
            assert location.startswith(("/", PUBLIC + "/")), (step, location)


def test_the_packages_own_static_files_are_served_by_nginx(host):
    status, headers, body = curl(host, "/static/style.css")
    assert status == 200 and "body" in body
    assert headers.get("cache-control"), headers  # Nginx's static location sets it, not Flask


def test_an_apps_own_txt_route_reaches_it_without_indexnow(host):
    """No IndexNow in sitemap_submit_engines: Nginx does not keep /<8-128 chars>.txt for key
    files, so such a path is the app's (here its own 404 page, not Nginx's)."""
    status, _headers, body = curl(host, "/security-policy.txt")
    assert status == 404
    assert "The requested URL was not found on the server." in body, body[:300]


def test_without_an_uploads_dir_nginx_has_no_uploads_location(host):
    """blog_writable_paths lists no uploads directory, so nginx_proxy_uploads_dir defaults to "":
    no location for /static/uploads/ (a request there is a file of the package's static/)."""
    config = host.run("nginx -T")
    assert config.rc == 0, config.stderr
    assert "location ^~ /static/uploads/" not in config.stdout
    assert f"{SHARED}/uploads" not in config.stdout


@pytest.mark.parametrize("playbook", ["site.yml", "nginx_proxy alone"])
def test_a_directory_nginx_cannot_read_is_refused_before_it_goes_live(host, tmp_path, playbook):
    """A static mount on the instance folder (the service's own, closed to www-data) would answer
    403 for every file: site.yml's preflight fails before changing anything, the nginx_proxy
    role alone before its candidate goes live; each names the variable and the directory, and
    the live site is left as it was."""
    sites = "cat /etc/nginx/sites-enabled/*"
    before = host.run(sites).stdout
    if playbook != "site.yml":
        playbook = tmp_path / "nginx.yml"
        playbook.write_text(yaml.safe_dump([{
            "name": "Nginx only", "hosts": "blog", "become": True,
            "roles": [{"role": "selfhosted.flask_blog.nginx_proxy"}],
        }]))  # fmt: skip
    mounts = json.dumps({"nginx_proxy_static_mounts": [
        {"url": "/static/", "dir": f"{APP_ROOT}/current/notes/static"},
        {"url": "/private/", "dir": f"{SHARED}/instance"},
    ]})  # fmt: skip
    run = run_playbook(str(playbook), mounts)
    assert run.returncode != 0, run.stdout[-3000:]
    message = " ".join(run.stdout.split())
    assert re.search(
        rf"nginx_proxy_static_mounts: Nginx's workers \(user www-data\) cannot read "
        rf"{SHARED}/instance, served at /private/",
        message,
    ), run.stdout[-3000:]
    if playbook == "site.yml":  # failed in the preflight play, which changes nothing
        assert "PLAY [Deploy the Flask blog]" not in run.stdout, run.stdout[-3000:]
        assert re.search(r"\schanged=0\s", run.stdout), run.stdout[-3000:]
    assert host.run(sites).stdout == before
    assert curl(host, "/static/style.css")[0] == 200


def test_the_apps_own_gunicorn_pin_serves(host):
    version = host.run(f"{APP_ROOT}/current/.venv/bin/gunicorn --version")
    assert "23.0.0" in version.stdout + version.stderr


def test_the_app_logs_into_the_shared_state(host, visit):
    log = host.file(f"{SHARED}/logs/notes.log")
    assert log.is_file and log.user == SERVICE
    assert host.file(f"{APP_ROOT}/current/logs").is_symlink


def test_the_once_command_ran_with_the_apps_flaskenv(host):
    """`flask init-db`, bare: FLASK_APP comes from the release's .flaskenv."""
    markers = host.run("ls /var/lib/blog/deploy").stdout.split()
    assert any(m.startswith("once-") for m in markers), markers
    assert host.file(DATABASE).is_file


CONFIG = f"{SHARED}/instance/config.py"


def test_the_instance_config_py_is_rendered_and_read(host, visit):
    """gunicorn_systemd_config_files: the app reads its instance config.py (its title), which is
    root's, readable by the service group only, and in no release."""
    config = host.file(CONFIG)
    assert (config.user, config.group, config.mode) == ("root", SERVICE, 0o640)
    assert config.content_string == 'SITE_TITLE = "Our notes"\n'
    assert "<title>Log in - Our notes</title>" in curl(host, "/auth/login")[2]
    in_releases = host.run("find %s/releases -name config.py -not -path '*/.venv/*'", APP_ROOT)
    assert in_releases.stdout == "", in_releases.stdout


@pytest.mark.parametrize(
    "attempt",
    [
        "echo 'SITE_TITLE = \"owned\"' >> config.py",
        "rm -f config.py",
        "echo 'SITE_TITLE = \"owned\"' > mine.py && mv -f mine.py config.py",
    ],
)
def test_the_service_cannot_change_its_config_py(host, attempt):
    """The instance folder is writable (the database lives there), but sticky and not the
    service's: it cannot write, remove or replace the file the role rendered."""
    run = host.run(f"cd %s && runuser -u {SERVICE} -- sh -c %s", f"{SHARED}/instance", attempt)
    assert run.rc != 0, run.stdout
    assert host.file(CONFIG).content_string == 'SITE_TITLE = "Our notes"\n'
    host.run("rm -f %s/instance/mine.py", SHARED)


def config_files(content):
    return json.dumps(
        {"gunicorn_systemd_config_files": [{"path": "instance/config.py", "content": content}]}
    )


def test_a_broken_config_py_never_goes_live(host, visit):
    """A config.py that does not compile is checked on the candidate (bind-mounted over the live
    one) and fails the deploy; the live file and the site are unchanged."""
    run = run_playbook("deploy.yml", config_files("SITE_TITLE = (\n"))
    assert run.returncode != 0, run.stdout[-3000:]
    assert "SyntaxError" in run.stdout, run.stdout[-5000:]
    assert host.file(CONFIG).content_string == 'SITE_TITLE = "Our notes"\n'
    assert "<title>Log in - Our notes</title>" in curl(host, "/auth/login")[2]


def test_a_changed_config_py_goes_live_with_a_restart(host, visit):
    run = run_playbook("deploy.yml", config_files('SITE_TITLE = "Renamed notes"\n'))
    assert run.returncode == 0, run.stdout[-3000:]
    assert host.file(CONFIG).content_string == 'SITE_TITLE = "Renamed notes"\n'
    assert "<title>Log in - Renamed notes</title>" in curl(host, "/auth/login")[2]
    back = run_playbook("deploy.yml")
    assert back.returncode == 0, back.stdout[-3000:]
    assert "<title>Log in - Our notes</title>" in curl(host, "/auth/login")[2]


def test_verify_checks_what_the_inventory_names(visit):
    """verify.yml with the collection's defaults (the home page, SECRET_KEY in the env file, no
    sitemap: the app has none) passes for this app; a page named in blog_verify_pages that the
    app does not have fails it, by path."""
    run = run_playbook("verify.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    missing = run_playbook("verify.yml", '{"blog_verify_pages": [{"path": "/no-such-page"}]}')
    assert missing.returncode != 0, missing.stdout[-3000:]
    assert "/no-such-page" in missing.stdout and "404" in missing.stdout, missing.stdout[-3000:]


# --- a redeploy from a developer's tree, then a restart ------------------------------------


@pytest.fixture(scope="module")
def redeployed(host, visit, tmp_path_factory):
    """deploy.yml with changed code from a copy that holds the developer's own instance folder
    and database; the rows before and after, then after a container restart."""
    source = tmp_path_factory.mktemp("notes") / "notes"
    shutil.copytree(NOTES, source, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    base = source / "notes" / "templates" / "base.html"
    base.write_text(base.read_text().replace("<head>", f"<head>\n{NEW_MARK}", 1))
    (source / "instance").mkdir()
    (source / "instance" / "notes.sqlite").write_bytes(b"the developer's own database")
    before = rows(host)
    run = run_playbook("deploy.yml", f"app_deploy_src={source}/")
    after = rows(host)
    page = curl(host, "/")
    name = host.backend.get_hostname()
    subprocess.run(["docker", "restart", "-t", "30", name], check=True, timeout=240)
    for _attempt in range(90):  # Nginx refuses connections until it has started
        probe = host.run(f"curl -sk -o /dev/null -w '%{{http_code}}' --max-time 5 {PUBLIC}/")
        if probe.stdout == "200":
            break
        time.sleep(1)
    return {"run": run, "before": before, "after": after, "page": page,
            "restarted": rows(host), "page_restarted": curl(host, "/")}  # fmt: skip


def test_a_redeploy_with_changed_code_keeps_every_row(redeployed):
    run = redeployed["run"]
    assert run.returncode == 0, run.stdout[-4000:]
    assert "First note" in redeployed["before"]
    assert redeployed["after"] == redeployed["before"]
    assert NEW_MARK in redeployed["page"][2]
    # The developer's instance folder was left out, and the operator told so.
    assert re.search(r"WARNING\b.{0,300}?\binstance\b", " ".join(run.stdout.split()))


def test_a_restart_keeps_every_row(redeployed):
    assert redeployed["restarted"] == redeployed["before"]
    status, _headers, body = redeployed["page_restarted"]
    assert status == 200 and "First note" in body and NEW_MARK in body
