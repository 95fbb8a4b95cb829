"""Jinja2 templates shipped in the package, with autoescape on for every template."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.dates import relatif, waktu
from bot.pipeline.render import EDITABLE
from bot.web.texts import (
    ACCOUNT_LABELS,
    FOLLOWUP_KINDS,
    STATUS_HELP,
    STATUS_LABELS,
    STORY_LABELS,
)

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


@cache
def environment() -> Environment:
    """The template environment: autoescape always on, undefined names are errors."""
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(STATUS_LABELS=STATUS_LABELS, STATUS_HELP=STATUS_HELP,
                       STORY_LABELS=STORY_LABELS, ACCOUNT_LABELS=ACCOUNT_LABELS,
                       FOLLOWUP_KINDS=FOLLOWUP_KINDS,
                       EDITABLE=EDITABLE)
    return env


def render(template: str, *, tz: tzinfo, now: datetime, **context: Any) -> str:
    """Render ``template`` with the time helpers bound to the configured zone."""
    def when(moment: datetime | str | None) -> str:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return waktu(moment, tz)

    def ago(moment: datetime | str | None) -> str:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return relatif(moment, now)

    def iso(moment: datetime | str | None) -> str:
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else ""

    return environment().get_template(template).render(
        when=when, ago=ago, iso=iso, now=now, tzname=now.astimezone(tz).tzname(), **context)
