"""Shared fixtures. Every test gets its own data dir: tests never touch ./var."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point BOT_DATA_DIR at a fresh folder and clear the bot's other env variables.

    Instagram credentials are cleared too: tests opt in to them (igkit.credentials).
    """
    directory = tmp_path / "var"
    monkeypatch.setenv("BOT_DATA_DIR", str(directory))
    for name in ("BOT_CONFIG", "DATABASE_URL", "BOT_INSTAGRAM_API", "BOT_ALERT_WEBHOOK",
                 "BOT_LOG_FORMAT", "BOT_LOG_LEVEL", "BOT_SECRET_KEY",
                 "IG_USERNAME", "IG_PASSWORD", "IG_TOTP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    yield directory
