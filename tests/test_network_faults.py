"""Network faults from local servers, through the real poll path: each ends within the
documented deadline (twice ``[fetch] timeout`` per download), holds little memory,
and is recorded as the feed's last status (or in the post's render notes for photos).

The configs use a 1 s read timeout, so a download's deadline is 2 s; the bounds below
are generous multiples of it, never timings of this machine.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.store import PostFilter
from tests.feedkit import FeedServer, Item, Route, reset, rss, write_config
from tests.imagekit import jpeg, landscape

DEADLINE_S = 2.0  # write_config: timeout = "1s"; the whole download gets twice that
BOUND_S = 4 * DEADLINE_S + 4  # generous: a loaded 2-core machine, and the poll's own work
MEMORY_BOUND = 16 * 1024 * 1024
WHEN = datetime(2024, 10, 28, 5, 0, tzinfo=UTC)

Handler = Callable[[BaseHTTPRequestHandler], None]


def _drip(lines: Iterator[bytes], pause: float, *, seconds: float = 30.0) -> Handler:
    """Send ``lines`` one by one, ``pause`` apart, until the client hangs up."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        end = time.monotonic() + seconds
        with contextlib.suppress(OSError):
            for line in lines:
                if time.monotonic() > end:
                    return
                h.wfile.write(line)
                h.wfile.flush()
                time.sleep(pause)
        h.close_connection = True
    return handler


def _forever(first: bytes, then: bytes) -> Iterator[bytes]:
    yield first
    while True:
        yield then


def slow_headers() -> Handler:
    """A status line, then a header every 0.3 s, each well inside the read timeout."""
    return _drip(_forever(b"HTTP/1.1 200 OK\r\n", b"X-Padding: a\r\n"), 0.3)


def slowloris_body() -> Handler:
    """Headers at once, then the body a few bytes every 0.3 s."""
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"
            b"Content-Length: 100000\r\n\r\n<?xml version=\"1.0\"?><rss>")
    return _drip(_forever(head, b"<!-- -->"), 0.3)


