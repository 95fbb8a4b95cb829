"""``bot run``: the daemon. APScheduler 3.11 runs poll jobs, publish ticks and a health check.

- The scheduler is a ``BlockingScheduler`` in the configured timezone (``Asia/Makassar``
  unless set), never the machine's local zone.
- One poll job per feed, on ``poll_every`` or on its ``cron`` expression; every feed is
  also polled at start-up. Polls run one at a time on their own worker: feeds share
  articles, and one writer at a time suits SQLite.
- One publish tick per account every ``[schedule] tick`` (10 s by default), so a post
  goes out within seconds of its slot; each tick publishes at most one post. A tick
  for an account in cooldown or stopped does nothing (and says so once, not per tick).
- A health job, every minute, raises alerts (once per incident) when an account with
  waiting posts stays silent for ``[alerts] no_posts_after`` of time in which it could
  have posted, or a feed keeps failing for ``[alerts] feed_failing_after``.
- Every job runs with ``max_instances=1`` and ``coalesce=True``; a job that raises is
  logged and recorded as a ``job_error`` event, and the scheduler keeps running.
- SIGTERM/SIGINT: no new work starts; an upload in flight gets ``[publish]
  stop_timeout`` (60 s) to finish; then the process exits 0. Whatever is left
  ``publishing`` is settled by the exactly-once check at the next start.
- One scheduler per store (bot.store.lock): before scheduling anything, ``bot run``
  takes the store's scheduler lock. If another ``bot run`` holds it, this one waits as
  a hot standby (config loaded, store open, heartbeat recorded) and tries the lock
  every 2 s, so it takes over within seconds of the leader's end. A leader that loses
  its lock (its database connection died and another process took over) stops at once
  and exits 1, so that its supervisor restarts it as a standby.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
    SchedulerEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import memory
from bot.config import Config
from bot.core import Bot
from bot.dates import local_time
from bot.errors import ConfigError, StoreError
from bot.models import AccountState, Actor, Role, SchedulerRecord, Status
from bot.pipeline.poll import PollReport
from bot.policy import Policy, open_time
from bot.store import Store
from bot.store.lock import (
    HEARTBEAT_EVERY,
    HEARTBEAT_STALE,
    STANDBY_RETRY,
    SchedulerLock,
    process_id,
)
from bot.triggers import feed_trigger, poll_phases
from bot.units import format_duration

if TYPE_CHECKING:
    from bot.telegram.worker import TelegramWorker

log = logging.getLogger(__name__)

FOLLOWUP_EVERY = timedelta(minutes=1)
HEALTH_EVERY = timedelta(minutes=1)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Never two runs of one job at once; runs missed while busy collapse into one.
_ONE_AT_A_TIME: dict[str, Any] = {"max_instances": 1, "coalesce": True}


@dataclass(frozen=True)
class ConfigWarning:
    """Config that can never post, reported at start-up."""

    account: str
    message: str


def config_warnings(bot: Bot) -> list[ConfigWarning]:
    """Accounts whose config means they can never post."""
    config = bot.config
    fed = {name for feed in config.feeds for name in feed.accounts}
    warnings = []
    for account in config.accounts:
        policy = Policy.from_config(config.schedule_for(account.name), config.tz)
        if problem := policy.never_posts():
            warnings.append(ConfigWarning(account.name, f"can never post: {problem}"))
        if account.name not in fed:
            warnings.append(ConfigWarning(
                account.name, "can never post: no [[feeds]] entry lists it in accounts"))
    return warnings


class SkippedTickFilter(logging.Filter):
    """Demotes APScheduler's "skipped: maximum number of running instances" for publish ticks.

    An upload that outlasts a 10 s tick is normal; a warning every tick would bury
    real ones. Polls that overrun their interval are still reported.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the record for publish ticks only."""
        if "maximum number of running instances" not in str(record.msg):
            return True
        job = record.args[0] if isinstance(record.args, tuple) and record.args else ""
        return not str(job).startswith("publish:")


class Leadership:
    """This process's place among the ``bot run``s of one store: leader or hot standby.

    :meth:`wait` blocks until the scheduler lock is this process's, writing a standby
    heartbeat meanwhile; :meth:`start` then runs a thread that writes the leader's
    heartbeat and checks, every ``HEARTBEAT_EVERY``, that the lock is still held.
    """

    def __init__(self, store: Store, lock: SchedulerLock, *, clock: Callable[[], datetime],
                 stopping: threading.Event) -> None:
        self.store = store
        self.lock = lock
        self.clock = clock
        self.stopping = stopping
        now = clock()
        self.host, _, pid = process_id().rpartition(":")
        self.pid = int(pid)
        self.id = f"{self.host}:{self.pid}:{now.strftime('%Y%m%dT%H%M%S')}"
        self.role = Role.STANDBY
        self.started_at = self.role_since = now
        self.lost = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._store_trouble = False

    def wait(self) -> bool:
        """Block until this process holds the lock (True) or a stop is asked (False)."""
        waited_since: float | None = None
        next_beat = 0.0
        while not self.stopping.is_set():
            if self._try():
                previous = self.leader()
                self.role, self.role_since = Role.LEADER, self.clock()
                self._beat()
                try:
                    # Whoever held the lock before is gone; its row would say otherwise.
                    self.store.forget_other_leaders(self.id)
                except StoreError as exc:
                    self._trouble(exc)
                if waited_since is not None:
                    log.info("took over as the scheduler from %s after %.1f s as standby (%s)",
                             previous or "a bot run that ended", time.monotonic() - waited_since,
                             self.lock.description)
                else:
                    log.info("this bot run is the scheduler (%s)", self.lock.description)
                return True
            if waited_since is None:
                waited_since = time.monotonic()
                log.info("another bot run is the scheduler (%s); waiting as a hot standby, "
                         "trying %s every %s", self.leader() or "holder unknown",
                         self.lock.description, format_duration(STANDBY_RETRY))
            if time.monotonic() >= next_beat:
                self._beat()
                next_beat = time.monotonic() + HEARTBEAT_EVERY.total_seconds()
            self.stopping.wait(STANDBY_RETRY.total_seconds())
        return False

    def leader(self) -> str | None:
        """``host:pid`` of the live leader, as its heartbeat row says."""
        try:
            rows = self.store.schedulers()
        except StoreError:
            return None
        now = self.clock()
        for row in rows:
            if row.role == Role.LEADER and row.id != self.id and \
                    now - row.heartbeat_at <= HEARTBEAT_STALE:
                return f"{row.host}:{row.pid}"
        return None

    def start(self, on_lost: Callable[[], None]) -> None:
        """As the leader: heartbeat and check the lock in a thread until :meth:`close`."""

        def keep() -> None:
            while not self._done.wait(HEARTBEAT_EVERY.total_seconds()):
                if not self.lock.held() and not self._retake():
                    self.lost = True
                    log.error("lost the scheduler lock (%s); stopping, so that only one "
                              "bot run schedules", self.lock.description)
                    on_lost()
                    return
                self._beat()
                self._prune()

        self._thread = threading.Thread(target=keep, name="bot-leadership", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the heartbeat, release the lock and remove this process's row."""
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=HEARTBEAT_EVERY.total_seconds() * 3)
        self.lock.release()
        try:
            self.store.forget_scheduler(self.id)
        except StoreError as exc:
            log.warning("could not remove this bot run's heartbeat row: %s", exc)

    def _try(self) -> bool:
        try:
            got = self.lock.acquire()
        except StoreError as exc:
            self._trouble(exc)
            return False
        return got

    def _retake(self) -> bool:
        """The lock's connection died: take the lock straight back if nobody else has."""
        if not self._try():
            return False
        log.warning("the scheduler lock's connection was lost; the lock is held again")
        return True

    def _beat(self) -> None:
        try:
            self.store.beat(SchedulerRecord(
                id=self.id, host=self.host, pid=self.pid, role=self.role,
                lock=self.lock.description, started_at=self.started_at,
                role_since=self.role_since, heartbeat_at=self.clock()))
        except StoreError as exc:
            self._trouble(exc)
            return
        if self._store_trouble:
            self._store_trouble = False
            log.info("the store answers again")

    def _prune(self) -> None:
        # Rows of processes that died without a clean stop; a day keeps them visible.
        try:
            self.store.prune_schedulers(self.clock() - timedelta(days=1))
        except StoreError as exc:
            self._trouble(exc)

    def _trouble(self, exc: StoreError) -> None:
        if not self._store_trouble:
            self._store_trouble = True
            log.warning("scheduler lock or heartbeat: %s; trying again", exc)


