"""Instagram's limits: the one table of numbers that config, captions and preflight share.

A base module: it imports nothing from the bot, so the config schema can check a
template or a hashtag against the same numbers the caption writer and the preflight
use. Counting is deliberately conservative: the caption's length is counted in UTF-16
code units (an emoji counts as two), and every ``#`` or ``@`` directly followed by a
word character counts as a hashtag or a mention, even inside a URL or an e-mail address.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

MAX_CAPTION_CHARS = 2200
MAX_HASHTAGS = 5  # since December 2025; above it Instagram may drop the whole caption
MAX_MENTIONS = 20
MAX_ALT_TEXT_CHARS = 1000
MAX_FILE_BYTES = 8_000_000  # "8 MB", counted in powers of 1000 to stay on the safe side
MIN_WIDTH = 320  # narrower photos are upscaled by Instagram and look soft

FEED_MIN_RATIO = Fraction(4, 5)  # portrait 4:5 (1080×1350) is the tallest a feed post may be
FEED_MAX_RATIO = Fraction(191, 100)  # landscape 1.91:1 is the widest
STORY_RATIO = Fraction(9, 16)  # 1080×1920
# One pixel of rounding (1080×1351) must not fail the check; a wrong layout must.
RATIO_TOLERANCE = Fraction(1, 200)


HASHTAG_RE = re.compile(r"#(?=\w)")
MENTION_RE = re.compile(r"@(?=[A-Za-z0-9._])")


def instagram_length(text: str) -> int:
    """The caption's length as Instagram counts it, conservatively (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def count_hashtags(text: str) -> int:
    """How many hashtags Instagram could see in ``text``."""
    return len(HASHTAG_RE.findall(text))


def count_mentions(text: str) -> int:
    """How many @mentions Instagram could see in ``text``."""
    return len(MENTION_RE.findall(text))

MAX_HASHTAG_CHARS = 40  # longer tags read as noise and nobody searches for them
_WORD_RE = re.compile(r"[^\W_]+")
_APOSTROPHES_RE = re.compile(r"['’`´]")


def normalise_hashtag(term: str) -> str:
    """``term`` as a hashtag without the ``#``, or "" if nothing usable is left."""
    text = unicodedata.normalize("NFC", term).strip().lstrip("#")
    words = _WORD_RE.findall(_APOSTROPHES_RE.sub("", text))
    if not words:
        return ""
    shouting = text.upper() == text and any(c.isalpha() for c in text)
    out = []
    for word in words:
        if shouting and len(word) > 4:
            word = word.capitalize()
        elif len(words) > 1:
            word = word[0].upper() + word[1:]
        out.append(word)
    tag = "".join(out)
    if tag.isdigit() or len(tag) > MAX_HASHTAG_CHARS:
        return ""
    return tag
