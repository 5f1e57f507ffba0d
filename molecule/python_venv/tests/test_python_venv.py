"""python_venv: one venv per set of requirements, belonging to the deploy user, which the service
user can run; side_effect.yml added a requirement, which built a second venv beside the first,
then the second test app (a pyproject.toml only, pinning Gunicorn 23.0.0: its pin wins over ours)
and an app pinning a Gunicorn older than the unit and config support (refused)."""

import pytest

VENVS = "/var/www/blog/venvs"
RELEASE = "/var/www/blog/releases/molecule"
APP_ENV = "SECRET_KEY=molecule DATABASE_URL=sqlite:////tmp/molecule-blog.db"


def venvs(host):
    """Each venv's path and its manifest (what pip installed into it)."""
    paths = host.run(f"find {VENVS} -mindepth 1 -maxdepth 1 -type d").stdout.split()
    return {path: host.file(f"{path}/flask_blog-requirements.txt").content_string for path in paths}


@pytest.fixture
def venv(host):
    """The venv of side_effect.yml's requirements (the newest)."""
    return next(path for path, manifest in venvs(host).items() if "six==1.16.0" in manifest)


def as_service(host, command):
    return host.run(f"cd {RELEASE} && sudo -u www-data env {APP_ENV} {command}")


def test_venv_belongs_to_the_deploy_user(host, venv):
    venv_dir = host.file(venv)
    assert venv_dir.is_directory
    assert venv_dir.user == "deploy"
    assert venv_dir.group == "deploy"
    assert venv_dir.mode == 0o755
    assert host.file(f"{venv}/bin/gunicorn").user == "deploy"


def test_service_user_runs_gunicorn_from_the_venv(host, venv):
    result = as_service(host, f"{venv}/bin/gunicorn --version")
    assert result.rc == 0, result.stderr
    assert "gunicorn" in (result.stdout + result.stderr).lower()


def test_service_user_loads_the_app(host, venv):
    # --check-config imports the WSGI app exactly as a worker would, then exits.
    result = as_service(host, f"{venv}/bin/gunicorn --check-config wsgi:app")
    assert result.rc == 0, result.stdout + result.stderr
    result = as_service(
        host, f"{venv}/bin/python -c 'import blog, flask; print(flask.__version__)'"
    )
    assert result.rc == 0, result.stderr


def test_service_user_cannot_change_the_venv(host, venv):
    result = as_service(host, f"touch {venv}/lib/written-by-service")
    assert result.rc != 0
    assert not host.file(f"{venv}/lib/written-by-service").exists


def test_system_python_is_untouched(host):
    markers = host.run("ls /usr/lib/python3*/EXTERNALLY-MANAGED").stdout.split()
    assert markers, "the distribution's EXTERNALLY-MANAGED marker (PEP 668) is gone"
    assert host.run("/usr/bin/python3 -c 'import flask'").rc != 0
    assert host.run("/usr/bin/python3 -c 'import gunicorn'").rc != 0


def test_requirements_of_the_app_and_gunicorn_are_installed(host, venv):
    freeze = host.run(f"{venv}/bin/pip freeze").stdout.lower()
    assert "flask==" in freeze
    assert "gunicorn==" in freeze


@pytest.mark.parametrize("line", ["six==1.16.0", "-r {venv}/flask_blog-app-requirements.txt"])
def test_a_changed_requirement_was_installed(host, venv, line):
    # side_effect.yml re-ran the role with one more requirement: a new venv has it.
    line = line.format(venv=venv)
    manifest = host.file(f"{venv}/flask_blog-requirements.txt")
    assert line in manifest.content_string
    assert host.run(f"{venv}/bin/python -c 'import six'").rc == 0


def app_requirements(host, path):
    return host.file(f"{path}/flask_blog-app-requirements.txt").content_string


def pinned_venv(host, version):
    """The venv of side_effect.yml's release that pins gunicorn==<version> itself."""
    return next(p for p in venvs(host) if f"gunicorn=={version}" in app_requirements(host, p))


def test_the_first_venv_is_kept_as_it_was(host, venv):
    """The venv of the first requirements stays, without the new one (a rollback's venv)."""
    first = [p for p in venvs(host) if p != venv and "gunicorn" not in app_requirements(host, p)]
    assert len(first) == 1, venvs(host)
    assert host.run(f"{first[0]}/bin/python -c 'import six'").rc != 0
    assert host.run(f"{first[0]}/bin/python -c 'import flask'").rc == 0


def test_a_pyprojects_dependencies_are_installed(host):
    venv = pinned_venv(host, "23.0.0")
    written = app_requirements(host, venv)
    assert written == "Flask==3.1.3\ngunicorn==23.0.0\npython-dotenv==1.2.4\n", written
    assert host.run(f"{venv}/bin/python -c 'import dotenv, flask'").rc == 0
    assert host.run(f"{venv}/bin/python -c 'import notes'").rc != 0  # the app runs from its release


def test_an_apps_own_gunicorn_pin_wins(host):
    venv = pinned_venv(host, "23.0.0")
    version = host.run(f"{venv}/bin/python -c 'import gunicorn; print(gunicorn.__version__)'")
    assert version.stdout.strip() == "23.0.0"
    manifest = host.file(f"{venv}/flask_blog-requirements.txt").content_string
    assert "gunicorn==27" not in manifest  # ours was not added next to the app's
    assert host.file(f"{venv}/flask_blog-ready").exists


def test_a_gunicorn_older_than_supported_is_never_marked_ready(host):
    venv = pinned_venv(host, "20.0.4")
    assert not host.file(f"{venv}/flask_blog-ready").exists
