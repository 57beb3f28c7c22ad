"""RemovalResult.rows: every input row accounted for, the worst activity shown."""

from __future__ import annotations

import pandas as pd
import pytest

from ccpandas.plan.planner import plan_removal
from ccpandas.run.result import ROW_STATUSES, RemovalResult
from ccpandas.run.runner import Runner
from ccpandas.store.batch import BatchRun

LISTS = [f"00000000-0000-4000-8000-{i:012d}" for i in range(60)]  # two list groups


def ids(n: int, start: int = 0) -> list[str]:
    return [f"11111111-1111-4111-8111-{i:012d}" for i in range(start, start + n)]


def make(plan, states):
    runs = [BatchRun(b) for b in plan.batches]
    for run, state in zip(runs, states, strict=True):
        run.state = state
        if state not in ("pending", "uncertain", "rejected"):
            run.activity_id = f"act-{run.batch.index}"
    return RemovalResult(plan, runs, Runner(None))


def test_rows_keep_index_and_order_even_with_repeated_labels():
    values = [*ids(3), "bad", None, ids(1)[0]]
    df = pd.DataFrame({"contact_id": values}, index=["a", "a", "b", "c", "c", "d"])
    plan = plan_removal(df, LISTS[:1])
    result = make(plan, ["completed"])
    rows = result.rows
    assert list(rows.index) == ["a", "a", "b", "c", "c", "d"]
    assert rows["status"].tolist() == [
        "removed",
        "removed",
        "removed",
        "invalid_id",
        "missing",
        "duplicate",
    ]
    assert rows["activity_id"].tolist()[:3] == ["act-0"] * 3
    assert set(rows["status"].cat.categories) == set(ROW_STATUSES)


def test_worst_activity_of_a_contact_group_wins():
    df = pd.DataFrame({"contact_id": ids(600)})  # two contact groups x two list groups
    plan = plan_removal(df, LISTS)
    assert plan.n_batches == 4
    # batch order: (group 0, lists 0), (0, 1), (1, 0), (1, 1)
    result = make(plan, ["completed", "failed", "processing", "completed"])
    result.runs[1].errors = ("list is locked",)
    rows = result.rows
    first, second = rows.iloc[:500], rows.iloc[500:]
    assert set(first["status"]) == {"failed"}
    assert set(first["activity_id"]) == {"act-1"}
    assert set(first["error"]) == {"list is locked"}
    assert set(second["status"]) == {"processing"}
    assert not result.done and not result.ok
    assert result.counts().to_dict() == {"failed": 500, "processing": 100}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("pending", "not_sent"),
        ("uncertain", "uncertain"),
        ("rejected", "rejected"),
        ("timed_out", "timed_out"),
        ("cancelled", "cancelled"),
        ("initialized", "processing"),
        ("unknown", "unknown"),
    ],
)
def test_batch_states_map_to_row_statuses(state, expected):
    plan = plan_removal(pd.Series(ids(2)), LISTS[:1])
    rows = make(plan, [state]).rows
    assert rows["status"].tolist() == [expected, expected]


def test_raise_for_errors_names_the_failed_activities():
    from ccpandas.errors import ActivityError

    plan = plan_removal(pd.Series(ids(501)), LISTS[:1])
    result = make(plan, ["completed", "failed"])
    result.runs[1].errors = ("boom",)
    with pytest.raises(ActivityError, match=r"1 of 2 activities.*act-1: failed \(boom\)"):
        result.raise_for_errors()
    assert make(plan, ["completed", "completed"]).raise_for_errors().ok


def test_repr_and_html_summarise_without_listing_every_row():
    plan = plan_removal(pd.Series([*ids(3), "x"]), LISTS[:2])
    result = make(plan, ["completed"])
    text = repr(result)
    assert "removed 3" in text and "invalid_id 1" in text
    assert "<table>" in result._repr_html_()
