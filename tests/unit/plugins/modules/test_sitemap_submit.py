"""The sitemap_submit module, main() run in-process against a sitemap served on 127.0.0.1: with
test engines, and end to end with the real IndexNow and Baidu engines against
tests/fakes/engines.py."""

import importlib.util
import json
import os
import stat
from pathlib import Path

import module_harness
import pytest
import yaml
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import submission
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import Engine, Outcome
from ansible_collections.selfhosted.flask_blog.plugins.modules import sitemap_submit

FAKES = Path(__file__).resolve().parents[3] / "fakes" / "engines.py"
NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
HOST = "blog.example.test"
INDEXNOW_KEY = "0123456789abcdef0123456789abcdef"
BAIDU_TOKEN = "baidu-unit-test-token"
XML = {"Content-Type": "application/xml"}


def load_fakes():
    spec = importlib.util.spec_from_file_location("fake_engines", FAKES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The sitemap, on the static server (tests/unit/conftest.py)


class Sitemap:
    """/sitemap.xml on the static server, its URLs on http://blog.example.test:<port>/
    (reached with connect_to: 127.0.0.1)."""

    def __init__(self, server):
        self.server = server
        self.port = server.port
        self.site = f"http://{HOST}:{self.port}"
        self.url = self.site + "/sitemap.xml"

    def publish(self, *pairs, status=200):
        rows = "".join(
            f"<url><loc>{self.site}{path}</loc>"
            + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "")
            + "</url>\n"
            for path, lastmod in pairs
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NS}">\n{rows}</urlset>\n'
        self.server.put("/sitemap.xml", body, status=status, headers=XML)

    @property
    def seen(self):
        return self.server.seen


@pytest.fixture
def sitemap(static_server):
    server = Sitemap(static_server)
    server.publish(("/", "2024-05-06"), ("/articles/welcome", "2024-05-06T09:00:00Z"))
    return server


@pytest.fixture
def state_path(tmp_path):
    return str(tmp_path / "lib" / "sitemap_submit.json")


# Running main()


def run_module(args, check_mode=False, diff=False):
    """sitemap_submit's main() through module_harness; returns (result, failed, warnings)."""
    result, failed = module_harness.run_module(sitemap_submit.main, args, check_mode, diff)
    return result, failed, result.pop("warnings", [])


def base_args(sitemap, state_path, **extra):
    args = {
        "sitemap_url": sitemap.url,
        "connect_to": "127.0.0.1",
        "state_path": state_path,
        "retries": 0,
        "timeout": 10,
    }
    args.update(extra)
    return args


# Test engines, under the real engines' names (the module's options are theirs)


class Recording(Engine):
    calls = None

    def submit(self, urls, sitemap_url):
        type(self).calls.append((list(urls), sitemap_url))
        outcome = Outcome()
        outcome.requests = 1
        if self.options.get("endpoint") == "fail":
            outcome.error = f"{self.name}: 503: the engine is down"
        else:
            outcome.accepted = list(urls)
        return outcome


class StubIndexNow(Recording):
    name = "indexnow"
    credentials = ("key",)
    takes = "urls"


class StubGoogle(Recording):
    name = "google"
    credentials = (("access_token", "service_account_file", "service_account_key"),)
    takes = "sitemap"


@pytest.fixture
def test_engines(monkeypatch):
    StubIndexNow.calls = []
    StubGoogle.calls = []
    monkeypatch.setattr(submission, "ENGINES", (StubIndexNow, StubGoogle))


# Documentation and argument spec


def test_documentation_matches_the_argument_spec():
    documented = module_harness.documented_options(sitemap_submit)
    module_harness.assert_documented(documented, sitemap_submit.ARGUMENT_SPEC)
    for name in ("indexnow", "google", "baidu", "bing"):
        assert name in sitemap_submit.ARGUMENT_SPEC
    secrets = {
        f"{engine}.{name}"
        for engine, options in sitemap_submit.ENGINE_OPTIONS.items()
        for name, option in options.items()
        if option.get("no_log")
    }
    assert secrets == {
        "indexnow.key",
        "google.access_token",
        "google.service_account_key",
        "baidu.token",
        "bing.api_key",
    }
    assert [cls.name for cls in submission.ENGINES] == list(sitemap_submit.ENGINE_OPTIONS)
    yaml.safe_load(sitemap_submit.EXAMPLES)
    returned = yaml.safe_load(sitemap_submit.RETURN)
    assert set(returned) == {"urls", "sitemaps", "requests", "state_path", "engines", "diff"}


