"""Undo after a later run (issue 21, section 2): R1 removes 300, a later run R2 (same
journal) removes 50 of them again after they were re-added. Undoing R1 would put all
300 back and silently revert R2: the preview names R2, and the undo refuses without
``force=True``. Over real HTTP against the emulator; memberships read from the
emulator's own account."""

from __future__ import annotations

import io

import pandas as pd
import pytest

import ccpandas
from ccpandas.errors import PlanError
from ccpandas.vocab import ExitCode

FAST = {"rate": None, "speed": 1_000_000.0}
ADD = "/v3/activities/add_list_memberships"


def _remove(client, lists, contacts, **kw):
    df = pd.DataFrame({"contact_id": sorted(contacts)})
    return df.cc.remove_from_lists(lists, client=client, snapshot=True, progress=False, **kw)


def _r1_then_r2(emu, client):
    acct = emu.account
    a, b = sorted(acct.list_ids(), key=lambda lid: -len(acct.live_members(lid)))[:2]
    r1_contacts = sorted(acct.live_members(a))[:300]
    r1 = _remove(client, [a], r1_contacts)
    assert r1.ok and len(r1.changes.query("outcome == 'removed'")) == 300
    again = r1_contacts[:50]
    acct.add_members(a, again)  # re-added by hand (a sign-up form, an import)
    r2 = _remove(client, [a], again)
    assert r2.ok and len(r2.changes.query("outcome == 'removed'")) == 50
    # A later run on another list touches none of R1's pairs: never named.
    other = _remove(client, [b], sorted(acct.live_members(b) - set(r1_contacts))[:5])
    assert other.ok
    return a, r1, r2, other, again, r1_contacts


def test_undo_names_a_later_run_and_refuses_without_force(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=31, contacts=2000, **FAST)
    client, acct = connect(emu), emu.account
    a, r1, r2, other, _again, r1_contacts = _r1_then_r2(emu, client)

    preview = ccpandas.undo(r1.run_id, client=client, dry_run=True, progress=False)
    assert preview.plan.later_runs == ((r2.run_id, "remove", 50),)
    text = str(preview.plan)
    assert r2.run_id in text and "50 pairs" in text and "force=True" in text
    assert other.run_id not in text

    for call in (
        lambda: ccpandas.undo(r1.run_id, client=client, progress=False),
        lambda: r1.undo(client=client, progress=False),
    ):
        with pytest.raises(PlanError, match="nothing was sent") as info:
            call()
        assert r2.run_id in str(info.value)
    assert emu.account.count(method="POST", route=ADD) == 0
    assert not acct.members(a) & set(r1_contacts)  # R2's removals stand

    done = ccpandas.undo(r1.run_id, client=client, force=True, progress=False)
    assert done.ok and done.plan.later_runs == ((r2.run_id, "remove", 50),)
    assert set(r1_contacts) <= acct.members(a)  # all 300 back, R2 reverted as asked
    rebuilt = ccpandas.run_result(done.run_id)
    assert rebuilt.plan.later_runs == done.plan.later_runs  # journaled


def test_undo_of_the_later_run_alone_is_not_refused(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=32, contacts=2000, **FAST)
    client, acct = connect(emu), emu.account
    a, _r1, r2, _other, again, _ = _r1_then_r2(emu, client)
    done = r2.undo(client=client, progress=False)  # nothing came after R2 on list a
    assert done.ok and done.plan.later_runs == ()
    assert set(again) <= acct.members(a)


