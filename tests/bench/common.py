"""What the benchmark cases share: figures and their statistics, timers, and the
bot's own processes (``bot run``, ``bot web``) with their memory and CPU read from /proc.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` percentile (0 < q ≤ 100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


@dataclass
class Figure:
    """One measured figure: its samples, and the target it is held to (if any).

    ``stat`` names the statistic the target bounds (``median``, ``p95``, ``p99``,
    ``max``); ``wall`` keeps wall-clock samples when the samples are CPU time.
    """

    case: str
    name: str
    unit: str
    samples: list[float]
    target: float | None = None
    stat: str = "median"
    target_text: str = ""
    note: str = ""
    wall: list[float] = field(default_factory=list)

    def value(self, stat: str) -> float:
        """The named statistic of the samples."""
        if not self.samples:
            return float("nan")
        if stat == "median":
            return float(statistics.median(self.samples))
        if stat == "max":
            return max(self.samples)
        return percentile(self.samples, float(stat.removeprefix("p")))

    @property
    def median(self) -> float:
        """The median sample."""
        return self.value("median")

    @property
    def p95(self) -> float:
        """The 95th percentile sample."""
        return self.value("p95")

    @property
    def meets(self) -> bool | None:
        """Whether the figure meets its target (None when it has none)."""
        if self.target is None or not self.samples:
            return None
        return self.value(self.stat) <= self.target

    def as_json(self) -> dict[str, Any]:
        """The figure for the JSON report."""
        data: dict[str, Any] = {
            "case": self.case, "name": self.name, "unit": self.unit,
            "n": len(self.samples), "median": _round(self.median), "p95": _round(self.p95),
            "min": _round(min(self.samples)) if self.samples else None,
            "max": _round(max(self.samples)) if self.samples else None,
            "target": _round(self.target) if self.target is not None else None,
            "target_stat": self.stat, "target_text": self.target_text, "meets": self.meets,
            "note": self.note,
        }
        if self.stat not in ("median", "p95", "max"):
            data[self.stat] = _round(self.value(self.stat))
        if self.wall:
            data["wall_median"] = _round(float(statistics.median(self.wall)))
            data["wall_p95"] = _round(percentile(self.wall, 95))
        return data


def _round(value: float) -> float:
    return round(value, 3)


def timed(task: Callable[[], object], runs: int, *, warmup: int = 2
          ) -> tuple[list[float], list[float]]:
    """(CPU ms, wall ms) of each of ``runs`` calls of ``task`` in this thread, after warm-up.

    CPU time is the calling thread's own (``time.thread_time``): servers running in
    other threads of the benchmark, and other people's work on a shared machine, do
    not count.
    """
    for _ in range(warmup):
        task()
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.thread_time(), time.perf_counter()
        task()
        cpu.append((time.thread_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return cpu, wall


def timed_together(tasks: dict[str, Callable[[], object]], runs: int, *, warmup: int = 2
                   ) -> dict[str, tuple[list[float], list[float]]]:
    """:func:`timed` for several tasks at once, their runs interleaved (in a rotating
    order), so that a task and the floor it is held to see the same machine.

    A shared machine's speed drifts by tens of per cent within a minute; timed one
    after the other, a card and its floor could be measured at different speeds.
    """
    names = list(tasks)
    for _ in range(warmup):
        for name in names:
            tasks[name]()
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in names}
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            c0, w0 = time.thread_time(), time.perf_counter()
            tasks[name]()
            samples[name][0].append((time.thread_time() - c0) * 1000)
            samples[name][1].append((time.perf_counter() - w0) * 1000)
    return samples


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process in MB (10^6 bytes)."""
    now = peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            now = int(line.split()[1]) * 1024 / 1e6
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) * 1024 / 1e6
    return now, peak


