"""A small typed client for the Telegram Bot API, over ``requests``.

Why not python-telegram-bot: since version 20 it is asyncio-first (every call is a
coroutine run by an ``Application`` event loop), while the daemon is threaded
APScheduler code. Driving an event loop from worker threads, or running a second
loop beside the scheduler, would be more machinery than the six methods the bot needs.

Every call:

- is bounded in time: a connect timeout, a read timeout and an overall deadline on
  reading the answer (``getUpdates`` adds its long-poll time);
- honours a 429's ``retry_after``: a short wait is slept (interruptibly) and the call
  repeated; a longer one raises :class:`~bot.errors.TelegramRateLimited`, so the caller
  can hold its queue instead of a thread;
- retries a connection failure, a timeout or a 5xx at most ``retries`` times, with a
  short backoff, then raises :class:`~bot.errors.TelegramUnavailable`;
- raises :class:`~bot.errors.TelegramRejected` for any other refusal (bad token,
  unknown chat, bad request), which repeating cannot fix.

The token sits inside every URL (``/bot<token>/<method>``). It is registered with
:mod:`bot.redact` when the client is made, and no error text built here contains a
URL: requests' own exception messages (which do) are never passed on.

Test seam: env ``BOT_TELEGRAM_API=http://127.0.0.1:PORT`` replaces
``https://api.telegram.org``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import urllib3

from bot import __version__
from bot.errors import (
    ConfigError,
    TelegramError,
    TelegramRateLimited,
    TelegramRejected,
    TelegramUnavailable,
)
from bot.redact import redact, register_secret

log = logging.getLogger(__name__)

DEFAULT_API = "https://api.telegram.org"
SEAM_ENV = "BOT_TELEGRAM_API"
# Telegram's own shape: the bot's numeric id, a colon, and a 35-character secret.
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$")
_MAX_ANSWER_BYTES = 1_000_000
_CHUNK = 64 * 1024
USER_AGENT = f"EditorialKaltimBot/{__version__} (telegram)"

# A sleep that returns True when it was interrupted (``threading.Event.wait``).
Sleep = Callable[[float], object]


def api_origin() -> str:
    """The Bot API origin: ``BOT_TELEGRAM_API`` if set, else https://api.telegram.org."""
    return (os.environ.get(SEAM_ENV) or DEFAULT_API).strip().rstrip("/")


def telegram_seam_warning() -> str | None:
    """The warning ``bot check`` prints while the test seam is on, else None."""
    value = os.environ.get(SEAM_ENV, "").strip()
    if not value:
        return None
    return (f"{SEAM_ENV} is set: every Telegram call goes to {value} instead of "
            f"{DEFAULT_API} (a test seam; unset it in production)")


def check_token(token: str | None, env: str) -> str:
    """The token from ``env``, checked for Telegram's shape; ConfigError naming ``env``."""
    value = (token or "").strip()
    if not value:
        raise ConfigError(f"environment variable {env} is not set (the Telegram bot token "
                          f"from @BotFather)")
    register_secret(value)
    if not _TOKEN_RE.match(value):
        # Never echo the value: a mistyped token is still mostly a secret.
        raise ConfigError(f"environment variable {env} does not look like a bot token "
                          f"(expected <digits>:<35 letters, digits, - or _>, as @BotFather "
                          f"gives it)")
    return value


@dataclass(frozen=True)
class User:
    """A Telegram user (or the bot itself)."""

    id: int
    username: str | None
    first_name: str
    is_bot: bool = False

    @property
    def handle(self) -> str:
        """``@username``, else the numeric id: how messages name this user."""
        return f"@{self.username}" if self.username else str(self.id)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        """From the API's ``User`` object."""
        return cls(id=int(data["id"]), username=data.get("username") or None,
                   first_name=str(data.get("first_name") or ""),
                   is_bot=bool(data.get("is_bot", False)))


@dataclass(frozen=True)
class Message:
    """The parts of a ``Message`` the bot uses."""

    message_id: int
    chat_id: int
    has_photo: bool
    text: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Message:
        """From the API's ``Message`` object."""
        return cls(message_id=int(data["message_id"]), chat_id=int(data["chat"]["id"]),
                   has_photo=bool(data.get("photo")),
                   text=data.get("text") if data.get("text") is not None
                   else data.get("caption"))


@dataclass(frozen=True)
class CallbackQuery:
    """A button press."""

    id: str
    user: User
    data: str
    message: Message | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CallbackQuery:
        """From the API's ``CallbackQuery`` object."""
        message = data.get("message")
        return cls(id=str(data["id"]), user=User.from_json(data["from"]),
                   data=str(data.get("data") or ""),
                   message=Message.from_json(message) if message else None)


