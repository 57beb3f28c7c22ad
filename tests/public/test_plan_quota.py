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
    # 3 removals + 4 polls of 10,000: two decimals below 1 % (it said "0.1%" once)
    assert plan.quota_share == 0.0007
    assert "0.07% of 10,000/day" in str(plan)


def test_share_and_days_needed_tell_the_same_story() -> None:
    # 20 removals fit in a day of 30 requests; with the ~200 polls of a 2,000 s run
    # they do not. The share must say so too, not "67%" beside "needs 8 days".
    plan = plan_removal(ids(10_000), LISTS, rate=0.01, daily_quota=30)
    assert plan.n_requests == 20 and plan.expected_polls == 203
    assert plan.days_needed == 8
    assert plan.quota_share == (20 + 203) / 30
    assert "743.3% of 30/day; needs 8 days" in str(plan)
