"""An Instagram emulator: a real HTTP server on loopback that instagrapi's real client
talks to through the bot's test seam (``BOT_INSTAGRAM_API=http://127.0.0.1:PORT``).

It speaks the endpoints instagrapi 3.2 calls, with answers shaped after instagrapi's
own parsing code (``extractors.extract_media_v1``, ``extract_account``, the Bloks
login parsers), so the real client accepts them:

- session check: ``GET /api/v1/accounts/current_user/``;
- password login (Android CAA flow, with the legacy fallback Instagram uses for
  two-factor and bad passwords): ``qe/sync`` (password key), ``graphql_www`` (device
  registration), the Bloks ``process_client_data`` / ``send_login_request`` actions,
  ``attestation/create_android_keystore``, ``accounts/login``,
  ``accounts/two_factor_login`` (TOTP checked against the seed), the ``challenge/``
  code flow, and the post-login ``feed/reels_tray`` and ``feed/timeline``;
- a photo upload: ``POST /rupload_igphoto/{name}`` then ``media/configure/``;
- a story with a link sticker: ``media/validate_reel_url/`` then
  ``media/configure_to_story/``;
- the account's recent media: ``GET /api/v1/feed/user/{id}/``.

It records what reached "Instagram" (captions, alt text, story links, upload sizes)
and injects faults by path: delays, any status with any body (429, 5xx,
``feedback_required``, ``challenge_required``, ``login_required``…), and a dropped
connection before or after the request was processed.

Standalone, for black-box tests::

    python -m tests.ig_emulator --port 8765 --account editorialkaltim:secret \\
        --session-out var/session.json

``/__emulator__/state`` (GET) returns what was posted, ``/__emulator__/service`` (GET)
the time spent answering; ``/__emulator__/faults``
(POST a JSON fault), ``/__emulator__/expire`` and ``/__emulator__/reset`` steer it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import hashlib
import hmac
import itertools
import json
import re
import secrets
import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CONTROL = "/__emulator__/"
_SHORTCODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
PASSWORD_KEY_ID = 41
PAGE_SIZE = 12

# -- canned bodies, as Instagram sends them and instagrapi parses them ---------------

LOGIN_REQUIRED = {"message": "login_required", "error_title": "You've Been Logged Out",
                  "error_body": "Please log back in.", "logout_reason": 8, "status": "fail"}
FEEDBACK_REQUIRED = {"message": "feedback_required", "spam": True,
                     "feedback_title": "Try Again Later",
                     "feedback_message": "We restrict certain activity to protect our "
                                         "community.",
                     "feedback_url": "repute/report_problem/scraping/", "status": "fail"}
PLEASE_WAIT = {"message": "Please wait a few minutes before you try again.",
               "status": "fail"}
RATE_LIMIT_ERROR = {"message": "Rate limited", "error_type": "rate_limit_error",
                    "status": "fail"}
THROTTLED = {"message": "Too many requests", "status": "fail"}


def challenge_body(user_pk: str | int = 1, nonce: str = "Kq7TzWQnS1", *,
                   native_flow: bool = True) -> dict[str, Any]:
    """A ``challenge_required`` body, as Instagram sends it for a checkpoint.

    ``native_flow`` checkpoints must be passed in the app; the others are the legacy
    flow whose email/SMS code instagrapi asks for (``challenge_code_handler``).
    """
    return {"message": "challenge_required",
            "challenge": {"url": f"https://i.instagram.com/challenge/{user_pk}/{nonce}/",
                          "api_path": f"/challenge/{user_pk}/{nonce}/",
                          "hide_webview_header": True, "lock": True, "logout": False,
                          "native_flow": native_flow},
            "status": "fail"}


@dataclass
class Fault:
    """A fault for requests whose path contains ``path`` (and, if set, of ``method``).

    ``kind`` is ``status`` (answer ``status`` with ``body`` instead of the real
    answer), ``drop_before`` (close the connection without processing), or
    ``drop_after`` (process, e.g. publish, then close without answering). ``delay``
    seconds pass first in every kind, and on its own (``kind="delay"``) the request is
    then processed normally. ``times`` is how many requests it hits (-1: all).

    ``lands_after`` is a landing delay: the request is processed at once (a configure
    creates its post) whatever the kind, so a ``status`` fault answers an error for a
    post that did land; but the post shows in the account's media only
    ``lands_after`` seconds later, as Instagram's own feed lags behind a configure.
    """

    path: str
    kind: str = "status"
    status: int = 500
    body: Any = None
    delay: float = 0.0
    times: int = 1
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    lands_after: float = 0.0

    @classmethod
    def of(cls, data: dict[str, Any]) -> Fault:
        """A fault from its JSON form (for the control endpoint)."""
        return cls(**data)


@dataclass
class Account:
    """An emulated Instagram account."""

    username: str
    password: str
    pk: str
    totp_seed: str | None = None
    challenge_on_login: bool = False
    full_name: str = "Editorial Kaltim"

    def user(self) -> dict[str, Any]:
        """The short user object inside media."""
        return {"pk": self.pk, "pk_id": self.pk, "id": self.pk, "username": self.username,
                "full_name": self.full_name, "is_private": False, "is_verified": False,
                "profile_pic_url": f"https://scontent.cdninstagram.com/v/{self.pk}.jpg",
                "profile_pic_id": f"{self.pk}_{self.pk}"}

    def current_user(self) -> dict[str, Any]:
        """``accounts/current_user``'s user, as ``extract_account`` reads it."""
        return {**self.user(), "biography": "Berita Kalimantan Timur",
                "external_url": "https://editorialkaltim.com", "is_business": True,
                "birthday": None, "phone_number": "", "gender": 3,
                "email": f"{self.username}@example.invalid"}


