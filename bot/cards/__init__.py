"""Headline cards (1080×1350 feed card, 1080×1920 story card) drawn with Pillow.

MINIMAL VERSION (issue 2): a plain dark card with the headline, so the pipeline works
end to end. The full renderer (issue 3) replaces the body of this package and keeps
the interface: ``CardRenderer.render(article, photo, story=...) -> Card``.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw, ImageFont

from bot.articles import Article
from bot.config import CardConfig, SiteConfig

POST_SIZE = (1080, 1350)
STORY_SIZE = (1080, 1920)


@dataclass
class Card:
    """A rendered card and the headline exactly as drawn on it (for the alt text)."""

    image: Image.Image
    headline: str
    quality: int = 88

    def to_jpeg(self) -> bytes:
        """Baseline sRGB JPEG bytes."""
        buffer = io.BytesIO()
        self.image.convert("RGB").save(buffer, "JPEG", quality=self.quality, optimize=True)
        return buffer.getvalue()


class CardRenderer:
    """Renders cards for articles according to the ``[card]`` template."""

    def __init__(self, config: CardConfig, site: SiteConfig, tz: ZoneInfo) -> None:
        self.config = config
        self.site = site
        self.tz = tz

    def render(self, article: Article, photo: Image.Image | None, *, story: bool = False) -> Card:
        """Render the feed card (or the story card with ``story=True``)."""
        size = STORY_SIZE if story else POST_SIZE
        image = Image.new("RGB", size, (20, 24, 32))
        draw = ImageDraw.Draw(image)
        font = ImageFont.load_default(size=56)
        lines = textwrap.wrap(article.title, width=28)[:4]
        y = size[1] - 120 - 70 * len(lines)
        for line in lines:
            draw.text((60, y), line, font=font, fill="white")
            y += 70
        draw.text((60, size[1] - 90), self.site.domain, font=ImageFont.load_default(size=32),
                  fill=self.config.accent)
        return Card(image=image, headline=" ".join(lines), quality=self.config.quality)
