"""A contact sheet of rendered cards, so a template can be judged at a glance."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

from bot.cards.fonts import DEFAULT_FONT, Typeface
from bot.cards.images import decode_image
from bot.errors import RenderError

CELL = (360, 450)  # a 4:5 feed card at one third of its width
GAP = 24
LABEL = 40
PAPER = (236, 238, 241)
INK = (55, 65, 81)


def contact_sheet(images: list[Path], columns: int = 3) -> Image.Image:
    """The cards at ``images`` in a grid, ``columns`` wide, each labelled with its file name.

    Story cards (9:16) are fitted into the same cells. An unreadable file gets an empty
    cell with its name, so one bad file does not hide the others.
    """
    if not images:
        raise RenderError("no cards to put on a contact sheet")
    if columns < 1:
        raise ValueError("columns must be at least 1")
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    width = GAP + columns * (CELL[0] + GAP)
    height = GAP + rows * (CELL[1] + LABEL + GAP)
    sheet = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(sheet)
    face = Typeface(DEFAULT_FONT, 600)
    font = face.at(15)
    for index, path in enumerate(images):
        row, column = divmod(index, columns)
        x = GAP + column * (CELL[0] + GAP)
        y = GAP + row * (CELL[1] + LABEL + GAP)
        try:
            card = decode_image(path.read_bytes(), cover=(CELL[0], CELL[1]), min_side=1)
        except (OSError, RenderError):
            draw.rectangle((x, y, x + CELL[0] - 1, y + CELL[1] - 1), outline=INK, width=2)
        else:
            card.thumbnail(CELL, Image.Resampling.LANCZOS, reducing_gap=2.0)
            sheet.paste(card, (x + (CELL[0] - card.width) // 2, y + (CELL[1] - card.height) // 2))
        name = face.clean(path.name).text
        while len(name) > 4 and font.getlength(name) > CELL[0]:
            name = name[:-4] + "…"
        draw.text((x, y + CELL[1] + 26), name, font=font, fill=INK, anchor="ls")
    return sheet
