"""One scheduler per store: the lock, the hot standby, failover, and what ``bot status``
says about them.

The locks are real: ``flock`` on a file in the data dir for SQLite, a session advisory
lock on the machine's PostgreSQL. The end-to-end tests run ``bot run`` as black boxes
(subprocesses with a config, a data dir or DATABASE_URL, and the Instagram seam), and
kill them for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from bot.cli import cli
from bot.models import Role
from bot.scheduler import Leadership
from bot.status import format_status
from bot.store import Store
from bot.store.lock import AdvisoryLock, FileLock, lock_for, lock_key
from tests.feedkit import FeedServer, Item, Route, rss, write_config
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, USERNAME

REPO = Path(__file__).resolve().parent.parent
WAIT = 60.0  # generous: the machine is shared; conditions are polled, never slept on


def wait_until(condition: Callable[[], object], timeout: float = WAIT,
               what: str = "condition") -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


# -- the locks ----------------------------------------------------------------------


def test_the_lock_file_lets_one_holder_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "var" / "scheduler.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.acquire() and first.held()
    assert not second.acquire()
    assert first.holder().endswith(f":{os.getpid()}")
    first.release()
    assert not first.held()
    assert second.acquire()
    assert (path.stat().st_mode & 0o777) == 0o600
    second.release()


def test_a_deleted_lock_file_counts_as_lost(tmp_path: Path) -> None:
    """Someone removed the file: a new process could lock a new one, so ours is void."""
    lock = FileLock(tmp_path / "scheduler.lock")
    assert lock.acquire()
    (tmp_path / "scheduler.lock").unlink()
    assert not lock.held()


def test_sqlite_stores_lock_beside_the_database(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    lock = lock_for(store.engine)
    assert isinstance(lock, FileLock)
    assert lock.path == (data_dir / "scheduler.lock").resolve()
    store.close()


def test_one_session_holds_the_advisory_lock(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    first, second = store.scheduler_lock(), store.scheduler_lock()
    assert isinstance(first, AdvisoryLock)
    try:
        assert first.acquire() and first.held()
        assert not second.acquire()
        assert not second.held()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()
        store.close()


def test_bots_in_two_schemas_do_not_exclude_each_other(postgres_url: str) -> None:
    assert lock_key("test", "bot_a") != lock_key("test", "bot_b")
    assert lock_key("test", "bot_a") == lock_key("test", "bot_a")
    store = Store.open(postgres_url)
    lock = store.scheduler_lock()
    try:
        assert lock.acquire()
        assert str(lock_key("test", "public")) not in lock.description
    finally:
        lock.release()
        store.close()


def test_the_advisory_lock_is_lost_with_its_session(postgres_url: str,
                                                    postgres_server: sa.Engine) -> None:
    """The server ends the leader's session (a restart, a dead network): the lock is gone."""
    store = Store.open(postgres_url)
    first, second = store.scheduler_lock(), store.scheduler_lock()
    try:
        assert first.acquire()
        with postgres_server.begin() as conn:
            ended = conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"),
                {"name": f"bot run {os.uname().nodename}:{os.getpid()}"}).scalars().all()
        assert ended
        wait_until(lambda: not first.held(), what="the lock to be seen lost")
        assert second.acquire()
    finally:
        first.release()
        second.release()
        store.close()


# -- leader and standby -------------------------------------------------------------------


