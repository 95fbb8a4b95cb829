"""``bot status``: next poll, last result and last new article per feed; per account its
state, next slot, queue and posts today against the cap; and the JSON shape.

Time comes from a fake clock; feeds from a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from bot.cli import cli
from bot.core import Bot
from bot.errors import NeedsHuman, RateLimited
from bot.status import format_status
from tests.feedkit import FeedServer, Route, make_items, rss
from tests.schedkit import (
    FakeClock,
    add_post,
    make_bot,
    schedule_toml,
    scripted,
    wita,
)


def account(bot: Bot) -> dict[str, object]:
    accounts: list[dict[str, object]] = bot.status()["accounts"]
    return accounts[0]


def feed(bot: Bot) -> dict[str, object]:
    feeds: list[dict[str, object]] = bot.status()["feeds"]
    return feeds[0]


# -- feeds -------------------------------------------------------------------------------


def test_feed_shows_next_poll_last_result_and_last_new_article(
        tmp_path: Path, server: FeedServer) -> None:
    items = make_items(3, newest=datetime(2026, 11, 30, 1, 0, tzinfo=UTC))
    server.routes["/feed/"] = Route(body=rss(items))
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, feed_url=server.url("/feed/"),
                   feeds_extra='poll_every = "5m"\nbacklog = 1')
    never = feed(bot)
    assert never["next_poll"] == "2026-11-30T10:00:00+08:00"  # due at once
    assert never["last_status"] is None
    assert never["last_new_article"] is None

    bot.poll()
    clock.advance(minutes=2)
    polled = feed(bot)
    assert polled["next_poll"] == "2026-11-30T10:05:00+08:00"
    assert polled["last_status"] == "ok"
    assert polled["last_reason"] == "3 entries, 3 new, 1 queued"
    assert polled["last_polled_at"] == "2026-11-30T10:00:00+08:00"
    assert polled["last_new_article_at"] == "2026-11-30T10:00:00+08:00"
    assert polled["last_new_article"] == {
        "title": "Berita nomor 40003: Pemkab Kutim & DPRD bahas anggaran",
        "link": items[0].url, "post_id": 3}

    server.routes["/feed/"] = Route(body=b"", status=503, content_type="text/plain")
    clock.advance(minutes=3)
    bot.poll()
    failing = feed(bot)
    assert failing["last_status"] == "error"
    assert "503" in str(failing["last_reason"])
    assert failing["failing_since"] == "2026-11-30T10:05:00+08:00"
    assert failing["last_new_article_at"] == "2026-11-30T10:00:00+08:00"


def test_cron_feed_shows_the_crontabs_next_fire_time_in_wita(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 28, 23, 0))  # a Saturday night
    bot = make_bot(tmp_path, clock, feeds_extra='cron = "*/10 6-22 * * mon-fri"')
    shown = feed(bot)
    assert shown["next_poll"] == "2026-11-30T06:00:00+08:00"
    assert shown["schedule"] == "cron */10 6-22 * * mon-fri"


# -- accounts ----------------------------------------------------------------------------


def test_active_account_shows_next_slot_queue_and_posts_today(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(
        windows=["06:00-22:00"], min_gap="20m", daily_cap=2))
    for n in (1, 2, 3):
        add_post(bot, n)
    fresh = account(bot)
    assert fresh["state"] == "active"
    assert fresh["until"] is None
    assert fresh["reason"] == ""
    assert fresh["next_slot"] == "2026-11-30T10:00:00+08:00"
    assert (fresh["queued"], fresh["posted_today"], fresh["daily_cap"]) == (3, 0, 2)

    bot.publish()
    spaced = account(bot)
    assert spaced["next_slot"] == "2026-11-30T10:20:00+08:00"
    assert str(spaced["waiting_for"]).startswith("min_gap 20m")
    assert (spaced["queued"], spaced["posted_today"]) == (2, 1)

    clock.set(wita(2026, 11, 30, 10, 20))
    bot.publish()
    capped = account(bot)
    assert capped["next_slot"] == "2026-12-01T06:00:00+08:00"
    assert capped["waiting_for"] == "daily_cap 2 reached for 2026-11-30"
    assert (capped["queued"], capped["posted_today"]) == (1, 2)

    clock.set(wita(2026, 12, 1, 5, 0))
    night = account(bot)
    assert night["posted_today"] == 0  # a new day in WITA
    assert night["next_slot"] == "2026-12-01T06:00:00+08:00"
    assert str(night["waiting_for"]).startswith("outside posting windows 06:00-22:00")


def test_cooldown_account_shows_until_reason_and_a_slot_after_it(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 19, 0))
    publisher = scripted(tmp_path, RateLimited("Please wait a few minutes before you try again",
                                               cooldown=timedelta(hours=4)))
    bot = make_bot(tmp_path, clock, publisher=publisher,
                   schedule=schedule_toml(windows=["06:00-22:00"]))
    add_post(bot, 1)
    bot.publish()
    cooling = account(bot)
    assert cooling["state"] == "cooldown"
    assert cooling["until"] == "2026-11-30T23:00:00+08:00"
    assert "Please wait a few minutes" in str(cooling["reason"])
    # The cooldown ends at 23:00, outside the window: the slot is the next opening.
    assert cooling["next_slot"] == "2026-12-01T06:00:00+08:00"
    assert cooling["queued"] == 1

    clock.set(wita(2026, 12, 1, 6, 0))
    assert account(bot)["state"] == "active"


def test_stopped_account_shows_its_reason_and_no_slot(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    publisher = scripted(tmp_path, NeedsHuman("challenge_required: verify it is you"))
    bot = make_bot(tmp_path, clock, publisher=publisher)
    add_post(bot, 1)
    bot.publish()
    stopped = account(bot)
    assert stopped["state"] == "stopped"
    assert "challenge_required" in str(stopped["reason"])
    assert "bot login --account editorialkaltim" in str(stopped["reason"])
    assert stopped["next_slot"] is None
    assert stopped["until"] is None
    alerts: list[dict[str, object]] = bot.status()["alerts"]
    assert [a["key"] for a in alerts] == ["account:editorialkaltim:stopped"]


def test_next_slot_follows_a_priority_post_at_the_head_of_the_queue(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(
        min_gap="1h", more='[[schedule.priority]]\ncategories = ["Breaking News"]\n'))
    add_post(bot, 1)
    bot.publish()
    add_post(bot, 2)
    assert account(bot)["next_slot"] == "2026-11-30T11:00:00+08:00"
    add_post(bot, 3, categories=("Breaking News",))
    head = account(bot)
    assert head["next_slot"] == "2026-11-30T10:00:00+08:00"  # it may skip min_gap
    assert head["next_post"] == {"id": 3, "title": "Berita 3", "priority": 1}


# -- the command ---------------------------------------------------------------------------


def test_status_command_json_has_the_documented_shape(tmp_path: Path,
                                                      server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(2, newest=datetime.now(UTC))))
    clock = FakeClock(datetime.now(UTC))
    bot = make_bot(tmp_path, clock, feed_url=server.url("/feed/"), feeds_extra="backlog = 1")
    bot.poll()
    bot.close()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "status",
                                      "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["timezone"] == "Asia/Makassar"
    (feed_row,) = data["feeds"]
    assert {"name", "next_poll", "last_status", "last_reason", "last_polled_at",
            "last_new_article_at", "last_new_article"} <= set(feed_row)
    assert feed_row["name"] == "utama"
    assert feed_row["last_status"] == "ok"
    (account_row,) = data["accounts"]
    assert {"name", "state", "until", "reason", "next_slot", "queued", "posted_today",
            "daily_cap"} <= set(account_row)
    assert account_row["name"] == "editorialkaltim"
    assert (account_row["state"], account_row["queued"], account_row["daily_cap"]) == (
        "active", 1, 100)
    for moment in (feed_row["next_poll"], account_row["next_slot"], data["now"]):
        assert datetime.fromisoformat(moment).utcoffset() == timedelta(hours=8)


def test_status_command_table_says_the_same_in_words(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    publisher = scripted(tmp_path, RateLimited("feedback_required", cooldown=timedelta(hours=2)))
    bot = make_bot(tmp_path, clock, publisher=publisher)
    add_post(bot, 1)
    bot.publish()
    text = format_status(bot.status())
    assert "utama (every 5m): next poll" in text
    assert "editorialkaltim (outbox): cooldown until" in text
    assert "RateLimited: feedback_required" in text
    assert "queued 1, pending approval 0, failed 0; posted today 0/100" in text
    bot.close()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "status"],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert "editorialkaltim (outbox): cooldown until" in result.stdout
    assert "ALERT since" in result.stdout
