"""Bing against the fake: GetUrlSubmissionQuota, then SubmitUrlBatch in batches of 500 within
the quota; the ErrorCodes; the API key never in a message."""

import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_bing import Bing
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client

QUOTA = "/webmaster/api.svc/json/GetUrlSubmissionQuota"
SUBMIT = "/webmaster/api.svc/json/SubmitUrlBatch"


@pytest.fixture
def options(fake, creds):
    return {
        "api_key": creds.bing_key,
        "site_url": None,
        "endpoint": fake.url + "/webmaster/api.svc/json",
    }


@pytest.fixture
def engine(client, options, site):
    return Bing(client, options, site)


def batches(fake):
    return [json.loads(r["body"])["urlList"] for r in fake.requests_for("bing", SUBMIT)]


def test_success(engine, fake, creds, make_urls, assert_outcome):
    urls = make_urls(3)
    outcome = engine.submit(urls, None)
    assert_outcome(outcome, accepted=urls, requests=2)
    quota, submit = fake.requests
    assert quota["method"] == "GET" and quota["path"] == QUOTA
    assert quota["query"] == {"siteUrl": "https://example.com/", "apikey": creds.bing_key}
    assert submit["method"] == "POST" and submit["path"] == SUBMIT
    assert submit["query"] == {"apikey": creds.bing_key}
    assert submit["headers"]["content-type"] == "application/json; charset=utf-8"
    assert json.loads(submit["body"]) == {"siteUrl": "https://example.com/", "urlList": urls}
    assert fake.bing_daily_quota == 10000 - 3


def test_site_url_option(engine, fake, options, site):
    options["site_url"] = "https://example.com/"
    assert engine.submit([site + "a"], None).error is None


def test_batches_of_500(engine, fake, make_urls):
    urls = make_urls(1001)
    outcome = engine.submit(urls, None)
    assert outcome.error is None and outcome.accepted == urls
    assert [len(batch) for batch in batches(fake)] == [500, 500, 1]
    assert outcome.requests == 4


def test_a_quota_smaller_than_the_list_defers_the_rest(engine, fake, make_urls):
    fake.bing_daily_quota, fake.bing_monthly_quota = 3, 90
    urls = make_urls(10)
    outcome = engine.submit(urls, None)
    assert batches(fake) == [urls[:3]]
    assert outcome.accepted == urls[:3] and outcome.deferred == urls[3:]
    assert outcome.error is None
    assert outcome.warnings == [
        "bing: the URL submission quota left (DailyQuota 3, MonthlyQuota 90) is used up:"
        " 7 URL(s) deferred to the next run"
    ]


def test_the_quota_spans_batches(engine, fake, make_urls):
    fake.bing_daily_quota = 700
    urls = make_urls(1000)
    outcome = engine.submit(urls, None)
    assert [len(batch) for batch in batches(fake)] == [500, 200]
    assert outcome.accepted == urls[:700] and outcome.deferred == urls[700:]


def test_the_monthly_quota_counts_too(engine, fake, make_urls):
    fake.bing_monthly_quota = 2
    outcome = engine.submit(make_urls(5), None)
    assert [len(batch) for batch in batches(fake)] == [2]
    assert len(outcome.deferred) == 3


def test_no_quota_left_sends_nothing(engine, fake, make_urls):
    fake.bing_daily_quota = 0
    outcome = engine.submit(make_urls(4), None)
    assert [r["path"] for r in fake.requests] == [QUOTA]
    assert outcome.accepted == [] and outcome.deferred == make_urls(4)
    assert outcome.error is None and len(outcome.warnings) == 1


def test_error_code_2_quota_exceeded_defers(engine, fake, make_urls):
    body = {"ErrorCode": 2, "Message": "ERROR!!! Quota remaining for today: 0, Submitted: 500"}
    fake.inject(SUBMIT, status=400, body=body, skip=1)
    urls = make_urls(900)
    outcome = engine.submit(urls, None)
    assert outcome.accepted == urls[:500] and outcome.deferred == urls[500:]
    assert outcome.error is None
    assert outcome.warnings == [
        "bing: quota exceeded (ERROR!!! Quota remaining for today: 0, Submitted: 500):"
        " 400 URL(s) deferred to the next run"
    ]


def test_error_code_3_invalid_api_key(client, options, site, make_urls, no_secret):
    options["api_key"] = "wrong-key-123"
    outcome = Bing(client, options, site).submit(make_urls(2), None)
    assert outcome.error == (
        "bing: GetUrlSubmissionQuota: 400: ErrorCode 3 InvalidApiKey: the api_key is not valid"
        " (ERROR!!! InvalidApiKey)"
    )
    assert outcome.accepted == [] and outcome.requests == 1
    no_secret(outcome, "wrong-key-123")


