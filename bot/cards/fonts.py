"""Fonts for the cards: faces at any size and weight, fallbacks by script, no tofu.

**Layout engine.** Pillow's Raqm layout (HarfBuzz shaping, FriBiDi ordering) is used
where Pillow has it: it applies the font's OpenType kerning, and Arabic cannot be set
without it (contextual letter forms, right-to-left order). Pillow's wheels bundle Raqm
and HarfBuzz but load FriBiDi from the system at run time; without it Pillow falls
back to its basic layout, which this module then uses on purpose (``LAYOUT_ENGINE``).
Measuring and drawing always use the same engine, so a headline never overflows; it
may wrap a little differently on a machine without FriBiDi, where ``bot check`` says so
and a headline in a script that needs shaping fails with a reason.

**Punctuation fit.** Plus Jakarta Sans gives its comma and full stop wide side
bearings and has no kerning pairs for them, so at heavy weights "2024," shows a gap
before the comma. A comma, full stop, colon, semicolon or ellipsis after a letter or digit
(or a closing quote) is drawn closer, and so is a digit after the comma or full stop
of a number ("1,5", "17.000"), so that the gap between their ink is the font's own
fit between two letters ("nn"). The adjustment is measured from the glyphs, at each size.

**Coverage and fallbacks.** A headline is set in one face: the configured one when it
has a glyph for every letter, digit and mark, else the first shipped Noto face that
does (Noto Sans for Latin, Greek and Cyrillic; Noto Sans Arabic with Noto's Latin;
a Noto Sans CJK SC subset for Chinese, Japanese and Korean). A letter that no face
covers fails the card with a reason that names its script. Symbols a face lacks
(emoji, dingbats) are left off the card and noted; the caption keeps them. Coverage
is read from each font's own cmap with fontTools, not guessed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from fontTools import unicodedata as ucd
from fontTools.ttLib import TTFont, TTLibError
from PIL import Image, ImageDraw, ImageFont, features

from bot.config import ASSETS_DIR, CardFonts
from bot.errors import RenderError

HAS_RAQM: Final = bool(features.check_feature("raqm"))
LAYOUT_ENGINE: Final = ImageFont.Layout.RAQM if HAS_RAQM else ImageFont.Layout.BASIC
FONTS_DIR: Final = ASSETS_DIR / "fonts"
DEFAULT_FONT: Final = FONTS_DIR / "PlusJakartaSans[wght].ttf"
SIZES_KEPT: Final = 8  # font instances kept per typeface (see Typeface.at)
STAMPS_KEPT: Final = 32  # rasterised repeating texts kept by a renderer (see Stamps)
# The shipped fallbacks, tried in this order (all bold: cards set text heavy).
FALLBACK_FONTS: Final = (
    FONTS_DIR / "NotoSans-Bold.ttf",
    FONTS_DIR / "NotoSansArabicLatin-Bold.ttf",
    FONTS_DIR / "NotoSansCJKsc-Bold.subset.otf",
)
# Scripts whose letters change shape with their neighbours or run right to left: they
# cannot be set without Raqm. (ISO 15924 codes, as fontTools.unicodedata gives them.)
SHAPED_SCRIPTS: Final = frozenset({
    "Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand", "Samr",
    "Deva", "Beng", "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh",
    "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Java", "Bali", "Sund", "Bugi", "Batk",
})

# Space-like characters are drawn as a plain space even when the font has them: a
# no-break space inside a headline would only stop the wrapper from breaking there.
_SPACE_LIKE = frozenset("\t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                        "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_SPACES_RE = re.compile(r" {2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r" +([,.;:!?)\]}”’…])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(\[{“‘]) +")
# Punctuation drawn closer to the letter or digit before it (see the module docstring).
_TIGHTENED = frozenset(",.;:…")
_RTL_CLASSES = frozenset({"R", "AL"})


@dataclass(frozen=True)
class CleanText:
    """Text ready to draw, and the characters that were dropped because the font lacks them."""

    text: str
    removed: str


@lru_cache(maxsize=16)
def _font_facts(path: Path) -> tuple[frozenset[int], tuple[tuple[str, float], ...], str]:
    """(code points with a glyph, variation axes as (tag, default), family name).

    Read for what it costs a daemon that keeps it for good: the cmap is decoded against
    placeholder glyph names (glyph names are not needed, and finding the real ones
    parses a CJK font's whole CFF table, 3.9 MiB kept), and the family name comes from
    FreeType rather than fontTools' ``name`` table, whose decoder pulls in 3 MiB of
    fontTools modules.
    """
    try:
        with TTFont(str(path), lazy=True, fontNumber=0) as font:
            font.setGlyphOrder([f"g{gid}" for gid in range(font["maxp"].numGlyphs)])
            cmap = font.getBestCmap() or {}
            axes: tuple[tuple[str, float], ...] = ()
            if "fvar" in font:
                axes = tuple((axis.axisTag, axis.defaultValue) for axis in font["fvar"].axes)
        family = ImageFont.truetype(str(path), 12).getname()[0] or path.stem
        return frozenset(cmap), axes, family
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


def is_essential(ch: str) -> bool:
    """Whether leaving ``ch`` off would change what a headline says: letters, digits, marks."""
    return unicodedata.category(ch)[0] in "LNM"


def script_name(ch: str) -> str:
    """The Unicode script of ``ch`` in English (``Devanagari``), from fontTools' data."""
    return str(ucd.script_name(ucd.script(ch), default=ucd.script(ch)))


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds a script that cannot be set without Raqm (Arabic, Thai…)."""
    return any(ord(ch) > 0x2FF and ucd.script(ch) in SHAPED_SCRIPTS for ch in text)


def is_rtl(text: str) -> bool:
    """Whether the first strongly directional character of ``text`` runs right to left."""
    for ch in text:
        direction = unicodedata.bidirectional(ch)
        if direction in _RTL_CLASSES:
            return True
        if direction == "L":
            return False
    return False


def prepare(text: str) -> str:
    """NFC, typographic quotes, plain spaces, no invisible controls: text as cards set it."""
    out: list[str] = []
    for ch in smart_quotes(unicodedata.normalize("NFC", text)):
        if ch in _SPACE_LIKE:
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            # Controls, zero-width spaces and joiners, soft hyphens, bidi marks:
            # invisible or meaningless here, and they would confuse the wrapper.
            continue
        else:
            out.append(ch)
    return "".join(out)


class Typeface:
    """One font file at one weight, loadable at any pixel size (instances are cached)."""

    def __init__(self, path: Path, weight: int, *,
                 engine: ImageFont.Layout = LAYOUT_ENGINE) -> None:
        self.path = path
        self.weight = weight
        self.engine = engine
        self.cmap, axes, self.family = _font_facts(path)
        self._axes = tuple(float(weight) if tag == "wght" else default for tag, default in axes)
        try:
            with path.open("rb") as readable:
                readable.read(4)
        except OSError as exc:
            raise RenderError(f"cannot read font {path}: {exc.strerror}") from None
        self._sizes: OrderedDict[int, ImageFont.FreeTypeFont] = OrderedDict()
        self._pairs: dict[tuple[int, str, str], float] = {}
        self._inks: dict[tuple[int, str], tuple[float, float]] = {}
        self.ellipsis = "…" if self.covers("…") else "..."

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The font at ``size`` pixels (em size), with the weight applied.

        Faces are opened from the file's path, which FreeType maps, rather than from
        bytes, which Pillow copies into every face (176 KB each for Plus Jakarta Sans).
        Only the last ``SIZES_KEPT`` sizes are kept: each face still costs ~145 KB of
        FreeType's own tables (a variable font's), and the headline fit tries a
        different handful of sizes for every headline, so an unbounded cache grew for
        as long as the daemon ran. Making a face costs well under a millisecond.
        """
        font = self._sizes.get(size)
        if font is not None:
            self._sizes.move_to_end(size)
        else:
            try:
                font = ImageFont.truetype(str(self.path), size, layout_engine=self.engine)
                if self._axes:
                    font.set_variation_by_axes(list(self._axes))
            except OSError as exc:
                raise RenderError(f"cannot load font {self.path}: {exc}") from None
            self._sizes[size] = font
            while len(self._sizes) > SIZES_KEPT:
                self._sizes.popitem(last=False)
        return font

    def release(self) -> None:
        """Close the FreeType faces kept for sizes (~145 KB each); the next use reopens one."""
        self._sizes.clear()

    def covers(self, text: str) -> bool:
        """Whether every character of ``text`` has a glyph in this font."""
        return all(ord(ch) in self.cmap for ch in text)

    def can_draw(self, ch: str) -> bool:
        """Whether ``ch`` (or its plain compatibility form) has a glyph in this font."""
        if ch == " " or ord(ch) in self.cmap:
            return True
        plain = unicodedata.normalize("NFKC", ch)
        return plain != ch and self.covers(plain)

    def clean(self, text: str) -> CleanText:
        """``text`` reduced to what this font can draw: no tofu, tidy spacing.

        Compatibility forms (full-width letters, ligature characters) are replaced by
        their plain equivalents when the font has those; everything else it lacks is
        dropped and reported in ``removed``.
        """
        out: list[str] = []
        removed: list[str] = []
        for ch in prepare(text):
            if ch == " " or ord(ch) in self.cmap:
                out.append(ch)
                continue
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

    # -- punctuation fit -----------------------------------------------------------

    def _ink(self, size: int, ch: str) -> tuple[float, float]:
        """(left, right) edge of the ink of ``ch`` drawn at x = 0, in pixels.

        Pillow's text boxes span the advance, not the ink, so the glyph is drawn and
        its pixels measured; at 8x the size for sub-pixel precision.
        """
        ink = self._inks.get((size, ch))
        if ink is None:
            scale = 8
            font = self.at(size * scale)
            pad = size * scale
            image = Image.new("L", (round(font.getlength(ch)) + 2 * pad, 3 * pad), 0)
            ImageDraw.Draw(image).text((pad, 2 * pad), ch, font=font, fill=255, anchor="ls")
            box = image.getbbox()
            ink = ((box[0] - pad) / scale, (box[2] - pad) / scale) if box else (0.0, 0.0)
            self._inks[(size, ch)] = ink
        return ink

    def _ink_gap(self, size: int, left: str, right: str) -> float:
        """Pixels of empty space between the ink of ``left`` and of ``right`` set side by side."""
        advance = self.at(size).getlength(left)
        return advance - self._ink(size, left)[1] + self._ink(size, right)[0]

    def tightening(self, size: int, left: str, right: str) -> float:
        """How many pixels closer ``right`` is drawn after ``left`` (0 for most pairs).

        A comma, full stop, colon or semicolon comes closer to the letter, digit or
        closing quote or bracket before it; a digit comes closer to the comma or full stop before it
        (``1,5``, ``17.000``).
        """
        after_word = right in _TIGHTENED and (unicodedata.category(left)[0] in "LN"
                                              or unicodedata.category(left) in ("Pe", "Pf"))
        in_number = left in ",." and right.isdigit()
        if not (after_word or in_number):
            return 0.0
        key = (size, left, right)
        value = self._pairs.get(key)
        if value is None:
            if not (self.covers(left + right + "n")):
                value = 0.0
            else:
                fit = self._ink_gap(size, "n", "n")
                value = max(0.0, round(self._ink_gap(size, left, right) - fit))
            self._pairs[key] = value
        return value

    def _segments(self, text: str, size: int) -> list[tuple[str, float]]:
        """``text`` cut before each tightened punctuation mark, with the pull-back of each."""
        if is_rtl(text) or not any(ch in _TIGHTENED for ch in text):
            return [(text, 0.0)]
        segments: list[tuple[str, float]] = []
        start = 0
        pull = 0.0
        for i in range(1, len(text)):
            shift = self.tightening(size, text[i - 1], text[i])
            if shift:
                segments.append((text[start:i], pull))
                start, pull = i, shift
        segments.append((text[start:], pull))
        return segments

    def length(self, text: str, size: int, *, tracking: float = 0.0) -> float:
        """The advance width of ``text`` at ``size`` as :meth:`draw` sets it (letter-spaced
        by ``tracking`` px, or with the punctuation fit)."""
        font = self.at(size)
        if tracking:
            return sum(font.getlength(ch) for ch in text) + tracking * max(0, len(text) - 1)
        return font.getlength(text) - self.pull(text, size)

    def pull(self, text: str, size: int) -> float:
        """How much narrower the punctuation fit sets ``text`` at ``size``, in pixels."""
        return sum(pull for _, pull in self._segments(text, size))

    def draw(self, draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int,
             fill: tuple[int, int, int], anchor: str = "ls", *,
             tracking: float = 0.0) -> Box:
        """Draw ``text`` with the punctuation fit (or letter-spaced by ``tracking`` px);
        returns its box."""
        (x, y), start = split_point(xy)
        placed, pen_left = self._pieces(text, size, anchor, start, tracking)
        boxes = [stamp.draw(draw, (x + dx, y), fill) for dx, stamp in placed]
        if len(boxes) == 1:
            return boxes[0]
        return _union(boxes, round(x + pen_left))

    def stamp(self, text: str, size: int, anchor: str = "ls", *,
              start: tuple[float, float] = (0.0, 0.0), tracking: float = 0.0) -> Stamp:
        """``text`` rasterised as :meth:`draw` sets it at a point whose fractional part
        is ``start``, as one mask."""
        placed, pen_left = self._pieces(text, size, anchor, start, tracking)
        return placed[0][1] if len(placed) == 1 else _compose(placed, pen_left)

    def _pieces(self, text: str, size: int, anchor: str, start: tuple[float, float],
                tracking: float) -> tuple[list[tuple[int, Stamp]], float]:
        """``text`` rasterised in the runs it is set in, each with its whole-pixel x
        offset, and where the pen starts (relative to the point).

        Text with a tightened punctuation mark is set in pieces, each pulled back by
        its tightening; letter-spaced text letter by letter; other text in one run.
        """
        font = self.at(size)
        if tracking:
            runs = [(ch, -tracking if i else 0.0) for i, ch in enumerate(text)]
        else:
            runs = self._segments(text, size)
            if len(runs) == 1:
                return [(0, _raster(font, text, anchor, start))], 0.0
        width = self.length(text, size, tracking=tracking)
        x = start[0] - (width if anchor[0] == "r" else width / 2 if anchor[0] == "m" else 0.0)
        pen_left = x
        vertical = "l" + anchor[1]
        placed: list[tuple[int, Stamp]] = []
        for run, pull in runs:
            x -= pull
            whole = math.floor(x)
            placed.append((whole, _raster(font, run, vertical, (x - whole, start[1]))))
            x += font.getlength(run)
        return placed, pen_left


Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Stamp:
    """Text rasterised once: its coverage mask (Pillow's core ``L`` image), where the mask
    sits and the text's box, both relative to the whole-pixel point it is set at.

    Drawing a stamp is the last step of ``ImageDraw.text`` (the ink blended through the
    mask), and its box is the one ``ImageDraw.textbbox`` gives, without laying the text
    out a second time: that second layout loads every glyph again, and was a tenth of a
    card's render time. The card's label, date and domain repeat from card to card, so
    the renderer keeps their stamps through a burst.
    """

    mask: Any
    offset: tuple[int, int]
    box: Box

    @property
    def nbytes(self) -> int:
        """The mask's pixels, in bytes (one per pixel)."""
        width, height = self.mask.size
        return int(width * height)

    def draw(self, draw: ImageDraw.ImageDraw, origin: tuple[int, int],
             fill: tuple[int, int, int]) -> Box:
        """Blend ``fill`` through the mask at ``origin``; returns the text's box there."""
        x, y = origin
        # What ImageDraw.text does with the mask it lays out (Pillow 12 and 13); the
        # test suite compares the pixels with ImageDraw.text's for every anchor.
        ink = draw._getink(fill)[0]
        draw.draw.draw_bitmap((x + self.offset[0], y + self.offset[1]), self.mask, ink)
        left, top, right, bottom = self.box
        return x + left, y + top, x + right, y + bottom


def split_point(xy: tuple[float, float]) -> tuple[tuple[int, int], tuple[float, float]]:
    """A point as its whole-pixel part and its fraction, as Pillow splits it to draw."""
    x, y = xy
    whole = (math.floor(x), math.floor(y))
    return whole, (x - whole[0], y - whole[1])


def _raster(font: ImageFont.FreeTypeFont, text: str, anchor: str,
            start: tuple[float, float]) -> Stamp:
    """One run of ``text`` laid out and rasterised by FreeType, in one layout."""
    mask, (left, top) = font.getmask2(text, "L", anchor=anchor, start=start)
    width, height = mask.size
    # The mask is one pixel wider (taller) than the text's box when the point has a
    # fraction: the ink is shifted by it.
    right = left + width - math.ceil(start[0])
    bottom = top + height - math.ceil(start[1])
    return Stamp(mask, (left, top), (left, top, max(left, right), max(top, bottom)))


def _union(boxes: list[Box], left: int) -> Box:
    """The box of pieces set side by side, starting where the pen started."""
    top = min(box[1] for box in boxes)
    right = max(box[2] for box in boxes)
    bottom = max(box[3] for box in boxes)
    return left, top, max(left, right), bottom


def _compose(placed: list[tuple[int, Stamp]], pen_left: float) -> Stamp:
    """Stamps set side by side (at whole-pixel x offsets) as one stamp."""
    box = _union([(x + s.box[0], s.box[1], x + s.box[2], s.box[3]) for x, s in placed],
                 round(pen_left))
    drawn = [(x, stamp) for x, stamp in placed if stamp.nbytes]
    if not drawn:
        return Stamp(Image.new("L", (0, 0)).im, (0, 0), box)
    left = min(x + s.offset[0] for x, s in drawn)
    upper = min(s.offset[1] for _, s in drawn)
    width = max(x + s.offset[0] + s.mask.size[0] for x, s in drawn) - left
    height = max(s.offset[1] + s.mask.size[1] for _, s in drawn) - upper
    canvas = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    for x, stamp in drawn:
        draw.draw.draw_bitmap((x + stamp.offset[0] - left, stamp.offset[1] - upper),
                              stamp.mask, 255)
    return Stamp(canvas.im, (left, upper), box)


class Stamps:
    """The stamps of the texts that repeat from card to card: the category label, the
    date, the domain, a story's call to action.

    Only the last ``STAMPS_KEPT`` are kept (a few kilobytes each). A headline is not
    kept: it is new on every card.
    """

    def __init__(self, limit: int = STAMPS_KEPT) -> None:
        self.limit = limit
        self._kept: OrderedDict[tuple[object, ...], Stamp] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, face: Typeface, text: str, size: int, anchor: str = "ls", *,
            start: tuple[float, float] = (0.0, 0.0), tracking: float = 0.0) -> Stamp:
        """The stamp of ``text`` in ``face`` (see :meth:`Typeface.stamp`), made once."""
        key = (face.path, face.weight, text, size, anchor, start, tracking)
        stamp = self._kept.get(key)
        if stamp is not None:
            self._kept.move_to_end(key)
            return stamp
        stamp = face.stamp(text, size, anchor, start=start, tracking=tracking)
        self._kept[key] = stamp
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return stamp

    def clear(self) -> None:
        """Forget every stamp."""
        self._kept.clear()


