"""The default publisher: writes each post's files into ``<data dir>/outbox/``."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from bot.errors import PostRejected, Transient
from bot.publishers.base import PostFiles, Published, Publisher


class OutboxPublisher(Publisher):
    """Writes ``<id>-<slug>.jpg``, ``.story.jpg``, ``.txt``, ``.alt.txt`` and ``.json``.

    The ``.json`` file is written last and atomically: its presence means the post is
    complete, which is what the exactly-once check looks for.
    """

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, files: PostFiles) -> dict[str, Path]:
        stem = self.directory / files.basename
        return {
            "card": stem.with_name(f"{files.basename}.jpg"),
            "story": stem.with_name(f"{files.basename}.story.jpg"),
            "caption": stem.with_name(f"{files.basename}.txt"),
            "alt": stem.with_name(f"{files.basename}.alt.txt"),
            "meta": stem.with_name(f"{files.basename}.json"),
        }

    def publish(self, files: PostFiles) -> Published:
        """Write the card, caption, alt text and metadata."""
        paths = self._paths(files)
        if not files.card.is_file():
            raise PostRejected(f"card file is missing: {files.card}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _copy_atomic(files.card, paths["card"])
            _write_atomic(paths["caption"], files.caption + "\n")
            _write_atomic(paths["alt"], files.alt_text + "\n")
            meta = {
                "post_id": files.post_id,
                "link": files.link,
                "article_link": files.article_link,
                "card": paths["card"].name,
                **files.metadata,
            }
            _write_atomic(paths["meta"], json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        except OSError as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc
        return Published(media_id=files.basename, permalink=str(paths["card"]))

    def publish_story(self, files: PostFiles) -> Published:
        """Write the story card next to the post."""
        if files.story is None or not files.story.is_file():
            raise PostRejected("story card file is missing")
        target = self._paths(files)["story"]
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _copy_atomic(files.story, target)
        except OSError as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc
        return Published(media_id=f"{files.basename}.story", permalink=str(target))

    def find_published(self, files: PostFiles) -> Published | None:
        """The post is out if its metadata file exists."""
        paths = self._paths(files)
        if paths["meta"].is_file() and paths["card"].is_file():
            return Published(media_id=files.basename, permalink=str(paths["card"]))
        return None

    def check(self) -> str:
        """The outbox folder must be writable."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if not os.access(self.directory, os.W_OK):
            raise Transient(f"outbox {self.directory} is not writable")
        return f"writes to {self.directory}"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _copy_atomic(source: Path, target: Path) -> None:
    tmp = target.with_name(target.name + ".tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
