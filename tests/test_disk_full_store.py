"""A full disk under the whole data dir: the SQLite store (with its WAL), cards and the
outbox on one small tmpfs that the test fills at the worst moments (between a poll's
articles, while posts render and publish) and frees again.

While the disk is full, polls and publishes fail without harm; the store stays
consistent (SQLite's integrity check, and every post's status events chain up to its
status); once space returns, every article goes out exactly once. Cards and the outbox
alone on a full disk are tests/test_disk_full.py's.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.store import PostFilter
from tests.diskkit import SmallDisk, mounted_disk
from tests.feedkit import FeedServer, Item, Route, rss, write_config

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _items(server: FeedServer, numbers: range) -> list[Item]:
    return [Item(post_id=47000 + n, title=f"Berita Kutim nomor {n}", slug=f"berita-kutim-{n}",
                 published=T0 - timedelta(minutes=100 - n),
                 link=server.url(f"/2026/berita-kutim-{n}/")) for n in numbers]


def _attempt(action: object) -> str:
    """Run a poll or publish as the daemon's job wrapper would: any error is recorded."""
    try:
        action()  # type: ignore[operator]
    except Exception as exc:  # the scheduler logs a job_error and carries on
        return f"{type(exc).__name__}: {exc}"
    return "ok"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """16 MiB: room for the store and some 40 cards and outbox copies, until filled."""
    with mounted_disk(tmp_path / "disk", 16 * 1024 * 1024) as mounted:
        yield mounted


def test_a_full_disk_under_the_store_loses_and_duplicates_nothing(
        tmp_path: Path, server: FeedServer, disk: SmallDisk,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = disk.path / "var"
    monkeypatch.setenv("BOT_DATA_DIR", str(data_dir))
    items = _items(server, range(1, 5))
    server.routes["/feed/"] = Route(body=rss(items))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 4",
                 extra='[publish]\nmax_attempts = 2\nretry_backoff = "1m"\n'
                       'disk_full_backoff = "1m"\n')
    clock = Clock()
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock)
    outcomes: Counter[str] = Counter()
    try:
        assert bot.poll()[0].status == "ok"
        serial = 5
        for round_ in range(6):
            # More articles arrive; the disk fills at a different moment each round.
            fresh = _items(server, range(serial, serial + 3))
            serial += 3
            items = fresh + items
            server.routes["/feed/"] = Route(body=rss(items[:10]))
            if round_ % 2 == 0:
                disk.fill()
                outcomes[_attempt(bot.poll)[:40]] += 1
                outcomes[_attempt(bot.publish)[:40]] += 1
            else:
                outcomes[_attempt(bot.poll)[:40]] += 1
                disk.fill()
                outcomes[_attempt(bot.publish)[:40]] += 1
            disk.free()
            clock.now += timedelta(minutes=3)
        # Space is back: the daemon's next rounds bring everything out.
        for _ in range(10):
            clock.now += timedelta(minutes=3)
            assert _attempt(bot.poll) == "ok"
            assert _attempt(bot.publish) == "ok"
        posts = bot.posts(PostFilter(limit=None))
        events = bot.store.events()
        with bot.store.begin() as conn:
            integrity = conn.execute(sa.text("PRAGMA integrity_check")).scalar()
    finally:
        disk.free()
        bot.close()

    print(f"\nfull disk under the store: {dict(outcomes)}; {len(posts)} posts")
    assert integrity == "ok"
    assert sum(outcomes.values()) == 12 and set(outcomes) != {"ok"}, outcomes  # it did hit
    assert {p.link: p.status for p in posts} == {i.url: Status.POSTED for i in items}
    # The outbox holds each post exactly once (its .json says which article).
    metas = [json.loads(p.read_text(encoding="utf-8"))
             for p in (data_dir / "outbox").glob("*.json")]
    assert Counter(m["article_link"] for m in metas) == {i.url: 1 for i in items}
    chains: dict[int, list[tuple[str | None, str | None]]] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.kind == "status" and event.post_id is not None:
            chains.setdefault(event.post_id, []).append((event.from_status, event.to_status))
    for post in posts:
        chain = chains[post.id]
        assert all(a[1] == b[0] for a, b in itertools.pairwise(chain)), chain
        assert chain[-1][1] == post.status
