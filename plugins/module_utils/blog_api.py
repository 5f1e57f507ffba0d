# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The publishing API of the example blog, for the publish_article module.

POST <publish_url> with `Authorization: Bearer <token>` and an article as JSON creates or
updates the article with that slug and answers {"status": "created" | "updated" | "unchanged",
"slug", "url", "published_at", "updated_at"}; GET <publish_url>/<slug> returns the stored
article. The POST is an upsert keyed by the slug: sending the same article again changes
nothing, so repeating it after a 429, a 5xx or a lost connection is safe.

Check mode reads the stored article and compares the fields the blog stores (title, body,
language, published_at) after the same normalisation the blog applies, so it predicts the
"unchanged" the blog would answer without sending the article.
"""

from __future__ import annotations

import datetime
import json
from urllib.parse import quote, urlsplit

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import (
    TransportError,
    error_message,
)

STORED_FIELDS = ("title", "body", "language", "published_at")
STATUSES = ("created", "updated", "unchanged")
CHANGED_STATUSES = ("created", "updated")
HIDDEN = "********"
UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, managed hosts 3.8+


class ArticleError(ValueError):
    """The article or article_file option is unusable; the message names the option."""


class PublishError(Exception):
    """The blog refused the request or could not be reached. status: the HTTP status of the
    last answer, None when there was none."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def load_article_file(path):
    """The article in a JSON file, as a dict; ArticleError naming article_file otherwise."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        reason = to_native(getattr(err, "strerror", None) or err)
        raise ArticleError(f"article_file: cannot read {path}: {reason}") from err
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ArticleError(f"article_file: {path} is not UTF-8 text: {err}") from err
    try:
        article = json.loads(text)
    except ValueError as err:
        raise ArticleError(f"article_file: {path} is not valid JSON: {err}") from err
    if not isinstance(article, dict):
        kind = type(article).__name__
        raise ArticleError(
            f"article_file: {path} must contain one JSON object (an article), not a {kind}"
        )
    return article


def check_publish_url(url):
    """publish_url without a trailing slash, after checking it is an absolute http(s) URL."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArticleError(
            "publish_url must be an absolute http(s) URL such as "
            f"https://blog.example.com/api/articles, got {url!r}"
        )
    return url.rstrip("/")


def normalise_timestamp(value):
    """An ISO 8601 date or datetime as the blog stores it: UTC, to the second, e.g.
    2026-12-01T08:00:00+00:00 (naive values are UTC). ValueError when it cannot be read here
    (Python 3.8+ on the managed host reads less of ISO 8601 than the blog's Python)."""
    if not isinstance(value, str) or not value:
        raise ValueError("not a timestamp")
    text = value[:-1] + "+00:00" if value[-1] in "Zz" else value
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _text(article, field):
    value = article.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} is not a non-empty string")
    return value.strip()


def stored_form(article):
    """The fields of `article` as the blog would store them (published_at None: not given,
    the blog keeps the stored one or uses the time of the first publication). ValueError
    when the article is not valid enough to tell."""
    language = article.get("language")
    if not isinstance(language, str):
        raise ValueError("language is not a string")
    published_at = article.get("published_at")
    return {
        "title": _text(article, "title"),
        "body": _text(article, "body").replace("\r\n", "\n"),
        "language": language,
        "published_at": None if published_at is None else normalise_timestamp(published_at),
    }


def compare(article, current):
    """Predict the blog's answer: (status, before, after). current: the stored article (the
    GET answer) or None. Raises ValueError when the article cannot be compared."""
    after = stored_form(article)
    if current is None:
        return "created", {}, after
    before = {field: current.get(field) for field in STORED_FIELDS}
    if after["published_at"] is None:
        after["published_at"] = before["published_at"]
    return ("unchanged" if after == before else "updated"), before, after


