"""Dates: Indonesian formatting via Babel's CLDR data, and reading localized feed dates.

No month table is written by hand: month names for formatting and for reading come
from Babel's CLDR data.

The date on cards, captions and alerts (:func:`tanggal`) is set from the ``id``
locale's own CLDR names, read once, rather than through ``babel.dates``: formatting
through Babel loads and keeps the merged locale and Babel's global tables (4.5 MiB of
small objects), which cost the daemon 3.8 MiB of resident memory that no clearing of
caches gives back. The web desk, which formats times and durations, uses Babel's
formatters as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from babel import Locale, UnknownLocaleError, localedata
from babel.dates import format_datetime, format_timedelta, get_month_names

# Indonesia's three zones, as local sites write them after a time ("10:00 WITA").
_ZONE_OFFSETS = {"wib": 7, "wita": 8, "wit": 9, "utc": 0, "gmt": 0, "z": 0}
_TIME_RE = re.compile(r"(?<![\d:.])(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?![\d:])")
_OFFSET_RE = re.compile(r"(?<![\w:])([+-])(\d{2}):?(\d{2})\b")
_ZONE_RE = re.compile(r"\b(wita|wib|wit|utc|gmt|z)\b")


def local_time(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-11-28 13:05 WITA``: a moment as log lines and reasons show it."""
    if moment is None:
        return "unknown"
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


@lru_cache(maxsize=1)
def _indonesian_names() -> tuple[dict[int, str], dict[int, str]]:
    """Indonesian weekday (0 = Monday) and month (1 = January) names, wide, from CLDR."""
    data = localedata.load("id", merge_inherited=False)
    names = dict(data["days"]["format"]["wide"]), dict(data["months"]["format"]["wide"])
    localedata.clear_caches()  # what was loaded for these two tables, not kept
    return names


def tanggal(moment: datetime, tz: tzinfo) -> str:
    """``Senin, 28 Oktober 2024``: the local date in Indonesian (CLDR ``EEEE, d MMMM y``)."""
    days, months = _indonesian_names()
    local = moment.astimezone(tz).date()
    return f"{days[local.weekday()]}, {local.day} {months[local.month]} {local.year}"


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


@lru_cache(maxsize=64)
def _month_pattern(languages: tuple[str, ...]) -> tuple[re.Pattern[str], dict[str, int]]:
    """A regex alternative of every month name (wide and short) in ``languages``."""
    names: dict[str, int] = {}
    for language in languages:
        try:
            locale = Locale.parse(language.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in get_month_names(width, context, locale).items():
                    key = name.casefold().rstrip(".")
                    # A short name that means another month in an earlier language
                    # (none in id/ms/en, but CLDR has such pairs) keeps its first sense.
                    names.setdefault(key, number)
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    pattern = re.compile(
        rf"(?<!\w)(?:(?P<d1>\d{{1,2}})\.?\s+(?P<m1>{alternatives})\.?,?\s+(?P<y1>\d{{4}})"
        rf"|(?P<m2>{alternatives})\.?\s+(?P<d2>\d{{1,2}}),?\s+(?P<y2>\d{{4}}))(?!\w)"
    )
    return pattern, names


def parse_localized_date(raw: str, languages: Iterable[str], tz: tzinfo) -> datetime | None:
    """Read a feed date written with month names of ``languages`` (e.g. ``28 Oktober 2024``).

    Understands day-month-year and month-day-year with wide or short month names, an
    optional ``HH:MM[:SS]`` time, and a ``+0800``-style offset or a zone name (WIB,
    WITA, WIT, UTC, GMT). A date without a zone is taken as local time in ``tz``.
    Returns None when the text holds no such date.
    """
    langs = tuple(dict.fromkeys([*(lang.strip().casefold() for lang in languages if lang),
                                 "en"]))
    pattern, names = _month_pattern(langs)
    text = " ".join(raw.split()).casefold()
    match = pattern.search(text)
    if match is None:
        return None
    day = int(match.group("d1") or match.group("d2"))
    month = names[(match.group("m1") or match.group("m2")).rstrip(".")]
    year = int(match.group("y1") or match.group("y2"))
    rest = text[match.end():]
    hour = minute = second = 0
    time_match = _TIME_RE.search(rest)
    if time_match:
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        rest = rest[time_match.end():]
    zone: tzinfo = tz
    if offset := _OFFSET_RE.search(rest):
        sign = -1 if offset.group(1) == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset.group(2)),
                                         minutes=int(offset.group(3))))
    elif named := _ZONE_RE.search(rest):
        zone = timezone(timedelta(hours=_ZONE_OFFSETS[named.group(1)]))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:  # 31 Februari, 25:00
        return None
