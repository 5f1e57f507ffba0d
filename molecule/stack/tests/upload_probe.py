"""Runs inside the test container (python3 stdlib only): log in as admin and upload bodies just
under and just over the limit, through Nginx and straight to Gunicorn; print JSON results.

Usage: python3 -c "$(cat upload_probe.py)" PUBLIC_URL BIND LIMIT_BYTES PASSWORD [SIZE]
  With SIZE: one upload of SIZE bytes through Nginx only; print its status and page text.
"""

import contextlib
import http.client
import json
import re
import socket
import ssl
import sys
from urllib.parse import urlencode, urlsplit

PUBLIC_URL, BIND, LIMIT, PASSWORD = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
SIZE = int(sys.argv[5]) if len(sys.argv) > 5 else None
PNG = b"\x89PNG\r\n\x1a\n"


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


class Client:
    def __init__(self, base):
        self.base = base
        self.cookie = ""

    def connection(self):
        if self.base.startswith("unix:"):
            return UnixConnection(self.base[5:]), ""
        parts = urlsplit(self.base)
        if parts.scheme == "https":
            context = ssl._create_unverified_context()  # the test site's self-signed certificate
            connection = http.client.HTTPSConnection(parts.netloc, timeout=30, context=context)
            return connection, parts.path
        return http.client.HTTPConnection(parts.netloc, timeout=30), parts.path

    def request(self, method, path, body=b"", content_type=None):
        conn, prefix = self.connection()
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            # A server that answers (413) and closes before reading the whole body shows up as
            # a broken pipe while still sending over a Unix socket; its answer is there to read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                conn.request(method, prefix + path, body=body or None, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        except (ConnectionError, OSError) as e:
            return 0, f"connection error: {e}"
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        return response.status, text

    def csrf(self, path):
        _status, html = self.request("GET", path)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self):
        token = self.csrf("/admin/login")
        form = urlencode({"csrf_token": token, "username": "admin", "password": PASSWORD})
        status, _body = self.request(
            "POST", "/admin/login", form.encode(), "application/x-www-form-urlencoded"
        )
        return status

    def upload(self, total_size):
        """POST a multipart body of exactly total_size bytes holding a PNG-looking file."""
        token = self.csrf("/admin/")
        boundary = "molecule-boundary-7d1f"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="limit.png"'
            "\r\nContent-Type: image/png\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        padding = total_size - len(head) - len(tail) - len(PNG)
        body = head + PNG + b"\0" * padding + tail
        assert len(body) == total_size
        content_type = f"multipart/form-data; boundary={boundary}"
        return self.request("POST", "/admin/upload", body, content_type)


if SIZE is not None:
    client = Client(PUBLIC_URL)
    login = client.login()
    status, body = client.upload(SIZE)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))
    print(json.dumps({"login": login, "status": status, "text": text.strip()}))
    sys.exit(0)

results = {}
direct = BIND if BIND.startswith("unix:") else f"http://{BIND}"
for name, base in (("nginx", PUBLIC_URL), ("gunicorn", direct)):
    client = Client(base)
    login = client.login()
    under_status, _body = client.upload(LIMIT - 4096)
    over_status, over_body = client.upload(LIMIT + 1)
    results[name] = {
        "login": login,
        "under": under_status,
        "over": over_status,
        "over_answered_by_nginx": "<center>nginx</center>" in over_body,
    }
print(json.dumps(results))
