# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move state directories to their new places, leaving a link at each old place, without a
moment in which the old path names nothing (writable_paths, on the managed host; stdlib only).

    move_state.py OLD NEW [OLD NEW ...]

For each pair, NEW is first made a link to itself, then renameat2(RENAME_EXCHANGE) swaps OLD
and NEW in one step: NEW is the directory, OLD the link to it. An app still running with the
old paths never sees OLD missing. Where the filesystem cannot exchange (EINVAL), the directory
is renamed and the link made right after.
"""

import ctypes
import errno
import os
import sys

AT_FDCWD = -100
RENAME_EXCHANGE = 2


def exchange(old, new):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), RENAME_EXCHANGE):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), old)


def move(old, new):
    os.symlink(new, new)
    try:
        exchange(old, new)
    except OSError as err:
        os.unlink(new)
        if err.errno not in (errno.EINVAL, errno.ENOSYS):
            raise
        os.rename(old, new)
        os.symlink(new, old)
        return "renamed, then linked"
    return "exchanged"


def main(argv):
    if len(argv) % 2:
        sys.exit("move_state.py: OLD NEW pairs expected")
    for index in range(0, len(argv), 2):
        old, new = argv[index], argv[index + 1]
        print(f"{old} -> {new}: {move(old, new)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
