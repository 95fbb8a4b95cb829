"""A new user's first hour: the README's first commands, backlog against max_age, and
trying another feed without editing the config. Real subprocesses of ``bot``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.feedkit import FeedServer, Route, make_items, rss, write_config

REPO = Path(__file__).resolve().parent.parent


def bot(*args: str, config: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=120, env={**os.environ})
    if check and result.returncode != 0:
        raise AssertionError(f"bot {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def test_readme_starts_with_a_virtual_environment_and_python_3_11() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("```bash")
    first_block = readme[start:readme.index("```", start + 7)]
    lines = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]
    commands = [line for line in lines if line]
    assert re.match(r"python3(\.1[1-9])? -m venv \.venv$", commands[0]), commands
    assert commands[1] == ". .venv/bin/activate"
    assert "Python 3.11" in readme[:start]
    assert 'pip install -e ".[dev]"' in first_block
    # The README explains backlog against max_age, and how to try another feed.
    assert "--feed-url" in readme
    assert re.search(r"backlog.{0,200}max_age", readme, re.S)


def test_backlog_on_an_old_feed_says_why_nothing_went_out(tmp_path: Path,
                                                          server: FeedServer) -> None:
    # A week-old feed, backlog = 3, the default max_age of 24h.
    old = datetime.now(UTC) - timedelta(days=7)
    server.routes["/feed/"] = Route(body=rss(make_items(5, newest=old)))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra="backlog = 3",
                 schedule='[schedule]\nwindows = ["00:00-24:00"]\nmin_gap = "0s"\n')
    out = bot("run", "--once", config=config).stdout
    assert "utama: ok: 5 entries, 5 new, 3 queued" in out
    assert out.count(": expired: older than max_age 1d") == 3
    assert "backlog never overrides max_age: raise [schedule] max_age" in out
    assert "nothing published: 3 queued posts expired" in out


def test_feed_url_tries_another_feed_without_editing_the_config(tmp_path: Path,
                                                                server: FeedServer) -> None:
    server.routes["/lain/feed/"] = Route(body=rss(make_items(4, newest=datetime.now(UTC))))
    config = tmp_path / "bot.toml"
    # The configured feed is down; the one being tried is not.
    write_config(config, "http://127.0.0.1:9/feed/")
    before = config.read_bytes()
    out = bot("run", "--once", "--feed-url", server.url("/lain/feed/"), "--backlog", "2",
              config=config).stdout
    assert "try-127.0.0.1: ok: 4 entries, 4 new, 2 queued" in out
    assert out.count(": posted: posted to outbox") == 2
    assert "utama" not in out
    assert config.read_bytes() == before
    # A second try of the same feed is not a first poll: nothing new, nothing queued.
    again = bot("run", "--once", "--feed-url", server.url("/lain/feed/"), config=config).stdout
    assert "try-127.0.0.1: not_modified" in again


def test_feed_url_mistakes_are_usage_errors(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    write_config(config, "http://127.0.0.1:9/feed/")
    bad = bot("run", "--once", "--feed-url", "feed.example/rss", config=config, check=False)
    assert bad.returncode == 2
    assert "--feed-url" in bad.stderr and "absolute http(s) URL" in bad.stderr
    alone = bot("run", "--once", "--backlog", "2", config=config, check=False)
    assert alone.returncode == 2
    assert "--backlog goes with --feed-url" in alone.stderr
    too_many = bot("run", "--once", "--feed-url", "https://feeds.example/feed/",
                   "--backlog", "500", config=config, check=False)
    assert too_many.returncode == 2
    assert "--backlog" in too_many.stderr
