"""Follow-ups: corrections and takedowns of posted articles reach the Instagram post.

End to end against the feed server (feed and article pages on 127.0.0.1) and the
Instagram emulator through the real publisher: poll → publish → watch → detect →
follow-up, event and alert → caption edit or archive, exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.articles import Article
from bot.config import load_config
from bot.core import Bot
from bot.errors import ConfigError
from bot.models import ActionState, Followup, FollowupKind, FollowupState, Post, Status
from bot.pipeline import followup as followup_module
from bot.pipeline.detect import (
    LinkVerdict,
    check_offset,
    corrected_caption,
    correction_line,
    link_verdict,
    next_check_at,
)
from bot.pipeline.followup import SENDING_GRACE
from bot.publishers.instagram.publisher import InstagramPublisher
from bot.store import PostFilter, posts
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, log_in

EDIT = "edit_media"
ONLY_ME = "only_me/"
PAGE = b"<html><head><title>Berita</title></head><body><p>Isi berita.</p></body></html>"
TITLE = "Pemkab Kutim bahas anggaran tahap pertama"
BODY = ('<p>Editorialkaltim.com &#8211; Pemerintah Kabupaten Kutai Timur membahas anggaran '
        'tahap pertama bersama DPRD di Sangatta pada Senin.</p>'
        '<ins class="adsbygoogle" data-ad-slot="111"></ins>'
        '<p>Pembahasan berlangsung hingga sore hari dan dihadiri seluruh fraksi.</p>')


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    """A posted article on Instagram, watched; the feed and page can be changed."""

    bot: Bot
    clock: Clock
    server: FeedServer
    emulator: Emulator | None
    item: Item
    config_path: Path
    data_dir: Path

    @property
    def path(self) -> str:
        return "/2024/10/28/anggaran-tahap-pertama/"

    def serve_feed(self, *items: Item) -> None:
        self.server.routes["/feed/"] = Route(body=rss(list(items)))

    def edit(self, **changes: str) -> None:
        """The site edits the article: the feed shows the new version."""
        self.item = replace(self.item, **changes)  # type: ignore[arg-type]
        self.serve_feed(self.item)

    def post(self) -> Post:
        """The posted post (other articles in the feed stay queued)."""
        [post] = self.bot.posts(PostFilter(status=[Status.POSTED], limit=None))
        return post

    def followups(self) -> list[Followup]:
        return self.bot.followups(post_id=self.post().id)

    def alerts(self) -> list[str]:
        return [m for k, m, _ in self.bot.store.open_alerts() if k.startswith("followup:")]

    def reopen(self) -> Bot:
        """A new process on the same store (after a crash)."""
        self.bot = Bot(load_config(self.config_path), data_dir=self.data_dir, clock=self.clock)
        return self.bot


def make_world(tmp_path: Path, data_dir: Path, server: FeedServer, emulator: Emulator | None,
               *, followup: str = "") -> World:
    clock = Clock(datetime(2026, 12, 1, 6, 0, tzinfo=UTC))
    item = Item(post_id=41001, title=TITLE, slug="anggaran-tahap-pertama",
                published=clock.now - timedelta(minutes=30), body=BODY,
                link=server.url("/2024/10/28/anggaran-tahap-pertama/"))
    server.routes["/2024/10/28/anggaran-tahap-pertama/"] = Route(
        body=PAGE, content_type="text/html; charset=UTF-8", etag=False, last_modified=None)
    server.routes["/"] = Route(body=b"<html>beranda</html>", content_type="text/html",
                               etag=False, last_modified=None)
    server.routes["/feed/"] = Route(body=rss([item]))
    publisher = "instagram" if emulator is not None else "outbox"
    path = tmp_path / "bot.toml"
    path.write_text(f"""
timezone = "Asia/Makassar"

[site]
url = "{server.url('/')}"

[[feeds]]
name = "utama"
url = "{server.url('/feed/')}"
accounts = ["{ACCOUNT}"]
backlog = 1

[[accounts]]
name = "{ACCOUNT}"
publisher = "{publisher}"

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 100
max_age = "3650d"

[fetch]
timeout = "2s"
connect_timeout = "2s"
allow_private_addresses = true

[publish]
max_attempts = 3
retry_backoff = "1m"
call_timeout = "10s"

