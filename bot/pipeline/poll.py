"""Polling feeds and deciding what becomes of each article.

For each feed: a conditional GET; on a 304 or an unchanged body nothing is parsed.
New articles are handled oldest first, each committed in its own transaction, so a
crash halfway through a poll loses nothing and duplicates nothing (keys are unique).
The feed's validators are saved only after every article is handled, so an
interrupted poll is simply repeated.

What becomes of each article is decided by :mod:`bot.pipeline.decide`, which only
processes data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from bot.alerts import Alerter
from bot.articles import Article
from bot.config import Config, FeedConfig
from bot.errors import FeedError
from bot.feeds import EntryCache, fetch_feed, fetch_page, parse_feed
from bot.http import HttpClient
from bot.models import Actor, Status
from bot.pipeline.decide import decide, edits, newest, oldest_first
from bot.pipeline.render import PostRendering
from bot.rules import priority_value
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class PollReport:
    """What one poll of one feed did."""

    feed: str
    status: str  # ok, not_modified, unchanged, error
    reason: str = ""
    new: int = 0
    queued: int = 0
    pages: int = 1
    post_ids: list[int] = field(default_factory=list)


class Poller:
    """Polls feeds and records their articles and posts."""

    def __init__(self, store: Store, *, config: Config, http: HttpClient,
                 clock: Callable[[], datetime], alerter: Alerter,
                 rendering: PostRendering,
                 observe: Callable[[str, Iterable[Article]], object] | None = None) -> None:
        self.store = store
        self.config = config
        self.http = http
        self.clock = clock
        self.alerter = alerter
        self.rendering = rendering
        # The follow-up step's look at what each parsed poll read (corrections, and
        # whether a posted article is still listed), before edits are recorded.
        self.observe = observe
        # The daemon sets this on SIGTERM: a poll stops between articles (each is
        # committed on its own) and leaves the feed's validators unsaved, so the next
        # poll reads the feed again and handles the rest.
        self.should_stop: Callable[[], bool] = lambda: False
        # What the last parse of each feed made of each entry: a poll parses only the
        # entries that are new or changed.
        self.entries = EntryCache()

    def poll_all(self, feed: str | None = None) -> list[PollReport]:
        """Poll every configured feed (or just ``feed``)."""
        feeds = [self.config.feed(feed)] if feed else self.config.feeds
        return [self.poll(f) for f in feeds]

    def poll(self, feed: FeedConfig) -> PollReport:
        """Poll one feed. Feed faults are recorded on the feed, never raised."""
        store = self.store
        now = self.clock()
        state = store.feed_state(feed.name)
        etag = state.etag if state and state.url == feed.url else None
        last_modified = state.last_modified if state and state.url == feed.url else None
        try:
            fetched = fetch_feed(self.http, feed.url, etag=etag, last_modified=last_modified)
            if fetched.not_modified:
                return self._record_quiet(feed, now, "not_modified", "HTTP 304 Not Modified")
            if state and state.body_sha256 == fetched.sha256 and state.url == feed.url:
                return self._record_quiet(feed, now, "unchanged", "body identical to last poll")
            parsed = parse_feed(fetched.body, feed_name=feed.name, feed_url=feed.url,
                                tz=self.config.tz, cache=self.entries)
        except FeedError as exc:
            return self._record_failure(feed, now, str(exc))

        first_feed_poll = state is None or state.first_polled_at is None
        entries = parsed.articles
        stored = store.articles_by_key(a.key for a in entries)
        known = set(stored)
        pages = 1
        gap_note = ""
        extra: list[Article] = []
        if not first_feed_poll and entries and not known:
            extra, pages, gap_note = self._walk_pages(feed, entries, now)

        if self.observe is not None:
            self.observe(feed.name, entries + extra)
        report = PollReport(feed=feed.name, status="ok", pages=pages)
        started = store.started_accounts(feed.name)
        fresh_accounts = [a for a in feed.accounts if a not in started]
        backlog_keys = {a.key for a in newest(entries, feed.backlog)} if fresh_accounts else set()
        # Most of a feed is what the last poll saw: articles with no edit, already linked
        # to this feed and posted for each of its accounts are only marked as seen again,
        # all at once, instead of each in its own transaction.
        settled = store.settled_articles((i for i, _ in stored.values()), feed.name,
                                         feed.accounts)
        quiet = [stored[a.key][0] for a in entries if a.key in stored
                 and stored[a.key][0] in settled
                 and not edits(stored[a.key][1], a.with_feed(stored[a.key][1].feed))]
        quiet_ids = set(quiet)
        # Oldest first, so posts queue (and events read) in publication order.
        for article in oldest_first(entries + extra):
            if article.key in stored and stored[article.key][0] in quiet_ids:
                continue
            if self.should_stop():
                report.status = "interrupted"
                report.reason = f"stopped after {report.new} new articles; the rest next poll"
                log.info("poll interrupted: %s", report.reason, extra={"feed": feed.name})
                return report
            self._handle(feed, article, now, fresh_accounts, backlog_keys, report)
        if quiet:
            store.touch_articles(quiet, now)
        store.start_accounts(feed.name, fresh_accounts, now)
        self._record_duplicates(feed, parsed.duplicates, known, now)

        reasons = [f"{len(entries)} entries, {report.new} new, {report.queued} queued"]
        if pages > 1:
            reasons.append(f"walked {pages} pages")
        if gap_note:
            reasons.append(gap_note)
        if parsed.bozo_reason:
            reasons.append(f"feed not well-formed but usable ({parsed.bozo_reason})")
        if parsed.skipped:
            reasons.append(f"{parsed.skipped} entries without guid or link ignored")
        if parsed.duplicates:
            reasons.append(f"{len(parsed.duplicates)} entries repeat an earlier entry's "
                           "guid and were left out (see the events)")
        report.reason = "; ".join(reasons)
        store.update_feed(
            feed.name, feed.url, etag=fetched.etag, last_modified=fetched.last_modified,
            body_sha256=fetched.sha256, last_polled_at=now, last_status="ok",
            last_reason=report.reason, last_success_at=now, failing_since=None,
            consecutive_failures=0,
            **({"first_polled_at": now} if first_feed_poll else {}),
            **({"last_new_article_at": now} if report.new else {}),
        )
        self.alerter.resolve(f"feed:{feed.name}:failing", f"feed {feed.name} recovered",
                            actor=Actor.POLLER, feed=feed.name)
        log.info("polled: %s", report.reason, extra={"feed": feed.name})
        return report

    # -- helpers -----------------------------------------------------------------

    def _record_quiet(self, feed: FeedConfig, now: datetime, status: str,
                      reason: str) -> PollReport:
        self.store.update_feed(feed.name, feed.url, last_polled_at=now, last_status=status,
                                   last_reason=reason, last_success_at=now,
                                   failing_since=None, consecutive_failures=0)
        log.debug("polled: %s", reason, extra={"feed": feed.name})
        return PollReport(feed=feed.name, status=status, reason=reason)

    def _record_failure(self, feed: FeedConfig, now: datetime, reason: str) -> PollReport:
        store = self.store
        state = store.feed_state(feed.name)
        failing_since = (state.failing_since if state and state.failing_since else now)
        failures = (state.consecutive_failures if state else 0) + 1
        store.update_feed(feed.name, feed.url, last_polled_at=now, last_status="error",
                          last_reason=reason, failing_since=failing_since,
                          consecutive_failures=failures)
        log.warning("poll failed: %s", reason, extra={"feed": feed.name})
        return PollReport(feed=feed.name, status="error", reason=reason)

    def _walk_pages(
        self, feed: FeedConfig, first_page: list[Article], now: datetime
    ) -> tuple[list[Article], int, str]:
        """Walk ``?paged=2..max_pages`` until a known article appears.

        Returns the extra unknown articles, the number of pages read, and a note.
        """
        store = self.store
        seen_keys = {a.key for a in first_page}
        found: list[Article] = []
        pages = 1
        ending = ""
        reached_known = False
        for page in range(2, feed.max_pages + 1):
            try:
                body = fetch_page(self.http, feed.url, page)
                if body is None:
                    ending = f"page {page} does not exist (404)"
                    break
                articles = parse_feed(body, feed_name=feed.name, feed_url=feed.url,
                                      tz=self.config.tz).articles
            except FeedError as exc:
                ending = f"page {page} failed: {exc}"
                break
            pages = page
            fresh = [a for a in articles if a.key not in seen_keys]
            if not fresh:
                # A site that ignores ?paged serves page 1 again: stop at once.
                ending = f"page {page} brought nothing new"
                break
            seen_keys.update(a.key for a in fresh)
            known = store.known_keys(a.key for a in fresh)
            found.extend(a for a in fresh if a.key not in known)
            if known:
                reached_known = True
                break
        else:
            ending = f"stopped at the bound of {feed.max_pages} pages"
        if reached_known:
            return found, pages, f"gap recovered: {len(found)} more articles from older pages"
        count = len(first_page) + len(found)
        note = (f"possible gap: {count} new articles and no known one found ({ending}); "
                "older articles may have been missed")
        store.add_event(at=now, actor=Actor.POLLER, kind="gap", feed=feed.name, reason=note,
                        data={"new": count, "pages": pages})
        log.warning(note, extra={"feed": feed.name})
        return found, pages, note

    def _handle(
        self,
        feed: FeedConfig,
        article: Article,
        now: datetime,
        fresh_accounts: list[str],
        backlog_keys: set[str],
        report: PollReport,
    ) -> None:
        """Record one article and its posts, in one transaction; then render."""
        store = self.store
        to_render: list[int] = []
        with store.begin() as conn:
            existing = store.article(article.key, conn=conn)
            if existing is None:
                article_id = store.insert_article(conn, article, now)
                report.new += 1
            else:
                article_id, old = existing
                article = article.with_feed(old.feed)
                if self._record_edits(conn, article_id, old, article, now):
                    to_render.extend(store.unpublished_post_ids(conn, article_id))
                store.touch_article(conn, article_id, feed.name, now)
            have = store.post_accounts(conn, article_id)
            for account in feed.accounts:
                if account in have:
                    continue
                status, reason = decide(article, feed, self.config,
                                        first_run=account in fresh_accounts,
                                        in_backlog=article.key in backlog_keys)
                priority = priority_value(article, self.config.schedule.priority)
                post_id = store.create_post(
                    conn, article_id=article_id, account=account, feed=feed.name,
                    status=status, reason=reason, slug=article.slug, at=now,
                    actor=Actor.POLLER, priority=priority)
                report.post_ids.append(post_id)
                if status == Status.QUEUED:
                    report.queued += 1
                if status in (Status.QUEUED, Status.PENDING_APPROVAL):
                    to_render.append(post_id)
        for post_id in to_render:
            self.rendering.render_post(post_id, actor=Actor.POLLER)

    def _record_duplicates(self, feed: FeedConfig, duplicates: list[tuple[str, str]],
                           known_before: set[str], now: datetime) -> None:
        """Record each entry left out for repeating a guid, on the first entry's posts.

        Recorded the first time the clash is seen (the guid was new at this poll), so a
        feed that always repeats a guid does not add an event at every poll.
        """
        store = self.store
        for key, reason in duplicates:
            if key in known_before:
                continue
            found = store.article(key)
            post_ids: list[int | None] = [None]
            if found is not None:
                with store.begin() as conn:
                    post_ids = list(store.post_ids(conn, found[0])) or [None]
            for post_id in post_ids:
                store.add_event(at=now, actor=Actor.POLLER, kind="duplicate", feed=feed.name,
                                post_id=post_id, reason=reason, data={"key": key})
            log.warning(reason, extra={"feed": feed.name})

    def _record_edits(self, conn: sa.Connection, article_id: int, old: Article, new: Article,
                      now: datetime) -> bool:
        """Record a known article's edit as an event; True if anything changed."""
        changes = edits(old, new)
        if not changes:
            return False
        store = self.store
        store.update_article(conn, article_id, new, now)
        reason = "article edited: " + "; ".join(changes)
        for post_id in store.post_ids(conn, article_id):
            store.add_event(conn, at=now, actor=Actor.POLLER, kind="edit", feed=new.feed,
                            post_id=post_id, reason=reason, data={"key": new.key})
        log.info(reason, extra={"feed": new.feed})
        return True
