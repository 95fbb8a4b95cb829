"""Logging to stderr: one line per event, human-readable or JSON, secrets redacted.

Human lines carry a timestamp in the configured timezone, the level, the feed or
account, and the post id::

    2026-11-28 13:05:01 WITA INFO  feed=utama post=12 polled: 10 entries, 1 new

``--log-format json`` (or ``BOT_LOG_FORMAT=json``) prints one JSON object per line.
Secrets (passwords, TOTP seeds, session cookies, authorization headers) are redacted
from messages and tracebacks, including instagrapi's own log lines.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from bot.redact import install_log_redaction, register_secret

_CONTEXT_FIELDS = ("feed", "account", "post_id")


def register_env_secrets() -> None:
    """Scrub, verbatim, the values of environment variables that hold secrets."""
    for name, value in os.environ.items():
        if re.search(r"PASSWORD|SECRET|TOTP|TOKEN|SESSION|_KEY$", name):
            register_secret(value)
    for name in ("DATABASE_URL", "BOT_ALERT_WEBHOOK"):
        # A URL may carry a password in its user-info.
        password = urlsplit(os.environ.get(name, "")).password
        register_secret(password)


class HumanFormatter(logging.Formatter):
    """``2026-11-28 13:05:01 WITA INFO  feed=utama post=12 message``."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        """One line per record (tracebacks indented below)."""
        when = datetime.fromtimestamp(record.created, UTC).astimezone(self.tz)
        context = " ".join(
            f"{'post' if name == 'post_id' else name}={getattr(record, name)}"
            for name in _CONTEXT_FIELDS if getattr(record, name, None) is not None)
        line = f"{when:%Y-%m-%d %H:%M:%S %Z} {record.levelname:<5} "
        if context:
            line += context + " "
        line += record.getMessage()
        if record.exc_text:
            line += "\n" + record.exc_text
        elif record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for hosted log collectors."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__()
        self.tz = tz

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON."""
        when = datetime.fromtimestamp(record.created, UTC).astimezone(self.tz)
        data: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                data[name] = value
        if record.exc_text:
            data["traceback"] = record.exc_text
        elif record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def setup_logging(*, tz: tzinfo, fmt: str | None = None, level: str | None = None) -> None:
    """Configure the root logger: stderr, chosen format, redaction, quiet libraries."""
    fmt = (fmt or os.environ.get("BOT_LOG_FORMAT") or "human").lower()
    level_name = (level or os.environ.get("BOT_LOG_LEVEL") or "INFO").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(tz) if fmt == "json" else HumanFormatter(tz))
    register_env_secrets()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level_name, logging.INFO))
    # Libraries speak at WARNING unless we debug; instagrapi logs request bodies.
    library_level = logging.DEBUG if level_name == "DEBUG" else logging.WARNING
    install_log_redaction(handler, library_level=library_level)
    for name in ("apscheduler", "PIL", "requests"):
        logging.getLogger(name).setLevel(library_level)
