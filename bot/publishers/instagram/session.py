"""Instagram sessions: stored settings, the client factory, ``bot login`` and its import.

The session is instagrapi's settings dict (device, uuids, cookies, authorization),
kept in the store (``accounts.session``) so that it survives ephemeral disks. It is
JSON, encrypted with Fernet when ``BOT_SECRET_KEY`` is set. Runs load it and make one
cheap call; a password login happens only in ``bot login`` and in the publisher's
single relogin after Instagram ends a session.

This module never prompts by itself: ``bot login`` passes a ``prompt`` callback.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from instagrapi import Client
from instagrapi import exceptions as ig

from bot.alerts import Alerter
from bot.config import AccountConfig, Config
from bot.errors import ConfigError, NeedsHuman
from bot.models import AccountState, Actor
from bot.publishers.instagram.errors import translate
from bot.publishers.instagram.transport import (
    CallLimits,
    bound_session,
    seam_origin,
    use_plain_http,
)
from bot.redact import register_secret
from bot.store import Store

log = logging.getLogger(__name__)

SECRET_KEY_ENV = "BOT_SECRET_KEY"
LOCALE = "id_ID"
COUNTRY_CODE = 62  # Indonesia's calling code, to match the id_ID locale
_FERNET_PREFIX = "fernet:"

# A careful operator's pause before each private request (instagrapi's own default).
# The seam drops it: the emulator is local and tests should not sleep.
REQUEST_PAUSE = 1.0

# Device identity survives a fresh `bot login`, so Instagram sees the same phone.
_DEVICE_KEYS = ("uuids", "device_settings", "user_agent", "mid", "usdid", "country",
                "country_code", "locale", "timezone_offset", "timezone_name")

Prompt = Callable[[str], str]


# -- settings at rest ----------------------------------------------------------------


def _fernet() -> MultiFernet | None:
    raw = os.environ.get(SECRET_KEY_ENV, "").strip()
    if not raw:
        return None
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k.encode("ascii")) for k in keys])
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(
            "not a Fernet key; make one with: python -c \"from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())\" (several keys, comma-separated, "
            "rotate: the first encrypts)", key=SECRET_KEY_ENV) from None


def session_at_rest(store: Store, account: str) -> str | None:
    """How the account's saved session is kept: ``"encrypted"``, ``"plain"``, or None."""
    stored = store.account(account).session
    if not stored:
        return None
    return "encrypted" if stored.startswith(_FERNET_PREFIX) else "plain"


def encryption_key_set() -> bool:
    """Whether ``BOT_SECRET_KEY`` is set, so sessions are saved encrypted."""
    return bool(os.environ.get(SECRET_KEY_ENV, "").strip())


def encode_settings(settings: dict[str, Any]) -> str:
    """Serialise settings for the store: Fernet-encrypted if ``BOT_SECRET_KEY`` is set."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    fernet = _fernet()
    if fernet is None:
        return text
    return _FERNET_PREFIX + fernet.encrypt(text.encode("utf-8")).decode("ascii")


def decode_settings(stored: str) -> dict[str, Any]:
    """Read settings back from the store; NeedsHuman if they cannot be read."""
    if stored.startswith(_FERNET_PREFIX):
        fernet = _fernet()
        if fernet is None:
            raise NeedsHuman(f"the saved Instagram session is encrypted but {SECRET_KEY_ENV} "
                             "is not set")
        try:
            stored = fernet.decrypt(stored[len(_FERNET_PREFIX):].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise NeedsHuman(f"the saved Instagram session cannot be decrypted with "
                             f"{SECRET_KEY_ENV} (wrong key?)") from None
    try:
        settings = json.loads(stored)
    except ValueError:
        raise NeedsHuman("the saved Instagram session is not valid JSON") from None
    if not isinstance(settings, dict):
        raise NeedsHuman("the saved Instagram session is not a settings object")
    register_session_secrets(settings)
    return settings


def register_session_secrets(settings: dict[str, Any]) -> None:
    """Tell the log redactor about the secrets inside these settings."""
    auth = settings.get("authorization_data")
    if isinstance(auth, dict):
        register_secret(str(auth.get("sessionid") or ""))
    cookies = settings.get("cookies")
    if isinstance(cookies, dict):
        for name in ("sessionid", "csrftoken", "rur", "shbid", "shbts"):
            register_secret(str(cookies.get(name) or ""))
    for name in ("ig_u_rur", "ig_www_claim"):
        register_secret(str(settings.get(name) or ""))


def has_session(settings: dict[str, Any]) -> bool:
    """Whether the settings hold a logged-in session (not just a device)."""
    auth = settings.get("authorization_data")
    cookies = settings.get("cookies")
    return bool((isinstance(auth, dict) and auth.get("sessionid"))
                or (isinstance(cookies, dict) and cookies.get("sessionid")))


@dataclass(frozen=True)
class StoredSession:
    """The account's settings as loaded, and when they were saved."""

    settings: dict[str, Any]
    updated_at: datetime | None


