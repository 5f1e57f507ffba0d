"""Stand-in for the app behind Nginx: answers every request with JSON of what it received.

Listens on 127.0.0.1:8000 and on the Unix socket /run/blog/gunicorn.sock (group www-data, as
the Gunicorn socket unit would have it), so the tests can see the headers Nginx forwards, the
path the app gets and the size of request bodies. Like the example app, it sets its own
Content-Security-Policy, X-Content-Type-Options and Referrer-Policy, so the tests can check
that Nginx does not send duplicates. Python standard library only.
"""

import grp
import json
import os
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TCP_ADDRESS = ("127.0.0.1", 8000)
UNIX_SOCKET = "/run/blog/gunicorn.sock"
APP_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "no-store",
}

counter_lock = threading.Lock()
counter = {"requests": 0}


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    listener = "tcp"

    def address_string(self):
        # Unix socket peers have no address tuple.
        return self.listener

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        remaining, received = length, 0
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        with counter_lock:
            counter["requests"] += 1
            number = counter["requests"]
        body = json.dumps(
            {
                "listener": self.listener,
                "method": self.command,
                "path": self.path,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body_length": received,
                "request_number": number,
                # Padding so the answer is worth compressing (gzip_min_length).
                "padding": "echo " * 100,
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in APP_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = answer


class UnixEchoHandler(EchoHandler):
    listener = "unix"


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve_unix():
    if os.path.exists(UNIX_SOCKET):
        os.unlink(UNIX_SOCKET)
    server = UnixServer(UNIX_SOCKET, UnixEchoHandler)
    os.chown(UNIX_SOCKET, 0, grp.getgrnam("www-data").gr_gid)
    os.chmod(UNIX_SOCKET, 0o660)
    server.serve_forever()


def main():
    threading.Thread(target=serve_unix, daemon=True).start()
    ThreadingHTTPServer(TCP_ADDRESS, EchoHandler).serve_forever()


if __name__ == "__main__":
    main()
