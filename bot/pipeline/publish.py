"""Publishing: which post goes next, the upload, the error policy and exactly-once.

Exactly once, across crashes, restarts and network faults:

- a post is marked ``publishing`` (with the uploading process) before the upload, and
  the upload's stage is recorded before each step that could make it land
  (``before_upload`` → ``uploaded`` → ``configure_sent``);
- after an ambiguous failure (a timeout or 5xx around configure) the post stays
  ``publishing``, and the publisher's ``find_published`` looks for it on the account
  over a settle window: at ``publishing_grace`` after the failure, then at each of
  ``settle_after`` (1, 3, 10 minutes). Found means ``posted``; only a post still
  missing at the last check is uploaded again, since a configure can land late;
- a ``publishing`` post left by a dead process is settled the same way if its
  configure may have gone out, and retried at once if it never got that far;
- a human's ``retry`` checks at once, and retries if the post is not there;
- stories are at most once: an ambiguous story is never retried.

A full disk (``DiskFull``) is transient and not the post's fault: the post waits
``disk_full_backoff`` without spending an attempt, and one alert stands until a write
succeeds again.

Errors by class (see bot.errors): ``Transient`` backs off and retries up to
``max_attempts``, then ``failed``; ``RateLimited`` puts the account in cooldown;
``SessionExpired`` and ``NeedsHuman`` stop the account and alert; ``PostRejected``
fails that post.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts import DISK_FULL, Alerter
from bot.articles import Article
from bot.captions import link_with_utm
from bot.config import Config
from bot.dates import local_time
from bot.errors import (
    Ambiguous,
    DiskFull,
    InvalidAction,
    NeedsHuman,
    PostRejected,
    PublishError,
    RateLimited,
    SessionExpired,
    Transient,
)
from bot.models import AccountState, Actor, Post, Status, StoryStatus, UploadStage
from bot.pipeline.decide import BACKLOG_REASON
from bot.pipeline.render import PostRendering
from bot.policy import Bypass, Policy, Verdict, is_expired, verdict
from bot.publishers import PostFiles, Published, PublisherPool
from bot.publishers.base import CHECK_SLACK
from bot.rules import priority_match
from bot.store import Store
from bot.units import format_duration

log = logging.getLogger(__name__)

HOSTNAME = socket.gethostname()
_QUEUE_PAGE = 100
# A failed exactly-once check (not an answer of "not posted") is tried again this much later.
CHECK_RETRY = timedelta(minutes=1)


def process_tag() -> str:
    """``host:pid`` of this process, recorded on a post while it uploads."""
    return f"{HOSTNAME}:{os.getpid()}"


@dataclass(frozen=True)
class Outcome:
    """What happened to one post in a publish run."""

    post_id: int
    account: str
    status: str
    reason: str


class Publishing:
    """Publishes due posts for the configured accounts."""

    def __init__(self, store: Store, *, config: Config, clock: Callable[[], datetime],
                 alerter: Alerter, publishers: PublisherPool,
                 rendering: PostRendering) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.alerter = alerter
        self.publishers = publishers
        self.rendering = rendering
        self.in_flight: set[int] = set()
        self.rng = random.Random()

    # -- choosing ----------------------------------------------------------------

    def policy(self, account: str) -> Policy:
        """The account's effective posting policy."""
        return Policy.from_config(self.config.schedule_for(account), self.config.tz)

    def posted_on(self, account: str) -> Callable[[date], int]:
        """A counter of the account's posts per local calendar day."""
        policy = self.policy(account)
        cache: dict[date, int] = {}

        def count(day: date) -> int:
            if day not in cache:
                start, end = policy.day_bounds(day)
                cache[day] = self.store.posted_count(account, start, end)
            return cache[day]

        return count

    def account_block(self, account: str, now: datetime, *, actor: str) -> str | None:
        """Why the account may not publish now (cooldown, stop), or None.

        An expired cooldown is lifted here, with an event.
        """
        store = self.store
        record = store.account(account)
        if record.state == AccountState.COOLDOWN:
            if record.until is not None and record.until > now:
                until = local_time(record.until, self.config.tz)
                return f"cooldown until {until}: {record.reason}"
            store.set_account(account, now, state=AccountState.ACTIVE, until=None, reason="")
            store.add_event(at=now, actor=actor, kind="account", account=account,
                            from_status="cooldown", to_status="active",
                            reason="cooldown ended")
            self.alerter.resolve(f"account:{account}:cooldown", "cooldown ended",
                                     actor=actor, account=account)
        elif record.state == AccountState.STOPPED:
            return f"stopped: {record.reason}"
        return None

    def bypass_for(self, post: Post) -> Bypass:
        """What the post may ignore: everything but cooldowns and stops after "post now",
        else what its priority rule (if it still matches one) allows."""
        if post.post_now_at is not None:
            return Bypass.force()
        if not post.priority:
            return Bypass()
        found = priority_match(self.store.article_by_id(post.article_id),
                               self.config.schedule.priority)
        return Bypass.from_rule(found[1]) if found else Bypass()

    def next_due(self, account: str, now: datetime, *, force: bool, actor: str,
                 expired: list[Outcome] | None = None) -> Post | None:
        """The next post that may go out now; a stale one is expired when its turn comes
        (and reported in ``expired``, when given).

        The queue is priority first, then oldest first. Priority posts are judged with
        their rule's bypass; the first ordinary post that may not go out ends the
        search, since everything behind it waits for the same slot.
        """
        store = self.store
        policy = self.policy(account)
        last = store.last_posted_at(account)
        posted_on = self.posted_on(account)
        plain: Verdict | None = None
        # The head of the queue almost always decides; read the whole queue only when
        # the first page is all in backoff or expired (a huge backlog stays O(n)).
        for page in (_QUEUE_PAGE, None):
            queue = store.queued_posts(account, limit=page)
            for post in queue:
                if post.next_attempt_at is not None and post.next_attempt_at > now:
                    continue
                bypass = Bypass.force() if force else self.bypass_for(post)
                if bypass == Bypass():
                    plain = plain or verdict(policy, now, last_posted_at=last,
                                             posted_on=posted_on)
                    if not plain.ok:
                        return None
                elif not verdict(policy, now, last_posted_at=last, posted_on=posted_on,
                                 bypass=bypass).ok:
                    continue
                if is_expired(post.published_at, post.created_at, now, policy.max_age):
                    reason = self._expiry_reason(post, policy.max_age)
                    if store.transition(post.id, Status.EXPIRED, expect=[Status.QUEUED],
                                        actor=actor, at=now, reason=reason):
                        log.info("expired: %s", reason,
                                 extra={"account": account, "post_id": post.id})
                        if expired is not None:
                            expired.append(Outcome(post.id, account, Status.EXPIRED, reason))
                    continue
                return post
            if page is None or len(queue) < page:
                break
        return None

    def post_now(self, post_id: int, *, reason: str, actor: str) -> Post:
        """Make a queued or failed post go out at the account's next publish tick.

        Like ``publish --force`` it ignores windows, quiet days, ``min_gap`` and
        ``daily_cap``, never a cooldown or a stop; the flag is stored on the post, so
        the worker (another process) honours it. A post older than ``max_age`` is
        refused: it would expire instead of going out.
        """
        store = self.store
        post = store.post(post_id)
        allowed = [Status.QUEUED, Status.FAILED]
        if post.status not in allowed:
            hint = "; approve it first" if post.status == Status.PENDING_APPROVAL else ""
            raise InvalidAction(f"cannot post {post_id} now: it is {post.status} (post now "
                                f"takes queued or failed posts){hint}")
        now = self.clock()
        policy = self.policy(post.account)
        if is_expired(post.published_at, post.created_at, now, policy.max_age):
            raise InvalidAction(
                f"post {post_id} is older than max_age {format_duration(policy.max_age)}: "
                "it would expire instead of going out")
        text = f"post now by {actor}" + (f": {reason}" if reason else "")
        if not store.transition(post_id, Status.QUEUED, expect=[post.status], actor=actor,
                                at=now, reason=text, post_now_at=now, next_attempt_at=None,
                                queued_at=post.queued_at or now,
                                attempts=0 if post.status == Status.FAILED else post.attempts):
            raise InvalidAction(f"post {post_id} changed status meanwhile; look again")
        log.info("%s", text, extra={"post_id": post_id})
        return self.rendering.ensure_rendered(store.post(post_id), actor=actor)

    def _expiry_reason(self, post: Post, max_age: timedelta) -> str:
        tz = self.config.tz
        seen = (f"published {local_time(post.published_at, tz)}" if post.published_at
                else f"first seen {local_time(post.created_at, tz)}")
        reason = (f"older than max_age {format_duration(max_age)} when its turn came "
                  f"({seen})")
        if post.reason.startswith(BACKLOG_REASON):
            # A new user's backlog = N on an older feed: say why nothing went out.
            reason += ("; it was queued by the feed's backlog at its first poll, and "
                       "backlog never overrides max_age: raise [schedule] max_age to post "
                       "older articles")
        return reason

    # -- running -----------------------------------------------------------------

    def publish_due(self, account: str | None = None, *, force: bool = False,
                    actor: str = Actor.SCHEDULER) -> list[Outcome]:
        """Publish what is due now for one account or all."""
        names = [account] if account else [a.name for a in self.config.accounts]
        outcomes: list[Outcome] = []
        for name in names:
            outcomes.extend(self.publish_account(name, force=force, actor=actor))
        return outcomes

    def publish_account(self, account: str, *, force: bool = False,
                        actor: str = Actor.SCHEDULER, limit: int | None = None) -> list[Outcome]:
        """Settle leftovers, then publish the account's due posts while policy allows."""
        self.config.account(account)
        self.recover(account, actor=actor)
        outcomes: list[Outcome] = []
        expired: list[Outcome] = []
        while limit is None or len(outcomes) < limit:
            now = self.clock()
            block = self.account_block(account, now, actor=actor)
            if block:
                log.info("not publishing: %s", block, extra={"account": account})
                break
            post = self.next_due(account, now, force=force, actor=actor, expired=expired)
            if post is None:
                break
            outcome = self.publish_post(post, actor=actor)
            outcomes.append(outcome)
            if outcome.status != Status.POSTED:
                break
        # Expiries first: they happened first, and a run that only expired posts says so.
        return expired + outcomes

    def publish_post(self, post: Post, *, actor: str) -> Outcome:
        """Upload one queued post, then its story; apply the error policy."""
        store = self.store
        post = self.rendering.ensure_rendered(post, actor=actor)
        if post.status != Status.QUEUED:
            return Outcome(post.id, post.account, post.status, post.reason)
        if not post.card_path or not Path(post.card_path).is_file():
            # The render is waiting for disk space (see PostRendering); not an attempt.
            return Outcome(post.id, post.account, post.status, "card not rendered yet")
        publisher = self.publishers.get(post.account)
        now = self.clock()
        if not store.transition(
            post.id, Status.PUBLISHING, expect=[Status.QUEUED], actor=actor, at=now,
            reason=f"uploading to {publisher.name} (attempt {post.attempts + 1})",
            publishing_at=now, publishing_by=process_tag(), attempts=post.attempts + 1,
            publisher=publisher.name, claim=True,
            upload_stage=UploadStage.BEFORE_UPLOAD.value, stage_at=now, settle_checks=0,
        ):
            current = store.post(post.id)
            return Outcome(post.id, post.account, current.status, "taken by another process")
        post = store.post(post.id)
        files = self.files(post)
        self.in_flight.add(post.id)
        try:
            log.info("publishing %r", post.title, extra={"account": post.account,
                                                          "post_id": post.id})
            result = publisher.publish(files, progress=self._recorder(post.id))
        except DiskFull as exc:
            return self._disk_full(post, exc, actor=actor)
        except Ambiguous as exc:
            return self._ambiguous(post, exc, actor=actor)
        except Transient as exc:
            return self._transient(post, exc, actor=actor)
        except RateLimited as exc:
            self._cooldown(post.account, exc, actor=actor, post_id=post.id)
            return self._requeue(post, f"account cooling down: {exc}", actor=actor)
        except (SessionExpired, NeedsHuman) as exc:
            self._stop(post.account, exc, actor=actor, post_id=post.id)
            return self._requeue(post, f"account stopped: {exc}", actor=actor)
        except PostRejected as exc:
            return self._fail(post, f"rejected: {exc}", actor=actor, exc=exc)
        finally:
            self.in_flight.discard(post.id)
        outcome = self._posted(post, result, actor=actor, reason=f"posted to {publisher.name}")
        self.alerter.resolve(DISK_FULL, "disk space is back: posts are written again",
                             actor=actor, account=post.account)
        self.publish_story(store.post(post.id), actor=actor)
        return outcome

    def _recorder(self, post_id: int) -> Callable[[UploadStage], None]:
        """Records how far the upload got, before the step that could make it land."""
        order = list(UploadStage)

        def record(stage: UploadStage) -> None:
            current = self.store.post(post_id).upload_stage
            if current is not None and order.index(current) >= order.index(stage):
                return  # a relogin repeats the upload; what may have been sent stays
            self.store.update_post(post_id, upload_stage=stage.value, stage_at=self.clock())

        return record

    def publish_story(self, post: Post, *, actor: str) -> None:
        """Post the story card once; an ambiguous story is never retried."""
        store = self.store
        if post.status != Status.POSTED or post.story_status != StoryStatus.PENDING:
            return
        if not post.story_path or not Path(post.story_path).is_file():
            store.story_transition(post.id, StoryStatus.FAILED, expect=[StoryStatus.PENDING],
                                   actor=actor, at=self.clock(), reason="story card missing")
            return
        now = self.clock()
        if not store.story_transition(post.id, StoryStatus.PUBLISHING,
                                      expect=[StoryStatus.PENDING], actor=actor, at=now,
                                      reason="uploading story"):
            return
        publisher = self.publishers.get(post.account)
        try:
            result = publisher.publish_story(self.files(post))
        except Ambiguous as exc:
            reason = f"story upload ambiguous, not retried (stories are at most once): {exc}"
        except PublishError as exc:
            if isinstance(exc, RateLimited):
                self._cooldown(post.account, exc, actor=actor, post_id=post.id)
            elif isinstance(exc, SessionExpired | NeedsHuman):
                self._stop(post.account, exc, actor=actor, post_id=post.id)
            reason = f"story failed: {type(exc).__name__}: {exc}"
        else:
            store.story_transition(post.id, StoryStatus.POSTED, expect=[StoryStatus.PUBLISHING],
                                   actor=actor, at=self.clock(), reason="story posted",
                                   story_media_id=result.media_id,
                                   story_posted_at=self.clock())
            return
        log.warning(reason, extra={"account": post.account, "post_id": post.id})
        store.story_transition(post.id, StoryStatus.FAILED, expect=[StoryStatus.PUBLISHING],
                               actor=actor, at=self.clock(), reason=reason)

    # -- exactly once ------------------------------------------------------------

    def recover(self, account: str | None = None, *,
                actor: str = Actor.STARTUP) -> list[Outcome]:
        """Settle ``publishing`` posts that no live upload owns (the exactly-once check).

        A post whose configure may have gone out is checked when its next check of the
        settle window is due; one whose upload never got that far is retried at once. A
        human's ``retry`` calls :meth:`settle` with ``at_once``.
        """
        outcomes = []
        for post in self.store.posts_with_status(Status.PUBLISHING, account):
            if post.id in self.in_flight or not self._abandoned(post):
                continue
            outcome: Outcome | None
            if not _may_have_landed(post):
                outcome = self._retry_unsent(post, actor=actor)
            elif self._check_due(post):
                outcome = self.settle(post, actor=actor)
            else:
                continue
            if outcome is not None:
                outcomes.append(outcome)
        for post in self.store.posts_with_open_story(account):
            if post.story_status == StoryStatus.PUBLISHING:
                self.store.story_transition(
                    post.id, StoryStatus.FAILED, expect=[StoryStatus.PUBLISHING], actor=actor,
                    at=self.clock(),
                    reason="story upload was interrupted; not retried (stories are at most once)")
            elif post.story_status == StoryStatus.PENDING and self.account_block(
                    post.account, self.clock(), actor=actor) is None:
                self.publish_story(post, actor=actor)
        return outcomes

    def settle(self, post: Post, *, actor: str, at_once: bool = False) -> Outcome | None:
        """Look for a ``publishing`` post on the account: posted if found, else retry.

        Not found is final only at the settle window's last check (or ``at_once``, a
        human's retry, or for a publisher whose posts cannot land late); before that
        the post waits for its next check, since a late configure may still land.
        Every outcome is guarded by the attempt that was checked: if the post was
        settled and claimed again meanwhile (by another process), it is left alone.
        """
        files = self.files(post)
        publisher = self.publishers.get(post.account)
        since = post.publishing_at
        newer = (self.store.posted_count(post.account, since - CHECK_SLACK)
                 if since is not None else 0)
        try:
            found = publisher.find_published(files, since=since, newer=newer)
        except PublishError as exc:
            # Not at every tick: a check that cannot answer now (the account unreadable,
            # or its feed too deep) would otherwise crowd out the queue behind it.
            retry_at = self.clock() + CHECK_RETRY
            log.warning("exactly-once check failed, will try again at %s: %s",
                        local_time(retry_at, self.config.tz), exc,
                        extra={"account": post.account, "post_id": post.id})
            self.store.update_post(post.id, next_attempt_at=retry_at)
            return None
        checked = {"attempts": post.attempts, "publishing_at": post.publishing_at}
        if found is not None:
            return self._posted(post, found, actor=actor, guard=checked,
                                reason="found on the account after an interrupted upload")
        schedule = self.config.publish.settle_schedule
        done = post.settle_checks + 1
        now = self.clock()
        if not at_once and publisher.lands_late and done < len(schedule):
            due = self._settle_from(post) + schedule[done]
            reason = (f"not on the account yet (check {done} of {len(schedule)}); a late "
                      f"configure may still land, next check at {local_time(due, self.config.tz)}")
            if not self.store.transition(
                    post.id, Status.PUBLISHING, expect=[Status.PUBLISHING], actor=actor,
                    at=now, reason=reason, settle_checks=done, publishing_by=None,
                    guard={**checked, "settle_checks": post.settle_checks}):
                return None
            log.info(reason, extra={"account": post.account, "post_id": post.id})
            return Outcome(post.id, post.account, Status.PUBLISHING, reason)
        how = ("at once" if at_once or not publisher.lands_late or len(schedule) == 1
               else f"at {len(schedule)} checks over {format_duration(schedule[-1])}")
        if post.attempts >= self.config.publish.max_attempts:
            return self._fail(post, f"not found on the account ({how}) after "
                              f"{post.attempts} interrupted attempts; giving up",
                              actor=actor, exc=None, guard=checked)
        if not self.store.transition(
                post.id, Status.QUEUED, expect=[Status.PUBLISHING], actor=actor, at=now,
                next_attempt_at=now, publishing_by=None, guard=checked,
                reason=f"not found on the account ({how}) after an interrupted upload; "
                       "will retry"):
            return None
        return Outcome(post.id, post.account, Status.QUEUED, "retry after interrupted upload")

    def _retry_unsent(self, post: Post, *, actor: str) -> Outcome:
        """A dead process's upload that never sent its configure: nothing can land."""
        stage = post.upload_stage.value if post.upload_stage else "unknown"
        reason = (f"the upload was interrupted before its configure request went out "
                  f"(stage {stage}); retrying at once")
        checked = {"attempts": post.attempts, "publishing_at": post.publishing_at}
        if post.attempts >= self.config.publish.max_attempts:
            return self._fail(post, f"{reason.split(';')[0]} after {post.attempts} attempts; "
                              "giving up", actor=actor, exc=None, guard=checked)
        now = self.clock()
        if not self.store.transition(post.id, Status.QUEUED, expect=[Status.PUBLISHING],
                                     actor=actor, at=now, next_attempt_at=now,
                                     publishing_by=None, reason=reason, guard=checked):
            return self._moved_on(post)
        log.info(reason, extra={"account": post.account, "post_id": post.id})
        return Outcome(post.id, post.account, Status.QUEUED, reason)

    def _abandoned(self, post: Post) -> bool:
        """Whether no live upload can still own this post."""
        if not post.publishing_by:
            return True
        now = self.clock()
        cfg = self.config.publish
        marked = post.publishing_at or post.updated_at
        host, _, pid = post.publishing_by.rpartition(":")
        alive = host == HOSTNAME and pid.isdigit() and _pid_alive(int(pid))
        ours = pid == str(os.getpid()) and host == HOSTNAME
        # Never settle a post another live process is still uploading; a reused pid
        # or a process on another host is bounded by the call timeout instead.
        if (alive and not ours) or host != HOSTNAME:
            limit = cfg.publishing_grace + 2 * cfg.call_timeout + cfg.stop_timeout
            return now - marked >= limit
        return True

    def _settle_from(self, post: Post) -> datetime:
        """When the ambiguity began: the failure, or the configure a dead process sent."""
        times = [t for t in (post.publishing_at, post.stage_at) if t is not None]
        return max(times) if times else post.updated_at

    def _check_due(self, post: Post) -> bool:
        schedule = self.config.publish.settle_schedule
        wait = schedule[min(post.settle_checks, len(schedule) - 1)]
        now = self.clock()
        if post.next_attempt_at is not None and now < post.next_attempt_at:
            return False  # the last check could not answer; see settle
        return now - self._settle_from(post) >= wait

    # -- outcomes ----------------------------------------------------------------

    def _posted(self, post: Post, result: Published, *, actor: str, reason: str,
                guard: dict[str, Any] | None = None) -> Outcome:
        now = self.clock()
        if not self.store.transition(
                post.id, Status.POSTED, expect=[Status.PUBLISHING], actor=actor, at=now,
                reason=reason, posted_at=now, media_id=result.media_id,
                shortcode=result.shortcode, permalink=result.permalink, next_attempt_at=None,
                publishing_by=None, guard=guard,
                data={"media_id": result.media_id, "permalink": result.permalink}):
            return self._moved_on(post)
        log.info("posted: %s", result.permalink, extra={"account": post.account,
                                                         "post_id": post.id})
        self.alerter.resolve(f"account:{post.account}:idle", "account posted again",
                            actor=actor, account=post.account)
        return Outcome(post.id, post.account, Status.POSTED, reason)

    def _moved_on(self, post: Post) -> Outcome:
        """Another process settled the post first; say what it is now."""
        current = self.store.post(post.id)
        return Outcome(post.id, post.account, current.status,
                       f"settled by another process meanwhile: {current.reason}")

    def _ambiguous(self, post: Post, exc: Ambiguous, *, actor: str) -> Outcome:
        now = self.clock()
        cfg = self.config.publish
        reason = (f"upload outcome unknown ({type(exc).__name__}: {exc}); the account will "
                  f"be checked after {format_duration(cfg.publishing_grace)}"
                  + (f", then {', '.join(format_duration(t) for t in cfg.settle_after)} after"
                     " the failure, before any new upload" if cfg.settle_after else ""))
        # Stay in publishing, owned by no one: recover() checks the account over the
        # settle window, so a late-landing request is found, not duplicated. Ambiguous
        # means the configure may have gone out, whatever stage was recorded.
        self.store.transition(post.id, Status.PUBLISHING, expect=[Status.PUBLISHING],
                              actor=actor, at=now, reason=reason, publishing_at=now,
                              publishing_by=None, settle_checks=0,
                              upload_stage=UploadStage.CONFIGURE_SENT.value,
                              data={"error": type(exc).__name__})
        log.warning(reason, extra={"account": post.account, "post_id": post.id})
        return Outcome(post.id, post.account, Status.PUBLISHING, reason)

    def _transient(self, post: Post, exc: Transient, *, actor: str) -> Outcome:
        cfg = self.config.publish
        if post.attempts >= cfg.max_attempts:
            return self._fail(post, f"gave up after {post.attempts} attempts: "
                              f"{type(exc).__name__}: {exc}", actor=actor, exc=exc)
        delay = self.backoff(post.attempts)
        now = self.clock()
        reason = (f"attempt {post.attempts} failed ({exc}); retrying in "
                  f"{format_duration(delay)}")
        self.store.transition(post.id, Status.QUEUED, expect=[Status.PUBLISHING],
                                  actor=actor, at=now, reason=reason, publishing_by=None,
                                  next_attempt_at=now + delay,
                                  data={"error": type(exc).__name__})
        log.warning(reason, extra={"account": post.account, "post_id": post.id})
        return Outcome(post.id, post.account, Status.QUEUED, reason)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with full jitter, capped."""
        cfg = self.config.publish
        base = cfg.retry_backoff.total_seconds() * (2 ** max(attempts - 1, 0))
        capped = min(base, cfg.retry_backoff_max.total_seconds())
        return timedelta(seconds=round(capped / 2 + self.rng.uniform(0, capped / 2)))

    def _disk_full(self, post: Post, exc: DiskFull, *, actor: str) -> Outcome:
        """No room to write the post: wait and try again, without spending an attempt."""
        now = self.clock()
        wait = self.config.publish.disk_full_backoff
        reason = f"{exc}; retrying in {format_duration(wait)} (not counted as an attempt)"
        self.store.transition(post.id, Status.QUEUED, expect=[Status.PUBLISHING],
                              actor=actor, at=now, reason=reason, publishing_by=None,
                              attempts=max(post.attempts - 1, 0), next_attempt_at=now + wait,
                              data={"error": "DiskFull"})
        log.warning(reason, extra={"account": post.account, "post_id": post.id})
        self.alerter.alert(DISK_FULL, f"disk full: {exc}; posts wait until space returns",
                           actor=actor, account=post.account, post_id=post.id)
        return Outcome(post.id, post.account, Status.QUEUED, reason)

    def _requeue(self, post: Post, reason: str, *, actor: str) -> Outcome:
        now = self.clock()
        self.store.transition(post.id, Status.QUEUED, expect=[Status.PUBLISHING],
                                  actor=actor, at=now, reason=reason, publishing_by=None,
                                  attempts=max(post.attempts - 1, 0))
        return Outcome(post.id, post.account, Status.QUEUED, reason)

    def _fail(self, post: Post, reason: str, *, actor: str,
              exc: BaseException | None, guard: dict[str, Any] | None = None) -> Outcome:
        now = self.clock()
        if not self.store.transition(
                post.id, Status.FAILED, expect=[Status.PUBLISHING, Status.QUEUED], actor=actor,
                at=now, reason=reason, publishing_by=None, guard=guard,
                data={"error": type(exc).__name__} if exc else None):
            return self._moved_on(post)
        self.alerter.alert(f"post:{post.id}:failed", f"post {post.id} failed: {reason}",
                          actor=actor, account=post.account, post_id=post.id)
        return Outcome(post.id, post.account, Status.FAILED, reason)

    def cool_down(self, account: str, exc: RateLimited, *, actor: str, post_id: int) -> None:
        """Put the account in cooldown after a rate limit (also for follow-up actions)."""
        self._cooldown(account, exc, actor=actor, post_id=post_id)

    def stop_account(self, account: str, exc: PublishError, *, actor: str,
                     post_id: int) -> None:
        """Stop the account and alert: a human must log in again or pass a challenge."""
        self._stop(account, exc, actor=actor, post_id=post_id)

    def _cooldown(self, account: str, exc: RateLimited, *, actor: str, post_id: int) -> None:
        now = self.clock()
        length = exc.cooldown or self.config.publish.cooldown
        until = now + length
        reason = f"{type(exc).__name__}: {exc}"
        self.store.set_account(account, now, state=AccountState.COOLDOWN, until=until,
                              reason=reason)
        self.store.add_event(at=now, actor=actor, kind="account", account=account,
                            post_id=post_id, from_status="active", to_status="cooldown",
                            reason=f"cooldown for {format_duration(length)}: {reason}")
        self.alerter.alert(f"account:{account}:cooldown",
                          f"account {account} rate-limited; cooling down until "
                          f"{local_time(until, self.config.tz)}: {reason}", actor=actor,
                          account=account)

    def _stop(self, account: str, exc: PublishError, *, actor: str, post_id: int) -> None:
        now = self.clock()
        reason = f"{type(exc).__name__}: {exc}; run `bot login --account {account}`"
        self.store.set_account(account, now, state=AccountState.STOPPED, until=None,
                              reason=reason)
        self.store.add_event(at=now, actor=actor, kind="account", account=account,
                            post_id=post_id, to_status="stopped", reason=reason)
        self.alerter.alert(f"account:{account}:stopped",
                          f"account {account} stopped, a human is needed: {reason}",
                          actor=actor, account=account)

    # -- files -------------------------------------------------------------------

    def files(self, post: Post) -> PostFiles:
        """What the publisher needs for this post."""
        return post_files(
            post_id=post.id, basename=post.basename,
            article=self.store.article_by_id(post.article_id),
            card=Path(post.card_path or ""),
            story=Path(post.story_path) if post.story_path else None,
            caption=post.caption or "", alt_text=post.alt_text or "",
            utm=self.config.caption.utm, account=post.account, feed=post.feed)


def post_files(*, post_id: int | str, basename: str, article: Article, card: Path,
               story: Path | None, caption: str, alt_text: str, utm: dict[str, str],
               account: str | None, feed: str) -> PostFiles:
    """A post's files and metadata as publishers (and ``bot preview``) take them."""
    return PostFiles(
        post_id=post_id,
        basename=basename,
        card=card,
        caption=caption,
        alt_text=alt_text,
        link=link_with_utm(article.link, utm),
        article_link=article.link,
        story=story,
        metadata={
            "article_key": article.key,
            "title": article.title,
            "account": account,
            "feed": feed,
            "category": article.category,
            "published": article.published.isoformat() if article.published else None,
            "alt_text": alt_text,
        },
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _may_have_landed(post: Post) -> bool:
    """Whether the post's configure may have gone out (an unknown stage: assume so)."""
    return post.upload_stage is None or post.upload_stage.may_have_landed
