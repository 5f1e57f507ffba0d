"""Baidu against the fake: batches of 2,000, not_valid / not_same_site, the daily quota (remain,
over quota) and the errors; the token never in a message."""

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_baidu import Baidu
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client


@pytest.fixture
def options(fake, creds):
    return {"token": creds.baidu_token, "site": None, "endpoint": fake.url + "/urls"}


@pytest.fixture
def engine(client, options, site):
    return Baidu(client, options, site)


def sizes(fake):
    return [len(r["body"].splitlines()) for r in fake.requests_for("baidu")]


def test_success(engine, fake, creds, make_urls, assert_outcome):
    urls = make_urls(3)
    outcome = engine.submit(urls, None)
    assert_outcome(outcome, accepted=urls, requests=1)
    (request,) = fake.requests
    assert request["method"] == "POST" and request["path"] == "/urls"
    assert request["query"] == {"site": "https://example.com", "token": creds.baidu_token}
    assert request["headers"]["content-type"] == "text/plain"
    assert request["body"] == "\n".join(urls)
    assert request["status"] == 200


def test_site_option_is_sent(engine, fake, options, make_urls):
    options["site"] = "example.com"
    assert engine.submit(make_urls(1), None).error is None
    assert fake.requests[0]["query"]["site"] == "example.com"


def test_not_valid_and_not_same_site_are_rejected(engine, make_urls):
    urls = [*make_urls(2), "https://other.example/a", "ftp://example.com/b", "example.com/c"]
    outcome = engine.submit(urls, None)
    assert outcome.error is None
    assert outcome.accepted == make_urls(2)
    assert outcome.rejected == [
        {"url": "https://other.example/a", "reason": "not_same_site"},
        {"url": "ftp://example.com/b", "reason": "not_valid"},
        {"url": "example.com/c", "reason": "not_valid"},
    ]


def test_batches_of_2000(engine, fake, make_urls):
    urls = make_urls(4001)
    outcome = engine.submit(urls, None)
    assert outcome.error is None and outcome.accepted == urls
    assert sizes(fake) == [2000, 2000, 1]
    assert outcome.requests == 3


def test_remain_sizes_the_next_batch_and_zero_defers_the_rest(engine, fake, make_urls):
    fake.baidu_remain = 2500
    urls = make_urls(4001)
    outcome = engine.submit(urls, None)
    assert sizes(fake) == [2000, 500]
    assert outcome.accepted == urls[:2500]
    assert outcome.deferred == urls[2500:]
    assert outcome.error is None
    assert outcome.warnings == [
        "baidu: the daily quota is used up (remain 0): 1501 URL(s) deferred to the next run"
    ]


def test_over_quota_tries_one_url_to_learn_what_remains(engine, fake, make_urls):
    fake.baidu_remain = 3
    urls = make_urls(10)
    outcome = engine.submit(urls, None)
    assert [r["status"] for r in fake.requests] == [400, 200, 200]
    assert sizes(fake) == [10, 1, 2]
    assert outcome.accepted == urls[:3]
    assert outcome.deferred == urls[3:]
    assert outcome.error is None
    assert len(outcome.warnings) == 1 and "7 URL(s) deferred" in outcome.warnings[0]


def test_over_quota_is_a_warning_and_defers_everything(engine, fake, make_urls):
    fake.baidu_remain = 0
    urls = make_urls(5)
    outcome = engine.submit(urls, None)
    assert sizes(fake) == [5, 1]
    assert outcome.accepted == [] and outcome.deferred == urls
    assert outcome.error is None
    assert outcome.warnings == [
        "baidu: over quota: the daily quota is used up: 5 URL(s) deferred to the next run"
    ]


def test_over_quota_on_a_later_batch_keeps_the_earlier(engine, fake, make_urls):
    urls = make_urls(2001)
    fake.inject("/urls", status=400, body={"error": 400, "message": "over quota"}, skip=1)
    outcome = engine.submit(urls, None)
    assert outcome.accepted == urls[:2000] and outcome.deferred == urls[2000:]
    assert outcome.error is None and len(outcome.warnings) == 1


