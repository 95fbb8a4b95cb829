"""Handing freed memory back to the operating system.

Rendering a card allocates tens of megabytes (a decoded photo, canvases, the JPEG) and
frees them again, and so does an upload. glibc's allocator keeps much of what was
freed inside the process, so a daemon that rendered once would stay near its peak for
good. :func:`trim` asks it to return the free memory (``malloc_trim``); the daemon
calls it after work that allocated a lot. Where the C library has no ``malloc_trim``
(musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None)
    return trim


def trim() -> bool:
    """Return freed heap memory to the OS; True if the C library could be asked."""
    release = _malloc_trim()
    if release is None:
        return False
    release(0)
    return True
