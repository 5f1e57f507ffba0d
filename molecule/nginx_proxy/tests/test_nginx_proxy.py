"""nginx_proxy: real requests through Nginx to a stand-in app that echoes what it received.

Three sites share the Nginx of each container (converge.yml): the blog at the root of
https://blog.example.test (it also owns the catch-all server), a second app mounted at
https://example.test/notes through a Unix socket, and http://plain.example.test without TLS.
The stand-in app (prepare.yml) answers every request with JSON of its method, path, headers and
body size. Every request is sent with curl inside the container, to 127.0.0.1.
"""

import json
import re
import shlex

import pytest

BLOG = "blog.example.test"
NOTES = "example.test"
PLAIN = "plain.example.test"
UNKNOWN = "unknown.test"
NAMES = [BLOG, f"www.{BLOG}", NOTES, PLAIN, UNKNOWN]
RESOLVE = " ".join(f"--resolve {name}:{port}:127.0.0.1" for name in NAMES for port in (80, 443))
SECRET = "TOP-SECRET-MARKER"
MIB = 1024 * 1024
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


class Response:
    def __init__(self, raw):
        # Interim answers (100 Continue) come first with -i; the last head is the answer.
        head, _blank, body = raw.partition("\r\n\r\n")
        while head.startswith("HTTP/") and " 100 " in head.split("\r\n", 1)[0]:
            head, _blank, body = body.partition("\r\n\r\n")
        status_line, *lines = head.split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = []
        for line in lines:
            name, _colon, value = line.partition(":")
            self.headers.append((name.strip().lower(), value.strip()))
        self.body = body

    def values(self, name):
        return [value for key, value in self.headers if key == name.lower()]

    def header(self, name):
        values = self.values(name)
        assert len(values) == 1, f"{name}: expected one header line, got {values}"
        return values[0]

    def from_app(self):
        return self.status == 200 and self.body.startswith('{"listener"')

    def json(self):
        assert self.from_app(), f"not the app's answer: {self.status} {self.body[:200]}"
        return json.loads(self.body)


def curl(host, url, *options, body=True):
    """Run curl; the Response, or the failed CommandResult when no HTTP answer came back."""
    output = "-o /dev/null -D -" if not body else "-i"
    command = (
        f"curl -sS -k --max-time 10 --path-as-is {RESOLVE} {output} "
        + " ".join(shlex.quote(option) for option in options)
        + f" {shlex.quote(url)}"
    )
    result = host.run(command)
    if result.rc != 0:
        return result
    return Response(result.stdout)


def get(host, url, *options, **kwargs):
    response = curl(host, url, "--http1.1", *options, **kwargs)
    assert isinstance(response, Response), f"no answer for {url}: {response.stderr}"
    return response


def seen_headers(response):
    """The headers the app received, as name (lower case) -> list of values."""
    seen = {}
    for name, value in response.json()["headers"]:
        seen.setdefault(name.lower(), []).append(value)
    return seen


# --- the configuration on disk -----------------------------------------------------------


def test_live_configuration_passes_nginx_t_without_warnings(host):
    result = host.run("nginx -t")
    assert result.rc == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_sites_are_enabled_and_the_default_site_is_not(host):
    assert not host.file("/etc/nginx/sites-enabled/default").exists
    for site in ("blog", "notes", "plain"):
        link = host.file(f"/etc/nginx/sites-enabled/{site}.conf")
        assert link.is_symlink
        assert link.linked_to == f"/etc/nginx/sites-available/{site}.conf"


def test_site_files_start_with_ansible_managed(host):
    for path in (
        "/etc/nginx/sites-available/blog.conf",
        "/etc/nginx/snippets/blog-security-headers.conf",
        "/etc/nginx/snippets/blog-tls.conf",
    ):
        file = host.file(path)
        assert file.user == "root"
        assert file.mode == 0o644
        assert file.content_string.startswith("#\n# Ansible managed")


@pytest.mark.parametrize(("site", "megabytes"), [("blog", 1), ("notes", 2)])
def test_body_limit_is_the_site_wide_number(host, site, megabytes):
    site_file = host.file(f"/etc/nginx/sites-available/{site}.conf")
    assert f"client_max_body_size {megabytes}m;" in site_file.content_string


def test_self_signed_key_is_root_only_and_names_the_site(host):
    key = host.file("/etc/ssl/private/blog-selfsigned.key")
    assert (key.user, key.group, key.mode) == ("root", "root", 0o600)
    cert = "/etc/ssl/certs/blog-selfsigned.crt"
    text = host.run(f"openssl x509 -noout -ext subjectAltName -in {cert}")
    assert f"DNS:{BLOG}" in text.stdout
    assert f"DNS:www.{BLOG}" in text.stdout


