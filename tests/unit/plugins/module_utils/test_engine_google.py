"""Google against the fake: the Search Console sitemaps.submit PUT, and the service-account JWT
flow with a real RSA key the fake verifies."""

import json

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import engine_google
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_google import Google
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SITEMAP = "https://example.com/sitemap.xml"
EMAIL = "blog-submit@blog-project.iam.gserviceaccount.com"
SITEMAPS_PATH = "/webmasters/v3/sites/https%3A%2F%2Fexample.com%2F/sitemaps/"


def _pem_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@pytest.fixture(scope="module")
def rsa_pair():
    return _pem_pair()


@pytest.fixture(scope="module")
def other_private_key():
    return _pem_pair()[0]


@pytest.fixture
def account(fake, rsa_pair):
    """The service-account key, its token_uri the fake's, which knows its public key."""
    fake.google_public_key = rsa_pair[1]
    fake.google_client_email = EMAIL
    return {
        "type": "service_account",
        "project_id": "blog-project",
        "private_key_id": "3f1e2d4c5b6a",
        "private_key": rsa_pair[0],
        "client_email": EMAIL,
        "client_id": "108000000000000000001",
        "token_uri": fake.url + "/token",
    }


def options(fake, **values):
    base = {
        "access_token": None,
        "service_account_file": None,
        "service_account_key": None,
        "property": None,
        "endpoint": fake.url + "/webmasters/v3",
        "token_uri": None,
    }
    base.update(values)
    return base


def test_access_token_success(client, fake, site, creds, make_urls, assert_outcome):
    urls = make_urls(3)
    outcome = Google(client, options(fake, access_token=creds.google_token), site).submit(
        urls, SITEMAP
    )
    assert_outcome(outcome, accepted=urls, requests=1)
    (request,) = fake.requests
    assert request["method"] == "PUT"
    assert request["path"] == SITEMAPS_PATH + "https%3A%2F%2Fexample.com%2Fsitemap.xml"
    assert request["params"] == {"property": site, "sitemap": SITEMAP}
    assert request["headers"]["authorization"] == "Bearer " + creds.google_token
    assert request["body"] == ""
    assert request["status"] == 204
    assert fake.sitemaps == [{"property": site, "sitemap": SITEMAP}]


def test_domain_property_is_percent_encoded(client, fake, site, creds):
    opts = options(fake, access_token=creds.google_token, property="sc-domain:example.com")
    sitemap = "https://www.example.com/sitemaps/posts.xml?lang=pt-BR&page=2"
    outcome = Google(client, opts, site).submit(["https://www.example.com/a"], sitemap)
    assert outcome.error is None
    (request,) = fake.requests
    assert request["path"] == (
        "/webmasters/v3/sites/sc-domain%3Aexample.com/sitemaps/"
        "https%3A%2F%2Fwww.example.com%2Fsitemaps%2Fposts.xml%3Flang%3Dpt-BR%26page%3D2"
    )
    assert request["query"] == {}
    assert request["params"] == {"property": "sc-domain:example.com", "sitemap": sitemap}


@pytest.mark.parametrize("form", ["json", "dict", "file"])
def test_service_account_jwt_flow(client, fake, site, account, tmp_path, form, make_urls):
    if form == "file":
        path = tmp_path / "key.json"
        path.write_text(json.dumps(account))
        opts = options(fake, service_account_file=str(path))
    else:
        value = json.dumps(account) if form == "json" else account
        opts = options(fake, service_account_key=value)
    outcome = Google(client, opts, site).submit(make_urls(2), SITEMAP)
    assert outcome.error is None
    assert outcome.accepted == make_urls(2)
    assert outcome.requests == 2
    token_request, put = fake.requests
    assert token_request["path"] == "/token" and token_request["status"] == 200
    assert token_request["headers"]["content-type"] == "application/x-www-form-urlencoded"
    ((header, claims),) = fake.jwts
    assert header == {"alg": "RS256", "typ": "JWT", "kid": "3f1e2d4c5b6a"}
    assert claims["iss"] == EMAIL
    assert claims["scope"] == "https://www.googleapis.com/auth/webmasters"
    assert claims["aud"] == fake.url + "/token"
    assert claims["exp"] - claims["iat"] == 3600
    assert put["headers"]["authorization"] == "Bearer " + fake.issued_tokens[0]
    assert put["status"] == 204


def test_no_kid_without_private_key_id(client, fake, site, account):
    del account["private_key_id"]
    outcome = Google(client, options(fake, service_account_key=account), site).submit([], SITEMAP)
    assert outcome.error is None
    assert fake.jwts[0][0] == {"alg": "RS256", "typ": "JWT"}


