"""The publishing service: error policy by class, exactly-once, stories at most once.

The Instagram side is replaced by ``ScriptedPublisher``, a fake at the boundary that
implements the real Publisher interface (tests/test_instagram*.py run the real
instagrapi client against the emulator). Time comes from a fake clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.errors import (
    Ambiguous,
    InvalidAction,
    NeedsHuman,
    PostRejected,
    PublishError,
    RateLimited,
    SessionExpired,
    Transient,
)
from bot.models import AccountState, Status, StoryStatus, UploadStage
from bot.pipeline.publish import HOSTNAME
from bot.publishers.base import PostFiles, Progress, Published, Publisher
from tests.feedkit import FeedServer, Item, Route, rss, write_config

# The store under these steps is SQLite, then PostgreSQL (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

T0 = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 WITA


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


class ScriptedPublisher(Publisher):
    """Publishes into a list; raises the scripted errors first, in order."""

    name = "scripted"

    def __init__(self) -> None:
        self.landed: list[PostFiles] = []
        self.stories: list[PostFiles] = []
        self.errors: list[PublishError] = []
        self.story_errors: list[PublishError] = []
        self.land_before_error = False  # e.g. a timeout after configure succeeded
        self.checks = 0
        self.check_errors: list[PublishError] = []
        self.newer: list[int] = []  # what each exactly-once check was told

    def publish(self, files: PostFiles, progress: Progress | None = None) -> Published:
        if progress is not None:
            progress(UploadStage.UPLOADED)
            progress(UploadStage.CONFIGURE_SENT)
        if self.errors:
            error = self.errors.pop(0)
            if self.land_before_error:
                self.landed.append(files)
            raise error
        self.landed.append(files)
        return Published(media_id=f"m{files.post_id}", permalink=f"https://ig/p/{files.post_id}",
                         shortcode=f"c{files.post_id}")

    def publish_story(self, files: PostFiles) -> Published:
        if self.story_errors:
            raise self.story_errors.pop(0)
        self.stories.append(files)
        return Published(media_id=f"s{files.post_id}", permalink="")

    def find_published(self, files: PostFiles, since: datetime | None = None, *,
                       newer: int = 0) -> Published | None:
        self.checks += 1
        self.newer.append(newer)
        if self.check_errors:
            raise self.check_errors.pop(0)
        for landed in self.landed:
            if landed.link == files.link:
                return Published(media_id=f"m{files.post_id}", permalink="https://ig/p/found")
        return None


def article(n: int) -> Item:
    return Item(post_id=n, title=f"Berita {n}", slug=f"berita-{n}",
                published=T0 - timedelta(minutes=100 - n))


@pytest.fixture
def setup(tmp_path: Path, data_dir: Path, server: FeedServer
          ) -> Iterator[tuple[Bot, ScriptedPublisher, Clock]]:
    server.routes["/feed/"] = Route(body=rss([article(3), article(2), article(1)]))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 3",
                 account_extra="story = true",
                 extra='[publish]\nmax_attempts = 3\nretry_backoff = "1m"\n'
                       'publishing_grace = "10s"\ncooldown = "6h"\n')
    clock = Clock()
    fake = ScriptedPublisher()
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock,
              publishers={"editorialkaltim": fake})
    bot.poll()
    yield bot, fake, clock
    bot.close()


def first_queued(bot: Bot) -> int:
    return bot.store.queued_posts("editorialkaltim")[0].id


def ambiguous_upload(bot: Bot, fake: ScriptedPublisher,
                     error: str = "HTTP 502 from media/configure/") -> int:
    """The first queued post's upload ends ambiguous, as Instagram's may (posts can
    land minutes late); returns the post's id."""
    fake.lands_late = True
    post_id = first_queued(bot)
    fake.errors = [Ambiguous(error)]
    bot.publishing.publish_account("editorialkaltim", limit=1)
    return post_id