# With test engines


def test_first_run_submits_second_run_changes_nothing(sitemap, state_path, test_engines):
    args = base_args(
        sitemap, state_path, indexnow={"key": INDEXNOW_KEY}, google={"access_token": "t"}
    )
    result, failed, warnings = run_module(args)
    assert not failed and warnings == []
    assert result["changed"] is True
    urls = [sitemap.site + "/", sitemap.site + "/articles/welcome"]
    assert StubIndexNow.calls == [(urls, sitemap.url)]
    assert StubGoogle.calls == [(urls, sitemap.url)]
    assert result["urls"] == 2 and result["sitemaps"] == [sitemap.url]
    assert result["requests"] == 1 + 2
    assert result["state_path"] == state_path
    assert result["engines"]["indexnow"]["status"] == "submitted"
    assert result["engines"]["google"]["submitted"] == [sitemap.url]
    assert "diff" not in result
    assert stat.S_IMODE(os.stat(state_path).st_mode) == 0o600
    with open(state_path, encoding="utf-8") as handle:
        assert set(json.load(handle)["engines"]) == {"indexnow", "google"}
    assert sitemap.seen == [("/sitemap.xml", f"{HOST}:{sitemap.port}")]

    result, failed, warnings = run_module(args)
    assert not failed and result["changed"] is False
    assert len(StubIndexNow.calls) == 1 and len(StubGoogle.calls) == 1
    assert result["requests"] == 1
    assert {e["status"] for e in result["engines"].values()} == {"unchanged"}


def test_check_mode_with_diff_sends_and_writes_nothing(sitemap, state_path, test_engines):
    args = base_args(sitemap, state_path, indexnow={"key": INDEXNOW_KEY})
    result, failed = run_module(args, check_mode=True, diff=True)[:2]
    assert not failed and result["changed"] is True
    assert StubIndexNow.calls == []
    assert not os.path.exists(os.path.dirname(state_path))
    urls = [sitemap.site + "/", sitemap.site + "/articles/welcome"]
    assert result["engines"]["indexnow"]["submitted"] == urls
    assert result["diff"] == {"before": {"indexnow": []}, "after": {"indexnow": urls}}


def test_diff_of_a_real_run(sitemap, state_path, test_engines):
    args = base_args(sitemap, state_path, indexnow={"key": INDEXNOW_KEY})
    run_module(args)
    sitemap.publish(("/", "2024-05-06"), ("/articles/welcome", "2024-06-01"))
    result = run_module(args, diff=True)[0]
    assert result["diff"]["after"] == {"indexnow": [sitemap.site + "/articles/welcome"]}
    assert StubIndexNow.calls[-1][0] == [sitemap.site + "/articles/welcome"]


def test_engine_without_credentials_warns_naming_the_option(sitemap, state_path, test_engines):
    args = base_args(sitemap, state_path, indexnow={}, google={"access_token": "t"})
    result, failed, warnings = run_module(args)
    assert not failed
    assert warnings == ["indexnow is configured but indexnow.key is not set: the engine is skipped"]
    assert result["engines"]["indexnow"]["status"] == "skipped"
    assert StubIndexNow.calls == [] and len(StubGoogle.calls) == 1


def test_strict_fails_before_anything_is_sent(sitemap, state_path, test_engines):
    args = base_args(sitemap, state_path, strict=True, indexnow={"key": ""}, google={})
    result, failed = run_module(args)[:2]
    assert failed
    assert "indexnow.key" in result["msg"] and "google.access_token or" in result["msg"]
    assert sitemap.seen == [] and StubIndexNow.calls == [] and StubGoogle.calls == []
    assert result["requests"] == 0


