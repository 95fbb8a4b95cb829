# ruff: noqa: E501  (feed documents are kept as one would find them)
"""Malformed, odd and hostile feeds, written for the tests.

Each :class:`Case` is a route on the feed server (a body, or a handler for bodies that
are too big to build or must be streamed) and what the bot must make of it:

- ``Posts``: these articles (link → title) go out, and nothing else; ``refused``
  links are recorded, with a reason, and never go out;
- ``FeedFault``: the poll records a feed error whose reason holds the text, and no
  post is made;
- ``Sane``: an outcome that depends on how forgiving the parser is, but must still be
  sane (a recorded feed error, or posts whose titles and links came from the feed).

Whatever the case, every post that goes out must be a right one: a title from the
feed with no control characters or unexpanded entities, an absolute http(s) link to an
article (never the site's home page) that the caption holds.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

from tests.feedkit import SITE, Item, Route, rss

A1 = f"{SITE}/2024/10/28/banjir-rob-samarinda-meluas/"
A2 = f"{SITE}/2024/10/28/dprd-kutim-bahas-anggaran/"
A3 = f"{SITE}/2024/10/27/bupati-resmikan-jembatan-baru/"
T1 = "Banjir rob di Samarinda meluas ke tiga kecamatan"
T2 = "DPRD Kutim bahas anggaran perubahan 2024"
T3 = "Bupati resmikan jembatan baru di Sangatta"
WHEN = datetime(2024, 10, 28, 5, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Posts:
    """These posts go out: link -> title (None: any sane title)."""

    posts: dict[str, str | None]
    refused: tuple[str, ...] = ()  # links recorded with a reason, never posted


@dataclass(frozen=True)
class FeedFault:
    """The poll records a feed error whose reason contains ``reason``."""

    reason: str


@dataclass(frozen=True)
class Sane:
    """Either a recorded feed error or right posts; ``links`` are the feed's articles."""

    links: tuple[str, ...] = (A1, A2, A3)


Expect = Posts | FeedFault | Sane


@dataclass(frozen=True)
class Case:
    """One feed and what must come of it."""

    name: str
    route: Route
    expect: Expect
    dates: dict[str, datetime] = field(default_factory=dict)  # link -> article date
    # Builds what the server will send, before the test starts measuring the bot.
    prepare: Callable[[], object] | None = None


def _items() -> list[Item]:
    return [
        Item(post_id=40003, title=T1, slug="banjir-rob-samarinda-meluas", link=A1,
             published=WHEN),
        Item(post_id=40002, title=T2, slug="dprd-kutim-bahas-anggaran", link=A2,
             published=WHEN.replace(hour=4)),
        Item(post_id=40001, title=T3, slug="bupati-resmikan-jembatan-baru", link=A3,
             published=WHEN.replace(day=27)),
    ]


ALL = {A1: T1, A2: T2, A3: T3}
NS = ('xmlns:content="http://purl.org/rss/1.0/modules/content/" '
      'xmlns:dc="http://purl.org/dc/elements/1.1/" '
      'xmlns:media="http://search.yahoo.com/mrss/"')


def _rss(items: str, *, decl: str = '<?xml version="1.0" encoding="UTF-8"?>',
         channel: str = f"<title>Editorial Kaltim</title><link>{SITE}</link>",
         doctype: str = "") -> str:
    return (f"{decl}{doctype}<rss version=\"2.0\" {NS}><channel>{channel}"
            f"<description>Berita</description><language>id</language>{items}"
            "</channel></rss>\n")


