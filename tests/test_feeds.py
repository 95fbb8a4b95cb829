"""Fetching feeds: conditional GET, bounds, and every fault recorded with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.errors import FeedError
from bot.feeds import fetch_feed, paged_url, parse_feed
from bot.http import USER_AGENT, HttpClient
from tests.feedkit import FeedServer, Route, make_items, rss, write_config


def make_bot(tmp_path: Path, server: FeedServer, data_dir: Path, path: str = "/feed/",
             **kwargs: str) -> Bot:
    config_path = tmp_path / "bot.toml"
    write_config(config_path, server.url(path), **kwargs)
    return Bot(load_config(config_path), data_dir=data_dir)


def test_sends_user_agent_and_validators(tmp_path: Path, server: FeedServer,
                                         data_dir: Path) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(3)))
    bot = make_bot(tmp_path, server, data_dir)
    first = bot.poll()[0]
    second = bot.poll()[0]
    assert (first.status, second.status) == ("ok", "not_modified")
    requests = server.hits("/feed/")
    assert requests[0].headers["User-Agent"] == USER_AGENT
    assert "EditorialKaltimBot" in USER_AGENT
    assert "If-None-Match" not in requests[0].headers
    assert requests[1].headers["If-None-Match"].startswith('"')
    assert requests[1].headers["If-Modified-Since"] == "Mon, 28 Oct 2024 06:00:00 GMT"
    assert bot.store.feed_state("utama").last_status == "not_modified"  # type: ignore[union-attr]


def test_identical_body_is_not_parsed(tmp_path: Path, server: FeedServer,
                                      data_dir: Path) -> None:
    # A server without validators that sends the same bytes again.
    server.routes["/feed/"] = Route(body=rss(make_items(3)), etag=False, last_modified=None)
    bot = make_bot(tmp_path, server, data_dir)
    assert bot.poll()[0].status == "ok"
    report = bot.poll()[0]
    assert report.status == "unchanged"
    assert report.reason == "body identical to last poll"


def test_page_requests_carry_no_validators(server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(2)), pages={2: rss(make_items(2))})
    from bot.feeds import fetch_page

    http = HttpClient(load_config_for(server).fetch)
    assert fetch_page(http, server.url("/feed/"), 2) is not None
    assert fetch_page(http, server.url("/feed/"), 3) is None
    for request in server.hits("/feed/?paged="):
        assert "If-None-Match" not in request.headers
        assert "If-Modified-Since" not in request.headers


def load_config_for(server: FeedServer, tmp: Path | None = None) -> object:
    import tempfile

    directory = Path(tempfile.mkdtemp()) if tmp is None else tmp
    write_config(directory / "bot.toml", server.url("/feed/"))
    return load_config(directory / "bot.toml")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(body=b"<!DOCTYPE html><html><body>Situs sedang perbaikan</body></html>",
               content_type="text/html"), "HTML page instead of a feed"),
        (Route(body=b""), "empty body"),
        (Route(body=b"   \n  "), "empty body"),
        (Route(body=b"Forbidden", status=403), "HTTP 403"),
        (Route(body=b"gone", status=404), "HTTP 404"),
        (Route(body=b"Bad gateway", status=502), "HTTP 502"),
        (Route(body=b"oops", status=500), "HTTP 500"),
        (Route(body=rss(make_items(1)), fault="slow"), "read timeout"),
        (Route(body=rss(make_items(1)), fault="reset"), "connection failed"),
        (Route(body=b"", fault="redirect_loop"), "redirect loop"),
        (Route(body=b"", fault="huge"), "body too large"),
        (Route(body=b"", fault="drip"), "took too long"),
        (Route(body=b"\x00\x01\x02garbage\xff"), "not a feed"),
        (Route(body=b'{"json": true}', content_type="application/json"), "not a feed"),
    ],
    ids=["html", "empty", "blank", "403", "404", "502", "500", "timeout", "reset",
         "redirect-loop", "oversized", "drip", "binary", "json"],
)
def test_faults_are_recorded_never_raised(
    tmp_path: Path, server: FeedServer, data_dir: Path, route: Route, reason: str
) -> None:
    server.routes["/feed/"] = route
    bot = make_bot(tmp_path, server, data_dir)
    report = bot.poll()[0]
    assert report.status == "error"
    assert reason in report.reason
    assert report.reason.startswith(server.url("/feed/") + ": ")  # names the failing feed
    state = bot.store.feed_state("utama")
    assert state is not None
    assert state.last_status == "error"
    assert state.last_reason == report.reason
    assert state.first_polled_at is None  # a failed poll is not the first poll
    assert state.etag is None
    assert bot.posts() == []


def test_fault_after_success_keeps_articles_and_validators(
    tmp_path: Path, server: FeedServer, data_dir: Path
) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(3)))
    bot = make_bot(tmp_path, server, data_dir)
    bot.poll()
    etag = bot.store.feed_state("utama").etag  # type: ignore[union-attr]
    server.routes["/feed/"] = Route(body=b"<html><body>error</body></html>",
                                    content_type="text/html", status=200)
    assert bot.poll()[0].status == "error"
    state = bot.store.feed_state("utama")
    assert state is not None and state.etag == etag
    assert state.consecutive_failures == 1 and state.failing_since is not None
    assert len(bot.posts()) == 3
    assert {p.status.value for p in bot.posts()} == {"seen"}


def test_bozo_feed_with_entries_is_used() -> None:
    body = rss(make_items(2)).replace(b"</channel>", b"<broken></channel>")
    body = body.replace(b"Berita nomor", b"Berita & nomor", 1)  # a bare ampersand
    parsed = parse_feed(body, feed_name="utama", feed_url="https://editorialkaltim.com/feed/")
    assert parsed.bozo_reason is not None
    assert len(parsed.articles) == 2


def test_oversized_declared_length_is_refused_before_reading(server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=b"x" * 2_000_000)
    http = HttpClient(load_config_for(server).fetch)  # type: ignore[attr-defined]
    with pytest.raises(FeedError, match="2000000 bytes declared"):
        fetch_feed(http, server.url("/feed/"))


def test_paged_url_keeps_other_query_parameters() -> None:
    assert paged_url("https://site/feed/?cat=3", 2) == "https://site/feed/?cat=3&paged=2"
    assert paged_url("https://site/feed/?paged=5", 2) == "https://site/feed/?paged=2"
