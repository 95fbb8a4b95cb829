"""``bot status``: what the bot will do next, per feed and per account.

Read from the store and the config, so it works whether or not ``bot run`` is up;
``next_poll`` is when the daemon's schedule polls the feed next (a crontab's next
fire time, or the last poll plus ``poll_every``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config, FeedConfig
from bot.models import AccountState, Status
from bot.pipeline.publish import Publishing
from bot.policy import Bypass, next_slot
from bot.store import PostFilter, Store
from bot.triggers import feed_trigger
from bot.units import format_duration


def next_poll(feed: FeedConfig, last_polled_at: datetime | None, now: datetime,
              tz: ZoneInfo) -> datetime:
    """When the feed is next polled: its crontab's next fire time, or last poll + poll_every."""
    if feed.cron:
        fire: datetime | None = feed_trigger(feed, tz).get_next_fire_time(None, now)
        if fire is not None:
            return fire
    if last_polled_at is None:
        return now
    return max(now, last_polled_at + feed.poll_every)


def collect_status(store: Store, *, config: Config, now: datetime,
                   publishing: Publishing) -> dict[str, Any]:
    """The status as a JSON-ready dict (times in the configured zone, ISO 8601)."""
    tz = config.tz

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat(timespec="seconds") if value else None

    feeds = []
    for feed in config.feeds:
        state = store.feed_state(feed.name)
        newest = store.posts(PostFilter(feed=feed.name, limit=1))
        every = f"every {format_duration(feed.poll_every)}"
        feeds.append({
            "name": feed.name,
            "url": feed.url,
            "schedule": f"cron {feed.cron}" if feed.cron else every,
            "next_poll": iso(next_poll(feed, state.last_polled_at if state else None, now, tz)),
            "last_status": state.last_status if state else None,
            "last_reason": state.last_reason if state else None,
            "last_polled_at": iso(state.last_polled_at) if state else None,
            "last_success_at": iso(state.last_success_at) if state else None,
            "last_new_article_at": iso(state.last_new_article_at) if state else None,
            "last_new_article": ({"title": newest[0].title, "link": newest[0].link,
                                  "post_id": newest[0].id} if newest else None),
            "failing_since": iso(state.failing_since) if state else None,
            "consecutive_failures": state.consecutive_failures if state else 0,
        })
    accounts = [_account_status(store, config, publishing, account.name, now, iso)
                for account in config.accounts]
    alerts = [{"key": key, "message": message, "since": iso(opened)}
              for key, message, opened in store.open_alerts()]
    return {"now": iso(now), "timezone": config.timezone, "feeds": feeds,
            "accounts": accounts, "alerts": alerts}


def _account_status(store: Store, config: Config, publishing: Publishing, name: str,
                    now: datetime,
                    iso: Callable[[datetime | None], str | None]) -> dict[str, Any]:
    record = store.account(name)
    state, until, reason = record.state, record.until, record.reason
    if state == AccountState.COOLDOWN and (until is None or until <= now):
        # Lifted by the next publish tick; status only reads, so it just says so.
        state, until, reason = AccountState.ACTIVE, None, ""
    policy = publishing.policy(name)
    posted_on = publishing.posted_on(name)
    last = store.last_posted_at(name)
    queue = store.queued_posts(name)
    head = queue[0] if queue else None
    slot: datetime | None = None
    waiting = ""
    if state == AccountState.STOPPED:
        waiting = "the account is stopped"
    else:
        start = max(now, until) if state == AccountState.COOLDOWN and until else now
        bypass = publishing.bypass_for(head) if head else Bypass()
        slot, waiting = next_slot(policy, start, last_posted_at=last, posted_on=posted_on,
                                  bypass=bypass)
        if start > now:
            waiting = f"cooldown until {iso(until)}"
        if head and head.next_attempt_at and slot and head.next_attempt_at > slot:
            slot, waiting = head.next_attempt_at, f"retry backoff of post {head.id}"
    counts = store.count_by_status(name)
    return {
        "name": name,
        "publisher": config.account(name).publisher,
        "state": state.value,
        "until": iso(until) if state == AccountState.COOLDOWN else None,
        "reason": reason if state != AccountState.ACTIVE else "",
        "next_slot": iso(slot),
        "waiting_for": waiting,
        "next_post": ({"id": head.id, "title": head.title, "priority": head.priority}
                      if head else None),
        "queued": len(queue),
        "pending_approval": counts.get(Status.PENDING_APPROVAL.value, 0),
        "publishing": counts.get(Status.PUBLISHING.value, 0),
        "failed": counts.get(Status.FAILED.value, 0),
        "posted_today": posted_on(policy.local_day(now)),
        "daily_cap": policy.daily_cap,
        "last_posted_at": iso(last),
    }


def format_status(data: dict[str, Any]) -> str:
    """The human-readable ``bot status`` (the same facts as ``--format json``)."""
    lines = [f"Now {data['now']} ({data['timezone']})", "", "Feeds:"]
    for feed in data["feeds"]:
        lines.append(f"  {feed['name']} ({feed['schedule']}): next poll {feed['next_poll']}")
        last = feed["last_status"] or "never polled"
        if feed["last_reason"]:
            last += f": {feed['last_reason']}"
        lines.append(f"    last poll {feed['last_polled_at'] or '-'}: {last}")
        if feed["failing_since"]:
            lines.append(f"    failing since {feed['failing_since']} "
                         f"({feed['consecutive_failures']} polls)")
        article = feed["last_new_article"]
        if article:
            lines.append(f"    last new article {feed['last_new_article_at'] or '-'}: "
                         f"{article['title']}")
    lines += ["", "Accounts:"]
    for acc in data["accounts"]:
        state = acc["state"] + (f" until {acc['until']}" if acc["until"] else "")
        if acc["reason"]:
            state += f": {acc['reason']}"
        lines.append(f"  {acc['name']} ({acc['publisher']}): {state}")
        slot = acc["next_slot"] or "none"
        if acc["waiting_for"]:
            slot += f" ({acc['waiting_for']})"
        lines.append(f"    next slot {slot}")
        lines.append(f"    queued {acc['queued']}, pending approval {acc['pending_approval']}, "
                     f"failed {acc['failed']}; posted today {acc['posted_today']}/"
                     f"{acc['daily_cap']}")
    for alert in data["alerts"]:
        lines.append(f"ALERT since {alert['since']}: {alert['message']}")
    return "\n".join(lines)
