"""Soak: the daemon (``bot run``) for N minutes against a changing feed and a faulty
Instagram, then an account of every article.

Not part of the default test run (pytest collects only ``test_*.py``). Run::

    python -m tests.soak.soak --minutes 30 --out /tmp/soak

What it does:

- a feed server on 127.0.0.1 publishes a new article every ``--feed-every`` seconds
  (sometimes two at once, sometimes a title edit), serving the 10 newest on page 1 and
  older ones on ``?paged=N``, some with a photo, and fails now and then (500, reset,
  slow answer);
- the Instagram emulator gets a random fault every ``--fault-every`` seconds: 5xx and
  dropped connections before and after configure, upload errors, slow and late
  configures, a failing exactly-once read, rate limits (a short cooldown) and an
  expired session (the bot logs in again with the password);
- ``bot run`` runs as a subprocess with its own data dir; its resident memory is
  sampled every 10 s from /proc.

At the end faults stop, the daemon gets ``--drain`` minutes to publish what is left
and is stopped with SIGTERM. The report (printed, and ``report.json`` in ``--out``):
memory at the start and end and its growth, posts stuck in ``publishing`` or overdue
in ``queued``, duplicates on the account (an article posted more than once), and every
article accounted for (posted once, or a status and reason in the log). The exit code
is 1 if a duplicate, a lost article or a stuck post was found.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.models import Status
from bot.store import PostFilter, Store
from tests.feedkit import FeedServer, Item, Route, feed_server, reset, rss
from tests.ig_emulator import FEEDBACK_REQUIRED, PLEASE_WAIT, Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, USERNAME
from tests.imagekit import jpeg, landscape

REPO = Path(__file__).resolve().parents[2]

CONFIG = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed}"
accounts = ["{account}"]
poll_every = "5s"
backlog = 3
max_pages = 5

[[accounts]]
name = "{account}"
publisher = "instagram"
story = true

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 100000
max_age = "3650d"
tick = "1s"

[fetch]
timeout = "2s"
connect_timeout = "1s"
allow_private_addresses = true

[publish]
max_attempts = 50
retry_backoff = "1s"
retry_backoff_max = "10s"
cooldown = "15s"
publishing_grace = "2s"
call_timeout = "6s"
stop_timeout = "20s"
"""

# (weight, name): what Instagram does wrong now and then.
FAULTS: list[tuple[int, str]] = [
    (3, "configure_500"), (3, "configure_drop_after"), (2, "configure_drop_before"),
    (2, "rupload_500"), (2, "configure_slow"), (2, "configure_late"),
    (2, "feed_user_500"), (1, "rate_limit_429"), (1, "feedback_required"),
    (1, "please_wait"), (1, "story_500"), (1, "session_expired"),
]


def _fault(emulator: Emulator, name: str, timeout: float) -> None:
    if name == "configure_500":
        emulator.inject(Fault("/media/configure/", status=500, body={"status": "fail"}))
    elif name == "configure_drop_after":
        emulator.inject(Fault("/media/configure/", kind="drop_after"))
    elif name == "configure_drop_before":
        emulator.inject(Fault("/media/configure/", kind="drop_before"))
    elif name == "rupload_500":
        emulator.inject(Fault("/rupload_igphoto/", status=503, body="unavailable"))
    elif name == "configure_slow":  # answers inside the call timeout
        emulator.inject(Fault("/media/configure/", kind="delay", delay=timeout / 2))
    elif name == "configure_late":  # lands after the bot gave up on the call
        emulator.inject(Fault("/media/configure/", kind="delay", delay=timeout * 1.5))
    elif name == "feed_user_500":
        emulator.inject(Fault("/feed/user/", status=500, body={"status": "fail"}))
    elif name == "rate_limit_429":
        emulator.inject(Fault("/media/configure/", status=429, body={"status": "fail"},
                              headers={"Retry-After": "10"}))
    elif name == "feedback_required":
        emulator.inject(Fault("/media/configure/", status=400, body=FEEDBACK_REQUIRED))
    elif name == "please_wait":
        emulator.inject(Fault("/rupload_igphoto/", status=400, body=PLEASE_WAIT))
    elif name == "story_500":
        emulator.inject(Fault("/media/configure_to_story/", status=500,
                              body={"status": "fail"}))
    elif name == "session_expired":
        emulator.expire_sessions(USERNAME)
    else:
        raise ValueError(name)