def test_posts_and_stories_are_recorded(setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == ["posted"] * 3
    post = bot.post(outcomes[0].post_id)
    assert (post.media_id, post.shortcode, post.permalink) == (
        f"m{post.id}", f"c{post.id}", f"https://ig/p/{post.id}")
    assert post.story_status == StoryStatus.POSTED
    assert len(fake.stories) == 3
    assert "utm_source=instagram" in fake.landed[0].link


def test_cards_lost_in_a_redeploy_are_drawn_again_not_failed(
        setup: tuple[Bot, ScriptedPublisher, Clock], data_dir: Path) -> None:
    """A PaaS redeploy empties the disk; the store (PostgreSQL there) keeps the queue."""
    import shutil

    bot, fake, _ = setup
    renders = {p.id: len([e for e in bot.timeline(p.id) if e.kind == "render"])
               for p in bot.store.queued_posts("editorialkaltim")}
    shutil.rmtree(data_dir / "cards")
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == ["posted"] * 3
    for landed in fake.landed + fake.stories:
        assert landed.card.is_file()
    for post_id, count in renders.items():
        assert len([e for e in bot.timeline(post_id) if e.kind == "render"]) == count + 1
        assert bot.post(post_id).attempts == 1


def test_transient_errors_back_off_then_fail(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = first_queued(bot)
    fake.errors = [Transient("HTTP 503")] * 3
    assert bot.publishing.publish_account("editorialkaltim", limit=1)[0].status == "queued"
    post = bot.post(post_id)
    assert post.attempts == 1 and post.next_attempt_at is not None
    assert timedelta(seconds=30) <= post.next_attempt_at - clock.now <= timedelta(minutes=1)
    assert post_id not in [p.id for p in bot.store.queued_posts("editorialkaltim")
                           if bot.publishing.next_due("editorialkaltim", clock.now,
                                                      force=False, actor="t") == p]
    clock.now = post.next_attempt_at
    bot.publishing.publish_post(bot.post(post_id), actor="test")
    clock.now = bot.post(post_id).next_attempt_at  # type: ignore[assignment]
    outcome = bot.publishing.publish_post(bot.post(post_id), actor="test")
    assert outcome.status == "failed"
    failed = bot.post(post_id)
    assert failed.status == Status.FAILED
    assert "gave up after 3 attempts: Transient: HTTP 503" in failed.reason
    alerts = bot.store.events(kind="alert")
    assert len(alerts) == 1 and alerts[0].post_id == post_id


def test_rate_limit_cools_the_account_down_even_for_force(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    fake.errors = [RateLimited("PleaseWaitFewMinutes: Please wait a few minutes")]
    outcomes = bot.publish()
    assert [o.status for o in outcomes] == ["queued"]
    record = bot.store.account("editorialkaltim")
    assert record.state == AccountState.COOLDOWN
    assert record.until == clock.now + timedelta(hours=6)
    assert bot.publish(force=True) == []
    clock.advance(hours=6, seconds=1)
    assert [o.status for o in bot.publish()] == ["posted"] * 3
    assert bot.store.account("editorialkaltim").state == AccountState.ACTIVE


@pytest.mark.parametrize("error", [NeedsHuman("ChallengeRequired: challenge_required"),
                                   SessionExpired("LoginRequired after relogin")])
def test_human_errors_stop_the_account_and_alert_once(
        setup: tuple[Bot, ScriptedPublisher, Clock], error: PublishError) -> None:
    bot, fake, clock = setup
    fake.errors = [error]
    bot.publish()
    record = bot.store.account("editorialkaltim")
    assert record.state == AccountState.STOPPED
    assert "bot login --account editorialkaltim" in record.reason
    for _ in range(5):
        clock.advance(minutes=1)
        assert bot.publish(force=True) == []
    assert len(bot.store.events(kind="alert")) == 1
    assert {p.status for p in bot.store.queued_posts("editorialkaltim")} == {Status.QUEUED}
    assert not fake.landed


def test_rejected_post_fails_and_the_queue_moves_on(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    fake.errors = [PostRejected("PhotoConfigureError: bad image")]
    first = bot.publish()
    assert [o.status for o in first] == ["failed"]
    assert [o.status for o in bot.publish()] == ["posted", "posted"]


def test_ambiguous_upload_that_landed_is_found_not_reposted(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = first_queued(bot)
    fake.errors = [Ambiguous("read timeout after configure")]
    fake.land_before_error = True
    assert bot.publishing.publish_account("editorialkaltim", limit=1)[0].status == "publishing"
    assert bot.post(post_id).status == Status.PUBLISHING
    # Inside the grace period nothing is checked: a late request may still land.
    clock.advance(seconds=5)
    bot.publishing.recover()
    assert fake.checks == 0
    clock.advance(seconds=6)
    bot.publishing.recover()
    post = bot.post(post_id)
    assert post.status == Status.POSTED
    assert post.reason == "found on the account after an interrupted upload"
    assert len(fake.landed) == 1


def test_ambiguous_upload_that_did_not_land_is_retried(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = first_queued(bot)
    fake.errors = [Ambiguous("HTTP 502 from media/configure/")]
    bot.publishing.publish_account("editorialkaltim", limit=1)
    clock.advance(seconds=11)
    bot.publish()
    assert bot.post(post_id).status == Status.POSTED
    assert len(fake.landed) == 3
    assert [f.post_id for f in fake.landed].count(post_id) == 1


def test_publishing_post_of_a_dead_process_is_settled_after_grace(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = first_queued(bot)
    bot.store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], actor="test",
                         at=clock.now, reason="uploading", publishing_at=clock.now,
                         publishing_by="this-host-is-gone:999999", attempts=1)
    # Another host's upload is given the whole call timeout before it is touched.
    clock.advance(seconds=30)
    assert bot.recover() == []
    clock.advance(minutes=5)
    outcomes = bot.recover()
    assert [o.status for o in outcomes] == ["queued"]
    bot.publish()
    assert [f.post_id for f in fake.landed].count(post_id) == 1


def test_an_ambiguous_upload_is_checked_over_the_settle_window_before_a_new_upload(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = ambiguous_upload(bot, fake)
    start = clock.now
    # Checks at the grace (10 s), then 1, 3 and 10 minutes after the failure.
    for seconds, checks in ((9, 0), (11, 1), (59, 1), (61, 2), (181, 3), (599, 3)):
        clock.now = start + timedelta(seconds=seconds)
        bot.publishing.recover()
        assert (fake.checks, bot.post(post_id).status) == (checks, Status.PUBLISHING), seconds
    assert bot.post(post_id).settle_checks == 3
    assert "next check at" in bot.post(post_id).reason
    clock.now = start + timedelta(seconds=601)
    bot.publish()
    assert fake.checks == 4
    post = bot.post(post_id)
    assert post.status == Status.POSTED and post.attempts == 2
    assert [f.post_id for f in fake.landed].count(post_id) == 1
    requeued = [e.reason for e in bot.timeline(post_id) if e.to_status == "queued"][-1]
    assert "at 4 checks over 10m" in requeued


def test_a_check_that_cannot_answer_waits_a_minute_and_is_told_what_went_out_since(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    """A check that raises is not repeated at every tick (36 such posts, each reading
    ten pages a tick, held the soak's queue back); each check hears how many posts the
    bot made on the account since the upload, so it knows how deep to read."""
    bot, fake, clock = setup
    post_id = ambiguous_upload(bot, fake)
    start = clock.now
    fake.check_errors = [Transient("exactly-once check: still not back to the upload's time")]
    clock.now = start + timedelta(seconds=11)
    bot.publish()  # the check fails; the other two posts go out meanwhile
    assert fake.checks == 1 and len(fake.landed) == 2
    for seconds in (21, 41, 61):
        clock.now = start + timedelta(seconds=seconds)
        bot.publishing.recover()
        assert fake.checks == 1, seconds  # waiting out the minute
    clock.now = start + timedelta(seconds=72)
    bot.publishing.recover()
    assert fake.checks == 2 and fake.newer == [0, 2]
    assert bot.post(post_id).status == Status.PUBLISHING  # not there yet: next check later


def test_a_post_that_lands_during_the_settle_window_is_found_not_posted_again(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, clock = setup
    post_id = ambiguous_upload(bot, fake, "read timeout after configure")
    start = clock.now
    clock.now = start + timedelta(seconds=11)
    bot.publish()  # first check: not there yet; the other posts go out meanwhile
    assert bot.post(post_id).status == Status.PUBLISHING
    fake.landed.append(bot.publishing.files(bot.post(post_id)))  # it lands 17 s late
    clock.now = start + timedelta(seconds=61)
    bot.publish()
    post = bot.post(post_id)
    assert post.status == Status.POSTED
    assert post.reason == "found on the account after an interrupted upload"
    assert [f.post_id for f in fake.landed].count(post_id) == 1
    assert len(fake.landed) == 3


def test_the_stage_is_recorded_before_the_configure_goes_out(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    post_id = first_queued(bot)
    seen: list[UploadStage | None] = []

    def configure(files: PostFiles, progress: Progress | None = None) -> Published:
        assert bot.post(post_id).upload_stage == UploadStage.BEFORE_UPLOAD
        result = ScriptedPublisher.publish(fake, files, _Spy(progress, bot, post_id, seen))
        return result

    fake.publish = configure  # type: ignore[method-assign]
    bot.publishing.publish_account("editorialkaltim", limit=1)
    assert seen == [UploadStage.UPLOADED, UploadStage.CONFIGURE_SENT]
    assert bot.post(post_id).upload_stage == UploadStage.CONFIGURE_SENT


class _Spy:
    """Calls the real progress recorder, then reads what the store holds."""

    def __init__(self, inner: Progress | None, bot: Bot, post_id: int,
                 seen: list[UploadStage | None]) -> None:
        self.inner, self.bot, self.post_id, self.seen = inner, bot, post_id, seen

    def __call__(self, stage: UploadStage) -> None:
        assert self.inner is not None
        self.inner(stage)
        self.seen.append(self.bot.post(self.post_id).upload_stage)


@pytest.mark.parametrize("stage", [UploadStage.BEFORE_UPLOAD, UploadStage.UPLOADED])
def test_a_dead_process_that_never_sent_its_configure_is_retried_at_once(
        setup: tuple[Bot, ScriptedPublisher, Clock], stage: UploadStage) -> None:
    bot, fake, clock = setup
    fake.lands_late = True
    post_id = first_queued(bot)
    bot.store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], actor="test",
                         at=clock.now, reason="uploading", publishing_at=clock.now,
                         publishing_by=f"{HOSTNAME}:999999999", attempts=1,
                         upload_stage=stage.value, stage_at=clock.now)
    outcomes = bot.recover()  # no grace: nothing can land
    assert [o.status for o in outcomes] == ["queued"]
    assert fake.checks == 0
    post = bot.post(post_id)
    assert post.status == Status.QUEUED and "before its configure request went out" in post.reason
    bot.publish()
    assert bot.post(post_id).status == Status.POSTED
    assert [f.post_id for f in fake.landed].count(post_id) == 1


@pytest.mark.parametrize("stage", [UploadStage.CONFIGURE_SENT, None])
def test_a_dead_process_whose_configure_may_have_left_waits_for_the_checks(
        setup: tuple[Bot, ScriptedPublisher, Clock], stage: UploadStage | None) -> None:
    bot, fake, clock = setup
    fake.lands_late = True
    post_id = first_queued(bot)
    sent = clock.now + timedelta(seconds=3)  # the configure left 3 s after the mark
    bot.store.transition(post_id, Status.PUBLISHING, expect=[Status.QUEUED], actor="test",
                         at=clock.now, reason="uploading", publishing_at=clock.now,
                         publishing_by=f"{HOSTNAME}:999999999", attempts=1,
                         upload_stage=stage.value if stage else None, stage_at=sent)
    clock.now = sent + timedelta(seconds=9)
    assert bot.recover() == []
    assert fake.checks == 0
    clock.now = sent + timedelta(seconds=10)
    bot.recover()
    assert fake.checks == 1
    assert bot.post(post_id).status == Status.PUBLISHING  # the window goes on


def test_a_human_retry_checks_at_once_and_does_not_wait_for_the_window(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    post_id = ambiguous_upload(bot, fake)
    post = bot.retry(post_id, actor="cli:redaksi")
    assert fake.checks == 1
    assert post.status == Status.QUEUED
    assert "at once" in [e.reason for e in bot.timeline(post_id)
                         if e.to_status == "queued"][-2]
    bot.publish()
    assert bot.post(post_id).status == Status.POSTED
    assert [f.post_id for f in fake.landed].count(post_id) == 1


def test_story_is_at_most_once(setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    fake.story_errors = [Ambiguous("timeout on configure_to_story")]
    outcomes = bot.publish()
    first = bot.post(outcomes[0].post_id)
    assert first.status == Status.POSTED
    assert first.story_status == StoryStatus.FAILED
    assert "not retried" in (first.story_reason or "")
    bot.publish(force=True)
    bot.recover()
    assert [f.post_id for f in fake.stories].count(first.id) == 0
    assert [f.post_id for f in fake.landed].count(first.id) == 1


def test_retry_clears_backoff_and_skip_refuses_posted(
        setup: tuple[Bot, ScriptedPublisher, Clock]) -> None:
    bot, fake, _ = setup
    post_id = first_queued(bot)
    fake.errors = [Transient("connection reset")]
    bot.publishing.publish_account("editorialkaltim", limit=1)
    assert bot.post(post_id).next_attempt_at is not None
    bot.retry(post_id, reason="coba lagi", actor="cli:redaksi")
    post = bot.post(post_id)
    assert post.next_attempt_at is None and post.status == Status.QUEUED
    last = bot.timeline(post_id)[-1]
    assert (last.actor, last.reason) == ("cli:redaksi", "retry by cli:redaksi: coba lagi")
    bot.publish()
    with pytest.raises(InvalidAction, match="it is posted"):
        bot.skip(post_id)


def test_expired_posts_never_go_out(setup: tuple[Bot, ScriptedPublisher, Clock],
                                    tmp_path: Path) -> None:
    bot, fake, clock = setup
    clock.advance(days=4000)
    # Nothing goes out, and the run says which posts expired.
    outcomes = bot.publish(force=True)
    assert {o.status for o in outcomes} == {Status.EXPIRED}
    assert sorted(o.post_id for o in outcomes) == sorted(p.id for p in bot.posts())
    assert {p.status for p in bot.posts()} == {Status.EXPIRED}
    assert "older than max_age" in bot.posts()[0].reason
    assert not fake.landed


def test_outbox_publisher_writes_every_file(tmp_path: Path, data_dir: Path,
                                            server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=rss([article(1)]))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 1",
                 account_extra="story = true")
    bot = Bot(load_config(path), data_dir=data_dir)
    bot.poll()
    [outcome] = bot.publish()
    post = bot.post(outcome.post_id)
    stem = data_dir / "outbox" / f"{post.id}-berita-1"
    for suffix in (".jpg", ".story.jpg", ".txt", ".alt.txt", ".json"):
        assert Path(str(stem) + suffix).is_file(), suffix
    assert post.permalink == str(stem) + ".jpg"
    assert Path(str(stem) + ".txt").read_text(encoding="utf-8").strip() == post.caption
    # The exactly-once check for the outbox is the metadata file.
    assert bot.publisher("editorialkaltim").find_published(bot.publishing.files(post))
    bot.close()