class BotProcess:
    """A ``python -m bot ...`` subprocess whose JSON log lines are read as they come."""

    def __init__(self, args: list[str], *, env: dict[str, str], cwd: Path) -> None:
        self.args = args
        self.lines: list[dict[str, Any]] = []
        self._new: queue.Queue[dict[str, Any]] = queue.Queue()
        full_env = {**os.environ, "BOT_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **env}
        full_env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *args], cwd=cwd, env=full_env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        """The process id."""
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            try:
                line = json.loads(raw)
            except ValueError:
                line = {"message": raw.rstrip(), "level": "RAW"}
            self.lines.append(line)
            self._new.put(line)

    def wait_for(self, pattern: str, timeout: float) -> dict[str, Any]:
        """The first log line (from now on, or already seen) whose message matches."""
        regex = re.compile(pattern)
        for line in list(self.lines):
            if regex.search(str(line.get("message", ""))):
                return line
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self._new.empty()):
                raise RuntimeError(f"bot {' '.join(self.args)}: no log line matching "
                                   f"{pattern!r} within {timeout:.0f}s\n{self.tail()}")
            try:
                line = self._new.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if regex.search(str(line.get("message", ""))):
                return line

    def matching(self, pattern: str) -> list[dict[str, Any]]:
        """Every log line so far whose message matches ``pattern``."""
        regex = re.compile(pattern)
        return [line for line in self.lines if regex.search(str(line.get("message", "")))]

    def tail(self, count: int = 30) -> str:
        """The last log lines, for error messages."""
        return "\n".join(str(line.get("message", line)) for line in self.lines[-count:])

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, then wait for the exit (SIGKILL after ``timeout``)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return int(self.proc.returncode)


@contextmanager
def bot_process(args: list[str], *, env: dict[str, str], cwd: Path) -> Iterator[BotProcess]:
    """A running bot subprocess, stopped (SIGTERM) afterwards."""
    process = BotProcess(args, env=env, cwd=cwd)
    try:
        yield process
    finally:
        process.stop()


class EmulatorProcess:
    """The Instagram emulator (tests/ig_emulator.py) in its own process, so its work
    never shares the bot's interpreter, and its time spent answering can be read."""

    def __init__(self, username: str, password: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.ig_emulator", "--port", str(self.port),
             "--account", f"{username}:{password}"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if "emulator on" not in first:
            self.proc.kill()
            raise RuntimeError(f"the emulator did not start: {first!r}")
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, action: str, **query: str) -> Any:
        """GET a control endpoint (``state``, ``service``, ``session``)."""
        import requests

        response = requests.get(f"{self.url}/__emulator__/{action}", params=query, timeout=10)
        response.raise_for_status()
        return response.json()

    def service_seconds(self) -> float:
        """Seconds the emulator has spent answering requests so far."""
        return float(self.get("service")["seconds"])

    def stop(self) -> None:
        """Terminate it."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextmanager
def emulator_process(username: str, password: str) -> Iterator[EmulatorProcess]:
    """A running emulator process with one account."""
    emulator = EmulatorProcess(username, password)
    try:
        yield emulator
    finally:
        emulator.stop()


def feeds_toml(feeds: list[tuple[str, str]], *, poll_every: str, accounts: list[str],
               backlog: int = 0, max_pages: int | None = None) -> str:
    """``[[feeds]]`` tables for (name, url) pairs."""
    account_list = ", ".join(f'"{a}"' for a in accounts)
    out = []
    for name, url in feeds:
        out.append(f'[[feeds]]\nname = "{name}"\nurl = "{url}"\npoll_every = "{poll_every}"\n'
                   f"accounts = [{account_list}]\nbacklog = {backlog}\n"
                   + (f"max_pages = {max_pages}\n" if max_pages is not None else ""))
    return "\n".join(out)


def bot_toml(feeds: str, accounts: str, *, tick: str = "10s") -> str:
    """A complete bot.toml: always-open schedule, no spacing, loopback fetches allowed."""
    return f"""timezone = "Asia/Makassar"

{feeds}

{accounts}

[schedule]
windows = ["00:00-24:00"]
min_gap = "0s"
daily_cap = 1000
max_age = "3650d"
tick = "{tick}"

[fetch]
timeout = "5s"
connect_timeout = "2s"
allow_private_addresses = true
"""
