# ruff: noqa: E501  (SEED_BODY keeps WordPress's one-paragraph-per-line HTML)
"""Realistic WordPress RSS fixtures and a real HTTP feed server on 127.0.0.1.

The XML mirrors what WordPress 6 writes for editorialkaltim.com: ``guid
isPermaLink="false"`` with ``?p=ID``, ``dc:creator`` in CDATA, categories then tags
as ``<category>``, ``description`` excerpts ending in ``[&#8230;]`` and the full body
in ``content:encoded``, ten items a page, older pages at ``?paged=N``.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

SITE = "https://editorialkaltim.com"

SEED_BODY = """<p><strong>Editorialkaltim.com</strong> &#8211; Mengantisipasi potensi konflik dalam Pilkada serentak 2024, Pemerintah Kabupaten Kutai Timur (Pemkab Kutim) bekerja sama dengan Smart Academy mengadakan Bimbingan Teknis (Bimtek) bertajuk &#8220;Mitigasi dan Penanganan Konflik Sosial pada Penyelenggaraan Pilkada 2024&#8221; di Hotel Harris, Samarinda pada Senin (28/10/2024). Acara dibuka oleh Sekretaris Kabupaten (Seskab) Kutim, Rizali Hadi, yang menekankan pentingnya persiapan dalam menjaga kondusivitas Pilkada di Kutim.</p>
<p>Rizali Hadi mengatakan bahwa pemetaan potensi konflik dan persiapan strategi yang tepat adalah kunci untuk menjaga stabilitas selama pelaksanaan Pilkada. &#8220;Kami berupaya menyiapkan langkah-langkah konkret, tidak hanya pencegahan tapi juga penanganan cepat jika terjadi konflik,&#8221; ujarnya saat memberikan sambutan.</p>
<p><strong>Baca  <a href="https://editorialkaltim.com/2024/10/27/bupati-ardiansyah-rayakan-keberagaman/">Bupati Ardiansyah Rayakan Keberagaman di Pesta Panen Kensedan Dayak Basap</a></strong></p>
<p>Fokus utama dari Bimtek ini adalah membekali peserta dengan strategi mitigasi dan teknik penanganan konflik efektif.</p>
<p>Rizali Hadi menutup dengan harapan bahwa pelatihan ini akan menghasilkan Pilkada yang aman dan damai, tanpa insiden yang mengganggu. (Roro/adv)</p>
<p>Dapatkan update berita pilihan dan breaking news setiap hari dari editorialkaltim.com. Follow instagram &#8220;editorialkaltim&#8221;, caranya klik link https://www.instagram.com/editorialkaltimcom/ untuk mendapatkan informasi terkini lainnya.</p>"""


@dataclass
class Item:
    """One WordPress post as it appears in the feed."""

    post_id: int
    title: str
    slug: str
    published: datetime
    categories: tuple[str, ...] = ("Kutim",)
    tags: tuple[str, ...] = ()
    author: str = "Redaksi"
    body: str = "<p>Isi berita.</p>"
    image: str | None = None  # media:content URL
    guid: str | None = "wp"  # "wp" = ?p=ID; None = no guid; else literal guid
    link: str | None = None

    @property
    def url(self) -> str:
        """The permalink."""
        if self.link is not None:
            return self.link
        return f"{SITE}/{self.published:%Y/%m/%d}/{self.slug}/"


def make_items(count: int, *, start_id: int = 40000, newest: datetime | None = None,
               step: timedelta = timedelta(minutes=30), **kwargs: Any) -> list[Item]:
    """``count`` items, newest first, one every ``step``."""
    newest = newest or datetime(2024, 10, 28, 6, 0, tzinfo=UTC)
    items = []
    for i in range(count):
        post_id = start_id + count - i
        items.append(Item(
            post_id=post_id,
            title=f"Berita nomor {post_id}: Pemkab Kutim &amp; DPRD bahas anggaran",
            slug=f"berita-nomor-{post_id}",
            published=newest - i * step,
            **kwargs,
        ))
    return items


def seed_item(**overrides: Any) -> Item:
    """The seed article (shared/seed), as WordPress would put it in the feed."""
    values: dict[str, Any] = dict(
        post_id=40010,
        title="Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan "
              "Konflik Sosial",
        slug="jelang-pilkada-2024-pemkab-kutim-persiapkan-mitigasi",
        published=datetime(2024, 10, 28, 5, 12, tzinfo=UTC),
        categories=("Kutim", "Advertorial"),
        tags=("Pilkada 2024", "Bimtek"),
        author="Roro",
        body=SEED_BODY,
    )
    values.update(overrides)
    return Item(**values)


def item_xml(item: Item) -> str:
    """The ``<item>`` element."""
    parts = [
        "<item>",
        f"<title>{item.title}</title>",
        f"<link>{escape(item.url)}</link>",
        f"<dc:creator><![CDATA[{item.author}]]></dc:creator>",
        f"<pubDate>{format_datetime(item.published)}</pubDate>",
    ]
    parts += [f"<category><![CDATA[{c}]]></category>" for c in item.categories + item.tags]
    if item.guid == "wp":
        parts.append(f'<guid isPermaLink="false">{SITE}/?p={item.post_id}</guid>')
    elif item.guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
    excerpt = "Isi berita singkat untuk pembaca [&#8230;]"
    parts.append(f"<description><![CDATA[{excerpt}]]></description>")
    parts.append(f"<content:encoded><![CDATA[{item.body}]]></content:encoded>")
    if item.image:
        parts.append(f'<media:content url="{escape(item.image)}" medium="image" />')
    parts.append("</item>")
    return "\n".join(parts)


