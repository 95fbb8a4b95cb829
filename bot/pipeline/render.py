"""The render step: an article becomes a post's card, story card, caption and alt text.

Rendering happens when a post is enqueued, so admins can see what will go out before
it does. :class:`Renderer` makes the files and runs preflight; :class:`PostRendering`
renders a stored post and records the result (or the failure) on it. ``bot preview``
uses the same :class:`Renderer` with ``preview`` as the post id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bot.articles import Article
from bot.captions import Caption, CaptionWriter
from bot.cards import CardRenderer
from bot.cards.photos import PhotoFetcher
from bot.config import Config
from bot.errors import PreflightError, RenderError
from bot.files import write_atomic
from bot.http import HttpClient
from bot.models import Post, Status, StoryStatus
from bot.preflight import check_post
from bot.store import Store

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
        write_atomic(card_path, card.to_jpeg())
        story_path = None
        if story:
            story_card = self.cards.render(card_article, photo.image, story=True)
            story_path = out_dir / f"{basename}.story.jpg"
            write_atomic(story_path, story_card.to_jpeg())
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


class PostRendering:
    """Renders stored posts and records the outcome on them, with an event."""

    def __init__(self, renderer: Renderer, store: Store, *, config: Config, data_dir: Path,
                 clock: Callable[[], datetime]) -> None:
        self.renderer = renderer
        self.store = store
        self.config = config
        self.cards_dir = data_dir / "cards"
        self.clock = clock
        # FreeType faces are not thread-safe, and the daemon polls feeds in parallel.
        self._lock = threading.Lock()

    def render_post(self, post_id: int, *, actor: str) -> Post:
        """Render (or re-render) a post's card, story card, caption and alt text.

        A post that cannot be rendered is ``failed`` with the reason; the error is not
        raised, so one bad photo costs one post, not the poll behind it.
        """
        store = self.store
        post = store.post(post_id)
        article = store.article_by_id(post.article_id)
        account = self.config.account(post.account)
        now = self.clock()
        failure = None
        try:
            with self._lock:
                rendered = self.renderer.render(article, out_dir=self.cards_dir,
                                                basename=post.basename, story=account.story)
        except PreflightError as exc:
            failure = f"preflight: {exc}"
        except RenderError as exc:
            failure = f"render failed: {exc}"
        except Exception as exc:  # hostile input meets third-party decoders
            # A bug in an image decoder must cost one post, not the queue behind it.
            log.exception("render crashed", extra={"post_id": post_id})
            failure = f"render crashed: {type(exc).__name__}: {exc}"
        if failure is not None:
            store.transition(post_id, Status.FAILED,
                             expect=[Status.QUEUED, Status.PENDING_APPROVAL],
                             actor=actor, at=now, reason=failure)
            return store.post(post_id)
        store.update_post(
            post_id, card_path=str(rendered.card),
            story_path=str(rendered.story) if rendered.story else None,
            caption=rendered.caption.text, alt_text=rendered.alt_text,
            render_notes=rendered.notes_text or None, updated_at=now,
            story_status=StoryStatus.PENDING.value if rendered.story else None,
        )
        store.add_event(at=now, actor=actor, kind="render", post_id=post_id, feed=post.feed,
                        account=post.account,
                        reason=("rendered card and caption" +
                                (f"; {rendered.notes_text}" if rendered.notes else "")))
        return store.post(post_id)

    def ensure_rendered(self, post: Post, *, actor: str) -> Post:
        """Render the post if its card is missing (e.g. after a crash before rendering)."""
        if post.card_path and Path(post.card_path).is_file() and post.caption:
            return post
        return self.render_post(post.id, actor=actor)
