"""Exactly once under SIGKILL: ``bot run --once`` is killed at random moments (while
it polls and stores articles, renders cards, uploads, or waits on a configure that is
still in flight), at least 200 times, and restarted each time. In the end every article
is on the (emulated) Instagram account exactly once and ``posted`` in the log, its
story posted or failed with a reason, and the SQLite file passes its integrity check.

The bot runs as a black box: a real process per run, with its config, data dir and the
test seam in the environment, its session given with ``bot login --import``. The runs
are forked from a process that imported the bot once (tests/crashkit.py), so 200 kills
take a couple of minutes, not an interpreter start each.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import PostFilter, Store
from tests.crashkit import ForkServer
from tests.feedkit import FeedServer, Item, Route, feed_server, rss
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, USERNAME
from tests.imagekit import jpeg, landscape

FIRST_ARTICLES = 4
KILLS = int(os.environ.get("CRASH_KILLS") or 200)
WORLDS = 4

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
settle_after = ["2s", "3s"]
call_timeout = "5s"
"""


class Site:
    """The WordPress site: publishes new articles as the test goes, newest first; every
    third one has a photo, so some kills land while a card is being rendered."""

    def __init__(self, server: FeedServer) -> None:
        self.server = server
        self.items: list[Item] = []
        self.now = datetime.now(UTC) - timedelta(hours=2)
        server.routes["/img/"] = Route(handler=self._photo)
        self.photo = jpeg(landscape((900, 700)))

    def publish(self, count: int) -> None:
        for _ in range(count):
            n = len(self.items) + 1
            self.now += timedelta(minutes=1)
            image = self.server.url(f"/img/?n={n}") if n % 3 == 0 else None
            self.items.insert(0, Item(post_id=41000 + n,
                                      title=f"Banjir rob di Samarinda, laporan ke-{n}",
                                      slug=f"banjir-rob-samarinda-{n}", published=self.now,
                                      image=image,
                                      link=self.server.url(f"/2026/banjir-rob-{n}/")))
        # Ten a page, older ones on ?paged=N, as WordPress serves them: runs killed before
        # their poll completes let new articles pile up past page 1.
        pages = [self.items[i:i + 10] for i in range(0, len(self.items), 10)]
        self.server.routes["/feed/"] = Route(body=rss(pages[0]), pages={
            n + 1: rss(page) for n, page in enumerate(pages) if n})

    def _photo(self, h: BaseHTTPRequestHandler) -> None:
        time.sleep(0.05)  # a photo takes a moment: room for a kill while rendering
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(self.photo)))
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(self.photo)


MODES = ("poll", "render", "publish", "configure-in-flight", "anywhere")


