"""What the Telegram face keeps in the store: its message queue and its cursors.

- ``telegram_messages``: every message to send, one row per chat, with its status
  (``pending``, ``sent``, ``failed``, ``dropped``), attempts and next try, and once
  sent its ``message_id`` (so an approval card can be edited to show the decision).
- ``telegram_state``: the id of the last event announced (``events_cursor``), the
  ``getUpdates`` offset (``updates_offset``) and the date of the last digest.

The messages for a batch of events and the advanced cursor are written in one
transaction, so an event is announced once even across a crash; ``(event_id,
chat_id)`` is unique besides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.models import Event
from bot.store import Store, events, telegram_messages, telegram_state

PENDING, SENT, FAILED, DROPPED = "pending", "sent", "failed", "dropped"
EVENTS_CURSOR = "events_cursor"
UPDATES_OFFSET = "updates_offset"
DIGEST_DATE = "digest_date"


@dataclass(frozen=True)
class NewMessage:
    """A message to queue for one chat."""

    chat_id: int
    kind: str
    text: str = ""
    event_id: int | None = None
    post_id: int | None = None


@dataclass(frozen=True)
class OutMessage:
    """A queued or sent message."""

    id: int
    chat_id: int
    kind: str
    event_id: int | None
    post_id: int | None
    text: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    sent_at: datetime | None
    message_id: int | None
    has_photo: bool
    last_error: str | None
    decided_at: datetime | None


class TelegramLedger:
    """Typed access to the Telegram tables."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- named values --------------------------------------------------------------

    def get(self, key: str) -> str | None:
        """A named value, or None."""
        with self.store.begin() as conn:
            return conn.execute(sa.select(telegram_state.c.value)
                                .where(telegram_state.c.key == key)).scalar()

    def set(self, key: str, value: str, at: datetime,
            conn: sa.Connection | None = None) -> None:
        """Set a named value (in the caller's transaction when ``conn`` is given)."""
        if conn is None:
            with self.store.begin() as own:
                self._set(own, key, value, at)
        else:
            self._set(conn, key, value, at)

    @staticmethod
    def _set(conn: sa.Connection, key: str, value: str, at: datetime) -> None:
        changed = conn.execute(telegram_state.update().where(telegram_state.c.key == key)
                               .values(value=value, updated_at=at)).rowcount
        if not changed:
            conn.execute(telegram_state.insert().values(key=key, value=value, updated_at=at))

    def claim_update(self, update_id: int, at: datetime) -> bool:
        """Move the stored ``getUpdates`` offset past ``update_id``; False if already past it.

        Claimed before the update is handled, so that it is handled at most once even
        when Telegram delivers it again (after a restart that never confirmed it).
        """
        with self.store.begin() as conn:
            current = conn.execute(sa.select(telegram_state.c.value)
                                   .where(telegram_state.c.key == UPDATES_OFFSET)).scalar()
            if current is None:
                conn.execute(telegram_state.insert().values(
                    key=UPDATES_OFFSET, value=str(update_id + 1), updated_at=at))
                return True
            if int(current) > update_id:
                return False
            # Compare-and-set on the old value: two readers never both claim one update.
            changed = conn.execute(
                telegram_state.update()
                .where(telegram_state.c.key == UPDATES_OFFSET,
                       telegram_state.c.value == current)
                .values(value=str(update_id + 1), updated_at=at)).rowcount
            return bool(changed)

    def offset(self) -> int | None:
        """The next ``getUpdates`` offset, or None before the first update."""
        value = self.get(UPDATES_OFFSET)
        return int(value) if value is not None else None

    # -- events --------------------------------------------------------------------

    def last_event_id(self) -> int:
        """The newest event's id (0 with none)."""
        with self.store.begin() as conn:
            return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)

    def events_after(self, event_id: int, limit: int = 200) -> list[Event]:
        """Events newer than ``event_id``, oldest first."""
        with self.store.begin() as conn:
            rows = conn.execute(sa.select(events).where(events.c.id > event_id)
                                .order_by(events.c.id).limit(limit))
            return [Event.from_row(r) for r in rows]

    def record(self, messages: Iterable[NewMessage], *, cursor: int | None, at: datetime,
               state: dict[str, str] | None = None) -> int:
        """Queue ``messages`` and move the events cursor, in one transaction; count queued."""
        queued = 0
        with self.store.begin() as conn:
            for message in messages:
                if message.event_id is not None and conn.execute(
                        sa.select(telegram_messages.c.id).where(
                            telegram_messages.c.event_id == message.event_id,
                            telegram_messages.c.chat_id == message.chat_id)).first():
                    continue
                conn.execute(telegram_messages.insert().values(
                    chat_id=message.chat_id, kind=message.kind, event_id=message.event_id,
                    post_id=message.post_id, text=message.text, status=PENDING, attempts=0,
                    created_at=at, has_photo=False))
                queued += 1
            if cursor is not None:
                self._set(conn, EVENTS_CURSOR, str(cursor), at)
            for key, value in (state or {}).items():
                self._set(conn, key, value, at)
        return queued

    # -- messages ------------------------------------------------------------------

    def due(self, now: datetime, limit: int = 20) -> list[OutMessage]:
        """Pending messages whose time has come, oldest first."""
        c = telegram_messages.c
        with self.store.begin() as conn:
            rows = conn.execute(sa.select(telegram_messages).where(
                c.status == PENDING,
                sa.or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now))
                .order_by(c.id).limit(limit))
            return [_message(r) for r in rows]

    def messages(self, *, kind: str | None = None, post_id: int | None = None,
                 status: str | None = None) -> list[OutMessage]:
        """Messages, oldest first, filtered."""
        c = telegram_messages.c
        query = sa.select(telegram_messages).order_by(c.id)
        if kind is not None:
            query = query.where(c.kind == kind)
        if post_id is not None:
            query = query.where(c.post_id == post_id)
        if status is not None:
            query = query.where(c.status == status)
        with self.store.begin() as conn:
            return [_message(r) for r in conn.execute(query)]

    def undecided_approvals(self, post_id: int | None = None) -> list[OutMessage]:
        """Sent approval messages that do not show a decision yet."""
        c = telegram_messages.c
        query = sa.select(telegram_messages).where(
            c.kind == "approval", c.status == SENT, c.decided_at.is_(None)).order_by(c.id)
        if post_id is not None:
            query = query.where(c.post_id == post_id)
        with self.store.begin() as conn:
            return [_message(r) for r in conn.execute(query)]

    def mark_sent(self, message_id: int, *, telegram_id: int, has_photo: bool, text: str,
                  at: datetime) -> None:
        """The message went out as Telegram message ``telegram_id``."""
        self._update(message_id, status=SENT, message_id=telegram_id, has_photo=has_photo,
                     text=text, sent_at=at, last_error=None, next_attempt_at=None)

    def mark_retry(self, message: OutMessage, *, error: str, at: datetime,
                   count: bool = True) -> None:
        """Try again at ``at``; ``count`` adds an attempt (a 429 does not)."""
        self._update(message.id, next_attempt_at=at, last_error=error,
                     attempts=message.attempts + (1 if count else 0))

    def mark_failed(self, message: OutMessage, *, error: str) -> None:
        """Given up on."""
        self._update(message.id, status=FAILED, last_error=error,
                     attempts=message.attempts + 1, next_attempt_at=None)

    def mark_dropped(self, message_id: int, *, reason: str) -> None:
        """No longer worth sending (an approval whose post moved on before it went out)."""
        self._update(message_id, status=DROPPED, last_error=reason, next_attempt_at=None)

    def mark_decided(self, message_id: int, at: datetime) -> None:
        """The approval message now shows the decision."""
        self._update(message_id, decided_at=at)

    def _update(self, row_id: int, /, **values: object) -> None:
        with self.store.begin() as conn:
            conn.execute(telegram_messages.update()
                         .where(telegram_messages.c.id == row_id).values(**values))


def _message(row: sa.Row[tuple[object, ...]]) -> OutMessage:
    data = row._asdict()
    data["attempts"] = data["attempts"] or 0
    data["has_photo"] = bool(data["has_photo"])
    data["text"] = data["text"] or ""
    return OutMessage(**data)
