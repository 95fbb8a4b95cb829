"""Fetching and parsing RSS feeds.

A poll is a conditional GET (the feed's own ETag and Last-Modified are sent back). On
a 304, or a body byte-identical to the last one, nothing is parsed. Otherwise the bytes
are parsed with feedparser; a feed that is "bozo" (not well-formed) but still yields
entries is used. Every failure becomes a :class:`FeedError` whose reason (for the log,
the feed's status and its alert) starts with the feed's URL.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from bot.articles import Article, absolute_link, article_from_entry, plain_text
from bot.errors import FeedError, FetchError
from bot.http import HttpClient, shown_url

_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)


@dataclass(frozen=True)
class FetchedFeed:
    """The outcome of one conditional GET."""

    not_modified: bool
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def sha256(self) -> str:
        """Digest of the body, to skip parsing a byte-identical feed."""
        return hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class ParsedFeed:
    """The articles of one feed page, in the feed's order (newest first for WordPress)."""

    articles: list[Article]
    bozo_reason: str | None = None
    skipped: int = 0  # entries without any identity
    # Entries left out because an earlier entry of the same feed has their guid: the
    # shared key and the reason (both entries named), for the events.
    duplicates: list[tuple[str, str]] = field(default_factory=list)


def fetch_feed(
    http: HttpClient,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchedFeed:
    """GET the feed, sending validators when given. Raises FeedError with a reason."""
    headers = {"Accept": _FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = http.get(url, headers=headers, trusted=True)
    except FetchError as exc:
        raise _failed(url, str(exc)) from exc
    if response.status == 304:
        return FetchedFeed(not_modified=True, etag=etag, last_modified=last_modified)
    return FetchedFeed(
        not_modified=False,
        body=response.body,
        etag=response.headers.get("ETag") or None,
        last_modified=response.headers.get("Last-Modified") or None,
    )


def fetch_page(http: HttpClient, url: str, page: int) -> bytes | None:
    """GET page ``page`` of a WordPress feed (``?paged=N``); None on a 404.

    Page requests carry no validators: WordPress's ETag covers the whole site, so
    page 1's ETag would get a 304 for page 2.
    """
    page_url = paged_url(url, page)
    try:
        response = http.get(page_url, headers={"Accept": _FEED_ACCEPT},
                            trusted=True, accept_status=(200, 404, 410))
    except FetchError as exc:
        raise _failed(page_url, str(exc)) from exc
    if response.status in (404, 410):
        return None
    return response.body


def paged_url(url: str, page: int) -> str:
    """The feed URL with ``paged=N`` set (``https://site/feed/?paged=2``)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    query.append(("paged", str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


_DOCTYPE_RE = re.compile(rb"<!DOCTYPE\b", re.I)
_ENTITY_DECL_RE = re.compile(rb"<!ENTITY\s+(?:%\s*)?([A-Za-z_][\w.-]*)")


def declared_entities(body: bytes) -> frozenset[str]:
    """Names of the entities a feed declares in its DOCTYPE's internal subset.

    feedparser never expands them (an entity-expansion attack such as "billion laughs"
    or the quadratic blow-up would otherwise take the machine's memory), so a title
    that uses one would come out as ``&lol9;``.
    """
    start = _DOCTYPE_RE.search(body, 0, 4096)
    if start is None:
        return frozenset()
    end = body.find(b"]>", start.end())
    subset = body[start.end(): end if end >= 0 else len(body)]
    return frozenset(m.group(1).decode("ascii", "replace")
                     for m in _ENTITY_DECL_RE.finditer(subset))


_ENTRY_START_RE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)\b[^>]*>")


def entities_used(body: bytes, entities: frozenset[str], entries: int) -> list[set[str]] | None:
    """For each entry, in the feed's order, the declared entities its raw XML uses.

    The parser drops a reference to an external entity (``<!ENTITY x SYSTEM "file:…">``)
    without a trace, so a headline such as "Judul &x;" would come out as "Judul": the
    raw bytes are the only place the use shows. None when the entries cannot be lined
    up with the raw XML (then any use anywhere counts for every entry).
    """
    if not entities:
        return [set() for _ in range(entries)]
    subset_end = body.find(b"]>")
    text = body[subset_end + 2:] if subset_end >= 0 else body
    names = "|".join(re.escape(name) for name in sorted(entities))
    use_re = re.compile(rf"&({names});".encode())
    starts = [m.start() for m in _ENTRY_START_RE.finditer(text)]
    if len(starts) != entries:
        used = {m.group(1).decode() for m in use_re.finditer(text)}
        return None if used else [set() for _ in range(entries)]
    chunks = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]
    return [{m.group(1).decode() for m in use_re.finditer(chunk)} for chunk in chunks]


def _entity_refusal(names: set[str]) -> str:
    shown = ", ".join(f"&{name};" for name in sorted(names)[:3])
    return (f"refused: the entry uses XML entities its feed declares ({shown}), as "
            "entity-expansion and external-entity attacks do; they are never expanded")


def parse_feed(body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo = UTC) -> ParsedFeed:
    """Parse feed bytes into articles. Raises FeedError when nothing usable is there.

    Relative links are resolved against the channel's link (itself resolved against
    ``feed_url``), else the feed's URL; dates without a zone are read in ``tz``. The
    error's reason starts with the feed's URL.
    """
    try:
        return _parse(body, feed_name=feed_name, feed_url=feed_url, tz=tz)
    except FeedError as exc:
        raise _failed(feed_url, str(exc)) from None


def _failed(url: str, reason: str) -> FeedError:
    """A FeedError whose reason names the feed it is about."""
    return FeedError(f"{shown_url(url)}: {reason}")


def _parse(body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo) -> ParsedFeed:
    if not body.strip():
        raise FeedError("empty body")
    parsed: Any = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    entries = parsed.get("entries") or []
    bozo_reason = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        bozo_reason = f"{type(exc).__name__}: {exc}" if exc else "not well-formed"
    if not entries:
        version = parsed.get("version") or ""
        head = body.lstrip()[:200].lower()
        if head.startswith((b"<!doctype html", b"<html")) or (not version and b"<html" in head):
            raise FeedError("got an HTML page instead of a feed")
        if bozo_reason:
            raise FeedError(f"not a feed: {bozo_reason}")
        if not version:
            raise FeedError("not a feed (no RSS or Atom found)")
        return ParsedFeed(articles=[], bozo_reason=None)
    channel = parsed.get("feed") or {}
    base_url = absolute_link(channel.get("link"), feed_url) or feed_url
    language = channel.get("language")
    languages = (language,) if isinstance(language, str) and language else ()
    entities = declared_entities(body)
    uses = entities_used(body, entities, len(entries))
    articles: list[Article] = []
    skipped = 0
    duplicates: list[tuple[str, str]] = []
    seen: dict[str, Article] = {}
    for index, entry in enumerate(entries):
        try:
            article = article_from_entry(entry, feed_name=feed_name, feed_url=feed_url,
                                         base_url=base_url, languages=languages, tz=tz,
                                         declared_entities=entities)
        except ValueError:
            skipped += 1
            continue
        used = uses[index] if uses is not None else set(entities)
        if used and article.refusal is None:
            article = replace(article, refusal=_entity_refusal(used))
        first = seen.get(article.key)
        if first is not None:
            duplicates.append((article.key, _duplicate_reason(first, article)))
            continue
        seen[article.key] = article
        articles.append(article)
    return ParsedFeed(articles=articles, bozo_reason=bozo_reason, skipped=skipped,
                      duplicates=duplicates)


def _duplicate_reason(first: Article, again: Article) -> str:
    identity = f"guid {again.guid!r}" if again.guid else f"link {again.link}"
    same = first.title == again.title and first.link == again.link
    what = "the same entry again" if same else (
        f"a different entry ({plain_text(again.title)[:80]!r}, {again.link or 'no link'})")
    return (f"feed lists {identity} twice: {what} after {first.title[:80]!r}; "
            "only the first is used")