class Clock:
    """The real time, timezone-aware."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


def test_a_standby_waits_then_takes_over_when_the_leader_stops(
        backend: str, data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    stop_leader, stop_standby = threading.Event(), threading.Event()
    leader = Leadership(store, store.scheduler_lock(), clock=Clock(), stopping=stop_leader)
    standby = Leadership(store, store.scheduler_lock(), clock=Clock(), stopping=stop_standby)
    standby.id += "-standby"  # one process plays both parts here
    assert leader.wait()
    leader.start(on_lost=lambda: None)
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(standby.wait()))
    waiter.start()
    try:
        wait_until(lambda: {r.role for r in store.schedulers()} == {Role.LEADER, Role.STANDBY},
                   what="a leader and a standby row")
        assert not result  # still waiting
        assert standby.leader() == f"{leader.host}:{leader.pid}"
        started = time.monotonic()
        leader.close()
        waiter.join(timeout=WAIT)
        assert result == [True]
        assert time.monotonic() - started < 10  # it tries every 2 s
        rows = store.schedulers()
        assert [(r.id, r.role) for r in rows] == [(standby.id, Role.LEADER)]
    finally:
        stop_standby.set()
        waiter.join(timeout=WAIT)
        standby.close()
        store.close()


def test_a_standby_stopped_while_waiting_never_leads(data_dir: Path) -> None:
    store = Store.for_data_dir(data_dir)
    holder = store.scheduler_lock()
    assert holder.acquire()
    stopping = threading.Event()
    standby = Leadership(store, store.scheduler_lock(), clock=Clock(), stopping=stopping)
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(standby.wait()))
    waiter.start()
    wait_until(lambda: store.schedulers(), what="the standby's heartbeat")
    stopping.set()
    waiter.join(timeout=WAIT)
    standby.close()
    assert result == [False]
    assert store.schedulers() == []
    holder.release()
    store.close()


def test_status_names_the_leader_and_the_standby(data_dir: Path, tmp_path: Path) -> None:
    write_config(tmp_path / "bot.toml", "http://127.0.0.1:9/feed/")
    from bot.config import load_config
    from bot.core import Bot

    bot = Bot(load_config(tmp_path / "bot.toml"), data_dir=data_dir)
    leader = Leadership(bot.store, bot.scheduler_lock(), clock=Clock(),
                        stopping=threading.Event())
    assert leader.wait()
    data = bot.status()
    assert [(s["role"], s["pid"], s["alive"]) for s in data["schedulers"]] == [
        ("leader", os.getpid(), True)]
    text = format_status(data)
    assert f"leader {leader.host}:{leader.pid}: scheduling" in text
    leader.close()
    assert "no bot run is scheduling" in format_status(bot.status())
    bot.close()


def test_run_once_does_nothing_while_a_daemon_schedules(data_dir: Path, tmp_path: Path,
                                                        server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=rss([]))
    write_config(tmp_path / "bot.toml", server.url("/feed/"))
    store = Store.for_data_dir(data_dir)
    held = store.scheduler_lock()
    assert held.acquire()
    try:
        result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"),
                                          "run", "--once"])
        assert result.exit_code == 0, result.output
        assert "another bot run is the scheduler" in result.output
        assert server.hits("/feed/") == []
    finally:
        held.release()
        store.close()
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "bot.toml"), "run", "--once"])
    assert result.exit_code == 0, result.output
    assert len(server.hits("/feed/")) == 1


# -- bot run, end to end -----------------------------------------------------------------


class Run:
    """A ``bot run`` subprocess logging to a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=REPO,
                                        env=env, stdout=self.handle, stderr=subprocess.STDOUT)

    def text(self) -> str:
        """Everything it logged so far."""
        return self.log.read_text(encoding="utf-8")

    def logged(self, needle: str) -> bool:
        """Whether ``needle`` is in its log; fail at once if it died meanwhile."""
        if needle in self.text():
            return True
        code = self.process.poll()
        assert code is None, f"bot run exited {code}:\n{self.text()}"
        return False

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal it and wait for it to end; return its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=WAIT)
        self.handle.close()
        return code


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    """The bot runs a test started; any still running at the end are killed."""
    started: list[Run] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait(timeout=WAIT)
        run.handle.close()


def bot_env(config: Path, data_dir: Path, **more: str) -> dict[str, str]:
    """The environment of a black-box bot: its config, data dir, and nothing of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IG_", "BOT_", "DATABASE_URL"))}
    env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1",
               **more)
    return env


def status(env: dict[str, str]) -> dict[str, object]:
    """``bot status --format json`` of that bot."""
    done = subprocess.run([sys.executable, "-m", "bot", "status", "--format", "json"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=WAIT,
                          check=True)
    data: dict[str, object] = json.loads(done.stdout)
    return data


def roles(env: dict[str, str]) -> list[tuple[str, int]]:
    """(role, pid) of every live bot run, as ``bot status`` reports them."""
    schedulers = status(env)["schedulers"]
    assert isinstance(schedulers, list)
    return sorted((s["role"], s["pid"]) for s in schedulers if s["alive"])


@pytest.mark.slow
def test_two_bot_runs_on_one_sqlite_data_dir_do_not_both_schedule(
        tmp_path: Path, server: FeedServer, runs: list[Run]) -> None:
    # One poll an hour: a scheduler polls once at start, so every poll is one scheduler.
    server.routes["/feed/"] = Route(body=rss([]))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra='poll_every = "1h"')
    env = bot_env(config, tmp_path / "var")

    first = Run(env, tmp_path / "first.log")
    runs.append(first)
    wait_until(lambda: first.logged("daemon started"), what="the first bot run to schedule")
    wait_until(lambda: len(server.hits("/feed/")) == 1, what="the first poll")
    second = Run(env, tmp_path / "second.log")
    runs.append(second)
    wait_until(lambda: second.logged("waiting as a hot standby"), what="the standby")
    assert f":{first.process.pid})" in second.text()  # it names the leader
    wait_until(lambda: roles(env) == sorted([("leader", first.process.pid),
                                             ("standby", second.process.pid)]),
               what="bot status to show the leader and the standby")
    # Several of the standby's lock tries later, it still has not polled or scheduled.
    time.sleep(4.5)
    assert len(server.hits("/feed/")) == 1
    assert "daemon started" not in second.text()

    assert first.stop() == 0
    wait_until(lambda: second.logged("took over as the scheduler"), what="the takeover")
    wait_until(lambda: len(server.hits("/feed/")) == 2, what="the new scheduler's poll")
    assert roles(env) == [("leader", second.process.pid)]
    assert second.stop() == 0
    assert "stopped cleanly" in second.text()


FAILOVER_CONFIG = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed}"
poll_every = "5s"
accounts = ["{account}"]
backlog = {backlog}

[[accounts]]
name = "{account}"
publisher = "instagram"

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 1000
max_age = "3650d"
tick = "1s"

[fetch]
timeout = "2s"
allow_private_addresses = true

[publish]
publishing_grace = "1s"
call_timeout = "10s"
"""


