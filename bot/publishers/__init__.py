"""Publishers: where posts go. ``outbox`` (default) writes files; ``instagram`` posts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.publishers.base import PostFiles, Published, Publisher

if TYPE_CHECKING:
    from bot.config import AccountConfig, Config
    from bot.store import Store

__all__ = ["PostFiles", "Published", "Publisher", "make_publisher"]


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