def test_token_uri_option_wins_over_the_keys(client, fake, site, account):
    account["token_uri"] = "http://127.0.0.1:9/never-used"
    opts = options(fake, service_account_key=account, token_uri=fake.url + "/token")
    outcome = Google(client, opts, site).submit([], SITEMAP)
    assert outcome.error is None
    assert fake.jwts[0][1]["aud"] == fake.url + "/token"


def test_access_token_wins_over_a_service_account(client, fake, site, account, creds):
    opts = options(fake, access_token=creds.google_token, service_account_key=account)
    outcome = Google(client, opts, site).submit([], SITEMAP)
    assert outcome.error is None
    assert [r["path"] for r in fake.requests] == [
        SITEMAPS_PATH + "https%3A%2F%2Fexample.com%2Fsitemap.xml"
    ]


def test_invalid_grant_names_the_engines_error(client, fake, site, account, other_private_key):
    account["private_key"] = other_private_key  # signed by a key the fake does not know
    outcome = Google(client, options(fake, service_account_key=account), site).submit(
        ["https://example.com/a"], SITEMAP
    )
    assert outcome.accepted == []
    assert outcome.error == (
        f"google: no access token for the service account {EMAIL} from {fake.url}/token:"
        " 400: invalid_grant: Invalid JWT Signature."
    )
    assert [r["path"] for r in fake.requests] == ["/token"]
    assert "PRIVATE KEY" not in outcome.error


def test_unknown_account_is_invalid_grant(client, fake, site, account):
    fake.google_client_email = "someone-else@blog-project.iam.gserviceaccount.com"
    outcome = Google(client, options(fake, service_account_key=account), site).submit([], SITEMAP)
    assert outcome.error.endswith("400: invalid_grant: Invalid grant: account not found")


def test_403_on_a_property_says_what_to_do(client, fake, site, account):
    opts = options(fake, service_account_key=account, property="https://other.example/")
    outcome = Google(client, opts, site).submit(
        ["https://other.example/a"], "https://other.example/sitemap.xml"
    )
    assert outcome.accepted == []
    assert outcome.error.startswith(
        f"google: 403: the service account {EMAIL} has no access to property"
        " https://other.example/: add it as an owner/user in Search Console ("
    )
    assert "PERMISSION_DENIED" in outcome.error


def test_403_with_an_access_token(client, fake, site, creds):
    opts = options(fake, access_token=creds.google_token, property="sc-domain:other.example")
    outcome = Google(client, opts, site).submit([], "https://other.example/sitemap.xml")
    assert outcome.error.startswith(
        "google: 403: the account of access_token has no access to property sc-domain:other.example"
    )


def test_401_on_a_bad_token(client, fake, site, no_secret):
    outcome = Google(client, options(fake, access_token="ya29.expired"), site).submit(
        ["https://example.com/a"], SITEMAP
    )
    assert outcome.error.startswith("google: 401: the access token was refused (")
    assert "UNAUTHENTICATED" in outcome.error
    no_secret(outcome, "ya29.expired")


def test_sitemap_outside_the_property_is_the_apis_400(client, fake, site, creds):
    opts = options(fake, access_token=creds.google_token)
    outcome = Google(client, opts, site).submit([], "https://cdn.example.net/sitemap.xml")
    assert outcome.error.startswith("google: 400: Sitemap https://cdn.example.net/sitemap.xml")


def test_no_sitemap_url_is_an_error(client, fake, site, creds):
    opts = options(fake, access_token=creds.google_token)
    outcome = Google(client, opts, site).submit(["https://example.com/a"], None)
    assert outcome.error == "google: no sitemap URL to submit"
    assert fake.requests == []


def test_429_retry_after_then_success(client, fake, site, creds, slept):
    fake.inject("/webmasters/v3", status=429, headers={"Retry-After": "2"}, times=1)
    outcome = Google(client, options(fake, access_token=creds.google_token), site).submit(
        ["https://example.com/a"], SITEMAP
    )
    assert slept == [2.0]
    assert outcome.error is None and outcome.requests == 2
    assert [r["status"] for r in fake.requests] == [429, 204]


def test_5xx_retries_are_bounded(client, fake, site, creds, slept):
    body = {
        "error": {"code": 503, "message": "The service is unavailable.", "status": "UNAVAILABLE"}
    }
    fake.inject("/webmasters/v3", status=503, body=body, times=10)
    outcome = Google(client, options(fake, access_token=creds.google_token), site).submit(
        ["https://example.com/a"], SITEMAP
    )
    assert len(fake.requests) == 3 and outcome.requests == 3
    assert slept == [0.5, 1.0]
    assert outcome.error == "google: 503: The service is unavailable. (UNAVAILABLE)"
    assert outcome.accepted == []