class Site:
    """The WordPress site: publishes articles as the test goes, newest first."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: list[Item] = []
        self.now = datetime.now(UTC) - timedelta(hours=1)

    def publish(self, count: int) -> None:
        for _ in range(count):
            n = len(self.items) + 1
            self.now += timedelta(minutes=1)
            self.items.insert(0, Item(post_id=42000 + n, title=f"Kabar Kutim hari ini, ke-{n}",
                                      slug=f"kabar-kutim-{n}", published=self.now))
        self.server.routes["/feed/"] = Route(body=rss(self.items[:10]))


@pytest.mark.slow
def test_failover_on_postgresql_posts_every_article_exactly_once(
        tmp_path: Path, server: FeedServer, postgres_url: str, runs: list[Run]) -> None:
    """Two bot runs on one PostgreSQL; the leader is SIGKILLed while Instagram is still
    acting on its upload. The standby takes over within 15 s, its exactly-once check
    finds the post that landed after the kill, and every article is on the account
    exactly once."""
    site = Site(server)
    site.publish(2)
    config = tmp_path / "bot.toml"
    config.write_text(FAILOVER_CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT,
                                             backlog=2), encoding="utf-8")
    with Emulator() as emulator:
        emulator.add_account(USERNAME, PASSWORD)
        env = bot_env(config, tmp_path / "var", DATABASE_URL=postgres_url,
                      BOT_INSTAGRAM_API=emulator.url)
        session = emulator.write_session_file(tmp_path / "session.json", USERNAME)
        subprocess.run([sys.executable, "-m", "bot", "login", "--import", str(session)],
                       cwd=REPO, env=env, check=True, capture_output=True, timeout=WAIT)

        leader = Run(env, tmp_path / "leader.log")
        runs.append(leader)
        wait_until(lambda: leader.logged("this bot run is the scheduler"), what="a leader")
        standby = Run(env, tmp_path / "standby.log")
        runs.append(standby)
        wait_until(lambda: standby.logged("waiting as a hot standby"), what="the standby")
        wait_until(lambda: len(emulator.feed()) == 2, what="the backlog to be posted")
        wait_until(lambda: roles(env) == sorted([("leader", leader.process.pid),
                                                 ("standby", standby.process.pid)]),
                   what="bot status to show the leader and the standby")

        # Instagram takes 1.5 s over the next configure: the leader dies inside it and
        # the post lands afterwards, which only the exactly-once check can know.
        emulator.inject(Fault("/media/configure/", kind="delay", delay=1.5))
        start = len(emulator.arrivals)
        site.publish(3)
        wait_until(lambda: any(p.endswith("/media/configure/")
                               for p in emulator.arrivals[start:]),
                   what="the leader's configure request")
        leader.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: standby.logged("took over as the scheduler"), what="the takeover")
        takeover = time.monotonic() - killed
        wait_until(lambda: standby.logged("daemon started"), what="the new scheduler")
        scheduling = time.monotonic() - killed
        assert leader.stop() == -signal.SIGKILL

        site.publish(2)
        links = [item.url for item in site.items]
        wait_until(lambda: len(emulator.feed()) >= len(links), what="every article posted")
        store = Store.open(postgres_url)
        wait_until(lambda: set(store.count_by_status()) == {"posted"},
                   what="every post recorded as posted")
        all_done = time.monotonic() - killed
        recovered = any(e.reason == "found on the account after an interrupted upload"
                        for e in store.events(kind="status"))
        store.close()
        feed = emulator.feed()
        assert standby.stop() == 0

    per_article = Counter(next(link for link in links if link in post.caption)
                          for post in feed)
    print(f"\nfailover: standby took the lock {takeover:.2f} s after SIGKILL, scheduling "
          f"{scheduling:.2f} s after; all {len(links)} articles posted {all_done:.1f} s "
          f"after; post in flight at the kill found by the exactly-once check: {recovered}")
    assert takeover < 15
    assert per_article == {link: 1 for link in links}  # no duplicate, none missing
    assert recovered
