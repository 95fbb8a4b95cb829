"""Photo acquisition against a real HTTP server on 127.0.0.1: order, bounds, refusals, cache."""

from __future__ import annotations

import contextlib
import os
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from bot.articles import Article, ImageRef
from bot.cards import CardRenderer
from bot.cards.photos import CACHE_MAX_AGE, PhotoFetcher, find_og_image
from bot.config import CardConfig, FetchConfig, SiteConfig
from bot.http import HttpClient
from tests import imagekit
from tests.feedkit import FeedServer, Route

PHOTO = imagekit.jpeg(imagekit.landscape((1200, 800)))
OTHER_PHOTO = imagekit.jpeg(imagekit.landscape((1600, 1067), seed=11))


def make_fetcher(tmp_path: Path, *, allow_private: bool = True, **fetch: Any) -> PhotoFetcher:
    """A PhotoFetcher with a cache in ``tmp_path`` and short timeouts."""
    config = FetchConfig(allow_private_addresses=allow_private, timeout="3s",
                         connect_timeout="2s", **fetch)
    return PhotoFetcher(config, tmp_path / "photos", HttpClient(config))


def make_article(server: FeedServer, *images: ImageRef, page: str = "/artikel/") -> Article:
    """An article whose page lives at ``page`` on the test server."""
    return Article(
        key="127.0.0.1#1", feed="utama", link=server.url(page),
        title="Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi",
        published=datetime(2024, 10, 28, 2, 30, tzinfo=UTC), categories=("Kutim",),
        images=images,
    )


def jpeg_route(body: bytes = PHOTO, content_type: str = "image/jpeg") -> Route:
    """A route serving ``body`` as an image (a client that hangs up early is fine)."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        if content_type:
            h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    return Route(handler=handler)


def html_page(head: str, padding: int = 0, content_type: str = "text/html; charset=UTF-8",
              honour_range: bool = True) -> Route:
    """An article page with ``head`` in its <head>, ``padding`` bytes of body after it."""
    body = (f"<!DOCTYPE html><html><head><title>Artikel</title>{head}</head><body>"
            + "<p>Isi berita panjang.</p>" * (padding // 24) + "</body></html>").encode()

    def handler(h: BaseHTTPRequestHandler) -> None:
        wanted = h.headers.get("Range", "")
        status, data = 200, body
        if honour_range and wanted.startswith("bytes=0-"):
            end = int(wanted.removeprefix("bytes=0-"))
            status, data = 206, body[: end + 1]
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data)))
        if status == 206:
            h.send_header("Content-Range", f"bytes 0-{len(data) - 1}/{len(body)}")
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(data)

    return Route(handler=handler)


def redirect(to: str, status: int = 302) -> Route:
    """A route that redirects to ``to``."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return Route(handler=handler)


# ---------------------------------------------------------------------- order and fallbacks


def test_candidates_are_tried_in_design_order_until_one_works(server: FeedServer,
                                                             tmp_path: Path) -> None:
    server.routes["/missing.jpg"] = Route(status=404, body=b"no", content_type="text/plain")
    server.routes["/thumb.jpg"] = jpeg_route(b"<!DOCTYPE html><html>Error</html>")
    server.routes["/enclosure.jpg"] = jpeg_route(PHOTO)
    server.routes["/body.jpg"] = jpeg_route(OTHER_PHOTO)
    article = make_article(
        server,
        ImageRef(server.url("/missing.jpg"), "media_content"),
        ImageRef(server.url("/thumb.jpg"), "media_thumbnail"),
        ImageRef(server.url("/enclosure.jpg"), "enclosure", alt="Rapat koordinasi Pilkada"),
        ImageRef(server.url("/body.jpg"), "content_img"),
    )
    photo = make_fetcher(tmp_path).fetch(article)
    assert photo.image is not None
    assert photo.source_url == server.url("/enclosure.jpg")
    assert photo.description == "Rapat koordinasi Pilkada"
    assert [r.path for r in server.requests] == ["/missing.jpg", "/thumb.jpg", "/enclosure.jpg"]
    assert photo.note is not None
    assert "media:content" in photo.note and "HTTP 404" in photo.note
    assert "media:thumbnail" in photo.note and "HTML page" in photo.note


def test_og_image_of_the_article_page_is_the_last_resort(server: FeedServer,
                                                        tmp_path: Path) -> None:
    server.routes["/broken.jpg"] = jpeg_route(PHOTO[:500])
    server.routes["/artikel/"] = html_page(
        '<meta property="og:image" content="/wp-content/uploads/foto.jpg" />'
        '<meta property="og:image:alt" content="Peserta Bimtek di Hotel Harris" />')
    server.routes["/wp-content/uploads/foto.jpg"] = jpeg_route(PHOTO)
    article = make_article(server, ImageRef(server.url("/broken.jpg"), "content_img"))
    photo = make_fetcher(tmp_path).fetch(article)
    assert photo.image is not None
    assert photo.source_url == server.url("/wp-content/uploads/foto.jpg")
    assert photo.description == "Peserta Bimtek di Hotel Harris"
    assert photo.note and "first <img>" in photo.note and "broken" in photo.note
    page_request = server.hits("/artikel/")[0]
    assert page_request.headers["Range"].startswith("bytes=0-")


