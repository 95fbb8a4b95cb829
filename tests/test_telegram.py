"""The Telegram face over a real store and the Bot API emulator, one round at a time.

The worker's rounds (``pump`` sends, ``receive`` handles presses) are called directly
with a clock the test moves, so retries, the 429 hold and the digest's time are
exact. ``test_telegram_run.py`` runs the same code inside a real ``bot run``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core import Bot
from bot.errors import PostRejected
from bot.models import Actor, Status
from bot.scheduler import Daemon
from bot.store.telegram import FAILED, PENDING, SENT
from bot.telegram.client import TelegramClient
from bot.telegram.worker import MAX_ATTEMPTS, RENDER_WAIT, TelegramWorker
from tests.feedkit import FeedServer, Route, make_items, rss
from tests.schedkit import (
    ACCOUNT,
    FakeClock,
    add_post,
    make_bot,
    schedule_toml,
    scripted,
    wait_for,
    wita,
)
from tests.telegram_emulator import (
    TOKEN,
    SentMessage,
    TelegramEmulator,
    TelegramUser,
    telegram_emulator,
)

GROUP = -1001234567890
SECOND = -1009876543210
ANA = TelegramUser(111111111, "ana_medsos", "Ana")
NOUSER = TelegramUser(222222222, None, "Tanpa Nama")  # approver without a username
STRANGER = TelegramUser(999999999, "orang_lain", "Orang")
HELD = "needs approval: matches schedule.approval.categories 'Hukum'"


def telegram_toml(*, send: str | None = None, digest_at: str = "21:00",
                  public_url: str | None = "https://desk.editorialkaltim.test") -> str:
    """The ``[telegram]`` (and ``[web]``) tables of the test config."""
    lines = ["[telegram]", f"chat_ids = [{GROUP}, {SECOND}]",
             f"approvers = [{ANA.id}, {NOUSER.id}]", f'digest_at = "{digest_at}"']
    if send is not None:
        lines.append(f"send = {send}")
    if public_url:
        lines += ["[web]", f'public_url = "{public_url}"']
    return "\n".join(lines) + "\n"




@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(wita(2026, 11, 28, 13, 0))


def make_worker(tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator, *,
                extra: str | None = None, publisher: object = None) -> TelegramWorker:
    bot = make_bot(tmp_path, clock, extra=extra if extra is not None else telegram_toml(),
                   publisher=publisher)  # type: ignore[arg-type]
    slept: list[float] = []
    client = TelegramClient(TOKEN, api=telegram.url, sleep=slept.append, read_timeout=5.0)
    worker = TelegramWorker(bot, client, long_poll=0)
    worker.slept = slept  # type: ignore[attr-defined]
    worker.collect()  # the first start: sets the cursor
    return worker


@pytest.fixture
def worker(tmp_path: Path, clock: FakeClock,
           telegram: TelegramEmulator) -> Iterator[TelegramWorker]:
    worker = make_worker(tmp_path, clock, telegram)
    yield worker
    worker.bot.close()


def pending(worker: TelegramWorker, number: int = 1, title: str | None = None) -> int:
    return add_post(worker.bot, number, categories=("Hukum",), status=Status.PENDING_APPROVAL,
                    reason=HELD, title=title)


def cards(telegram: TelegramEmulator, chat: int = GROUP) -> list[SentMessage]:
    return [msg for msg in telegram.sent("sendPhoto") if msg.chat_id == chat]


def texts(telegram: TelegramEmulator, chat: int = GROUP) -> list[str]:
    return [msg.body for msg in telegram.sent("sendMessage") if msg.chat_id == chat]


def status_events(bot: Bot, post_id: int) -> list[tuple[str | None, str | None, str]]:
    return [(e.from_status, e.to_status, e.actor) for e in bot.timeline(post_id)
            if e.kind == "status"]


# -- approvals ------------------------------------------------------------------------------


def test_a_pending_post_arrives_as_its_card_with_both_buttons_in_every_chat(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker, title="Sidang korupsi & suap <dana> hibah")
    worker.pump()
    for chat in (GROUP, SECOND):
        [card] = cards(telegram, chat)
        post = worker.bot.post(post_id)
        assert card.photo == Path(str(post.card_path)).read_bytes()
        assert card.parse_mode == "HTML"
        caption = card.caption or ""
        assert "Perlu persetujuan" in caption
        assert "<b>Sidang korupsi &amp; suap &lt;dana&gt; hibah</b>" in caption
        assert "Ditahan karena: kategori “Hukum” (aturan schedule.approval.categories)" \
            in caption
        assert "Jika disetujui, terbit: segera" in caption  # the window is open now
        assert f"Pos #{post_id}" in caption
        assert [(b["text"], b.get("callback_data") or b.get("url")) for b in card.buttons] == [
            ("✅ Setujui", f"approve:{post_id}"), ("⏭️ Lewati", f"skip:{post_id}"),
            ("Buka", f"https://desk.editorialkaltim.test/posts/{post_id}")]
    worker.pump()
    assert len(telegram.sent()) == 2  # sent once per chat, not once per round


def test_the_card_says_when_the_post_would_go_out(
        tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator) -> None:
    clock.set(wita(2026, 11, 28, 23, 0))  # after the 06:00-22:00 window
    bot = make_bot(tmp_path, clock, schedule=schedule_toml(windows=("06:00-22:00",)),
                   extra=telegram_toml(public_url=None))
    worker = TelegramWorker(bot, TelegramClient(TOKEN, api=telegram.url), long_poll=0)
    worker.collect()
    add_post(bot, 1)  # one post already waits for that slot
    pending(worker, 2)
    worker.pump()
    caption = cards(telegram)[0].caption or ""
    assert ("Jika disetujui, terbit: Minggu, 29 November 2026 06:00 WITA "
            "(1 pos lain di antrean)") in caption
    assert [b["text"] for b in cards(telegram)[0].buttons] == ["✅ Setujui", "⏭️ Lewati"]
    bot.close()


def test_an_approver_press_queues_the_post_and_every_copy_shows_who_did_it(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    post_id = pending(worker)
    worker.pump()
    clock.set(wita(2026, 11, 28, 14, 5))
    telegram.press(cards(telegram)[0], ANA, f"approve:{post_id}")
    assert worker.receive(0) == 1
    post = worker.bot.post(post_id)
    assert post.status == Status.QUEUED
    assert status_events(worker.bot, post_id)[-1] == (
        "pending_approval", "queued", "telegram:ana_medsos")
    assert telegram.answers[-1]["text"] == "Disetujui"
    for chat in (GROUP, SECOND):
        card = cards(telegram, chat)[0]
        assert (card.caption or "").endswith("✅ <b>Disetujui</b> oleh @ana_medsos, 14:05 WITA")
        assert [b["text"] for b in card.buttons] == ["Buka"]  # the choice is gone
    worker.pump()
    assert sum(len(c.edits) for c in telegram.sent()) == 2  # edited once, not every round


def test_an_approver_without_a_username_is_named_by_id_and_skip_drops_the_post(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker)
    worker.pump()
    telegram.press(cards(telegram, SECOND)[0], NOUSER, f"skip:{post_id}")
    worker.receive(0)
    assert worker.bot.post(post_id).status == Status.SKIPPED
    assert status_events(worker.bot, post_id)[-1][2] == f"telegram:{NOUSER.id}"
    assert telegram.answers[-1]["text"] == "Dilewati"
    assert f"⏭️ <b>Dilewati</b> oleh {NOUSER.id}, 13:00 WITA" in (cards(telegram)[0].caption
                                                                     or "")


def test_a_press_from_someone_not_in_approvers_changes_nothing(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker)
    worker.pump()
    before = worker.bot.timeline(post_id)
    telegram.press(cards(telegram)[0], STRANGER, f"approve:{post_id}")
    worker.receive(0)
    worker.pump()
    assert worker.bot.post(post_id).status == Status.PENDING_APPROVAL
    assert worker.bot.timeline(post_id) == before
    assert telegram.answers[-1]["text"] == "Tidak diizinkan"
    assert telegram.answers[-1]["show_alert"] is True
    assert all(not c.edits for c in telegram.sent())
    assert len(cards(telegram)[0].buttons) == 3  # still waiting for an approver


def test_a_press_in_a_chat_not_configured_changes_nothing(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker)
    worker.pump()
    forwarded = SentMessage(9001, -100555, "sendPhoto", caption="x", photo=b"\xff\xd8")
    telegram.press(forwarded, ANA, f"approve:{post_id}")
    worker.receive(0)
    assert worker.bot.post(post_id).status == Status.PENDING_APPROVAL
    assert telegram.answers[-1]["text"] == "Tidak diizinkan"


def test_a_repeated_update_is_handled_once_even_after_a_restart(
        tmp_path: Path, worker: TelegramWorker, telegram: TelegramEmulator,
        clock: FakeClock) -> None:
    post_id = pending(worker)
    worker.pump()
    update = telegram.press(cards(telegram)[0], ANA, f"approve:{post_id}")
    telegram.push(update)  # delivered twice in one batch
    assert worker.receive(0) == 1
    assert worker.receive(0) == 0
    # A new process on the same store; Telegram delivers everything again.
    telegram.redeliver()
    again = TelegramWorker(worker.bot, TelegramClient(TOKEN, api=telegram.url), long_poll=0)
    assert again.receive(0) == 0
    assert len(telegram.answers) == 1
    assert [e for e in status_events(worker.bot, post_id) if e[1] == "queued"] == [
        ("pending_approval", "queued", "telegram:ana_medsos")]
    assert telegram.pending_updates() == 0  # the stored offset confirmed them


def test_a_stale_press_says_so_and_the_card_shows_the_other_face_decision(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker)
    worker.pump()
    worker.bot.skip(post_id, actor="cli:budi")  # decided at the terminal meanwhile
    worker.pump()
    card = cards(telegram)[0]
    assert (card.caption or "").endswith("⏭️ <b>Dilewati</b> oleh budi (CLI), 13:00 WITA")
    telegram.press(card, ANA, f"approve:{post_id}")
    worker.receive(0)
    assert worker.bot.post(post_id).status == Status.SKIPPED
    assert telegram.answers[-1]["text"] == (
        f"Pos #{post_id} sudah dilewati; tidak ada yang diubah.")
    assert telegram.answers[-1]["show_alert"] is True


def test_an_approval_for_a_post_that_moved_on_before_sending_is_dropped(
        worker: TelegramWorker, telegram: TelegramEmulator) -> None:
    post_id = pending(worker)
    worker.bot.approve(post_id, actor="web:ana")
    worker.pump()
    assert telegram.sent() == []
    assert worker.ledger.messages(kind="approval")[0].status == "dropped"


def test_an_approval_waits_for_its_card_then_goes_out_as_text(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    post_id = pending(worker)
    card = Path(str(worker.bot.post(post_id).card_path))
    card.unlink()  # as between the post's creation and its rendering
    worker.pump()
    assert telegram.sent() == []
    clock.advance(RENDER_WAIT)
    worker.pump()
    [message] = texts(telegram)
    assert "Perlu persetujuan" in message
    telegram.press(telegram.sent("sendMessage")[0], ANA, f"approve:{post_id}")
    worker.receive(0)
    edited = telegram.sent("sendMessage")[0]
    assert edited.edits[0]["method"] == "editMessageText"


def test_posts_already_waiting_are_announced_at_the_first_start_but_history_is_not(
        tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator) -> None:
    bot = make_bot(tmp_path, clock, extra=telegram_toml())
    bot.alerter.alert("feed:utama:failing", "feed utama has failed", actor=Actor.SCHEDULER)
    post_id = add_post(bot, 7, status=Status.PENDING_APPROVAL, reason=HELD)
    worker = TelegramWorker(bot, TelegramClient(TOKEN, api=telegram.url), long_poll=0)
    worker.pump()
    assert [c.caption and f"Pos #{post_id}" in c.caption for c in cards(telegram)] == [True]
    assert texts(telegram) == []  # the old alert is history
    bot.close()


# -- alerts, failures, follow-ups -----------------------------------------------------------


def test_an_alert_arrives_once_per_incident_and_its_resolution_too(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    alerter = worker.bot.alerter
    for _ in range(3):
        alerter.alert("account:editorialkaltim:idle", "account editorialkaltim has 2 post(s) "
                      "waiting", actor=Actor.SCHEDULER, account=ACCOUNT)
        worker.pump()
    alerter.resolve("account:editorialkaltim:idle", "account editorialkaltim has no posts "
                    "waiting", actor=Actor.SCHEDULER, account=ACCOUNT)
    worker.pump()
    clock.advance(minutes=5)
    alerter.alert("account:editorialkaltim:idle", "account editorialkaltim idle again",
                  actor=Actor.SCHEDULER, account=ACCOUNT)
    worker.pump()
    assert texts(telegram) == [
        "⚠️ <b>Peringatan</b> · akun editorialkaltim · 13:00 WITA\naccount editorialkaltim "
        "has 2 post(s) waiting",
        "✅ <b>Pulih</b> · akun editorialkaltim · 13:00 WITA\naccount editorialkaltim has no "
        "posts waiting",
        "⚠️ <b>Peringatan</b> · akun editorialkaltim · 13:05 WITA\naccount editorialkaltim "
        "idle again",
    ]
    assert texts(telegram, SECOND) == texts(telegram)


def test_a_failed_post_is_one_message_with_its_reason(
        tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator) -> None:
    publisher = scripted(tmp_path, PostRejected("gambar ditolak: rasio 3:1"))
    worker = make_worker(tmp_path, clock, telegram, publisher=publisher)
    post_id = add_post(worker.bot, 3, title="Banjir di Sangatta")
    worker.bot.publish(ACCOUNT, actor=Actor.SCHEDULER)
    assert worker.bot.post(post_id).status == Status.FAILED
    assert [e.kind for e in worker.bot.timeline(post_id)].count("alert") == 1
    worker.pump()
    [message] = texts(telegram)
    assert message.startswith("❌ <b>Gagal terbit</b> · editorialkaltim · 13:00 WITA")
    assert "<b>Banjir di Sangatta</b>" in message
    assert "Alasan: " in message and "gambar ditolak: rasio 3:1" in message
    assert f"https://desk.editorialkaltim.test/posts/{post_id}" in message
    worker.bot.close()


def test_send_chooses_what_goes_out(tmp_path: Path, clock: FakeClock,
                                    telegram: TelegramEmulator) -> None:
    worker = make_worker(tmp_path, clock, telegram,
                         extra=telegram_toml(send='["alerts", "approvals"]'))
    worker.bot.alerter.alert("post:5:failed", "post 5 failed: x", actor=Actor.SCHEDULER)
    worker.bot.alerter.alert("feed:utama:failing", "feed utama failing", actor=Actor.SCHEDULER)
    worker.pump()
    # Without "failures", a failed post still arrives, as its alert.
    assert [t.splitlines()[1] for t in texts(telegram)] == ["post 5 failed: x",
                                                            "feed utama failing"]
    clock.set(wita(2026, 11, 28, 21, 0))
    worker.pump()
    assert len(texts(telegram)) == 2  # no digest
    worker.bot.close()


def test_a_correction_arrives_once_as_a_followup_message_and_so_does_its_end(
        tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator,
        server: FeedServer) -> None:
    [item] = make_items(1, newest=clock() - timedelta(minutes=10))
    item.title = "Pemkab Kutim bahas anggaran"
    server.routes["/feed/"] = Route(body=rss([item]))
    bot = make_bot(tmp_path, clock, feed_url=server.url("/feed/"), feeds_extra="backlog = 1",
                   extra=telegram_toml())
    worker = TelegramWorker(bot, TelegramClient(TOKEN, api=telegram.url), long_poll=0)
    worker.collect()
    bot.poll()
    [outcome] = bot.publish(ACCOUNT, actor=Actor.SCHEDULER)
    post = bot.post(outcome.post_id)
    item.title = "Ralat: Pemkab Kutim bahas anggaran tahap dua"
    server.routes["/feed/"] = Route(body=rss([item]))
    clock.advance(minutes=10)
    bot.poll()
    worker.pump()
    bot.poll()  # seen again: still one incident
    worker.pump()
    [message] = texts(telegram)
    assert message.startswith("🔁 <b>Tindak lanjut</b> · 13:10 WITA")
    assert "<b>Ralat: Pemkab Kutim bahas anggaran tahap dua</b>" in message
    assert f"correction of post {post.id}" in message
    assert f"Instagram: {post.permalink}" in message
    assert "bot followup" in message
    assert not any("Peringatan" in t for t in texts(telegram))  # not twice, as an alert
    bot.dismiss(post.id, actor="cli:budi")
    worker.pump()
    assert texts(telegram)[1].startswith("🔁 <b>Tindak lanjut selesai</b>")
    bot.close()


# -- the digest -----------------------------------------------------------------------------


def test_the_digest_arrives_at_digest_at_once_a_day(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    bot = worker.bot
    posted_id = add_post(bot, 1, title="Pasar murah di Bontang")
    bot.publish(ACCOUNT, actor=Actor.SCHEDULER)
    skipped_id = add_post(bot, 2)
    bot.skip(skipped_id, actor="cli:budi")
    add_post(bot, 3)  # waits in the queue
    pending(worker, 4)
    worker.pump()
    telegram.messages.clear()

    clock.set(wita(2026, 11, 28, 20, 59, 59))
    worker.pump()
    assert texts(telegram) == []
    clock.set(wita(2026, 11, 28, 21, 0))
    worker.pump()
    [digest] = texts(telegram)
    assert digest.startswith("📋 <b>Ringkasan hari ini</b> · Sabtu, 28 November 2026")
    assert "Terbit: 1 · Dilewati: 1 · Gagal: 0 · Kedaluwarsa: 0" in digest
    assert "• Pasar murah di Bontang" in digest
    assert "Antrean: 1 menunggu slot, 1 menunggu persetujuan" in digest
    assert "• editorialkaltim: aktif; slot berikutnya segera; terbit hari ini 1/100" in digest
    assert bot.post(posted_id).status == Status.POSTED
    clock.set(wita(2026, 11, 28, 21, 30))
    worker.pump()
    assert len(texts(telegram)) == 1  # once a day
    clock.set(wita(2026, 11, 29, 21, 0, 5))
    worker.pump()
    assert len(texts(telegram)) == 2
    assert texts(telegram)[1].startswith("📋 <b>Ringkasan hari ini</b> · Minggu, 29 November")
    assert "Terbit: 0 · Dilewati: 0" in texts(telegram)[1]  # yesterday's posts not counted


def test_a_digest_missed_by_more_than_an_hour_is_not_sent_late(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    clock.set(wita(2026, 11, 28, 22, 0, 1))
    worker.pump()
    assert texts(telegram) == []


# -- Telegram in trouble --------------------------------------------------------------------


def test_a_429_holds_every_message_for_its_retry_after(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    telegram.fail("sendMessage", 429, retry_after=30)
    worker.bot.alerter.alert("a:1", "satu", actor=Actor.SCHEDULER)
    worker.bot.alerter.alert("a:2", "dua", actor=Actor.SCHEDULER)
    worker.pump()
    assert telegram.sent() == [] and worker.slept == []  # type: ignore[attr-defined]
    clock.advance(seconds=29)
    worker.pump()
    assert len(telegram.calls_to("sendMessage")) == 1  # nothing tried while held
    clock.advance(seconds=1)
    worker.pump()
    assert [t.splitlines()[1] for t in texts(telegram)] == ["satu", "dua"]
    assert all(m.attempts == 0 for m in worker.ledger.messages())  # a 429 is not a failure


def test_5xx_and_timeouts_back_off_then_deliver(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    telegram.fail("sendMessage", 502, times=3)  # the client's three tries
    worker.bot.alerter.alert("a:1", "satu", actor=Actor.SCHEDULER)
    worker.pump()
    first = worker.ledger.messages()[0]
    assert (first.status, first.attempts) == (PENDING, 1)
    assert first.next_attempt_at == clock() + timedelta(seconds=5)
    assert "HTTP 502" in (first.last_error or "")
    worker.pump()
    assert len(telegram.calls_to("sendMessage")) == 3  # waits out its backoff
    # Then Telegram answers too slowly: a timeout counts as a failed try as well.
    worker.client = TelegramClient(TOKEN, api=telegram.url, read_timeout=0.3, retries=0)
    telegram.slow("sendMessage", 1)
    clock.advance(seconds=5)
    worker.pump()
    first = worker.ledger.messages()[0]
    assert (first.status, first.attempts) == (PENDING, 2)
    assert "read timeout" in (first.last_error or "")
    assert first.next_attempt_at == clock() + timedelta(seconds=10)
    clock.advance(seconds=10)
    worker.pump()
    assert [m.status for m in worker.ledger.messages()] == [SENT, SENT]
    assert len(texts(telegram)) == 1 and len(texts(telegram, SECOND)) == 1


def test_a_message_that_cannot_be_sent_is_given_up_and_recorded(
        worker: TelegramWorker, telegram: TelegramEmulator, clock: FakeClock) -> None:
    telegram.down()
    worker.bot.alerter.alert("a:1", "satu", actor=Actor.SCHEDULER)
    for _ in range(MAX_ATTEMPTS):
        worker.pump()
        clock.advance(minutes=20)  # past the longest backoff
    failed = [m for m in worker.ledger.messages() if m.status == FAILED]
    assert len(failed) == 1  # the other chat's copy waits behind it
    [event] = worker.bot.store.events(kind="telegram_failed")
    assert event.reason.startswith(f"Telegram alert message to chat {GROUP} not sent: ")
    assert f"(after {MAX_ATTEMPTS} attempts)" in event.reason
    assert TOKEN not in event.reason
    telegram.up()
    worker.pump()
    assert len(texts(telegram, SECOND)) == 1


def test_a_refused_message_is_given_up_at_once(tmp_path: Path, clock: FakeClock) -> None:
    with telegram_emulator(chats={GROUP}) as only_group:
        worker = make_worker(tmp_path, clock, only_group)
        worker.bot.alerter.alert("a:1", "satu", actor=Actor.SCHEDULER)
        worker.pump()
        assert [m.status for m in worker.ledger.messages()] == [SENT, FAILED]
        [event] = worker.bot.store.events(kind="telegram_failed")
        assert "chat not found" in event.reason
        worker.bot.close()


# -- inside the daemon ----------------------------------------------------------------------


def test_without_a_token_telegram_is_off_with_an_alert_and_the_daemon_goes_on(
        tmp_path: Path, clock: FakeClock) -> None:
    bot = make_bot(tmp_path, clock, extra=telegram_toml())
    daemon = Daemon(bot)
    assert daemon.start_telegram() is None
    [(key, message, _)] = bot.store.open_alerts()
    assert key == "telegram:off"
    assert message == ("Telegram is off: environment variable TELEGRAM_BOT_TOKEN is not set "
                       "(the Telegram bot token from @BotFather)")
    bot.close()


def test_with_the_token_the_daemon_starts_telegram_and_clears_that_alert(
        tmp_path: Path, clock: FakeClock, telegram: TelegramEmulator) -> None:
    bot = make_bot(tmp_path, clock, extra=telegram_toml())
    bot.alerter.alert("telegram:off", "Telegram is off: no token", actor=Actor.STARTUP)
    worker = Daemon(bot).start_telegram()
    assert worker is not None
    try:
        wait_for(lambda: telegram.calls_to("getMe") and telegram.calls_to("getUpdates"),
                 what="the worker's threads to call Telegram")
        assert bot.store.open_alerts() == []
    finally:
        worker.stop()
        bot.close()
