"""The facade: one object that the CLI, the scheduler and the web desk all call.

``Bot`` builds the parts (store, HTTP client, renderer, alerter, publishers) and the
steps (poll, render, publish), hands each step exactly the collaborators it uses, and
offers the operations a user can ask for: poll, publish, the human actions (approve,
retry, skip) and the read models (log, show, status). It holds no step logic of its
own, and nothing below it imports it or a face.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from bot import memory
from bot.alerts import Alerter
from bot.articles import host_of
from bot.cards.thumbs import thumbnail
from bot.config import Config
from bot.errors import InvalidAction, NotFound
from bot.http import HttpClient
from bot.models import Actor, Event, Followup, FollowupState, PollRequest, Post, Status
from bot.pipeline.followup import FollowUp, FollowupReport
from bot.pipeline.poll import Poller, PollReport
from bot.pipeline.publish import Outcome, Publishing
from bot.pipeline.push import PushPolls, PushRound
from bot.pipeline.render import PostRendering, Renderer
from bot.publishers import Publisher, PublisherPool
from bot.status import collect_health, collect_status, queue_forecast
from bot.store import PostFilter, Store
from bot.store.lock import SchedulerLock

log = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def data_dir_from_env() -> Path:
    """``BOT_DATA_DIR``, default ``./var``."""
    return Path(os.environ.get("BOT_DATA_DIR") or "var")


class Bot:
    """The bot's operations over one config, data dir and store."""

    def __init__(
        self,
        config: Config,
        *,
        data_dir: Path,
        store: Store | None = None,
        clock: Clock = utcnow,
        publishers: dict[str, Publisher] | None = None,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.clock = clock
        self.store = store or Store.for_data_dir(data_dir)
        self.publishers = PublisherPool(config, self.store, data_dir=data_dir, clock=clock,
                                        publishers=publishers)

    def close(self) -> None:
        """Release connections and publisher sessions."""
        self.publishers.close()
        if "http" in self.__dict__:
            self.http.close()
        self.store.close()

    # -- parts and steps, built on first use -------------------------------------

    @cached_property
    def http(self) -> HttpClient:
        """The bounded HTTP client for feeds, photos and pages."""
        return HttpClient(self.config.fetch)

    @cached_property
    def renderer(self) -> Renderer:
        """Cards, captions and photos."""
        return Renderer(self.config, self.data_dir, self.http)

    def release_memory(self) -> None:
        """Between bursts of work: drop the renderer's image caches, return freed memory.

        The daemon calls this when a poll's cards are done (see bot/memory.py).
        """
        if "renderer" in self.__dict__:  # never built just to be emptied
            self.renderer.release_caches()
        memory.trim()

    @cached_property
    def alerter(self) -> Alerter:
        """Alert incidents."""
        return Alerter(self.store, self.clock)

    @cached_property
    def rendering(self) -> PostRendering:
        """The render step over stored posts."""
        return PostRendering(self.renderer, self.store, config=self.config,
                             data_dir=self.data_dir, clock=self.clock, alerter=self.alerter)

    @cached_property
    def poller(self) -> Poller:
        """The poll step."""
        return Poller(self.store, config=self.config, http=self.http, clock=self.clock,
                      alerter=self.alerter, rendering=self.rendering,
                      observe=self.followup.observe)

    @cached_property
    def push(self) -> PushPolls:
        """The push trigger's worker side: poll requests become polls."""
        return PushPolls(self.store, config=self.config, poller=self.poller, clock=self.clock)

    @cached_property
    def publishing(self) -> Publishing:
        """The publish step: choosing, uploading, the error policy and exactly-once."""
        return Publishing(self.store, config=self.config, clock=self.clock,
                          alerter=self.alerter, publishers=self.publishers,
                          rendering=self.rendering)

    @cached_property
    def followup(self) -> FollowUp:
        """The follow-up step: corrections and takedowns of posted articles."""
        return FollowUp(self.store, config=self.config, http=self.http, clock=self.clock,
                        alerter=self.alerter, publishers=self.publishers,
                        publishing=self.publishing)

    def scheduler_lock(self) -> SchedulerLock:
        """The store's one-scheduler lock (not yet taken)."""
        return self.store.scheduler_lock()

    def publisher(self, account: str) -> Publisher:
        """The account's publisher (created once)."""
        return self.publishers.get(account)

    # -- operations --------------------------------------------------------------

    def poll(self, feed: str | None = None) -> list[PollReport]:
        """Poll every feed (or one); record new articles and render their posts."""
        return self.poller.poll_all(feed)

    def request_poll(self, *, feed: str | None = None, url: str | None = None,
                     source: str = "wordpress", client: str = "") -> tuple[PollRequest, bool]:
        """Record a "poll now" for the worker (the push trigger); no feed or url: every feed.

        Returns the request and whether it is new (False: it joined one still waiting).
        Raises NotFound for a feed that is not configured, InvalidAction for a bad URL.
        """
        if feed is not None and all(f.name != feed for f in self.config.feeds):
            raise NotFound(f"no feed named {feed!r}")
        if url is not None:
            url = url.strip()
            if len(url) > MAX_URL_LENGTH or host_of(url) is None:
                raise InvalidAction("url must be an absolute http(s) URL of an article "
                                    f"(at most {MAX_URL_LENGTH} characters)")
        request, created = self.store.add_poll_request(
            at=self.clock(), source=source, client=client, feed=feed, url=url)
        target = feed or url or "every feed"
        if created:
            log.info("poll request %d from %s (%s): %s", request.id, source, client or "?",
                     target)
        else:
            log.info("poll request from %s (%s) for %s joins request %d, still waiting",
                     source, client or "?", target, request.id)
        return request, created

    def poll_requested(self) -> PushRound:
        """Poll what due poll requests ask for (the worker's tick calls this)."""
        return self.push.handle_due()

    def publish(self, account: str | None = None, *, force: bool = False,
                actor: str = Actor.CLI) -> list[Outcome]:
        """Publish what is due now (``force`` ignores windows, spacing and the cap)."""
        return self.publishing.publish_due(account, force=force, actor=actor)

    def recover(self, *, actor: str = Actor.STARTUP) -> list[Outcome]:
        """Settle posts left in ``publishing`` by a dead process (exactly-once check)."""
        return self.publishing.recover(actor=actor)

    def follow_up(self) -> FollowupReport:
        """Check the watched posts that are due and send decided follow-up actions."""
        return self.followup.run()

    def render_post(self, post_id: int, *, actor: str) -> Post:
        """Render (or re-render) a post's card, story card, caption and alt text."""
        return self.rendering.render_post(post_id, actor=actor)

    # -- human actions -----------------------------------------------------------

    def approve(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Post:
        """Release a ``pending_approval`` post into the queue."""
        post = self.store.post(post_id)
        if post.status != Status.PENDING_APPROVAL:
            raise InvalidAction(f"post {post_id} is {post.status}, not pending_approval")
        self._act(post, Status.QUEUED, [Status.PENDING_APPROVAL], actor,
                  _human_reason("approved", actor, reason))
        return self.rendering.ensure_rendered(self.store.post(post_id), actor=actor)

    def skip(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Post:
        """Drop a post that has not gone out."""
        post = self.store.post(post_id)
        allowed = [Status.QUEUED, Status.PENDING_APPROVAL, Status.FAILED, Status.SEEN,
                   Status.FILTERED, Status.EXPIRED]
        if post.status not in allowed:
            what = ("it is uploading right now; try again in a minute"
                    if post.status == Status.PUBLISHING else f"it is {post.status}")
            raise InvalidAction(f"cannot skip post {post_id}: {what}")
        self._act(post, Status.SKIPPED, allowed, actor, _human_reason("skipped", actor, reason),
                  post_now_at=None)
        return self.store.post(post_id)

    def retry(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Post:
        """Make a failed, queued or skipped post due now, clearing its backoff.

        On a ``publishing`` post it first runs the exactly-once check, at once.
        """
        post = self.store.post(post_id)
        if post.status == Status.PUBLISHING:
            if post.id in self.publishing.in_flight:
                raise InvalidAction(f"post {post_id} is uploading right now")
            self.publishing.settle(post, actor=actor, at_once=True)
            post = self.store.post(post_id)
            if post.status != Status.QUEUED:
                return post
        allowed = [Status.FAILED, Status.QUEUED, Status.SKIPPED]
        if post.status not in allowed:
            raise InvalidAction(
                f"cannot retry post {post_id}: it is {post.status} (retry takes failed, queued, "
                "skipped or publishing posts)")
        self._act(post, Status.QUEUED, allowed, actor, _human_reason("retry", actor, reason),
                  next_attempt_at=None, post_now_at=None,
                  attempts=0 if post.status == Status.FAILED else post.attempts)
        return self.rendering.ensure_rendered(self.store.post(post_id), actor=actor)

    def update_caption(self, post_id: int, *, reason: str = "",
                       actor: str = Actor.CLI) -> Followup:
        """Answer the post's open follow-up: the new title and a correction line."""
        return self.followup.act(post_id, "update_caption", actor=actor, reason=reason)

    def archive(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Followup:
        """Answer the post's open follow-up by archiving the Instagram post (only me)."""
        return self.followup.act(post_id, "archive", actor=actor, reason=reason)

    def dismiss(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Followup:
        """Close the post's open follow-up without touching the Instagram post."""
        return self.followup.act(post_id, "dismiss", actor=actor, reason=reason)

    def post_now(self, post_id: int, *, reason: str = "", actor: str = Actor.CLI) -> Post:
        """Make a queued or failed post go out at the worker's next tick, like ``--force``
        (windows, quiet days, min_gap and the cap ignored; never a cooldown or stop)."""
        return self.publishing.post_now(post_id, reason=reason, actor=actor)

    def edit_post(self, post_id: int, *, caption: str, alt_text: str, headline: str,
                  actor: str, unchanged_since: datetime) -> Post:
        """Edit a post's card headline (re-rendering the cards), caption and alt text.

        Preflight runs again; PreflightError or InvalidAction leave the post as it was.
        """
        return self.rendering.edit(post_id, caption=caption, alt_text=alt_text,
                                   headline=headline, actor=actor,
                                   unchanged_since=unchanged_since)

    def _act(self, post: Post, to: Status, expect: list[Status], actor: str, reason: str,
             **values: Any) -> None:
        if not self.store.transition(post.id, to, expect=expect, actor=actor, at=self.clock(),
                                     reason=reason, **values):
            raise InvalidAction(f"post {post.id} changed status meanwhile; look again")
        log.info("%s: %s -> %s", reason, post.status, to, extra={"post_id": post.id})

    # -- read models -------------------------------------------------------------

    def posts(self, filters: PostFilter | None = None) -> list[Post]:
        """The post log."""
        return self.store.posts(filters or PostFilter())

    def count_posts(self, filters: PostFilter | None = None) -> int:
        """How many posts the log's filters match (for paging)."""
        return self.store.count_posts(filters or PostFilter())

    def post(self, post_id: int) -> Post:
        """One post."""
        return self.store.post(post_id)

    def bio_posts(self) -> list[Post]:
        """The link-in-bio page's posts: ``posted`` only, newest first, one per article,
        at most ``[web] bio_limit``."""
        limit = self.config.web.bio_limit
        posts = self.store.posts(PostFilter(status=[Status.POSTED.value], newest="posted",
                                            limit=limit * len(self.config.accounts)))
        seen: set[int] = set()
        shown = []
        for post in posts:
            if post.article_id not in seen:
                seen.add(post.article_id)
                shown.append(post)
        return shown[:limit]

    def image_file(self, post_id: int, *, story: bool = False) -> Path:
        """The post's card (or story card) file; NotFound if it has none in the data dir.

        A path from the store is only followed inside the data dir, so a bad row can
        never make the web desk serve another file. A file this disk lacks is drawn
        again (:meth:`PostRendering.redraw`), so the web process of a PaaS, whose disk
        is not the worker's, shows the same cards.
        """
        post = self.store.post(post_id)
        raw = post.story_path if story else post.card_path
        if not raw:
            raise NotFound(f"post {post_id} has no {'story card' if story else 'card'}")
        path = Path(raw).resolve()
        if not path.is_relative_to(self.data_dir.resolve()):
            # Rendered by a process with another data dir: this one's copy, by name.
            path = self.rendering.cards_dir.resolve() / Path(raw).name
        # Not on this disk (another process rendered it, or a redeploy emptied the
        # disk): drawn again from the store, which is the truth.
        if not path.is_file() and not (self.rendering.redraw(post) and path.is_file()):
            raise NotFound(f"post {post_id}'s {'story' if story else 'card'} file is missing")
        return path

    def thumbnail(self, post_id: int, *, posted_only: bool) -> Path:
        """A small cached copy of the post's card (``posted_only``: for the public bio)."""
        if posted_only and self.store.post(post_id).status != Status.POSTED:
            raise NotFound(f"post {post_id} is not posted")
        try:
            return thumbnail(self.image_file(post_id), self.data_dir / "thumbs")
        except OSError as exc:
            raise NotFound(f"post {post_id}'s card cannot be read: {exc}") from exc

    def timeline(self, post_id: int) -> list[Event]:
        """A post's events, oldest first."""
        return self.store.events(post_id=post_id)

    def followups(self, post_id: int | None = None,
                  state: FollowupState | None = None) -> list[Followup]:
        """Follow-ups (of one post, or in one state), oldest first."""
        return self.store.followups(post_id=post_id, state=state)

    def status(self) -> dict[str, Any]:
        """``bot status`` as a JSON-ready dict: feeds, accounts and open alerts."""
        return collect_status(self.store, config=self.config, now=self.clock(),
                              publishing=self.publishing)

    def queue_forecast(self) -> list[dict[str, Any]]:
        """Every account's queue in order, each post with its expected publishing time."""
        return queue_forecast(self.store, config=self.config, now=self.clock(),
                              publishing=self.publishing)

    def health(self) -> dict[str, Any]:
        """``/healthz``: the store, the age of the last poll per feed, account states."""
        return collect_health(self.store, config=self.config, now=self.clock())


def _human_reason(action: str, actor: str, reason: str) -> str:
    text = f"{action} by {actor}"
    return f"{text}: {reason}" if reason else text