[followup]
watch_for = "3d"
check_every = "1h"
{followup}
""", encoding="utf-8")
    bot = Bot(load_config(path), data_dir=data_dir, clock=clock)
    if emulator is not None:
        log_in(bot.store, emulator)
    bot.poll()
    [outcome] = bot.publish()
    assert outcome.status == Status.POSTED, outcome
    clock.advance(minutes=1)
    bot.follow_up()  # starts watching the post
    return World(bot, clock, server, emulator, item, path, data_dir)


@pytest.fixture
def world(tmp_path: Path, data_dir: Path, server: FeedServer,
          emulator: Emulator) -> Iterator[World]:
    made = make_world(tmp_path, data_dir, server, emulator)
    yield made
    made.bot.close()


def _world_with(request: pytest.FixtureRequest, followup: str) -> Iterator[World]:
    made = make_world(request.getfixturevalue("tmp_path"), request.getfixturevalue("data_dir"),
                      request.getfixturevalue("server"), request.getfixturevalue("emulator"),
                      followup=followup)
    yield made
    made.bot.close()


@pytest.fixture
def auto_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Automatic actions: update the caption on a correction, archive on a takedown."""
    yield from _world_with(request, 'on_correction = "update_caption"\n'
                                    'on_takedown = "archive"\n')


# -- corrections ----------------------------------------------------------------------


def test_a_title_change_opens_one_followup_and_one_alert_and_a_later_poll_none(
        world: World) -> None:
    post = world.post()
    assert world.bot.store.watch(post.id) is not None
    world.clock.advance(minutes=5)
    world.edit(title="Pemkab Kutim bahas anggaran tahap pertama, bukan kedua")

    world.bot.poll()

    [record] = world.followups()
    assert record.kind == FollowupKind.CORRECTION and record.state == FollowupState.OPEN
    assert record.old_title == TITLE
    assert record.new_title == "Pemkab Kutim bahas anggaran tahap pertama, bukan kedua"
    assert record.permalink == post.permalink and post.permalink.startswith(
        "https://www.instagram.com/p/")
    [alert] = world.alerts()
    assert post.permalink in alert and repr(TITLE) in alert and "bukan kedua" in alert
    events = [e for e in world.bot.timeline(post.id) if e.kind == "followup"]
    assert len(events) == 1 and "title changed" in events[0].reason
    assert [e for e in world.bot.timeline(post.id) if e.kind == "alert"]

    # The same feed again (a changed body byte makes it parse again): nothing new.
    world.clock.advance(minutes=5)
    world.edit(body=BODY + "<!-- cache 2 -->")
    world.bot.poll()
    world.bot.follow_up()
    assert len(world.followups()) == 1
    assert len(world.alerts()) == 1
    assert world.emulator is not None and world.emulator.count(EDIT) == 0  # alert only


def test_a_ralat_paragraph_added_to_the_body_opens_one_followup_naming_the_marker(
        world: World) -> None:
    world.clock.advance(minutes=5)
    ralat = ("<p><strong>Ralat:</strong> Sebelumnya tertulis rapat digelar Selasa, yang "
             "benar Senin.</p>")
    world.edit(body=BODY + ralat)

    world.bot.poll()

    [record] = world.followups()
    assert record.kind == FollowupKind.CORRECTION
    assert record.marker == "Ralat" and record.old_title == record.new_title == TITLE
    [alert] = world.alerts()
    assert "marker 'Ralat'" in alert and world.post().permalink in alert
    world.clock.advance(minutes=5)
    world.edit(body=BODY + ralat + "<!-- again -->")
    world.bot.poll()
    assert len(world.followups()) == 1 and len(world.alerts()) == 1


def test_a_changed_ad_slot_or_markup_is_no_correction(world: World) -> None:
    world.clock.advance(minutes=5)
    # New ad markup (its script even says "Pembaruan"), a class named after a marker,
    # and a different ad slot id: a reader sees the same text.
    world.edit(body=BODY.replace('data-ad-slot="111"', 'data-ad-slot="222"').replace(
        "<p>Pembahasan", '<p class="ralat-koreksi">Pembahasan')
        + '<div class="iklan"><script>var label = "Pembaruan Ralat";</script></div>')

    world.bot.poll()

    assert world.followups() == []
    assert world.alerts() == []


# -- takedowns --------------------------------------------------------------------------


def _leave_feed(world: World) -> None:
    other = Item(post_id=41002, title="Berita lain", slug="berita-lain",
                 published=world.clock.now, link=world.server.url("/2024/10/28/berita-lain/"))
    world.serve_feed(other)
    world.bot.poll()


