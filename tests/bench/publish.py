"""Case ``publish``: the bot's own time per post against the Instagram emulator.

Queued, rendered posts are published one at a time through the real publish step and
the real instagrapi client (``BOT_INSTAGRAM_API`` seam), to tests/ig_emulator.py
running in its own process. The figure is each post's wall-clock time minus the time
the emulator spent answering its requests: what is left is the bot's policy checks,
store writes, files, instagrapi's request building and parsing, and loopback I/O.
The first post of a process (session check, client set-up) is reported apart.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load_config
from bot.core import Bot
from bot.models import Actor, Status
from bot.publishers.instagram.session import save_session
from tests.bench.common import Figure, bot_toml, emulator_process, feeds_toml
from tests.bench.polls import Site
from tests.feedkit import feed_server
from tests.igkit import PASSWORD, USERNAME

ACCOUNT = "editorialkaltim"


@contextmanager
def environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block, then restore them."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(*, tiny: bool = False, work: Path) -> list[Figure]:
    """Publish ``posts`` posts and time the bot's share of each."""
    posts = 3 if tiny else 41
    with emulator_process(USERNAME, PASSWORD) as emulator, feed_server() as server, \
            environment(BOT_INSTAGRAM_API=emulator.url, IG_USERNAME=USERNAME,
                        IG_PASSWORD=PASSWORD):
        site = Site(server, per_page=posts)  # the whole backlog on the first page
        site.publish(posts)
        config = work / "bot.toml"
        config.write_text(bot_toml(
            feeds_toml([("utama", server.url("/feed/"))], poll_every="1m",
                       accounts=[ACCOUNT], backlog=posts),
            f'[[accounts]]\nname = "{ACCOUNT}"\npublisher = "instagram"\n'), encoding="utf-8")
        bot = Bot(load_config(config), data_dir=work / "var")
        try:
            bot.poll("utama")  # the backlog: every post queued and rendered
            save_session(bot.store, ACCOUNT, emulator.get("session", username=USERNAME),
                         datetime.now(UTC))
            overhead, totals = [], []
            for _ in range(posts):
                served = emulator.service_seconds()
                started = time.perf_counter()
                outcomes = bot.publishing.publish_account(ACCOUNT, actor=Actor.SCHEDULER,
                                                          limit=1)
                total = time.perf_counter() - started
                emulator_time = emulator.service_seconds() - served
                assert [o.status for o in outcomes] == [Status.POSTED], outcomes
                totals.append(total * 1000)
                overhead.append((total - emulator_time) * 1000)
            posted = len(emulator.get("state")["posted"])
        finally:
            bot.close()
    assert posted == posts
    first, rest = overhead[0], overhead[1:]
    return [
        Figure("publish", "bot's own time per post (emulator's excluded)", "ms", rest,
               target=100.0, target_text="≤ 100 ms",
               note=f"whole publish {statistics.median(totals[1:]):.0f} ms with the emulator"),
        Figure("publish", "first post of a process (session check, client set-up)", "ms",
               [first]),
    ]
