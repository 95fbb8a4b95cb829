"""Headline cards: geometry, fitting, legibility, hostile photos, fonts and the JPEG output."""

from __future__ import annotations

import io
import math
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from bot.articles import Article
from bot.cards import (
    GRID_BAND,
    MARGIN,
    POST_SIZE,
    STORY_SIZE,
    STORY_STICKER_BOX,
    Card,
    CardRenderer,
    contact_sheet,
    decode_image,
)
from bot.cards.colours import contrast, hex_to_rgb
from bot.cards.fonts import DEFAULT_FONT, FontBook, Typeface
from bot.cards.images import cover, resample_for
from bot.cards.layout import HEADLINE_SIZES, SHADE
from bot.cards.text import fit_text
from bot.config import CardConfig, CardFonts, SiteConfig, parse_config
from bot.errors import ConfigError, RenderError
from tests import imagekit

TZ = ZoneInfo("Asia/Makassar")
SEED_TITLE = "Jelang Pilkada 2024, Pemkab Kutim Persiapkan Mitigasi dan Penanganan Konflik Sosial"
WORDS = (
    "Pemkab", "Kutim", "Bupati", "Ardiansyah", "resmikan", "jembatan", "baru", "di",
    "Sangatta,", "warga", "sambut", "antusias;", "DPRD", "Kaltim", "minta", "Pemprov",
    "percepat", "perbaikan", "jalan", "rusak", "menuju", "Bontang–Samarinda", "sebelum",
    "Lebaran", "2025", "“agar", "mudik", "lancar”", "kata", "ketua",
)


def article(title: str = SEED_TITLE, categories: tuple[str, ...] = ("Kutim", "Pilkada"),
            **extra: Any) -> Article:
    """The seed article, or a variation of it."""
    return Article(
        key="editorialkaltim.com#40010", feed="utama",
        link="https://editorialkaltim.com/jelang-pilkada-2024/", title=title,
        published=datetime(2024, 10, 28, 2, 30, tzinfo=UTC), categories=categories, **extra,
    )


