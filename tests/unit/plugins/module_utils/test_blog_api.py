"""blog_api against the real example blog served on 127.0.0.1 in a thread (reached as
blog.example.test through resolve=), and the static server for the failures the blog never
gives."""

import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import blog_api
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client
from module_harness import PUBLIC_HOST, TOKEN, sample_article

PUBLIC_URL = "https://www.example.test"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def blog(start_blog):
    # The public URL differs from the address the API is reached on: the url returned must be
    # the blog's answer, not something built from publish_url.
    return start_blog(public_url=PUBLIC_URL)


def api_for(site, token=TOKEN, retries=0, sleep=None):
    client = Client(
        timeout=5,
        retries=retries,
        resolve={PUBLIC_HOST: "127.0.0.1"},
        sleep=sleep or (lambda seconds: None),
    )
    return blog_api.BlogAPI(client, site.publish_url, token)


def article():
    data = sample_article("backups-that-restore.en.json")
    data["published_at"] = "2020-11-02T07:30:00Z"
    return data


def publish(api, data, **kwargs):
    outcome = blog_api.publish_article(api, data, **kwargs)
    return outcome["result"], outcome["warnings"]


def test_created_then_unchanged_then_updated(blog):
    api = api_for(blog)
    result, warnings = publish(api, article())
    assert warnings == []
    assert result["changed"] is True
    assert result["status"] == "created"
    assert result["slug"] == "backups-that-restore"
    assert result["url"] == f"{PUBLIC_URL}/articles/backups-that-restore"
    assert result["published_at"] == "2020-11-02T07:30:00+00:00"
    assert result["updated_at"]
    assert "diff" not in result

    again, _warnings = publish(api, article())
    assert again["changed"] is False
    assert again["status"] == "unchanged"
    assert again["updated_at"] == result["updated_at"]

    changed = article()
    changed["title"] = "Backups you have restored, twice"
    updated, _warnings = publish(api, changed)
    assert updated["changed"] is True
    assert updated["status"] == "updated"
    assert blog.rows()[0]["title"] == "Backups you have restored, twice"
    assert blog.server.count("POST") == 3


