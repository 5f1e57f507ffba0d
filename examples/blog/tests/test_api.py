import pytest
from conftest import PUBLIC_URL, TOKEN, article_count, run_sql

AUTH = {"Authorization": f"Bearer {TOKEN}"}
VALID = {
    "title": "Hello, world",
    "slug": "hello-world",
    "body": "First paragraph.\n\nSecond paragraph.",
    "language": "en",
}


def publish(client, data, headers=None):
    return client.post("/api/articles", json=data, headers=AUTH if headers is None else headers)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer ümlaut"},
    ],
    ids=["missing", "wrong", "not-bearer", "longer", "non-ascii"],
)
def test_rejects_bad_token_and_changes_nothing(app, client, headers):
    response = publish(client, VALID, headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert set(response.json) == {"error"}
    assert article_count(app) == 0
    assert client.get("/api/articles/hello-world", headers=headers).status_code == 401


@pytest.mark.parametrize("token", [None, ""])
def test_api_is_closed_without_configured_token(make_app, token):
    app = make_app(AUTO_PUBLISH_TOKEN=token)
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer "}, AUTH):
        assert publish(client, VALID, headers).status_code == 401
    assert article_count(app) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", None),
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 201),
        ("title", 42),
        ("slug", None),
        ("slug", "Hello"),
        ("slug", "hello--world"),
        ("slug", "-hello"),
        ("slug", "hello world"),
        ("slug", "../etc"),
        ("slug", "a" * 101),
        ("body", None),
        ("body", ""),
        ("body", ["text"]),
        ("language", None),
        ("language", "english"),
        ("language", "e"),
        ("language", "en_US"),
        ("published_at", "tomorrow"),
        ("published_at", "2026-13-01"),
        ("published_at", 20260101),
        ("published_at", "9999-12-31T23:59:59-05:00"),
        ("publish_at", "2026-01-01"),
    ],
)
def test_invalid_field_is_named(app, client, field, value):
    data = dict(VALID)
    if value is None:
        del data[field]
    else:
        data[field] = value
    response = publish(client, data)
    assert response.status_code == 400
    assert response.json["field"] == field
    assert field in response.json["error"]
    assert article_count(app) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"'])
def test_invalid_json_is_rejected(app, client, body):
    headers = {**AUTH, "Content-Type": "application/json"}
    response = client.post("/api/articles", data=body, headers=headers)
    assert response.status_code == 400
    assert "error" in response.json
    assert article_count(app) == 0


def test_accepts_maximum_lengths_and_region_languages(client):
    data = {**VALID, "title": "x" * 200, "slug": "a" * 100, "language": "pt-BR"}
    assert publish(client, data).status_code == 201


def test_created_unchanged_updated(app, client):
    created = publish(client, {**VALID, "published_at": "2026-01-01T10:00:00+02:00"})
    assert created.status_code == 201
    assert created.json == {
        "status": "created",
        "slug": "hello-world",
        "url": f"{PUBLIC_URL}/articles/hello-world",
        "published_at": "2026-01-01T08:00:00+00:00",
        "updated_at": created.json["updated_at"],
    }

    # Same content, published_at spelled differently: nothing is written.
    unchanged = publish(client, {**VALID, "published_at": "2026-01-01T08:00:00"})
    assert unchanged.status_code == 200
    assert unchanged.json["status"] == "unchanged"
    assert unchanged.json["updated_at"] == created.json["updated_at"]
    assert publish(client, VALID).json["status"] == "unchanged"  # published_at kept

    # Pretend the article was last written long ago, then change it.
    run_sql(app, "UPDATE articles SET updated_at = '2000-01-01T00:00:00+00:00'")
    assert publish(client, VALID).json["updated_at"] == "2000-01-01T00:00:00+00:00"
    updated = publish(client, {**VALID, "body": "New text."})
    assert updated.status_code == 200
    assert updated.json["status"] == "updated"
    assert updated.json["updated_at"] > "2000-01-01T00:00:00+00:00"
    assert updated.json["published_at"] == "2026-01-01T08:00:00+00:00"
    assert article_count(app) == 1


def test_default_published_at_is_now(client):
    response = publish(client, VALID)
    assert response.json["published_at"] == response.json["updated_at"]
    assert client.get("/articles/hello-world").status_code == 200


def test_returned_url_is_canonical_with_prefix(make_app):
    client = make_app(SITE_PUBLIC_URL="https://example.com/blog").test_client()
    response = client.post("/api/articles", json=VALID, headers=AUTH, base_url="http://127.0.0.1")
    assert response.json["url"] == "https://example.com/blog/articles/hello-world"


def test_get_article(client):
    publish(client, {**VALID, "published_at": "2030-01-01"})  # scheduled articles too
    response = client.get("/api/articles/hello-world", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    article = response.json
    assert article["title"] == VALID["title"]
    assert article["body"] == VALID["body"]
    assert article["published_at"] == "2030-01-01T00:00:00+00:00"
    assert article["url"] == f"{PUBLIC_URL}/articles/hello-world"
    assert set(article) >= {"slug", "language", "created_at", "updated_at"}
    missing = client.get("/api/articles/nope", headers=AUTH)
    assert missing.status_code == 404
    assert "error" in missing.json


def test_body_over_limit_is_413_json(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    response = publish(client, {**VALID, "body": "x" * 2000})
    assert response.status_code == 413
    assert response.mimetype == "application/json"
    assert "1024" in response.json["error"]
    assert article_count(app) == 0


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here", headers=AUTH)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
