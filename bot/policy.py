"""The posting policy: when may an account's next post go out?

Pure functions of the clock and the account's history, so they can be tested with
any time. All wall-clock reasoning (windows, quiet days, the day of the daily cap)
happens in the configured timezone; ``min_gap`` counts from the previous ``posted_at``.

A post may go out at a moment when all of these hold (a :class:`Bypass` lifts some):

- the moment's local time is inside one of the ``windows`` (``22:00-02:00`` crosses
  midnight; the part after midnight belongs to the next calendar day);
- its local date is not one of the ``quiet_days``;
- fewer than ``daily_cap`` posts went out on that local date;
- at least ``min_gap`` has passed since the account's last post.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import PriorityRule, ScheduleConfig
from bot.dates import local_time
from bot.units import Window, format_duration

# Every step moves to the next window opening or the next day, so this is about a
# year of look-ahead; a schedule with no slot in that time can never post.
_MAX_STEPS = 1200

PostedOn = Callable[[date], int]


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

    @classmethod
    def from_rule(cls, rule: PriorityRule) -> Bypass:
        """What a matching priority rule allows."""
        return cls(window=rule.bypass_window, min_gap=rule.bypass_min_gap,
                   cap=rule.bypass_cap, quiet_days=rule.bypass_quiet_days)


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
            return "no posting windows are configured ([schedule] windows = [])"
        if self.daily_cap == 0:
            return "daily_cap is 0"
        return None


@dataclass(frozen=True)
class Verdict:
    """Whether a post may go out now; if not, why, and the next moment it may."""

    ok: bool
    reason: str
    next_slot: datetime | None


def next_slot(
    policy: Policy,
    now: datetime,
    *,
    last_posted_at: datetime | None,
    posted_on: PostedOn,
    bypass: Bypass = Bypass(),
) -> tuple[datetime | None, str]:
    """The earliest moment at or after ``now`` when a post may go out, and what it waits for.

    ``posted_on(day)`` counts the account's posts on a local calendar day. Returns
    ``(None, reason)`` when no moment in about a year qualifies. The reason is empty
    when the slot is ``now``.
    """
    if not bypass.window and not policy.windows:
        return None, "no posting windows are configured"
    if not bypass.cap and policy.daily_cap == 0:
        return None, "daily_cap is 0"
    moment = now
    # The reason names what the slot waits for: a day-level block (quiet day, cap)
    # outranks the window that follows it, and a window outranks min_gap.
    reason, rank = "", 0
    if not bypass.min_gap and last_posted_at is not None and policy.min_gap:
        earliest = last_posted_at + policy.min_gap
        if earliest > moment:
            moment = earliest
            reason, rank = (f"min_gap {format_duration(policy.min_gap)} since the last post "
                            f"at {local_time(last_posted_at, policy.tz)}"), 1
    for _ in range(_MAX_STEPS):
        local = moment.astimezone(policy.tz)
        day = local.date()
        if not bypass.quiet_days and day in policy.quiet_days:
            moment = policy.day_bounds(day)[1]
            if rank < 3:
                reason, rank = f"quiet day {day.isoformat()}", 3
            continue
        if not bypass.cap and posted_on(day) >= policy.daily_cap:
            moment = policy.day_bounds(day)[1]
            if rank < 3:
                reason, rank = (f"daily_cap {policy.daily_cap} reached for "
                                f"{day.isoformat()}"), 3
            continue
        if not bypass.window and not policy.in_window(moment):
            opening = min(_next_open(w, local) for w in policy.windows)
            moment = opening.astimezone(UTC)
            if rank < 2:
                reason, rank = (f"outside posting windows {describe_windows(policy.windows)} "
                                f"(now {local_time(now, policy.tz)})"), 2
            continue
        return moment, reason
    return None, reason or "no slot within a year"


def verdict(
    policy: Policy,
    now: datetime,
    *,
    last_posted_at: datetime | None,
    posted_on: PostedOn,
    bypass: Bypass = Bypass(),
) -> Verdict:
    """May a post go out at ``now``?"""
    slot, reason = next_slot(policy, now, last_posted_at=last_posted_at, posted_on=posted_on,
                             bypass=bypass)
    if slot is not None and slot <= now:
        return Verdict(True, "", slot)
    return Verdict(False, reason, slot)


def forecast(
    policy: Policy,
    now: datetime,
    bypasses: Sequence[Bypass],
    *,
    last_posted_at: datetime | None,
    posted_on: PostedOn,
) -> list[datetime | None]:
    """Expected publishing times of a queue, in order: one per entry of ``bypasses``.

    Each post takes the first slot after the one before it, with that slot counted as
    a post (for ``min_gap`` and the daily cap). ``None`` from the first post that has
    no slot within about a year onwards. Retries and expiry are not foreseen.
    """
    extra: dict[date, int] = {}

    def counted(day: date) -> int:
        return posted_on(day) + extra.get(day, 0)

    slots: list[datetime | None] = []
    moment, last = now, last_posted_at
    for bypass in bypasses:
        slot, _ = next_slot(policy, moment, last_posted_at=last, posted_on=counted,
                            bypass=bypass)
        slots.append(slot)
        if slot is None:
            slots.extend([None] * (len(bypasses) - len(slots)))
            break
        day = policy.local_day(slot)
        extra[day] = extra.get(day, 0) + 1
        moment, last = slot, slot
    return slots


def is_expired(published: datetime | None, created: datetime, now: datetime,
               max_age: timedelta) -> bool:
    """Whether the article (published, else first seen) is older than ``max_age`` now."""
    reference = published or created
    return now - reference > max_age


def open_time(
    policy: Policy,
    start: datetime,
    end: datetime,
    *,
    skip_day: Callable[[date], bool] = lambda _day: False,
) -> timedelta:
    """How much of ``[start, end)`` lies inside the posting windows.

    Quiet days, and local days for which ``skip_day`` is true (say, the cap was
    reached), do not count. Used by the health alarm: silence is measured only in
    time when the account could have posted.
    """
    if end <= start or not policy.windows:
        return timedelta(0)
    intervals: list[tuple[datetime, datetime]] = []
    day = policy.local_day(start)
    last_day = policy.local_day(end)
    while day <= last_day:
        if day not in policy.quiet_days and not skip_day(day):
            for lo, hi in _day_intervals(policy, day):
                lo, hi = max(lo, start), min(hi, end)
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


def _day_intervals(policy: Policy, day: date) -> list[tuple[datetime, datetime]]:
    """The open intervals of one local day: a window crossing midnight gives two pieces."""
    tz = policy.tz
    midnight = datetime.combine(day, time(0), tzinfo=tz)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    pieces = []
    for window in policy.windows:
        opens = datetime.combine(day, window.start, tzinfo=tz)
        if window.end is None:
            pieces.append((opens, next_midnight))
        elif window.crosses_midnight:
            pieces.append((midnight, datetime.combine(day, window.end, tzinfo=tz)))
            pieces.append((opens, next_midnight))
        else:
            pieces.append((opens, datetime.combine(day, window.end, tzinfo=tz)))
    return [(lo.astimezone(UTC), hi.astimezone(UTC)) for lo, hi in pieces]


def _next_open(window: Window, local: datetime) -> datetime:
    # Window.next_open works on naive wall-clock arithmetic; re-attach the zone so
    # the result is a real instant (no DST in WITA, but other zones have it).
    candidate = window.next_open(local.replace(tzinfo=None))
    return candidate.replace(tzinfo=local.tzinfo)




def describe_windows(windows: Sequence[Window]) -> str:
    """``06:00-22:00, 22:30-23:30``."""
    return ", ".join(map(str, windows))
