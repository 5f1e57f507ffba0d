"""SQLite access: one connection per request/app context, schema versioned by user_version."""

import sqlite3
from urllib.parse import quote

from flask import current_app, g

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    language TEXT NOT NULL,
    published_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_published_at ON articles (published_at);
"""


def connect(path, create=False):
    """Open the database; without create=True a missing file is an error, not a new empty DB."""
    mode = "rwc" if create else "rw"
    # isolation_level=None: no implicit transactions, writers use explicit BEGIN IMMEDIATE.
    conn = sqlite3.connect(f"file:{quote(path)}?mode={mode}", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


def init_schema(path):
    """Create the schema if needed (idempotent) and return the schema version."""
    conn = connect(path, create=True)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"Database {path} has schema version {version}, this blog only knows "
                f"version {SCHEMA_VERSION}; refusing to use a database from a newer release"
            )
        # One transaction; if it fails half-way, close() rolls it back.
        conn.executescript(
            f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )
        return SCHEMA_VERSION
    finally:
        conn.close()


def get_db():
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def close_db(_exc=None):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()
