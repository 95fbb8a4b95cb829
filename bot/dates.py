"""Indonesian dates, via Babel's CLDR data (no hand-written month tables)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from babel.dates import format_date, format_datetime, format_timedelta


def local_time(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-11-28 13:05 WITA``: a moment as log lines and reasons show it."""
    if moment is None:
        return "unknown"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def tanggal(moment: datetime, tz: tzinfo) -> str:
    """``Senin, 28 Oktober 2024``: the local date in Indonesian."""
    return format_date(moment.astimezone(tz).date(), "EEEE, d MMMM y", locale="id")


def waktu(moment: datetime | None, tz: tzinfo) -> str:
    """``Rab, 2 Des 2026 12.41 WITA``: a moment as the web desk shows it (Indonesian)."""
    if moment is None:
        return "–"
    local = moment.astimezone(tz)
    return f"{format_datetime(local, 'EEE, d MMM y HH.mm', locale='id')} {local.strftime('%Z')}"


def relatif(moment: datetime | None, now: datetime) -> str:
    """``5 menit yang lalu`` or ``dalam 3 jam``: a moment relative to ``now``, in Indonesian."""
    if moment is None:
        return ""
    return format_timedelta(moment - now, add_direction=True, threshold=1.0, locale="id")
