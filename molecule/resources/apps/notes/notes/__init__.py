"""notes: a small note-taking app built with an application factory."""

import contextlib
import logging
import os

from flask import Flask

from . import auth, db, views

LOG_HANDLER_FLAG = "_notes_file_handler"


def create_app(test_config=None, instance_path=None):
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        SITE_TITLE="Notes",
        DATABASE=os.path.join(app.instance_path, "notes.sqlite"),
    )
    app.config.from_pyfile("config.py", silent=True)
    if test_config is not None:
        app.config.from_mapping(test_config)

    # In production the instance folder already exists and may be read-only.
    with contextlib.suppress(OSError):
        os.makedirs(app.instance_path, exist_ok=True)

    log_dir = (test_config or {}).get("LOG_DIR", "logs")
    setup_file_logging(app, log_dir)

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    return app


def setup_file_logging(app, log_dir):
    """Log to <log_dir>/notes.log; relative to the working directory by default."""
    os.makedirs(log_dir, exist_ok=True)
    # app.logger is the process-wide "notes" logger: replace the handler of a previous app.
    for handler in list(app.logger.handlers):
        if getattr(handler, LOG_HANDLER_FLAG, False):
            app.logger.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(os.path.join(log_dir, "notes.log"), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    setattr(handler, LOG_HANDLER_FLAG, True)
    app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO)
