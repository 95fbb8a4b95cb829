"""One scheduler per store: who may run the poll and publish jobs.

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) held on a
  connection of its own, outside the store's pool, for as long as the process
  schedules. The key is derived from the database and schema, so two bots in two
  schemas of one database do not exclude each other. When the process dies its
  session ends and the server releases the lock at once; when its host vanishes
  without closing the socket, the server's TCP keepalives (set on that session) end it
  within about 11 s.
- **SQLite**: ``fcntl.flock`` on ``scheduler.lock`` beside the database file (the data
  dir), released by the kernel when the process ends. It excludes processes on one
  machine only, like SQLite itself.

The lock only decides who *schedules*. Publishing does not rely on it: a post is
claimed with a compare-and-set on its status, so even two schedulers, or a human's
``bot publish`` next to the daemon, never post it twice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
from abc import ABC, abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from bot.errors import StoreError

# A standby tries the lock this often, so it takes over within this of the leader's end.
STANDBY_RETRY: Final = timedelta(seconds=2)
# Leader and standby write their heartbeat row this often; the leader checks its lock.
HEARTBEAT_EVERY: Final = timedelta(seconds=5)
# A heartbeat older than this belongs to a process that is gone (or hung).
HEARTBEAT_STALE: Final = timedelta(seconds=30)
LOCK_FILE: Final = "scheduler.lock"

# The server ends the lock's session this long after the leader's host stops answering:
# idle 5 s, then 3 probes 2 s apart.
_SERVER_KEEPALIVE: Final = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2,
                            "tcp_keepalives_count": 3}
# And the leader notices a dead server or network as fast (libpq's own settings).
_CLIENT_KEEPALIVE: Final = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                            "keepalives_count": 3, "tcp_user_timeout": 11000,
                            "connect_timeout": 10}


def process_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SchedulerLock(ABC):
    """The right to schedule, held by at most one process per store."""

    #: What the lock is, for logs and ``bot status`` (no secrets).
    description: str

    @abstractmethod
    def acquire(self) -> bool:
        """Take the lock if it is free, without waiting; True if this process holds it."""

    @abstractmethod
    def held(self) -> bool:
        """Whether this process still holds the lock (False once it was lost)."""

    @abstractmethod
    def release(self) -> None:
        """Give the lock up (safe to call when not held)."""


class AdvisoryLock(SchedulerLock):
    """A PostgreSQL session advisory lock on a dedicated, kept-alive connection."""

    def __init__(self, url: sa.URL) -> None:
        self._engine = sa.create_engine(
            url, poolclass=NullPool,
            connect_args={**_CLIENT_KEEPALIVE, "application_name": f"bot run {process_id()}"})
        self._conn: sa.Connection | None = None
        self._key: int | None = None
        self._holding = False
        self.description = f"PostgreSQL advisory lock on {url.database}"

    def _connection(self) -> sa.Connection:
        if self._conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                for name, value in _SERVER_KEEPALIVE.items():
                    conn.execute(sa.text(f"SET {name} = {int(value)}"))
                # A hung query must not hold the leader (and its lock) forever.
                conn.execute(sa.text("SET statement_timeout = '10s'"))
                database, schema = conn.execute(
                    sa.text("SELECT current_database(), current_schema()")).one()
            except BaseException:
                conn.close()
                raise
            self._key = lock_key(str(database), str(schema))
            self.description = (f"PostgreSQL advisory lock {self._key} "
                                f"({database}, schema {schema})")
            self._conn = conn
        return self._conn

    def acquire(self) -> bool:
        """``pg_try_advisory_lock`` on the lock's own connection."""
        if self._holding and self.held():
            return True
        try:
            conn = self._connection()
            got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": self._key}).scalar())
        except sa.exc.SQLAlchemyError as exc:
            self._drop()
            raise StoreError(f"cannot reach PostgreSQL for the scheduler lock: "
                             f"{_first_line(exc)}") from exc
        self._holding = got
        return got

    def held(self) -> bool:
        """Ask the server whether this session still holds the lock (a keep-alive too)."""
        if not self._holding or self._conn is None or self._key is None:
            return False
        high, low = divmod(self._key % (1 << 64), 1 << 32)
        try:
            still = bool(self._conn.execute(sa.text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND classid = :high "
                "AND objid = :low AND objsubid = 1)"), {"high": high, "low": low}).scalar())
        except sa.exc.SQLAlchemyError:
            still = False
        if not still:
            self._holding = False
            self._drop()
        return still

    def release(self) -> None:
        """Unlock and close the lock's connection (closing alone would release it too)."""
        if self._conn is not None and self._holding:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": self._key})
        self._holding = False
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None


class FileLock(SchedulerLock):
    """``fcntl.flock`` on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self.description = f"lock file {path}"

    def acquire(self) -> bool:
        """Take the flock without waiting; write this process's ``host:pid`` into the file."""
        if self._fd is not None:
            return self.held()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"cannot open the lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{process_id()}\n".encode())
        self._fd = fd
        return True

    def held(self) -> bool:
        """Held, and the file at the path is still the one locked (not deleted or replaced)."""
        if self._fd is None:
            return False
        try:
            same = os.fstat(self._fd).st_ino == os.stat(self.path).st_ino
        except OSError:
            same = False
        if not same:
            self.release()
        return same

    def release(self) -> None:
        """Unlock and close the file (it stays; the next holder reuses it)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str:
        """What the file says about who holds it (``host:pid``), or ``""``."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""


def lock_key(database: str, schema: str) -> int:
    """A stable signed 64-bit advisory-lock key for this bot in this database and schema."""
    digest = hashlib.sha256(f"editorialkaltim-bot scheduler {database} {schema}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def lock_for(engine: sa.Engine) -> SchedulerLock:
    """The scheduler lock for the store behind ``engine``."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine.url)
    if engine.dialect.name == "sqlite" and engine.url.database:
        return FileLock(Path(engine.url.database).resolve().parent / LOCK_FILE)
    raise StoreError(f"no scheduler lock for the {engine.dialect.name} database")


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).splitlines()[0][:300] if str(orig or exc) else type(exc).__name__
