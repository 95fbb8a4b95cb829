"""Alerts: an ERROR log line, an event, and optionally a JSON POST to a webhook.

One alert per incident, not one per tick: an incident is opened under a key (such as
``account:editorialkaltim:stopped``) and stays open, silently, until it is resolved.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests

from bot.store import Store

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = (3.05, 10)
# The one incident for a full disk, whichever step met it first; the next successful
# write (a render or an outbox post) resolves it.
DISK_FULL = "disk:full"


class Alerter:
    """Raises and resolves alert incidents."""

    def __init__(self, store: Store, clock: Callable[[], datetime],
                 webhook: str | None = None) -> None:
        self.store = store
        self.clock = clock
        self.webhook = webhook if webhook is not None else os.environ.get("BOT_ALERT_WEBHOOK")

    def alert(
        self,
        key: str,
        message: str,
        *,
        actor: str,
        account: str | None = None,
        feed: str | None = None,
        post_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> bool:
        """Open an incident; log, record and send it only if it was not already open."""
        now = self.clock()
        if not self.store.open_alert(key, message, now):
            return False
        log.error("ALERT %s", message, extra={"account": account, "feed": feed,
                                              "post_id": post_id})
        self.store.add_event(at=now, actor=actor, kind="alert", reason=message, account=account,
                             feed=feed, post_id=post_id, data={"key": key, **(data or {})})
        self._send({"key": key, "message": message, "account": account, "feed": feed,
                    "post_id": post_id, "at": now.isoformat(), **(data or {})})
        return True

    def resolve(self, key: str, message: str, *, actor: str, account: str | None = None,
                feed: str | None = None) -> bool:
        """Close an open incident (and record that it cleared)."""
        now = self.clock()
        if not self.store.resolve_alert(key, now):
            return False
        log.info("resolved: %s", message, extra={"account": account, "feed": feed})
        self.store.add_event(at=now, actor=actor, kind="alert_resolved", reason=message,
                             account=account, feed=feed, data={"key": key})
        return True

    def _send(self, payload: dict[str, Any]) -> None:
        if not self.webhook:
            return
        try:
            response = requests.post(self.webhook, json=payload, timeout=WEBHOOK_TIMEOUT)
            response.raise_for_status()
        except requests.RequestException as exc:
            # The alert is already logged and recorded; a dead webhook must not stop work.
            log.warning("alert webhook failed: %s", type(exc).__name__)
