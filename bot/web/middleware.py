"""ASGI middleware of the desk: the signed session cookie and the security headers."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.auth import SESSION_COOKIE, SESSION_MAX_AGE, Sessions

# No inline script or style anywhere, and the desk is never framed (clickjacking).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
MAX_BODY_BYTES = 100_000  # a caption is at most 2,200 characters; forms are small


class Session(dict[str, Any]):
    """The request's session; remembers whether a handler changed it."""

    modified = False

    def __setitem__(self, key: str, value: Any) -> None:
        self.modified = True
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.modified = True
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        """Remove ``key`` (marking the session changed if it was there)."""
        if key in self:
            self.modified = True
        return super().pop(key, *default)

    def replace(self, data: dict[str, Any]) -> None:
        """Swap the whole session (log in, log out)."""
        self.modified = True
        super().clear()
        super().update(data)


def session_of(scope: Scope) -> Session:
    """The session that :class:`SessionMiddleware` attached to the request."""
    session = scope.get("desk_session")
    assert isinstance(session, Session), "SessionMiddleware is not installed"
    return session


class SessionMiddleware:
    """Loads the signed session cookie and writes it back when a handler changed it.

    The cookie is HttpOnly and SameSite=Lax, and Secure when the request came over
    https (behind a proxy, uvicorn's proxy headers say so) or ``force_secure``.
    """

    def __init__(self, app: ASGIApp, sessions: Sessions, *, force_secure: bool = False) -> None:
        self.app = app
        self.sessions = sessions
        self.force_secure = force_secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = ""
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                raw += value.decode("latin-1") + ";"
        cookie = SimpleCookie()
        try:
            cookie.load(raw)
        except Exception:  # a malformed Cookie header is the client's problem, not ours
            cookie = SimpleCookie()
        morsel = cookie.get(SESSION_COOKIE)
        session = Session(self.sessions.load(morsel.value if morsel else None))
        scope["desk_session"] = session
        secure = self.force_secure or scope.get("scheme") == "https"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.modified:
                headers = MutableHeaders(scope=message)
                flags = "Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if secure else "")
                if session:
                    value = self.sessions.dump(dict(session))
                    headers.append("set-cookie", f"{SESSION_COOKIE}={value}; "
                                   f"Max-Age={SESSION_MAX_AGE}; {flags}")
                else:
                    headers.append("set-cookie", f"{SESSION_COOKIE}=; Max-Age=0; {flags}")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class SecurityHeadersMiddleware:
    """Adds the CSP and friends to every response, and refuses oversized bodies.

    Responses that did not choose their own caching are ``no-store``: desk pages show
    unpublished posts and must not linger in shared caches.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                await _plain(send, 413, "Permintaan terlalu besar / request body too large")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
