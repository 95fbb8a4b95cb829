"""The posting policy: windows, min_gap, the daily cap's local day, quiet days, max_age,
queue order, priority, approval, cooldowns and stops.

Time comes from a fake clock; nothing sleeps. Pure checks call bot.policy directly;
the rest go through the real Publishing service, a real SQLite store and the real
outbox publisher.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.cli import cli
from bot.config import ScheduleConfig, load_config
from bot.errors import NeedsHuman, RateLimited
from bot.models import AccountState, Status
from bot.policy import Bypass, Policy, is_expired, next_slot, verdict
from bot.units import Window
from tests.feedkit import FeedServer, Item, Route, rss, write_config
from tests.schedkit import (
    ACCOUNT,
    WITA,
    FakeClock,
    add_post,
    make_bot,
    posted,
    schedule_toml,
    scripted,
    titles,
    wita,
)

MONDAY = date(2026, 11, 30)


def policy(windows: list[str] | None = None, *, min_gap: str = "0s", daily_cap: int = 12,
           quiet_days: list[date] | None = None, tz: str = "Asia/Makassar") -> Policy:
    from zoneinfo import ZoneInfo

    schedule = ScheduleConfig.model_validate({
        "windows": windows if windows is not None else ["06:00-22:00"],
        "min_gap": min_gap, "daily_cap": daily_cap, "quiet_days": quiet_days or []})
    return Policy.from_config(schedule, ZoneInfo(tz))


def never_posted(_day: date) -> int:
    return 0


# -- windows -------------------------------------------------------------------------


@pytest.mark.parametrize(("windows", "local", "inside"), [
    (["06:00-22:00"], "06:00", True),
    (["06:00-22:00"], "21:59", True),
    (["06:00-22:00"], "22:00", False),  # the end is exclusive
    (["06:00-22:00"], "05:59", False),
    (["22:00-02:00"], "22:00", True),
    (["22:00-02:00"], "23:59", True),
    (["22:00-02:00"], "00:00", True),
    (["22:00-02:00"], "01:59", True),
    (["22:00-02:00"], "02:00", False),
    (["22:00-02:00"], "12:00", False),
    (["00:00-24:00"], "00:00", True),
    (["00:00-24:00"], "23:59", True),
    (["18:00-24:00"], "23:59", True),
    (["06:00-09:00", "17:00-20:00"], "12:00", False),
    (["06:00-09:00", "17:00-20:00"], "17:30", True),
])
def test_window_membership_including_windows_that_cross_midnight(
        windows: list[str], local: str, inside: bool) -> None:
    hour, minute = map(int, local.split(":"))
    moment = datetime(2026, 11, 30, hour, minute, tzinfo=WITA)
    assert policy(windows).in_window(moment) is inside


@pytest.mark.parametrize(("windows", "now", "slot"), [
    (["06:00-22:00"], wita(2026, 11, 30, 22, 30), wita(2026, 12, 1, 6, 0)),
    (["06:00-22:00"], wita(2026, 11, 30, 5, 0), wita(2026, 11, 30, 6, 0)),
    (["22:00-02:00"], wita(2026, 11, 30, 2, 0), wita(2026, 11, 30, 22, 0)),
    (["22:00-02:00"], wita(2026, 11, 30, 1, 30), wita(2026, 11, 30, 1, 30)),
    (["06:00-09:00", "17:00-20:00"], wita(2026, 11, 30, 10, 0), wita(2026, 11, 30, 17, 0)),
    (["06:00-09:00", "17:00-20:00"], wita(2026, 11, 30, 20, 0), wita(2026, 12, 1, 6, 0)),
])
def test_next_slot_outside_a_window_is_the_next_opening(
        windows: list[str], now: datetime, slot: datetime) -> None:
    found, reason = next_slot(policy(windows), now.astimezone(UTC), last_posted_at=None,
                              posted_on=never_posted)
    assert found == slot
    assert ("outside posting windows" in reason) is (slot != now)


@pytest.mark.parametrize(("utc_moment", "inside"), [
    (datetime(2026, 11, 29, 23, 0, tzinfo=UTC), True),   # 07:00 WITA
    (datetime(2026, 11, 30, 14, 30, tzinfo=UTC), False),  # 22:30 WITA
])
def test_windows_are_read_in_the_configured_timezone_not_utc(
        utc_moment: datetime, inside: bool) -> None:
    assert policy(["06:00-22:00"]).in_window(utc_moment) is inside
    assert policy(["06:00-22:00"], tz="UTC").in_window(utc_moment) is not inside


# -- min_gap, cap, quiet days: pure ----------------------------------------------------


@pytest.mark.parametrize(("now", "ok"), [
    (wita(2026, 11, 30, 10, 19, 59), False),
    (wita(2026, 11, 30, 10, 20, 0), True),
    (wita(2026, 11, 30, 11, 0, 0), True),
])
def test_min_gap_counts_from_the_previous_posted_at(now: datetime, ok: bool) -> None:
    decision = verdict(policy(min_gap="20m"), now, last_posted_at=wita(2026, 11, 30, 10, 0),
                       posted_on=never_posted)
    assert decision.ok is ok
    if not ok:
        assert decision.reason.startswith("min_gap 20m since the last post at 2026-11-30 10:00")
        assert decision.next_slot == wita(2026, 11, 30, 10, 20)


def test_min_gap_that_runs_past_the_window_waits_for_the_next_opening() -> None:
    slot, _ = next_slot(policy(["06:00-22:00"], min_gap="20m"), wita(2026, 11, 30, 21, 55),
                        last_posted_at=wita(2026, 11, 30, 21, 50), posted_on=never_posted)
    assert slot == wita(2026, 12, 1, 6, 0)


def test_quiet_day_is_a_local_date() -> None:
    quiet = policy(["00:00-24:00"], quiet_days=[date(2026, 12, 1)])
    # 00:30 WITA on the quiet day is still 30 November in UTC.
    moment = wita(2026, 12, 1, 0, 30)
    assert moment.astimezone(UTC).date() == date(2026, 11, 30)
    decision = verdict(quiet, moment, last_posted_at=None, posted_on=never_posted)
    assert not decision.ok
    assert decision.reason == "quiet day 2026-12-01"
    assert decision.next_slot == wita(2026, 12, 2, 0, 0)
    assert verdict(quiet, wita(2026, 11, 30, 23, 59), last_posted_at=None,
                   posted_on=never_posted).ok


@pytest.mark.parametrize(("windows", "cap", "problem"), [
    ([], 12, "no posting windows are configured"),
    (["06:00-22:00"], 0, "daily_cap is 0"),
])
def test_a_schedule_that_can_never_post_says_why(windows: list[str], cap: int,
                                                 problem: str) -> None:
    never = policy(windows, daily_cap=cap)
    assert problem in (never.never_posts() or "")
    slot, reason = next_slot(never, wita(2026, 11, 30, 12), last_posted_at=None,
                             posted_on=never_posted)
    assert slot is None
    assert problem in reason


@pytest.mark.parametrize(("age", "expired"), [
    (timedelta(hours=23, minutes=59), False),
    (timedelta(hours=24), False),
    (timedelta(hours=24, seconds=1), True),
])
def test_is_expired_after_max_age(age: timedelta, expired: bool) -> None:
    now = wita(2026, 11, 30, 12)
    assert is_expired(now - age, now - timedelta(days=5), now, timedelta(hours=24)) is expired
    # Without a publication date, the moment the bot first saw it counts.
    assert is_expired(None, now - age, now, timedelta(hours=24)) is expired


def test_force_bypasses_windows_quiet_days_gap_and_cap() -> None:
    strict = policy(["06:00-07:00"], min_gap="6h", daily_cap=1, quiet_days=[MONDAY])
    now = wita(2026, 11, 30, 23)
    assert verdict(strict, now, last_posted_at=now - timedelta(minutes=1),
                   posted_on=lambda _d: 5, bypass=Bypass.force()).ok


# -- through the publishing service ------------------------------------------------------


def test_daily_cap_counts_the_wita_day_not_the_utc_day(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 23, 30))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(daily_cap=1))
    for n in (1, 2, 3):
        add_post(bot, n)
    assert len(bot.publish()) == 1
    clock.set(wita(2026, 11, 30, 23, 50))
    assert bot.publish() == []  # the cap holds for the rest of 30 November WITA
    clock.set(wita(2026, 12, 1, 0, 30))
    assert len(bot.publish()) == 1  # a new WITA day, though the same UTC day
    first, second = posted(bot)
    assert first.posted_at is not None and second.posted_at is not None
    assert first.posted_at.date() == second.posted_at.date()  # both 30 Nov in UTC
    assert first.posted_at.astimezone(WITA).date() != second.posted_at.astimezone(WITA).date()


def test_daily_cap_holds_across_utc_midnight_within_one_wita_day(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 12, 1, 7, 0))  # 23:00 UTC on 30 November
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(daily_cap=1))
    add_post(bot, 1)
    add_post(bot, 2)
    assert len(bot.publish()) == 1
    clock.set(wita(2026, 12, 1, 9, 0))  # 01:00 UTC on 1 December: a new UTC day
    assert bot.publish() == []
    status = bot.store.post(bot.store.queued_posts(ACCOUNT)[0].id)
    assert status.status == Status.QUEUED


def test_min_gap_spaces_posts_from_the_previous_posted_at(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(min_gap="20m"))
    for n in (1, 2, 3):
        add_post(bot, n)
    outcomes = bot.publish()
    assert len(outcomes) == 1  # the second waits for min_gap even in one run
    clock.advance(minutes=19, seconds=59)
    assert bot.publish() == []
    clock.advance(seconds=1)
    assert len(bot.publish()) == 1
    first, second = posted(bot)
    assert first.posted_at and second.posted_at
    assert second.posted_at - first.posted_at == timedelta(minutes=20)


def test_quiet_day_holds_every_post_of_that_local_day(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 12, 1, 0, 30))
    bot = make_bot(tmp_path, clock,
                   schedule=schedule_toml(quiet_days=[date(2026, 12, 1)]))
    add_post(bot, 1)
    for hour in (0, 6, 12, 23):
        clock.set(wita(2026, 12, 1, hour, 30))
        assert bot.publish() == []
    clock.set(wita(2026, 12, 2, 0, 0))
    assert [o.status for o in bot.publish()] == ["posted"]


def test_per_account_schedule_overrides_the_global_one(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 23, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(windows=["06:00-22:00"]),
                   account_extra='[accounts.schedule]\nwindows = ["22:00-02:00"]\n'
                                 'daily_cap = 1\n')
    add_post(bot, 1)
    add_post(bot, 2)
    assert len(bot.publish()) == 1  # 23:00 is inside the account's own window
    clock.set(wita(2026, 12, 1, 0, 30))
    assert len(bot.publish()) == 1  # a new local day for its cap of 1
    clock.set(wita(2026, 12, 1, 12, 0))
    add_post(bot, 3)
    assert bot.publish() == []  # noon is inside [schedule] but not the account's window


def test_max_age_expires_a_stale_post_when_its_turn_comes(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 4, 0))
    bot = make_bot(tmp_path, clock,
                   schedule=schedule_toml(windows=["06:00-22:00"], max_age="24h"))
    stale = add_post(bot, 1, published=wita(2026, 11, 29, 5, 0))
    fresh = add_post(bot, 2, published=wita(2026, 11, 30, 3, 0))
    assert bot.publish() == []
    # Outside the window its turn has not come: it is not expired yet.
    assert bot.store.post(stale).status == Status.QUEUED
    clock.set(wita(2026, 11, 30, 6, 0))
    outcomes = bot.publish()
    # The run reports the expiry first, then the post that went out.
    assert [(o.post_id, o.status) for o in outcomes] == [(stale, Status.EXPIRED),
                                                         (fresh, Status.POSTED)]
    expired = bot.store.post(stale)
    assert expired.status == Status.EXPIRED
    assert expired.reason == ("older than max_age 1d when its turn came "
                              "(published 2026-11-29 05:00 WITA)")
    assert [e.to_status for e in bot.timeline(stale)][-1] == "expired"


def test_force_never_publishes_an_expired_post(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 12, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(max_age="1h"))
    stale = add_post(bot, 1, published=wita(2026, 11, 30, 10, 0))
    # Nothing goes out; the run reports the expiry.
    assert [(o.post_id, o.status) for o in bot.publish(force=True)] == [(stale, Status.EXPIRED)]
    assert bot.store.post(stale).status == Status.EXPIRED


def test_queue_goes_oldest_article_first(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 12, 0))
    bot = make_bot(tmp_path, clock)
    # Recorded in one order, published (on the site) in another.
    add_post(bot, 1, published=wita(2026, 11, 30, 11, 0))
    add_post(bot, 2, published=wita(2026, 11, 30, 9, 0))
    add_post(bot, 3, published=wita(2026, 11, 30, 10, 0))
    for _ in range(3):
        bot.publishing.publish_account(ACCOUNT, limit=1)
        clock.advance(minutes=1)
    assert titles(posted(bot)) == ["Berita 2", "Berita 3", "Berita 1"]


# -- priority ---------------------------------------------------------------------------

BREAKING = '[[schedule.priority]]\ncategories = ["Breaking News"]\nkeywords = ["banjir"]\n'


def test_priority_post_jumps_the_queue(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 12, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(more=BREAKING))
    add_post(bot, 1, published=wita(2026, 11, 30, 9, 0))
    add_post(bot, 2, published=wita(2026, 11, 30, 10, 0))
    add_post(bot, 3, published=wita(2026, 11, 30, 11, 0), categories=("Breaking News",))
    add_post(bot, 4, published=wita(2026, 11, 30, 11, 30),
             title="Banjir rendam Sangatta Utara")
    for _ in range(4):
        bot.publishing.publish_account(ACCOUNT, limit=1)
        clock.advance(minutes=1)
    assert titles(posted(bot)) == ["Berita 3", "Banjir rendam Sangatta Utara", "Berita 1",
                                   "Berita 2"]


@pytest.mark.parametrize(("rule", "situation", "goes_out"), [
    # bypass_min_gap defaults to true; the window and the cap hold unless configured.
    ("", "min_gap", True),
    ("bypass_min_gap = false\n", "min_gap", False),
    ("", "window", False),
    ("bypass_window = true\n", "window", True),
    ("", "cap", False),
    ("bypass_cap = true\n", "cap", True),
    ("", "quiet_day", False),
    ("bypass_quiet_days = true\n", "quiet_day", True),
])
def test_priority_bypasses_only_what_its_rule_allows(tmp_path: Path, rule: str,
                                                      situation: str, goes_out: bool) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(
        windows=["06:00-22:00"], min_gap="1h", daily_cap=2,
        quiet_days=[date(2026, 12, 1)], more=BREAKING + rule))
    add_post(bot, 1)
    assert len(bot.publish()) == 1
    if situation == "min_gap":
        clock.set(wita(2026, 11, 30, 10, 5))
    elif situation == "window":
        clock.set(wita(2026, 11, 30, 23, 0))
    elif situation == "cap":
        clock.set(wita(2026, 11, 30, 12, 0))
        add_post(bot, 2)
        assert len(bot.publish()) == 1  # the cap of 2 is now reached
        clock.set(wita(2026, 11, 30, 14, 0))
    else:
        clock.set(wita(2026, 12, 1, 12, 0))
    ordinary = add_post(bot, 3)
    urgent = add_post(bot, 4, categories=("Breaking News",))
    outcomes = bot.publish()
    assert [o.post_id for o in outcomes] == ([urgent] if goes_out else [])
    assert bot.store.post(ordinary).status == Status.QUEUED  # the rest of the queue waits


# -- approval ---------------------------------------------------------------------------


def _cli(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _log(config: Path) -> dict[str, dict[str, object]]:
    rows = json.loads(_cli(config, "log", "--format", "json", "--limit", "0"))
    return {str(row["title"]): row for row in rows}


def test_approval_holds_a_post_until_approved_and_skip_drops_it(
        tmp_path: Path, server: FeedServer) -> None:
    now = datetime.now(UTC)
    old = Item(post_id=1, title="Berita lama", slug="berita-lama",
               published=now - timedelta(hours=2))
    server.routes["/feed/"] = Route(body=rss([old]))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), schedule=schedule_toml(
        more='[schedule.approval]\ncategories = ["Hukum"]\nkeywords = ["korupsi"]\n'))
    _cli(config, "poll")  # the first poll records what is there as seen
    fresh = [
        Item(post_id=4, title="Dugaan korupsi dana desa", slug="korupsi",
             published=now - timedelta(minutes=3)),
        Item(post_id=3, title="Sidang perdana kasus lahan", slug="sidang",
             published=now - timedelta(minutes=4), categories=("Hukum",)),
        Item(post_id=2, title="Festival budaya Sangatta", slug="festival",
             published=now - timedelta(minutes=5)),
    ]
    server.routes["/feed/"] = Route(body=rss([*fresh, old]))
    _cli(config, "poll")
    posts = _log(config)
    assert posts["Festival budaya Sangatta"]["status"] == "queued"
    for held in ("Dugaan korupsi dana desa", "Sidang perdana kasus lahan"):
        assert posts[held]["status"] == "pending_approval"
        assert "needs approval" in str(posts[held]["reason"])

    _cli(config, "publish")
    posts = _log(config)
    assert posts["Festival budaya Sangatta"]["status"] == "posted"
    assert posts["Sidang perdana kasus lahan"]["status"] == "pending_approval"

    approve_id = posts["Sidang perdana kasus lahan"]["id"]
    skip_id = posts["Dugaan korupsi dana desa"]["id"]
    assert "queued" in _cli(config, "approve", str(approve_id), "--reason", "sudah dicek")
    assert "skipped" in _cli(config, "skip", str(skip_id))
    _cli(config, "publish")
    posts = _log(config)
    assert posts["Sidang perdana kasus lahan"]["status"] == "posted"
    assert posts["Dugaan korupsi dana desa"]["status"] == "skipped"
    outbox = sorted(p.name for p in (tmp_path / "var" / "outbox").glob("*.json"))
    assert len(outbox) == 2
    assert not any("korupsi" in name for name in outbox)


# -- cooldowns and stops -------------------------------------------------------------------


def test_cooldown_holds_even_forced_posts_then_resumes_with_an_event(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    publisher = scripted(tmp_path, RateLimited("Please wait a few minutes",
                                               cooldown=timedelta(hours=2)))
    bot = make_bot(tmp_path, clock, publisher=publisher)
    first = add_post(bot, 1)
    add_post(bot, 2)
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == ["queued"]
    record = bot.store.account(ACCOUNT)
    assert record.state == AccountState.COOLDOWN
    assert record.until == wita(2026, 11, 30, 12, 0)
    assert "Please wait a few minutes" in record.reason

    clock.set(wita(2026, 11, 30, 11, 59))
    assert bot.publish(force=True) == []
    assert publisher.calls == 1

    clock.set(wita(2026, 11, 30, 12, 0))
    outcomes = bot.publish()
    assert [o.post_id for o in outcomes][:1] == [first]
    assert bot.store.account(ACCOUNT).state == AccountState.ACTIVE
    resumed = [e for e in bot.store.events(kind="account", account=ACCOUNT)
               if e.to_status == "active"]
    assert [(e.from_status, e.reason, e.at) for e in resumed] == [
        ("cooldown", "cooldown ended", wita(2026, 11, 30, 12, 0))]


def test_cooldown_holds_the_cli_publish_force(tmp_path: Path) -> None:
    clock = FakeClock(datetime.now(UTC))
    bot = make_bot(tmp_path, clock)
    add_post(bot, 1)
    bot.store.set_account(ACCOUNT, clock(), state=AccountState.COOLDOWN,
                          until=clock() + timedelta(hours=3), reason="FeedbackRequired: slow")
    bot.close()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "publish",
                                      "--force"], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.strip() == "nothing published"
    assert "cooldown until" in result.stderr


def test_stopped_account_publishes_nothing_until_a_human_acts(tmp_path: Path) -> None:
    clock = FakeClock(wita(2026, 11, 30, 10, 0))
    publisher = scripted(tmp_path, NeedsHuman("challenge_required"))
    bot = make_bot(tmp_path, clock, publisher=publisher)
    add_post(bot, 1)
    add_post(bot, 2)
    bot.publish()
    record = bot.store.account(ACCOUNT)
    assert record.state == AccountState.STOPPED
    assert "challenge_required" in record.reason
    clock.advance(days=30)
    assert bot.publish(force=True) == []
    assert publisher.calls == 1
    assert bot.store.account(ACCOUNT).state == AccountState.STOPPED
    assert not posted(bot)


# -- the property: never outside a window ------------------------------------------------


@st.composite
def windows_strategy(draw: st.DrawFn) -> list[str]:
    count = draw(st.integers(min_value=1, max_value=3))
    result = []
    for _ in range(count):
        start = draw(st.integers(min_value=0, max_value=24 * 60 - 1))
        end = draw(st.integers(min_value=1, max_value=24 * 60))
        if end == start:  # an empty window is a config error, not a case
            end = start + 1
        result.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
    return result


def _inside(windows: list[str], local: datetime) -> bool:
    """An oracle written apart from bot.units: minutes since local midnight."""
    minute = local.hour * 60 + local.minute
    for text in windows:
        left, right = text.split("-")
        start = int(left[:2]) * 60 + int(left[3:])
        end = int(right[:2]) * 60 + int(right[3:])
        if (start < end and start <= minute < end) or (
                start > end and (minute >= start or minute < end)):
            return True
    return False


jumps = st.one_of(
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(minutes=30)),
    st.timedeltas(min_value=timedelta(minutes=30), max_value=timedelta(days=2)),
    st.timedeltas(min_value=timedelta(hours=-12), max_value=timedelta(0)),  # clock set back
    # To just before, at or just after the next opening or closing of a window, where
    # an off-by-one would show.
    st.tuples(st.integers(min_value=0, max_value=5),
              st.sampled_from([timedelta(seconds=-1), timedelta(0), timedelta(seconds=1)])),
)


def _edge_move(windows: list[str], now: datetime, index: int, offset: timedelta) -> timedelta:
    """The jump to the index-th window edge after ``now`` (local), plus ``offset``."""
    edges = sorted({edge.replace("24:00", "00:00") for w in windows for edge in w.split("-")})
    edge = edges[index % len(edges)]
    local = now.astimezone(WITA)
    target = local.replace(hour=int(edge[:2]), minute=int(edge[3:]), second=0, microsecond=0)
    if target <= local:
        target += timedelta(days=1)
    return target + offset - local


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
# The closing minute of a window, crossing midnight or not, is outside it.
@example(windows=["22:00-02:00"], start=datetime(2026, 11, 30, 21, 0),
         moves=[(0, timedelta(0))], min_gap="0s", cap=5, per_tick=None)
@example(windows=["06:00-22:00"], start=datetime(2026, 11, 30, 12, 0),
         moves=[(1, timedelta(0))], min_gap="0s", cap=5, per_tick=1)
@given(windows=windows_strategy(),
       start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
       moves=st.lists(jumps, min_size=1, max_size=30),
       min_gap=st.sampled_from(["0s", "5m", "20m", "2h"]),
       cap=st.integers(min_value=1, max_value=5),
       per_tick=st.sampled_from([1, None]))
def test_posts_never_go_out_outside_a_window_however_the_clock_moves(
        windows: list[str], start: datetime,
        moves: list[timedelta | tuple[int, timedelta]], min_gap: str, cap: int,
        per_tick: int | None) -> None:
    clock = FakeClock(start.replace(tzinfo=WITA))
    with tempfile.TemporaryDirectory() as directory:
        bot = make_bot(Path(directory), clock, schedule=schedule_toml(
            windows=windows, min_gap=min_gap, daily_cap=cap))
        try:
            for n in range(8):
                add_post(bot, n)
            for move in moves:
                if isinstance(move, tuple):
                    move = _edge_move(windows, clock(), *move)
                clock.advance(move)
                bot.publishing.publish_account(ACCOUNT, limit=per_tick)
            out = posted(bot)
            gap = load_config(Path(directory) / "bot.toml").schedule.min_gap
        finally:
            bot.close()
    for post in out:
        assert post.posted_at is not None
        local = post.posted_at.astimezone(WITA)
        assert _inside(windows, local), f"posted at {local:%H:%M} outside {windows}"
    per_day = Counter(p.posted_at.astimezone(WITA).date() for p in out if p.posted_at)
    assert all(count <= cap for count in per_day.values())
    times = [p.posted_at for p in out if p.posted_at]
    assert all(later - earlier >= gap for earlier, later in pairwise(times))


def test_window_oracle_agrees_with_window_parsing() -> None:
    for text in ("22:00-02:00", "06:00-22:00", "00:00-24:00"):
        window = Window.parse(text)
        for minute in range(0, 24 * 60, 7):
            local = datetime(2026, 11, 30, minute // 60, minute % 60, tzinfo=WITA)
            assert window.contains(local.time()) is _inside([text], local)
