# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finish a new release on the managed host in one call (app_deploy; stdlib only).

    link_release.py SPEC_JSON

SPEC_JSON: {"release": dir, "linked": {path in the release: target}, "owner": user,
"group": group, "record": text of the release file}. Whatever the source put at a linked path
is removed; the missing parents of each linked path are made, owned by owner:group; each linked
path becomes a link to its target; the record is written to <release>/.flask_blog-release
(owner:group, 0644), and an empty <release>/.env (a source's .env never travels): Flask's CLI
looks for a .env from its directory upwards, and must stop in the release, where the app's
.flaskenv is, rather than read the site's environment file above it (which the deploy user
running the build steps cannot even read). Prints {"removed": [the linked paths, as given, that
the source had]} as JSON.
"""

import grp
import json
import os
import pwd
import shutil
import sys

RECORD = ".flask_blog-release"
DOTENV = ".env"


def make_parents(release, path, uid, gid):
    parent = release
    for part in os.path.dirname(path).split("/"):
        if not part:
            continue
        parent = os.path.join(parent, part)
        if not os.path.isdir(parent):
            os.mkdir(parent)
            os.chmod(parent, 0o755)  # noqa: S103 - a release directory: readable, as its parent
            os.chown(parent, uid, gid)


def link(release, path, target, uid, gid):
    """Link release/path to target; True when the source had something there."""
    where = os.path.join(release, path)
    had = os.path.lexists(where) and not os.path.islink(where)
    if os.path.isdir(where) and not os.path.islink(where):
        shutil.rmtree(where)
    elif os.path.lexists(where):
        os.unlink(where)
    make_parents(release, path, uid, gid)
    os.symlink(target, where)
    return had


def main(argv):
    spec = json.loads(argv[0])
    release = spec["release"]
    uid = pwd.getpwnam(spec["owner"]).pw_uid
    gid = grp.getgrnam(spec["group"]).gr_gid
    removed = [
        path
        for path, target in spec["linked"].items()
        if link(release, path.strip("/"), target, uid, gid)
    ]
    for name, text in ((RECORD, spec["record"]), (DOTENV, "")):
        path = os.path.join(release, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chown(path, uid, gid)
        os.chmod(path, 0o644)
    print(json.dumps({"removed": removed}))


if __name__ == "__main__":
    main(sys.argv[1:])
