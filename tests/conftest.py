"""Shared fixtures. Every test gets its own data dir: tests never touch ./var.

The test kits are provided here, once: ``server`` (a feed server on 127.0.0.1,
tests/feedkit.py), ``emulator`` (the Instagram emulator behind the seam,
tests/ig_emulator.py), ``store`` (a real SQLite store), ``credentials`` and
``publisher`` (a logged-in Instagram publisher, tests/igkit.py), ``telegram`` (the
Telegram Bot API emulator behind its seam, tests/telegram_emulator.py).

The store's backends: ``backend`` runs a test once on SQLite and once on the machine's
PostgreSQL (``BOT_TEST_POSTGRES``, default 127.0.0.1:5432/test, user postgres), each
PostgreSQL run in a fresh schema that is dropped afterwards; ``postgres_url`` gives such
a schema to a test that wants PostgreSQL only. Where no PostgreSQL answers those tests
are skipped with the reason, except under ``CI=true``, where they fail: CI must test
the store on both.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.publishers.instagram.publisher import InstagramPublisher
from bot.store import Store
from tests.feedkit import FeedServer, feed_server
from tests.ig_emulator import Emulator
from tests.igkit import PASSWORD, USERNAME, log_in, make_publisher
from tests.telegram_emulator import TOKEN, TelegramEmulator, telegram_emulator


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point BOT_DATA_DIR at a fresh folder and clear the bot's other env variables.

    Instagram credentials are cleared too: tests opt in to them (``credentials``).
    """
    directory = tmp_path / "var"
    monkeypatch.setenv("BOT_DATA_DIR", str(directory))
    for name in ("BOT_CONFIG", "DATABASE_URL", "BOT_INSTAGRAM_API", "BOT_ALERT_WEBHOOK",
                 "BOT_LOG_FORMAT", "BOT_LOG_LEVEL", "BOT_SECRET_KEY", "BOT_HOOK_TOKEN",
                 "BOT_ADMIN_USER", "BOT_ADMIN_PASSWORD_HASH", "PORT", "FORWARDED_ALLOW_IPS",
                 "IG_USERNAME", "IG_PASSWORD", "IG_TOTP_SECRET",
                 "TELEGRAM_BOT_TOKEN", "BOT_TELEGRAM_API"):
        monkeypatch.delenv(name, raising=False)
    yield directory


POSTGRES = os.environ.get("BOT_TEST_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SCHEMA_PREFIX = "bot_test_"


def in_ci() -> bool:
    """Whether this run is CI's (env CI=true, as .ci/run's host sets it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[sa.Engine]:
    """An engine on the test PostgreSQL; skip (or, in CI, fail) where none answers."""
    engine = sa.create_engine(POSTGRES, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
            _drop_orphan_schemas(conn)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        where = sa.engine.make_url(POSTGRES).render_as_string(hide_password=True)
        reason = f"no PostgreSQL at {where}: {' '.join(str(getattr(exc, 'orig', exc)).split())}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: the store must be tested on PostgreSQL too; "
                        ".ci/run starts the server)", pytrace=False)
        pytest.skip(f"{reason} (start it, or point BOT_TEST_POSTGRES at one)")
    yield engine
    engine.dispose()


def _drop_orphan_schemas(conn: sa.Connection) -> None:
    """Drop schemas left by test runs that were killed (their pid is gone)."""
    names = conn.execute(sa.text(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE :prefix"),
        {"prefix": SCHEMA_PREFIX + "%"}).scalars().all()
    for name in names:
        pid = name.removeprefix(SCHEMA_PREFIX).split("_")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture
def postgres_url(postgres_server: sa.Engine) -> Iterator[str]:
    """The URL of a fresh, empty schema on the test PostgreSQL, dropped afterwards."""
    # The pid in the name lets a later run drop it if this one is killed; parallel runs
    # (several people share the server) never see each other's tables.
    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:12]}"
    with postgres_server.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES).update_query_dict(
        {"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with postgres_server.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on SQLite in the data dir, then on PostgreSQL via DATABASE_URL."""
    if request.param == "postgresql":
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("postgres_url"))
    return str(request.param)


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A running feed server on 127.0.0.1 with no routes yet."""
    with feed_server() as running:
        yield running


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """A running Instagram emulator with one account, and the seam pointing at it."""
    with Emulator() as emu:
        emu.add_account(USERNAME, PASSWORD)
        monkeypatch.setenv("BOT_INSTAGRAM_API", emu.url)
        yield emu


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store in tmp_path."""
    opened = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    yield opened
    opened.close()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Instagram account's username and password in the environment."""
    monkeypatch.setenv("IG_USERNAME", USERNAME)
    monkeypatch.setenv("IG_PASSWORD", PASSWORD)


@pytest.fixture
def publisher(emulator: Emulator, store: Store) -> Iterator[InstagramPublisher]:
    """An Instagram publisher with a valid saved session."""
    log_in(store, emulator)
    made = make_publisher(store)
    yield made
    made.close()


@pytest.fixture
def telegram(monkeypatch: pytest.MonkeyPatch) -> Iterator[TelegramEmulator]:
    """A running Telegram Bot API emulator, with the seam and the bot token pointing at it."""
    with telegram_emulator() as running:
        monkeypatch.setenv("BOT_TELEGRAM_API", running.url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        yield running


_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "0.0.0.0", "")


def _is_local_address(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = str(address[0])
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback or host == "0.0.0.0"
    except ValueError:
        return host in _LOCAL_NAMES or host.endswith(".localhost")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test runs in this process leaves the machine.

    A name that is not local does not resolve (as on this network, only at once and
    without a DNS query), and a connection to a non-loopback address is refused before a
    packet is sent. Tests that script a "public" host patch over these two boundaries.
    """
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = (host.decode() if isinstance(host, bytes) else str(host or "")).lower()
        name = name.rstrip(".")
        local = name in _LOCAL_NAMES or name.endswith(".localhost")
        if not local:
            try:
                ipaddress.ip_address(name.split("%")[0])
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME,
                                      f"tests resolve no outside name ({name})") from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if not _is_local_address(address):
            raise ConnectionRefusedError(f"tests connect to loopback only, not {address}")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _is_local_address(address):
            return errno.ECONNREFUSED
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
