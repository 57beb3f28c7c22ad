"""The planning benchmark's part two: ccpandas beside a *vectorised* pandas baseline.

Tiny sizes; no timing is asserted (speed is for ``make bench`` to measure), only that
both planners run, agree, and are reported with their targets.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # `benchmarks` is a folder of the repository, not installed
    sys.path.insert(0, str(ROOT))

from benchmarks import baseline, bench_plan, report  # noqa: E402


def test_every_case_runs_both_planners_and_they_agree() -> None:
    rows = bench_plan.run_vectorised((4_000,), repeats=1)
    assert [r["case"] for r in rows] == [c[0] for c in bench_plan.VECTORISED_CASES]
    for r in rows:
        assert r["agree"], r["case"]
        for key in ("ccpandas_cpu_seconds", "baseline_cpu_seconds", "auto_cpu_seconds"):
            assert r[key] > 0, key
    verdicts = report.check_targets({"plan_vectorised": rows})
    assert {v["case"].split(", ", 1)[1] for v in verdicts} == {
        "ids, no snapshot", "ids, snapshot", "emails, snapshot"}  # fmt: skip
    text = "\n".join(bench_plan.markdown_vectorised(rows))
    assert "vectorised pandas baseline" in text and "not* the naive per-row loop" in text


def test_the_baseline_is_vectorised_and_gets_every_status() -> None:
    case = baseline.make_email_case(2_000, seed=3)
    out = baseline.pandas_plan_emails(case.frame, case.members)
    counts = pd.Series(out["status"]).value_counts()
    assert set(counts.index) == {"planned", "duplicate", "invalid_email", "missing",
                                 "not_a_member"}  # fmt: skip
    assert counts["planned"] == len(np.unique(out["leaving"]["contact_id"]))
    ids = baseline.make_id_case(2_000, seed=3)
    plain = baseline.pandas_plan_ids(ids.frame, baseline.LIST_IDS)
    assert plain["leaving"] is None and plain["requests"] == -(-int(
        (plain["status"] == "planned").sum()) // 500)  # fmt: skip
