"""gunicorn_systemd's WSGI entry point (templates/flask_blog_entry.py.j2), rendered with the
role's own expressions (vars/main.yml) and Ansible's filters, then run with the second test app
(molecule/resources/apps/notes, an application factory that reads its settings from its
instance folder): the Flask config keys it sets over the app's own, and ProxyFix keeping the
public scheme, host and port in external URLs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jinja2
import jinja2.nativetypes
import pytest
import yaml
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.filter.urlsplit import FilterModule as UrlFilters

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "gunicorn_systemd"
NOTES = ROOT / "molecule" / "resources" / "apps" / "notes"
SECRET = "entry-point-secret-0123456789abcdef"
FILTERS = {**CoreFilters().filters(), **UrlFilters().filters()}

# What the request through Nginx carries (nginx_proxy's site.conf.j2), for a public URL whose
# port a port mapping in front makes another than Nginx's own.
PROXIED = {
    "Host": "notes.example.test",
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "notes.example.test",
    "X-Forwarded-Port": "8443",
}

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import flask_blog_entry as entry
from flask import request, url_for
app = entry.app
app.add_url_rule("/probe", "probe", lambda: {
    "external": url_for("notes.index", _external=True), "remote": request.remote_addr})
answer = app.test_client().get("/probe", headers=json.loads(sys.argv[2]))
keys = ("SECRET_KEY", "SESSION_COOKIE_SECURE", "PREFERRED_URL_SCHEME", "MAX_CONTENT_LENGTH",
        "NOTES_PER_PAGE")
print(json.dumps({"config": {k: app.config.get(k) for k in keys}, "probe": answer.get_json()}))
"""


def role_vars(**inventory):
    """The role's defaults and derived values, rendered the way Ansible would, natively."""
    native = jinja2.nativetypes.NativeEnvironment()
    native.filters.update(FILTERS)
    values = {"blog_upload_limit_mb": 8, "blog_proxy_hops": 1, **inventory}
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    derived = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    names = [
        "gunicorn_systemd_max_content_length", "gunicorn_systemd_flask_config",
        "gunicorn_systemd_proxy_hops", "__gunicorn_systemd_flask_config",
    ]  # fmt: skip
    for name in names:
        if name in values:
            continue
        source = {**defaults, **derived}[name]
        if isinstance(source, str):
            source = native.from_string(source).render(values)
        values[name] = source
    return values


def render_entry(release, **inventory):
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True)
    env.filters.update(FILTERS)
    values = {
        "ansible_managed": "Ansible managed", "gunicorn_systemd_service": "notes",
        "gunicorn_systemd_app": "notes:create_app()", "gunicorn_systemd_code_dir": str(release),
        **role_vars(**inventory),
    }  # fmt: skip
    return env.from_string((ROLE / "templates" / "flask_blog_entry.py.j2").read_text()).render(
        values
    )


def run(tmp_path, inventory, environment):
    release = tmp_path / "release"
    shutil.copytree(NOTES, release, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    instance = release / "instance"
    instance.mkdir()
    (instance / "config.py").write_text('SECRET_KEY = "the-apps-own-development-key"\n')
    config = tmp_path / "config"
    config.mkdir()
    (config / "flask_blog_entry.py").write_text(render_entry(release, **inventory))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), json.dumps(PROXIED)],
        env={**os.environ, "FLASK_BLOG_CODE_DIR": str(release), **environment},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture
def https_site(tmp_path):
    inventory = {
        "blog_public_url": "https://notes.example.test:8443",
        "gunicorn_systemd_secret_key": SECRET,
        "gunicorn_systemd_flask_config": {"NOTES_PER_PAGE": 20},
    }
    return run(tmp_path, inventory, {"SECRET_KEY": SECRET})


def test_the_secret_key_replaces_the_apps_own(https_site):
    assert https_site["config"]["SECRET_KEY"] == SECRET


def test_an_https_site_gets_a_secure_session_cookie_and_its_scheme(https_site):
    assert https_site["config"]["SESSION_COOKIE_SECURE"] is True
    assert https_site["config"]["PREFERRED_URL_SCHEME"] == "https"
    assert https_site["config"]["MAX_CONTENT_LENGTH"] == 8 * 1024 * 1024


def test_config_keys_the_inventory_names_are_set(https_site):
    assert https_site["config"]["NOTES_PER_PAGE"] == 20


def test_external_urls_keep_the_public_scheme_host_and_port(https_site):
    assert https_site["probe"]["external"] == "https://notes.example.test:8443/"
    assert https_site["probe"]["remote"] == "203.0.113.7"


def test_a_plain_http_site_keeps_the_cookie_usable_and_the_apps_key(tmp_path):
    seen = run(tmp_path, {"blog_public_url": "http://notes.example.test"}, {})
    assert seen["config"]["SESSION_COOKIE_SECURE"] is False
    assert seen["config"]["PREFERRED_URL_SCHEME"] == "http"
    # No secret key in the inventory: the app's own (from its instance config.py) stays.
    assert seen["config"]["SECRET_KEY"] == "the-apps-own-development-key"
