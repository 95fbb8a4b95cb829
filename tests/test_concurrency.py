"""One SQLite store under load from several processes at once: the daemon (``bot run``:
polls of a feed that keeps growing, renders, publish ticks every second) and the web
desk (``bot web``), while three workers fire CLI actions (approve, skip, retry, log,
status, show) and one works the desk (approve, skip, retry through its forms, and its
pages) as fast as they can.

No process ever sees "database is locked"; every action that succeeded left exactly
its event; each post's status events chain without a gap up to its current status;
and the daemon and the desk stop cleanly at the end.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from bot.models import Status
from bot.store import PostFilter, Store
from tests.crashkit import ForkServer
from tests.feedkit import FeedServer, Item, Route, rss
from tests.webkit import ADMIN_PASSWORD, ADMIN_USER, web_env

pytestmark = pytest.mark.slow

DURATION_S = float(os.environ.get("CONCURRENCY_SECONDS") or 20)
WORKERS = 3

CONFIG = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed}"
accounts = ["editorialkaltim"]
backlog = 40
poll_every = "5s"

[[accounts]]
name = "editorialkaltim"
publisher = "outbox"

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 100000
max_age = "3650d"
tick = "1s"

[schedule.approval]
categories = ["Hukum"]

[fetch]
timeout = "2s"
allow_private_addresses = true
"""

ACTIONS = ("approve", "skip", "retry", "log", "status", "show")


@dataclass
class Done:
    """One CLI run."""

    action: str
    post_id: int | None
    code: int
    output: str