def test_cli_undo_refuses_then_force(cc_emulator_factory, connect, monkeypatch):
    from ccpandas.cli.main import main

    emu = cc_emulator_factory(seed=33, contacts=2000, **FAST)
    client, acct = connect(emu), emu.account
    a, r1, r2, _other, _again, r1_contacts = _r1_then_r2(emu, client)
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)

    def cli(*args: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["undo", r1.run_id, "--yes", *args, "--base-url", emu.base_url]
        return main(argv, stdin=io.StringIO(""), stdout=out, stderr=err), err.getvalue()

    code, err = cli()
    assert code == ExitCode.USAGE and r2.run_id in err and "--force" in err
    assert emu.account.count(method="POST", route=ADD) == 0
    code, err = cli("--force")
    assert code == ExitCode.OK, err
    assert set(r1_contacts) <= acct.members(a)


def test_undo_in_reverse_order_is_not_refused(cc_emulator_factory, connect):
    # Undo R2, then R1 (the last run first, as any undo history goes): R2 no longer
    # stands, so undoing R1 reverts nobody's later change; it was refused naming R2 and
    # R2's own undo. A run after R2's undo still counts.
    emu = cc_emulator_factory(seed=34, contacts=2000, **FAST)
    client, acct = connect(emu), emu.account
    a, r1, r2, _other, again, r1_contacts = _r1_then_r2(emu, client)
    undo_r2 = r2.undo(client=client, progress=False)
    assert undo_r2.ok and set(again) <= acct.members(a)

    preview = r1.undo(client=client, dry_run=True, progress=False)
    assert preview.plan.later_runs == ()
    assert "changed since" not in str(preview)
    done = r1.undo(client=client, progress=False)
    assert done.ok and set(r1_contacts) <= acct.members(a)

    # A run after R2's undo that changes R1's pairs again is still named.
    r3 = _remove(client, [a], again[:10])
    assert r3.ok
    again_preview = r1.undo(client=client, dry_run=True, force=True, progress=False)
    assert [run for run, _k, _n in again_preview.plan.later_runs] == [r3.run_id]


def test_a_later_run_one_completed_undo_reverted_stays_reverted(cc_emulator_factory, connect):
    # Undo R2 (completed), then a forced second undo of R2 that fails: R2's change was
    # gone after the first, so undoing R1 reverts nothing of R2's. Asking only R2's
    # latest undo refused it (review).
    emu = cc_emulator_factory(seed=35, contacts=2000, **FAST)
    client, acct = connect(emu), emu.account
    a, r1, r2, _other, again, r1_contacts = _r1_then_r2(emu, client)
    assert r2.undo(client=client, progress=False).ok
    acct.set_members(a, sorted(acct.members(a) - {again[0]}))  # one taken off by hand
    emu.fail_next(1, "failed", 0.0)
    second = ccpandas.undo(r2.run_id, client=client, force=True, progress=False)
    assert not second.ok
    preview = r1.undo(client=client, dry_run=True, progress=False)
    assert preview.plan.later_runs == ()
    assert r1.undo(client=client, progress=False).ok and set(r1_contacts) <= acct.members(a)


def test_a_later_run_that_did_what_the_undo_does_is_not_reverted(cc_emulator_factory, connect):
    # R1 removed 10, R2 (an add) put 5 of them back: undoing R1 puts them back too, so it
    # reverts nothing of R2; it was refused, saying it "would silently revert" R2. The
    # same for an add undone after a later removal of its contacts.
    emu = cc_emulator_factory(seed=35, contacts=1000, **FAST)
    client, acct = connect(emu), emu.account
    a, b = sorted(acct.list_ids(), key=lambda lid: -len(acct.live_members(lid)))[:2]
    members = sorted(acct.live_members(a))[:10]
    r1 = _remove(client, [a], members)
    r2 = pd.DataFrame({"contact_id": members[:5]}).cc.add_to_lists(
        [a], client=client, snapshot=True, progress=False
    )
    assert r1.ok and r2.ok
    preview = r1.undo(client=client, dry_run=True, progress=False)
    assert preview.plan.later_runs == () and "changed since" not in str(preview)
    done = r1.undo(client=client, progress=False)
    assert done.ok and set(members) <= acct.members(a)
    assert done.changes["outcome"].astype(str).value_counts().to_dict() == {
        "restored": 5,
        "already_member": 5,
    }

    outside = sorted(c for c in acct.contact_ids("active") if c not in acct.members(b))[:6]
    added = pd.DataFrame({"contact_id": outside}).cc.add_to_lists(
        [b], client=client, snapshot=True, progress=False
    )
    later = _remove(client, [b], outside[:3])
    assert added.ok and later.ok
    undone = added.undo(client=client, progress=False)  # takes off what the removal left
    assert undone.ok and undone.plan.later_runs == ()
    assert not set(outside) & acct.members(b)
    # A later run that went the other way is still named: R1's contacts removed again.
    again = _remove(client, [a], members[:2])
    preview = r1.undo(client=client, dry_run=True, force=True, progress=False)
    assert preview.plan.later_runs == ((again.run_id, "remove", 2),)


def test_a_later_run_verified_by_sample_is_named_for_every_pair(cc_emulator_factory, connect):
    # R2 removed 900 members, R1's 10 among them, and was verified by a sample: R1's
    # pairs in R2 were "unverified", so they were not counted and undoing R1 silently
    # put them back, reverting R2 (its activities completed: they count, as undo_pairs
    # counts them).
    emu = cc_emulator_factory(seed=31, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    a = sorted(acct.list_ids(), key=lambda lid: -len(acct.live_members(lid)))[0]
    r1_contacts = sorted(acct.live_members(a))[:10]
    r1 = _remove(client, [a], r1_contacts)
    acct.add_members(a, r1_contacts)  # re-added by hand
    r2 = _remove(client, [a], sorted(acct.live_members(a))[:900], verify="sample")
    assert r2.ok and r2.summary().verification["sample"] is True
    preview = ccpandas.undo(r1.run_id, client=client, dry_run=True, progress=False)
    assert preview.plan.later_runs == ((r2.run_id, "remove", 10),)
    with pytest.raises(PlanError, match="nothing was sent"):
        r1.undo(client=client, progress=False)
    assert not acct.members(a) & set(r1_contacts)  # R2's removals stand
