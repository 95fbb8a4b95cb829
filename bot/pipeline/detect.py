"""Detecting corrections and takedowns: pure functions over records.

Nothing here touches the store, the network or the clock; the follow-up step
(:mod:`bot.pipeline.followup`) hands in what it saw and records the answer.

- **Correction:** the title changed since the bot last saw it, or a marker
  (``[followup] markers``: "Ralat", "Koreksi", …) appears more often than before in the
  title or in the body. The body is compared as the text a reader sees (the captions'
  HTML cleaning: no markup, scripts, embeds or widgets), so a changed ad slot or
  attribute is no correction.
- **Takedown:** the link answers 404 or 410, or redirects to the site's home page,
  while the feed no longer lists the article. A timeout, a 5xx or any other answer is
  neither: the next check asks again.
- **When to check:** each watched post is checked once per ``check_every``, at an
  offset within the interval taken from a hash of its id, so the checks of many posts
  are spread over the interval instead of bursting.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urlsplit

from bot.articles import Article
from bot.captions.summary import visible_text
from bot.dates import tanggal
from bot.limits import MAX_CAPTION_CHARS, instagram_length

Markers = dict[str, dict[str, int]]  # {"title": {"Ralat": 1}, "body": {...}}


def marker_counts(text: str, markers: list[str]) -> dict[str, int]:
    """How often each marker occurs in ``text`` as a whole word, ignoring case."""
    counts = {}
    for marker in markers:
        found = len(re.findall(rf"(?<!\w){re.escape(marker)}(?!\w)", text, re.IGNORECASE))
        if found:
            counts[marker] = found
    return counts


def body_text(article: Article) -> str:
    """The article's body as a reader sees it (the captions' HTML-to-text cleaning)."""
    return visible_text(article.content_html or article.description_html)


def article_markers(article: Article, markers: list[str]) -> Markers:
    """Marker counts in the title and in the cleaned body."""
    return {"title": marker_counts(article.title, markers),
            "body": marker_counts(body_text(article), markers)}


@dataclass(frozen=True)
class Correction:
    """A correction found on an article: what changed and the incident it is."""

    old_title: str
    new_title: str
    marker: str | None
    where: str | None  # "title" or "body", where the marker appeared
    incident: str

    @property
    def reason(self) -> str:
        """One line for the event log and the alert."""
        parts = []
        if self.old_title != self.new_title:
            parts.append(f"title changed {self.old_title!r} -> {self.new_title!r}")
        if self.marker:
            parts.append(f"marker {self.marker!r} appeared in the {self.where}")
        return "correction: " + "; ".join(parts)


def correction(old_title: str, old_markers: Markers, article: Article,
               markers: list[str]) -> Correction | None:
    """The correction between what the bot saw and ``article`` now, or None."""
    new_markers = article_markers(article, markers)
    marker, where = _new_marker(old_markers, new_markers, markers)
    title_changed = _norm(old_title) != _norm(article.title)
    if not title_changed and marker is None:
        return None
    incident = "correction"
    if title_changed:
        incident += ":title:" + _digest(article.title)
    if marker is not None:
        count = new_markers.get(where or "", {}).get(marker, 0)
        incident += f":{where}:{marker.casefold()}:{count}"
    return Correction(old_title=old_title, new_title=article.title, marker=marker,
                      where=where, incident=incident[:255])


def _new_marker(old: Markers, new: Markers, markers: list[str]) -> tuple[str | None, str | None]:
    for where in ("title", "body"):
        for marker in markers:
            if new.get(where, {}).get(marker, 0) > old.get(where, {}).get(marker, 0):
                return marker, where
    return None, None


def page_correction(old_title: str, old_markers: Markers, shown: str,
                    markers: list[str]) -> Correction | None:
    """A marker newly in the title an article page shows (a check of an article that
    has left the feed), or None.

    Only markers count here: a page's title is often written differently from the
    feed's (a site suffix, other entities), so a mere difference is no correction.
    """
    new = {"title": marker_counts(shown, markers)}
    marker, _ = _new_marker({"title": old_markers.get("title", {})}, new, markers)
    if marker is None:
        return None
    count = new["title"].get(marker, 0)
    return Correction(old_title=old_title, new_title=shown, marker=marker,
                      where="page title", incident=(f"correction:page:{_digest(shown)}:"
                                                    f"{marker.casefold()}:{count}")[:255])


class _TitleParser(HTMLParser):
    """``og:title`` and ``<title>`` from a page's head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.og: str | None = None
        self.title: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag == "meta" and self.og is None:
            values = {k.lower(): (v or "").strip() for k, v in attrs}
            if (values.get("property") or values.get("name") or "").lower() == "og:title":
                self.og = values.get("content") or None

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)