@dataclass
class Posted:
    """A feed post or story as it reached the emulator."""

    kind: str  # "feed" or "story"
    pk: str
    code: str
    account: str
    caption: str
    alt_text: str | None
    links: list[str]
    upload_id: str
    upload_bytes: int
    width: int
    height: int
    taken_at: int
    archived: bool = False  # media/{id}/only_me/ hides it from everyone but the owner
    edits: list[str] = field(default_factory=list)  # captions sent with edit_media
    visible_at: float = 0.0  # Emulator.clock() from which the account's media show it

    def visible(self, now: float) -> bool:
        """Whether reads of the account's media at ``now`` show it (``Fault.lands_after``)."""
        return now >= self.visible_at


@dataclass
class Hit:
    """One request the emulator answered (for assertions)."""

    method: str
    path: str
    host: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)


# Request headers kept in each Hit: enough to check locale, timezone and transport.
_KEPT_HEADERS = ("Host", "User-Agent", "X-IG-App-Locale", "X-IG-Timezone-Offset",
                 "X-IG-App-Startup-Country", "Accept-Language")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or vanish mid-answer are part of the tests.
        pass


class Emulator:
    """The emulator's state and server. Use as a context manager, or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.RLock()
        self._hit = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self.accounts: dict[str, Account] = {}
        self.sessions: dict[str, str] = {}  # sessionid -> username
        self.posted: list[Posted] = []
        self.uploads: dict[str, int] = {}
        self.hits: list[Hit] = []
        self.arrivals: list[str] = []  # paths, as requests come in (before any delay)
        self.faults: list[Fault] = []
        self.logins: list[str] = []
        # The clock that landing delays (Fault.lands_after) count in: a test whose bot
        # runs on a clock of its own sets this to follow it, so that a configure landing
        # minutes late costs no wall time.
        self.clock: Callable[[], float] = time.monotonic
        # Time spent answering (from the request read to the answer written, fault
        # delays included), so a benchmark can take the emulator's own time out.
        self.service_seconds = 0.0
        self.served = 0
        self._pk = itertools.count(3_180_000_000_000_000_000 + secrets.randbelow(10**12))
        self._challenges: dict[str, str] = {}  # nonce -> username
        self._passed_challenge: set[str] = set()
        self._server = _Server((host, port), _Handler)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The origin to put in ``BOT_INSTAGRAM_API``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- setting up ------------------------------------------------------------------

    def add_account(self, username: str, password: str, *, totp_seed: str | None = None,
                    challenge_on_login: bool = False) -> Account:
        """Create an account that can log in with ``password`` (and TOTP if seeded)."""
        account = Account(username, password, str(next(self._pk) % 10**11),
                          totp_seed=totp_seed, challenge_on_login=challenge_on_login)
        with self._lock:
            self.accounts[username] = account
        return account

    def new_session(self, username: str) -> str:
        """Issue a valid session id for ``username``."""
        account = self.accounts[username]
        sessionid = f"{account.pk}%3A{secrets.token_hex(8)}%3A27%3A{secrets.token_urlsafe(24)}"
        with self._lock:
            self.sessions[sessionid] = username
        return sessionid

    def session_settings(self, username: str) -> dict[str, Any]:
        """Settings as instagrapi's ``dump_settings`` writes them after a login."""
        from instagrapi import Client

        account = self.accounts[username]
        sessionid = self.new_session(username)
        client = Client()
        client.authorization_data = {"ds_user_id": account.pk, "sessionid": sessionid,
                                     "should_use_header_over_cookies": True}
        client.private.cookies.set("ds_user_id", account.pk, domain=".instagram.com")
        client.private.cookies.set("csrftoken", secrets.token_hex(16), domain=".instagram.com")
        client.last_login = time.time()
        settings: dict[str, Any] = client.get_settings()
        for adapter in set(client.private.adapters.values()):
            adapter.close()
        return settings

    def write_session_file(self, path: Path, username: str) -> Path:
        """Write a ``dump_settings`` file holding a fresh valid session."""
        path.write_text(json.dumps(self.session_settings(username), indent=4),
                        encoding="utf-8")
        return path

    def expire_sessions(self, username: str | None = None) -> None:
        """Invalidate sessions (all, or one user's): the next request is login_required."""
        with self._lock:
            for sid, user in list(self.sessions.items()):
                if username is None or user == username:
                    del self.sessions[sid]

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each hits the next matching request(s)."""
        with self._lock:
            self.faults.extend(faults)

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget posts, uploads, hits and faults (accounts and sessions stay)."""
        with self._lock:
            self.posted.clear()
            self.uploads.clear()
            self.hits.clear()
            self.arrivals.clear()
            self.faults.clear()
            self.logins.clear()

    # -- reading ---------------------------------------------------------------------

    def feed(self, username: str | None = None) -> list[Posted]:
        """Feed posts that reached the emulator, oldest first (landed or still landing)."""
        with self._lock:
            return [p for p in self.posted
                    if p.kind == "feed" and (username is None or p.account == username)]

    def stories(self, username: str | None = None) -> list[Posted]:
        """Stories, oldest first."""
        with self._lock:
            return [p for p in self.posted
                    if p.kind == "story" and (username is None or p.account == username)]

    def count(self, path_part: str, method: str | None = None) -> int:
        """How many answered requests had ``path_part`` in their path."""
        with self._lock:
            return sum(1 for h in self.hits
                       if path_part in h.path and (method is None or h.method == method))

    def wait_for_arrivals(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests have arrived in total (answered or not yet)."""
        with self._hit:
            return self._hit.wait_for(lambda: len(self.arrivals) >= count, timeout)

    def state(self) -> dict[str, Any]:
        """Everything recorded, as JSON-able data."""
        with self._lock:
            return {"posted": [asdict(p) for p in self.posted], "uploads": dict(self.uploads),
                    "hits": [asdict(h) for h in self.hits], "logins": list(self.logins),
                    "pending_faults": [asdict(f) for f in self.faults]}

    # -- internals used by the handler -----------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path in path and (fault.method is None or fault.method == method):
                    if fault.times > 0:
                        fault.times -= 1
                        if fault.times == 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def user_for(self, sessionid: str | None) -> Account | None:
        with self._lock:
            username = self.sessions.get(sessionid or "")
            return self.accounts.get(username) if username else None

    @functools.cached_property
    def _rsa(self) -> rsa.RSAPrivateKey:
        # Made on first login only: a 2048-bit key takes a noticeable moment.
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def public_key(self) -> str:
        pem = self._rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(pem).decode("ascii")

    def decrypt_password(self, enc: str) -> str | None:
        """Undo instagrapi's ``password_encrypt`` (RSA-wrapped AES-GCM)."""
        match = re.fullmatch(r"#PWD_INSTAGRAM:4:(\d+):(.+)", enc or "")
        if not match:
            return None
        raw = base64.b64decode(match.group(2))
        iv, size = raw[2:14], struct.unpack("<H", raw[14:16])[0]
        session_key = self._rsa.decrypt(raw[16:16 + size], padding.PKCS1v15())
        tag, ciphertext = raw[16 + size:32 + size], raw[32 + size:]
        plain = AESGCM(session_key).decrypt(iv, ciphertext + tag, match.group(1).encode())
        return plain.decode("utf-8")

    def next_media_pk(self) -> str:
        return str(next(self._pk))


def shortcode(pk: str) -> str:
    """Instagram's shortcode for a media pk."""
    number, out = int(pk), ""
    while number:
        number, digit = divmod(number, 64)
        out = _SHORTCODE_ALPHABET[digit] + out
    return out or "A"


def totp_now(seed: str, at: float | None = None, step: int = 30) -> set[str]:
    """The TOTP codes accepted now (previous, current and next window)."""
    key = base64.b32decode(seed.replace(" ", "").upper() + "=" * (-len(seed) % 8))
    counter = int((at if at is not None else time.time()) // step)
    codes = set()
    for c in (counter - 1, counter, counter + 1):
        digest = hmac.new(key, struct.pack(">Q", c), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
        codes.add(f"{value % 10**6:06d}")
    return codes


class _Reply(Exception):
    """Short-circuits a handler with an answer."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    lands_after = 0.0  # the current request's landing delay (Fault.lands_after)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def emu(self) -> Emulator:
        return self.server.emulator

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing --------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        self.query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        if path.startswith(CONTROL):
            self._control(method, path[len(CONTROL):])
            return
        with self.emu._hit:
            self.emu.arrivals.append(path)
            self.emu._hit.notify_all()
        began = time.perf_counter()
        try:
            self._answer(method, path)
        finally:
            with self.emu._lock:
                self.emu.service_seconds += time.perf_counter() - began
                self.emu.served += 1

    def _answer(self, method: str, path: str) -> None:
        fault = self.emu.take_fault(method, path)
        if fault is not None and fault.delay:
            self.emu.sleep(fault.delay)
        if fault is not None and fault.kind == "drop_before":
            self._drop(method, path)
            return
        if fault is not None and fault.kind == "status" and not fault.lands_after:
            self._send(method, path, fault.status, fault.body, fault.headers)
            return
        self.lands_after = fault.lands_after if fault is not None else 0.0
        try:
            status, body, headers = 200, self._route(method, path), {}
        except _Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        if fault is not None and fault.kind == "status":
            self._send(method, path, fault.status, fault.body, fault.headers)
            return
        if fault is not None and fault.kind == "drop_after":
            self._drop(method, path)
            return
        self._send(method, path, status, body, headers)

    def _send(self, method: str, path: str, status: int, body: Any,
              headers: dict[str, str]) -> None:
        self._record(method, path, status)
        if isinstance(body, dict | list):
            data = json.dumps(body).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        else:
            data = str(body if body is not None else "").encode("utf-8")
            content_type = "text/html; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _record(self, method: str, path: str, status: int) -> None:
        if path.startswith(CONTROL) or not path.startswith("/"):
            return
        kept = {name: self.headers[name] for name in _KEPT_HEADERS if name in self.headers}
        with self.emu._lock:
            self.emu.hits.append(Hit(method, path, self.headers.get("Host", ""), status, kept))

    def _drop(self, method: str, path: str) -> None:
        self._record(method, path, 0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("utf-8")).items()}

    def _signed(self) -> dict[str, Any]:
        form = self._form()
        signed = form.get("signed_body", "")
        if signed.startswith("SIGNATURE."):
            data: dict[str, Any] = json.loads(signed[len("SIGNATURE."):])
            return data
        return form

    def _sessionid(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        match = re.match(r"Bearer IGT:2:(.+)$", auth)
        if match:
            try:
                data = json.loads(base64.b64decode(match.group(1)))
                return str(data.get("sessionid") or "") or None
            except ValueError:
                return None
        cookies = self.headers.get("Cookie", "")
        found = re.search(r"(?:^|;\s*)sessionid=([^;]+)", cookies)
        return found.group(1) if found else None

    def _me(self) -> Account:
        account = self.emu.user_for(self._sessionid())
        if account is None:
            raise _Reply(403, LOGIN_REQUIRED)
        return account

    # -- routes ----------------------------------------------------------------------

    def _route(self, method: str, path: str) -> Any:
        if path.startswith("/rupload_igphoto/"):
            return self._rupload()
        if path == "/graphql_www":
            return {"data": {"xdt_usdid_registration": {"success": True}},
                    "extensions": {"is_final": True}}
        api = re.sub(r"^/api(?:/v1)?", "", path)
        routes = {
            "/accounts/current_user/": self._current_user,
            "/qe/sync/": self._qe_sync,
            "/launcher/sync/": lambda: {"status": "ok", "configs": {}},
            "/attestation/create_android_keystore/": lambda: {
                "challenge_nonce": secrets.token_urlsafe(16),
                "key_nonce": secrets.token_urlsafe(16), "status": "ok"},
            "/accounts/login/": self._legacy_login,
            "/accounts/two_factor_login/": self._two_factor_login,
            "/feed/reels_tray/": lambda: (self._me(), {"tray": [], "status": "ok"})[1],
            "/feed/timeline/": lambda: (self._me(), {"feed_items": [], "num_results": 0,
                                                      "more_available": False,
                                                      "status": "ok"})[1],
            "/media/configure/": self._configure,
            "/media/configure_to_story/": self._configure_story,
            "/media/validate_reel_url/": lambda: (self._me(), {"status": "ok"})[1],
        }
        if api in routes:
            return routes[api]()
        if api.startswith("/bloks/async_action/"):
            return self._bloks(api.split("/")[3])
        feed = re.fullmatch(r"/feed/user/(\d+)/", api)
        if feed:
            return self._user_feed(feed.group(1))
        story_feed = re.fullmatch(r"/feed/user/(\d+)/story/", api)
        if story_feed:
            return self._user_story_feed(story_feed.group(1))
        media = re.fullmatch(r"/media/(\d+)(?:_\d+)?/(info|edit_media|only_me|undo_only_me)/",
                             api)
        if media:
            return self._media_action(method, media.group(1), media.group(2))
        if api == "/feed/only_me_feed/":
            return self._only_me_feed()
        challenge = re.fullmatch(r"/challenge/(\d+)/(\w+)/", api)
        if challenge:
            return self._challenge(method, challenge.group(2))
        raise _Reply(404, {"message": f"emulator: no route for {method} {path}",
                           "status": "fail"})

    def _current_user(self) -> dict[str, Any]:
        return {"user": self._me().current_user(), "status": "ok"}

    def _qe_sync(self) -> dict[str, Any]:
        raise _Reply(200, {"status": "ok", "experiments": []}, {
            "ig-set-password-encryption-key-id": str(PASSWORD_KEY_ID),
            "ig-set-password-encryption-pub-key": self.emu.public_key()})

    # login ---------------------------------------------------------------------------

    def _authorization(self, account: Account) -> dict[str, str]:
        sessionid = self.emu.new_session(account.username)
        with self.emu._lock:
            self.emu.logins.append(account.username)
        token = base64.b64encode(json.dumps(
            {"ds_user_id": account.pk, "sessionid": sessionid,
             "should_use_header_over_cookies": True}).encode()).decode()
        return {"IG-Set-Authorization": f"Bearer IGT:2:{token}"}

    def _bloks(self, action: str) -> dict[str, Any]:
        if action.endswith("process_client_data_and_redirect"):
            return {"layout": {"bloks_payload": {"data": [{"data": {
                "key": "CAA_ACCOUNT_ACCESS_CONTEXT:aac",
                "initial": secrets.token_urlsafe(24)}}]}}, "status": "ok"}
        if action.endswith("oauth.token.fetch.async"):
            return {"layout": {"bloks_payload": {"data": []}}, "status": "ok"}
        if not action.endswith("send_login_request"):
            raise _Reply(404, {"message": f"emulator: no bloks action {action}",
                               "status": "fail"})
        params = json.loads(self._form().get("params", "{}"))
        inputs = params.get("client_input_params", {})
        account = self.emu.accounts.get(str(inputs.get("contact_point", "")))
        password = self.emu.decrypt_password(str(inputs.get("password", "")))
        if account is not None and account.challenge_on_login and \
                account.username not in self.emu._passed_challenge:
            nonce = secrets.token_hex(5)
            with self.emu._lock:
                self.emu._challenges[nonce] = account.username
            raise _Reply(400, challenge_body(account.pk, nonce, native_flow=False))
        if account is None or password != account.password or account.totp_seed:
            # Instagram sends these back to the legacy endpoint, whose typed errors
            # (bad_password, two_factor_required) instagrapi raises.
            return {"layout": {"bloks_payload": {
                "data": [{"data": {"key": "CAA_LOGIN_FALLBACK:legacy_login"}}],
                "action": "(bk.action.caa.Redirect)"}}, "status": "ok"}
        headers = self._authorization(account)
        payload = json.dumps({
            "login_response": json.dumps({"logged_in_user": account.user(), "status": "ok"}),
            "headers": json.dumps(headers), "cookies": ""})
        action_text = f"(bk.action.core.TakeLast, {json.dumps(payload)})"
        return {"layout": {"bloks_payload": {"action": action_text}}, "status": "ok"}

    def _legacy_login(self) -> dict[str, Any]:
        data = self._signed()
        account = self.emu.accounts.get(str(data.get("username", "")))
        password = self.emu.decrypt_password(str(data.get("enc_password", "")))
        if account is None or password != account.password:
            raise _Reply(400, {"message": "The password you entered is incorrect.",
                               "invalid_credentials": True, "error_type": "bad_password",
                               "status": "fail"})
        if account.totp_seed:
            raise _Reply(400, {"message": "", "two_factor_required": True,
                               "two_factor_info": {"username": account.username,
                                                   "two_factor_identifier": account.pk,
                                                   "totp_two_factor_on": True,
                                                   "sms_two_factor_on": False},
                               "error_type": "two_factor_required", "status": "fail"})
        raise _Reply(200, {"logged_in_user": account.user(), "status": "ok"},
                     self._authorization(account))

    def _two_factor_login(self) -> dict[str, Any]:
        data = self._signed()
        account = self.emu.accounts.get(str(data.get("username", "")))
        code = str(data.get("verification_code", ""))
        if account is None or not account.totp_seed or code not in totp_now(account.totp_seed):
            raise _Reply(400, {"message": "Please check the security code and try again.",
                               "error_type": "sms_code_validation_code_invalid",
                               "status": "fail"})
        raise _Reply(200, {"logged_in_user": account.user(), "status": "ok"},
                     self._authorization(account))

    def _challenge(self, method: str, nonce: str) -> dict[str, Any]:
        username = self.emu._challenges.get(nonce)
        if username is None:
            raise _Reply(400, {"message": "challenge expired", "status": "fail"})
        if method == "GET":
            return {"step_name": "verify_email", "step_data": {"security_code": "None",
                                                                "email": "e***@example.invalid"},
                    "nonce_code": nonce, "status": "ok"}
        data = self._signed()
        if str(data.get("security_code", "")) == "123456":
            with self.emu._lock:
                self.emu._passed_challenge.add(username)
            return {"action": "close", "status": "ok"}
        raise _Reply(400, {"message": "Please check the code we sent you and try again.",
                           "status": "fail"})

    # media ---------------------------------------------------------------------------

    def _rupload(self) -> dict[str, Any]:
        self._me()
        params = json.loads(self.headers.get("X-Instagram-Rupload-Params") or "{}")
        upload_id = str(params.get("upload_id") or "")
        if not upload_id:
            raise _Reply(400, {"message": "missing upload_id", "status": "fail"})
        if not self.body.startswith((b"\xff\xd8\xff", b"\x89PNG", b"RIFF")):
            raise _Reply(400, {"debug_info": {"retriable": False,
                                              "type": "ProcessingFailedError",
                                              "message": "Request processing failed"}})
        with self.emu._lock:
            self.emu.uploads[upload_id] = len(self.body)
        return {"upload_id": upload_id, "xsharing_nonces": {}, "status": "ok"}

    def _media(self, account: Account, kind: str, data: dict[str, Any],
               links: list[str]) -> dict[str, Any]:
        upload_id = str(data.get("upload_id", ""))
        with self.emu._lock:
            size = self.emu.uploads.get(upload_id)
        if size is None:
            raise _Reply(400, {"message": "Upload not found, please re-upload",
                               "status": "fail"})
        extra = data.get("extra") or {}
        width, height = int(extra.get("source_width", 1080)), int(extra.get("source_height",
                                                                             1350))
        pk = self.emu.next_media_pk()
        code = shortcode(pk)
        taken_at = int(time.time())
        caption = str(data.get("caption") or "")
        alt = data.get("custom_accessibility_caption")
        posted = Posted(kind, pk, code, account.username, caption,
                        str(alt) if alt is not None else None, links, upload_id, size, width,
                        height, taken_at,
                        visible_at=self.emu.clock() + self.lands_after)
        with self.emu._lock:
            self.emu.posted.append(posted)
        return _media_json(posted, account)

    def _configure(self) -> dict[str, Any]:
        account = self._me()
        media = self._media(account, "feed", self._signed(), [])
        return {"media": media, "upload_id": media["upload_id"], "status": "ok"}

    def _configure_story(self) -> dict[str, Any]:
        account = self._me()
        data = self._signed()
        taps = json.loads(str(data.get("tap_models") or "[]"))
        links = [str(t["url"]) for t in taps if t.get("type") == "story_link" and t.get("url")]
        media = self._media(account, "story", data, links)
        return {"media": media, "status": "ok"}

    def _user_feed(self, user_pk: str) -> dict[str, Any]:
        me = self._me()
        account = next((a for a in self.emu.accounts.values() if a.pk == user_pk), None)
        if account is None:
            raise _Reply(404, {"message": "User not found", "status": "fail"})
        items = [_media_json(p, account) for p in reversed(self.emu.feed(account.username))
                 if not p.archived and p.visible(self.emu.clock())]
        # Instagram answers about a dozen a page, whatever `count` asks for.
        count = min(int(self.query.get("count") or 12) or 12, PAGE_SIZE)
        max_id = self.query.get("max_id") or ""
        if max_id:
            ids = [i["id"] for i in items]
            items = items[ids.index(max_id) + 1:] if max_id in ids else []
        page, more = items[:count], len(items) > count
        del me
        return {"items": page, "num_results": len(page), "more_available": more,
                "next_max_id": page[-1]["id"] if more and page else None,
                "auto_load_more_enabled": True, "status": "ok"}

    def _owned(self, pk: str) -> tuple[Posted, Account]:
        me = self._me()
        with self.emu._lock:
            posted = next((p for p in self.emu.posted if p.pk == pk), None)
        if posted is None or posted.account != me.username:
            raise _Reply(404, {"message": "Media not found or unavailable", "status": "fail"})
        return posted, me

    def _media_action(self, method: str, pk: str, action: str) -> dict[str, Any]:
        """``info`` (GET), ``edit_media`` (the new ``caption_text``), ``only_me`` and
        ``undo_only_me`` (archive, unarchive), as Instagram's private API answers them."""
        posted, me = self._owned(pk)
        if action == "info":
            return {"items": [_media_json(posted, me)], "num_results": 1,
                    "more_available": False, "status": "ok"}
        if method != "POST":
            raise _Reply(405, {"message": "method not allowed", "status": "fail"})
        if action == "edit_media":
            caption = str(self._signed().get("caption_text") or "")
            with self.emu._lock:
                posted.caption = caption
                posted.edits.append(caption)
            return {"media": _media_json(posted, me), "status": "ok"}
        with self.emu._lock:
            posted.archived = action == "only_me"
        return {"status": "ok"}

    def _only_me_feed(self) -> dict[str, Any]:
        me = self._me()
        items = [{"media": _media_json(p, me)} for p in reversed(self.emu.feed(me.username))
                 if p.archived]
        return {"items": items, "num_results": len(items), "more_available": False,
                "max_id": None, "status": "ok"}

    def _user_story_feed(self, user_pk: str) -> dict[str, Any]:
        self._me()
        account = next((a for a in self.emu.accounts.values() if a.pk == user_pk), None)
        items = [_media_json(p, account) for p in self.emu.stories(account.username)
                 if p.visible(self.emu.clock())] if account else []
        return {"reel": {"items": items} if items else None, "status": "ok"}

    # control -------------------------------------------------------------------------

    def _control(self, method: str, action: str) -> None:
        emu = self.emu
        body = json.loads(self.body or b"{}")
        if method == "GET" and action == "state":
            self._send(method, action, 200, emu.state(), {})
        elif method == "POST" and action == "faults":
            emu.inject(*(Fault.of(f) for f in (body if isinstance(body, list) else [body])))
            self._send(method, action, 200, {"status": "ok"}, {})
        elif method == "POST" and action == "expire":
            emu.expire_sessions(body.get("username"))
            self._send(method, action, 200, {"status": "ok"}, {})
        elif method == "POST" and action == "reset":
            emu.reset()
            self._send(method, action, 200, {"status": "ok"}, {})
        elif method == "GET" and action == "service":
            with emu._lock:
                served = {"seconds": emu.service_seconds, "requests": emu.served}
            self._send(method, action, 200, served, {})
        elif method == "GET" and action == "session":
            self._send(method, action, 200, emu.session_settings(self.query["username"]), {})
        else:
            self._send(method, action, 404, {"message": "unknown control action"}, {})


def _media_json(posted: Posted, account: Account) -> dict[str, Any]:
    """A media object as the private API returns it (what ``extract_media_v1`` reads)."""
    image = f"https://scontent.cdninstagram.com/v/t51/{posted.pk}_n.jpg"
    media: dict[str, Any] = {
        "pk": posted.pk, "id": f"{posted.pk}_{account.pk}", "code": posted.code,
        "taken_at": posted.taken_at, "media_type": 1,
        "product_type": "story" if posted.kind == "story" else "feed",
        "image_versions2": {"candidates": [
            {"url": image, "width": posted.width, "height": posted.height},
            {"url": image + "?s=320", "width": 320, "height": int(320 * posted.height
                                                                   / max(posted.width, 1))},
        ]},
        "original_width": posted.width, "original_height": posted.height,
        "user": account.user(), "caption_is_edited": bool(posted.edits), "like_count": 0,
        "comment_count": 0, "has_liked": False, "usertags": {"in": []}, "sponsor_tags": [],
        "upload_id": posted.upload_id,
        "accessibility_caption": posted.alt_text,
        "caption": ({"pk": str(int(posted.pk) + 1), "text": posted.caption,
                     "user_id": account.pk, "type": 1, "created_at": posted.taken_at,
                     "media_id": posted.pk, "status": "Active"}
                    if posted.caption else None),
    }
    if posted.kind == "story":
        media["story_link_stickers"] = [
            {"x": 0.5, "y": 0.5, "z": 0, "width": 0.5, "height": 0.25, "rotation": 0.0,
             "story_link": {"url": link, "link_type": "web"}} for link in posted.links]
    return media


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.ig_emulator --port N [--account user:pass[:totp]] [--session-out F]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--account", action="append", default=[],
                        help="USERNAME:PASSWORD[:TOTP_SEED]; repeat for more accounts")
    parser.add_argument("--session-out", type=Path,
                        help="write a dump_settings file for the first account here")
    args = parser.parse_args(argv)
    emulator = Emulator(port=args.port)
    specs = args.account or ["editorialkaltim:password"]
    for spec in specs:
        username, _, rest = spec.partition(":")
        password, _, seed = rest.partition(":")
        emulator.add_account(username, password or "password", totp_seed=seed or None)
    if args.session_out is not None:
        emulator.write_session_file(args.session_out, specs[0].partition(":")[0])
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with emulator:
        print(f"Instagram emulator on {emulator.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()


if __name__ == "__main__":
    main()
