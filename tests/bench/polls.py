"""Cases ``poll``, ``poll-changed`` and ``burst``: the poll step in this process.

- ``poll``: CPU per poll of a 20-item feed that answers 304 to the conditional GET,
  and of one that sends the byte-identical 200 again (no validators).
- ``poll-changed``: CPU per poll of the same feed with one new item on top: fetch,
  parse, dedupe, the article, post and event rows, the feed's state. Rendering the
  new post (photo download, card, caption, preflight) is timed apart.
- ``burst``: 100 new articles at once, over ten pages (``max_pages = 10``), from the
  poll's start until every one is rendered and queued (wall-clock).

Items carry the seed article's full body, as WordPress's ``content:encoded`` does.
The feeds, article photos (2000×1333 JPEGs) and pages are served by tests/feedkit.py
on 127.0.0.1 from a process of its own; CPU is this whole process's (the bot's threads
included), and none of it is the server's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from tests import imagekit
from tests.bench.common import Figure, bot_toml, feeds_toml
from tests.bench.remote import RemoteFeeds, remote_feeds
from tests.feedkit import SEED_BODY, FeedServer, Item, Route, rss

NEWEST = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
PHOTO = imagekit.jpeg(imagekit.landscape((2000, 1333)))


class Site:
    """A WordPress site on a feed server: items with photos, ten a page.

    The server is tests/feedkit.py's, in this process or in its own (``RemoteFeeds``).
    """

    def __init__(self, server: FeedServer | RemoteFeeds, *, per_page: int = 10,
                 etag: bool = True) -> None:
        self.server = server
        self.per_page = per_page
        self.etag = etag
        self.items: list[Item] = []  # newest first
        self.count = 0

    def item(self) -> Item:
        """A new article, a minute newer than the last."""
        self.count += 1
        number = 50_000 + self.count
        if isinstance(self.server, FeedServer):  # a remote server has every /photos/ path
            self.server.routes[f"/photos/{number}.jpg"] = Route(handler=_photo)
        return Item(post_id=number, title=f"Pemkab Kutim bahas anggaran daerah nomor {number}",
                    slug=f"berita-{number}", published=NEWEST + timedelta(minutes=self.count),
                    categories=("Kutim", "Pemerintahan"), tags=("Anggaran", "DPRD"),
                    body=SEED_BODY,
                    image=self.server.url(f"/photos/{number}.jpg"),
                    link=self.server.url(f"/2026/11/30/berita-{number}/"))

    def publish(self, count: int) -> None:
        """``count`` new articles on top."""
        self.items[:0] = [self.item() for _ in range(count)][::-1]
        self.refresh()

    def refresh(self, window: int | None = None) -> None:
        """Serve the items (only the newest ``window`` when given), paged."""
        items = self.items[:window] if window else self.items
        pages = [items[i:i + self.per_page] for i in range(0, len(items), self.per_page)]
        route = Route(
            body=rss(pages[0]), etag=self.etag,
            last_modified="Mon, 30 Nov 2026 04:00:00 GMT" if self.etag else None,
            pages={n + 1: rss(p) for n, p in enumerate(pages) if n})
        if isinstance(self.server, FeedServer):
            self.server.routes["/feed/"] = route
        else:
            self.server.set("/feed/", route)


def _photo(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "image/jpeg")
    h.send_header("Content-Length", str(len(PHOTO)))
    h.end_headers()
    h.wfile.write(PHOTO)


def make_bot(work: Path, server: FeedServer | RemoteFeeds, *, max_pages: int = 5) -> Bot:
    """A bot over one feed at the server's /feed/ and one outbox account."""
    work.mkdir(parents=True, exist_ok=True)
    config = work / "bot.toml"
    config.write_text(bot_toml(
        feeds_toml([("utama", server.url("/feed/"))], poll_every="1m",
                   accounts=["editorialkaltim"], max_pages=max_pages),
        '[[accounts]]\nname = "editorialkaltim"\npublisher = "outbox"\n'), encoding="utf-8")
    return Bot(load_config(config), data_dir=work / "var")


