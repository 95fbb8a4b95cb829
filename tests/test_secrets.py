"""Secrets never leave the encrypted store: a full run with every secret in play, then
a grep of everything it produced.

The run: ``bot check``; ``bot login`` with the password and a TOTP seed; ``bot check``
again; ``bot run --once`` while Instagram echoes the session id back in an error body;
more runs, one after the session was ended (the bot logs in again with the password);
``bot login --import``; every read command (log in all formats, show, status); the
daemon with its Telegram worker; and the web desk, all at DEBUG level, in human and
JSON log formats.

The grep covers every command's output and every byte under the data dir: the SQLite
file with its WAL (events, reasons, render notes, the session column), cards, outbox,
photo cache; and every page of the web desk a logged-in admin opens. The secrets: the
Instagram password, the TOTP seed, every session id the emulator issued (plain and
URL-encoded), the CSRF token, ``BOT_SECRET_KEY``, the Telegram bot token, the desk's
admin password and the push hook's token (sent right and wrong to ``/hooks/wordpress``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
import requests
from cryptography.fernet import Fernet

from tests.crashkit import ForkServer
from tests.feedkit import FeedServer, Item, Route, rss
from tests.ig_emulator import Emulator, Fault
from tests.igkit import ACCOUNT, PASSWORD, TOTP_SEED, USERNAME
from tests.telegram_emulator import TOKEN, telegram_emulator
from tests.webkit import ADMIN_HASH, ADMIN_PASSWORD, ADMIN_USER

GROUP = -1001234567890
HOOK_TOKEN = "kait-wordpress-" + "9f3c" * 8

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

[schedule.approval]
categories = ["Hukum"]

[telegram]
chat_ids = [{group}]
approvers = [111111111]
"""


def test_no_secret_appears_in_any_output_or_file_of_a_full_run(tmp_path: Path,
                                                              server: FeedServer) -> None:
    now = datetime.now(UTC)
    items = [Item(post_id=46000 + n, title=f"Rapat paripurna DPRD Kaltim ke-{n}",
                  slug=f"rapat-paripurna-{n}", published=now - timedelta(minutes=n),
                  link=server.url(f"/2026/rapat-paripurna-{n}/")) for n in range(3)]
    server.routes["/feed/"] = Route(body=rss(items))
    config = tmp_path / "bot.toml"
    config.write_text(CONFIG.format(feed=server.url("/feed/"), account=ACCOUNT, group=GROUP),
                      encoding="utf-8")
    data_dir = tmp_path / "var"
    secret_key = Fernet.generate_key().decode()
    outputs: list[tuple[str, str]] = []

    with Emulator() as emulator, ForkServer() as forks, \
            telegram_emulator(chats={GROUP}) as telegram:
        emulator.add_account(USERNAME, PASSWORD, totp_seed=TOTP_SEED)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IG_", "BOT_", "DATABASE_URL", "PYTEST"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(data_dir),
                   BOT_INSTAGRAM_API=emulator.url, BOT_LOG_LEVEL="DEBUG",
                   BOT_SECRET_KEY=secret_key, IG_USERNAME=USERNAME, IG_PASSWORD=PASSWORD,
                   IG_TOTP_SECRET=TOTP_SEED, TELEGRAM_BOT_TOKEN=TOKEN,
                   BOT_TELEGRAM_API=telegram.url, BOT_ADMIN_USER=ADMIN_USER,
                   BOT_ADMIN_PASSWORD_HASH=ADMIN_HASH, BOT_HOOK_TOKEN=HOOK_TOKEN)

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
        # The daemon, with its Telegram worker, until Telegram has heard from it: a new
        # article that waits for approval comes to the group as a card with buttons.
        server.routes["/feed/"] = Route(body=rss([Item(
            post_id=46100, title="Sidang korupsi dana hibah dimulai", slug="sidang-korupsi",
            published=now, categories=("Hukum",), link=server.url("/2026/sidang-korupsi/")),
            *items]))
        daemon_log = tmp_path / "daemon.txt"
        daemon = forks.start(["--verbose", "run"], {**env, "BOT_LOG_FORMAT": "json"},
                             daemon_log)
        deadline = time.monotonic() + 60
        while not telegram.sent() and time.monotonic() < deadline and forks.running(daemon):
            time.sleep(0.1)
        assert telegram.sent(), daemon_log.read_text()[-3000:]
        os.kill(daemon, signal.SIGTERM)
        assert forks.wait(daemon) == 0, daemon_log.read_text()[-3000:]
        outputs.append(("--verbose run", daemon_log.read_text(encoding="utf-8")))
        outputs.extend(_desk_pages(forks, env, tmp_path))
        sessions = [*emulator.sessions, imported["authorization_data"]["sessionid"]]
        csrf = [str(imported["cookies"].get("csrftoken") or "")]
        feed = emulator.feed()

    assert len(feed) >= 2  # the runs did post: the secrets were all in use
    secrets = {"IG_PASSWORD": PASSWORD, "IG_TOTP_SECRET": TOTP_SEED,
               "BOT_SECRET_KEY": secret_key, "TELEGRAM_BOT_TOKEN": TOKEN,
               "the Telegram token's secret part": TOKEN.split(":", 1)[1],
               "the desk's admin password": ADMIN_PASSWORD, "BOT_HOOK_TOKEN": HOOK_TOKEN}
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
    assert len(outputs) == 15 + 1 + 2 + len(DESK_PAGES) + 1 and len(files) >= 5
    # The echoed session id did reach the bot, and was redacted on the way in.
    assert any("invalid session [redacted]" in text for _label, text in outputs)


DESK_PAGES = ("/", "/posts", "/posts/1", "/posts/2", "/posts.csv", "/healthz", "/bio")


def _desk_pages(forks: ForkServer, env: dict[str, str], tmp_path: Path) -> list[tuple[str, str]]:
    """Every desk page a logged-in admin sees, and the desk's own log."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    web_log = tmp_path / "web.txt"
    web = forks.start(["--verbose", "web", "--host", "127.0.0.1", "--port", str(port)], env,
                      web_log)
    base = f"http://127.0.0.1:{port}"
    pages: list[tuple[str, str]] = []
    try:
        session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            try:
                page = session.get(base + "/login", timeout=10).text
                break
            except requests.RequestException:
                assert time.monotonic() < deadline and forks.running(web), web_log.read_text()
                time.sleep(0.1)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page
        answer = session.post(base + "/login", timeout=10, data={
            "username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": token.group(1),
            "next": "/"})
        assert answer.status_code == 200 and "/login" not in answer.url
        # WordPress's push: once with the token, once with a wrong one (both logged).
        for token in (HOOK_TOKEN, HOOK_TOKEN[::-1]):
            answer = requests.post(base + "/hooks/wordpress", timeout=10,
                                   headers={"X-Bot-Token": token}, json={"feed": "utama"})
            assert answer.status_code in (200, 202, 403), answer.text
            pages.append((f"POST /hooks/wordpress ({answer.status_code})", answer.text))
        for path in DESK_PAGES:
            answer = session.get(base + path, timeout=30)
            assert answer.status_code in (200, 503), (path, answer.status_code)
            pages.append((f"GET {path}", answer.text + "\n" + str(dict(answer.headers))))
    finally:
        os.kill(web, signal.SIGTERM)
        forks.wait(web)
    pages.append(("web", web_log.read_text(encoding="utf-8")))
    return pages
