"""Fetching and parsing RSS feeds.

A poll is a conditional GET (the feed's own ETag and Last-Modified are sent back). On
a 304, or a body byte-identical to the last one, nothing is parsed. Otherwise the bytes
are parsed with feedparser; a feed that is "bozo" (not well-formed) but still yields
entries is used. Every failure becomes a :class:`FeedError` with a reason for the log.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from bot.articles import Article, article_from_entry
from bot.errors import FeedError, FetchError
from bot.http import HttpClient

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
        raise FeedError(str(exc)) from exc
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
    try:
        response = http.get(paged_url(url, page), headers={"Accept": _FEED_ACCEPT},
                            trusted=True, accept_status=(200, 404, 410))
    except FetchError as exc:
        raise FeedError(f"page {page}: {exc}") from exc
    if response.status in (404, 410):
        return None
    return response.body


def paged_url(url: str, page: int) -> str:
    """The feed URL with ``paged=N`` set (``https://site/feed/?paged=2``)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    query.append(("paged", str(page)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_feed(body: bytes, *, feed_name: str, feed_url: str) -> ParsedFeed:
    """Parse feed bytes into articles. Raises FeedError when nothing usable is there."""
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
    articles: list[Article] = []
    skipped = 0
    seen: set[str] = set()
    for entry in entries:
        try:
            article = article_from_entry(entry, feed_name=feed_name, feed_url=feed_url)
        except ValueError:
            skipped += 1
            continue
        if article.key in seen:
            continue
        seen.add(article.key)
        articles.append(article)
    return ParsedFeed(articles=articles, bozo_reason=bozo_reason, skipped=skipped)
