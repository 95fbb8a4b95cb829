"""``bot status``: what the bot will do next, per feed and per account.

Read from the store and the config, so it works whether or not ``bot run`` is up;
``next_poll`` is when the daemon's schedule polls the feed next (a crontab's next
fire time, or the last poll plus ``poll_every``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Config, FeedConfig
from bot.errors import StoreError
from bot.models import AccountState, Status
from bot.pipeline.publish import Publishing
from bot.policy import Bypass, forecast, next_slot
from bot.store import PostFilter, Store
from bot.store.lock import HEARTBEAT_STALE
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
    states = store.feed_states()
    for feed in config.feeds:
        state = states.get(feed.name)
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
            "accounts": accounts, "alerts": alerts,
            "schedulers": _schedulers(store, now, iso)}


def _schedulers(store: Store, now: datetime,
                iso: Callable[[datetime | None], str | None]) -> list[dict[str, Any]]:
    """The ``bot run`` processes on this store, from their heartbeat rows."""
    return [{
        "id": row.id,
        "host": row.host,
        "pid": row.pid,
        "role": row.role.value,
        "since": iso(row.role_since),
        "started_at": iso(row.started_at),
        "heartbeat_at": iso(row.heartbeat_at),
        "heartbeat_age_s": round(max(0.0, (now - row.heartbeat_at).total_seconds()), 1),
        "alive": now - row.heartbeat_at <= HEARTBEAT_STALE,
        "lock": row.lock,
    } for row in store.schedulers()]


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


def queue_forecast(store: Store, *, config: Config, now: datetime, publishing: Publishing,
                   per_account: int = 50) -> list[dict[str, Any]]:
    """Every account's queue in publishing order, each post with its expected time.

    Slots follow one another (a post taken counts for ``min_gap`` and the cap); a
    cooldown starts the account's slots at its end, a stopped account has none.
    Times are a forecast: a retry, an expiry or a new priority post changes them.
    """
    entries: list[dict[str, Any]] = []
    for account in config.accounts:
        name = account.name
        queue = store.queued_posts(name, limit=per_account)
        if not queue:
            continue
        record = store.account(name)
        note = ""
        slots: list[datetime | None]
        if record.state == AccountState.STOPPED:
            slots, note = [None] * len(queue), "akun berhenti"
        else:
            start = now
            if record.state == AccountState.COOLDOWN and record.until and record.until > now:
                start, note = record.until, "setelah jeda akun"
            slots = forecast(publishing.policy(name), start,
                             [publishing.bypass_for(p) for p in queue],
                             last_posted_at=store.last_posted_at(name),
                             posted_on=publishing.posted_on(name))
        for post, slot in zip(queue, slots, strict=True):
            if slot is not None and post.next_attempt_at and post.next_attempt_at > slot:
                slot = post.next_attempt_at
            entries.append({"account": name, "post": post, "expected_at": slot,
                            "post_now": post.post_now_at is not None, "note": note})
    far = datetime.max.replace(tzinfo=now.tzinfo)
    entries.sort(key=lambda e: (e["expected_at"] or far, e["account"]))
    return entries


def collect_health(store: Store, *, config: Config, now: datetime) -> dict[str, Any]:
    """``/healthz``: is the store usable, and are the feeds still being polled?

    ``ok`` is false when the store fails or a feed's last poll is older than three of
    its intervals (for a crontab, three missed fire times), as when the worker died.
    """
    try:
        feeds: dict[str, Any] = {}
        states = store.feed_states()
        for feed in config.feeds:
            state = states.get(feed.name)
            last = state.last_polled_at if state else None
            feeds[feed.name] = {
                "last_poll_age_s": round((now - last).total_seconds()) if last else None,
                "last_status": state.last_status if state else None,
                "stale": _stale(feed, last, now, config.tz),
            }
        accounts = {}
        for account in config.accounts:
            record = store.account(account.name)
            active = (record.state == AccountState.COOLDOWN
                      and (record.until is None or record.until <= now))
            accounts[account.name] = {
                "state": AccountState.ACTIVE.value if active else record.state.value,
                "until": (record.until.isoformat()
                          if record.until and not active and record.state == "cooldown"
                          else None)}
    except StoreError as exc:
        return {"ok": False, "store": f"error: {exc}", "last_poll_age_s": None,
                "feeds": {}, "accounts": {}}
    ages = [f["last_poll_age_s"] for f in feeds.values() if f["last_poll_age_s"] is not None]
    return {"ok": not any(f["stale"] for f in feeds.values()), "store": "ok",
            "last_poll_age_s": min(ages) if ages else None, "feeds": feeds,
            "accounts": accounts}


def _stale(feed: FeedConfig, last: datetime | None, now: datetime, tz: ZoneInfo) -> bool:
    if last is None:
        return True
    if feed.cron:
        trigger = feed_trigger(feed, tz)
        fire: datetime = last
        for _ in range(3):
            following: datetime | None = trigger.get_next_fire_time(
                None, fire + timedelta(seconds=1))
            if following is None:
                return False
            fire = following
        return now > fire
    return now - last > 3 * feed.poll_every


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
    lines += ["", "Scheduler:"]
    alive = [s for s in data.get("schedulers", []) if s["alive"]]
    if not any(s["role"] == "leader" for s in alive):
        lines.append("  no bot run is scheduling (no leader heartbeat in the last "
                     f"{format_duration(HEARTBEAT_STALE)})")
    for sched in data.get("schedulers", []):
        what = ("scheduling" if sched["role"] == "leader"
                else "hot standby, waiting to take over")
        if not sched["alive"]:
            what = f"gone? ({sched['role']}; no heartbeat since {sched['heartbeat_at']})"
        lines.append(f"  {sched['role']} {sched['host']}:{sched['pid']}: {what}; since "
                     f"{sched['since']}, heartbeat {sched['heartbeat_age_s']:.0f}s ago")
    for alert in data["alerts"]:
        lines.append(f"ALERT since {alert['since']}: {alert['message']}")
    return "\n".join(lines)
