# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes of the search engines' submission APIs, in one HTTP server (standard library only;
`cryptography` only to verify Google JWT signatures when a public key is given):

  POST /indexnow                                      IndexNow
  PUT  /webmasters/v3/sites/<property>/sitemaps/<feed>  Google Search Console sitemaps.submit
  POST /token                                         Google OAuth token (JWT bearer grant)
  POST /urls?site=&token=                             Baidu URL push
  GET  /webmaster/api.svc/json/GetUrlSubmissionQuota  Bing Webmaster
  POST /webmaster/api.svc/json/SubmitUrlBatch         Bing Webmaster

Each validates requests as its engine does (method, Content-Type, body shape, size limits,
keys, tokens, quotas, the site's host) and answers with the engine's statuses and bodies.
`sites` are the sites the fake accounts own (base URLs); with none, any site is owned.

In tests:
    with FakeEngines(indexnow_keys=["k..."], sites=["https://example.com/"]) as fake:
        fake.url                     # http://127.0.0.1:<port>
        fake.inject("/indexnow", status=429, headers={"Retry-After": "2"}, times=1)
        fake.requests                # [{"engine", "method", "path", "query", "params",
                                     #   "headers", "body", "status"}]

Standalone (runs until killed): python3 tests/fakes/engines.py --help
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

INDEXNOW_KEY = re.compile(r"^[a-zA-Z0-9-]{8,128}$")
INDEXNOW_MAX_URLS = 10000
BAIDU_MAX_URLS = 2000
BING_MAX_URLS = 500
BING = "/webmaster/api.svc/json"
BING_QUOTA_TYPE = "UrlSubmissionQuota:#Microsoft.Bing.Webmaster.Api"
GOOGLE_SITES = "/webmasters/v3/sites/"
GOOGLE_SCOPE = "https://www.googleapis.com/auth/webmasters"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
    " Check your iat and exp values in the JWT claim."
)

# path: (method, handler method, engine)
ROUTES = {
    "/indexnow": ("POST", "indexnow", "indexnow"),
    "/token": ("POST", "google_token", "google"),
    "/urls": ("POST", "baidu_urls", "baidu"),
    BING + "/GetUrlSubmissionQuota": ("GET", "bing_quota", "bing"),
    BING + "/SubmitUrlBatch": ("POST", "bing_submit", "bing"),
}


def engine_of(path):
    if path.startswith(("/webmasters/", "/token")):
        return "google"
    if path.startswith("/webmaster/"):
        return "bing"
    if path.startswith("/urls"):
        return "baidu"
    if path.startswith("/indexnow"):
        return "indexnow"
    return "unknown"


def host_of(url):
    """The URL's host name, lower case ('' when it has none); a bare host is taken as is."""
    if "//" not in url:
        url = "//" + url
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_http_url(url):
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in url