def _check_due(world: World) -> None:
    """Move the clock past the post's next check and run the follow-up job."""
    watch = world.bot.store.watch(world.post().id)
    assert watch is not None
    world.clock.now = max(world.clock.now, watch.next_check_at) + timedelta(seconds=1)
    world.bot.follow_up()


def test_an_article_that_leaves_the_feed_and_answers_404_is_a_takedown(world: World) -> None:
    world.server.routes[world.path] = Route(status=404, body=b"<html>tidak ada</html>",
                                            content_type="text/html")
    _check_due(world)  # 404, but the feed still lists it: not a takedown yet
    assert world.followups() == []

    _leave_feed(world)
    _check_due(world)

    [record] = world.followups()
    assert record.kind == FollowupKind.TAKEDOWN and "HTTP 404" in record.reason
    [alert] = world.alerts()
    assert "takedown" in alert and world.post().permalink in alert
    _check_due(world)
    assert len(world.followups()) == 1 and len(world.alerts()) == 1


def test_a_redirect_to_the_home_page_is_a_takedown(world: World) -> None:
    def home(h: BaseHTTPRequestHandler) -> None:
        h.send_response(301)
        h.send_header("Location", "/")
        h.send_header("Content-Length", "0")
        h.end_headers()

    world.server.routes[world.path] = Route(handler=home)
    _leave_feed(world)
    _check_due(world)
    [record] = world.followups()
    assert record.kind == FollowupKind.TAKEDOWN and "home page" in record.reason


def test_an_article_that_answers_500_is_no_takedown_and_is_asked_again_next_check(
        world: World) -> None:
    world.server.routes[world.path] = Route(status=500, body=b"oops", content_type="text/html")
    _leave_feed(world)
    before = len(world.server.hits(world.path))
    _check_due(world)
    assert world.followups() == []
    watch = world.bot.store.watch(world.post().id)
    assert watch is not None and watch.last_check == "transient: HTTP 500"
    assert len(world.server.hits(world.path)) == before + 1

    world.server.routes[world.path] = Route(status=410, body=b"gone", content_type="text/html")
    _check_due(world)
    [record] = world.followups()
    assert record.kind == FollowupKind.TAKEDOWN and "HTTP 410" in record.reason


def test_a_marker_in_the_page_title_of_an_article_that_left_the_feed_is_a_correction(
        world: World) -> None:
    _leave_feed(world)
    # Written differently from the feed's title (a site suffix, entities): no correction.
    world.server.routes[world.path] = Route(
        body=(f"<html><head><title>{TITLE} &#8211; Editorial Kaltim</title></head>"
              "<body><p>Pembaruan harga.</p></body></html>").encode(),
        content_type="text/html; charset=UTF-8", etag=False, last_modified=None)
    _check_due(world)
    assert world.followups() == []

    page_title = "Ralat: Pemkab Kutim bahas anggaran tahap kedua"
    world.server.routes[world.path] = Route(
        body=(f'<html><head><meta property="og:title" content="{page_title}">'
              f"<title>{page_title} - Editorial Kaltim</title></head><body></body></html>"
              ).encode(), content_type="text/html; charset=UTF-8", etag=False,
        last_modified=None)
    _check_due(world)
    [record] = world.followups()
    assert record.kind == FollowupKind.CORRECTION and record.marker == "Ralat"
    assert record.new_title == page_title and "seen at a link check" in record.reason
    _check_due(world)
    assert len(world.followups()) == 1 and len(world.alerts()) == 1


# -- actions ------------------------------------------------------------------------------


def test_update_caption_sends_exactly_one_edit_media_with_the_new_caption(
        auto_world: World) -> None:
    world = auto_world
    old_caption = world.post().caption
    assert old_caption and TITLE in old_caption
    world.clock.advance(minutes=5)
    new_title = "Pemkab Kutim bahas anggaran tahap pertama bersama DPRD"
    world.edit(title=new_title)

    world.bot.poll()

    assert world.emulator is not None
    assert world.emulator.count(EDIT, "POST") == 1
    [landed] = world.emulator.feed()
    assert landed.edits == [landed.caption]
    assert landed.caption.startswith("Ralat: judul diperbarui pada Selasa, 1 Desember 2026 "
                                     "14.06 WITA\n\n")
    assert new_title in landed.caption and TITLE not in landed.caption.replace(new_title, "")
    [record] = world.followups()
    assert record.state == FollowupState.DONE and record.action_state == ActionState.DONE
    assert world.post().caption == landed.caption
    assert world.alerts() == []  # handled: the incident is resolved

    # Later polls and runs send nothing more.
    world.clock.advance(hours=2)
    world.edit(body=BODY + "<!-- 3 -->")
    world.bot.poll()
    world.bot.follow_up()
    assert world.emulator.count(EDIT, "POST") == 1


