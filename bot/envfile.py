"""The ``.env`` file: variables for a process, read from its working directory.

As honcho and foreman do, ``bot`` reads ``./.env`` once at start-up, before any option
or setting is read, and sets each variable it names **that is not already set**: the
host's environment (a PaaS's config vars, a systemd ``Environment=``) always wins, so a
stray ``.env`` left in a release never overrides production settings.

Two choices, for people who copy ``config/.env.example`` to ``.env`` and fill in part:

- A variable given an empty value (``IG_TOTP_SECRET=``) is left unset, as if the line
  were not there. Every empty value in the example then means "not used".
- A line python-dotenv cannot parse is reported on stderr by its number (never its
  text, which may hold a secret), and the rest of the file is still read.

Parsing is python-dotenv's (quotes, ``export``, ``#`` comments, ``${VAR}``
expansion), so the file means here what it means to every other tool.
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE = ".env"

log = logging.getLogger("bot.envfile")


def load_env_file(path: Path | str = ENV_FILE,
                  environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set the variables ``path`` names that ``environ`` lacks; return their names.

    A missing file is not an error (most hosts have none). An unreadable one is
    reported and skipped: the variables it would have set are then missing, and the
    command that needs them says which.
    """
    env = os.environ if environ is None else environ
    path = Path(path)
    if not path.is_file():
        return []
    try:
        values = dotenv_values(path, interpolate=True, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("could not read %s (%s); its variables are not set",
                    path, type(exc).__name__)
        return []
    loaded = []
    for name, value in values.items():
        if value is None or value == "" or name in env:
            continue
        env[name] = value
        loaded.append(name)
    return loaded
