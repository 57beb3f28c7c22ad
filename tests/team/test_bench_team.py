"""Smoke test of the team benchmark (``make bench``): it runs real processes, measures
the shared limiter and lands in the report. No timing target is asserted here."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_team, report  # noqa: E402

# Several processes measure how they share one limit: alone, not beside busy workers.
pytestmark = [pytest.mark.timeout(300), pytest.mark.serial]


def test_the_team_benchmark_measures_processes_sharing_one_key() -> None:
    rows = bench_team.run((2,), modes=("local",), total_batches=8)
    (row,) = rows
    assert (row["mode"], row["processes"], row["batches_each"]) == ("local", 2, 4)
    assert row["ok"] and len(row["shares"]) == 2 and all(n > 0 for n in row["shares"])
    assert row["requests"] >= 8 and math.isfinite(row["combined_rate"])
    assert "2" in bench_team.print_table(rows)
    verdicts = report.check_targets({"team": rows})
    assert {v["metric"] for v in verdicts} == {
        "throttled answers",
        "combined rate / limit",
        "worst deviation from an equal share",
    }
    page = report.markdown({"machine": _machine(), "team": rows, "duration_seconds": 1.0}, verdicts)
    assert "## Several processes on one key" in page and "| local | 2 |" in page


def _machine() -> dict[str, object]:
    return dict.fromkeys(
        ("cores", "cpu", "memory_gib", "os", "python", "pandas", "numpy", "pyarrow", "date"), "x"
    )
