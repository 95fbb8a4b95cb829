"""The post log's shapes, defined once for every face: a row, JSON, CSV, an event.

``bot log``, ``bot show`` and the web desk all show posts through these, so a field
added here appears everywhere at once. Times carry the configured zone's offset.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.models import Event, Followup, Post

# The fields of a post in ``bot log --format json|csv``, in order.
LOG_FIELDS = [
    "id", "feed", "account", "article_key", "title", "link", "status", "reason",
    "created_at", "posted_at", "attempts", "next_attempt_at", "permalink", "media_id",
    "shortcode", "card_path", "story_path", "story_status", "caption", "alt_text",
    "render_notes",
]


def post_record(post: Post, tz: ZoneInfo) -> dict[str, Any]:
    """A post as the JSON and CSV log show it; times in ``tz``, ISO 8601."""
    data: dict[str, Any] = {}
    for name in LOG_FIELDS:
        value = getattr(post, name)
        if isinstance(value, datetime):
            value = value.astimezone(tz).isoformat()
        elif hasattr(value, "value"):
            value = value.value
        data[name] = value
    return data


def event_record(event: Event, tz: ZoneInfo) -> dict[str, Any]:
    """An event as ``bot show --format json`` shows it."""
    return {"at": event.at.astimezone(tz).isoformat(), "actor": event.actor,
            "kind": event.kind, "from": event.from_status, "to": event.to_status,
            "reason": event.reason}


def followup_record(record: Followup, tz: ZoneInfo) -> dict[str, Any]:
    """A follow-up (correction or takedown) as ``bot show`` and the desk show it."""
    data: dict[str, Any] = {}
    for name, value in record.__dict__.items():
        if isinstance(value, datetime):
            value = value.astimezone(tz).isoformat()
        elif hasattr(value, "value"):
            value = value.value
        data[name] = value
    return data


def posts_json(posts: Iterable[Post], tz: ZoneInfo) -> str:
    """The posts as a JSON array."""
    return json.dumps([post_record(p, tz) for p in posts], ensure_ascii=False, indent=2)


def posts_csv(posts: Iterable[Post], tz: ZoneInfo) -> str:
    """The posts as CSV with a header row of :data:`LOG_FIELDS`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=LOG_FIELDS)
    writer.writeheader()
    writer.writerows(post_record(p, tz) for p in posts)
    return buffer.getvalue()
