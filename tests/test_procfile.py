"""The Procfile, run as a PaaS runs it.

``worker`` and ``web`` start as separate processes through a shell (so ``$PORT``
expands), each in its own working directory with an empty disk of its own, sharing
nothing but PostgreSQL, given as a Heroku-style ``postgres://`` ``DATABASE_URL``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.feedkit import FeedServer, Route, make_items, rss, write_config
from tests.webkit import web_env

REPO = Path(__file__).resolve().parent.parent
WAIT = 90.0  # generous: the machine is shared; conditions are polled, never slept on


def procfile() -> dict[str, str]:
    """The Procfile's process types: name → command."""
    lines = (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and ":" in line)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening_on_every_interface(port: int) -> bool:
    """Whether a socket listens on 0.0.0.0:``port`` (from /proc/net/tcp)."""
    wanted = f"00000000:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(row.split()[1] == wanted and row.split()[3] == "0A" for row in rows)


def wait_until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@contextmanager
def process(command: str, *, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """``sh -c command`` as the platform starts it; SIGTERM at the end, as it stops it."""
    cwd.mkdir()
    log = (cwd / "process.log").open("w", encoding="utf-8")
    child = subprocess.Popen(["sh", "-c", f"exec {command.strip()}"], cwd=cwd, env=env,
                             stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        yield child
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=WAIT)
        finally:
            if child.poll() is None:
                child.kill()
            log.close()


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers["content-type"], response.read()


def test_the_procfile_types_are_worker_and_web() -> None:
    assert {name: " ".join(command.split()) for name, command in procfile().items()} == {
        "worker": "bot run", "web": "bot web --host 0.0.0.0 --port $PORT"}


def test_worker_and_web_apart_share_only_postgres(tmp_path: Path, server: FeedServer,
                                                  postgres_url: str) -> None:
    server.routes["/feed/"] = Route(body=rss(make_items(2)))
    config = tmp_path / "bot.toml"
    write_config(config, server.url("/feed/"), feeds_extra="backlog = 2")
    port = free_port()
    # A PaaS's add-on gives postgres://; the store accepts it as postgresql://.
    database_url = re.sub(r"^postgresql\+psycopg://", "postgres://", postgres_url)
    env = {name: value for name, value in os.environ.items() if name != "BOT_DATA_DIR"}
    env |= web_env(tmp_path / "unused", config) | {
        "DATABASE_URL": database_url, "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    del env["BOT_DATA_DIR"]  # each process uses ./var in its own directory, as on a dyno
    types = procfile()
    worker_dir, web_dir = tmp_path / "worker", tmp_path / "web"

    with process(types["worker"], cwd=worker_dir, env=env) as worker:
        wait_until(lambda: len(list((worker_dir / "var" / "outbox").glob("*.json"))) == 2,
                   "the worker to post both articles")
        with process(types["web"], cwd=web_dir, env=env) as web:
            wait_until(lambda: web.poll() is not None or listening_on_every_interface(port),
                       "the web process to listen")
            assert web.poll() is None, (web_dir / "process.log").read_text()
            assert listening_on_every_interface(port)  # the platform's router must reach it

            status, kind, body = get(f"http://127.0.0.1:{port}/bio")
            assert status == 200 and kind.startswith("text/html")
            thumbs = re.findall(r'/posts/(\d+)/card\.jpg\?size=thumb', body.decode())
            assert len(set(thumbs)) == 2
            assert not (web_dir / "var" / "cards").exists()  # the worker's disk is not here
            for post_id in set(thumbs):
                status, kind, image = get(f"http://127.0.0.1:{port}/posts/{post_id}/card.jpg"
                                          "?size=thumb")
                assert status == 200 and kind == "image/jpeg" and image[:2] == b"\xff\xd8"
            # Drawn again from the shared store, under the names the worker gave them.
            worker_cards = {p.name for p in (worker_dir / "var" / "cards").glob("*.jpg")}
            web_cards = {p.name for p in (web_dir / "var" / "cards").glob("*.jpg")}
            assert web_cards and web_cards <= worker_cards
        # uvicorn drains, then re-raises the SIGTERM it caught, so the platform sees it.
        assert web.returncode in (0, -signal.SIGTERM)
        assert "Finished server process" in (web_dir / "process.log").read_text()
    assert worker.returncode == 0
    assert "stopped cleanly" in (worker_dir / "process.log").read_text()
