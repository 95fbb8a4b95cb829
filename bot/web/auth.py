"""Who may use the desk: the admin's Argon2 password, signed session cookies, CSRF
tokens and the failed-login rate limit.

The session lives in a cookie signed (not encrypted) with a key derived from
``BOT_SECRET_KEY``; it holds only the user name, the CSRF token, the login time and a
fingerprint of the password hash, so changing ``BOT_ADMIN_PASSWORD_HASH`` logs every
browser out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.errors import ConfigError

SESSION_COOKIE = "desk_session"
SESSION_MAX_AGE = 12 * 3600  # one working day; then log in again

_hasher = PasswordHasher()
# Verifying against a dummy hash when the user name is wrong keeps both answers equally
# slow, so timing does not tell an attacker which half of the pair was right.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    """The Argon2id hash of ``password``, for ``BOT_ADMIN_PASSWORD_HASH``."""
    if not password:
        raise ValueError("the password is empty")
    return _hasher.hash(password)


@dataclass(frozen=True)
class WebSettings:
    """The desk's secrets and admin account, read from the environment only."""

    secret_key: str
    admin_user: str | None
    password_hash: str | None
    hook_token: str | None = None  # BOT_HOOK_TOKEN, for POST /hooks/wordpress

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> WebSettings:
        """Read ``BOT_SECRET_KEY``, ``BOT_ADMIN_USER``, ``BOT_ADMIN_PASSWORD_HASH`` and
        ``BOT_HOOK_TOKEN``.

        Raises ConfigError without ``BOT_SECRET_KEY`` (sessions cannot be signed) or
        with a password hash that is not an Argon2 hash.
        """
        env = os.environ if environ is None else environ
        secret = env.get("BOT_SECRET_KEY", "").strip()
        if not secret:
            raise ConfigError(
                "BOT_SECRET_KEY is not set: the desk signs its login cookies with it. "
                "Set it to a long random value, e.g. the output of "
                "python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"")
        if len(secret) < 16:
            raise ConfigError("BOT_SECRET_KEY is too short to sign cookies: use at least "
                              "16 characters (a Fernet key has 44)")
        user = env.get("BOT_ADMIN_USER", "").strip() or None
        password_hash = env.get("BOT_ADMIN_PASSWORD_HASH", "").strip() or None
        if password_hash is not None and not password_hash.startswith("$argon2"):
            raise ConfigError("BOT_ADMIN_PASSWORD_HASH is not an Argon2 hash: make one with "
                              "`bot hash-password`")
        hook_token = env.get("BOT_HOOK_TOKEN", "").strip() or None
        return cls(secret_key=secret, admin_user=user, password_hash=password_hash,
                   hook_token=hook_token)

    @property
    def login_enabled(self) -> bool:
        """True when an admin user and password hash are both configured."""
        return bool(self.admin_user and self.password_hash)

    def check_login(self, username: str, password: str) -> bool:
        """True if the pair is the configured admin's (constant-time on the user name)."""
        user_ok = bool(self.admin_user) and hmac.compare_digest(
            username.encode(), (self.admin_user or "").encode())
        target = self.password_hash if (user_ok and self.password_hash) else _DUMMY_HASH
        password_ok: bool
        try:
            password_ok = bool(_hasher.verify(target, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            password_ok = False
        return user_ok and password_ok and target is self.password_hash

    @property
    def password_fingerprint(self) -> str:
        """A short digest of the password hash; a session minted under another is void."""
        return hashlib.sha256((self.password_hash or "").encode()).hexdigest()[:16]


class Sessions:
    """Signed session cookies (itsdangerous, with a key derived from BOT_SECRET_KEY)."""

    def __init__(self, settings: WebSettings, *, clock: Callable[[], float] = time.time) -> None:
        # A key of its own, so a cookie signature never doubles as anything else the
        # secret protects (the Fernet-encrypted Instagram session).
        key = hmac.new(settings.secret_key.encode(), b"bot.web session cookie v1",
                       hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="desk-session")
        self._settings = settings
        self._clock = clock

    def load(self, cookie: str | None) -> dict[str, Any]:
        """The session in ``cookie``; empty when missing, forged, stale or outdated."""
        if not cookie:
            return {}
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE)
        except (BadSignature, ValueError, json.JSONDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        if data.get("user") and data.get("pw") != self._settings.password_fingerprint:
            return {}
        return data

    def dump(self, data: dict[str, Any]) -> str:
        """The signed cookie value for ``data``."""
        return str(self._serializer.dumps(data))

    def login(self, user: str) -> dict[str, Any]:
        """A fresh session for ``user``, with a new CSRF token (no session fixation)."""
        return {"user": user, "csrf": new_csrf_token(), "at": int(self._clock()),
                "pw": self._settings.password_fingerprint}


def new_csrf_token() -> str:
    """A random token for the session's forms."""
    return secrets.token_urlsafe(32)


def csrf_ok(session: dict[str, Any], submitted: str | None) -> bool:
    """True if the form's token is the session's (compared in constant time)."""
    expected = session.get("csrf")
    if not expected or not submitted:
        return False
    return hmac.compare_digest(str(expected).encode(), submitted.encode())


@dataclass
class _Window:
    hits: deque[float] = field(default_factory=deque)


class LoginLimiter:
    """Failed logins per client address and per user name, in a sliding window.

    While either key has ``limit`` failures inside ``window`` seconds, every login for
    it is refused, even with the right password, so guessing cannot go on. Kept in
    memory: the desk is one process, and a restart forgetting old failures is harmless.
    """

    def __init__(self, *, per_client: int = 5, per_user: int = 10, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client = per_client
        self.per_user = per_user
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, _Window] = {}

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._failures.setdefault(key, _Window()).hits
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def retry_after(self, client: str, user: str) -> int:
        """Seconds until a login for this client and user may be tried; 0 if now."""
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key, limit in ((f"client:{client}", self.per_client),
                               (f"user:{user.casefold()}", self.per_user)):
                hits = self._prune(key, now)
                if len(hits) >= limit:
                    wait = max(wait, hits[len(hits) - limit] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, client: str, user: str) -> None:
        """Record one failed login."""
        now = self._clock()
        with self._lock:
            self._prune(f"client:{client}", now).append(now)
            self._prune(f"user:{user.casefold()}", now).append(now)
            if len(self._failures) > 10_000:
                # Bound memory under a spray of addresses: drop keys with no recent failure.
                for key in [k for k, w in self._failures.items() if not w.hits]:
                    del self._failures[key]

    def succeeded(self, client: str) -> None:
        """Forget the client's failures after a good login (the user's stay counted)."""
        with self._lock:
            self._failures.pop(f"client:{client}", None)
