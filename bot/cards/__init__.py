"""Headline cards (1080×1350 feed card, 1080×1920 story card) drawn with Pillow.

Modules:

- ``layout``: ``CardRenderer`` and ``Card``: the overlay, split, branded and story
  layouts;
- ``text``: fitting a headline to at most four lines, sized from one measurement;
- ``fonts``: fonts at any size and weight, glyph coverage, and text laid out once
  and drawn from its mask (``Stamp``);
- ``images``: safe decoding of untrusted photo bytes, colour clean-up, crops, scrims;
- ``sheet``: the contact sheet for ``bot preview --sheet``.
"""

from __future__ import annotations

from bot.cards.images import (
    MAX_PIXELS,
    MIN_SIDE,
    POST_SIZE,
    STORY_SIZE,
    check_photo_size,
    decode_image,
    to_rgb,
)
from bot.cards.layout import (
    GRID_BAND,
    MARGIN,
    STORY_STICKER_BOX,
    Card,
    CardRenderer,
    TextBox,
)
from bot.cards.sheet import contact_sheet

__all__ = [
    "GRID_BAND",
    "MARGIN",
    "MAX_PIXELS",
    "MIN_SIDE",
    "POST_SIZE",
    "STORY_SIZE",
    "STORY_STICKER_BOX",
    "Card",
    "CardRenderer",
    "TextBox",
    "check_photo_size",
    "contact_sheet",
    "decode_image",
    "to_rgb",
]
