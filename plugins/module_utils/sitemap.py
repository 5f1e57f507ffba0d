# Copyright: selfhosted.flask_blog contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sitemaps as sitemaps.org defines them: fetch a sitemap or a sitemap index (following the
sitemaps it lists), gzip or not, and check every rule a search engine would check before it
is given anything: UTF-8, well-formed XML in the sitemaps.org namespace, absolute http(s)
locations under 2,048 characters on the site's own scheme and host, at most 50,000 URLs and
50 MB (uncompressed) per file, W3C datetimes in <lastmod>.

The XML is stream-parsed with expat, one chunk at a time (a gzip file is decompressed chunk by
chunk, so a file that inflates past 50 MB is refused after reading 50 MB + 1 byte of it), with
no DTD: a DOCTYPE is refused, so no entity is ever expanded.

    sitemap = fetch(client, "https://blog.example.com/sitemap.xml")
    sitemap.entries   # [Entry(loc, lastmod, source)], document order, one per loc
    sitemap.files     # the sitemap URLs read, the index first
"""

from __future__ import annotations

import codecs
import collections
import datetime
import re
import zlib
from urllib.parse import urlsplit
from xml.parsers import expat

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.selfhosted.flask_blog.plugins.module_utils.web_client import TransportError

NAMESPACE = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50000
MAX_BYTES = 50 * 1024 * 1024  # 52,428,800 bytes, uncompressed
MAX_LOC_LENGTH = 2048
CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
DEFAULT_PORTS = {"http": 80, "https": 443}

_SEP = " "
_URLSET = NAMESPACE + _SEP + "urlset"
_INDEX = NAMESPACE + _SEP + "sitemapindex"
_LOC = NAMESPACE + _SEP + "loc"
_LASTMOD = NAMESPACE + _SEP + "lastmod"
_ITEM = {_URLSET: NAMESPACE + _SEP + "url", _INDEX: NAMESPACE + _SEP + "sitemap"}

# W3C Datetime (https://www.w3.org/TR/NOTE-datetime): YYYY, YYYY-MM, YYYY-MM-DD, then a time
# hh:mm, hh:mm:ss or hh:mm:ss.s+ that always carries a time zone designator (Z or +-hh:mm).
# The ranges are in the expression; only days 29 to 31 need a calendar.
_W3C = re.compile(
    r"(\d{4})(?:-(0[1-9]|1[0-2])(?:-(0[1-9]|[12]\d|3[01])"
    r"(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?)?)?\Z"
)

Entry = collections.namedtuple("Entry", ["loc", "lastmod", "source"])
Entry.__doc__ = """One <url> of a sitemap: loc, lastmod (the text as written, or None) and
source (the URL of the sitemap file it was read from)."""


class SitemapError(Exception):
    """The sitemap could not be read, or breaks a sitemaps.org rule; the message names the
    file's URL and the line, or the offending URL."""


class Sitemap:
    """entries: [Entry] in document order, de-duplicated by loc (the first one is kept).
    files: the URLs of the sitemap files read, the one given first."""

    def __init__(self, url):
        self.url = url
        self.entries = []
        self.files = []

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)


