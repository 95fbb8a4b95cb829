"""Shared fixtures. Every test gets its own data dir: tests never touch ./var.

The test kits are provided here, once: ``server`` (a feed server on 127.0.0.1,
tests/feedkit.py), ``emulator`` (the Instagram emulator behind the seam,
tests/ig_emulator.py), ``store`` (a real SQLite store), ``credentials`` and
``publisher`` (a logged-in Instagram publisher, tests/igkit.py), ``telegram`` (the
Telegram Bot API emulator behind its seam, tests/telegram_emulator.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.publishers.instagram.publisher import InstagramPublisher
from bot.store import Store
from tests.feedkit import FeedServer, feed_server
from tests.ig_emulator import Emulator
from tests.igkit import PASSWORD, USERNAME, log_in, make_publisher
from tests.telegram_emulator import TOKEN, TelegramEmulator, telegram_emulator


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point BOT_DATA_DIR at a fresh folder and clear the bot's other env variables.

    Instagram credentials are cleared too: tests opt in to them (``credentials``).
    """
    directory = tmp_path / "var"
    monkeypatch.setenv("BOT_DATA_DIR", str(directory))
    for name in ("BOT_CONFIG", "DATABASE_URL", "BOT_INSTAGRAM_API", "BOT_ALERT_WEBHOOK",
                 "BOT_LOG_FORMAT", "BOT_LOG_LEVEL", "BOT_SECRET_KEY",
                 "BOT_ADMIN_USER", "BOT_ADMIN_PASSWORD_HASH", "PORT", "FORWARDED_ALLOW_IPS",
                 "IG_USERNAME", "IG_PASSWORD", "IG_TOTP_SECRET",
                 "TELEGRAM_BOT_TOKEN", "BOT_TELEGRAM_API"):
        monkeypatch.delenv(name, raising=False)
    yield directory


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A running feed server on 127.0.0.1 with no routes yet."""
    with feed_server() as running:
        yield running


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A running Instagram emulator with one account, and the seam pointing at it."""
    with Emulator() as emu:
        emu.add_account(USERNAME, PASSWORD)
        monkeypatch.setenv("BOT_INSTAGRAM_API", emu.url)
        yield emu


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Instagram account's username and password in the environment."""
    monkeypatch.setenv("IG_USERNAME", USERNAME)
    monkeypatch.setenv("IG_PASSWORD", PASSWORD)


@pytest.fixture
def publisher(emulator: Emulator, store: Store) -> Iterator[InstagramPublisher]:
    """An Instagram publisher with a valid saved session."""
    log_in(store, emulator)
    made = make_publisher(store)
    yield made
    made.close()


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramEmulator]:
    """A running Telegram Bot API emulator, with the seam and the bot token pointing at it."""
    with telegram_emulator() as running:
        monkeypatch.setenv("BOT_TELEGRAM_API", running.url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        yield running
