"""Fitting a headline into a box: the largest size that wraps into the allowed lines.

The size is found from one measurement at the largest size: advance widths grow almost
in proportion to the size, so that predicts the boundary, and only the sizes next to
the prediction are tried (two or three, not one per pixel or the seven of a binary
search). With Raqm's layout, advances are exactly proportional but for the rounding
of each glyph's advance to 1/64 px, so the tried sizes reuse the words' advances at
the largest size, with that rounding allowed for, and the lines chosen are checked
with an exact measurement; the basic layout rounds advances to whole pixels at each
size, and is measured at each size it tries. The lines are then balanced, the way a
designer would break them, so that a headline does not leave one word alone on a line
of its own. An ellipsis appears only when the text does not fit even at the minimum
size.

Where a line may break: at spaces, and between any two Chinese or Japanese
characters, but never before a dash or a closing mark (``–``, ``,``, ``”``, ``)``,
``。``, ``、``…) and never after an opening one (``“``, ``(``, ``「``…): a dash or a
closing quote that starts a line, or an opening one that ends it, looks like an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from PIL import ImageFont

from bot.cards.fonts import Typeface

# How far a width scaled from the largest size may fall short of the exact one, per
# character: each glyph's advance is rounded to 1/64 px at both sizes, so by at most
# 1/128 px each (0.011 px per character measured at 40 to 120 px, Plus Jakarta Sans).
_ROUNDING_PER_CHAR = 1 / 64

_TRAILING_PUNCT = " ,;:–—-"
# Never at the start of a line: dashes, closing punctuation, and the CJK marks that
# Japanese and Chinese line breaking (kinsoku) keep off it.
_NO_LINE_START = frozenset(
    "-‐‑‒–—―,.;:!?…)]}»›”’%‰°"
    "、。，．：；！？）］｝〉》」』】〕〗〙〛・ー゛゜ヽヾゝゞ々〻"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
    "％｡｣､･ｰ"
)
# Never at the end of a line: opening punctuation.
_NO_LINE_END = frozenset("([{«‹“‘（［｛〈《「『【〔〖〘〚｢")


# Chinese and Japanese text may break between any two characters (Korean uses spaces).
_CJK_RANGES = ((0x2E80, 0x312F), (0x3190, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F),
               (0xFF00, 0xFFEF), (0x20000, 0x3FFFF))


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def units(text: str) -> list[tuple[str, bool]]:
    """The unbreakable pieces of ``text``, each as (text, glued to the one before).

    Words are split at spaces and between CJK characters. A piece that may not start
    a line joins the one before it, and one that follows a piece that may not end a
    line joins that one (with the space between them, if there was one).
    """
    raw: list[tuple[str, bool]] = []
    for word in text.split():
        current = ""
        glued = False
        for ch in word:
            if current and (_is_cjk(ch) or _is_cjk(current[-1])):
                raw.append((current, glued))
                current, glued = "", True
            current += ch
        raw.append((current, glued))
    merged: list[tuple[str, bool]] = []
    for piece, glued in raw:
        if merged and (piece[0] in _NO_LINE_START or merged[-1][0][-1] in _NO_LINE_END
                       or _digit_group(merged[-1][0], piece, glued)):
            before, before_glued = merged[-1]
            merged[-1] = (before + ("" if glued else " ") + piece, before_glued)
        else:
            merged.append((piece, glued))
    return merged


_GROUP_RE = re.compile(r"\d{3}(?!\d)")


def _digit_group(before: str, piece: str, glued: bool) -> bool:
    """Whether ``piece`` continues a number grouped with spaces ("17 000")."""
    return (not glued and before[-1].isdigit() and len(before.split()[-1]) <= 3
            and _GROUP_RE.match(piece) is not None)


@dataclass(frozen=True)
class _Token:
    text: str
    glued: bool  # continues the previous token without a space (a split long word)


@dataclass(frozen=True)
class Fit:
    """A headline set in lines at one size."""

    lines: tuple[str, ...]
    size: int
    truncated: bool
    text: str  # the headline as drawn, in one line, ellipsis included

    @property
    def line_count(self) -> int:
        """How many lines the headline takes."""
        return len(self.lines)


class _Measured:
    """The tokens of a text measured at one size."""

    def __init__(self, measure: Callable[[str], float], pieces: list[tuple[str, bool]],
                 width: int) -> None:
        self.space = measure(" ")
        self.width = width
        self.tokens: list[_Token] = []
        self.widths: list[float] = []
        for piece, glued in pieces:
            piece_width = measure(piece)
            if piece_width <= width:
                self.tokens.append(_Token(piece, glued=glued))
                self.widths.append(piece_width)
                continue
            for i, part in enumerate(_split_to_width(piece, measure, width)):
                self.tokens.append(_Token(part, glued=glued or i > 0))
                self.widths.append(measure(part))

    def wrap(self, width: float) -> list[tuple[int, int]]:
        """Greedy wrap at ``width``: (start, end) token ranges, one per line."""
        lines: list[tuple[int, int]] = []
        start = 0
        current = 0.0
        for i, token_width in enumerate(self.widths):
            if i == start:
                current = token_width
                continue
            gap = 0.0 if self.tokens[i].glued else self.space
            if current + gap + token_width <= width:
                current += gap + token_width
            else:
                lines.append((start, i))
                start = i
                current = token_width
        if self.tokens:
            lines.append((start, len(self.tokens)))
        return lines

    def line_text(self, start: int, end: int) -> str:
        """The tokens start..end as one line of text."""
        parts = []
        for i in range(start, end):
            if i > start and not self.tokens[i].glued:
                parts.append(" ")
            parts.append(self.tokens[i].text)
        return "".join(parts)



def _bad_break(text: str, cut: int) -> bool:
    """Whether breaking ``text`` before index ``cut`` breaks a kinsoku rule."""
    return cut < len(text) and (text[cut] in _NO_LINE_START or text[cut - 1] in _NO_LINE_END)


def _split_to_width(word: str, measure: Callable[[str], float], width: int) -> list[str]:
    """A word wider than the line (a URL, a long hashtag) cut into pieces that fit."""
    pieces: list[str] = []
    rest = word
    while rest:
        lo, hi = 1, len(rest)
        while lo < hi:  # the longest prefix that fits
            mid = (lo + hi + 1) // 2
            if measure(rest[:mid]) <= width:
                lo = mid
            else:
                hi = mid - 1
        # Kinsoku: the next piece must not start with a closing mark, this one must not
        # end with an opening one; give up a character or two rather than break there.
        cut = lo
        while cut > 1 and _bad_break(rest, cut):
            cut -= 1
        if not _bad_break(rest, cut):
            lo = cut
        pieces.append(rest[:lo])
        rest = rest[lo:]
    return pieces


def fit_text(
    text: str,
    face: Typeface,
    *,
    width: int,
    max_lines: int,
    min_size: int,
    max_size: int,
    balance: bool = True,
    exact: bool = False,
) -> Fit:
    """Set ``text`` at the largest size in [min_size, max_size] that fits ``max_lines``.

    ``exact`` measures every size it tries, as the basic layout always does (the tests
    hold the scaled widths to it).
    """
    pieces = units(text)
    if not pieces:
        return Fit((), max_size, False, "")
    cache: dict[int, _Measured] = {}
    scaled = face.engine == ImageFont.Layout.RAQM and not exact
    reference = face.at(max_size)
    advances: dict[str, float] = {}

    def exactly_at(size: int) -> Callable[[str], float]:
        return lambda piece: face.length(piece, size)

    def measure_at(size: int) -> Callable[[str], float]:
        if not scaled:
            return exactly_at(size)
        ratio = size / max_size
        allowance = 0.0 if size == max_size else _ROUNDING_PER_CHAR

        def measure(piece: str) -> float:
            advance = advances.get(piece)
            if advance is None:
                advance = advances[piece] = reference.getlength(piece)
            return advance * ratio + allowance * len(piece) - face.pull(piece, size)
        return measure

    def measured(size: int) -> _Measured:
        if size not in cache:
            cache[size] = _Measured(measure_at(size), pieces, width)
        return cache[size]

    def fits(size: int) -> bool:
        return len(measured(size).wrap(width)) <= max_lines

    guess = max_size
    while guess > min_size and _estimated_lines(measured(max_size),
                                                guess / max_size) > max_lines:
        guess -= 1
    lo = guess
    if fits(lo):
        while lo < max_size and fits(lo + 1):
            lo += 1
    else:
        while lo > min_size and not fits(lo):
            lo -= 1
        if not fits(lo):
            at_min = _Measured(exactly_at(min_size), pieces, width) if scaled else measured(
                min_size)
            return _truncate(at_min, face, min_size, max_lines)
    size = lo
    if balance:
        # A one-word last line (a widow) is worth a slightly smaller size to avoid.
        for smaller in range(lo, max(min_size, round(lo * 0.86)) - 1, -1):
            ranges = _balanced(measured(smaller), len(measured(smaller).wrap(width)))
            if not _widowed(measured(smaller), ranges):
                size = smaller
                break
    lines, joined = _set(measured(size), width, balance)
    if scaled and any(face.length(line, size) > width for line in lines):
        # Wider than the allowance foresaw (a font whose advances do not scale): the
        # exact way, which measures every size it tries.
        return fit_text(text, face, width=width, max_lines=max_lines, min_size=min_size,
                        max_size=max_size, balance=balance, exact=True)
    return Fit(lines, size, False, joined)


def _set(m: _Measured, width: int, balance: bool) -> tuple[tuple[str, ...], str]:
    """(the lines, the whole text) of ``m`` wrapped at ``width``, balanced if asked."""
    ranges = m.wrap(width)
    if balance and len(ranges) > 1:
        ranges = _balanced(m, len(ranges))
    return tuple(m.line_text(s, e) for s, e in ranges), m.line_text(0, len(m.tokens))


def _estimated_lines(m: _Measured, factor: float) -> int:
    """How many lines ``m``'s tokens would take with every width scaled by ``factor``."""
    lines = 1
    current = -1.0
    space = m.space * factor
    for token, token_width in zip(m.tokens, m.widths, strict=True):
        scaled = token_width * factor
        gap = 0.0 if token.glued else space
        if current < 0:
            current = scaled
        elif current + gap + scaled <= m.width:
            current += gap + scaled
        else:
            lines += 1
            current = scaled
    return lines


