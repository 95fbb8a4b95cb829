"""Secrets never leave the encrypted store: a full run with every secret in play, then
a grep of everything it produced.

The run: ``bot check``; ``bot login`` with the password and a TOTP seed; ``bot check``
again; ``bot run --once`` while Instagram echoes the session id back in an error body;
more runs, one after the session was ended (the bot logs in again with the password);
``bot login --import``; and every read command (log in all formats, show, status),
at DEBUG level, in human and JSON log formats.

The grep covers every command's output and every byte under the data dir: the SQLite
file with its WAL (events, reasons, render notes, the session column), cards, outbox,
photo cache. The secrets: the Instagram password, the TOTP seed, every session id the
emulator issued (plain and URL-encoded), the CSRF token, and ``BOT_SECRET_KEY``.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from cryptography.fernet import Fernet

from tests.crashkit import ForkServer
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, TOTP_SEED, USERNAME

pytestmark = pytest.mark.slow

CONFIG = """
timezone = "Asia/Makassar"

[[feeds]]
name = "utama"
url = "{feed}"
accounts = ["{account}"]
backlog = 3

[[accounts]]
name = "{account}"
publisher = "instagram"
story = true

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 100
max_age = "3650d"

[fetch]
timeout = "2s"
allow_private_addresses = true

[publish]
publishing_grace = "1s"
call_timeout = "10s"
"""


def test_no_secret_appears_in_any_output_or_file_of_a_full_run(tmp_path: Path,
                                                              server: FeedServer) -> None:
    now = datetime.now(UTC)
    server.routes["/feed/"] = Route(body=rss([
        Item(post_id=46000 + n, title=f"Rapat paripurna DPRD Kaltim ke-{n}",
             slug=f"rapat-paripurna-{n}", published=now - timedelta(minutes=n),
             link=server.url(f"/2026/rapat-paripurna-{n}/"))
        for n in range(3)]))
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT),
                      encoding="utf-8")
    data_dir = tmp_path / "var"
    secret_key = Fernet.generate_key().decode()
    outputs: list[tuple[str, str]] = []

    with Emulator() as emulator, ForkServer() as forks:
        emulator.add_account(USERNAME, PASSWORD, totp_seed=TOTP_SEED)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IG_", "BOT_", "DATABASE_URL", "PYTEST"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir),
                   BOT_INSTAGRAM_API=emulator.url, BOT_LOG_LEVEL="DEBUG",
                   BOT_SECRET_KEY=secret_key, IG_USERNAME=USERNAME, IG_PASSWORD=PASSWORD,
                   IG_TOTP_SECRET=TOTP_SEED)

        def bot(*args: str, log_format: str = "human", ok: tuple[int, ...] = (0,)) -> str:
            out = tmp_path / f"out-{len(outputs)}.txt"
            code = forks.wait(forks.start(list(args), {**env, "BOT_LOG_FORMAT": log_format},
                                          out))
            text = out.read_text(encoding="utf-8")
            outputs.append((" ".join(args), text))
            assert code in ok, f"bot {' '.join(args)} exited {code}:\n{text[-3000:]}"
            return text

        bot("check", ok=(0, 1))
        bot("login", "--account", ACCOUNT, log_format="json")
        assert emulator.logins == [USERNAME]
        bot("--verbose", "check", ok=(0, 1))
        sessions = list(emulator.sessions)
        # Instagram echoes the session id in an error body: it must not reach an event.
        emulator.inject(Fault("/media/configure/", status=400, body={
            "message": f"invalid session {sessions[-1]} for csrftoken=abc123def456ghi",
            "status": "fail"}))
        bot("run", "--once", log_format="json")
        time.sleep(1.1)
        bot("run", "--once")
        emulator.expire_sessions()  # the next run logs in again with the password
        emulator.inject(Fault("/rupload_igphoto/", status=403, body={
            "message": "login_required", "status": "fail"}))
        bot("--verbose", "run", "--once", log_format="json")
        session_file = emulator.write_session_file(tmp_path / "import.json", USERNAME)
        imported = json.loads(session_file.read_text(encoding="utf-8"))
        bot("login", "--account", ACCOUNT, "--import", str(session_file))
        session_file.unlink()  # the user's own file, not the bot's output
        bot("--verbose", "run", "--once")
        for fmt in ("table", "json", "csv"):
            bot("log", "--format", fmt, "--limit", "0")
        bot("show", "1")
        bot("show", "1", "--format", "json")
        bot("status", "--format", "json")
        bot("status")
        sessions = [*emulator.sessions, imported["authorization_data"]["sessionid"]]
        csrf = [str(imported["cookies"].get("csrftoken") or "")]
        feed = emulator.feed()

    assert len(feed) >= 2  # the runs did post: the secrets were all in use
    secrets = {"IG_PASSWORD": PASSWORD, "IG_TOTP_SECRET": TOTP_SEED,
               "BOT_SECRET_KEY": secret_key}
    for n, sid in enumerate(sessions):
        for form in {sid, unquote(sid), quote(unquote(sid), safe="")}:
            secrets[f"sessionid {n} ({form[:6]}…)"] = form
        # The token part alone, as a log might cut it.
        secrets[f"sessionid {n} token"] = unquote(sid).split(":")[-1]
    for value in csrf:
        if value:
            secrets["csrftoken"] = value
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.name.startswith("bot.sqlite3") for p in files)
    leaks = []
    for name, secret in secrets.items():
        for label, text in outputs:
            if secret in text:
                leaks.append(f"{name} in the output of bot {label}")
        for path in files:
            if secret.encode() in path.read_bytes():
                leaks.append(f"{name} in {path.relative_to(data_dir)}")
    assert leaks == []
    assert len(outputs) == 15 and len(files) >= 5
    # The echoed session id did reach the bot, and was redacted on the way in.
    assert any("invalid session [redacted]" in text for _label, text in outputs)
