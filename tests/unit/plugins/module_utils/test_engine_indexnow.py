"""IndexNow against the fake: batches of 10,000, the host check, 200/202 and the errors."""

import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_indexnow import (
    IndexNow,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client


@pytest.fixture
def options(fake, creds):
    return {"key": creds.indexnow_key, "key_location": None, "endpoint": fake.url + "/indexnow"}


@pytest.fixture
def engine(client, options, site):
    return IndexNow(client, options, site)


def sent(fake):
    return [json.loads(r["body"]) for r in fake.requests_for("indexnow")]


def test_success_posts_the_protocol_json(engine, fake, creds, make_urls, assert_outcome):
    urls = make_urls(3)
    outcome = engine.submit(urls, None)
    assert_outcome(outcome, accepted=urls, requests=1)
    (request,) = fake.requests
    assert request["method"] == "POST"
    assert request["headers"]["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request["body"]) == {
        "host": "example.com",
        "key": creds.indexnow_key,
        "urlList": urls,
    }
    assert request["status"] == 200


def test_key_location_is_sent_when_set(engine, fake, options, make_urls):
    options["key_location"] = "https://example.com/keys/indexnow.txt"
    assert engine.submit(make_urls(1), None).error is None
    assert sent(fake)[0]["keyLocation"] == "https://example.com/keys/indexnow.txt"


def test_urls_of_other_hosts_are_rejected_and_not_sent(engine, fake, make_urls):
    urls = [*make_urls(2), "https://other.example/post/1", "http://EXAMPLE.com/upper"]
    outcome = engine.submit(urls, None)
    assert outcome.accepted == [*make_urls(2), "http://EXAMPLE.com/upper"]
    assert outcome.rejected == [
        {"url": "https://other.example/post/1", "reason": "not on the site's host example.com"}
    ]
    assert sent(fake)[0]["urlList"] == outcome.accepted


def test_only_other_hosts_sends_nothing(engine, fake):
    outcome = engine.submit(["https://other.example/a"], None)
    assert outcome.accepted == [] and len(outcome.rejected) == 1
    assert outcome.requests == 0 and fake.requests == []


def test_batches_of_10000(engine, fake, make_urls):
    urls = make_urls(20001)
    outcome = engine.submit(urls, None)
    assert outcome.error is None
    assert outcome.accepted == urls
    assert [len(body["urlList"]) for body in sent(fake)] == [10000, 10000, 1]
    assert outcome.requests == 3


def test_a_failing_second_batch_keeps_the_first(engine, fake, make_urls):
    urls = make_urls(10001)
    fake.inject("/indexnow", status=403, body={"message": "key revoked"}, skip=1)
    outcome = engine.submit(urls, None)
    assert outcome.accepted == urls[:10000]
    assert urls[10000] not in outcome.accepted + outcome.deferred
    assert outcome.error.startswith("indexnow: 403: key not valid")
    assert "key revoked" in outcome.error
    assert [len(body["urlList"]) for body in sent(fake)] == [10000, 1]
    assert outcome.requests == 2


def test_202_is_success_with_a_warning(engine, fake, make_urls):
    fake.indexnow_pending = True
    outcome = engine.submit(make_urls(10001), None)
    assert outcome.error is None
    assert len(outcome.accepted) == 10001
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("indexnow: 202:")
    assert "key check is pending" in outcome.warnings[0]


def test_unknown_key_is_the_engines_403(client, options, site, make_urls):
    options["key"] = "abcdefgh-not-registered"
    outcome = IndexNow(client, options, site).submit(make_urls(2), None)
    assert outcome.accepted == []
    assert outcome.error.startswith("indexnow: 403: key not valid")
    assert "UserForbidded" not in outcome.error  # the message, not the code
    assert "the key file was not found" in outcome.error


def test_key_location_on_another_host_is_the_engines_422(client, options, site, make_urls):
    options["key_location"] = "https://cdn.example.net/key.txt"  # check_options would refuse it
    outcome = IndexNow(client, options, site).submit(make_urls(2), None)
    assert outcome.error.startswith("indexnow: 422: unprocessable: URLs that are not on the host")


@pytest.mark.parametrize(
    ("status", "meaning"),
    [
        (400, "400: bad request: the request is not in the IndexNow format"),
        (403, "403: key not valid"),
        (422, "422: unprocessable"),
        (429, "429: too many requests"),
        (418, "418: unexpected answer"),
    ],
)
def test_error_statuses_name_their_meaning(engine, fake, slept, make_urls, status, meaning):
    fake.inject("/indexnow", status=status, body={"message": "server says no"}, times=3)
    outcome = engine.submit(make_urls(2), None)
    assert outcome.accepted == []
    assert outcome.error.startswith("indexnow: " + meaning)
    assert "server says no" in outcome.error
    assert outcome.requests == (3 if status == 429 else 1)  # Client(retries=2) retries 429
    assert slept == ([0.5, 1.0] if status == 429 else [])


def test_429_retry_after_is_honoured(engine, fake, slept, make_urls):
    fake.inject("/indexnow", status=429, headers={"Retry-After": "2"}, times=1)
    outcome = engine.submit(make_urls(2), None)
    assert slept == [2.0]
    assert outcome.error is None
    assert outcome.accepted == make_urls(2)
    assert outcome.requests == 2
    assert [r["status"] for r in fake.requests] == [429, 200]


def test_5xx_retries_are_bounded(engine, fake, slept, make_urls):
    fake.inject("/indexnow", status=503, body="unavailable", times=10)
    outcome = engine.submit(make_urls(2), None)
    assert len(fake.requests) == 3
    assert outcome.requests == 3
    assert slept == [0.5, 1.0]
    assert outcome.error == "indexnow: 503: unexpected answer (unavailable)"


def test_no_answer_is_an_error(options, site, closed_port, make_urls):
    options["endpoint"] = f"http://127.0.0.1:{closed_port}/indexnow"
    outcome = IndexNow(Client(retries=0), options, site).submit(make_urls(1), None)
    assert outcome.error.startswith("indexnow: no answer: POST http://127.0.0.1:")
    assert outcome.accepted == [] and outcome.requests == 1


def test_the_key_never_appears_in_the_outcome(engine, fake, creds, no_secret, make_urls):
    fake.inject("/indexnow", status=403, body={"message": f"key {creds.indexnow_key} unknown"})
    outcome = engine.submit(make_urls(1), None)
    assert "key ******** unknown" in outcome.error
    no_secret(outcome, creds.indexnow_key)


def test_missing_credentials(client, site):
    assert IndexNow(client, {"key": None}, site).missing_credentials() == ["key"]
    assert IndexNow(client, {"key": "abcdefgh"}, site).missing_credentials() == []


@pytest.mark.parametrize(
    "key", ["short12", "k" * 129, "with space1", "under_score1", "dots.are.no", "ünïcödé123"]
)
def test_check_options_refuses_bad_keys(client, site, key):
    problems = IndexNow(client, {"key": key}, site).check_options()
    assert problems == ["indexnow: key must be 8 to 128 characters of a-z, A-Z, 0-9 and '-'"]
    assert key not in problems[0]


@pytest.mark.parametrize("key", ["abcdefgh", "A-1" * 42 + "xy", "0f3c9a7e-5b1d-4c2e"])
def test_check_options_takes_good_keys(client, site, key):
    assert IndexNow(client, {"key": key, "key_location": None}, site).check_options() == []


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("https://example.com/key.txt", None),
        ("https://EXAMPLE.com/k/key.txt", None),
        ("https://cdn.example.net/key.txt", "must be on the site's host example.com"),
        ("/key.txt", "must be an absolute http(s) URL"),
        ("ftp://example.com/key.txt", "must be an absolute http(s) URL"),
    ],
)
def test_check_options_key_location(client, site, location, problem):
    problems = IndexNow(client, {"key": "abcdefgh", "key_location": location}, site).check_options()
    assert problems == ([] if problem is None else ["indexnow: key_location " + problem])
