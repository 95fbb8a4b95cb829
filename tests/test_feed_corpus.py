"""The malformed-feed corpus (tests/feed_corpus.py) through the real poll, render and
publish path: each feed is served by the feed server on 127.0.0.1 and polled by the
bot with its outbox publisher.

Every case ends in right posts or a recorded feed error: never a crash, never a poll
past the fetch deadline, never a wrong post, and the size attacks stay within memory.
"""

from __future__ import annotations

import re
import socket
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.models import Status
from bot.store import PostFilter
from tests.feed_corpus import CASES, SITE, Case, FeedFault, Posts, Sane
from tests.feedkit import FeedServer, write_config

# write_config's fetch limits: 1 s read timeout (so a 2 s deadline per download), 1 MB.
DEADLINE_S = 2.0
POLL_BOUND_S = 10 * DEADLINE_S  # generous: the poll also parses and renders cards
MEMORY_BOUND = 48 * 1024 * 1024  # a 50 MB body or bomb must never be held whole
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ENTITY = re.compile(r"&[A-Za-z_][\w.-]*;")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus's article links are on editorialkaltim.com, and rendering looks for
    their og:image: answer every name but loopback's with "not known", so no DNS query
    (let alone a request) leaves the machine."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_the_corpus_has_at_least_40_feeds() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_feed_gives_right_posts_or_a_recorded_error(case: Case, tmp_path: Path,
                                                    data_dir: Path, server: FeedServer) -> None:
    server.routes["/feed/"] = case.route
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra="backlog = 50")
    bot = Bot(load_config(config), data_dir=data_dir)
    watch_memory = "bomb" in case.name or "50mb" in case.name
    if case.prepare is not None:
        case.prepare()
    try:
        if watch_memory:
            tracemalloc.start()
        started = time.monotonic()
        report = bot.poll()[0]
        elapsed = time.monotonic() - started
        if watch_memory:
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert peak < MEMORY_BOUND, f"poll held {peak / 1e6:.1f} MB"
        while bot.publish(force=True):
            pass
        posts = bot.posts(PostFilter(limit=None))
        state = bot.store.feed_state("utama")
        articles = {p.link: bot.store.article(p.article_key) for p in posts}
    finally:
        bot.close()
    assert elapsed < POLL_BOUND_S, f"poll took {elapsed:.1f}s"
    assert state is not None and state.last_status in ("ok", "error")
    posted = {p.link: p for p in posts if p.status == Status.POSTED}
    for post in posted.values():  # whatever the case: no wrong post
        assert post.title.strip() and not _CONTROL.search(post.title), post.title
        assert not _ENTITY.search(post.title), post.title
        assert post.link.startswith(f"{SITE}/") and post.link.rstrip("/") != SITE
        assert post.caption and post.link in post.caption
        assert "root:" not in post.caption  # no external entity was ever read
    expect = case.expect
    if isinstance(expect, FeedFault):
        assert report.status == "error" and state.last_status == "error"
        assert expect.reason in (state.last_reason or ""), state.last_reason
        assert posts == []
    elif isinstance(expect, Posts):
        assert report.status == "ok", report.reason
        assert set(posted) == set(expect.posts)
        for link, title in expect.posts.items():
            if title is not None:
                assert posted[link].title == title
        for link in expect.refused:
            refused = [p for p in posts if p.link == link]
            assert refused and all(p.status != Status.POSTED and p.reason for p in refused), \
                (link, refused)
        for link, when in case.dates.items():
            found = articles[link]
            assert found is not None
            assert (found[1].published or found[1].updated) == when
    else:
        assert isinstance(expect, Sane)
        if report.status == "error":
            assert posts == [] and state.last_reason
        else:
            assert set(posted) <= set(expect.links), set(posted)
            for post in posts:
                if post.status != Status.POSTED:
                    assert post.reason, post
