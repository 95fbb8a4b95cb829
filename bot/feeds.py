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
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.parsers import expat

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


def parse_feed(body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo = UTC,
               cache: EntryCache | None = None) -> ParsedFeed:
    """Parse feed bytes into articles. Raises FeedError when nothing usable is there.

    Relative links are resolved against the channel's link (itself resolved against
    ``feed_url``), else the feed's URL; dates without a zone are read in ``tz``. The
    error's reason starts with the feed's URL. With a ``cache``, entries whose bytes the
    last parse of this feed saw are not parsed again (see :class:`EntryCache`).
    """
    try:
        return _parse(body, feed_name=feed_name, feed_url=feed_url, tz=tz, cache=cache)
    except FeedError as exc:
        raise _failed(feed_url, str(exc)) from None


def _failed(url: str, reason: str) -> FeedError:
    """A FeedError whose reason names the feed it is about."""
    return FeedError(f"{shown_url(url)}: {reason}")


def _parse(body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo,
           cache: EntryCache | None) -> ParsedFeed:
    if not body.strip():
        raise FeedError("empty body")
    if cache is not None:
        reused = cache.parse(body, feed_name=feed_name, feed_url=feed_url, tz=tz)
        if reused is not None:
            return reused
    return _parse_all(body, feed_name=feed_name, feed_url=feed_url, tz=tz, cache=cache)


def _parse_all(body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo,
               cache: EntryCache | None) -> ParsedFeed:
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
    base_url, languages = _channel(parsed, feed_url)
    entities = declared_entities(body)
    uses = entities_used(body, entities, len(entries))
    made: list[Article | None] = []
    for index, entry in enumerate(entries):
        try:
            article = article_from_entry(entry, feed_name=feed_name, feed_url=feed_url,
                                         base_url=base_url, languages=languages, tz=tz,
                                         declared_entities=entities)
        except ValueError:
            made.append(None)
            continue
        used = uses[index] if uses is not None else set(entities)
        if used and article.refusal is None:
            article = replace(article, refusal=_entity_refusal(used))
        made.append(article)
    if cache is not None:
        cache.remember(body, parsed, made, feed_name=feed_name, feed_url=feed_url, tz=tz)
    return _assembled(made, bozo_reason)


def _channel(parsed: Any, feed_url: str) -> tuple[str, tuple[str, ...]]:
    """(the base URL for relative links, the channel's languages) of a parsed feed."""
    channel = parsed.get("feed") or {}
    base_url = absolute_link(channel.get("link"), feed_url) or feed_url
    language = channel.get("language")
    return base_url, ((language,) if isinstance(language, str) and language else ())


def _assembled(made: list[Article | None], bozo_reason: str | None) -> ParsedFeed:
    """The feed's articles from each entry's (None: no identity), duplicates left out."""
    articles: list[Article] = []
    skipped = 0
    duplicates: list[tuple[str, str]] = []
    seen: dict[str, Article] = {}
    for article in made:
        if article is None:
            skipped += 1
            continue
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


_ENTRY_NAMES = frozenset({"item", "entry"})
_ENTRY_PARENTS = frozenset({"channel", "feed", "RDF"})


def entry_spans(body: bytes) -> list[tuple[int, int]] | None:
    """Byte spans of the feed's top-level entries (``<item>``, ``<entry>``), in order.

    None when the bytes are not well-formed XML, declare a DOCTYPE (entities make an
    entry's meaning depend on more than its bytes), hold no entry, or have anything but
    whitespace between two entries: then only a whole parse will do.
    """
    if _DOCTYPE_RE.search(body, 0, 4096):
        return None
    parser = expat.ParserCreate()
    stack: list[str] = []  # local names of the open elements
    spans: list[tuple[int, int]] = []
    depth: int | None = None  # where the entry being read was opened
    begin = 0

    def start(name: str, _attrs: Any) -> None:
        nonlocal depth, begin
        local = name.rpartition(":")[2]
        if depth is None and local in _ENTRY_NAMES and stack and stack[-1] in _ENTRY_PARENTS:
            depth, begin = len(stack), parser.CurrentByteIndex
        stack.append(local)

    def end(_name: str) -> None:
        nonlocal depth
        stack.pop()
        if depth is not None and len(stack) == depth:
            # The index is where the end tag (or an empty element's only tag) starts.
            spans.append((begin, body.index(b">", parser.CurrentByteIndex) + 1))
            depth = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(body, True)
    except (expat.ExpatError, ValueError, LookupError):  # LookupError: unknown encoding
        return None
    if not spans:
        return None
    for (_, previous_end), (next_start, _) in pairwise(spans):
        if body[previous_end:next_start].strip():
            return None
    return spans


