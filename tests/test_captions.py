"""Captions and alt text: what an Indonesian editor expects, inside Instagram's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.articles import Article
from bot.captions import CaptionWriter, link_with_utm, normalise_hashtag
from bot.captions.hashtags import build_hashtags
from bot.captions.summary import Paragraph, paragraphs, strip_bylines, strip_dateline, summarize
from bot.captions.text import ELLIPSIS, cut_words, split_sentences
from bot.captions.writer import describe_photo
from bot.config import Config, load_config, parse_config
from bot.errors import ConfigError, RenderError
from bot.preflight import (
    MAX_ALT_TEXT_CHARS,
    MAX_CAPTION_CHARS,
    MAX_MENTIONS,
    check_caption,
    count_hashtags,
    count_mentions,
    instagram_length,
)
from bot.templates import Template
from tests.caption_corpus import CASES, SEED_SUMMARY, Case

UTM = "utm_source=instagram&utm_medium=social&utm_campaign=editorialkaltim-bot"

_CONFIG_TOML = """
timezone = "Asia/Makassar"

[site]
name = "Editorial Kaltim"
url = "https://editorialkaltim.com"

[[feeds]]
name = "utama"
url = "https://editorialkaltim.com/feed/"
accounts = ["editorialkaltim"]

[[accounts]]
name = "editorialkaltim"

[caption]
hashtags = ["EditorialKaltim", "Kaltim"]
advertorial_markers = ["Pariwara"]
{extra}

