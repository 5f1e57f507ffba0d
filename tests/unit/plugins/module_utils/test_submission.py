"""module_utils/submission.py: the orchestrator, with small test engines (and the real registry's
shape): what is sent to whom, what is saved, and what check mode does."""

import json
import os

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import submission
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import (
    Engine,
    Outcome,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.submission import (
    SubmissionError,
    run,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Response

SITE = "https://blog.example.com"
SITEMAP = SITE + "/sitemap.xml"
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def urlset(*pairs):
    rows = []
    for path, lastmod in pairs:
        mod = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        rows.append(f"<url><loc>{SITE}{path}</loc>{mod}</url>")
    return f'<urlset xmlns="{NS}">\n' + "\n".join(rows) + "\n</urlset>\n"


class StubClient:
    """Answers GETs from a dict of bodies; counts requests like web_client.Client."""

    def __init__(self, files=None):
        self.files = dict(files or {})
        self.requests = 0

    def get(self, url, headers=None):
        self.requests += 1
        if url not in self.files:
            return Response(404, {}, b"not found", url)
        body = self.files[url]
        return Response(200, {}, body.encode() if isinstance(body, str) else body, url)


class Recorder(Engine):
    """A "urls" test engine. Options: key (the credential), and to steer it: reject (URLs it
    refuses), defer (URLs it keeps for later), fail (an error message), boom (raise)."""

    name = "alpha"
    credentials = ("key",)
    takes = "urls"
    calls = None

    def check_options(self):
        return ["key must not be 'bad'"] if self.options.get("key") == "bad" else []

    def submit(self, urls, sitemap_url):
        type(self).calls.append({"urls": list(urls), "sitemap_url": sitemap_url})
        self.client.requests += 1
        if self.options.get("boom"):
            raise RuntimeError("engine bug")
        outcome = Outcome()
        outcome.requests = 1
        reject = set(self.options.get("reject") or [])
        defer = set(self.options.get("defer") or [])
        for url in urls:
            if url in reject:
                outcome.rejected.append({"url": url, "reason": "not_valid"})
            elif url in defer:
                outcome.deferred.append(url)
            else:
                outcome.accepted.append(url)
        if self.options.get("fail"):
            outcome.accepted = []
            outcome.error = f"{self.name}: {self.options['fail']}"
        return outcome


class Alpha(Recorder):
    name = "alpha"


class Beta(Recorder):
    name = "beta"


class Feed(Engine):
    """A "sitemap" test engine (like Google): it gets the sitemap URL, and says nothing about
    single URLs."""

    name = "feed"
    credentials = (("token", "token_file"),)
    takes = "sitemap"
    calls = None

    def submit(self, urls, sitemap_url):
        Feed.calls.append({"urls": list(urls), "sitemap_url": sitemap_url})
        self.client.requests += 1
        outcome = Outcome()
        if self.options.get("fail"):
            outcome.error = "403: no access to the property"
        return outcome


ENGINES = (Alpha, Beta, Feed)


@pytest.fixture(autouse=True)
def clean_calls():
    for cls in ENGINES:
        cls.calls = []


@pytest.fixture
def state_path(tmp_path):
    return str(tmp_path / "state" / "sitemap_submit.json")


def go(body, state_path, options=None, check_mode=False, strict=False, **kwargs):
    """One run; returns (report, sitemap client, engine client)."""
    site_client = StubClient({SITEMAP: body})
    engine_client = StubClient()
    if options is None:
        options = {"alpha": {"key": "k"}, "beta": {"key": "k"}, "feed": {"token": "t"}}
    report = run(
        site_client,
        engine_client,
        SITEMAP,
        options,
        state_path,
        check_mode=check_mode,
        strict=strict,
        engines=ENGINES,
        **kwargs,
    )
    return report, site_client, engine_client


def saved(state_path):
    with open(state_path, encoding="utf-8") as handle:
        return json.load(handle)["engines"]


TWO = urlset(("/a", "2024-05-06"), ("/b", None))


def test_first_run_submits_everything_to_every_engine(state_path):
    report, site_client, engine_client = go(TWO, state_path)
    result = report.result
    assert site_client.requests == 1 and engine_client.requests == 3
    assert result["changed"] is True
    assert report.failed is None and report.warnings == []
    assert result["urls"] == 2 and result["sitemaps"] == [SITEMAP]
    assert Alpha.calls == [{"urls": [SITE + "/a", SITE + "/b"], "sitemap_url": SITEMAP}]
    assert Beta.calls == Alpha.calls
    assert Feed.calls == [{"urls": [SITE + "/a", SITE + "/b"], "sitemap_url": SITEMAP}]
    alpha = result["engines"]["alpha"]
    assert alpha["status"] == "submitted" and alpha["pending"] == 2
    assert alpha["submitted"] == alpha["accepted"] == [SITE + "/a", SITE + "/b"]
    assert alpha["requests"] == 1
    feed = result["engines"]["feed"]
    assert feed["submitted"] == [SITEMAP] and feed["accepted"] == [SITE + "/a", SITE + "/b"]
    assert result["requests"] == 1 + 3
    assert saved(state_path) == {
        name: {SITE + "/a": "2024-05-06", SITE + "/b": ""} for name in ("alpha", "beta", "feed")
    }
    assert result["diff"]["before"] == {"alpha": [], "beta": [], "feed": []}
    assert result["diff"]["after"]["alpha"] == [SITE + "/a", SITE + "/b"]


def test_nothing_new_sends_nothing_to_any_engine(state_path):
    go(TWO, state_path)
    mtime = os.stat(state_path).st_mtime_ns
    for cls in ENGINES:
        cls.calls.clear()
    report, _site, engine_client = go(TWO, state_path)
    assert report.result["changed"] is False
    assert engine_client.requests == 0 and Alpha.calls == Beta.calls == Feed.calls == []
    assert report.result["requests"] == 1  # the sitemap only
    assert {e["status"] for e in report.result["engines"].values()} == {"unchanged"}
    assert {e["pending"] for e in report.result["engines"].values()} == {0}
    assert os.stat(state_path).st_mtime_ns == mtime


def test_one_changed_url_goes_alone_to_each_engine_and_the_sitemap_once(state_path):
    go(urlset(("/a", "2024-05-06"), ("/b", "2024-05-06"), ("/c", None)), state_path)
    for cls in ENGINES:
        cls.calls.clear()
    report, _site, engine_client = go(
        urlset(("/a", "2024-05-06"), ("/b", "2024-06-01T08:00:00Z"), ("/c", None)), state_path
    )
    assert Alpha.calls == [{"urls": [SITE + "/b"], "sitemap_url": SITEMAP}]
    assert Beta.calls == [{"urls": [SITE + "/b"], "sitemap_url": SITEMAP}]
    assert len(Feed.calls) == 1 and Feed.calls[0]["sitemap_url"] == SITEMAP
    assert engine_client.requests == 3
    assert report.result["engines"]["alpha"]["pending"] == 1
    assert saved(state_path)["beta"][SITE + "/b"] == "2024-06-01T08:00:00Z"


def test_url_without_lastmod_is_submitted_once(state_path):
    go(urlset(("/undated", None)), state_path)
    Alpha.calls.clear()
    report = go(urlset(("/undated", None)), state_path)[0]
    assert Alpha.calls == [] and report.result["changed"] is False


def test_one_engine_failing_keeps_the_others_results(state_path):
    options = {"alpha": {"key": "k", "fail": "503: try later"}, "beta": {"key": "k"}}
    report = go(TWO, state_path, options)[0]
    assert report.failed == "submission failed: alpha: 503: try later"
    alpha, beta = report.result["engines"]["alpha"], report.result["engines"]["beta"]
    assert alpha["status"] == "failed" and alpha["message"] == "alpha: 503: try later"
    assert alpha["accepted"] == [] and alpha["submitted"] == [SITE + "/a", SITE + "/b"]
    assert beta["status"] == "submitted"
    assert report.result["changed"] is True
    assert saved(state_path) == {"beta": {SITE + "/a": "2024-05-06", SITE + "/b": ""}}
    # the next run sends the failed engine everything again, and the other nothing
    Alpha.calls.clear()
    Beta.calls.clear()
    report = go(TWO, state_path, {"alpha": {"key": "k"}, "beta": {"key": "k"}})[0]
    assert Alpha.calls[0]["urls"] == [SITE + "/a", SITE + "/b"] and Beta.calls == []
    assert report.failed is None


def test_engine_raising_is_a_failed_engine_not_a_lost_run(state_path):
    options = {"alpha": {"key": "k", "boom": True}, "beta": {"key": "k"}}
    report = go(TWO, state_path, options)[0]
    assert report.result["engines"]["alpha"]["status"] == "failed"
    assert "RuntimeError: engine bug" in report.failed
    assert report.result["engines"]["alpha"]["requests"] == 1
    assert list(saved(state_path)) == ["beta"]


def test_sitemap_engine_failing(state_path):
    report = go(TWO, state_path, {"feed": {"token": "t", "fail": True}})[0]
    assert report.failed == "submission failed: feed: 403: no access to the property"
    assert report.result["engines"]["feed"]["accepted"] == []
    assert report.result["changed"] is False
    assert not os.path.exists(state_path)


def test_rejected_urls_are_reported_not_saved_and_tried_again(state_path):
    options = {"alpha": {"key": "k", "reject": [SITE + "/b"]}}
    report = go(TWO, state_path, options)[0]
    alpha = report.result["engines"]["alpha"]
    assert alpha["status"] == "partial" and report.failed is None
    assert alpha["rejected"] == [{"url": SITE + "/b", "reason": "not_valid"}]
    assert report.warnings == [
        f"alpha: 1 URL(s) rejected, tried again on the next run: {SITE}/b (not_valid)"
    ]
    assert saved(state_path) == {"alpha": {SITE + "/a": "2024-05-06"}}
    Alpha.calls.clear()
    go(TWO, state_path, {"alpha": {"key": "k"}})
    assert Alpha.calls[0]["urls"] == [SITE + "/b"]


def test_deferred_urls_are_kept_for_the_next_run_with_a_warning(state_path):
    options = {"alpha": {"key": "k", "defer": [SITE + "/a", SITE + "/b"]}}
    report = go(TWO, state_path, options)[0]
    alpha = report.result["engines"]["alpha"]
    assert alpha["status"] == "partial" and report.failed is None
    assert alpha["deferred"] == [SITE + "/a", SITE + "/b"] and alpha["accepted"] == []
    assert report.result["changed"] is False
    assert "alpha: 2 URL(s) deferred to the next run (quota)" in report.warnings[0]
    assert not os.path.exists(state_path)
    Alpha.calls.clear()
    go(TWO, state_path, {"alpha": {"key": "k"}})
    assert Alpha.calls[0]["urls"] == [SITE + "/a", SITE + "/b"]


def test_engine_warnings_are_passed_on_named(state_path):
    class Warner(Alpha):
        def submit(self, urls, sitemap_url):
            outcome = super().submit(urls, sitemap_url)
            outcome.warnings = ["202: key check pending", "alpha: already named"]
            return outcome

    report = run(
        StubClient({SITEMAP: TWO}), StubClient(), SITEMAP, {"alpha": {"key": "k"}}, state_path,
        engines=(Warner,),
    )  # fmt: skip
    assert report.warnings == ["alpha: 202: key check pending", "alpha: already named"]


def test_pruning_removes_urls_gone_from_the_sitemap(state_path):
    go(
        urlset(("/a", "2021"), ("/old", "2021")),
        state_path,
        {"alpha": {"key": "k"}, "beta": {"key": "k"}},
    )
    go(urlset(("/a", "2021"), ("/new", "2021")), state_path, {"alpha": {"key": "k"}})
    state = saved(state_path)
    assert state["alpha"] == {SITE + "/a": "2021", SITE + "/new": "2021"}
    assert state["beta"] == {SITE + "/a": "2021", SITE + "/old": "2021"}  # not written: untouched


def test_missing_credentials_warn_and_skip(state_path):
    options = {"alpha": {"key": ""}, "beta": {"key": "k"}, "feed": {"token": None}}
    report = go(TWO, state_path, options)[0]
    assert report.warnings == [
        "alpha is configured but alpha.key is not set: the engine is skipped",
        "feed is configured but feed.token or feed.token_file is not set: the engine is skipped",
    ]
    assert list(report.result["engines"]) == ["alpha", "beta", "feed"]
    assert report.result["engines"]["alpha"]["status"] == "skipped"
    assert report.result["engines"]["alpha"]["pending"] == 2
    assert Alpha.calls == [] and Feed.calls == [] and len(Beta.calls) == 1
    assert list(saved(state_path)) == ["beta"]


def test_missing_credentials_with_strict_fail_before_anything_is_sent(state_path):
    options = {"alpha": {"key": ""}, "beta": {"key": "k"}, "feed": {}}
    with pytest.raises(SubmissionError) as caught:
        go(TWO, state_path, options, strict=True)
    assert str(caught.value) == (
        "alpha is configured but alpha.key is not set; "
        "feed is configured but feed.token or feed.token_file is not set"
    )
    assert Alpha.calls == Beta.calls == Feed.calls == []
    assert caught.value.report.result["requests"] == 0  # not even the sitemap
    assert not os.path.exists(state_path)


def test_option_problems_of_every_engine_fail_before_anything_is_sent(state_path):
    with pytest.raises(SubmissionError) as caught:
        go(TWO, state_path, {"alpha": {"key": "bad"}, "beta": {"key": "bad"}})
    assert str(caught.value) == "alpha: key must not be 'bad'; beta: key must not be 'bad'"
    assert Alpha.calls == Beta.calls == []


def test_no_engine_configured_warns(state_path):
    report = go(TWO, state_path, {"alpha": None})[0]
    assert report.warnings == [
        "no search engine is configured (alpha, beta, feed): nothing is submitted"
    ]
    assert report.result["changed"] is False and report.result["engines"] == {}
    assert report.result["urls"] == 2


def test_unknown_engine_is_an_error(state_path):
    with pytest.raises(SubmissionError, match="unknown engine gamma"):
        go(TWO, state_path, {"gamma": {}})


def test_bad_sitemap_fails_before_any_engine_request(state_path):
    body = urlset(("/a", "2024-05-06")).replace(SITE + "/a", "https://elsewhere.example/a")
    with pytest.raises(SubmissionError) as caught:
        go(body, state_path)
    assert "https://elsewhere.example/a is not on the site https://blog.example.com" in str(
        caught.value
    )
    assert Alpha.calls == Beta.calls == Feed.calls == []
    assert caught.value.report.result["requests"] == 1


def test_missing_sitemap_fails(state_path):
    with pytest.raises(SubmissionError, match="answered HTTP 404"):
        run(
            StubClient(),
            StubClient(),
            SITEMAP,
            {"alpha": {"key": "k"}},
            state_path,
            engines=ENGINES,
        )
    assert Alpha.calls == []


def test_corrupt_state_fails_naming_the_path_and_sends_nothing(state_path):
    os.makedirs(os.path.dirname(state_path))
    with open(state_path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(SubmissionError) as caught:
        go(TWO, state_path)
    assert state_path in str(caught.value)
    assert Alpha.calls == Beta.calls == Feed.calls == []
    with open(state_path, encoding="utf-8") as handle:
        assert handle.read() == "{not json"


def test_state_path_under_a_file_fails_before_anything_is_sent(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SubmissionError, match="cannot read the state file"):
        go(TWO, str(blocker / "state.json"))
    assert Alpha.calls == []


def test_state_not_written_fails_after_the_submission_saying_so(state_path):
    def move(src, dest):
        raise OSError(30, "Read-only file system")

    options = {"alpha": {"key": "k", "fail": "boom"}, "beta": {"key": "k"}}
    with pytest.raises(SubmissionError) as caught:
        go(TWO, state_path, options, move=move)
    message = str(caught.value)
    assert message.startswith(f"cannot write the state file {state_path}: ")
    assert "Read-only file system" in message and "submitted again on the next run" in message
    assert message.endswith("; alpha: boom")
    assert caught.value.report.result["engines"]["beta"]["status"] == "submitted"
    assert os.listdir(os.path.dirname(state_path)) == []


def test_check_mode_sends_and_writes_nothing(state_path):
    go(urlset(("/a", "2021")), state_path, {"alpha": {"key": "k"}})
    before = saved(state_path)
    Alpha.calls.clear()
    report, _site, engine_client = go(
        urlset(("/a", "2022"), ("/b", None)), state_path, check_mode=True
    )
    assert Alpha.calls == Beta.calls == Feed.calls == [] and engine_client.requests == 0
    assert saved(state_path) == before
    result = report.result
    assert result["changed"] is True
    alpha = result["engines"]["alpha"]
    assert alpha["status"] == "submitted" and "check mode" in alpha["message"]
    assert alpha["submitted"] == [SITE + "/a", SITE + "/b"] and alpha["accepted"] == []
    assert result["engines"]["feed"]["submitted"] == [SITEMAP]
    assert result["diff"] == {
        "before": {"alpha": [], "beta": [], "feed": []},
        "after": {name: [SITE + "/a", SITE + "/b"] for name in ("alpha", "beta", "feed")},
    }
    assert result["requests"] == 1


def test_check_mode_without_anything_pending_is_no_change(state_path):
    go(TWO, state_path)
    report = go(TWO, state_path, check_mode=True)[0]
    assert report.result["changed"] is False


def test_check_mode_never_creates_the_state_file(state_path):
    go(TWO, state_path, check_mode=True)
    assert not os.path.exists(os.path.dirname(state_path))


def test_site_url_is_what_locs_are_checked_against_and_engines_get(state_path):
    seen = []

    class Site(Alpha):
        def submit(self, urls, sitemap_url):
            seen.append(self.site)
            return super().submit(urls, sitemap_url)

    client = StubClient({"http://10.0.0.5/sitemap.xml": TWO})
    report = run(
        client, StubClient(), "http://10.0.0.5/sitemap.xml", {"alpha": {"key": "k"}},
        state_path, site=SITE + "/", engines=(Site,),
    )  # fmt: skip
    assert seen == [SITE + "/"] and report.result["urls"] == 2


def test_sitemap_index_is_given_to_sitemap_engines(state_path):
    files = {SITEMAP: f'<sitemapindex xmlns="{NS}"><sitemap><loc>{SITE}/posts.xml</loc>'
             "</sitemap></sitemapindex>", SITE + "/posts.xml": TWO}  # fmt: skip
    report = run(
        StubClient(files), StubClient(), SITEMAP, {"feed": {"token": "t"}}, state_path,
        engines=ENGINES,
    )  # fmt: skip
    assert Feed.calls[0]["sitemap_url"] == SITEMAP
    assert report.result["sitemaps"] == [SITEMAP, SITE + "/posts.xml"]
    assert report.result["requests"] == 3


def test_the_registry_holds_the_four_engines_in_order():
    assert [cls.name for cls in submission.ENGINES] == ["indexnow", "google", "baidu", "bing"]
    assert [cls.__name__ for cls in submission.ENGINES] == ["IndexNow", "Google", "Baidu", "Bing"]
    assert {cls.takes for cls in submission.ENGINES} == {"urls", "sitemap"}


def test_real_engines_credentials_warnings_name_the_option(state_path):
    report = run(
        StubClient({SITEMAP: TWO}), StubClient(), SITEMAP,
        {"indexnow": {"key": None}, "google": {}, "baidu": None, "bing": None}, state_path,
    )  # fmt: skip
    assert report.warnings == [
        "indexnow is configured but indexnow.key is not set: the engine is skipped",
        "google is configured but google.access_token or google.service_account_file or "
        "google.service_account_key is not set: the engine is skipped",
    ]