def cpu_per_poll(bot: Bot, runs: int, before: Callable[[], object] | None = None,
                 ) -> tuple[list[float], list[float]]:
    """(CPU ms, wall ms) of each poll; ``before`` runs untimed ahead of each.

    CPU is the whole process's: the feed server runs in its own process.
    """
    cpu, wall = [], []
    for _ in range(runs):
        if before is not None:
            before()
        c0, w0 = time.process_time(), time.perf_counter()
        reports = bot.poll("utama")
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
        assert reports[0].status != "error", reports[0].reason
    return cpu, wall


def run_unchanged(*, tiny: bool = False, work: Path) -> list[Figure]:
    """A 20-item feed polled again with nothing new: 304, then a byte-identical 200."""
    runs = 2 if tiny else 300
    figures = []
    for label, etag, target in (("304 Not Modified", True, 2.0),
                                ("byte-identical 200", False, 5.0)):
        with remote_feeds(PHOTO) as server:
            site = Site(server, per_page=20, etag=etag)
            site.publish(20)
            bot = make_bot(work / label.split()[0], server)
            try:
                bot.poll("utama")  # the first poll records the 20 articles as seen
                cpu_per_poll(bot, 2 if tiny else 20)  # warm-up
                cpu, wall = cpu_per_poll(bot, runs)
                status = bot.store.feed_state("utama")
                assert status is not None and status.last_status in ("not_modified",
                                                                    "unchanged")
            finally:
                bot.close()
        figures.append(Figure("poll", f"poll unchanged, {label}", "ms CPU", cpu,
                              target=target, target_text=f"≤ {target:g} ms", wall=wall))
    return figures


def run_changed(*, tiny: bool = False, work: Path) -> list[Figure]:
    """A 20-item feed with one new item per poll; rendering is timed apart."""
    runs = 2 if tiny else 60
    with remote_feeds(PHOTO) as server:
        site = Site(server, per_page=20)
        site.publish(20)
        bot = make_bot(work, server)
        render_cpu: list[float] = []
        real_render = bot.rendering.render_post

        def timed_render(post_id: int, *, actor: str) -> Any:
            c0 = time.process_time()
            try:
                return real_render(post_id, actor=actor)
            finally:
                render_cpu.append((time.process_time() - c0) * 1000)

        bot.rendering.render_post = timed_render  # type: ignore[method-assign]
        try:
            bot.poll("utama")

            def one_more() -> None:
                site.publish(1)
                site.refresh(window=20)

            cpu_per_poll(bot, 1 if tiny else 5, before=one_more)  # warm-up
            render_cpu.clear()
            cpu, _ = cpu_per_poll(bot, runs, before=one_more)
            queued = bot.store.posts_with_status(Status.QUEUED)
        finally:
            bot.close()
    assert len(render_cpu) == runs, (len(render_cpu), runs)
    assert len(queued) >= runs
    without = [total - render for total, render in zip(cpu, render_cpu, strict=True)]
    return [
        Figure("poll-changed", "poll with 1 new item, render apart", "ms CPU", without,
               target=40.0, target_text="≤ 40 ms",
               note=f"whole poll {statistics.median(cpu):.1f} ms with the render"),
        Figure("poll-changed", "render of the new post (photo, card, caption)", "ms CPU",
               render_cpu),
    ]


def run_burst(*, tiny: bool = False, work: Path) -> list[Figure]:
    """100 new articles over ten pages, until all are rendered and queued."""
    runs, new = (1, 5) if tiny else (3, 100)
    seconds = []
    for attempt in range(runs):
        with remote_feeds(PHOTO) as server:
            site = Site(server)
            site.publish(10)
            bot = make_bot(work / f"run{attempt}", server, max_pages=10)
            try:
                bot.poll("utama")  # ten known articles, recorded as seen
                site.publish(new)
                started = time.perf_counter()
                report = bot.poll("utama")[0]
                seconds.append(time.perf_counter() - started)
                queued = bot.store.posts_with_status(Status.QUEUED)
            finally:
                bot.close()
        assert report.new == new and len(queued) == new, report
        assert all(p.card_path and p.caption for p in queued)
    return [Figure("burst", f"{new} new articles over {report.pages} pages, rendered and "
                   "queued", "s", seconds, target=10.0, target_text="≤ 10 s",
                   note=f"{1000 * statistics.median(seconds) / new:.0f} ms per article")]
