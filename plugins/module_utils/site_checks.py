# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release checklist of the site_health module, as plain functions: pages and the text they
must contain, canonical URLs on the public host, the sitemap and the URLs it must list, systemd
units, `nginx -t`, and the keys of the environment file.

Every check returns one result {name, ok, reason, details}. HTTP goes through an web_client.Client
(give it resolve={host: address} to check a server before DNS points at it); commands go
through `runner(argv) -> (rc, stdout, stderr)`, so that tests can fake both.

    checks, attempts = check_until_healthy(params, client, runner, retries=5, delay=2)
"""

from __future__ import annotations

import datetime
import re
import time
from html.parser import HTMLParser
from urllib.parse import urlsplit

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import sitemap as sitemaps
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import TransportError

DEFAULT_SITEMAP_PATH = "/sitemap.xml"
EXCERPT = 1000
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_W3C = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|z|[+-]\d{2}:\d{2})?)?)?)?$"
)
UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, managed hosts 3.8+


class CheckError(ValueError):
    """The checks were given something they cannot work with (e.g. url is not absolute)."""


def result(name, ok, reason="", **details):
    """One check's result: reason is empty when ok."""
    return {"name": name, "ok": bool(ok), "reason": "" if ok else reason, "details": details}


def base_url(url):
    """`url` without a trailing slash, after checking that it is an absolute http(s) URL."""
    if not isinstance(url, str) or sitemaps.origin(url) is None:
        raise CheckError("url must be an absolute http(s) URL such as https://blog.example.com")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise CheckError(f"url must not contain a query or a fragment: {url}")
    return url.rstrip("/")


def absolute(base, path):
    """A path made absolute on the base URL (which may carry a path prefix); an absolute URL is
    kept as it is."""
    if urlsplit(path).scheme:
        return path
    return base + "/" + path.lstrip("/")


def comparable(url):
    """A URL with its scheme and host lower-cased and a default port dropped, for comparing."""
    found = sitemaps.origin(url)
    if found is None:
        return url
    parts = urlsplit(url)
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    return sitemaps.site_of(url) + (rest or "/")


def _short(text, length=80):
    text = to_text(text)
    return text if len(text) <= length else text[: length - 3] + "..."


def _excerpt(text):
    text = to_text(text or "").strip()
    return text if len(text) <= EXCERPT else "..." + text[-EXCERPT:]


def _ms(start, clock):
    return round((clock() - start) * 1000)


class _CanonicalParser(HTMLParser):
    """Collects <link rel="canonical" href> and <meta property="og:url" content>."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        attributes = {}
        for key, value in attrs:
            attributes[key.lower()] = (value or "").strip()
        if tag == "link" and "canonical" in attributes.get("rel", "").lower().split():
            self.found.append(attributes.get("href", ""))
        elif tag == "meta" and attributes.get("property", "").lower() == "og:url":
            self.found.append(attributes.get("content", ""))


def canonical_urls(html):
    """The URLs of the page's canonical link and og:url, in document order."""
    parser = _CanonicalParser()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient, but a broken page must not crash the run
        return [url for url in parser.found if url]
    return [url for url in parser.found if url]


def off_site(urls, base):
    """The absolute URLs (and scheme-relative //host ones) not on the base URL's scheme and
    host. Relative URLs are on the page's own host by definition and are not offenders."""
    wanted = sitemaps.origin(base)
    offenders = []
    for url in urls:
        parts = urlsplit(url)
        if not parts.netloc:
            continue
        found = sitemaps.origin(url if parts.scheme else wanted[0] + ":" + url)
        if found != wanted:
            offenders.append(url)
    return offenders


def check_page(client, base, page, canonical=True, clock=time.monotonic):
    """The page check, and the canonical check of the page when `canonical`."""
    path = page.get("path") or "/"
    url = absolute(base, path)
    expected = int(page.get("status") or 200)
    name = f"page {path}"
    start = clock()
    try:
        response = client.get(url)
    except TransportError as err:
        return [result(name, False, to_native(err), url=url, elapsed_ms=_ms(start, clock))]
    details = {
        "url": url,
        "status": response.status,
        "expected_status": expected,
        "elapsed_ms": _ms(start, clock),
    }
    if response.url and response.url != url:
        details["final_url"] = response.url
    problems = []
    if response.status != expected:
        problems.append(f"expected HTTP {expected}, got HTTP {response.status}")
    text = response.text
    missing = [wanted for wanted in page.get("contains") or [] if wanted not in text]
    if missing:
        quoted = ", ".join(repr(_short(item)) for item in missing)
        problems.append(f"the body does not contain {quoted}")
        details["missing"] = [_short(item) for item in missing]
    checks = [result(name, not problems, "; ".join(problems), **details)]
    if canonical:
        found = canonical_urls(text)
        offenders = off_site(found, base)
        reason = f"canonical URL not on {sitemaps.site_of(base)}: {', '.join(offenders)}"
        checks.append(
            result(
                f"canonical {path}",
                not offenders,
                reason,
                url=url,
                found=found,
                offenders=offenders,
            )
        )
    return checks


