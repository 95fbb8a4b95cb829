"""The default publisher: writes each post's files into ``<data dir>/outbox/``.

The file names and the metadata are defined here once; ``bot preview`` writes its
files through :func:`outbox_paths` and :func:`write_post_files` too.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.errors import DiskFull, PostRejected, Transient
from bot.files import copy_atomic, private_dir, write_atomic
from bot.models import UploadStage
from bot.publishers.base import LivePost, LiveState, PostFiles, Progress, Published, Publisher


def outbox_paths(directory: Path, basename: str) -> dict[str, Path]:
    """The files of one post: ``card``, ``story``, ``caption``, ``alt`` and ``meta``."""
    return {
        "card": directory / f"{basename}.jpg",
        "story": directory / f"{basename}.story.jpg",
        "caption": directory / f"{basename}.txt",
        "alt": directory / f"{basename}.alt.txt",
        "meta": directory / f"{basename}.json",
        "followup": directory / f"{basename}.followup.json",
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
                     progress: Progress | None = None, **extra: Any) -> dict[str, Path]:
    """Write the card (and story), caption, alt text, then the metadata, each atomically.

    The ``.json`` file comes last: its presence means the post is complete, so
    ``progress`` hears ``CONFIGURE_SENT`` just before it. Files are 0600, a folder this
    makes 0700; a full disk raises :class:`bot.errors.DiskFull`.
    """
    paths = outbox_paths(directory, files.basename)
    private_dir(directory)
    copy_atomic(files.card, paths["card"])
    if story and files.story is not None:
        copy_atomic(files.story, paths["story"])
    write_atomic(paths["caption"], files.caption + "\n")
    write_atomic(paths["alt"], files.alt_text + "\n")
    if progress is not None:
        progress(UploadStage.UPLOADED)
        progress(UploadStage.CONFIGURE_SENT)
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

    def publish(self, files: PostFiles, progress: Progress | None = None) -> Published:
        """Write the card, caption, alt text and metadata."""
        paths = self._paths(files)
        if not files.card.is_file():
            raise PostRejected(f"card file is missing: {files.card}")
        try:
            write_post_files(self.directory, files, progress=progress)
        except OSError as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc
        return Published(media_id=files.basename, permalink=str(paths["card"]))

    def publish_story(self, files: PostFiles) -> Published:
        """Write the story card next to the post."""
        if files.story is None or not files.story.is_file():
            raise PostRejected("story card file is missing")
        target = self._paths(files)["story"]
        try:
            private_dir(self.directory)
            copy_atomic(files.story, target)
        except OSError as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc
        return Published(media_id=f"{files.basename}.story", permalink=str(target))

    def find_published(self, files: PostFiles, since: datetime | None = None, *,
                       newer: int = 0) -> Published | None:
        """The post is out if its metadata file exists."""
        paths = self._paths(files)
        if paths["meta"].is_file() and paths["card"].is_file():
            return Published(media_id=files.basename, permalink=str(paths["card"]))
        return None

    # -- follow-ups: what the outbox would have done on Instagram ----------------------

    def edit_caption(self, post: LivePost, caption: str) -> None:
        """Record the new caption in ``<post id>-<slug>.followup.json`` (and the ``.txt``)."""
        self._follow_up(post, {"action": "edit_caption", "caption": caption})
        try:
            write_atomic(outbox_paths(self.directory, post.basename)["caption"], caption + "\n")
        except (OSError, DiskFull) as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc

    def archive(self, post: LivePost) -> None:
        """Record that the post would have been archived (only me)."""
        self._follow_up(post, {"action": "archive"})

    def live_state(self, post: LivePost) -> LiveState:
        """The caption and archive state the follow-up file records, else the post's own."""
        actions = self._actions(post)
        caption: str | None = None
        for action in actions:
            if action.get("action") == "edit_caption":
                caption = str(action.get("caption"))
        if caption is None:
            path = outbox_paths(self.directory, post.basename)["caption"]
            caption = path.read_text(encoding="utf-8").rstrip("\n") if path.is_file() else None
        return LiveState(caption=caption,
                         archived=any(a.get("action") == "archive" for a in actions))

    def _actions(self, post: LivePost) -> list[dict[str, Any]]:
        path = outbox_paths(self.directory, post.basename)["followup"]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise Transient(f"cannot read {path}: {exc}") from exc
        return list(data.get("actions") or [])

    def _follow_up(self, post: LivePost, action: dict[str, Any]) -> None:
        path = outbox_paths(self.directory, post.basename)["followup"]
        actions = [*self._actions(post), action]
        data = {"post_id": post.post_id, "media_id": post.media_id,
                "permalink": post.permalink, "actions": actions}
        try:
            private_dir(self.directory)
            write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
        except (OSError, DiskFull) as exc:
            raise Transient(f"cannot write to the outbox {self.directory}: {exc}") from exc

    def check(self) -> str:
        """The outbox folder must be writable."""
        private_dir(self.directory)
        if not os.access(self.directory, os.W_OK):
            raise Transient(f"outbox {self.directory} is not writable")
        return f"writes to {self.directory}"