def test_check_mode_sends_nothing_and_predicts_the_answer(blog):
    api = api_for(blog)
    result, _warnings = publish(api, article(), check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["status"] == "created"
    assert result["url"] is None
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["published_at"] == "2020-11-02T07:30:00+00:00"
    assert blog.rows() == []

    publish(api, article())
    stored = blog.rows()
    posts = blog.server.count("POST")

    # The same article, written differently where the blog normalises it: still unchanged.
    same = article()
    same["title"] = "  " + same["title"] + "\n"
    same["body"] = same["body"].replace("\n", "\r\n") + "\n\n"
    same["published_at"] = "2020-11-02T04:30:00-03:00"
    result, _warnings = publish(api, same, check_mode=True, diff=True)
    assert result["changed"] is False
    assert result["status"] == "unchanged"
    assert result["url"] == f"{PUBLIC_URL}/articles/backups-that-restore"
    assert "diff" not in result

    without_date = article()
    del without_date["published_at"]
    result, _warnings = publish(api, without_date, check_mode=True)
    assert result["status"] == "unchanged"

    changed = article()
    changed["body"] += "\n\nOne more paragraph."
    result, _warnings = publish(api, changed, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["status"] == "updated"
    assert result["diff"]["before"]["body"] == article()["body"]
    assert result["diff"]["after"]["body"].endswith("One more paragraph.")
    assert result["published_at"] == stored[0]["published_at"]

    assert blog.server.count("POST") == posts
    assert blog.rows() == stored


def test_check_mode_without_slug_reports_it_would_publish(blog):
    data = article()
    del data["slug"]
    result, warnings = publish(api_for(blog), data, check_mode=True)
    assert result["changed"] is True
    assert result["status"] is None
    assert "no slug" in warnings[0]
    assert blog.server.requests == []


def test_check_mode_with_a_date_it_cannot_read_assumes_a_change(blog):
    api = api_for(blog)
    publish(api, article())
    data = article()
    data["published_at"] = "sometime"
    result, warnings = publish(api, data, check_mode=True)
    assert result["changed"] is True
    assert result["status"] == "updated"
    assert "cannot compare" in warnings[0]


def test_diff_in_real_mode(blog):
    api = api_for(blog)
    result, _warnings = publish(api, article(), diff=True)
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["title"] == article()["title"]
    changed = article()
    changed["language"] = "en-GB"
    result, _warnings = publish(api, changed, diff=True)
    assert result["diff"]["before"]["language"] == "en"
    assert result["diff"]["after"]["language"] == "en-GB"
    assert result["diff"]["after"]["published_at"] == "2020-11-02T07:30:00+00:00"


@pytest.mark.parametrize("check_mode", [False, True])
def test_wrong_token_is_refused(blog, check_mode):
    wrong = "wrong-token-value-1234"
    with pytest.raises(blog_api.PublishError) as caught:
        publish(api_for(blog, token=wrong), article(), check_mode=check_mode)
    message = str(caught.value)
    assert caught.value.status == 401
    assert message == (
        "the blog refused the token (HTTP 401): check AUTO_PUBLISH_TOKEN / the token option"
    )
    assert wrong not in message
    assert TOKEN not in message
    assert blog.rows() == []


def test_validation_error_is_passed_through(blog):
    data = article()
    data["slug"] = "Not A Slug"
    with pytest.raises(blog_api.PublishError) as caught:
        publish(api_for(blog), data)
    assert caught.value.status == 400
    message = str(caught.value)
    assert "HTTP 400" in message
    assert "slug: must be lower-case letters and digits joined by single hyphens" in message

    data = article()
    data["publish_at"] = "2026-01-01"
    with pytest.raises(blog_api.PublishError, match=r"publish_at: unknown field"):
        publish(api_for(blog), data)


def test_server_errors_are_retried_a_bounded_number_of_times(static_server):
    body = '{"error": "The database is temporarily unavailable, please try again later."}'
    url = static_server.put("/api/articles", body, status=503, headers=JSON)
    sleeps = []
    client = Client(timeout=5, retries=2, backoff=1.0, sleep=sleeps.append)
    api = blog_api.BlogAPI(client, url, TOKEN)
    with pytest.raises(blog_api.PublishError) as caught:
        publish(api, article())
    assert static_server.count("POST") == 3
    assert sleeps == [1.0, 2.0]
    assert caught.value.status == 503
    message = str(caught.value)
    assert "HTTP 503" in message
    assert "3 attempts" in message
    assert "The database is temporarily unavailable" in message


def test_a_plain_text_5xx_body_is_excerpted_and_the_token_hidden(static_server):
    body = "boom " * 200 + TOKEN
    static_server.put("/api/articles", body, status=500, headers={"Content-Type": "text/plain"})
    client = Client(timeout=5, retries=0)
    api = blog_api.BlogAPI(client, static_server.base + "/api/articles/", TOKEN)
    with pytest.raises(blog_api.PublishError) as caught:
        publish(api, article())
    message = str(caught.value)
    assert "HTTP 500" in message
    assert "1 attempt)" in message
    assert message.count("boom") < 100
    assert TOKEN not in message


def test_retry_after_429_then_success(static_server):
    created = {
        "status": "created",
        "slug": "backups-that-restore",
        "url": "https://elsewhere.test/articles/backups-that-restore",
        "published_at": "2020-11-02T07:30:00+00:00",
        "updated_at": "2026-12-01T08:00:00+00:00",
    }
    url = static_server.put("/api/articles", json.dumps(created), status=201, headers=JSON)
    static_server.put("/api/articles", "{}", status=429, headers={"Retry-After": "7"}, times=1)
    sleeps = []
    client = Client(timeout=5, retries=2, sleep=sleeps.append)
    result, _warnings = publish(blog_api.BlogAPI(client, url, TOKEN), article())
    assert sleeps == [7.0]
    assert result["url"] == "https://elsewhere.test/articles/backups-that-restore"
    authorizations = [request["headers"]["Authorization"] for request in static_server.requests]
    assert authorizations == [f"Bearer {TOKEN}"] * 2


def test_an_answer_that_is_not_the_api_is_an_error(static_server):
    page = "<html>a web page</html>"
    for path in ("/", "/backups-that-restore"):
        static_server.put(path, page, headers={"Content-Type": "text/html"})
    api = blog_api.BlogAPI(Client(timeout=5, retries=0), static_server.base + "/", TOKEN)
    with pytest.raises(blog_api.PublishError, match="not with a publication status"):
        publish(api, article())
    with pytest.raises(blog_api.PublishError, match="without an article"):
        publish(api, article(), check_mode=True)


def test_no_answer_is_a_clear_error(closed_port):
    client = Client(timeout=2, retries=1, sleep=lambda seconds: None)
    api = blog_api.BlogAPI(client, f"http://127.0.0.1:{closed_port}/api/articles", TOKEN)
    with pytest.raises(blog_api.PublishError) as caught:
        publish(api, article())
    message = str(caught.value)
    assert message.startswith("could not reach the blog: POST http://127.0.0.1:")
    assert "2 attempts" in message
    assert caught.value.status is None


def test_article_file(tmp_path):
    good = tmp_path / "article.en.json"
    good.write_text(json.dumps(article()), encoding="utf-8")
    assert blog_api.load_article_file(str(good)) == article()

    with pytest.raises(blog_api.ArticleError, match=r"^article_file: cannot read .*absent"):
        blog_api.load_article_file(str(tmp_path / "absent.json"))
    with pytest.raises(blog_api.ArticleError, match=r"^article_file: cannot read"):
        blog_api.load_article_file(str(tmp_path))

    broken = tmp_path / "broken.json"
    broken.write_text('{"title": ', encoding="utf-8")
    with pytest.raises(blog_api.ArticleError, match=r"^article_file: .*broken.json is not valid"):
        blog_api.load_article_file(str(broken))

    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(blog_api.ArticleError, match=r"must contain one JSON object.*not a list"):
        blog_api.load_article_file(str(listing))

    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes('{"title": "Olá"}'.encode("latin-1"))
    with pytest.raises(blog_api.ArticleError, match=r"^article_file: .*latin1.json is not UTF-8"):
        blog_api.load_article_file(str(latin1))

    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(article()).encode())
    assert blog_api.load_article_file(str(bom)) == article()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-01T08:00:00Z", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T05:00:00-03:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T08:00:00.123456+00:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01T08:00:00", "2026-12-01T08:00:00+00:00"),
        ("2026-12-01", "2026-12-01T00:00:00+00:00"),
    ],
)
def test_timestamps_are_normalised_like_the_blog(value, expected):
    from blog.articles import parse_timestamp

    assert blog_api.normalise_timestamp(value) == expected == parse_timestamp(value)


@pytest.mark.parametrize("value", ["", "tomorrow", 20261201, None])
def test_unreadable_timestamps(value):
    with pytest.raises(ValueError):
        blog_api.normalise_timestamp(value)


@pytest.mark.parametrize(
    "url", ["blog.example.com/api/articles", "ftp://blog.example.com/api", "", None]
)
def test_publish_url_must_be_absolute_http(url):
    with pytest.raises(blog_api.ArticleError, match=r"^publish_url must be"):
        blog_api.check_publish_url(url)
