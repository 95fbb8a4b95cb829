"""Indonesian dates, via Babel's CLDR data (no hand-written month tables)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_date


def local_time(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-11-28 13:05 WITA``: a moment as log lines and reasons show it."""
    if moment is None:
        return "unknown"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def tanggal(moment: datetime, tz: tzinfo) -> str:
    """``Senin, 28 Oktober 2024``: the local date in Indonesian."""
    return format_date(moment.astimezone(tz).date(), "EEEE, d MMMM y", locale="id")