class Site:
    """A WordPress site that keeps publishing; page 1 has the 10 newest."""

    def __init__(self, server: FeedServer, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.items: list[Item] = []
        self.now = datetime.now(UTC) - timedelta(hours=1)
        self.lock = threading.Lock()
        self.failing: str | None = None
        photo = jpeg(landscape((1200, 800)))
        server.routes["/img/photo.jpg"] = Route(body=photo, content_type="image/jpeg",
                                                etag=False, last_modified=None)
        server.routes["/feed/"] = Route(handler=self._serve)
        self.edits = 0

    def publish(self, count: int = 1) -> None:
        with self.lock:
            for _ in range(count):
                n = len(self.items) + 1
                self.now += timedelta(seconds=30)
                image = self.server.url(f"/img/photo.jpg?n={n}") if n % 3 == 0 else None
                self.items.insert(0, Item(post_id=50000 + n, slug=f"soak-berita-{n}",
                                          title=f"Berita soak ke-{n}: Pemkab Kutim bahas "
                                                f"anggaran {n}",
                                          published=self.now, image=image,
                                          # on the local server: nothing leaves the machine
                                          link=self.server.url(f"/artikel/soak-berita-{n}/")))
                # The article page exists, as on a real site (follow-ups check it).
                self.server.routes[f"/artikel/soak-berita-{n}/"] = Route(
                    body=f"<html><head><title>Berita soak ke-{n}</title></head><body>"
                         f"<h1>Berita soak ke-{n}</h1></body></html>".encode(),
                    content_type="text/html; charset=UTF-8", etag=False, last_modified=None)

    def edit(self) -> None:
        with self.lock:
            if len(self.items) < 2:
                return
            item = self.items[self.rng.randrange(min(5, len(self.items)))]
            item.title = item.title.split(" (diperbarui")[0] + f" (diperbarui {self.edits})"
            self.edits += 1

    def _serve(self, h: Any) -> None:
        if self.failing == "reset":
            reset(h)
            return
        if self.failing == "slow":
            time.sleep(3)
        query = h.path.partition("?")[2]
        page = 1
        for part in query.split("&"):
            if part.startswith("paged="):
                page = int(part[6:] or 1)
        with self.lock:
            chunk = self.items[(page - 1) * 10: page * 10]
            body = rss(chunk)
        status = 500 if self.failing == "500" else (200 if chunk or page == 1 else 404)
        with contextlib.suppress(OSError):  # the bot may hang up on a slow answer
            h.send_response(status)
            h.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)


