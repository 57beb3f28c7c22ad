"""Membership truth end to end over HTTP against the emulator: emails as input, exact
per-list outcomes, previews for every source, interruption and resume. Every expected
membership is read independently from the emulator's ``Account``."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import ccpandas
from ccpandas import Source
from ccpandas.api import run_plan
from ccpandas.errors import SnapshotInterrupted
from ccpandas.models import SourceKind
from ccpandas.report.progress import NullReporter

FAST = {"rate": None, "speed": 1_000_000.0}
REMOVE = "/v3/activities/remove_list_memberships"
CONTACTS = "/v3/contacts"


def posts(emu) -> int:
    return emu.account.count(method="POST", route=REMOVE)


def reads(emu) -> int:
    return emu.account.count(method="GET", route=CONTACTS)


def pairs_of(changes: pd.DataFrame, outcome: str) -> set[tuple[str, str]]:
    sel = changes[changes["outcome"] == outcome]
    return set(zip(sel["contact_id"], sel["list_id"], strict=True))


class InterruptReading(NullReporter):
    """Ctrl-C after ``n`` pages of a membership read (the ``nth_read``-th read).

    A read of its own reports ``reading`` from its ``start``; a run's verification read
    reports as the run's phase ``verifying``, the read's own progress in ``extra["read"]``.
    """

    def __init__(self, n: int, nth_read: int = 1) -> None:
        self.n, self.nth, self.reads = n, nth_read, 0
        self.verifying = False

    def start(self, snapshot) -> None:
        self.verifying = False
        if snapshot.phase == "reading":
            self.reads += 1

    def update(self, snapshot) -> None:
        if snapshot.phase == "verifying":
            if not self.verifying:
                self.verifying = True
                self.reads += 1
            snapshot = snapshot.extra["read"]
        if (
            snapshot.phase == "reading"
            and self.reads == self.nth
            and snapshot.batches_submitted >= self.n
        ):
            raise KeyboardInterrupt


def test_email_input_mixed_case_whitespace_duplicates_invalid_and_non_members(
    cc_emulator_factory, connect
):
    emu = cc_emulator_factory(seed=11, contacts=2500, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    before = {a: acct.members(a), b: acct.members(b)}
    chosen = sorted(before[a] | before[b])[:120]
    outsider = next(c for c in acct.contact_ids("active") if c not in before[a] | before[b])
    emails = [acct.contact(c).email for c in chosen]
    column = (
        [e.upper() if i % 2 else f"  {e}\t" for i, e in enumerate(emails)]
        + [emails[0].title(), emails[1]]  # duplicates in another case
        + ["not an address", "", None, 42]
        + [acct.contact(outsider).email, "nobody@nowhere.example"]
    )
    df = pd.DataFrame({"email": column})

    plan = df.cc.plan([a, b], "email", client=client)
    assert posts(emu) == 0
    status = plan.rows["plan_status"].astype(str).tolist()
    assert status[:120] == ["planned"] * 120
    assert status[120:] == [
        "duplicate",
        "duplicate",
        "invalid_email",
        "missing",
        "missing",
        "invalid_email",
        "not_a_member",
        "not_a_member",
    ]
    assert plan.rows["contact_id"].tolist()[:120] == chosen
    assert plan.rows["reason"].iloc[120:].notna().all()
    expected_member_pairs = {(c, lid) for c in chosen for lid in (a, b) if c in before[lid]}
    ch = plan.changes
    assert set(zip(ch["contact_id"], ch["list_id"], strict=True)) == {
        (c, lid) for c in chosen for lid in (a, b)
    }
    got = set(
        zip(
            ch.loc[ch["was_member"], "contact_id"], ch.loc[ch["was_member"], "list_id"], strict=True
        )
    )
    assert got == expected_member_pairs
    # Only members are sent: at most ceil(members / 500) per group of lists.
    assert plan.n_requests == math.ceil(len(chosen) / 500)

    result = df.cc.remove_from_lists([a, b], "email", client=client, progress=False)
    assert result.ok and result.after is not None
    assert pairs_of(result.changes, "removed") == expected_member_pairs
    for lid in (a, b):
        assert acct.members(lid) == before[lid] - set(chosen)
    rows = result.rows
    assert rows["status"].astype(str).tolist()[:120] == ["removed"] * 120
    removed_from = {c: sum(c in before[lid] for lid in (a, b)) for c in chosen}
    assert rows["lists_removed_from"].tolist()[:120] == [removed_from[c] for c in chosen]
    text = repr(result)
    for lid in (a, b):
        name = acct.lists[lid].name
        n = sum(1 for c, x in expected_member_pairs if x == lid)
        assert f"{name} {n:,}" in text
    runs = ccpandas.runs().set_index("run_id")
    assert "removed_memberships" in runs.columns
    assert acct.lists[a].name in runs.loc[result.run_id, "removed_memberships"]


def test_a_plan_s_summary_accounts_for_every_row_by_email_too(cc_emulator_factory, connect):
    # plan.summary() (and so `ccpandas plan --json`) counts every row by its status:
    # by email, invalid addresses and non-members are neither "invalid" nor "missing".
    emu = cc_emulator_factory(seed=12, contacts=800, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))[:5]
    outsider = next(c for c in acct.contact_ids("active") if c not in acct.members(a))
    column = [acct.contact(c).email for c in members]
    column += [column[0].upper(), "not an address", None, acct.contact(outsider).email]
    plan = pd.DataFrame({"email": column}).cc.plan([a], "email", client=client)
    assert "1 row (not sent)" in str(plan)  # one outsider: "1 row", not "1 rows"
    summary = plan.summary()
    assert summary["row_statuses"] == {
        "planned": 5,
        "duplicate": 1,
        "invalid_email": 1,
        "missing": 1,
        "not_a_member": 1,
    }
    assert sum(summary["row_statuses"].values()) == summary["rows"] == 9
    ids = pd.Series([*acct.contact_ids()[:2], "x", None])
    assert ids.to_frame("contact_id").cc.plan([a], snapshot=False).summary()["row_statuses"] == {
        "planned": 2,
        "invalid_id": 1,
        "missing": 1,
    }


def test_contact_ids_with_and_without_snapshot(fast_account):
    emu, client, target = fast_account(seed=12, contacts=3000)
    acct = emu.account
    members = acct.members(target)
    everyone = acct.contact_ids()
    df = pd.DataFrame({"contact_id": everyone})
    naive = math.ceil(len(everyone) / 500)

    plan = df.cc.plan([target], client=client, snapshot=True)
    assert plan.n_requests == math.ceil(len(members) / 500) < naive
    assert (plan.rows["plan_status"] == "not_a_member").sum() == len(everyone) - len(members)

    off = df.cc.remove_from_lists([target], client=client, snapshot=False, progress=False)
    assert posts(emu) == naive and off.ok
    assert set(off.changes["outcome"].astype(str)) == {"unverified"}
    assert off.changes["was_member"].isna().all()
    assert "unverified" in repr(off) and off.rows["lists_removed_from"].isna().all()
    assert not acct.members(target)


def test_completed_activity_that_left_a_contact_in_is_still_member(fast_account):
    emu, client, target = fast_account(seed=13, contacts=800)
    acct = emu.account
    members = sorted(acct.members(target))[:40]
    stubborn = members[3]
    emu.keep_members([(stubborn, target)])
    df = pd.DataFrame({"contact_id": members})
    with pytest.warns(UserWarning, match="STILL MEMBERS"):
        result = df.cc.remove_from_lists([target], client=client, snapshot=True, progress=False)
    # The activity says completed, the list does not: not every pair ended as asked,
    # so the result is not ok (issue 21 §1; it was ok before).
    assert result.done and set(result.activities["state"]) == {"completed"}
    assert not result.ok and result.summary().outcome == "failed"
    assert pairs_of(result.changes, "still_member") == {(stubborn, target)}
    assert result.rows.loc[3, "status"] == "still_member"
    assert "STILL MEMBERS: 1" in repr(result)
    assert acct.members(target) & set(members) == {stubborn}


def test_contact_removed_by_someone_else_between_snapshot_and_run(fast_account):
    emu, client, target = fast_account(seed=14, contacts=800)
    acct = emu.account
    members = sorted(acct.members(target))[:30]
    df = pd.DataFrame({"contact_id": members})
    plan = df.cc.plan([target], client=client, snapshot=True)
    acct.remove_members(target, [members[0]])  # someone else, meanwhile
    acct.delete_contact(members[1])  # and a contact deleted meanwhile
    result = run_plan(plan, client, progress=False)
    assert result.ok
    ch = result.changes.set_index("contact_id")
    assert ch.loc[members[0], "outcome"] == "removed"  # gone, as the list shows
    assert ch.loc[members[1], "outcome"] == "removed"
    assert pairs_of(result.changes, "removed") == {(c, target) for c in members}
    assert not acct.members(target) & set(members)


def _source_case(acct, kind, targets):
    """(source, exclude, expected leavers per target) read from the Account directly."""
    before = {t: acct.members(t) for t in targets}
    if kind == "tag":
        tag = max(acct.tag_ids(), key=lambda t: len(acct.tagged(t) & before[targets[0]]))
        sel = acct.tagged(tag)
        return Source.tag_ids([tag]), None, {t: before[t] & sel for t in targets}
    if kind == "list":
        other = acct.list_ids()[3]
        sel = acct.members(other)
        return Source.list_ids([other]), None, {t: before[t] & sel for t in targets}
    if kind == "all_active":
        keep = sorted(before[targets[0]])[:5]
        sel = acct.active_contacts() - set(keep)
        return Source.all_active_contacts(), keep, {t: before[t] & sel for t in targets}
    sel = acct.engaged("low")
    return Source.engagement_level("low"), None, {t: before[t] & sel for t in targets}


@pytest.mark.parametrize("kind", ["tag", "list", "all_active", "engagement"])
def test_every_source_kind_previews_and_gets_exact_changes(cc_emulator_factory, connect, kind):
    emu = cc_emulator_factory(seed=15, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    before = {t: acct.members(t) for t in targets}
    source, exclude, leaving = _source_case(acct, kind, targets)
    assert any(leaving.values())
    kw = {"exclude": exclude, "confirm_all_active": True, "snapshot": True, "progress": False}
    preview = ccpandas.remove_list_memberships(client, targets, source=source, dry_run=True, **kw)
    assert posts(emu) == 0
    pc = preview.plan.changes
    assert set(zip(pc["contact_id"], pc["list_id"], strict=True)) == {
        (c, t) for t in targets for c in before[t]
    }
    if kind == "engagement":
        assert pc["will_leave"].isna().all()
        assert "decided by the API" in str(preview.plan)
    else:
        will = pc[pc["will_leave"].fillna(False)]
        assert set(zip(will["contact_id"], will["list_id"], strict=True)) == {
            (c, t) for t in targets for c in leaving[t]
        }
        for t in targets:
            assert f"{acct.lists[t].name} {len(leaving[t]):,}" in str(preview.plan)

    result = ccpandas.remove_list_memberships(client, targets, source=source, **kw)
    assert result.ok
    gone = {(c, t) for t in targets for c in before[t] - acct.members(t)}
    assert gone == {(c, t) for t in targets for c in leaving[t]}
    assert pairs_of(result.changes, "removed") == gone
    assert pairs_of(result.changes, "kept") == {
        (c, t) for t in targets for c in before[t] & acct.members(t)
    }


def test_keep_in_lists_previews_who_leaves(fast_account):
    emu, client, target = fast_account(seed=16, contacts=1200)
    acct = emu.account
    before = acct.members(target)
    vip = pd.DataFrame({"contact_id": [*sorted(before)[:7], acct.contact_ids()[-1]]})
    guard = {"max_removed": None}  # keeping 7: most of the list leaves
    preview = vip.cc.keep_in_lists([target], client=client, dry_run=True, snapshot=True, **guard)
    leavers = before - set(vip["contact_id"])
    # The last row is no member: keeping it keeps nothing, and the rows say so.
    assert preview.rows["status"].astype(str).tolist() == ["kept"] * 7 + ["not_a_member"]
    assert f"{len(leavers):,}" in str(preview.plan)
    assert preview.plan.membership.leaving([target]) == {target: len(leavers)}
    result = vip.cc.keep_in_lists([target], client=client, snapshot=True, progress=False, **guard)
    assert pairs_of(result.changes, "removed") == {(c, target) for c in leavers}
    assert acct.members(target) == before & set(vip["contact_id"])


def test_resume_a_snapshot_interrupted_mid_read(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=17, contacts=4000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:3]
    union = set().union(*(acct.members(t) for t in targets))
    pages = math.ceil(len(union) / 500)
    assert pages >= 3
    df = pd.DataFrame({"contact_id": sorted(union)})
    with pytest.raises(SnapshotInterrupted) as caught:
        df.cc.remove_from_lists(targets, client=client, snapshot=True, progress=InterruptReading(2))
    sid = caught.value.snapshot_id
    assert sid and sid in str(caught.value) and posts(emu) == 0
    read_before = reads(emu)
    result = df.cc.remove_from_lists(targets, client=client, snapshot=sid, progress=False)
    # The continued read fetched only the pages not journaled; then the verification
    # (one page: every member left).
    assert reads(emu) - read_before == (pages - 2) + 1
    assert result.ok
    assert pairs_of(result.changes, "removed") == {
        (c, t) for c in union for t in targets if c in result.plan.membership.snapshot.members(t)
    }
    assert not set().union(*(acct.members(t) for t in targets)) & union


def test_resume_a_run_interrupted_during_verification(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=18, contacts=4000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:3]
    before = {t: acct.members(t) for t in targets}
    chosen = sorted(set().union(*before.values()))[::2]
    df = pd.DataFrame({"contact_id": chosen})
    plan = df.cc.plan(targets, client=client, snapshot=True)
    after_pages = math.ceil(len(set().union(*before.values()) - set(chosen)) / 500)
    assert after_pages >= 2
    with pytest.raises(KeyboardInterrupt) as caught:  # Ctrl-C propagates, with the result
        run_plan(plan, client, progress=InterruptReading(1))
    result = caught.value.result
    assert result.interrupted and result.after is None and result.done
    read_before = reads(emu)
    again = ccpandas.resume(result.run_id, client=client, progress=False)
    assert reads(emu) - read_before == after_pages - 1  # the journaled page is not read again
    assert posts(emu) == plan.n_requests  # nothing sent twice
    expected = {(c, t) for t in targets for c in before[t] if c in set(chosen)}
    assert pairs_of(again.changes, "removed") == expected
    # A new process learns the same truth from the journal alone (no request)...
    read_before = reads(emu)
    rebuilt = ccpandas.run_result(result.run_id, client)
    assert pairs_of(rebuilt.changes, "removed") == expected and reads(emu) == read_before
    # ...and result.verify() reads the lists anew.
    assert pairs_of(rebuilt.verify().changes, "removed") == expected
    assert reads(emu) == read_before + after_pages


def test_tags_by_exact_name_for_sources_and_read_contacts(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=19, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    tag = acct.tag_ids()[0]
    name = acct.tags[tag].name
    read = ccpandas.read_contacts(client, tags=[name])
    assert set(read["contact_id"]) == acct.tagged(tag)
    target = acct.list_ids()[0]
    result = ccpandas.remove_list_memberships(
        client, [target], source=Source.tag_ids([name]), dry_run=True, snapshot=False
    )
    assert result.plan.source.values == (tag,)
    # A Source made by hand from a one-shot iterator is read once (found by review)
    by_hand = Source(SourceKind.TAG_IDS, (n for n in [name]))
    result = ccpandas.remove_list_memberships(
        client, [target], source=by_hand, dry_run=True, snapshot=False
    )
    assert result.plan.source.values == (tag,)
    with pytest.raises(ccpandas.PlanError, match=r"unknown tag name.*did you mean") as caught:
        ccpandas.read_contacts(client, tags=[name[:-1] + "x"])
    assert repr(name) in str(caught.value)
    acct_tags = acct.tags
    other = next(t for t in acct.tag_ids() if t != tag)
    acct_tags[other].name = name  # two tags with one name
    with pytest.raises(ccpandas.PlanError, match="ambiguous tag name"):
        ccpandas.remove_list_memberships(
            client, [target], source=Source.tag_ids([name]), dry_run=True, snapshot=False
        )
    assert posts(emu) == 0


def test_a_tiny_email_segment_against_big_lists_is_looked_up_address_by_address(
    cc_emulator_factory, connect
):
    emu = cc_emulator_factory(seed=20, contacts=5000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    union = set().union(*(acct.members(t) for t in targets))
    assert math.ceil(len(union) / 500) > 3  # a read would cost more than 3 lookups
    chosen = sorted(acct.members(targets[0]))[:2]
    df = pd.DataFrame({"email": [acct.contact(c).email.upper() for c in chosen] + ["x@y.example"]})
    plan = df.cc.plan(targets, "email", client=client)
    assert plan.membership.lookup == "email lookups"
    assert "per-address lookups" in str(plan)
    assert reads(emu) == 3  # one GET /contacts?email= per distinct address
    before = {t: acct.members(t) for t in targets}
    result = df.cc.remove_from_lists(targets, "email", client=client, progress=False)
    expected = {(c, t) for c in chosen for t in targets if c in before[t]}
    assert pairs_of(result.changes, "removed") == expected
    assert pairs_of(result.changes, "not_a_member") == {
        (c, t) for c in chosen for t in targets if c not in before[t]
    }
    for t in targets:
        assert not acct.members(t) & set(chosen)
    assert result.rows["status"].astype(str).tolist() == ["removed", "removed", "not_a_member"]


def test_df_cc_resume_of_membership_runs_keeps_the_frames_rows(fast_account):
    emu, client, target = fast_account(seed=22, contacts=1500)
    acct = emu.account
    chosen = sorted(acct.members(target))[:30]
    by_id = pd.DataFrame({"contact_id": chosen[:20]}, index=[f"r{i}" for i in range(20)])
    by_email = pd.DataFrame({"email": [acct.contact(c).email for c in chosen[20:]]})
    first = by_id.cc.remove_from_lists([target], client=client, snapshot=True, progress=False)
    again = by_id.cc.resume(first.run_id, client=client, progress=False)
    assert again.rows.index.equals(by_id.index) and again.ok
    mail = by_email.cc.remove_from_lists([target], "email", client=client, progress=False)
    back = by_email.cc.resume(mail.run_id, "email", client=client, progress=False)
    assert back.rows["email"].tolist() == by_email["email"].tolist()
    assert pairs_of(back.changes, "removed") == {(c, target) for c in chosen[20:]}
    # An email run whose addresses matched nobody comes back from the journal too.
    nobody = pd.DataFrame({"email": [acct.contact(c).email for c in chosen[:3]]})
    empty = nobody.cc.remove_from_lists([target], "email", client=client, progress=False)
    assert empty.plan.n_requests == 0
    rebuilt = ccpandas.run_result(empty.run_id, client)
    assert rebuilt.rows["plan_status"].astype(str).tolist() == ["not_a_member"] * 3
    with pytest.raises(ccpandas.PlanError, match="does not match"):
        by_email.iloc[:3].cc.resume(mail.run_id, "email", client=client, progress=False)
    assert posts(emu) == first.plan.n_requests + mail.plan.n_requests


def test_the_progress_reporter_ends_on_the_removed_memberships_per_list(fast_account):
    emu, client, target = fast_account(seed=23, contacts=600)
    acct = emu.account
    chosen = sorted(acct.members(target))[:5]
    seen = []

    class Watch(NullReporter):
        def finish(self, snapshot) -> None:
            seen.append(snapshot.message)

    df = pd.DataFrame({"contact_id": chosen})
    df.cc.remove_from_lists([target], client=client, snapshot=True, progress=Watch())
    assert seen[-1] == f"removed (verified): {acct.lists[target].name} 5"
