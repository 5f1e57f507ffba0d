"""Search discovery on the deployed stack: the fake engines of molecule/stack/prepare.yml record
every request they get; converge (site.yml ends with sitemap_submit) and playbooks/publish.yml
must send each URL once per engine, and nothing at all when nothing is new."""

import json
from urllib.parse import unquote

import pytest
from conftest import (
    PROJECT,
    PUBLIC_HOST,
    PUBLIC_URL,
    SLUGS,
    STACK_ONLY,
    all_containers,
    curl,
    public,
    recaps,
    run_playbook,
)

FAKE_LOG = "/var/log/fake-engines.jsonl"
INDEXNOW_KEY = "molecule-indexnow-key-0123"
ARTICLE = PROJECT / "molecule" / "resources" / "article.en.json"
ARTICLE_URL = PUBLIC_URL + "/articles/found-once-it-exists"
PUBLISH = PROJECT / "playbooks" / "publish.yml"
VERIFY = PROJECT / "playbooks" / "verify.yml"
BING_WARNING = "WARNING: search engine bing is listed in sitemap_submit_engines but"


def fake_requests(host):
    return [json.loads(line) for line in host.file(FAKE_LOG).content_string.splitlines()]


def submitted(requests, engine):
    """Every URL an engine was sent, one entry per time it was sent."""
    urls = []
    for request in requests:
        if request["engine"] == engine and request["method"] == "POST":
            if engine == "indexnow":
                urls += json.loads(request["body"])["urlList"]
            elif engine == "baidu":
                urls += request["body"].split()
    return urls


def sitemap_puts(requests):
    return [r for r in requests if r["engine"] == "google" and r["method"] == "PUT"]


@pytest.fixture(scope="session")
def discovery():
    """What the fakes recorded after converge, then after publishing a new article, then after
    publishing it again unchanged; with the runs."""
    hosts = all_containers()
    logs = {"converge": {n: fake_requests(h) for n, h in hosts.items()}}
    first = run_playbook(PUBLISH, f"article_file={ARTICLE}")
    logs["published"] = {n: fake_requests(h) for n, h in hosts.items()}
    again = run_playbook(PUBLISH, f"article_file={ARTICLE}")
    logs["again"] = {n: fake_requests(h) for n, h in hosts.items()}
    return logs, first, again


@pytest.fixture(scope="session")
def check_mode_publish(discovery, tmp_path_factory):
    """publish.yml in check and diff mode with an edited copy of the published article; what
    the fakes recorded before and after."""
    hosts = all_containers()
    edited = tmp_path_factory.mktemp("article") / "article.en.json"
    article = json.loads(ARTICLE.read_text())
    article["body"] += " Edited, but only in check mode."
    edited.write_text(json.dumps(article))
    before = {n: fake_requests(h) for n, h in hosts.items()}
    run = run_playbook(PUBLISH, f"article_file={edited}", options=["--check", "--diff"])
    after = {n: fake_requests(h) for n, h in hosts.items()}
    return run, before, after


def test_converge_submitted_every_sitemap_url_once(host, hostname, discovery):
    requests = discovery[0]["converge"][hostname]
    sitemap = [PUBLIC_URL + "/"] + [f"{PUBLIC_URL}/articles/{slug}" for slug in SLUGS]
    for engine in ("indexnow", "baidu"):
        assert sorted(submitted(requests, engine)) == sorted(sitemap), engine
    puts = sitemap_puts(requests)
    assert len(puts) == 1
    assert puts[0]["headers"]["authorization"].startswith("Bearer ")
    assert unquote(puts[0]["path"]).endswith(f"/sitemaps/{PUBLIC_URL}/sitemap.xml")
    # the token came from the service-account key, signed in the container
    tokens = [r for r in requests if r["engine"] == "google" and r["method"] == "POST"]
    assert [r["status"] for r in tokens] == [200]
    assert [r for r in requests if r["engine"] == "bing"] == []


def test_new_article_reaches_each_engine_exactly_once(hostname, discovery):
    logs, first, _again = discovery
    assert first.returncode == 0, first.stdout[-3000:]
    before, after = logs["converge"][hostname], logs["published"][hostname]
    for engine in ("indexnow", "baidu"):
        new = submitted(after, engine)[len(submitted(before, engine)) :]
        assert new.count(ARTICLE_URL) == 1, (engine, new)
        # and the home page, whose lastmod is the newest article's
        assert set(new) <= {ARTICLE_URL, PUBLIC_URL + "/"}, (engine, new)
    assert len(sitemap_puts(after)) == len(sitemap_puts(before)) + 1


def test_unchanged_article_sends_nothing(hostname, discovery):
    logs, _first, again = discovery
    assert again.returncode == 0, again.stdout[-3000:]
    assert "changed=0" in recaps(again)[hostname]
    assert logs["again"][hostname] == logs["published"][hostname]


@STACK_ONLY
def test_check_mode_publishes_and_submits_nothing(host, hostname, check_mode_publish):
    run, before, after = check_mode_publish
    assert run.returncode == 0, run.stdout[-3000:]
    assert after[hostname] == before[hostname]
    assert "Edited, but only in check mode." in run.stdout  # the diff
    page = public(host, "/articles/found-once-it-exists").body
    assert "Edited, but only in check mode." not in page


def test_missing_credentials_are_reported(discovery):
    _logs, first, again = discovery
    for run in (first, again):
        output = " ".join(run.stdout.split())  # the YAML callback folds long messages
        assert f"{BING_WARNING} sitemap_submit_bing_api_key is empty" in output


def test_indexnow_key_file_is_served_at_the_host_root(host):
    response = curl(host, f"https://{PUBLIC_HOST}/{INDEXNOW_KEY}.txt")
    assert response.status == 200
    assert response.body == INDEXNOW_KEY
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert curl(host, f"https://{PUBLIC_HOST}/not-our-key-000.txt").status == 404


def test_state_file_is_private(host):
    state = host.file("/var/lib/blog/sitemap_submit.json")
    assert state.mode == 0o600
    assert state.user == "root"
    engines = json.loads(state.content_string)["engines"]
    assert set(engines) == {"indexnow", "google", "baidu"}


@STACK_ONLY
def test_verify_playbook_passes(discovery):
    run = run_playbook(VERIFY, "verify_article=/articles/found-once-it-exists")
    assert run.returncode == 0, run.stdout[-3000:]
    assert all("changed=0" in recap for recap in recaps(run).values()), recaps(run)
    assert BING_WARNING in " ".join(run.stdout.split())


@STACK_ONLY
def test_verify_playbook_fails_on_a_missing_page(host, hostname):
    run = run_playbook(VERIFY, "verify_article=/articles/no-such-article")
    assert run.returncode != 0
    assert "page /articles/no-such-article: expected HTTP 200, got HTTP 404" in run.stdout
    assert public(host, "/").status == 200


@STACK_ONLY
def test_publish_playbook_needs_an_article_file():
    run = run_playbook(PUBLISH, "article_file=/nonexistent.json")
    assert run.returncode != 0
    assert "article_file must name a JSON article file" in run.stdout
