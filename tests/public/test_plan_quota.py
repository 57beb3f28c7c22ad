"""The plan's quota figures agree with each other: ``quota_share`` and ``days_needed``
both count the removals plus the polls the run is expected to spend."""

from __future__ import annotations

import pandas as pd

from ccpandas.plan.planner import plan_removal

LISTS = [f"2d0e3a5c-8a1d-4d43-9f3e-{i:012x}" for i in range(50)]


def ids(n: int) -> pd.Series:
    return pd.Series([f"8b54d1f4-5b0e-11ee-8c99-{i:012x}" for i in range(n)])


def test_quota_share_counts_removals_and_polls() -> None:
    plan = plan_removal(ids(1200), LISTS[:3])
    assert plan.n_requests == 3 and plan.expected_polls >= 1
    assert plan.quota_share == (3 + plan.expected_polls) / 10_000
    assert plan.summary()["quota_share"] == plan.quota_share
    # 3 removals + 2 polls of 10,000: two decimals below 1 % (it said "0.1%" once)
    assert plan.quota_share == 0.0005
    assert "0.05% of 10,000/day" in str(plan)


def test_share_and_days_needed_tell_the_same_story() -> None:
    # 20 removals fit in a day of 30 requests; with the polls of a 2,000 s run (one
    # after each removal but the first and the last, sent 100 s apart, and one at the
    # end) they do not. The share must say so too, not "67%" beside "needs 2 days".
    plan = plan_removal(ids(10_000), LISTS, rate=0.01, daily_quota=30)
    assert plan.n_requests == 20 and plan.expected_polls == 19
    assert plan.days_needed == 2
    assert plan.quota_share == (20 + 19) / 30
    assert "130.0% of 30/day; needs 2 days" in str(plan)
