"""The benchmark cannot rot: every case of ``python -m tests.bench`` runs once, tiny.

Only that each case runs and reports figures is checked here, never how fast: speed
is the benchmark's business (README "Performance"), not the test suite's.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.bench.__main__ import CASES, main


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_benchmark_case_runs_at_a_tiny_size(case: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "bench.json"
    assert main(["--case", case, "--tiny", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["cores"] >= 1 and data["tiny"] is True
    figures = [f for f in data["figures"] if f["case"] == case]
    assert figures, f"case {case} reported no figure"
    for figure in figures:
        assert figure["n"] >= 1 and not math.isnan(figure["median"]), figure
        assert figure["p95"] >= figure["median"] >= 0
    printed = capsys.readouterr().out
    assert figures[0]["name"] in printed  # the table shows what the JSON holds
