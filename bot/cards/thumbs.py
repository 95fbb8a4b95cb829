"""Small copies of rendered cards for the link-in-bio page, made once and cached.

A 1080×1350 card is 200–400 KB; the bio page shows thirty of them to a phone that may
be on 3G, so each gets a 360 px wide progressive JPEG of a few dozen KB. The cache
file's name carries the card's size and modification time, so a re-rendered card
gets a fresh thumbnail and a stale one is never served.
"""

from __future__ import annotations

import errno
import hashlib
import io
from pathlib import Path

from PIL import Image

from bot.errors import DiskFull
from bot.files import write_atomic

THUMB_WIDTH = 360
THUMB_QUALITY = 70


def thumbnail(card: Path, cache_dir: Path, *, width: int = THUMB_WIDTH,
              quality: int = THUMB_QUALITY) -> Path:
    """The cached thumbnail of ``card`` (made now if missing); OSError if unreadable."""
    stat = card.stat()
    digest = hashlib.sha256(
        f"{card.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{width}|{quality}".encode()
    ).hexdigest()[:20]
    target = cache_dir / f"{card.stem}-{width}-{digest}.jpg"
    if target.is_file():
        return target
    with Image.open(card, formats=("JPEG",)) as image:
        # draft() lets libjpeg decode at 1/2 or 1/4 scale: a thumbnail never needs
        # the full 1080 px.
        image.draft("RGB", (width, width * 2))
        small = image.convert("RGB")
        height = round(small.height * width / small.width)
        small = small.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=quality, progressive=True, optimize=True)
    try:
        write_atomic(target, buffer.getvalue())  # 0600 in a 0700 folder, as the data dir
    except DiskFull as exc:
        raise OSError(errno.ENOSPC, str(exc)) from exc
    for old in cache_dir.glob(f"{card.stem}-{width}-*.jpg"):
        if old != target:
            old.unlink(missing_ok=True)
    return target