def renderer(**card: Any) -> CardRenderer:
    """A renderer with the shipped defaults, overridden by ``card``."""
    return CardRenderer(CardConfig(**card), SiteConfig(), TZ)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A photo-like landscape, decoded the way the fetcher decodes photos."""
    return decode_image(imagekit.jpeg(imagekit.landscape((1600, 1067))))


def render_case(case: str, photo: Image.Image, title: str = SEED_TITLE,
                categories: tuple[str, ...] = ("Kutim",)) -> Card:
    """Render one of the five card kinds."""
    item = article(title, categories)
    if case == "overlay":
        return renderer().render(item, photo)
    if case == "split":
        return renderer(layout="split").render(item, photo)
    if case == "branded":
        return renderer().render(item, None)
    if case == "story":
        return renderer().render(item, photo, story=True)
    return renderer().render(item, None, story=True)


CASES = ("overlay", "split", "branded", "story", "story-branded")
TITLES = (
    "Banjir",
    SEED_TITLE,
    "Gubernur Kaltim: “Kami Tidak Akan Mundur” — Rapat Paripurna DPRD Memanas, Fraksi "
    "Walk Out Setelah Interupsi Soal Anggaran Pendidikan dan Kesehatan 2025…",
    "Tautan https://editorialkaltim.com/sangat-panjang-sekali-tanpa-spasi-apa-pun-di-sini "
    "dibagikan warga",
    "Warga Sangatta 🎉 Rayakan HUT RI ke-79 🇮🇩 dengan Lomba Panjat Pinang 😀",
)


# ---------------------------------------------------------------------- output


@pytest.mark.parametrize("case", CASES)
def test_card_is_a_baseline_srgb_jpeg_of_exact_size_under_8mb(case: str,
                                                              photo: Image.Image) -> None:
    card = render_case(case, photo)
    data = card.to_jpeg()
    assert len(data) < 8_000_000
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (STORY_SIZE if case.startswith("story") else POST_SIZE)
        assert image.mode == "RGB"
        assert not image.info.get("progressive") and not image.info.get("progression")
        assert "icc_profile" not in image.info
        assert "exif" not in image.info
    assert card.layout == case


def test_noise_photo_still_encodes_under_8mb() -> None:
    noise = Image.effect_noise((1080, 1350), 128).convert("RGB")
    card = renderer(quality=95).render(article(), Image.merge("RGB", [noise.getchannel(0)] * 3))
    assert len(card.to_jpeg()) < 8_000_000


# ---------------------------------------------------------------------- geometry


@pytest.mark.parametrize("title", TITLES)
@pytest.mark.parametrize("case", CASES)
def test_every_text_lies_inside_the_grid_band_and_margins(case: str, title: str,
                                                          photo: Image.Image) -> None:
    card = render_case(case, photo, title, ("Pemerintahan Kabupaten Kutai Timur",))
    width, height = card.image.size
    roles = {box.role for box in card.text_boxes}
    assert {"headline", "mark", "domain", "category", "date"} <= roles
    for item in card.text_boxes:
        left, top, right, bottom = item.box
        assert GRID_BAND[0] <= left and right <= GRID_BAND[1], item
        # Ink may overhang its origin by a side bearing, never by more than a few px.
        assert left >= MARGIN - 4 and right <= width - MARGIN + 4, item
        if case.startswith("story"):  # clear of Instagram's own story UI
            assert top >= 240 and bottom <= 1590, item
        else:
            assert top >= 48 and bottom <= height - 48, item


@pytest.mark.parametrize("case", CASES)
def test_no_text_pixels_outside_the_grid_band(case: str) -> None:
    """Cards with different text must be pixel-identical outside the 1012 px band.

    The photo is the scrim's own colour (the panel's, for split), so a scrim placed
    higher or a panel made taller for a longer headline changes no pixel: only text
    could make the strips differ.
    """
    colour = hex_to_rgb(CardConfig().background) if case == "split" else SHADE
    photo = Image.new("RGB", (1600, 1067), colour)
    cards = [render_case(case, photo, title, categories)
             for title, categories in ((TITLES[0], ("A",)), (TITLES[2], ("Ekonomi dan Bisnis",)))]
    for left, right in ((0, GRID_BAND[0]), (GRID_BAND[1], POST_SIZE[0])):
        strips = [c.image.crop((left, 0, right, c.image.height)).tobytes() for c in cards]
        assert strips[0] == strips[1]


def test_story_keeps_the_sticker_area_clear(photo: Image.Image) -> None:
    for case in ("story", "story-branded"):
        card = render_case(case, photo, TITLES[2])
        assert card.sticker_box == STORY_STICKER_BOX
        sx0, sy0, sx1, sy1 = STORY_STICKER_BOX
        for item in card.text_boxes:
            x0, y0, x1, y1 = item.box
            assert x1 <= sx0 or x0 >= sx1 or y1 <= sy0 or y0 >= sy1, item


def test_date_is_in_indonesian_and_domain_is_shown(photo: Image.Image) -> None:
    card = renderer().render(article(), photo)
    texts = {box.role: box.text for box in card.text_boxes}
    assert texts["date"] == "Senin, 28 Oktober 2024"
    assert texts["domain"] == "editorialkaltim.com"
    assert texts["category"] == "KUTIM"


def test_date_and_category_can_be_hidden(photo: Image.Image) -> None:
    card = renderer(show_date=False, show_category=False).render(article(), photo)
    roles = [box.role for box in card.text_boxes]
    assert "date" not in roles and "category" not in roles
    assert "domain" in roles


# ---------------------------------------------------------------------- fitting


@pytest.mark.parametrize("length", range(20, 201, 15))
@pytest.mark.parametrize("case", ["overlay", "split", "branded", "story"])
def test_headlines_of_20_to_200_chars_fit_four_lines_at_min_size(case: str, length: int,
                                                                 photo: Image.Image) -> None:
    title = " ".join(WORDS * 3)[:length].strip()
    card = render_case(case, photo, title)
    assert 1 <= len(card.headline_lines) <= 4
    assert card.headline_size >= HEADLINE_SIZES[case][0]
    face = Typeface(DEFAULT_FONT, 800)  # lines are as wide as drawn, punctuation fit included
    assert all(face.length(line, card.headline_size) <= POST_SIZE[0] - 2 * MARGIN
               for line in card.headline_lines)
    if card.truncated:
        assert card.headline_size == HEADLINE_SIZES[case][0]
        assert card.headline.endswith("…")
        assert title.startswith(card.headline[:-1].rstrip(",;:–— "))
    else:
        assert card.headline == title


@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from([*WORDS, "Rp1,2", "x", "Kalimantan-Timur", "2024."]),
                min_size=1, max_size=40))
def test_any_headline_fits_and_ellipsis_only_when_needed(words: list[str]) -> None:
    text = " ".join(words)
    face = Typeface(DEFAULT_FONT, 800)
    fit = fit_text(text, face, width=936, max_lines=4, min_size=50, max_size=88)
    assert 1 <= fit.line_count <= 4
    assert 50 <= fit.size <= 88
    assert all(face.length(line, fit.size) <= 936 for line in fit.lines)
    untruncated = fit_text(text, face, width=936, max_lines=99, min_size=50, max_size=50)
    if fit.truncated:
        assert untruncated.line_count > 4  # too long even at the minimum size
        assert fit.text.endswith("…")
    else:
        assert fit.text == text
        assert " ".join(fit.lines) == text


def test_short_headline_gets_the_largest_size(photo: Image.Image) -> None:
    assert renderer().render(article("Banjir"), photo).headline_size == HEADLINE_SIZES["overlay"][1]


@pytest.mark.parametrize("title", [
    "Bupati Kutim Resmikan Jembatan Baru di Sangatta Utara",
    SEED_TITLE,
    "Harga Cabai di Pasar Induk Sangatta Naik Lagi",
    "Pemprov Kaltim Alokasikan Rp1,2 Triliun untuk Perbaikan Jalan Provinsi di Kutai Timur",
])
def test_headlines_are_set_without_widows_or_short_middle_lines(title: str) -> None:
    face = Typeface(DEFAULT_FONT, 800)
    fit = fit_text(title, face, width=936, max_lines=4, min_size=50, max_size=88)
    font = face.at(fit.size)
    widths = [font.getlength(line) for line in fit.lines]
    assert len(fit.lines[-1].split()) > 1 or widths[-1] > 0.35 * 936, fit.lines
    assert all(w > 0.45 * max(widths) for w in widths[:-1]), fit.lines


def test_fitting_is_a_binary_search_not_a_pixel_walk() -> None:
    face = Typeface(DEFAULT_FONT, 800)
    sizes: list[int] = []
    original = face.at

    def spy(size: int) -> Any:
        sizes.append(size)
        return original(size)

    face.at = spy  # type: ignore[method-assign]
    fit_text(" ".join(WORDS), face, width=936, max_lines=4, min_size=40, max_size=120)
    assert len(set(sizes)) <= 9  # log2(81) + a few; stepping 1 px would take dozens


# ---------------------------------------------------------------------- legibility


def _text_contrast(card: Card, ink: tuple[int, int, int]) -> float:
    """Worst contrast between the headline's ink and the pixels around its glyphs."""
    worst = 21.0
    for item in card.text_boxes:
        if item.role != "headline":
            continue
        region = card.image.crop(item.box)
        distance = Image.new("RGB", region.size, ink)
        near = ImageChops.difference(region, distance).convert("L")
        text = near.point(lambda v: 255 if v < 40 else 0)  # the glyphs' solid cores
        halo = text.filter(ImageFilter.MaxFilter(9))  # glyphs plus their antialiasing
        pixels = list(region.get_flattened_data())
        behind = [p for p, h in zip(pixels, halo.get_flattened_data(), strict=True) if h == 0]
        cores = [p for p, t in zip(pixels, text.get_flattened_data(), strict=True) if t]
        assert cores and behind, item
        behind.sort(key=lambda p: contrast(p, ink))
        text_colour = sorted(cores, key=lambda p: contrast(p, ink))[len(cores) // 2]
        # The 2nd percentile: the least contrasting background, ignoring stray pixels.
        worst = min(worst, contrast(text_colour, behind[len(behind) // 50]))
    return worst


BRIGHT = Image.new("RGB", (1600, 1200), (255, 255, 255))
DARK = Image.new("RGB", (1600, 1200), (10, 10, 12))


@pytest.mark.parametrize(("case", "background"), [
    *((case, background) for case in ("overlay", "split", "story")
      for background in (BRIGHT, DARK, None)),
    ("branded", None), ("story-branded", None),
], ids=lambda value: value if isinstance(value, str) else {
    id(BRIGHT): "white", id(DARK): "dark"}.get(id(value), "busy"))
def test_headline_contrast_meets_wcag_aa_on_rendered_pixels(
    case: str, background: Image.Image | None, photo: Image.Image
) -> None:
    source = photo if background is None else background
    card = render_case(case, source, TITLES[2])
    ink = (255, 255, 255)
    assert _text_contrast(card, ink) >= 4.5


def test_light_panel_gets_dark_ink_with_aa_contrast(photo: Image.Image) -> None:
    card = renderer(layout="split", background="#FFFFFF").render(article(), photo)
    assert _text_contrast(card, (17, 24, 39)) >= 4.5


# ---------------------------------------------------------------------- accents, marks


def _label_colour(card: Card) -> tuple[int, int, int]:
    box = next(b.box for b in card.text_boxes if b.role == "category")
    pixel = card.image.getpixel((box[0] - 8, (box[1] + box[3]) // 2))  # the label's padding
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


@pytest.mark.parametrize(("category", "colour"), [
    ("Kutim", "#E30613"), ("Advertorial", "#6B7280"), ("advertorial", "#6B7280"),
    ("ADVERTORIAL", "#6B7280"),
])
def test_category_accent_is_matched_case_insensitively(category: str, colour: str,
                                                       photo: Image.Image) -> None:
    card = renderer().render(article(categories=(category,)), photo)
    assert _label_colour(card) == hex_to_rgb(colour)


def test_logo_file_replaces_the_wordmark(tmp_path: Path, photo: Image.Image) -> None:
    logo = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((0, 0, 599, 199), fill=(0, 200, 80, 255))
    path = tmp_path / "logo.png"
    logo.save(path)
    card = renderer(logo=path).render(article(), photo)
    mark = next(b.box for b in card.text_boxes if b.role == "mark")
    centre = card.image.getpixel(((mark[0] + mark[2]) // 2, (mark[1] + mark[3]) // 2))
    assert centre == (0, 200, 80)
    assert mark[2] - mark[0] <= POST_SIZE[0] // 2


@pytest.mark.parametrize(("card_toml", "key", "problem"), [
    ('accent = "merah"', "card.accent", "bad colour"),
    ('background = "#GGGGGG"', "card.background", "bad colour"),
    ('category_accents = { Advertorial = "grey" }', "card.category_accents.Advertorial",
     "bad colour"),
    ('logo = "assets/missing-logo.png"', "card.logo", "file not found"),
    ('logo = "bot.toml"', "card.logo", "not a PNG, WebP or JPEG"),
    ('fonts = { headline = "fonts/missing.ttf" }', "card.fonts.headline", "file not found"),
    ('fonts = { body = "bot.toml" }', "card.fonts.body", "not a font file"),
    ('layout = "mosaic"', "card.layout", "overlay"),
])
def test_bad_card_config_names_the_key(tmp_path: Path, card_toml: str, key: str,
                                       problem: str) -> None:
    import tomllib

    (tmp_path / "bot.toml").write_text("x = 1\n")
    data = {
        "feeds": [{"name": "utama", "url": "https://editorialkaltim.com/feed/",
                   "accounts": ["ek"]}],
        "accounts": [{"name": "ek"}],
        "card": tomllib.loads(card_toml),
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(data, file="bot.toml", base_dir=tmp_path)
    assert caught.value.key == key
    assert problem in str(caught.value)


# ---------------------------------------------------------------------- fonts and glyphs


@pytest.mark.parametrize("char", list("“”‘’–—…"))
def test_typographic_punctuation_has_real_glyphs(char: str) -> None:
    face = Typeface(DEFAULT_FONT, 800)
    assert face.covers(char)
    font = face.at(80)
    tofu = font.getmask("\ue000")  # a private-use code point: the .notdef box
    glyph = font.getmask(char)
    assert glyph.getbbox() is not None
    assert bytes(glyph) != bytes(tofu)


def test_fonts_ship_with_their_ofl_licence() -> None:
    licence = (DEFAULT_FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Plus Jakarta Sans Project Authors" in licence


@pytest.mark.parametrize(("title", "drawn"), [
    ("Warga 😀 Bahagia", "Warga Bahagia"),
    ("Hore 🎉!", "Hore!"),
    ("Juara 🇮🇩 Dunia 👍🏽", "Juara Dunia"),
    ("Check ✓ selesai", "Check selesai"),
    ("Kata \"resmi\" dan Jum'at", "Kata “resmi” dan Jum’at"),
    ("Ｆｕｌｌ ｗｉｄｔｈ", "Full width"),
    ("Bersih\u200b\u00a0spasi", "Bersih spasi"),
])
def test_missing_glyphs_are_removed_not_drawn_as_boxes(title: str, drawn: str,
                                                       photo: Image.Image) -> None:
    card = renderer().render(article(title), photo)
    assert card.headline == drawn
    face = Typeface(DEFAULT_FONT, 800)
    assert all(face.covers(line) for line in card.headline_lines)
    # On pixels: the card looks exactly like one whose title never had those glyphs.
    plain = renderer().render(article(drawn), photo)
    assert card.image.tobytes() == plain.image.tobytes()


def test_font_weights_come_from_config() -> None:
    book = FontBook(CardFonts(headline_weight=400))
    heavy = FontBook(CardFonts())
    assert book.headline.at(60).getlength("Pemkab") < heavy.headline.at(60).getlength("Pemkab")


# ---------------------------------------------------------------------- hostile photos


@pytest.mark.parametrize("hostile", imagekit.HOSTILE, ids=[h.name for h in imagekit.HOSTILE])
def test_hostile_photo_gives_a_photo_card_or_branded_card_with_reason(
    hostile: imagekit.Hostile,
) -> None:
    data = hostile.make()
    started = time.monotonic()
    try:
        image = decode_image(data)
    except RenderError as exc:
        assert not hostile.usable, f"{hostile.name} refused: {exc}"
        assert str(exc)  # the reason that goes on the post
        image = None
    else:
        assert hostile.usable, f"{hostile.name} was accepted"
        assert image.mode == "RGB"
    card = renderer().render(article(), image)
    assert card.layout == ("overlay" if hostile.usable else "branded")
    assert len(card.to_jpeg()) > 10_000
    assert time.monotonic() - started < 20  # generous: it must not hang


@pytest.mark.parametrize(("name", "reason"), [
    ("zero-byte", "empty file"),
    ("html-as-jpeg", "HTML page"),
    ("svg", "SVG"),
    ("truncated-jpeg", "broken JPEG"),
    ("one-pixel", "photo too small: 1×1 px"),
    ("banner", "too narrow"),
    ("png-bomb-30000", "too large"),
    ("jpeg-header-30000", "too large"),
    ("gif-header-30000", "too large"),
    ("jpeg-header-8000x8000", "8000×8000 px (64 MP; the limit is 40 MP)"),
    ("text-garbage", "not an image"),
])
def test_refusals_say_why(name: str, reason: str) -> None:
    hostile = next(h for h in imagekit.HOSTILE if h.name == name)
    with pytest.raises(RenderError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        decode_image(hostile.make())


def test_embedded_icc_profiles_are_applied_or_ignored_safely() -> None:
    from PIL import ImageCms

    original = imagekit.landscape((800, 600))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = decode_image(imagekit.jpeg(original, icc_profile=srgb))
    garbage = decode_image(imagekit.jpeg(original, icc_profile=b"not a profile" * 10))
    plain = decode_image(imagekit.jpeg(original))
    assert tagged.tobytes() == plain.tobytes() == garbage.tobytes()


def test_pixel_limit_is_per_decode_not_global() -> None:
    data = imagekit.jpeg(imagekit.landscape((800, 600)))
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(RenderError, match="too large"):
        decode_image(data, max_pixels=100_000)
    assert before == Image.MAX_IMAGE_PIXELS
    assert decode_image(data).size == (800, 600)


def _mean(image: Image.Image) -> tuple[float, ...]:
    small = image.resize((1, 1), Image.Resampling.BOX)
    pixel = small.getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return tuple(float(v) for v in pixel)


@pytest.mark.parametrize(("name", "expected"), [
    ("png-16bit-rgb", (234, 117, 4)),  # 60000/257, 30000/257, 1000/257: scaled, not clipped
    ("png-16bit-grey", (156, 156, 156)),
    ("animated-gif", (200, 30, 30)),  # the first frame
])
def test_conversions_keep_the_colours(name: str, expected: tuple[int, int, int]) -> None:
    image = decode_image(next(h for h in imagekit.HOSTILE if h.name == name).make())
    mean = _mean(image)
    assert all(abs(m - e) <= 3 for m, e in zip(mean, expected, strict=True)), mean


def test_cmyk_jpeg_comes_out_close_to_the_original() -> None:
    original = imagekit.landscape((1200, 900), seed=3)
    decoded = decode_image(imagekit.jpeg(original.convert("CMYK")))
    assert all(abs(a - b) < 12 for a, b in zip(_mean(decoded), _mean(original), strict=True))


def test_transparency_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((0, 0, 299, 599), fill=(200, 0, 0, 255))
    decoded = decode_image(imagekit.encode(image, "PNG"))
    assert decoded.getpixel((450, 300)) == (255, 255, 255)
    assert decoded.getpixel((100, 300)) == (200, 0, 0)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_honoured(orientation: int) -> None:
    data, upright = imagekit.oriented(orientation)
    decoded = decode_image(data)
    assert decoded.size == upright.size
    top_left = decoded.getpixel((40, 40))
    bottom_right = decoded.getpixel((decoded.width - 40, decoded.height - 40))
    assert isinstance(top_left, tuple) and isinstance(bottom_right, tuple)
    assert top_left[0] > 180 and top_left[2] < 80, top_left
    assert bottom_right[2] > 150, bottom_right


def test_big_jpeg_is_decoded_at_reduced_scale() -> None:
    decoded = decode_image(imagekit.jpeg(Image.new("RGB", (4032, 3024), (90, 120, 150))))
    assert decoded.size == (2016, 1512)  # 1/2 scale still covers 1080×1350


def test_renderer_takes_any_pil_image_and_falls_back_for_tiny_ones() -> None:
    for mode in ("RGBA", "P", "L", "CMYK", "I;16", "LA", "1"):
        card = renderer().render(article(), Image.new(mode, (900, 700)))
        assert card.layout == "overlay" and card.image.mode == "RGB"
    tiny = renderer().render(article(), Image.new("RGB", (1, 1)))
    assert tiny.layout == "branded"
    assert tiny.note and "too small" in tiny.note


# ---------------------------------------------------------------------- contact sheet


def test_contact_sheet_lays_out_cards_in_a_labelled_grid(tmp_path: Path,
                                                         photo: Image.Image) -> None:
    paths = []
    for i, case in enumerate(("overlay", "branded", "story", "split")):
        path = tmp_path / f"preview-{i}-{case}.jpg"
        path.write_bytes(render_case(case, photo).to_jpeg())
        paths.append(path)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    sheet = contact_sheet([*paths, broken], columns=3)
    assert sheet.size == (24 + 3 * (360 + 24), 24 + 2 * (450 + 40 + 24))
    # The first cell holds the overlay card, scaled: its dark bottom is there.
    assert sum(_mean(sheet.crop((24, 24 + 400, 24 + 360, 24 + 450)))) < 200


def test_contact_sheet_needs_cards() -> None:
    with pytest.raises(RenderError):
        contact_sheet([])


# ---------------------------------------------------------------------- example assets


def test_example_cards_in_assets_are_small_and_exact_size() -> None:
    examples = Path(__file__).resolve().parent.parent / "assets" / "examples"
    for name, size in (("card.jpg", POST_SIZE), ("story.jpg", STORY_SIZE)):
        path = examples / name
        assert path.stat().st_size < 400_000
        with Image.open(path) as image:
            assert image.size == size


# The typography examples: numbers, quotes, long words and headlines in scripts that
# Plus Jakarta Sans lacks (branded cards, so the type is what one sees).
TYPOGRAPHY_EXAMPLES = {
    "numbers.jpg": ("Jelang Pilkada 2024, Pemkab Kutim Siapkan Rp1,5 Miliar untuk "
                    "17.000 Petugas: 2.345 TPS Siap", ("Kutim",)),
    "quotes.jpg": ('Bupati: "Kami Siap Menjaga Pilkada 2024 Tetap Damai", Kata '
                   "Ardiansyah – Warga Diminta Tenang", ("Pilkada 2024",)),
    "long-words.jpg": ("Penyelenggaraan Musyawarah Perencanaan Pembangunan Kabupaten "
                       "Kutai Timur (Musrenbangkab) Tahun Anggaran 2025 Dibuka",
                       ("Pemerintahan",)),
    "arabic.jpg": ("انتخابات محلية في كاليمانتان الشرقية: 17 ألف مراقب لعام 2024۔",
                   ("أخبار",)),
    "russian.jpg": ("Выборы в Восточном Калимантане: 17 000 наблюдателей готовы к "
                    "2024 году", ("Новости",)),
    "chinese.jpg": ("东加里曼丹省举行2024年地方选举，一万七千名监票员已经准备就绪。",
                    ("新闻",)),
}


def render_examples(out: Path) -> None:
    """Write assets/examples/: card.jpg and story.jpg from the seed article fixture, and
    the typography examples."""
    source = decode_image(imagekit.jpeg(imagekit.landscape((2000, 1333))))
    out.mkdir(parents=True, exist_ok=True)
    (out / "card.jpg").write_bytes(renderer().render(article(), source).to_jpeg())
    (out / "story.jpg").write_bytes(renderer().render(article(), source, story=True).to_jpeg())
    for name, (title, categories) in TYPOGRAPHY_EXAMPLES.items():
        card = renderer().render(article(title, categories), None)
        (out / name).write_bytes(card.to_jpeg())


if __name__ == "__main__":  # PYTHONPATH=. python tests/test_cards.py: refresh the examples
    render_examples(Path(__file__).resolve().parent.parent / "assets" / "examples")


def _psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two RGB images, in dB."""
    squares = ImageStat.Stat(ImageChops.difference(a, b)).sum2
    mse = sum(squares) / (a.width * a.height * 3)
    return 10 * math.log10(255 ** 2 / mse) if mse else math.inf


@pytest.mark.parametrize(("size", "expected"), [
    ((2000, 1333), "NEAREST"),  # 1.3 % larger: photo pixels, one line in fifty twice
    ((4032, 3024), "BOX"),  # DCT-scaled to 2016×1512, then 0.89: the area average
    ((1600, 1067), "BICUBIC"),  # 1.27× larger
])
def test_cover_picks_a_cheap_filter_that_looks_like_lanczos(
        size: tuple[int, int], expected: str) -> None:
    photo = decode_image(imagekit.jpeg(imagekit.landscape(size)))
    width, height = photo.size
    scale = max(1080 / width, 1350 / height)
    assert resample_for(scale).name == expected
    crop_w, crop_h = min(width, 1080 / scale), min(height, 1350 / scale)
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    reference = photo.resize((1080, 1350), Image.Resampling.LANCZOS,
                             box=(left, top, left + crop_w, top + crop_h))
    # 38 dB and above is the same picture to the eye.
    assert _psnr(cover(photo, (1080, 1350)), reference) >= 38


def test_a_burst_of_different_headlines_keeps_no_image_per_card(photo: Image.Image) -> None:
    # What the renderer keeps between cards must not grow with the cards: the overlay's
    # shade and scrim follow each headline's height, and a cache of them by size held
    # tens of megabytes through a burst (bot/cards/images.py, solid).
    from bot.cards import images

    r = renderer()
    words = ["Pemkab", "Kutim", "bahas", "anggaran", "jelang", "Pilkada", "warga",
             "Sangatta", "banjir", "Bupati", "tinjau", "jalan", "rusak", "bantuan",
             "sosial", "disalurkan", "ke", "desa", "terpencil"]

    def kept() -> tuple[dict[str, int], dict[str, int]]:
        caches = {name: f.cache_info().currsize for name, f in vars(images).items()
                  if hasattr(f, "cache_info")}
        held = {name: len(value) for name, value in vars(r).items()
                if isinstance(value, dict)}
        return caches, held

    def burst(lengths: range) -> set[tuple[int, int]]:
        shapes = set()
        for n in lengths:
            title = " ".join(words[:n])
            for story in (False, True):
                card = r.render(article(title), photo, story=story)
                shapes.add((card.headline_size, len(card.headline_lines)))
        return shapes

    first = burst(range(2, 8))  # short headlines, then long ones: other sizes, other lines
    after_first = kept()
    second = burst(range(9, 19))
    assert second - first  # the second burst's headline blocks had heights of their own
    assert kept() == after_first


def test_only_the_rows_above_the_scrim_are_filtered_and_no_seam_shows() -> None:
    # A large photo is reduced with the area average above the overlay's full-strength
    # scrim and sampled from the nearest pixel below it (bot/cards/images.py, cover).
    photo = decode_image(imagekit.jpeg(imagekit.landscape((4032, 3024))))
    filtered = cover(photo, POST_SIZE)
    split = cover(photo, POST_SIZE, filtered_rows=800)
    assert split.size == POST_SIZE
    assert split.crop((0, 0, 1080, 800)).tobytes() == filtered.crop((0, 0, 1080, 800)).tobytes()
    assert split.tobytes() != filtered.tobytes() and _psnr(split, filtered) >= 38
    assert photo.size == (2016, 1512)  # DCT-scaled; its 4:5 crop is 1209.6 px wide
    nearest = photo.resize(POST_SIZE, Image.Resampling.NEAREST,
                           box=(403.2, 0, 403.2 + 1209.6, 1512))
    lower = (0, 800, 1080, 1350)
    assert _psnr(split.crop(lower), nearest.crop(lower)) >= 45  # the same grid as NEAREST
    # Across the seam the rows change no more than between any two rows above it.
    rows = [ImageStat.Stat(split.crop((0, y, 1080, y + 1))).mean for y in range(790, 810)]
    steps = [max(abs(a - b) for a, b in zip(r1, r2, strict=True))
             for r1, r2 in pairwise(rows)]
    assert steps[9] <= max(steps[:9]) + 1
    # The overlay card passes the rows above its scrim's full strength: what changes
    # is under the scrim, at under a fifth of the photo's contrast.
    card = renderer().render(article(), photo).image
    full = renderer().render(article(), filtered).image  # already card-sized: no resample
    worst = max(high for _, high in ImageChops.difference(card, full).getextrema())
    assert worst <= 0.18 * 255