def test_error_code_14_not_authorized(client, options, site, make_urls):
    options["site_url"] = "https://other.example/"
    outcome = Bing(client, options, site).submit(make_urls(2, host="other.example"), None)
    assert outcome.error.startswith(
        "bing: GetUrlSubmissionQuota: 400: ErrorCode 14 NotAuthorized: the site is not verified"
    )


def test_error_code_14_on_submit(engine, fake, make_urls):
    fake.inject(SUBMIT, status=400, body={"ErrorCode": 14, "Message": "ERROR!!! NotAuthorized"})
    outcome = engine.submit(make_urls(2), None)
    assert outcome.error.startswith("bing: SubmitUrlBatch: 400: ErrorCode 14 NotAuthorized")
    assert outcome.accepted == [] and outcome.deferred == []


def test_a_failing_later_batch_keeps_the_earlier(engine, fake, make_urls):
    fake.inject(SUBMIT, status=400, body={"ErrorCode": 7, "Message": "ERROR!!! InvalidUrl"}, skip=1)
    urls = make_urls(600)
    outcome = engine.submit(urls, None)
    assert outcome.accepted == urls[:500]
    assert (
        outcome.error == "bing: SubmitUrlBatch: 400: ErrorCode 7 InvalidUrl (ERROR!!! InvalidUrl)"
    )


def test_urls_of_other_hosts_are_rejected_and_not_sent(engine, fake, make_urls):
    outcome = engine.submit(["https://other.example/a", *make_urls(2)], None)
    assert outcome.error is None and outcome.accepted == make_urls(2)
    assert outcome.rejected == [
        {"url": "https://other.example/a", "reason": "not on the site's host example.com"}
    ]
    assert batches(fake) == [make_urls(2)]


def test_nothing_to_send_sends_nothing(engine, fake):
    outcome = engine.submit(["https://other.example/a"], None)
    assert outcome.requests == 0 and fake.requests == [] and len(outcome.rejected) == 1
    assert engine.submit([], None).as_dict()["requests"] == 0


def test_off_site_urls_are_the_fakes_invalid_url(creds, fake, make_urls):
    """The fake refuses them as Bing does, should an engine send some."""
    fake.requests.clear()
    body = {"siteUrl": "https://example.com/", "urlList": ["https://other.example/a"]}
    client = Client(retries=0)
    url = f"{fake.url}/webmaster/api.svc/json/SubmitUrlBatch?apikey={creds.bing_key}"
    response = client.post_json(url, body)
    assert response.status == 400
    assert response.json() == {"ErrorCode": 7, "Message": "ERROR!!! InvalidUrl"}


def test_unexpected_quota_answer(engine, fake, make_urls):
    fake.inject(QUOTA, status=200, body={"d": None})
    outcome = engine.submit(make_urls(1), None)
    assert outcome.error == 'bing: GetUrlSubmissionQuota: unexpected answer: {"d": null}'


def test_429_retry_after(engine, fake, slept, make_urls):
    fake.inject(SUBMIT, status=429, headers={"Retry-After": "2"})
    outcome = engine.submit(make_urls(2), None)
    assert slept == [2.0]
    assert outcome.error is None and outcome.accepted == make_urls(2)
    assert outcome.requests == 3


def test_5xx_retries_are_bounded(engine, fake, slept, make_urls):
    fake.inject(QUOTA, status=500, body="Internal Server Error", times=10)
    outcome = engine.submit(make_urls(2), None)
    assert len(fake.requests) == 3 and outcome.requests == 3
    assert slept == [0.5, 1.0]
    assert outcome.error == "bing: GetUrlSubmissionQuota: 500: Internal Server Error"


def test_the_api_key_never_appears_in_a_transport_error(
    options, site, closed_port, creds, no_secret
):
    options["endpoint"] = f"http://127.0.0.1:{closed_port}/webmaster/api.svc/json"
    outcome = Bing(Client(retries=0), options, site).submit(["https://example.com/a"], None)
    assert outcome.error.startswith("bing: no answer: GET http://127.0.0.1:")
    assert "apikey=********" in outcome.error
    no_secret(outcome, creds.bing_key)


def test_the_api_key_never_appears_in_an_echoed_message(engine, fake, creds, no_secret):
    body = {"ErrorCode": 2, "Message": f"Quota for key {creds.bing_key} exceeded"}
    fake.inject(SUBMIT, status=400, body=body)
    outcome = engine.submit(["https://example.com/a"], None)
    assert "key ******** exceeded" in outcome.warnings[0]
    no_secret(outcome, creds.bing_key)


def test_missing_credentials(client, site):
    assert Bing(client, {"api_key": ""}, site).missing_credentials() == ["api_key"]
    assert Bing(client, {"api_key": "k"}, site).missing_credentials() == []
    assert Bing(client, {"api_key": "k"}, site).check_options() == []
