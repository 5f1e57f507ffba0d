"""Publishing API for automation, authenticated with a bearer token."""

import hmac

from flask import Blueprint, current_app, jsonify, request

from .articles import ValidationError, article_json, get_article, parse_article, upsert_article
from .db import get_db
from .errors import error_response
from .urls import canonical_url

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def require_token():
    expected = current_app.config["AUTO_PUBLISH_TOKEN"]
    scheme, _sep, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if not expected:
        reason = "AUTO_PUBLISH_TOKEN is not set, the API is disabled"
    elif scheme.lower() != "bearer" or not given:
        reason = "no bearer token"
    elif not hmac.compare_digest(given.encode(), expected.encode()):
        reason = "wrong token"
    else:
        return None
    current_app.logger.warning(
        "Rejected API request %s %s from %s: %s",
        request.method,
        request.path,
        request.remote_addr,
        reason,
    )
    return error_response(
        401, "A valid bearer token is required.", {"WWW-Authenticate": 'Bearer realm="api"'}
    )


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/articles")
def publish():
    data = request.get_json(silent=True)
    if data is None:
        return error_response(400, "The request body must be JSON (application/json).")
    try:
        article = parse_article(data)
    except ValidationError as e:
        return error_response(400, str(e), **({"field": e.field} if e.field else {}))
    status, row = upsert_article(get_db(), article)
    answer = {
        "status": status,
        "slug": row["slug"],
        "url": canonical_url("blog.article", slug=row["slug"]),
        "published_at": row["published_at"],
        "updated_at": row["updated_at"],
    }
    return jsonify(answer), 201 if status == "created" else 200


@bp.get("/articles/<slug>")
def show(slug):
    row = get_article(get_db(), slug)
    if row is None:
        return error_response(404, f"No article with slug {slug!r}.")
    return jsonify(article_json(row) | {"url": canonical_url("blog.article", slug=slug)})
