"""Publishers: where posts go. ``outbox`` (default) writes files; ``instagram`` posts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import AccountConfig, Config
from bot.errors import ConfigError
from bot.publishers.base import PostFiles, Published, Publisher
from bot.publishers.outbox import OutboxPublisher

if TYPE_CHECKING:
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
    """The publisher the account's config asks for."""
    if account.publisher == "outbox":
        return OutboxPublisher(data_dir / "outbox")
    raise ConfigError(f"publisher {account.publisher!r} is not available yet",
                      key=f"accounts[{account.name}].publisher")