def test_no_engine_configured_warns(sitemap, state_path, test_engines):
    result, failed, warnings = run_module(base_args(sitemap, state_path))
    assert not failed and result["changed"] is False
    assert warnings == ["no search engine is configured (indexnow, google): nothing is submitted"]


def test_failing_engine_fails_the_task_after_saving_the_others(sitemap, state_path, test_engines):
    args = base_args(
        sitemap,
        state_path,
        indexnow={"key": INDEXNOW_KEY},
        google={"access_token": "t", "endpoint": "fail"},
    )
    result, failed = run_module(args)[:2]
    assert failed
    assert result["msg"] == "submission failed: google: 503: the engine is down"
    assert result["engines"]["google"]["status"] == "failed"
    assert result["engines"]["indexnow"]["status"] == "submitted"
    assert result["changed"] is True
    with open(state_path, encoding="utf-8") as handle:
        assert list(json.load(handle)["engines"]) == ["indexnow"]


def test_bad_sitemap_fails_before_any_engine(sitemap, state_path, test_engines):
    sitemap.publish(status=404)
    args = base_args(sitemap, state_path, indexnow={"key": INDEXNOW_KEY})
    result, failed = run_module(args)[:2]
    assert failed and "answered HTTP 404, not 200" in result["msg"]
    assert StubIndexNow.calls == [] and result["requests"] == 1


def test_site_url_other_than_the_sitemap_host(sitemap, state_path, test_engines):
    args = base_args(
        sitemap, state_path, site_url="https://blog.example.com/", indexnow={"key": INDEXNOW_KEY}
    )
    result, failed = run_module(args)[:2]
    assert failed and "is not on the site https://blog.example.com" in result["msg"]


def test_without_connect_to_dns_is_used(sitemap, state_path, test_engines):
    args = base_args(sitemap, state_path, indexnow={"key": INDEXNOW_KEY})
    args["sitemap_url"] = f"http://127.0.0.1:{sitemap.port}/sitemap.xml"
    args["site_url"] = sitemap.site
    del args["connect_to"]
    result, failed = run_module(args)[:2]
    assert not failed and result["urls"] == 2


def test_connect_to_also_serves_the_site_host_of_an_index(sitemap, state_path, test_engines):
    """The index is read from 127.0.0.1 directly; the sitemaps it lists are on the site's public
    name, which connect_to maps too."""
    index = f'<sitemapindex xmlns="{NS}"><sitemap><loc>{sitemap.url}</loc></sitemap></sitemapindex>'
    sitemap.server.put("/index.xml", index, headers=XML)
    args = base_args(sitemap, state_path, indexnow={"key": INDEXNOW_KEY})
    args["sitemap_url"] = f"http://127.0.0.1:{sitemap.port}/index.xml"
    args["site_url"] = sitemap.site
    result, failed = run_module(args)[:2]
    assert not failed, result["msg"]
    assert result["sitemaps"] == [args["sitemap_url"], sitemap.url] and result["urls"] == 2
    assert sitemap.seen[1] == ("/sitemap.xml", f"{HOST}:{sitemap.port}")
    assert StubIndexNow.calls[0][1] == args["sitemap_url"]


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"retries": -1}, "must not be negative"),
        ({"retry_delay": -0.5}, "must not be negative"),
        ({"timeout": 0}, "timeout must be positive"),
    ],
)
def test_bad_numbers(sitemap, state_path, test_engines, extra, message):
    result, failed = run_module(base_args(sitemap, state_path, **extra))[:2]
    assert failed and message in result["msg"] and sitemap.seen == []


def test_corrupt_state_file_fails_naming_it(sitemap, state_path, test_engines):
    os.makedirs(os.path.dirname(state_path))
    with open(state_path, "w", encoding="utf-8") as handle:
        handle.write("[")
    result, failed = run_module(base_args(sitemap, state_path, indexnow={"key": "k" * 8}))[:2]
    assert failed and state_path in result["msg"] and StubIndexNow.calls == []


# End to end: the real IndexNow and Baidu engines against tests/fakes/engines.py


@pytest.fixture
def fake():
    fakes = load_fakes()
    with fakes.FakeEngines(indexnow_keys=[INDEXNOW_KEY], baidu_tokens=[BAIDU_TOKEN]) as server:
        yield server