def test_dh_group_is_rfc7919_ffdhe2048(host):
    # OpenSSL recognises the published group by its parameters.
    text = host.run("openssl pkeyparam -in /etc/nginx/ffdhe2048.pem -text -noout").stdout
    assert "GROUP: ffdhe2048" in text


def test_main_configuration_has_no_old_tls_defaults(host):
    text = host.file("/etc/nginx/nginx.conf").content_string
    lines = [line.split("#")[0] for line in text.splitlines()]
    assert not [line for line in lines if "TLSv1 " in line or "TLSv1.1" in line]
    assert not [line for line in lines if "ssl_prefer_server_ciphers on" in line]


def test_workers_may_open_twice_worker_connections(host):
    # Three sites ran the role: the line was added once, and is what the workers got.
    text = host.file("/etc/nginx/nginx.conf").content_string
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    assert [li for li in lines if "worker_rlimit_nofile" in li] == ["worker_rlimit_nofile 8192;"]
    connections = int(re.search(r"^\s*worker_connections\s+(\d+);", text, re.MULTILINE).group(1))
    assert 2 * connections <= 8192
    # ps -C matches the command name, so the shell running ps is not counted as a worker.
    processes = host.run("ps -C nginx -o pid=,args=").stdout.splitlines()
    workers = [line.split()[0] for line in processes if "worker process" in line]
    assert workers, processes
    for pid in workers:
        limits = host.file(f"/proc/{pid}/limits").content_string
        assert re.search(r"^Max open files\s+8192\s", limits, re.MULTILINE), limits


def test_no_ipv6_listener(host):
    # /proc/net/tcp6 lists sockets in state 0A (LISTEN); nginx_proxy_ipv6 is off.
    sockets = [line.split() for line in host.file("/proc/net/tcp6").content_string.splitlines()[1:]]
    ports = {int(fields[1].rsplit(":", 1)[1], 16) for fields in sockets if fields[3] == "0A"}
    assert not ports & {80, 443}


# --- the proxied app -----------------------------------------------------------------------


def test_proxied_request_gets_the_forwarded_headers_from_nginx(host):
    response = get(host, f"https://{BLOG}/articles/hello?page=2")
    answer = response.json()
    assert answer["listener"] == "tcp"
    assert answer["path"] == "/articles/hello?page=2"
    seen = seen_headers(response)
    assert seen["host"] == [BLOG]
    assert seen["x-forwarded-for"] == ["127.0.0.1"]
    assert seen["x-forwarded-proto"] == ["https"]
    assert seen["x-forwarded-host"] == [BLOG]
    assert seen["x-forwarded-port"] == ["443"]
    assert seen["x-real-ip"] == ["127.0.0.1"]
    # At the root there is no prefix: the header is not sent at all.
    assert "x-forwarded-prefix" not in seen
    assert "forwarded" not in seen


def test_client_cannot_override_the_forwarded_headers(host):
    spoofed = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Host": "evil.test",
        "X-Forwarded-Prefix": "/evil",
        "X-Forwarded-Port": "8080",
        "X-Real-IP": "203.0.113.9",
        "Forwarded": "for=203.0.113.9;proto=http;host=evil.test",
        "X-Forwarded-Ssl": "off",
        "X-Forwarded-Protocol": "http",
    }
    options = [option for name, value in spoofed.items() for option in ("-H", f"{name}: {value}")]
    seen = seen_headers(get(host, f"https://{BLOG}/spoof", *options))
    # The client's X-Forwarded-For may stay on the left; the last entry is Nginx's $remote_addr,
    # the only one ProxyFix (one trusted hop) reads.
    assert len(seen["x-forwarded-for"]) == 1
    assert seen["x-forwarded-for"][0].split(",")[-1].strip() == "127.0.0.1"
    assert seen["x-forwarded-proto"] == ["https"]
    assert seen["x-forwarded-host"] == [BLOG]
    assert seen["x-forwarded-port"] == ["443"]
    assert seen["x-real-ip"] == ["127.0.0.1"]
    for cleared in ("x-forwarded-prefix", "forwarded", "x-forwarded-ssl", "x-forwarded-protocol"):
        assert cleared not in seen


def test_http2_is_spoken(host):
    result = host.run(
        f"curl -sS -k --http2 {RESOLVE} -o /dev/null -w '%{{http_version}}' https://{BLOG}/"
    )
    assert result.stdout == "2", result.stderr


