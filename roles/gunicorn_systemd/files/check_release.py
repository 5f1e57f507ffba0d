# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks a release must answer, run on the managed host by gunicorn_systemd (stdlib only).

    check_release.py TARGET UNIT DEADLINE HEADERS_JSON KIND:PATH [KIND:PATH ...]

TARGET is unix:/path/to.sock or http://host:port; UNIT the systemd unit serving it; DEADLINE
the seconds all checks together may take; HEADERS_JSON the headers of every request (the
public Host and the X-Forwarded-* set the Nginx in front sets). A "page" must answer 2xx or
3xx, "health" 200 (redirects are not followed). Each path is retried every second until it
passes; as soon as UNIT is no longer active the checks stop, since nothing will answer. Prints
one line per check and exits 1 when one did not pass.
"""

import http.client
import json
import socket
import subprocess
import sys
import time

SYSTEMCTL = "/usr/bin/systemctl"  # /bin is a link to /usr/bin on every supported release


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def connection(target, timeout):
    if target.startswith("unix:"):
        return UnixConnection(target[5:], timeout)
    return http.client.HTTPConnection(target.split("://", 1)[1], timeout=timeout)


def answer(target, path, headers, timeout):
    """The status of one GET, or the reason there was none."""
    conn = connection(target, timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, None
    except (OSError, http.client.HTTPException) as err:
        return None, f"{type(err).__name__}: {err}"
    finally:
        conn.close()


def active(unit):
    # The unit's name comes from the role's own variables, never from a request.
    state = subprocess.run(  # noqa: S603
        [SYSTEMCTL, "is-active", "--", unit], capture_output=True, text=True, check=False
    )
    return state.stdout.strip() in ("active", "activating", "reloading")


def passes(kind, status):
    return status == 200 if kind == "health" else status is not None and 200 <= status < 400


def main(argv):
    target, unit, deadline, headers = argv[0], argv[1], float(argv[2]), json.loads(argv[3])
    checks = [check.split(":", 1) for check in argv[4:]]
    end = time.monotonic() + deadline
    failed = False
    for kind, path in checks:
        while True:
            remaining = end - time.monotonic()
            status, reason = answer(target, path, headers, max(1.0, min(5.0, remaining)))
            if passes(kind, status):
                print(f"{path}: answered {status}")
                break
            last = f"answered {status}" if status is not None else f"no answer ({reason})"
            if not active(unit):
                print(f"{path}: {last}; {unit} stopped, so nothing will answer")
                return 1
            if time.monotonic() >= end:
                print(f"{path}: {last}, still after {deadline:.0f} s")
                failed = True
                break
            time.sleep(min(1.0, max(0.0, end - time.monotonic())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
