"""A real small disk for full-disk tests: a tmpfs the test mounts, fills and frees.

Mounting needs root (or CAP_SYS_ADMIN); where it is not permitted the tests that use
:func:`small_disk` are skipped with the reason. The mount is always undone.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class SmallDisk:
    """A mounted tmpfs of ``size`` bytes at ``path``."""

    path: Path
    size: int

    def fill(self) -> Path:
        """Take every free byte with a filler file (``free()`` gives them back)."""
        filler = self.path / ".filler"
        with filler.open("ab", buffering=0) as handle:
            for size in (65536, 4096, 1):  # then single bytes, so even a tiny write fails
                try:
                    while handle.write(b"\0" * size):
                        pass
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        return filler

    def free(self) -> None:
        """Give the filler's space back."""
        (self.path / ".filler").unlink(missing_ok=True)

    def free_bytes(self) -> int:
        """Bytes still free."""
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize


@contextmanager
def mounted_disk(target: Path, size: int) -> Iterator[SmallDisk]:
    """A tmpfs of ``size`` bytes mounted at ``target`` (made if missing), unmounted after;
    the test is skipped where mounting is not allowed."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700",
                               "tmpfs", str(target)], capture_output=True, text=True,
                              timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs for the full-disk test: {exc}")
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs for the full-disk test (needs root or "
                    f"CAP_SYS_ADMIN): {done.stderr.strip() or done.returncode}")
    try:
        yield SmallDisk(target, size)
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30,
                       check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A 2 MiB tmpfs mounted under ``tmp_path``; skipped where mounting is not allowed."""
    with mounted_disk(tmp_path / "small-disk", 2 * 1024 * 1024) as disk:
        yield disk