def load_session(store: Store, account: str) -> StoredSession | None:
    """The account's saved settings, or None if it has none."""
    record = store.account(account)
    if not record.session:
        return None
    return StoredSession(decode_settings(record.session), record.session_updated_at)


def save_session(store: Store, account: str, settings: dict[str, Any], at: datetime) -> None:
    """Save the settings in the store (encrypted when ``BOT_SECRET_KEY`` is set)."""
    register_session_secrets(settings)
    store.set_account(account, at, session=encode_settings(settings), session_updated_at=at)


# -- credentials ---------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """Username, password and TOTP seed from the account's environment variables."""

    username: str | None
    password: str | None = None
    totp_seed: str | None = None
    totp_env: str = "IG_TOTP_SECRET"

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=..., totp_seed=...)"

    @classmethod
    def from_env(cls, account: AccountConfig) -> Credentials:
        """Read (and register for redaction) the account's secrets."""
        def read(name: str) -> str | None:
            value = os.environ.get(name, "").strip()
            return value or None

        creds = cls(read(account.username_env), read(account.password_env),
                    read(account.totp_secret_env), account.totp_secret_env)
        register_secret(creds.password)
        if creds.totp_seed:
            register_secret(creds.totp_seed)
            register_secret(creds.totp_seed.replace(" ", ""))
        return creds

    @property
    def can_login(self) -> bool:
        """Whether a password login is possible."""
        return bool(self.username and self.password)

    def totp_code(self) -> str:
        """The current TOTP code (instagrapi's helper), or "" without a seed."""
        if not self.totp_seed:
            return ""
        try:
            return str(Client.totp_generate_code(self.totp_seed.replace(" ", "")))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"not a base32 TOTP seed ({type(exc).__name__})",
                              key=self.totp_env) from None


# -- the client ----------------------------------------------------------------------


