"""The plan's text and the panel's preview widget say the same share of the quota."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ccpandas.plan.planner import plan_removal, quota_percent
from ccpandas.widgets.preview import PlanPreview


def uid(i: int) -> str:
    return f"8b54d1f4-5b0e-11ee-8c99-{i:012x}"


@pytest.mark.parametrize(("contacts", "shown"), [(1, "0.03%"), (1200, "0.05%"), (60_000, "1.3%")])
def test_text_and_widget_show_one_quota_share(contacts: int, shown: str) -> None:
    plan = plan_removal(pd.Series([uid(i) for i in range(contacts)]), [uid(10**9)])
    preview = PlanPreview()
    preview.value = plan
    widget = re.sub(r"<[^>]+>", " ", preview.html.value)
    assert f"{shown} of 10,000/day" in str(plan)
    assert f"{shown} of 10,000 requests" in widget
    assert quota_percent(plan.quota_share) == shown


def test_quota_percent_never_rounds_a_cost_to_zero() -> None:
    assert quota_percent(0.00001) == "< 0.01%"
    assert quota_percent(0.0) == "0.00%"
    assert quota_percent(1.8015) == "180.2%"


@pytest.mark.parametrize("contacts", [1, 1200, 60_000, 600_000])
def test_text_and_widget_show_one_time(contacts: int) -> None:
    # The estimate's seconds are rarely whole: the text rounded them, the panel rounded
    # them up ("1 s" against "2 s" for one plan, "< 1 s" against "under 1 s").
    plan = plan_removal(pd.Series([uid(i) for i in range(contacts)]), [uid(10**9)])
    preview = PlanPreview()
    preview.value = plan
    widget = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", preview.html.value))
    text = re.search(r"time at 4 req/s\s+(.+)", str(plan))
    assert text is not None
    assert f"time at 4 requests per second {text.group(1).strip()} " in widget
