"""Verification that fits the change (issue 23 §2), over HTTP against the emulator:
``verify="auto"`` spends at most the sends on a small change to a big list, ``True``
still re-reads the lists, a sample says it is one everywhere, and a pair the server
did not change is caught."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import ccpandas
from ccpandas.run.summary import Summary

FAST = {"rate": None, "speed": 1_000_000.0}
CONTACTS = "/v3/contacts"
ONE_CONTACT = "/v3/contacts/{contact_id}"


def reads(emu) -> int:
    """Every read of contacts: list reads, changed-contact reads and look-ups."""
    acct = emu.account
    return acct.count(method="GET", route=CONTACTS) + acct.count(method="GET", route=ONE_CONTACT)


def big_list(emu, at_least: int) -> str:
    acct = emu.account
    target = max(acct.list_ids(), key=lambda t: len(acct.members(t)))
    assert len(acct.members(target)) >= at_least
    return target


def four_of_a_big_list(emu):
    """A list of at least 2,600 members, its size, and a frame of 4 of its members."""
    target = big_list(emu, 2600)
    members = emu.account.members(target)
    return target, len(members), pd.DataFrame({"contact_id": sorted(members)[:4]})


def run_and_count(emu, client, df, target, **options):
    """The result, and the requests its verification read (after the sends)."""
    plan = df.cc.plan([target], client=client, snapshot=True)
    before = reads(emu)
    options.setdefault("progress", False)
    result = ccpandas.api.run_plan(plan, client=client, **options)
    return plan, result, reads(emu) - before


def test_a_small_change_to_a_big_list_verifies_for_at_most_the_sends(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=231, contacts=9000, **FAST)
    client, acct = connect(emu), emu.account
    target, size, df = four_of_a_big_list(emu)
    plan, result, spent = run_and_count(emu, client, df, target)
    m = plan.membership
    assert m.verify_method == "changed" and m.verify_requests == 1
    assert "changed since the run started" in repr(plan)
    # A full re-read would cost ceil((size - 4) / 500) pages; this costs the sends.
    assert math.ceil((size - 4) / 500) > 4
    assert spent <= max(4, plan.n_requests) and spent == 1
    assert result.ok and set(result.changes["outcome"].astype(str)) == {"removed"}
    assert result.verification() == {
        "method": "changed",
        "pairs": 4,
        "verified": 4,
        "sample": False,
    }
    assert "sample" not in repr(result)
    assert not acct.members(target) & set(df["contact_id"])


def test_verify_true_still_rereads_the_whole_list(fast_account):
    emu, client, _ = fast_account(seed=232, contacts=9000)
    target, size, df = four_of_a_big_list(emu)
    _, result, spent = run_and_count(emu, client, df, target, verify=True)
    assert spent == math.ceil((size - 4) / 500)
    assert result.ok and result.verification()["method"] == "full"


@pytest.mark.parametrize("verify", [True, False, "sample"])
def test_the_run_counts_the_verification_its_option_asks_for(fast_account, verify):
    emu, client, _ = fast_account(seed=232, contacts=9000)
    target, size, df = four_of_a_big_list(emu)
    plan, result, spent = run_and_count(emu, client, df, target, verify=verify)
    assert plan.membership.verify_method == "changed"  # the plan's own choice, 1 request
    # The run's plan (its total, its quota check, its display) counts what it spent.
    assert result.plan.verify_requests == spent
    assert spent == {True: math.ceil((size - 4) / 500), False: 0, "sample": 4}[verify]
    assert result.plan.total_requests - plan.total_requests == spent - plan.verify_requests


def test_a_pair_the_server_kept_is_caught_by_the_narrowed_read(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=233, contacts=9000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 2600)
    members = sorted(acct.members(target))[:6]
    stubborn = members[2]
    emu.keep_members([(stubborn, target)])  # completed, yet still a member
    df = pd.DataFrame({"contact_id": members})
    with pytest.warns(UserWarning, match="STILL MEMBERS"):
        plan, result, spent = run_and_count(emu, client, df, target)
    assert plan.membership.verify_method == "changed"
    # Its updated_at did not move, so the read of changed contacts misses it: looked up.
    assert spent == 2 and emu.account.count(method="GET", route=ONE_CONTACT) == 1
    ch = result.changes
    assert set(ch.loc[ch["outcome"] == "still_member", "contact_id"]) == {stubborn}
    assert not result.ok and result.summary().outcome == "failed"


def test_a_sample_is_labelled_in_the_result_the_cli_summary_and_runs(
    cc_emulator_factory, connect, tmp_path
):
    emu = cc_emulator_factory(seed=234, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 300)
    gone = sorted(acct.members(target))[:200]
    df = pd.DataFrame({"contact_id": gone})
    from ccpandas.widgets.status import StatusDisplay

    panel = StatusDisplay(stoppable=False)  # the panel's status display
    plan, result, spent = run_and_count(emu, client, df, target, verify="sample", progress=panel)
    assert plan.n_requests == 1 and spent == 4  # at most the sends, or 4 requests
    assert "verified by a sample of 4 of 200 pairs" in panel.text()
    v = result.verification()
    assert v == {"method": "sample", "pairs": 200, "verified": 4, "sample": True}
    outcomes = result.changes["outcome"].astype(str).value_counts().to_dict()
    # Only the sampled pairs are claimed removed; the rest stay unverified.
    assert outcomes == {"removed": 4, "unverified": 196}
    assert result.ok
    label = "verified by a sample of 4 of 200 pairs"
    assert label in repr(result) and label in result._repr_html_()
    summary = result.summary()
    assert summary.by_sample and "by a sample of 4 of 200 pairs" in summary.report_text()
    assert summary.to_json("remove")["verification"]["sample"] is True
    row = ccpandas.runs().set_index("run_id").loc[result.run_id]
    assert label in row["removed_memberships"] and row["outcome"] == "completed"
    # Rebuilt from the journal, and verified again: the same sample (seeded by the run id).
    again = ccpandas.run_result(result.run_id, client=client)
    assert again.verification() == v
    sampled = set(result.changes.query("outcome == 'removed'")["contact_id"])
    again.verify()
    assert set(again.changes.query("outcome == 'removed'")["contact_id"]) == sampled
    assert isinstance(Summary.of(again).verification, dict)


def test_undo_of_a_sampled_run_puts_back_every_pair(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=235, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 300)
    gone = sorted(acct.members(target))[:120]
    df = pd.DataFrame({"contact_id": gone})
    _, result, _ = run_and_count(emu, client, df, target, verify="sample")
    assert result.verification()["sample"] and not acct.members(target) & set(gone)
    undo = result.undo(progress=False)
    assert undo.ok and set(gone) <= acct.members(target)


def test_auto_samples_when_a_source_changes_too_many_contacts_to_read(cc_emulator_factory, connect):
    from ccpandas import Source

    emu = cc_emulator_factory(seed=236, contacts=20000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 8000)
    members = acct.members(target)
    tag = max(acct.tag_ids(), key=lambda t: len(acct.tagged(t) & members))
    leaving = acct.tagged(tag) & members
    # One request removes them all; reading them (or what stays) costs more than 4.
    assert len(leaving) > 2000 and len(members - leaving) > 2000
    kw = {"snapshot": True, "progress": False}
    before = reads(emu)
    result = ccpandas.remove_list_memberships(client, [target], source=Source.tag_ids([tag]), **kw)
    plan = result.plan
    assert plan.n_requests == 1 and plan.membership.verify_method == "sample"
    assert "random sample" in repr(plan) and plan.verify_requests == 4
    spent = reads(emu) - before - plan.read_requests + 1  # the listing is no contact read
    assert spent == 4
    v = result.verification()
    assert v["sample"] and v["verified"] == 4 and v["pairs"] == len(leaving)
    assert result.ok and f"verified by a sample of 4 of {len(leaving):,} pairs" in repr(result)
    assert not acct.members(target) & leaving


def test_a_sample_interrupted_mid_verification_resumes_with_the_same_contacts(
    cc_emulator_factory, connect
):
    from engine_support import InterruptAfter

    emu = cc_emulator_factory(seed=237, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 300)
    gone = sorted(acct.members(target))[:150]
    df = pd.DataFrame({"contact_id": gone})
    plan = df.cc.plan([target], client=client, snapshot=True)
    with pytest.raises(KeyboardInterrupt) as caught:
        ccpandas.api.run_plan(
            plan, client=client, verify="sample", progress=InterruptAfter(1, "verifying")
        )
    run_id = caught.value.run_id
    assert ccpandas.run_result(run_id, client=client).after is None  # not verified yet
    resumed = ccpandas.resume(run_id, client=client, progress=False)
    assert resumed.ok and resumed.verification()["sample"]
    sampled = set(resumed.changes.query("outcome == 'removed'")["contact_id"])
    assert len(sampled) == 4
    # The same contacts as a fresh verification of the same run picks (seeded by its id).
    again = ccpandas.run_result(run_id, client=client).verify()
    assert set(again.changes.query("outcome == 'removed'")["contact_id"]) == sampled


def test_a_long_read_whose_cursor_expires_now_and_then_completes(
    cc_emulator_factory, connect, monkeypatch
):
    # Three expiries in one pass, each after the pass got further than the last: the
    # read starts again each time and completes. Counting every refusal of the pass
    # stopped it at the third as if the API refused one link again and again (review).
    import secrets

    from ccpandas.emulator import paging
    from ccpandas.read.snapshot import read_snapshot
    from ccpandas.report.progress import NullReporter

    class Expire(NullReporter):  # the cursors expire after the 2nd, 5th and 9th page read
        pages = 0

        def update(self, snapshot) -> None:
            self.pages += 1
            if self.pages in (2, 5, 9):
                monkeypatch.setattr(paging, "_KEY", secrets.token_bytes(32))

    emu = cc_emulator_factory(seed=239, contacts=3000, lists=1, **FAST)
    client, acct = connect(emu), emu.account
    (target,) = acct.list_ids()
    acct.set_members(target, acct.contact_ids())  # 6 pages of 500
    before = acct.count()
    snap, _ = read_snapshot(client, [target], reporter=Expire(), journal=False, need_emails=False)
    assert set(snap.contact_ids) == set(acct.contact_ids())
    # 2 + 3 + 4 pages read and refused, then the 6 pages: every request was one of those.
    assert acct.count() - before == 2 + 3 + 4 + 3 + 6


def test_an_expired_cursor_in_the_changed_read_looks_up_the_rest(
    cc_emulator_factory, connect, monkeypatch
):
    import datetime as dt
    import secrets

    from ccpandas.emulator import paging
    from ccpandas.read.snapshot import read_changed
    from ccpandas.report.progress import NullReporter

    class Restart(NullReporter):  # the server restarts after the first page: its cursor expires
        def update(self, snapshot) -> None:
            monkeypatch.setattr(paging, "_KEY", secrets.token_bytes(32))

    emu = cc_emulator_factory(seed=238, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    target = big_list(emu, 700)
    gone = sorted(acct.members(target))[:600]
    since = dt.datetime.now(dt.UTC)
    for part in (gone[:500], gone[500:]):
        client.remove_list_memberships({"source": {"contact_ids": part}, "list_ids": [target]})
    emu.wait_idle()
    before = acct.count(method="GET", route=CONTACTS)
    snap = read_changed(client, gone, [target], since=since, budget=3, seed="s", reporter=Restart())
    # One page of 500 changed contacts, its next link refused, 2 of the other 100 looked up.
    assert acct.count(method="GET", route=CONTACTS) - before == 2
    assert acct.count(method="GET", route=ONE_CONTACT) == 2
    assert snap.requests == 3 and len(snap) == 502 and set(snap.contact_ids) <= set(gone)
    assert not snap.member_matrix()[0].size  # none is on the list any more


class _Busy(ccpandas.report.progress.NullReporter):
    """Someone takes one of ``victims`` off ``list_id`` at every page the verification
    reads."""

    def __init__(self, emu, list_id, victims) -> None:
        self.emu, self.list_id, self.victims = emu, list_id, victims

    def update(self, snapshot) -> None:
        if snapshot.message.startswith("reading list members: page") and self.victims:
            self.emu.account.remove_members(self.list_id, [self.victims.pop(0)])


def test_a_full_verification_of_a_list_that_keeps_changing_leaves_unread_pairs_unverified(
    cc_emulator_factory, connect
):
    # The run took 400 contacts off a list someone else keeps changing: its full
    # verification cannot trust an absence, and looked each of the 400 up. It looks up
    # 200 (SETTLE_LOOKUPS); the pairs of the others stay unverified, and it says so.
    emu = cc_emulator_factory(seed=7, contacts=1500, lists=1, contact_paging="offset", **FAST)
    acct = emu.account
    lid, ids = acct.list_ids()[0], acct.contact_ids()
    acct.set_members(lid, ids[:1200])
    client = connect(emu)
    df = pd.DataFrame({"contact_id": ids[100:500]})
    plan = df.cc.plan([lid], client=client, snapshot=True)
    with pytest.warns(UserWarning, match="200 not .* their pairs stay unverified"):
        result = ccpandas.api.run_plan(
            plan, client=client, verify=True, progress=_Busy(emu, lid, ids[:40])
        )
    assert acct.count(method="GET", route=ONE_CONTACT) == 200
    assert result.verification() == {
        "method": "full",
        "pairs": 400,
        "verified": 200,
        "sample": True,
    }
    outcomes = result.changes["outcome"].astype(str).value_counts().to_dict()
    assert outcomes == {"removed": 200, "unverified": 200}
    assert "200 of 400 pairs (full: the others' lists kept changing)" in repr(result)
    # The journal keeps which were not seen: the run loaded again says the same.
    loaded = ccpandas.run_result(result.run_id, client=client)
    assert loaded.verification() == result.verification()
    assert loaded.changes["outcome"].astype(str).value_counts().to_dict() == outcomes