def timezone_offset(config: Config, now: datetime) -> int:
    """Seconds east of UTC in the configured timezone at ``now``."""
    offset = now.astimezone(config.tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _refuse_prompt(username: str, choice: Any = None) -> str:
    # The daemon runs with the challenge flow off; should instagrapi ever ask anyway,
    # it must fail instead of blocking on input() forever.
    raise ig.ChallengeRequired("Instagram asked for a security code; run `bot login`")


def _refuse_password_change(username: str) -> str:
    raise ig.ChallengeRequired("Instagram asks for a new password: change it in the "
                               "Instagram app, update the password variable, then run "
                               "`bot login`")


def build_client(
    settings: dict[str, Any] | None,
    *,
    config: Config,
    limits: CallLimits,
    now: datetime,
    challenge_code: Callable[[str, Any], str] | None = None,
) -> Client:
    """An instagrapi client with the bot's transport policy, locale and timezone.

    Whatever the settings say, the private transport is curl with no retries, every
    request is bounded by ``limits`` and, with ``BOT_INSTAGRAM_API`` set, goes to the
    emulator. ``challenge_code`` (only for ``bot login``) turns on instagrapi's
    challenge flow and answers its code prompts; without it a challenge is raised.
    """
    origin = seam_origin()
    pause = 0.0 if origin else REQUEST_PAUSE
    policy = {
        "private_transport": "curl",
        "public_transport": "requests",
        # No urllib3 Retry anywhere: it re-POSTs on 429 and 5xx.
        "session_retry_total": 0,
        "request_timeout": pause,
        "tls_verify": True,
    }
    merged = {**(settings or {}), **policy}
    logger = logging.getLogger("instagrapi")
    try:
        client = Client(settings=merged, logger=logger, request_timeout=pause,
                        session_retry_total=0, private_transport="curl",
                        with_challenge_flow=challenge_code is not None)
    except RuntimeError as exc:  # curl_cffi or libcurl missing
        raise NeedsHuman(f"instagrapi's curl transport is unavailable: {exc}") from exc
    if origin:
        for adapter in set(client.private.adapters.values()):
            use_plain_http(adapter)
    for session in (client.private, client.public, getattr(client, "graphql", None)):
        if session is not None:
            bound_session(session, limits, origin)
    client.set_locale(LOCALE)
    client.set_country_code(COUNTRY_CODE)
    client.set_timezone_offset(timezone_offset(config, now), timezone_name=config.timezone)
    if challenge_code is not None:
        client.challenge_code_handler = challenge_code
    else:
        client.challenge_code_handler = _refuse_prompt
    client.change_password_handler = _refuse_password_change
    return client


def device_only(settings: dict[str, Any] | None) -> dict[str, Any]:
    """The device part of saved settings, without the session."""
    return {k: v for k, v in (settings or {}).items() if k in _DEVICE_KEYS}


# -- bot login -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    """Whom ``bot login`` logged in, and what it did."""

    account: str
    username: str
    user_id: str
    how: str  # "password" or "import"
    reactivated: bool


def login(
    account: AccountConfig,
    *,
    config: Config,
    store: Store,
    clock: Callable[[], datetime],
    prompt: Prompt,
) -> LoginResult:
    """Log in with the password from the environment (2FA, challenges) and save the session.

    TOTP codes come from ``totp_secret_env`` through instagrapi's helper; without a seed
    the code is asked with ``prompt``, as are challenge codes.
    """
    creds = Credentials.from_env(account)
    username, password = creds.username, creds.password
    if not username or not password:
        missing = [env for env, value in ((account.username_env, username),
                                          (account.password_env, password)) if not value]
        raise ConfigError(f"account {account.name!r}: set {' and '.join(missing)} in the "
                          "environment (or use --import FILE)")
    try:
        previous = load_session(store, account.name)
    except NeedsHuman as exc:
        log.warning("starting from a new device: %s", exc, extra={"account": account.name})
        previous = None
    limits = CallLimits(timeout=config.publish.call_timeout.total_seconds())

    def challenge_code(username: str, choice: Any) -> str:
        via = getattr(choice, "name", str(choice or "")).lower() or "email or SMS"
        return prompt(f"Instagram sent a security code to @{username} by {via}. Code")

    client = build_client(device_only(previous.settings if previous else None), config=config,
                          limits=limits, now=clock(), challenge_code=challenge_code)
    code = creds.totp_code()  # a bad seed is a ConfigError, before any request
    try:
        try:
            client.login(username, password, verification_code=code)
        except ig.TwoFactorRequired:
            if creds.totp_seed:
                raise
            code = prompt("Two-factor code (authenticator app or SMS)").strip()
            client.login(username, password, verification_code=code)
        me = client.account_info()
    except Exception as exc:
        # instagrapi raises from every layer (its own classes, requests, pydantic,
        # KeyError and assert on unexpected answers): all of it becomes the bot's tree.
        raise translate(exc, action="login", cooldown=config.publish.cooldown) from exc
    return _store_login(account, store, clock, client, me, how="password")


def import_session(
    account: AccountConfig,
    path: Path,
    *,
    config: Config,
    store: Store,
    clock: Callable[[], datetime],
) -> LoginResult:
    """Import settings written by instagrapi's ``dump_settings``, check them, save them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"not a JSON file written by instagrapi's dump_settings "
                          f"({type(exc).__name__})", file=str(path)) from None
    if not isinstance(data, dict) or not has_session(data):
        raise ConfigError("no logged-in session in it (need authorization_data or cookies "
                          "with a sessionid, as dump_settings writes after login)",
                          file=str(path))
    register_session_secrets(data)
    limits = CallLimits(timeout=config.publish.call_timeout.total_seconds())
    client = build_client(data, config=config, limits=limits, now=clock())
    try:
        with limits.call("session check"):
            me = client.account_info()
    except Exception as exc:  # any instagrapi failure, mapped as in login()
        raise translate(exc, action="checking the imported session",
                        cooldown=config.publish.cooldown) from exc
    return _store_login(account, store, clock, client, me, how="import")


def _store_login(account: AccountConfig, store: Store, clock: Callable[[], datetime],
                 client: Client, me: Any, *, how: str) -> LoginResult:
    now = clock()
    save_session(store, account.name, client.get_settings(), now)
    record = store.account(account.name)
    reactivated = record.state == AccountState.STOPPED
    if reactivated:
        # A stop waits for exactly this; a cooldown is Instagram's and is left alone.
        store.set_account(account.name, now, state=AccountState.ACTIVE, until=None, reason="")
        store.add_event(at=now, actor=Actor.CLI, kind="account", account=account.name,
                        from_status="stopped", to_status="active",
                        reason=f"bot login ({how}) succeeded as @{me.username}")
        Alerter(store, clock).resolve(f"account:{account.name}:stopped",
                                      f"bot login succeeded as @{me.username}",
                                      actor=Actor.CLI, account=account.name)
    store.add_event(at=now, actor=Actor.CLI, kind="login", account=account.name,
                    reason=f"session saved ({how}) for @{me.username}")
    log.info("Instagram session saved (%s) for @%s", how, me.username,
             extra={"account": account.name})
    return LoginResult(account.name, str(me.username), str(me.pk), how, reactivated)