def site_url(url):
    """A site's base URL as Bing and Search Console name it: lower-case scheme and host, a
    trailing slash."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}/"


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_public_key(pem):
    """The PEM public key (str or bytes) as a cryptography key; ValueError when it is none."""
    return serialization.load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)


def google_error(code, status, message):
    return {"error": {"code": code, "message": message, "status": status}}


def oauth_error(error, description):
    return {"error": error, "error_description": description}


class FakeEngines:
    """The fake server and its state; the attributes may be changed between requests."""

    def __init__(
        self,
        sites=(),
        indexnow_keys=(),
        indexnow_pending=False,
        google_tokens=(),
        google_public_key=None,
        google_client_email=None,
        baidu_tokens=(),
        baidu_remain=100000,
        bing_api_keys=(),
        bing_daily_quota=10000,
        bing_monthly_quota=None,
        host="127.0.0.1",
        port=0,
        log=None,
    ):
        if google_public_key and not HAS_CRYPTOGRAPHY:
            raise RuntimeError("a Google public key needs the Python library cryptography")
        if google_public_key:
            load_public_key(google_public_key)  # ValueError now rather than at the first JWT
        self.sites = [site_url(site) for site in sites]
        self.indexnow_keys = set(indexnow_keys)
        self.indexnow_pending = indexnow_pending  # True: answer 202, the key check pending
        self.google_tokens = set(google_tokens)
        self.google_public_key = google_public_key  # PEM, str or bytes
        self.google_client_email = google_client_email  # None: any iss
        self.baidu_tokens = set(baidu_tokens)
        self.baidu_remain = baidu_remain
        self.bing_api_keys = set(bing_api_keys)
        self.bing_daily_quota = bing_daily_quota
        self.bing_monthly_quota = (
            bing_daily_quota * 30 if bing_monthly_quota is None else bing_monthly_quota
        )
        self.log = log
        self.requests = []
        self.sitemaps = []  # [{"property", "sitemap"}] Google took
        self.jwts = []  # [(header, claims)] of the assertions /token received
        self.issued_tokens = []
        self.lock = threading.RLock()
        self._injected = []
        self._thread = None
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.server.fake = self

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    # Running

    def start(self):
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        if self._thread:
            self._thread.join(10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # Test controls

    def inject(self, path, status=200, body=None, headers=None, times=1, skip=0):
        """Answer `times` requests to `path` (or below it: "/webmasters/v3"), after letting the
        next `skip` through, with this instead of the fake's own answer. body: dict or list
        (sent as JSON), str or bytes."""
        with self.lock:
            self._injected.append(
                {
                    "path": path,
                    "status": status,
                    "body": body,
                    "headers": headers,
                    "times": times,
                    "skip": skip,
                }
            )

    def take_injected(self, path):
        with self.lock:
            for item in self._injected:
                if path == item["path"] or path.startswith(item["path"].rstrip("/") + "/"):
                    if item["skip"] > 0:
                        item["skip"] -= 1
                        return None
                    item["times"] -= 1
                    if item["times"] <= 0:
                        self._injected.remove(item)
                    return item["status"], item["body"], dict(item["headers"] or {})
        return None

    def requests_for(self, engine, path=None):
        return [
            r
            for r in self.requests
            if r["engine"] == engine and (path is None or r["path"].startswith(path))
        ]

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)
            if self.log:
                with open(self.log, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(entry) + "\n")

    # Ownership

    def owns_host(self, host):
        return not self.sites or host in {host_of(site) for site in self.sites}

    def owns_site_url(self, url):
        return not self.sites or (is_http_url(url or "") and site_url(url) in self.sites)

    def owns_property(self, prop):
        if not self.sites:
            return True
        if prop.startswith("sc-domain:"):
            return self.owns_host(prop[len("sc-domain:") :].lower())
        return self.owns_site_url(prop)


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeEngines/1"
    timeout = 30

    def do_GET(self):
        self.handle_request("GET")

    def do_POST(self):
        self.handle_request("POST")

    def do_PUT(self):
        self.handle_request("PUT")

    def do_DELETE(self):
        self.handle_request("DELETE")

    def log_message(self, format, *args):
        """Quiet: the requests are in FakeEngines.requests and the --log file."""

    @property
    def fake(self):
        return self.server.fake

    def handle_request(self, method):
        parts = urlsplit(self.path)
        self.query = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.params = {}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length > 0 else b""
        with self.fake.lock:
            answer = self.fake.take_injected(parts.path) or self.dispatch(method, parts.path)
            status, body, headers = answer if len(answer) == 3 else (*answer, {})
            self.fake.record(
                {
                    "engine": engine_of(parts.path),
                    "method": method,
                    "path": parts.path,
                    "query": self.query,
                    "params": self.params,
                    "headers": {
                        "authorization": self.headers.get("Authorization"),
                        "content-type": self.headers.get("Content-Type"),
                    },
                    "body": self.body.decode("utf-8", "replace"),
                    "status": status,
                }
            )
        self.answer(status, body, headers)

    def dispatch(self, method, path):
        if path.startswith(GOOGLE_SITES):
            route = ("PUT", "google_sitemap", "google")
        else:
            route = ROUTES.get(path)
        if route is None:
            return self.not_found(path)
        if method != route[0]:
            return 405, {"error": f"{method} not allowed"}, {"Allow": route[0]}
        return getattr(self, route[1])()

    def not_found(self, path):
        engine = engine_of(path)
        if engine == "baidu":
            return 404, {"error": 404, "message": "not found"}
        if engine == "google":
            return 404, google_error(404, "NOT_FOUND", "Not Found")
        return 404, {"error": "not found"}

    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def json_body(self):
        """The body as JSON, None when it is not."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except ValueError:
            return None

    def answer(self, status, body, headers):
        content_type = None
        if isinstance(body, (dict, list)):
            payload, content_type = json.dumps(body).encode("utf-8"), "application/json"
        elif isinstance(body, str):
            payload, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload = body or b""
        if status == 204:
            payload = b""
        self.send_response(status)
        if content_type and "Content-Type" not in headers:
            self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, str(value))
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    # IndexNow: https://www.indexnow.org/documentation

    def indexnow(self):
        data = self.json_body()
        if self.content_type() != "application/json" or not isinstance(data, dict):
            return 400, {"code": "InvalidRequestParameters", "message": "Invalid JSON body"}
        urls = data.get("urlList")
        if (
            not isinstance(data.get("host"), str)
            or not isinstance(data.get("key"), str)
            or not isinstance(urls, list)
            or not urls
            or not all(isinstance(url, str) for url in urls)
        ):
            return 400, {
                "code": "InvalidRequestParameters",
                "message": "host, key and urlList (a non-empty list of URLs) are required",
            }
        if len(urls) > INDEXNOW_MAX_URLS:
            return 400, {
                "code": "InvalidRequestParameters",
                "message": f"urlList holds {len(urls)} URLs, at most {INDEXNOW_MAX_URLS}",
            }
        host, key, location = data["host"].lower(), data["key"], data.get("keyLocation")
        if not INDEXNOW_KEY.match(key):
            return 422, {"code": "InvalidKey", "message": "The key does not match the schema"}
        if any(host_of(url) != host for url in urls) or (
            location is not None and (not isinstance(location, str) or host_of(location) != host)
        ):
            return 422, {
                "code": "UrlNotBelongToHost",
                "message": f"URLs or keyLocation not on the host {host}",
            }
        if key not in self.fake.indexnow_keys or not self.fake.owns_host(host):
            return 403, {
                "code": "UserForbiddedToAccessSite",
                "message": "Key not valid: the key file was not found or does not hold the key",
            }
        return (202 if self.fake.indexnow_pending else 200), None

    # Google: Search Console sitemaps.submit and the OAuth 2.0 token endpoint

    def google_sitemap(self):
        pieces = urlsplit(self.path).path[len(GOOGLE_SITES) :].split("/")
        if len(pieces) != 3 or pieces[1] != "sitemaps" or not pieces[0] or not pieces[2]:
            return 404, google_error(404, "NOT_FOUND", "Not Found")
        prop, feed = unquote(pieces[0]), unquote(pieces[2])
        self.params = {"property": prop, "sitemap": feed}
        authorization = self.headers.get("Authorization") or ""
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else None
        if token not in self.fake.google_tokens:
            return 401, google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token,"
                " login cookie or other valid authentication credential.",
            )
        if not self.fake.owns_property(prop):
            return 403, google_error(
                403,
                "PERMISSION_DENIED",
                f"User does not have sufficient permission for site '{prop}'. See also:"
                " https://support.google.com/webmasters/answer/2451999.",
            )
        if prop.startswith("sc-domain:"):
            domain = prop[len("sc-domain:") :].lower()
            covered = host_of(feed) == domain or host_of(feed).endswith("." + domain)
        else:
            covered = feed.startswith(prop)
        if not is_http_url(feed) or not covered:
            return 400, google_error(
                400, "INVALID_ARGUMENT", f"Sitemap {feed} is not a URL of the property {prop}"
            )
        self.fake.sitemaps.append(dict(self.params))
        return 204, None

    def google_token(self):
        if self.content_type() != "application/x-www-form-urlencoded":
            return 400, oauth_error("invalid_request", "Content-Type must be a form")
        form = dict(parse_qsl(self.body.decode("utf-8", "replace")))
        if form.get("grant_type") != JWT_GRANT:
            return 400, oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}"
            )
        try:
            header_b64, claims_b64, signature_b64 = form.get("assertion", "").split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError:
            return 400, oauth_error("invalid_grant", "Invalid JWT: the assertion is not a JWT")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return 400, oauth_error("invalid_grant", "Invalid JWT: the assertion is not a JWT")
        self.fake.jwts.append((header, claims))
        if header.get("alg") != "RS256":
            return 400, oauth_error("invalid_grant", "Invalid JWT: the algorithm must be RS256")
        signed = (header_b64 + "." + claims_b64).encode("ascii")
        if self.fake.google_public_key and not self.verify(signed, signature):
            return 400, oauth_error("invalid_grant", "Invalid JWT Signature.")
        email = self.fake.google_client_email
        if not claims.get("iss") or (email and claims["iss"] != email):
            return 400, oauth_error("invalid_grant", "Invalid grant: account not found")
        if GOOGLE_SCOPE not in str(claims.get("scope") or "").split():
            return 400, oauth_error("invalid_scope", f"The scope must include {GOOGLE_SCOPE}")
        audiences = (GOOGLE_AUDIENCE, f"http://{self.headers.get('Host')}/token")
        if claims.get("aud") not in audiences:
            return 400, oauth_error(
                "invalid_grant",
                f"Invalid JWT: Failed audience check. The expected value was {audiences[-1]}",
            )
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if not all(isinstance(value, int) for value in (iat, exp)):
            return 400, oauth_error("invalid_grant", JWT_TIMES)
        if not iat < exp <= iat + 3600 or iat > now + 300 or exp < now - 300:
            return 400, oauth_error("invalid_grant", JWT_TIMES)
        token = "ya29.fake-" + secrets.token_hex(16)
        self.fake.google_tokens.add(token)
        self.fake.issued_tokens.append(token)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def verify(self, signed, signature):
        try:
            load_public_key(self.fake.google_public_key).verify(
                signature, signed, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature:
            return False
        return True

    # Baidu: the search resource platform's URL push (普通收录, API 提交)

    def baidu_urls(self):
        if self.query.get("token") not in self.fake.baidu_tokens:
            return 401, {"error": 401, "message": "token is not valid"}
        site_host = host_of(self.query.get("site") or "")
        if not site_host or not self.fake.owns_host(site_host):
            return 400, {"error": 400, "message": "site error"}
        if self.content_type() != "text/plain":
            return 400, {"error": 400, "message": "the fake takes text/plain only"}
        lines = self.body.decode("utf-8", "replace").splitlines()
        urls = [line.strip() for line in lines if line.strip()]
        if not urls:
            return 400, {"error": 400, "message": "empty content"}
        if len(urls) > BAIDU_MAX_URLS:
            return 400, {"error": 400, "message": "only 2000 urls are allowed once"}
        if len(urls) > self.fake.baidu_remain:
            return 400, {"error": 400, "message": "over quota"}
        not_valid = [url for url in urls if not is_http_url(url)]
        not_same_site = [url for url in urls if is_http_url(url) and host_of(url) != site_host]
        success = len(urls) - len(not_valid) - len(not_same_site)
        self.fake.baidu_remain -= success
        answer = {"remain": self.fake.baidu_remain, "success": success}
        if not_same_site:
            answer["not_same_site"] = not_same_site
        if not_valid:
            answer["not_valid"] = not_valid
        return 200, answer

    # Bing Webmaster API, JSON flavour (IWebmasterApi: GetUrlSubmissionQuota, SubmitUrlBatch)

    def bing_error(self):
        """The error every Bing call checks first: the API key, then the site."""
        if self.query.get("apikey") not in self.fake.bing_api_keys:
            return 400, {"ErrorCode": 3, "Message": "ERROR!!! InvalidApiKey"}
        return None

    def bing_quota(self):
        error = self.bing_error()
        if error:
            return error
        if not self.fake.owns_site_url(self.query.get("siteUrl")):
            return 400, {"ErrorCode": 14, "Message": "ERROR!!! NotAuthorized"}
        return 200, {
            "d": {
                "__type": BING_QUOTA_TYPE,
                "DailyQuota": self.fake.bing_daily_quota,
                "MonthlyQuota": self.fake.bing_monthly_quota,
            }
        }

    def bing_submit(self):
        error = self.bing_error()
        if error:
            return error
        data = self.json_body()
        if (
            self.content_type() != "application/json"
            or not isinstance(data, dict)
            or not isinstance(data.get("siteUrl"), str)
            or not isinstance(data.get("urlList"), list)
            or not data["urlList"]
            or not all(isinstance(url, str) for url in data["urlList"])
        ):
            return 400, {"ErrorCode": 8, "Message": "ERROR!!! InvalidParameter"}
        site, urls = data["siteUrl"], data["urlList"]
        if not self.fake.owns_site_url(site):
            return 400, {"ErrorCode": 14, "Message": "ERROR!!! NotAuthorized"}
        if len(urls) > BING_MAX_URLS:
            return 400, {"ErrorCode": 8, "Message": "ERROR!!! Max Urls quota is 500 at a time"}
        left = min(self.fake.bing_daily_quota, self.fake.bing_monthly_quota)
        if len(urls) > left:
            return 400, {
                "ErrorCode": 2,
                "Message": f"ERROR!!! Quota remaining for today: {left}, Submitted: {len(urls)}",
            }
        if any(not is_http_url(url) or host_of(url) != host_of(site) for url in urls):
            return 400, {"ErrorCode": 7, "Message": "ERROR!!! InvalidUrl"}
        self.fake.bing_daily_quota -= len(urls)
        self.fake.bing_monthly_quota -= len(urls)
        return 200, {"d": None}


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Fake IndexNow, Google Search Console (+ OAuth token), Baidu and Bing"
        " Webmaster submission APIs in one HTTP server; runs until killed.",
    )
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--log", metavar="FILE", help="append one JSON line per request")
    parser.add_argument(
        "--site",
        action="append",
        default=[],
        metavar="URL",
        help="a site the accounts own, e.g. https://blog.example.test/ (repeatable; none: any)",
    )
    parser.add_argument("--indexnow-key", action="append", default=[], metavar="KEY")
    parser.add_argument(
        "--indexnow-pending", action="store_true", help="answer 202: the key check pending"
    )
    parser.add_argument("--google-token", action="append", default=[], metavar="TOKEN")
    parser.add_argument(
        "--google-public-key",
        metavar="FILE",
        help="PEM public key that verifies the JWTs /token gets (needs cryptography);"
        " without it the claims are checked but not the signature",
    )
    parser.add_argument("--google-client-email", metavar="EMAIL", help="the only JWT iss taken")
    parser.add_argument("--baidu-token", action="append", default=[], metavar="TOKEN")
    parser.add_argument("--baidu-remain", type=int, default=100000, metavar="N")
    parser.add_argument("--bing-api-key", action="append", default=[], metavar="KEY")
    parser.add_argument("--bing-daily-quota", type=int, default=10000, metavar="N")
    parser.add_argument("--bing-monthly-quota", type=int, metavar="N")
    args = parser.parse_args(argv)
    public_key = None
    if args.google_public_key:
        with open(args.google_public_key, encoding="ascii") as handle:
            public_key = handle.read()
    try:
        fake = FakeEngines(
            sites=args.site,
            indexnow_keys=args.indexnow_key,
            indexnow_pending=args.indexnow_pending,
            google_tokens=args.google_token,
            google_public_key=public_key,
            google_client_email=args.google_client_email,
            baidu_tokens=args.baidu_token,
            baidu_remain=args.baidu_remain,
            bing_api_keys=args.bing_api_key,
            bing_daily_quota=args.bing_daily_quota,
            bing_monthly_quota=args.bing_monthly_quota,
            host=args.bind,
            port=args.port,
            log=args.log,
        )
    except (RuntimeError, OSError, ValueError) as err:
        parser.exit(2, f"engines.py: {err}\n")
    print(f"fake engines listening on {fake.url}", file=sys.stderr, flush=True)
    try:
        fake.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