[caption.category_hashtags]
Kutim = "KutaiTimur"
Kukar = "KutaiKartanegara"
Berita = ""
"""


def _config(extra: str = "", **caption: Any) -> Config:
    data: dict[str, Any] = {
        "site": {"name": "Editorial Kaltim", "url": "https://editorialkaltim.com"},
        "feeds": [{"name": "utama", "url": "https://editorialkaltim.com/feed/",
                   "accounts": ["editorialkaltim"]}],
        "accounts": [{"name": "editorialkaltim"}],
        "caption": {
            "hashtags": ["EditorialKaltim", "Kaltim"],
            "advertorial_markers": ["Pariwara"],
            "category_hashtags": {"Kutim": "KutaiTimur", "Kukar": "KutaiKartanegara",
                                  "Berita": ""},
            **caption,
        },
    }
    return parse_config(data, file="test.toml", base_dir=Path("."))


CONFIG = _config()
WRITER = CaptionWriter(CONFIG)


@pytest.fixture(scope="module")
def writer_from_toml(tmp_path_factory: pytest.TempPathFactory) -> CaptionWriter:
    """The writer built from a real TOML file, as `bot` builds it."""
    path = tmp_path_factory.mktemp("cfg") / "bot.toml"
    path.write_text(_CONFIG_TOML.replace("{extra}", ""), encoding="utf-8")
    return CaptionWriter(load_config(path))


def _ids(cases: list[Case]) -> list[str]:
    return [case.name for case in cases]


def _headline(case: Case) -> str:
    return case.headline or case.article.title


# -- the corpus: exact expectations per article --------------------------------------


def test_corpus_covers_what_the_issue_lists() -> None:
    names = {case.name for case in CASES}
    assert len(CASES) >= 20
    assert "seed_bimtek_pilkada_kutim" in names
    bodies = [case.article.content_html for case in CASES]
    assert any("&#8220;" in b for b in bodies) and any("&amp;" in b for b in bodies)
    assert any(c.article.title.isupper() for c in CASES)
    assert any(re.search("[\U0001f300-\U0001faff]", c.article.title) for c in CASES)
    assert any(len(b) > 10_000 for b in bodies)
    assert any(c.article.content_html == "" for c in CASES)
    assert any(c.advertorial for c in CASES)
    assert any("?" in c.article.link for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_summary_is_what_an_editor_would_write(case: Case) -> None:
    assert WRITER.write(case.article).summary == case.summary


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_hashtags_come_from_fixed_tags_and_terms(case: Case) -> None:
    caption = WRITER.write(case.article)
    assert caption.hashtags == case.hashtags
    assert caption.text.endswith("\n\n" + " ".join(case.hashtags))


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_advertorials_are_recognised_with_a_reason(case: Case) -> None:
    assert WRITER.advertorial_reason(case.article) == case.advertorial
    caption = WRITER.write(case.article)
    assert caption.advertorial is (case.advertorial is not None)
    assert caption.advertorial_reason == case.advertorial


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_caption_leads_with_headline_and_fits_limits(case: Case) -> None:
    caption = WRITER.write(case.article)
    check_caption(caption.text)
    assert count_hashtags(caption.text) <= CONFIG.caption.max_hashtags
    first_line = caption.text.split("\n", 1)[0]
    expected = case.article.title
    if case.advertorial:
        expected = "[ADVERTORIAL] " + expected
    assert first_line == expected
    link = case.link or f"{case.article.link}?{UTM}"
    assert caption.link == link
    assert f"Baca selengkapnya di Editorial Kaltim: {link}\n(Link aktif ada di bio.)" in (
        caption.text)
    if case.summary:
        assert f"\n\n{case.summary}\n\n" in caption.text
    assert "\n\n\n" not in caption.text


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_alt_text_names_site_headline_category_and_photo(case: Case) -> None:
    article = case.article
    alt = WRITER.alt_text(article, headline=_headline(case), photo_description=case.photo)
    kind = "Kartu advertorial" if case.advertorial else "Kartu berita"
    category = "" if article.category in (None, "Uncategorized") else article.category
    intro = f"{kind} Editorial Kaltim"
    if category:
        intro += f", kategori {category}"
    intro += ", bertanggal Senin, 28 Oktober 2024."
    headline = _headline(case)
    expected = f"{intro} Judul: {headline}{'' if headline.endswith('.') else '.'}"
    if case.photo_shown:
        expected += f" Foto latar: {case.photo_shown}"
    assert alt == expected
    assert instagram_length(alt) <= MAX_ALT_TEXT_CHARS


def test_seed_caption_reads_like_an_editor_wrote_it() -> None:
    seed = CASES[0]
    caption = WRITER.write(seed.article)
    assert caption.text == (
        "[ADVERTORIAL] Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan "
        "Konflik Sosial\n"
        "\n"
        f"{SEED_SUMMARY}\n"
        "\n"
        "Baca selengkapnya di Editorial Kaltim: https://editorialkaltim.com/jelang-pilkada-"
        f"2024-pemkab-kutim-persiapkan-mitigasi/?{UTM}\n"
        "(Link aktif ada di bio.)\n"
        "\n"
        "#EditorialKaltim #Kaltim #KutaiTimur #Pilkada2024 #PemkabKutim"
    )


def test_writer_from_toml_file_matches(writer_from_toml: CaptionWriter) -> None:
    for case in CASES:
        assert writer_from_toml.write(case.article) == WRITER.write(case.article)


# -- summary rules, one at a time ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Editorialkaltim.com – Pemkab Kutim menggelar rapat.", "Pemkab Kutim menggelar rapat."),
        ("SANGATTA, editorialkaltim.com – Bupati hadir.", "Bupati hadir."),
        ("SAMARINDA – Hujan deras turun.", "Hujan deras turun."),
        ("SAMARINDA - Hujan deras turun.", "Hujan deras turun."),
        ("SAMARINDA — Hujan deras turun.", "Hujan deras turun."),
        ("SAMARINDA– Hujan deras turun.", "Hujan deras turun."),
        ("Samarinda (ANTARA) - Bank Indonesia menyiapkan uang.", "Bank Indonesia menyiapkan uang."),
        ("Kutai Timur, Editorialkaltim.com – Warga antusias.", "Warga antusias."),
        ("SAMARINDA, EDITORIALKALTIM.COM – Dinas membuka.", "Dinas membuka."),
        ("TANJUNG REDEB, Editorialkaltim.com — Anggota DPRD hadir.", "Anggota DPRD hadir."),
        ("Samarinda, Senin (28/10/2024) – Pemkot rapat.", "Pemkot rapat."),
        ("Sangatta – Warga geger.", "Warga geger."),
        ("EDITORIAL KALTIM – Redaksi menerima.", "Redaksi menerima."),
        # Not datelines: dashes inside the sentence.
        ("Jalan poros Sangatta–Bengalon kembali dibuka.",
         "Jalan poros Sangatta–Bengalon kembali dibuka."),
        ("KPU–Bawaslu sepakat memperketat pengawasan.",
         "KPU–Bawaslu sepakat memperketat pengawasan."),
        ("Bupati mengatakan – dengan tegas – bahwa jalan akan dibangun.",
         "Bupati mengatakan – dengan tegas – bahwa jalan akan dibangun."),
        ("Pertumbuhan ekonomi Kaltim pada triwulan ketiga mencapai 5,2 persen – tertinggi.",
         "Pertumbuhan ekonomi Kaltim pada triwulan ketiga mencapai 5,2 persen – tertinggi."),
    ],
)
def test_datelines_are_removed_and_only_datelines(text: str, expected: str) -> None:
    assert strip_dateline(text, site_terms=("Editorial Kaltim", "editorialkaltim.com")) == (
        expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tutupnya dengan optimisme. (Roro/adv)", "tutupnya dengan optimisme."),
        ("Acara berjalan lancar. (adv)", "Acara berjalan lancar."),
        ("Kuota tahun ini 12.000 penerima (Rls/Red)", "Kuota tahun ini 12.000 penerima"),
        ("Jumlahnya naik 6 persen. (ant)", "Jumlahnya naik 6 persen."),
        ("Jumlahnya naik 6 persen. (*)", "Jumlahnya naik 6 persen."),
        ("“Kami siap,” katanya. (yan/ed) (adv)", "“Kami siap,” katanya."),
        ("(adv)", ""),
        # Not bylines.
        ("Acara digelar pada Senin (28/10/2024)", "Acara digelar pada Senin (28/10/2024)"),
        ("Warga Kutai Timur (Kutim)", "Warga Kutai Timur (Kutim)"),
    ],
)
def test_bylines_that_close_a_paragraph_are_removed(text: str, expected: str) -> None:
    assert strip_bylines(text) == expected


@pytest.mark.parametrize(
    "markup",
    [
        "<p><strong>Baca juga:</strong> <a href='/x/'>Judul Lain di Kutim</a></p>",
        "<p>Baca Juga: <a href='/x/'>Judul Lain</a></p>",
        "<p>BACA JUGA : Judul Lain yang Tidak Bertaut</p>",
        "<p>Baca: <a href='/x/'>Judul Lain</a></p>",
        "<p>Baca  <a href='/x/'>Bupati Ardiansyah Rayakan Keberagaman di Pesta Panen</a></p>",
        "<p>Baca Bupati Ardiansyah Rayakan Keberagaman di Pesta Panen Kensedan</p>",
        "<p>Simak juga: <a href='/x/'>Video Banjir</a></p>",
        "<p>Lihat juga <a href='/x/'>Foto-foto Erau</a></p>",
        "<p>Berita terkait: <a href='/x/'>KPU Kukar</a></p>",
        "<p><strong>Baca juga:</strong><br><a href='/x/'>Judul Lain yang Panjang Sekali di "
        "Kutai Timur Hari Ini</a></p>",
        "<p>Related Articles</p>",
        "<p>Back to top button</p>",
        "<p>Dapatkan update berita pilihan dan breaking news setiap hari dari "
        "editorialkaltim.com. Follow instagram “editorialkaltim”, caranya klik link "
        "https://www.instagram.com/editorialkaltimcom/ untuk mendapatkan informasi.</p>",
        "<p>Ikuti berita terkini Editorial Kaltim di Google News.</p>",
        "<p>The post <a href='/x/'>Judul</a> appeared first on <a href='/'>Editorial "
        "Kaltim</a>.</p>",
        "<p>Penulis: Roro | Editor: Redaksi</p>",
        "<figure class='wp-block-image'><img src='a.jpg' alt=''><figcaption>Bupati Kutim "
        "memberikan sambutan dalam acara pembukaan kegiatan.</figcaption></figure>",
        "<div class='wp-caption'><img src='a.jpg'><p class='wp-caption-text'>Bupati Kutim "
        "memberikan sambutan dalam acara pembukaan kegiatan.</p></div>",
        "<div id='jp-relatedposts' class='jp-relatedposts'><p>Artikel lain yang menarik "
        "untuk dibaca warga Kutai Timur hari ini.</p></div>",
        "<div class='yarpp yarpp-related'><ol><li>Judul satu</li></ol></div>",
        "<script>var x = 'Warga Kutai Timur menyambut baik program ini.';</script>",
        "<h2>Warga Kutai Timur Menyambut Baik Program Ini</h2>",
        "<ul><li>Warga Kutai Timur menyambut baik program ini.</li></ul>",
        "<p><em>Advertorial</em></p>",
    ],
)
def test_related_links_boilerplate_and_figures_never_reach_the_summary(markup: str) -> None:
    body = markup + "<p>SAMARINDA – Isi berita yang sebenarnya ada di sini.</p>"
    assert paragraphs(body) == [Paragraph("Isi berita yang sebenarnya ada di sini.")]


def test_feed_footer_glued_to_an_excerpt_is_removed() -> None:
    description = (
        "Editorialkaltim.com &#8211; Komisi I DPRD Kaltim meminta pemerintah menuntaskan "
        "nasib honorer. Menurut Ketua Komisi I, masih ada [&#8230;]The post DPRD Kaltim "
        "Minta Pemprov Tuntaskan Honorer appeared first on Editorial Kaltim."
    )
    assert paragraphs(description, excerpt=True) == [Paragraph(
        "Komisi I DPRD Kaltim meminta pemerintah menuntaskan nasib honorer. Menurut Ketua "
        "Komisi I, masih ada", complete=False)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kab. Kutai Timur menggelar rapat. Acara dimulai pukul 09.00.",
         ["Kab. Kutai Timur menggelar rapat.", "Acara dimulai pukul 09.00."]),
        ("Rapat dipimpin dr. Bahrani di Jl. Yos Sudarso No. 5. Warga hadir.",
         ["Rapat dipimpin dr. Bahrani di Jl. Yos Sudarso No. 5.", "Warga hadir."]),
        ("Bupati H. Ardiansyah Sulaiman hadir. Wakil bupati juga hadir.",
         ["Bupati H. Ardiansyah Sulaiman hadir.", "Wakil bupati juga hadir."]),
        ("Anggarannya Rp. 1.500.000 per bulan. Dananya 2,5 miliar.",
         ["Anggarannya Rp. 1.500.000 per bulan.", "Dananya 2,5 miliar."]),
        ("Rizali Hadi, S.Sos., M.Si. Membuka acara. Lalu pulang.",
         ["Rizali Hadi, S.Sos., M.Si. Membuka acara.", "Lalu pulang."]),
        ("“Kami siap.” Bupati lalu pergi.", ["“Kami siap.”", "Bupati lalu pergi."]),
        ("“Kami siap,” ujarnya. Bupati lalu pergi!", ["“Kami siap,” ujarnya.",
                                                      "Bupati lalu pergi!"]),
        ("Apa benar? Ya. Itu benar…", ["Apa benar?", "Ya.", "Itu benar…"]),
        ("PT. Kaltim Prima Coal hadir. Sementara itu...", ["PT. Kaltim Prima Coal hadir.",
                                                          "Sementara itu..."]),
        ("Tanpa titik di akhir", ["Tanpa titik di akhir"]),
    ],
)
def test_sentences_do_not_end_at_abbreviations_or_numbers(
    text: str, expected: list[str]
) -> None:
    assert split_sentences(text) == expected


def test_two_sentences_when_they_fit_else_one() -> None:
    parts = [Paragraph("Kalimat pertama pendek. Kalimat kedua juga pendek. Ketiga.")]
    assert summarize(parts, max_chars=400) == "Kalimat pertama pendek. Kalimat kedua juga pendek."
    assert summarize(parts, max_chars=40) == "Kalimat pertama pendek."
    assert summarize(parts, max_chars=400, max_sentences=3) == (
        "Kalimat pertama pendek. Kalimat kedua juga pendek. Ketiga.")
    assert summarize(parts, max_chars=0) == ""


def test_a_sentence_leading_into_a_list_is_not_a_summary() -> None:
    parts = [Paragraph("Berikut daftar lokasinya:"), Paragraph("Warga diminta waspada.")]
    assert summarize(parts, max_chars=400) == "Warga diminta waspada."


@pytest.mark.parametrize(
    ("text", "budget", "expected"),
    [
        ("Satu dua tiga empat lima.", 100, "Satu dua tiga empat lima."),
        ("Satu dua tiga empat lima.", 15, "Satu dua…"),
        ("Pemkab Kutim menggelar rapat, lalu warga pulang ke rumah.", 40,
         "Pemkab Kutim menggelar rapat…"),
        ("Rapat digelar di kantor bupati dan dihadiri camat.", 38,
         "Rapat digelar di kantor bupati…"),
        ("Acara bertajuk “Mitigasi dan Penanganan Konflik Sosial” digelar.", 42,
         "Acara bertajuk “Mitigasi dan Penanganan…”"),
        ("Acara bertajuk “Mitigasi dan Penanganan Konflik Sosial” digelar.", 40,
         "Acara bertajuk “Mitigasi…”"),
        ("Supercalifragilistic", 5, ""),
    ],
)
def test_cuts_are_after_a_whole_word_and_read_naturally(
    text: str, budget: int, expected: str
) -> None:
    assert cut_words(text, budget) == expected


# -- hashtags ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Kutai Timur", "KutaiTimur"),
        ("kutai timur", "KutaiTimur"),
        ("PILKADA KUTIM", "PilkadaKutim"),
        ("DPRD Kaltim", "DPRDKaltim"),
        ("DPRD KALTIM", "DPRDKaltim"),
        ("DPRD", "DPRD"),
        ("pilkada", "pilkada"),
        ("Covid-19", "Covid19"),
        ("HUT ke-77 RI", "HUTKe77RI"),
        ("Jum'at Berkah", "JumatBerkah"),
        ("#Kaltim", "Kaltim"),
        ("Ekonomi & Bisnis", "EkonomiBisnis"),
        ("Café Samarinda", "CaféSamarinda"),
        ("pilkada_2024", "Pilkada2024"),
        ("🔥 Viral", "Viral"),
        ("2024", ""),
        ("🔥", ""),
        ("  ", ""),
        ("Penyelenggaraan Pemilihan Kepala Daerah Serentak", ""),
    ],
)
def test_hashtags_are_normalised(term: str, expected: str) -> None:
    assert normalise_hashtag(term) == expected


def test_hashtags_are_deduplicated_mapped_and_capped() -> None:
    tags = build_hashtags(
        ["EditorialKaltim", "kaltim"],
        ["KALTIM", "Kutim", "Berita", "Uncategorized", "Kutai Timur", "Pilkada", "Erau"],
        {"kutim": "KutaiTimur", "BERITA": ""},
        limit=4,
    )
    assert tags == ("#EditorialKaltim", "#kaltim", "#KutaiTimur", "#Pilkada")


def test_no_hashtags_when_the_template_has_none() -> None:
    writer = CaptionWriter(_config(template="{title}\n\n{summary}\n\n{link}"))
    caption = writer.write(CASES[1].article)
    assert caption.hashtags == ()
    assert count_hashtags(caption.text) == 0


def test_hashtags_in_the_template_count_against_the_cap() -> None:
    writer = CaptionWriter(_config(template="{title}\n{link}\n#Kaltim #Berita {hashtags}"))
    caption = writer.write(CASES[0].article)
    assert caption.hashtags == ("#EditorialKaltim", "#Kaltim", "#KutaiTimur")
    assert count_hashtags(caption.text) == 5


# -- links ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://editorialkaltim.com/a/", f"https://editorialkaltim.com/a/?{UTM}"),
        ("https://editorialkaltim.com/?p=40010", f"https://editorialkaltim.com/?p=40010&{UTM}"),
        ("https://editorialkaltim.com/?q=a%20b&x=1+2", f"https://editorialkaltim.com/?q=a%20b&x=1+2&{UTM}"),
        ("https://editorialkaltim.com/?utm_source=rss&p=1", f"https://editorialkaltim.com/?p=1&{UTM}"),
        ("https://editorialkaltim.com/a/#respond", f"https://editorialkaltim.com/a/?{UTM}"),
    ],
)
def test_link_carries_utm_and_keeps_its_own_query(url: str, expected: str) -> None:
    utm = {"utm_source": "instagram", "utm_medium": "social",
           "utm_campaign": "editorialkaltim-bot"}
    assert link_with_utm(url, utm) == expected


def test_link_without_utm_is_unchanged_but_for_the_fragment() -> None:
    assert link_with_utm("https://editorialkaltim.com/?p=1#x", {}) == (
        "https://editorialkaltim.com/?p=1")


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (300, "{link}?" + UTM),  # a long slug still gets its UTM parameters
        (450, "{link}"),  # with them it would pass the room reserved: the bare URL
    ],
)
def test_absurd_links_fall_back_so_the_caption_still_fits(length: int, expected: str) -> None:
    link = "https://editorialkaltim.com/" + "a" * (length - 29) + "/"
    assert len(link) == length
    caption = WRITER.write(Article(key="k", feed="utama", link=link, title="Judul"))
    assert caption.link == expected.format(link=link)
    assert caption.link in caption.text


@pytest.mark.parametrize(("link", "reason"), [
    ("https://editorialkaltim.com/" + "a" * 571 + "/", "cannot go in the caption: 600 characters"),
    ("", "no article link"),
    ("/2024/10/28/relatif/", "no article link: '/2024/10/28/relatif/' is not an absolute"),
    ("javascript:alert(1)", "no article link"),
])
def test_the_caption_never_carries_the_home_page_instead_of_the_article(link: str,
                                                                        reason: str) -> None:
    # The exactly-once check looks for the article's link on the account: a caption
    # with the site's home page would match every other such post.
    with pytest.raises(RenderError, match=re.escape(reason)):
        WRITER.write(Article(key="k", feed="utama", link=link, title="Judul"))


# -- limits --------------------------------------------------------------------------


def _long_article(**fields: Any) -> Article:
    sentence = ("Pemerintah Kabupaten Kutai Timur terus memperbaiki jalan desa di tiga belas "
                "kecamatan, mulai dari Sangatta Utara, Bengalon, hingga Muara Wahau, agar "
                "hasil panen sawit, padi dan sayur warga lebih cepat sampai ke pasar.")
    body = "".join(f"<p>{sentence} {sentence} {sentence}</p>" for _ in range(30))
    base: dict[str, Any] = {
        "key": "k", "feed": "utama", "link": "https://editorialkaltim.com/jalan-desa/",
        "title": "Pemkab Kutim Perbaiki 120 Kilometer Jalan Desa",
        "categories": ("Kutim", "Infrastruktur"), "content_html": body,
    }
    base.update(fields)
    return Article(**base)


def test_summary_shrinks_first_when_the_caption_is_too_long() -> None:
    writer = CaptionWriter(_config(summary_max_chars=2000, summary_max_sentences=10))
    article = _long_article()
    caption = writer.write(article)
    unshrunk = summarize(paragraphs(article.content_html), max_chars=2000, max_sentences=10)
    assert instagram_length(unshrunk) > 1900
    assert instagram_length(caption.text) <= MAX_CAPTION_CHARS
    assert len(caption.summary) < len(unshrunk)
    assert unshrunk.startswith(caption.summary)
    # It gave up no more than one sentence (about 210 characters) of the room.
    assert instagram_length(caption.text) > MAX_CAPTION_CHARS - 215
    assert caption.text.startswith(article.title + "\n\n")
    assert caption.link in caption.text
    assert caption.text.endswith(" ".join(caption.hashtags))
    assert len(caption.hashtags) == 4
    assert caption.summary.endswith("ke pasar.")  # whole sentences, not a cut


def test_absurd_headline_is_shortened_last_and_after_a_word() -> None:
    title = " ".join(["Kutim"] * 1000)
    caption = WRITER.write(_long_article(title=title))
    assert instagram_length(caption.text) <= MAX_CAPTION_CHARS
    first_line = caption.text.split("\n", 1)[0]
    assert first_line.endswith("Kutim…")
    assert caption.summary == ""
    assert caption.link in caption.text
    assert caption.text.endswith(" ".join(caption.hashtags))


def test_mentions_beyond_the_limit_lose_their_at_sign() -> None:
    handles = " ".join(f"@akun{i}" for i in range(30))
    article = _long_article(content_html=f"<p>Akun yang hadir: {handles} semuanya.</p>")
    caption = WRITER.write(article)
    assert count_mentions(caption.text) <= MAX_MENTIONS
    assert "akun29" in caption.text


def test_a_long_template_keeps_headline_link_and_hashtags() -> None:
    filler = "Ikuti terus berita Kalimantan Timur bersama kami. " * 22
    template = "{title}\n\n{summary}\n\n" + filler.strip() + "\n\n{link}\n\n{hashtags}"
    writer = CaptionWriter(_config(template=template))
    for case in CASES:
        caption = writer.write(case.article)
        check_caption(caption.text)
        assert case.article.title in caption.text.split("\n", 1)[0]
        assert caption.link in caption.text
        assert caption.text.endswith(" ".join(case.hashtags))


# -- template ------------------------------------------------------------------------


def test_lines_with_only_empty_variables_are_left_out() -> None:
    template = Template.parse("{title}\nPenulis: {author}\n\n\n{summary}\n\n{link}")
    text = template.render({"title": "Judul", "author": "", "summary": "", "link": "L"})
    assert text == "Judul\n\nL"


def test_label_goes_where_the_template_puts_it() -> None:
    writer = CaptionWriter(_config(template="{title}\n{label}\n\n{summary}\n\n{link}",
                                   advertorial_label="Advertorial"))
    caption = writer.write(CASES[0].article)
    assert caption.text.split("\n")[:2] == [CASES[0].article.title, "Advertorial"]
    news = writer.write(CASES[1].article)
    assert news.text.split("\n")[:2] == [CASES[1].article.title, ""]


def test_template_variables_are_filled() -> None:
    template = ("{title}\n{category} | {tags} | {author} | {date} | {site_name} | "
                "{site_domain}\n{link}")
    writer = CaptionWriter(_config(template=template))
    caption = writer.write(CASES[1].article)
    assert caption.text.split("\n")[1] == (
        "Kutim | Kesehatan, Puskesmas | Redaksi | Senin, 28 Oktober 2024 | Editorial Kaltim"
        " | editorialkaltim.com")


def test_skip_mode_still_reports_the_reason() -> None:
    writer = CaptionWriter(_config(advertorial="skip"))
    assert writer.advertorial_reason(CASES[0].article) == 'byline "(Roro/adv)"'
    assert writer.advertorial_reason(CASES[1].article) is None


@pytest.mark.parametrize(
    ("marker", "title", "expected"),
    [
        ("Info Pemkab", "Info Pemkab: Jadwal Vaksinasi", 'marker "Info Pemkab" in the title'),
        ("kerja sama", "Jadwal Vaksinasi", 'marker "kerja sama" in the text'),
    ],
)
def test_configured_markers_make_an_advertorial(marker: str, title: str, expected: str) -> None:
    writer = CaptionWriter(_config(advertorial_markers=[marker]))
    article = Article(key="k", feed="utama", link="https://editorialkaltim.com/a/",
                      title=title, content_html="<p>Berita ini hasil Kerja Sama Pemkab.</p>")
    assert writer.advertorial_reason(article) == expected


# -- config errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "key", "message"),
    [
        ('template = "{titel}\\n{link}"', "caption.template",
         "unknown variable {titel} (did you mean {title}?); the variables are {title}, "
         "{summary}, {link}, {category}, {tags}, {author}, {date}, {site_name}, "
         "{site_domain}, {hashtags}, {label}"),
        ('template = "{title.upper}\\n{link}"', "caption.template",
         "{title.upper} is not a plain variable: only {name} placeholders are allowed"),
        ('template = "{title:>40}\\n{link}"', "caption.template",
         "{title:>40}: conversions and format specs are not supported"),
        ('template = "{title}\\n{link} {"', "caption.template",
         "bad template: Single '{' encountered in format string; write {{ and }} for "
         "literal braces"),
        ('template = "{summary}\\n{link}"', "caption.template",
         "missing {title}: the caption leads with the headline"),
        ('template = "{title}\\n{summary}"', "caption.template",
         "missing {link}: the caption says where to read the full story"),
        ('template = "{title}\\n{link}\\n' + "x" * 1500 + '"', "caption.template",
         "cannot fit Instagram's 2,200 characters: the template's own text is 1,502 "
         "characters and the headline, link, date, site name and hashtags may need 764 "
         "more"),
        ('template = "{title}\\n{link}\\n{hashtags}\\n#A #B"\nmax_hashtags = 1',
         "caption.template",
         "cannot fit the hashtag limit: the template and label have 2 hashtags but "
         "caption.max_hashtags is 1"),
        ('template = "{title}\\n{link}\\n' + " ".join(f"@u{i}" for i in range(21)) + '"',
         "caption.template",
         "cannot fit Instagram's limit of 20 @mentions: the template has 21"),
        ('template = "{title}\\n{link}\\n#{category}"', "caption.template",
         "'#{category}' would add a hashtag or mention that the limits do not count: use "
         "{hashtags} for hashtags"),
        ("max_hashtags = 6", "caption.max_hashtags",
         "at most 5: since December 2025 Instagram allows 5 hashtags per post and may drop "
         "a caption with more"),
        ('max_hashtags = 1\nhashtags = ["A", "B"]', "caption.hashtags",
         "2 fixed hashtags but max_hashtags is 1: the extra ones would never appear"),
        ('hashtags = ["2024"]', "caption.hashtags",
         "'2024' (item 1) leaves no usable hashtag: use letters or digits (not only "
         "digits), at most 40 characters"),
        ('advertorial_label = " "', "caption.advertorial_label",
         'must be 1 to 40 characters, e.g. "[ADVERTORIAL]"'),
        ('advertorial = "hide"', "caption.advertorial", "Input should be 'label' or 'skip'"),
    ],
)
def test_bad_caption_config_exits_at_load_naming_the_key(
    tmp_path: Path, setting: str, key: str, message: str
) -> None:
    path = tmp_path / "bot.toml"
    toml = _CONFIG_TOML.replace("{extra}", "").replace(
        '[caption]\nhashtags = ["EditorialKaltim", "Kaltim"]\n', f"[caption]\n{setting}\n")
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: {key}: {message}"
    assert info.value.key == key


def test_default_template_and_shipped_config_load() -> None:
    config = load_config(Path(__file__).parent.parent / "config" / "bot.toml")
    caption = CaptionWriter(config).write(CASES[0].article)
    check_caption(caption.text)
    assert "Baca selengkapnya di" in caption.text and "bio" in caption.text


# -- photo descriptions --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bupati membuka acara (Foto: Istimewa)", "Bupati membuka acara"),
        ("Bupati membuka acara. Foto: Roro/Editorial Kaltim", "Bupati membuka acara."),
        ("Foto: Istimewa", ""),
        ("Foto: Bupati Kutim memukul gong tanda dibukanya acara", "Bupati Kutim memukul gong "
         "tanda dibukanya acara"),
        ("IMG_20241103_081522.jpg", ""),
        ("WhatsApp-Image-2024-10-28-at-10.12.33", ""),
        ("Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi", ""),
        ("Ist", ""),
        ("Ilustrasi", "Ilustrasi"),
    ],
)
def test_photo_descriptions_lose_credits_and_file_names(raw: str, expected: str) -> None:
    title = "Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi"
    assert describe_photo(raw, title=title) == expected


def test_alt_text_stays_within_limit_with_long_parts() -> None:
    article = CASES[0].article
    alt = WRITER.alt_text(article, headline=article.title,
                          photo_description=" ".join(["Peserta bimtek berfoto bersama."] * 80))
    assert instagram_length(alt) <= MAX_ALT_TEXT_CHARS
    assert f"Judul: {article.title}." in alt
    absurd = " ".join(["Kutim"] * 400)
    alt = WRITER.alt_text(article, headline=absurd)
    assert instagram_length(alt) <= MAX_ALT_TEXT_CHARS


def test_alt_text_leaves_out_the_date_when_the_card_has_none() -> None:
    writer = CaptionWriter(_config().model_copy(
        update={"card": CONFIG.card.model_copy(update={"show_date": False})}))
    alt = writer.alt_text(CASES[1].article, headline="Judul di kartu")
    assert alt == "Kartu berita Editorial Kaltim, kategori Kutim. Judul: Judul di kartu."


# -- properties ----------------------------------------------------------------------

_VOCABULARY = (
    "Pemkab Kutim menggelar rapat di Sangatta pada Senin (28/10/2024) dan warga “antusias” "
    "Kab. dr. H. No. Rp. 1.500 2,5 – — - #Kaltim @pemkab 🎉 😀 &amp; &#8220; Baca juga: "
    "SAMARINDA editorialkaltim.com (Roro/adv) . , ! ? … Supercalifragilisticexpialidocious "
    "https://editorialkaltim.com/x/?a=1"
)
_WORDS = st.sampled_from(_VOCABULARY.split(" "))
_SENTENCE = st.lists(_WORDS, min_size=1, max_size=40).map(" ".join)
_WRAPPERS = st.sampled_from([
    "<p>{}</p>", "<div>{}</div>", "<p><strong>{}</strong></p>", "<p><a href='/x'>{}</a></p>",
    "<figure><figcaption>{}</figcaption></figure>", "<p>{}<br>{}</p>", "{}", "<h2>{}</h2>",
    "<p><em>{}</em></p>", "<blockquote>{}</blockquote>",
])
_BODY = st.lists(st.tuples(_WRAPPERS, _SENTENCE), max_size=12).map(
    lambda blocks: "\n".join(w.replace("{}", s) for w, s in blocks))
_TERMS = st.lists(st.one_of(_WORDS, st.text(max_size=30)), max_size=8).map(tuple)
_TITLES = st.one_of(_SENTENCE, st.text(min_size=1, max_size=400), _SENTENCE.map(str.upper))
_LINKS = st.one_of(
    st.just("https://editorialkaltim.com/berita/"),
    st.text(alphabet="abc-/?=&%#@", max_size=700).map(
        lambda tail: "https://editorialkaltim.com/" + tail),
)
_CONFIGS = [
    CONFIG,
    _config(summary_max_chars=2000, summary_max_sentences=10),
    _config(summary_max_chars=50, max_hashtags=3, hashtags=["Kaltim"]),
    _config(template="{label}{title}\n\n{summary}\n\n" + "Kami hadir untuk Kaltim. " * 40
            + "\n\n{link}\n@editorialkaltim\n{hashtags}", summary_max_chars=2000),
]
_WRITERS = [CaptionWriter(config) for config in _CONFIGS]
_PUNCT = "“”\"'()[],.;:!?…–—-"


def _tokens(text: str) -> set[str]:
    return {t.strip(_PUNCT) for t in text.split()} - {""}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    writer_index=st.integers(0, len(_WRITERS) - 1),
    title=_TITLES, body=_BODY, description=_BODY, terms=_TERMS, link=_LINKS,
    author=st.one_of(st.none(), _SENTENCE),
)
def test_no_article_breaks_a_limit_or_cuts_a_word(
    writer_index: int, title: str, body: str, description: str, terms: tuple[str, ...],
    link: str, author: str | None,
) -> None:
    writer = _WRITERS[writer_index]
    article = Article(key="k", feed="utama", link=link, title=title, author=author,
                      categories=terms, content_html=body, description_html=description,
                      published=datetime(2024, 10, 28, tzinfo=UTC))
    try:
        caption = writer.write(article)
    except RenderError:  # pragma: no cover - the template check makes this impossible
        pytest.fail("a valid template must always fit")
    check_caption(caption.text)
    assert count_hashtags(caption.text) <= writer.config.caption.max_hashtags
    source = _tokens(paragraphs_text(writer, article))
    summary = caption.summary.removesuffix("”").removesuffix(")").removesuffix(ELLIPSIS)
    assert _tokens(summary) <= source, "the summary holds a word that is not in the article"
    alt = writer.alt_text(article, headline=title, photo_description=description)
    assert instagram_length(alt) <= MAX_ALT_TEXT_CHARS
    assert alt.startswith(("Kartu berita Editorial Kaltim", "Kartu advertorial Editorial"))


def paragraphs_text(writer: CaptionWriter, article: Article) -> str:
    """Everything the summary may draw from, hashtags and mentions defused included."""
    text = " ".join(
        p.text for markup, excerpt in ((article.content_html, False),
                                        (article.description_html, True))
        for p in paragraphs(markup, title=article.title, excerpt=excerpt))
    return text + " " + text.replace("#", "").replace("@", "")


@settings(max_examples=300, deadline=None)
@given(text=st.lists(_WORDS, max_size=60).map(" ".join), budget=st.integers(0, 300))
def test_cut_words_fits_and_ends_on_a_whole_word(text: str, budget: int) -> None:
    cut = cut_words(text, budget)
    assert instagram_length(cut) <= max(budget, 0) or cut == text == ""
    if cut and cut != text:
        core = cut.rstrip("”)").removesuffix(ELLIPSIS)
        words = text.split()
        kept = core.split()
        assert kept[:-1] == words[: len(kept) - 1]
        assert words[len(kept) - 1].startswith(kept[-1])  # a whole word, less its punctuation
        assert kept[-1].strip(_PUNCT) == words[len(kept) - 1].strip(_PUNCT)


@settings(max_examples=200, deadline=None)
@given(text=st.lists(_WORDS, max_size=60).map(" ".join))
def test_splitting_sentences_loses_no_text(text: str) -> None:
    assert " ".join(split_sentences(text)).split() == text.split()
