"""Fonts for the cards: loading at any size and weight, and keeping tofu off the card.

The layout engine is pinned to ``ImageFont.Layout.BASIC``. Raqm would add OpenType
kerning, but Pillow's wheels load FriBiDi from the system at run time and silently fall
back to basic layout where it is missing, so the same headline could wrap differently
on the server than on a laptop. Basic layout measures identically wherever Pillow runs.

Characters the font has no glyph for (emoji, symbols outside its cmap) are removed
from the card text; the caption keeps them. Coverage is read from the font's own cmap
with fontTools, not guessed.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final

from fontTools.ttLib import TTFont, TTLibError
from PIL import ImageFont

from bot.config import ASSETS_DIR, CardFonts
from bot.errors import RenderError

LAYOUT_ENGINE: Final = ImageFont.Layout.BASIC
FONTS_DIR: Final = ASSETS_DIR / "fonts"
DEFAULT_FONT: Final = FONTS_DIR / "PlusJakartaSans[wght].ttf"

# Space-like characters are drawn as a plain space even when the font has them: a
# no-break space inside a headline would only stop the wrapper from breaking there.
_SPACE_LIKE = frozenset("\t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                        "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPACES_RE = re.compile(r" {2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +([,.;:!?)\]}”’…])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(\[{“‘]) +")


@dataclass(frozen=True)
class CleanText:
    """Text ready to draw, and the characters that were dropped because the font lacks them."""

    text: str
    removed: str


@lru_cache(maxsize=16)
def _font_facts(path: Path) -> tuple[frozenset[int], tuple[tuple[str, float], ...]]:
    """(code points with a glyph, variation axes as (tag, default)) of a font file."""
    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            cmap = font.getBestCmap() or {}
            axes: tuple[tuple[str, float], ...] = ()
            if "fvar" in font:
                axes = tuple((axis.axisTag, axis.defaultValue) for axis in font["fvar"].axes)
            return frozenset(cmap), axes
    except (OSError, TTLibError, KeyError, AssertionError) as exc:
        raise RenderError(f"cannot read font {path}: {exc}") from None


def smart_quotes(text: str) -> str:
    """Straight quotes to typographic ones, as a designer would set them."""
    out: list[str] = []
    previous = " "
    for ch in text:
        if ch == '"':
            ch = "“" if previous.isspace() or previous in "([{–—‘" else "”"
        elif ch == "'":
            # An apostrophe inside or after a word (Jum'at, 'kan) is a right quote.
            ch = "‘" if previous.isspace() or previous in "([{–—“" else "’"
        out.append(ch)
        previous = ch
    return "".join(out)


class Typeface:
    """One font file at one weight, loadable at any pixel size (instances are cached)."""

    def __init__(self, path: Path, weight: int) -> None:
        self.path = path
        self.weight = weight
        self.cmap, axes = _font_facts(path)
        self._axes = tuple(float(weight) if tag == "wght" else default for tag, default in axes)
        try:
            self._data = path.read_bytes()
        except OSError as exc:
            raise RenderError(f"cannot read font {path}: {exc.strerror}") from None
        self._sizes: dict[int, ImageFont.FreeTypeFont] = {}
        self.ellipsis = "…" if self.covers("…") else "..."

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The font at ``size`` pixels (em size), with the weight applied."""
        font = self._sizes.get(size)
        if font is None:
            try:
                font = ImageFont.truetype(io.BytesIO(self._data), size,
                                          layout_engine=LAYOUT_ENGINE)
                if self._axes:
                    font.set_variation_by_axes(list(self._axes))
            except OSError as exc:
                raise RenderError(f"cannot load font {self.path}: {exc}") from None
            self._sizes[size] = font
        return font

    def covers(self, text: str) -> bool:
        """Whether every character of ``text`` has a glyph in this font."""
        return all(ord(ch) in self.cmap for ch in text)

    def clean(self, text: str) -> CleanText:
        """``text`` reduced to what this font can draw: no tofu, tidy spacing.

        Compatibility forms (full-width letters, ligature characters) are replaced by
        their plain equivalents when the font has those; everything else it lacks is
        dropped and reported in ``removed``.
        """
        text = smart_quotes(unicodedata.normalize("NFC", text))
        out: list[str] = []
        removed: list[str] = []
        for ch in text:
            if ch in _SPACE_LIKE:
                out.append(" ")
            elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
                # Controls, zero-width spaces and joiners, soft hyphens, bidi marks:
                # invisible or meaningless here, and they would confuse the wrapper.
                continue
            elif ord(ch) in self.cmap:
                out.append(ch)
            else:
                plain = unicodedata.normalize("NFKC", ch)
                if plain != ch and self.covers(plain):
                    out.append(plain)
                elif unicodedata.category(ch).startswith("M"):
                    continue  # a stray combining mark: nothing to draw it on
                else:
                    removed.append(ch)
        result = _SPACES_RE.sub(" ", "".join(out)).strip()
        if removed:
            # "Hore 🎉!" must not become "Hore !".
            result = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", result)
            result = _SPACE_AFTER_OPEN_RE.sub(r"\1", result)
        return CleanText(result, "".join(removed))


class FontBook:
    """The card's three typefaces (headline, label, body) from the ``[card.fonts]`` table."""

    def __init__(self, fonts: CardFonts) -> None:
        self.headline = Typeface(fonts.headline or DEFAULT_FONT, fonts.headline_weight)
        self.label = Typeface(fonts.label or DEFAULT_FONT, fonts.label_weight)
        self.body = Typeface(fonts.body or DEFAULT_FONT, fonts.body_weight)
