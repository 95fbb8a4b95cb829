"""Type on the cards: scripts the card font lacks, the punctuation fit, where lines break.

Headlines here are the kinds real feeds sent: Indonesian with numbers and quotes,
Arabic, Russian, Chinese, Japanese and Korean news, a Hindi headline (a script no
shipped font covers), emoji.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot.articles import Article
from bot.cards import MARGIN, POST_SIZE, Card, CardRenderer
from bot.cards.fonts import (
    DEFAULT_FONT,
    FALLBACK_FONTS,
    HAS_RAQM,
    LAYOUT_ENGINE,
    FontBook,
    Typeface,
)
from bot.cards.text import fit_text, units
from bot.config import CardConfig, CardFonts, SiteConfig
from bot.errors import RenderError

TZ = ZoneInfo("Asia/Makassar")
FONTS_DIR = DEFAULT_FONT.parent

HEADLINES = {
    "arabic": "انتخابات محلية في كاليمانتان الشرقية: 17 ألف مراقب لعام 2024۔",
    "russian": "Выборы в Восточном Калимантане: 17 000 наблюдателей готовы к 2024 году",
    "chinese": "东加里曼丹省举行2024年地方选举，一万七千名监票员已经准备就绪。",
    "japanese": "東カリマンタン州で2024年の地方選挙、「平和な選挙」を目指す。",
    "korean": "동칼리만탄 2024년 지방선거, 감시원 1만7천 명 준비 완료",
    "greek": "Εκλογές στο Ανατολικό Καλιμαντάν: 17.000 παρατηρητές",
    "vietnamese": "Bầu cử địa phương ở Đông Kalimantan năm 2024",
}


def article(title: str, categories: tuple[str, ...] = ("Kutim",)) -> Article:
    return Article(key="editorialkaltim.com#40010", feed="utama",
                   link="https://editorialkaltim.com/jelang-pilkada-2024/", title=title,
                   published=datetime(2024, 10, 28, 2, 30, tzinfo=UTC), categories=categories)


def renderer(book: FontBook | None = None) -> CardRenderer:
    r = CardRenderer(CardConfig(), SiteConfig(), TZ)
    if book is not None:
        r.fonts = book
    return r


def headline_chars(card: Card) -> set[str]:
    return {ch for line in card.headline_lines for ch in line if not ch.isspace()}


# ----------------------------------------------------------------------------- scripts


def test_layout_engine_is_raqm_where_pillow_has_it() -> None:
    expected = ImageFont.Layout.RAQM if HAS_RAQM else ImageFont.Layout.BASIC
    assert expected == LAYOUT_ENGINE
    assert Typeface(DEFAULT_FONT, 800).at(40).layout_engine == LAYOUT_ENGINE


@pytest.mark.parametrize("name", list(HEADLINES))
def test_headlines_in_other_scripts_keep_every_letter(name: str) -> None:
    if name == "arabic" and not HAS_RAQM:
        pytest.skip("Arabic needs Raqm; the refusal is tested below")
    title = HEADLINES[name]
    card = renderer().render(article(title, ("Berita",)), None)
    # Every letter and digit of the title is on the card: nothing emptied to "#17703".
    wanted = {ch for ch in title if ch.isalnum()}
    assert wanted <= headline_chars(card)
    assert not card.truncated
    face = card_face(card, title)
    assert all(face.covers(ch) for ch in headline_chars(card))
    if name in ("vietnamese",):
        assert face.path == DEFAULT_FONT or face.path in FALLBACK_FONTS
    else:
        assert face.path in FALLBACK_FONTS
        assert card.note is not None and f"headline set in {face.family}" in card.note


def card_face(card: Card, title: str) -> Typeface:
    book = FontBook(CardFonts())
    return book.face_for(title, book.headline)


def test_glyphs_are_real_not_notdef_boxes() -> None:
    # Each fallback draws the headline's characters with their own outlines: the masks
    # differ from the .notdef box that a missing glyph would show.
    book = FontBook(CardFonts())
    for title in HEADLINES.values():
        face = book.face_for(title, book.headline)
        font = face.at(60)
        tofu = bytes(font.getmask("\ue000"))
        for ch in {c for c in title if c.isalpha()}:
            assert bytes(font.getmask(ch)) != tofu, (face.family, ch)


@pytest.mark.skipif(not HAS_RAQM, reason="needs Raqm")
def test_arabic_is_set_right_to_left_and_flush_right() -> None:
    card = renderer().render(article(HEADLINES["arabic"], ("أخبار",)), None)
    boxes = [b.box for b in card.text_boxes if b.role == "headline"]
    assert boxes
    assert all(abs(box[2] - (POST_SIZE[0] - MARGIN)) <= 4 for box in boxes)
    # The label sits flush right above it.
    [label] = [b.box for b in card.text_boxes if b.role == "category"]
    assert label[2] > POST_SIZE[0] // 2
    # The first word in reading order is at the right end of the first line: shaping and
    # bidi ordering put "انتخابات" on the right. Drawn alone it matches that end.
    face = card_face(card, HEADLINES["arabic"])
    assert face.at(card.headline_size).getlength("انتخابات") > 0


def test_arabic_without_raqm_fails_naming_the_script() -> None:
    book = FontBook(CardFonts(), engine=ImageFont.Layout.BASIC)
    with pytest.raises(RenderError, match="Arabic script needs Pillow's Raqm"):
        renderer(book).render(article(HEADLINES["arabic"]), None)


@pytest.mark.parametrize(("title", "script"), [
    ("भारत में स्थानीय चुनाव की तैयारी पूरी", "Devanagari"),
    ("საქართველოს არჩევნები", "Georgian"),
    ("การเลือกตั้งท้องถิ่นในกาลีมันตันตะวันออก", "Thai"),
    ("ᮕᮤᮜ᮪ᮊᮓ ᮊᮥᮒᮤᮙ᮪", "Sundanese"),
])
def test_a_script_no_font_covers_fails_naming_it(title: str, script: str) -> None:
    with pytest.raises(RenderError, match=rf"{script} script: no card font has") as caught:
        renderer().render(article(title), None)
    assert "Plus Jakarta Sans" in str(caught.value)
    assert "Noto Sans" in str(caught.value)


def test_a_category_in_another_script_uses_a_fallback_too() -> None:
    card = renderer().render(article("Berita hari ini", ("Новости",)), None)
    [label] = [b for b in card.text_boxes if b.role == "category"]
    assert label.text == "НОВОСТИ"


def test_emoji_are_left_off_and_noted() -> None:
    card = renderer().render(article("Hore 🎉! Kutim Juara Umum MTQ 2024 🏆"), None)
    assert card.headline == "Hore! Kutim Juara Umum MTQ 2024"
    assert card.note is not None
    assert "🎉" in card.note and "🏆" in card.note and "caption keeps" in card.note


def test_the_fallback_fonts_ship_with_their_licence() -> None:
    licence = (FONTS_DIR / "OFL-Noto.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Google LLC" in licence and "Adobe" in licence
    for path in FALLBACK_FONTS:
        assert path.is_file() and path.name in licence
    assert sum(p.stat().st_size for p in FALLBACK_FONTS) < 3_000_000


def test_each_font_s_family_and_coverage_are_read_from_the_file() -> None:
    families = [Typeface(path, 700).family for path in (DEFAULT_FONT, *FALLBACK_FONTS)]
    assert families == ["Plus Jakarta Sans", "Noto Sans", "Noto Sans Arabic Latin",
                        "Noto Sans CJK SC"]
    # The cmap is read against placeholder glyph names (bot/cards/fonts.py); what it
    # covers is what FreeType draws: a real glyph, not the font's .notdef box.
    cjk = Typeface(FALLBACK_FONTS[2], 700)
    assert cjk.covers("东加里曼丹") and not cjk.covers("\U0001f389")
    font = cjk.at(40)
    assert bytes(font.getmask("东")) != bytes(font.getmask("\U0010fffd"))


def test_releasing_the_font_book_closes_its_faces_and_the_next_card_reopens_them() -> None:
    r = renderer()
    first = r.render(article(HEADLINES["chinese"]), None)
    assert r.fonts.headline._sizes and any(f._sizes for f in r.fonts.fallbacks)
    r.release_caches()
    assert not r.fonts.headline._sizes and not any(f._sizes for f in r.fonts.fallbacks)
    again = r.render(article(HEADLINES["chinese"]), None)
    assert again.to_jpeg() == first.to_jpeg()


# ---------------------------------------------------------------------- punctuation fit


def ink_runs(image: Image.Image, threshold: int = 128) -> list[tuple[int, int]]:
    """(start, end) of every run of columns with ink, left to right."""
    pixels = image.load()
    assert pixels is not None
    columns = [any(pixels[x, y] > threshold for y in range(image.height))  # type: ignore[operator]
               for x in range(image.width)]
    runs: list[tuple[int, int]] = []
    x = 0
    while x < len(columns):
        if columns[x]:
            start = x
            while x < len(columns) and columns[x]:
                x += 1
            runs.append((start, x))
        x += 1
    return runs


def gaps(text: str, size: int = 88) -> list[int]:
    face = Typeface(DEFAULT_FONT, 800)
    image = Image.new("RGB", (round(face.length(text, size)) + 80, size * 2), (0, 0, 0))
    face.draw(ImageDraw.Draw(image), (40, size * 1.4), text, size, (255, 255, 255))
    runs = ink_runs(image.convert("L"))
    return [b[0] - a[1] for a, b in pairwise(runs)]


def test_no_gap_before_the_comma_after_a_number() -> None:
    widths = gaps("2024,")
    assert len(widths) == 4
    # The comma sits as close to the 4 as the digits sit to each other.
    assert widths[3] <= max(widths[:3]) + 1, widths


@pytest.mark.parametrize(("text", "around"), [
    ("17.000", (1, 2)),  # the gaps on both sides of the full stop
    ("1,5", (0, 1)),
    ("Damai”,", (-1,)),  # the comma after the closing quote (” is two runs of ink)
    ("Petugas:", (-1,)),
])
def test_punctuation_sits_at_the_font_s_own_fit(text: str, around: tuple[int, ...]) -> None:
    widths = gaps(text)
    letters = gaps("nnnn")
    assert max(widths[i] for i in around) <= max(letters) + 2, (text, widths, letters)


def test_the_card_sets_the_headline_with_the_punctuation_fit() -> None:
    # The same headline measured and drawn by the card: the comma's gap, on pixels.
    card = renderer().render(article("Pilkada 2024, Kutim Siap"), None)
    [first] = [b for b in card.text_boxes if b.role == "headline"][:1]
    crop = card.image.crop(first.box).convert("L")
    runs = ink_runs(crop, threshold=200)
    widths = [b[0] - a[1] for a, b in pairwise(runs)]
    text = first.text.replace(" ", "")
    comma = text.index(",")
    assert widths[comma - 1] <= max(widths[comma - 4:comma - 1]) + 1, widths


# ---------------------------------------------------------------------------- line breaks


NO_START = set("-–—,.;:!?…)]}»”’、。，．：；！？）」』】")
NO_END = set("([{«“‘（「『【")


def lines_of(title: str, width: int = 936, size: int = 88) -> tuple[str, ...]:
    face = Typeface(DEFAULT_FONT, 800)
    return fit_text(title, face, width=width, max_lines=4, min_size=50, max_size=size).lines


@pytest.mark.parametrize("title", [
    "Pemkab Kutim dan DPRD Sepakati Anggaran Pendidikan – Warga Menyambut Baik Kesepakatan",
    "Bupati Ardiansyah Sampaikan Pesan “Jaga Kondusivitas” kepada Seluruh Warga Sangatta",
    "Harga Cabai Rawit di Pasar Induk Sangatta Naik Lagi (Rp80.000 per Kilogram) Jelang",
    "Warga Bengalon Bertanya : Kapan Jalan Poros Diperbaiki ? Pemkab Menjawab — Tahun Ini",
])
def test_no_line_starts_with_a_dash_or_closing_punctuation(title: str) -> None:
    for width in range(520, 940, 40):
        lines = lines_of(title, width)
        assert all(line[0] not in NO_START for line in lines), lines
        assert all(line[-1] not in NO_END for line in lines), lines


def test_cjk_breaks_between_characters_but_not_before_closing_marks() -> None:
    for width in range(300, 940, 37):
        lines = lines_of(HEADLINES["japanese"], width, size=60)
        assert all(line[0] not in NO_START for line in lines), lines
        assert all(line[-1] not in NO_END for line in lines), lines
    assert units("東京で「平和」を。") == [("東", False), ("京", True), ("で", True),
                                      ("「平", True), ("和」", True), ("を。", True)]


def test_a_grouped_number_is_not_split() -> None:
    assert ("17 000", False) in units("Выборы: 17 000 наблюдателей")


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([
    "Pemkab", "Kutim", "–", "—", "-", "DPRD,", "“Kata", "ketua”", "(Rp1,5", "miliar)", "…",
    "Sangatta;", "2024:", "?", "!", "warga", "Bontang–Samarinda", "”", "“",
]), min_size=2, max_size=22))
def test_any_headline_keeps_dashes_and_closers_off_line_starts(words: list[str]) -> None:
    lines = lines_of(" ".join(words), 700)
    for i, line in enumerate(lines):
        if i and not line.endswith("…"):
            assert line[0] not in NO_START, lines
        if i < len(lines) - 1:
            assert line[-1] not in NO_END, lines


def test_example_typography_cards_exist() -> None:
    examples = Path(__file__).resolve().parent.parent / "assets" / "examples"
    for name in ("numbers.jpg", "quotes.jpg", "long-words.jpg", "arabic.jpg", "russian.jpg",
                 "chinese.jpg"):
        path = examples / name
        assert path.stat().st_size < 400_000, name
        with Image.open(path) as image:
            assert image.size == POST_SIZE


# ---------------------------------------------------------------------- drawing and fitting


DRAWN_FACES = {"latin": Typeface(DEFAULT_FONT, 800), "cjk": Typeface(FALLBACK_FONTS[2], 700)}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["Jelang Pilkada 2024", "KUTIM", "Sangatta Utara", "Ágúst Łódź",
                        "东加里曼丹", "Выборы"]),
       st.sampled_from(["ls", "rs", "ms", "lm", "la", "rd"]),
       st.integers(900, 1100), st.integers(130, 230), st.sampled_from([0, 0.25, 0.5, 0.875]),
       st.sampled_from([0, 0.5, 0.125]), st.sampled_from([24, 26, 71, 88]))
def test_text_is_drawn_as_pillow_draws_it_and_boxed_as_textbbox(
        text: str, anchor: str, whole_x: int, whole_y: int, fraction_x: float,
        fraction_y: float, size: int) -> None:
    # Typeface.draw lays a run out once, where ImageDraw.text and textbbox laid it out
    # twice; the pixels and the box must be Pillow's own (bot/cards/fonts.py, Stamp).
    # (No tightened punctuation here: the punctuation fit sets that in pieces. The
    # fractions are exact in binary: 201.99999999999997 + 55 rounds to 257.0 in
    # textbbox's float sum, a box edge a hair away from where the mask puts it.)
    x, y = whole_x + fraction_x, whole_y + fraction_y
    face = DRAWN_FACES["cjk" if text.startswith("东") else "latin"]
    font = face.at(size)
    ours, pillows = (Image.new("RGB", (2000, 330), (12, 30, 60)) for _ in range(2))
    box = face.draw(ImageDraw.Draw(ours), (x, y), text, size, (250, 240, 10), anchor)
    draw = ImageDraw.Draw(pillows)
    draw.text((x, y), text, font=font, fill=(250, 240, 10), anchor=anchor)
    assert ours.tobytes() == pillows.tobytes()
    assert box == tuple(int(v) for v in draw.textbbox((x, y), text, font=font, anchor=anchor))


@pytest.mark.parametrize(("text", "tracking"), [("Senin, 28 Oktober 2024", 0.0),
                                                 ("Rp1,5 miliar.", 0.0), ("PILKADA 2024", 2.4)])
def test_a_stamp_draws_what_drawing_in_pieces_draws(text: str, tracking: float) -> None:
    # Text set in pieces (the punctuation fit, letter-spacing) is kept as one mask when
    # it repeats from card to card; the mask draws what the pieces draw.
    face = Typeface(DEFAULT_FONT, 700)
    direct, stamped = (Image.new("RGB", (700, 100), (250, 250, 250)) for _ in range(2))
    xy = (40.25, 70.0)
    box = face.draw(ImageDraw.Draw(direct), xy, text, 26, (20, 20, 20), tracking=tracking)
    stamp = face.stamp(text, 26, start=(0.25, 0.0), tracking=tracking)
    assert stamp.draw(ImageDraw.Draw(stamped), (40, 70), (20, 20, 20)) == box
    difference = ImageChops.difference(direct, stamped).getextrema()
    assert max(high for _, high in difference) <= 2  # where antialiased edges meet


def test_a_burst_stamps_its_repeating_texts_once_and_keeps_a_bounded_few() -> None:
    r = renderer()
    made: list[str] = []
    original = Typeface.stamp

    def spy(self: Typeface, text: str, *args: object, **kwargs: object) -> object:
        made.append(text)
        return original(self, text, *args, **kwargs)  # type: ignore[arg-type]

    Typeface.stamp = spy  # type: ignore[method-assign,assignment]
    try:
        first = r.render(article("Banjir Rendam Sangatta"), None)
        for title in ("Harga Cabai Naik", "Jalan Poros Diperbaiki", "Banjir Rendam Sangatta"):
            card = r.render(article(title), None)
    finally:
        Typeface.stamp = original  # type: ignore[method-assign]
    # The label, the date and the domain, once each for four cards.
    assert sorted(made) == sorted(["KUTIM", "Senin, 28 Oktober 2024", "editorialkaltim.com"])
    assert card.to_jpeg() == first.to_jpeg() == renderer().render(
        article("Banjir Rendam Sangatta"), None).to_jpeg()
    for n in range(60):  # a category per card: the oldest stamps go
        r.render(article("Banjir", categories=(f"Kategori {n}",)), None)
    assert len(r._stamps) == r._stamps.limit
    r.release_caches()
    assert len(r._stamps) == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["Pemkab", "Kutim", "Rp1,2", "x", "Kalimantan-Timur", "2024.",
                                 "Bontang–Samarinda", "“agar", "lancar”", "di", "warga,"]),
                min_size=1, max_size=40),
       st.sampled_from([(50, 88), (46, 68), (40, 120)]))
def test_the_fit_from_scaled_widths_is_the_exact_fit_or_a_pixel_smaller(
        words: list[str], sizes: tuple[int, int]) -> None:
    face = Typeface(DEFAULT_FONT, 800)
    text = " ".join(words)
    fit = fit_text(text, face, width=936, max_lines=4, min_size=sizes[0], max_size=sizes[1])
    exact = fit_text(text, face, width=936, max_lines=4, min_size=sizes[0],
                     max_size=sizes[1], exact=True)
    assert all(face.length(line, fit.size) <= 936 for line in fit.lines)
    if HAS_RAQM:  # the scaled widths allow for rounding: at worst one size smaller
        assert exact.size - 1 <= fit.size <= exact.size
    else:
        assert fit == exact
