"""Checks a rendered post against Instagram's limits before it is queued.

MINIMAL VERSION (issue 2): caption length and card file size. Issue 4 completes it.
"""

from __future__ import annotations

from pathlib import Path

from bot.errors import PreflightError

MAX_CAPTION_CHARS = 2200
MAX_FILE_BYTES = 8 * 1024 * 1024


def check_post(caption: str, card_path: Path) -> None:
    """Raise PreflightError (Indonesian / English) if the post breaks a limit."""
    if len(caption) > MAX_CAPTION_CHARS:
        raise PreflightError(
            f"Keterangan terlalu panjang ({len(caption)} karakter, maks {MAX_CAPTION_CHARS}) / "
            f"caption too long ({len(caption)} characters, max {MAX_CAPTION_CHARS})"
        )
    size = card_path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PreflightError(
            f"Berkas kartu terlalu besar ({size} bita) / card file too large ({size} bytes)"
        )
