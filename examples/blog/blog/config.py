"""Configuration from environment variables, validated once at startup."""

import os
import secrets
from urllib.parse import urlsplit, urlunsplit

# Every setting the blog reads from the environment. A test_config dict passed to
# create_app() overrides them (and may add plain Flask settings such as TESTING).
ENV_VARS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "SITE_PUBLIC_URL",
    "SITE_NAME",
    "AUTO_PUBLISH_TOKEN",
    "ADMIN_USERNAME",
    "ADMIN_PASSWORD_HASH",
    "MAX_CONTENT_LENGTH",
    "STATIC_DIR",
    "UPLOAD_DIR",
)

DEFAULT_MAX_CONTENT_LENGTH = 8 * 1024 * 1024
DATABASE_URL_PREFIX = "sqlite:///"
PASSWORD_HASH_METHODS = ("scrypt", "pbkdf2")


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


def read_settings(test_config=None):
    """Raw values from the environment, overridden by test_config; unset/empty -> None."""
    overrides = test_config or {}
    settings = {}
    for name in ENV_VARS:
        value = overrides[name] if name in overrides else os.environ.get(name)
        settings[name] = None if value in (None, "") else value
    return settings


def absolute_dir(name, value):
    if value is None:
        return None
    if not os.path.isabs(value):
        raise ConfigError(f"{name} must be an absolute directory path, got {value!r}")
    return os.path.normpath(value)


def parse_database_url(value, instance_path):
    """Return (normalised DATABASE_URL, database file path)."""
    if value is None:
        path = os.path.join(instance_path, "database.db")
        return DATABASE_URL_PREFIX + path, path
    example = "sqlite:////var/lib/blog/database.db"
    if not value.startswith(DATABASE_URL_PREFIX):
        raise ConfigError(
            f"DATABASE_URL must be a SQLite URL like {example} (only SQLite is supported), "
            f"got {value!r}"
        )
    path = value[len(DATABASE_URL_PREFIX) :]
    if not os.path.isabs(path):
        raise ConfigError(
            f"DATABASE_URL must contain an absolute path, i.e. four slashes as in {example}, "
            f"got {value!r}"
        )
    if "?" in path or "#" in path or path.endswith("/"):
        raise ConfigError(f"DATABASE_URL must end with a database file name, got {value!r}")
    return value, path


def parse_public_url(value):
    """Validate SITE_PUBLIC_URL and return it without a trailing slash."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        raise ConfigError("SITE_PUBLIC_URL must not contain user information")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "SITE_PUBLIC_URL must be an absolute http(s) URL such as https://blog.example.com "
            f"or https://example.com/blog, got {value!r}"
        )
    if "?" in value or "#" in value:
        raise ConfigError(f"SITE_PUBLIC_URL must not contain a query or fragment, got {value!r}")
    try:
        port = parts.port  # raises for a non-numeric or out-of-range port
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"SITE_PUBLIC_URL has an invalid port: {value!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def parse_max_content_length(value):
    if value is None:
        return DEFAULT_MAX_CONTENT_LENGTH
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number <= 0:
        raise ConfigError(
            f"MAX_CONTENT_LENGTH must be a positive integer number of bytes, got {value!r}"
        )
    return number


def parse_password_hash(value):
    if value is None:
        return None
    method = value.split("$", 1)[0].split(":", 1)[0]
    if value.count("$") != 2 or method not in PASSWORD_HASH_METHODS:
        raise ConfigError(
            "ADMIN_PASSWORD_HASH must be a Werkzeug password hash (scrypt:... or pbkdf2:...), "
            "not a plain password; create one with: flask --app blog hash-password"
        )
    return value


def parse_secret_key(value, allow_random):
    if value is not None:
        return value
    if allow_random:
        # Debug/testing only: sessions do not survive a restart.
        return secrets.token_hex(32)
    raise ConfigError(
        "SECRET_KEY is not set. Set it to a long random string, for example the output of "
        "python3 -c 'import secrets; print(secrets.token_hex(32))' "
        "(it is only optional with FLASK_DEBUG=1)."
    )


def build_config(settings, *, instance_path, static_folder, allow_random_secret):
    """Turn raw settings into Flask config values, raising ConfigError on bad input."""
    database_url, database = parse_database_url(settings["DATABASE_URL"], instance_path)
    public_url = parse_public_url(settings["SITE_PUBLIC_URL"])
    upload_dir = absolute_dir("UPLOAD_DIR", settings["UPLOAD_DIR"])
    return {
        "SECRET_KEY": parse_secret_key(settings["SECRET_KEY"], allow_random_secret),
        "DATABASE_URL": database_url,
        "DATABASE": database,
        "SITE_PUBLIC_URL": public_url,
        "SITE_NAME": settings["SITE_NAME"] or "A self-hosted blog",
        "AUTO_PUBLISH_TOKEN": settings["AUTO_PUBLISH_TOKEN"],
        "ADMIN_USERNAME": settings["ADMIN_USERNAME"] or "admin",
        "ADMIN_PASSWORD_HASH": parse_password_hash(settings["ADMIN_PASSWORD_HASH"]),
        "MAX_CONTENT_LENGTH": parse_max_content_length(settings["MAX_CONTENT_LENGTH"]),
        "UPLOAD_DIR": upload_dir or os.path.join(static_folder, "uploads"),
        "SESSION_COOKIE_NAME": "blog_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": bool(public_url and public_url.startswith("https:")),
    }
