"""app_deploy's files/link_release.py: a new release's linked paths become links into the shared
state (whatever the source had there removed and reported), and its record is written."""

import grp
import importlib.util
import json
import os
import pwd
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "app_deploy" / "files" / "link_release.py"
spec = importlib.util.spec_from_file_location("link_release", SCRIPT)
link_release = importlib.util.module_from_spec(spec)
spec.loader.exec_module(link_release)

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
RECORD = "id: r1\nversion: abc\n"


def finish(release, linked, capsys):
    argv = {"release": str(release), "linked": linked, "owner": OWNER, "group": GROUP,
            "record": RECORD}  # fmt: skip
    link_release.main([json.dumps(argv)])
    return json.loads(capsys.readouterr().out)


def test_linked_paths_point_into_the_shared_state_with_their_parents_made(tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    out = finish(release, {"instance": "/srv/shared/instance",
                           "/static/uploads/": "/srv/shared/uploads"}, capsys)  # fmt: skip
    assert out == {"removed": []}
    assert os.readlink(release / "instance") == "/srv/shared/instance"
    assert os.readlink(release / "static" / "uploads") == "/srv/shared/uploads"
    assert (release / "static").is_dir() and not (release / "static").is_symlink()
    assert oct((release / "static").stat().st_mode & 0o777) == "0o755"


def test_state_the_source_brought_is_removed_and_reported(tmp_path, capsys):
    release = tmp_path / "release"
    (release / "instance").mkdir(parents=True)
    (release / "instance" / "blog.sqlite").write_text("the laptop's database")
    (release / "static").mkdir()
    (release / "static" / "uploads").write_text("a file where a directory link goes")
    out = finish(release, {"instance": "/srv/shared/instance",
                           "static/uploads": "/srv/shared/uploads"}, capsys)  # fmt: skip
    assert out == {"removed": ["instance", "static/uploads"]}
    assert os.readlink(release / "instance") == "/srv/shared/instance"
    assert os.readlink(release / "static" / "uploads") == "/srv/shared/uploads"


def test_a_link_the_source_had_is_replaced_without_a_warning(tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    (release / "instance").symlink_to("/home/dev/instance")
    out = finish(release, {"instance": "/srv/shared/instance"}, capsys)
    assert out == {"removed": []}
    assert os.readlink(release / "instance") == "/srv/shared/instance"


def test_the_record_says_what_the_release_is(tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    finish(release, {}, capsys)
    record = release / ".flask_blog-release"
    assert record.read_text() == RECORD
    assert oct(record.stat().st_mode & 0o777) == "0o644"


def test_flasks_search_for_a_dotenv_stops_in_the_release(tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    (tmp_path / ".env").write_text("SECRET_KEY=the-site-environment\n")  # the app root's
    finish(release, {}, capsys)
    dotenv = release / ".env"
    assert dotenv.is_file() and dotenv.read_text() == ""
    assert oct(dotenv.stat().st_mode & 0o777) == "0o644"
