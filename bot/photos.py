"""Finding and downloading the article's photo for the card.

MINIMAL VERSION (issue 2): no photo is fetched, so every card is the branded card.
The full version (issue 3) tries media:content, media:thumbnail, image enclosures, the
first <img> of the body and the page's og:image, with bounded, cached downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from bot.articles import Article
from bot.config import FetchConfig
from bot.http import HttpClient


@dataclass
class Photo:
    """The photo chosen for a card, or why there is none."""

    image: Image.Image | None
    description: str = ""  # the image's caption or alt text, for the alt text
    source_url: str | None = None
    note: str | None = None  # why the photo was not used, for the post's reason


class PhotoFetcher:
    """Finds an article's photo, downloads it within bounds, and caches it by URL."""

    def __init__(self, config: FetchConfig, cache_dir: Path, http: HttpClient) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.http = http

    def fetch(self, article: Article) -> Photo:
        """The best usable photo for ``article`` (never raises for a bad photo)."""
        return Photo(image=None, note="photo fetching not implemented yet")
