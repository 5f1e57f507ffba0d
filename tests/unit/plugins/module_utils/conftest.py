"""Fixtures of the engine tests: the fake engines (tests/fakes/engines.py) in a thread on
127.0.0.1, a Client whose backoff waits are recorded instead of slept, test credentials, and
checks of an engine's Outcome."""

import json
import socket
from types import SimpleNamespace

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client
from ansible_collections.selfhosted.flask_blog.tests.fakes.engines import FakeEngines

SITE = "https://example.com/"
CREDS = SimpleNamespace(
    indexnow_key="0f3c9a7e-5b1d-4c2e-9a8b-7d6e5f4a3b2c",
    google_token="ya29.static-test-token-6d1f",
    baidu_token="bAiDuT0kEn42xyz",
    bing_key="b1ngap1key0123456789abcdef",
)


@pytest.fixture
def site():
    return SITE


@pytest.fixture
def creds():
    return CREDS


@pytest.fixture
def fake():
    with FakeEngines(
        sites=[SITE],
        indexnow_keys=[CREDS.indexnow_key],
        google_tokens=[CREDS.google_token],
        baidu_tokens=[CREDS.baidu_token],
        bing_api_keys=[CREDS.bing_key],
    ) as server:
        yield server


@pytest.fixture
def slept():
    """The delays the client would have slept, in order."""
    return []


@pytest.fixture
def client(slept):
    return Client(timeout=10, retries=2, backoff=0.5, sleep=slept.append)


@pytest.fixture
def make_urls():
    def make(count, host="example.com"):
        return [f"https://{host}/post/{number}" for number in range(count)]

    return make


@pytest.fixture
def closed_port():
    """A 127.0.0.1 port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def no_secret():
    """assert that none of `secrets` appears anywhere in an Outcome."""

    def check(outcome, *secrets):
        text = json.dumps(outcome.as_dict())
        for secret in secrets:
            assert secret not in text

    return check


@pytest.fixture
def assert_outcome():
    """assert that an Outcome's as_dict() is exactly `fields` over an outcome that accepted,
    rejected and deferred nothing, had no error and no warning, and sent no request."""

    def check(outcome, **fields):
        expected = {
            "accepted": [],
            "rejected": [],
            "deferred": [],
            "error": None,
            "warnings": [],
            "requests": 0,
        }
        assert set(fields) <= set(expected), fields
        expected.update(fields)
        assert outcome.as_dict() == expected

    return check
