"""Preflight: a post that breaks an Instagram limit is refused here, in Indonesian and English."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import PreflightError
from bot.preflight import (
    MAX_CAPTION_CHARS,
    MAX_FILE_BYTES,
    check_alt_text,
    check_caption,
    check_image,
    check_post,
    count_hashtags,
    count_mentions,
    instagram_length,
)


def _jpeg(path: Path, size: tuple[int, int], *, mode: str = "RGB") -> Path:
    colour: int | tuple[int, ...] = {"RGB": (200, 30, 40), "L": 128,
                                     "CMYK": (0, 200, 200, 0)}[mode]
    Image.new(mode, size, colour).save(path, "JPEG", quality=85)
    return path


@pytest.fixture
def card(tmp_path: Path) -> Path:
    """A 1080×1350 JPEG, as the card renderer writes it."""
    return _jpeg(tmp_path / "card.jpg", (1080, 1350))


@pytest.fixture
def story(tmp_path: Path) -> Path:
    """A 1080×1920 JPEG, as the story card renderer writes it."""
    return _jpeg(tmp_path / "card.story.jpg", (1080, 1920))


def test_a_post_within_every_limit_passes(card: Path, story: Path) -> None:
    caption = "Judul\n\nRingkasan.\n\n#EditorialKaltim #Kaltim #KutaiTimur #Pilkada #Kutim"
    check_post(caption, card, story, alt_text="Kartu berita Editorial Kaltim.")
    check_post(caption, card)


@pytest.mark.parametrize(
    ("caption", "ok"),
    [
        ("a" * MAX_CAPTION_CHARS, True),
        ("a" * (MAX_CAPTION_CHARS + 1), False),
        ("🎉" * (MAX_CAPTION_CHARS // 2), True),  # an emoji counts as two
        ("🎉" * (MAX_CAPTION_CHARS // 2 + 1), False),
        (" ".join(f"#t{i}" for i in range(5)), True),
        (" ".join(f"#t{i}" for i in range(6)), False),
        (" ".join(f"@u{i}" for i in range(20)), True),
        (" ".join(f"@u{i}" for i in range(21)), False),
        ("Kirim ke humas@kutaitimurkab.go.id, # bukan tagar, @ bukan sebutan", True),
    ],
)
def test_caption_is_refused_past_length_hashtag_or_mention_limits(caption: str, ok: bool) -> None:
    if ok:
        check_caption(caption)
    else:
        with pytest.raises(PreflightError):
            check_caption(caption)


@pytest.mark.parametrize(
    ("caption", "message"),
    [
        ("a" * 2305,
         "Keterangan terlalu panjang: 2.305 karakter, batas Instagram 2.200 / Caption too "
         "long: 2,305 characters, Instagram allows 2,200"),
        ("#a #b #c #d #e #f",
         "Terlalu banyak tagar: 6, batas Instagram 5 / Too many hashtags: 6, Instagram "
         "allows 5"),
        (" ".join(f"@u{i}" for i in range(25)),
         "Terlalu banyak sebutan (@): 25, batas Instagram 20 / Too many @mentions: 25, "
         "Instagram allows 20"),
    ],
)
def test_caption_failures_say_why_in_indonesian_and_english(caption: str, message: str) -> None:
    with pytest.raises(PreflightError) as info:
        check_caption(caption)
    assert str(info.value) == message


def test_counting_is_conservative() -> None:
    assert instagram_length("Kutim 🎉") == 8
    assert count_hashtags("#Kaltim #2024 https://x.com/#a # b") == 3
    assert count_mentions("@pemkab humas@kutim.go.id @ x") == 2


def test_alt_text_limit() -> None:
    check_alt_text("a" * 1000)
    with pytest.raises(PreflightError) as info:
        check_alt_text("a" * 1001)
    assert str(info.value) == (
        "Teks alternatif terlalu panjang: 1.001 karakter, batas 1.000 / Alt text too long: "
        "1,001 characters, the limit is 1,000")


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ((1080, 1350), True),  # 4:5, the card
        ((1080, 1351), True),  # one pixel of rounding
        ((1080, 1080), True),
        ((1080, 566), True),  # 1.91:1
        ((1080, 1440), False),  # 3:4 is taller than Instagram allows
        ((1080, 500), False),  # wider than 1.91:1
        ((300, 375), False),  # 4:5 but too small
    ],
)
def test_feed_card_size_and_aspect_ratio(tmp_path: Path, size: tuple[int, int], ok: bool) -> None:
    path = _jpeg(tmp_path / "c.jpg", size)
    if ok:
        check_image(path)
    else:
        with pytest.raises(PreflightError, match=" / "):
            check_image(path)


@pytest.mark.parametrize(
    ("size", "ok"),
    [((1080, 1920), True), ((720, 1280), True), ((1080, 1350), False), ((1080, 1080), False)],
)
def test_story_card_is_9_16(tmp_path: Path, size: tuple[int, int], ok: bool) -> None:
    path = _jpeg(tmp_path / "s.jpg", size)
    if ok:
        check_image(path, story=True)
    else:
        with pytest.raises(PreflightError) as info:
            check_image(path, story=True)
        assert str(info.value) == (
            f"Rasio kartu story harus 9:16, bukan {size[0]}×{size[1]} / story card must be "
            f"9:16, not {size[0]}×{size[1]}")


def test_feed_ratio_message(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "c.jpg", (1080, 1440))
    with pytest.raises(PreflightError) as info:
        check_image(path)
    assert str(info.value) == (
        "Rasio kartu 1080×1440 di luar batas Instagram (antara 4:5 dan 1,91:1) / card aspect "
        "ratio 1080×1440 is outside Instagram's range (4:5 to 1.91:1)")


def test_file_larger_than_8_mb_is_refused(card: Path) -> None:
    with card.open("ab") as handle:  # JPEG readers ignore bytes after the end marker
        handle.write(b"\0" * (MAX_FILE_BYTES - card.stat().st_size + 1))
    with pytest.raises(PreflightError) as info:
        check_post("Judul", card)
    assert str(info.value) == (
        "Berkas kartu terlalu besar: 8.000.001 bita, batas 8.000.000 / card file too large: "
        "8,000,001 bytes, the limit is 8,000,000")


def test_file_of_exactly_8_mb_passes(card: Path) -> None:
    with card.open("ab") as handle:
        handle.write(b"\0" * (MAX_FILE_BYTES - card.stat().st_size))
    check_image(card)


def test_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jpg"
    Image.new("RGB", (1080, 1350)).save(path, "PNG")
    with pytest.raises(PreflightError) as info:
        check_image(path)
    assert str(info.value) == "Berkas kartu harus JPEG, bukan PNG / card must be a JPEG, not PNG"


def test_cmyk_jpeg_is_refused(tmp_path: Path) -> None:
    path = _jpeg(tmp_path / "c.jpg", (1080, 1350), mode="CMYK")
    with pytest.raises(PreflightError, match="harus RGB, bukan CMYK / card must be RGB"):
        check_image(path)


def test_greyscale_jpeg_passes(tmp_path: Path) -> None:
    check_image(_jpeg(tmp_path / "c.jpg", (1080, 1350), mode="L"))


@pytest.mark.parametrize("content", [b"", b"not an image at all", "truncated"])
def test_corrupt_files_are_refused(tmp_path: Path, content: bytes | str) -> None:
    path = tmp_path / "c.jpg"
    if content == "truncated":
        buffer = io.BytesIO()
        Image.effect_noise((1080, 1350), 64).convert("RGB").save(buffer, "JPEG")
        data = buffer.getvalue()
        path.write_bytes(data[: len(data) // 2])
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    with pytest.raises(PreflightError, match=r"rusak atau bukan gambar .* corrupt or not an image"):
        check_image(path)


def test_missing_card_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PreflightError) as info:
        check_post("Judul", tmp_path / "nope.jpg")
    assert str(info.value) == (
        "Berkas kartu tidak ditemukan: nope.jpg / card file not found: nope.jpg")


def test_story_is_checked_too(card: Path, tmp_path: Path) -> None:
    wrong = _jpeg(tmp_path / "wrong.story.jpg", (1080, 1350))
    with pytest.raises(PreflightError, match="story"):
        check_post("Judul", card, wrong)


def test_alt_text_is_checked_when_given(card: Path) -> None:
    with pytest.raises(PreflightError, match="Teks alternatif"):
        check_post("Judul", card, alt_text="a" * 1001)


def test_caption_is_checked_before_the_files(tmp_path: Path) -> None:
    with pytest.raises(PreflightError, match="Keterangan terlalu panjang"):
        check_post("a" * 3000, tmp_path / "missing.jpg")
