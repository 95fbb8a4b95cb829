"""The posting policy: when may an account's next post go out?

Pure functions of the clock and the account's history, so they can be tested with
any time. All wall-clock reasoning (windows, quiet days, the day of the daily cap)
happens in the configured timezone; ``min_gap`` counts from the previous ``posted_at``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import ScheduleConfig
from bot.units import Window

# A month of look-ahead is plenty: beyond that the config can never post.
_MAX_STEPS = 400


@dataclass(frozen=True)
class Bypass:
    """What a priority rule (or ``publish --force``) lets a post ignore."""

    window: bool = False
    min_gap: bool = False
    cap: bool = False
    quiet_days: bool = False

    @classmethod
    def force(cls) -> Bypass:
        """``publish --force``: windows, quiet days, spacing and the cap are all ignored."""
        return cls(window=True, min_gap=True, cap=True, quiet_days=True)


@dataclass(frozen=True)
class Policy:
    """One account's effective schedule."""

    windows: tuple[Window, ...]
    min_gap: timedelta
    daily_cap: int
    quiet_days: frozenset[date]
    max_age: timedelta
    tz: ZoneInfo

    @classmethod
    def from_config(cls, schedule: ScheduleConfig, tz: ZoneInfo) -> Policy:
        """Build from an account's effective ``[schedule]``."""
        return cls(
            windows=tuple(schedule.windows),
            min_gap=schedule.min_gap,
            daily_cap=schedule.daily_cap,
            quiet_days=frozenset(schedule.quiet_days),
            max_age=schedule.max_age,
            tz=tz,
        )

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """The UTC start and end of a local calendar day."""
        start = datetime.combine(day, time(0), tzinfo=self.tz)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        """The local calendar day of a moment."""
        return moment.astimezone(self.tz).date()

    def in_window(self, moment: datetime) -> bool:
        """Whether the local time of ``moment`` is inside a posting window."""
        local = moment.astimezone(self.tz).time()
        return any(w.contains(local) for w in self.windows)

    def never_posts(self) -> str | None:
        """Why this schedule can never post, or None."""
        if not self.windows:
            return "no posting windows are configured"
        if self.daily_cap == 0:
            return "daily_cap is 0"
        return None


@dataclass(frozen=True)
class Verdict:
    """Whether a post may go out now, and if not, why and when."""

    ok: bool
    reason: str
    next_slot: datetime | None


def next_slot(
    policy: Policy,
    now: datetime,
    *,
    last_posted_at: datetime | None,
    posted_on: Callable[[date], int],
    bypass: Bypass = Bypass(),
) -> tuple[datetime | None, str]:
    """The earliest moment at or after ``now`` when a post may go out, and what waits.

    ``posted_on(day)`` counts the account's posts on a local calendar day. Returns
    ``(None, reason)`` when no moment in the next year qualifies.
    """
    if not bypass.window and not policy.windows:
        return None, "no posting windows are configured"
    if not bypass.cap and policy.daily_cap == 0:
        return None, "daily_cap is 0"
    moment = now
    reason = ""
    if not bypass.min_gap and last_posted_at is not None and policy.min_gap:
        earliest = last_posted_at + policy.min_gap
        if earliest > moment:
            moment = earliest
            reason = (f"min_gap {_fmt_gap(policy.min_gap)} since the last post at "
                      f"{_fmt_local(last_posted_at, policy.tz)}")
    for _ in range(_MAX_STEPS):
        local = moment.astimezone(policy.tz)
        day = local.date()
        if not bypass.quiet_days and day in policy.quiet_days:
            moment = policy.day_bounds(day)[1]
            reason = reason or f"quiet day {day.isoformat()}"
            continue
        if not bypass.cap and posted_on(day) >= policy.daily_cap:
            moment = policy.day_bounds(day)[1]
            reason = reason or f"daily_cap {policy.daily_cap} reached for {day.isoformat()}"
            continue
        if not bypass.window and not policy.in_window(moment):
            opening = min(_next_open(w, local) for w in policy.windows)
            moment = opening.astimezone(UTC)
            reason = reason or (
                f"outside posting windows {', '.join(map(str, policy.windows))} "
                f"(now {_fmt_local(now, policy.tz)})")
            continue
        return moment, reason
    return None, reason or "no slot within a year"


def verdict(
    policy: Policy,
    now: datetime,
    *,
    last_posted_at: datetime | None,
    posted_on: Callable[[date], int],
    bypass: Bypass = Bypass(),
) -> Verdict:
    """May a post go out at ``now``?"""
    slot, reason = next_slot(policy, now, last_posted_at=last_posted_at, posted_on=posted_on,
                             bypass=bypass)
    if slot is not None and slot <= now:
        return Verdict(True, "", slot)
    return Verdict(False, reason, slot)


def is_expired(published: datetime | None, created: datetime, now: datetime,
               max_age: timedelta) -> bool:
    """Whether a post's article is older than ``max_age`` now."""
    reference = published or created
    return now - reference > max_age


def _next_open(window: Window, local: datetime) -> datetime:
    # Window.next_open works on naive wall-clock arithmetic; re-attach the zone so
    # the result is a real instant (no DST in WITA, but other zones have it).
    candidate = window.next_open(local.replace(tzinfo=None))
    return candidate.replace(tzinfo=local.tzinfo)


def _fmt_local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _fmt_gap(delta: timedelta) -> str:
    from bot.units import format_duration

    return format_duration(delta)


def describe_windows(windows: Sequence[Window]) -> str:
    """``06:00-22:00, 22:30-23:30``."""
    return ", ".join(map(str, windows))
