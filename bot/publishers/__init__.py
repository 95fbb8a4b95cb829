"""Publishers: where posts go. ``outbox`` (default) writes files; ``instagram`` posts.

:class:`PublisherPool` makes each account's publisher once, on first use, and closes
them all at the end.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.config import AccountConfig, Config
from bot.publishers.base import LivePost, LiveState, PostFiles, Published, Publisher
from bot.store import Store

__all__ = ["LivePost", "LiveState", "PostFiles", "Published", "Publisher", "PublisherPool",
           "make_publisher"]


def make_publisher(
    account: AccountConfig,
    *,
    config: Config,
    store: Store,
    data_dir: Path,
    clock: Callable[[], datetime],
) -> Publisher:
    """The publisher the account's ``publisher`` key names."""
    if account.publisher == "instagram":
        # Imported here: instagrapi is heavy, and outbox-only installs never need it.
        from bot.publishers.instagram.publisher import InstagramPublisher

        return InstagramPublisher(account, config=config, store=store, clock=clock)
    from bot.publishers.outbox import OutboxPublisher

    return OutboxPublisher(data_dir / "outbox")


class PublisherPool:
    """Each account's publisher, made once on first use."""

    def __init__(self, config: Config, store: Store, *, data_dir: Path,
                 clock: Callable[[], datetime],
                 publishers: dict[str, Publisher] | None = None) -> None:
        self.config = config
        self.store = store
        self.data_dir = data_dir
        self.clock = clock
        self._publishers: dict[str, Publisher] = dict(publishers or {})
        self._lock = threading.Lock()

    def get(self, account: str) -> Publisher:
        """The account's publisher (created once)."""
        with self._lock:
            if account not in self._publishers:
                self._publishers[account] = make_publisher(
                    self.config.account(account), config=self.config, store=self.store,
                    data_dir=self.data_dir, clock=self.clock)
            return self._publishers[account]

    def close(self) -> None:
        """Close every publisher made so far."""
        with self._lock:
            for publisher in self._publishers.values():
                publisher.close()
