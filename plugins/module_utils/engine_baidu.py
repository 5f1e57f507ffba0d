# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Baidu: the search resource platform's link push API (普通收录, API 提交): a POST of up to
2,000 URLs, one a line, to data.zz.baidu.com/urls?site=<site>&token=<token>. The answer says how
many URLs it took and how many more it takes today (remain); a request over that quota is
refused whole ("over quota")."""

from __future__ import annotations

from urllib.parse import urlencode

from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import (
    Engine,
    EngineError,
    defer,
    run_submission,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import error_message

DEFAULT_ENDPOINT = "http://data.zz.baidu.com/urls"
BATCH_SIZE = 2000
OVER_QUOTA = "over quota"
REJECTIONS = ("not_same_site", "not_valid")

# Baidu's messages, and what they mean here.
MEANINGS = {
    "site error": "the site is not one verified in Baidu's search resource platform for this"
    " token (option site)",
    "empty content": "the request held no URLs",
    "only 2000 urls are allowed once": "more than 2,000 URLs in one request",
    "token is not valid": "the token is not the one Baidu shows for this site",
    "not found": "the endpoint is not Baidu's URL push API",
    "internal error, please try later": "Baidu failed, try again later",
}


class Baidu(Engine):
    name = "baidu"
    credentials = ("token",)
    takes = "urls"

    def submit(self, urls, sitemap_url):
        return run_submission(self, [self.options.get("token")], self._send, urls)

    def _send(self, outcome, urls):
        site = self.options.get("site") or self.site.rstrip("/")
        query = urlencode({"site": site, "token": self.options["token"]})
        url = f"{self.options.get('endpoint') or DEFAULT_ENDPOINT}?{query}"
        pending = list(urls)
        size = BATCH_SIZE
        while pending:
            batch = pending[:size]
            body = "\n".join(batch).encode("utf-8")
            response = self.client.request(
                "POST", url, data=body, headers={"Content-Type": "text/plain"}
            )
            data = response.json()
            if not isinstance(data, dict):
                data = {}
            if response.ok and "success" in data:
                pending = pending[len(batch) :]
                self._sorted(outcome, batch, data)
                remain = data.get("remain")
                if isinstance(remain, int) and remain <= 0 and pending:
                    defer(outcome, pending, "the daily quota is used up (remain 0)")
                    return
                if isinstance(remain, int):
                    size = min(BATCH_SIZE, remain)
                continue
            message = str(data.get("message") or error_message(response))
            if message == OVER_QUOTA and len(batch) > 1:
                size = 1  # the quota left may be smaller than the batch: one URL tells what remains
                continue
            if message == OVER_QUOTA:
                defer(outcome, pending, "over quota: the daily quota is used up")
                return
            meaning = MEANINGS.get(message)
            raise EngineError(
                f"{response.status}: {message}" + (f" ({meaning})" if meaning else "")
            )

    @staticmethod
    def _sorted(outcome, batch, data):
        """Put the URLs of `batch` Baidu answered `data` for in accepted or rejected."""
        refused = {}
        for reason in REJECTIONS:
            for url in data.get(reason) or []:
                refused[url] = reason
        for url in batch:
            if url in refused:
                outcome.rejected.append({"url": url, "reason": refused[url]})
            else:
                outcome.accepted.append(url)
