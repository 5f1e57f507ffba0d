import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PUBLIC_URL, run_sql
from werkzeug.middleware.proxy_fix import ProxyFix

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
W3C_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def in_one_day():
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def sitemap_entries(client):
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    assert root.tag == f"{SITEMAP_NS}urlset"
    return {
        url.findtext(f"{SITEMAP_NS}loc"): url.findtext(f"{SITEMAP_NS}lastmod")
        for url in root.findall(f"{SITEMAP_NS}url")
    }


def test_home_lists_published_articles_newest_first(client, add_article):
    add_article("older", title="Older post", published_at="2026-01-01T08:00:00Z")
    add_article("newer", title="Newer post", published_at="2026-02-01T08:00:00Z")
    html = client.get("/").get_data(as_text=True)
    assert "<title>A self-hosted blog</title>" in html
    assert html.index("Newer post") < html.index("Older post")
    assert 'href="/articles/newer"' in html
    assert "2026-02-01" in html


@pytest.mark.parametrize("public_url", ["https://blog.example.com", "https://example.com/blog"])
def test_article_page_has_canonical_url_on_public_site(make_app, public_url):
    app = make_app(SITE_PUBLIC_URL=public_url + "/")
    client = app.test_client()
    client.post(
        "/api/articles",
        json={
            "title": "Olá <mundo>",
            "slug": "ola",
            "body": "Primeiro parágrafo <script>x</script>.\n\nSegundo.",
            "language": "pt-BR",
            "published_at": "2026-01-01",
        },
        headers={"Authorization": "Bearer test-publish-token-0123456789"},
    )
    # The request arrives on plain http://localhost, the canonical link must not.
    response = client.get("/articles/ola", base_url="http://localhost")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<link rel="canonical" href="{public_url}/articles/ola">' in html
    assert '<html lang="pt-BR">' in html
    assert '<meta name="description" content="Primeiro parágrafo &lt;script&gt;x' in html
    assert "<p>Segundo.</p>" in html
    assert "<script>" not in html
    assert "<h1>Olá &lt;mundo&gt;</h1>" in html


def test_canonical_falls_back_to_request_url_without_public_url(make_app):
    app = make_app(SITE_PUBLIC_URL=None)
    client = app.test_client()
    html = client.get("/", base_url="http://192.0.2.10:8000").get_data(as_text=True)
    assert '<link rel="canonical" href="http://192.0.2.10:8000/">' in html


def test_future_article_is_hidden_until_published(client, add_article):
    add_article("now", title="Visible post")
    add_article("later", title="Scheduled post", published_at=in_one_day())
    assert "Scheduled post" not in client.get("/").get_data(as_text=True)
    assert client.get("/articles/later").status_code == 404
    assert client.get("/articles/now").status_code == 200
    entries = sitemap_entries(client)
    assert f"{PUBLIC_URL}/articles/now" in entries
    assert f"{PUBLIC_URL}/articles/later" not in entries


def test_unknown_article_renders_404_page(client):
    response = client.get("/articles/does-not-exist")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<title>404 Not Found" in html
    assert 'class="site-header"' in html
    assert "no published article" in html


def test_sitemap(client, add_article):
    add_article("first", published_at="2026-03-01T10:00:00+02:00")
    add_article("second", published_at="2026-03-02")
    response = client.get("/sitemap.xml", base_url="http://10.0.0.5")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    entries = sitemap_entries(client)
    assert set(entries) == {
        f"{PUBLIC_URL}/",
        f"{PUBLIC_URL}/articles/first",
        f"{PUBLIC_URL}/articles/second",
    }
    assert all(W3C_DATETIME.match(lastmod) for lastmod in entries.values())
    assert entries[f"{PUBLIC_URL}/"] == max(entries.values())


def test_robots_txt(client):
    response = client.get("/robots.txt")
    assert response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    assert "Disallow: /api/" in lines
    assert f"Sitemap: {PUBLIC_URL}/sitemap.xml" in lines


def test_healthz_ok(client, add_article):
    add_article("one")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["status"] == "ok"
    assert response.json["articles"] == 1
    assert response.json["request"] == {
        "remote_addr": "127.0.0.1",
        "scheme": "http",
        "host": "localhost",
        "script_root": "",
    }


def test_healthz_503_when_table_is_gone(app, client):
    run_sql(app, "DROP TABLE articles")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    # Pages fail cleanly too, with the site's error page.
    page = client.get("/")
    assert page.status_code == 503
    assert "Service Unavailable" in page.get_data(as_text=True)


def test_healthz_503_when_database_directory_is_gone(make_app, tmp_path):
    db_dir = tmp_path / "data"
    db_dir.mkdir()
    app = make_app(DATABASE_URL=f"sqlite:///{db_dir / 'blog.db'}")
    for path in db_dir.iterdir():
        path.unlink()
    db_dir.rmdir()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "error"


def test_works_behind_proxyfix_with_prefix(app, add_article):
    add_article("hello")
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)
    client = app.test_client()
    headers = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "www.example.org",
        "X-Forwarded-Prefix": "/blog",
    }
    seen = client.get("/healthz", headers=headers).json["request"]
    assert seen == {
        "remote_addr": "203.0.113.7",
        "scheme": "https",
        "host": "www.example.org",
        "script_root": "/blog",
    }
    html = client.get("/", headers=headers).get_data(as_text=True)
    assert 'href="/blog/static/style.css"' in html
    assert 'href="/blog/articles/hello"' in html
    assert f'<link rel="canonical" href="{PUBLIC_URL}/">' in html
    login = client.get("/admin/", headers=headers)
    assert login.headers["Location"].startswith("/blog/admin/login")


def test_static_files_are_served(client):
    with client.get("/static/style.css") as response:
        assert response.status_code == 200
    with client.get("/static/favicon.svg") as response:
        assert response.mimetype == "image/svg+xml"
