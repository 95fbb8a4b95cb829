"""Instagram's error classes with the emulator, one after another on one account and
then mixed at random: each ends in the right post status, cooldown or stop, the bot
recovers the way the README says (backoff, cooldown end, relogin, ``bot login``), and
no article is ever on the account twice.

The bot runs with a clock the test moves; the publish step is driven one post per tick,
as the daemon's tick does.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.models import AccountState, Post, Status
from bot.publishers.instagram.session import import_session
from bot.store import PostFilter
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import (
    FEEDBACK_REQUIRED,
    LOGIN_REQUIRED,
    PLEASE_WAIT,
    RATE_LIMIT_ERROR,
    THROTTLED,
    Emulator,
    Fault,
    challenge_body,
)
from tests.igkit import ACCOUNT, USERNAME, log_in

CONFIGURE = "/api/v1/media/configure/"
RUPLOAD = "/rupload_igphoto/"
ARTICLES = 40


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    """A bot with ARTICLES queued posts for one Instagram account on the emulator."""

    bot: Bot
    clock: Clock
    emulator: Emulator
    config_path: Path
    tmp_path: Path

    def tick(self) -> None:
        """One publish tick: at most one post."""
        self.bot.publishing.publish_account(ACCOUNT, limit=1)

    def tick_until(self, done: Callable[[], bool], *, step: timedelta,
                   bound: timedelta) -> None:
        """Ticks ``step`` apart until ``done()``; fails past ``bound`` of clock time."""
        end = self.clock.now + bound
        while not done():
            assert self.clock.now < end, f"not done within {bound}"
            self.clock.now += step
            self.tick()

    def post(self, post_id: int) -> Post:
        return self.bot.post(post_id)

    def head(self) -> Post:
        """The post the next tick takes."""
        return self.bot.store.queued_posts(ACCOUNT, limit=1)[0]

    def state(self) -> AccountState:
        return self.bot.store.account(ACCOUNT).state

    def bot_login_import(self) -> None:
        """``bot login --import`` from another process: a fresh session, saved."""
        other = Bot(load_config(self.config_path), data_dir=self.bot.data_dir,
                    clock=self.clock)
        try:
            session = self.emulator.write_session_file(self.tmp_path / "session.json",
                                                       USERNAME)
            import_session(other.config.account(ACCOUNT), session, config=other.config,
                           store=other.store, clock=self.clock)
        finally:
            other.close()

    def per_article(self) -> Counter[str]:
        posts = self.bot.posts(PostFilter(limit=None))
        return Counter(next(p.link for p in posts if p.link in media.caption)
                       for media in self.emulator.feed())


@pytest.fixture
def world(tmp_path: Path, data_dir: Path, server: FeedServer, emulator: Emulator,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("IG_USERNAME", USERNAME)
    monkeypatch.setenv("IG_PASSWORD", emulator.accounts[USERNAME].password)
    clock = Clock()
    server.routes["/feed/"] = Route(body=rss([
        Item(post_id=44000 + n, title=f"Kutim hari ini, laporan nomor {n}",
             slug=f"kutim-hari-ini-{n}", published=clock.now - timedelta(minutes=n),
             link=server.url(f"/2026/kutim-hari-ini-{n}/"))
        for n in range(ARTICLES)]))
    path = tmp_path / "bot.toml"
    path.write_text(f"""
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{server.url('/feed/')}"
accounts = ["{ACCOUNT}"]
backlog = {ARTICLES}

[[accounts]]
name = "{ACCOUNT}"
publisher = "instagram"

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 1000
max_age = "3650d"

[fetch]
timeout = "2s"
allow_private_addresses = true

