"""Undoability said up front (issue 21, section 3): with ``snapshot="auto"`` skipping
the read of a big list, the run cannot be undone. The plan's text, its ``summary()``
(the CLI's ``--json``), the CLI's plan output and the panel's preview say so before
the run, with what a snapshot would cost to make it undoable. Real HTTP to the
emulator."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from ccpandas.cli.main import main
from ccpandas.errors import PlanError
from ccpandas.plan.membership import snapshot_reads
from ccpandas.vocab import ExitCode
from ccpandas.widgets.preview import PlanPreview

FAST = {"rate": None, "speed": 1_000_000.0}


@pytest.fixture
def big(cc_emulator_factory, connect):
    """An account with one list of 3,000 members: reading it costs 6 requests, more
    than the one removal request of 3 contacts, so ``snapshot="auto"`` skips it."""
    emu = cc_emulator_factory(seed=41, contacts=3000, **FAST)
    acct = emu.account
    lid = acct.create_list("Everyone")
    acct.add_members(lid, acct.contact_ids())
    df = pd.DataFrame({"contact_id": sorted(acct.members(lid))[:3]})
    return emu, connect(emu), lid, df


def _undo_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.strip().startswith("undo "))


def test_the_plan_says_up_front_that_the_run_cannot_be_undone(big):
    emu, client, lid, df = big
    reads = snapshot_reads([emu.account.membership_count(lid)])
    assert reads == 6
    for snapshot in ("auto", False):
        plan = df.cc.plan([lid], client=client, snapshot=snapshot)
        assert plan.membership is None and not plan.undoable
        assert plan.snapshot_cost == reads
        line = _undo_line(str(plan))
        assert "not possible" in line and "snapshot=True" in line and "--snapshot yes" in line
        assert f"{2 * reads} more requests" in line and f"{reads} reads" in line
        assert plan.summary()["undoable"] is False and plan.summary()["snapshot_cost"] == reads
    # ...and it is so: the run's undo is refused, as the plan said.
    result = df.cc.remove_from_lists([lid], client=client, progress=False)
    assert result.ok and not result.plan.undoable
    with pytest.raises(PlanError, match="cannot be undone exactly"):
        result.undo(client=client, progress=False)
    # With the snapshot, the plan says the run can be undone.
    again = pd.DataFrame({"contact_id": sorted(emu.account.members(lid))[:3]})
    plan = again.cc.plan([lid], client=client, snapshot=True)
    assert plan.undoable and "possible: ccpandas.undo" in _undo_line(str(plan))


def test_offline_plan_says_what_a_snapshot_takes_without_figures(big):
    _, _, lid, df = big
    plan = df.cc.plan([lid], snapshot=False)  # no client: no listing, sizes unknown
    assert plan.snapshot_cost is None
    assert "1 request per 500 members" in _undo_line(str(plan))


def test_cli_plan_and_panel_preview_say_it_too(big, monkeypatch, tmp_path):
    emu, client, lid, df = big
    path = tmp_path / "few.csv"
    df.to_csv(path, index=False)
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
    out, err = io.StringIO(), io.StringIO()
    argv = ["plan", str(path), "--lists", lid, "--base-url", emu.base_url]
    assert main(argv, stdin=io.StringIO(""), stdout=out, stderr=err) == ExitCode.OK, err
    assert "not possible" in _undo_line(out.getvalue())
    out = io.StringIO()
    assert main([*argv, "--json"], stdin=io.StringIO(""), stdout=out, stderr=err) == 0
    body = json.loads(out.getvalue())
    assert body["undoable"] is False and body["snapshot_cost"] == 6

    preview = PlanPreview()
    preview.value = df.cc.plan([lid], client=client)
    assert "undo" in preview.html.value and "12 more requests" in preview.html.value
    preview.value = df.cc.plan([lid], client=client, snapshot=True)
    assert "possible: ccpandas.undo" in preview.html.value