class BlogAPI:
    """The publishing API at publish_url (e.g. https://blog.example.com/api/articles)."""

    def __init__(self, client, publish_url, token):
        self.client = client
        self.publish_url = publish_url.rstrip("/")
        self._token = token

    def _headers(self):
        return {"Authorization": "Bearer " + self._token, "Accept": "application/json"}

    def _hide(self, text):
        text = to_text(text)
        return text.replace(self._token, HIDDEN) if self._token else text

    def article_url(self, slug):
        return self.publish_url + "/" + quote(slug, safe="")

    def _send(self, method, url, payload=None):
        before = self.client.requests
        try:
            if payload is None:
                response = self.client.request(method, url, headers=self._headers())
            else:
                response = self.client.post_json(url, payload, headers=self._headers())
        except TransportError as err:
            attempts = self.client.requests - before
            raise PublishError(
                self._hide(
                    f"could not reach the blog: {err} ({_attempts(attempts)}; check "
                    "publish_url and connect_to)"
                )
            ) from err
        return response, self.client.requests - before

    def _refuse(self, method, url, response, attempts):
        status = response.status
        if status in (401, 403):
            raise PublishError(
                f"the blog refused the token (HTTP {status}): check AUTO_PUBLISH_TOKEN / "
                "the token option",
                status,
            )
        message = self._hide(error_message(response))
        if 400 <= status < 500:
            raise PublishError(
                f"the blog rejected {method} {url} (HTTP {status}): {message}", status
            )
        raise PublishError(
            f"the blog answered HTTP {status} to {method} {url} ({_attempts(attempts)}): {message}",
            status,
        )

    def get_article(self, slug):
        """The stored article (a dict with url, published_at, updated_at, ...), or None."""
        url = self.article_url(slug)
        response, attempts = self._send("GET", url)
        data = response.json()
        if response.status == 404 and isinstance(data, dict) and "error" in data:
            return None
        if response.status == 200 and isinstance(data, dict):
            return data
        if response.ok:
            raise PublishError(
                f"GET {url} answered HTTP {response.status} without an article (is "
                "publish_url the blog's /api/articles?)",
                response.status,
            )
        if response.status == 404:
            raise PublishError(
                f"GET {url} answered HTTP 404 and not as the blog's API: check publish_url",
                404,
            )
        return self._refuse("GET", url, response, attempts)

    def publish(self, article):
        """POST the article; returns the blog's answer (status, slug, url, published_at,
        updated_at)."""
        response, attempts = self._send("POST", self.publish_url, article)
        if not response.ok:
            self._refuse("POST", self.publish_url, response, attempts)
        data = response.json()
        if not isinstance(data, dict) or data.get("status") not in STATUSES:
            excerpt = self._hide(response.text.strip()[:300])
            raise PublishError(
                f"POST {self.publish_url} answered HTTP {response.status} but not with a "
                f"publication status (is publish_url the blog's /api/articles?): {excerpt}",
                response.status,
            )
        return data


def _attempts(count):
    return "1 attempt" if count == 1 else f"{count} attempts"


def publish_article(api, article, check_mode=False, diff=False):
    """Publish (or in check mode, only predict publishing) one article.

    Returns {"result": module result keys, "warnings": [...]}; raises PublishError."""
    warnings = []
    slug = article.get("slug")
    if check_mode:
        if not isinstance(slug, str) or not slug:
            warnings.append(
                "the article has no slug, so check mode cannot look it up: reporting that it "
                "would be published (the blog requires a slug and will refuse it)"
            )
            result = _result(True, None, slug, None)
            return {"result": result, "warnings": warnings}
        current = api.get_article(slug)
        try:
            status, before, after = compare(article, current)
        except ValueError as err:
            warnings.append(
                f"cannot compare the article with the stored one ({err}): reporting that it "
                "would be published; the blog validates it when it is sent"
            )
            status = "created" if current is None else "updated"
            before, after = _fields(current or {}), _fields(article)
        result = _result(status in CHANGED_STATUSES, status, slug, current)
        if diff and result["changed"]:
            result["diff"] = _diff(slug, before, after)
        return {"result": result, "warnings": warnings}

    current = None
    if diff and isinstance(slug, str) and slug:
        current = api.get_article(slug)
    answer = api.publish(article)
    status = answer.get("status")
    result = {
        "changed": status in CHANGED_STATUSES,
        "status": status,
        "slug": answer.get("slug"),
        "url": answer.get("url"),
        "published_at": answer.get("published_at"),
        "updated_at": answer.get("updated_at"),
    }
    if diff and result["changed"]:
        before = _fields(current) if current else {}
        try:
            after = stored_form(article)
        except ValueError:
            after = _fields(article)
        after["published_at"] = answer.get("published_at")
        result["diff"] = _diff(result["slug"] or slug, before, after)
    return {"result": result, "warnings": warnings}


def _fields(article):
    return {field: article.get(field) for field in STORED_FIELDS}


def _result(changed, status, slug, current):
    current = current or {}
    return {
        "changed": changed,
        "status": status,
        "slug": slug,
        "url": current.get("url"),
        "published_at": current.get("published_at"),
        "updated_at": current.get("updated_at"),
    }


def _diff(slug, before, after):
    return {
        "before": before,
        "after": after,
        "before_header": f"article {slug} (stored)",
        "after_header": f"article {slug} (published)",
    }