def rss(items: list[Item], *, title: str = "Editorial Kaltim") -> bytes:
    """A WordPress RSS 2.0 document."""
    body = "\n".join(item_xml(i) for i in items)
    doc = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
\txmlns:content="http://purl.org/rss/1.0/modules/content/"
\txmlns:wfw="http://wellformedweb.org/CommentAPI/"
\txmlns:dc="http://purl.org/dc/elements/1.1/"
\txmlns:atom="http://www.w3.org/2005/Atom"
\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"
\txmlns:media="http://search.yahoo.com/mrss/">
<channel>
\t<title>{escape(title)}</title>
\t<atom:link href="{SITE}/feed/" rel="self" type="application/rss+xml" />
\t<link>{SITE}</link>
\t<description>Berita Kalimantan Timur Terkini</description>
\t<lastBuildDate>Mon, 28 Oct 2024 06:00:00 +0000</lastBuildDate>
\t<language>id</language>
\t<sy:updatePeriod>hourly</sy:updatePeriod>
\t<sy:updateFrequency>1</sy:updateFrequency>
\t<generator>https://wordpress.org/?v=6.6.2</generator>
{body}
</channel>
</rss>
"""
    return doc.encode("utf-8")


Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=UTF-8"
    etag: bool = True
    last_modified: str | None = "Mon, 28 Oct 2024 06:00:00 GMT"
    pages: dict[int, bytes] = field(default_factory=dict)  # ?paged=N bodies; others 404
    ignore_paged: bool = False  # serve page 1 for any ?paged=N
    fault: str | None = None  # reset, slow, redirect_loop, huge, drip
    handler: Handler | None = None


@dataclass
class Request:
    """A request the server received."""

    path: str
    headers: dict[str, str]


class FeedServer:
    """A threaded HTTP server on 127.0.0.1 with scripted routes and a request log."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.httpd.server_address[1])

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FeedServer:
        """Start serving in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> list[Request]:
        """Requests whose path (with query) starts with ``path``."""
        return [r for r in self.requests if r.path.startswith(path)]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        self.requests.append(Request(h.path, {k: v for k, v in h.headers.items()}))
        parts = urlsplit(h.path)
        route = self.routes.get(parts.path)
        if route is None:
            _send(h, 404, b"not found", "text/plain")
            return
        if route.handler is not None:
            route.handler(h)
            return
        query = parse_qs(parts.query)
        body = route.body
        if "paged" in query and not route.ignore_paged:
            page = int(query["paged"][0])
            if page not in route.pages:
                _send(h, 404, b"<html>halaman tidak ditemukan</html>", "text/html")
                return
            body = route.pages[page]
        if route.fault == "reset":
            reset(h)
            return
        if route.fault == "slow":
            time.sleep(3)
        if route.fault == "redirect_loop":
            h.send_response(302)
            h.send_header("Location", parts.path + ("" if parts.query else "?hop=1"))
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if route.fault == "drip":
            _stream(h, route.content_type, b" " * 10, times=100, pause=0.05)
            return
        etag = '"' + hashlib.md5(body).hexdigest() + '"' if route.etag else None
        if etag and "paged" not in query and h.headers.get("If-None-Match") == etag:
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return
        headers = {}
        if etag:
            headers["ETag"] = etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.fault == "huge":
            _stream(h, route.content_type, b"<!-- padding -->" * 4096, times=400)
            return
        _send(h, route.status, body, route.content_type, headers)


def _stream(h: BaseHTTPRequestHandler, content_type: str, chunk: bytes, *, times: int,
            pause: float = 0.0) -> None:
    """Send ``chunk`` ``times`` times with no Content-Length (a client may hang up)."""
    h.send_response(200)
    h.send_header("Content-Type", content_type)
    h.end_headers()
    with contextlib.suppress(OSError):
        for _ in range(times):
            h.wfile.write(chunk)
            h.wfile.flush()
            if pause:
                time.sleep(pause)


def reset(h: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST (SO_LINGER 0), as a crashing proxy would."""
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    for stream in (h.rfile, h.wfile):
        with contextlib.suppress(OSError):
            stream.close()
    h.connection.close()


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
          headers: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A running FeedServer, stopped afterwards."""
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()


def write_config(path: Any, feed_url: str, *, extra: str = "", feeds_extra: str = "",
                 account_extra: str = "", schedule: str | None = None,
                 second_feed_url: str | None = None) -> None:
    """A bot.toml pointing at a local feed, with an always-open schedule by default."""
    schedule = schedule if schedule is not None else (
        '[schedule]\nwindows = ["00:00-24:00"]\nmin_gap = "0s"\ndaily_cap = 100\n'
        'max_age = "3650d"\n')
    second = ""
    if second_feed_url:
        second = (f'\n[[feeds]]\nname = "kutim"\nurl = "{second_feed_url}"\n'
                  'accounts = ["editorialkaltim"]\n')
    path.write_text(f"""
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed_url}"
accounts = ["editorialkaltim"]
{feeds_extra}
{second}
[[accounts]]
name = "editorialkaltim"
publisher = "outbox"
{account_extra}

{schedule}

[fetch]
timeout = "1s"
connect_timeout = "1s"
max_bytes = "1MB"
allow_private_addresses = true
{extra}
""", encoding="utf-8")
