"""module_utils/submit_state.py: pending URLs, updates, pruning, and an atomic, private state
file that is never silently replaced when it is corrupt."""

import json
import os
import stat

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import submit_state
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.sitemap import Entry
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.submit_state import (
    State,
    StateError,
)

SITE = "https://blog.example.com"


def entries(*pairs):
    return [Entry(SITE + path, lastmod, SITE + "/sitemap.xml") for path, lastmod in pairs]


def locs(items):
    return [item.loc for item in items]


# Pending


def test_everything_is_pending_for_an_engine_never_seen():
    found = entries(("/a", "2024-05-06"), ("/b", None))
    assert State("unused").pending("indexnow", found) == found


def test_pending_new_and_changed_in_document_order():
    state = State(
        "unused",
        {"indexnow": {SITE + "/same": "2024-05-06", SITE + "/changed": "2024-05-06"}},
    )
    found = entries(
        ("/new", "2024-05-07"),
        ("/same", "2024-05-06"),
        ("/changed", "2024-05-07T10:00:00Z"),
    )
    assert locs(state.pending("indexnow", found)) == [SITE + "/new", SITE + "/changed"]


def test_pending_is_per_engine():
    state = State("unused", {"indexnow": {SITE + "/a": "2024"}})
    found = entries(("/a", "2024"))
    assert state.pending("indexnow", found) == []
    assert state.pending("baidu", found) == found


def test_without_lastmod_a_url_is_pending_only_the_first_time():
    state = State("unused")
    found = entries(("/a", None))
    assert state.pending("indexnow", found) == found
    state.update("indexnow", [SITE + "/a"], found)
    assert state.engines["indexnow"] == {SITE + "/a": ""}
    assert state.pending("indexnow", found) == []


def test_a_lastmod_that_disappears_is_no_change_one_that_appears_is():
    state = State("unused", {"indexnow": {SITE + "/dated": "2024", SITE + "/undated": ""}})
    assert state.pending("indexnow", entries(("/dated", None))) == []
    appears = entries(("/undated", "2024-05-06"))
    assert state.pending("indexnow", appears) == appears


# Updates and pruning


def test_update_saves_accepted_with_their_lastmod_only():
    state = State("unused")
    found = entries(("/a", "2024-05-06"), ("/b", None), ("/rejected", "2024"))
    assert state.update("indexnow", [SITE + "/a", SITE + "/b"], found) is True
    assert state.engines == {"indexnow": {SITE + "/a": "2024-05-06", SITE + "/b": ""}}
    assert locs(state.pending("indexnow", found)) == [SITE + "/rejected"]


def test_update_prunes_locs_no_longer_in_the_sitemap_for_that_engine_only():
    state = State(
        "unused",
        {
            "indexnow": {SITE + "/gone": "2023", SITE + "/kept": "2023"},
            "baidu": {SITE + "/gone": "2023"},
        },
    )
    found = entries(("/kept", "2023"), ("/new", "2024"))
    assert state.update("indexnow", [SITE + "/new"], found) is True
    assert state.engines["indexnow"] == {SITE + "/kept": "2023", SITE + "/new": "2024"}
    assert state.engines["baidu"] == {SITE + "/gone": "2023"}


def test_update_keeps_the_old_lastmod_of_a_url_not_accepted_again():
    state = State("unused", {"indexnow": {SITE + "/a": "2023"}})
    found = entries(("/a", "2024"), ("/b", None))
    state.update("indexnow", [SITE + "/b"], found)
    assert state.engines["indexnow"][SITE + "/a"] == "2023"  # still pending next run
    assert locs(state.pending("indexnow", found)) == [SITE + "/a"]


def test_update_without_change_says_so():
    state = State("unused", {"indexnow": {SITE + "/a": "2024"}})
    assert state.update("indexnow", [SITE + "/a"], entries(("/a", "2024"))) is False


def test_update_ignores_an_accepted_url_not_in_the_sitemap():
    state = State("unused")
    state.update("indexnow", [SITE + "/x"], entries(("/a", None)))
    assert state.engines == {"indexnow": {}}


