"""Canonical (public, absolute) URLs."""

from urllib.parse import urlsplit

from flask import current_app, url_for


def canonical_url(endpoint, **values):
    """Absolute URL on SITE_PUBLIC_URL, whatever host or scheme the request came in on.

    Without SITE_PUBLIC_URL (e.g. on a laptop) this is the current request's external URL.
    """
    public_url = current_app.config["SITE_PUBLIC_URL"]
    if not public_url:
        return url_for(endpoint, _external=True, **values)
    parts = urlsplit(public_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
