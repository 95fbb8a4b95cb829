"""The publisher interface that the outbox and Instagram publishers implement."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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


class Publisher(ABC):
    """Puts posts out. Raises only :class:`bot.errors.PublishError` subclasses."""

    name: str

    @abstractmethod
    def publish(self, files: PostFiles) -> Published:
        """Publish the feed post (card, caption, alt text)."""

    @abstractmethod
    def publish_story(self, files: PostFiles) -> Published:
        """Publish the story card with a link to the article."""

    @abstractmethod
    def find_published(self, files: PostFiles) -> Published | None:
        """The exactly-once check: the post if it already landed (e.g. before a crash)."""

    def check(self) -> str:
        """A cheap health check for ``bot check``; returns a one-line summary."""
        return "ok"

    def close(self) -> None:  # noqa: B027 - optional hook; most publishers hold nothing
        """Release resources (sessions, connections)."""
