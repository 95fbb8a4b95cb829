"""End to end: feed → cards → the publishing service → the real Instagram publisher →
instagrapi → the emulator. Each of Instagram's answers ends in the right status,
cooldown or stop, and nothing is posted twice."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.captions import link_with_utm
from bot.config import load_config
from bot.core import Bot
from bot.models import AccountState, Post, Status, StoryStatus
from bot.store import PostFilter
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import FEEDBACK_REQUIRED, LOGIN_REQUIRED, Emulator, Fault, challenge_body
from tests.igkit import ACCOUNT, USERNAME, log_in

CONFIGURE = "/api/v1/media/configure/"
STORY = "/api/v1/media/configure_to_story/"
RUPLOAD = "/rupload_igphoto/"


class Clock:
    """A clock the test moves by hand, starting now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    """The bot, its clock and the emulator, with three queued, rendered posts."""

    bot: Bot
    clock: Clock
    emulator: Emulator

    def posts(self) -> list[Post]:
        return sorted(self.bot.posts(PostFilter(limit=None)), key=lambda p: p.id)



def _article(n: int, now: datetime) -> Item:
    return Item(post_id=40000 + n, title=f"Pemkab Kutim bahas anggaran tahap {n}",
                slug=f"pemkab-kutim-anggaran-{n}", published=now - timedelta(minutes=60 - n))


def _world(tmp_path: Path, data_dir: Path, server: FeedServer, emulator: Emulator, *,
           story: bool) -> World:
    clock = Clock()
    server.routes["/feed/"] = Route(body=rss([_article(n, clock.now) for n in (3, 2, 1)]))
    path = tmp_path / "bot.toml"
    path.write_text(f"""
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{server.url('/feed/')}"
accounts = ["{ACCOUNT}"]
backlog = 3

[[accounts]]
name = "{ACCOUNT}"
publisher = "instagram"
story = {'true' if story else 'false'}

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 100
max_age = "3650d"

[fetch]
timeout = "2s"
allow_private_addresses = true

[publish]
max_attempts = 3
retry_backoff = "1m"
publishing_grace = "10s"
cooldown = "6h"
call_timeout = "5s"
""", encoding="utf-8")
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock)
    log_in(bot.store, emulator)
    bot.poll()
    return World(bot, clock, emulator)


@pytest.fixture
def world(tmp_path: Path, data_dir: Path, server: FeedServer,
          emulator: Emulator) -> Iterator[World]:
    made = _world(tmp_path, data_dir, server, emulator, story=False)
    yield made
    made.bot.close()


@pytest.fixture
def story_world(tmp_path: Path, data_dir: Path, server: FeedServer,
                emulator: Emulator) -> Iterator[World]:
    made = _world(tmp_path, data_dir, server, emulator, story=True)
    yield made
    made.bot.close()


def test_queued_posts_reach_instagram_as_rendered(story_world: World) -> None:
    world = story_world

    outcomes = world.bot.publish()

    assert [o.status for o in outcomes] == ["posted"] * 3
    feed, stories = world.emulator.feed(), world.emulator.stories()
    assert len(feed) == len(stories) == 3
    for post in world.posts():
        [landed] = [p for p in feed if p.pk == post.media_id]
        assert landed.caption == post.caption
        assert landed.alt_text == post.alt_text
        assert post.permalink == f"https://www.instagram.com/p/{landed.code}/"
        assert post.shortcode == landed.code
        assert post.story_status == StoryStatus.POSTED
        [story] = [s for s in stories if s.pk == post.story_media_id]
        utm = world.bot.config.caption.utm
        assert story.links == [link_with_utm(post.link, utm)]
        assert "utm_source=instagram" in story.links[0]


