"""Public pages: home, articles, sitemap, robots.txt, health check, uploaded files."""

import sqlite3
import xml.etree.ElementTree as ET

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)

from .articles import get_published_article, last_modified, published_articles
from .db import get_db
from .urls import canonical_url

bp = Blueprint("blog", __name__)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


@bp.get("/")
def index():
    return render_template("index.html", articles=published_articles(get_db()))


@bp.get("/articles/<slug>")
def article(slug):
    row = get_published_article(get_db(), slug)
    if row is None:
        abort(404, "There is no published article at this address.")
    return render_template("article.html", article=row)


@bp.get("/sitemap.xml")
def sitemap():
    rows = published_articles(get_db())
    urlset = ET.Element("urlset", xmlns=SITEMAP_NS)

    def add(loc, lastmod):
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = loc
        if lastmod:
            ET.SubElement(url, "lastmod").text = lastmod

    add(canonical_url("blog.index"), max((last_modified(row) for row in rows), default=None))
    for row in rows:
        add(canonical_url("blog.article", slug=row["slug"]), last_modified(row))
    ET.indent(urlset)
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(urlset, encoding="unicode")
    return Response(xml + "\n", content_type="application/xml; charset=utf-8")


@bp.get("/robots.txt")
def robots():
    prefix = request.script_root
    lines = [
        "User-agent: *",
        f"Disallow: {prefix}/admin/",
        f"Disallow: {prefix}/api/",
        "",
        f"Sitemap: {canonical_url('blog.sitemap')}",
    ]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


@bp.get("/healthz")
def healthz():
    # What the app sees of the request, so deployment tests can check the proxy setup.
    seen = {
        "remote_addr": request.remote_addr,
        "scheme": request.scheme,
        "host": request.host,
        "script_root": request.script_root,
    }
    try:
        count = get_db().execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error as e:
        current_app.logger.error("Health check failed: database error: %s", e)
        response = jsonify(status="error", error="database unavailable", request=seen)
        response.status_code = 503
    else:
        response = jsonify(status="ok", articles=count, request=seen)
    response.headers["Cache-Control"] = "no-store"
    return response


# In production the web server serves /static/uploads/ straight from UPLOAD_DIR; this route
# makes the same URLs work under `flask run` or plain gunicorn, wherever UPLOAD_DIR is.
@bp.get("/static/uploads/<path:filename>")
def uploaded_file(filename):
    return send_from_directory(current_app.config["UPLOAD_DIR"], filename)
