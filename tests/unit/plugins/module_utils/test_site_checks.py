"""site_checks against the real example blog served on 127.0.0.1 in a thread, reached through
its public name blog.example.test with resolve= (connect_to), and a fake command runner."""

import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import site_checks
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.sitemap import Entry
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import (
    Client,
    resolve_for,
)
from module_harness import PUBLIC_HOST, FakeRunner, healthy_runner, welcome_article

SECRET_VALUE = "s3cr3t-value-that-must-never-show-up"


@pytest.fixture
def blog(start_blog):
    return start_blog(articles=[welcome_article()])


def client_for(site, **kwargs):
    return Client(timeout=5, retries=0, resolve={PUBLIC_HOST: "127.0.0.1"}, **kwargs)


@pytest.fixture
def env_file(tmp_path):
    path = tmp_path / "blog.env"
    path.write_text(
        "# the blog's environment\n"
        f"SECRET_KEY={SECRET_VALUE}\n"
        f'AUTO_PUBLISH_TOKEN="{SECRET_VALUE}-token"\n'
        "EMPTY=\n"
        "QUOTED_EMPTY=''\n"
        "SITE_NAME = My blog  \n",
        encoding="utf-8",
    )
    return str(path)


def full_params(site, env_file, **overrides):
    params = {
        "url": site.url,
        "pages": [
            {"path": "/", "status": 200, "contains": ["Latest articles", "Welcome to your"]},
            {"path": "/articles/welcome", "contains": ["If you can read this"]},
            {"path": "/healthz", "contains": [f'"host":"{PUBLIC_HOST}:{site.port}"']},
            {"path": "/articles/no-such-article", "status": 404},
        ],
        "canonical": True,
        "sitemap": {"path": "/sitemap.xml", "must_include": ["/", "/articles/welcome"]},
        "services": ["blog.socket", "blog.service"],
        "nginx_test": True,
        "env_file": env_file,
        "env_keys": ["SECRET_KEY", "AUTO_PUBLISH_TOKEN", "SITE_NAME"],
    }
    params.update(overrides)
    return params


def by_name(checks):
    return {check["name"]: check for check in checks}


def test_everything_passes_through_connect_to(blog, env_file):
    runner = healthy_runner(("blog.socket", "blog.service"))
    checks, attempts = site_checks.check_until_healthy(
        full_params(blog, env_file), client_for(blog), runner
    )
    assert attempts == 1
    assert [check["name"] for check in checks] == [
        "page /",
        "canonical /",
        "page /articles/welcome",
        "canonical /articles/welcome",
        "page /healthz",
        "canonical /healthz",
        "page /articles/no-such-article",
        "canonical /articles/no-such-article",
        "sitemap",
        "sitemap includes",
        "service blog.socket",
        "service blog.service",
        "nginx -t",
        "env file",
        "env key SECRET_KEY",
        "env key AUTO_PUBLISH_TOKEN",
        "env key SITE_NAME",
    ]
    assert site_checks.failed(checks) == [], site_checks.failure_message(checks)
    assert all(check["reason"] == "" for check in checks)
    checks = by_name(checks)
    page = checks["page /"]["details"]
    assert page["url"] == f"http://{PUBLIC_HOST}:{blog.port}/"
    assert page["status"] == 200
    assert isinstance(page["elapsed_ms"], int)
    assert checks["canonical /articles/welcome"]["details"]["found"] == [
        f"{blog.url}/articles/welcome",
        f"{blog.url}/articles/welcome",
    ]
    assert checks["sitemap"]["details"]["entries"] == 2
    assert checks["sitemap"]["details"]["newest"] == f"{blog.url}/articles/welcome"
    assert runner.calls == [
        ["systemctl", "is-active", "blog.socket"],
        ["systemctl", "is-active", "blog.service"],
        ["nginx", "-t"],
    ]


def test_wrong_status_and_missing_text(blog):
    params = {
        "url": blog.url,
        "pages": [
            {"path": "/", "status": 201},
            {"path": "/articles/welcome", "contains": ["If you can read this", "Nope, absent"]},
            {"path": "/articles/gone", "status": 200},
        ],
        "sitemap": None,
    }
    checks = by_name(site_checks.run_checks(params, client_for(blog), FakeRunner()))
    assert checks["page /"]["ok"] is False
    assert checks["page /"]["reason"] == "expected HTTP 201, got HTTP 200"
    welcome = checks["page /articles/welcome"]
    assert welcome["ok"] is False
    assert welcome["reason"] == "the body does not contain 'Nope, absent'"
    assert welcome["details"]["missing"] == ["Nope, absent"]
    assert checks["page /articles/gone"]["reason"] == "expected HTTP 200, got HTTP 404"
    assert checks["canonical /"]["ok"] is True


