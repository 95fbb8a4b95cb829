"""The publisher interface that the outbox and Instagram publishers implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.errors import PostRejected
from bot.models import UploadStage

Progress = Callable[[UploadStage], None]
"""Told how far an upload got, before each step that could make it land; it must
record the stage durably before it returns (it may raise to stop the upload)."""


@dataclass(frozen=True)
class PostFiles:
    """Everything a publisher needs to put one post out."""

    post_id: int | str  # "preview" for `bot preview`
    basename: str  # "<post id>-<slug>"
    card: Path
    caption: str
    alt_text: str
    link: str  # the article URL with UTM parameters, as in the caption
    article_link: str  # the article URL as the feed gives it
    story: Path | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """Where a post landed."""

    media_id: str
    permalink: str
    shortcode: str | None = None


@dataclass(frozen=True)
class LivePost:
    """A post that is out: what a publisher needs to change it afterwards."""

    post_id: int
    basename: str  # "<post id>-<slug>", as the post's files are named
    media_id: str
    permalink: str | None = None


@dataclass(frozen=True)
class LiveState:
    """What a published post looks like now, as far as the publisher can tell."""

    caption: str | None
    archived: bool

# The exactly-once check looks this much before the upload's start: Instagram's clock
# and ours disagree a little. Posts the bot made since then may lie on top of it.
CHECK_SLACK = timedelta(minutes=10)


class Publisher(ABC):
    """Puts posts out. Raises only :class:`bot.errors.PublishError` subclasses."""

    name: str
    # Whether a post can appear on the account some time after the call that made it
    # (Instagram: yes). Only then does a missing post get the whole settle window.
    lands_late: bool = False

    @abstractmethod
    def publish(self, files: PostFiles, progress: Progress | None = None) -> Published:
        """Publish the feed post (card, caption, alt text).

        ``progress`` is called with ``UPLOADED`` and then ``CONFIGURE_SENT`` just before
        the request that makes the post exist goes out. :class:`bot.errors.DiskFull`
        means nothing was published (the publisher's own write failed for space).
        """

    @abstractmethod
    def publish_story(self, files: PostFiles) -> Published:
        """Publish the story card with a link to the article."""

    @abstractmethod
    def find_published(self, files: PostFiles, since: datetime | None = None, *,
                       newer: int = 0) -> Published | None:
        """The exactly-once check: the post if it already landed (e.g. before a crash).

        ``since`` is when the upload that may have landed began: the check looks at
        least as far back as that, less CHECK_SLACK. ``newer`` is how many posts the
        bot itself has put on the account since ``since - CHECK_SLACK``, so a
        publisher that reads the account page by page knows how deep the post may lie.
        """

    # Follow-up operations. A publisher that cannot change a post once it is out says
    # so with PostRejected, which fails that follow-up action (a human must look).

    def edit_caption(self, post: LivePost, caption: str) -> None:
        """Replace the caption of a published post (a correction)."""
        raise PostRejected(f"the {self.name} publisher cannot edit a caption")

    def archive(self, post: LivePost) -> None:
        """Hide a published post from everyone but the account (a takedown)."""
        raise PostRejected(f"the {self.name} publisher cannot archive a post")

    def live_state(self, post: LivePost) -> LiveState:
        """The post's caption and whether it is archived: the check a follow-up action
        makes after a crash, so that it is neither lost nor sent twice."""
        raise PostRejected(f"the {self.name} publisher cannot read a published post")

    def check(self) -> str:
        """A cheap health check for ``bot check``; returns a one-line summary."""
        return "ok"

    def close(self) -> None:  # noqa: B027 - optional hook; most publishers hold nothing
        """Release resources (sessions, connections)."""