def test_a_wrong_token_is_the_engines_401(client, options, site, make_urls, no_secret):
    options["token"] = "not-the-token"
    outcome = Baidu(client, options, site).submit(make_urls(2), None)
    assert outcome.error.startswith("baidu: 401: token is not valid (")
    assert outcome.accepted == []
    no_secret(outcome, "not-the-token")


def test_another_site_is_the_engines_site_error(client, options, site, make_urls):
    options["site"] = "https://other.example"
    outcome = Baidu(client, options, site).submit(make_urls(2), None)
    assert outcome.error.startswith("baidu: 400: site error (the site is not one verified")


def test_a_wrong_path_is_the_engines_404(client, options, site, fake, make_urls):
    options["endpoint"] = fake.url + "/urls/v2"
    outcome = Baidu(client, options, site).submit(make_urls(1), None)
    assert outcome.error.startswith("baidu: 404: not found (")


@pytest.mark.parametrize(
    ("message", "meaning"),
    [
        ("empty content", "the request held no URLs"),
        ("only 2000 urls are allowed once", "more than 2,000 URLs in one request"),
        ("something new", None),
    ],
)
def test_other_400s(engine, fake, make_urls, message, meaning):
    fake.inject("/urls", status=400, body={"error": 400, "message": message})
    outcome = engine.submit(make_urls(1), None)
    expected = f"baidu: 400: {message}" + (f" ({meaning})" if meaning else "")
    assert outcome.error == expected
    assert outcome.accepted == [] and outcome.deferred == []


def test_500_retries_are_bounded(engine, fake, slept, make_urls):
    body = {"error": 500, "message": "internal error, please try later"}
    fake.inject("/urls", status=500, body=body, times=10)
    outcome = engine.submit(make_urls(3), None)
    assert len(fake.requests) == 3 and outcome.requests == 3
    assert slept == [0.5, 1.0]
    assert outcome.error == (
        "baidu: 500: internal error, please try later (Baidu failed, try again later)"
    )


def test_500_then_success(engine, fake, slept, make_urls):
    body = {"error": 500, "message": "internal error, please try later"}
    fake.inject("/urls", status=500, body=body, times=1)
    outcome = engine.submit(make_urls(3), None)
    assert outcome.error is None and outcome.accepted == make_urls(3)
    assert slept == [0.5] and outcome.requests == 2


def test_429_retry_after(engine, fake, slept, make_urls):
    fake.inject("/urls", status=429, headers={"Retry-After": "2"})
    outcome = engine.submit(make_urls(3), None)
    assert slept == [2.0]
    assert outcome.error is None and outcome.requests == 2


def test_the_token_never_appears_in_a_transport_error(options, site, closed_port, creds, no_secret):
    options["endpoint"] = f"http://127.0.0.1:{closed_port}/urls"
    outcome = Baidu(Client(retries=0), options, site).submit(["https://example.com/a"], None)
    assert outcome.error.startswith("baidu: no answer: POST http://127.0.0.1:")
    assert "token=********" in outcome.error
    no_secret(outcome, creds.baidu_token)


def test_the_token_never_appears_in_an_echoed_message(engine, fake, creds, no_secret):
    body = {"error": 400, "message": f"bad url {fake.url}/urls?token={creds.baidu_token}"}
    fake.inject("/urls", status=400, body=body)
    outcome = engine.submit(["https://example.com/a"], None)
    assert "token=********" in outcome.error
    no_secret(outcome, creds.baidu_token)


def test_missing_credentials(client, site):
    assert Baidu(client, {"token": None}, site).missing_credentials() == ["token"]
    assert Baidu(client, {"token": "t"}, site).missing_credentials() == []
    assert Baidu(client, {"token": "t"}, site).check_options() == []
