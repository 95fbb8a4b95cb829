"""Hostile images through the whole path: served by the feed server as an article's
photo, acquired by the bot's poll, rendered into feed and story cards, preflighted and
published by the outbox. The card corpus (tests/imagekit.py) plus slow, oversized and
redirect-chain images.

A usable photo gives a photo card; anything else gives the branded card, with the
reason in the post's render notes. Never a crash, a failed post, or a bad card.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from PIL import Image

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.store import PostFilter
from tests import imagekit
from tests.feedkit import FeedServer, Item, Route, rss, write_config

WHEN = datetime(2024, 10, 28, 5, 0, tzinfo=UTC)
PHOTO = imagekit.jpeg(imagekit.landscape((1200, 900)))


@dataclass(frozen=True)
class Served:
    """An image as the server hands it out, and whether a photo card must come of it."""

    name: str
    route: Route
    usable: bool
    note: str = ""  # text the render notes must hold when not usable


def _slow(pause: float, pieces: int) -> Route:
    """PHOTO in ``pieces`` parts, ``pause`` apart."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(PHOTO)))
        h.end_headers()
        step = len(PHOTO) // pieces + 1
        with contextlib.suppress(OSError):
            for start in range(0, len(PHOTO), step):
                h.wfile.write(PHOTO[start:start + step])
                h.wfile.flush()
                time.sleep(pause)
    return Route(handler=handler)


def _chain(server: FeedServer, name: str, hops: int) -> Route:
    """``hops`` redirects, then PHOTO."""
    for n in range(hops):
        target = server.url(f"/img/{name}/{n + 1}") if n + 1 < hops else server.url("/photo")
        server.routes[f"/img/{name}/{n}"] = Route(handler=_redirect(target))
    return server.routes[f"/img/{name}/0"]


def _redirect(location: str) -> object:
    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(302)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handler


def _served(server: FeedServer) -> list[Served]:
    server.routes["/photo"] = Route(body=PHOTO, content_type="image/jpeg")
    corpus = [Served(h.name, Route(body=h.make(), content_type=h.content_type), h.usable)
              for h in imagekit.HOSTILE]
    return [
        *corpus,
        Served("slow-within-deadline", _slow(0.25, 4), True),
        Served("slow-past-deadline", _slow(0.5, 12), False, "too long"),
        Served("oversized-declared", Route(body=PHOTO + b"\0" * 1_100_000,
                                           content_type="image/jpeg"), False, "too large"),
        Served("redirect-chain-3", _chain(server, "c3", 3), True),
        Served("redirect-chain-8", _chain(server, "c8", 8), False, "too many redirects"),
        Served("served-as-octet-stream",
               Route(body=PHOTO, content_type="application/octet-stream"),
               False, "not image/*"),
        Served("served-without-type", Route(body=PHOTO, content_type=""), False, "image/*"),
    ]


def test_hostile_images_give_photo_or_branded_cards_and_every_post_goes_out(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    cases = _served(server)
    items = []
    for n, case in enumerate(cases):
        path = f"/img/{case.name}"
        server.routes[path] = case.route
        items.append(Item(post_id=43000 + n, title=f"Foto uji {case.name}",
                          slug=f"foto-uji-{n}", published=WHEN - timedelta(minutes=n),
                          image=server.url(path), link=server.url(f"/artikel/{n}/")))
    server.routes["/feed/"] = Route(body=rss(items))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra="backlog = 50",
                 account_extra="story = true", extra='photo_max_bytes = "1MB"')
    bot = Bot(load_config(config), data_dir=data_dir)
    try:
        report = bot.poll()[0]
        while bot.publish(force=True):
            pass
        posts = {p.title: p for p in bot.posts(PostFilter(limit=None))}
    finally:
        bot.close()
    assert report.status == "ok" and report.queued == len(cases)
    wrong = []
    for case in cases:
        post = posts[f"Foto uji {case.name}"]
        notes = post.render_notes or ""
        branded = "branded card" in notes
        if post.status != Status.POSTED or post.story_status != "posted":
            wrong.append(f"{case.name}: {post.status}/{post.story_status}: {post.reason}")
        elif case.usable == branded:
            wrong.append(f"{case.name}: usable={case.usable} but notes {notes!r}")
        elif not case.usable and case.note not in notes:
            wrong.append(f"{case.name}: notes lack {case.note!r}: {notes!r}")
        for path, size in ((post.card_path, (1080, 1350)), (post.story_path, (1080, 1920))):
            assert path
            with Image.open(path) as card:
                if card.format != "JPEG" or card.size != size or card.mode != "RGB":
                    wrong.append(f"{case.name}: {path} is {card.format} {card.size} {card.mode}")
            if Path(path).stat().st_size > 8_000_000:
                wrong.append(f"{case.name}: {path} over 8 MB")
    assert wrong == []
    assert len(cases) >= 29
