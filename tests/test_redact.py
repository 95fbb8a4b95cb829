"""Redaction of Instagram and Telegram secrets from log text."""

from __future__ import annotations

import pytest

from bot.redact import redact, register_secret

TOKEN = "eyJkc191c2VyX2lkIjoiMTIzNDU2Nzg5Iiwic2Vzc2lvbmlkIjoiMTIzNDU2Nzg5In0="
SESSIONID = "123456789%3AaBcDeFgHiJkLmN%3A27%3AAYdXyZ0123456789abcdef"
BOT_TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(("text", "secret"), [
    (f"Authorization: Bearer IGT:2:{TOKEN}", TOKEN),
    (f"{{'Authorization': 'Bearer IGT:2:{TOKEN}', 'Host': 'i.instagram.com'}}", TOKEN),
    (f'"IG-Set-Authorization": "Bearer IGT:2:{TOKEN}"', TOKEN),
    (f"Cookie: csrftoken=abcdef0123456789abcdef; sessionid={SESSIONID}; mid=Zx", SESSIONID),
    (f'{{"sessionid": "{SESSIONID}", "ds_user_id": "123456789"}}', SESSIONID),
    (f"sessionid%22%3A%22{SESSIONID}%22", SESSIONID),
    ("signed_body=SIGNATURE.%7B%22enc_password%22%3A%22%23PWD_INSTAGRAM%3A4%3A1730000000%3A"
     "AbCdEf0123%2B%2F%3D%3D%22", "AbCdEf0123"),
    ('{"enc_password": "#PWD_INSTAGRAM:4:1730000000:QUJDRA=="}', "QUJDRA=="),
    ("password=hunter2-but-longer&username=editorialkaltim", "hunter2-but-longer"),
    ('{"totp_seed": "JBSWY3DPEHPK3PXP"}', "JBSWY3DPEHPK3PXP"),
    ("verification_code=123456&two_factor_identifier=ABCDEF123", "ABCDEF123"),
    (f"session {SESSIONID} loaded", SESSIONID),
    # urllib3 at DEBUG: the Telegram token sits in the path of every Bot API URL.
    (f'https://api.telegram.org:443 "POST /bot{BOT_TOKEN}/getUpdates HTTP/1.1" 200 23',
     BOT_TOKEN.split(":")[1]),
    (f"Max retries exceeded with url: /bot{BOT_TOKEN}/sendPhoto", BOT_TOKEN.split(":")[1]),
    (f"bot_token={BOT_TOKEN}", BOT_TOKEN.split(":")[1]),
    ("token 110201543%3AAAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "AAHdqTcvCH1vGWJxfSeofSAs0K5"),
])
def test_secrets_are_redacted_in_every_shape(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "[redacted]" in cleaned


def test_a_registered_value_is_redacted_anywhere_even_url_encoded() -> None:
    register_secret("s3cr3t pass/word")
    assert redact("tried s3cr3t pass/word, then s3cr3t+pass%2Fword") == \
        "tried [redacted], then [redacted]"


@pytest.mark.parametrize("text", [
    "posted 3180000033831967895 as https://www.instagram.com/p/CwhoS6ySNyX/",
    "feed post: PleaseWaitFewMinutes: Please wait a few minutes before you try again.",
    "GET https://i.instagram.com/api/v1/feed/user/33831967894/?count=20",
    "telegram: sending as @ekaltim_bot to 1 chat(s); update 880001 handled at 13:05:01",
])
def test_ordinary_log_text_is_left_alone(text: str) -> None:
    assert redact(text) == text
