"""A full disk is transient: posts wait (never ``failed``), one alert, and everything goes
out once space returns. Cards and the outbox live on a real 2 MiB tmpfs the test fills."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.errors import DiskFull
from bot.files import disk_full_as_transient, is_disk_full, write_atomic
from bot.models import Status
from tests.diskkit import SmallDisk, small_disk
from tests.feedkit import FeedServer, Item, Route, rss, write_config

__all__ = ["small_disk"]  # the fixture, imported for pytest

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world(tmp_path: Path, data_dir: Path, server: FeedServer,
          small_disk: SmallDisk) -> Iterator[tuple[Bot, Clock, SmallDisk]]:
    """A bot whose cards and outbox folders are on the small disk; two articles in the feed."""
    items = [Item(post_id=n, title=f"Berita Kutim nomor {n}", slug=f"berita-{n}",
                  published=T0 - timedelta(minutes=10 * n)) for n in (1, 2)]
    server.routes["/feed/"] = Route(body=rss(items))
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ("cards", "outbox"):
        (small_disk.path / name).mkdir()
        (data_dir / name).symlink_to(small_disk.path / name)
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 2",
                 extra='[publish]\nmax_attempts = 2\ndisk_full_backoff = "2m"\n')
    clock = Clock()
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock)
    yield bot, clock, small_disk
    bot.close()


def alerts(bot: Bot) -> list[str]:
    """Reasons of every alert event so far."""
    return [e.reason for e in bot.store.events() if e.kind == "alert"]


def never_failed(bot: Bot) -> bool:
    """No post was ever marked failed."""
    return not any(e.to_status == "failed" for e in bot.store.events())


def test_cards_that_cannot_be_written_wait_for_space_then_go_out(
        world: tuple[Bot, Clock, SmallDisk]) -> None:
    bot, clock, disk = world
    disk.fill()
    bot.poll()
    posts = bot.posts()
    assert [p.status for p in posts] == [Status.QUEUED] * 2
    assert all(p.card_path is None for p in posts)
    assert all(p.next_attempt_at == T0 + timedelta(minutes=2) for p in posts)
    assert len(alerts(bot)) == 1 and "disk full" in alerts(bot)[0]
    assert bot.publish() == []  # waiting out the backoff

    for _ in range(4):  # still full: more than max_attempts tries, never failed
        clock.now += timedelta(minutes=3)
        assert all(o.status == Status.QUEUED for o in bot.publish())
    assert len(alerts(bot)) == 1  # one alert for the incident
    assert [p.attempts for p in bot.posts()] == [0, 0]

    disk.free()
    clock.now += timedelta(minutes=3)
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == [Status.POSTED] * 2
    assert never_failed(bot)
    assert bot.store.open_alerts() == []
    assert len(list((disk.path / "outbox").glob("*.json"))) == 2


def test_an_outbox_that_cannot_be_written_waits_for_space_then_goes_out(
        world: tuple[Bot, Clock, SmallDisk]) -> None:
    bot, clock, disk = world
    bot.poll()  # cards rendered while there was room
    assert all(p.card_path for p in bot.posts())
    disk.fill()
    for _ in range(4):
        outcomes = bot.publish()
        assert [o.status for o in outcomes] == [Status.QUEUED]
        assert "disk full" in outcomes[0].reason
        clock.now += timedelta(minutes=3)
    assert never_failed(bot)
    assert [p.attempts for p in bot.posts()] == [0, 0]
    assert len(alerts(bot)) == 1
    assert list((disk.path / "outbox").glob("*.json")) == []  # nothing half-written
    assert not [p for p in (disk.path / "outbox").iterdir() if p.name.endswith(".tmp")]

    disk.free()
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == [Status.POSTED] * 2
    assert bot.store.open_alerts() == []
    assert len(list((disk.path / "outbox").glob("*.json"))) == 2


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_or_quota_is_disk_full_and_other_errors_are_not(code: int,
                                                                    tmp_path: Path) -> None:
    with pytest.raises(DiskFull, match="disk full writing"), \
            disk_full_as_transient(tmp_path / "x"):
        raise OSError(code, "No space left on device")
    with pytest.raises(PermissionError), disk_full_as_transient(tmp_path / "x"):
        raise PermissionError(errno.EACCES, "Permission denied")
    assert is_disk_full(RuntimeError("(sqlite3.OperationalError) database or disk is full"))


def test_a_write_that_hits_a_full_disk_leaves_no_partial_file(
        small_disk: SmallDisk) -> None:
    small_disk.fill()
    target = small_disk.path / "card.jpg"
    with pytest.raises(DiskFull):
        write_atomic(target, b"\xff\xd8" + b"x" * 100_000)
    assert sorted(p.name for p in small_disk.path.iterdir()) == [".filler"]
