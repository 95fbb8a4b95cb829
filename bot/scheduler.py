"""``bot run``: the daemon. APScheduler 3.11 runs poll jobs, publish ticks and a health check.

- One poll job per feed (``poll_every`` or ``cron``), plus a poll of every feed at start.
- One publish tick per account every ``[schedule] tick`` (10 s by default), so a post
  goes out within seconds of its slot; each tick publishes at most one post.
- A health job raises alerts when an account with due posts stays silent inside its
  windows, or a feed keeps failing (once per incident).
- Every job runs with ``max_instances=1`` and ``coalesce=True``; a job that raises is
  logged and recorded, and the scheduler keeps running.
- SIGTERM/SIGINT: no new work starts; an upload in flight gets ``stop_timeout`` (60 s)
  to finish; then the process exits 0. Whatever is left ``publishing`` is settled by
  the exactly-once check at the next start.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core import Bot
from bot.models import AccountState, Actor
from bot.policy import Policy

log = logging.getLogger(__name__)


class Daemon:
    """The long-running worker."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.tz = bot.config.tz
        self.scheduler = BlockingScheduler(
            timezone=self.tz,
            executors={"default": ThreadPoolExecutor(max_workers=4 + len(bot.config.accounts))},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.stopping = threading.Event()
        self._busy = 0
        self._busy_lock = threading.Condition()

    # -- setup -------------------------------------------------------------------

    def schedule_jobs(self, now: datetime) -> None:
        """Add the poll, publish and health jobs."""
        config = self.bot.config
        for feed in config.feeds:
            trigger: Any
            if feed.cron:
                trigger = CronTrigger.from_crontab(feed.cron, timezone=self.tz)
                grace = 60
                self.scheduler.add_job(self._poll, "date", run_date=now, args=[feed.name],
                                       id=f"poll-start:{feed.name}")
            else:
                trigger = IntervalTrigger(seconds=feed.poll_every.total_seconds(),
                                          timezone=self.tz)
                grace = max(5, int(feed.poll_every.total_seconds() // 2))
            self.scheduler.add_job(
                self._poll, trigger, args=[feed.name], id=f"poll:{feed.name}",
                misfire_grace_time=grace,
                next_run_time=None if feed.cron else now)
        tick = config.schedule.tick.total_seconds()
        for account in config.accounts:
            self.scheduler.add_job(
                self._publish, IntervalTrigger(seconds=tick, timezone=self.tz),
                args=[account.name], id=f"publish:{account.name}",
                misfire_grace_time=max(1, int(tick)),
                next_run_time=now + timedelta(seconds=1))
        self.scheduler.add_job(self._health, IntervalTrigger(seconds=60, timezone=self.tz),
                               id="health", misfire_grace_time=60,
                               next_run_time=now + timedelta(seconds=30))
        self.scheduler.add_listener(self._on_job_error, EVENT_JOB_ERROR)

    def warn_about_config(self) -> None:
        """Log config that can never post."""
        for account in self.bot.config.accounts:
            policy = Policy.from_config(self.bot.config.schedule_for(account.name), self.tz)
            if problem := policy.never_posts():
                log.warning("this account can never post: %s", problem,
                            extra={"account": account.name})

    def run(self) -> None:
        """Start up, run until a signal, stop cleanly."""
        self.warn_about_config()
        self.bot.recover(actor=Actor.STARTUP)
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        self.schedule_jobs(self.bot.clock())
        log.info("daemon started: %d feed(s), %d account(s), timezone %s",
                 len(self.bot.config.feeds), len(self.bot.config.accounts),
                 self.bot.config.timezone)
        try:
            self.scheduler.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._drain()

    # -- stopping ----------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping.is_set():
            return
        log.info("received %s; stopping (in-flight work gets %ss)",
                 signal.Signals(signum).name,
                 int(self.bot.config.publish.stop_timeout.total_seconds()))
        self.stop()

    def stop(self) -> None:
        """Stop taking new work and wake the scheduler's main loop."""
        self.stopping.set()
        self.scheduler.shutdown(wait=False)

    def _drain(self) -> None:
        limit = self.bot.config.publish.stop_timeout.total_seconds()
        with self._busy_lock:
            finished = self._busy_lock.wait_for(lambda: self._busy == 0, timeout=limit)
        if not finished:
            log.error("work still in flight after %ss; exiting anyway. The exactly-once "
                      "check settles any post left publishing at the next start", int(limit))
            logging.shutdown()
            os._exit(0)  # a hung upload thread must not keep the process alive
        self.bot.close()
        log.info("stopped cleanly")

    @contextmanager
    def _work(self) -> Iterator[bool]:
        with self._busy_lock:
            if self.stopping.is_set():
                yield False
                return
            self._busy += 1
        try:
            yield True
        finally:
            with self._busy_lock:
                self._busy -= 1
                self._busy_lock.notify_all()

    # -- jobs --------------------------------------------------------------------

    def _guard(self, name: str, fn: Callable[[], object], **context: Any) -> None:
        with self._work() as allowed:
            if not allowed:
                return
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - the job wrapper is an edge
                log.exception("job %s failed", name, extra=context)
                try:
                    self.bot.store.add_event(at=self.bot.clock(), actor=Actor.SCHEDULER,
                                             kind="job_error", reason=f"{name}: "
                                             f"{type(exc).__name__}: {exc}", **context)
                except Exception:  # noqa: BLE001 - the store itself may be what failed
                    log.exception("could not record the job error")

    def _poll(self, feed: str) -> None:
        self._guard(f"poll:{feed}", lambda: self.bot.poll(feed), feed=feed)

    def _publish(self, account: str) -> None:
        self._guard(f"publish:{account}",
                    lambda: self.bot.publishing.publish_account(
                        account, actor=Actor.SCHEDULER, limit=1),
                    account=account)

    def _health(self) -> None:
        self._guard("health", lambda: check_health(self.bot))

    def _on_job_error(self, event: JobExecutionEvent) -> None:
        # Only reached if a wrapper itself failed; _guard catches everything else.
        log.error("job %s raised %r", event.job_id, event.exception)


def check_health(bot: Bot) -> None:
    """Raise alerts for silent accounts and failing feeds (once per incident)."""
    now = bot.clock()
    config = bot.config
    store = bot.store
    for feed in config.feeds:
        state = store.feed_state(feed.name)
        if state and state.failing_since and now - state.failing_since >= \
                config.alerts.feed_failing_after:
            bot.alerter.alert(
                f"feed:{feed.name}:failing",
                f"feed {feed.name} has failed since "
                f"{state.failing_since.astimezone(config.tz):%Y-%m-%d %H:%M %Z} "
                f"({state.consecutive_failures} polls): {state.last_reason}",
                actor=Actor.SCHEDULER, feed=feed.name)
    for account in config.accounts:
        record = store.account(account.name)
        if record.state != AccountState.ACTIVE:
            continue  # cooldowns and stops raise their own alerts
        queued = [p for p in store.queued_posts(account.name)
                  if p.next_attempt_at is None or p.next_attempt_at <= now]
        if not queued:
            continue
        policy = Policy.from_config(config.schedule_for(account.name), config.tz)
        start, end = policy.day_bounds(policy.local_day(now))
        if store.posted_count(account.name, start, end) >= policy.daily_cap:
            continue
        oldest = min(p.queued_at or p.created_at for p in queued)
        last = store.last_posted_at(account.name)
        since = max(oldest, last) if last else oldest
        silent = open_time_between(policy, since, now)
        if silent >= config.alerts.no_posts_after:
            bot.alerter.alert(
                f"account:{account.name}:idle",
                f"account {account.name} has {len(queued)} due post(s) but has posted nothing "
                f"for {silent} of posting-window time", actor=Actor.SCHEDULER,
                account=account.name)


def open_time_between(policy: Policy, start: datetime, end: datetime) -> timedelta:
    """How much of ``[start, end)`` lies inside the posting windows (quiet days excluded)."""
    if end <= start:
        return timedelta(0)
    intervals: list[tuple[datetime, datetime]] = []
    day = policy.local_day(start) - timedelta(days=1)
    last_day = policy.local_day(end)
    while day <= last_day:
        if day not in policy.quiet_days:
            day_start, next_day = policy.day_bounds(day)
            for window in policy.windows:
                open_at = day_start + timedelta(hours=window.start.hour,
                                                minutes=window.start.minute)
                if window.end is None:
                    close_at = next_day
                else:
                    close_at = day_start + timedelta(hours=window.end.hour,
                                                     minutes=window.end.minute)
                    if window.crosses_midnight:
                        close_at += timedelta(days=1)
                lo, hi = max(open_at, start), min(close_at, end)
                if lo < hi:
                    intervals.append((lo, hi))
        day += timedelta(days=1)
    total = timedelta(0)
    current: tuple[datetime, datetime] | None = None
    for lo, hi in sorted(intervals):
        if current and lo <= current[1]:
            current = (current[0], max(current[1], hi))
            continue
        if current:
            total += current[1] - current[0]
        current = (lo, hi)
    if current:
        total += current[1] - current[0]
    return total