def test_archive_sends_exactly_one_only_me_and_ends_the_watch(auto_world: World) -> None:
    world = auto_world
    assert world.emulator is not None
    world.server.routes[world.path] = Route(status=404, body=b"", content_type="text/html")
    _leave_feed(world)
    _check_due(world)

    assert world.emulator.count(ONLY_ME, "POST") == 1
    [landed] = world.emulator.feed()
    assert landed.archived
    [record] = world.followups()
    assert record.kind == FollowupKind.TAKEDOWN and record.state == FollowupState.DONE
    watch = world.bot.store.watch(world.post().id)
    assert watch is not None and watch.archived_at is not None
    assert watch.ended_reason == "takedown handled (archived)"
    hits = len(world.server.hits(world.path))
    world.clock.advance(hours=3)
    world.bot.follow_up()
    assert world.emulator.count(ONLY_ME, "POST") == 1
    assert len(world.server.hits(world.path)) == hits  # no longer watched


def test_human_actions_from_the_facade_update_caption_archive_and_dismiss(
        world: World) -> None:
    assert world.emulator is not None
    world.clock.advance(minutes=5)
    world.edit(title="Judul baru untuk berita anggaran")
    world.bot.poll()
    [record] = world.followups()
    assert world.emulator.count(EDIT) == 0  # on_correction = "alert": a human decides

    done = world.bot.update_caption(world.post().id, actor="web:admin")
    assert done.id == record.id and done.state == FollowupState.DONE
    assert world.emulator.count(EDIT, "POST") == 1
    with pytest.raises(Exception, match="no open follow-up"):
        world.bot.update_caption(world.post().id, actor="web:admin")
    assert world.emulator.count(EDIT, "POST") == 1

    world.clock.advance(minutes=5)
    world.edit(title="Judul baru lagi")
    world.bot.poll()
    dismissed = world.bot.dismiss(world.post().id, reason="salah ketik kecil", actor="cli:x")
    assert dismissed.state == FollowupState.DISMISSED
    assert world.alerts() == []
    assert world.emulator.count(EDIT, "POST") == 1


class Crash(BaseException):
    """The process dies here (not an Exception: nothing in the bot catches it)."""


