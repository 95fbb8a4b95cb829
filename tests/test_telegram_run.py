"""A real ``bot run`` against the feed server and the Telegram Bot API emulator.

One daemon, driven the way the team would: a story held by the approval rule arrives
as its card with both buttons; a stranger's press changes nothing; an approver's press
(delivered twice) queues it once and it is published; Telegram answering 502 and 429
delays messages but no post; a failing feed alerts once; the digest comes at its
minute; a restart that Telegram redelivers every update to handles none of them again.
The bot token appears in no log line (at DEBUG, with urllib3's URLs), no store row and
no ``bot check`` output.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.store import Store
from tests.feedkit import FeedServer, Route, make_items, rss, write_config
from tests.schedkit import schedule_toml, wait_for
from tests.telegram_emulator import TOKEN, SentMessage, TelegramEmulator, TelegramUser

REPO = Path(__file__).resolve().parent.parent
WITA = ZoneInfo("Asia/Makassar")
GROUP = -1001234567890
ANA = TelegramUser(111111111, "ana_medsos", "Ana")
STRANGER = TelegramUser(999999999, "orang_lain", "Orang")
DESK = "https://desk.editorialkaltim.test"


@contextmanager
def bot_run(env: dict[str, str], log_file: Path) -> Iterator[subprocess.Popen[str]]:
    """``bot run`` with stderr to ``log_file`` (a pipe nobody reads could block it)."""
    with log_file.open("a") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=REPO,
                                   stdout=subprocess.DEVNULL, stderr=sink, text=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def bot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def posts(env: dict[str, str]) -> dict[str, dict[str, object]]:
    """The post log by title."""
    result = bot(env, "log", "--format", "json", "--limit", "0")
    assert result.returncode == 0, result.stderr
    return {str(row["title"]): row for row in json.loads(result.stdout)}


def card_for(telegram: TelegramEmulator, title: str) -> SentMessage | None:
    for message in telegram.sent("sendPhoto"):
        if title in (message.caption or ""):
            return message
    return None


@pytest.mark.slow
def test_bot_run_with_telegram(tmp_path: Path, data_dir: Path, server: FeedServer,
                               telegram: TelegramEmulator) -> None:
    now = datetime.now(UTC)
    normal, held = make_items(2, newest=now - timedelta(minutes=5), start_id=41000)
    held.title, held.categories = "Sidang kasus korupsi dana hibah", ("Hukum",)
    normal.title = "Pasar murah di Bontang"
    server.routes["/feed/"] = Route(body=rss([normal, held]))
    server.routes["/kutim/"] = Route(body=b"<html>error</html>", status=500,
                                     content_type="text/html")
    # The digest comes at the first whole minute at least 20 s from now.
    digest_at = (now + timedelta(seconds=80)).astimezone(WITA).replace(second=0, microsecond=0)
    config = tmp_path / "bot.toml"
    write_config(
        config, server.url("/feed/"), second_feed_url=server.url("/kutim/"),
        feeds_extra='backlog = 2\npoll_every = "5s"',
        schedule=schedule_toml(tick="1s", more='[schedule.approval]\ncategories = ["Hukum"]\n'),
        extra=(f'[alerts]\nfeed_failing_after = "1m"\n'
               f"[telegram]\nchat_ids = [{GROUP}]\napprovers = [{ANA.id}]\n"
               f'digest_at = "{digest_at:%H:%M}"\n[web]\npublic_url = "{DESK}"\n'))
    env = {**os.environ, "BOT_CONFIG": str(config), "BOT_DATA_DIR": str(data_dir),
           "BOT_LOG_LEVEL": "DEBUG", "BOT_TELEGRAM_API": telegram.url,
           "TELEGRAM_BOT_TOKEN": TOKEN}
    # The second feed has been failing for two hours: the first health check alerts.
    store = Store.for_data_dir(data_dir)
    store.update_feed("kutim", server.url("/kutim/"), last_status="error",
                      last_reason="HTTP 500", failing_since=now - timedelta(hours=2),
                      consecutive_failures=24)
    store.close()
    log_file = tmp_path / "run.log"

    def log() -> str:
        return log_file.read_text() if log_file.exists() else ""

    with bot_run(env, log_file) as process:
        def alive() -> None:
            assert process.poll() is None, log_file.read_text()

        # 1. The held story arrives as its card, with both buttons and the desk link.
        wait_for(lambda: alive() or card_for(telegram, held.title) is not None, timeout=60,
                 what="the approval card", detail=lambda: log_file.read_text())
        card = card_for(telegram, held.title)
        assert card is not None and card.chat_id == GROUP and card.photo
        held_id = int(str(posts(env)[held.title]["id"]))
        assert card.photo == Path(str(posts(env)[held.title]["card_path"])).read_bytes()
        assert [(b["text"], b.get("callback_data") or b.get("url")) for b in card.buttons] == [
            ("✅ Setujui", f"approve:{held_id}"), ("⏭️ Lewati", f"skip:{held_id}"),
            ("Buka", f"{DESK}/posts/{held_id}")]
        wait_for(lambda: posts(env)[normal.title]["status"] == "posted", what="the normal post")

        # 2. A stranger's press changes nothing.
        telegram.press(card, STRANGER, f"approve:{held_id}")
        wait_for(lambda: len(telegram.answers) == 1, what="the refusal", detail=log)
        assert telegram.answers[0]["text"] == "Tidak diizinkan"
        assert posts(env)[held.title]["status"] == "pending_approval"

        # 3. The approver's press, delivered twice, queues it once; it is published.
        update = telegram.press(card, ANA, f"approve:{held_id}")
        telegram.push(update)
        wait_for(lambda: posts(env)[held.title]["status"] == "posted", what="the approved post",
                 detail=log)
        wait_for(lambda: "Disetujui</b> oleh @ana_medsos" in (card.caption or ""),
                 what="the card to show the decision", detail=log)
        assert [a["text"] for a in telegram.answers] == ["Tidak diizinkan", "Disetujui"]
        assert [b["text"] for b in card.buttons] == ["Buka"]
        shown = json.loads(bot(env, "show", str(held_id), "--format", "json").stdout)
        assert [e["actor"] for e in shown["events"] if e["to"] == "queued"] == [
            "telegram:ana_medsos"]

        # 4. Telegram answers 502 and then 429: messages wait, posts do not.
        telegram.fail("sendPhoto", 502, times=3)
        telegram.fail("sendMessage", 429, retry_after=4)
        later = datetime.now(UTC)
        urgent, held2 = make_items(2, newest=later, start_id=42000)
        urgent.title = "Banjir rendam tiga desa di Sangatta"
        held2.title, held2.categories = "Vonis kasus suap proyek jalan", ("Hukum",)
        server.routes["/feed/"] = Route(body=rss([urgent, held2, normal, held]))
        wait_for(lambda: posts(env).get(urgent.title, {}).get("status") == "posted",
                 what="the post while Telegram fails", detail=log)
        posted_at = time.time()
        wait_for(lambda: card_for(telegram, held2.title) is not None, timeout=60,
                 what="the delayed approval card", detail=log)
        second_card = card_for(telegram, held2.title)
        assert second_card is not None and second_card.at > posted_at
        wait_for(lambda: [c.status for c in telegram.calls_to("sendPhoto")][-4:] == [
            502, 502, 502, 200], what="the 502s before the card went out")

        # 5. The failing feed alerts once (the 429 delays it); the digest comes at its time.
        def alerts() -> list[SentMessage]:
            return [m for m in telegram.sent("sendMessage")
                    if m.body.startswith("⚠️ <b>Peringatan</b>")]

        wait_for(lambda: alerts(), timeout=150, what="the feed alert", detail=log)
        wait_for(lambda: any("Ringkasan hari ini" in m.body for m in telegram.sent()),
                 timeout=150, what="the digest", detail=log)
        [digest] = [m for m in telegram.sent() if "Ringkasan hari ini" in m.body]
        assert digest_at.timestamp() <= digest.at < digest_at.timestamp() + 30
        posted_by_then = [row for row in posts(env).values() if row["posted_at"] and
                          datetime.fromisoformat(str(row["posted_at"])).timestamp() < digest.at]
        assert (f"Terbit: {len(posted_by_then)} · Dilewati: 0 · Gagal: 0 · Kedaluwarsa: 0"
                in digest.body)
        assert "menunggu persetujuan" in digest.body and "editorialkaltim: aktif" in digest.body
        rate_limited = [c for c in telegram.calls_to("sendMessage") if c.status == 429]
        first_ok = next(c for c in telegram.calls_to("sendMessage") if c.status == 200)
        assert len(rate_limited) == 1 and first_ok.at - rate_limited[0].at >= 4
        # A second health check finds the incident still open: no second message.
        store = Store.for_data_dir(data_dir)
        first_seen = next(a for a in store.open_alerts() if a[0] == "feed:kutim:failing")[2]
        wait_for(lambda: _last_seen(store, "feed:kutim:failing") > first_seen + timedelta(
            seconds=30), timeout=150, what="a second health check", detail=log)
        store.close()
        [alert] = alerts()
        assert "feed kutim has failed since" in alert.body and "akun" not in alert.body

    assert process.returncode == 0, log()
    sent_before = len(telegram.sent())
    answers_before = len(telegram.answers)
    offsets = len(telegram.calls_to("getUpdates"))

    # 6. A restart to which Telegram redelivers every update handles none of them again,
    # and announces nothing twice: the next card out is the new story's.
    telegram.redeliver()
    held3 = make_items(1, newest=datetime.now(UTC), start_id=43000)[0]
    held3.title, held3.categories = "Gugatan praperadilan ditolak", ("Hukum",)
    server.routes["/feed/"] = Route(body=rss([held3, urgent, held2, normal, held]))
    with bot_run(env, log_file) as process:
        wait_for(lambda: len(telegram.calls_to("getUpdates")) > offsets, timeout=60,
                 what="the restarted bot to poll Telegram", detail=log)
        wait_for(lambda: card_for(telegram, held3.title) is not None, timeout=60,
                 what="the new story's card after the restart", detail=log)
    assert process.returncode == 0, log()
    assert len(telegram.answers) == answers_before
    assert len(telegram.sent()) == sent_before + 1
    assert telegram.pending_updates() == 0

    # 7. The token is in no output: logs at DEBUG, the store, bot check, bot log/show.
    stderr = log_file.read_text()
    assert "/bot[redacted]/getUpdates" in stderr  # urllib3's own URL lines were there
    check = bot(env, "check")
    assert "WARN  telegram-api: BOT_TELEGRAM_API is set" in check.stdout
    assert "OK    telegram: token works: @ekaltim_test_bot" in check.stdout
    outputs = [stderr, check.stdout, check.stderr,
               bot(env, "log", "--format", "json", "--limit", "0").stdout,
               bot(env, "show", str(held_id), "--format", "json").stdout]
    secret = TOKEN.split(":", 1)[1]
    for text in outputs:
        assert secret not in text
    for path in data_dir.glob("bot.sqlite3*"):
        assert secret.encode() not in path.read_bytes(), path

    print("\n".join(telegram.transcript()))


def _last_seen(store: Store, key: str) -> datetime:
    import sqlalchemy as sa

    from bot.store import alerts

    with store.begin() as conn:
        value = conn.execute(sa.select(alerts.c.last_seen_at).where(alerts.c.key == key)).scalar()
    assert isinstance(value, datetime)
    return value
