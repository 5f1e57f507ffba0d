"""Admin area: session login with CSRF protection, dashboard and image uploads."""

import contextlib
import errno
import functools
import hmac
import os
import secrets
import shutil
import tempfile
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.utils import secure_filename

from .articles import all_articles, utc_now
from .db import get_db
from .errors import error_response

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Allowed extension -> image type its content must have.
IMAGE_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp"}


def csrf_token():
    """The session's CSRF token (template global), created on first use."""
    if "csrf_token" not in session:
        session["csrf_token"] = secrets.token_urlsafe(32)
    return session["csrf_token"]


def same_secret(given, expected):
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.before_request
def require_login_and_csrf():
    if request.endpoint != "admin.login" and "admin" not in session:
        next_path = request.path if request.method == "GET" else None
        return redirect(url_for("admin.login", next=next_path))
    if request.method == "POST":
        expected = session.get("csrf_token")
        if not expected or not same_secret(request.form.get("csrf_token", ""), expected):
            abort(400, "The form has expired or is invalid (CSRF check failed). Reload the page.")
    return None


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@functools.cache
def dummy_hash():
    return generate_password_hash(secrets.token_hex(16))


def credentials_ok(username, password):
    stored = current_app.config["ADMIN_PASSWORD_HASH"]
    # Always check one hash, so a wrong user or disabled login costs as much as a real check.
    password_ok = check_password_hash(stored or dummy_hash(), password)
    user_ok = same_secret(username, current_app.config["ADMIN_USERNAME"])
    return bool(stored) and user_ok and password_ok


def local_path(target):
    """target if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_path = local_path(request.values.get("next"))
    if request.method == "POST":
        username = request.form.get("username", "")
        if credentials_ok(username, request.form.get("password", "")):
            session.clear()  # fresh session and CSRF token after login
            session["admin"] = username
            current_app.logger.info("Admin %r logged in from %s", username, request.remote_addr)
            if next_path:
                return redirect(request.script_root + next_path, 303)
            return redirect(url_for("admin.dashboard"), 303)
        current_app.logger.warning(
            "Failed admin login for %r from %s", username, request.remote_addr
        )
        flash("Invalid username or password.", "error")
    return render_template("admin/login.html", next=next_path)


@bp.post("/logout")
def logout():
    session.clear()
    flash("You have been logged out.", "success")
    return redirect(url_for("admin.login"), 303)


def list_uploads(directory):
    """Uploaded image names, newest first; a missing directory means none yet."""
    try:
        with os.scandir(directory) as entries:
            files = [
                entry
                for entry in entries
                if entry.is_file()
                and not entry.name.startswith(".")
                and entry.name.rpartition(".")[2] in IMAGE_EXTENSIONS
            ]
    except FileNotFoundError:
        return []
    except OSError:
        current_app.logger.exception("Cannot list the upload directory %s", directory)
        flash("The upload directory cannot be read; see the server log.", "error")
        return []
    files.sort(key=lambda entry: entry.stat().st_mtime, reverse=True)
    return [entry.name for entry in files]


def render_dashboard(status=200):
    page = render_template(
        "admin/dashboard.html",
        articles=all_articles(get_db()),
        uploads=list_uploads(current_app.config["UPLOAD_DIR"]),
        now=utc_now(),
    )
    return page, status


@bp.get("/")
def dashboard():
    return render_dashboard()


def sniff_image_type(head):
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def checked_name(upload):
    """Safe (stem, extension) for an uploaded image; ValueError with a message otherwise."""
    stem, ext = os.path.splitext(upload.filename)
    ext = ext[1:].lower()
    if ext not in IMAGE_EXTENSIONS:
        raise ValueError("Only PNG, JPEG, GIF and WebP images (.png .jpg .jpeg .gif .webp).")
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if sniff_image_type(head) != IMAGE_EXTENSIONS[ext]:
        raise ValueError(f"The file content is not a {IMAGE_EXTENSIONS[ext].upper()} image.")
    return secure_filename(stem)[:80] or "image", ext


def store_upload(stream, directory, stem, ext):
    """Write atomically under a new name (never overwriting) and return that name."""
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(stream, out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; the web server must read the file
        name = f"{stem}.{ext}"
        while os.path.exists(os.path.join(directory, name)):
            name = f"{stem}-{secrets.token_hex(3)}.{ext}"
        os.replace(tmp_path, os.path.join(directory, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_path)
        raise
    return name


@bp.post("/upload")
def upload():
    image = request.files.get("image")
    if image is None or not image.filename:
        flash("Choose an image file to upload.", "error")
        return render_dashboard(400)
    try:
        stem, ext = checked_name(image)
    except ValueError as e:
        flash(f"Upload rejected: {e}", "error")
        return render_dashboard(400)
    directory = current_app.config["UPLOAD_DIR"]
    try:
        name = store_upload(image.stream, directory, stem, ext)
    except OSError as e:
        current_app.logger.exception("Could not store an uploaded image in %s", directory)
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            return error_response(507, "No space is left to store the image; nothing was saved.")
        abort(500, "The image could not be stored; the error has been logged.")
    current_app.logger.info("Uploaded image %s", name)
    flash(f"Uploaded {name}.", "success")
    return redirect(url_for("admin.dashboard"), 303)