class Daemon:
    """The long-running worker."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.tz = bot.config.tz
        self.scheduler = BlockingScheduler(
            timezone=self.tz,
            executors={
                "default": ThreadPoolExecutor(max_workers=1 + len(bot.config.accounts)),
                "poll": ThreadPoolExecutor(max_workers=1),
                # Link checks wait on other sites: they never hold up polls or ticks.
                "followup": ThreadPoolExecutor(max_workers=1),
            },
            job_defaults=_ONE_AT_A_TIME,
        )
        self.stopping = threading.Event()
        bot.poller.should_stop = self.stopping.is_set
        self._busy = 0
        self._busy_lock = threading.Condition()
        self._blocked: dict[str, str | None] = {}
        self._stop_deadline: float | None = None
        self._skips_filter = SkippedTickFilter()
        self.leadership = Leadership(bot.store, bot.store.scheduler_lock(), clock=bot.clock,
                                     stopping=self.stopping)
        self.lag = PollLag()

    # -- setup -------------------------------------------------------------------

    def schedule_jobs(self, now: datetime) -> None:
        """Add one poll job per feed (first run now), a publish tick per account, the
        poll-request tick and the health check."""
        config = self.bot.config
        # Feeds on the same interval are spread over it: after the start-up poll, feed i
        # of n runs i/n of an interval after feed 0, so many feeds never come due at once.
        phases = poll_phases(config.feeds, now)
        for feed in config.feeds:
            trigger = feed_trigger(feed, self.tz, phase=phases.get(feed.name))
            # Half a period late is still worth polling; later than that, the next run
            # is near. A cron poll a minute late is still the same poll.
            grace = 60 if feed.cron else max(5, int(feed.poll_every.total_seconds() // 2))
            self.scheduler.add_job(
                self._poll, trigger, args=[feed.name], id=f"poll:{feed.name}",
                name=f"poll:{feed.name}", executor="poll", misfire_grace_time=grace,
                next_run_time=now, **_ONE_AT_A_TIME)
        self.lag.started(now, len(config.feeds))
        tick = config.schedule.tick.total_seconds()
        for account in config.accounts:
            self.scheduler.add_job(
                self._publish, IntervalTrigger(seconds=tick, timezone=self.tz),
                args=[account.name], id=f"publish:{account.name}",
                name=f"publish:{account.name}",
                # A tick later than one period is superseded by the next one anyway.
                misfire_grace_time=max(1, int(tick)),
                next_run_time=now + timedelta(seconds=1), **_ONE_AT_A_TIME)
        # Poll requests (the push trigger) are looked at every tick, on the poll worker,
        # so they never run beside a scheduled poll of the same feed.
        self.scheduler.add_job(
            self._requests, IntervalTrigger(seconds=tick, timezone=self.tz),
            id="requests", name="requests", executor="poll",
            misfire_grace_time=max(1, int(tick)), next_run_time=now + timedelta(seconds=1),
            **_ONE_AT_A_TIME)
        self.scheduler.add_job(
            self._health, IntervalTrigger(seconds=HEALTH_EVERY.total_seconds(),
                                          timezone=self.tz),
            id="health", name="health", misfire_grace_time=int(HEALTH_EVERY.total_seconds()),
            next_run_time=now + HEALTH_EVERY, **_ONE_AT_A_TIME)
        # Often, so each watched post's link check happens near its own offset within
        # [followup] check_every; each run checks only the posts that are due.
        self.scheduler.add_job(
            self._followup, IntervalTrigger(seconds=FOLLOWUP_EVERY.total_seconds(),
                                            timezone=self.tz),
            id="followup", name="followup", executor="followup",
            misfire_grace_time=int(FOLLOWUP_EVERY.total_seconds()),
            next_run_time=now + timedelta(seconds=5), **_ONE_AT_A_TIME)
        self.scheduler.add_listener(self._on_job_done,
                                    EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)

    def startup(self) -> None:
        """Warn about config that can never post; settle posts left ``publishing``."""
        self.warn_config()
        self.recover_leftovers()

    def warn_config(self) -> None:
        """Log the accounts whose config means they can never post."""
        for warning in config_warnings(self.bot):
            log.warning("this account %s", warning.message, extra={"account": warning.account})

    def recover_leftovers(self) -> None:
        """Settle posts left ``publishing`` by a process that died (exactly-once check)."""
        outcomes = self.bot.recover(actor=Actor.STARTUP)
        for outcome in outcomes:
            log.info("recovered post left publishing: %s (%s)", outcome.status, outcome.reason,
                     extra={"account": outcome.account, "post_id": outcome.post_id})
        waiting = self.bot.store.posts_with_status(Status.PUBLISHING)
        if waiting:
            log.info("%d post(s) still publishing; the exactly-once check settles them once "
                     "%s have passed since they were marked", len(waiting),
                     format_duration(self.bot.config.publish.publishing_grace))

    def serve(self) -> None:
        """Schedule the jobs and run the scheduler in this thread until :meth:`stop`."""
        with self._busy_lock:
            if self.stopping.is_set():
                return
        self.schedule_jobs(self.bot.clock())
        self.scheduler.add_listener(self._on_started, EVENT_SCHEDULER_STARTED)
        scheduler_log = logging.getLogger("apscheduler.scheduler")
        scheduler_log.addFilter(self._skips_filter)
        log.info("daemon started: %d feed(s), %d account(s), timezone %s",
                 len(self.bot.config.feeds), len(self.bot.config.accounts),
                 self.bot.config.timezone)
        try:
            self.scheduler.start()
        finally:
            scheduler_log.removeFilter(self._skips_filter)

    def _on_started(self, _event: SchedulerEvent) -> None:
        # A stop() that came after serve() looked but before the scheduler ran found
        # nothing to shut down; do it now, before the main loop waits.
        with self._busy_lock:
            if self.stopping.is_set() and self.scheduler.running:
                self.scheduler.shutdown(wait=False)

    def run(self) -> None:
        """Lead (or wait as standby), run until SIGTERM/SIGINT, drain (bounded), return.

        If work is still in flight after ``stop_timeout`` the process exits at once
        with status 0: a hung upload must not keep it alive, and the exactly-once check
        settles the post at the next start. Raises StoreError if the scheduler lock was
        lost (exit 1), after the work in flight had its time.
        """
        leadership = self.leadership
        with self._signals():
            self.warn_config()
            if not leadership.wait():
                leadership.close()
                log.info("stopped while standby")
                return
            leadership.start(on_lost=self.stop)
            self.recover_leftovers()
            # Telegram's getUpdates, like every job, runs in the leader only.
            telegram = self.start_telegram()
            try:
                self.serve()
            finally:
                # Stopped before the drain, so nothing is logged after "stopped cleanly";
                # what happens meanwhile is announced at the next start.
                if telegram is not None:
                    telegram.stop()
            self.lag.report(self.bot.config)  # the last, partial minute
            finished = self.drain()
        if not finished:
            logging.shutdown()
            os._exit(1 if leadership.lost else 0)
        leadership.close()
        if leadership.lost:
            raise StoreError(f"lost the scheduler lock ({leadership.lock.description}); "
                             "stopped so that only one bot run schedules")

    def start_telegram(self) -> TelegramWorker | None:
        """Start the Telegram face's threads when ``[telegram]`` is configured.

        A missing or malformed token turns Telegram off (an ERROR line and an alert),
        never publishing: the daemon goes on without it.
        """
        if self.bot.config.telegram is None:
            return None  # and its modules never imported: 0.8 MiB a worker without it keeps
        from bot.telegram.worker import TelegramWorker

        key = "telegram:off"
        try:
            worker = TelegramWorker.from_bot(self.bot)
        except ConfigError as exc:
            self.bot.alerter.alert(key, f"Telegram is off: {exc}", actor=Actor.STARTUP)
            return None
        if worker is None:
            return None
        self.bot.alerter.resolve(key, "Telegram is on", actor=Actor.STARTUP)
        worker.start()
        return worker

    # -- stopping ----------------------------------------------------------------

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """Route SIGTERM/SIGINT to :meth:`stop` through a watcher thread.

        The Python-level handler does nothing; the interpreter writes the signal
        number to a socket (``signal.set_wakeup_fd``) and a thread reads it. So the
        scheduler's locks are never taken inside a signal handler, where the main
        thread might already hold them.
        """
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        previous_handlers = {sig: signal.signal(sig, _noted) for sig in STOP_SIGNALS}
        previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)

        def watch() -> None:
            while data := reader.recv(64):
                for signum in data:
                    if signum in STOP_SIGNALS:
                        self._on_signal(signal.Signals(signum))

        watcher = threading.Thread(target=watch, name="bot-signals", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
            writer.close()  # the watcher's recv() returns b"" and it ends
            watcher.join(timeout=5)
            reader.close()

    def _on_signal(self, signum: signal.Signals) -> None:
        limit = int(self.bot.config.publish.stop_timeout.total_seconds())
        if self.stopping.is_set():
            log.info("received %s again; still stopping (in-flight work gets up to %ss)",
                     signum.name, limit)
            return
        log.info("received %s; stopping (in-flight work gets up to %ss)", signum.name, limit)
        self.stop()

    def stop(self) -> None:
        """Stop taking new work and end the scheduler's main loop (from any thread)."""
        with self._busy_lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
            self._stop_deadline = time.monotonic() + \
                self.bot.config.publish.stop_timeout.total_seconds()
            if self.scheduler.running:
                # Paused first, so the main loop submits nothing more to executors that
                # are about to shut down.
                self.scheduler.pause()
                self.scheduler.shutdown(wait=False)

    def drain(self) -> bool:
        """Wait (up to ``stop_timeout`` after the stop) for in-flight jobs; True if all ended."""
        deadline = self._stop_deadline or (
            time.monotonic() + self.bot.config.publish.stop_timeout.total_seconds())
        with self._busy_lock:
            finished = self._busy_lock.wait_for(
                lambda: self._busy == 0, timeout=max(0.0, deadline - time.monotonic()))
        if not finished:
            log.error("work still in flight after %s; exiting anyway. The exactly-once "
                      "check settles any post left publishing at the next start",
                      format_duration(self.bot.config.publish.stop_timeout))
            return False
        log.info("stopped cleanly")
        return True

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
        """Run one job: not after a stop; log and record anything it raises."""
        with self._work() as allowed:
            if not allowed:
                return
            try:
                fn()
            except Exception as exc:  # the job wrapper is an edge: the daemon must go on
                log.exception("job %s failed", name, extra=context)
                try:
                    self.bot.store.add_event(
                        at=self.bot.clock(), actor=Actor.SCHEDULER, kind="job_error",
                        reason=f"{name}: {type(exc).__name__}: {exc}", **context)
                except Exception:  # the store itself may be what failed
                    log.exception("could not record the job error")

    def _poll(self, feed: str) -> None:
        self.lag.running(feed, time.time())

        self._guard(f"poll:{feed}", lambda: self._after_polls(self.bot.poll(feed)), feed=feed)

    def _requests(self) -> None:
        self._guard("requests", lambda: self._after_polls(self.bot.poll_requested().reports))

    def _after_polls(self, reports: list[PollReport]) -> None:
        """Publish what the polls queued without waiting for a tick; free render memory."""
        for report in reports:
            if report.queued:
                self._nudge(self.bot.config.feed(report.feed).accounts)
        if any(r.new for r in reports):
            self.bot.release_memory()  # the cards are made: their caches and freed buffers

    def _publish(self, account: str) -> None:
        self._guard(f"publish:{account}", lambda: self.publish_tick(account), account=account)

    def _followup(self) -> None:
        self._guard("followup", self.bot.follow_up)

    def _health(self) -> None:
        def health() -> None:
            self.lag.report(self.bot.config)
            check_health(self.bot)

        self._guard("health", health)

    def _nudge(self, accounts: list[str]) -> None:
        """Run these accounts' publish ticks now: a post just queued need not wait a tick."""
        if self.stopping.is_set():
            return
        now = datetime.now(self.tz)
        for account in accounts:
            with contextlib.suppress(JobLookupError):
                self.scheduler.modify_job(f"publish:{account}", next_run_time=now)

    def _on_job_done(self, event: SchedulerEvent) -> None:
        job_id = getattr(event, "job_id", "") or ""
        if not job_id.startswith("poll:") or not isinstance(event, JobExecutionEvent):
            return
        feed = job_id.removeprefix("poll:")
        if event.code == EVENT_JOB_MISSED:
            self.lag.missed(feed)
        else:
            self.lag.finished(feed, event.scheduled_run_time, time.time())

    def publish_tick(self, account: str) -> None:
        """Publish at most one due post for the account, unless it is cooling down or stopped."""
        publishing = self.bot.publishing
        block = publishing.account_block(account, self.bot.clock(), actor=Actor.SCHEDULER)
        if block != self._blocked.get(account):
            if block:
                log.info("not publishing: %s", block, extra={"account": account})
            elif account in self._blocked:
                log.info("publishing again", extra={"account": account})
            self._blocked[account] = block
        if block:
            return
        if publishing.publish_account(account, actor=Actor.SCHEDULER, limit=1):
            memory.trim()  # an upload's buffers, freed but kept by the allocator


