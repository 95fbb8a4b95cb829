"""Finding and downloading the article's photo for the card.

Candidates are tried in the design's order: ``media:content``, ``media:thumbnail``,
image enclosures, the first ``<img>`` of ``content:encoded`` (all already in
``Article.images``, in that order), then the ``og:image`` of the article page, read
from its first ``[fetch] page_max_bytes``. Every download goes through ``HttpClient``
(bounded in time and bytes; private addresses refused unless allowed), must be served
as ``image/*`` and must decode as a photo (``bot.cards.decode_image``). A candidate
that fails is recorded in the ``note`` and the next one is tried.

Photos are cached by URL in ``cache_dir`` as the cleaned-up, card-sized JPEG that
decoding produced, so a re-render neither downloads nor decodes a big original again.
Cache files unused for ``CACHE_MAX_AGE`` are removed when a fetcher is created.

The whole search has one time budget, ``[fetch] photo_budget``: every download (the
candidates and the article page) gets what is left of it, and candidates not reached
when it runs out are noted as not tried.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Final
from urllib.parse import urljoin, urlsplit

from PIL import Image

from bot.articles import Article, ImageRef
from bot.cards.images import POST_SIZE, decode_image
from bot.config import FetchConfig
from bot.errors import DiskFull, FetchError, RenderError
from bot.files import write_atomic
from bot.http import HttpClient

log = logging.getLogger(__name__)

CACHE_MAX_AGE: Final = timedelta(days=30)
MAX_CANDIDATES: Final = 6  # bounds the time one article can spend on photos
_ACCEPT: Final = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,image/*;q=0.8"
_SOURCE_NAMES: Final = {
    "media_content": "media:content",
    "media_thumbnail": "media:thumbnail",
    "enclosure": "enclosure",
    "content_img": "first <img>",
    "og_image": "og:image",
}
_FILENAME_RE: Final = re.compile(r"^[\w\-. ]+\.(jpe?g|png|gif|webp|avif)$", re.I)


@dataclass
class Photo:
    """The photo chosen for a card, or why there is none."""

    image: Image.Image | None
    description: str = ""  # the image's caption or alt text, for the alt text
    source_url: str | None = None
    note: str | None = None  # why photos were rejected, for the post's reason


class PhotoFetcher:
    """Finds an article's photo, downloads it within bounds, and caches it by URL."""

    def __init__(self, config: FetchConfig, cache_dir: Path, http: HttpClient) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.http = http
        self._prune()

    def fetch(self, article: Article) -> Photo:
        """The best usable photo for ``article`` (never raises for a bad photo)."""
        rejected: list[str] = []
        tried: set[str] = set()
        deadline = time.monotonic() + self.config.photo_budget.total_seconds()
        candidates = article.images[:MAX_CANDIDATES]
        for index, ref in enumerate(candidates):
            if time.monotonic() >= deadline:
                rejected.append(self._out_of_time(len(candidates) - index))
                return Photo(image=None, note=_no_photo(rejected))
            photo = self._try(ref, article.link, tried, rejected, deadline)
            if photo is not None:
                return photo
        if time.monotonic() >= deadline:
            rejected.append(self._out_of_time(0))
            return Photo(image=None, note=_no_photo(rejected))
        og = self._og_image(article, rejected, deadline)
        if og is not None:
            photo = self._try(og, article.link, tried, rejected, deadline)
            if photo is not None:
                return photo
        if not article.images and og is None and not rejected:
            rejected.append("the article has no photo")
        return Photo(image=None, note=_no_photo(rejected))

    @property
    def _budget_name(self) -> str:
        return f"the photo time budget ({self.config.photo_budget.total_seconds():g}s)"

    def _out_of_time(self, left: int) -> str:
        budget = self._budget_name
        what = f"{left} more candidate{'s' if left != 1 else ''}" if left else "og:image"
        return f"{budget} was used up; {what} not tried"

    # ------------------------------------------------------------------ candidates

    def _try(self, ref: ImageRef, base: str, tried: set[str], rejected: list[str],
             deadline: float) -> Photo | None:
        url = urljoin(base, ref.url.strip())
        if url in tried:
            return None
        tried.add(url)
        name = _SOURCE_NAMES.get(ref.source, ref.source)
        try:
            image = self._load(url, deadline)
        except (FetchError, RenderError) as exc:
            log.info("photo rejected: %s %s: %s", name, url, exc)
            rejected.append(f"{name} {_short_url(url)}: {exc}")
            return None
        note = None
        if rejected:
            note = f"photo from {name}; rejected: " + "; ".join(rejected)
        return Photo(image=image, description=_description(ref), source_url=url, note=note)

    def _og_image(self, article: Article, rejected: list[str],
                  deadline: float) -> ImageRef | None:
        """The page's ``og:image``, from the first ``page_max_bytes`` of its HTML."""
        if not article.link or urlsplit(article.link).scheme not in ("http", "https"):
            return None
        limit = self.config.page_max_bytes
        try:
            # Range keeps the read to the <head> on servers that honour it; on those
            # that do not, only the first `limit` bytes are read (og:image is in <head>).
            response = self.http.get(
                article.link,
                headers={"Range": f"bytes=0-{limit - 1}", "Accept": "text/html"},
                max_bytes=limit,
                accept_status=(200, 206),
                truncate=True,
                deadline=deadline,
                deadline_name=self._budget_name,
            )
        except FetchError as exc:
            rejected.append(f"og:image: article page: {exc}")
            return None
        if response.content_type not in ("text/html", "application/xhtml+xml", ""):
            rejected.append(f"og:image: article page is {response.content_type}, not HTML")
            return None
        found = find_og_image(response.body.decode("utf-8", "replace"))
        if found is None:
            rejected.append("og:image: the article page has none")
            return None
        url, alt = found
        return ImageRef(url=urljoin(response.url, url), source="og_image", alt=alt)

    # ------------------------------------------------------------------ download + cache

    def _load(self, url: str, deadline: float | None = None) -> Image.Image:
        cached = self._cache_path(url)
        if cached.is_file():
            try:
                image = decode_image(cached.read_bytes())
            except (OSError, RenderError):
                cached.unlink(missing_ok=True)
            else:
                os.utime(cached)  # keep what is in use from being pruned
                return image
        response = self.http.get(url, headers={"Accept": _ACCEPT},
                                 max_bytes=self.config.photo_max_bytes, deadline=deadline,
                                 deadline_name=self._budget_name)
        kind = response.content_type
        if not kind.startswith("image/"):
            raise FetchError(f"served as {kind or 'no content type'}, not image/*")
        image = _card_sized(decode_image(response.body, cover=POST_SIZE))
        self._store(cached, image)
        return image

    def _cache_path(self, url: str) -> Path:
        return self.cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".jpg")

    def _store(self, path: Path, image: Image.Image) -> None:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=94, subsampling=0)
        try:
            write_atomic(path, buffer.getvalue())
        except (OSError, DiskFull) as exc:  # a full disk costs a re-download, not a card
            log.warning("cannot cache photo in %s: %s", path.parent, exc)

    def _prune(self) -> None:
        if not self.cache_dir.is_dir():
            return
        cutoff = time.time() - CACHE_MAX_AGE.total_seconds()
        for path in self.cache_dir.iterdir():
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def _no_photo(rejected: list[str]) -> str:
    return "no usable photo, branded card: " + "; ".join(rejected)


