"""Articles: validation, the single upsert code path (API and CLI), queries, text helpers."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
FIELDS = ("title", "slug", "body", "language", "published_at")
MAX_TITLE = 200
MAX_SLUG = 100
MAX_LANGUAGE = 35


class ValidationError(ValueError):
    def __init__(self, field, message):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ArticleInput:
    slug: str
    title: str
    body: str
    language: str
    published_at: str | None  # normalised UTC ISO string, None = not given


def format_timestamp(moment):
    """UTC ISO 8601 with seconds, e.g. 2026-12-01T08:00:00+00:00 (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def utc_now():
    return format_timestamp(datetime.now(UTC))


def parse_timestamp(value):
    """ISO 8601 date or datetime -> normalised UTC string; naive values are UTC."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_timestamp(moment)


def _required_text(data, field):
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "is required and must be a non-empty string")
    return value.strip()


def parse_article(data):
    """Validate a decoded JSON object; raise ValidationError naming the first bad field."""
    if not isinstance(data, dict):
        raise ValidationError(None, "an article must be a JSON object")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ValidationError(unknown[0], f"unknown field (allowed: {', '.join(FIELDS)})")

    title = _required_text(data, "title")
    if len(title) > MAX_TITLE:
        raise ValidationError("title", f"must be at most {MAX_TITLE} characters")

    slug = data.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug) or len(slug) > MAX_SLUG:
        raise ValidationError(
            "slug",
            f"must be lower-case letters and digits joined by single hyphens, at most "
            f"{MAX_SLUG} characters (e.g. my-first-post)",
        )

    # Normalise line endings so re-sending the same text is recognised as unchanged.
    body = _required_text(data, "body").replace("\r\n", "\n")

    language = data.get("language")
    if (
        not isinstance(language, str)
        or not LANGUAGE_RE.match(language)
        or len(language) > MAX_LANGUAGE
    ):
        raise ValidationError("language", "must be a language tag such as en or pt-BR")

    published_at = data.get("published_at")
    if published_at is not None:
        try:
            published_at = parse_timestamp(published_at)
        except (TypeError, ValueError, OverflowError):
            raise ValidationError(
                "published_at", "must be an ISO 8601 date or datetime, e.g. 2026-12-01T08:00:00Z"
            ) from None
    return ArticleInput(slug, title, body, language, published_at)


def get_article(db, slug):
    return db.execute("SELECT * FROM articles WHERE slug = ?", (slug,)).fetchone()


def upsert_article(db, article):
    """Create or update one article by slug; return (status, stored row).

    status is "created", "updated" or "unchanged"; unchanged means nothing was written,
    so updated_at (and the sitemap's lastmod) stays as it was.
    """
    now = utc_now()
    with db:  # commits, or rolls back on error
        db.execute("BEGIN IMMEDIATE")
        row = get_article(db, article.slug)
        if row is None:
            db.execute(
                "INSERT INTO articles (slug, title, body, language, published_at, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    article.slug,
                    article.title,
                    article.body,
                    article.language,
                    article.published_at or now,
                    now,
                    now,
                ),
            )
            status = "created"
        else:
            wanted = (
                article.title,
                article.body,
                article.language,
                article.published_at or row["published_at"],
            )
            if wanted == (row["title"], row["body"], row["language"], row["published_at"]):
                status = "unchanged"
            else:
                db.execute(
                    "UPDATE articles SET title = ?, body = ?, language = ?, published_at = ?,"
                    " updated_at = ? WHERE slug = ?",
                    (*wanted, now, article.slug),
                )
                status = "updated"
    return status, get_article(db, article.slug)


def all_articles(db):
    return db.execute("SELECT * FROM articles ORDER BY published_at DESC, id DESC").fetchall()


def published_articles(db):
    """Articles whose publish date has passed, newest first."""
    return db.execute(
        "SELECT * FROM articles WHERE published_at <= ? ORDER BY published_at DESC, id DESC",
        (utc_now(),),
    ).fetchall()


def get_published_article(db, slug):
    return db.execute(
        "SELECT * FROM articles WHERE slug = ? AND published_at <= ?", (slug, utc_now())
    ).fetchone()


def last_modified(row):
    """When the public page last changed: its last edit, or its (scheduled) publication."""
    return max(row["updated_at"], row["published_at"])


def paragraphs(body):
    return [part.strip() for part in re.split(r"\n\s*\n", body) if part.strip()]


def excerpt(body, length=200):
    """First paragraph as one line, cut at a word boundary."""
    parts = paragraphs(body)
    text = " ".join(parts[0].split()) if parts else ""
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def article_json(row):
    return {
        "slug": row["slug"],
        "title": row["title"],
        "body": row["body"],
        "language": row["language"],
        "published_at": row["published_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