class FontBook:
    """The card's typefaces (headline, label, body from ``[card.fonts]``) and the fallbacks."""

    def __init__(self, fonts: CardFonts, *, engine: ImageFont.Layout = LAYOUT_ENGINE,
                 fallbacks: Iterable[Path] = FALLBACK_FONTS) -> None:
        self.engine = engine
        self.headline = Typeface(fonts.headline or DEFAULT_FONT, fonts.headline_weight,
                                 engine=engine)
        self.label = Typeface(fonts.label or DEFAULT_FONT, fonts.label_weight, engine=engine)
        self.body = Typeface(fonts.body or DEFAULT_FONT, fonts.body_weight, engine=engine)
        self._fallback_paths = tuple(fallbacks)
        self._fallbacks: tuple[Typeface, ...] | None = None

    @property
    def fallbacks(self) -> tuple[Typeface, ...]:
        """The shipped Noto faces, loaded the first time a text needs one."""
        if self._fallbacks is None:
            self._fallbacks = tuple(Typeface(path, 700, engine=self.engine)
                                    for path in self._fallback_paths)
        return self._fallbacks

    def release(self) -> None:
        """Close every face's FreeType sizes (see :meth:`Typeface.release`)."""
        for face in (self.headline, self.label, self.body, *(self._fallbacks or ())):
            face.release()

    def face_for(self, text: str, primary: Typeface, *, what: str = "headline") -> Typeface:
        """The face to set ``text`` in: ``primary`` if it covers every letter, digit and
        mark, else the first fallback that does.

        Raises RenderError naming the script when no face covers a letter, or when the
        text needs Raqm (Arabic and other shaped scripts) and this Pillow has none.
        """
        essential = {ch for ch in prepare(text) if is_essential(ch)}
        if all(primary.can_draw(ch) for ch in essential):
            face: Typeface | None = primary
        else:
            face = next((f for f in self.fallbacks
                         if all(f.can_draw(ch) for ch in essential)), None)
        if face is None:
            missing = sorted({ch for ch in essential
                              if not any(f.can_draw(ch) for f in (primary, *self.fallbacks))})
            if not missing:  # each letter has a face, but no face has them all
                missing = sorted(ch for ch in essential if not primary.can_draw(ch))
            scripts = sorted({script_name(ch) for ch in missing})
            families = ", ".join(dict.fromkeys(f.family for f in (primary, *self.fallbacks)))
            named = " and ".join(scripts)
            raise RenderError(
                f"aksara {named} tidak ada di font kartu / {what} in the {named} script"
                f"{'s' if len(scripts) > 1 else ''}: no card font has "
                f"{''.join(missing[:8])!r} ({families})"
            )
        if self.engine != ImageFont.Layout.RAQM and needs_shaping(text):
            scripts = sorted({script_name(ch) for ch in text
                              if ord(ch) > 0x2FF and ucd.script(ch) in SHAPED_SCRIPTS})
            named = " and ".join(scripts)
            raise RenderError(
                f"aksara {named} perlu tata letak Raqm / {what} in the {named} script "
                "needs Pillow's Raqm text layout (libraqm with FriBiDi), which this "
                "installation lacks"
            )
        return face
