"""The default publisher: writes each post's files into ``<data dir>/outbox/``.

The file names and the metadata are defined here once; ``bot preview`` writes its
files through :func:`outbox_paths` and :func:`write_post_files` too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bot.errors import PostRejected, Transient
from bot.files import copy_atomic, write_atomic
from bot.publishers.base import PostFiles, Published, Publisher


def outbox_paths(directory: Path, basename: str) -> dict[str, Path]:
    """The files of one post: ``card``, ``story``, ``caption``, ``alt`` and ``meta``."""
    return {
        "card": directory / f"{basename}.jpg",
        "story": directory / f"{basename}.story.jpg",
        "caption": directory / f"{basename}.txt",
        "alt": directory / f"{basename}.alt.txt",
        "meta": directory / f"{basename}.json",
    }


def post_metadata(files: PostFiles, **extra: Any) -> dict[str, Any]:
    """The ``.json`` metadata of one post."""
    return {
        "post_id": files.post_id,
        "link": files.link,
        "article_link": files.article_link,
        "card": f"{files.basename}.jpg",
        **files.metadata,
        **extra,
    }


def write_post_files(directory: Path, files: PostFiles, *, story: bool = False,
                     **extra: Any) -> dict[str, Path]:
    """Write the card (and story), caption, alt text, then the metadata, each atomically.

    The ``.json`` file comes last: its presence means the post is complete.
    """
    paths = outbox_paths(directory, files.basename)
    directory.mkdir(parents=True, exist_ok=True)
    copy_atomic(files.card, paths["card"])
    if story and files.story is not None:
        copy_atomic(files.story, paths["story"])
    write_atomic(paths["caption"], files.caption + "\n")
    write_atomic(paths["alt"], files.alt_text + "\n")
    meta = post_metadata(files, **extra)
    write_atomic(paths["meta"], json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    return paths


class OutboxPublisher(Publisher):
    """Writes ``<id>-<slug>.jpg``, ``.story.jpg``, ``.txt``, ``.alt.txt`` and ``.json``.

    The ``.json`` file is written last and atomically: its presence means the post is
    complete, which is what the exactly-once check looks for.
    """

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, files: PostFiles) -> dict[str, Path]:
        return outbox_paths(self.directory, files.basename)

    def publish(self, files: PostFiles) -> Published:
        """Write the card, caption, alt text and metadata."""
        paths = self._paths(files)
        if not files.card.is_file():
            raise PostRejected(f"card file is missing: {files.card}")
        try:
            write_post_files(self.directory, files)
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
            copy_atomic(files.story, target)
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
