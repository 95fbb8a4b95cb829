"""The push trigger's web side: ``POST /hooks/wordpress``.

WordPress calls it when a post is published (``assets/wordpress/``); the hook records
a poll request through the facade and the worker polls at its next tick.

- The token comes in the ``X-Bot-Token`` header and must equal ``BOT_HOOK_TOKEN``,
  compared in constant time. Missing or wrong, or no token configured at all: 403,
  and nothing is recorded.
- The body is empty (poll every feed), or JSON with ``feed`` (a ``[[feeds]]`` name)
  and/or ``url`` (the article's permalink: the worker checks that it reached the feed
  and polls again shortly while a page cache hides it). Anything else: 400; an
  unknown feed: 404.
- Rate-limited per client address, counting every request, right token or not: over
  the limit the answer is 429 with ``Retry-After``, before the token is even looked
  at. A request for a target that already waits joins it (one poll answers both).
- The answer is 202 with the request's id: the poll itself happens in the worker.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.errors import InvalidAction, NotFound, StoreError

if TYPE_CHECKING:
    from bot.core import Bot

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-bot-token"
MAX_BODY = 8_192  # {"feed": ..., "url": ...} is a few hundred bytes


class HookLimiter:
    """At most ``limit`` requests per client address in any ``window`` seconds.

    In memory, like the login limiter: the desk is one process, and a restart that
    forgets is harmless (the store joins duplicate requests anyway).
    """

    def __init__(self, *, limit: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def take(self, client: str) -> int:
        """Count one request; 0 if it may go on, else the seconds until one may."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            if len(self._hits) > 10_000:  # a spray of addresses must not grow memory
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return 0


class WordPressHook:
    """The ``POST /hooks/wordpress`` handler over one bot, token and limiter."""

    def __init__(self, bot: Bot, token: str | None, limiter: HookLimiter | None = None
                 ) -> None:
        self.bot = bot
        self.token = (token or "").encode()
        self.limiter = limiter or HookLimiter()
        if not self.token:
            log.warning("BOT_HOOK_TOKEN is not set: POST /hooks/wordpress refuses every "
                        "request (403)")

    def routes(self) -> list[Route]:
        """The hook's routes, for the desk app."""
        return [Route("/hooks/wordpress", self.handle, methods=["POST"])]

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is the configured token (constant time; never without one)."""
        if not self.token:
            return False
        return hmac.compare_digest((given or "").encode(), self.token)

    async def handle(self, request: Request) -> Response:
        """Check the limit and the token, read the body, record the poll request."""
        client = request.client.host if request.client else "unknown"
        wait = self.limiter.take(client)
        if wait:
            log.debug("hook: %s is over the rate limit", client)
            return _answer(429, {"error": "too many requests", "retry_after": wait},
                           headers={"retry-after": str(wait)})
        if not self.token_ok(request.headers.get(TOKEN_HEADER)):
            log.warning("hook: refused a request from %s: %s X-Bot-Token", client,
                        "no" if TOKEN_HEADER not in request.headers else "wrong")
            return _answer(403, {"error": "missing or wrong X-Bot-Token"})
        try:
            target = await _target(request)
        except ValueError as exc:
            return _answer(400, {"error": str(exc)})
        try:
            poll, created = await run_in_threadpool(
                self.bot.request_poll, feed=target.get("feed"), url=target.get("url"),
                source="wordpress", client=client)
        except NotFound as exc:
            return _answer(404, {"error": str(exc)})
        except InvalidAction as exc:
            return _answer(400, {"error": str(exc)})
        except StoreError as exc:
            log.error("hook: cannot record the poll request: %s", exc)
            return _answer(503, {"error": "the store is unavailable; try again"})
        return _answer(202, {"ok": True, "request": poll.id, "joined": not created,
                             "feed": poll.feed, "url": poll.url,
                             "poll": "at the worker's next tick"})


async def _target(request: Request) -> dict[str, str]:
    """``feed`` and ``url`` from the JSON body (both optional); ValueError when malformed."""
    body = b""
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise ValueError(f"body too large (at most {MAX_BODY} bytes)")
    except ClientDisconnect:
        raise ValueError("the client went away before the body was read") from None
    if not body.strip():
        return {}
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError('the body must be JSON: {"feed": NAME} or {"url": ARTICLE_URL}'
                         ) from None
    if not isinstance(data, dict):
        raise ValueError('the body must be a JSON object: {"feed": NAME} or {"url": URL}')
    unknown = sorted(set(data) - {"feed", "url"})
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)} (only feed and url)")
    target = {}
    for key in ("feed", "url"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-empty string")
        target[key] = value.strip()
    return target


def _answer(status: int, data: dict[str, Any], headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse(data, status_code=status,
                        headers={"cache-control": "no-store", **(headers or {})})
