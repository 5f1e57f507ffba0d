"""app_deploy's files/pack_source.py: what travels from a local source, and the content version
that decides whether a new release is built."""

import hashlib
import importlib.util
import json
import os
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "app_deploy" / "files" / "pack_source.py"
EXCLUDE = [".git", ".env", ".venv", "__pycache__", "*.pyc"]
LINKED = ["instance", "static/uploads"]

spec = importlib.util.spec_from_file_location("pack_source", SCRIPT)
pack_source = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pack_source)


def run(src, out="-", *, listing=False, capsys):
    argv = [str(src), str(out)]
    argv += [f"--exclude={p}" for p in EXCLUDE] + [f"--linked={p}" for p in LINKED]
    argv += ["--list"] if listing else []
    assert pack_source.main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def app(tmp_path):
    """A Flask app checkout as a developer has it: code, and state that must not travel."""
    root = tmp_path / "app"
    files = {
        "wsgi.py": "from blog import app\n",
        "blog/__init__.py": "app = None\n",
        "blog/static/style.css": "body {}\n",
        "static/uploads/photo.png": "laptop upload",
        "instance/database.db": "laptop database",
        ".env": "SECRET_KEY=laptop",
        ".git/config": "[core]",
        ".venv/bin/python": "",
        "blog/__pycache__/x.cpython-311.pyc": "",
        "stray.pyc": "",
        "static/logo.svg": "<svg/>",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_state_secrets_and_caches_never_travel(app, tmp_path, capsys):
    out = tmp_path / "code.tar.gz"
    result = run(app, out, capsys=capsys)
    with tarfile.open(out) as archive:
        names = sorted(archive.getnames())
    assert names == [
        "blog", "blog/__init__.py", "blog/static", "blog/static/style.css",
        "static", "static/logo.svg", "wsgi.py",
    ]  # fmt: skip
    assert result["files"] == 4
    assert sorted(result["linked_in_source"]) == ["instance", "static/uploads"]


def test_archive_members_belong_to_root_with_plain_modes(app, tmp_path, capsys):
    (app / "wsgi.py").chmod(0o700)
    if os.geteuid() == 0:  # a developer's own files, as the controller's user has them
        os.chown(app / "wsgi.py", 65534, 65534)
    out = tmp_path / "code.tar.gz"
    run(app, out, capsys=capsys)
    with tarfile.open(out) as archive:
        members = {m.name: m for m in archive.getmembers()}
    assert {(m.uid, m.gid, m.uname) for m in members.values()} == {(0, 0, "root")}
    assert members["wsgi.py"].mode == 0o755
    assert members["blog/__init__.py"].mode == 0o644
    assert members["blog"].mode == 0o755


def test_version_ignores_modification_times_and_excluded_files(app, capsys):
    first = run(app, capsys=capsys)["version"]
    os.utime(app / "wsgi.py", (0, 0))
    (app / ".env").write_text("SECRET_KEY=other")
    (app / "instance" / "database.db").write_text("more rows")
    assert run(app, capsys=capsys)["version"] == first


@pytest.mark.parametrize(
    "change",
    [
        lambda app: (app / "blog" / "__init__.py").write_text("app = 1\n"),
        lambda app: (app / "wsgi.py").chmod(0o755),
        lambda app: (app / "blog" / "new.py").write_text(""),
        lambda app: (app / "static" / "logo.svg").rename(app / "static" / "logo2.svg"),
    ],
    ids=["content", "executable bit", "new file", "renamed file"],
)
def test_version_changes_with_the_code(app, capsys, change):
    first = run(app, capsys=capsys)["version"]
    change(app)
    assert run(app, capsys=capsys)["version"] != first


def test_list_gives_each_files_sha1_for_check_mode(app, capsys):
    listing = run(app, listing=True, capsys=capsys)["sha1"]
    assert sorted(listing) == [
        "blog/__init__.py", "blog/static/style.css", "static/logo.svg", "wsgi.py"
    ]  # fmt: skip
    assert listing["wsgi.py"] == hashlib.sha1(b"from blog import app\n").hexdigest()


def test_a_missing_source_is_an_error(tmp_path):
    with pytest.raises(SystemExit):
        pack_source.main([str(tmp_path / "nothing"), "-"])
