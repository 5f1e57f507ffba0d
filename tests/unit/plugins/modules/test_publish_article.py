"""publish_article's main() in-process, against the example blog served on 127.0.0.1 in a
thread and reached through connect_to with its public name."""

import functools
import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client
from ansible_collections.selfhosted.flask_blog.plugins.modules import publish_article
from module_harness import (
    TOKEN,
    assert_documented,
    documented_options,
    run_module,
    sample_article,
)

PUBLIC_URL = "https://www.example.test"


@pytest.fixture
def blog(start_blog):
    return start_blog(public_url=PUBLIC_URL)


@pytest.fixture(autouse=True)
def no_env_fallbacks(monkeypatch):
    monkeypatch.delenv("AUTO_PUBLISH_TOKEN", raising=False)
    monkeypatch.delenv("ONLINE_BLOG_PUBLISH_URL", raising=False)


def article():
    data = sample_article("por-que-hospedar-seu-blog.pt-BR.json")
    data["published_at"] = "2020-11-20T12:00:00-03:00"
    return data


def args_for(site, **extra):
    args = {
        "publish_url": site.publish_url,
        "connect_to": "127.0.0.1",
        "token": TOKEN,
        "article": article(),
    }
    args.update(extra)
    return args


def test_documentation_matches_the_argument_spec():
    assert_documented(documented_options(publish_article), publish_article.ARGUMENT_SPEC)


def test_publish_then_unchanged_then_updated(blog):
    result, failed = run_module(publish_article.main, args_for(blog))
    assert failed is False, result.get("msg")
    assert result["changed"] is True
    assert result["status"] == "created"
    assert result["slug"] == "por-que-hospedar-seu-blog"
    assert result["url"] == f"{PUBLIC_URL}/articles/por-que-hospedar-seu-blog"
    assert result["published_at"] == "2020-11-20T15:00:00+00:00"
    assert TOKEN not in json.dumps(result)

    result, failed = run_module(publish_article.main, args_for(blog))
    assert failed is False
    assert result["changed"] is False
    assert result["status"] == "unchanged"

    changed = article()
    changed["title"] = "Por que hospedar o seu blog"
    result, failed = run_module(publish_article.main, args_for(blog, article=changed), diff=True)
    assert result["changed"] is True
    assert result["status"] == "updated"
    assert result["diff"]["before"]["title"] == "Por que hospedar o seu próprio blog"
    assert result["diff"]["after"]["title"] == "Por que hospedar o seu blog"


def test_article_file(blog, tmp_path):
    path = tmp_path / "article.pt-BR.json"
    path.write_text(json.dumps(article(), ensure_ascii=False), encoding="utf-8")
    args = args_for(blog, article_file=str(path))
    del args["article"]
    result, failed = run_module(publish_article.main, args)
    assert failed is False, result.get("msg")
    assert result["status"] == "created"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "article_file: cannot read "),
        ("{not json", "is not valid JSON"),
        ('"a string"', "must contain one JSON object (an article), not a str"),
    ],
)
def test_bad_article_file(blog, tmp_path, content, message):
    path = tmp_path / "article.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    args = args_for(blog, article_file=str(path))
    del args["article"]
    result, failed = run_module(publish_article.main, args)
    assert failed is True
    assert result["msg"].startswith("article_file: ")
    assert message in result["msg"]
    assert blog.server.requests == []


def test_check_mode_sends_nothing(blog):
    result, failed = run_module(publish_article.main, args_for(blog), check_mode=True, diff=True)
    assert failed is False, result.get("msg")
    assert result["changed"] is True
    assert result["status"] == "created"
    assert result["url"] is None
    assert result["diff"]["after"]["language"] == "pt-BR"
    assert blog.rows() == []

    run_module(publish_article.main, args_for(blog))
    rows = blog.rows()
    result, failed = run_module(publish_article.main, args_for(blog), check_mode=True)
    assert result["changed"] is False
    assert result["status"] == "unchanged"
    assert result["url"] == f"{PUBLIC_URL}/articles/por-que-hospedar-seu-blog"

    changed = article()
    changed["body"] = "Novo texto."
    result, failed = run_module(
        publish_article.main, args_for(blog, article=changed), check_mode=True
    )
    assert result["changed"] is True
    assert result["status"] == "updated"
    assert blog.rows() == rows
    assert blog.server.count("POST") == 1


@pytest.mark.parametrize("check_mode", [False, True])
def test_wrong_token(blog, check_mode):
    wrong = "definitely-not-the-token-42"
    result, failed = run_module(
        publish_article.main, args_for(blog, token=wrong), check_mode=check_mode
    )
    assert failed is True
    assert result["msg"] == (
        "the blog refused the token (HTTP 401): check AUTO_PUBLISH_TOKEN / the token option"
    )
    assert result["http_status"] == 401
    assert wrong not in json.dumps(result)
    assert blog.rows() == []


def test_validation_error(blog):
    bad = article()
    bad["language"] = "portuguese"
    result, failed = run_module(publish_article.main, args_for(blog, article=bad))
    assert failed is True
    assert result["http_status"] == 400
    assert "HTTP 400" in result["msg"]
    assert "language: must be a language tag such as en or pt-BR" in result["msg"]


def test_server_errors_are_retried(monkeypatch, static_server):
    body = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    static_server.put("/api/articles", body, status=502, headers={"Content-Type": "text/html"})
    sleeps = []
    monkeypatch.setattr(publish_article, "Client", functools.partial(Client, sleep=sleeps.append))
    args = {
        "publish_url": static_server.base + "/api/articles",
        "token": TOKEN,
        "article": article(),
        "retries": 3,
    }
    result, failed = run_module(publish_article.main, args)
    assert static_server.count("POST") == 4
    assert failed is True
    assert len(sleeps) == 3
    assert result["http_status"] == 502
    assert "HTTP 502" in result["msg"]
    assert "4 attempts" in result["msg"]
    assert "502 Bad Gateway" in result["msg"]


def test_token_and_url_from_the_environment(blog, monkeypatch):
    monkeypatch.setenv("AUTO_PUBLISH_TOKEN", TOKEN)
    monkeypatch.setenv("ONLINE_BLOG_PUBLISH_URL", blog.publish_url)
    result, failed = run_module(
        publish_article.main, {"article": article(), "connect_to": "127.0.0.1"}
    )
    assert failed is False, result.get("msg")
    assert result["status"] == "created"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"article_file": "/tmp/x.json"}, "mutually exclusive"),
        ({"article": None}, "one of the following is required: article, article_file"),
        ({"publish_url": "blog.example.com/api"}, "publish_url must be an absolute"),
        ({"retries": -1}, "retries must not be negative"),
    ],
)
def test_bad_options(blog, change, message):
    args = args_for(blog)
    args.update(change)
    if args.get("article") is None:
        args.pop("article")
    result, failed = run_module(publish_article.main, args)
    assert failed is True
    assert message in result["msg"]
    assert TOKEN not in json.dumps(result)