def page_title(markup: str, *, site_name: str = "") -> str | None:
    """The article's title as its page shows it: ``og:title``, else ``<title>`` without
    a trailing `` - Site name``."""
    head_end = markup.lower().find("<body")
    parser = _TitleParser()
    parser.feed(markup if head_end < 0 else markup[:head_end])
    parser.close()
    title = parser.og or "".join(parser.title)
    title = " ".join(html.unescape(title).split())
    if site_name:
        for separator in (" - ", " – ", " — ", " | "):
            if title.endswith(separator + site_name):
                title = title[: -len(separator + site_name)]
    return title or None


class LinkVerdict(StrEnum):
    """What one GET of an article's link says."""

    ALIVE = "alive"
    GONE = "gone"  # 404, 410, or a redirect to the home page
    TRANSIENT = "transient"  # timeout, 5xx, anything else: ask again next check


def link_verdict(link: str, *, status: int | None,
                 final_url: str | None) -> tuple[LinkVerdict, str]:
    """Classify a check's answer (``status`` None: no answer at all)."""
    if status is None:
        return LinkVerdict.TRANSIENT, "no answer"
    if status in (404, 410):
        return LinkVerdict.GONE, f"HTTP {status}"
    if 200 <= status < 300:
        if final_url and final_url != link and is_home(final_url) and not is_home(link):
            return LinkVerdict.GONE, f"redirects to the home page {final_url}"
        return LinkVerdict.ALIVE, f"HTTP {status}"
    return LinkVerdict.TRANSIENT, f"HTTP {status}"


def is_home(url: str) -> bool:
    """Whether ``url`` is a site's home page (path ``/`` or empty, no query)."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query


def takedown(verdict: LinkVerdict, *, in_feed: bool) -> bool:
    """A takedown: the link is gone and the feed no longer lists the article."""
    return verdict == LinkVerdict.GONE and not in_feed


def check_offset(post_id: int, interval: timedelta) -> timedelta:
    """The post's fixed place within each check interval (a hash of its id)."""
    seconds = max(1, int(interval.total_seconds()))
    digest = int.from_bytes(hashlib.sha256(f"post:{post_id}".encode()).digest()[:8], "big")
    return timedelta(seconds=digest % seconds)


def next_check_at(post_id: int, after: datetime, interval: timedelta) -> datetime:
    """The post's first check time strictly after ``after``."""
    seconds = max(1, int(interval.total_seconds()))
    offset = int(check_offset(post_id, interval).total_seconds())
    epoch = int(after.timestamp())
    slot = (epoch - offset) // seconds + 1
    return datetime.fromtimestamp(slot * seconds + offset, UTC)


def correction_line(marker: str | None, *, title_changed: bool, at: datetime,
                    tz: tzinfo) -> str:
    """``Ralat: judul diperbarui pada Senin, 28 Oktober 2024 14.05 WITA``."""
    local = at.astimezone(tz)
    when = f"{tanggal(at, tz)} {local:%H.%M} {local.tzname() or ''}".rstrip()
    label = "Ralat" if title_changed or not marker else marker
    what = "judul" if title_changed else "artikel ini"
    return f"{label}: {what} diperbarui pada {when}"


_OUR_LINE = re.compile(r"^[^\n:]{1,40}: (?:judul|artikel ini) diperbarui pada [^\n]*\n*")


def corrected_caption(caption: str, *, old_title: str, new_title: str, line: str) -> str:
    """The caption with the new title and a correction line on top.

    The old title is replaced where the caption shows it; otherwise the new title
    opens the caption. A correction line the bot wrote before is replaced, not
    stacked. Raises ValueError if the result would break Instagram's caption limit.
    """
    body = _OUR_LINE.sub("", caption.strip(), count=1)
    if old_title and old_title != new_title and old_title in body:
        body = body.replace(old_title, new_title, 1)
    elif new_title not in body:
        body = f"{new_title}\n\n{body}"
    result = f"{line}\n\n{body}".strip()
    if instagram_length(result) > MAX_CAPTION_CHARS:
        raise ValueError(f"the corrected caption would be {instagram_length(result)} "
                         f"characters, over Instagram's {MAX_CAPTION_CHARS}")
    return result


def _norm(text: str) -> str:
    return " ".join(text.split())


def _digest(text: str) -> str:
    return hashlib.sha256(_norm(text).encode()).hexdigest()[:16]
