"""python_venv's files/app_requirements.py: what pip installs for the app, from a requirements
file or a pyproject.toml, and the lines that pin Gunicorn (the app's pin wins over ours)."""

import grp
import importlib.util
import json
import os
import pwd
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "python_venv" / "files"
spec = importlib.util.spec_from_file_location("app_requirements", SCRIPT / "app_requirements.py")
app_requirements = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app_requirements)

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name

PYPROJECT = """\
[project]
name = "notes"
version = "1.0.0"
dependencies = [
    "Flask==3.1.3",
    "gunicorn==23.0.0",
    "python-dotenv==1.2.4",
]

[project.optional-dependencies]
dev = ["pytest"]
"""


def write(source, dest, capsys):
    app_requirements.main([str(source), str(dest), OWNER, GROUP])
    return json.loads(capsys.readouterr().out)


def test_a_pyprojects_dependencies_are_what_pip_installs(tmp_path, capsys):
    source, dest = tmp_path / "pyproject.toml", tmp_path / "app.txt"
    source.write_text(PYPROJECT)
    out = write(source, dest, capsys)
    assert dest.read_text() == "Flask==3.1.3\ngunicorn==23.0.0\npython-dotenv==1.2.4\n"
    assert out == {"changed": True, "gunicorn": ["gunicorn==23.0.0"]}
    assert oct(dest.stat().st_mode & 0o777) == "0o644"


def test_a_requirements_file_is_copied_as_it_is(tmp_path, capsys):
    source, dest = tmp_path / "requirements.txt", tmp_path / "app.txt"
    text = "# pinned\nFlask==3.1.3 \\\n    --hash=sha256:abc\ngunicorn-extra==1\n"
    source.write_text(text)
    out = write(source, dest, capsys)
    assert dest.read_text() == text
    assert out == {"changed": True, "gunicorn": []}  # gunicorn-extra is another package


@pytest.mark.parametrize("line", ["gunicorn", "Gunicorn>=22", "  gunicorn[gevent]==23.0.0"])
def test_each_way_to_name_gunicorn_is_found(tmp_path, capsys, line):
    source, dest = tmp_path / "requirements.txt", tmp_path / "app.txt"
    source.write_text(f"Flask\n{line}\n")
    assert write(source, dest, capsys)["gunicorn"] == [line.strip()]


def test_an_unchanged_file_is_not_written_again(tmp_path, capsys):
    source, dest = tmp_path / "pyproject.toml", tmp_path / "app.txt"
    source.write_text(PYPROJECT)
    write(source, dest, capsys)
    os.utime(dest, (0, 0))
    assert write(source, dest, capsys)["changed"] is False
    assert dest.stat().st_mtime == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[tool.setuptools]\npackages = []\n", "has no [project] table"),
        (
            '[project]\nname = "x"\ndynamic = ["dependencies"]\n',
            "declares its dependencies dynamic",
        ),
    ],
)
def test_a_pyproject_without_static_dependencies_is_refused(tmp_path, text, says):
    source = tmp_path / "pyproject.toml"
    source.write_text(text)
    with pytest.raises(SystemExit, match=r"\[project\]|dynamic") as refused:
        app_requirements.main([str(source), str(tmp_path / "app.txt"), OWNER, GROUP])
    assert says in str(refused.value)
