"""Publishers: where posts go. ``outbox`` (default) writes files; ``instagram`` posts."""

from bot.publishers.base import PostFiles, Published, Publisher

__all__ = ["PostFiles", "Published", "Publisher"]
