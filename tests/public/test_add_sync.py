"""Add and sync end to end over HTTP against the emulator: email and id input, the
``max_removed`` guard, junk rows, verification, undo and the journal. Every expected
membership is read independently from the emulator's ``Account``."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.errors import PlanError

FAST = {"rate": None, "speed": 1_000_000.0}
ADD = "/v3/activities/add_list_memberships"
REMOVE = "/v3/activities/remove_list_memberships"


def pairs_of(changes: pd.DataFrame, outcome: str, action: str | None = None) -> set:
    sel = changes[changes["outcome"] == outcome]
    if action is not None:
        sel = sel[sel["action"] == action]
    return set(zip(sel["contact_id"], sel["list_id"], strict=True))


def test_add_by_email_sends_only_non_members_and_verifies(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=21, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    before = {a: acct.members(a), b: acct.members(b)}
    on_both = next(iter(before[a] & before[b]))
    outsiders = [c for c in acct.contact_ids("active") if c not in before[a] | before[b]][:30]
    unsubscribed = [c for c in acct.contact_ids("unsubscribed") if c not in before[a] | before[b]][
        :3
    ]
    assert len(unsubscribed) == 3
    on_a = sorted(c for c in before[a] - before[b] if acct.contact(c).status == "active")[:20]
    chosen = [on_both, *outsiders, *unsubscribed, *on_a]
    emails = [acct.contact(c).email for c in chosen]
    column = [
        *[e.upper() if i % 2 else f" {e} " for i, e in enumerate(emails)],
        emails[3],  # a duplicate
        "not an address",
        None,
        "nobody@nowhere.example",  # no contact has it: never created
    ]
    df = pd.DataFrame({"email": column})
    text = str(df.cc.plan([a, b], "email", kind="add", client=client))
    assert "AddPlan" in text and "3 contacts to add are unsubscribed" in text
    assert "not a contact    1 row:" in text
    result = df.cc.add_to_lists([a, b], "email", client=client, progress=False)
    status = result.rows["status"].astype(str).tolist()
    assert status[0] == "already_member"
    assert status[1 : len(chosen)] == ["added"] * (len(chosen) - 1)
    assert status[len(chosen) :] == ["duplicate", "invalid_email", "missing", "not_a_contact"]
    expected = {(c, lid) for c in chosen for lid in (a, b) if c not in before[lid]}
    assert pairs_of(result.changes, "added", "add") == expected
    assert pairs_of(result.changes, "already_member") == {
        (c, lid) for c in chosen for lid in (a, b) if c in before[lid]
    }
    for lid in (a, b):
        assert acct.members(lid) == before[lid] | {c for c, x in expected if x == lid}
    assert result.ok and result.summary().exit_code == 0
    # The fewest activities: all outsiders and the a-members share one request (adding a
    # member again changes nothing), never a contact to a list it should not join.
    assert acct.count(method="POST", route=ADD) == math.ceil(len(chosen) / 500)
    assert acct.count(method="POST", route=REMOVE) == 0
    assert "AddResult" in repr(result) and "added" in repr(result)
    runs = ccpandas.runs().set_index("run_id")
    assert runs.loc[result.run_id, "kind"] == "add"
    # The undo of an add only takes pairs off: its preview still counts the re-read.
    preview = result.undo(dry_run=True)
    assert preview.plan.read_requests > 0 and "will be taken off" in str(preview)
    assert acct.lists[a].name in runs.loc[result.run_id, "added_memberships"]


def test_sync_adds_the_segment_removes_the_rest_and_undo_reverses_it(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=22, contacts=1200, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    keep = members[: len(members) * 3 // 4]
    newcomers = [c for c in acct.contact_ids("active") if c not in set(members)][:40]
    segment = pd.DataFrame({"contact_id": [*keep, *newcomers, "not-an-id", keep[0]]})
    plan = segment.cc.plan([a], kind="sync", client=client)
    assert "SyncPlan" in str(plan)
    result = segment.cc.sync_lists([a], client=client, progress=False)
    assert acct.members(a) == set(keep) | set(newcomers)
    ch = result.changes
    assert pairs_of(ch, "removed", "remove") == {(c, a) for c in members[len(keep) :]}
    assert pairs_of(ch, "added", "add") == {(c, a) for c in newcomers}
    assert pairs_of(ch, "kept") == {(c, a) for c in keep}
    status = result.rows["status"].astype(str).tolist()
    assert status[: len(keep)] == ["kept"] * len(keep)
    assert status[len(keep) : -2] == ["added"] * len(newcomers)
    assert status[-2:] == ["invalid_id", "duplicate"]
    assert result.ok
    undo = result.undo(progress=False)
    assert undo.ok
    assert acct.members(a) == set(members)


def test_sync_guard_refuses_before_any_request(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=23, contacts=800, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    small = pd.DataFrame({"contact_id": members[:2]})
    with pytest.raises(PlanError, match="max_removed") as info:
        small.cc.sync_lists([a], client=client, progress=False)
    assert acct.lists[a].name in str(info.value)
    assert f"{len(members) - 2:,} of the {len(members):,}" in str(info.value)
    assert acct.count(method="POST") == 0
    with pytest.raises(PlanError, match="max_removed"):
        small.cc.sync_lists([a], client=client, progress=False, max_removed=5)
    with pytest.raises(ValueError, match="max_removed"):
        small.cc.sync_lists([a], client=client, max_removed=1.5)
    with pytest.raises(TypeError, match="max_removed"):
        small.cc.sync_lists([a], client=client, max_removed="half")
    assert acct.count(method="POST") == 0
    result = small.cc.sync_lists([a], client=client, progress=False, max_removed=None)
    assert result.ok and acct.members(a) == set(members[:2])


# -- a process killed half way, resumed from the journal ------------------------------------

_CHILD = textwrap.dedent(
    """
    import sys, pandas as pd, ccpandas
    base_url, token, path, kind, target = sys.argv[1:6]
    client = ccpandas.Client(token=token, base_url=base_url, rate=None)
    frame = pd.read_csv(path)
    change = ccpandas.add_to_lists if kind == "add" else ccpandas.sync_lists
    change(frame, [target], column=frame.columns[0], client=client, progress=False)
    """
)


def _posts(emu) -> int:
    return emu.account.count(method="POST", route=ADD) + emu.account.count(
        method="POST", route=REMOVE
    )


def _killed_then_resumed(emu, client, path: Path, kind: str, target: str):
    """Run ``kind`` in a child, SIGKILL it once 2 activities were posted, resume here."""
    emu.configure(speed=50.0, start_delay=0.0, latency=0.3)
    env = {**os.environ, "PYTHONPATH": str(Path(ccpandas.__file__).parents[1])}
    args = [sys.executable, "-c", _CHILD, emu.base_url, emu.token, str(path), kind, target]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _posts(emu) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    sent = _posts(emu)
    assert sent >= 2, proc.stderr.read().decode() if proc.stderr else ""
    run = ccpandas.runs().iloc[0]
    assert run["kind"] == kind and run["state"] != "completed"
    emu.configure(speed=FAST["speed"], latency=0.0)
    result = ccpandas.resume(run["run_id"], client=client, progress=False)
    assert _posts(emu) <= result.plan.n_requests + 1  # accepted batches were not sent again
    return result


def test_add_by_email_killed_half_way_and_resumed(cc_emulator_factory, connect, tmp_path):
    emu = cc_emulator_factory(seed=24, contacts=3500, lists=2, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    acct.set_members(a, [])
    pool = acct.contact_ids("active")[:3000]
    path = tmp_path / "segment.csv"
    pd.DataFrame({"email": [acct.contact(c).email for c in pool]}).to_csv(path, index=False)
    result = _killed_then_resumed(emu, client, path, "add", a)
    assert result.ok and acct.members(a) == set(pool)
    assert pairs_of(result.changes, "added") == {(c, a) for c in pool}


def test_sync_killed_half_way_and_resumed(cc_emulator_factory, connect, tmp_path):
    emu = cc_emulator_factory(seed=25, contacts=4000, lists=2, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    pool = acct.contact_ids("active")[:3500]
    acct.set_members(a, pool[:2000])
    segment = pool[500:3500]  # 500 leave, 1,500 stay, 1,500 join
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": segment}).to_csv(path, index=False)
    result = _killed_then_resumed(emu, client, path, "sync", a)
    assert result.ok and acct.members(a) == set(segment)
    ch = result.changes
    assert pairs_of(ch, "removed", "remove") == {(c, a) for c in pool[:500]}
    assert pairs_of(ch, "added", "add") == {(c, a) for c in pool[2000:3500]}


def test_sync_sends_the_fewest_activities_and_undo_by_run_id(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=26, contacts=3000, lists=3, **FAST)
    client, acct = connect(emu), emu.account
    lists = acct.list_ids()[:3]
    pool = acct.contact_ids("active")[:2400]
    # Overlapping lists with every shape of membership, and a segment across them.
    for i, lid in enumerate(lists):
        acct.set_members(lid, pool[i * 300 : i * 300 + 1200])
    before = {lid: acct.members(lid) for lid in lists}
    segment = pool[600:2400]
    result = pd.DataFrame({"contact_id": segment}).cc.sync_lists(
        lists, client=client, progress=False, max_removed=None
    )
    assert result.ok
    for lid in lists:
        assert acct.members(lid) == set(segment)
    # One list group: the minimum is ceil(contacts to add / 500) + ceil(to remove / 500).
    ch = result.changes
    adds = ch.loc[ch["action"] == "add", "contact_id"].nunique()
    removes = ch.loc[ch["action"] == "remove", "contact_id"].nunique()
    sent = emu.account.count(method="POST", route=ADD) + emu.account.count(
        method="POST", route=REMOVE
    )
    assert sent == math.ceil(adds / 500) + math.ceil(removes / 500)
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    assert undo.ok and {lid: acct.members(lid) for lid in lists} == before
    assert ccpandas.runs().set_index("run_id").loc[undo.run_id, "parent"] == result.run_id


def test_an_add_the_api_refuses_is_not_added_and_not_ok(cc_emulator_factory, connect):
    # A contact on 50 lists already: the API adds it to no more (the spec's limit).
    emu = cc_emulator_factory(seed=27, contacts=200, lists=52, **FAST)
    client, acct = connect(emu), emu.account
    lists = acct.list_ids()
    full, fine = acct.contact_ids("active")[:2]
    for lid in lists[:50]:
        acct.set_members(lid, acct.members(lid) | {full})
    target = lists[51]
    acct.set_members(target, set())
    frame = pd.DataFrame({"contact_id": [full, fine]})
    result = frame.cc.add_to_lists([target], client=client, progress=False)
    # The activity's error names the contact: the pair says api_error, with its message.
    assert result.rows["status"].astype(str).tolist() == ["api_error", "added"]
    assert "50" in str(result.rows["error"].iloc[0])
    assert pairs_of(result.changes, "api_error") == {(full, target)}
    ch = result.changes.set_index("contact_id")
    assert "50" in ch.loc[full, "reason"] and pd.isna(ch.loc[fine, "reason"])  # why, per pair
    assert not result.ok and result.summary().exit_code == 1
    assert acct.members(target) == {fine}


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_df_cc_resume_finishes_an_add_or_a_sync_from_its_frame(cc_emulator_factory, connect, kind):
    emu = cc_emulator_factory(seed=26, contacts=2000, lists=2, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    outside = [c for c in acct.contact_ids("active") if c not in set(members)][:30]
    segment = outside + members[:5]  # a sync takes the other members off
    df = pd.DataFrame({"contact_id": segment}, index=[f"r{i}" for i in range(len(segment))])
    options = {"client": client, "snapshot": True, "wait": False, "progress": False}
    if kind == "add":
        started = df.cc.add_to_lists([a], **options)
    else:
        started = df.cc.sync_lists([a], max_removed=None, **options)
    assert started.plan.kind == kind and not started.done
    resumed = df.cc.resume(started.run_id, client=client, progress=False)
    assert resumed.ok and resumed.plan.kind == kind
    assert resumed.rows.index.tolist() == df.index.tolist()
    wanted = set(segment) if kind == "sync" else set(members) | set(outside)
    assert acct.members(a) == wanted


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_an_unfinished_add_or_sync_says_what_it_will_change(cc_emulator_factory, connect, kind):
    # Before the re-read, a result says what is expected: an add's contacts joining, a
    # sync's joining and leaving; never "members to leave: VIP 0" for an add.
    emu = cc_emulator_factory(seed=24, contacts=600, rate=None, speed=1.0)
    client, acct = connect(emu), emu.account
    vip = acct.list_named("VIP")
    members = sorted(acct.members(vip))
    newcomers = [c for c in acct.contact_ids("active") if c not in acct.members(vip)][:7]
    segment = pd.DataFrame({"contact_id": [*members[3:], *newcomers]})
    run = getattr(segment.cc, f"{kind}_to_lists" if kind == "add" else "sync_lists")
    result = run(["VIP"], client=client, wait=False, progress=False, snapshot=True)
    assert not result.done
    expected = "members to add: VIP 7"
    if kind == "sync":
        expected += "; to remove: VIP 3"
    text, html = str(result), result._repr_html_()
    assert f"{expected} (not verified yet)" in text
    assert expected in html
    assert "to leave" not in text and "to leave" not in html


def _add_to_vip(emu, connect, n: int):
    """Add ``n`` active contacts not on VIP to it (snapshot taken): (list, ids, result)."""
    client, acct = connect(emu), emu.account
    vip = acct.list_named("VIP")
    newcomers = [c for c in acct.contact_ids("active") if c not in acct.members(vip)][:n]
    added = pd.DataFrame({"contact_id": newcomers}).cc.add_to_lists(
        ["VIP"], client=client, progress=False, snapshot=True
    )
    assert added.ok
    return vip, newcomers, added


def test_the_undo_of_an_add_counts_its_contacts_and_calls_its_requests_changes(
    cc_emulator_factory, connect
):
    # The undo of an add takes contacts off again: its summary said "contacts: 0" and
    # "add requests: 1 of 1 accepted" for the removal it sent.
    emu = cc_emulator_factory(seed=25, contacts=600, **FAST)
    acct = emu.account
    vip, newcomers, added = _add_to_vip(emu, connect, 9)
    undo = added.undo(progress=False)
    assert undo.ok and not set(newcomers) & acct.members(vip)
    assert acct.count(method="POST", route=REMOVE) == 1
    summary = undo.summary()
    assert summary.contacts == 9
    for text in (str(undo), undo._repr_html_()):
        assert "contacts: 9" in text
        assert "add requests" not in text and "change requests: 1 of 1 accepted" in text


def test_runs_names_what_an_undo_of_an_add_or_a_one_way_sync_did(cc_emulator_factory, connect):
    # runs()' column is named for the kind's word ("restored_memberships" for an undo,
    # "synced_memberships"); figures of the other direction say which they are, as the
    # result does ("memberships removed (verified): VIP 9"), never bare "VIP 9".
    emu = cc_emulator_factory(seed=27, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    vip = acct.list_named("VIP")
    members = sorted(acct.members(vip))
    newcomers = [c for c in acct.contact_ids("active") if c not in acct.members(vip)][:9]
    added = pd.DataFrame({"contact_id": newcomers}).cc.add_to_lists(
        ["VIP"], client=client, progress=False, snapshot=True
    )
    undo = added.undo(progress=False)
    synced = pd.DataFrame({"contact_id": members[4:]}).cc.sync_lists(
        ["VIP"], client=client, progress=False
    )
    assert "memberships removed (verified): VIP 9" in str(undo)
    assert "memberships removed (verified): VIP 4" in str(synced)
    table = ccpandas.runs().set_index("run_id")
    assert table.loc[undo.run_id, "restored_memberships"] == "removed VIP 9"
    assert table.loc[synced.run_id, "synced_memberships"] == "removed VIP 4"
    assert table.loc[added.run_id, "added_memberships"] == "VIP 9"


def test_max_removed_takes_a_count_computed_with_numpy(cc_emulator_factory, connect):
    # A count computed from a frame is a numpy integer (``(df.x == y).sum() // 10``):
    # it is a count like an int, refused only when the sync would remove more.
    emu = cc_emulator_factory(seed=28, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    segment = pd.DataFrame({"contact_id": members[3:]})
    leaving = pd.Series(members).isin(members[:3]).sum()  # a numpy integer: 3
    with pytest.raises(PlanError, match=r"more than max_removed=2 allows \(2\)"):
        segment.cc.sync_lists([a], client=client, progress=False, max_removed=leaving - 1)
    assert acct.count(method="POST") == 0
    result = segment.cc.sync_lists([a], client=client, progress=False, max_removed=leaving)
    assert result.ok and acct.members(a) == set(members[3:])
    assert ccpandas.run_result(result.run_id).ok


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_the_plan_counts_the_contacts_it_sends(cc_emulator_factory, connect, kind):
    # Members already on the list are not sent (docs/syncing.md); the plan said "230 in
    # the account, to send" and "1 request to add 230 contacts" for 30 sent.
    emu = cc_emulator_factory(seed=29, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    outsiders = [c for c in acct.contact_ids("active") if c not in set(members)][:30]
    segment = pd.DataFrame({"contact_id": members[6:] + outsiders})
    leaving = 6 if kind == "sync" else 0
    sent = len(outsiders) + leaving
    plan = segment.cc.plan([a], kind=kind, client=client, snapshot=True)
    text, html = str(plan), plan._repr_html_()
    assert plan.n_contacts == len(segment) + leaving  # every valid contact, as before
    assert f"{plan.n_contacts:,} in the account, {sent} to send" in text, text
    verb = "add" if kind == "add" else "sync"
    assert f"to {verb} {sent} contacts" in text and f"to {verb} {sent} contacts" in html
    result = getattr(segment.cc, "add_to_lists" if kind == "add" else "sync_lists")(
        [a], client=client, progress=False, snapshot=True
    )
    assert result.ok and result.summary().lists[0].contacts_sent == sent


def test_runs_says_why_an_add_stopped_waiting_as_its_summary_does(cc_emulator_factory, connect):
    # timeout= ran out while the activity processed: the summary (and the CLI's --json)
    # said stop_reason "timeout", runs() said None for the same run.
    emu = cc_emulator_factory(seed=30, contacts=600, rate=None, speed=5.0, start_delay=0.0)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    outsiders = [c for c in acct.contact_ids("active") if c not in acct.members(a)][:300]
    frame = pd.DataFrame({"contact_id": outsiders})
    result = frame.cc.add_to_lists([a], client=client, progress=False, timeout=0.2)
    summary = result.summary()
    assert str(summary.outcome) == "processing" and summary.stop_reason == "timeout"
    row = ccpandas.runs().set_index("run_id").loc[result.run_id]
    assert (row["state"], row["outcome"]) == ("processing", "processing")
    assert row["stop_reason"] == summary.stop_reason
    emu.configure(speed=1_000_000.0)
    done = ccpandas.resume(result.run_id, client=client, progress=False)
    assert done.ok and set(outsiders) <= acct.members(a)
    assert ccpandas.runs().set_index("run_id").loc[result.run_id, "stop_reason"] is None


def test_the_undo_preview_of_an_add_counts_the_pairs_already_off(cc_emulator_factory, connect):
    # Contacts the add put on the list and someone took off since: the undo skips them
    # (not_a_member). Its preview said "memberships changed: 8", "will be taken off: 5"
    # and nothing of the other 3.
    emu = cc_emulator_factory(seed=31, contacts=600, **FAST)
    acct = emu.account
    vip, newcomers, added = _add_to_vip(emu, connect, 8)
    acct.remove_members(vip, newcomers[:3])  # taken off by hand since
    preview = added.undo(dry_run=True)
    text, html = str(preview), preview._repr_html_()
    assert "memberships changed: 8" in text and "will be taken off: 5 (VIP 5)" in text
    assert "already off: 3 (VIP 3)" in text, text
    assert "already off" in html
    undone = added.undo(progress=False)
    counts = undone.changes["outcome"].astype(str).value_counts().to_dict()
    assert undone.ok and counts == {"removed": 5, "not_a_member": 3}
    assert not set(newcomers) & acct.members(vip)


def test_an_adds_rows_count_the_lists_added_to_not_removed_from(cc_emulator_factory, connect):
    # An add's result.rows carried the removal's "lists_removed_from", 0 on every row
    # (an add removes nothing): its own column counts the target lists each row's
    # contact was added to, as the re-read shows (<NA> until verified).
    emu = cc_emulator_factory(seed=22, contacts=300, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    active = acct.contact_ids("active")
    on_a = [c for c in active if c in acct.members(a) - acct.members(b)]
    outside = [c for c in active if c not in acct.members(a) | acct.members(b)]
    df = pd.DataFrame({"contact_id": [on_a[0], outside[0], outside[1]]})
    result = df.cc.add_to_lists([a, b], client=client, progress=False)
    assert result.ok
    assert "lists_removed_from" not in result.rows.columns
    assert result.rows["lists_added_to"].tolist() == [1, 2, 2]
    unverified = df.cc.add_to_lists([a], client=client, progress=False, snapshot=False)
    assert unverified.rows["lists_added_to"].isna().all()


# -- "Each contact can be a member of up to 50 lists" ---------------------------------------

LISTS = "/v3/contact_lists"


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_more_than_50_target_lists_are_refused_before_any_request(
    cc_emulator_factory, connect, kind
):
    # An add or a sync puts each contact on every target list: 51 lists were sent anyway
    # and every contact ended api_error. Refused now, before any request at all.
    emu = cc_emulator_factory(seed=28, contacts=100, lists=52, **FAST)
    client, acct = connect(emu), emu.account
    runs_before = len(ccpandas.runs())
    ids = acct.list_ids()[:51]
    names = [acct.lists[lid].name for lid in ids]
    df = pd.DataFrame({"contact_id": acct.contact_ids("active")[:3]})
    change = ccpandas.add_to_lists if kind == "add" else ccpandas.sync_lists
    for given in (ids, names, [*ids, ids[0].upper()]):  # a list named twice counts once
        with pytest.raises(PlanError, match="at most 50 lists") as info:
            change(df, given, client=client, progress=False)
        assert "51 target lists" in str(info.value) and "split" in str(info.value)
        with pytest.raises(PlanError, match="51 target lists"):
            df.cc.plan(given, kind=kind, client=client)
    assert acct.count() == 0  # not even the listing
    # 51 lists, some by name and some by id: known once the one listing resolved them.
    with pytest.raises(PlanError, match="51 target lists"):
        change(df, [*names[:26], *ids[26:]], client=client, progress=False)
    assert acct.count() == acct.count(route=LISTS) == 1
    assert len(ccpandas.runs()) == runs_before  # no run was started


_ROOM_CASES = [("add", "email"), ("add", "contact_id"), ("sync", "email"), ("sync", "contact_id")]


@pytest.mark.parametrize(("kind", "by"), _ROOM_CASES)
def test_a_contact_the_change_would_put_on_more_than_50_lists_is_refused_before_any_change(
    cc_emulator_factory, connect, kind, by
):
    # The snapshot knows each contact's lists: one already on 49 lists (one target
    # among them) cannot join the other 2 targets. It was sent and ended api_error.
    emu = cc_emulator_factory(seed=29, contacts=200, lists=53, **FAST)
    client, acct = connect(emu), emu.account
    lists = acct.list_ids()
    targets = lists[50:]
    full, fine = acct.contact_ids("active")[:2]
    for lid in lists:
        acct.remove_members(lid, [full, fine])
    for lid in [*lists[:48], targets[0]]:
        acct.add_members(lid, [full])
    people = [acct.contact(c).email if by == "email" else c for c in (full, fine)]
    df = pd.DataFrame({by: people})
    change = ccpandas.add_to_lists if kind == "add" else ccpandas.sync_lists
    options = {"snapshot": True, "progress": False, "max_removed": None}
    if kind == "add":
        del options["max_removed"]
    with pytest.raises(PlanError, match="more than 50 lists") as info:
        change(df, targets, column=by, client=client, **options)
    text = str(info.value)
    assert f"{people[0]!r} is on 49 lists and would join 2 more" in text, text
    assert info.value.values == [people[0]] and info.value.column == by
    assert acct.count(method="POST") == 0 and acct.count(method="GET") > 0
    assert len(acct.lists_of(full)) == 49
    if kind == "add":  # its values are the rows to leave out: the rest goes through
        assert "Leave these contacts out" in text, text
        rest = df[~df[by].isin(info.value.values)]
        result = change(rest, targets, column=by, client=client, **options)
        assert result.ok and set(acct.lists_of(fine)) == set(targets)
        return
    # Left out of a sync, it would leave targets[0]: the error says so, and advises
    # making room first. Done, the same sync removes nobody it was given.
    assert "removed from every target list" in text and "Leave these" not in text, text
    assert "take these contacts off some of their other lists first" in text, text
    acct.remove_members(lists[0], [full])
    result = change(df, targets, column=by, client=client, **options)
    assert result.ok and set(targets) <= set(acct.lists_of(full)), result.rows
    assert set(acct.lists_of(fine)) == set(targets) and len(acct.lists_of(full)) == 50


def test_the_refused_values_name_every_row_of_each_refused_contact(cc_emulator_factory, connect):
    # Its values held each contact's first row only: its other spellings survived
    # the documented filter, and the add was refused again.
    emu = cc_emulator_factory(seed=29, contacts=200, lists=53, **FAST)
    client, acct = connect(emu), emu.account
    lists = acct.list_ids()
    targets = lists[50:]
    full, full2, fine = acct.contact_ids("active")[:3]
    for lid in lists:
        acct.remove_members(lid, [full, full2, fine])
    for lid in lists[:49]:
        acct.add_members(lid, [full, full2])
    e, e2, f = (acct.contact(c).email for c in (full, full2, fine))
    df = pd.DataFrame({"email": [e, f, e2, e.upper(), f" {e2.upper()} ", e]})
    with pytest.raises(PlanError, match="2 contacts on more than 50 lists") as info:
        ccpandas.add_to_lists(df, targets, column="email", client=client, progress=False)
    assert sorted(info.value.values) == sorted({e, e2, e.upper(), f" {e2.upper()} "})
    assert f"{e!r}, {e2!r}" in str(info.value)  # the refused contacts are named
    rest = df[~df["email"].isin(info.value.values)]
    assert rest["email"].tolist() == [f]
    result = ccpandas.add_to_lists(rest, targets, column="email", client=client, progress=False)
    assert result.ok and set(acct.lists_of(fine)) == set(targets)
    assert acct.count(method="POST") == 1