def origin(url):
    """(scheme, host, port) of an absolute http(s) URL, host lower-cased and the port filled
    in; None when the URL is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def site_of(url):
    """The site of an absolute http(s) URL as scheme://host[:port] (no path, no default port).
    Raises SitemapError when `url` is not such a URL."""
    found = origin(url)
    if found is None:
        raise SitemapError(f"{url!r} is not an absolute http(s) URL")
    scheme, host, port = found
    if ":" in host:
        host = f"[{host}]"
    if port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def valid_lastmod(value):
    """True when `value` is a W3C datetime in one of the forms sitemaps.org allows."""
    match = _W3C.match(value)
    if not match:
        return False
    day = match.group(3)
    if day is not None and day > "28":
        try:
            datetime.date(int(match.group(1)), int(match.group(2)), int(day))
        except ValueError:
            return False
    return True


class _Checker:
    """The URL rules of one fetch: absolute http(s), short enough, on the site."""

    def __init__(self, site):
        self.site = site_of(site)
        self.origin = origin(self.site)
        self.prefix = self.site + "/"

    def problem(self, loc):
        """Why `loc` may not be in the sitemap, or None."""
        if len(loc) > MAX_LOC_LENGTH:
            return f"is longer than {MAX_LOC_LENGTH} characters ({len(loc)})"
        if loc.startswith(self.prefix) or loc == self.site:
            return None  # the common case, without parsing
        found = origin(loc)
        if found is None:
            return "is not an absolute http(s) URL"
        if found == self.origin:
            return None
        if found[0] != self.origin[0] and found[1] == self.origin[1]:
            return f"uses {found[0]}, the site {self.site} uses {self.origin[0]}"
        return f"is not on the site {self.site} (another host or port)"


def _short(url):
    return url if len(url) <= 120 else url[:100] + "..." + url[-10:]


def _too_large(url):
    return f"{url}: larger than {MAX_BYTES} bytes (50 MB) uncompressed, the sitemaps.org limit"


def _chunks(body, url):
    """The uncompressed bytes of a response body, in chunks; at most MAX_BYTES in all (gzip is
    never inflated past MAX_BYTES + 1 bytes, the byte that proves the file too large)."""
    if body[:2] == GZIP_MAGIC:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        total = 0
        data = body
        while True:
            try:
                out = inflate.decompress(data, min(CHUNK, MAX_BYTES + 1 - total))
            except zlib.error as err:
                raise SitemapError(f"{url}: the gzip data is corrupt: {err}") from err
            total += len(out)
            if total > MAX_BYTES:
                raise SitemapError(_too_large(url))
            if out:
                yield out
            data = inflate.unconsumed_tail
            if inflate.eof:
                if inflate.unused_data[:2] != GZIP_MAGIC:
                    return
                data = inflate.unused_data  # a multi-member gzip file: the next member
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif not data and not out:
                raise SitemapError(f"{url}: the gzip data is truncated")
    # Not gzip, whatever the name says (.gz files are often served already decoded).
    if len(body) > MAX_BYTES:
        raise SitemapError(_too_large(url))
    for start in range(0, len(body), CHUNK):
        yield body[start : start + CHUNK]


def parse(chunks, url, checker, add):
    """Parse and check one sitemap file given as byte chunks, calling add(kind, loc, lastmod)
    for each entry in document order (kind "urlset" or "sitemapindex"); returns the kind."""
    parser = expat.ParserCreate("UTF-8", _SEP)
    parser.buffer_text = True
    parser.buffer_size = 65536
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    text = []
    # The handlers below run once per element: they keep their state in these variables
    # (closures are the cheapest state Python has) and collect character data only inside
    # <loc> and <lastmod>, by installing the character handler there and nowhere else.
    root = kind = item = field = loc = lastmod = None
    depth = item_line = loc_line = lastmod_line = count = 0

    def fail(message, line=None):
        where = parser.CurrentLineNumber if line is None else line
        raise SitemapError(f"{url} line {where}: {message}")

    def doctype(*args):
        fail("a DOCTYPE is not allowed in a sitemap (no DTD, no entities)")

    def entity(*args):
        fail("entity declarations are not allowed in a sitemap")

    def collect(data):
        text.append(data)

    def start(name, attrs):
        nonlocal depth, field, loc, lastmod, item_line, loc_line, lastmod_line, root, kind, item
        depth += 1
        if depth == 3:
            if name in (_LOC, _LASTMOD):
                if (loc if name == _LOC else lastmod) is not None:
                    fail(f"more than one <{name.split(_SEP)[1]}> in one entry")
                field = name
                text.clear()
                parser.CharacterDataHandler = collect
                if name == _LOC:
                    loc_line = parser.CurrentLineNumber
                else:
                    lastmod_line = parser.CurrentLineNumber
        elif depth == 2:
            if name == item:
                loc = lastmod = None
                item_line = parser.CurrentLineNumber
        elif depth == 1:
            if name in (_URLSET, _INDEX):
                root = name
                kind = name.split(_SEP)[1]
                item = _ITEM[name]
            elif name.endswith(_SEP + "urlset") or name.endswith(_SEP + "sitemapindex"):
                fail(f"<{name}> is not in the sitemaps.org namespace {NAMESPACE}")
            elif name in ("urlset", "sitemapindex"):
                fail(f"<{name}> has no namespace; sitemaps.org requires xmlns={NAMESPACE}")
            else:
                fail(f"<{name}> is not a sitemap: the root must be <urlset> or <sitemapindex>")

    def end(name):
        nonlocal depth, field, loc, lastmod, count
        if depth == 3:
            if field is not None:
                parser.CharacterDataHandler = None
                if field == _LOC:
                    loc = "".join(text).strip()
                else:
                    lastmod = "".join(text).strip()
                field = None
        elif depth == 2 and name == item:
            if not loc:
                fail(f"<{name.split(_SEP)[1]}> without a <loc>", item_line)
            why = checker.problem(loc)
            if why is not None:
                fail(f"<loc> {_short(loc)} {why}", loc_line)
            if lastmod is not None and not valid_lastmod(lastmod):
                fail(
                    f"<lastmod> {lastmod!r} of {_short(loc)} is not a W3C datetime (YYYY-MM-DD, "
                    "YYYY-MM-DDThh:mm:ssTZD, ...)",
                    lastmod_line,
                )
            count += 1
            if count > MAX_URLS:
                fail(f"more than {MAX_URLS} entries in one sitemap file, the sitemaps.org limit")
            add(kind, loc, lastmod)
        depth -= 1

    def xmldecl(version, encoding, standalone):
        if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            fail(f"declares encoding {encoding}; sitemaps must be UTF-8")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.XmlDeclHandler = xmldecl

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    try:
        for chunk in chunks:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                at = max(0, err.start - len(decoder.getstate()[0]))
                where = line + chunk.count(b"\n", 0, at)
                raise SitemapError(
                    f"{url} line {where}: not valid UTF-8 ({err.reason}); sitemaps must be UTF-8"
                ) from err
            line += chunk.count(b"\n")
            parser.Parse(chunk, False)
        try:
            decoder.decode(b"", True)
        except UnicodeDecodeError as err:
            raise SitemapError(
                f"{url} line {line}: not valid UTF-8 (a character cut short at the end)"
            ) from err
        parser.Parse(b"", True)
    except expat.ExpatError as err:
        reason = expat.errors.messages.get(err.code, to_native(err))
        raise SitemapError(f"{url} line {err.lineno}: not well-formed XML: {reason}") from err
    finally:
        parser = None  # the handlers refer to it: without this, a cycle the GC must find
    if root is None:
        raise SitemapError(f"{url}: empty, not a sitemap")
    return kind


def fetch(client, url, site=None, max_depth=2):
    """Fetch and check the sitemap at `url` and, when it is a sitemap index, the sitemaps it
    lists (an index listing indexes, up to `max_depth` levels of files: 1 = only `url`,
    2 = an index and its sitemaps, as sitemaps.org allows).

    client: an web_client.Client. site: "scheme://host[:port]" every <loc> must be on (default: the
    scheme and host of `url`; a path in it is ignored). Returns a Sitemap; raises SitemapError.
    """
    checker = _Checker(site or url)
    if origin(url) is None:
        raise SitemapError(f"the sitemap URL {url!r} is not an absolute http(s) URL")
    result = Sitemap(url)
    seen = set()
    fetched = {url}
    todo = [(url, 1)]  # depth first, so that the entries come in document order
    while todo:
        file_url, level = todo.pop()
        result.files.append(file_url)
        children = _read(client, file_url, checker, result.entries, seen)
        if children and level >= max_depth:
            raise SitemapError(
                f"{file_url} is a sitemap index at level {level} of at most {max_depth} "
                "(max_depth): the sitemaps it lists are not read (sitemaps.org: an index lists "
                "sitemaps, not other indexes)"
            )
        new = []
        for child in children:
            if child not in fetched:
                fetched.add(child)
                new.append((child, level + 1))
        todo.extend(reversed(new))
    return result


def _read(client, url, checker, entries, seen):
    """Fetch and parse one file: add its URLs to entries (skipping those in seen); return the
    sitemaps it lists when it is an index, else []."""
    try:
        response = client.get(url)
    except TransportError as err:
        raise SitemapError(f"could not fetch the sitemap {url}: {err}") from err
    if response.status != 200:
        raise SitemapError(f"the sitemap {url} answered HTTP {response.status}, not 200")
    children = []

    def add(kind, loc, lastmod):
        if kind == "sitemapindex":
            children.append(loc)
        elif loc not in seen:
            seen.add(loc)
            entries.append(Entry(loc, lastmod, url))

    kind = parse(_chunks(response.body, url), url, checker, add)
    if kind == "sitemapindex" and not children:
        raise SitemapError(f"{url}: a sitemap index that lists no sitemap")
    return children
