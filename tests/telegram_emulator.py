"""A Telegram Bot API emulator on 127.0.0.1, for the bot's tests (and anyone's).

It answers ``/bot<token>/<method>`` the way api.telegram.org does, for the methods the
bot uses: ``getMe``, ``sendMessage``, ``sendPhoto`` (multipart upload), ``getUpdates``
(long polling, ``offset`` confirms), ``answerCallbackQuery``, ``editMessageCaption`` and
``editMessageText``. Parameters may come as a query string, a form, multipart or JSON.
Answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description"}``
with Telegram's own error texts for the cases the bot can meet (wrong token, unknown
chat, caption or text too long, no caption/text to edit, message not modified, old
callback query, bad button data).

Tests drive it through Python:

- ``messages``: what the bot sent (text, caption, photo bytes, buttons, edits, time);
- ``press(message, user, data)`` queues a button press as an update; ``push(update)``
  queues a raw one (repeating an ``update_id`` imitates a redelivery);
  ``redeliver()`` puts back every confirmed update, as Telegram does for a bot that
  never confirmed them;
- ``fail(method, status, retry_after=..., times=...)`` injects 429s and 5xx;
  ``slow(method, seconds, times=...)`` delays answers past a client's timeout;
  ``down()``/``up()`` refuses connections outright;
- ``calls``: every request, with its path (which carries the token) and status.

Run it alone: ``python -m tests.telegram_emulator --port 8081 --token 123:ABC...``; it
prints each call.
"""

from __future__ import annotations