def test_canonical_on_another_host_is_reported(start_blog):
    site = start_blog(public_url="https://www.example.test", articles=[welcome_article()])
    params = {
        "url": site.url,
        "pages": [{"path": "/"}, {"path": "/articles/welcome"}],
        "sitemap": {"must_include": ["/articles/welcome"]},
    }
    checks = by_name(site_checks.run_checks(params, client_for(site), FakeRunner()))
    assert checks["page /"]["ok"] is True
    canonical = checks["canonical /articles/welcome"]
    assert canonical["ok"] is False
    assert canonical["details"]["offenders"] == [
        "https://www.example.test/articles/welcome",
        "https://www.example.test/articles/welcome",
    ]
    assert canonical["reason"].startswith(f"canonical URL not on {site.url}: https://www.example")
    assert checks["sitemap"]["ok"] is False
    assert "https://www.example.test/" in checks["sitemap"]["reason"]
    assert "sitemap includes" not in checks  # not checked when the sitemap failed


def test_canonical_can_be_turned_off(start_blog):
    site = start_blog(public_url="https://www.example.test")
    params = {"url": site.url, "pages": [{"path": "/"}], "canonical": False, "sitemap": None}
    checks = site_checks.run_checks(params, client_for(site), FakeRunner())
    assert [check["name"] for check in checks] == ["page /"]
    assert checks[0]["ok"] is True


def test_sitemap_missing_a_required_url(blog):
    params = {
        "url": blog.url,
        "pages": [],
        "sitemap": {
            "must_include": [
                "/articles/welcome",
                "/articles/not-published",
                f"http://{PUBLIC_HOST.upper()}:{blog.port}/",
            ]
        },
    }
    checks = by_name(site_checks.run_checks(params, client_for(blog), FakeRunner()))
    assert checks["sitemap"]["ok"] is True
    includes = checks["sitemap includes"]
    assert includes["ok"] is False
    assert includes["details"]["missing"] == [f"{blog.url}/articles/not-published"]
    assert includes["reason"] == f"not in the sitemap: {blog.url}/articles/not-published"


def test_sitemap_not_found_fails_unless_not_required(blog):
    client = client_for(blog)
    params = {"url": blog.url, "pages": [], "sitemap": {"path": "/no-sitemap.xml"}}
    (check,) = site_checks.run_checks(params, client, FakeRunner())
    assert check["ok"] is False
    assert "HTTP 404" in check["reason"]
    params["sitemap"]["required"] = False
    (check,) = site_checks.run_checks(params, client, FakeRunner())
    assert check["ok"] is True
    assert check["details"]["present"] is False


def test_sitemap_that_is_not_xml_fails_even_when_not_required(blog):
    params = {"url": blog.url, "pages": [], "sitemap": {"path": "/", "required": False}}
    (check,) = site_checks.run_checks(params, client_for(blog), FakeRunner())
    assert check["ok"] is False
    assert check["reason"]


def test_unit_not_active_and_nginx_failing():
    runner = FakeRunner(
        {
            ("systemctl", "is-active", "blog.service"): (3, "failed\n", ""),
            ("systemctl", "is-active", "nginx.service"): (0, "active\n", ""),
            ("nginx", "-t"): (
                1,
                "",
                'nginx: [emerg] unknown directive "sever_name" in /etc/nginx/sites-enabled/blog'
                ".conf:3\nnginx: configuration file /etc/nginx/nginx.conf test failed\n",
            ),
        }
    )
    params = {
        "url": "https://blog.example.com",
        "pages": [],
        "sitemap": None,
        "services": ["blog.service", "nginx.service", "missing.service"],
        "nginx_test": True,
    }
    checks = by_name(site_checks.run_checks(params, None, runner))
    assert checks["service blog.service"]["ok"] is False
    assert checks["service blog.service"]["reason"] == "blog.service is failed, not active"
    assert checks["service blog.service"]["details"] == {"state": "failed", "rc": 3}
    assert checks["service nginx.service"]["ok"] is True
    assert checks["service missing.service"]["ok"] is False
    assert "rc 127" in checks["service missing.service"]["reason"]
    nginx = checks["nginx -t"]
    assert nginx["ok"] is False
    assert nginx["reason"].startswith("nginx -t failed (rc 1): nginx: [emerg] unknown directive")
    assert "test failed" in nginx["reason"]


