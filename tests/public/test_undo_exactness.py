"""The undo of each kind is exact over HTTP against the emulator: a run whose activity
failed part way and whose verification saw only a sample, and the undo of an add told
as an add's undo. Every expected membership is read from the emulator's ``Account``."""

from __future__ import annotations

import pandas as pd
import pytest

import ccpandas
import ccpandas.plan.undo as undo_plan_module
from ccpandas.errors import PlanError, QuotaShortError
from ccpandas.plan.undo import undo_part

FAST = {"rate": None, "speed": 1_000_000.0}


@pytest.mark.parametrize("kind", ["remove", "add", "sync"])
def test_undo_of_a_part_failed_sampled_run_reverts_what_it_did(cc_emulator_factory, connect, kind):
    # The first activity fails half way: which of its contacts were done is known only
    # from a read, and a sampled verification did not see most of them (``unknown``).
    # The undo left those out: 249 memberships an add made stayed, 247 a removal took
    # were never put back, and the undo still said "completed (ok)".
    emu = cc_emulator_factory(seed=7, contacts=2500, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    before = {lid: acct.members(lid) for lid in (a, b)}
    if kind == "remove":
        ids, change = sorted(before[a] | before[b])[:900], "remove_from_lists"
    else:
        ids, change = acct.contact_ids("active")[:1200], f"{kind}_to_lists"
    options = {"max_removed": None} if kind == "sync" else {}
    frame = pd.DataFrame({"contact_id": ids})
    emu.fail_next(1, "failed", 0.5)
    run = getattr(frame.cc, change if kind != "sync" else "sync_lists")
    result = run([a, b], client=client, progress=False, verify="sample", **options)
    assert result.done and not result.ok
    assert (result.changes["outcome"] == "unknown").any()
    undo = result.undo(progress=False)
    assert undo.ok
    assert {lid: acct.members(lid) for lid in (a, b)} == before


def _add_to_vip(emu, connect, n: int):
    """``n`` active contacts not on VIP, added to it with a snapshot."""
    client, acct = connect(emu), emu.account
    vip = acct.list_named("VIP")
    newcomers = [c for c in acct.contact_ids("active") if c not in acct.members(vip)][:n]
    frame = pd.DataFrame({"contact_id": newcomers})
    added = frame.cc.add_to_lists(["VIP"], client=client, progress=False, snapshot=True)
    assert added.ok
    return vip, newcomers, added


def _remove_from_vip(emu, client, n: int):
    """The first ``n`` members of VIP removed from it with a snapshot."""
    vip = emu.account.list_named("VIP")
    members = sorted(emu.account.members(vip))[:n]
    frame = pd.DataFrame({"contact_id": members})
    removed = frame.cc.remove_from_lists(["VIP"], client=client, progress=False, snapshot=True)
    return vip, members, removed


def test_an_unfinished_undo_of_an_add_says_it_takes_contacts_off(cc_emulator_factory, connect):
    # Before its re-read, the undo of an add said "memberships to restore: none (not
    # verified yet)" while its request was taking 9 contacts off VIP.
    emu = cc_emulator_factory(seed=25, contacts=600, **FAST)
    _vip, _newcomers, added = _add_to_vip(emu, connect, 9)
    emu.configure(speed=1.0)  # the undo's activity stays processing
    undo = added.undo(progress=False, wait=False)
    assert not undo.done
    text = str(undo)
    assert "memberships to restore: none; to take off: VIP 9 (not verified yet)" in text, text
    assert "to take off: VIP 9" in undo._repr_html_()


def test_the_preview_of_an_add_s_undo_with_every_pair_off_says_so(cc_emulator_factory, connect):
    # Every contact the add put on VIP was taken off since: the preview said "memberships
    # removed: 6" (the run added them) and "nothing to add".
    emu = cc_emulator_factory(seed=26, contacts=600, **FAST)
    vip, newcomers, added = _add_to_vip(emu, connect, 6)
    emu.account.remove_members(vip, newcomers)
    text = str(added.undo(dry_run=True))
    assert "memberships changed: 6" in text and "already off: 6 (VIP 6)" in text, text
    assert "memberships removed" not in text and "nothing to add" not in text
    assert "nothing to send: every pair is as it was before the run" in text


def test_an_undo_with_nothing_to_send_is_not_awaiting_a_verification(cc_emulator_factory, connect):
    # Every contact the removal took off VIP was put back by hand since: the finished
    # undo sent nothing and said "memberships to restore: none (not verified yet)".
    emu = cc_emulator_factory(seed=27, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    vip, members, removed = _remove_from_vip(emu, client, 8)
    acct.add_members(vip, members)
    undo = removed.undo(progress=False)
    assert undo.ok and undo.done and acct.count(method="POST") == 1
    text = str(undo)
    assert "not verified yet" not in text, text
    assert "memberships to restore: none (nothing to send: every pair is as it was" in text


def test_undo_refusals_of_an_add_name_its_direction(cc_emulator_factory, connect):
    # The refusals spoke of a removal's undo: the undo of an add's undo "remove those
    # contacts again with a new removal" (the add is what it reverted), an add without a
    # snapshot "re-adding every contact it sent would add some that never were members".
    emu = cc_emulator_factory(seed=28, contacts=600, **FAST)
    client = connect(emu)
    _vip, newcomers, added = _add_to_vip(emu, connect, 4)
    undo = added.undo(progress=False)
    assert undo.ok
    with pytest.raises(PlanError, match="itself an undo") as info:
        undo.undo(dry_run=True)
    assert "add those contacts again with a new add" in str(info.value)
    assert "add those contacts again" in undo.plan.undo_text
    blind = pd.DataFrame({"contact_id": newcomers}).cc.add_to_lists(
        ["VIP"], client=client, progress=False, snapshot=False
    )
    with pytest.raises(PlanError, match="without a membership snapshot") as info:
        blind.undo(dry_run=True)
    assert "re-adding" not in str(info.value)
    assert "would remove some that were members before" in str(info.value)


@pytest.mark.parametrize("kind", ["sync", "add"])
def test_a_member_someone_else_takes_off_during_the_run_is_not_the_runs(
    cc_emulator_factory, connect, kind
):
    # A member the run left alone (a sync's kept one, an add's already_member) that
    # someone else took off the list before the re-read: the run said "removed VIP 4"
    # for the 3 it removed, and its undo put the fourth back (an add's undo re-added it).
    emu = cc_emulator_factory(seed=29, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    vip = acct.list_named("VIP")
    members = sorted(acct.members(vip))
    newcomers = [c for c in acct.contact_ids("active") if c not in acct.members(vip)][:5]
    segment = pd.DataFrame({"contact_id": [*members[3:], *newcomers]})
    change = segment.cc.sync_lists if kind == "sync" else segment.cc.add_to_lists
    result = change(["VIP"], client=client, progress=False, wait=False, snapshot=True)
    other = members[10]
    acct.remove_members(vip, [other])  # not this run's doing: no request named it
    result.wait()
    ch = result.changes.set_index("contact_id")
    assert ch.loc[other, "outcome"] == "not_a_member"
    removed = ch.index[ch["outcome"] == "removed"]
    assert set(removed) == (set(members[:3]) if kind == "sync" else set())
    preview = result.undo(dry_run=True)
    assert other not in set(preview.plan.rows["contact_id"])
    assert result.undo(progress=False).ok
    wanted = set(members) - {other}
    assert acct.members(vip) == wanted


def test_an_undo_says_what_its_verification_covered(cc_emulator_factory, connect):
    # An undo re-reads the lists it changed, and its text says "(verified)"; yet
    # result.verification() (and --json "verification") said None, "without one".
    emu = cc_emulator_factory(seed=30, contacts=600, **FAST)
    _vip, _newcomers, added = _add_to_vip(emu, connect, 7)
    undo = added.undo(progress=False)
    assert "(verified)" in str(undo)
    full = {"method": "full", "pairs": 7, "verified": 7, "sample": False}
    assert undo.verification() == full
    assert undo.summary().to_json("undo")["verification"] == full


def test_a_later_run_that_failed_part_way_is_named_for_what_it_may_have_changed(
    cc_emulator_factory, connect
):
    # R2 removed again some of the pairs R1's undo puts back, in an activity that failed
    # half way, verified by a sample: the preview of R1's undo counted only the pairs the
    # sample saw, not the others R2 took off.
    emu = cc_emulator_factory(seed=31, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))[:300]
    frame = pd.DataFrame({"contact_id": members})
    first = frame.cc.remove_from_lists([a], client=client, progress=False, snapshot=True)
    acct.add_members(a, members)  # back by hand
    emu.fail_next(1, "failed", 0.5)
    frame.cc.remove_from_lists([a], client=client, progress=False, verify="sample")
    taken = set(members) - acct.members(a)
    assert taken
    preview = first.undo(dry_run=True)
    (_run, _kind, pairs), *_ = preview.plan.later_runs
    assert pairs >= len(taken)


def test_the_undo_leaves_out_the_pairs_a_part_way_activity_did_not_change(
    cc_emulator_factory, connect
):
    # The pairs of an activity that failed half way that no read saw, and that are as
    # they were, were never changed: the preview counted them as the run's ("memberships
    # changed: 1,922", "already off: 368") where the run added 1,554.
    emu = cc_emulator_factory(seed=7, contacts=2500, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    before = {lid: acct.members(lid) for lid in (a, b)}
    frame = pd.DataFrame({"contact_id": acct.contact_ids("active")[:1200]})
    emu.fail_next(1, "failed", 0.5)
    result = frame.cc.add_to_lists([a, b], client=client, progress=False, verify="changed")
    assert (result.changes["outcome"] == "unknown").any()
    added = sum(len(acct.members(lid) - before[lid]) for lid in (a, b))
    text = str(result.undo(dry_run=True))
    assert f"memberships changed: {added:,}" in text and "already off" not in text, text
    assert f"will be taken off: {added:,}" in text


def test_the_undo_preview_counts_the_verification_it_will_make(cc_emulator_factory, connect):
    # 200 contacts back on 30 lists: the verification reads 25 lists per pass, 200
    # contacts each (2 reads); the preview counted a page per 500 pairs (12 reads), its
    # quota check and time estimate too.
    emu = cc_emulator_factory(seed=32, contacts=400, lists=30, **FAST)
    client, acct = connect(emu), emu.account
    lists = acct.list_ids()[:30]
    people = acct.contact_ids("active")[:200]
    for lid in lists:
        acct.set_members(lid, people)
    frame = pd.DataFrame({"contact_id": people})
    removed = frame.cc.remove_from_lists(lists, client=client, progress=False, snapshot=True)
    preview = removed.undo(dry_run=True)
    undo = removed.undo(progress=False)
    assert undo.ok and all(acct.members(lid) == set(people) for lid in lists)
    made = undo.summary().spent["verification"]
    assert preview.plan.read_requests == made == 2


def test_an_undo_that_does_not_fit_in_todays_quota_sends_nothing(cc_emulator_factory, connect):
    # Every run checks what it needs against the day's quota before its first change;
    # an undo did not: with its fresh read's 5 requests left it journaled itself, sent
    # its add into the API's 429 and stopped half way ("quota_exceeded").
    emu = cc_emulator_factory(seed=33, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    _, _, removed = _remove_from_vip(emu, client, 9)
    check = undo_part(removed.undo(dry_run=True).plan).check_requests
    client.stats.day_counter.add(n=10_000 - client.stats.day_counter.used() - check - 1)
    emu.configure(quota_left=check + 1)
    with pytest.raises(QuotaShortError, match="before undoing anything") as info:
        removed.undo(progress=False)
    assert str(info.value).endswith("undo it then")
    assert acct.count(method="POST") == 1  # the removal's only
    assert not (ccpandas.runs()["parent"] == removed.run_id).any()  # no undo journaled


def test_an_undo_whose_part_way_pairs_are_all_as_before_has_nothing_to_undo(fast_account):
    # A removal's one batch fails at 1%: its pairs unknown, none seen removed, all put
    # back by hand. The undo leaves every part-way pair out, so it had no pair at all: it
    # was journaled as a completed undo anyway (a later undo then "already undone"), and
    # its refusal told the user to "add those contacts again" of a removal.
    emu, client, a = fast_account(seed=48, contacts=2500)
    acct = emu.account
    members = sorted(acct.members(a))[:400]
    emu.fail_next(1, "failed", 0.01)
    # The 1% it processes stay members: a verification sample (seeded by the run id) of
    # 4 would otherwise see one of those 4 removed in about 1 run in 25.
    emu.keep_members((c, a) for c in members)
    result = pd.DataFrame({"contact_id": members}).cc.remove_from_lists(
        [a], client=client, progress=False, verify="sample"
    )
    outcomes = set(result.changes["outcome"].astype(str))
    assert "unknown" in outcomes and not outcomes & {"removed", "unverified"}
    acct.add_members(a, members)
    posts = acct.count(method="POST")
    with pytest.raises(PlanError, match="nothing to undo"):
        result.undo(progress=False)
    assert acct.count(method="POST") == posts
    assert not (ccpandas.runs()["parent"] == result.run_id).any()  # no undo journaled


def test_an_undo_bigger_than_a_day_is_sent_not_refused_every_day(fast_account, monkeypatch):
    # undo() takes no wait_for_quota: an undo needing more than a whole day's quota was
    # refused on every day ("undo it then"); it goes, stops at the API's 429, a resume
    # finishes it. A smaller daily quota stands for the day here.
    emu, client, _ = fast_account(seed=50, contacts=600)
    vip, members, removed = _remove_from_vip(emu, client, 9)
    frame = pd.DataFrame({"contact_id": members})
    plan = removed.undo(dry_run=True).plan
    needed = plan.n_requests + plan.expected_polls + undo_part(plan).read_requests
    monkeypatch.setattr(undo_plan_module, "DAILY_QUOTA", needed - 1)
    with pytest.warns(UserWarning, match="more than a whole day's quota"):
        undo = removed.undo(progress=False)
    assert undo.ok and frame["contact_id"].isin(emu.account.members(vip)).all()


def test_an_undo_whose_add_failed_part_way_counts_the_pairs_the_re_read_shows_back(
    fast_account,
):
    # The undo's add activity fails half way: the re-read shows half of its contacts
    # back, but every pair of it said "failed" and the list "restored (verified by
    # reading the list) 0", as if nothing had gone back. A removal or an add counts
    # what its re-read shows; so does an undo.
    emu, client, _ = fast_account(seed=8, contacts=1500)
    vip, ids, result = _remove_from_vip(emu, client, 100)
    assert result.ok
    emu.fail_next(1, "failed", 0.5)
    try:
        undo = result.undo(progress=False)
    except ccpandas.CCError as exc:
        undo = exc.result
    back = len(emu.account.members(vip) & set(ids))
    assert 0 < back < len(ids)
    counts = undo.changes["outcome"].value_counts().to_dict()
    assert counts == {"restored": back, "failed": len(ids) - back}
    (figures,) = undo.summary().lists
    assert figures.verified == back and not undo.ok
