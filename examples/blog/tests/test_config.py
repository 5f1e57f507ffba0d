import pytest
from blog import ConfigError, create_app
from blog.config import parse_database_url


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///relative/blog.db",
        "sqlite://localhost/blog.db",
        "postgresql://user@localhost/blog",
        "/var/lib/blog/database.db",
        "sqlite:////var/lib/blog/",
    ],
)
def test_bad_database_url(make_app, url):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        make_app(DATABASE_URL=url)


def test_unusable_database_fails_at_startup(make_app, tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'missing-dir' / 'blog.db'}")


def test_default_database_is_in_instance_folder():
    url, path = parse_database_url(None, "/srv/app/instance")
    assert url == "sqlite:////srv/app/instance/database.db"
    assert path == "/srv/app/instance/database.db"


@pytest.mark.parametrize(
    "url",
    [
        "blog.example.com",
        "/blog",
        "ftp://blog.example.com",
        "https://",
        "https://blog.example.com/?page=1",
        "https://blog.example.com/#top",
        "https://user:pw@blog.example.com",
        "https://blog.example.com:99999",
    ],
)
def test_bad_site_public_url(make_app, url):
    with pytest.raises(ConfigError, match="SITE_PUBLIC_URL"):
        make_app(SITE_PUBLIC_URL=url)


def test_missing_secret_key(make_app):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        make_app(TESTING=False, SECRET_KEY=None)


def test_secret_key_is_optional_in_debug_mode(make_app, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = make_app(TESTING=False, SECRET_KEY=None)
    assert len(app.secret_key) >= 32


@pytest.mark.parametrize("value", ["abc", "0", "-5", "1.5", "8MB"])
def test_bad_max_content_length(make_app, value):
    with pytest.raises(ConfigError, match="MAX_CONTENT_LENGTH"):
        make_app(MAX_CONTENT_LENGTH=value)


def test_plain_password_is_not_accepted_as_hash(make_app):
    with pytest.raises(ConfigError, match="ADMIN_PASSWORD_HASH"):
        make_app(ADMIN_PASSWORD_HASH="hunter2")


@pytest.mark.parametrize("name", ["STATIC_DIR", "UPLOAD_DIR"])
def test_directories_must_be_absolute(make_app, name):
    with pytest.raises(ConfigError, match=name):
        make_app(**{name: "relative/dir"})


def test_configuration_comes_from_environment(monkeypatch, tmp_path):
    static_dir = tmp_path / "static"
    static_dir.mkdir()
    (static_dir / "style.css").write_text("body {}")
    for name, value in {
        "SECRET_KEY": "from-env",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}",
        "SITE_PUBLIC_URL": "https://example.com/blog/",
        "MAX_CONTENT_LENGTH": "12345",
        "STATIC_DIR": str(static_dir),
        "ADMIN_USERNAME": "editor",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["DATABASE"] == str(tmp_path / "env.db")
    assert app.config["SITE_PUBLIC_URL"] == "https://example.com/blog"
    assert app.config["MAX_CONTENT_LENGTH"] == 12345
    assert app.config["ADMIN_USERNAME"] == "editor"
    assert app.config["ADMIN_PASSWORD_HASH"] is None
    assert app.config["AUTO_PUBLISH_TOKEN"] is None
    assert app.config["UPLOAD_DIR"] == str(static_dir / "uploads")
    assert app.debug is False
    with app.test_client().get("/static/style.css") as response:
        assert response.data == b"body {}"


@pytest.mark.parametrize(
    ("url", "secure"), [("https://a.example", True), ("http://a.example", False)]
)
def test_session_cookie_flags(make_app, url, secure):
    client = make_app(SITE_PUBLIC_URL=url).test_client()
    cookie = client.get("/admin/login").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert ("Secure" in cookie) is secure


def test_public_pages_do_not_set_cookies(client):
    assert "Set-Cookie" not in client.get("/").headers
    assert "Cookie" not in client.get("/").headers.get("Vary", "")