def test_env_file_missing_key_and_empty_values(env_file):
    params = {
        "url": "https://blog.example.com",
        "pages": [],
        "sitemap": None,
        "env_file": env_file,
        "env_keys": ["SECRET_KEY", "DATABASE_URL", "EMPTY", "QUOTED_EMPTY"],
    }
    checks = site_checks.run_checks(params, None, FakeRunner())
    checks = by_name(checks)
    assert checks["env file"]["ok"] is True
    assert checks["env file"]["details"] == {"path": env_file, "keys": 5}
    assert checks["env key SECRET_KEY"]["ok"] is True
    assert checks["env key DATABASE_URL"]["reason"] == f"missing from {env_file}"
    assert checks["env key EMPTY"]["reason"] == f"empty in {env_file}"
    assert checks["env key QUOTED_EMPTY"]["reason"] == f"empty in {env_file}"
    assert SECRET_VALUE not in json.dumps(checks)
    assert SECRET_VALUE not in site_checks.failure_message(list(checks.values()))


@pytest.mark.parametrize("kind", ["missing", "directory", "permission"])
def test_env_file_unreadable_is_a_failed_check(tmp_path, kind):
    reader = None
    path = str(tmp_path / "absent.env")
    if kind == "directory":
        path = str(tmp_path)
    elif kind == "permission":

        def reader(_path):
            raise PermissionError(13, "Permission denied", _path)

    params = {
        "url": "https://blog.example.com",
        "pages": [],
        "sitemap": None,
        "env_file": path,
        "env_keys": ["SECRET_KEY"],
    }
    checks = site_checks.run_checks(params, None, FakeRunner(), reader=reader)
    assert [check["name"] for check in checks] == ["env file"]
    assert checks[0]["ok"] is False
    assert checks[0]["reason"].startswith(f"cannot read {path}: ")
    if kind == "permission":
        assert checks[0]["reason"].endswith("Permission denied")


def test_retries_until_healthy_on_the_third_attempt(static_server):
    page = "<html><head><title>up</title></head><body>ready</body></html>"
    static_server.put("/", page, headers={"Content-Type": "text/html"})
    static_server.put("/", "starting", status=503, headers={"Content-Type": "text/plain"}, times=2)
    sleeps = []
    params = {
        "url": static_server.base,
        "pages": [{"path": "/", "contains": ["ready"]}],
        "sitemap": None,
    }
    checks, attempts = site_checks.check_until_healthy(
        params,
        Client(timeout=5, retries=0),
        FakeRunner(),
        retries=5,
        delay=1.5,
        sleep=sleeps.append,
    )
    assert attempts == 3
    assert sleeps == [1.5, 1.5]
    assert site_checks.failed(checks) == []
    assert [request["path"] for request in static_server.requests] == ["/", "/", "/"]


def test_retries_are_bounded(static_server):
    static_server.put("/", "bad gateway", status=502, headers={"Content-Type": "text/plain"})
    sleeps = []
    params = {"url": static_server.base, "pages": [{"path": "/"}], "sitemap": None}
    checks, attempts = site_checks.check_until_healthy(
        params,
        Client(timeout=5, retries=0),
        FakeRunner(),
        retries=2,
        delay=0.5,
        sleep=sleeps.append,
    )
    assert static_server.count("GET") == 3
    assert attempts == 3
    assert sleeps == [0.5, 0.5]
    message = site_checks.failure_message(checks, attempts)
    assert (
        message == "1 of 2 checks failed after 3 attempts: page /: expected HTTP 200, got HTTP 502"
    )


def test_no_answer_is_a_failed_page_check(closed_port):
    params = {"url": f"http://127.0.0.1:{closed_port}", "pages": [{"path": "/"}], "sitemap": None}
    (check,) = site_checks.run_checks(params, Client(timeout=2, retries=0), FakeRunner())
    assert check["name"] == "page /"
    assert check["ok"] is False
    assert f"127.0.0.1:{closed_port}" in check["reason"]


@pytest.mark.parametrize("url", ["blog.example.com", "ftp://blog.example.com", "", None])
def test_url_must_be_absolute_http(url):
    with pytest.raises(site_checks.CheckError):
        site_checks.base_url(url)