import argparse
import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "7012345678:AAEkaltimTestTokenXf1ZqW9bV3mN8cR2tY5u"
BOT_USER = {"id": 7012345678, "is_bot": True, "first_name": "Editorial Kaltim Bot",
            "username": "ekaltim_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096


@dataclass
class TelegramUser:
    """A person in the team's group."""

    id: int
    username: str | None = None
    first_name: str = "Tim"

    def to_json(self) -> dict[str, Any]:
        """As the API's ``User``."""
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            out["username"] = self.username
        return out


@dataclass
class SentMessage:
    """A message the bot sent, and what happened to it since."""

    message_id: int
    chat_id: int
    method: str
    text: str | None = None
    caption: str | None = None
    photo: bytes | None = None
    photo_name: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    at: float = field(default_factory=time.time)
    edits: list[dict[str, Any]] = field(default_factory=list)
    sent_markup: dict[str, Any] | None = None  # the buttons it was sent with
    sent_body: str = ""  # the text or caption it was sent with

    def __post_init__(self) -> None:
        if self.sent_markup is None:
            self.sent_markup = self.reply_markup
        self.sent_body = self.sent_body or self.body

    @property
    def body(self) -> str:
        """The text, or the caption of a photo."""
        return (self.caption if self.method == "sendPhoto" else self.text) or ""

    @property
    def buttons(self) -> list[dict[str, str]]:
        """Every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def to_json(self) -> dict[str, Any]:
        """As the API's ``Message``."""
        out: dict[str, Any] = {
            "message_id": self.message_id, "date": int(self.at),
            "chat": {"id": self.chat_id, "type": "supergroup" if self.chat_id < 0 else "private",
                     "title": "Tim Medsos"},
            "from": BOT_USER,
        }
        if self.method == "sendPhoto":
            size = len(self.photo or b"")
            out["photo"] = [{"file_id": f"photo-{self.message_id}", "file_unique_id":
                             f"u{self.message_id}", "width": 1080, "height": 1350,
                             "file_size": size}]
            if self.caption is not None:
                out["caption"] = self.caption
        else:
            out["text"] = self.text
        if self.buttons:
            out["reply_markup"] = self.reply_markup
        return out


@dataclass
class Call:
    """One request the emulator received: ``at`` is its arrival, ``status`` 0 until answered."""

    method: str
    path: str
    params: dict[str, Any]
    status: int
    at: float
    user_agent: str


@dataclass
class Fault:
    """An injected answer for the next calls of one method."""

    status: int = 0  # 0: answer normally (after ``delay``)
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1


class TelegramEmulator:
    """A threaded HTTP server that plays api.telegram.org for one bot."""

    def __init__(self, token: str = TOKEN, *, chats: set[int] | None = None,
                 verbose: bool = False) -> None:
        self.token = token
        self.chats = chats  # None: any chat id exists
        self.verbose = verbose
        self.messages: list[SentMessage] = []
        self.answers: list[dict[str, Any]] = []
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self._updates: list[dict[str, Any]] = []
        self._confirmed: list[dict[str, Any]] = []
        self._open_queries: set[str] = set()
        self._update_ids = itertools.count(880001)
        self._query_ids = itertools.count(5550001)
        self._message_ids = itertools.count(101)
        self._lock = threading.Condition()
        self._down = False
        self._stopped = False
        emulator = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                emulator._handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                emulator._handle(self, self.rfile.read(length))

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    # -- lifecycle -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """The origin to put in ``BOT_TELEGRAM_API``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TelegramEmulator:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and end any long poll."""
        with self._lock:
            self._stopped = True
            self._lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- test controls -------------------------------------------------------------

    def fail(self, method: str, status: int, *, retry_after: int | None = None,
             times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status`` (429, 500, 502…)."""
        with self._lock:
            self.faults.setdefault(method, []).append(
                Fault(status=status, retry_after=retry_after, times=times))

    def slow(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Delay the next ``times`` answers of ``method`` by ``seconds``."""
        with self._lock:
            self.faults.setdefault(method, []).append(Fault(delay=seconds, times=times))

    def down(self) -> None:
        """Drop every connection without an answer until :meth:`up`."""
        self._down = True

    def up(self) -> None:
        """Answer again."""
        self._down = False

    def push(self, update: dict[str, Any]) -> None:
        """Queue a raw update (an ``update_id`` already seen imitates a redelivery)."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    def press(self, message: SentMessage, user: TelegramUser, data: str) -> dict[str, Any]:
        """A user presses the button carrying ``data`` under ``message``; returns the update."""
        query_id = str(next(self._query_ids))
        update = {"update_id": next(self._update_ids), "callback_query": {
            "id": query_id, "from": user.to_json(), "message": message.to_json(),
            "chat_instance": "-4001", "data": data}}
        with self._lock:
            self._open_queries.add(query_id)
        self.push(update)
        return update

    def say(self, chat_id: int, user: TelegramUser, text: str) -> dict[str, Any]:
        """A user writes in the chat (an update the bot should ignore)."""
        update = {"update_id": next(self._update_ids), "message": {
            "message_id": next(self._message_ids), "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup"}, "from": user.to_json(),
            "text": text}}
        self.push(update)
        return update

    def redeliver(self) -> None:
        """Put every confirmed update back, as for a bot that never confirmed them."""
        with self._lock:
            self._updates = self._confirmed + self._updates
            self._confirmed = []
            self._lock.notify_all()

    def pending_updates(self) -> int:
        """Updates not yet confirmed by an ``offset``."""
        with self._lock:
            return len(self._updates)

    def sent(self, method: str | None = None) -> list[SentMessage]:
        """Messages sent so far (optionally only by ``sendMessage`` or ``sendPhoto``)."""
        with self._lock:
            return [m for m in self.messages if method is None or m.method == method]

    def calls_to(self, method: str) -> list[Call]:
        """Requests for one method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def transcript(self) -> list[str]:
        """The run's message sequence, one line per message, answer and edit."""
        events: list[tuple[float, str]] = []
        with self._lock:
            for m in self.messages:
                rows = (m.sent_markup or {}).get("inline_keyboard") or []
                buttons = " ".join(f"[{b['text']}:{b.get('callback_data') or b.get('url')}]"
                                   for row in rows for b in row)
                lines = [line for line in (m.sent_body or m.body).splitlines() if line]
                summary = " / ".join(lines[:2])[:110]
                events.append((m.at, f"{m.method} chat={m.chat_id} #{m.message_id} "
                               f"{summary!r} {buttons}".rstrip()))
                for edit in m.edits:
                    last = (edit.get("caption") or edit.get("text") or "").splitlines()[-1]
                    events.append((edit["at"], f"{edit['method']} #{m.message_id} {last!r}"))
            for a in self.answers:
                events.append((a["at"], f"answerCallbackQuery {a['callback_query_id']} "
                               f"{a.get('text')!r}"))
        return [line for _, line in sorted(events, key=lambda e: e[0])]

    # -- serving -------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        if self._down:
            _drop(h)
            return
        parts = urlsplit(h.path)
        segments = parts.path.strip("/").split("/")
        method = segments[1] if len(segments) == 2 else ""
        params = _params(parts.query, h.headers.get("Content-Type", ""), body)
        # Recorded on arrival (status 0 until answered), so a test sees a long poll open.
        call = Call(method, h.path, params, 0, time.time(), h.headers.get("User-Agent", ""))
        with self._lock:
            self.calls.append(call)
        fault = self._take_fault(method) if segments[0] == f"bot{self.token}" else None
        if fault and fault.delay:
            time.sleep(fault.delay)
            if _client_gone(h):
                # The client timed out: like a request lost on the way, it has no effect.
                call.status = 499
                return
        status, answer = self._answer(segments, method, params, fault)
        call.status = status
        if self.verbose:
            print(f"{method} -> {status}: {json.dumps(params, default=str)[:200]}",
                  flush=True)
        if status >= 500 and answer is None:
            _send(h, status, b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                  "text/html")
            return
        _send(h, status, json.dumps(answer, ensure_ascii=False).encode(), "application/json")

    def _answer(self, segments: list[str], method: str, params: dict[str, Any],
                fault: Fault | None) -> tuple[int, Any]:
        if len(segments) != 2 or segments[0] != f"bot{self.token}":
            return 401, _error(401, "Unauthorized")
        if fault and fault.status == 429:
            retry = fault.retry_after if fault.retry_after is not None else 3
            return 429, {"ok": False, "error_code": 429,
                         "description": f"Too Many Requests: retry after {retry}",
                         "parameters": {"retry_after": retry}}
        if fault and fault.status >= 500:
            return fault.status, None
        if fault and fault.status:
            return fault.status, _error(fault.status, "Bad Request: injected")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found: method not found")
        try:
            result = handler(params)
        except _ApiError as exc:
            return exc.code, _error(exc.code, exc.description)
        return 200, {"ok": True, "result": result}

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(method) or []
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # -- methods -------------------------------------------------------------------

    def _m_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _chat(self, params: dict[str, Any]) -> int:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, ValueError):
            raise _ApiError(400, "Bad Request: chat_id is empty") from None
        if self.chats is not None and chat_id not in self.chats:
            raise _ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        raw = params.get("reply_markup")
        if raw in (None, ""):
            return None
        markup = json.loads(raw) if isinstance(raw, str) else raw
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _ApiError(400, "Bad Request: text buttons are unallowed in the "
                                         "inline keyboard")
                if data is None and not button.get("url"):
                    raise _ApiError(400, "Bad Request: can't parse inline keyboard button")
        return dict(markup)

    def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > TEXT_LIMIT:
            raise _ApiError(400, "Bad Request: message is too long")
        _check_html(params.get("parse_mode"), text)
        message = SentMessage(next(self._message_ids), chat_id, "sendMessage", text=text,
                              parse_mode=params.get("parse_mode"),
                              reply_markup=self._markup(params))
        with self._lock:
            self.messages.append(message)
        return message.to_json()

    def _m_sendPhoto(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat(params)
        photo = params.get("photo")
        if not isinstance(photo, tuple):
            raise _ApiError(400, "Bad Request: there is no photo in the request")
        name, data = photo
        if not data.startswith(b"\xff\xd8"):
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption = params.get("caption")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise _ApiError(400, "Bad Request: message caption is too long")
        _check_html(params.get("parse_mode"), caption or "")
        message = SentMessage(next(self._message_ids), chat_id, "sendPhoto", caption=caption,
                              photo=data, photo_name=name, parse_mode=params.get("parse_mode"),
                              reply_markup=self._markup(params))
        with self._lock:
            self.messages.append(message)
        return message.to_json()

    def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, min(50.0, float(params.get("timeout") or 0)))
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                if offset:
                    # An offset confirms every update before it: they are never sent again.
                    kept = [u for u in self._updates if u["update_id"] >= offset]
                    self._confirmed += [u for u in self._updates if u["update_id"] < offset]
                    self._updates = kept
                if self._updates:
                    return list(self._updates[:limit])
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopped:
                    return []
                self._lock.wait(remaining)

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        with self._lock:
            if query_id not in self._open_queries:
                raise _ApiError(400, "Bad Request: query is too old and response timeout "
                                     "expired or query ID is invalid")
            self._open_queries.discard(query_id)
            self.answers.append({"callback_query_id": query_id, "text": text,
                                 "show_alert": params.get("show_alert") in (True, "true"),
                                 "at": time.time()})
        return True

    def _find(self, params: dict[str, Any]) -> SentMessage:
        chat_id = self._chat(params)
        try:
            message_id = int(params["message_id"])
        except (KeyError, ValueError):
            raise _ApiError(400, "Bad Request: message identifier is not specified") from None
        with self._lock:
            for message in self.messages:
                if message.chat_id == chat_id and message.message_id == message_id:
                    return message
        raise _ApiError(400, "Bad Request: message to edit not found")

    def _edit(self, params: dict[str, Any], method: str, field_name: str) -> Any:
        message = self._find(params)
        if (field_name == "caption") != (message.method == "sendPhoto"):
            raise _ApiError(400, f"Bad Request: there is no {field_name} in the message to edit")
        value = str(params.get(field_name) or "")
        if len(value) > (CAPTION_LIMIT if field_name == "caption" else TEXT_LIMIT):
            raise _ApiError(400, "Bad Request: message caption is too long"
                            if field_name == "caption" else "Bad Request: message is too long")
        _check_html(params.get("parse_mode"), value)
        markup = self._markup(params)
        with self._lock:
            if value == message.body and markup == message.reply_markup:
                raise _ApiError(400, "Bad Request: message is not modified: specified new "
                                     "message content and reply markup are exactly the same "
                                     "as a current content and reply markup of the message")
            setattr(message, field_name, value)
            message.reply_markup = markup
            message.edits.append({"method": method, field_name: value,
                                  "reply_markup": markup, "at": time.time()})
        return message.to_json()

    def _m_editMessageCaption(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "editMessageCaption", "caption")

    def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        return self._edit(params, "editMessageText", "text")


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


_ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "a", "code", "pre", "blockquote"}


