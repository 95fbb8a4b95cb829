"""The command line, end to end: real subprocesses, a real feed server, a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.feedkit import FeedServer, Route, feed_server, make_items, rss, seed_item, write_config

REQUIRED_LOG_FIELDS = {"id", "feed", "account", "article_key", "title", "link", "status",
                       "reason", "created_at", "posted_at", "attempts", "permalink",
                       "card_path", "caption"}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        running.routes["/feed/"] = Route(body=rss([seed_item(), *make_items(4)]))
        yield running


@pytest.fixture
def config(tmp_path: Path, server: FeedServer) -> Path:
    path = tmp_path / "bot.toml"
    write_config(path, server.url("/feed/"), feeds_extra="backlog = 2")
    return path


def bot(*args: str, config: Path | None = None, check: bool = True,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot"]
    if config is not None:
        command += ["--config", str(config)]
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    if check and result.returncode != 0:
        raise AssertionError(f"bot {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def test_run_once_publishes_to_the_outbox_and_logs_json(config: Path, data_dir: Path) -> None:
    result = bot("run", "--once", config=config)
    assert "utama: ok: 5 entries, 5 new, 2 queued" in result.stdout
    assert result.stdout.count(": posted: posted to outbox") == 2
    rows = json.loads(bot("log", "--format", "json", config=config).stdout)
    assert len(rows) == 5
    assert set(rows[0]) >= REQUIRED_LOG_FIELDS
    posted = [r for r in rows if r["status"] == "posted"]
    assert len(posted) == 2
    for row in posted:
        assert Path(row["permalink"]).is_file()
        assert Path(row["permalink"]).parent == data_dir / "outbox"
        assert datetime.fromisoformat(row["posted_at"]).utcoffset().total_seconds() == 8 * 3600
        assert row["caption"].startswith(row["title"])
    seen = [r for r in rows if r["status"] == "seen"]
    assert len(seen) == 3 and all(r["permalink"] is None for r in seen)
    # The store is a real SQLite file in WAL mode in BOT_DATA_DIR.
    with sqlite3.connect(data_dir / "bot.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
    assert names[0] == "m001_initial"


def test_second_run_posts_nothing_new(config: Path, data_dir: Path) -> None:
    bot("run", "--once", config=config)
    result = bot("run", "--once", config=config)
    assert "utama: not_modified" in result.stdout
    assert "nothing published" in result.stdout
    assert len(list((data_dir / "outbox").glob("*.json"))) == 2


def test_log_filters_and_formats(config: Path) -> None:
    bot("run", "--once", config=config)
    rows = json.loads(bot("log", "--status", "seen", "--format", "json", config=config).stdout)
    assert {r["status"] for r in rows} == {"seen"}
    assert json.loads(bot("log", "--account", "other", "--format", "json",
                          config=config).stdout) == []
    assert len(json.loads(bot("log", "--limit", "1", "--format", "json",
                              config=config).stdout)) == 1
    assert json.loads(bot("log", "--since", "2999-01-01", "--format", "json",
                          config=config).stdout) == []
    table = bot("log", config=config).stdout
    assert "STATUS" in table and "posted" in table
    parsed = list(csv.DictReader(io.StringIO(bot("log", "--format", "csv",
                                                 config=config).stdout)))
    assert len(parsed) == 5 and set(parsed[0]) >= REQUIRED_LOG_FIELDS


def test_show_prints_files_caption_and_timeline(config: Path) -> None:
    bot("run", "--once", config=config)
    rows = json.loads(bot("log", "--status", "posted", "--format", "json", config=config).stdout)
    shown = bot("show", str(rows[0]["id"]), config=config).stdout
    assert "Timeline:" in shown and "queued -> publishing" in shown
    assert "Caption:" in shown and rows[0]["card_path"] in shown
    data = json.loads(bot("show", str(rows[0]["id"]), "--format", "json", config=config).stdout)
    assert [e["to"] for e in data["events"] if e["to"]] == ["queued", "publishing", "posted"]


def test_human_actions_are_recorded_with_who_and_why(config: Path) -> None:
    bot("poll", config=config)
    rows = json.loads(bot("log", "--status", "queued", "--format", "json", config=config).stdout)
    post_id = str(rows[0]["id"])
    result = bot("skip", post_id, "--reason", "berita ganda", config=config,
                 env={"USER": "redaksi"})
    assert "skipped" in result.stdout
    data = json.loads(bot("show", post_id, "--format", "json", config=config).stdout)
    assert data["events"][-1]["actor"] == "cli:redaksi"
    assert data["events"][-1]["reason"] == "skipped by cli:redaksi: berita ganda"
    refused = bot("approve", post_id, config=config, check=False)
    assert refused.returncode == 2
    assert "not pending_approval" in refused.stderr
    assert bot("retry", post_id, config=config).stdout.startswith(f"post {post_id}: queued")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "999"], 2, "no post with id 999"),
        (["poll", "--feed", "nope"], 2, "no feed named 'nope'"),
        (["log", "--since", "kemarin"], 2, "is not a date"),
        (["preview"], 2, "give either an article URL or --latest"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_usage_errors_exit_2(config: Path, args: list[str], code: int, message: str) -> None:
    result = bot(*args, config=config, check=False)
    assert result.returncode == code
    assert message in result.stderr


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = bot("run", "--once", config=tmp_path / "none.toml", check=False)
    assert result.returncode == 2
    assert "none.toml: config file not found" in result.stderr


def test_unavailable_store_exits_1(config: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    result = bot("log", config=config, check=False, env={"BOT_DATA_DIR": str(blocker)})
    assert result.returncode == 1
    assert "cannot open the store" in result.stderr


def test_feed_failure_still_exits_0(config: Path, server: FeedServer) -> None:
    server.routes["/feed/"] = Route(body=b"", status=503)
    result = bot("run", "--once", config=config)
    assert f"utama: error: {server.url('/feed/')}: HTTP 503" in result.stdout


def test_json_logs_are_one_object_per_line(config: Path) -> None:
    result = bot("--log-format", "json", "run", "--once", config=config)
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and all({"time", "level", "message"} <= set(line) for line in lines)
    assert any(line.get("feed") == "utama" for line in lines)
    assert all(line["time"].endswith("+08:00") for line in lines)


def test_preview_writes_files_without_touching_the_store(config: Path, tmp_path: Path,
                                                         data_dir: Path) -> None:
    out = tmp_path / "preview"
    result = bot("preview", "--latest", "2", "--out", str(out), config=config)
    assert result.returncode == 0
    names = sorted(p.name for p in out.iterdir())
    slug = "jelang-pilkada-2024-pemkab-kutim-persiapkan-mitigasi"
    for suffix in (".jpg", ".story.jpg", ".txt", ".alt.txt", ".json"):
        assert f"preview-{slug}{suffix}" in names
    assert not (data_dir / "bot.sqlite3").exists()


def test_preview_by_url(config: Path, tmp_path: Path) -> None:
    url = seed_item().url
    out = tmp_path / "one"
    bot("preview", url, "--out", str(out), config=config)
    meta = json.loads(next(out.glob("*.json")).read_text(encoding="utf-8"))
    assert meta["article_key"] == "editorialkaltim.com#40010"
    missing = bot("preview", "https://editorialkaltim.com/nope/", "--out", str(out),
                  config=config, check=False)
    assert missing.returncode == 2 and "is not in feed utama" in missing.stderr


def test_check_reports_each_part(config: Path) -> None:
    result = bot("check", config=config)
    assert "OK    config:" in result.stdout
    assert "OK    store:" in result.stdout
    assert "OK    feed utama: 5 entries" in result.stdout
    assert "OK    account editorialkaltim: outbox" in result.stdout
    warned = bot("check", config=config, env={"BOT_INSTAGRAM_API": "http://127.0.0.1:9"})
    assert "WARN  instagram-api" in warned.stdout


def test_check_fails_with_exit_1_on_an_unreachable_feed(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    write_config(path, "http://127.0.0.1:9/feed/")
    result = bot("check", config=path, check=False)
    assert result.returncode == 1
    assert "FAIL  feed utama: http://127.0.0.1:9/feed/: connection failed" in result.stdout