def test_paths_are_made_absolute_on_a_prefixed_url():
    base = site_checks.base_url("https://example.com/blog/")
    assert base == "https://example.com/blog"
    assert site_checks.absolute(base, "/") == "https://example.com/blog/"
    assert site_checks.absolute(base, "articles/x") == "https://example.com/blog/articles/x"
    assert site_checks.absolute(base, "https://other.test/x") == "https://other.test/x"
    assert resolve_for("127.0.0.1", base) == {"example.com": "127.0.0.1"}
    assert resolve_for(None, base) is None
    assert resolve_for("::1", base, "https://www.example.com/x", None) == {
        "example.com": "::1",
        "www.example.com": "::1",
    }


def test_canonical_urls_and_offenders():
    html = """<!doctype html><html><head>
      <LINK REL="Canonical" HREF="https://blog.example.com/a">
      <link rel="alternate canonical" href="/relative">
      <meta property="og:url" content="http://blog.example.com/a"/>
      <meta property="og:title" content="not a url">
      <link rel="stylesheet" href="https://cdn.example.net/style.css">
      <link rel="canonical" href="//blog.example.com:8443/b">
    </head><body><p>text</body></html>"""
    found = site_checks.canonical_urls(html)
    assert found == [
        "https://blog.example.com/a",
        "/relative",
        "http://blog.example.com/a",
        "//blog.example.com:8443/b",
    ]
    assert site_checks.off_site(found, "https://blog.example.com") == [
        "http://blog.example.com/a",
        "//blog.example.com:8443/b",
    ]
    assert (
        site_checks.off_site(["https://BLOG.example.com:443/x"], "https://blog.example.com") == []
    )
    assert site_checks.canonical_urls("<html><head><link rel=canonical></head>") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB=2\n", {"A": "1", "B": "2"}),
        ("# comment\n; other comment\n\n  A = spaced value  \n", {"A": "spaced value"}),
        ("A=\nB=''\nC=\"\"\n", {"A": "", "B": "", "C": ""}),
        ('A="quoted # not a comment"\n', {"A": "quoted # not a comment"}),
        ("A='single $HOME \\n'\n", {"A": "single $HOME \\n"}),
        ('A="dq \\"esc\\" \\$x \\q"\n', {"A": 'dq "esc" $x \\q'}),
        ("A=multi\\\nline\n", {"A": "multiline"}),
        ('A="two\nlines"\n', {"A": "two\nlines"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("A=first\nA=second\n", {"A": "second"}),
        ("export A=1\n1BAD=2\nB-C=3\nNOEQUALS\nOK=4", {"OK": "4"}),
        ("A=value # not a comment either\n", {"A": "value # not a comment either"}),
        ("A=x\\ \n", {"A": "x "}),
        ("A", {}),
        ("A=", {"A": ""}),
    ],
)
def test_env_file_is_parsed_the_systemd_way(text, expected):
    assert site_checks.parse_env_file(text) == expected


def test_newest_sitemap_entry_of_the_blog(blog):
    older = welcome_article()
    older.update(slug="older-post", title="Older", published_at="2019-06-01T00:00:00Z")
    blog.add(older)
    params = {"url": blog.url, "pages": [], "sitemap": {}}
    (check,) = site_checks.run_checks(params, client_for(blog), FakeRunner())
    assert check["details"]["entries"] == 3
    assert check["details"]["newest"] == f"{blog.url}/articles/welcome"


def test_newest_entry_ignores_the_home_page_and_compares_time_zones():
    base = "https://blog.example.com"
    entries = [
        Entry("https://blog.example.com/", "2026-12-01T12:00:00+00:00", "s"),
        Entry("https://blog.example.com/a", "2026-12-01T10:00:00Z", "s"),
        Entry("https://blog.example.com/b", "2026-12-01T08:30:00-03:00", "s"),
        Entry("https://blog.example.com/c", "2026-11-30", "s"),
        Entry("https://blog.example.com/d", None, "s"),
    ]
    assert site_checks.newest_entry(entries, base) == "https://blog.example.com/b"
    undated = [Entry(entry.loc, None, "s") for entry in entries]
    assert site_checks.newest_entry(undated, base) == "https://blog.example.com/a"
    assert site_checks.newest_entry(entries[:1], base) is None
    assert site_checks.newest_entry([], base) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026", "2026-01-01T00:00:00+00:00"),
        ("2026-12", "2026-12-01T00:00:00+00:00"),
        ("2026-12-01T08:00+01:00", "2026-12-01T07:00:00+00:00"),
        ("2026-12-01T08:00:00.5Z", "2026-12-01T08:00:00.500000+00:00"),
        ("2026-02-30", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_lastmod_key(value, expected):
    key = site_checks.lastmod_key(value)
    assert (key.isoformat() if key else None) == expected
