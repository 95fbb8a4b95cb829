"""Turning an article into a post's files: card, story card, caption and alt text.

Rendering happens when a post is enqueued, so admins can see what will go out before
it does. ``bot preview`` uses the same code with ``preview`` as the post id.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.articles import Article
from bot.captions import Caption, CaptionWriter
from bot.cards import CardRenderer
from bot.config import Config
from bot.http import HttpClient
from bot.cards.photos import PhotoFetcher
from bot.preflight import check_post

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedPost:
    """The files and texts of one post."""

    card: Path
    caption: Caption
    alt_text: str
    headline: str
    story: Path | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def notes_text(self) -> str:
        """Notes joined for the post log (e.g. why the photo was not used)."""
        return "; ".join(self.notes)


class Renderer:
    """Renders posts with the configured card template and caption writer."""

    def __init__(self, config: Config, data_dir: Path, http: HttpClient) -> None:
        self.config = config
        self.cards = CardRenderer(config.card, config.site, config.tz)
        self.captions = CaptionWriter(config)
        self.photos = PhotoFetcher(config.fetch, data_dir / "photos", http)

    def render(
        self, article: Article, *, out_dir: Path, basename: str, story: bool,
        preflight: bool = True,
    ) -> RenderedPost:
        """Write ``<basename>.jpg`` (and ``.story.jpg``) into ``out_dir``; run preflight.

        Raises RenderError when no card can be made, PreflightError (with
        ``preflight``) when the result breaks an Instagram limit.
        """
        out_dir.mkdir(parents=True, exist_ok=True)
        notes: list[str] = []
        photo = self.photos.fetch(article)
        if photo.note:
            notes.append(photo.note)
        # The caption knows whether this is an advertorial; the card shows it too.
        caption = self.captions.write(article)
        card_article = card_view(article, advertorial=caption.advertorial)
        card = self.cards.render(card_article, photo.image, story=False)
        if card.note:
            notes.append(card.note)
        card_path = out_dir / f"{basename}.jpg"
        _write_atomic(card_path, card.to_jpeg())
        story_path = None
        if story:
            story_card = self.cards.render(card_article, photo.image, story=True)
            story_path = out_dir / f"{basename}.story.jpg"
            _write_atomic(story_path, story_card.to_jpeg())
        alt_text = self.captions.alt_text(article, headline=card.headline,
                                          photo_description=photo.description)
        if preflight:
            check_post(caption.text, card_path, story_path, alt_text=alt_text)
        return RenderedPost(card=card_path, caption=caption, alt_text=alt_text,
                            headline=card.headline, story=story_path, notes=tuple(notes))


def card_view(article: Article, *, advertorial: bool) -> Article:
    """The article as the card shows it: an advertorial is labelled as one.

    Indonesian press ethics (Dewan Pers, Pedoman Pemberitaan Media Siber, point 6) want
    paid content marked where the reader sees it, so the card's category label reads
    "Advertorial" (with its own accent) whatever the post's first category.
    """
    if not advertorial:
        return article
    rest = tuple(c for c in article.categories if c.casefold() != "advertorial")
    return replace(article, categories=("Advertorial", *rest))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