def _wait(condition: Callable[[], bool], pid: int, timeout: float = 20.0) -> bool:
    """Poll ``condition`` while the child runs; False if the child ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        if not ForkServer.running(pid):
            return False
        time.sleep(0.002)
    return False


def test_sigkill_at_random_moments_never_posts_twice_or_drops_an_article(
        tmp_path: Path) -> None:
    seed = int(os.environ.get("CRASH_SEED") or random.randrange(10**6))
    # Independent worlds (feed server, emulator, data dir, fork server) side by side:
    # the runs mostly wait on each other's sockets, so two share the wall time.
    per_world = -(-KILLS // WORLDS)
    with ThreadPoolExecutor(WORLDS) as pool:
        futures = [pool.submit(_world, tmp_path / f"world-{n}", seed + n, per_world)
                   for n in range(WORLDS)]
        kills = [future.result() for future in futures]
    assert sum(kills) >= KILLS


def _world(tmp_path: Path, seed: int, kill_target: int) -> int:
    """Kill ``kill_target`` runs at random moments in one world; check it; the kills."""
    tmp_path.mkdir()
    rng = random.Random(seed)
    with feed_server() as server:
        return _kill_runs(tmp_path, server, rng, seed, kill_target)


def _kill_runs(tmp_path: Path, server: FeedServer, rng: random.Random, seed: int,
               kill_target: int) -> int:
    site = Site(server)
    site.publish(FIRST_ARTICLES)
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT,
                                    backlog=FIRST_ARTICLES), encoding="utf-8")
    data_dir = tmp_path / "var"
    log = tmp_path / "runs.log"

    with Emulator() as emulator, ForkServer() as forks:
        emulator.add_account(USERNAME, PASSWORD)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IG_", "BOT_", "DATABASE_URL", "PYTEST"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir),
                   BOT_INSTAGRAM_API=emulator.url, PYTHONUNBUFFERED="1")
        session = emulator.write_session_file(tmp_path / "session.json", USERNAME)
        assert forks.wait(forks.start(["login", "--import", str(session)], env, log)) == 0, \
            log.read_text()
        store = Store.for_data_dir(data_dir)

        kills = runs = 0
        kill_modes: Counter[str] = Counter()
        kill_points: Counter[str] = Counter()
        while kills < kill_target:
            runs += 1
            # Keep work in the queue for the next kill, once a first poll has completed
            # (until then, what a poll finds counts as already there: seen, not posted).
            if store.count_by_status(ACCOUNT).get("queued", 0) < 3 \
                    and store.started_accounts("utama"):
                site.publish(3)
            mode = rng.choice(MODES)
            arrivals, feed_hits, photo_hits = (len(emulator.arrivals), len(server.hits("/feed/")),
                                               len(server.hits("/img/")))
            if mode == "configure-in-flight":
                # Kill while Instagram is still processing a configure: the post lands
                # after the process died, and only the exactly-once check can know.
                emulator.inject(Fault("/media/configure/", kind="delay", delay=0.4))
            elif rng.random() < 0.3:
                emulator.inject(Fault(rng.choice(["/media/configure/", "/rupload_igphoto/",
                                                  "/media/configure_to_story/"]),
                                      kind="delay", delay=rng.uniform(0.05, 0.3)))
            t0 = time.monotonic()
            pid = forks.start(["run", "--once"], env, log)
            if mode == "poll":
                reached = _wait(lambda n=feed_hits: len(server.hits("/feed/")) > n, pid)
                pause = rng.uniform(0, 0.08)
            elif mode == "render":
                reached = _wait(lambda n=photo_hits: len(server.hits("/img/")) > n, pid)
                pause = rng.uniform(0, 0.15)
            elif mode == "publish":
                target = arrivals + rng.randint(1, 8)
                reached = _wait(lambda t=target: len(emulator.arrivals) >= t, pid)
                pause = rng.uniform(0, 0.05)
            elif mode == "configure-in-flight":
                reached = _wait(lambda n=arrivals: _configure_arrived(emulator, n), pid)
                pause = rng.uniform(0, 0.3)
            else:
                reached, pause = True, rng.uniform(0, 0.6)
            if reached:
                time.sleep(pause)
                if forks.kill(pid):
                    kills += 1
                    kill_modes[mode] += 1
                    if len(emulator.arrivals) > arrivals:
                        kill_points[_endpoint(emulator.arrivals[-1])] += 1
            code = forks.wait(pid)
            if os.environ.get("CRASH_TIMING"):
                print(f"run {runs} {mode} reached={reached} code={code} "
                      f"{time.monotonic() - t0:.2f}s")
            assert code in (0, -signal.SIGKILL), log.read_text()[-3000:]
            emulator.clear_faults()

        # Then let runs finish, the grace period passing between them, until all is out.
        for _ in range(15):
            time.sleep(1.1)
            assert forks.wait(forks.start(["run", "--once"], env, log)) == 0, \
                log.read_text()[-3000:]
            counts = store.count_by_status(ACCOUNT)
            if not counts.get("queued") and not counts.get("publishing") \
                    and not store.posts_with_open_story(ACCOUNT):
                break
        reasons = Counter(e.reason for e in store.events(kind="status", account=ACCOUNT))
        posts = store.posts(PostFilter(limit=None))
        with store.begin() as conn:
            integrity = conn.execute(sa.text("PRAGMA integrity_check")).scalar()
        store.close()
        feed = emulator.feed()
        stories = emulator.stories()

    found = reasons["found on the account after an interrupted upload"]
    print(f"\ncrash test (CRASH_SEED={seed}): {kills} SIGKILLs in {runs} runs, by moment "
          f"{dict(kill_modes)}, at {dict(kill_points)}; {len(site.items)} articles, "
          f"{len(feed)} feed posts, {len(stories)} stories; exactly-once check found "
          f"{found} posts that landed after a kill")
    assert kills >= kill_target
    assert integrity == "ok"
    assert found >= 1  # kills did leave posts that landed after the crash
    statuses = {p.link: p.status for p in posts}
    assert statuses == {item.url: "posted" for item in site.items}
    per_article = Counter(next(item.url for item in site.items if item.url in post.caption)
                          for post in feed)
    assert per_article == {item.url: 1 for item in site.items}, f"CRASH_SEED={seed}"
    per_story = Counter(story.links[0].split("?")[0] for story in stories)
    assert set(per_story.values()) <= {1}, f"CRASH_SEED={seed}"
    for post in posts:  # a story is posted, or failed with its reason: never pending
        assert post.story_status in ("posted", "failed"), post
        assert post.story_status == "posted" or post.story_reason
    return kills


def _configure_arrived(emulator: Emulator, start: int) -> bool:
    return any(p.endswith("/media/configure/") for p in emulator.arrivals[start:])


def _endpoint(path: str) -> str:
    """A short name for where a kill landed: configure, rupload, feed/user…"""
    parts = [p for p in path.split("/") if p and not p.isdigit()]
    if parts[0].startswith("rupload"):
        return "rupload"
    return "/".join(parts[2:]) if parts[:2] == ["api", "v1"] else "/".join(parts)
