"""``./.env``: read at start-up for variables not already set (as honcho and foreman do)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.envfile import load_env_file
from tests.feedkit import FeedServer, Route, feed_server, make_items, rss, write_config

SECRET = "s3cr3t-from-dotenv-do-not-print"


def test_sets_only_what_the_environment_lacks(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "# a comment\n"
        "export BOT_LOG_FORMAT=json\n"
        "BOT_DATA_DIR=./from-file\n"
        'IG_PASSWORD="with spaces # and a hash"\n'
        "IG_TOTP_SECRET=\n"            # empty: left unset, as in config/.env.example
        "BARE_NAME\n"                  # no value at all: left unset
        "DB_USER=kaltim\n"
        "DATABASE_URL=postgresql://${DB_USER}@h/db\n",
        encoding="utf-8")
    env = {"BOT_DATA_DIR": "/srv/bot", "IG_USERNAME": "kaltim"}
    loaded = load_env_file(path, env)
    assert loaded == ["BOT_LOG_FORMAT", "IG_PASSWORD", "DB_USER", "DATABASE_URL"]
    assert env == {
        "BOT_DATA_DIR": "/srv/bot",  # the host's value wins over the file's
        "IG_USERNAME": "kaltim",
        "BOT_LOG_FORMAT": "json",
        "IG_PASSWORD": "with spaces # and a hash",
        "DB_USER": "kaltim",
        "DATABASE_URL": "postgresql://kaltim@h/db",
    }


def test_a_missing_file_sets_nothing(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    assert load_env_file(tmp_path / ".env", env) == []
    assert env == {}


def test_an_unparsable_line_is_reported_by_number_and_the_rest_is_read(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / ".env"
    path.write_text(f"GOOD=1\nnot a line {SECRET}\nALSO_GOOD=2\n", encoding="utf-8")
    env: dict[str, str] = {}
    assert load_env_file(path, env) == ["GOOD", "ALSO_GOOD"]
    assert "line 2" in caplog.text
    assert SECRET not in caplog.text


def test_a_file_that_is_not_utf8_is_reported_and_skipped(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / ".env"
    path.write_bytes(b"NAME=\xff\xfe\n")
    env: dict[str, str] = {}
    assert load_env_file(path, env) == []
    assert env == {}
    assert "could not read" in caplog.text and "UnicodeDecodeError" in caplog.text


# -- the real command, started in a directory holding a .env ---------------------------


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as running:
        running.routes["/feed/"] = Route(body=rss(make_items(3)))
        yield running


@pytest.fixture
def workdir(tmp_path: Path, server: FeedServer) -> Path:
    """A working directory as a VPS's would be: the config, and a .env naming it."""
    write_config(tmp_path / "site.toml", server.url("/feed/"), feeds_extra="backlog = 1")
    (tmp_path / ".env").write_text(
        "BOT_CONFIG=site.toml\n"
        "BOT_DATA_DIR=./data-from-dotenv\n"
        f"BOT_HOOK_TOKEN={SECRET}\n",
        encoding="utf-8")
    return tmp_path


def bot_in(workdir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"BOT_CONFIG", "BOT_DATA_DIR", "BOT_HOOK_TOKEN"}}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=workdir, env={**env, **extra},
                          capture_output=True, text=True, timeout=120)


def test_bot_run_reads_config_and_data_dir_from_dotenv(workdir: Path) -> None:
    result = bot_in(workdir, "run", "--once")
    assert result.returncode == 0, result.stderr
    assert (workdir / "data-from-dotenv" / "bot.sqlite3").is_file()
    assert len(list((workdir / "data-from-dotenv" / "outbox").glob("*.json"))) == 1


def test_the_environment_wins_over_dotenv(workdir: Path) -> None:
    result = bot_in(workdir, "run", "--once", BOT_DATA_DIR=str(workdir / "from-host"))
    assert result.returncode == 0, result.stderr
    assert (workdir / "from-host" / "bot.sqlite3").is_file()
    assert not (workdir / "data-from-dotenv").exists()


def test_bot_check_names_what_dotenv_set_and_never_its_values(workdir: Path) -> None:
    result = bot_in(workdir, "check")
    line = next(x for x in result.stdout.splitlines() if "env file" in x)
    assert line.startswith("OK")
    assert "BOT_CONFIG, BOT_DATA_DIR, BOT_HOOK_TOKEN" in line
    assert SECRET not in result.stdout + result.stderr
