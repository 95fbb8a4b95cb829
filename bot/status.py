"""``bot status``: what the bot will do next, per feed and per account."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.config import FeedConfig
from bot.models import AccountState, Status
from bot.policy import next_slot

if TYPE_CHECKING:
    from bot.core import Bot


def next_poll(feed: FeedConfig, last_polled_at: datetime | None, now: datetime,
              bot: Bot) -> datetime:
    """When the feed is next polled: its cron's next fire time, or last poll + poll_every."""
    if feed.cron:
        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(feed.cron, timezone=bot.config.tz)
        fire: datetime = trigger.get_next_fire_time(None, now)
        return fire
    if last_polled_at is None:
        return now
    return max(now, last_polled_at + feed.poll_every)


def collect_status(bot: Bot) -> dict[str, Any]:
    """The status as a JSON-ready dict (times in the configured zone, ISO 8601)."""
    now = bot.clock()
    tz = bot.config.tz
    store = bot.store

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    feeds = []
    for feed in bot.config.feeds:
        state = store.feed_state(feed.name)
        feeds.append({
            "name": feed.name,
            "url": feed.url,
            "next_poll": iso(next_poll(feed, state.last_polled_at if state else None, now, bot)),
            "last_status": state.last_status if state else None,
            "last_reason": state.last_reason if state else None,
            "last_polled_at": iso(state.last_polled_at) if state else None,
            "last_success_at": iso(state.last_success_at) if state else None,
            "last_new_article_at": iso(state.last_new_article_at) if state else None,
            "failing_since": iso(state.failing_since) if state else None,
        })
    accounts = []
    publishing = bot.publishing
    for account in bot.config.accounts:
        record = store.account(account.name)
        state_name = record.state
        until = record.until
        if state_name == AccountState.COOLDOWN and until is not None and until <= now:
            state_name, until = AccountState.ACTIVE, None
        counts = store.count_by_status(account.name)
        policy = publishing.policy(account.name)
        posted_on = publishing.posted_on(account.name)
        slot, waiting = next_slot(policy, now, last_posted_at=store.last_posted_at(account.name),
                                  posted_on=posted_on)
        if state_name == AccountState.COOLDOWN and slot is not None and until is not None:
            slot = max(slot, until)
        accounts.append({
            "name": account.name,
            "publisher": account.publisher,
            "state": state_name.value,
            "until": iso(until) if state_name == AccountState.COOLDOWN else None,
            "reason": record.reason if state_name != AccountState.ACTIVE else "",
            "next_slot": iso(slot) if state_name != AccountState.STOPPED else None,
            "waiting_for": waiting,
            "queued": counts.get(Status.QUEUED.value, 0),
            "pending_approval": counts.get(Status.PENDING_APPROVAL.value, 0),
            "failed": counts.get(Status.FAILED.value, 0),
            "posted_today": posted_on(policy.local_day(now)),
            "daily_cap": policy.daily_cap,
            "last_posted_at": iso(store.last_posted_at(account.name)),
        })
    alerts = [{"key": key, "message": message, "since": iso(opened)}
              for key, message, opened in store.open_alerts()]
    return {"now": iso(now), "timezone": bot.config.timezone, "feeds": feeds,
            "accounts": accounts, "alerts": alerts}