def test_security_headers_on_proxied_responses_are_not_duplicated(host):
    response = get(host, f"https://{BLOG}/page")
    assert response.from_app()
    for name, value in SECURITY_HEADERS.items():
        assert response.header(name) == value
    # The app's own policy stays, and is not joined by a second one from Nginx.
    assert response.header("content-security-policy") == "default-src 'self'"
    assert not response.values("strict-transport-security")


def test_server_header_has_no_version(host):
    for url in (f"https://{BLOG}/", f"https://{BLOG}/static/hello.txt", f"https://{BLOG}/.env"):
        response = get(host, url)
        assert response.header("server") == "nginx"
    assert "nginx/" not in get(host, f"https://{BLOG}/.env").body


def test_proxied_text_is_compressed(host):
    response = get(host, f"https://{BLOG}/gzip", "-H", "Accept-Encoding: gzip", body=False)
    assert response.header("content-encoding") == "gzip"
    assert "Accept-Encoding" in response.header("vary")


# --- HTTP, unknown names and TLS -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/articles/a-b?page=2&x=%41", "/static/hello.txt"])
def test_http_redirects_to_https_keeping_the_path(host, path):
    response = get(host, f"http://{BLOG}{path}")
    assert response.status == 301
    assert response.header("location") == f"https://{BLOG}{path}"


def test_acme_challenges_are_served_over_http(host):
    response = get(host, f"http://{BLOG}/.well-known/acme-challenge/molecule-token")
    assert response.status == 200
    assert response.body == "molecule-token.thumbprint\n"


def test_unknown_host_gets_no_answer_over_http(host):
    result = curl(host, f"http://{UNKNOWN}/", "--http1.1")
    assert not isinstance(result, Response)
    assert result.rc == 52  # empty reply: 444 closed the connection
    result = curl(host, "http://127.0.0.1/", "--http1.1")
    assert not isinstance(result, Response)


@pytest.mark.parametrize("url", [f"https://{UNKNOWN}/", "https://127.0.0.1/"])
def test_unknown_or_missing_tls_name_is_refused_in_the_handshake(host, url):
    result = curl(host, url)
    assert not isinstance(result, Response)
    assert result.rc == 35, result.stderr  # TLS handshake failed
    assert "unrecognized name" in result.stderr


@pytest.mark.parametrize("http", ["--http1.1", "--http2"])
def test_known_tls_name_with_another_host_header_is_misdirected(host, http):
    response = curl(host, f"https://{BLOG}/", http, "-H", f"Host: {UNKNOWN}")
    if isinstance(response, Response):
        assert response.status == 421
        assert not response.from_app()
    # Else nginx closed the connection: no answer either.


def s_client(host, *options, name=BLOG):
    return host.run(
        "openssl s_client -brief -connect 127.0.0.1:443 "
        f"-servername {name} {' '.join(options)} </dev/null"
    )


@pytest.mark.parametrize("version", ["tls1_2", "tls1_3"])
def test_tls_1_2_and_1_3_are_accepted(host, version):
    result = s_client(host, f"-{version}")
    assert result.rc == 0, result.stderr
    expected = "TLSv1.2" if version == "tls1_2" else "TLSv1.3"
    assert f"Protocol version: {expected}" in result.stdout + result.stderr


def test_tls_1_1_is_refused_by_the_server(host):
    # The client's own policy may forbid TLS 1.1 (Debian 13's OpenSSL does even at level 0):
    # then there is nothing to learn about the server.
    result = s_client(host, "-tls1_1", "-cipher", "'DEFAULT@SECLEVEL=0'")
    output = result.stdout + result.stderr
    if "no protocols available" in output:
        pytest.skip("this OpenSSL client cannot offer TLS 1.1")
    assert result.rc != 0
    assert "alert protocol version" in output or "unsupported protocol" in output, output


