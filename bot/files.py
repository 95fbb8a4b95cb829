"""Writing files in the data dir: private, and atomically, so a crash never leaves half a card.

Everything the bot writes is 0600 and every folder it makes 0700: the data dir holds
the store (with the Instagram session), cards before they are public, the photo cache
and the outbox. The modes are set at creation, with ``os.open``/``os.mkdir`` modes and
an explicit ``chmod`` (a umask can only take bits away, and the caller's may be 0), so
no file is readable by others even for the moment between creating and tightening it.

Writes go through a temporary file in the same folder and ``os.replace``, so a crash or
a full disk never leaves half a file under the final name. A full disk (or quota) is
raised as :class:`bot.errors.DiskFull`, which callers treat as transient; other
``OSError`` s pass through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Final

from bot.errors import DiskFull

DIR_MODE: Final = 0o700
FILE_MODE: Final = 0o600
_DISK_FULL: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def private_dir(path: Path) -> Path:
    """``path`` as a folder, creating it and missing parents 0700 (existing ones are kept)."""
    missing: list[Path] = []
    current = path
    while not current.exists() and not current.is_symlink():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    with disk_full_as_transient(path):
        for folder in reversed(missing):
            with contextlib.suppress(FileExistsError):  # another process made it meanwhile
                os.mkdir(folder, DIR_MODE)
                os.chmod(folder, DIR_MODE)
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
    return path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` as a 0600 file, through a temporary file and a rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _private_tmp(path) as (handle, tmp):
        handle.write(payload)
        handle.close()
        os.replace(tmp, path)


def copy_atomic(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` as a 0600 file, through a temporary file and a rename."""
    if source.resolve() == target.resolve():
        return
    with _private_tmp(target) as (handle, tmp):
        with source.open("rb") as src:
            shutil.copyfileobj(src, handle)
        handle.close()
        os.replace(tmp, target)


def private_file(path: Path) -> Path:
    """Create ``path`` empty as a 0600 file if it is missing; tighten it if it exists."""
    private_dir(path.parent)
    with disk_full_as_transient(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
        finally:
            os.close(fd)
    return path


@contextlib.contextmanager
def _private_tmp(path: Path) -> Iterator[tuple[BinaryIO, Path]]:
    """A 0600 temporary file open beside ``path``; removed if the block fails."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with disk_full_as_transient(path):
        handle = os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE), "wb")
        try:
            os.fchmod(handle.fileno(), FILE_MODE)
            yield handle, tmp
        except BaseException:
            with contextlib.suppress(OSError):
                handle.close()  # a full disk may fail the flush; the file goes anyway
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        finally:
            with contextlib.suppress(OSError):
                handle.close()


@contextlib.contextmanager
def disk_full_as_transient(path: Path) -> Iterator[None]:
    """Raise :class:`DiskFull` for an ``OSError`` that says the disk or quota is full."""
    try:
        yield
    except DiskFull:
        raise
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            raise DiskFull(f"disk full writing {path}: {exc.strerror}", path=path) from exc
        raise


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` or what caused it says the disk or quota is full (SQLite too)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return True
        if isinstance(current, OSError) and current.errno in _DISK_FULL:
            return True
        if "database or disk is full" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False