[publish]
max_attempts = 3
retry_backoff = "1m"
retry_backoff_max = "4m"
publishing_grace = "10s"
cooldown = "6h"
call_timeout = "5s"
""", encoding="utf-8")
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock)
    log_in(bot.store, emulator)
    bot.poll()
    assert len(bot.store.queued_posts(ACCOUNT)) == ARTICLES
    made = World(bot, clock, emulator, path, tmp_path)
    yield made
    bot.close()


MINUTE = timedelta(minutes=1)
# (name, faults, the faulted post's status right after, the account's state right after)
SEQUENCE: list[tuple[str, list[Fault], Status, AccountState]] = [
    ("503-on-upload", [Fault(RUPLOAD, status=503, body="<html>503</html>")],
     Status.QUEUED, AccountState.ACTIVE),
    ("drop-on-upload", [Fault(RUPLOAD, kind="drop_before", times=-1)],
     Status.QUEUED, AccountState.ACTIVE),
    ("500-on-configure-not-landed", [Fault(CONFIGURE, status=500, body="<html>500</html>")],
     Status.PUBLISHING, AccountState.ACTIVE),
    ("drop-after-configure-landed", [Fault(CONFIGURE, kind="drop_after")],
     Status.PUBLISHING, AccountState.ACTIVE),
    ("drop-before-configure", [Fault(CONFIGURE, kind="drop_before")],
     Status.PUBLISHING, AccountState.ACTIVE),
    ("empty-answer-to-configure", [Fault(CONFIGURE, status=200, body={})],
     Status.PUBLISHING, AccountState.ACTIVE),
    ("429-throttled", [Fault(CONFIGURE, status=429, body=THROTTLED)],
     Status.QUEUED, AccountState.COOLDOWN),
    ("feedback-required", [Fault(CONFIGURE, status=400, body=FEEDBACK_REQUIRED)],
     Status.QUEUED, AccountState.COOLDOWN),
    ("please-wait", [Fault(RUPLOAD, status=400, body=PLEASE_WAIT)],
     Status.QUEUED, AccountState.COOLDOWN),
    ("rate-limit-error", [Fault(CONFIGURE, status=400, body=RATE_LIMIT_ERROR)],
     Status.QUEUED, AccountState.COOLDOWN),
    ("403-action-block", [Fault(CONFIGURE, status=403, body={"message": "action blocked",
                                                            "status": "fail"})],
     Status.QUEUED, AccountState.COOLDOWN),
    ("login-required-relogin-works", [Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED)],
     Status.POSTED, AccountState.ACTIVE),
    ("login-required-again-after-relogin",
     [Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED, times=-1)],
     Status.QUEUED, AccountState.STOPPED),
    ("challenge-required", [Fault(CONFIGURE, status=400, body=challenge_body())],
     Status.QUEUED, AccountState.STOPPED),
    ("suspended", [Fault(CONFIGURE, status=400, body={
        **challenge_body(), "challenge": {"url": "https://www.instagram.com/accounts/suspended/",
                                          "api_path": "/accounts/suspended/"}})],
     Status.QUEUED, AccountState.STOPPED),
    ("bad-aspect-on-configure", [Fault(CONFIGURE, status=400, body={
        "message": "Uploaded image isn't in an allowed aspect ratio", "status": "fail"})],
     Status.FAILED, AccountState.ACTIVE),
    ("bad-image-on-upload", [Fault(RUPLOAD, status=400,
                                   body={"debug_info": {"type": "ProcessingFailed"}})],
     Status.FAILED, AccountState.ACTIVE),
    ("503-every-attempt", [Fault(RUPLOAD, status=503, body="<html>503</html>", times=-1)],
     Status.QUEUED, AccountState.ACTIVE),
]


def test_every_error_class_in_sequence_ends_right_and_posts_nothing_twice(
        world: World) -> None:
    seen: list[str] = []
    for name, faults, status, state in SEQUENCE:
        post = world.head()
        world.emulator.inject(*faults)
        world.tick()
        after = world.post(post.id)
        assert (after.status, world.state()) == (status, state), (name, after.reason)
        assert after.reason, name
        if name == "503-every-attempt":
            # Attempts run out: failed with the reason, after max_attempts tries.
            world.tick_until(lambda p=post: world.post(p.id).status == Status.FAILED,
                             step=MINUTE, bound=timedelta(minutes=30))
            assert world.post(post.id).attempts == 3
        world.emulator.clear_faults()
        if state == AccountState.COOLDOWN:
            until = world.bot.store.account(ACCOUNT).until
            assert until is not None and until - world.clock.now >= timedelta(hours=5)
            world.tick()  # in cooldown: nothing goes out
            assert world.post(post.id).status == Status.QUEUED
        if state == AccountState.STOPPED:
            world.clock.now += timedelta(hours=12)
            world.tick()  # a stop outlasts any clock: only `bot login` ends it
            assert world.post(post.id).status == Status.QUEUED
            assert world.state() == AccountState.STOPPED
            world.bot_login_import()
            assert world.state() == AccountState.ACTIVE
        # Recovery: ticks every 10 minutes until the post is settled (posted, or failed
        # when the fault was the post's own), within a cooldown's length.
        world.tick_until(
            lambda p=post: world.post(p.id).status in (Status.POSTED, Status.FAILED),
            step=timedelta(minutes=10), bound=timedelta(hours=7))
        settled = world.post(post.id)
        expected = Status.FAILED if status == Status.FAILED or name == "503-every-attempt" \
            else Status.POSTED
        assert settled.status == expected, (name, settled.reason)
        assert world.state() == AccountState.ACTIVE, name
        seen.append(name)
    # Then the rest goes out.
    world.tick_until(lambda: not world.bot.store.queued_posts(ACCOUNT),
                     step=MINUTE, bound=timedelta(hours=2))
    posts = world.bot.posts(PostFilter(limit=None))
    counts = Counter(p.status for p in posts)
    assert counts == {Status.POSTED: ARTICLES - 3, Status.FAILED: 3}
    assert set(world.per_article().values()) == {1}
    assert sum(world.per_article().values()) == ARTICLES - 3
    assert seen == [name for name, *_ in SEQUENCE]


MIXED: list[Callable[[], list[Fault]]] = [
    lambda: [Fault(RUPLOAD, status=503, body="x")],
    lambda: [Fault(RUPLOAD, kind="drop_before", times=2)],
    lambda: [Fault(CONFIGURE, status=500, body="x")],
    lambda: [Fault(CONFIGURE, status=502, body="x")],
    lambda: [Fault(CONFIGURE, kind="drop_after")],
    lambda: [Fault(CONFIGURE, kind="drop_before")],
    lambda: [Fault(CONFIGURE, status=200, body={})],
    lambda: [Fault(CONFIGURE, status=429, body=THROTTLED)],
    lambda: [Fault(CONFIGURE, status=400, body=FEEDBACK_REQUIRED)],
    lambda: [Fault("/feed/user/", status=500, body="x")],
    lambda: [Fault("/feed/user/", kind="drop_before")],
    lambda: [Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED)],
    lambda: [Fault(CONFIGURE, status=400, body=challenge_body())],
    lambda: [],
    lambda: [],
]


def test_mixed_faults_at_random_end_with_every_article_posted_once(world: World) -> None:
    seed = int(os.environ.get("INSTAGRAM_FAULTS_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    for _ in range(60):
        world.emulator.inject(*rng.choice(MIXED)())
        world.clock.now += timedelta(minutes=rng.choice([0, 1, 3, 10, 30]))
        world.tick()
        if world.state() == AccountState.STOPPED:
            world.emulator.clear_faults()
            world.bot_login_import()
    world.emulator.clear_faults()
    if world.state() == AccountState.STOPPED:
        world.bot_login_import()
    world.tick_until(lambda: not world.bot.store.queued_posts(ACCOUNT)
                     and not world.bot.store.posts_with_status(Status.PUBLISHING),
                     step=timedelta(minutes=5), bound=timedelta(days=2))
    posts = world.bot.posts(PostFilter(limit=None))
    per_article = world.per_article()
    failed = [p for p in posts if p.status != Status.POSTED]
    assert all(p.status == Status.FAILED and p.reason for p in failed), (seed, failed)
    assert set(per_article.values()) <= {1}, f"INSTAGRAM_FAULTS_SEED={seed}: duplicates"
    assert {p.link for p in posts if p.status == Status.POSTED} == set(per_article), seed


# issue 14, fault 3: Instagram accepted a post up to minutes after the configure was
# answered with an error. With the defaults (publishing_grace 10s, settle_after 1m, 3m,
# 10m) the bot checks the account at each of those times, and uploads again only when
# the post is missing at the last one. The emulator's clock follows the test's, so the
# 200 s case takes no wall time. Meanwhile the other posts keep going out (min_gap is
# 0 here): at 10 minutes the post was past the 20 most recent media, and the check
# read that as "not posted" until it learnt to read back to the upload's time.
SETTLE = (10, 60, 180, 600)


@pytest.mark.parametrize("late", [17, 60, 200])
def test_a_configure_that_lands_late_is_found_and_never_posted_twice(world: World,
                                                                    late: int) -> None:
    world.emulator.clock = lambda: world.clock.now.timestamp()
    post = world.head()
    world.emulator.inject(Fault(CONFIGURE, status=500, lands_after=late,
                                body={"message": "Transcode error", "status": "fail"}))
    world.tick()
    sent = world.clock.now
    assert world.post(post.id).status == Status.PUBLISHING
    assert world.emulator.feed()[-1].caption == post.caption  # it did land, later

    world.tick_until(lambda: world.post(post.id).status != Status.PUBLISHING,
                     step=timedelta(seconds=10), bound=timedelta(minutes=15))

    found = world.post(post.id)
    assert found.status == Status.POSTED, found.reason
    assert found.reason == "found on the account after an interrupted upload"
    assert found.attempts == 1
    due = next(t for t in SETTLE if t >= late)  # the first check that can see it
    assert timedelta(seconds=late) <= found.updated_at - sent <= timedelta(seconds=due + 20)
    world.tick_until(lambda: not world.bot.store.queued_posts(ACCOUNT),
                     step=MINUTE, bound=timedelta(hours=1))
    assert set(world.per_article().values()) == {1}
    assert sum(world.per_article().values()) == ARTICLES
