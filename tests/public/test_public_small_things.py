"""Issue 21, section 6, small things of the public face: ``ccpandas.version`` is not
importlib's function, ``.cc`` on a Series says to use a DataFrame, and counts of one
are singular in the plan, the undo preview and the result (over HTTP, emulator)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import ccpandas

#: "1 requests", "1 removal requests", "1 reads", "1 add requests"...
PLURAL_ONE = re.compile(r"(?<![\d,.])1 (?:add |removal |read )?(?:requests|reads)\b")


def test_version_is_the_string_not_importlibs_function() -> None:
    assert isinstance(ccpandas.__version__, str) and ccpandas.__version__
    version = getattr(ccpandas, "version", None)
    assert version is None or isinstance(version, str)


def test_cc_on_a_series_says_to_use_a_dataframe() -> None:
    series = pd.Series(["a@example.com"], name="email")
    with pytest.raises(AttributeError, match=r"\.cc works on a DataFrame, not a Series"):
        series.cc  # noqa: B018
    with pytest.raises(AttributeError, match=r"series\.to_frame\(\)\.cc"):
        series.cc.plan  # noqa: B018
    assert not hasattr(pd.Series(["x"]), "cc")
    assert hasattr(series.to_frame(), "cc")


def test_counts_of_one_are_singular(fast_account) -> None:
    emu, client, _ = fast_account(seed=5, contacts=30, lists=2)
    first = emu.account.list_ids()[0]
    one = sorted(emu.account.members(first))[:1]
    frame = pd.DataFrame({"contact_id": one})
    plan = frame.cc.plan(first, client=client, snapshot=True)
    texts = [str(plan)]
    assert "1 removal request (this plan: 1)" in str(plan)
    result = frame.cc.remove_from_lists(first, client=client, snapshot=True, progress=False)
    texts.append(repr(result))
    preview = result.undo(dry_run=True)
    texts.append(str(preview))
    assert "+ 1 add request + about" in str(preview) and "+ 1 read to verify" in str(preview)
    for text in texts:
        assert not PLURAL_ONE.search(text), PLURAL_ONE.search(text)


def test_one_plan_entry_point_on_the_accessor() -> None:
    # Issue 21: df.cc.plan and df.cc.plan_removal differed only in a default.
    frame = pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]})
    assert not hasattr(frame.cc, "plan_removal")
    plan = frame.cc.plan(["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"], snapshot=False)
    assert plan.n_requests == 1  # offline: list UUIDs, no snapshot, no request
