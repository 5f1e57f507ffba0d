"""module_utils/sitemap.py: fetching, following indexes, gzip, and every sitemaps.org rule, against
sitemaps served by a local static HTTP server."""

import gzip
import time
import tracemalloc

import pytest
from ansible_collections.selfhosted.flask_blog.plugins.module_utils import sitemap
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.sitemap import (
    SitemapError,
    fetch,
    valid_lastmod,
)
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import Client

NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


@pytest.fixture
def site(static_server):
    """The sitemaps' site: files put on the static server (tests/unit/conftest.py)."""
    return static_server


@pytest.fixture
def client():
    return Client(retries=0, timeout=10)


def urlset(*entries, decl=True):
    """A urlset of (loc, lastmod or None) entries, or raw strings."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>'] if decl else []
    lines.append(f'<urlset xmlns="{NS}">')
    for entry in entries:
        if isinstance(entry, str):
            lines.append(entry)
            continue
        loc, lastmod = entry
        lines.append("  <url>")
        lines.append(f"    <loc>{loc}</loc>")
        if lastmod is not None:
            lines.append(f"    <lastmod>{lastmod}</lastmod>")
        lines.append("    <changefreq>weekly</changefreq>")
        lines.append("  </url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"


def index(*locs):
    items = "".join(f"<sitemap><loc>{loc}</loc></sitemap>\n" for loc in locs)
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{NS}">\n'
    return head + items + "</sitemapindex>\n"


def big_urlset(base, count):
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NS}">\n'
    row = (
        "<url><loc>%s/articles/post-%06d</loc><lastmod>2024-05-06T10:20:30+02:00</lastmod></url>\n"
    )
    return head + "".join(row % (base, n) for n in range(count)) + "</urlset>\n"


def error_of(client, url, **kwargs):
    with pytest.raises(SitemapError) as caught:
        fetch(client, url, **kwargs)
    return str(caught.value)


# A valid sitemap


def test_urlset_entries_in_document_order_deduplicated(site, client):
    base = site.base
    url = site.put(
        "/sitemap.xml",
        urlset(
            (base + "/", "2024-05-06"),
            (base + "/articles/a?x=1&amp;y=2", None),
            (base + "/", "2025-01-01"),  # a duplicate: the first one is kept
            (f" {base}/b ", "2024-05-06T10:20:30Z"),  # surrounding whitespace is not the URL
        ),
    )
    found = fetch(client, url)
    assert [(e.loc, e.lastmod) for e in found.entries] == [
        (base + "/", "2024-05-06"),
        (base + "/articles/a?x=1&y=2", None),
        (base + "/b", "2024-05-06T10:20:30Z"),
    ]
    assert {e.source for e in found.entries} == {url}
    assert found.files == [url]
    assert len(found) == 3
    assert client.requests == 1


def test_empty_urlset_is_a_sitemap_without_urls(site, client):
    assert fetch(client, site.put("/sitemap.xml", urlset())).entries == []


def test_other_namespaces_are_ignored(site, client):
    base = site.base
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{NS}"'
        ' xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'
        ' xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
        f"<url><loc>{base}/a</loc>"
        '<xhtml:link rel="alternate" hreflang="pt-BR" href="https://elsewhere.example/a"/>'
        "<image:image><image:loc>https://cdn.example/a.png</image:loc></image:image>"
        "</url>\n</urlset>\n"
    )
    found = fetch(client, site.put("/sitemap.xml", body))
    assert [e.loc for e in found.entries] == [base + "/a"]


def test_utf8_bom_and_non_ascii_urls(site, client):
    base = site.base
    body = "\ufeff" + urlset((base + "/artigos/por-que-hospedar-seu-blog-é", None))
    found = fetch(client, site.put("/sitemap.xml", body))
    assert found.entries[0].loc.endswith("-é")


def test_site_defaults_to_the_sitemap_origin_and_can_be_given(site, client):
    base = site.base
    url = site.put("/blog/sitemap.xml", urlset((base + "/blog/a", None)))
    assert len(fetch(client, url)) == 1
    assert len(fetch(client, url, site=base + "/blog/")) == 1
    message = error_of(client, url, site="https://blog.example.com")
    assert "is not on the site https://blog.example.com" in message


# Sitemap indexes


def test_index_is_followed_in_order(site, client):
    base = site.base
    first = site.put("/sitemap-1.xml", urlset((base + "/a", None), (base + "/b", None)))
    second = site.put("/sitemap-2.xml.gz", gzip.compress(urlset((base + "/c", "2024")).encode()))
    url = site.put("/sitemap.xml", index(first, second, first))  # a repeat is read once
    found = fetch(client, url)
    assert found.files == [url, first, second]
    assert [e.loc for e in found.entries] == [base + "/a", base + "/b", base + "/c"]
    assert [e.source for e in found.entries] == [first, first, second]
    assert client.requests == 3


def test_index_nested_in_an_index_is_refused_at_the_default_depth(site, client):
    base = site.base
    leaf = site.put("/leaf.xml", urlset((base + "/a", None)))
    inner = site.put("/inner.xml", index(leaf))
    outer = site.put("/sitemap.xml", index(inner))
    message = error_of(client, outer)
    assert inner in message and "max_depth" in message
    found = fetch(client, outer, max_depth=3)
    assert found.files == [outer, inner, leaf]
    assert [e.loc for e in found.entries] == [base + "/a"]


def test_max_depth_1_reads_no_index(site, client):
    base = site.base
    url = site.put("/sitemap.xml", index(site.put("/a.xml", urlset((base + "/a", None)))))
    assert "max_depth" in error_of(client, url, max_depth=1)


def test_index_listing_another_host_is_refused(site, client):
    url = site.put("/sitemap.xml", index("https://elsewhere.example/sitemap.xml"))
    message = error_of(client, url)
    assert "https://elsewhere.example/sitemap.xml is not on the site" in message
    assert client.requests == 1


def test_index_listing_a_missing_file(site, client):
    url = site.put("/sitemap.xml", index(site.base + "/gone.xml"))
    assert "gone.xml answered HTTP 404, not 200" in error_of(client, url)


def test_empty_index_is_refused(site, client):
    url = site.put("/sitemap.xml", index())
    assert "lists no sitemap" in error_of(client, url)


# gzip


def test_gzip_by_name_and_by_magic_bytes(site, client):
    base = site.base
    body = gzip.compress(urlset((base + "/a", None)).encode())
    for path in ("/sitemap.xml.gz", "/sitemap-served-as-xml"):
        found = fetch(client, site.put(path, body, headers={"Content-Type": "application/gzip"}))
        assert [e.loc for e in found.entries] == [base + "/a"]


def test_gz_name_with_plain_content_is_read_as_is(site, client):
    url = site.put("/sitemap.xml.gz", urlset((site.base + "/a", None)))
    assert len(fetch(client, url)) == 1


def test_multi_member_gzip(site, client):
    text = urlset((site.base + "/a", None)).encode()
    body = gzip.compress(text[:50]) + gzip.compress(text[50:])
    assert len(fetch(client, site.put("/sitemap.xml.gz", body))) == 1


def test_corrupt_and_truncated_gzip(site, client):
    body = gzip.compress(urlset((site.base + "/a", None)).encode())
    assert "truncated" in error_of(client, site.put("/cut.xml.gz", body[:-12]))
    broken = body[:10] + b"\xff" * 8 + body[18:]
    assert "gzip data is corrupt" in error_of(client, site.put("/bad.xml.gz", broken))


def test_gzip_bomb_is_refused_after_50_mb(site, client):
    head = f'<?xml version="1.0"?>\n<urlset xmlns="{NS}">\n'.encode()
    bomb = gzip.compress(head + b" " * (sitemap.MAX_BYTES + 1) + b"</urlset>", 9)
    assert len(bomb) < 100_000
    message = error_of(client, site.put("/sitemap.xml.gz", bomb))
    assert "larger than 52428800 bytes (50 MB) uncompressed" in message


def test_exactly_50_mb_gzip_is_accepted(site, client):
    head = f'<?xml version="1.0"?>\n<urlset xmlns="{NS}">'.encode()
    tail = b"</urlset>"
    body = head + b" " * (sitemap.MAX_BYTES - len(head) - len(tail)) + tail
    assert len(body) == sitemap.MAX_BYTES
    assert fetch(client, site.put("/sitemap.xml.gz", gzip.compress(body, 9))).entries == []


def test_plain_file_over_50_mb_is_refused(site, client):
    head = f'<?xml version="1.0"?>\n<urlset xmlns="{NS}">'.encode()
    body = head + b" " * (sitemap.MAX_BYTES - len(head)) + b"</urlset>"
    assert len(body) > sitemap.MAX_BYTES
    assert "larger than 52428800 bytes" in error_of(client, site.put("/sitemap.xml", body))


# The sitemaps.org rules


def test_not_utf8_names_the_line(site, client):
    body = urlset((site.base + "/a", None), (site.base + "/b", None)).encode()
    body = body.replace(b"/b<", b"/\xe9t\xe9<")  # Latin-1 bytes on line 8
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "/sitemap.xml line 8: not valid UTF-8" in message


def test_not_utf8_across_chunks_names_the_line(site, client, monkeypatch):
    monkeypatch.setattr(sitemap, "CHUNK", 7)
    body = urlset((site.base + "/a", None), (site.base + "/b", None)).encode()
    body = body.replace(b"/b<", b"/\xc3<")  # a cut-short sequence
    assert "line 8: not valid UTF-8" in error_of(client, site.put("/sitemap.xml", body))


def test_declared_encoding_other_than_utf8_is_refused(site, client):
    body = urlset((site.base + "/a", None)).replace("UTF-8", "ISO-8859-1")
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "line 1: declares encoding ISO-8859-1; sitemaps must be UTF-8" in message


def test_relative_loc(site, client):
    url = site.put("/sitemap.xml", urlset((site.base + "/a", None), ("/articles/b", None)))
    message = error_of(client, url)
    assert message == f"{url} line 8: <loc> /articles/b is not an absolute http(s) URL"


@pytest.mark.parametrize("loc", ["ftp://127.0.0.1/a", "mailto:me@example.com", "http:///a", ""])
def test_not_http_loc(site, client, loc):
    message = error_of(client, site.put("/sitemap.xml", urlset((loc, None))))
    assert "is not an absolute http(s) URL" in message or "without a <loc>" in message


def test_loc_longer_than_2048(site, client):
    base = site.base
    ok = base + "/" + "a" * (2048 - len(base) - 1)
    assert len(ok) == 2048
    assert len(fetch(client, site.put("/ok.xml", urlset((ok, None))))) == 1
    message = error_of(client, site.put("/sitemap.xml", urlset((ok + "b", None))))
    assert "is longer than 2048 characters (2049)" in message and "line 4" in message


def test_loc_on_another_host(site, client):
    url = site.put("/sitemap.xml", urlset(("http://evil.example/a", None)))
    message = error_of(client, url)
    assert "<loc> http://evil.example/a is not on the site http://127.0.0.1:" in message


def test_loc_on_another_port(site, client):
    url = site.put("/sitemap.xml", urlset(("http://127.0.0.1:1/a", None)))
    assert "is not on the site" in error_of(client, url)


def test_loc_with_another_scheme(site, client):
    url = site.put("/sitemap.xml", urlset(("https://blog.example.com/a", None)))
    message = error_of(client, url, site="http://blog.example.com")
    assert "uses https, the site http://blog.example.com uses http" in message


def test_loc_host_compared_without_case_and_default_port(site, client):
    url = site.put(
        "/sitemap.xml",
        urlset(("HTTPS://Blog.Example.COM:443/a", None), ("https://blog.example.com", None)),
    )
    assert len(fetch(client, url, site="https://blog.example.com/")) == 2


def test_userinfo_trick_is_not_on_the_site(site, client):
    url = site.put("/sitemap.xml", urlset((site.base + "@evil.example/a", None)))
    assert "is not on the site" in error_of(client, url)


def test_50000_urls_accepted_and_50001_refused(site, client):
    base = site.base
    found = fetch(client, site.put("/ok.xml", big_urlset(base, 50000)))
    assert len(found) == 50000 and found.entries[-1].loc == base + "/articles/post-049999"
    message = error_of(client, site.put("/sitemap.xml", big_urlset(base, 50001)))
    assert "line 50003: more than 50000 entries in one sitemap file" in message


def test_50000_urls_time_and_memory():
    """The figures to keep an eye on: a full 50,000-URL file (10 MB) parses in well under a
    few seconds, and needs little more memory than the entries it returns."""
    body = big_urlset("https://blog.example.com", 50000).encode()
    checker = sitemap._Checker("https://blog.example.com")
    entries = []

    def add(kind, loc, lastmod):
        entries.append(sitemap.Entry(loc, lastmod, "s"))

    start = time.perf_counter()
    sitemap.parse(sitemap._chunks(body, "s"), "s", checker, add)
    elapsed = time.perf_counter() - start
    assert len(entries) == 50000
    assert elapsed < 10
    del entries[:]
    tracemalloc.start()
    sitemap.parse(sitemap._chunks(body, "s"), "s", checker, add)
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(entries) == 50000
    assert peak < kept + 4 * sitemap.CHUNK, (kept, peak)  # the entries, a chunk, the parser
    assert kept < 20_000_000


def test_url_without_loc(site, client):
    url = site.put("/sitemap.xml", urlset("<url><lastmod>2024</lastmod></url>"))
    assert f"{url} line 3: <url> without a <loc>" == error_of(client, url)


def test_url_with_two_locs(site, client):
    base = site.base
    url = site.put("/sitemap.xml", urlset(f"<url><loc>{base}/a</loc><loc>{base}/b</loc></url>"))
    assert "more than one <loc> in one entry" in error_of(client, url)


VALID_LASTMODS = [
    "2024",
    "2024-05",
    "2024-05-06",
    "2024-02-29",
    "2024-05-06T10:20Z",
    "2024-05-06T10:20+02:00",
    "2024-05-06T10:20-05:30",
    "2024-05-06T10:20:30Z",
    "2024-05-06T10:20:30+00:00",
    "2024-05-06T10:20:30.5Z",
    "2024-05-06T10:20:30.123456-08:00",
    "1997-07-16T19:20:30.45+01:00",
    "2024-12-31T23:59:59Z",
]

INVALID_LASTMODS = [
    "",
    "24",
    "20240506",
    "2024-5-6",
    "2024-13",
    "2024-00-10",
    "2024-05-00",
    "2024-05-32",
    "2023-02-29",
    "2024-04-31",
    "2024-05-06T10:20",  # a time needs a time zone designator
    "2024-05-06T10:20:30",
    "2024-05-06T10Z",
    "2024-05-06 10:20Z",
    "2024-05-06T24:00Z",
    "2024-05-06T10:60Z",
    "2024-05-06T10:20:60Z",
    "2024-05-06T10:20:30.Z",
    "2024-05-06T10:20+0200",
    "2024-05-06T10:20+24:00",
    "2024-05-06T10:20z",
    "2024-05-06T10:20:30ZZ",
    "May 6, 2024",
    "2024-05-06T10:20:30+02:00\n2024",
]


@pytest.mark.parametrize("value", VALID_LASTMODS)
def test_valid_lastmod_forms(value):
    assert valid_lastmod(value)


@pytest.mark.parametrize("value", INVALID_LASTMODS)
def test_invalid_lastmod_forms(value):
    assert not valid_lastmod(value)


def test_every_valid_lastmod_form_in_a_sitemap(site, client):
    base = site.base
    entries = [(f"{base}/{n}", value) for n, value in enumerate(VALID_LASTMODS)]
    found = fetch(client, site.put("/sitemap.xml", urlset(*entries)))
    assert [e.lastmod for e in found.entries] == VALID_LASTMODS


@pytest.mark.parametrize("value", ["2024-05-06T10:20", "2023-02-29", "yesterday"])
def test_bad_lastmod_in_a_sitemap_names_url_and_line(site, client, value):
    base = site.base
    url = site.put("/sitemap.xml", urlset((base + "/a", "2024"), (base + "/b", value)))
    message = error_of(client, url)
    assert message.startswith(f"{url} line 10: <lastmod> {value!r} of {base}/b")
    assert "is not a W3C datetime" in message


def test_doctype_is_refused(site, client):
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
        ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
        f'<urlset xmlns="{NS}"><url><loc>{site.base}/&lol2;</loc></url></urlset>\n'
    )
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "line 2: a DOCTYPE is not allowed" in message


def test_external_doctype_is_refused(site, client):
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE urlset SYSTEM "http://127.0.0.1:1/x.dtd">\n'
        f'<urlset xmlns="{NS}"></urlset>\n'
    )
    assert "DOCTYPE is not allowed" in error_of(client, site.put("/sitemap.xml", body))


def test_undefined_entity_is_not_well_formed(site, client):
    body = urlset((site.base + "/&nbsp;", None))
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "line 4: not well-formed XML: undefined entity" in message


def test_not_well_formed_names_the_line(site, client):
    body = urlset((site.base + "/a", None)).replace("</url>", "</urll>")
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "line 6: not well-formed XML: mismatched tag" in message


def test_html_page_is_not_a_sitemap(site, client):
    body = "<html><body>Not found</body></html>"
    assert "<html> is not a sitemap" in error_of(client, site.put("/sitemap.xml", body))


def test_empty_body_is_not_a_sitemap(site, client):
    assert "not well-formed XML: no element found" in error_of(client, site.put("/s.xml", b""))


def test_missing_namespace(site, client):
    body = urlset((site.base + "/a", None)).replace(f' xmlns="{NS}"', "")
    message = error_of(client, site.put("/sitemap.xml", body))
    assert "<urlset> has no namespace; sitemaps.org requires xmlns=" + NS in message


def test_other_namespace(site, client):
    body = urlset((site.base + "/a", None)).replace(
        NS, "http://www.google.com/schemas/sitemap/0.84"
    )
    assert "is not in the sitemaps.org namespace" in error_of(client, site.put("/s.xml", body))


@pytest.mark.parametrize("status", [301, 404, 500, 503])
def test_answer_other_than_200(site, client, status):
    url = site.put("/sitemap.xml", urlset((site.base + "/a", None)), status=status)
    assert f"the sitemap {url} answered HTTP {status}, not 200" in error_of(client, url)


def test_redirect_to_the_sitemap_is_followed(site, client):
    target = site.put("/new-sitemap.xml", urlset((site.base + "/a", None)))
    url = site.put("/sitemap.xml", b"", status=301, headers={"Location": target})
    found = fetch(client, url)
    assert [e.loc for e in found.entries] == [site.base + "/a"]


def test_nothing_listening(closed_port):
    url = f"http://127.0.0.1:{closed_port}/sitemap.xml"
    message = error_of(Client(retries=0, timeout=5), url)
    assert message.startswith(f"could not fetch the sitemap {url}")


def test_sitemap_url_not_http():
    assert "is not an absolute http(s) URL" in error_of(Client(), "/sitemap.xml", site="http://a")


def test_connect_to_keeps_the_public_name(site):
    """connect_to: the sitemap of http://blog.example.test:<port>/ is fetched from 127.0.0.1, and
    the request still names blog.example.test."""
    base = f"http://blog.example.test:{site.port}"
    site.put("/sitemap.xml", index(base + "/posts.xml"))
    site.put("/posts.xml", urlset((base + "/a", "2024-05-06"), (base + "/b", None)))
    client = Client(retries=0, timeout=10, resolve={"blog.example.test": "127.0.0.1"})
    found = fetch(client, base + "/sitemap.xml")
    assert [e.loc for e in found.entries] == [base + "/a", base + "/b"]
    assert found.files == [base + "/sitemap.xml", base + "/posts.xml"]
    assert site.seen == [
        ("/sitemap.xml", f"blog.example.test:{site.port}"),
        ("/posts.xml", f"blog.example.test:{site.port}"),
    ]


def test_site_helpers():
    assert sitemap.site_of("HTTPS://Blog.Example.com:443/x?y") == "https://blog.example.com"
    assert sitemap.site_of("http://blog.example.com:8080/") == "http://blog.example.com:8080"
    assert sitemap.site_of("http://[::1]:8080/") == "http://[::1]:8080"
    assert sitemap.origin("https://a.example/") == ("https", "a.example", 443)
    assert sitemap.origin("https://a.example:99999/") is None
    assert sitemap.origin("a.example/x") is None
    with pytest.raises(SitemapError):
        sitemap.site_of("blog.example.com")
