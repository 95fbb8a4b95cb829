"""The check a rendered post must pass before it is queued, against :mod:`bot.limits`.

A post that breaks a limit is
refused with a :class:`~bot.errors.PreflightError` whose message says why in plain
Indonesian and English; it never goes out to Instagram only to be rejected there.

Counting is deliberately conservative: the caption's length is counted in UTF-16 code
units (an emoji counts as two), and every ``#`` or ``@`` directly followed by a word
character counts as a hashtag or a mention, even inside a URL or an e-mail address.
"""

from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path

from babel.numbers import format_decimal
from PIL import Image, UnidentifiedImageError

from bot.errors import PreflightError
from bot.limits import (
    FEED_MAX_RATIO,
    FEED_MIN_RATIO,
    MAX_ALT_TEXT_CHARS,
    MAX_CAPTION_CHARS,
    MAX_FILE_BYTES,
    MAX_HASHTAGS,
    MAX_MENTIONS,
    MIN_WIDTH,
    RATIO_TOLERANCE,
    STORY_RATIO,
    count_hashtags,
    count_mentions,
    instagram_length,
)

# Pillow decodes lazily; refuse to decode anything far larger than a card before load().
_MAX_PIXELS = 40_000_000


def _id(number: int) -> str:
    return format_decimal(number, locale="id")


def _en(number: int) -> str:
    return f"{number:,}"


def check_caption(caption: str) -> None:
    """Raise PreflightError if the caption breaks a length, hashtag or mention limit."""
    length = instagram_length(caption)
    if length > MAX_CAPTION_CHARS:
        raise PreflightError(
            f"Keterangan terlalu panjang: {_id(length)} karakter, batas Instagram "
            f"{_id(MAX_CAPTION_CHARS)} / Caption too long: {_en(length)} characters, "
            f"Instagram allows {_en(MAX_CAPTION_CHARS)}"
        )
    hashtags = count_hashtags(caption)
    if hashtags > MAX_HASHTAGS:
        raise PreflightError(
            f"Terlalu banyak tagar: {hashtags}, batas Instagram {MAX_HASHTAGS} / "
            f"Too many hashtags: {hashtags}, Instagram allows {MAX_HASHTAGS}"
        )
    mentions = count_mentions(caption)
    if mentions > MAX_MENTIONS:
        raise PreflightError(
            f"Terlalu banyak sebutan (@): {mentions}, batas Instagram {MAX_MENTIONS} / "
            f"Too many @mentions: {mentions}, Instagram allows {MAX_MENTIONS}"
        )


def check_alt_text(alt_text: str) -> None:
    """Raise PreflightError if the alt text is longer than Instagram accepts."""
    length = instagram_length(alt_text)
    if length > MAX_ALT_TEXT_CHARS:
        raise PreflightError(
            f"Teks alternatif terlalu panjang: {_id(length)} karakter, batas "
            f"{_id(MAX_ALT_TEXT_CHARS)} / Alt text too long: {_en(length)} characters, "
            f"the limit is {_en(MAX_ALT_TEXT_CHARS)}"
        )


def check_image(path: Path, *, story: bool = False) -> None:
    """Raise PreflightError unless ``path`` is a JPEG Instagram accepts as a feed post or story."""
    what_id, what_en = ("kartu story", "story card") if story else ("kartu", "card")
    try:
        size = path.stat().st_size
    except OSError:
        raise PreflightError(
            f"Berkas {what_id} tidak ditemukan: {path.name} / {what_en} file not found: "
            f"{path.name}"
        ) from None
    if size > MAX_FILE_BYTES:
        raise PreflightError(
            f"Berkas {what_id} terlalu besar: {_id(size)} bita, batas {_id(MAX_FILE_BYTES)} / "
            f"{what_en} file too large: {_en(size)} bytes, the limit is {_en(MAX_FILE_BYTES)}"
        )
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its pixel limit; here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
        with image:
            width, height = image.size
            if width * height > _MAX_PIXELS:
                raise PreflightError(
                    f"Gambar {what_id} terlalu besar: {width}×{height} piksel / "
                    f"{what_en} image too large: {width}×{height} pixels"
                )
            image_format = image.format
            mode = image.mode
            image.load()  # a truncated or corrupt file fails here, not at Instagram
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PreflightError(
            f"Berkas {what_id} rusak atau bukan gambar ({path.name}) / {what_en} file is "
            f"corrupt or not an image ({path.name}: {exc})"
        ) from None
    if image_format != "JPEG":
        raise PreflightError(
            f"Berkas {what_id} harus JPEG, bukan {image_format} / {what_en} must be a JPEG, "
            f"not {image_format}"
        )
    if mode not in ("RGB", "L"):
        raise PreflightError(
            f"Warna {what_id} harus RGB, bukan {mode} / {what_en} must be RGB, not {mode}"
        )
    if width < MIN_WIDTH:
        raise PreflightError(
            f"Gambar {what_id} terlalu kecil: lebar {width} piksel, minimal {MIN_WIDTH} / "
            f"{what_en} too small: {width} pixels wide, at least {MIN_WIDTH} needed"
        )
    ratio = Fraction(width, height)
    if story:
        if abs(ratio - STORY_RATIO) > STORY_RATIO * RATIO_TOLERANCE:
            raise PreflightError(
                f"Rasio {what_id} harus 9:16, bukan {width}×{height} / {what_en} must be "
                f"9:16, not {width}×{height}"
            )
    elif not (FEED_MIN_RATIO * (1 - RATIO_TOLERANCE) <= ratio
              <= FEED_MAX_RATIO * (1 + RATIO_TOLERANCE)):
        raise PreflightError(
            f"Rasio {what_id} {width}×{height} di luar batas Instagram (antara 4:5 dan 1,91:1) / "
            f"{what_en} aspect ratio {width}×{height} is outside Instagram's range "
            f"(4:5 to 1.91:1)"
        )


def check_post(
    caption: str, card_path: Path, story_path: Path | None = None, *,
    alt_text: str | None = None,
) -> None:
    """Raise PreflightError (Indonesian / English) if the post breaks an Instagram limit."""
    check_caption(caption)
    if alt_text is not None:
        check_alt_text(alt_text)
    check_image(card_path)
    if story_path is not None:
        check_image(story_path, story=True)