def check_sitemap(client, base, options, clock=time.monotonic):
    """The sitemap check (fetched and parsed by module_utils.sitemap, which also requires
    every <loc> to be on the scheme and host of `base`), then "sitemap includes"."""
    url = absolute(base, options.get("path") or DEFAULT_SITEMAP_PATH)
    required = options.get("required", True) is not False
    must_include = [absolute(base, item) for item in options.get("must_include") or []]
    start = clock()
    try:
        found = sitemaps.fetch(client, url, site=sitemaps.site_of(base))
    except sitemaps.SitemapError as err:
        elapsed = _ms(start, clock)
        if not required and _absent(client, url):
            return [result("sitemap", True, url=url, present=False, elapsed_ms=elapsed)]
        return [result("sitemap", False, to_native(err), url=url, elapsed_ms=elapsed)]
    checks = [
        result(
            "sitemap",
            True,
            url=url,
            present=True,
            entries=len(found.entries),
            files=list(found.files),
            newest=newest_entry(found.entries, base),
            elapsed_ms=_ms(start, clock),
        )
    ]
    if must_include:
        listed = set(comparable(entry.loc) for entry in found.entries)
        missing = [item for item in must_include if comparable(item) not in listed]
        checks.append(
            result(
                "sitemap includes",
                not missing,
                "not in the sitemap: " + ", ".join(missing),
                url=url,
                wanted=must_include,
                missing=missing,
            )
        )
    return checks


def lastmod_key(value):
    """A W3C datetime (<lastmod>) as an aware UTC datetime, for ordering; None when absent or
    not one. Dates without a time are midnight UTC; a time without a zone is taken as UTC."""
    match = _W3C.match(value or "")
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment -= sign * offset
    return moment


def newest_entry(entries, base):
    """The loc of the sitemap entry with the latest <lastmod>, the home page (whose lastmod is
    usually the newest article's) not counted; without any lastmod, the first entry that is
    not the home page; None when there is none."""
    home = comparable(base + "/")
    newest = None
    newest_key = None
    first = None
    for entry in entries:
        if comparable(entry.loc) == home:
            continue
        if first is None:
            first = entry.loc
        key = lastmod_key(entry.lastmod)
        if key is not None and (newest_key is None or key > newest_key):
            newest, newest_key = entry.loc, key
    return newest or first


def _absent(client, url):
    """True when the URL answers 404 or 410 (a sitemap that is not there at all)."""
    try:
        return client.get(url).status in (404, 410)
    except TransportError:
        return False


def check_service(runner, unit):
    rc, out, err = runner(["systemctl", "is-active", unit])
    state = to_text(out or "").strip()
    name = f"service {unit}"
    if rc == 0 and state == "active":
        return result(name, True, state=state)
    if state:
        reason = f"{unit} is {state}, not active"
    else:
        reason = f"systemctl is-active {unit} failed (rc {rc}): {_excerpt(err)}"
    return result(name, False, reason, state=state, rc=rc)


def check_nginx(runner):
    rc, out, err = runner(["nginx", "-t"])
    if rc == 0:
        return result("nginx -t", True, rc=rc)
    message = _excerpt(err) or _excerpt(out) or "no output"
    return result("nginx -t", False, f"nginx -t failed (rc {rc}): {message}", rc=rc)