def test_a_crash_between_decision_and_call_neither_loses_nor_duplicates_the_edit(
        auto_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world = auto_world
    assert world.emulator is not None

    def die(self: object, record: Followup) -> None:
        raise Crash

    # Crash 1: the action is decided and recorded, then the process dies before any call.
    with monkeypatch.context() as patch:
        patch.setattr(followup_module.FollowUp, "_drive_one", die)
        world.clock.advance(minutes=5)
        world.edit(title="Judul setelah ralat pertama")
        with pytest.raises(Crash):
            world.bot.poll()
    [record] = world.followups()
    assert record.action_state == ActionState.PENDING
    assert world.emulator.count(EDIT) == 0

    world.reopen()
    world.clock.advance(minutes=1)
    world.bot.follow_up()
    assert world.emulator.count(EDIT, "POST") == 1
    [record] = world.followups()
    assert record.action_state == ActionState.DONE

    # Crash 2: the edit lands on Instagram, then the process dies before recording it.
    real = InstagramPublisher.edit_caption

    def lands_then_dies(self: InstagramPublisher, post: object, caption: str) -> None:
        real(self, post, caption)  # type: ignore[arg-type]
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(InstagramPublisher, "edit_caption", lands_then_dies)
        world.clock.advance(minutes=5)
        world.edit(title="Judul setelah ralat kedua")
        with pytest.raises(Crash):
            world.bot.poll()
    assert world.emulator.count(EDIT, "POST") == 2
    second = world.followups()[-1]
    assert second.action_state == ActionState.SENDING

    world.reopen()
    world.clock.advance(seconds=10)
    world.bot.follow_up()  # within the grace: a call may still be in flight
    assert world.bot.followups(post_id=second.post_id)[-1].action_state == ActionState.SENDING
    world.clock.now += SENDING_GRACE
    world.bot.follow_up()
    world.bot.follow_up()
    assert world.emulator.count(EDIT, "POST") == 2  # found on the post, not sent again
    settled = world.bot.followups(post_id=second.post_id)[-1]
    assert settled.action_state == ActionState.DONE and settled.state == FollowupState.DONE
    [landed] = world.emulator.feed()
    assert "Judul setelah ralat kedua" in landed.caption
    assert world.post().caption == landed.caption
    assert [e.reason for e in world.bot.timeline(world.post().id)
            if "found already done" in e.reason]


def test_a_rate_limited_edit_cools_the_account_down_and_is_retried_once_it_ends(
        auto_world: World) -> None:
    world = auto_world
    assert world.emulator is not None
    world.emulator.inject(Fault(path=EDIT, status=429, body={
        "message": "Please wait a few minutes before you try again.", "status": "fail"}))
    world.clock.advance(minutes=5)
    world.edit(title="Judul baru saat dibatasi")
    world.bot.poll()

    [record] = world.followups()
    assert record.action_state == ActionState.PENDING and "RateLimited" in (
        record.action_reason or "")
    assert world.bot.store.account(ACCOUNT).state == "cooldown"
    edits = world.emulator.count(EDIT)
    for _ in range(3):
        world.clock.advance(minutes=10)
        world.bot.follow_up()
    assert world.emulator.count(EDIT) == edits  # held by the cooldown: no loop

    world.clock.advance(hours=7)
    world.bot.follow_up()
    [record] = world.followups()
    assert record.action_state == ActionState.DONE
    [landed] = world.emulator.feed()
    assert "Judul baru saat dibatasi" in landed.caption
    assert len(landed.edits) == 1


def test_a_challenge_stops_the_account_and_the_action_waits_for_a_human(
        auto_world: World) -> None:
    world = auto_world
    assert world.emulator is not None
    world.emulator.inject(Fault(path=EDIT, status=400, body={
        "message": "challenge_required", "challenge": {
            "url": "https://i.instagram.com/challenge/1/abc/", "api_path": "/challenge/1/abc/",
            "hide_webview_header": True, "lock": True, "logout": False,
            "native_flow": True}, "status": "fail"}))
    world.clock.advance(minutes=5)
    world.edit(title="Judul baru saat ada tantangan")
    world.bot.poll()
    assert world.bot.store.account(ACCOUNT).state == "stopped"
    [record] = world.followups()
    assert record.action_state == ActionState.PENDING
    calls = world.emulator.count(EDIT)
    world.clock.advance(hours=1)
    world.bot.follow_up()
    assert world.emulator.count(EDIT) == calls


def test_transient_faults_are_retried_a_bounded_number_of_times(auto_world: World) -> None:
    world = auto_world
    assert world.emulator is not None
    world.emulator.inject(Fault(path=EDIT, status=503, times=-1,
                                body={"message": "unavailable", "status": "fail"}))
    world.clock.advance(minutes=5)
    world.edit(title="Judul baru saat server sibuk")
    world.bot.poll()
    for _ in range(10):
        world.clock.advance(hours=3)
        world.bot.follow_up()
    [record] = world.followups()
    assert record.action_state == ActionState.FAILED
    assert record.action_attempts == 3  # [publish] max_attempts
    assert any("failed, a human must look" in m for _, m, _ in world.bot.store.open_alerts())


# -- watching -------------------------------------------------------------------------------


def test_watching_stops_after_watch_for(world: World) -> None:
    post = world.post()
    assert post.posted_at is not None
    world.clock.now = post.posted_at + timedelta(days=3, minutes=1)
    world.bot.follow_up()
    watch = world.bot.store.watch(post.id)
    assert watch is not None and watch.ended_at is not None
    assert watch.ended_reason == "watched for 3d"
    hits = len(world.server.hits(world.path))

    world.edit(title="Judul diubah setelah masa pantau")
    world.bot.poll()
    world.server.routes[world.path] = Route(status=404, body=b"", content_type="text/html")
    _leave_feed(world)
    for _ in range(3):
        world.clock.advance(hours=1)
        world.bot.follow_up()
    assert world.followups() == []
    assert len(world.server.hits(world.path)) == hits


def test_link_checks_for_200_watched_posts_are_spread_over_check_every(
        world: World) -> None:
    """Two hours of the daemon's one-minute job over 200 watched posts: each post is
    checked once per hour, and no minute carries more than a few checks."""
    store, bot = world.bot.store, world.bot
    start = world.clock.now
    hits: list[tuple[datetime, str]] = []

    def page(h: BaseHTTPRequestHandler) -> None:
        hits.append((world.clock.now, h.path))
        # One write: headers and body in separate segments cost a delayed ACK each.
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE))

    with store.begin() as conn:
        for n in range(200):
            slug = f"watched-{n}"
            world.server.routes[f"/w/{slug}/"] = Route(handler=page)
            article = replace(_article(world, n), link=world.server.url(f"/w/{slug}/"))
            article_id = store.insert_article(conn, article, start)
            store.create_post(conn, article_id=article_id, account=ACCOUNT, feed="utama",
                              status=Status.POSTED, reason="posted", slug=slug, at=start,
                              actor="test")
    with store.begin() as conn:
        conn.execute(posts.update().where(posts.c.status == "posted")
                     .values(posted_at=start, media_id="1"))
    world.server.routes[world.path] = Route(handler=page)
    bot.follow_up()  # the job starts watching them
    assert len(store.watches()) == 201
    per_minute: Counter[int] = Counter()
    for minute in range(1, 121):
        world.clock.now = start + timedelta(minutes=minute)
        before = len(hits)
        bot.follow_up()
        per_minute[minute] = len(hits) - before
    checked = Counter(path for _, path in hits)
    assert set(checked.values()) == {2}  # every post once an hour, twice in two hours
    assert len(checked) == 201
    mean = 201 / 60
    assert max(per_minute.values()) <= 3 * mean  # no burst
    busy = sum(1 for m in range(1, 61) if per_minute[m])
    assert busy >= 50  # spread over the hour, not bunched in a few minutes
    assert max(per_minute.values()) < followup_module.CHECKS_PER_RUN  # the cap never bit


