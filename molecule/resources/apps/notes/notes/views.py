from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for

from .auth import login_required
from .db import get_db

bp = Blueprint("notes", __name__)


@bp.route("/")
def index():
    notes = (
        get_db()
        .execute(
            "SELECT n.id, n.title, n.body, n.created, u.username"
            " FROM note n JOIN user u ON n.author_id = u.id"
            " ORDER BY n.created DESC, n.id DESC"
        )
        .fetchall()
    )
    return render_template("index.html", notes=notes)


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create():
    if request.method == "POST":
        title = request.form.get("title", "").strip()
        body = request.form.get("body", "")
        if not title:
            flash("Title is required.")
        else:
            db = get_db()
            db.execute(
                "INSERT INTO note (author_id, title, body) VALUES (?, ?, ?)",
                (g.user["id"], title, body),
            )
            db.commit()
            current_app.logger.info("user %s created note %r", g.user["username"], title)
            return redirect(url_for("notes.index"))
    return render_template("create.html")
