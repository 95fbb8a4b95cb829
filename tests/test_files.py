"""Everything the bot writes is private: folders 0700, files 0600, whatever the umask."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import load_config
from bot.core import Bot
from bot.pipeline.preview import preview_articles
from tests import imagekit
from tests.feedkit import FeedServer, Route, make_items, rss, write_config


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A typical umask (022): the modes must not depend on the caller's."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """Every folder and file under ``root`` (and root) with its permission bits."""
    found = {".": root.stat().st_mode & 0o777}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = path.stat().st_mode & 0o777
    return found


def test_data_dir_cards_photos_outbox_and_store_are_private(
        tmp_path: Path, data_dir: Path, server: FeedServer, loose_umask: None) -> None:
    photo = imagekit.jpeg(imagekit.landscape((1200, 800)))
    server.routes["/foto.jpg"] = Route(body=photo, content_type="image/jpeg")
    server.routes["/feed/"] = Route(body=rss(make_items(2, image=server.url("/foto.jpg"))))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 2",
                 account_extra="story = true")
    bot = Bot(load_config(path), data_dir=data_dir)
    try:
        bot.poll()
        assert [o.status for o in bot.publish()] == ["posted", "posted"]
        found = modes(data_dir)
    finally:
        bot.close()
    folders = {name for name in found if (data_dir / name).is_dir()}
    assert {".", "cards", "photos", "outbox"} <= folders
    assert {n: m for n, m in found.items() if n in folders and m != 0o700} == {}
    files = {n: m for n, m in found.items() if n not in folders}
    assert any(n.startswith("cards/") and n.endswith(".story.jpg") for n in files)
    assert any(n.startswith("photos/") for n in files)
    assert any(n.startswith("outbox/") and n.endswith(".json") for n in files)
    assert "bot.sqlite3" in files
    assert {n: m for n, m in files.items() if m != 0o600} == {}


def test_preview_files_are_private(tmp_path: Path, data_dir: Path, server: FeedServer,
                                   loose_umask: None) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(2)))
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"))
    out = tmp_path / "new" / "preview"
    preview_articles(load_config(path), data_dir, url=None, latest=2, feed=None, out_dir=out,
                     sheet=True)
    found = modes(out)
    assert (out / "preview-sheet.png").is_file()
    assert found["."] == 0o700 and (tmp_path / "new").stat().st_mode & 0o777 == 0o700
    assert {n: m for n, m in found.items() if n != "." and m != 0o600} == {}