def test_only_intermediate_ciphers_are_accepted(host):
    result = s_client(host, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA")
    assert result.rc != 0  # CBC with SHA-1: not in the intermediate list
    result = s_client(host, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert result.rc == 0, result.stderr
    result = s_client(host, "-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256")
    assert result.rc == 0, result.stderr  # DHE works: the ffdhe2048 group is there


# --- static files and uploads --------------------------------------------------------------


# The blog has two static mounts (vars/blog.yml): its static directory at /static/ and
# /var/www/media at /media/; both locations come from the same template code.
@pytest.mark.parametrize("path", ["/static/css/style.css", "/media/css/print.css"])
def test_static_file_is_served_by_nginx_with_cache_and_security_headers(host, path):
    url = f"https://{BLOG}{path}"
    response = get(host, url, "-H", "Accept-Encoding: gzip", body=False)
    assert response.status == 200
    assert response.header("content-type") == "text/css"
    assert response.header("content-encoding") == "gzip"
    cache = ", ".join(response.values("cache-control"))
    assert "max-age=604800" in cache
    assert "public" in cache
    assert response.header("expires")
    for name, value in SECURITY_HEADERS.items():
        assert response.header(name) == value
    assert "default-src 'self'" in response.header("content-security-policy")
    assert response.values("etag") or response.values("last-modified")


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static../secret.txt",
        "/static..%2fsecret.txt",
        "/static..%2Fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static%2f..%2fsecret.txt",
        "/static/uploads/../../secret.txt",
        "/static/uploads/..%2f..%2fsecret.txt",
        "/static/uploads..%2f..%2fsecret.txt",
        "/static/css/../../secret.txt",
        "/static.bak",
        "/static../static.bak",
        "/secret.txt",
    ],
)
def test_nothing_outside_the_static_directory_is_served(host, path):
    response = get(host, f"https://{BLOG}{path}")
    assert SECRET not in response.body
    # Whatever Nginx did not refuse went to the app, which never gets a file from Nginx.
    assert response.status in (400, 404) or response.from_app()


@pytest.mark.parametrize(
    "path",
    [
        "/static/.hidden",
        "/static/%2ehidden",
        "/static/css/style.css~",
        "/static/css/style.css%7E",
        "/static/css/style.css.bak",
        "/static/css/style.css.BAK",
        "/static/css/.style.css.swp",
        "/static/uploads/.hidden",
        "/media/.hidden",
        "/media/css/print.css~",
        "/.env",
        "/.git/config",
        "/articles/.secret",
    ],
)
def test_hidden_and_backup_files_are_not_served(host, path):
    response = get(host, f"https://{BLOG}{path}")
    assert response.status == 404
    assert not response.from_app()
    assert "MARKER" not in response.body


def test_well_known_is_not_hidden(host):
    assert get(host, f"https://{BLOG}/.well-known/security.txt").from_app()


def test_missing_static_file_does_not_reach_the_app(host):
    for path in ("/static/missing.css", "/static/", "/static/css", "/static/uploads/missing.png"):
        response = get(host, f"https://{BLOG}{path}")
        assert response.status in (403, 404), path
        assert not response.from_app()


def test_each_static_mount_is_a_location_with_its_alias(host):
    text = host.file("/etc/nginx/sites-available/blog.conf").content_string
    for url, alias in (("/static/", "/var/www/blog/static/"), ("/media/", "/var/www/media/")):
        block = re.search(rf"location \^~ {url} {{\n\s*alias ([^;]*);", text)
        assert block, f"no location ^~ {url} with an alias"
        assert block.group(1) == alias  # one trailing slash, whatever dir ended with
    # The other sites have the default mount only: their static directory at /static/.
    notes = host.file("/etc/nginx/sites-available/notes.conf").content_string
    locations = re.findall(r"location \^~ (/notes/\S*) \{", notes)
    assert locations == ["/notes/static/", "/notes/static/uploads/"]


def test_second_mount_serves_its_files_and_static_still_works(host):
    response = get(host, f"https://{BLOG}/media/css/print.css")
    assert response.status == 200
    assert response.body.startswith("@media print {")
    assert not response.from_app()
    response = get(host, f"https://{BLOG}/static/hello.txt")
    assert (response.status, response.body) == (200, "static hello\n")
    # The uploads location keeps its own URL under /static/.
    response = get(host, f"https://{BLOG}/static/uploads/evil.html")
    assert response.header("content-security-policy") == "default-src 'none'; sandbox"


@pytest.mark.parametrize(
    "path",
    [
        "/media../secret.txt",
        "/media..%2fsecret.txt",
        "/media/../secret.txt",
        "/media/..%2fsecret.txt",
        "/media/%2e%2e/secret.txt",
        "/media/css/../../secret.txt",
        "/media/../etc/passwd",
        "/media/../../../../etc/passwd",
        "/media/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/media/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/media../../etc/passwd",
    ],
)
def test_nothing_outside_a_static_mount_is_served(host, path):
    response = get(host, f"https://{BLOG}{path}")
    assert SECRET not in response.body
    assert "root:x:0:0" not in response.body
    assert response.status in (400, 404) or response.from_app()


@pytest.mark.parametrize(
    "path", ["/media/missing.css", "/media/css/gone.css", "/media/", "/media/css"]
)
def test_missing_file_in_a_static_mount_is_404_from_nginx(host, path):
    response = get(host, f"https://{BLOG}{path}")
    assert response.status == 404, path
    assert not response.from_app()
    assert response.header("server") == "nginx"
    assert "404 Not Found" in response.body