def _rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run(minutes: float, out: Path, *, seed: int, feed_every: float, fault_every: float,
        drain_minutes: float) -> dict[str, Any]:
    """Run the soak and return the report."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = out / "var"
    config = out / "bot.toml"
    log_path = out / "bot.log"
    timeout = 6.0
    with feed_server() as server, Emulator() as emulator:
        emulator.add_account(USERNAME, PASSWORD)
        site = Site(server, rng)
        site.publish(3)
        config.write_text(CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT),
                          encoding="utf-8")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IG_", "BOT_", "DATABASE_URL"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir),
                   BOT_INSTAGRAM_API=emulator.url, PYTHONUNBUFFERED="1",
                   BOT_LOG_FORMAT="json", IG_USERNAME=USERNAME, IG_PASSWORD=PASSWORD,
                   BOT_SECRET_KEY=Fernet.generate_key().decode())
        session = emulator.write_session_file(out / "session.json", USERNAME)
        subprocess.run([sys.executable, "-m", "bot", "login", "--import", str(session)],
                       cwd=REPO, env=env, check=True, capture_output=True, timeout=120)
        session.unlink()
        with log_path.open("w", encoding="utf-8") as log_file:
            daemon = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=REPO, env=env,
                                      stdout=log_file, stderr=subprocess.STDOUT)
            samples: list[tuple[float, int]] = []
            faults: Counter[str] = Counter()
            feed_faults: Counter[str] = Counter()
            start = time.monotonic()
            end = start + minutes * 60
            next_feed = start + feed_every
            next_fault = start + fault_every
            next_sample = start
            names = [name for weight, name in FAULTS for _ in range(weight)]
            while time.monotonic() < end and daemon.poll() is None:
                now = time.monotonic()
                if now >= next_sample:
                    rss_kib = _rss_kib(daemon.pid)
                    if rss_kib is not None:
                        samples.append((now - start, rss_kib))
                    next_sample = now + 10
                if now >= next_feed:
                    roll = rng.random()
                    site.publish(2 if roll < 0.15 else 1)
                    if roll > 0.9:
                        site.edit()
                    site.failing = rng.choice(["500", "reset", "slow"]) \
                        if rng.random() < 0.05 else None
                    if site.failing:
                        feed_faults[site.failing] += 1
                    next_feed = now + rng.uniform(0.5, 1.5) * feed_every
                if now >= next_fault:
                    name = rng.choice(names)
                    _fault(emulator, name, timeout)
                    faults[name] += 1
                    next_fault = now + rng.uniform(0.5, 1.5) * fault_every
                time.sleep(0.2)
            crashed = daemon.poll() is not None
            site.failing = None
            emulator.clear_faults()
            # Drain: no more faults or articles; let the daemon publish what is left.
            drain_end = time.monotonic() + drain_minutes * 60
            store = Store.for_data_dir(data_dir)
            while time.monotonic() < drain_end and daemon.poll() is None:
                counts = store.count_by_status(ACCOUNT)
                if not counts.get("queued") and not counts.get("publishing"):
                    break
                time.sleep(2)
            rss_end = _rss_kib(daemon.pid)
            if rss_end is not None:
                samples.append((time.monotonic() - start, rss_end))
            daemon.send_signal(signal.SIGTERM)
            try:
                exit_code = daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                exit_code = daemon.wait()
        report = _account(store, emulator, site, samples, drain_minutes)
        store.close()
    report.update(
        seed=seed, minutes=minutes, feed_every_s=feed_every, fault_every_s=fault_every,
        faults_injected=dict(faults), feed_faults=dict(feed_faults),
        title_edits=site.edits, daemon_crashed=crashed, daemon_exit_code=exit_code,
        log_lines=sum(1 for _ in log_path.open(encoding="utf-8")),
        tracebacks=log_path.read_text(encoding="utf-8").count("Traceback"))
    report["ok"] = (not report["duplicates"] and not report["unaccounted"]
                    and not report["stuck_publishing"] and not report["overdue_queued"]
                    and not crashed and exit_code == 0)
    (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return report


def _account(store: Store, emulator: Emulator, site: Site,
             samples: list[tuple[float, int]], drain_minutes: float) -> dict[str, Any]:
    posts = {p.link: p for p in store.posts(PostFilter(limit=None))}
    feed = emulator.feed(USERNAME)
    per_article: Counter[str] = Counter()
    for media in feed:
        for item in site.items:
            if item.url in media.caption:
                per_article[item.url] += 1
                break
    stories: Counter[str] = Counter(s.links[0].split("?")[0] for s in emulator.stories()
                                    if s.links)
    statuses: Counter[str] = Counter()
    unaccounted: list[str] = []
    wrong: list[str] = []
    for item in site.items:
        post = posts.get(item.url)
        if post is None:
            unaccounted.append(f"{item.url}: no post in the log")
            continue
        statuses[str(post.status)] += 1
        if post.status == Status.POSTED and per_article[item.url] != 1:
            wrong.append(f"{item.url}: posted in the log, {per_article[item.url]} on Instagram")
        elif post.status != Status.POSTED and per_article[item.url]:
            wrong.append(f"{item.url}: {post.status} in the log, on Instagram")
        elif post.status not in (Status.POSTED, Status.SEEN) and not post.reason:
            unaccounted.append(f"{item.url}: {post.status} without a reason")
    now = datetime.now(UTC)
    stuck = [p.id for p in posts.values() if p.status == Status.PUBLISHING]
    # Queued and due for more than the drain's length: the daemon had the time and
    # did not take it (a backlog behind cooldowns drains; a stuck post does not).
    overdue = [p.id for p in posts.values() if p.status == Status.QUEUED
               and (p.next_attempt_at or p.queued_at or p.created_at)
               < now - timedelta(minutes=drain_minutes)]
    left = [p.id for p in posts.values() if p.status == Status.QUEUED]
    warm = [kib for t, kib in samples if t >= 120] or [kib for _t, kib in samples]
    return {
        "articles": len(site.items),
        "statuses": dict(statuses),
        "feed_posts_on_instagram": len(feed),
        "stories_on_instagram": sum(stories.values()),
        "duplicates": sorted(u for u, n in per_article.items() if n > 1),
        "duplicate_stories": sorted(u for u, n in stories.items() if n > 1),
        "unaccounted": unaccounted + wrong,
        "stuck_publishing": stuck,
        "overdue_queued": overdue,
        "left_queued_at_end": len(left),
        "cooldowns": sum(1 for e in store.events(kind="account") if e.to_status == "cooldown"),
        "rss_kib_first": samples[0][1] if samples else None,
        "rss_kib_after_warmup": warm[0] if warm else None,
        "rss_kib_end": samples[-1][1] if samples else None,
        "rss_kib_max": max((kib for _t, kib in samples), default=None),
        "rss_growth_kib_after_warmup": (warm[-1] - warm[0]) if warm else None,
        "rss_samples": len(samples),
        "rss_mib_each_minute": [round(kib / 1024, 1) for t, kib in samples
                                if int(t) % 60 < 10],
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the soak, print the report; exit 1 on a failed account."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--out", type=Path, default=Path("soak-out"))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--feed-every", type=float, default=4.0, help="seconds")
    parser.add_argument("--fault-every", type=float, default=6.0, help="seconds")
    parser.add_argument("--drain", type=float, default=10.0, help="minutes")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    report = run(args.minutes, args.out, seed=seed, feed_every=args.feed_every,
                 fault_every=args.fault_every, drain_minutes=args.drain)
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
