"""The emulator on its own: standalone for black-box use, steered over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.ig_emulator import shortcode, totp_now

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _call(url: str, data: object | None = None) -> object:
    body = json.dumps(data).encode() if data is not None else None
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=5) as reply:
        return json.loads(reply.read())


@pytest.mark.slow
def test_standalone_emulator_serves_the_bot_as_a_black_box(tmp_path: Path) -> None:
    port = _free_port()
    session = tmp_path / "session.json"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "tests.ig_emulator", "--port", str(port),
         "--account", "editorialkaltim:rahasia", "--session-out", str(session)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert emulator.stdout is not None
        assert f"http://127.0.0.1:{port}" in emulator.stdout.readline()
        config = tmp_path / "bot.toml"
        config.write_text("""
[[feeds]]
name = "utama"
url = "http://127.0.0.1:9/feed/"
accounts = ["editorialkaltim"]

[[accounts]]
name = "editorialkaltim"
publisher = "instagram"
""", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IG_", "BOT_"))}
        env.update(BOT_CONFIG=str(config), BOT_DATA_DIR=str(tmp_path / "var"),
                   BOT_INSTAGRAM_API=f"http://127.0.0.1:{port}")
        origin = f"http://127.0.0.1:{port}/__emulator__"

        login = subprocess.run([sys.executable, "-m", "bot", "login", "--import", str(session)],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
        check = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=60)
        _call(f"{origin}/faults", {"path": "/accounts/current_user/", "status": 403,
                                   "body": {"message": "login_required", "status": "fail"}})
        expired = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=60)
        state = _call(f"{origin}/state")
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.communicate(timeout=10)

    assert login.returncode == 0, login.stderr
    assert "session valid for @editorialkaltim; account active" in check.stdout
    assert "BOT_INSTAGRAM_API is set" in check.stdout
    assert "SessionExpired" not in check.stdout
    assert "LoginRequired" in expired.stdout
    assert isinstance(state, dict)
    assert [h["path"] for h in state["hits"]].count("/api/v1/accounts/current_user/") == 3
    assert emulator.returncode == 0


@pytest.mark.parametrize(("pk", "code"), [
    ("2110901750722920960", "B1LbfVPlwIA"),  # instagrapi's own docstring example
    ("2278584739065882267", "B-fKL9qpeab"),
])
def test_shortcodes_are_instagrams(pk: str, code: str) -> None:
    assert shortcode(pk) == code


def test_totp_codes_match_instagrapis_generator() -> None:
    from instagrapi import Client

    seed = "JBSWY3DPEHPK3PXP"
    assert Client.totp_generate_code(seed) in totp_now(seed)
