"""Log lines: one per event, local time, context fields, JSON, and no secrets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from bot.logs import setup_logging

WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def emit(capsys: pytest.CaptureFixture[str], fmt: str) -> list[str]:
    setup_logging(tz=WITA, fmt=fmt, level="INFO")
    log = logging.getLogger("bot.test")
    log.info("posted: %s", "var/outbox/8-a.jpg", extra={"account": "ek", "post_id": 8})
    try:
        raise RuntimeError("login failed for password=hunter2-rahasia")
    except RuntimeError:
        log.exception("upload failed", extra={"feed": "utama"})
    return capsys.readouterr().err.splitlines()


def test_human_lines_carry_local_time_level_and_context(
        capsys: pytest.CaptureFixture[str]) -> None:
    lines = emit(capsys, "human")
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WITA INFO  account=ek post=8 posted: "
                    r"var/outbox/8-a\.jpg$", lines[0]), lines[0]
    assert "ERROR feed=utama upload failed" in lines[1]
    assert "Traceback" in lines[2]


def test_json_lines_are_objects_with_context(capsys: pytest.CaptureFixture[str]) -> None:
    records = [json.loads(line) for line in emit(capsys, "json")]
    assert records[0]["message"] == "posted: var/outbox/8-a.jpg"
    assert (records[0]["account"], records[0]["post_id"], records[0]["level"]) == ("ek", 8,
                                                                                 "INFO")
    assert records[0]["time"].endswith("+08:00")
    assert "RuntimeError" in records[1]["traceback"]


@pytest.mark.parametrize("fmt", ["human", "json"])
def test_secrets_never_reach_the_log(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    monkeypatch.setenv("IG_PASSWORD", "s3cret-Kaltim-2026")
    monkeypatch.setenv("IG_TOTP_SECRET", "JBSWY3DPEHPK3PXP")
    setup_logging(tz=WITA, fmt=fmt, level="DEBUG")
    log = logging.getLogger("instagrapi")
    log.debug("POST accounts/login/ {'password': 's3cret-Kaltim-2026', 'seed': 'x'}")
    log.debug("cookie: sessionid=1234567890%3AabcdefghijKLMN%3A12%3AAYdefghijklmnopq; "
              "Authorization: Bearer IGT:2:eyJkc191c2VyX2lkIjoiMSJ9")
    try:
        raise ValueError("two-factor with JBSWY3DPEHPK3PXP failed")
    except ValueError:
        log.exception("login failed")
    err = capsys.readouterr().err
    for secret in ("s3cret-Kaltim-2026", "JBSWY3DPEHPK3PXP", "AYdefghijklmnopq",
                   "eyJkc191c2VyX2lkIjoiMSJ9"):
        assert secret not in err
    assert err.count("[redacted]") >= 4
