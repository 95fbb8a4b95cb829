"""A fork server for crash tests: one process imports the bot once, then forks a fresh
``bot`` process per run, so hundreds of SIGKILLs cost milliseconds each instead of an
interpreter start and instagrapi's import every time.

Each child is a real process running the real CLI (``bot.cli.cli``) with its own
environment, its output in a log file; the test kills it by pid. The fork server itself
runs no threads and opens nothing before forking, so the children start clean.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

_SERVER = r"""
import json, os, sys
import bot.cli, bot.core, bot.scheduler, bot.pipeline.poll, bot.pipeline.publish
import bot.pipeline.render, bot.publishers.instagram.publisher, bot.cards.layout
import instagrapi, PIL.Image, sqlalchemy, feedparser, requests

out = sys.stdout
for line in sys.stdin:
    command = json.loads(line)
    if command["op"] == "run":
        pid = os.fork()
        if pid == 0:
            os.environ.clear()
            os.environ.update(command["env"])
            os.chdir(command["cwd"])
            fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            code = 0
            try:
                bot.cli.cli.main(args=command["args"], prog_name="bot")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
            except BaseException:
                import traceback
                traceback.print_exc()
                code = 70
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    elif command["op"] == "poll":
        pid, status = os.waitpid(command["pid"], os.WNOHANG)
        code = os.waitstatus_to_exitcode(status) if pid else None
        out.write(json.dumps({"code": code}) + "\n")
        out.flush()
"""


class ForkServer:
    """Starts ``bot`` processes fast; use as a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER], cwd=REPO, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def _ask(self, command: dict[str, object]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:  # one question at a time; test threads share the server
            self.process.stdin.write(json.dumps(command) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fork server died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def start(self, args: list[str], env: dict[str, str], log: Path) -> int:
        """Fork ``bot ARGS`` with ``env``; its pid."""
        return self._ask({"op": "run", "args": args, "env": env, "cwd": str(REPO),
                          "log": str(log)})["pid"]

    def wait(self, pid: int, timeout: float = 120.0) -> int:
        """Wait for a child: its exit code, or minus the signal that ended it."""
        end = time.monotonic() + timeout
        while True:
            code = self._ask({"op": "poll", "pid": pid})["code"]
            if code is not None:
                return int(code)
            if time.monotonic() > end:
                raise TimeoutError(f"bot process {pid} still running after {timeout:g}s")
            time.sleep(0.005)

    @staticmethod
    def running(pid: int) -> bool:
        """Whether the child has not exited yet (a zombie counts as exited)."""
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False

    @staticmethod
    def kill(pid: int) -> bool:
        """SIGKILL the child; False if it had already exited."""
        if not ForkServer.running(pid):
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def close(self) -> None:
        """Stop the fork server."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