def _item(title: str, link: str | None, *, guid: str | None = "auto",
          date: str | None = "Mon, 28 Oct 2024 05:00:00 +0000", extra: str = "") -> str:
    parts = ["<item>", f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid == "auto" and link is not None:
        number = {A1: 40003, A2: 40002, A3: 40001}.get(link, abs(hash(link)) % 10**5)
        parts.append(f'<guid isPermaLink="false">{SITE}/?p={number}</guid>')
    elif guid not in (None, "auto"):
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    parts.append("<description><![CDATA[Ringkasan berita untuk pembaca.]]></description>")
    parts.append(extra)
    parts.append("</item>")
    return "".join(parts)


def _three(**kwargs: str) -> str:
    return "".join(_item(t, link, **kwargs) for link, t in ALL.items())


def _body(text: str, encoding: str = "utf-8") -> Route:
    return Route(body=text.encode(encoding))


def _atom(entries: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xml:lang="id"><title>Editorial Kaltim</title><id>{SITE}/feed/atom/</id>'
            f'<link rel="alternate" type="text/html" href="{SITE}"/>'
            f"<updated>2024-10-28T05:00:00Z</updated>{entries}</feed>").encode()


def _atom_entry(title: str, link: str, *, published: str | None = "2024-10-28T05:00:00Z",
                updated: str = "2024-10-28T05:30:00Z", links: str = "") -> str:
    pub = f"<published>{published}</published>" if published else ""
    return (f"<entry><title type=\"html\">{title}</title>"
            f'<link rel="alternate" type="text/html" href="{link}"/>{links}'
            f"<id>{SITE}/?p={abs(hash(link)) % 10**5}</id>{pub}<updated>{updated}</updated>"
            "<summary type=\"html\">Ringkasan berita.</summary></entry>")


# -- handlers for bodies that are streamed or encoded ---------------------------------

def _huge(declared: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    """A 50 MB feed, with or without a Content-Length saying so."""
    size = 50 * 1000 * 1000
    head = _rss("").encode()[:-20]

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        if declared:
            h.send_header("Content-Length", str(size))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
        try:
            h.wfile.write(head)
            sent = len(head)
            while sent < size:
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the bot hangs up at its limit
            return
    return handler


def _bomb(encoding: str) -> Callable[[BaseHTTPRequestHandler], None]:
    """A feed whose 50 KB body inflates to 50 MB (gzip or deflate)."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        packed = _packed(encoding)
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Encoding", encoding)
        h.send_header("Content-Length", str(len(packed)))
        h.end_headers()
        try:
            h.wfile.write(packed)
        except OSError:
            return
    return handler


@functools.cache
def _packed(encoding: str) -> bytes:
    inner = _rss("").encode()[:-20] + b" " * (50 * 1000 * 1000)
    return gzip.compress(inner, 6) if encoding == "gzip" else zlib.compress(inner, 6)


def _gzip_ok(h: BaseHTTPRequestHandler) -> None:
    packed = gzip.compress(rss(_items()))
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(packed)))
    h.end_headers()
    h.wfile.write(packed)


BILLION_LAUGHS = """<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""
QUADRATIC = '<!DOCTYPE rss [<!ENTITY a "' + "x" * 50000 + '">]>'
XXE = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
HTML_ERROR = b"""<!DOCTYPE html>
<html lang="id"><head><title>Database Error</title></head>
<body><h1>Error establishing a database connection</h1></body></html>
"""
LATIN = "Pemkab sambut kafé dan résumé warga"


def cases() -> list[Case]:
    """The corpus (at least 40 cases)."""
    good = rss(_items())
    out = [
        # -- preamble, characters and encodings ------------------------------------------
        Case("baseline-wordpress", Route(body=good), Posts(dict(ALL))),
        Case("blank-line-before-xml-declaration", Route(body=b"\n" + good), Posts(dict(ALL))),
        Case("spaces-and-bom-before-declaration",
             Route(body=b"\xef\xbb\xbf  \r\n" + good), Sane()),
        Case("stray-ampersand-in-title",
             _body(_rss(_item("Pemkab & DPRD Kutim sepakat", A1))),
             Posts({A1: "Pemkab & DPRD Kutim sepakat"})),
        Case("stray-ampersand-in-link-query",
             _body(_rss(_item(T1, A1 + "?a=1&b=2"))), Sane(links=(A1 + "?a=1&b=2",))),
        Case("declared-utf8-but-latin1-bytes",
             _body(_rss(_item(LATIN, A1)), "latin-1"), Sane(links=(A1,))),
        Case("declared-latin1-and-latin1-bytes",
             _body(_rss(_item(LATIN, A1), decl='<?xml version="1.0" encoding="ISO-8859-1"?>'),
                   "latin-1"), Posts({A1: LATIN})),
        Case("no-xml-declaration-utf8",
             _body(_rss(_item("Warga Kutai Timur rayakan Hari Jadi ke-25 — meriah", A1),
                        decl="")), Posts({A1: "Warga Kutai Timur rayakan Hari Jadi ke-25 — meriah"})),
        Case("windows-1252-smart-quotes",
             Route(body=_rss(_item("\u201cKami siap\u201d kata Bupati", A1),
                             decl='<?xml version="1.0" encoding="windows-1252"?>')
                   .encode("cp1252")), Posts({A1: "\u201cKami siap\u201d kata Bupati"})),
        Case("utf16-with-bom",
             Route(body=_rss(_item(T1, A1), decl='<?xml version="1.0" encoding="UTF-16"?>')
                   .encode("utf-16")), Posts({A1: T1})),
        Case("unknown-encoding-name",
             _body(_rss(_item(T1, A1), decl='<?xml version="1.0" encoding="x-klingon"?>')),
             Sane(links=(A1,))),
        Case("invalid-utf8-bytes-in-title",
             Route(body=_rss(_item("Berita XYZ", A1)).encode().replace(b"XYZ", b"\xff\xfe\xc3")),
             Sane(links=(A1,))),
        Case("control-characters-in-title",
             _body(_rss(_item("Banjir\x07 rob\x1b[31m Samarinda", A1, extra=""))),
             Sane(links=(A1,))),
        # -- CDATA ---------------------------------------------------------------------------
        Case("cdata-title-with-markup",
             _body(_rss(_item("<![CDATA[Banjir <b>rob</b> di Samarinda]]>", A1))),
             Posts({A1: "Banjir rob di Samarinda"})),
        Case("cdata-split-terminator",
             _body(_rss(_item("<![CDATA[Skor akhir ]]]]><![CDATA[> 3-1 untuk Borneo FC]]>", A1))),
             Sane(links=(A1,))),
        Case("cdata-link", _body(_rss(_item(T1, f"<![CDATA[{A1}]]>"))), Posts({A1: T1})),
        Case("empty-cdata-title", _body(_rss(_item("<![CDATA[]]>", A1))),
             Posts({A1: "Ringkasan berita untuk pembaca."})),
        Case("unclosed-cdata-in-body",
             _body(_rss(_item(T1, A1, extra="<content:encoded><![CDATA[<p>Isi berita") +
                        _item(T2, A2))), Sane(links=(A1, A2))),
        # -- formats -----------------------------------------------------------------------
        Case("atom-1.0", Route(body=_atom("".join(_atom_entry(t, link) for link, t in ALL.items())),
                               content_type="application/atom+xml"), Posts(dict(ALL))),
        Case("atom-updated-only",
             Route(body=_atom(_atom_entry(T1, A1, published=None,
                                          updated="2013-05-01T08:00:00Z")),
                   content_type="application/atom+xml"),
             # Its own date is 2013: past max_age (3650d), so expired with the reason.
             Posts({}, refused=(A1,)), dates={A1: datetime(2013, 5, 1, 8, 0, tzinfo=UTC)}),
        Case("atom-several-links",
             Route(body=_atom(_atom_entry(T1, A1, links=(
                 f'<link rel="replies" href="{A1}#comments"/>'
                 '<link rel="enclosure" type="image/jpeg" href="https://cdn.example/a.jpg"/>')))),
             Posts({A1: T1})),
        Case("rss-0.91",
             _body('<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                   '"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel>'
                   f"<title>Editorial Kaltim</title><link>{SITE}</link><description>x</description>"
                   f"<language>id</language><item><title>{T1}</title><link>{A1}</link>"
                   "<description>Ringkasan.</description></item>"
                   f"<item><title>{T2}</title><link>{A2}</link></item></channel></rss>"),
             Posts({A1: T1, A2: T2})),
        Case("rss-0.92", _body(_rss(_three(guid=None), decl='<?xml version="1.0"?>')
                               .replace('version="2.0"', 'version="0.92"')), Posts(dict(ALL))),
        Case("rss-1.0-rdf",
             _body('<?xml version="1.0" encoding="UTF-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                   'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                   f'<channel rdf:about="{SITE}/feed/rdf/"><title>Editorial Kaltim</title><link>{SITE}</link>'
                   "<description>x</description></channel>"
                   f'<item rdf:about="{A1}"><title>{T1}</title><link>{A1}</link>'
                   "<dc:date>2024-10-28T05:00:00+08:00</dc:date></item>"
                   f'<item rdf:about="{A2}"><title>{T2}</title><link>{A2}</link>'
                   "<dc:date>2024-10-27T05:00:00+08:00</dc:date></item></rdf:RDF>"),
             Posts({A1: T1, A2: T2}), dates={A1: datetime(2024, 10, 27, 21, 0, tzinfo=UTC)}),
        Case("empty-channel", _body(_rss("")), Posts({})),
        Case("channel-without-title-or-link", _body(_rss(_three(), channel="")), Posts(dict(ALL))),
        Case("default-namespace-on-rss",
             _body(_rss(_item(T1, A1)).replace("<rss ", '<rss xmlns="http://backend.userland.com/rss2" ')),
             Sane(links=(A1,))),
        Case("gzip-encoded-feed", Route(handler=_gzip_ok), Posts(dict(ALL))),
        Case("served-as-text-html-but-rss", Route(body=good, content_type="text/html"),
             Posts(dict(ALL))),
        # -- entries without identity -------------------------------------------------------
        Case("entry-without-link-has-guid",
             _body(_rss(_item(T1, None, guid=f"{SITE}/?p=40003") + _item(T2, A2))),
             Posts({A2: T2})),
        Case("entry-without-guid", _body(_rss(_three(guid=None))), Posts(dict(ALL))),
        Case("entry-without-link-or-guid",
             _body(_rss(_item(T1, None, guid=None) + _item(T2, A2))), Posts({A2: T2})),
        Case("duplicate-guids-in-one-feed",
             _body(_rss(_item(T1, A1, guid=f"{SITE}/?p=777") + _item(T2, A2, guid=f"{SITE}/?p=777"))),
             Posts({A1: T1})),
        Case("javascript-link",
             _body(_rss(_item(T1, "javascript:alert(1)", guid=f"{SITE}/?p=1") + _item(T2, A2))),
             Posts({A2: T2})),
        Case("link-is-the-site-home-page-only",
             _body(_rss(_item(T2, A2) + _item(T3, "   ", guid=f"{SITE}/?p=2"))), Posts({A2: T2})),
        # -- dates ---------------------------------------------------------------------------
        Case("date-in-the-future", _body(_rss(_item(T1, A1, date="Fri, 01 Jan 2099 00:00:00 +0000"))),
             Posts({A1: T1})),
        Case("date-missing", _body(_rss(_three(date=None))), Posts(dict(ALL))),
        Case("date-in-indonesian-words",
             _body(_rss(_item(T1, A1, date="Senin, 28 Oktober 2024 13:00 WITA") +
                        _item(T2, A2, date="27 Okt 2024 08:15"))),
             Posts({A1: T1, A2: T2}), dates={A1: datetime(2024, 10, 28, 5, 0, tzinfo=UTC)}),
        Case("date-unreadable-words", _body(_rss(_item(T1, A1, date="kemarin sore"))),
             Posts({A1: T1})),
        Case("date-without-zone-two-digit-year",
             _body(_rss(_item(T1, A1, date="28 Oct 24 13:00"))), Posts({A1: T1})),
        # -- links ---------------------------------------------------------------------------
        Case("relative-links",
             _body(_rss(_item(T1, "/2024/10/28/banjir-rob-samarinda-meluas/"))), Posts({A1: T1})),
        Case("protocol-relative-links",
             _body(_rss(_item(T1, "//editorialkaltim.com/2024/10/28/banjir-rob-samarinda-meluas/"))),
             Posts({A1: T1})),
        # -- sizes and encodings that attack -------------------------------------------------
        Case("50mb-body-declared", Route(handler=_huge(True)), FeedFault("too large")),
        Case("50mb-body-streamed", Route(handler=_huge(False)), FeedFault("too large")),
        Case("gzip-bomb", Route(handler=_bomb("gzip")), FeedFault("too large"),
             prepare=lambda: _packed("gzip")),
        Case("deflate-bomb", Route(handler=_bomb("deflate")), FeedFault("too large"),
             prepare=lambda: _packed("deflate")),
        Case("billion-laughs",
             _body(_rss(_item("Judul &lol9;", A1) + _item(T2, A2), doctype=BILLION_LAUGHS)),
             Posts({A2: T2}, refused=(A1,))),
        Case("quadratic-blowup",
             _body(_rss(_item("Judul " + "&a;" * 200, A1) + _item(T2, A2), doctype=QUADRATIC)),
             Posts({A2: T2}, refused=(A1,))),
        Case("external-entity",
             _body(_rss(_item("Judul &xxe;", A1) + _item(T2, A2), doctype=XXE)),
             Posts({A2: T2}, refused=(A1,))),
        # -- not a feed ----------------------------------------------------------------------
        Case("html-error-page-with-200", Route(body=HTML_ERROR, content_type="text/html"),
             FeedFault("HTML page")),
        Case("html-without-doctype", Route(body=b"<html><body>Maintenance</body></html>",
                                           content_type="text/html"), FeedFault("HTML")),
        Case("json-with-200", Route(body=b'{"code":"rest_no_route"}', content_type="application/json"),
             FeedFault("not a feed")),
        Case("empty-body", Route(body=b""), FeedFault("empty body")),
        Case("binary-garbage", Route(body=bytes(range(256)) * 40), FeedFault("feed")),
        Case("truncated-mid-item", Route(body=good[: good.index(b"</item>") + 60]),
             Sane(links=(A1,))),
        Case("long-title", _body(_rss(_item("Sangat panjang " * 400, A1))), Sane(links=(A1,))),
    ]
    return out


CASES = cases()