def _check_html(parse_mode: Any, text: str) -> None:
    """Refuse what Telegram refuses in HTML mode: unknown tags and unescaped ``<``/``&``."""
    if parse_mode != "HTML":
        return
    from html.parser import HTMLParser

    problems: list[str] = []

    class _Checker(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag not in _ALLOWED_TAGS:
                problems.append(f"Unsupported start tag \"{tag}\"")

    checker = _Checker(convert_charrefs=False)
    checker.feed(text)
    checker.close()
    stray = text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "") \
        .replace("&quot;", "").replace("&#x27;", "")
    if "&" in stray:
        problems.append("Unsupported entity")
    if problems:
        raise _ApiError(400, f"Bad Request: can't parse entities: {problems[0]}")


def _params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" and body:
        params.update(json.loads(body))
    elif kind == "application/x-www-form-urlencoded":
        params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
    elif kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if not isinstance(name, str) or not isinstance(payload, bytes):
                continue
            filename = part.get_filename()
            params[name] = (filename, payload) if filename else payload.decode()
    return params


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    with contextlib.suppress(OSError):
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def _client_gone(h: BaseHTTPRequestHandler) -> bool:
    """True when the client has closed its end (it gave up waiting)."""
    connection = h.connection
    try:
        connection.setblocking(False)
        try:
            return connection.recv(1, socket.MSG_PEEK) == b""
        finally:
            connection.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True


def _drop(h: BaseHTTPRequestHandler) -> None:
    with contextlib.suppress(OSError):
        h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True


@contextlib.contextmanager
def telegram_emulator(**kwargs: Any) -> Iterator[TelegramEmulator]:
    """A running emulator, stopped afterwards."""
    emulator = TelegramEmulator(**kwargs).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def main() -> None:
    """Serve until interrupted, printing each call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    emulator = TelegramEmulator(args.token, verbose=True)
    emulator.httpd.server_close()
    emulator.httpd = ThreadingHTTPServer(("127.0.0.1", args.port),
                                         emulator.httpd.RequestHandlerClass)
    emulator.httpd.daemon_threads = True
    print(f"Telegram emulator on http://127.0.0.1:{args.port} (token {args.token})",
          flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emulator.httpd.serve_forever()


if __name__ == "__main__":
    main()
