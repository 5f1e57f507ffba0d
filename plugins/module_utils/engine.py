# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one small interface every search engine implements (one file per engine:
engine_<name>.py), so that adding an engine is adding one file and its fake."""

from __future__ import annotations

from urllib.parse import quote, quote_plus, urlsplit

from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import TransportError


class EngineError(Exception):
    """The engine refused the whole submission or could not be reached; the message is the
    engine's own reason."""


class Outcome:
    """What one engine did with the URLs it was given.

    accepted: URLs the engine took (saved to the state file, not sent again).
    rejected: [{"url", "reason"}] the engine refused one by one (not saved: tried again on the
              next run, and reported each time).
    deferred: URLs not sent this run (quota): kept for the next run.
    error:    the engine's message when the submission as a whole failed, else None.
    warnings: things to tell the user that did not fail the run.
    """

    def __init__(self):
        self.accepted = []
        self.rejected = []
        self.deferred = []
        self.error = None
        self.warnings = []
        self.requests = 0

    def as_dict(self):
        return {
            "accepted": list(self.accepted),
            "rejected": list(self.rejected),
            "deferred": list(self.deferred),
            "error": self.error,
            "warnings": list(self.warnings),
            "requests": self.requests,
        }


class Engine:
    """Base class. Subclasses set:

    name:        the option name in the module (e.g. "indexnow").
    credentials: option names that must be non-empty for the engine to run, e.g. ("key",);
                 a tuple of tuples means "any one of these", e.g. (("access_token",
                 "service_account_file"),).
    takes:       "urls" (the engine gets the new or changed URLs) or "sitemap" (the engine gets
                 the sitemap URL, once, when any of its URLs is new or changed).

    and implement submit(). `client` is an web_client.Client; `options` the engine's option dict;
    `site` the site's base URL (scheme://host[:port]/).
    """

    name = ""
    credentials = ()
    takes = "urls"

    def __init__(self, client, options, site):
        self.client = client
        self.options = options
        self.site = site

    def missing_credentials(self):
        """Names of the credential options that are empty ("a or b" for alternatives)."""
        missing = []
        for cred in self.credentials:
            names = cred if isinstance(cred, tuple) else (cred,)
            if not any(self.options.get(n) for n in names):
                missing.append(" or ".join(names))
        return missing

    def check_options(self):
        """Problems with the options given (a key of the wrong shape...), as messages naming the
        option; checked for every engine before any engine sends anything."""
        return []

    def submit(self, urls, sitemap_url):
        """Send `urls` (or `sitemap_url`, for takes == "sitemap") and return an Outcome. Never
        raises for an engine's refusal: that goes in Outcome.error / rejected."""
        raise NotImplementedError


# Helpers shared by the engine_<name>.py files (added with the first four engines).

REDACTED = "********"


def batches(items, size):
    """`items` as consecutive lists of at most `size` each."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def mask_secrets(text, secrets):
    """`text` with every non-empty string in `secrets`, as given or URL-encoded, replaced by
    REDACTED."""
    for secret in secrets:
        if secret:
            for form in sorted({secret, quote(secret, safe=""), quote_plus(secret)}, key=len)[::-1]:
                text = text.replace(form, REDACTED)
    return text


def run_submission(engine, secrets, send, *args):
    """The Outcome of `send(outcome, *args)`, one engine's submission: the HTTP requests sent
    are counted, an EngineError or TransportError raised becomes outcome.error (what was put in
    accepted, rejected and deferred until then is kept), and the error and every warning are
    prefixed with the engine's name and cleared of `secrets`, as are the rejection reasons."""
    outcome = Outcome()
    start = engine.client.requests
    try:
        send(outcome, *args)
    except EngineError as err:
        outcome.error = f"{engine.name}: {err}"
    except TransportError as err:
        outcome.error = f"{engine.name}: no answer: {err}"
    outcome.requests = engine.client.requests - start
    if outcome.error:
        outcome.error = mask_secrets(outcome.error, secrets)
    outcome.warnings = [
        mask_secrets(f"{engine.name}: {warning}", secrets) for warning in outcome.warnings
    ]
    for item in outcome.rejected:
        item["reason"] = mask_secrets(item["reason"], secrets)
    return outcome


def defer(outcome, urls, why):
    """Keep `urls` for the next run (an engine's quota is used up), saying `why` in a warning."""
    outcome.deferred.extend(urls)
    outcome.warnings.append(f"{why}: {len(urls)} URL(s) deferred to the next run")


def url_host(url):
    """The URL's host name in lower case, "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def on_host(outcome, urls, host):
    """The URLs of `urls` on `host`; the others are put in outcome.rejected, not to be sent."""
    kept = []
    for url in urls:
        if url_host(url) == host:
            kept.append(url)
        else:
            outcome.rejected.append({"url": url, "reason": f"not on the site's host {host}"})
    return kept
