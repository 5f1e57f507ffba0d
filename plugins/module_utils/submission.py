# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The logic of sitemap_submit: which engines are configured, what each one has pending, what
each one did with it, and what is saved, in this order:

1. every configured engine's credentials and options are checked (nothing sent yet);
2. the state file is read, the sitemap fetched and validated (a bad one stops here, before any
   engine is contacted);
3. per engine, the pending URLs: those it has not accepted as they are now;
4. each engine with something pending gets it ("urls" engines the URLs, "sitemap" engines the
   sitemap URL, once); in check mode nothing is sent and the pending URLs are reported as what
   would be submitted;
5. what the engines accepted is saved, per engine (not in check mode); an engine that failed
   does not lose the others' results, the run fails afterwards.

The same code runs in check mode and for real: only the submissions and the write are guarded.
"""

from __future__ import annotations

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import sitemap as sitemaps
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine import Outcome
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_baidu import Baidu
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_bing import Bing
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_google import Google
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.engine_indexnow import (
    IndexNow,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.submit_state import (
    State,
    StateError,
)

ENGINES = (IndexNow, Google, Baidu, Bing)
SHOWN = 10  # URLs named in one warning


class SubmissionError(Exception):
    """The run cannot go on (bad options, credentials missing with strict, unreadable state,
    bad sitemap) or could not save what the engines accepted. report: what is known so far."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class Report:
    """The outcome of one run.

    result:   the module's return values (changed, urls, sitemaps, requests, engines,
              state_path, diff).
    warnings: messages for module.warn.
    failed:   the message when an engine failed (the run fails after the state is saved).
    """

    def __init__(self, state_path):
        self.result = {
            "changed": False,
            "urls": 0,
            "sitemaps": [],
            "requests": 0,
            "engines": {},
            "state_path": state_path,
            "diff": {"before": {}, "after": {}},
        }
        self.warnings = []
        self.failed = None


def _named(name, message):
    """`message` prefixed with the engine's name, once."""
    message = to_native(message)
    return message if message.startswith(name + ":") else f"{name}: {message}"


def _engine_result(status, pending=0, message=""):
    return {
        "status": status,
        "pending": pending,
        "submitted": [],
        "accepted": [],
        "rejected": [],
        "deferred": [],
        "requests": 0,
        "message": message,
    }


def _listed(urls):
    shown = ", ".join(urls[:SHOWN])
    return shown + (f" and {len(urls) - SHOWN} more" if len(urls) > SHOWN else "")


def configure(client, engine_options, site, strict=False, engines=ENGINES):
    """The engines to run, as instances, and the report's first entries and warnings.

    engine_options: {engine name: its option dict, or None when the engine is not
    configured}. An engine whose credentials are missing is skipped with a warning naming the
    option (strict: that is an error). Raises SubmissionError, before anything is sent, for
    every problem found at once."""
    known = {cls.name for cls in engines}
    unknown = sorted(
        name
        for name, options in engine_options.items()
        if name not in known and options is not None
    )
    report_engines = {}
    warnings = []
    errors = [f"unknown engine {name}" for name in unknown]
    active = []
    for cls in engines:
        options = engine_options.get(cls.name)
        if options is None:
            continue
        engine = cls(client, dict(options), site)
        missing = engine.missing_credentials()
        if missing:
            names = " and ".join(
                " or ".join(f"{cls.name}.{option}" for option in cred.split(" or "))
                for cred in missing
            )
            message = f"{cls.name} is configured but {names} is not set"
            if strict:
                errors.append(message)
            else:
                warnings.append(message + ": the engine is skipped")
            report_engines[cls.name] = _engine_result("skipped", message=message)
            continue
        errors.extend(_named(cls.name, problem) for problem in engine.check_options())
        active.append(engine)
    if not report_engines and not active:
        names = ", ".join(cls.name for cls in engines)
        warnings.append(f"no search engine is configured ({names}): nothing is submitted")
    return active, report_engines, warnings, errors


