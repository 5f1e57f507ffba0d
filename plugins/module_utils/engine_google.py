# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google: the Search Console API's sitemaps.submit (PUT .../sites/<property>/sitemaps/<sitemap>),
with an OAuth access token given as is or obtained from a service account's key (a JWT signed
with RS256, exchanged at the token URI). Google takes the sitemap, not single URLs; its old
sitemap "ping" URL is gone."""

from __future__ import annotations

import base64
import json
import time
import traceback
from urllib.parse import quote, urlencode, urlsplit

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import (
    Engine,
    EngineError,
    run_submission,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import error_message

try:
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None

DEFAULT_ENDPOINT = "https://www.googleapis.com/webmasters/v3"
DEFAULT_OAUTH_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/webmasters"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600
KEY_OPTIONS = ("service_account_key", "service_account_file")


def cryptography_missing():
    """What to say when a service account's token must be signed without `cryptography`."""
    return missing_required_lib("cryptography") + " (to sign the service account's token)"


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _private_key(account):
    """The account's private key object (ValueError when it is not a PEM private key)."""
    pem = account["private_key"].encode("utf-8")
    return serialization.load_pem_private_key(pem, password=None, backend=default_backend())


def _loads(account):
    """Whether the account's private_key is a PEM private key `cryptography` can load."""
    try:
        _private_key(account)
    except (ValueError, TypeError):
        return False
    return True


def signed_jwt(account, audience, now):
    """The RS256-signed JWT that asks `audience` (the token URI) for a token with SCOPE."""
    header = {"alg": "RS256", "typ": "JWT"}
    if account.get("private_key_id"):
        header["kid"] = account["private_key_id"]
    claims = {
        "iss": account["client_email"],
        "scope": SCOPE,
        "aud": audience,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode("utf-8"))
        for part in (header, claims)
    )
    signature = _private_key(account).sign(
        signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
    )
    return signing_input + "." + _b64url(signature)


def load_account(options, option):
    """The service-account key in `option` (service_account_key: JSON text or a dict;
    service_account_file: a path) as a dict. ValueError naming the option, never quoting the
    key, when it cannot be read or is not a service-account key."""
    value = options.get(option)
    if option == "service_account_file":
        try:
            with open(value, encoding="utf-8") as handle:
                value = handle.read()
        except (OSError, UnicodeError) as err:
            reason = getattr(err, "strerror", None) or "not UTF-8 text"
            raise ValueError(f"service_account_file {options[option]}: {reason}") from None
    if isinstance(value, dict):
        data = value
    else:
        try:
            data = json.loads(value)
        except (TypeError, ValueError):
            raise ValueError(f"{option} is not JSON (a service-account key)") from None
    if not isinstance(data, dict) or data.get("type", "service_account") != "service_account":
        raise ValueError(f"{option} is not a service-account key")
    for field in ("client_email", "private_key"):
        if not data.get(field) or not isinstance(data[field], str):
            raise ValueError(f"{option} is not a service-account key: it has no {field}")
    return data


class Google(Engine):
    name = "google"
    credentials = (("access_token", "service_account_file", "service_account_key"),)
    takes = "sitemap"
    clock = staticmethod(time.time)

    def _account_option(self):
        """The option the service account comes from, None when access_token is used."""
        if self.options.get("access_token"):
            return None
        return next((name for name in KEY_OPTIONS if self.options.get(name)), None)

    def _property(self):
        return self.options.get("property") or self.site

    def check_options(self):
        problems = []
        prop = self._property()
        if not prop.startswith("sc-domain:") and not (
            urlsplit(prop).scheme in ("http", "https") and prop.endswith("/")
        ):
            problems.append(
                "google: property must be a URL-prefix property such as https://example.com/"
                " or a domain property such as sc-domain:example.com"
            )
        for option in KEY_OPTIONS:
            if not self.options.get(option):
                continue
            try:
                account = load_account(self.options, option)
            except ValueError as err:
                problems.append(f"google: {err}")
                continue
            if HAS_CRYPTOGRAPHY and not _loads(account):
                problems.append(f"google: {option}: private_key is not a PEM private key")
        if self._account_option() and not HAS_CRYPTOGRAPHY:
            problems.append("google: " + cryptography_missing())
        return problems

    def submit(self, urls, sitemap_url):
        secrets = [self.options.get("access_token")]
        return run_submission(self, secrets, self._send, urls, sitemap_url)

    def _send(self, outcome, urls, sitemap_url):
        if not sitemap_url:
            raise EngineError("no sitemap URL to submit")
        option = self._account_option()
        account = None
        if option:
            try:
                account = load_account(self.options, option)
            except ValueError as err:
                raise EngineError(str(err)) from None
            token = self._token(account)
        else:
            token = self.options["access_token"]
        prop = self._property()
        endpoint = (self.options.get("endpoint") or DEFAULT_ENDPOINT).rstrip("/")
        url = f"{endpoint}/sites/{quote(prop, safe='')}/sitemaps/{quote(sitemap_url, safe='')}"
        response = self.client.request("PUT", url, headers={"Authorization": "Bearer " + token})
        if not response.ok:
            raise EngineError(self._api_error(response, prop, account))
        outcome.accepted.extend(urls)

    def _token(self, account):
        """An access token for the service account, from its token URI."""
        if not HAS_CRYPTOGRAPHY:
            raise EngineError(cryptography_missing())
        token_uri = self.options.get("token_uri") or account.get("token_uri") or DEFAULT_OAUTH_URI
        if not _loads(account):
            raise EngineError("the service account's private_key is not a PEM private key")
        assertion = signed_jwt(account, token_uri, int(self.clock()))
        body = urlencode({"grant_type": GRANT_TYPE, "assertion": assertion}).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        response = self.client.request("POST", token_uri, data=body, headers=headers)
        data = response.json()
        if response.ok and isinstance(data, dict) and data.get("access_token"):
            return data["access_token"]
        reason = error_message(response)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            reason = data["error"]
            if data.get("error_description"):
                reason += f": {data['error_description']}"
        raise EngineError(
            f"no access token for the service account {account['client_email']} from"
            f" {token_uri}: {response.status}: {reason}"
        )

    @staticmethod
    def _api_error(response, prop, account):
        reason = error_message(response)
        if response.status == 403:
            if account:
                who = f"the service account {account['client_email']}"
            else:
                who = "the account of access_token"
            return (
                f"403: {who} has no access to property {prop}: add it as an owner/user in"
                f" Search Console ({reason})"
            )
        if response.status == 401:
            return f"401: the access token was refused ({reason})"
        return f"{response.status}: {reason}"
