# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IndexNow (https://www.indexnow.org/documentation): one POST of up to 10,000 URLs of one host,
shared by the engines that take part (Bing, Yandex, Seznam, Naver...). The key proves the
site's ownership: the engine fetches it from https://<host>/<key>.txt, or from keyLocation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import (
    Engine,
    EngineError,
    batches,
    on_host,
    run_submission,
    url_host,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import error_message

DEFAULT_ENDPOINT = "https://api.indexnow.org/indexnow"
BATCH_SIZE = 10000
KEY_PATTERN = re.compile(r"^[a-zA-Z0-9-]{8,128}$")

# What the protocol's answers mean (the documentation's table of response codes).
MEANINGS = {
    400: "bad request: the request is not in the IndexNow format",
    403: "key not valid: the key file was not found at keyLocation (or https://<host>/<key>.txt)"
    " or does not hold the key",
    422: "unprocessable: URLs that are not on the host, or a key that does not match the"
    " protocol's schema",
    429: "too many requests: the engine sees this as potential spam, try again later",
}


class IndexNow(Engine):
    name = "indexnow"
    credentials = ("key",)
    takes = "urls"

    def check_options(self):
        problems = []
        key = self.options.get("key")
        if key and not KEY_PATTERN.match(key):
            problems.append("indexnow: key must be 8 to 128 characters of a-z, A-Z, 0-9 and '-'")
        location = self.options.get("key_location")
        host = url_host(self.site)
        if location:
            parts = urlsplit(location)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problems.append("indexnow: key_location must be an absolute http(s) URL")
            elif url_host(location) != host:
                problems.append(f"indexnow: key_location must be on the site's host {host}")
        return problems

    def submit(self, urls, sitemap_url):
        return run_submission(self, [self.options.get("key")], self._send, urls)

    def _send(self, outcome, urls):
        host = url_host(self.site)
        endpoint = self.options.get("endpoint") or DEFAULT_ENDPOINT
        for batch in batches(on_host(outcome, urls, host), BATCH_SIZE):
            payload = {"host": host, "key": self.options["key"], "urlList": batch}
            if self.options.get("key_location"):
                payload["keyLocation"] = self.options["key_location"]
            response = self.client.post_json(endpoint, payload)
            if not response.ok:
                meaning = MEANINGS.get(response.status, "unexpected answer")
                raise EngineError(f"{response.status}: {meaning} ({error_message(response)})")
            if response.status == 202 and not outcome.warnings:
                outcome.warnings.append(
                    "202: URLs received, the key check is pending: the engine has not yet"
                    " fetched the key file to validate it"
                )
            outcome.accepted.extend(batch)
