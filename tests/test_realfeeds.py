"""What real feeds found, end to end: feed served on 127.0.0.1 → poll → decide → render →
publish. The feeds are the fixtures of ``tests/feeds/`` (see tests/test_entries.py)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.articles import Article
from bot.captions import CaptionWriter
from bot.config import Config, load_config
from bot.core import Bot
from bot.errors import PostRejected
from bot.models import Post, Status, StoryStatus
from bot.store import PostFilter
from tests.feedkit import FeedServer, Route, write_config
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, log_in
from tests.schedkit import scripted

FEEDS = Path(__file__).parent / "feeds"
OPEN = ('[schedule]\nwindows = ["00:00-24:00"]\nmin_gap = "0s"\ndaily_cap = 100\n'
        'max_age = "{max_age}"\n')


def serve(server: FeedServer, name: str) -> str:
    server.routes["/feed/"] = Route(body=(FEEDS / name).read_bytes())
    return server.url("/feed/")


def make_bot(tmp_path: Path, data_dir: Path, url: str, *, backlog: int,
             max_age: str = "36500d", account_extra: str = "", **kwargs: object) -> Bot:
    path = tmp_path / "bot.toml"
    write_config(path, url, feeds_extra=f"backlog = {backlog}",
                 schedule=OPEN.format(max_age=max_age), account_extra=account_extra)
    return Bot(load_config(path), data_dir=data_dir, **kwargs)  # type: ignore[arg-type]


def posts(bot: Bot) -> list[Post]:
    return sorted(bot.posts(PostFilter(limit=None)), key=lambda p: p.id)


def by_title(bot: Bot, start: str) -> Post:
    return next(p for p in posts(bot) if p.title.startswith(start))


# ------------------------------------------------------------------------------- dates


def test_an_old_atom_entry_dated_only_by_updated_expires_under_max_age(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "wp-atom-updated-only.xml"), backlog=2,
                   max_age="24h")
    bot.poll()
    old = by_title(bot, "Jembatan Mahakam")
    assert old.published_at == datetime(2013, 5, 1, 10, 0, tzinfo=UTC)

    outcomes = bot.publish()

    assert {o.status for o in outcomes} == {Status.EXPIRED}
    assert {p.status for p in posts(bot)} == {Status.EXPIRED}
    reason = bot.post(old.id).reason
    assert "published 2013-05-01 18:00 WITA" in reason
    # A new user's backlog on an old feed: the reason says why nothing went out.
    assert "backlog never overrides max_age" in reason
    assert not list((data_dir / "outbox").glob("*.jpg"))


def test_the_queue_follows_the_entries_own_dates(tmp_path: Path, data_dir: Path,
                                                 server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "wp-atom-updated-only.xml"), backlog=2)
    bot.poll()
    outcomes = bot.publish()
    # "Harga Cabai" was published 2013-04-29; "Jembatan Mahakam" updated 2013-05-01.
    titles = [bot.post(o.post_id).title for o in outcomes]
    assert titles == ["Harga Cabai di Pasar Segiri Naik Jelang Ramadan",
                      "Jembatan Mahakam Ditutup Sementara untuk Perawatan"]


def test_an_rdf_entry_is_dated_by_dc_date(tmp_path: Path, data_dir: Path,
                                          server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "wp-rdf.xml"), backlog=1, max_age="24h")
    bot.poll()
    [post] = posts(bot)
    assert post.published_at == datetime(2013, 5, 1, 10, 0, tzinfo=UTC)
    bot.publish()
    assert bot.post(post.id).status == Status.EXPIRED


def test_an_unreadable_date_is_recorded_in_the_post_notes(tmp_path: Path, data_dir: Path,
                                                          server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "portal-id-dates.xml"), backlog=4)
    bot.poll()
    pasar = by_title(bot, "Pemkot Balikpapan")
    assert pasar.render_notes is not None
    assert "published date 'kemarin sore' could not be read" in pasar.render_notes
    assert "first-seen time used instead" in pasar.render_notes
    render = [e for e in bot.timeline(pasar.id) if e.kind == "render"]
    assert "kemarin sore" in render[-1].reason
    # Indonesian month names are read: the card's date and the alt text carry it.
    banjir = by_title(bot, "Banjir")
    assert banjir.published_at == datetime(2024, 10, 25, 16, 0, tzinfo=UTC)
    assert banjir.alt_text is not None and "Sabtu, 26 Oktober 2024" in banjir.alt_text
    assert banjir.render_notes is None or "could not be read" not in banjir.render_notes


# ------------------------------------------------------------------------------- links


def test_relative_links_are_resolved_and_linkless_entries_skipped(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "relative-links.xml"), backlog=5)
    bot.poll()
    bupati = by_title(bot, "Bupati Kutim")
    dprd = by_title(bot, "DPRD Kutim")
    assert bupati.link == ("https://kabarkutim.example/2024/10/28/"
                           "bupati-kutim-tinjau-jalan-poros/")
    assert dprd.link.startswith("https://kabarkutim.example/2024/10/28/dprd-kutim")
    for post in (bupati, dprd):
        assert post.status == Status.QUEUED
        assert post.caption is not None and post.link + "?utm_source=" in post.caption
    for title in ("Klik di Sini", "Gambar Tanpa", "Pengumuman"):
        post = by_title(bot, title)
        assert post.status == Status.SKIPPED
        assert post.reason.startswith("no article link")
        assert post.card_path is None  # never rendered, never posted with the home page
    outcomes = bot.publish()
    assert sorted(o.post_id for o in outcomes) == sorted([bupati.id, dprd.id])


def test_a_relative_link_and_an_ambiguous_configure_post_once(
        tmp_path: Path, data_dir: Path, server: FeedServer, emulator: Emulator) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    clock = [now]
    path = tmp_path / "bot.toml"
    write_config(path, serve(server, "relative-links.xml"), feeds_extra="backlog = 2",
                 schedule=OPEN.format(max_age="36500d"), account_extra='publisher = "instagram"',
                 extra='[publish]\npublishing_grace = "10s"\ncall_timeout = "5s"\n')
    text = path.read_text(encoding="utf-8").replace('publisher = "outbox"\n', "", 1)
    path.write_text(text, encoding="utf-8")
    bot = Bot(load_config(path), data_dir=data_dir, clock=lambda: clock[0])
    try:
        log_in(bot.store, emulator)
        bot.poll()
        first = bot.store.queued_posts(ACCOUNT)[0]
        # The configure lands, but the answer is lost: the post stays "publishing".
        emulator.inject(Fault("/api/v1/media/configure/", kind="drop_after"))
        bot.publishing.publish_account(ACCOUNT, limit=1)
        assert bot.post(first.id).status == Status.PUBLISHING
        clock[0] = now + timedelta(seconds=11)
        bot.publish()
        # The exactly-once check found it by its absolute link: each article once.
        feed = emulator.feed()
        assert len(feed) == 2
        assert [p.status for p in posts(bot) if p.status != Status.SEEN] == \
            [Status.POSTED] * 2
        for post in posts(bot):
            if post.status == Status.POSTED:
                assert sum(post.link in landed.caption for landed in feed) == 1
    finally:
        bot.close()


# ---------------------------------------------------------------------------- headlines


def test_an_entity_expansion_attack_never_becomes_a_post(tmp_path: Path, data_dir: Path,
                                                         server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "billion-laughs.xml"), backlog=3)
    bot.poll()
    all_posts = posts(bot)
    assert len(all_posts) == 3
    attacks = [p for p in all_posts if p.article_key.endswith(("#900", "#899"))]
    for post in attacks:
        assert post.status == Status.SKIPPED
        assert "entity-expansion" in post.reason
    assert "&lol9;" in next(p for p in attacks if p.article_key.endswith("#900")).reason
    honest = next(p for p in all_posts if p.article_key.endswith("#898"))
    assert honest.status == Status.QUEUED
    outcomes = bot.publish()
    assert [o.post_id for o in outcomes] == [honest.id]
    assert not any("&lol" in (p.caption or "") for p in posts(bot))


def test_control_characters_never_reach_the_caption(tmp_path: Path, data_dir: Path,
                                                    server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "control-chars.xml"), backlog=1)
    bot.poll()
    [post] = posts(bot)
    assert post.title == "Rapat Paripurna DPRD Kutim Bahas KUA-PPAS"
    assert post.caption is not None and post.alt_text is not None
    for text in (post.caption, post.alt_text):
        assert not [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"], text
        assert "[31m" not in text


def test_a_repeated_guid_is_recorded_on_the_first_entry_s_post(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "duplicate-guids.xml"), backlog=3)
    report = bot.poll()[0]
    [post] = posts(bot)
    assert post.title == "Wali Kota Samarinda Buka Musrenbang 2025"
    assert "2 entries repeat an earlier entry's guid" in report.reason
    duplicates = [e for e in bot.timeline(post.id) if e.kind == "duplicate"]
    assert len(duplicates) == 2
    assert "Teras Samarinda Ramai Dikunjungi Saat Libur" in duplicates[0].reason
    # A later poll of the same feed (new bytes, same clash) does not repeat the events.
    body = (FEEDS / "duplicate-guids.xml").read_bytes().replace(b"Berita Samarinda",
                                                                b"Berita Kota Samarinda")
    server.routes["/feed/"] = Route(body=body)
    bot.poll()
    assert len([e for e in bot.timeline(post.id) if e.kind == "duplicate"]) == 2


@pytest.fixture
def config(tmp_path: Path, server: FeedServer) -> Config:
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"))
    return load_config(path)


@pytest.mark.parametrize("title", [
    " ".join(["Pemkab Kutim bahas anggaran pendidikan dan kesehatan tahun depan"] * 60),
    "Kutim" + "x" * 3000,  # one long token
])
def test_a_huge_title_is_shortened_and_keeps_the_site_name_and_link(config: Config,
                                                                    title: str) -> None:
    writer = CaptionWriter(config)
    link = "https://editorialkaltim.com/2024/10/28/judul-panjang/"
    caption = writer.write(Article(key="k", feed="utama", link=link, title=title))
    assert len(caption.text) <= 2200
    assert f"Baca selengkapnya di {config.site.name}: {link}?" in caption.text
    head = caption.text.split("\n", 1)[0]
    assert head.endswith("…")
    assert len(head) >= 200  # it is shortened, not emptied
    assert title.startswith(head[:-1])
    if " " in title:
        assert title[len(head) - 1] == " " or not head[-2].isalnum()  # at a word boundary


def test_a_title_that_fits_is_kept_whole(config: Config) -> None:
    title = "Kutim" + "x" * 240
    caption = CaptionWriter(config).write(Article(key="k", feed="utama",
                                                  link="https://editorialkaltim.com/a-b/",
                                                  title=title))
    assert caption.text.startswith(title + "\n")


# ----------------------------------------------------------------------------- stories


@pytest.fixture
def story_bot(tmp_path: Path, data_dir: Path, server: FeedServer) -> Iterator[Bot]:
    url = serve(server, "portal-id-dates.xml")
    bot = make_bot(tmp_path, data_dir, url, backlog=3, account_extra="story = true",
                   publishers={"editorialkaltim": scripted(tmp_path, PostRejected("bad image"))})
    bot.poll()
    yield bot
    bot.close()


def test_a_failed_feed_post_leaves_no_story_pending(story_bot: Bot) -> None:
    queued = [p for p in posts(story_bot) if p.status == Status.QUEUED]
    assert {p.story_status for p in queued} == {StoryStatus.PENDING}
    story_bot.publishing.publish_account("editorialkaltim", limit=1)
    failed = [p for p in posts(story_bot) if p.status == Status.FAILED]
    assert len(failed) == 1
    post = failed[0]
    assert post.story_status == StoryStatus.FAILED
    assert post.story_reason is not None
    assert re.match(r"not posted: the feed post is failed \(rejected: bad image\)",
                    post.story_reason)
    assert [e.to_status for e in story_bot.timeline(post.id) if e.kind == "story"] == ["failed"]
    assert story_bot.store.posts_with_open_story() == []  # nothing for recovery to pick up


def test_a_skipped_post_ends_its_story_and_a_retry_revives_it(story_bot: Bot) -> None:
    first = next(p for p in posts(story_bot) if p.status == Status.QUEUED)
    story_bot.skip(first.id, reason="salah judul")
    skipped = story_bot.post(first.id)
    assert skipped.story_status == StoryStatus.SKIPPED
    assert "salah judul" in (skipped.story_reason or "")
    # A retry brings the feed post back, and its story waits again.
    story_bot.retry(first.id)
    assert story_bot.post(first.id).story_status == StoryStatus.PENDING


def test_expired_posts_end_their_story(tmp_path: Path, data_dir: Path,
                                       server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "portal-id-dates.xml"), backlog=3,
                   max_age="1h", account_extra="story = true")
    bot.poll()
    queued = [p.id for p in posts(bot) if p.status == Status.QUEUED]
    assert len(queued) == 3
    assert {bot.post(i).story_status for i in queued} == {StoryStatus.PENDING}
    bot.publish()
    for post in map(bot.post, queued):
        assert post.status == Status.EXPIRED
        assert post.story_status == StoryStatus.SKIPPED
        assert (post.story_reason or "").startswith("not posted: the feed post is expired")


# --------------------------------------------------------------------------- file names


def test_outbox_files_are_named_after_the_title_when_the_link_has_no_slug(
        tmp_path: Path, data_dir: Path, server: FeedServer) -> None:
    bot = make_bot(tmp_path, data_dir, serve(server, "odd-links.xml"), backlog=6)
    bot.poll()
    outcomes = bot.publish()
    assert len(outcomes) == 6
    names = sorted(p.name for p in (data_dir / "outbox").glob("*.jpg"))
    slugs = sorted(name.split("-", 1)[1] for name in names)
    assert slugs == sorted([
        "diskusi-warga-jalan-poros-bengalon-kapan-diperbaiki.jpg",
        "gubernur-kaltim-tinjau-banjir-di-samarinda-utara.jpg",
        "harga-sawit-naik-pekan-ini.jpg",
        "pengumuman-seleksi-cpns-kabupaten-paser.jpg",
        "ringkasan-berita-pagi-ini.jpg",
        "video-festival-erau-2024-di-tenggarong.jpg",
    ])


# ------------------------------------------------------------------------------ preview


def test_preview_lists_entries_that_would_never_be_posted(tmp_path: Path, data_dir: Path,
                                                          server: FeedServer) -> None:
    from bot.pipeline.preview import preview_articles

    path = tmp_path / "bot.toml"
    write_config(path, serve(server, "relative-links.xml"))
    result = preview_articles(load_config(path), data_dir, url=None, latest=5, feed=None,
                              out_dir=tmp_path / "preview", sheet=False)
    assert [i.headline for i in result.items] == [
        "Bupati Kutim Tinjau Jalan Poros Sangatta", "DPRD Kutim Sahkan APBD Perubahan"]
    assert [(a.title, r.split(":")[0]) for a, r in result.skipped] == [
        ("Klik di Sini untuk Hadiah", "no article link"),
        ("Gambar Tanpa Tautan", "no article link"),
        ("Pengumuman Redaksi", "no article link"),
    ]


# --------------------------------------------------------------------- sentence endings


@pytest.mark.parametrize(("headline", "expected"), [
    ("انتخابات محلية في كاليمانتان الشرقية۔", "Judul: انتخابات محلية في كاليمانتان الشرقية۔"),
    ("东加里曼丹省举行地方选举。", "Judul: 东加里曼丹省举行地方选举。"),
    ("هل الانتخابات جاهزة؟", "Judul: هل الانتخابات جاهزة؟"),
    ("भारत में चुनाव।", "Judul: भारत में चुनाव।"),
    ("Pemkab Kutim siap", "Judul: Pemkab Kutim siap."),
])
def test_a_non_latin_full_stop_gets_no_extra_full_stop(config: Config, headline: str,
                                                       expected: str) -> None:
    writer = CaptionWriter(config)
    alt = writer.alt_text(Article(key="k", feed="utama", link="https://x.example/a-b/",
                                  title=headline), headline=headline)
    assert alt.endswith(expected)