def _card_sized(image: Image.Image) -> Image.Image:
    """Shrink to the smallest size that still covers a feed card: nothing is lost, and
    the cache and every later render handle a fraction of the pixels."""
    scale = max(POST_SIZE[0] / image.width, POST_SIZE[1] / image.height)
    if scale >= 0.95:
        return image
    size = (max(POST_SIZE[0], round(image.width * scale)),
            max(POST_SIZE[1], round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _description(ref: ImageRef) -> str:
    """Alt text when it says something, else the caption: words for the post's alt text."""
    alt = ref.alt.strip()
    if alt and not _FILENAME_RE.match(alt):
        return alt
    return ref.caption.strip()


def _short_url(url: str, limit: int = 80) -> str:
    return url if len(url) <= limit else url[: limit - 1] + "…"


class _OgParser(HTMLParser):
    """Collects ``<meta property="og:image…">`` until the ``<body>`` starts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.image: str | None = None
        self.alt = ""
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True
            return
        if tag != "meta":
            return
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        key = (values.get("property") or values.get("name") or "").lower()
        content = values.get("content", "")
        if not content:
            return
        if key in ("og:image", "og:image:url", "og:image:secure_url") and self.image is None:
            self.image = content
        elif key == "og:image:alt" and not self.alt:
            self.alt = content


def find_og_image(html_text: str) -> tuple[str, str] | None:
    """(URL, alt) of the page's ``og:image``, or None; relative URLs are returned as found."""
    parser = _OgParser()
    head_end = html_text.lower().find("<body")
    parser.feed(html_text if head_end < 0 else html_text[:head_end])
    parser.close()
    if not parser.image or parser.image.startswith("data:"):
        return None
    return parser.image, parser.alt
