"""The Telegram client against the Bot API emulator: calls, limits, 429s, 5xx, timeouts."""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import ConfigError, TelegramRateLimited, TelegramRejected, TelegramUnavailable
from bot.telegram.client import Button, TelegramClient, check_token, telegram_seam_warning
from tests.telegram_emulator import TOKEN, TelegramEmulator, TelegramUser

CHAT = -1001234567890
ANA = TelegramUser(111111111, "ana_medsos", "Ana")




def client_for(emulator: TelegramEmulator, **kwargs: object) -> TelegramClient:
    """A client on the emulator that records its sleeps instead of sleeping."""
    slept: list[float] = []
    options: dict[str, object] = {"api": emulator.url, "sleep": slept.append,
                                  "read_timeout": 5.0}
    options.update(kwargs)
    client = TelegramClient(TOKEN, **options)  # type: ignore[arg-type]
    client.slept = slept  # type: ignore[attr-defined]
    return client


def jpeg(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.new("RGB", (108, 135), (15, 27, 45)).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return path


def test_get_me_reports_the_bot_and_sends_the_token_only_in_the_path(
        telegram: TelegramEmulator) -> None:
    client = client_for(telegram)
    me = client.get_me()
    assert (me.id, me.username, me.is_bot) == (7012345678, "ekaltim_test_bot", True)
    call = telegram.calls_to("getMe")[0]
    assert call.path == f"/bot{TOKEN}/getMe"
    assert call.user_agent.startswith("EditorialKaltimBot/")
    assert TOKEN not in str(call.params)


def test_messages_photos_buttons_edits_and_answers(telegram: TelegramEmulator,
                                                   tmp_path: Path) -> None:
    client = client_for(telegram)
    keyboard = [[Button("Setujui", data="approve:7"), Button("Lewati", data="skip:7")],
                [Button("Buka", url="https://desk.example/posts/7")]]
    card = jpeg(tmp_path / "7-card.jpg")
    sent = client.send_photo(CHAT, card, "<b>Judul &amp; isi</b>", keyboard=keyboard)
    photo = telegram.sent("sendPhoto")[0]
    assert (sent.chat_id, sent.message_id, sent.has_photo) == (CHAT, photo.message_id, True)
    assert photo.photo == card.read_bytes() and photo.photo_name == "7-card.jpg"
    assert photo.caption == "<b>Judul &amp; isi</b>" and photo.parse_mode == "HTML"
    assert [b.get("callback_data") or b.get("url") for b in photo.buttons] == [
        "approve:7", "skip:7", "https://desk.example/posts/7"]

    text = client.send_message(CHAT, "Peringatan")
    assert not text.has_photo and telegram.sent("sendMessage")[0].text == "Peringatan"

    client.edit_caption(CHAT, sent.message_id, "<b>Judul</b>\nDisetujui oleh @ana")
    assert photo.caption.endswith("Disetujui oleh @ana") and photo.buttons == []
    client.edit_text(CHAT, text.message_id, "Peringatan (selesai)")
    assert telegram.sent("sendMessage")[0].text == "Peringatan (selesai)"

    update = telegram.press(photo, ANA, "approve:7")
    [received] = client.get_updates(None, timeout=0)
    assert received.update_id == update["update_id"]
    assert received.callback_query is not None
    assert received.callback_query.data == "approve:7"
    assert received.callback_query.user.handle == "@ana_medsos"
    assert received.callback_query.message is not None
    assert received.callback_query.message.message_id == photo.message_id
    client.answer_callback(received.callback_query.id, "Disetujui")
    assert telegram.answers[0]["text"] == "Disetujui"


def test_get_updates_long_polls_and_an_offset_confirms(telegram: TelegramEmulator) -> None:
    client = client_for(telegram)
    message = client.send_message(CHAT, "x")
    sent = telegram.sent()[0]
    timer = threading.Timer(0.3, lambda: telegram.press(sent, ANA, "skip:1"))
    timer.start()
    started = time.monotonic()
    updates = client.get_updates(None, timeout=20)
    assert len(updates) == 1 and time.monotonic() - started < 15  # woke on the press
    assert client.get_updates(None, timeout=0) == updates  # not confirmed yet
    assert client.get_updates(updates[0].update_id + 1, timeout=0) == []
    assert telegram.pending_updates() == 0
    assert message.message_id == sent.message_id


def test_a_short_429_is_waited_out_as_telegram_asks(telegram: TelegramEmulator) -> None:
    client = client_for(telegram)
    telegram.fail("sendMessage", 429, retry_after=2)
    client.send_message(CHAT, "sabar")
    assert client.slept == [2.0]  # type: ignore[attr-defined]
    assert [c.status for c in telegram.calls_to("sendMessage")] == [429, 200]
    assert len(telegram.sent()) == 1


def test_a_long_429_is_raised_with_its_retry_after(telegram: TelegramEmulator) -> None:
    client = client_for(telegram, max_wait=10.0)
    telegram.fail("sendMessage", 429, retry_after=40)
    with pytest.raises(TelegramRateLimited) as caught:
        client.send_message(CHAT, "nanti")
    assert caught.value.retry_after == 40
    assert client.slept == []  # type: ignore[attr-defined]
    assert telegram.sent() == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_a_limited_number_of_times(telegram: TelegramEmulator,
                                                  status: int) -> None:
    client = client_for(telegram, retries=2)
    telegram.fail("sendMessage", status, times=2)
    client.send_message(CHAT, "akhirnya")
    assert [c.status for c in telegram.calls_to("sendMessage")] == [status, status, 200]
    assert client.slept == [0.5, 1.0]  # type: ignore[attr-defined]

    telegram.fail("sendMessage", status, times=5)
    with pytest.raises(TelegramUnavailable, match=f"HTTP {status}"):
        client.send_message(CHAT, "tidak sampai")
    assert len(telegram.calls_to("sendMessage")) == 3 + 3  # three tries, no more
    assert len(telegram.sent()) == 1


def test_a_slow_answer_times_out_within_the_bound(telegram: TelegramEmulator) -> None:
    client = client_for(telegram, read_timeout=0.5, retries=0)
    telegram.slow("sendMessage", 3)
    started = time.monotonic()
    with pytest.raises(TelegramUnavailable, match=r"read timeout after 0\.5s"):
        client.send_message(CHAT, "lambat")
    assert time.monotonic() - started < 3
    time.sleep(3)  # let the emulator finish its late answer
    assert telegram.sent() == []  # the emulator drops requests whose client gave up


def test_refusals_are_not_retried_and_never_show_the_token(telegram: TelegramEmulator,
                                                           tmp_path: Path) -> None:
    wrong = TelegramClient("7012345678:AAEwrongwrongwrongwrongwrongwrongwro", api=telegram.url,
                           sleep=lambda _s: None)
    with pytest.raises(TelegramRejected) as caught:
        wrong.get_me()
    assert caught.value.code == 401 and "Unauthorized" in str(caught.value)
    assert "AAEwrong" not in str(caught.value)
    assert len(telegram.calls_to("getMe")) == 1

    client = client_for(telegram)
    with pytest.raises(TelegramRejected, match="message caption is too long"):
        client.send_photo(CHAT, jpeg(tmp_path / "c.jpg"), "x" * 1025)
    with pytest.raises(TelegramRejected, match="can't parse entities"):
        client.send_message(CHAT, "a < b & c")


def test_an_unreachable_api_fails_fast_without_the_token_in_the_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens
    client = TelegramClient(TOKEN, api=f"http://127.0.0.1:{port}", retries=1,
                            sleep=lambda _s: None)
    with pytest.raises(TelegramUnavailable) as caught:
        client.send_message(CHAT, "halo")
    assert "Connection refused" in str(caught.value)
    assert TOKEN not in str(caught.value) and "127.0.0.1" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_stop_interrupts_the_wait_between_tries(telegram: TelegramEmulator) -> None:
    stop = threading.Event()
    stop.set()
    client = client_for(telegram, sleep=stop.wait)
    telegram.fail("sendMessage", 502)
    with pytest.raises(TelegramUnavailable, match="stopped while waiting"):
        client.send_message(CHAT, "x")


def test_the_token_is_checked_for_shape_without_being_echoed() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        check_token("", "TELEGRAM_BOT_TOKEN")
    with pytest.raises(ConfigError) as caught:
        check_token("not-a-token-secret-value", "TG")
    assert "not-a-token-secret-value" not in str(caught.value)
    assert check_token(f" {TOKEN} ", "TG") == TOKEN


def test_the_seam_warning_names_the_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    assert telegram_seam_warning() is None
    monkeypatch.setenv("BOT_TELEGRAM_API", "http://127.0.0.1:8081")
    warning = telegram_seam_warning()
    assert warning is not None and "http://127.0.0.1:8081" in warning
    assert TelegramClient(TOKEN).api == "http://127.0.0.1:8081"
