# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP for the collection's modules: ansible.module_utils.urls underneath, plus bounded retries
with exponential backoff that honour Retry-After on 429 and 5xx, a count of the requests sent,
and a curl --resolve style override that sends one host's requests to another address while
keeping its name for the Host header, SNI and certificate checks."""

from __future__ import annotations

import contextlib
import email.utils
import json
import socket
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import Request

RETRY_STATUSES = frozenset([429, 500, 502, 503, 504])
USER_AGENT = "selfhosted.flask_blog (+https://github.com/selfhosted/flask_blog)"


class TransportError(Exception):
    """No HTTP answer at all: refused, timed out, TLS failure, name not resolved."""


class Response:
    def __init__(self, status, headers, body, url):
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body or b""
        self.url = url

    @property
    def text(self):
        return to_text(self.body, errors="surrogate_or_replace")

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @property
    def ok(self):
        return 200 <= self.status < 300


def retry_after_seconds(value, now=None):
    """Retry-After as seconds: either delta-seconds or an HTTP-date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0, int(when.timestamp() - (time.time() if now is None else now)))


def resolve_for(connect_to, *urls):
    """The Client `resolve` mapping that sends the hosts of `urls` to `connect_to` (None when
    connect_to is empty: DNS as usual)."""
    if not connect_to:
        return None
    return {urlsplit(url).hostname: connect_to for url in urls if url and urlsplit(url).hostname}


@contextlib.contextmanager
def _resolved(resolve):
    """While active, names in `resolve` connect to the address mapped to them."""
    if not resolve:
        yield
        return
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real(resolve.get(host, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class Client:
    """One place that sends the modules' HTTP requests.

    retries: how many times a request is repeated after a 429, a 5xx or a transport error
    (0 = never); the wait is backoff * 2**n seconds, or the server's Retry-After, capped at
    max_delay. resolve: {host name: address to connect to instead}.
    """

    def __init__(
        self,
        timeout=30,
        validate_certs=True,
        retries=3,
        backoff=1.0,
        max_delay=60.0,
        resolve=None,
        sleep=time.sleep,
    ):
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.retries = retries
        self.backoff = backoff
        self.max_delay = max_delay
        self.resolve = dict(resolve or {})
        self.sleep = sleep
        self.requests = 0
        self.waited = 0.0

    def _once(self, method, url, data, headers):
        self.requests += 1
        host = urlsplit(url).hostname
        resolve = {host: self.resolve[host]} if host in self.resolve else None
        request = Request(
            headers=headers,
            timeout=self.timeout,
            validate_certs=self.validate_certs,
            http_agent=USER_AGENT,
            follow_redirects="safe" if method in ("GET", "HEAD") else "none",
            use_proxy=resolve is None,
        )
        try:
            with _resolved(resolve):
                # decompress=False: a gzip Content-Encoding is never inflated without a bound
                # (no Accept-Encoding is sent, so servers do not compress anyway).
                answer = request.open(method, url, data=data, decompress=False)
                body = answer.read()
            return Response(answer.status, dict(answer.headers.items()), body, answer.geturl())
        except HTTPError as err:
            body = err.read() if hasattr(err, "read") else b""
            headers = dict(err.headers.items()) if err.headers else {}
            return Response(err.code, headers, body, url)
        except (URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise TransportError(f"{method} {url}: {to_native(reason)}") from err

    def request(self, method, url, data=None, headers=None, retry=True):
        """Send a request; return the final Response (any status). Raises TransportError when
        every attempt failed without an HTTP answer."""
        attempt = 0
        while True:
            try:
                response = self._once(method, url, data, headers or {})
            except TransportError:
                if not retry or attempt >= self.retries:
                    raise
                delay = None
            else:
                if not retry or response.status not in RETRY_STATUSES or attempt >= self.retries:
                    return response
                delay = retry_after_seconds(response.headers.get("retry-after"))
            if delay is None:
                delay = self.backoff * (2**attempt)
            delay = min(float(delay), self.max_delay)
            self.waited += delay
            self.sleep(delay)
            attempt += 1

    def get(self, url, headers=None):
        return self.request("GET", url, headers=headers)

    def post_json(self, url, payload, headers=None):
        headers = dict(headers or {})
        headers["Content-Type"] = "application/json; charset=utf-8"
        return self.request("POST", url, data=json.dumps(payload).encode("utf-8"), headers=headers)


def error_message(response):
    """The server's own words for a failed response: a JSON message field when there is one,
    else the start of the body."""
    data = response.json()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return "{} ({})".format(err["message"], err.get("status") or err.get("code"))
        for key in ("message", "Message", "error_description"):
            if data.get(key):
                return to_text(data[key])
        if err:
            return to_text(err)
    text = response.text.strip()
    return text[:300] if text else f"HTTP {response.status} with an empty body"


def client_argument_spec(timeout):
    """The argument spec of the Client options that the selfhosted.flask_blog.site_client doc
    fragment documents: connect_to, validate_certs, and timeout with the module's `timeout`
    default."""
    return {
        "connect_to": {"type": "str"},
        "validate_certs": {"type": "bool", "default": True},
        "timeout": {"type": "int", "default": timeout},
    }
