# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bing: the Bing Webmaster API's URL submission (JSON flavour): GetUrlSubmissionQuota tells how
many URLs the site may still submit today and this month, then SubmitUrlBatch sends at most 500
a request, never more than that quota (a batch over it is refused whole). Bing's old sitemap
"ping" URL is gone."""

from __future__ import annotations

from urllib.parse import urlencode

from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import (
    Engine,
    EngineError,
    defer,
    on_host,
    run_submission,
    url_host,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import error_message

DEFAULT_ENDPOINT = "https://ssl.bing.com/webmaster/api.svc/json"
BATCH_SIZE = 500
QUOTA_EXCEEDED = 2  # ApiErrorCode 2 (UnknownError) is what Bing answers a batch over the quota

# ApiErrorCode (Microsoft.Bing.Webmaster.Api.Interfaces), and what the usual ones mean here.
ERROR_CODES = {
    1: "InternalError",
    2: "UnknownError",
    3: "InvalidApiKey: the api_key is not valid",
    4: "ThrottleUser: too many requests for this API key, try again later",
    5: "ThrottleHost: too many requests for this site, try again later",
    6: "UserBlocked",
    7: "InvalidUrl",
    8: "InvalidParameter",
    9: "TooManySites",
    10: "UserNotFound",
    11: "NotFound",
    12: "AlreadyExists",
    13: "NotAllowed",
    14: "NotAuthorized: the site is not verified in Bing Webmaster Tools for this API key"
    " (option site_url)",
    15: "UnexpectedState",
    16: "Deprecated",
}


def _error_code(response):
    """Bing's ApiErrorCode in the answer, None when it holds none."""
    data = response.json()
    code = data.get("ErrorCode") if isinstance(data, dict) else None
    return code if isinstance(code, int) and code else None


class Bing(Engine):
    name = "bing"
    credentials = ("api_key",)
    takes = "urls"

    def submit(self, urls, sitemap_url):
        return run_submission(self, [self.options.get("api_key")], self._send, urls)

    def _send(self, outcome, urls):
        endpoint = (self.options.get("endpoint") or DEFAULT_ENDPOINT).rstrip("/")
        site_url = self.options.get("site_url") or self.site.rstrip("/") + "/"
        key = self.options["api_key"]
        pending = on_host(outcome, urls, url_host(site_url))
        if not pending:
            return
        query = urlencode({"siteUrl": site_url, "apikey": key})
        response = self.client.get(f"{endpoint}/GetUrlSubmissionQuota?{query}")
        self._check(response, "GetUrlSubmissionQuota")
        data = response.json()
        quota = data.get("d") if isinstance(data, dict) else None
        if not isinstance(quota, dict) or not isinstance(quota.get("DailyQuota"), int):
            raise EngineError(f"GetUrlSubmissionQuota: unexpected answer: {response.text[:200]}")
        remaining = quota["DailyQuota"]
        if isinstance(quota.get("MonthlyQuota"), int):
            remaining = min(remaining, quota["MonthlyQuota"])
        submit_url = f"{endpoint}/SubmitUrlBatch?{urlencode({'apikey': key})}"
        while pending:
            size = min(BATCH_SIZE, remaining)
            if size <= 0:
                left = f"DailyQuota {quota['DailyQuota']}, MonthlyQuota {quota.get('MonthlyQuota')}"
                defer(outcome, pending, f"the URL submission quota left ({left}) is used up")
                return
            batch = pending[:size]
            response = self.client.post_json(submit_url, {"siteUrl": site_url, "urlList": batch})
            if _error_code(response) == QUOTA_EXCEEDED:
                defer(outcome, pending, f"quota exceeded ({error_message(response)})")
                return
            self._check(response, "SubmitUrlBatch")
            outcome.accepted.extend(batch)
            pending = pending[size:]
            remaining -= size

    @staticmethod
    def _check(response, method):
        """EngineError with Bing's reason unless `response` is a success."""
        code = _error_code(response)
        if response.ok and code is None:
            return
        reason = error_message(response)
        if code is not None:
            reason = f"ErrorCode {code} {ERROR_CODES.get(code, 'unknown')} ({reason})"
        raise EngineError(f"{method}: {response.status}: {reason}")
