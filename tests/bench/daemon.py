"""Cases ``idle`` and ``scale``: ``bot run`` as a real process.

- ``idle``: five feeds on one-minute polls that bring nothing new (304), for 60 s
  after the start-up polls and one published post (so the publisher is loaded and
  has worked), once with an ``outbox`` account and once with an ``instagram`` one
  (logged in, at the emulator in its own process): resident memory and CPU.
- ``scale``: 3,000 feeds on one-minute polls from one ``bot run`` for 3 minutes, from
  one interval after its start-up round: CPU, the feed requests the server saw (every
  poll is one), and how late each poll starts against its schedule (the
  daemon's own once-a-minute "polls:" log line; the worst minute's p99 is the figure).
  The feeds were polled once before (``bot poll``), so the run is the steady state.

Memory and CPU are read from /proc/PID for the bot's process alone.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_config
from bot.core import Bot
from bot.publishers.instagram.session import save_session
from bot.store import Store
from tests.bench.common import (
    BotProcess,
    Figure,
    bot_process,
    bot_toml,
    cpu_seconds,
    emulator_process,
    feeds_toml,
    rss_mb,
)
from tests.feedkit import FeedServer, Item, Route, feed_server, rss
from tests.igkit import PASSWORD, USERNAME

LAG_RE = re.compile(r"(\d+) polls in the last .*?, (\d+) missed; started p50 ([\d.]+)s, "
                    r"p99 ([\d.]+)s, max ([\d.]+)s")
ACCOUNT = "editorialkaltim"


def serve_feeds(server: FeedServer, count: int, items: int) -> list[tuple[str, str]]:
    """``count`` feeds of ``items`` distinct articles each; (name, url) pairs."""
    from tests.bench.polls import NEWEST

    feeds = []
    for n in range(count):
        path = f"/f/{n}/feed/"
        body = rss([Item(post_id=1_000_000 + n * 100 + i, title=f"Berita {n}-{i}",
                         slug=f"berita-{n}-{i}", published=NEWEST,
                         link=server.url(f"/f/{n}/berita-{i}/")) for i in range(items)])
        server.routes[path] = Route(body=body)
        feeds.append((f"feed{n:04d}", server.url(path)))
    return feeds


def sample(process: BotProcess, seconds: float) -> tuple[list[float], float]:
    """RSS (MB) once a second for ``seconds``, and the CPU % of one core over them."""
    cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
    rss = []
    while time.monotonic() - wall0 < seconds:
        rss.append(rss_mb(process.pid)[0])
        time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - wall0))))
    rss.append(rss_mb(process.pid)[0])
    used = cpu_seconds(process.pid) - cpu0
    return rss, 100 * used / (time.monotonic() - wall0)


def run_idle(*, tiny: bool = False, work: Path) -> list[Figure]:
    """``bot run`` at rest: 5 feeds, nothing new, outbox and instagram accounts."""
    window = 3.0 if tiny else 60.0
    figures = []
    with feed_server() as server:
        feeds = serve_feeds(server, 5, 10)
        for publisher, target in (("outbox", 80.0), ("instagram", 120.0)):
            folder = work / publisher
            folder.mkdir()
            config = folder / "bot.toml"
            config.write_text(bot_toml(
                feeds_toml(feeds[:1], poll_every="1m", accounts=[ACCOUNT], backlog=1)
                + "\n" + feeds_toml(feeds[1:], poll_every="1m", accounts=[ACCOUNT]),
                f'[[accounts]]\nname = "{ACCOUNT}"\npublisher = "{publisher}"\n'),
                encoding="utf-8")
            env = {"BOT_CONFIG": str(config), "BOT_DATA_DIR": str(folder / "var")}
            if publisher == "instagram":
                with emulator_process(USERNAME, PASSWORD) as emulator:
                    store = Store.for_data_dir(folder / "var")
                    save_session(store, ACCOUNT, emulator.get("session", username=USERNAME),
                                 datetime.now(UTC))
                    store.close()
                    env |= {"BOT_INSTAGRAM_API": emulator.url, "IG_USERNAME": USERNAME,
                            "IG_PASSWORD": PASSWORD}
                    rss, cpu = _idle_run(env, folder, window)
            else:
                rss, cpu = _idle_run(env, folder, window)
            figures.append(Figure("idle", f"idle RSS, {publisher} account", "MB", rss,
                                  target=target, stat="max", target_text=f"≤ {target:g} MB",
                                  note=f"peak of {len(rss)} samples, 1/s"))
            figures.append(Figure("idle", f"idle CPU, {publisher} account", "% of a core",
                                  [cpu], target=1.0, target_text="≤ 1 %",
                                  note=f"over {window:.0f} s"))
    return figures


def _idle_run(env: dict[str, str], folder: Path, window: float) -> tuple[list[float], float]:
    with bot_process(["run"], env=env, cwd=folder) as process:
        process.wait_for(r"start-up polls done", timeout=120)
        process.wait_for(r"^posted", timeout=120)  # the backlog's one post
        time.sleep(1.0)
        return sample(process, window)


def run_scale(*, tiny: bool = False, work: Path) -> list[Figure]:
    """3,000 feeds on one-minute polls from one ``bot run`` for 3 minutes."""
    count, every, window = (5, "5s", 8.0) if tiny else (3000, "1m", 180.0)
    with feed_server() as server:
        feeds = serve_feeds(server, count, 2)
        config = work / "bot.toml"
        config.write_text(bot_toml(
            feeds_toml(feeds, poll_every=every, accounts=[ACCOUNT]),
            f'[[accounts]]\nname = "{ACCOUNT}"\npublisher = "outbox"\n'), encoding="utf-8")
        env = {"BOT_CONFIG": str(config), "BOT_DATA_DIR": str(work / "var")}
        # The first poll of every feed, as `bot poll` would: the run is the steady state.
        bot = Bot(load_config(config), data_dir=work / "var")
        try:
            bot.poll()
        finally:
            bot.close()
        server.requests.clear()
        with bot_process(["run"], env=env, cwd=work) as process:
            booted = process.wait_for(r"start-up polls done", timeout=600)
            boot_seconds = float(re.findall(r"in ([\d.]+)s", booted["message"])[0])
            # After the start-up round each feed's next poll falls on its phase at least
            # half an interval later (bot/triggers.py): one interval on, it is steady.
            time.sleep(_seconds(every))
            cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
            rss0, served0 = rss_mb(process.pid)[0], len(server.requests)
            time.sleep(window)
            cpu = 100 * (cpu_seconds(process.pid) - cpu0) / (time.monotonic() - wall0)
            rss1, served = rss_mb(process.pid)[0], len(server.requests) - served0
        # The stop logged the last partial minute too.
        minutes = [LAG_RE.search(line["message"]) for line in process.matching(r"polls")]
    found = [m for m in minutes if m]
    if not found:
        raise RuntimeError(f"no poll-lag lines in the bot's log:\n{process.tail()}")
    polls = sum(int(m.group(1)) for m in found)
    missed = sum(int(m.group(2)) for m in found)
    p99s = [float(m.group(4)) for m in found]
    worst = max(float(m.group(5)) for m in found)
    expected = count * window / _seconds(every)
    return [
        Figure("scale", f"CPU, {count} feeds every {every}", "% of a core", [cpu],
               target=25.0, target_text="≤ 25 %",
               note=f"{served} feed requests in the {window:.0f} s ({expected:.0f} due), "
                    f"{missed} of {polls} polls missed; RSS {rss0:.0f}→{rss1:.0f} MB"),
        Figure("scale", "poll lag, scheduled → started (p99 per minute)", "s", p99s,
               target=2.0, stat="max", target_text="p99 ≤ 2 s (worst minute)",
               note=f"max {worst:.2f} s"),
        Figure("scale", "start-up round: every feed polled once", "s", [boot_seconds]),
    ]


def _seconds(every: str) -> float:
    return float(every[:-1]) * (60 if every.endswith("m") else 1)