@dataclass(frozen=True)
class Update:
    """One incoming update; only button presses matter to the bot."""

    update_id: int
    callback_query: CallbackQuery | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Update:
        """From the API's ``Update`` object (unknown kinds keep only their id)."""
        query = data.get("callback_query")
        return cls(update_id=int(data["update_id"]),
                   callback_query=CallbackQuery.from_json(query) if query else None)


@dataclass(frozen=True)
class Button:
    """An inline keyboard button: a callback (``data``) or a link (``url``)."""

    text: str
    data: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, str]:
        """The API's ``InlineKeyboardButton``."""
        out = {"text": self.text}
        if self.data is not None:
            out["callback_data"] = self.data
        if self.url is not None:
            out["url"] = self.url
        return out


Keyboard = Sequence[Sequence[Button]]


def keyboard_json(rows: Keyboard | None) -> str:
    """An ``InlineKeyboardMarkup`` as the API wants it; ``[]`` removes the keyboard."""
    return json.dumps({"inline_keyboard": [[b.to_json() for b in row] for row in rows or []]},
                      ensure_ascii=False)


class TelegramClient:
    """Typed, bounded calls to one bot's API."""

    def __init__(
        self,
        token: str,
        *,
        api: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        retries: int = 2,
        max_wait: float = 10.0,
        sleep: Sleep = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        register_secret(token)
        self._token = token
        self.api = (api or api_origin()).rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    # -- methods -------------------------------------------------------------------

    def get_me(self) -> User:
        """``getMe``: the bot's own user (proves the token works)."""
        return User.from_json(self.call("getMe"))

    def send_message(self, chat_id: int, text: str, *, keyboard: Keyboard | None = None,
                     html: bool = True) -> Message:
        """``sendMessage``."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text,
                                  "link_preview_options": json.dumps({"is_disabled": True})}
        if html:
            params["parse_mode"] = "HTML"
        if keyboard:
            params["reply_markup"] = keyboard_json(keyboard)
        return Message.from_json(self.call("sendMessage", params))

    def send_photo(self, chat_id: int, photo: Path, caption: str, *,
                   keyboard: Keyboard | None = None, html: bool = True) -> Message:
        """``sendPhoto`` with the file uploaded (multipart)."""
        params: dict[str, Any] = {"chat_id": chat_id, "caption": caption}
        if html:
            params["parse_mode"] = "HTML"
        if keyboard:
            params["reply_markup"] = keyboard_json(keyboard)
        data = photo.read_bytes()
        return Message.from_json(self.call(
            "sendPhoto", params, files={"photo": (photo.name, data, "image/jpeg")},
            read_timeout=max(self.read_timeout, 30.0)))

    def get_updates(self, offset: int | None, *, timeout: int = 25,
                    limit: int = 50) -> list[Update]:
        """``getUpdates`` long poll: waits up to ``timeout`` s for button presses."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit,
                                  "allowed_updates": json.dumps(["callback_query"])}
        if offset is not None:
            params["offset"] = offset
        result = self.call("getUpdates", params, read_timeout=timeout + self.read_timeout)
        return [Update.from_json(item) for item in result]

    def answer_callback(self, query_id: str, text: str, *, alert: bool = False) -> None:
        """``answerCallbackQuery``: the little notice the presser sees."""
        self.call("answerCallbackQuery",
                  {"callback_query_id": query_id, "text": text, "show_alert": alert})

    def edit_caption(self, chat_id: int, message_id: int, caption: str, *,
                     keyboard: Keyboard | None = None, html: bool = True) -> None:
        """``editMessageCaption`` (a photo message); ``keyboard`` replaces the buttons."""
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id,
                                  "caption": caption, "reply_markup": keyboard_json(keyboard)}
        if html:
            params["parse_mode"] = "HTML"
        self.call("editMessageCaption", params)

    def edit_text(self, chat_id: int, message_id: int, text: str, *,
                  keyboard: Keyboard | None = None, html: bool = True) -> None:
        """``editMessageText`` (a text message); ``keyboard`` replaces the buttons."""
        params: dict[str, Any] = {"chat_id": chat_id, "message_id": message_id, "text": text,
                                  "reply_markup": keyboard_json(keyboard),
                                  "link_preview_options": json.dumps({"is_disabled": True})}
        if html:
            params["parse_mode"] = "HTML"
        self.call("editMessageText", params)

    # -- transport -----------------------------------------------------------------

    def call(self, method: str, params: Mapping[str, Any] | None = None, *,
             files: Mapping[str, tuple[str, bytes, str]] | None = None,
             read_timeout: float | None = None) -> Any:
        """Call ``method``; return its ``result`` or raise a TelegramError (token-free)."""
        attempt = 0
        while True:
            try:
                return self._once(method, params, files, read_timeout or self.read_timeout)
            except TelegramRateLimited as exc:
                if attempt >= self.retries or exc.retry_after > self.max_wait:
                    raise
                wait = exc.retry_after
            except TelegramUnavailable:
                if attempt >= self.retries:
                    raise
                wait = 0.5 * 2 ** attempt
            attempt += 1
            log.info("telegram %s: trying again in %.1fs (attempt %d of %d)", method, wait,
                     attempt + 1, self.retries + 1)
            if self.sleep(wait) is True:
                raise TelegramUnavailable("stopped while waiting to try again", method=method)

    def _once(self, method: str, params: Mapping[str, Any] | None,
              files: Mapping[str, tuple[str, bytes, str]] | None, read_timeout: float) -> Any:
        url = f"{self.api}/bot{self._token}/{method}"
        # The answer is small; a server that drips it must still finish in bounded time.
        deadline = time.monotonic() + self.connect_timeout + read_timeout + 5
        values = {k: _form_value(v) for k, v in (params or {}).items()}
        try:
            response = self.session.post(url, data=values, files=files, stream=True,
                                         timeout=(self.connect_timeout, read_timeout))
        except requests.exceptions.ConnectTimeout:
            raise TelegramUnavailable(f"connect timeout after {self.connect_timeout:g}s",
                                      method=method) from None
        except requests.exceptions.ReadTimeout:
            raise TelegramUnavailable(f"read timeout after {read_timeout:g}s",
                                      method=method) from None
        except requests.exceptions.RequestException as exc:
            # requests' messages quote the URL, token and all: only the class goes on.
            raise TelegramUnavailable(f"connection failed ({_reason(exc)})",
                                      method=method) from None
        try:
            body = _read(response, deadline, method)
        finally:
            response.close()
        return _result(method, response.status_code, body, response.headers)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _reason(exc: BaseException) -> str:
    """A token-free description of a requests exception."""
    text = str(exc)
    for marker in ("Connection refused", "Connection reset by peer", "Remote end closed",
                   "Name or service not known", "Temporary failure in name resolution",
                   "timed out", "certificate verify failed"):
        if marker in text:
            return marker
    return type(exc).__name__


