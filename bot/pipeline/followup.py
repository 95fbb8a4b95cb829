"""Following up on posted articles: corrections and takedowns reach the Instagram post.

For ``[followup] watch_for`` after a post goes out, its article is watched:

- every parsed feed poll hands the articles it read to :meth:`FollowUp.observe`,
  which compares each watched one with what the bot last saw of it (title, marker
  counts in the title and the cleaned body) and notes whether the feed still lists it;
- the follow-up job (:meth:`FollowUp.run`, every minute in the daemon) GETs the link
  of each watched post whose check is due, once per ``check_every``, at a per-post
  offset within the interval, with the HTTP client's usual bounds.

What counts as a correction or a takedown is decided by :mod:`bot.pipeline.detect`.
Each incident opens one follow-up: a row, an event on the post and one alert naming
the permalink. Actions (update the caption, archive, dismiss) come from a human or,
when configured, automatically. An action is recorded (``pending``) before the
publisher is called and marked ``sending`` while the call may be in flight; after a
crash a ``sending`` action first asks the publisher what the post looks like now, so
it is neither lost nor sent twice. Failures follow the publish error policy: a rate
limit cools the account down, a challenge or login stops it, a transient fault is
retried later (a bounded number of times), and nothing loops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts import Alerter
from bot.articles import Article
from bot.config import Config
from bot.errors import (
    ConfigError,
    FetchError,
    InvalidAction,
    NeedsHuman,
    PostRejected,
    PublishError,
    RateLimited,
    SessionExpired,
    Transient,
)
from bot.http import HttpClient
from bot.models import (
    ActionState,
    Actor,
    Followup,
    FollowupAction,
    FollowupKind,
    FollowupState,
    Post,
    Status,
    Watch,
)
from bot.pipeline.detect import (
    LinkVerdict,
    article_markers,
    corrected_caption,
    correction,
    correction_line,
    link_verdict,
    marker_counts,
    next_check_at,
    page_correction,
    page_title,
    takedown,
)
from bot.pipeline.publish import Publishing
from bot.publishers import LivePost, PublisherPool
from bot.store import Store
from bot.units import format_duration

log = logging.getLogger(__name__)

# A check reads only the head of the page: the status and where redirects end matter.
CHECK_MAX_BYTES = 256 * 1024
# Each run checks at most this many due posts; the rest wait for the next run (a
# minute later) instead of bursting after the daemon was down.
CHECKS_PER_RUN = 20
# How long a "sending" action must be left before recovery asks the publisher: a call
# still in flight in another process must get to land first.
SENDING_GRACE = timedelta(minutes=2)


@dataclass
class FollowupReport:
    """What one follow-up run did."""

    watched: int = 0
    started: int = 0
    ended: int = 0
    checked: int = 0
    opened: list[int] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


class FollowUp:
    """The follow-up step: watching, detecting, recording and acting."""

    def __init__(self, store: Store, *, config: Config, http: HttpClient,
                 clock: Callable[[], datetime], alerter: Alerter,
                 publishers: PublisherPool, publishing: Publishing) -> None:
        self.store = store
        self.config = config
        self.http = http
        self.clock = clock
        self.alerter = alerter
        self.publishers = publishers
        # The publish step's account policy: cooldowns and stops are shared with it.
        self.publishing = publishing

    # -- the job -----------------------------------------------------------------

    def run(self) -> FollowupReport:
        """Start and end watches, check the links that are due, drive pending actions."""
        now = self.clock()
        report = FollowupReport()
        report.started = self.start_watches(now)
        report.ended = self._end_expired(now)
        due = self.store.watches(due_at=now, limit=CHECKS_PER_RUN)
        for watch, post in due:
            self._check(watch, post, now, report)
        report.checked = len(due)
        report.actions = self.drive()
        report.watched = self.store.watch_count()
        return report

    def start_watches(self, now: datetime) -> int:
        """Watch every post that went out within ``watch_for`` and is not watched yet."""
        settings = self.config.followup
        started = 0
        for post in self.store.unwatched_posts(now - settings.watch_for):
            article = self.store.article_by_id(post.article_id)
            posted_at = post.posted_at or now
            if self.store.add_watch(Watch(
                    post_id=post.id, started_at=now, until=posted_at + settings.watch_for,
                    next_check_at=next_check_at(post.id, now, settings.check_every),
                    title=article.title,
                    markers=article_markers(article, settings.markers), in_feed=True,
                    last_check_at=None, last_check=None, archived_at=None, ended_at=None,
                    ended_reason=None)):
                started += 1
        return started

    def _end_expired(self, now: datetime) -> int:
        ended = 0
        for _watch, post in self.store.watches(until_by=now):
            if self.store.end_watch(
                    post.id, at=now, actor=Actor.FOLLOWUP,
                    reason=f"watched for {format_duration(self.config.followup.watch_for)}"):
                ended += 1
        return ended

    # -- what feed polls saw -----------------------------------------------------

    def observe(self, feed: str, articles: Iterable[Article]) -> list[int]:
        """Compare the articles a poll of ``feed`` read with the watched ones.

        Called before the poll records edits, so that a post that went out since the
        last run is watched with the title it was posted with. Returns the ids of
        follow-ups opened.
        """
        now = self.clock()
        self.start_watches(now)
        by_key = {a.key: a for a in articles}
        opened: list[int] = []
        watched = {w.post_id: (w, p) for w, p in self.store.watches(keys=list(by_key))}
        for watch, post in watched.values():
            if watch.until <= now:
                continue
            if not watch.in_feed:
                self.store.update_watch(post.id, in_feed=True)
            found = self._correction(watch, post, by_key[post.article_key], now,
                                     seen="feed poll")
            if found is not None:
                opened.append(found)
        for watch, post in self.store.watches(feed=feed):
            if post.id not in watched and watch.in_feed:
                self.store.update_watch(post.id, in_feed=False)
                log.info("no longer in feed %s", feed, extra={"post_id": post.id})
        return opened

    def _correction(self, watch: Watch, post: Post, article: Article, now: datetime, *,
                    seen: str) -> int | None:
        markers = self.config.followup.markers
        found = correction(watch.title, watch.markers, article, markers)
        if found is None:
            return None
        baseline = {"title": article.title, "markers": article_markers(article, markers)}
        record = self.store.open_followup(
            post_id=post.id, kind=FollowupKind.CORRECTION, incident=found.incident, at=now,
            old_title=found.old_title, new_title=found.new_title, marker=found.marker,
            reason=f"{found.reason} (seen at a {seen})", permalink=post.permalink,
            actor=Actor.FOLLOWUP, baseline=baseline)
        if record is None:
            return None
        self._alert(record, post)
        if self.config.followup.on_correction == "update_caption":
            self._decide(record, FollowupAction.UPDATE_CAPTION, actor=Actor.FOLLOWUP,
                         why="[followup] on_correction = update_caption")
        return record.id

    # -- link checks -------------------------------------------------------------

    def _check(self, watch: Watch, post: Post, now: datetime, report: FollowupReport) -> None:
        settings = self.config.followup
        shown: str | None = None
        try:
            response = self.http.get(post.link, max_bytes=CHECK_MAX_BYTES, truncate=True,
                                     accept_status=tuple(range(200, 600)))
            verdict, what = link_verdict(post.link, status=response.status,
                                         final_url=response.url)
            if verdict == LinkVerdict.ALIVE and "html" in response.content_type:
                shown = page_title(response.body.decode("utf-8", "replace"),
                                   site_name=self.config.site.name)
        except FetchError as exc:
            verdict, what = LinkVerdict.TRANSIENT, str(exc)
        self.store.update_watch(post.id, last_check_at=now, last_check=f"{verdict}: {what}",
                                next_check_at=next_check_at(post.id, now, settings.check_every))
        log.debug("follow-up check: %s: %s", verdict, what, extra={"post_id": post.id})
        if verdict == LinkVerdict.TRANSIENT:
            log.info("follow-up check inconclusive (%s); asking again at the next check", what,
                     extra={"post_id": post.id})
            return
        if shown and not watch.in_feed:
            # Out of the feed, the page is the only place a correction can show.
            self._page_correction(watch, post, shown, now, report)
        if not takedown(verdict, in_feed=watch.in_feed):
            return
        record = self.store.open_followup(
            post_id=post.id, kind=FollowupKind.TAKEDOWN, incident="takedown", at=now,
            old_title=watch.title, new_title="", marker=None,
            reason=f"takedown: the article link answers {what} and the feed no longer "
                   "lists it", permalink=post.permalink, actor=Actor.FOLLOWUP)
        if record is None:
            return
        report.opened.append(record.id)
        self._alert(record, post)
        if settings.on_takedown == "archive":
            self._decide(record, FollowupAction.ARCHIVE, actor=Actor.FOLLOWUP,
                         why="[followup] on_takedown = archive")

    def _page_correction(self, watch: Watch, post: Post, shown: str, now: datetime,
                         report: FollowupReport) -> None:
        markers = self.config.followup.markers
        found = page_correction(watch.title, watch.markers, shown, markers)
        if found is None:
            return
        baseline = {"title": shown, "markers": {**watch.markers,
                                                "title": marker_counts(shown, markers)}}
        record = self.store.open_followup(
            post_id=post.id, kind=FollowupKind.CORRECTION, incident=found.incident, at=now,
            old_title=found.old_title, new_title=found.new_title, marker=found.marker,
            reason=f"{found.reason} (seen at a link check)", permalink=post.permalink,
            actor=Actor.FOLLOWUP, baseline=baseline)
        if record is None:
            return
        report.opened.append(record.id)
        self._alert(record, post)
        if self.config.followup.on_correction == "update_caption":
            self._decide(record, FollowupAction.UPDATE_CAPTION, actor=Actor.FOLLOWUP,
                         why="[followup] on_correction = update_caption")

    def _alert(self, record: Followup, post: Post) -> None:
        where = post.permalink or "(no permalink)"
        if record.kind == FollowupKind.TAKEDOWN:
            text = (f"takedown of post {post.id} ({where}): {record.old_title!r} is gone "
                    f"from the site; {record.reason}")
        else:
            parts = [f"correction of post {post.id} ({where})"]
            if record.old_title != record.new_title:
                parts.append(f"title {record.old_title!r} -> {record.new_title!r}")
            else:
                parts.append(f"title {record.new_title!r}")
            if record.marker:
                parts.append(f"marker {record.marker!r}")
            text = "; ".join(parts)
        self.alerter.alert(_alert_key(record), f"{text}; act with `bot followup {post.id}`",
                           actor=Actor.FOLLOWUP, account=post.account, feed=post.feed,
                           post_id=post.id,
                           data={"followup": record.id, "kind": record.kind.value,
                                 "permalink": post.permalink, "old_title": record.old_title,
                                 "new_title": record.new_title, "marker": record.marker})

    # -- actions -----------------------------------------------------------------

    def act(self, post_id: int, action: str, *, actor: str, reason: str = "") -> Followup:
        """A human's action on the post's open follow-up: ``update_caption``,
        ``archive`` or ``dismiss``. The Instagram call is made at once."""
        post = self.store.post(post_id)
        record = self._open_for(post_id, action)
        why = f"{action} by {actor}" + (f": {reason}" if reason else "")
        if action == "dismiss":
            return self._dismiss(record, post, actor=actor, why=why)
        chosen = FollowupAction(action)
        if post.status != Status.POSTED or not post.media_id:
            raise InvalidAction(f"post {post_id} is {post.status}, not posted: nothing to "
                                f"{action.replace('_', ' ')}")
        self._decide(record, chosen, actor=actor, why=why)
        return self.store.followup(record.id)

    def _open_for(self, post_id: int, action: str) -> Followup:
        records = self.store.followups(post_id=post_id, state=FollowupState.OPEN)
        if not records:
            raise InvalidAction(f"post {post_id} has no open follow-up")
        if action == "archive":
            # Archiving answers a takedown first; a correction may be archived too.
            records.sort(key=lambda r: (r.kind != FollowupKind.TAKEDOWN, -r.id))
        else:
            records.sort(key=lambda r: (r.kind != FollowupKind.CORRECTION, -r.id))
        return records[0]

    def _dismiss(self, record: Followup, post: Post, *, actor: str, why: str) -> Followup:
        now = self.clock()
        if record.action_state == ActionState.SENDING:
            raise InvalidAction(f"follow-up #{record.id} is being sent right now; look again")
        if not self.store.set_followup(
                record.id, expect={"state": FollowupState.OPEN,
                                   "action_state": record.action_state},
                state=FollowupState.DISMISSED, closed_at=now,
                event=dict(at=now, actor=actor, kind="followup",
                           reason=f"follow-up #{record.id} dismissed: {why}")):
            raise InvalidAction(f"follow-up #{record.id} changed meanwhile; look again")
        self.alerter.resolve(_alert_key(record), f"follow-up #{record.id} dismissed",
                             actor=actor, account=post.account, feed=post.feed)
        if record.kind == FollowupKind.TAKEDOWN:
            self.store.end_watch(post.id, at=now, actor=actor,
                                 reason="takedown handled (dismissed)")
        return self.store.followup(record.id)

    def _decide(self, record: Followup, action: FollowupAction, *, actor: str,
                why: str) -> None:
        """Record the action (``pending``) before any call, then drive it."""
        post = self.store.post(record.post_id)
        now = self.clock()
        caption = None
        if action == FollowupAction.UPDATE_CAPTION:
            line = correction_line(record.marker, title_changed=(
                bool(record.new_title) and record.old_title != record.new_title),
                at=record.opened_at, tz=self.config.tz)
            try:
                caption = corrected_caption(post.caption or "", old_title=record.old_title,
                                            new_title=record.new_title or post.title,
                                            line=line)
            except ValueError as exc:
                raise InvalidAction(f"follow-up #{record.id}: {exc}") from None
        if record.action_state in (ActionState.PENDING, ActionState.SENDING):
            if record.action == action:
                self._drive_one(self.store.followup(record.id))
                return
            raise InvalidAction(f"follow-up #{record.id} is already doing "
                                f"{record.action}; wait for it")
        if not self.store.set_followup(
                record.id, expect={"state": FollowupState.OPEN,
                                   "action_state": record.action_state},
                action=action, action_state=ActionState.PENDING, action_caption=caption,
                action_actor=actor, action_attempts=0, action_next_at=None,
                action_reason=why,
                event=dict(at=now, actor=actor, kind="followup",
                           reason=f"follow-up #{record.id}: {action} decided ({why})",
                           data={"followup": record.id, "caption": caption})):
            raise InvalidAction(f"follow-up #{record.id} changed meanwhile; look again")
        self._drive_one(self.store.followup(record.id))

    def drive(self) -> list[str]:
        """Send every decided action that is due; settle ``sending`` ones left by a crash."""
        done = []
        for record in self.store.followups(action_states=[ActionState.PENDING,
                                                          ActionState.SENDING]):
            outcome = self._drive_one(record)
            if outcome:
                done.append(outcome)
        return done

    def _drive_one(self, record: Followup) -> str | None:
        now = self.clock()
        if record.state != FollowupState.OPEN or record.action is None:
            return None
        if record.action_state == ActionState.PENDING:
            if record.action_next_at is not None and record.action_next_at > now:
                return None
        elif record.action_state == ActionState.SENDING:
            if record.action_at is not None and now - record.action_at < SENDING_GRACE:
                return None
        else:
            return None
        post = self.store.post(record.post_id)
        blocked = self.publishing.account_block(post.account, now, actor=Actor.FOLLOWUP)
        if blocked:
            log.info("follow-up #%s waits: account %s", record.id, blocked,
                     extra={"post_id": post.id})
            return None
        try:
            publisher = self.publishers.get(post.account)
        except ConfigError as exc:
            # The account left the config: nothing can be sent, and the job must go on.
            return self._failed(record, post, PostRejected(str(exc)), counted=False)
        live = LivePost(post_id=post.id, basename=post.basename, media_id=post.media_id or "",
                        permalink=post.permalink)
        label = f"follow-up #{record.id}: {record.action}"
        sent = False
        try:
            if record.action_state == ActionState.SENDING or record.action_attempts:
                # The call may have landed before the crash or the fault: look first.
                state = publisher.live_state(live)
                if self._landed(record, state.caption, state.archived):
                    return self._settle(record, post, how="found already done on the post")
            if record.action == FollowupAction.ARCHIVE:
                watch = self.store.watch(post.id)
                if watch is not None and watch.archived_at is not None:
                    return self._settle(record, post, how="the post was archived already")
            elif record.action_caption == post.caption:
                return self._settle(record, post, how="the post already has this caption")
            if not self.store.set_followup(
                    record.id, expect={"action_state": record.action_state,
                                       "action_attempts": record.action_attempts},
                    action_state=ActionState.SENDING, action_at=now,
                    action_attempts=record.action_attempts + 1):
                return None  # another process took it
            sent = True
            log.info("%s: sending to %s", label, publisher.name, extra={"post_id": post.id})
            if record.action == FollowupAction.ARCHIVE:
                publisher.archive(live)
            else:
                publisher.edit_caption(live, record.action_caption or "")
        except PublishError as exc:
            return self._failed(self.store.followup(record.id), post, exc, counted=sent)
        return self._settle(self.store.followup(record.id), post,
                            how=f"sent to {publisher.name}")

    @staticmethod
    def _landed(record: Followup, caption: str | None, archived: bool) -> bool:
        if record.action == FollowupAction.ARCHIVE:
            return archived
        return caption is not None and caption.strip() == (record.action_caption or "").strip()

    def _settle(self, record: Followup, post: Post, *, how: str) -> str:
        now = self.clock()
        actor = record.action_actor or Actor.FOLLOWUP  # who decided it
        action = record.action
        what = ("caption updated" if action == FollowupAction.UPDATE_CAPTION
                else "post archived (only me)")
        if not self.store.set_followup(
                record.id, expect={"action_state": record.action_state},
                action_state=ActionState.DONE, state=FollowupState.DONE, closed_at=now,
                action_next_at=None,
                event=dict(at=now, actor=actor, kind="followup",
                           reason=f"follow-up #{record.id}: {what} ({how})",
                           data={"followup": record.id, "caption": record.action_caption})):
            return f"#{record.id}: settled elsewhere"
        if action == FollowupAction.UPDATE_CAPTION:
            self.store.update_post(post.id, caption=record.action_caption)
        else:
            self.store.update_watch(post.id, archived_at=now)
            self.store.end_watch(post.id, at=now, actor=actor, reason="takedown handled "
                                 "(archived)" if record.kind == FollowupKind.TAKEDOWN
                                 else "post archived")
        self.alerter.resolve(_alert_key(record), f"follow-up #{record.id}: {what}",
                             actor=actor, account=post.account, feed=post.feed)
        log.info("follow-up #%s: %s (%s)", record.id, what, how, extra={"post_id": post.id})
        return f"#{record.id}: {what}"

    def _failed(self, record: Followup, post: Post, exc: PublishError, *,
                counted: bool) -> str:
        """The error policy, as for publishing; never a loop.

        Every attempt counts, also one that failed while looking at the post before
        sending (``counted`` False), so retries stay bounded by ``max_attempts``.
        """
        now = self.clock()
        attempts = record.action_attempts + (0 if counted else 1)
        publish = self.config.publish
        reason = f"{type(exc).__name__}: {exc}"
        retry_at: datetime | None = None
        if isinstance(exc, RateLimited):
            self.publishing.cool_down(post.account, exc, actor=Actor.FOLLOWUP, post_id=post.id)
            retry_at = now  # the account block holds it until the cooldown ends
        elif isinstance(exc, SessionExpired | NeedsHuman):
            self.publishing.stop_account(post.account, exc, actor=Actor.FOLLOWUP,
                                         post_id=post.id)
            retry_at = now  # held by the stop until a human runs `bot login`
        elif isinstance(exc, Transient) and attempts < publish.max_attempts:
            retry_at = now + self.publishing.backoff(attempts)
        elif isinstance(exc, PostRejected | Transient):
            retry_at = None
        if retry_at is not None:
            self.store.set_followup(
                record.id, action_state=ActionState.PENDING, action_next_at=retry_at,
                action_reason=reason, action_attempts=attempts,
                event=dict(at=now, actor=Actor.FOLLOWUP, kind="followup",
                           reason=f"follow-up #{record.id}: {record.action} not done, "
                                  f"will retry: {reason}"))
            log.warning("follow-up #%s: %s; will retry", record.id, reason,
                        extra={"post_id": post.id})
            return f"#{record.id}: retry later ({reason})"
        self.store.set_followup(
            record.id, action_state=ActionState.FAILED, action_reason=reason,
            action_attempts=attempts, event=dict(at=now, actor=Actor.FOLLOWUP, kind="followup",
                       reason=f"follow-up #{record.id}: {record.action} failed: {reason}"))
        self.alerter.alert(f"followup:{record.id}:failed",
                           f"follow-up #{record.id} on post {post.id}: {record.action} "
                           f"failed, a human must look: {reason}", actor=Actor.FOLLOWUP,
                           account=post.account, post_id=post.id)
        return f"#{record.id}: failed ({reason})"


def _alert_key(record: Followup) -> str:
    return f"followup:{record.id}"