# The file


def test_missing_file_is_an_empty_state(tmp_path):
    state = State.load(str(tmp_path / "none.json"))
    assert state.engines == {}
    assert state.path == str(tmp_path / "none.json")


def test_write_creates_directory_and_private_file_and_reads_back(tmp_path):
    path = tmp_path / "lib" / "flask_blog" / "sitemap_submit.json"
    state = State(str(path), {"indexnow": {SITE + "/b": "", SITE + "/a": "2024-05-06"}})
    old_umask = os.umask(0o022)
    try:
        state.write()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"version": 1, "engines": state.engines}
    assert State.load(str(path)).engines == state.engines
    assert os.listdir(path.parent) == ["sitemap_submit.json"]


def test_serialise_is_stable_and_sorted():
    one = State("x", {"b": {SITE + "/z": "", SITE + "/a": "1"}, "a": {}})
    two = State("x", {"a": {}, "b": {SITE + "/a": "1", SITE + "/z": ""}})
    assert one.serialise() == two.serialise()
    assert one.serialise().index('"a"') < one.serialise().index('"b"')


def test_write_uses_the_given_move_and_keeps_mode_0600(tmp_path):
    path = tmp_path / "state.json"
    moves = []

    def move(src, dest):  # like atomic_move on a new file: the umask's mode
        moves.append((os.path.dirname(src), dest))
        os.replace(src, dest)
        os.chmod(dest, 0o644)

    State(str(path), {"indexnow": {}}).write(move)
    assert moves == [(str(tmp_path), str(path))]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    State(str(path), {"indexnow": {SITE + "/a": "2023"}}).write()
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(submit_state.os, "fsync", broken_fsync)
    with pytest.raises(StateError) as caught:
        State(str(path), {"indexnow": {SITE + "/b": "2024"}}).write()
    assert str(path) in str(caught.value) and "No space left" in str(caught.value)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.json"]


def test_failure_in_the_move_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "state.json"
    State(str(path), {"indexnow": {SITE + "/a": "2023"}}).write()
    before = path.read_bytes()

    def move(src, dest):
        raise OSError(18, "Invalid cross-device link")

    with pytest.raises(StateError):
        State(str(path), {"indexnow": {}}).write(move)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_module_exiting_in_the_move_still_removes_the_temporary(tmp_path):
    path = tmp_path / "state.json"

    def move(src, dest):  # atomic_move calls fail_json, which exits
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        State(str(path), {}).write(move)
    assert os.listdir(tmp_path) == []


def test_unwritable_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError) as caught:
        State(str(blocker / "state.json"), {}).write()
    assert str(blocker / "state.json") in str(caught.value)


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "is not valid JSON"),
        (b'{"version": 1, "engines": {', "is not valid JSON"),
        (b"\xff\xfe", "is not valid JSON"),
        (b"[]", "not a JSON object"),
        (b'{"engines": {}}', "version None, this module reads version 1"),
        (b'{"version": 2, "engines": {}}', "version 2"),
        (b'{"version": 1}', '"engines" is not an object'),
        (b'{"version": 1, "engines": {"indexnow": []}}', '"engines"."indexnow" is not an object'),
        (b'{"version": 1, "engines": {"indexnow": {"u": 1}}}', '"engines"."indexnow"."u"'),
    ],
)
def test_corrupt_file_fails_naming_the_path(tmp_path, content, reason):
    path = tmp_path / "state.json"
    path.write_bytes(content)
    with pytest.raises(StateError) as caught:
        State.load(str(path))
    message = str(caught.value)
    assert str(path) in message and reason in message
    assert "remove it to submit every URL" in message
    assert path.read_bytes() == content


def test_unreadable_path_fails_naming_it(tmp_path):
    with pytest.raises(StateError) as caught:
        State.load(str(tmp_path))  # a directory
    assert f"cannot read the state file {tmp_path}" in str(caught.value)
