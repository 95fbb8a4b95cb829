"""The entry cache: a poll parses only new or changed entries, and the result is the
same as a whole parse, for every feed the tests know (the malformed and hostile feed
corpus, the fixtures written after real feeds, WordPress pages)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.errors import FeedError
from bot.feeds import EntryCache, ParsedFeed, entry_spans, parse_feed
from tests.feed_corpus import CASES
from tests.feedkit import SEED_BODY, make_items, rss, seed_item

FEEDS = Path(__file__).resolve().parent / "feeds"
URL = "https://editorialkaltim.com/feed/"

BODIES = {
    **{f"corpus:{c.name}": c.route.body for c in CASES if c.route.body},
    **{f"fixture:{p.name}": p.read_bytes() for p in sorted(FEEDS.glob("*.xml"))},
    "wordpress": rss([seed_item(), *make_items(19, body=SEED_BODY)]),
}


def whole(body: bytes) -> ParsedFeed | str:
    """A whole parse, or the error it raises."""
    try:
        return parse_feed(body, feed_name="utama", feed_url=URL)
    except FeedError as exc:
        return f"FeedError: {exc}"


def cached(body: bytes, cache: EntryCache) -> ParsedFeed | str:
    try:
        return parse_feed(body, feed_name="utama", feed_url=URL, cache=cache)
    except FeedError as exc:
        return f"FeedError: {exc}"


def without_first_entry(body: bytes) -> bytes | None:
    spans = entry_spans(body)
    if not spans or len(spans) < 2:
        return None
    return body[:spans[0][0]] + body[spans[0][1]:]


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_cached_parse_is_the_same_as_a_whole_parse(name: str) -> None:
    body = BODIES[name]
    expected = whole(body)
    # The same document again (every entry from the cache), and one that gained an
    # entry on top since the last poll (one entry parsed, the rest from the cache).
    cache = EntryCache()
    cached(body, cache)
    assert cached(body, cache) == expected
    older = without_first_entry(body)
    if older is not None:
        cache = EntryCache()
        cached(older, cache)
        assert cached(body, cache) == expected


def test_only_new_and_changed_entries_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    items = make_items(20, body=SEED_BODY)
    cache = EntryCache()
    first = cached(rss(items[1:]), cache)
    assert isinstance(first, ParsedFeed) and len(first.articles) == 19
    import bot.feeds

    sizes: list[int] = []
    real = bot.feeds.feedparser.parse

    def counting(data: bytes, **kwargs: object) -> object:
        sizes.append(data.count(b"<item>"))
        return real(data, **kwargs)

    monkeypatch.setattr(bot.feeds.feedparser, "parse", counting)
    edited = [items[0], replace(items[1], title="Judul yang diralat"), *items[2:]]
    result = cached(rss(edited), cache)
    assert sizes == [2]  # the new entry on top and the edited one, nothing else
    assert result == whole(rss(edited))
    assert isinstance(result, ParsedFeed) and result.articles[1].title == "Judul yang diralat"


def test_a_changed_channel_link_makes_a_whole_parse() -> None:
    template = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
                b"<link>%s</link>%s</channel></rss>")
    entry = (b"<item><title>Berita %d</title><link>/2024/10/%d/berita/</link>"
             b"<guid>id-%d</guid></item>")
    entries = b"".join(entry % (i, i, i) for i in range(3))
    cache = EntryCache()
    cached(template % (b"https://lama.example", entries), cache)
    moved = template % (b"https://baru.example", entries)
    result = cached(moved, cache)
    assert result == whole(moved)
    assert isinstance(result, ParsedFeed)
    assert result.articles[0].link.startswith("https://baru.example/")


def test_the_cache_keeps_a_bounded_number_of_entries() -> None:
    cache = EntryCache(max_entries=30)
    for n in range(5):
        parse_feed(rss(make_items(10, start_id=1000 * n)), feed_name=f"feed{n}",
                   feed_url=URL, cache=cache)
    kept = cache._feeds  # the three most recent feeds, 30 entries
    assert list(kept) == ["feed2", "feed3", "feed4"]
    assert sum(len(r.articles) for r in kept.values()) == 30


@pytest.mark.parametrize("body", [
    b"<rss><channel><item><title>a</title></item><title>x</title>"
    b"<item><title>b</title></item></channel></rss>",  # something between two entries
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "x">]><rss><channel>'
    b"<item><title>&e;</title></item></channel></rss>",  # entities
    b"<rss><channel><item><title>a & b</title></item></channel></rss>",  # not well-formed
    b"<rss><channel><title>no entries</title></channel></rss>",
])
def test_documents_the_cache_cannot_split_are_parsed_whole(body: bytes) -> None:
    assert entry_spans(body) is None
    cache = EntryCache()
    cached(body, cache)
    assert cached(body, cache) == whole(body)
