# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each search engine has accepted so far: the state file of sitemap_submit.

    {"version": 1, "engines": {"<engine>": {"<loc>": "<lastmod, or empty string>"}}}

A URL is pending for an engine when the engine has not accepted its loc yet, or accepted it
with another lastmod. A URL without a lastmod is pending only once: the first time its loc is
seen (give pages a lastmod to have a changed page submitted again).

The file is replaced atomically (a temporary file in the same directory, then a rename), mode
0600.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_native

VERSION = 1
FILE_MODE = 0o600
DIR_MODE = 0o755


class StateError(Exception):
    """The state file cannot be read or written; the message names its path."""


class State:
    """engines: {engine name: {loc: lastmod or ""}}."""

    def __init__(self, path, engines=None):
        self.path = path
        self.engines = engines if engines is not None else {}

    @classmethod
    def load(cls, path):
        """The state in `path`; an empty state when the file does not exist. Raises StateError
        when it cannot be read or is not a state file (nothing is resubmitted silently)."""
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return cls(path)
        except OSError as err:
            raise StateError(f"cannot read the state file {path}: {to_native(err)}") from err
        advice = "; fix it, or remove it to submit every URL of the sitemap to every engine again"
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise StateError(
                f"the state file {path} is not valid JSON ({to_native(err)}){advice}"
            ) from err
        problem = _problem(data)
        if problem:
            raise StateError(
                f"the state file {path} is not a sitemap_submit state: {problem}{advice}"
            )
        return cls(path, data["engines"])

    def submitted(self, engine):
        """{loc: lastmod} the engine has accepted."""
        return self.engines.get(engine, {})

    def pending(self, engine, entries):
        """The entries (sitemap.Entry) the engine has not accepted as they are now, in
        document order: a loc it never accepted, or one it accepted with another lastmod. An
        entry without a lastmod says nothing about change: it is pending only while its loc is
        unknown."""
        known = self.engines.get(engine, {})
        pending = []
        for entry in entries:
            stored = known.get(entry.loc)
            if stored is None or (entry.lastmod and entry.lastmod != stored):
                pending.append(entry)
        return pending

    def update(self, engine, accepted, entries):
        """Record that `engine` accepted the locs in `accepted`, with their lastmod in
        `entries` (the sitemap as it is now), and forget the locs that are no longer in the
        sitemap, for this engine only. Returns True when the engine's state changed."""
        current = {e.loc: e.lastmod or "" for e in entries}
        old = self.engines.get(engine, {})
        new = {loc: lastmod for loc, lastmod in old.items() if loc in current}
        for loc in accepted:
            if loc in current:
                new[loc] = current[loc]
        if new == old and engine in self.engines:
            return False
        self.engines[engine] = new
        return True

    def serialise(self):
        """The file's content, as text: sorted, so that two runs with the same outcome write
        the same bytes."""
        data = {"version": VERSION, "engines": self.engines}
        return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    def write(self, move=None):
        """Replace the file atomically: write a temporary file in the same directory (created,
        0755, when missing), then move it over the old one with move(src, dest) (default
        os.replace; a module passes its atomic_move). The file ends up 0600. On any failure
        the old file is left as it was and the temporary file is removed."""
        path = self.path
        directory = os.path.dirname(os.path.abspath(path))
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, DIR_MODE)
            fd, tmp = tempfile.mkstemp(
                dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp"
            )
        except OSError as err:
            raise StateError(f"cannot write the state file {path}: {to_native(err)}") from err
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.serialise().encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            (move or os.replace)(tmp, path)
            os.chmod(path, FILE_MODE)
        except BaseException as err:
            if os.path.exists(tmp):
                os.unlink(tmp)
            if isinstance(err, OSError):
                raise StateError(f"cannot write the state file {path}: {to_native(err)}") from err
            raise


def _problem(data):
    """What makes `data` not a state (None when it is one)."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("version") != VERSION:
        return f"version {data.get('version')!r}, this module reads version {VERSION}"
    engines = data.get("engines")
    if not isinstance(engines, dict):
        return '"engines" is not an object'
    for name, urls in engines.items():
        if not isinstance(urls, dict):
            return f'"engines"."{name}" is not an object'
        for loc, lastmod in urls.items():
            if not isinstance(lastmod, str):
                return f'"engines"."{name}"."{loc}" is not a string'
    return None
