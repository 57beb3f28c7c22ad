"""``result.rows`` and ``result.changes`` are built once per state of the run: the
summary, the displays and the caller ask for them many times (a 60-list run built its
changes nine times, most of a minute). Each access gets its own copy."""

from __future__ import annotations

import pandas as pd
import pytest

import ccpandas
from ccpandas.plan import membership


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the changes frame is built (the one builder, wrapped)."""
    calls: list[int] = []
    real = membership.changes_frame

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(membership, "changes_frame", counting)
    return calls


def test_changes_and_rows_are_built_once_per_state(emu, counted):
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    target = emu.account.list_ids()[0]
    members = sorted(emu.account.members(target))[:30]
    df = pd.DataFrame({"contact_id": members})
    result = df.cc.remove_from_lists([target], client=client, snapshot=True, progress=False)
    assert result.ok and counted  # the run's own summary built them
    first = result.changes
    built = len(counted)
    for _ in range(5):
        repr(result), result.summary(), result.rows, result._repr_html_()
    assert result.changes.equals(first)
    assert len(counted) == built  # the same state: not built again
    # A caller's edits stay in its copy.
    first["outcome"] = "edited"
    result.rows.pop("status")
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert "status" in result.rows.columns
    # A new state (a fresh re-read) builds them again.
    result.verify()
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert len(counted) > built


def test_a_sample_verified_run_builds_its_changes_in_one_pass(emu, counted):
    # Pairs the sample did not see keep their outcome without a read: the same frame,
    # not a second one built without the read.
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    target = max(emu.account.list_ids(), key=lambda t: len(emu.account.members(t)))
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:40]})
    result = df.cc.remove_from_lists(
        [target], client=client, snapshot=True, verify="sample", progress=False
    )
    assert result.verification()["sample"]
    result.__dict__.pop("_frames")  # forget what the run built
    before = len(counted)
    outcomes = result.changes["outcome"].astype(str).value_counts().to_dict()
    assert len(counted) - before == 1
    assert outcomes == {"removed": 4, "unverified": 36}
