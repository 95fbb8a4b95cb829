"""Case ``push``: ``POST /hooks/wordpress`` → the post in the outbox, with a free slot.

A real ``bot run`` (worker) and ``bot web`` (the hook) share a store; the feed is on
hourly polls, so only the push can find a new article in time. For each sample a new
article (with its photo) appears in the feed, the hook is called as the WordPress
plugin calls it, and the clock stops when the post's ``.json`` lands in the outbox
(written last, so the post is complete). The hooks come at random points of the
worker's 10 s tick, as real publishes do.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.bench.common import Figure, bot_process, bot_toml, feeds_toml, free_port
from tests.bench.polls import Site
from tests.feedkit import feed_server

ACCOUNT = "editorialkaltim"
TOKEN = "bench-hook-token-0123456789abcdef"


def run(*, tiny: bool = False, work: Path) -> list[Figure]:
    """Time ``samples`` pushes from the hook to the outbox."""
    samples = 1 if tiny else 20
    tick = 10.0
    rng = random.Random(16)
    with feed_server() as server:
        site = Site(server)
        site.publish(3)
        config = work / "bot.toml"
        config.write_text(bot_toml(
            feeds_toml([("utama", server.url("/feed/"))], poll_every="1h", accounts=[ACCOUNT]),
            f'[[accounts]]\nname = "{ACCOUNT}"\npublisher = "outbox"\n',
            tick=f"{tick:g}s"), encoding="utf-8")
        env = {"BOT_CONFIG": str(config), "BOT_DATA_DIR": str(work / "var"),
               "BOT_HOOK_TOKEN": TOKEN, "BOT_SECRET_KEY": secrets.token_urlsafe(32)}
        port = free_port()
        hook = f"http://127.0.0.1:{port}/hooks/wordpress"
        outbox = work / "var" / "outbox"
        with bot_process(["run"], env=env, cwd=work) as worker:
            worker.wait_for(r"start-up polls done", timeout=120)
            with bot_process(["web", "--host", "127.0.0.1", "--port", str(port)], env=env,
                             cwd=work) as web:
                _wait_until_up(f"http://127.0.0.1:{port}/healthz", web.tail)
                latencies = []
                for _ in range(samples):
                    time.sleep(rng.uniform(0, tick))
                    before = _posts(outbox)
                    site.publish(1)
                    article = site.items[0]
                    started = time.monotonic()
                    answer = requests.post(hook, json={"url": article.url},
                                           headers={"X-Bot-Token": TOKEN}, timeout=10)
                    if answer.status_code != 202:
                        raise RuntimeError(f"hook answered {answer.status_code}: "
                                           f"{answer.text[:200]}")
                    while _posts(outbox) <= before:
                        if time.monotonic() - started > 90:
                            raise RuntimeError("the pushed post did not reach the outbox in "
                                               f"90 s\n{worker.tail()}")
                        time.sleep(0.05)
                    latencies.append(time.monotonic() - started)
    return [Figure("push", "POST /hooks/wordpress → post in the outbox", "s", latencies,
                   target=15.0, stat="p95", target_text="p95 ≤ 15 s",
                   note=f"worker tick {tick:g} s")]


def _posts(outbox: Path) -> int:
    return len(list(outbox.glob("*.json"))) if outbox.is_dir() else 0


def _wait_until_up(url: str, tail: Callable[[], str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"bot web did not answer at {url}\n{tail()}")