@pytest.mark.parametrize(("fault", "post_status", "account_state"), [
    pytest.param(Fault(CONFIGURE, status=400, body=FEEDBACK_REQUIRED), Status.QUEUED,
                 AccountState.COOLDOWN, id="feedback_required-cools-down"),
    pytest.param(Fault(CONFIGURE, status=429, body={"status": "fail"}), Status.QUEUED,
                 AccountState.COOLDOWN, id="429-cools-down"),
    pytest.param(Fault(CONFIGURE, status=400, body=challenge_body()), Status.QUEUED,
                 AccountState.STOPPED, id="challenge-stops"),
    pytest.param(Fault(CONFIGURE, status=403, body=LOGIN_REQUIRED), Status.QUEUED,
                 AccountState.STOPPED, id="login_required-without-password-stops"),
    pytest.param(Fault(RUPLOAD, status=400, body={"debug_info": {"type": "ProcessingFailed"}}),
                 Status.FAILED, AccountState.ACTIVE, id="bad-image-fails-the-post"),
    pytest.param(Fault(RUPLOAD, status=503, body="busy"), Status.QUEUED, AccountState.ACTIVE,
                 id="503-backs-off"),
])
def test_each_error_class_ends_in_its_status(world: World, fault: Fault, post_status: Status,
                                             account_state: AccountState) -> None:
    first = world.bot.store.queued_posts(ACCOUNT)[0].id
    world.emulator.inject(fault)

    world.bot.publishing.publish_account(ACCOUNT, limit=1)

    post = world.bot.post(first)
    record = world.bot.store.account(ACCOUNT)
    assert post.status == post_status
    assert record.state == account_state
    assert world.emulator.feed() == []
    if account_state == AccountState.COOLDOWN:
        assert record.until == world.clock.now + timedelta(hours=6)
    if account_state == AccountState.STOPPED:
        assert f"bot login --account {ACCOUNT}" in record.reason
        assert [key for key, _, _ in world.bot.store.open_alerts()] == \
            [f"account:{ACCOUNT}:stopped"]
    if fault.status == 503:
        assert post.attempts == 1
        assert post.next_attempt_at is not None and post.next_attempt_at > world.clock.now


def test_a_connection_drop_after_configure_is_settled_by_the_exactly_once_check(
        world: World) -> None:
    first = world.bot.store.queued_posts(ACCOUNT)[0].id
    world.emulator.inject(Fault(CONFIGURE, kind="drop_after"))

    world.bot.publishing.publish_account(ACCOUNT, limit=1)
    assert world.bot.post(first).status == Status.PUBLISHING
    world.clock.advance(seconds=11)
    world.bot.publish()

    post = world.bot.post(first)
    [landed] = [p for p in world.emulator.feed() if p.pk == post.media_id]
    assert post.status == Status.POSTED
    assert post.reason == "found on the account after an interrupted upload"
    assert post.permalink == f"https://www.instagram.com/p/{landed.code}/"
    assert [p.status for p in world.posts()] == [Status.POSTED] * 3
    assert len(world.emulator.feed()) == 3


def test_an_ambiguous_configure_that_did_not_land_is_retried_once_checked(
        world: World) -> None:
    first = world.bot.store.queued_posts(ACCOUNT)[0].id
    world.emulator.inject(Fault(CONFIGURE, kind="drop_before", times=-1))

    world.bot.publishing.publish_account(ACCOUNT, limit=1)
    world.emulator.clear_faults()
    world.clock.advance(seconds=11)
    world.bot.publish()

    assert world.bot.post(first).status == Status.POSTED
    assert len(world.emulator.feed()) == 3
    assert world.emulator.count("/feed/user/") >= 1  # it looked before trying again


def test_a_failed_story_is_recorded_apart_and_never_reposts_anything(
        story_world: World) -> None:
    world = story_world
    world.emulator.inject(Fault(STORY, status=502, body="bad gateway"))

    world.bot.publishing.publish_account(ACCOUNT, limit=1)
    world.clock.advance(minutes=5)
    world.bot.publish()
    world.bot.recover()

    posts = world.posts()
    assert [p.status for p in posts] == [Status.POSTED] * 3
    assert sorted(p.story_status or "" for p in posts) == ["failed", "posted", "posted"]
    failed = next(p for p in posts if p.story_status == StoryStatus.FAILED)
    assert "at most once" in (failed.story_reason or "")
    assert len(world.emulator.feed()) == 3
    assert len(world.emulator.stories()) == 2


@pytest.mark.usefixtures("credentials")
def test_an_ended_session_is_renewed_once_and_publishing_goes_on(world: World) -> None:
    world.emulator.expire_sessions()

    outcomes = world.bot.publish()

    assert [o.status for o in outcomes] == ["posted"] * 3
    assert world.emulator.logins == [USERNAME]
    assert world.bot.store.account(ACCOUNT).state == AccountState.ACTIVE