@pytest.mark.parametrize("honour_range", [True, False])
def test_page_is_read_only_up_to_page_max_bytes(server: FeedServer, tmp_path: Path,
                                                honour_range: bool) -> None:
    # A server that ignores Range sends 400 KB; the first 64 KB (the <head>) are read.
    server.routes["/artikel/"] = html_page(
        '<meta property="og:image" content="/foto.jpg">', padding=400_000,
        honour_range=honour_range)
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    photo = make_fetcher(tmp_path, page_max_bytes="64KB").fetch(make_article(server))
    assert photo.image is not None
    assert photo.source_url == server.url("/foto.jpg")


def test_og_image_past_the_read_limit_is_not_found(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/artikel/"] = html_page(
        "<!-- " + "x" * 100_000 + ' --><meta property="og:image" content="/foto.jpg">',
        honour_range=False)
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    photo = make_fetcher(tmp_path, page_max_bytes="64KB").fetch(make_article(server))
    assert photo.image is None
    assert photo.note and "has none" in photo.note


def test_article_without_any_photo_says_so(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/artikel/"] = html_page('<meta name="description" content="Berita">')
    photo = make_fetcher(tmp_path).fetch(make_article(server))
    assert photo.image is None
    assert photo.note == ("no usable photo, branded card: og:image: the article page has none")


def test_og_image_equal_to_a_failed_candidate_is_not_fetched_twice(server: FeedServer,
                                                                   tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = Route(status=500, body=b"", content_type="text/plain")
    server.routes["/artikel/"] = html_page(f'<meta property="og:image" content="'
                                           f'{server.url("/foto.jpg")}">')
    photo = make_fetcher(tmp_path).fetch(
        make_article(server, ImageRef(server.url("/foto.jpg"), "media_content")))
    assert photo.image is None
    assert len(server.hits("/foto.jpg")) == 1


# ---------------------------------------------------------------------- bounds and refusals


@pytest.mark.parametrize("content_type", ["text/html", "application/octet-stream", ""])
def test_only_image_content_types_are_accepted(server: FeedServer, tmp_path: Path,
                                               content_type: str) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO, content_type)
    server.routes["/artikel/"] = html_page("")
    photo = make_fetcher(tmp_path).fetch(
        make_article(server, ImageRef(server.url("/foto.jpg"), "media_content")))
    assert photo.image is None
    assert photo.note and "not image/*" in photo.note


def test_oversized_photo_is_refused(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    server.routes["/artikel/"] = html_page("")
    photo = make_fetcher(tmp_path, photo_max_bytes="50KB").fetch(
        make_article(server, ImageRef(server.url("/foto.jpg"), "media_content")))
    assert len(PHOTO) > 50_000
    assert photo.image is None
    assert photo.note and "too large" in photo.note


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_followed(server: FeedServer, tmp_path: Path, status: int) -> None:
    server.routes["/lama.jpg"] = redirect("/baru.jpg", status)
    server.routes["/baru.jpg"] = jpeg_route(PHOTO)
    photo = make_fetcher(tmp_path).fetch(
        make_article(server, ImageRef(server.url("/lama.jpg"), "media_content")))
    assert photo.image is not None
    assert [r.path for r in server.requests] == ["/lama.jpg", "/baru.jpg"]


def test_private_addresses_are_refused_unless_allowed(server: FeedServer,
                                                      tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    server.routes["/artikel/"] = html_page('<meta property="og:image" content="/foto.jpg">')
    article = make_article(server, ImageRef(server.url("/foto.jpg"), "media_content"))
    photo = make_fetcher(tmp_path, allow_private=False).fetch(article)
    assert photo.image is None
    assert photo.note and "non-public address 127.0.0.1" in photo.note
    assert server.requests == []  # refused before connecting, page included


@pytest.mark.parametrize("hostile", imagekit.HOSTILE, ids=[h.name for h in imagekit.HOSTILE])
def test_hostile_photos_over_http_give_a_card_with_the_reason(
    server: FeedServer, tmp_path: Path, hostile: imagekit.Hostile
) -> None:
    server.routes["/foto"] = jpeg_route(hostile.make(), hostile.content_type)
    server.routes["/artikel/"] = html_page("")
    photo = make_fetcher(tmp_path).fetch(
        make_article(server, ImageRef(server.url("/foto"), "media_content")))
    if hostile.usable:
        assert photo.image is not None and photo.image.mode == "RGB"
        assert photo.note is None
    else:
        assert photo.image is None
        assert photo.note and photo.note.startswith("no usable photo, branded card: media:content")
    card = CardRenderer(CardConfig(), SiteConfig(), ZoneInfo("Asia/Makassar")).render(
        make_article(server), photo.image)
    assert card.layout == ("overlay" if hostile.usable else "branded")
    assert card.to_jpeg()[:2] == b"\xff\xd8"


# ---------------------------------------------------------------------- cache


def test_photos_are_cached_by_url_in_the_data_dir(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    article = make_article(server, ImageRef(server.url("/foto.jpg"), "media_content"))
    first = make_fetcher(tmp_path).fetch(article)
    second = make_fetcher(tmp_path).fetch(article)  # a new process, the same data dir
    assert first.image is not None and second.image is not None
    assert first.image.size == second.image.size
    assert len(server.hits("/foto.jpg")) == 1
    assert len(list((tmp_path / "photos").glob("*.jpg"))) == 1


def test_photo_cache_is_private(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    old = os.umask(0o022)
    try:
        make_fetcher(tmp_path).fetch(
            make_article(server, ImageRef(server.url("/foto.jpg"), "media_content")))
    finally:
        os.umask(old)
    assert (tmp_path / "photos").stat().st_mode & 0o777 == 0o700
    (entry,) = (tmp_path / "photos").iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600


def test_corrupt_cache_entry_is_fetched_again(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    article = make_article(server, ImageRef(server.url("/foto.jpg"), "media_content"))
    make_fetcher(tmp_path).fetch(article)
    (entry,) = (tmp_path / "photos").glob("*.jpg")
    entry.write_bytes(b"garbage")
    assert make_fetcher(tmp_path).fetch(article).image is not None
    assert len(server.hits("/foto.jpg")) == 2


def test_cache_entries_unused_for_a_month_are_pruned(tmp_path: Path) -> None:
    cache = tmp_path / "photos"
    cache.mkdir()
    old, fresh = cache / "old.jpg", cache / "fresh.jpg"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    stale = time.time() - CACHE_MAX_AGE.total_seconds() - 60
    os.utime(old, (stale, stale))
    make_fetcher(tmp_path)
    assert not old.exists() and fresh.exists()


def test_big_photos_are_kept_at_card_size(server: FeedServer, tmp_path: Path) -> None:
    big = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    server.routes["/besar.jpg"] = jpeg_route(imagekit.jpeg(big))
    photo = make_fetcher(tmp_path).fetch(
        make_article(server, ImageRef(server.url("/besar.jpg"), "media_content")))
    assert photo.image is not None
    assert photo.image.size == (1800, 1350)  # covers 1080×1350, nothing more


# ---------------------------------------------------------------------- descriptions, og:image


@pytest.mark.parametrize(("alt", "caption", "expected"), [
    ("Bupati meresmikan jembatan", "Foto: Humas Kutim", "Bupati meresmikan jembatan"),
    ("IMG_2024.JPG", "Foto: Humas Kutim", "Foto: Humas Kutim"),
    ("", "Peserta Bimtek", "Peserta Bimtek"),
    ("", "", ""),
])
def test_description_is_alt_text_else_caption(server: FeedServer, tmp_path: Path, alt: str,
                                              caption: str, expected: str) -> None:
    server.routes["/foto.jpg"] = jpeg_route(PHOTO)
    photo = make_fetcher(tmp_path).fetch(make_article(
        server, ImageRef(server.url("/foto.jpg"), "content_img", alt=alt, caption=caption)))
    assert photo.description == expected


@pytest.mark.parametrize(("html", "expected"), [
    ('<meta property="og:image" content="https://e.com/a.jpg">', ("https://e.com/a.jpg", "")),
    ("<META PROPERTY='og:image' CONTENT='/a.jpg?w=1200&amp;h=630'>", ("/a.jpg?w=1200&h=630", "")),
    ('<meta content="https://e.com/b.jpg" property="og:image:secure_url">',
     ("https://e.com/b.jpg", "")),
    ('<meta name="og:image" content="/c.jpg"><meta property="og:image:alt" content="Alt">',
     ("/c.jpg", "Alt")),
    ('<meta property="og:image" content="/first.jpg"><meta property="og:image" content="/2.jpg">',
     ("/first.jpg", "")),
    ('<meta property="og:image" content="">', None),
    ('<meta property="og:image" content="data:image/png;base64,AAAA">', None),
    ('<meta property="og:title" content="Judul">', None),
    ('</head><body><meta property="og:image" content="/in-body.jpg">', None),
    ("<head><meta property=og:image content=/unquoted.jpg>", ("/unquoted.jpg", "")),
])
def test_find_og_image(html: str, expected: tuple[str, str] | None) -> None:
    assert find_og_image(f"<html><head>{html}</head><body></body></html>") == expected