def engine_args(sitemap, state_path, fake, key=INDEXNOW_KEY):
    return base_args(
        sitemap,
        state_path,
        indexnow={"key": key, "endpoint": fake.url + "/indexnow"},
        baidu={"token": BAIDU_TOKEN, "endpoint": fake.url + "/urls"},
    )


def test_end_to_end_real_engines_submit_once(sitemap, state_path, fake):
    args = engine_args(sitemap, state_path, fake)
    result, failed, warnings = run_module(args)
    assert not failed, result["msg"]
    assert warnings == []
    assert result["changed"] is True
    urls = [sitemap.site + "/", sitemap.site + "/articles/welcome"]
    for name in ("indexnow", "baidu"):
        engine = result["engines"][name]
        assert engine["status"] == "submitted", engine
        assert engine["accepted"] == urls and engine["requests"] == 1
    assert result["requests"] == 3
    indexnow = fake.requests_for("indexnow")
    assert len(indexnow) == 1
    assert json.loads(indexnow[0]["body"]) == {"host": HOST, "key": INDEXNOW_KEY, "urlList": urls}
    baidu = fake.requests_for("baidu")
    assert len(baidu) == 1 and baidu[0]["body"].splitlines() == urls
    assert baidu[0]["query"]["site"] == sitemap.site
    with open(state_path, encoding="utf-8") as handle:
        assert json.load(handle) == {
            "version": 1,
            "engines": {
                "baidu": {urls[0]: "2024-05-06", urls[1]: "2024-05-06T09:00:00Z"},
                "indexnow": {urls[0]: "2024-05-06", urls[1]: "2024-05-06T09:00:00Z"},
            },
        }

    result, failed, warnings = run_module(args)
    assert not failed and result["changed"] is False
    assert result["requests"] == 1  # the sitemap only
    assert len(fake.requests) == 2  # nothing more reached the engines

    sitemap.publish(
        ("/", "2024-05-06"),
        ("/articles/welcome", "2024-05-06T09:00:00Z"),
        ("/articles/new", "2024-06-01"),
    )
    result, failed, warnings = run_module(args)
    assert not failed and result["changed"] is True
    assert json.loads(fake.requests_for("indexnow")[-1]["body"])["urlList"] == [
        sitemap.site + "/articles/new"
    ]
    assert fake.requests_for("baidu")[-1]["body"] == sitemap.site + "/articles/new"


def test_end_to_end_one_engine_refusing(sitemap, state_path, fake):
    args = engine_args(sitemap, state_path, fake, key="another-key-that-is-not-known")
    result, failed, warnings = run_module(args)
    assert failed and warnings == []
    assert result["msg"].startswith("submission failed: indexnow: 403")
    assert "another-key-that-is-not-known" not in json.dumps(result)
    assert result["engines"]["indexnow"]["status"] == "failed"
    assert result["engines"]["baidu"]["status"] == "submitted"
    with open(state_path, encoding="utf-8") as handle:
        assert list(json.load(handle)["engines"]) == ["baidu"]

    args["indexnow"]["key"] = INDEXNOW_KEY
    result, failed = run_module(args)[:2]
    assert not failed
    assert result["engines"]["indexnow"]["status"] == "submitted"
    assert result["engines"]["baidu"]["status"] == "unchanged"
    assert len(fake.requests_for("baidu")) == 1


def test_end_to_end_baidu_quota_defers(sitemap, state_path, fake):
    fake.baidu_remain = 1
    args = engine_args(sitemap, state_path, fake)
    del args["indexnow"]
    result, failed, warnings = run_module(args)
    assert not failed
    baidu = result["engines"]["baidu"]
    assert baidu["status"] == "partial"
    assert baidu["accepted"] == [sitemap.site + "/"]
    assert baidu["deferred"] == [sitemap.site + "/articles/welcome"]
    assert len(warnings) == 1 and "deferred to the next run" in warnings[0]

    fake.baidu_remain = 10
    result, failed, warnings = run_module(args)
    assert not failed and result["engines"]["baidu"]["accepted"] == [
        sitemap.site + "/articles/welcome"
    ]
