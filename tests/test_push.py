"""The push trigger, store and worker side: a poll request becomes a poll at the next tick.

The web route (``POST /hooks/wordpress``) is tested in tests/test_hooks.py; here the
facade records requests and the worker's round handles them against a real feed
server and a real store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.errors import InvalidAction, NotFound
from bot.models import RequestState, Status
from bot.pipeline.push import RETRY_AFTER, link_variants
from tests.feedkit import FeedServer, Item, Route, rss, write_config
from tests.schedkit import FakeClock

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def item(server: FeedServer, number: int) -> Item:
    """An article whose page is on the feed server (so nothing leaves loopback)."""
    return Item(post_id=number, title=f"Berita {number}", slug=f"berita-{number}",
                published=NOW - timedelta(minutes=100 - number),
                link=server.url(f"/2026/11/30/berita-{number}/"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def bot(tmp_path: Path, data_dir: Path, server: FeedServer, clock: FakeClock) -> Bot:
    for path, first in (("/feed/", 1), ("/kutim/feed/", 50)):
        server.routes[path] = Route(body=rss([item(server, first)]))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), second_feed_url=server.url("/kutim/feed/"))
    made = Bot(load_config(path), data_dir=data_dir, clock=clock)
    made.poll()  # the first poll of each feed: what is there is `seen`
    server.requests.clear()
    return made


def feed_hits(server: FeedServer) -> list[str]:
    return [r.path for r in server.requests if "/feed/" in r.path]


def test_a_request_naming_a_feed_polls_that_feed_only(bot: Bot, server: FeedServer) -> None:
    server.routes["/kutim/feed/"] = Route(body=rss([item(server, 51), item(server, 50)]))
    request, created = bot.request_poll(feed="kutim", client="203.0.113.9")
    assert created and request.state == RequestState.PENDING
    round_ = bot.poll_requested()
    assert feed_hits(server) == ["/kutim/feed/"]
    assert [(r.feed, r.new, r.queued) for r in round_.reports] == [("kutim", 1, 1)]
    done = bot.store.poll_requests()[0]
    assert done.state == RequestState.DONE and done.client == "203.0.113.9"
    assert "kutim: 2 entries, 1 new, 1 queued" in done.result
    assert bot.poll_requested().requests == []  # handled once


def test_a_request_naming_no_feed_polls_every_feed(bot: Bot, server: FeedServer) -> None:
    bot.request_poll()
    round_ = bot.poll_requested()
    assert sorted(feed_hits(server)) == ["/feed/", "/kutim/feed/"]
    assert {r.feed for r in round_.reports} == {"utama", "kutim"}
    assert bot.store.poll_requests()[0].state == RequestState.DONE


def test_requests_for_one_target_join_the_one_still_waiting(bot: Bot,
                                                           server: FeedServer) -> None:
    first, created = bot.request_poll(feed="utama")
    again, created_again = bot.request_poll(feed="utama")
    other, created_other = bot.request_poll()
    assert created and not created_again and again.id == first.id
    assert created_other and other.id != first.id
    bot.poll_requested()
    # Every feed polled once, though two requests named utama.
    assert sorted(feed_hits(server)) == ["/feed/", "/kutim/feed/"]
    assert all(r.state == RequestState.DONE for r in bot.store.poll_requests())
    _, created_later = bot.request_poll(feed="utama")
    assert created_later  # the earlier one is done: a new request is a new poll


def test_unknown_feeds_and_bad_urls_are_refused_and_record_nothing(bot: Bot) -> None:
    with pytest.raises(NotFound, match="no feed named 'sport'"):
        bot.request_poll(feed="sport")
    for url in ("javascript:alert(1)", "/relative/path/", "https://" + "a" * 3000 + ".com/"):
        with pytest.raises(InvalidAction, match="absolute http"):
            bot.request_poll(url=url)
    assert bot.store.poll_requests() == []


def test_a_request_naming_an_article_polls_again_while_the_feed_lacks_it(
        bot: Bot, server: FeedServer, clock: FakeClock) -> None:
    fresh = item(server, 2)
    # WordPress sends the permalink; the feed may spell it without the trailing slash.
    bot.request_poll(url=fresh.url)
    bot.poll_requested()  # a page cache still serves the old feed
    waiting = bot.store.poll_requests()[0]
    assert waiting.state == RequestState.PENDING and waiting.attempts == 1
    assert "not in the feed yet" in waiting.result
    assert bot.poll_requested().requests == []  # not before its next try
    server.routes["/feed/"] = Route(body=rss([Item(**{**vars(fresh),
                                                     "link": fresh.url.rstrip("/")}),
                                              item(server, 1)]))
    clock.advance(RETRY_AFTER[0])
    round_ = bot.poll_requested()
    # Both feeds are on the article's host: both are polled, each once.
    assert sorted((r.feed, r.new) for r in round_.reports) == [("kutim", 0), ("utama", 1)]
    done = bot.store.poll_requests()[0]
    assert done.state == RequestState.DONE and done.attempts == 2
    queued = bot.store.posts_with_status(Status.QUEUED)
    assert [p.title for p in queued] == ["Berita 2"]


def test_a_request_naming_an_article_that_never_shows_gives_up_after_bounded_polls(
        bot: Bot, server: FeedServer, clock: FakeClock) -> None:
    bot.request_poll(url=server.url("/2026/11/30/tidak-ada/"))
    for pause in (timedelta(0), *RETRY_AFTER):
        clock.advance(pause)
        assert len(bot.poll_requested().requests) == 1
    done = bot.store.poll_requests()[0]
    assert done.state == RequestState.DONE
    assert f"not in the feed after {len(RETRY_AFTER) + 1} polls" in done.result
    clock.advance(timedelta(hours=1))
    assert bot.poll_requested().requests == []


def test_a_request_for_a_feed_removed_from_the_config_is_closed_with_the_reason(
        tmp_path: Path, bot: Bot, server: FeedServer, clock: FakeClock) -> None:
    bot.request_poll(feed="kutim")
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"))  # kutim is gone when the worker looks
    worker = Bot(load_config(path), data_dir=bot.data_dir, clock=clock)
    assert worker.poll_requested().reports == []
    assert "no feed named 'kutim'" in worker.store.poll_requests()[0].result
    assert feed_hits(server) == []


def test_link_variants_cover_how_feeds_spell_a_permalink() -> None:
    variants = link_variants("https://editorialkaltim.com/2026/11/30/berita/")
    assert "https://editorialkaltim.com/2026/11/30/berita" in variants
    assert "http://www.editorialkaltim.com/2026/11/30/berita/" in variants