def reset_mid_body() -> Handler:
    """Half a feed, then a TCP reset."""
    body = rss([Item(post_id=1, title="A", slug="a-b", published=WHEN)])

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[: len(body) // 2])
        h.wfile.flush()
        time.sleep(0.1)
        reset(h)
    return handler


def redirect(location: Callable[[BaseHTTPRequestHandler], str], pause: float = 0.0) -> Handler:
    """A 302 to ``location(h)``, after ``pause`` seconds."""
    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(pause)
        h.send_response(302)
        h.send_header("Location", location(h))
        h.send_header("Content-Length", "0")
        h.end_headers()
    return handler


_hops = itertools.count()


def _next_hop(h: BaseHTTPRequestHandler) -> str:
    """Always a new URL: no loop to spot, only the hop count or the deadline stops it."""
    return f"/feed/?hop={next(_hops)}"


def header_flood() -> Handler:
    """Thousands of headers (http.client allows 100)."""
    lines = [b"HTTP/1.1 200 OK\r\n"] + [b"X-H%d: v\r\n" % i for i in range(5000)] + [b"\r\n"]
    return _drip(iter([b"".join(lines)]), 0.0)


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A port whose kernel completes the TCP handshake and then nothing ever comes."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _bot(tmp_path: Path, data_dir: Path, feed_url: str, *, private: bool = True) -> Bot:
    path = tmp_path / "bot.toml"
    write_config(path, feed_url, feeds_extra="backlog = 5")
    if not private:
        path.write_text(path.read_text().replace("allow_private_addresses = true",
                                                 "allow_private_addresses = false"))
    return Bot(load_config(path), data_dir=data_dir)


def _poll(bot: Bot) -> tuple[float, int, str]:
    tracemalloc.start()
    started = time.monotonic()
    try:
        report = bot.poll()[0]
    finally:
        elapsed = time.monotonic() - started
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    state = bot.store.feed_state("utama")
    assert state is not None
    assert report.status == "error" and state.last_status == "error"
    return elapsed, peak, state.last_reason or ""


FEED_FAULTS: list[tuple[str, Callable[[FeedServer], Route], str]] = [
    ("slow-headers", lambda s: Route(handler=slow_headers()), "too long"),
    ("slowloris-body", lambda s: Route(handler=slowloris_body()), "too long"),
    ("reset-mid-body", lambda s: Route(handler=reset_mid_body()), "connection"),
    ("redirect-loop", lambda s: Route(fault="redirect_loop"), "redirect loop"),
    ("endless-redirects", lambda s: Route(handler=redirect(_next_hop)), "too many redirects"),
    ("slow-redirect-chain", lambda s: Route(handler=redirect(_next_hop, pause=0.8)),
     "too long"),
    ("header-flood", lambda s: Route(handler=header_flood()), ""),
    ("http-500", lambda s: Route(status=500, body=b"<html>error</html>"), "HTTP 500"),
]


@pytest.mark.parametrize("make,expected", [(m, e) for _n, m, e in FEED_FAULTS],
                         ids=[n for n, _m, _e in FEED_FAULTS])
def test_feed_fault_is_bounded_and_recorded(make: Callable[[FeedServer], Route], expected: str,
                                           tmp_path: Path, data_dir: Path,
                                           server: FeedServer) -> None:
    server.routes["/feed/"] = make(server)
    bot = _bot(tmp_path, data_dir, server.url("/feed/"))
    try:
        elapsed, peak, reason = _poll(bot)
        posts = bot.posts(PostFilter(limit=None))
    finally:
        bot.close()
    assert elapsed < BOUND_S, f"took {elapsed:.1f}s: {reason}"
    assert peak < MEMORY_BOUND
    assert reason and expected in reason
    assert posts == []


def test_https_to_a_plain_http_port_is_a_tls_error(tmp_path: Path, data_dir: Path,
                                                   server: FeedServer) -> None:
    bot = _bot(tmp_path, data_dir, f"https://127.0.0.1:{server.port}/feed/")
    try:
        elapsed, _peak, reason = _poll(bot)
    finally:
        bot.close()
    assert elapsed < BOUND_S
    assert "TLS" in reason or "SSL" in reason, reason


def test_a_server_that_accepts_and_never_answers_times_out(tmp_path: Path,
                                                          data_dir: Path) -> None:
    with blackhole() as port:
        bot = _bot(tmp_path, data_dir, f"http://127.0.0.1:{port}/feed/")
        try:
            elapsed, _peak, reason = _poll(bot)
        finally:
            bot.close()
    assert elapsed < BOUND_S
    assert "timeout" in reason or "too long" in reason, reason


def test_a_closed_port_is_a_connection_failure(tmp_path: Path, data_dir: Path) -> None:
    with blackhole() as port:
        pass  # the port is closed again
    bot = _bot(tmp_path, data_dir, f"http://127.0.0.1:{port}/feed/")
    try:
        elapsed, _peak, reason = _poll(bot)
    finally:
        bot.close()
    assert elapsed < BOUND_S
    assert "refused" in reason.lower() or "connection" in reason, reason


def test_a_feed_redirect_to_a_private_address_on_another_host_is_refused(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    server.routes["/secret/"] = Route(body=rss([]))
    server.routes["/feed/"] = Route(handler=redirect(
        lambda h: f"http://localhost:{server.port}/secret/"))
    bot = _bot(tmp_path, data_dir, server.url("/feed/"), private=False)
    try:
        elapsed, _peak, reason = _poll(bot)
    finally:
        bot.close()
    assert elapsed < BOUND_S
    assert "refused" in reason and "localhost" in reason, reason
    assert server.hits("/secret/") == []


# -- photos: faults while fetching an article's photo ---------------------------------

PHOTO_FAULTS: list[tuple[str, Callable[[FeedServer], Route], str]] = [
    ("slow-headers", lambda s: Route(handler=slow_headers()), "too long"),
    ("slowloris", lambda s: Route(handler=_drip(_forever(
        b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 900000\r\n\r\n\xff\xd8",
        b"\x00" * 8), 0.3)), "too long"),
    ("reset-mid-body", lambda s: Route(handler=reset_mid_body()), "connection"),
    ("redirect-loop", lambda s: Route(fault="redirect_loop"), "redirect loop"),
    ("wrong-content-type", lambda s: Route(body=jpeg(landscape((800, 600))),
                                           content_type="text/html"), "not image/*"),
    ("oversized", lambda s: Route(body=b"\xff\xd8\xff" + b"\x00" * 2_000_000,
                                  content_type="image/jpeg"), "too large"),
]


@pytest.mark.parametrize("make,expected", [(m, e) for _n, m, e in PHOTO_FAULTS],
                         ids=[n for n, _m, _e in PHOTO_FAULTS])
def test_photo_fault_is_bounded_and_noted(make: Callable[[FeedServer], Route], expected: str,
                                         tmp_path: Path, data_dir: Path,
                                         server: FeedServer) -> None:
    server.routes["/photo.jpg"] = make(server)
    item = Item(post_id=40100, title="Banjir rob di Samarinda", slug="banjir-rob-samarinda",
                published=WHEN, image=server.url("/photo.jpg"),
                link=server.url("/artikel/banjir-rob-samarinda/"))
    server.routes["/feed/"] = Route(body=rss([item]))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 5",
                 extra='photo_max_bytes = "1MB"')
    bot = Bot(load_config(path), data_dir=data_dir)
    try:
        started = time.monotonic()
        report = bot.poll()[0]
        elapsed = time.monotonic() - started
        post = bot.posts(PostFilter(limit=None))[0]
    finally:
        bot.close()
    assert report.status == "ok"
    assert elapsed < BOUND_S, f"took {elapsed:.1f}s"
    assert post.status == "queued" and post.card_path  # the branded card instead
    assert post.render_notes and expected in post.render_notes, post.render_notes
