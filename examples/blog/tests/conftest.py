import re
import sqlite3
import struct
import zlib
from pathlib import Path

import pytest
from blog import create_app
from blog.articles import parse_article, upsert_article
from blog.config import ENV_VARS
from blog.db import get_db
from werkzeug.security import generate_password_hash

BLOG_DIR = Path(__file__).resolve().parent.parent
SAMPLE_DIR = BLOG_DIR / "sample_articles"
PUBLIC_URL = "https://blog.example.com"
TOKEN = "test-publish-token-0123456789"
PASSWORD = "correct horse battery staple"
# A cheap hash method keeps the tests fast; production hashes come from hash-password.
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def tiny_png():
    """A valid 1x1 PNG."""

    def chunk(kind, data):
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def csrf_from(response):
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


def run_sql(app, sql):
    """Run SQL on the app's database behind its back (to inspect or break it)."""
    conn = sqlite3.connect(app.config["DATABASE"])
    try:
        with conn:
            return conn.execute(sql).fetchall()
    finally:
        conn.close()


def article_count(app):
    return run_sql(app, "SELECT count(*) FROM articles")[0][0]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Tests must not depend on the developer's environment."""
    for name in (*ENV_VARS, "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_app(tmp_path):
    def make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'blog.db'}",
            "SITE_PUBLIC_URL": PUBLIC_URL,
            "AUTO_PUBLISH_TOKEN": TOKEN,
            "ADMIN_PASSWORD_HASH": PASSWORD_HASH,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
        }
        config.update(overrides)
        return create_app(config)

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def add_article(app):
    """Store an article through the same upsert code path as the API."""

    def add(slug, **fields):
        data = {"title": f"Title of {slug}", "slug": slug, "body": "Some text.", "language": "en"}
        data.update(fields)
        with app.app_context():
            return upsert_article(get_db(), parse_article(data))[1]

    return add


def log_in(client, username="admin", password=PASSWORD, **extra):
    token = csrf_from(client.get("/admin/login"))
    form = {"csrf_token": token, "username": username, "password": password, **extra}
    return client.post("/admin/login", data=form)


@pytest.fixture
def admin_client(client):
    response = log_in(client)
    assert response.status_code == 303
    return client
