"""``python -m tests.bench [--case NAME]... [--tiny] [--json PATH]``: run, print, save."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import PIL

from tests.bench import cards, daemon, polls, publish, push
from tests.bench.common import Figure

Case = Callable[..., list[Figure]]
CASES: dict[str, Case] = {
    "card": cards.run,
    "poll": polls.run_unchanged,
    "poll-changed": polls.run_changed,
    "burst": polls.run_burst,
    "publish": publish.run,
    "idle": daemon.run_idle,
    "scale": daemon.run_scale,
    "push": push.run,
}


def machine() -> dict[str, object]:
    """What the figures were measured on."""
    return {
        "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(), "pillow": PIL.__version__,
        "platform": platform.platform(),
    }


def table(figures: list[Figure]) -> str:
    """The figures as a fixed-width table."""
    rows = [("case", "figure", "median", "p95", "target", "", "note")]
    for f in figures:
        ok = {True: "ok", False: "MISS", None: ""}[f.meets]
        rows.append((f.case, f.name, _num(f.median, f.unit), _num(f.p95, f.unit),
                     f.target_text, ok, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _num(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases (all by default); print the table; write the JSON."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench",
                                     description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--case", action="append", choices=sorted(CASES),
                        help="run only this case (repeatable)")
    parser.add_argument("--tiny", action="store_true",
                        help="each case once at a tiny size (the smoke test)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"),
                        help="where to write the JSON report (default: %(default)s)")
    args = parser.parse_args(argv)
    chosen = args.case or list(CASES)
    before = machine()
    print(f"benchmark on {before['cores']} cores, load average "
          f"{' '.join(map(str, before['load_average']))}"  # type: ignore[call-overload]
          f"{' (tiny)' if args.tiny else ''}", flush=True)
    figures: list[Figure] = []
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bot-bench-") as scratch:
        for name in chosen:
            print(f"  {name} ...", end="", flush=True)
            started = time.monotonic()
            work = Path(scratch) / name
            work.mkdir()
            found = CASES[name](tiny=args.tiny, work=work)
            timings[name] = round(time.monotonic() - started, 1)
            print(f" {timings[name]:.0f}s", flush=True)
            figures.extend(found)
    after = machine()
    print()
    print(table(figures))
    print(f"\nload average after: {' '.join(map(str, after['load_average']))}"  # type: ignore[call-overload]
          )
    report = {
        "command": "python -m tests.bench " + " ".join(argv if argv is not None
                                                       else sys.argv[1:]),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tiny": args.tiny, "cores": before["cores"], "machine_before": before,
        "machine_after": after, "case_seconds": timings,
        "figures": [f.as_json() for f in figures],
    }
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
