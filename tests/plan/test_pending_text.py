"""The membership line of a result taken without a snapshot names the kind's own rows:
an add's 'added' rows, not 'removed' ones."""

from __future__ import annotations

import pandas as pd

from ccpandas.plan.planner import as_kind, plan_removal

IDS = pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"])
LIST = ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"]


def test_an_add_without_a_snapshot_speaks_of_added_rows() -> None:
    text = as_kind(plan_removal(IDS, LIST), "add").pending_text()
    assert text.startswith("memberships: unverified (no snapshot)")
    assert "'added' rows mean the activity completed" in text and "removed" not in text


def test_a_removal_without_a_snapshot_keeps_its_words() -> None:
    text = plan_removal(IDS, LIST).pending_text()
    assert "'removed' rows mean the activity completed" in text