def test_uploaded_image_is_served_with_its_type_and_nosniff(host):
    response = get(host, f"https://{BLOG}/static/uploads/pixel.png", body=False)
    assert response.status == 200
    assert response.header("content-type") == "image/png"
    assert response.header("x-content-type-options") == "nosniff"
    assert response.header("content-security-policy") == "default-src 'none'; sandbox"
    assert response.header("x-frame-options") == "DENY"
    assert "public" in ", ".join(response.values("cache-control"))


@pytest.mark.parametrize("name", ["evil.html", "evil.svg"])
def test_uploaded_html_or_svg_is_never_rendered(host, name):
    response = get(host, f"https://{BLOG}/static/uploads/{name}")
    assert response.status == 200
    assert response.header("content-type") == "application/octet-stream"
    assert response.header("x-content-type-options") == "nosniff"
    assert response.header("content-security-policy") == "default-src 'none'; sandbox"


# --- request bodies ------------------------------------------------------------------------


def post(host, url, size):
    host.run(f"head -c {size} /dev/zero > /tmp/nginx-proxy-body")
    return get(host, url, "-H", "Expect:", "--data-binary", "@/tmp/nginx-proxy-body")


def test_body_at_the_limit_reaches_the_app(host):
    answer = post(host, f"https://{BLOG}/admin/upload", MIB).json()
    assert answer["method"] == "POST"
    assert answer["body_length"] == MIB


def test_body_over_the_limit_gets_413_from_nginx(host):
    response = post(host, f"https://{BLOG}/admin/upload", MIB + 1)
    assert response.status == 413
    assert not response.from_app()
    assert "413 Request Entity Too Large" in response.body
    assert response.header("x-content-type-options") == "nosniff"


# --- the second site, mounted under a prefix, through a Unix socket ------------------------


def test_prefix_without_slash_redirects(host):
    response = get(host, f"https://{NOTES}/notes?x=1")
    assert response.status == 301
    assert response.header("location") == f"https://{NOTES}/notes/?x=1"


def test_prefixed_app_gets_paths_without_the_prefix_and_the_prefix_header(host):
    response = get(host, f"https://{NOTES}/notes/articles/a?b=1", "-H", "X-Forwarded-Prefix: /evil")
    answer = response.json()
    assert answer["listener"] == "unix"  # Nginx (www-data) reached the socket
    assert answer["path"] == "/articles/a?b=1"
    seen = seen_headers(response)
    assert seen["x-forwarded-prefix"] == ["/notes"]
    assert seen["x-forwarded-host"] == [NOTES]
    assert get(host, f"https://{NOTES}/notes/").json()["path"] == "/"


@pytest.mark.parametrize("path", ["/", "/other", "/static/hello.txt", "/notesx", "/notes.bak"])
def test_nothing_outside_the_prefix_is_served(host, path):
    response = get(host, f"https://{NOTES}{path}")
    assert response.status == 404
    assert not response.from_app()


def test_prefixed_static_and_uploads(host):
    response = get(host, f"https://{NOTES}/notes/static/hello.txt")
    assert (response.status, response.body) == (200, "static hello\n")
    response = get(host, f"https://{NOTES}/notes/static/uploads/evil.html")
    assert response.header("content-type") == "application/octet-stream"
    assert SECRET not in get(host, f"https://{NOTES}/notes/static../secret.txt").body


def test_hsts_by_default_and_extra_headers_when_asked_for(host):
    for url in (f"https://{NOTES}/notes/", f"https://{NOTES}/notes/static/hello.txt"):
        response = get(host, url)
        assert response.header("strict-transport-security") == "max-age=63072000"
        assert len(response.header("x-request-id")) == 32
    # Never over plain HTTP.
    assert not get(host, f"http://{NOTES}/notes/").values("strict-transport-security")


def test_prefixed_site_has_its_own_body_limit(host):
    assert post(host, f"https://{NOTES}/notes/upload", 2 * MIB).json()["body_length"] == 2 * MIB
    assert post(host, f"https://{NOTES}/notes/upload", 2 * MIB + 1).status == 413


# --- the plain-HTTP site -------------------------------------------------------------------


def test_plain_http_site_is_served_without_redirect(host):
    response = get(host, f"http://{PLAIN}/page")
    seen = seen_headers(response)
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-forwarded-port"] == ["8080"]  # the public URL's, not Nginx's own 80
    assert not response.values("strict-transport-security")
    assert response.header("x-frame-options") == "DENY"
    assert get(host, f"http://{PLAIN}/static/hello.txt").body == "static hello\n"
    assert not host.file("/etc/nginx/snippets/plain-tls.conf").exists
