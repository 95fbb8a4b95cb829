"""When each feed is polled: the APScheduler trigger for its schedule.

Shared by the daemon, which runs the triggers, and by ``bot status``, which reads
their next fire times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import FeedConfig


class PhasedInterval(IntervalTrigger):  # type: ignore[misc]
    """Every ``interval`` on a fixed phase: ``start_date + k × interval``.

    Unlike a plain interval, the next run after any run, however late or early it was
    (the start-up poll, a run that waited behind others), falls back on the phase, and
    never sooner than half an interval after it. So feeds given different phases stay
    spread over the interval instead of all coming due in the same second.
    """

    __slots__ = ()

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        """The first phase slot at least half an interval after the previous run."""
        if previous_fire_time is None:
            fire: datetime | None = super().get_next_fire_time(None, now)
            return fire
        start = self.start_date.timestamp()
        earliest = previous_fire_time.timestamp() + self.interval_length / 2
        slots = max(0, math.ceil((earliest - start) / self.interval_length))
        moment = start + self.interval_length * slots
        if self.end_date and moment > self.end_date.timestamp():
            return None
        return datetime.fromtimestamp(moment, tz=self.timezone)


def feed_trigger(feed: FeedConfig, tz: ZoneInfo, *, phase: datetime | None = None
                 ) -> BaseTrigger:
    """The feed's poll trigger: its crontab (day_of_week by name) or every ``poll_every``.

    ``phase`` anchors an interval feed's runs (see :func:`poll_phases`). Config
    validation already refused numeric days of the week, so ``from_crontab`` cannot
    misread ``1-5`` (Monday to Friday in cron, Tuesday to Saturday here).
    """
    if feed.cron:
        return CronTrigger.from_crontab(feed.cron, timezone=tz)
    seconds = int(feed.poll_every.total_seconds())
    if phase is None:
        return IntervalTrigger(seconds=seconds, timezone=tz)
    return PhasedInterval(seconds=seconds, start_date=phase, timezone=tz)


def poll_phases(feeds: Sequence[FeedConfig], start: datetime) -> dict[str, datetime]:
    """An anchor per interval feed, spreading feeds with the same interval evenly over it.

    Feed ``i`` of ``n`` polled every ``T`` runs at ``start + i·T/n + k·T``: 3,000 feeds
    on one-minute polls come due 20 ms apart, not all in one second.
    """
    groups: dict[timedelta, list[FeedConfig]] = {}
    for feed in feeds:
        if not feed.cron:
            groups.setdefault(feed.poll_every, []).append(feed)
    phases = {}
    for every, members in groups.items():
        for rank, feed in enumerate(members):
            phases[feed.name] = start + every * rank / len(members)
    return phases
