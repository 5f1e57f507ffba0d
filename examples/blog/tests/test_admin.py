import errno
import io
import logging
import os
from pathlib import Path

import pytest
from blog import admin
from conftest import PASSWORD, csrf_from, log_in, tiny_png


def upload(client, data, filename, token=None):
    token = token or csrf_from(client.get("/admin/"))
    form = {"csrf_token": token, "image": (io.BytesIO(data), filename)}
    return client.post("/admin/upload", data=form, content_type="multipart/form-data")


def stored_files(app):
    upload_dir = Path(app.config["UPLOAD_DIR"])
    return sorted(p.name for p in upload_dir.iterdir()) if upload_dir.exists() else []


def is_logged_in(client):
    return client.get("/admin/").status_code == 200


def test_dashboard_requires_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/"


def test_wrong_password_fails(client):
    response = log_in(client, password="wrong")
    assert response.status_code == 200
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_unknown_user_fails(client):
    response = log_in(client, username="root")
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_login_disabled_without_password_hash(make_app):
    client = make_app(ADMIN_PASSWORD_HASH=None).test_client()
    response = log_in(client)
    assert "Invalid username or password." in response.get_data(as_text=True)
    assert not is_logged_in(client)


@pytest.mark.parametrize("token", [None, "wrong-token", "ümlaut"])
def test_login_without_valid_csrf_token_is_400(client, token):
    client.get("/admin/login")  # the session has a token, the form does not send it
    form = {"username": "admin", "password": PASSWORD}
    if token is not None:
        form["csrf_token"] = token
    response = client.post("/admin/login", data=form)
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert not is_logged_in(client)


def test_login_without_session_is_400(client):
    response = client.post("/admin/login", data={"csrf_token": "x", "password": PASSWORD})
    assert response.status_code == 400


def test_login_success_and_logout(client, add_article):
    add_article("first-post", title="My first post")
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert dashboard.headers["Cache-Control"] == "no-store"
    assert "My first post" in dashboard.get_data(as_text=True)

    assert client.post("/admin/logout").status_code == 400  # CSRF required
    assert is_logged_in(client)
    response = client.post("/admin/logout", data={"csrf_token": csrf_from(dashboard)})
    assert response.status_code == 303
    assert not is_logged_in(client)


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"],
)
def test_login_ignores_external_next(client, target):
    response = log_in(client, next=target)
    assert response.headers["Location"] == "/admin/"


def test_login_follows_local_next(client):
    response = log_in(client, next="/articles/hello")
    assert response.headers["Location"] == "/articles/hello"


def test_upload_png(admin_client, app):
    response = upload(admin_client, tiny_png(), "My Photo.PNG")
    assert response.status_code == 303
    assert stored_files(app) == ["My_Photo.png"]

    # Never overwrite: the same name again gets a suffix.
    assert upload(admin_client, tiny_png(), "My Photo.PNG").status_code == 303
    names = stored_files(app)
    assert len(names) == 2
    assert names[0].startswith("My_Photo-") and names[0].endswith(".png")

    with admin_client.get("/static/uploads/My_Photo.png") as served:
        assert served.status_code == 200
        assert served.data == tiny_png()
    dashboard = admin_client.get("/admin/").get_data(as_text=True)
    assert 'href="/static/uploads/My_Photo.png"' in dashboard
    assert "https://blog.example.com/static/uploads/My_Photo.png" in dashboard


def test_upload_path_traversal_stays_inside_upload_dir(admin_client, app, tmp_path):
    assert upload(admin_client, tiny_png(), "../../evil.png").status_code == 303
    assert stored_files(app) == ["evil.png"]
    assert not (tmp_path / "evil.png").exists()
    assert not (tmp_path.parent / "evil.png").exists()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"just some text, not an image", "notes.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "x.svg"),
        (tiny_png(), "picture.svg"),
        (tiny_png(), "photo.jpg"),  # content must match the extension
        (tiny_png(), "noextension"),
        (tiny_png(), "page.html"),
    ],
)
def test_upload_rejects_non_images(admin_client, app, data, filename):
    response = upload(admin_client, data, filename)
    assert response.status_code == 400
    assert "Upload rejected" in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_upload_requires_csrf_token(admin_client, app):
    response = upload(admin_client, tiny_png(), "a.png", token="wrong")
    assert response.status_code == 400
    assert stored_files(app) == []


def test_upload_requires_login(client, app):
    client.get("/admin/login")
    with client.session_transaction() as session:
        token = session["csrf_token"]
    response = upload(client, tiny_png(), "a.png", token=token)
    assert response.status_code == 302
    assert stored_files(app) == []


def test_upload_over_limit_is_413_page(make_app):
    app = make_app(MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    log_in(client)
    response = upload(client, tiny_png() + b"\0" * 8192, "big.png")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "4096 bytes" in response.get_data(as_text=True)
    assert stored_files(app) == []


def test_unwritable_upload_dir_gives_clean_error(make_app, tmp_path, caplog):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    app = make_app(UPLOAD_DIR=str(blocker / "uploads"))
    client = app.test_client()
    log_in(client)
    with caplog.at_level(logging.ERROR):
        response = upload(client, tiny_png(), "a.png")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Internal Server Error" in html and 'class="site-header"' in html
    assert "Traceback" not in html
    assert "Could not store an uploaded image" in caplog.text


def test_full_disk_gives_507_and_leaves_no_partial_file(make_app, tmp_path, monkeypatch, caplog):
    app = make_app()
    client = app.test_client()
    log_in(client)

    def full(src, dst, length=0):
        dst.write(src.read(100))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(admin.shutil, "copyfileobj", full)
    with caplog.at_level(logging.ERROR):
        response = upload(client, tiny_png(), "a.png")
    assert response.status_code == 507
    html = response.get_data(as_text=True)
    assert "No space is left" in html and 'class="site-header"' in html
    assert os.listdir(app.config["UPLOAD_DIR"]) == []
    assert client.get("/").status_code == 200
