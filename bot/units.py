"""Parsing of the human units used in the config: durations, sizes, times and windows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

_DURATION_RE = re.compile(r"(\d+)\s*([dhms])")
_DURATION_FULL_RE = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)\s*$")
_SIZE_UNITS = {
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}

_TIME_RE = re.compile(r"^(\d{2}):(\d{2})$")


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``2h``, ``1d`` or a compound such as ``1h30m``."""
    if not isinstance(text, str) or not _DURATION_FULL_RE.match(text):
        raise ValueError(
            f"bad duration {text!r}: use a number and a unit, such as 30s, 5m, 2h, 1d or 1h30m"
        )
    seconds = sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_RE.findall(text))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Format a duration the way the config writes it (``1h30m``)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in _DURATION_UNITS.items():
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_size(text: str | int) -> int:
    """Parse ``500KB``/``10MB`` (powers of 1000) or ``512KiB``/``8MiB`` (powers of 1024)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"bad size {text!r}: must not be negative")
        return text
    if not isinstance(text, str):
        raise ValueError(f"bad size {text!r}: use e.g. 500KB, 10MB or 8MiB")
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"bad size {text!r}: use e.g. 500KB, 10MB or 8MiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_time_of_day(text: str, *, allow_24: bool = False) -> time | None:
    """Parse ``HH:MM``. ``24:00`` (returned as ``None``) is allowed only as a window's end."""
    match = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"bad time {text!r}: use HH:MM, e.g. 06:00")
    hour, minute = int(match.group(1)), int(match.group(2))
    if allow_24 and hour == 24 and minute == 0:
        return None
    if hour > 23 or minute > 59:
        raise ValueError(f"bad time {text!r}: hours run 00-23 and minutes 00-59")
    return time(hour, minute)


@dataclass(frozen=True)
class Window:
    """A daily posting window in local time. ``end`` is exclusive; it may cross midnight."""

    start: time
    end: time | None  # None means 24:00

    @classmethod
    def parse(cls, text: str) -> Window:
        """Parse ``06:00-22:00``; ``22:00-02:00`` crosses midnight; ``00:00-24:00`` is all day."""
        if not isinstance(text, str) or text.count("-") != 1:
            raise ValueError(f"bad window {text!r}: use HH:MM-HH:MM, e.g. 06:00-22:00")
        left, right = (part.strip() for part in text.split("-"))
        try:
            start = parse_time_of_day(left)
            end = parse_time_of_day(right, allow_24=True)
        except ValueError as exc:
            raise ValueError(f"bad window {text!r}: {exc}") from None
        assert start is not None
        if end == start:
            raise ValueError(f"bad window {text!r}: it is empty (start equals end)")
        return cls(start, end)

    @property
    def crosses_midnight(self) -> bool:
        """True for windows such as ``22:00-02:00``."""
        return self.end is not None and self.end < self.start

    def contains(self, moment: time) -> bool:
        """Whether a local wall-clock time falls inside the window."""
        if self.end is None:
            return moment >= self.start
        if self.crosses_midnight:
            return moment >= self.start or moment < self.end
        return self.start <= moment < self.end

    def next_open(self, local: datetime) -> datetime:
        """The first local moment at or after ``local`` inside this window."""
        if self.contains(local.timetz().replace(tzinfo=None)):
            return local
        candidate = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"