def parse_env_file(text):
    """KEY=VALUE assignments read the way systemd reads an EnvironmentFile=: blank lines and
    lines starting with # or ; are skipped, whitespace around keys and unquoted values is
    dropped, values may be single- or double-quoted (quotes removed, newlines allowed inside),
    a backslash escapes the next character and continues a line before a newline, names that
    are not valid variable names are ignored, and a later assignment wins.

    Returns {key: value}; callers must not put values into any result."""
    assignments = {}
    state = "pre_key"
    key = []
    value = []
    key_ws = None  # where trailing whitespace of the key / an unquoted value starts
    value_ws = None

    def push():
        name = "".join(key[:key_ws] if key_ws is not None else key)
        if ENV_NAME.match(name):
            assignments[name] = "".join(value)

    for char in text:
        if state == "pre_key":
            if char in "#;":
                state = "comment"
            elif char not in " \t\n\r":
                state = "key"
                key = [char]
                key_ws = None
        elif state == "key":
            if char in "\n\r":
                state = "pre_key"
            elif char == "=":
                state = "pre_value"
                value = []
                value_ws = None
            else:
                if char not in " \t":
                    key_ws = None
                elif key_ws is None:
                    key_ws = len(key)
                key.append(char)
        elif state == "pre_value":
            if char in "\n\r":
                push()
                state = "pre_key"
            elif char == "'":
                state = "single"
            elif char == '"':
                state = "double"
            elif char == "\\":
                state = "value_escape"
            elif char not in " \t":
                state = "value"
                value.append(char)
        elif state == "value":
            if char in "\n\r":
                if value_ws is not None:
                    del value[value_ws:]
                push()
                state = "pre_key"
            elif char == "\\":
                state = "value_escape"
                value_ws = None
            else:
                if char not in " \t":
                    value_ws = None
                elif value_ws is None:
                    value_ws = len(value)
                value.append(char)
        elif state == "value_escape":
            state = "value"
            if char not in "\n\r":
                value.append(char)
        elif state == "single":
            if char == "'":
                state = "pre_value"
            else:
                value.append(char)
        elif state == "double":
            if char == '"':
                state = "pre_value"
            elif char == "\\":
                state = "double_escape"
            else:
                value.append(char)
        elif state == "double_escape":
            state = "double"
            if char in '"\\`$':
                value.append(char)
            elif char != "\n":
                value.extend(("\\", char))
        elif state == "comment" and char in "\n\r":
            state = "pre_key"
    if state == "value" and value_ws is not None:
        del value[value_ws:]
    if state not in ("pre_key", "key", "comment"):
        push()
    return assignments


def check_env_file(path, keys, reader=None):
    """The "env file" check (readable and parsed), then one "env key KEY" per key that must
    be present and non-empty. Only whether each key is set is kept: values never leave here."""
    try:
        if reader is not None:
            data = reader(path)
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as err:
        reason = f"cannot read {path}: {to_native(getattr(err, 'strerror', None) or err)}"
        return [result("env file", False, reason, path=path)]
    assignments = parse_env_file(to_text(data, errors="surrogate_or_replace"))
    filled = {name: bool(setting) for name, setting in assignments.items()}
    del assignments
    checks = [result("env file", True, path=path, keys=len(filled))]
    for key in keys or []:
        if key not in filled:
            checks.append(result(f"env key {key}", False, f"missing from {path}", path=path))
        elif not filled[key]:
            checks.append(result(f"env key {key}", False, f"empty in {path}", path=path))
        else:
            checks.append(result(f"env key {key}", True, path=path))
    return checks


def run_checks(params, client, runner, clock=time.monotonic, reader=None):
    """One pass over every configured check, in a fixed order; returns their results.

    params: the site_health options (url, pages, canonical, sitemap, services, nginx_test,
    env_file, env_keys)."""
    base = base_url(params.get("url"))
    canonical = params.get("canonical", True) is not False
    checks = []
    for page in params.get("pages") or []:
        checks.extend(check_page(client, base, page, canonical=canonical, clock=clock))
    if params.get("sitemap") is not None:
        checks.extend(check_sitemap(client, base, params["sitemap"], clock=clock))
    for unit in params.get("services") or []:
        checks.append(check_service(runner, unit))
    if params.get("nginx_test"):
        checks.append(check_nginx(runner))
    if params.get("env_file"):
        checks.extend(check_env_file(params["env_file"], params.get("env_keys"), reader=reader))
    return checks


def failed(checks):
    return [check for check in checks if not check["ok"]]


def check_until_healthy(
    params,
    client,
    runner,
    retries=0,
    delay=2.0,
    sleep=time.sleep,
    clock=time.monotonic,
    reader=None,
):
    """Run every check; repeat the whole set after `delay` seconds until they all pass or
    `retries` repeats are used up. Returns (checks of the last attempt, attempts)."""
    attempts = 0
    while True:
        attempts += 1
        checks = run_checks(params, client, runner, clock=clock, reader=reader)
        if not failed(checks) or attempts > retries:
            return checks, attempts
        sleep(delay)


def failure_message(checks, attempts=1):
    bad = failed(checks)
    head = f"{len(bad)} of {len(checks)} checks failed"
    if attempts > 1:
        head += f" after {attempts} attempts"
    return head + ": " + "; ".join(check["name"] + ": " + check["reason"] for check in bad)
