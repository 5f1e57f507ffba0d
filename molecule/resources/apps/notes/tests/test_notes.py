import os
from urllib.parse import urljoin, urlsplit

import notes
from notes import create_app
from notes.db import get_db


def count_rows(app, table):
    with app.app_context():
        return get_db().execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def test_register_login_create_listed(client, auth):
    response = auth.register()
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"

    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["user_id"] == 1

    page = client.get("/").get_data(as_text=True)
    assert "Log out" in page
    assert "New note" in page

    response = client.post("/create", data={"title": "First", "body": "hello"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    client.post("/create", data={"title": "Second", "body": "world"})

    page = client.get("/").get_data(as_text=True)
    assert "First" in page and "hello" in page and "by alice" in page
    assert page.index("Second") < page.index("First"), "newest first"

    response = auth.logout()
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Log in" in page and "Register" in page and "Log out" not in page


def test_wrong_password_and_duplicate_user(client, auth):
    auth.register()
    assert "already registered" in auth.register().get_data(as_text=True)
    response = auth.login(password="wrong")
    assert response.status_code == 200
    assert "Incorrect username or password." in response.get_data(as_text=True)


def test_create_requires_login(client):
    for method in (client.get, client.post):
        response = method("/create")
        assert response.status_code == 302
        assert response.headers["Location"] == "/auth/login"


def test_init_db_drops_existing_rows(app, client, auth):
    auth.register()
    auth.login()
    client.post("/create", data={"title": "Doomed", "body": "x"})
    assert count_rows(app, "user") == 1
    assert count_rows(app, "note") == 1

    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0
    assert "Initialized the database." in result.output
    assert count_rows(app, "user") == 0
    assert count_rows(app, "note") == 0


def app_with_instance_config(tmp_path, text):
    """An app whose instance folder holds a config.py of that text."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(text)
    return create_app({"LOG_DIR": str(tmp_path / "logs")}, instance_path=str(instance))


def test_instance_config_py_is_used(tmp_path):
    app = app_with_instance_config(tmp_path, 'SECRET_KEY = "from-instance"\n')
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["DATABASE"] == str(tmp_path / "instance" / "notes.sqlite")


def test_default_secret_key_without_instance_config(tmp_path):
    app = create_app({"LOG_DIR": str(tmp_path / "logs")}, instance_path=str(tmp_path / "inst"))
    assert app.config["SECRET_KEY"] == "dev"
    assert os.path.isdir(tmp_path / "inst")


def test_environment_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE", "/nonexistent/env.sqlite")
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")
    app = create_app({"LOG_DIR": str(tmp_path / "logs")}, instance_path=str(tmp_path / "inst"))
    assert app.config["SECRET_KEY"] == "dev"
    assert app.config["DATABASE"] == str(tmp_path / "inst" / "notes.sqlite")


def test_no_healthz_sitemap_or_robots(client):
    for path in ("/healthz", "/sitemap.xml", "/robots.txt"):
        assert client.get(path).status_code == 404


def test_stylesheet_served_from_package_static(app, client):
    assert app.static_folder == os.path.join(os.path.dirname(notes.__file__), "static")
    with client.get("/static/style.css") as response:
        assert response.status_code == 200
        assert response.mimetype == "text/css"
    with client.get("/static/notes.js") as response:
        assert response.status_code == 200
    assert "/static/style.css" in client.get("/").get_data(as_text=True)


def test_redirect_follows_request_host(client):
    # X-Forwarded-* is the deployer's job (ProxyFix or Nginx), not the app's: it must be ignored.
    headers = {
        "Host": "notes.example.test:8443",
        "X-Forwarded-Host": "evil.example.test",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "9999",
    }
    response = client.get("/create", headers=headers)
    assert response.status_code == 302
    location = urljoin("http://notes.example.test:8443/create", response.headers["Location"])
    parts = urlsplit(location)
    assert parts.netloc == "notes.example.test:8443"
    assert parts.path == "/auth/login"


def test_logs_written_to_log_dir(app, auth, tmp_path):
    auth.register(username="logged")
    log_file = tmp_path / "logs" / "notes.log"
    assert "registered user logged" in log_file.read_text()


def test_logs_default_to_relative_logs_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = create_app(instance_path=str(tmp_path / "inst"))
    app.logger.info("hello from cwd")
    assert "hello from cwd" in (tmp_path / "logs" / "notes.log").read_text()


def test_instance_config_py_sets_the_title(tmp_path):
    app = app_with_instance_config(tmp_path, 'SITE_TITLE = "Field notes"\n')
    assert app.config["SITE_TITLE"] == "Field notes"
    with app.test_client() as client:
        assert "<title>Log in - Field notes</title>" in client.get("/auth/login").get_data(True)
