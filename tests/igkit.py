"""Helpers for the Instagram tests: the account, a config with an Instagram account,
a saved session, the publisher under test and real JPEG cards.

The fixtures built on them (``emulator``, ``store``, ``credentials``, ``publisher``)
live in ``tests/conftest.py``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from bot.config import Config, parse_config
from bot.publishers.base import PostFiles
from bot.publishers.instagram.publisher import InstagramPublisher
from bot.publishers.instagram.session import save_session
from bot.store import Store
from tests.ig_emulator import Emulator

ACCOUNT = "editorialkaltim"
USERNAME = "editorialkaltim"
PASSWORD = "kata-sandi-RAHASIA-7731"
TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"
ARTICLE = "https://editorialkaltim.com/2024/10/28/jelang-pilkada-2024-pemkab-kutim/"
UTM = "utm_source=instagram&utm_medium=social&utm_campaign=editorialkaltim-bot"


def now() -> datetime:
    """The real clock, timezone-aware."""
    return datetime.now(UTC)


def make_config(*, story: bool = False, feed_url: str = "https://editorialkaltim.com/feed/",
                **publish: Any) -> Config:
    """A config with one Instagram account; ``publish`` overrides ``[publish]`` keys."""
    data: dict[str, Any] = {
        "feeds": [{"name": "utama", "url": feed_url, "accounts": [ACCOUNT]}],
        "accounts": [{"name": ACCOUNT, "publisher": "instagram", "story": story}],
        "publish": {"call_timeout": "10s", **publish},
    }
    return parse_config(data, file="test.toml", base_dir=Path("."))


def log_in(store: Store, emulator: Emulator) -> dict[str, Any]:
    """Save a valid emulator session for the account, as `bot login --import` would."""
    settings = emulator.session_settings(USERNAME)
    save_session(store, ACCOUNT, settings, now())
    return settings


def make_publisher(store: Store, config: Config | None = None) -> InstagramPublisher:
    """The publisher under test."""
    config = config or make_config()
    return InstagramPublisher(config.account(ACCOUNT), config=config, store=store, clock=now)


def card(path: Path, size: tuple[int, int] = (1080, 1350)) -> Path:
    """A real JPEG card with some structure (not a flat colour)."""
    image = Image.new("RGB", size, (20, 24, 33))
    draw = ImageDraw.Draw(image)
    for i in range(0, size[1], 40):
        draw.rectangle((0, i, size[0], i + 18), fill=(200, 30 + i % 200, 40))
    draw.text((60, size[1] - 200), "Jelang Pilkada 2024", fill=(255, 255, 255))
    image.save(path, "JPEG", quality=85)
    return path


def post_files(tmp_path: Path, *, post_id: int = 7, article: str = ARTICLE,
               story: bool = False, caption: str | None = None) -> PostFiles:
    """Files for one post: a card, optionally a story card, caption with the UTM link."""
    link = f"{article}?{UTM}"
    text = caption if caption is not None else (
        "Jelang Pilkada 2024, Pemkab Kutim gelar bimtek mitigasi konflik.\n\n"
        f"Baca selengkapnya di Editorial Kaltim: {link}\n(Link ada di bio.)\n\n"
        "#EditorialKaltim #Kutim")
    return PostFiles(
        post_id=post_id, basename=f"{post_id}-jelang-pilkada", caption=text,
        card=card(tmp_path / f"{post_id}.jpg"),
        alt_text="Kartu berita Editorial Kaltim: Jelang Pilkada 2024, Pemkab Kutim gelar "
                 "bimtek mitigasi konflik.",
        link=link, article_link=article,
        story=card(tmp_path / f"{post_id}.story.jpg", (1080, 1920)) if story else None)