class Site:
    """A feed that keeps growing: every other article is in the approval category."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: list[Item] = []
        self.now = datetime.now(UTC) - timedelta(hours=3)
        self.lock = threading.Lock()

    def publish(self, count: int) -> None:
        with self.lock:
            for _ in range(count):
                n = len(self.items) + 1
                self.now += timedelta(minutes=1)
                self.items.insert(0, Item(
                    post_id=45000 + n, title=f"Sidang perkara nomor {n} di Samarinda",
                    slug=f"sidang-perkara-{n}", published=self.now,
                    categories=("Hukum",) if n % 2 else ("Kutim",),
                    link=self.server.url(f"/2026/sidang-perkara-{n}/")))
            self.server.routes["/feed/"] = Route(body=rss(self.items[:30]))


def test_daemon_and_cli_actions_share_one_store_without_locks_or_lost_events(
        tmp_path: Path, server: FeedServer) -> None:
    rng = random.Random(int(os.environ.get("CONCURRENCY_SEED") or random.randrange(10**6)))
    site = Site(server)
    site.publish(40)
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(feed=server.url("/feed/")), encoding="utf-8")
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IG_", "BOT_", "DATABASE_URL", "PYTEST"))}
    env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir), USER="desk")
    logs = tmp_path / "logs"
    logs.mkdir()
    done: list[Done] = []
    web_done: list[Done] = []
    done_lock = threading.Lock()

    with ForkServer() as forks:
        daemon_log = logs / "daemon.log"
        daemon = forks.start(["run"], env, daemon_log)
        store = Store.for_data_dir(data_dir) if _wait_for(data_dir / "bot.sqlite3") else None
        assert store is not None, daemon_log.read_text()
        stop = threading.Event()
        web_log = logs / "web.log"
        port = _free_port()
        web = forks.start(["web", "--host", "127.0.0.1", "--port", str(port)],
                          {**env, **web_env(data_dir, config)}, web_log)
        desk = f"http://127.0.0.1:{port}"
        assert _wait_for_desk(desk, web), web_log.read_text()

        def desk_worker() -> None:
            session = requests.Session()
            page = session.get(desk + "/login", timeout=30).text
            answer = session.post(desk + "/login", timeout=30, data={
                "username": ADMIN_USER, "password": ADMIN_PASSWORD,
                "csrf_token": CSRF_RE.search(page).group(1),  # type: ignore[union-attr]
                "next": "/"})
            assert answer.status_code == 200 and "/login" not in answer.url, answer.text
            while not stop.is_set():
                action = rng.choice(("approve", "skip", "retry", "dashboard", "posts"))
                if action in ("dashboard", "posts"):
                    answer = session.get(desk + ("/" if action == "dashboard" else "/posts"),
                                         timeout=30)
                    with done_lock:
                        web_done.append(Done(action, None, answer.status_code, answer.text))
                    continue
                post_id = _target(store, action, rng)
                if post_id is None:
                    continue
                page = session.get(f"{desk}/posts/{post_id}", timeout=30).text
                version = VERSION_RE.search(page)
                answer = session.post(f"{desk}/posts/{post_id}/{action}", timeout=30, data={
                    "csrf_token": CSRF_RE.search(page).group(1),  # type: ignore[union-attr]
                    "version": version.group(1) if version else "", "reason": "dari meja"})
                with done_lock:
                    web_done.append(Done(action, post_id, answer.status_code, answer.text))

        def worker(number: int) -> None:
            runs = 0
            while not stop.is_set():
                runs += 1
                action = rng.choice(ACTIONS)
                post_id = _target(store, action, rng)
                args = {"approve": ["approve", str(post_id), "--reason", "ok"],
                        "skip": ["skip", str(post_id), "--reason", "tidak relevan"],
                        "retry": ["retry", str(post_id)],
                        "log": ["log", "--format", "json", "--limit", "0"],
                        "status": ["status", "--format", "json"],
                        "show": ["show", str(post_id), "--format", "json"]}[action]
                if post_id is None and action not in ("log", "status"):
                    args = ["log", "--limit", "5"]
                    action = "log"
                out = logs / f"w{number}-{runs}.log"
                code = forks.wait(forks.start(args, env, out))
                with done_lock:
                    done.append(Done(action, post_id, code, out.read_text(encoding="utf-8")))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
        threads.append(threading.Thread(target=desk_worker))
        for thread in threads:
            thread.start()
        end = time.monotonic() + DURATION_S
        while time.monotonic() < end:
            site.publish(1)
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert forks.running(daemon), daemon_log.read_text()[-3000:]
        assert forks.running(web), web_log.read_text()[-3000:]
        os.kill(daemon, signal.SIGTERM)
        os.kill(web, signal.SIGTERM)
        daemon_code = forks.wait(daemon)
        web_code = forks.wait(web)
        events = store.events()
        posts = {p.id: p for p in store.posts(PostFilter(limit=None))}
        store.close()

    daemon_text = daemon_log.read_text(encoding="utf-8")
    web_text = web_log.read_text(encoding="utf-8")
    outputs = [daemon_text, web_text] + [d.output for d in done + web_done]
    assert not [o for o in outputs if "locked" in o.lower()], "database is locked"
    assert daemon_code == 0, daemon_text[-3000:]
    assert web_code in (0, -signal.SIGTERM), web_text[-3000:]
    assert "Traceback" not in daemon_text and "Traceback" not in web_text
    # The desk: every page answered; every action either done or refused in words.
    web_ok: Counter[tuple[str, int | None]] = Counter()
    for d in web_done:
        assert d.code == 200, (d.action, d.code, d.output[-2000:])
        if d.action in ("approve", "skip", "retry"):
            flash = _DESK_DONE[d.action]
            assert flash in d.output or "Tidak diubah" in d.output \
                or "sudah berubah" in d.output, (d.action, d.output[-2000:])
            assert "Gagal:" not in d.output
            if flash in d.output:
                web_ok[(d.action, d.post_id)] += 1
    assert len(web_done) >= 5
    by_action = Counter(d.action for d in done)
    print(f"\nconcurrency: {len(web_done)} desk requests "
          f"{dict(Counter(d.action for d in web_done))}, {sum(web_ok.values())} desk actions "
          f"done; {len(done)} CLI runs {dict(by_action)}, exit codes "
          f"{dict(Counter(d.code for d in done))}; {len(events)} events, {len(posts)} posts "
          f"{dict(Counter(p.status.value for p in posts.values()))}")
    assert sum(by_action.values()) >= 3 * WORKERS, by_action
    for d in done:
        # 0, or 2 for an action the post's status no longer allows (a race with the
        # daemon or another worker, said plainly); never 1 or a traceback.
        assert d.code in (0, 2) and "Traceback" not in d.output, (d.action, d.code, d.output)
        if d.action in ("log", "status", "show"):
            assert d.code == 0, d.output
    # Every action that succeeded left its event, and only those did.
    expected = Counter((d.action, d.post_id) for d in done
                       if d.code == 0 and d.action in ("approve", "skip", "retry"))
    prefix = {"approved": "approve", "skipped": "skip", "retry": "retry"}
    found = Counter((prefix[e.reason.split(" by ")[0]], e.post_id) for e in events
                    if e.kind == "status" and e.actor.startswith("cli:")
                    and e.reason.split(" by ")[0] in prefix)
    assert found == expected
    found_web = Counter((prefix[e.reason.split(" by ")[0]], e.post_id) for e in events
                        if e.kind == "status" and e.actor.startswith("web:")
                        and e.reason.split(" by ")[0] in prefix)
    assert found_web == web_ok
    # Each post's status events chain from its creation to its current status.
    chains: dict[int, list[tuple[str | None, str | None]]] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.kind == "status" and event.post_id is not None:
            chains.setdefault(event.post_id, []).append((event.from_status, event.to_status))
    for post_id, post in posts.items():
        chain = chains[post_id]
        for (_before, after), (then, _to) in itertools.pairwise(chain):
            assert after == then, (post_id, chain)
        assert chain[-1][1] == post.status, (post_id, chain, post.status)
    assert Counter(p.status for p in posts.values())[Status.POSTED] >= 1


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version" value="([^"]+)"')
_DESK_DONE = {"approve": "Disetujui.", "skip": "Dilewati;", "retry": "Dicoba lagi."}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_desk(base: str, pid: int, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end and ForkServer.running(pid):
        try:
            requests.get(base + "/healthz", timeout=2)
            return True
        except requests.RequestException:
            time.sleep(0.1)
    return False


def _wait_for(path: Path, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            time.sleep(0.5)  # let the daemon finish creating the schema
            return True
        time.sleep(0.05)
    return False


def _target(store: Store, action: str, rng: random.Random) -> int | None:
    """A post the action makes sense for (it may change before the action runs)."""
    wanted = {"approve": [Status.PENDING_APPROVAL], "skip": [Status.QUEUED,
                                                             Status.PENDING_APPROVAL],
              "retry": [Status.SKIPPED, Status.FAILED]}.get(action)
    posts = store.posts(PostFilter(status=[s.value for s in wanted], limit=None)) if wanted \
        else store.posts(PostFilter(limit=20))
    return rng.choice(posts).id if posts else None