def run(
    sitemap_client,
    engine_client,
    sitemap_url,
    engine_options,
    state_path,
    site=None,
    check_mode=False,
    strict=False,
    move=None,
    engines=None,
):
    """One sitemap_submit run; returns a Report, raises SubmissionError.

    sitemap_client: the web_client.Client that fetches the sitemap (it may connect to another
    address); engine_client: the one the engines use. site: the site's public base URL
    (default: the scheme and host of sitemap_url). move(src, dest): how the new state file is
    put in place (a module's atomic_move; default os.replace). engines: the engine classes
    (default ENGINES)."""
    engines = ENGINES if engines is None else engines
    report = Report(state_path)
    result = report.result
    try:
        site = sitemaps.site_of(site or sitemap_url)
        sitemaps.site_of(sitemap_url)
    except sitemaps.SitemapError as err:
        raise SubmissionError(to_native(err), report) from err

    active, result["engines"], report.warnings, errors = configure(
        engine_client, engine_options, site + "/", strict, engines
    )
    if errors:
        raise SubmissionError("; ".join(errors), report)

    def count_requests():  # the sitemap's requests, and each engine's
        total = sitemap_client.requests
        if engine_client is not sitemap_client:
            total += sum(item["requests"] for item in result["engines"].values())
        result["requests"] = total

    try:
        state = State.load(state_path)
        found = sitemaps.fetch(sitemap_client, sitemap_url, site=site)
    except (StateError, sitemaps.SitemapError) as err:
        raise SubmissionError(to_native(err), report) from err
    finally:
        count_requests()
    entries = found.entries
    result["urls"] = len(entries)
    result["sitemaps"] = list(found.files)

    for name, item in result["engines"].items():  # skipped: what they would have pending
        item["pending"] = len(state.pending(name, entries))

    failed = []
    saved = False
    for engine in active:
        pending = state.pending(engine.name, entries)
        item = _engine_result("unchanged", len(pending), "nothing new or changed")
        result["engines"][engine.name] = item
        locs = [entry.loc for entry in pending]
        result["diff"]["before"][engine.name] = []
        result["diff"]["after"][engine.name] = []
        if not pending:
            continue
        item["submitted"] = [sitemap_url] if engine.takes == "sitemap" else locs
        if check_mode:
            item["status"] = "submitted"
            item["message"] = f"would submit {len(locs)} new or changed URL(s) (check mode)"
            result["diff"]["after"][engine.name] = locs
            result["changed"] = True
            continue
        outcome = _submit(engine, locs, sitemap_url, report.warnings)
        accepted = list(outcome.accepted)
        if engine.takes == "sitemap" and not outcome.error and not accepted:
            held = {r["url"] for r in outcome.rejected} | set(outcome.deferred)
            accepted = [loc for loc in locs if loc not in held]
        item.update(
            accepted=accepted,
            rejected=list(outcome.rejected),
            deferred=list(outcome.deferred),
            requests=outcome.requests,
        )
        result["diff"]["after"][engine.name] = accepted
        if outcome.error:
            item["status"] = "failed"
            item["message"] = _named(engine.name, outcome.error)
            failed.append(item["message"])
        elif outcome.rejected or outcome.deferred:
            item["status"] = "partial"
            item["message"] = (
                f"{len(accepted)} accepted, {len(outcome.rejected)} rejected, "
                f"{len(outcome.deferred)} deferred to the next run"
            )
        else:
            item["status"] = "submitted"
            item["message"] = f"{len(accepted)} new or changed URL(s) accepted"
        if accepted:
            result["changed"] = True
            saved = state.update(engine.name, accepted, entries) or saved

    order = [cls.name for cls in engines]
    result["engines"] = dict(sorted(result["engines"].items(), key=lambda kv: order.index(kv[0])))
    count_requests()
    if saved and not check_mode:
        try:
            state.write(move)
        except StateError as err:
            message = f"{err}; what the engines accepted is submitted again on the next run"
            if failed:
                message += "; " + "; ".join(failed)
            raise SubmissionError(message, report) from err
    if failed:
        report.failed = "submission failed: " + "; ".join(failed)
    return report


def _submit(engine, locs, sitemap_url, warnings):
    """engine.submit(), its Outcome completed: requests counted, an exception turned into
    outcome.error, rejections and deferrals in warnings."""
    client = engine.client
    before = client.requests
    try:
        outcome = engine.submit(locs, sitemap_url)
    except Exception as err:  # an engine's bug must not lose the other engines' results
        outcome = _failed_outcome(f"{type(err).__name__}: {to_native(err)}")
    outcome.requests = outcome.requests or (client.requests - before)
    warnings.extend(_named(engine.name, warning) for warning in outcome.warnings)
    if outcome.rejected:
        shown = _listed([f"{r['url']} ({r.get('reason')})" for r in outcome.rejected])
        warnings.append(
            _named(
                engine.name,
                f"{len(outcome.rejected)} URL(s) rejected, tried again on the next run: {shown}",
            )
        )
    if outcome.deferred and not any("deferred" in w for w in outcome.warnings):
        warnings.append(
            _named(
                engine.name,
                f"{len(outcome.deferred)} URL(s) deferred to the next run (quota): "
                + _listed(outcome.deferred),
            )
        )
    return outcome


def _failed_outcome(message):
    outcome = Outcome()
    outcome.error = message
    return outcome
