"""``bot hash-password``, ``bot web`` start-up refusals and ``bot bio --out``, as
real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.feedkit import FeedServer, write_config
from tests.webkit import seed, web_env


def bot(*args: str, stdin: str = "", env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin, text=True,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("stdin", ["kata-sandi-rahasia\n", "kata-sandi-rahasia\n"
                                   "kata-sandi-rahasia\n", "kata-sandi-rahasia"])
def test_hash_password_prints_an_argon2_hash_of_stdin(stdin: str) -> None:
    result = bot("hash-password", stdin=stdin)
    assert result.returncode == 0, result.stderr
    hashed = result.stdout.strip()
    assert hashed.startswith("$argon2id$")
    assert PasswordHasher().verify(hashed, "kata-sandi-rahasia")
    assert "kata-sandi-rahasia" not in result.stdout + result.stderr


@pytest.mark.parametrize(("stdin", "message"), [
    ("", "no password"),
    ("\n", "no password"),
    ("kata-sandi-satu\nkata-sandi-dua\n", "differ"),
    ("pendek\n", "too short"),
])
def test_hash_password_refuses_bad_input(stdin: str, message: str) -> None:
    result = bot("hash-password", stdin=stdin)
    assert result.returncode == 2 and message in result.stderr
    assert result.stdout == ""


def test_web_refuses_to_start_without_a_secret_key(tmp_path: Path, server: FeedServer) -> None:
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"))
    env = web_env(tmp_path / "var", config)
    del env["BOT_SECRET_KEY"]
    result = bot("web", "--port", "1", env={**env, "BOT_SECRET_KEY": ""})
    assert result.returncode == 2
    assert "BOT_SECRET_KEY is not set" in result.stderr


def test_web_refuses_a_password_hash_that_is_not_argon2(tmp_path: Path,
                                                         server: FeedServer) -> None:
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"))
    env = {**web_env(tmp_path / "var", config), "BOT_ADMIN_PASSWORD_HASH": "plaintext"}
    result = bot("web", "--port", "1", env=env)
    assert result.returncode == 2 and "bot hash-password" in result.stderr


def test_bio_out_writes_the_same_page_as_static_files(tmp_path: Path, data_dir: Path,
                                                      server: FeedServer) -> None:
    seeded = seed(tmp_path, data_dir, server)
    out = tmp_path / "bio"
    (out / "thumbs").mkdir(parents=True)
    (out / "thumbs" / "999.jpg").write_bytes(b"stale")
    result = bot("bio", "--out", str(out), env=web_env(data_dir, seeded.config))
    assert result.returncode == 0, result.stderr
    assert "3 post(s)" in result.stdout
    html = (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == sorted(
        f"{i}.jpg" for i in _posted_ids(html))
    assert (out / "bio.css").is_file() and 'href="bio.css"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert html.count("utm_medium=bio") == 3
    for status in ("queued", "pending_approval", "failed", "skipped"):
        assert f"thumbs/{seeded.ids[status]}.jpg" not in html
    assert max(p.stat().st_size for p in (out / "thumbs").iterdir()) < 60_000


def _posted_ids(html: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'src="thumbs/(\d+)\.jpg"', html)]
