"""Error responses: HTML in the site layout for pages, JSON for the API."""

import sqlite3

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES


def is_api_request():
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status, message, headers=None, **extra):
    if is_api_request():
        body = jsonify(error=message, **extra)
    else:
        title = HTTP_STATUS_CODES.get(status, "Error")
        body = render_template("error.html", status=status, title=title, message=message)
    return body, status, headers or {}


def handle_http_exception(e):
    message = e.description
    if isinstance(e, RequestEntityTooLarge):
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        message = f"The request body is larger than the limit of {limit} bytes."
    # Keep headers such as Allow or WWW-Authenticate, but not werkzeug's HTML content type.
    headers = [(k, v) for k, v in e.get_headers() if k.lower() != "content-type"]
    return error_response(e.code, message, headers)


def handle_database_error(e):
    current_app.logger.error("Database error on %s %s", request.method, request.path, exc_info=e)
    return error_response(503, "The database is temporarily unavailable, please try again later.")


def register_error_handlers(app):
    # Also covers unhandled exceptions: Flask wraps them in InternalServerError (500).
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(sqlite3.Error, handle_database_error)
