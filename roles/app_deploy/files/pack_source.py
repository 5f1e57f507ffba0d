# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pack a source directory on the controller for app_deploy, and name its content.

    pack_source.py SRC OUT [--exclude PATTERN ...] [--linked PATH ...] [--list]

Walks SRC, leaves out every entry matching an exclude pattern (matched against the path relative
to SRC, and against the entry's own name for a pattern without a slash; an excluded directory is
left out whole) and every linked path, and prints one JSON object: the content version (sha256
over each kept entry's path, type, executable bit and content, so the same tree from another clone
or with other modification times has the same version), the number of files, and the linked paths
the source contained (state that must not travel); with --list, also each kept file's sha1 (for
check mode's comparison with a release on the host). With OUT other than "-", the kept entries
are written to OUT as a gzip'd tar archive, sorted, with normalised owners and modes.
"""

import argparse
import fnmatch
import hashlib
import json
import os
import stat
import sys
import tarfile


def excluded(relpath, patterns):
    name = relpath.rsplit("/", 1)[-1]
    for pattern in patterns:
        if fnmatch.fnmatchcase(relpath, pattern):
            return True
        if "/" not in pattern and fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def walk(src, patterns, linked):
    """Kept entries as (relpath, lstat), parents before children, sorted; and linked paths seen."""
    kept, found = [], []

    def visit(directory, prefix):
        for name in sorted(os.listdir(directory)):
            relpath = prefix + name
            path = os.path.join(directory, name)
            if relpath in linked:
                found.append(relpath)
                continue
            if excluded(relpath, patterns):
                continue
            info = os.lstat(path)
            kept.append((relpath, info))
            if stat.S_ISDIR(info.st_mode):
                visit(path, relpath + "/")

    visit(src, "")
    return kept, found


def file_digest(path, algorithm="sha256"):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version(src, kept):
    digest = hashlib.sha256()
    files = 0
    for relpath, info in kept:
        path = os.path.join(src, relpath)
        if stat.S_ISLNK(info.st_mode):
            entry = "l " + os.readlink(path)
        elif stat.S_ISDIR(info.st_mode):
            entry = "d"
        elif stat.S_ISREG(info.st_mode):
            files += 1
            entry = f"f{'x' if info.st_mode & 0o111 else '-'} {file_digest(path)}"
        else:
            continue  # sockets, fifos, devices: never part of an app's code
        digest.update(f"{relpath}\0{entry}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest(), files


def sha1_of_files(src, kept):
    listing = {}
    for relpath, info in kept:
        if stat.S_ISREG(info.st_mode):
            listing[relpath] = file_digest(os.path.join(src, relpath), "sha1")
    return listing


def normalised(member):
    member.uid = member.gid = 0
    member.uname = member.gname = "root"
    if member.isdir() or member.mode & 0o111:
        member.mode = 0o755
    else:
        member.mode = 0o644
    return member


def pack(src, kept, out):
    with tarfile.open(out, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for relpath, info in kept:
            if stat.S_IFMT(info.st_mode) in (stat.S_IFDIR, stat.S_IFREG, stat.S_IFLNK):
                path = os.path.join(src, relpath)
                archive.add(path, arcname=relpath, recursive=False, filter=normalised)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("src")
    parser.add_argument("out")
    parser.add_argument("--exclude", action="append", default=[])
    parser.add_argument("--linked", action="append", default=[])
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.src):
        parser.error(f"not a directory: {args.src}")
    linked = {path.strip("/") for path in args.linked}
    kept, found = walk(args.src, args.exclude, linked)
    content, files = version(args.src, kept)
    if args.out != "-":
        pack(args.src, kept, args.out)
    result = {"version": content, "files": files, "linked_in_source": found}
    if args.list:
        result["sha1"] = sha1_of_files(args.src, kept)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