class PollLag:
    """How late polls start against their schedule: the daemon's own speedometer.

    The start-up round (every feed at once) is timed as a whole; after it, each poll's
    delay from its scheduled time to its start is kept, and the health job logs a
    summary once a minute, with a warning when polls fall behind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[str, float] = {}
        self._lags: list[float] = []
        self._missed = 0
        self._boot: float | None = None
        self._boot_left = 0
        self._window_start = time.time()

    def started(self, at: datetime, feeds: int) -> None:
        """The daemon scheduled its start-up round of ``feeds`` polls for ``at``."""
        with self._lock:
            self._boot = at.timestamp()
            self._boot_left = feeds

    def running(self, feed: str, now: float) -> None:
        """A poll of ``feed`` starts."""
        with self._lock:
            self._started[feed] = now

    def missed(self, feed: str) -> None:
        """A poll of ``feed`` was skipped: it came due more than its grace time late."""
        with self._lock:
            self._missed += 1

    def finished(self, feed: str, scheduled: datetime, now: float) -> None:
        """A poll of ``feed`` that was due at ``scheduled`` ended."""
        with self._lock:
            began = self._started.pop(feed, now)
            if self._boot is not None and scheduled.timestamp() == self._boot:
                self._boot_left -= 1
                if self._boot_left > 0:
                    return
                log.info("start-up polls done: every feed polled once in %.2fs",
                         now - self._boot)
                self._boot = None
                return
            self._lags.append(max(0.0, began - scheduled.timestamp()))

    def report(self, config: Config) -> None:
        """Log the polls since the last report and how late they started."""
        with self._lock:
            lags, missed = sorted(self._lags), self._missed
            self._lags, self._missed = [], 0
            since, self._window_start = self._window_start, time.time()
        if not lags and not missed:
            return
        window = format_duration(timedelta(seconds=round(self._window_start - since)))
        if lags:
            p99 = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
            text = (f"{len(lags)} polls in the last {window}, {missed} missed; started "
                    f"p50 {statistics.median(lags):.2f}s, p99 {p99:.2f}s, "
                    f"max {lags[-1]:.2f}s after their scheduled time")
        else:
            p99 = 0.0
            text = f"0 polls in the last {window}, {missed} missed"
        shortest = min((f.poll_every for f in config.feeds if not f.cron),
                       default=timedelta(minutes=1))
        if missed or p99 > min(60.0, shortest.total_seconds() / 4):
            log.warning("polls are falling behind: %s (poll fewer feeds, or less often)",
                        text)
        else:
            log.info("polls: %s", text)


def check_health(bot: Bot) -> None:
    """Raise (and resolve) alerts for silent accounts and failing feeds, once per incident."""
    now = bot.clock()
    config = bot.config
    states = bot.store.feed_states()  # one query, not one per feed
    for feed in config.feeds:
        state = states.get(feed.name)
        if state and state.failing_since and \
                now - state.failing_since >= config.alerts.feed_failing_after:
            bot.alerter.alert(
                f"feed:{feed.name}:failing",
                f"feed {feed.name} has failed since "
                f"{local_time(state.failing_since, config.tz)} "
                f"({state.consecutive_failures} polls): {state.last_reason}",
                actor=Actor.SCHEDULER, feed=feed.name)
    for account in config.accounts:
        _check_idle(bot, account.name, now)


def _check_idle(bot: Bot, account: str, now: datetime) -> None:
    """The idle alarm: posts wait, yet nothing went out for ``no_posts_after`` of open time.

    Open time is time in which the account could have posted: inside its windows,
    outside quiet days and days whose cap was reached, after ``min_gap`` and after
    the account last came back from a cooldown or stop.
    """
    store = bot.store
    key = f"account:{account}:idle"
    if store.account(account).state != AccountState.ACTIVE:
        return  # cooldowns and stops raise their own alerts
    due = [p for p in store.queued_posts(account)
           if p.next_attempt_at is None or p.next_attempt_at <= now]
    if not due:
        bot.alerter.resolve(key, f"account {account} has no posts waiting",
                            actor=Actor.SCHEDULER, account=account)
        return
    publishing = bot.publishing
    policy = publishing.policy(account)
    posted_on = publishing.posted_on(account)
    since = min(p.queued_at or p.created_at for p in due)
    last = store.last_posted_at(account)
    if last is not None:
        since = max(since, last + policy.min_gap)
    changes = store.events(kind="account", account=account, limit=1)
    if changes:
        since = max(since, changes[-1].at)
    silent = open_time(policy, since, now,
                       skip_day=lambda day: posted_on(day) >= policy.daily_cap)
    if silent >= bot.config.alerts.no_posts_after:
        bot.alerter.alert(
            key,
            f"account {account} has {len(due)} post(s) waiting but has posted nothing for "
            f"{format_duration(silent)} of posting-window time "
            f"(since {local_time(since, bot.config.tz)})",
            actor=Actor.SCHEDULER, account=account, data={"waiting": len(due)})


def _noted(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler for stop signals: the wakeup fd carries the news."""
