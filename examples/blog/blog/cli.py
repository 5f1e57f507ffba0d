"""Flask CLI commands: init-db, hash-password, load-articles."""

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from werkzeug.security import generate_password_hash

from .articles import parse_article, upsert_article
from .db import get_db, init_schema


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create the database schema if it does not exist yet (idempotent)."""
    path = current_app.config["DATABASE"]
    version = init_schema(path)
    click.echo(f"Database {path} is ready (schema version {version}).")


@click.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from stdin.")
def hash_password_command(from_stdin):
    """Print a password hash for ADMIN_PASSWORD_HASH."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("The password must not be empty.")
    click.echo(generate_password_hash(password))


def article_files(paths):
    for path in paths:
        if path.is_dir():
            yield from sorted(path.glob("*.json"))
        else:
            yield path


@click.command("load-articles")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@with_appcontext
def load_articles_command(paths):
    """Create or update articles from JSON files (or directories of them).

    Prints "created:", "updated:" or "unchanged:" per file; exits 1 if a file is invalid.
    """
    failed = False
    for path in article_files(paths):
        try:
            article = parse_article(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:  # includes JSON and validation errors
            click.echo(f"error: {path}: {e}", err=True)
            failed = True
            continue
        status, _stored = upsert_article(get_db(), article)
        click.echo(f"{status}: {article.slug} ({path})")
    if failed:
        raise SystemExit(1)


def register_commands(app):
    for command in (init_db_command, hash_password_command, load_articles_command):
        app.cli.add_command(command)