def test_token_endpoint_5xx_is_bounded_too(client, fake, site, account):
    fake.inject("/token", status=500, body={"error": "internal_failure"}, times=10)
    outcome = Google(client, options(fake, service_account_key=account), site).submit([], SITEMAP)
    assert outcome.requests == 3
    assert outcome.error.endswith(f"{fake.url}/token: 500: internal_failure")


def test_no_answer_is_an_error(client, fake, site, creds, closed_port):
    opts = options(fake, access_token=creds.google_token)
    opts["endpoint"] = f"http://127.0.0.1:{closed_port}/webmasters/v3"
    client.retries = 0
    outcome = Google(client, opts, site).submit([], SITEMAP)
    assert outcome.error.startswith("google: no answer: PUT http://127.0.0.1:")


def test_missing_credentials(client, site):
    assert Google(client, {}, site).missing_credentials() == [
        "access_token or service_account_file or service_account_key"
    ]
    assert Google(client, {"service_account_file": "/k.json"}, site).missing_credentials() == []


def test_check_options_accepts_good_keys_and_properties(client, fake, site, account, tmp_path):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(account))
    for prop in (None, "https://example.com/", "http://example.com/blog/", "sc-domain:example.com"):
        opts = options(
            fake, service_account_key=account, service_account_file=str(path), property=prop
        )
        assert Google(client, opts, site).check_options() == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("{not json", "google: service_account_key is not JSON (a service-account key)"),
        ('["a", "list"]', "google: service_account_key is not a service-account key"),
        (
            {"type": "authorized_user", "client_email": "x", "private_key": "y"},
            "google: service_account_key is not a service-account key",
        ),
        (
            {"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE"},
            "google: service_account_key is not a service-account key: it has no client_email",
        ),
        (
            {"client_email": EMAIL},
            "google: service_account_key is not a service-account key: it has no private_key",
        ),
        (
            {"client_email": EMAIL, "private_key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"},
            "google: service_account_key: private_key is not a PEM private key",
        ),
    ],
)
def test_check_options_refuses_bad_keys_without_quoting_them(client, fake, site, value, problem):
    opts = options(fake, service_account_key=value)
    problems = Google(client, opts, site).check_options()
    assert problems == [problem]
    assert "c2VjcmV0" not in problems[0] and "{not" not in problems[0]


def test_check_options_refuses_an_unreadable_or_bad_file(client, fake, site, tmp_path):
    missing = tmp_path / "missing.json"
    bad = tmp_path / "bad.json"
    bad.write_text("private_key: hunter2")
    for path, problem in (
        (missing, f"google: service_account_file {missing}: No such file or directory"),
        (bad, "google: service_account_file is not JSON (a service-account key)"),
    ):
        problems = Google(
            client, options(fake, service_account_file=str(path)), site
        ).check_options()
        assert problems == [problem]
        assert "hunter2" not in problems[0]


def test_check_options_refuses_a_bad_property(client, fake, site, creds):
    for prop in ("example.com", "https://example.com", "ftp://example.com/"):
        opts = options(fake, access_token=creds.google_token, property=prop)
        (problem,) = Google(client, opts, site).check_options()
        assert problem.startswith("google: property must be a URL-prefix property")


def test_without_cryptography(client, fake, site, account, creds, monkeypatch):
    monkeypatch.setattr(engine_google, "HAS_CRYPTOGRAPHY", False)
    engine = Google(client, options(fake, service_account_key=account), site)
    (problem,) = engine.check_options()
    assert problem.startswith("google: Failed to import the required Python library (cryptography)")
    outcome = engine.submit(["https://example.com/a"], SITEMAP)
    assert "required Python library (cryptography)" in outcome.error
    assert outcome.requests == 0 and fake.requests == []
    token_only = Google(client, options(fake, access_token=creds.google_token), site)
    assert token_only.check_options() == []
    assert token_only.submit([], SITEMAP).error is None


def test_import_error_is_exposed():
    assert engine_google.HAS_CRYPTOGRAPHY is True
    assert engine_google.CRYPTOGRAPHY_IMPORT_ERROR is None


def test_secrets_never_appear_in_the_outcome(client, fake, site, account, creds, no_secret):
    fake.inject("/webmasters/v3", status=400, body={"error": f"bad token {creds.google_token}"})
    outcome = Google(client, options(fake, access_token=creds.google_token), site).submit(
        [], SITEMAP
    )
    assert "bad token ********" in outcome.error
    no_secret(outcome, creds.google_token)
    account["private_key"] = account["private_key"].replace("MII", "XXX")
    outcome = Google(client, options(fake, service_account_key=account), site).submit([], SITEMAP)
    assert outcome.error == "google: the service account's private_key is not a PEM private key"