def _widowed(m: _Measured, ranges: list[tuple[int, int]]) -> bool:
    """Whether the last of several lines is one short word."""
    if len(ranges) < 2:
        return False
    start, end = ranges[-1]
    return end - start == 1 and m.widths[start] < 0.35 * m.width


def _balanced(m: _Measured, count: int) -> list[tuple[int, int]]:
    """The break points that make ``count`` lines as even as possible.

    Minimises the squared slack of every line but the last, which only has to reach
    half the measure (a small dynamic programme: a few dozen words, four lines). A
    short line in the middle of a left-aligned headline looks broken; a short last
    line is normal, a one-word last line is not.
    """
    n = len(m.tokens)
    # starts[i]: x where token i would begin if a line started at token 0.
    starts = [0.0] * (n + 1)
    for i in range(n):
        gap = 0.0 if i == 0 or m.tokens[i].glued else m.space
        starts[i + 1] = starts[i] + gap + m.widths[i]

    def width(i: int, j: int) -> float:  # tokens i..j-1 on one line
        gap = 0.0 if i == 0 or m.tokens[i].glued else m.space
        return starts[j] - starts[i] - gap

    inf = float("inf")
    # best[k][j]: least cost of setting tokens 0..j-1 in k lines; back[k][j]: last break.
    best = [[inf] * (n + 1) for _ in range(count + 1)]
    back = [[0] * (n + 1) for _ in range(count + 1)]
    best[0][0] = 0.0
    for k in range(1, count + 1):
        for j in range(1, n + 1):
            for i in range(j - 1, -1, -1):
                line = width(i, j)
                if line > m.width:
                    break
                slack = m.width - line if j < n else max(0.0, m.width / 2 - line)
                cost = best[k - 1][i] + slack**2
                if cost < best[k][j]:
                    best[k][j], back[k][j] = cost, i
    if best[count][n] == inf:
        return m.wrap(m.width)
    ranges: list[tuple[int, int]] = []
    j = n
    for k in range(count, 0, -1):
        i = back[k][j]
        ranges.append((i, j))
        j = i
    return ranges[::-1]


def _truncate(m: _Measured, face: Typeface, size: int, max_lines: int) -> Fit:
    """The first ``max_lines`` lines at ``size``, the last one ending in an ellipsis."""
    ranges = m.wrap(m.width)[:max_lines]
    ellipsis = face.ellipsis
    start = ranges[-1][0]
    last = ""
    # Take as many of the remaining tokens as fit in front of the ellipsis.
    for stop in range(ranges[-1][1], start, -1):
        candidate = m.line_text(start, stop).rstrip(_TRAILING_PUNCT)
        if candidate and face.length(candidate + ellipsis, size) <= m.width:
            last = candidate
            break
    else:
        last = m.tokens[start].text
        while last and face.length(last + ellipsis, size) > m.width:
            last = last[:-1]
    lines = (*(m.line_text(s, e) for s, e in ranges[:-1]), last + ellipsis)
    head = m.line_text(0, start) if start else ""
    glue = "" if start and m.tokens[start].glued else " "
    text = (head + glue if head else "") + last + ellipsis
    return Fit(lines, size, True, text)
