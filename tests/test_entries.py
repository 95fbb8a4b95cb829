"""What one feed entry means: its date, its link, its headline, its file name.

The fixtures in ``tests/feeds/`` are written after feeds found in the wild: WordPress's
own ``/feed/atom/`` and ``/feed/rdf/``, an Indonesian portal with localized dates, a
feed with relative and hostile links, entity-expansion attacks, control characters
and a feed that reuses one guid.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from bot.articles import Article, absolute_link, link_slug, plain_text, unexpanded_entities
from bot.dates import parse_localized_date, tanggal
from bot.feeds import ParsedFeed, declared_entities, parse_feed

FEEDS = Path(__file__).parent / "feeds"
WITA = ZoneInfo("Asia/Makassar")


def parse(name: str, url: str = "https://feeds.example/feed/") -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), feed_name="utama", feed_url=url, tz=WITA)


def by_title(parsed: ParsedFeed, start: str) -> Article:
    return next(a for a in parsed.articles if a.title.startswith(start))


# ------------------------------------------------------------------------------- dates


def test_atom_entry_with_only_updated_is_dated_by_it() -> None:
    parsed = parse("wp-atom-updated-only.xml")
    old = by_title(parsed, "Jembatan Mahakam")
    assert old.published is None
    assert old.updated == datetime(2013, 5, 1, 10, 0, tzinfo=UTC)
    assert old.date == datetime(2013, 5, 1, 10, 0, tzinfo=UTC)
    # With both, the published time wins.
    both = by_title(parsed, "Harga Cabai")
    assert both.date == datetime(2013, 4, 29, 23, 15, tzinfo=UTC)


def test_rss_1_0_dc_date_dates_the_entry() -> None:
    article = parse("wp-rdf.xml").articles[0]
    assert article.date == datetime(2013, 5, 1, 10, 0, tzinfo=UTC)


def test_indonesian_month_names_are_read_and_the_unreadable_is_noted() -> None:
    parsed = parse("portal-id-dates.xml")
    # "Senin, 28 Oktober 2024 10:15:00 +0800"
    assert by_title(parsed, "Gubernur").date == datetime(2024, 10, 28, 2, 15, tzinfo=UTC)
    # "27 Okt 2024 19:40 WITA"
    assert by_title(parsed, "Festival").date == datetime(2024, 10, 27, 11, 40, tzinfo=UTC)
    # "Sabtu, 26 Oktober 2024": no time, no zone: midnight in the bot's time zone.
    banjir = by_title(parsed, "Banjir")
    assert banjir.date == datetime(2024, 10, 26, tzinfo=WITA)
    assert banjir.notes == ()
    # "kemarin sore" ("yesterday afternoon") is no date: recorded, not replaced.
    pasar = by_title(parsed, "Pemkot")
    assert pasar.date is None
    assert pasar.notes == ("published date 'kemarin sore' could not be read",
                           "first-seen time used instead")


@pytest.mark.parametrize(("raw", "languages", "expected"), [
    ("28 Oktober 2024", ("id",), datetime(2024, 10, 28, tzinfo=WITA)),
    ("Jum'at, 1 Nov 2024 - 07:05 WIB", ("id",),
     datetime(2024, 11, 1, 0, 5, tzinfo=UTC)),
    ("Khamis, 31 Ogos 2023 08:00 +0800", ("ms",), datetime(2023, 8, 31, 0, 0, tzinfo=UTC)),
    ("October 28, 2024 3:04 pm", (), datetime(2024, 10, 28, 3, 4, tzinfo=WITA)),
    ("28 октября 2024 12:00 +0300", ("ru",), datetime(2024, 10, 28, 9, 0, tzinfo=UTC)),
    ("31 Februari 2024", ("id",), None),
    ("besok pagi", ("id",), None),
])
def test_localized_dates(raw: str, languages: tuple[str, ...],
                         expected: datetime | None) -> None:
    assert parse_localized_date(raw, languages, WITA) == expected


def test_card_dates_match_babels_formatter_for_every_day_of_a_leap_year() -> None:
    # tanggal() sets CLDR's names itself (see bot/dates.py); Babel's formatter is the reference.
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    for offset in range(366):
        moment = start + timedelta(days=offset)
        expected = format_date(moment.astimezone(WITA).date(), "EEEE, d MMMM y", locale="id")
        assert tanggal(moment, WITA) == expected
    # Late evening in UTC is already tomorrow in Balikpapan.
    assert tanggal(datetime(2024, 10, 27, 20, tzinfo=UTC), WITA) == "Senin, 28 Oktober 2024"


def test_dates_survive_the_store_round_trip() -> None:
    article = by_title(parse("portal-id-dates.xml"), "Pemkot")
    again = Article.from_json(article.to_json())
    assert again == article
    assert again.notes == article.notes


# ------------------------------------------------------------------------------- links


def test_relative_and_protocol_relative_links_resolve_against_the_channel_link() -> None:
    # The feed is fetched from another host (a mirror, a proxy, a test server): the
    # channel's link is the site the relative links belong to.
    parsed = parse("relative-links.xml", url="http://127.0.0.1:8080/feed/")
    bupati = by_title(parsed, "Bupati")
    assert bupati.link == "https://kabarkutim.example/2024/10/28/bupati-kutim-tinjau-jalan-poros/"
    assert bupati.refusal is None
    assert bupati.key == ("kabarkutim.example|link:"
                          "https://kabarkutim.example/2024/10/28/bupati-kutim-tinjau-jalan-poros")
    dprd = by_title(parsed, "DPRD")
    assert dprd.link == ("https://kabarkutim.example/2024/10/28/"
                         "dprd-kutim-sahkan-apbd-perubahan/")


def test_a_relative_channel_link_resolves_against_the_feed_url() -> None:
    body = (FEEDS / "relative-links.xml").read_bytes().replace(
        b"<link>https://kabarkutim.example</link>", b"<link>/</link>")
    parsed = parse_feed(body, feed_name="utama", feed_url="https://mirror.example/feed/")
    assert by_title(parsed, "Bupati").link == (
        "https://mirror.example/2024/10/28/bupati-kutim-tinjau-jalan-poros/")


@pytest.mark.parametrize(("title", "reason"), [
    ("Klik di Sini", "no article link: 'javascript:alert(document.cookie)' is not an http(s)"),
    ("Gambar Tanpa", "no article link: 'data:text/html"),
    ("Pengumuman", "no article link: the entry has none"),
])
def test_entries_without_a_usable_link_are_refused(title: str, reason: str) -> None:
    article = by_title(parse("relative-links.xml"), title)
    assert article.link == ""
    assert article.refusal is not None and article.refusal.startswith(reason)
    # Identity still comes from the guid, so the refusal is recorded once, not per poll.
    assert article.key.startswith("kabarkutim.example#")


@pytest.mark.parametrize(("raw", "expected"), [
    ("/a/b/", "https://site.example/a/b/"),
    ("//cdn.example/x", "https://cdn.example/x"),
    ("b/", "https://site.example/feed/b/"),
    ("HTTPS://Site.example/A", "HTTPS://Site.example/A"),
    ("http:/x", None),
    (" https://site.example/x\t", "https://site.example/x"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("data:text/html,hi", None),
    ("mailto:redaksi@site.example", None),
    ("ftp://site.example/x", None),
    ("https://", None),
    ("http://[::1", None),
    ("", None),
])
def test_absolute_link(raw: str, expected: str | None) -> None:
    assert absolute_link(raw, "https://site.example/feed/") == expected


# ---------------------------------------------------------------------------- headlines


def test_billion_laughs_never_becomes_a_headline() -> None:
    body = (FEEDS / "billion-laughs.xml").read_bytes()
    assert declared_entities(body) >= {"lol", "lol9"}
    parsed = parse("billion-laughs.xml")
    attack = next(a for a in parsed.articles if a.key.endswith("#900"))
    assert attack.refusal is not None
    assert "&lol9;" in attack.refusal and "entity-expansion" in attack.refusal
    # An entity in the body is as bad as one in the title.
    body_attack = next(a for a in parsed.articles if a.key.endswith("#899"))
    assert body_attack.refusal is not None and "&lol5;" in body_attack.refusal
    honest = next(a for a in parsed.articles if a.key.endswith("#898"))
    assert honest.refusal is None


def test_quadratic_blow_up_is_refused_quickly() -> None:
    big = "x" * 50_000
    body = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "{big}">]>\n'
            '<rss version="2.0"><channel><title>K</title><link>https://k.example/</link>'
            f'<item><title>{"&a;" * 5000}</title><link>https://k.example/a/</link>'
            '<guid isPermaLink="false">https://k.example/?p=1</guid></item>'
            '</channel></rss>').encode()
    parsed = parse_feed(body, feed_name="utama", feed_url="https://k.example/feed/")
    [article] = parsed.articles
    assert article.refusal is not None and "&a;" in article.refusal
    assert len(article.refusal) < 400


def test_undeclared_leftover_entities_in_a_title_are_refused() -> None:
    assert unexpanded_entities("&lol9; &amp; &eacute; &#8211;") == ["&lol9;"]
    assert unexpanded_entities("Tom & Jerry; R&D") == []


def test_control_characters_are_stripped_from_titles_and_text() -> None:
    article = parse("control-chars.xml").articles[0]
    assert article.title == "Rapat Paripurna DPRD Kutim Bahas KUA-PPAS"
    assert plain_text(article.description_html) == (
        "Rapat paripurna DPRD Kutim membahas KUA-PPAS 2025.")


def test_a_repeated_guid_is_recorded_with_a_reason() -> None:
    parsed = parse("duplicate-guids.xml")
    assert [a.title for a in parsed.articles] == ["Wali Kota Samarinda Buka Musrenbang 2025"]
    assert len(parsed.duplicates) == 2
    (key1, different), (key2, same) = parsed.duplicates
    assert key1 == key2 == parsed.articles[0].key
    assert "guid 'radarsmd-berita' twice" in different
    assert "Teras Samarinda Ramai Dikunjungi Saat Libur" in different
    assert "teras-samarinda-ramai-dikunjungi" in different
    assert "the same entry again" in same


# ---------------------------------------------------------------------------- file names


@pytest.mark.parametrize(("link", "slug"), [
    ("https://editorialkaltim.com/2024/10/28/jelang-pilkada-2024-pemkab-kutim/",
     "jelang-pilkada-2024-pemkab-kutim"),
    ("https://site.example/berita/kutim-2024.html", "kutim-2024"),
    ("https://site.example/news/rss", None),
    ("https://news.example/url?q=https://site.example/a", None),
    ("https://video.example/watch?v=dQw4w9WgXcQ", None),
    ("https://site.example/index.htm", None),
    ("https://bbs.example/dispbbs.asp?boardid=1&id=2", None),
    ("https://site.example/read/2024/10/28/1021", None),
    ("https://site.example/2024-10-28", None),
    ("https://site.example/berita/12345.html", None),
    ("https://site.example/artikel/slug-bagus/amp/", None),
    ("https://site.example/%D8%B9%D8%B1%D8%A8%D9%8A", None),
    ("", None),
])
def test_link_slug(link: str, slug: str | None) -> None:
    assert link_slug(link) == slug


def test_outbox_slug_comes_from_the_title_when_the_link_has_none() -> None:
    article = Article(key="k", feed="utama", link="https://site.example/news/rss",
                      title="Gubernur Resmikan Rumah Sakit Baru di Bontang")
    assert article.slug == "gubernur-resmikan-rumah-sakit-baru-di-bontang"
    article = Article(key="k", feed="utama",
                      link="https://bbs.example/dispbbs.asp?boardid=1&id=2",
                      title="Musrenbang 2025 Dibuka")
    assert article.slug == "musrenbang-2025-dibuka"