def _read(response: requests.Response, deadline: float, method: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > _MAX_ANSWER_BYTES:
                raise TelegramUnavailable(f"answer over {_MAX_ANSWER_BYTES} bytes",
                                          method=method)
            if time.monotonic() > deadline:
                raise TelegramUnavailable("answer took too long", method=method)
            chunks.append(chunk)
    except requests.exceptions.RequestException as exc:
        raise TelegramUnavailable(f"connection failed while reading ({_reason(exc)})",
                                  method=method) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TelegramUnavailable(f"connection failed while reading ({_reason(exc)})",
                                  method=method) from None
    return b"".join(chunks)


def _result(method: str, status: int, body: bytes, headers: Mapping[str, str]) -> Any:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        if status >= 500 or status == 429:
            retry = _retry_after(None, headers) if status == 429 else None
            if retry is not None:
                raise TelegramRateLimited(f"HTTP 429, retry after {retry:g}s",
                                          retry_after=retry, method=method)
            raise TelegramUnavailable(f"HTTP {status} (not a Bot API answer)", method=method)
        raise TelegramRejected(f"HTTP {status}: not a Bot API answer", method=method,
                               code=status)
    if answer.get("ok") is True:
        return answer.get("result")
    code = int(answer.get("error_code") or status)
    description = redact(str(answer.get("description") or f"HTTP {status}"))[:300]
    if code == 429:
        retry = _retry_after(answer.get("parameters"), headers) or 5.0
        raise TelegramRateLimited(description, retry_after=retry, method=method)
    if code >= 500:
        raise TelegramUnavailable(f"{code} {description}", method=method)
    raise TelegramRejected(f"{code} {description}", method=method, code=code)


def _retry_after(parameters: Any, headers: Mapping[str, str]) -> float | None:
    value: Any = None
    if isinstance(parameters, dict):
        value = parameters.get("retry_after")
    if value is None:
        value = headers.get("Retry-After")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(seconds, 3600.0))


__all__ = ["Button", "CallbackQuery", "Message", "TelegramClient", "TelegramError",
           "Update", "User", "api_origin", "check_token", "keyboard_json",
           "telegram_seam_warning"]