@dataclass
class _Remembered:
    context: tuple[Any, ...]
    articles: dict[bytes, Article | None]


class EntryCache:
    """The articles of a feed's last parse, by the bytes of each entry.

    Between two polls a WordPress feed changes by an entry or two: the new post on top,
    the others the same bytes as before. With the cache, feedparser is handed only the
    entries it has not seen, inside the document around them (channel, namespaces), and
    the others come from the cache. The same bytes in the same channel parse to the same
    article, so nothing changes but the time: a whole parse of a 20-item feed costs
    more than everything else a poll does. The channel's part in an article (its link,
    for relative links, and its language) is checked on every parse; when it changed,
    or the document is one :func:`entry_spans` cannot split, the feed is parsed whole.

    Memory is bounded: the cache keeps only the entries of the last parse of each
    feed, and at most ``max_entries`` over every feed (the least recent feeds go first).
    """

    def __init__(self, *, max_entries: int = 2_000) -> None:
        self.max_entries = max_entries
        self._feeds: dict[str, _Remembered] = {}

    def parse(self, body: bytes, *, feed_name: str, feed_url: str, tz: tzinfo
              ) -> ParsedFeed | None:
        """The parse of ``body`` from the cache and the new entries, or None (parse whole)."""
        remembered = self._feeds.get(feed_name)
        if remembered is None:
            return None
        spans = entry_spans(body)
        if spans is None:
            return None
        digests = [hashlib.sha256(body[a:b]).digest() for a, b in spans]
        new = [i for i, d in enumerate(digests) if d not in remembered.articles]
        envelope = body[:spans[0][0]] + b"\n".join(body[spans[i][0]:spans[i][1]] for i in new) \
            + body[spans[-1][1]:]
        parsed: Any = feedparser.parse(envelope, sanitize_html=False,
                                       resolve_relative_uris=False)
        entries = parsed.get("entries") or []
        context = self._context(parsed, body, spans, feed_url, tz)
        if len(entries) != len(new) or context != remembered.context:
            return None
        base_url, languages = _channel(parsed, feed_url)
        fresh: dict[int, Article | None] = {}
        for index, entry in zip(new, entries, strict=True):
            try:
                fresh[index] = article_from_entry(
                    entry, feed_name=feed_name, feed_url=feed_url, base_url=base_url,
                    languages=languages, tz=tz, declared_entities=frozenset())
            except ValueError:
                fresh[index] = None
        made = [fresh[i] if i in fresh else remembered.articles[d]
                for i, d in enumerate(digests)]
        self._store(feed_name, context, dict(zip(digests, made, strict=True)))
        bozo = None
        if parsed.get("bozo"):
            exc = parsed.get("bozo_exception")
            bozo = f"{type(exc).__name__}: {exc}" if exc else "not well-formed"
        return _assembled(made, bozo)

    def remember(self, body: bytes, parsed: Any, made: list[Article | None], *,
                 feed_name: str, feed_url: str, tz: tzinfo) -> None:
        """Keep the articles of a whole parse, by their entries' bytes, for the next one."""
        key = feed_name
        spans = entry_spans(body)
        if spans is None or len(spans) != len(made):
            self._feeds.pop(key, None)
            return
        digests = [hashlib.sha256(body[a:b]).digest() for a, b in spans]
        self._store(key, self._context(parsed, body, spans, feed_url, tz),
                    dict(zip(digests, made, strict=True)))

    def _context(self, parsed: Any, body: bytes, spans: list[tuple[int, int]],
                 feed_url: str, tz: tzinfo) -> tuple[Any, ...]:
        # What of the document, besides an entry's own bytes, goes into its article:
        # the root element (namespaces, xml:base), the channel's link and language,
        # the feed URL and the zone for dates without one.
        root = body[:spans[0][0]]
        root_tag = root[root.find(b"<", root.find(b"?>") + 1 if b"?>" in root else 0):]
        root_tag = root_tag[:root_tag.find(b">") + 1]
        return (root_tag, *_channel(parsed, feed_url), feed_url, str(tz),
                parsed.get("version"), parsed.get("encoding"))

    def _store(self, key: str, context: tuple[Any, ...],
               articles: dict[bytes, Article | None]) -> None:
        self._feeds.pop(key, None)
        self._feeds[key] = _Remembered(context, articles)  # most recent last
        total = sum(len(r.articles) for r in self._feeds.values())
        while total > self.max_entries and len(self._feeds) > 1:
            oldest = next(iter(self._feeds))
            total -= len(self._feeds.pop(oldest).articles)