def _article(world: World, n: int) -> Article:
    return Article(key=f"editorialkaltim.com#{50000 + n}", feed="utama",
                   link=world.server.url(f"/w/watched-{n}/"), title=f"Berita {n}",
                   published=world.clock.now, content_html="<p>Isi.</p>")


# -- outbox and CLI -------------------------------------------------------------------------


def test_the_outbox_writes_what_it_would_have_done_and_the_cli_acts(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    world = make_world(tmp_path, data_dir, server, None)
    try:
        post = world.post()
        world.clock.advance(minutes=5)
        world.edit(title="Judul yang sudah diralat redaksi")
        world.bot.poll()
        [record] = world.followups()
    finally:
        world.bot.close()
    env = {**os.environ, "BOT_DATA_DIR": str(data_dir)}

    def cli(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "bot", "--config",
                                 str(world.config_path), *args], capture_output=True,
                                text=True, timeout=120, env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout

    listed = cli("log", "--followup", "open")
    assert f"{post.id:>5}  posted" in listed and f"follow-up #{record.id} open" in listed
    assert "no posts" in cli("log", "--followup", "done")
    shown = cli("show", str(post.id))
    assert "Follow-ups:" in shown and "title changed" in shown
    out = cli("followup", str(post.id), "--update-caption", "--reason", "ralat judul")
    assert f"follow-up #{record.id} on post {post.id}: correction done" in out
    followup_file = data_dir / "outbox" / f"{post.basename}.followup.json"
    data = json.loads(followup_file.read_text(encoding="utf-8"))
    [action] = data["actions"]
    assert action["action"] == "edit_caption"
    assert action["caption"].startswith("Ralat: judul diperbarui pada ")
    assert "Judul yang sudah diralat redaksi" in action["caption"]
    again = subprocess.run([sys.executable, "-m", "bot", "--config", str(world.config_path),
                            "followup", str(post.id), "--archive"], capture_output=True,
                           text=True, timeout=120, env=env)
    assert again.returncode == 2 and "no open follow-up" in again.stderr
    assert len(json.loads(followup_file.read_text(encoding="utf-8"))["actions"]) == 1
    shown = cli("show", str(post.id), "--format", "json")
    assert json.loads(shown)["followups"][0]["state"] == "done"


# -- pure rules ------------------------------------------------------------------------------


def test_correction_line_and_caption_in_indonesian() -> None:
    tz = ZoneInfo("Asia/Makassar")
    at = datetime(2024, 10, 28, 6, 5, tzinfo=UTC)
    assert correction_line(None, title_changed=True, at=at, tz=tz) == (
        "Ralat: judul diperbarui pada Senin, 28 Oktober 2024 14.05 WITA")
    assert correction_line("Klarifikasi", title_changed=False, at=at, tz=tz) == (
        "Klarifikasi: artikel ini diperbarui pada Senin, 28 Oktober 2024 14.05 WITA")
    caption = "Judul lama\n\nRingkasan.\n\nBaca: https://x/"
    first = corrected_caption(caption, old_title="Judul lama", new_title="Judul baru",
                              line="Ralat: judul diperbarui pada A")
    assert first == "Ralat: judul diperbarui pada A\n\nJudul baru\n\nRingkasan.\n\nBaca: https://x/"
    second = corrected_caption(first, old_title="Judul baru", new_title="Judul ketiga",
                               line="Ralat: judul diperbarui pada B")
    assert second.count("diperbarui pada") == 1 and second.startswith(
        "Ralat: judul diperbarui pada B\n\nJudul ketiga\n")
    with pytest.raises(ValueError, match="2200"):
        corrected_caption("x" * 2190, old_title="a", new_title="b", line="Ralat: y")


def test_link_verdicts() -> None:
    link = "https://editorialkaltim.com/2024/10/28/a/"
    assert link_verdict(link, status=404, final_url=link)[0] == LinkVerdict.GONE
    assert link_verdict(link, status=410, final_url=link)[0] == LinkVerdict.GONE
    assert link_verdict(link, status=200, final_url="https://editorialkaltim.com/")[0] == (
        LinkVerdict.GONE)
    assert link_verdict(link, status=200, final_url=link + "?amp=1")[0] == LinkVerdict.ALIVE
    assert link_verdict(link, status=503, final_url=link)[0] == LinkVerdict.TRANSIENT
    assert link_verdict(link, status=None, final_url=None)[0] == LinkVerdict.TRANSIENT
    assert link_verdict(link, status=403, final_url=link)[0] == LinkVerdict.TRANSIENT


def test_check_times_keep_each_posts_offset_within_the_interval() -> None:
    hour = timedelta(hours=1)
    t0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    for post_id in range(1, 50):
        first = next_check_at(post_id, t0, hour)
        assert t0 < first <= t0 + hour
        assert next_check_at(post_id, first, hour) == first + hour
        assert (first - t0) % hour == check_offset(post_id, hour) or first - t0 == hour


def test_followup_config_is_validated_at_load(tmp_path: Path) -> None:
    base = ('[[feeds]]\nname = "a"\nurl = "https://editorialkaltim.com/feed/"\n'
            'accounts = ["b"]\n[[accounts]]\nname = "b"\n')
    path = tmp_path / "bot.toml"
    for bad, key in (('on_correction = "edit"', "followup.on_correction"),
                     ('check_every = "10s"', "followup.check_every"),
                     ('watch_for = "soon"', "followup.watch_for"),
                     ('markers = [""]', "followup.markers"),
                     ('mark = ["Ralat"]', "followup.mark")):
        path.write_text(base + "[followup]\n" + bad + "\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.key == key and str(path) in str(caught.value)
    path.write_text(base + '[followup]\nwatch_for = "2d"\non_takedown = "archive"\n',
                    encoding="utf-8")
    config = load_config(path)
    assert config.followup.watch_for == timedelta(days=2)
    assert config.followup.markers[0] == "Ralat"


def test_the_outbox_records_archives_and_edits_in_order_and_reads_them_back(
        tmp_path: Path) -> None:
    from bot.publishers import LivePost
    from bot.publishers.outbox import OutboxPublisher

    outbox = OutboxPublisher(tmp_path / "outbox")
    live = LivePost(post_id=7, basename="7-berita", media_id="7-berita", permalink="x.jpg")
    assert outbox.live_state(live).caption is None and not outbox.live_state(live).archived
    outbox.edit_caption(live, "Ralat: judul diperbarui pada A\n\nJudul baru")
    outbox.archive(live)
    state = outbox.live_state(live)
    assert state.caption == "Ralat: judul diperbarui pada A\n\nJudul baru" and state.archived
    data = json.loads((tmp_path / "outbox" / "7-berita.followup.json").read_text("utf-8"))
    assert [a["action"] for a in data["actions"]] == ["edit_caption", "archive"]
    assert (tmp_path / "outbox" / "7-berita.txt").read_text("utf-8").startswith("Ralat:")
