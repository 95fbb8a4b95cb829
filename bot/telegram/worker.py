"""The Telegram face of ``bot run``: announcements out, button presses in.

Two daemon threads, apart from the scheduler's jobs, so a slow or dead Telegram never
delays a poll or an upload:

- **send** (every second): reads the events recorded since its cursor and queues
  what the team must hear: alerts and their resolution, posts entering
  ``pending_approval`` (their card, with "Setujui"/"Lewati" buttons), failed posts,
  follow-ups (corrections and takedowns, as their alerts say them); at ``digest_at``
  it queues the day's digest. Then it sends what is due. Messages and the cursor are
  written in one transaction (``telegram_messages``), so each event is announced
  once, across restarts. A 429 holds every message for its ``retry_after``; a
  connection failure, timeout or 5xx is retried with backoff, up to
  :data:`MAX_ATTEMPTS`; a message that cannot be sent is recorded as a
  ``telegram_failed`` event. An approval card whose post has moved on (approved or
  skipped from any face, or failed) is edited to say who did what.
- **receive**: long-polls ``getUpdates``. Each update's id is claimed in the store
  (the stored offset) before it is handled, so it is handled once even when Telegram
  delivers it again after a restart. A press from a user not in ``approvers`` is
  answered "Tidak diizinkan" and changes nothing; an allowed press runs the facade's
  ``approve``/``skip`` with the actor ``telegram:<username or id>``.

The core knows nothing of this module: it reads the same event log that ``bot show``
prints.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import TelegramConfig
from bot.core import Bot
from bot.errors import (
    BotError,
    InvalidAction,
    NotFound,
    TelegramError,
    TelegramRateLimited,
    TelegramRejected,
    TelegramUnavailable,
)
from bot.models import Event, Post, Status
from bot.store import PostFilter
from bot.store.telegram import (
    DIGEST_DATE,
    EVENTS_CURSOR,
    NewMessage,
    OutMessage,
    TelegramLedger,
)
from bot.telegram import messages as m
from bot.telegram.client import (
    Button,
    CallbackQuery,
    Keyboard,
    TelegramClient,
    Update,
    check_token,
)

log = logging.getLogger(__name__)

ACTOR = "telegram"
TICK = 1.0  # seconds between send rounds
LONG_POLL = 25  # seconds a getUpdates call waits for a press
MAX_ATTEMPTS = 10  # failed tries of one message (429s not counted) before giving up
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MAX = timedelta(minutes=15)
# A card is rendered just after its post is created; an approval waits this long for it
# before it goes out as text.
RENDER_WAIT = timedelta(minutes=2)
# A digest is still worth sending this long after digest_at (the worker was down).
DIGEST_GRACE = timedelta(hours=1)
# An event id skipped over may belong to a transaction still committing (PostgreSQL
# hands out ids before commit); the cursor waits this long for it.
GAP_WAIT = timedelta(seconds=10)
_FAILED_ALERT_PREFIX = "post:"
_FOLLOWUP_ALERT_PREFIX = "followup:"


class TelegramWorker:
    """Sends the team's messages and handles their button presses."""

    def __init__(self, bot: Bot, client: TelegramClient, *,
                 stopping: threading.Event | None = None, long_poll: int = LONG_POLL,
                 tick: float = TICK) -> None:
        config = bot.config.telegram
        if config is None:
            raise ValueError("TelegramWorker needs a [telegram] section")
        self.bot = bot
        self.client = client
        self.config: TelegramConfig = config
        self.tz = bot.config.tz
        self.ledger = TelegramLedger(bot.store)
        self.stopping = stopping or threading.Event()
        self.long_poll = long_poll
        self.tick = tick
        self.paused_until: datetime | None = None
        self._threads: list[threading.Thread] = []
        self._handling = threading.Event()  # set while received updates are handled

    @classmethod
    def from_bot(cls, bot: Bot) -> TelegramWorker | None:
        """The worker for ``[telegram]``, or None without one; ConfigError without a token."""
        config = bot.config.telegram
        if config is None:
            return None
        token = check_token(os.environ.get(config.token_env), config.token_env)
        stopping = threading.Event()
        # The client's waits between tries end at once when the worker stops.
        return cls(bot, TelegramClient(token, sleep=stopping.wait), stopping=stopping)

    @property
    def clock(self) -> Callable[[], datetime]:
        """The bot's clock."""
        return self.bot.clock

    # -- threads -------------------------------------------------------------------

    def start(self) -> None:
        """Start the send and receive threads."""
        self._threads = [
            threading.Thread(target=self._sending, name="telegram-send", daemon=True),
            threading.Thread(target=self._receiving, name="telegram-receive", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads (bounded); a long poll still waiting is left to the process exit.

        A press being handled is waited for, so its action and its answer are not cut
        off; a ``getUpdates`` that is only waiting holds nothing and is not.
        """
        self.stopping.set()
        for thread in self._threads:
            waiting = thread.name == "telegram-receive" and not self._handling.is_set()
            thread.join(0.2 if waiting else timeout)
        if not any(t.is_alive() for t in self._threads):
            self.client.close()

    def _sending(self) -> None:
        try:
            me = self.client.get_me()
            log.info("telegram: sending as %s to %d chat(s); %d approver(s)", me.handle,
                     len(self.config.chat_ids), len(self.config.approvers))
        except TelegramError as exc:
            log.error("telegram: getMe failed (%s); messages wait in the store until "
                      "Telegram answers", exc)
        while not self.stopping.is_set():
            try:
                self.pump()
            except Exception:  # the telegram loop is an edge: it must go on
                log.exception("telegram: a send round failed")
            self.stopping.wait(self.tick)

    def _receiving(self) -> None:
        delay = 1.0
        while not self.stopping.is_set():
            try:
                self.receive(self.long_poll)
                delay = 1.0
                continue
            except TelegramRateLimited as exc:
                wait = exc.retry_after
                log.warning("telegram: getUpdates rate-limited; waiting %.0fs", wait)
            except TelegramRejected as exc:
                # 401: the token was revoked; 409: a webhook is set or another process
                # polls the same bot. Neither mends itself quickly.
                wait = 60.0
                log.error("telegram: getUpdates refused: %s; button presses are not "
                          "received (trying again in %.0fs)", exc, wait)
            except TelegramError as exc:
                wait = delay
                delay = min(delay * 2, 60.0)
                log.warning("telegram: getUpdates failed: %s; trying again in %.0fs", exc, wait)
            except Exception:  # the telegram loop is an edge: it must go on
                wait = delay
                delay = min(delay * 2, 60.0)
                log.exception("telegram: handling updates failed")
            self.stopping.wait(wait)

    # -- one send round --------------------------------------------------------------

    def pump(self) -> None:
        """One send round: queue new announcements and the digest, send, show decisions."""
        self.collect()
        self.queue_digest()
        self.send_due()
        self.settle_decisions()

    def collect(self) -> int:
        """Queue the messages for events recorded since the cursor; return how many."""
        now = self.clock()
        cursor = self.ledger.get(EVENTS_CURSOR)
        if cursor is None:
            return self._first_start(now)
        position = int(cursor)
        queued = 0
        while True:
            events = self.ledger.events_after(position, limit=200)
            batch = _contiguous(events, position, now)
            if not batch:
                return queued
            new = [message for event in batch for message in self._messages_for(event)]
            position = batch[-1].id
            queued += self.ledger.record(new, cursor=position, at=now)
            if len(batch) < len(events) or len(events) < 200:
                return queued

    def _first_start(self, now: datetime) -> int:
        # History is not announced; posts already waiting for approval are.
        messages: list[NewMessage] = []
        if "approvals" in self.config.send:
            waiting = PostFilter(status=[Status.PENDING_APPROVAL.value], limit=None)
            for post in self.bot.posts(waiting):
                messages += self._each("approval", "", post_id=post.id)
        queued = self.ledger.record(messages, cursor=self.ledger.last_event_id(), at=now)
        log.info("telegram: starting to announce from now on (%d post(s) already waiting "
                 "for approval)", queued // max(1, len(self.config.chat_ids)))
        return queued

    def _each(self, kind: str, text: str, *, event_id: int | None = None,
              post_id: int | None = None) -> list[NewMessage]:
        return [NewMessage(chat, kind, text, event_id, post_id) for chat in self.config.chat_ids]

    def _messages_for(self, event: Event) -> list[NewMessage]:
        send = set(self.config.send)
        key = str(event.data.get("key", ""))
        if key.startswith(_FOLLOWUP_ALERT_PREFIX) and event.kind in ("alert", "alert_resolved"):
            # A follow-up opens with an event and an alert; the alert names the permalink
            # and the action, so it is the one message (and its resolution the other).
            if "followups" not in send:
                return []
            subject = self.bot.post(event.post_id) if event.post_id is not None else None
            text = m.followup_text(
                m.facts(subject) if subject else None, event.reason,
                permalink=str(event.data.get("permalink") or "") or None, at=event.at,
                tz=self.tz, desk_url=self._desk_url(subject.id) if subject else None,
                resolved=event.kind == "alert_resolved")
            return self._each("followup", text, event_id=event.id, post_id=event.post_id)
        if event.kind == "alert" and "alerts" in send:
            if key.startswith(_FAILED_ALERT_PREFIX) and "failures" in send:
                return []  # the failed post's own message says it, with more detail
            text = m.alert_text(event.reason, account=event.account, feed=event.feed,
                                at=event.at, tz=self.tz)
            return self._each("alert", text, event_id=event.id, post_id=event.post_id)
        if event.kind == "alert_resolved" and "alerts" in send:
            if key.startswith(_FAILED_ALERT_PREFIX):
                return []
            text = m.resolved_text(event.reason, account=event.account, feed=event.feed,
                                   at=event.at, tz=self.tz)
            return self._each("resolved", text, event_id=event.id)
        if event.kind == "status" and event.post_id is not None:
            if event.to_status == Status.PENDING_APPROVAL and "approvals" in send:
                # Composed when it is sent: by then the card is rendered.
                return self._each("approval", "", event_id=event.id, post_id=event.post_id)
            if event.to_status == Status.FAILED and "failures" in send:
                post = self.bot.post(event.post_id)
                text = m.failure_text(m.facts(post), event.reason, at=event.at, tz=self.tz,
                                      desk_url=self._desk_url(post.id))
                return self._each("failure", text, event_id=event.id, post_id=post.id)
        return []

    def _desk_url(self, post_id: int) -> str | None:
        base = self.bot.config.web.public_url
        return f"{base.rstrip('/')}/posts/{post_id}" if base else None

    # -- the digest ----------------------------------------------------------------

    def queue_digest(self) -> bool:
        """Queue today's digest once ``digest_at`` has come (once a day); True if queued."""
        if "digest" not in self.config.send:
            return False
        now = self.clock()
        local = now.astimezone(self.tz)
        due = datetime.combine(local.date(), self.config.digest_at, tzinfo=self.tz)
        if not due <= local < due + DIGEST_GRACE:
            return False
        day = local.date().isoformat()
        if self.ledger.get(DIGEST_DATE) == day:
            return False
        text = self.digest(now)
        self.ledger.record(self._each("digest", text), cursor=None, at=now,
                           state={DIGEST_DATE: day})
        log.info("telegram: digest for %s queued", day)
        return True

    def digest(self, now: datetime) -> str:
        """The digest text for the local day of ``now``."""
        local = now.astimezone(self.tz)
        midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=self.tz)
        moved = self.bot.store.posts_moved_to(
            [Status.POSTED, Status.SKIPPED, Status.FAILED, Status.EXPIRED], midnight)
        totals: dict[str, int] = {}
        for post in moved:
            totals[post.status.value] = totals.get(post.status.value, 0) + 1
        status = self.bot.status()
        accounts = [m.AccountLine(
            name=a["name"], state=a["state"], until=_parse(a.get("until")),
            reason=a.get("reason") or "", next_slot=_parse(a.get("next_slot")),
            queued=int(a.get("queued") or 0), pending_approval=int(a.get("pending_approval")
                                                                  or 0),
            posted_today=int(a.get("posted_today") or 0), daily_cap=int(a.get("daily_cap")
                                                                        or 0))
            for a in status["accounts"]]
        titles = [p.title for p in moved if p.status == Status.POSTED]
        return m.digest_text(local.date(), totals, accounts, open_alerts=len(status["alerts"]),
                             now=now, tz=self.tz, posted_titles=titles)

    # -- sending -------------------------------------------------------------------

    def send_due(self) -> int:
        """Send the messages whose time has come; stop at the first sign of trouble."""
        now = self.clock()
        if self.paused_until and now < self.paused_until:
            return 0
        sent = 0
        for message in self.ledger.due(now):
            if self.stopping.is_set():
                break
            try:
                if self._deliver(message, now):
                    sent += 1
            except TelegramRateLimited as exc:
                self._rate_limited(exc, now)
                self.ledger.mark_retry(message, error=str(exc), at=self.paused_until or now,
                                       count=False)
                break
            except TelegramUnavailable as exc:
                # Telegram is down: every message waits with this one, in order.
                self.paused_until = self._failed_try(message, exc, now)
                break
            except TelegramRejected as exc:
                self._give_up(message, str(exc), now)
        return sent

    def _deliver(self, message: OutMessage, now: datetime) -> bool:
        if message.kind == "approval":
            return self._deliver_approval(message, now)
        sent = self.client.send_message(message.chat_id, message.text)
        self.ledger.mark_sent(message.id, telegram_id=sent.message_id, has_photo=False,
                              text=message.text, at=self.clock())
        return True

    def _deliver_approval(self, message: OutMessage, now: datetime) -> bool:
        assert message.post_id is not None
        try:
            post = self.bot.post(message.post_id)
        except NotFound:
            self.ledger.mark_dropped(message.id, reason="the post no longer exists")
            return False
        if post.status != Status.PENDING_APPROVAL:
            self.ledger.mark_dropped(message.id, reason=f"the post is {post.status} already")
            return False
        card = Path(post.card_path) if post.card_path else None
        has_card = card is not None and card.is_file()
        if not has_card and now - message.created_at < RENDER_WAIT:
            self.ledger.mark_retry(message, error="waiting for the card", count=False,
                                   at=now + timedelta(seconds=2))
            return False
        caption = m.approval_caption(m.facts(post), slot=self._slot_text(post, now),
                                     queue_ahead=self._queued(post.account))
        keyboard = self._keyboard(post, pending=True)
        sent = None
        if has_card:
            assert card is not None
            try:
                sent = self.client.send_photo(message.chat_id, card, caption, keyboard=keyboard)
            except TelegramRejected as exc:
                # A card Telegram will not take must not hide the question: ask in text.
                log.warning("telegram: card of post %d refused (%s); sending text", post.id, exc)
        if sent is None:
            sent = self.client.send_message(message.chat_id, caption, keyboard=keyboard)
        self.ledger.mark_sent(message.id, telegram_id=sent.message_id, has_photo=sent.has_photo,
                              text=caption, at=self.clock())
        return True

    def _keyboard(self, post: Post, *, pending: bool) -> Keyboard:
        rows: list[list[Button]] = []
        if pending:
            rows.append([Button("✅ Setujui", data=f"approve:{post.id}"),
                         Button("⏭️ Lewati", data=f"skip:{post.id}")])
        if url := self._desk_url(post.id):
            rows.append([Button("Buka", url=url)])
        return rows

    def _slot_text(self, post: Post, now: datetime) -> str:
        for account in self.bot.status()["accounts"]:
            if account["name"] == post.account:
                if account["state"] == "stopped":
                    return "akun sedang berhenti"
                return m.when_text(_parse(account.get("next_slot")), now, self.tz)
        return m.when_text(None, now, self.tz)

    def _queued(self, account: str) -> int:
        return len(self.bot.store.queued_posts(account))

    def _rate_limited(self, exc: TelegramRateLimited, now: datetime) -> None:
        self.paused_until = now + timedelta(seconds=exc.retry_after)
        log.warning("telegram: rate-limited; holding messages for %.0fs", exc.retry_after)

    def _failed_try(self, message: OutMessage, exc: TelegramError,
                    now: datetime) -> datetime | None:
        """Count a failed try; return when to try again (None: given up)."""
        attempts = message.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            self._give_up(message, f"{exc} (after {attempts} attempts)", now)
            return None
        wait: timedelta = min(BACKOFF_MAX, BACKOFF_FIRST * (2 ** (attempts - 1)))
        log.warning("telegram: %s message not sent (%s); trying again in %ds",
                    message.kind, exc, int(wait.total_seconds()))
        self.ledger.mark_retry(message, error=str(exc), at=now + wait)
        return now + wait

    def _give_up(self, message: OutMessage, error: str, now: datetime) -> None:
        self.ledger.mark_failed(message, error=error)
        reason = (f"Telegram {message.kind} message to chat {message.chat_id} not sent: "
                  f"{error}")
        log.error("telegram: %s", reason, extra={"post_id": message.post_id})
        self.bot.store.add_event(at=now, actor=ACTOR, kind="telegram_failed", reason=reason,
                                 post_id=message.post_id,
                                 data={"chat_id": message.chat_id, "kind": message.kind})

    # -- decisions on approval cards -------------------------------------------------

    def settle_decisions(self, post_id: int | None = None) -> int:
        """Edit sent approval cards whose post moved on to show who did what."""
        edited = 0
        for message in self.ledger.undecided_approvals(post_id):
            if self.stopping.is_set() and post_id is None:
                break
            assert message.post_id is not None
            post = self.bot.post(message.post_id)
            if post.status == Status.PENDING_APPROVAL:
                continue
            try:
                self._show_decision(message, post)
                edited += 1
            except TelegramRateLimited as exc:
                self._rate_limited(exc, self.clock())
                break
            except TelegramUnavailable as exc:
                log.warning("telegram: could not edit the card of post %d yet: %s", post.id, exc)
                break
            except TelegramRejected as exc:
                # Deleted by someone, or already showing it: nothing more to do there.
                log.info("telegram: card of post %d not edited: %s", post.id, exc)
                self.ledger.mark_decided(message.id, self.clock())
        return edited

    def _show_decision(self, message: OutMessage, post: Post) -> None:
        decisive = _decisive_event(self.bot.timeline(post.id))
        if decisive is not None:
            line = m.decision_line(decisive.to_status or str(post.status), decisive.actor,
                                   decisive.at, self.tz, decisive.reason)
        else:
            line = m.decision_line(str(post.status), "", post.updated_at, self.tz, post.reason)
        keyboard = self._keyboard(post, pending=False)
        assert message.message_id is not None
        if message.has_photo:
            self.client.edit_caption(message.chat_id, message.message_id,
                                     m.with_decision(message.text, line), keyboard=keyboard)
        else:
            self.client.edit_text(message.chat_id, message.message_id,
                                  m.with_decision(message.text, line, limit=m.TEXT_LIMIT),
                                  keyboard=keyboard)
        self.ledger.mark_decided(message.id, self.clock())

    # -- receiving -----------------------------------------------------------------

    def receive(self, timeout: int) -> int:
        """One ``getUpdates`` call; handle each new update once. Returns presses handled."""
        updates = self.client.get_updates(self.ledger.offset(), timeout=timeout)
        self._handling.set()
        try:
            return self._handle_all(updates)
        finally:
            self._handling.clear()

    def _handle_all(self, updates: Sequence[Update]) -> int:
        handled = 0
        for update in updates:
            if self.stopping.is_set():
                break  # not claimed: Telegram delivers it again at the next start
            if not self.ledger.claim_update(update.update_id, self.clock()):
                log.info("telegram: update %d was handled already; ignored", update.update_id)
                continue
            if update.callback_query is not None:
                self.press(update.callback_query)
                handled += 1
        return handled

    def press(self, query: CallbackQuery) -> None:
        """Handle one button press."""
        user = query.user
        parsed = m.parse_button(query.data)
        if parsed is None:
            self._answer(query.id, "Tombol ini tidak dikenal.")
            return
        action, post_id = parsed
        chat = query.message.chat_id if query.message is not None else None
        if user.id not in self.config.approvers or chat not in self.config.chat_ids:
            log.warning("telegram: refused %s from %s (user id %d, chat %s): not in "
                        "[telegram] approvers and chat_ids", query.data, user.handle, user.id,
                        chat, extra={"post_id": post_id})
            self._answer(query.id, "Tidak diizinkan", alert=True)
            return
        actor = f"{ACTOR}:{user.username or user.id}"
        try:
            if action == "approve":
                self.bot.approve(post_id, actor=actor)
            else:
                self.bot.skip(post_id, actor=actor)
        except NotFound:
            self._answer(query.id, f"Pos #{post_id} tidak ada.", alert=True)
            return
        except InvalidAction:
            current = self.bot.post(post_id)
            log.info("telegram: stale %s from %s: post is %s", query.data, user.handle,
                     current.status, extra={"post_id": post_id})
            self._answer(query.id, f"Pos #{post_id} sudah {m.status_word(current.status)}; "
                                   f"tidak ada yang diubah.", alert=True)
            self.settle_decisions(post_id)
            return
        except BotError as exc:
            log.error("telegram: %s of post %d by %s failed: %s", action, post_id, actor, exc,
                      extra={"post_id": post_id})
            self._answer(query.id, f"Gagal: {exc}"[:200], alert=True)
            return
        log.info("telegram: %s by %s", "approved" if action == "approve" else "skipped",
                 actor, extra={"post_id": post_id})
        self._answer(query.id, "Disetujui" if action == "approve" else "Dilewati")
        self.settle_decisions(post_id)

    def _answer(self, query_id: str, text: str, *, alert: bool = False) -> None:
        try:
            self.client.answer_callback(query_id, text, alert=alert)
        except TelegramError as exc:
            # The press is handled either way; only its little notice is lost.
            log.warning("telegram: could not answer a button press: %s", exc)


def _contiguous(events: Sequence[Event], after: int, now: datetime) -> list[Event]:
    """The events up to the first gap in ids that may still fill (see GAP_WAIT)."""
    batch: list[Event] = []
    expected = after + 1
    for event in events:
        if event.id != expected and now - event.at < GAP_WAIT:
            break
        batch.append(event)
        expected = event.id + 1
    return batch


def _decisive_event(timeline: Sequence[Event]) -> Event | None:
    """The latest status change out of ``pending_approval``."""
    for event in reversed(timeline):
        if event.kind == "status" and event.from_status == Status.PENDING_APPROVAL:
            return event
    return None


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None
