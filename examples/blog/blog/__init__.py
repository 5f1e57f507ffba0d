"""A small, production-minded Flask blog: the example app of selfhosted.flask_blog."""

import os
import sqlite3

from flask import Flask

from . import admin, api, articles, cli, config, db, errors, views
from .config import ConfigError
from .urls import canonical_url

__all__ = ["ConfigError", "canonical_url", "create_app"]

# static/ beside the package, as in the deployed layout (/var/www/blog/static): Nginx serves it
# straight from the code.
DEFAULT_STATIC_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static"
)

# Only what the pages need: no scripts, no inline styles, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def create_app(test_config=None):
    """Build the app from environment variables; test_config overrides them (tests)."""
    settings = config.read_settings(test_config)
    static_dir = config.absolute_dir("STATIC_DIR", settings["STATIC_DIR"])
    app = Flask(__name__, static_folder=static_dir or DEFAULT_STATIC_DIR, static_url_path="/static")
    app.config.from_mapping(
        {key: value for key, value in (test_config or {}).items() if key not in config.ENV_VARS}
    )
    app.config.from_mapping(
        config.build_config(
            settings,
            instance_path=app.instance_path,
            static_folder=app.static_folder,
            allow_random_secret=app.debug or app.testing,
        )
    )

    if settings["DATABASE_URL"] is None:
        os.makedirs(app.instance_path, exist_ok=True)
    try:
        db.init_schema(app.config["DATABASE"])
    except (sqlite3.Error, OSError) as e:
        raise ConfigError(
            f"DATABASE_URL: cannot open or initialise {app.config['DATABASE']}: {e}"
        ) from e

    app.teardown_appcontext(db.close_db)
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    errors.register_error_handlers(app)
    cli.register_commands(app)
    app.after_request(add_security_headers)
    app.add_template_global(canonical_url)
    app.add_template_global(admin.csrf_token)
    app.add_template_filter(articles.excerpt)
    app.add_template_filter(articles.paragraphs)
    app.add_template_filter(lambda timestamp: timestamp[:10], "day")
    return app
