"""The render step: an article becomes a post's card, story card, caption and alt text.

Rendering happens when a post is enqueued, so admins can see what will go out before
it does. :class:`Renderer` makes the files and runs preflight; :class:`PostRendering`
renders a stored post and records the result (or the failure) on it. ``bot preview``
uses the same :class:`Renderer` with ``preview`` as the post id.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bot.alerts import DISK_FULL, Alerter
from bot.articles import Article
from bot.captions import Caption, CaptionWriter
from bot.cards import CardRenderer
from bot.cards.photos import PhotoFetcher
from bot.config import Config
from bot.errors import DiskFull, InvalidAction, PreflightError, RenderError
from bot.files import private_dir, write_atomic
from bot.http import HttpClient
from bot.models import Post, Status, StoryStatus
from bot.preflight import check_post
from bot.store import Store
from bot.units import format_duration

log = logging.getLogger(__name__)

# Statuses in which a post has not gone out and still may: the ones an admin can edit.
EDITABLE = frozenset({Status.PENDING_APPROVAL, Status.QUEUED, Status.FAILED, Status.SKIPPED})


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

    def release_caches(self) -> None:
        """Drop what the card renderer keeps for a burst of cards."""
        self.cards.release_caches()

    def render(
        self, article: Article, *, out_dir: Path, basename: str, story: bool,
        preflight: bool = True, edits: Mapping[str, str] | None = None,
    ) -> RenderedPost:
        """Write ``<basename>.jpg`` (and ``.story.jpg``) into ``out_dir``; run preflight.

        ``edits`` are an admin's ``headline`` (drawn on the cards instead of the title),
        ``caption`` and ``alt_text`` (used as written). Raises RenderError when no card
        can be made, PreflightError (with ``preflight``) when the result breaks an
        Instagram limit, DiskFull when there is no room to write the files.
        """
        edits = edits or {}
        private_dir(out_dir)
        # What reading the entry noticed (an unreadable date…) goes first.
        notes: list[str] = list(article.notes)
        photo = self.photos.fetch(article)
        if photo.note:
            notes.append(photo.note)
        # The caption knows whether this is an advertorial; the card shows it too.
        caption = self.captions.write(article)
        if edits.get("caption"):
            caption = replace(caption, text=edits["caption"])
        card_article = card_view(article, advertorial=caption.advertorial)
        if edits.get("headline"):
            card_article = replace(card_article, title=edits["headline"])
        # Pixels are let go as soon as they are no longer needed: each card's once its
        # JPEG is written, the photo once the story has taken what it needs of it
        # (StoryPhoto), so the story's canvas never coexists with the photo. Held
        # together they were the daemon's memory peak (10.7 + 5.8 + 8.3 MB, and more
        # while preflight decoded the files again).
        image, description = photo.image, photo.description
        del photo
        card = self.cards.render(card_article, image, story=False)
        headline = card.headline
        if card.note:
            notes.append(card.note)
        card_path = out_dir / f"{basename}.jpg"
        write_atomic(card_path, card.to_jpeg())
        del card
        story_parts = self.cards.story_photo(image) if story else None
        del image
        story_path = None
        if story:
            story_card = self.cards.render(card_article, story_parts, story=True)
            story_path = out_dir / f"{basename}.story.jpg"
            write_atomic(story_path, story_card.to_jpeg())
            del story_card
        del story_parts
        alt_text = edits.get("alt_text") or self.captions.alt_text(
            article, headline=headline, photo_description=description)
        if preflight:
            check_post(caption.text, card_path, story_path, alt_text=alt_text)
        return RenderedPost(card=card_path, caption=caption, alt_text=alt_text,
                            headline=headline, story=story_path, notes=tuple(notes))


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
                 clock: Callable[[], datetime], alerter: Alerter) -> None:
        self.renderer = renderer
        self.store = store
        self.alerter = alerter
        self.config = config
        self.cards_dir = data_dir / "cards"
        self.clock = clock
        # FreeType faces are not thread-safe, and the daemon polls feeds in parallel.
        self._lock = threading.Lock()

    def render_post(self, post_id: int, *, actor: str) -> Post:
        """Render (or re-render) a post's card, story card, caption and alt text.

        A post that cannot be rendered is ``failed`` with the reason; the error is not
        raised, so one bad photo costs one post, not the poll behind it. A full disk is
        not the post's fault: the post keeps its status, waits ``disk_full_backoff``,
        and is rendered again when its turn comes (one alert until space returns).
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
                                                basename=post.basename, story=account.story,
                                                edits=post.edits)
        except DiskFull as exc:
            return self._disk_full(post, exc, actor=actor, now=now)
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
        self.alerter.resolve(DISK_FULL, "disk space is back: cards are written again",
                             actor=actor)
        return store.post(post_id)

    def edit(self, post_id: int, *, caption: str, alt_text: str, headline: str, actor: str,
             unchanged_since: datetime) -> Post:
        """An admin's edit of the card headline, caption and alt text, before it goes out.

        A new headline re-renders card and story (into new files, so a publisher holding
        the old paths still reads a consistent post); every edit runs preflight again.
        Raises PreflightError with the reason when the result breaks a limit, and
        InvalidAction when the post is out or changed since ``unchanged_since``; either
        way nothing changes. Edits are kept on the post, so a later re-render (after
        the article changed) keeps them.
        """
        store = self.store
        post = store.post(post_id)
        if post.status not in EDITABLE:
            raise InvalidAction(f"post {post_id} is {post.status}: only posts that have not "
                                "gone out can be edited")
        if post.updated_at != unchanged_since:
            raise InvalidAction(f"post {post_id} changed meanwhile; look again")
        headline = " ".join(headline.split())
        caption = "\n".join(line.rstrip() for line in caption.strip().splitlines())
        alt_text = " ".join(alt_text.split())
        if not headline:
            raise PreflightError("Judul kartu kosong / The card headline is empty")
        if not caption:
            raise PreflightError("Keterangan kosong / The caption is empty")
        edits = dict(post.edits)
        changes: dict[str, dict[str, str]] = {}
        for name, new, current in (("headline", headline, post.headline),
                                   ("caption", caption, post.caption or ""),
                                   ("alt_text", alt_text, post.alt_text or "")):
            if new != current:
                changes[name] = {"from": current, "to": new}
                edits[name] = new
        if not changes:
            raise InvalidAction("nothing changed: the headline, caption and alt text are as "
                                "they were")
        if edits.get("headline") == post.title:
            del edits["headline"]  # back to the article's own title
        now = self.clock()
        made: list[Path] = []
        values: dict[str, object] = {}
        try:
            if "headline" in changes:
                article = store.article_by_id(post.article_id)
                account = self.config.account(post.account)
                with self._lock:
                    rendered = self.renderer.render(
                        article, out_dir=self.cards_dir, story=account.story, edits=edits,
                        basename=f"{post.basename}.v{secrets.token_hex(4)}")
                made = [rendered.card, *([rendered.story] if rendered.story else [])]
                values = {"card_path": str(rendered.card),
                          "story_path": str(rendered.story) if rendered.story else None,
                          "caption": rendered.caption.text, "alt_text": rendered.alt_text}
            else:
                values = {"caption": edits.get("caption", post.caption or ""),
                          "alt_text": edits.get("alt_text", post.alt_text or "")}
                check_post(str(values["caption"]), Path(post.card_path or ""),
                           Path(post.story_path) if post.story_path else None,
                           alt_text=str(values["alt_text"]))
            saved = store.update_post_checked(
                post_id, expect=[post.status], unchanged_since=post.updated_at, actor=actor,
                at=now, kind="edit", data=changes,
                reason=f"{', '.join(changes)} edited by {actor}",
                edits=json.dumps(edits, ensure_ascii=False), **values)
            if not saved:
                raise InvalidAction(f"post {post_id} changed meanwhile; look again")
        except BaseException:
            for path in made:
                path.unlink(missing_ok=True)
            raise
        log.info("edited %s", ", ".join(changes), extra={"post_id": post_id})
        return store.post(post_id)

    def _disk_full(self, post: Post, exc: DiskFull, *, actor: str, now: datetime) -> Post:
        wait = self.config.publish.disk_full_backoff
        reason = (f"{exc}; the card will be rendered when its turn comes again, in "
                  f"{format_duration(wait)} at the earliest")
        log.warning(reason, extra={"post_id": post.id, "account": post.account})
        self.store.update_post(post.id, next_attempt_at=now + wait, updated_at=now)
        self.store.add_event(at=now, actor=actor, kind="render", post_id=post.id,
                             feed=post.feed, account=post.account, reason=reason,
                             data={"error": "DiskFull"})
        self.alerter.alert(DISK_FULL, f"disk full: {exc}; posts wait until space returns",
                           actor=actor, post_id=post.id, account=post.account)
        return self.store.post(post.id)

    def redraw(self, post: Post) -> bool:
        """Draw a rendered post's card files again where this process's disk lacks them.

        For a process that shares the store but not the data dir: on a PaaS the web
        process runs apart from the worker that rendered the cards, and every redeploy
        empties both disks. The files are drawn from the stored article and edits into
        this data dir's ``cards/``, under the names the store gives; nothing in the store
        changes (a posted post stays as it went out, caption included). False when the
        post was never rendered or no longer renders (the reason is logged).
        """
        if not post.card_path or not post.card_path.endswith(".jpg"):
            return False
        card = self.cards_dir / Path(post.card_path).name  # by name: never outside cards/
        try:
            article = self.store.article_by_id(post.article_id)
            with self._lock:
                self.renderer.render(article, out_dir=self.cards_dir, basename=card.stem,
                                     story=bool(post.story_path), edits=post.edits)
        except (DiskFull, PreflightError, RenderError) as exc:
            log.warning("could not redraw the card: %s", exc, extra={"post_id": post.id})
            return False
        except Exception:  # hostile input meets third-party decoders, as in render_post
            log.exception("redrawing the card crashed", extra={"post_id": post.id})
            return False
        return card.is_file()

    def ensure_rendered(self, post: Post, *, actor: str) -> Post:
        """Render the post if its card is missing (e.g. after a crash before rendering)."""
        if post.card_path and Path(post.card_path).is_file() and post.caption:
            return post
        return self.render_post(post.id, actor=actor)
