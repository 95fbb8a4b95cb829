"""When each feed is polled: the APScheduler trigger for its schedule.

Shared by the daemon, which runs the triggers, and by ``bot status``, which reads
their next fire times.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import FeedConfig


def feed_trigger(feed: FeedConfig, tz: ZoneInfo) -> BaseTrigger:
    """The feed's poll trigger: its crontab (day_of_week by name) or every ``poll_every``.

    Config validation already refused numeric days of the week, so ``from_crontab``
    cannot misread ``1-5`` (Monday to Friday in cron, Tuesday to Saturday here).
    """
    if feed.cron:
        return CronTrigger.from_crontab(feed.cron, timezone=tz)
    return IntervalTrigger(seconds=int(feed.poll_every.total_seconds()), timezone=tz)
