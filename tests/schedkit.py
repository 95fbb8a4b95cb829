"""Fixtures for the scheduling tests: a fake clock, a bot over a real store, ready posts.

``make_bot`` writes a real bot.toml (through feedkit's ``write_config``) and opens a
real SQLite store in the test's data dir; publishing goes to the real outbox unless a
test passes a publisher. ``add_post`` records an article and its queued post through
the store's own API, with a tiny card already in place, so policy tests do not pay
for rendering (the CLI and daemon tests render real cards).
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

from bot.articles import Article
from bot.config import load_config
from bot.core import Bot
from bot.errors import PublishError
from bot.models import Actor, Post, Status
from bot.publishers.base import PostFiles, Progress, Published, Publisher
from bot.publishers.outbox import OutboxPublisher
from bot.rules import priority_value
from tests.feedkit import write_config

WITA = ZoneInfo("Asia/Makassar")
ACCOUNT = "editorialkaltim"
FEED = "utama"
# Nothing listens here: tests that never poll still need a feed in the config.
NO_FEED_URL = "http://127.0.0.1:9/feed/"


def wita(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
         second: int = 0) -> datetime:
    """A moment given in WITA wall-clock time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=WITA)


class FakeClock:
    """A clock the test moves by hand (safe to read from other threads)."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (forwards or backwards)."""
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> None:
        """Move forwards (or backwards, with a negative delta)."""
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)


def schedule_toml(*, windows: Sequence[str] = ("00:00-24:00",), min_gap: str = "0s",
                  daily_cap: int = 100, max_age: str = "3650d",
                  quiet_days: Sequence[date] = (), tick: str = "10s", more: str = "") -> str:
    """A ``[schedule]`` table (``more`` adds priority/approval tables after it)."""
    window_list = ", ".join(f'"{w}"' for w in windows)
    days = ", ".join(d.isoformat() for d in quiet_days)
    return (f"[schedule]\nwindows = [{window_list}]\nmin_gap = \"{min_gap}\"\n"
            f"daily_cap = {daily_cap}\nmax_age = \"{max_age}\"\nquiet_days = [{days}]\n"
            f"tick = \"{tick}\"\n{more}\n")


def make_bot(directory: Path, clock: Callable[[], datetime], *, schedule: str | None = None,
             feed_url: str = NO_FEED_URL, extra: str = "", feeds_extra: str = "",
             account_extra: str = "", publisher: Publisher | None = None) -> Bot:
    """A Bot over a real config file and a real SQLite store in ``directory / "var"``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "bot.toml"
    write_config(path, feed_url, schedule=schedule if schedule is not None else schedule_toml(),
                 extra=extra, feeds_extra=feeds_extra, account_extra=account_extra)
    publishers = {ACCOUNT: publisher} if publisher is not None else None
    return Bot(load_config(path), data_dir=directory / "var", clock=clock, publishers=publishers)


def _tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 10), (15, 27, 45)).save(buffer, "JPEG")
    return buffer.getvalue()


TINY_JPEG = _tiny_jpeg()


def add_post(bot: Bot, number: int, *, published: datetime | None = None,
             categories: tuple[str, ...] = ("Kutim",), title: str | None = None,
             account: str = ACCOUNT, status: Status = Status.QUEUED,
             reason: str | None = None) -> int:
    """Record article ``number`` and its post (queued unless told), with card and caption."""
    now = bot.clock()
    article = Article(
        key=f"editorialkaltim.com#{number}", feed=FEED,
        link=f"https://editorialkaltim.com/2026/11/28/berita-{number}/",
        title=title or f"Berita {number}", guid=f"https://editorialkaltim.com/?p={number}",
        published=published if published is not None else now - timedelta(minutes=5),
        categories=categories, description_html=f"<p>Ringkasan berita {number}.</p>")
    store = bot.store
    with store.begin() as conn:
        article_id = store.insert_article(conn, article, now)
        post_id = store.create_post(
            conn, article_id=article_id, account=account, feed=FEED, status=status,
            reason=reason or f"new in feed {FEED}", slug=article.slug, at=now,
            actor=Actor.POLLER,
            priority=priority_value(article, bot.config.schedule.priority))
    card = bot.data_dir / "cards" / f"{post_id}-{article.slug}.jpg"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_bytes(TINY_JPEG)
    store.update_post(post_id, card_path=str(card), caption=f"{article.title}\n\n#Kaltim",
                      alt_text=f"Kartu berita: {article.title}")
    return post_id


def posted(bot: Bot) -> list[Post]:
    """The account's posted posts in the order they went out."""
    return sorted(bot.store.posts_with_status(Status.POSTED),
                  key=lambda p: (p.posted_at or datetime.min.replace(tzinfo=UTC), p.id))


def titles(posts: Sequence[Post]) -> list[str]:
    """Titles, for readable assertions."""
    return [p.title for p in posts]


class ScriptedOutbox(OutboxPublisher):
    """The real outbox publisher, with scripted errors first and an optional gate.

    ``errors`` are raised by the next ``publish`` calls, in order (a fake at the
    Instagram boundary: rate limits and challenges cannot happen in an outbox).
    With ``gate`` set, ``publish`` signals ``entered`` and waits for the gate, as an
    upload in flight does.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.errors: list[BaseException] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.calls = 0

    def publish(self, files: PostFiles, progress: Progress | None = None) -> Published:
        """Raise the next scripted error, or wait at the gate, then write the files."""
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(timeout=60)
        return super().publish(files, progress)


def scripted(bot_dir: Path, *errors: PublishError | Exception) -> ScriptedOutbox:
    """A ScriptedOutbox writing to the bot's outbox folder."""
    publisher = ScriptedOutbox(bot_dir / "var" / "outbox")
    publisher.errors.extend(errors)
    return publisher


def wait_for(condition: Callable[[], object], *, timeout: float = 30.0,
             what: str = "condition", detail: Callable[[], str] | None = None) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` s (a bound, not a speed check).

    ``detail`` adds context to the failure, such as a subprocess's log.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            extra = f"\n{detail()}" if detail else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(0.05)
