"""Exactly once under SIGKILL: ``bot run --once`` is killed at random points while it
publishes, again and again, and restarted each time. In the end every article is on
the (emulated) Instagram account exactly once and ``posted`` in the log.

The bot runs as a black box: a subprocess with its config, data dir and the test seam
in the environment, its session given with ``bot login --import``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, USERNAME

REPO = Path(__file__).resolve().parent.parent
FIRST_ARTICLES = 4
KILLS = 24
RUN_TIMEOUT = 60.0

pytestmark = pytest.mark.slow

CONFIG = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed}"
accounts = ["{account}"]
backlog = {backlog}

[[accounts]]
name = "{account}"
publisher = "instagram"
story = true

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 1000
max_age = "3650d"

[fetch]
timeout = "2s"
allow_private_addresses = true

[publish]
max_attempts = 50
publishing_grace = "1s"
call_timeout = "5s"
"""


class Site:
    """The WordPress site: publishes new articles as the test goes, newest first."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: list[Item] = []
        self.now = datetime.now(UTC) - timedelta(hours=2)

    def publish(self, count: int) -> None:
        for _ in range(count):
            n = len(self.items) + 1
            self.now += timedelta(minutes=1)
            self.items.insert(0, Item(post_id=41000 + n,
                                      title=f"Banjir rob di Samarinda, laporan ke-{n}",
                                      slug=f"banjir-rob-samarinda-{n}", published=self.now))
        self.server.routes["/feed/"] = Route(body=rss(self.items[:10]))


def _bot(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_during_publishing_never_posts_twice_or_drops_an_article(
        tmp_path: Path, server: FeedServer) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(10**6))
    rng = random.Random(seed)
    site = Site(server)
    site.publish(FIRST_ARTICLES)
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT,
                                    backlog=FIRST_ARTICLES), encoding="utf-8")
    data_dir = tmp_path / "var"

    with Emulator() as emulator:
        emulator.add_account(USERNAME, PASSWORD)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IG_", "BOT_", "DATABASE_URL"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir),
                   BOT_INSTAGRAM_API=emulator.url, PYTHONUNBUFFERED="1")
        session = emulator.write_session_file(tmp_path / "session.json", USERNAME)
        login = _bot(env, "login", "--import", str(session))
        _out, err = login.communicate(timeout=RUN_TIMEOUT)
        assert login.returncode == 0, err
        store = Store.for_data_dir(data_dir)

        kills = runs = 0
        kill_points: Counter[str] = Counter()
        while kills < KILLS:
            runs += 1
            if store.count_by_status(ACCOUNT).get("queued", 0) < 2 and runs > 1:
                site.publish(3)  # keep work in the queue for the next kill
            start = len(emulator.arrivals)
            aimed = runs % 5 == 0
            if aimed:
                # Kill while Instagram is still processing a configure: the post lands
                # after the process died, and only the exactly-once check can know.
                emulator.inject(Fault("/media/configure/", kind="delay", delay=0.4))
            elif rng.random() < 0.5:
                emulator.inject(Fault(rng.choice(["/media/configure/", "/rupload_igphoto/",
                                                  "/media/configure_to_story/"]),
                                      kind="delay", delay=rng.uniform(0.05, 0.5)))
            target = start + rng.randint(2, 9)
            run = _bot(env, "run", "--once")
            while not (_configure_arrived(emulator, start) if aimed
                       else emulator.wait_for_arrivals(target, timeout=0.02)):
                if run.poll() is not None:
                    break
                time.sleep(0.01 if aimed else 0)
            else:
                time.sleep(rng.uniform(0, 0.2 if aimed else 0.25))
                if run.poll() is None:
                    run.send_signal(signal.SIGKILL)
                    kills += 1
                    kill_points[_endpoint(emulator.arrivals[-1])] += 1
            _out, err = run.communicate(timeout=RUN_TIMEOUT)
            assert run.returncode in (0, -signal.SIGKILL), err
            emulator.clear_faults()

        # Then let runs finish, the grace period passing between them, until all is out.
        for _ in range(10):
            time.sleep(1.1)
            run = _bot(env, "run", "--once")
            _out, err = run.communicate(timeout=RUN_TIMEOUT)
            assert run.returncode == 0, err
            if set(store.count_by_status(ACCOUNT)) == {"posted"}:
                break
        reasons = Counter(e.reason for e in store.events(kind="status", account=ACCOUNT))
        store.close()
        statuses = _statuses(env)
        feed = emulator.feed()
        stories = emulator.stories()

    found = reasons["found on the account after an interrupted upload"]
    retried = reasons["not found on the account after an interrupted upload; will retry"]
    print(f"\ncrash test (CRASH_SEED={seed}): {kills} SIGKILLs in {runs} runs, at "
          f"{dict(kill_points)}; {len(site.items)} articles, {len(feed)} feed posts, "
          f"{len(stories)} stories; exactly-once check: {found} found on the account, "
          f"{retried} not found and retried")
    assert kills >= 20
    assert found >= 1  # the aimed kills did leave posts that landed after the crash
    assert statuses == {item.url: "posted" for item in site.items}
    per_article = Counter(next(item.url for item in site.items if item.url in post.caption)
                          for post in feed)
    assert per_article == {item.url: 1 for item in site.items}
    per_story = Counter(story.links[0].split("?")[0] for story in stories)
    assert set(per_story.values()) <= {1}


def _configure_arrived(emulator: Emulator, start: int) -> bool:
    return any(p.endswith("/media/configure/") for p in emulator.arrivals[start:])


def _endpoint(path: str) -> str:
    """A short name for where a kill landed: configure, rupload, feed/user…"""
    parts = [p for p in path.split("/") if p and not p.isdigit()]
    if parts[0].startswith("rupload"):
        return "rupload"
    return "/".join(parts[2:]) if parts[:2] == ["api", "v1"] else "/".join(parts)


def _statuses(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run([sys.executable, "-m", "bot", "log", "--format", "json",
                             "--limit", "100"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=RUN_TIMEOUT, check=True)
    return {post["link"]: post["status"] for post in json.loads(result.stdout)}
