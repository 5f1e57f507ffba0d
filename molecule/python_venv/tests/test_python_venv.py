"""python_venv: the venv belongs to the deploy user and the service user can run it."""

import pytest

VENV = "/var/www/blog/.venv"
APP_ENV = "SECRET_KEY=molecule DATABASE_URL=sqlite:////tmp/molecule-blog.db"


def as_service(host, command):
    return host.run(f"cd /var/www/blog && sudo -u www-data env {APP_ENV} {command}")


def test_venv_belongs_to_the_deploy_user(host):
    venv = host.file(VENV)
    assert venv.is_directory
    assert venv.user == "deploy"
    assert venv.group == "deploy"
    assert venv.mode == 0o755
    assert host.file(f"{VENV}/bin/gunicorn").user == "deploy"


def test_service_user_runs_gunicorn_from_the_venv(host):
    result = as_service(host, f"{VENV}/bin/gunicorn --version")
    assert result.rc == 0, result.stderr
    assert "gunicorn" in (result.stdout + result.stderr).lower()


def test_service_user_loads_the_app(host):
    # --check-config imports the WSGI app exactly as a worker would, then exits.
    result = as_service(host, f"{VENV}/bin/gunicorn --check-config wsgi:app")
    assert result.rc == 0, result.stdout + result.stderr
    result = as_service(
        host, f"{VENV}/bin/python -c 'import blog, flask; print(flask.__version__)'"
    )
    assert result.rc == 0, result.stderr


def test_service_user_cannot_change_the_venv(host):
    result = as_service(host, f"touch {VENV}/lib/written-by-service")
    assert result.rc != 0
    assert not host.file(f"{VENV}/lib/written-by-service").exists


def test_system_python_is_untouched(host):
    markers = host.run("ls /usr/lib/python3*/EXTERNALLY-MANAGED").stdout.split()
    assert markers, "the distribution's EXTERNALLY-MANAGED marker (PEP 668) is gone"
    assert host.run("/usr/bin/python3 -c 'import flask'").rc != 0
    assert host.run("/usr/bin/python3 -c 'import gunicorn'").rc != 0


def test_requirements_of_the_app_and_gunicorn_are_installed(host):
    freeze = host.run(f"{VENV}/bin/pip freeze").stdout.lower()
    assert "flask==" in freeze
    assert "gunicorn==" in freeze


@pytest.mark.parametrize("line", ["six==1.16.0", "-r /var/www/blog/requirements.txt"])
def test_a_changed_requirement_was_installed(host, line):
    # side_effect.yml re-ran the role with one more requirement.
    manifest = host.file(f"{VENV}/flask_blog-requirements.txt")
    assert line in manifest.content_string
    assert host.run(f"{VENV}/bin/python -c 'import six'").rc == 0
