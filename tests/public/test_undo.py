"""Undo over HTTP against the emulator: a removal put back exactly, from the result and
from the journal (another process), killed half-way and resumed, with the pairs that
cannot be restored reported, refused twice and without a snapshot, and in the fewest
add requests. Every expected membership is read independently from the emulator."""

from __future__ import annotations

import json
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
from ccpandas import Source
from ccpandas.errors import PlanError
from ccpandas.plan.undo import min_add_requests

FAST = {"rate": None, "speed": 1_000_000.0}
ADD = "/v3/activities/add_list_memberships"
REMOVE = "/v3/activities/remove_list_memberships"


def adds(emu) -> int:
    return emu.account.count(method="POST", route=ADD)


def pairs_of(changes: pd.DataFrame, outcome: str) -> set[tuple[str, str]]:
    sel = changes[changes["outcome"] == outcome]
    return set(zip(sel["contact_id"], sel["list_id"], strict=True))


def _remove(emu, client, lists, contacts, **kw):
    df = pd.DataFrame({"contact_id": sorted(contacts)})
    return df.cc.remove_from_lists(lists, client=client, snapshot=True, progress=False, **kw)


def _small_removal(cc_emulator_factory, connect, n, **kw):
    """(emu, client, list, its members before, the result) of a removal of the first
    ``n`` members of the first list of a 300-contact account."""
    emu = cc_emulator_factory(seed=28, contacts=300, **FAST)
    client = connect(emu)
    a = emu.account.list_ids()[0]
    before = emu.account.members(a)
    return emu, client, a, before, _remove(emu, client, [a], sorted(before)[:n], **kw)


def test_remove_then_undo_restores_every_list_exactly(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=21, contacts=1800, **FAST)
    client, acct = connect(emu), emu.account
    a, b, c = acct.list_ids()[:3]
    before = {lid: acct.members(lid) for lid in (a, b, c)}
    everyone = before[a] | before[b] | before[c]
    # Members of some lists, and non-members too: the undo must not add those.
    outsiders = [x for x in acct.contact_ids("active") if x not in everyone][:40]
    chosen = sorted(everyone)[:700] + outsiders
    result = _remove(emu, client, [a, b, c], chosen)
    assert result.ok and result.after is not None
    removed = pairs_of(result.changes, "removed")
    assert removed and all(acct.members(lid) == before[lid] - set(chosen) for lid in (a, b, c))

    preview = result.undo(dry_run=True)
    assert adds(emu) == 0
    assert preview.dry_run and preview.plan.n_requests == min_add_requests(sorted(removed))
    text = repr(preview)
    for lid in (a, b, c):
        n = sum(1 for _, x in removed if x == lid)
        assert f"{acct.lists[lid].name} {n:,}" in text
    assert "add requests" in text and "UndoPlan" in preview.plan._repr_html_()

    undo = result.undo(progress=False)
    assert undo.ok and undo.after is not None
    # Exactly the snapshot: nobody extra added, nobody missing.
    for lid in (a, b, c):
        assert acct.members(lid) == before[lid]
    assert all(not (acct.lists_of(x) & {a, b, c}) for x in outsiders)
    ch = undo.changes
    assert pairs_of(ch, "restored") == removed
    assert set(ch["outcome"]) == {"restored"}
    assert adds(emu) == undo.plan.n_requests == min_add_requests(sorted(removed))
    runs = ccpandas.runs().set_index("run_id")
    assert runs.loc[undo.run_id, "kind"] == "undo"
    assert runs.loc[undo.run_id, "parent"] == result.run_id
    assert runs.loc[result.run_id, "kind"] == "remove"
    assert acct.lists[a].name in runs.loc[undo.run_id, "restored_memberships"]
    assert "restored" in repr(undo)


def test_add_requests_are_the_minimum_over_list_sets(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=22, contacts=3000, lists=3, **FAST)
    client, acct = connect(emu), emu.account
    a, b, _ = acct.list_ids()[:3]
    # 1,200 contacts on both lists, 300 on a only, 520 on b only: three list sets.
    pool = acct.contact_ids("active")
    both, only_a, only_b = pool[:1200], pool[1200:1500], pool[1500:2020]
    acct.set_members(a, both + only_a)
    acct.set_members(b, both + only_b)
    result = _remove(emu, client, [a, b], both + only_a + only_b)
    assert result.ok
    undo = result.undo(progress=False)
    expected = math.ceil(1200 / 500) + math.ceil(300 / 500) + math.ceil(520 / 500)
    assert adds(emu) == undo.plan.n_requests == expected == 6
    assert acct.members(a) == set(both + only_a) and acct.members(b) == set(both + only_b)


def test_pairs_that_cannot_be_restored_are_reported(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=23, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    a, b, c = acct.list_ids()[:3]
    before = {lid: acct.members(lid) for lid in (a, b, c)}
    chosen = sorted(before[a] | before[c])[:300]
    result = _remove(emu, client, [a, c], chosen)
    removed = pairs_of(result.changes, "removed")
    on_a = sorted(x for x, lid in removed if lid == a)
    gone, back, unsub = on_a[0], on_a[1], on_a[2]
    acct.delete_contact(gone)
    acct.add_members(a, [back])
    acct.set_contact_status(unsub, "unsubscribed")
    # A contact now on 50 lists: room for none of its lists.
    full = on_a[3]
    extra = [acct.create_list(f"filler {i}") for i in range(50 - len(acct.lists_of(full)))]
    for lid in extra:
        acct.add_members(lid, [full])
    assert len(acct.lists_of(full)) == 50
    acct.delete_list(c)

    preview = ccpandas.undo(result.run_id, client=client, dry_run=True)
    cannot = preview.plan.cannot_restore()
    assert set(cannot.loc[cannot["reason"] == "deleted", "contact_id"]) == {gone}
    assert set(cannot.loc[cannot["reason"] == "list_deleted", "list_id"]) == {c}
    assert (gone, a) in set(zip(cannot["contact_id"], cannot["list_id"], strict=True))
    assert set(cannot.loc[cannot["reason"] == "list_limit", "contact_id"]) == {full}
    text = repr(preview)
    assert "cannot be restored" in text and "deleted" in text and "stay unsubscribed" in text

    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    ch = undo.changes
    assert len(ch) == len(removed)  # every pair reported, none skipped
    assert pairs_of(ch, "already_member") == {(back, a)}
    cannot_pairs = pairs_of(ch, "cannot_restore")
    assert {(gone, a), (full, a)} | {p for p in removed if p[1] == c} <= cannot_pairs
    restored = pairs_of(ch, "restored")
    assert restored == removed - cannot_pairs - {(back, a)}
    assert (unsub, a) in restored and acct.contact(unsub).status == "unsubscribed"
    assert acct.members(a) == before[a] - {gone, full}
    assert not acct.lists_of(gone)


def test_undo_refused_twice_and_without_snapshot(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=24, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))[:50]
    blind = pd.DataFrame({"contact_id": members}).cc.remove_from_lists(
        [a], client=client, snapshot=False, progress=False
    )
    with pytest.raises(PlanError, match=r"snapshot=True") as info:
        blind.undo()
    assert "without a membership snapshot" in str(info.value)
    with pytest.raises(PlanError, match=r"snapshot=True"):
        ccpandas.undo(blind.run_id, client=client)
    assert adds(emu) == 0

    acct.add_members(a, members)
    result = _remove(emu, client, [a], members)
    first = result.undo(progress=False)
    assert first.ok
    with pytest.raises(PlanError, match=first.run_id):
        ccpandas.undo(result.run_id, client=client, progress=False)
    with pytest.raises(PlanError, match="itself an undo"):
        ccpandas.undo(first.run_id, client=client)
    sent = adds(emu)
    # force=True undoes it again: everyone is back already, no request is wasted.
    again = ccpandas.undo(result.run_id, client=client, progress=False, force=True)
    assert set(again.changes["outcome"]) == {"already_member"}
    assert adds(emu) == sent


def test_a_run_whose_undo_has_not_finished_says_so(cc_emulator_factory, connect) -> None:
    # "undone by run X" while X was still processing (nothing back yet), as a
    # completed undo is named (review): the note says where that undo stands.
    emu, client, _, _, result = _small_removal(cc_emulator_factory, connect, 20)
    emu.configure(speed=1.0)  # the undo's activity stays processing
    undo = result.undo(progress=False, wait=False)
    assert not undo.done
    for shown in (result, ccpandas.run_result(result.run_id, client=client)):
        said = f"undone by run {undo.run_id} (that undo: {undo.summary().outcome}"
        assert said in str(shown) and shown.summary().undone_by == undo.run_id, str(shown)
    assert "(that undo" not in str(undo)


def test_a_completed_run_undone_says_so_and_offers_no_undo(cc_emulator_factory, connect) -> None:
    # Completed, then undone: its summary said nothing of the undo, and the panel's
    # undo_promise still offered Undo (the click then refused: "already undone").
    from ccpandas.run.undo import undo_promise

    _, client, _, _, result = _small_removal(cc_emulator_factory, connect, 20)
    undo = result.undo(progress=False)
    said = f"undone by run {undo.run_id}"
    for shown in (result, ccpandas.run_result(result.run_id, client=client)):
        summary = shown.summary()
        assert summary.undone_by == undo.run_id and said in str(shown), str(shown)
        assert said in summary.report_text() and said in summary.to_json("resume")["notes"]
        assert summary.outcome == "completed" and undo_promise(shown) is not None
        # A verification now would read the undo's work as this run's failure (review)
        with pytest.raises(PlanError, match=f"undone by run {undo.run_id}.*nothing was read"):
            shown.verify()
        assert str(shown.summary().outcome) == "completed"
    assert undo.summary().undone_by is None  # an undo is not undone
    assert ccpandas.runs().set_index("run_id").loc[result.run_id, "state"] == "completed"
    # undone_by, structured, in --json and runs() too (only a note before), one answer.
    assert summary.to_json("resume")["undone_by"] == undo.run_id
    assert undo.summary().to_json("undo")["undone_by"] is None
    table = ccpandas.runs().set_index("run_id")["undone_by"]
    assert table[result.run_id] == undo.run_id and table[undo.run_id] is None


def test_a_stale_result_of_a_run_undone_elsewhere_says_so_on_wait(
    cc_emulator_factory, connect
) -> None:
    # Still processing in memory; another result object followed the run to its end
    # and undid it. wait() was refused as a resume ("would take off again"), which it
    # is not: it says the run was undone, by which run, and where to look.
    emu, client, _, _, result = _small_removal(cc_emulator_factory, connect, 20, wait=False)
    other = ccpandas.run_result(result.run_id, client=client)
    undo = other.wait(progress=False).undo(progress=False)
    assert undo.ok and not result.done
    sent = emu.account.count()
    with pytest.raises(PlanError, match=f"undone by run {undo.run_id}") as info:
        result.wait(progress=False)
    text = str(info.value)
    assert "take off again" not in text and "nothing was sent or read" in text, text
    assert f"ccpandas.run_result({result.run_id!r})" in text, text
    assert emu.account.count() == sent


def test_verify_of_a_run_the_journal_no_longer_has_says_so(cc_emulator_factory, connect) -> None:
    # The journal lost the run while its result was in memory (its rows pruned from
    # the file): verify() said only "no run ... in the journal", as for a typo'd id.
    import sqlite3

    from ccpandas.errors import CCError
    from ccpandas.store.journal import open_journal

    emu, _client, _, _, result = _small_removal(cc_emulator_factory, connect, 20)
    with sqlite3.connect(open_journal().path) as pruned:
        for table in ("attempts", "batches", "runs"):
            pruned.execute(f"DELETE FROM {table} WHERE run_id = ?", (result.run_id,))
    sent = emu.account.count()
    with pytest.raises(CCError, match="no longer has run") as info:
        result.verify()
    assert "nothing was sent or read" in str(info.value) and emu.account.count() == sent
    with pytest.raises(CCError, match="no longer has run"):
        result.wait(progress=False)  # nor followed from memory
    assert emu.account.count() == sent


def test_api_selected_sources_are_undone_exactly(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=25, contacts=1500, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    tag = acct.tag_ids()[0]
    before = {lid: acct.members(lid) for lid in (a, b)}
    tagged = ccpandas.remove_list_memberships(
        client, [a, b], source=Source.tag_ids([tag]), snapshot=True, progress=False
    )
    assert tagged.ok and pairs_of(tagged.changes, "removed")
    tagged.undo(progress=False)
    assert {lid: acct.members(lid) for lid in (a, b)} == before

    keep = sorted(before[a])[:30]
    kept = pd.DataFrame({"contact_id": keep}).cc.keep_in_lists(
        [a], client=client, snapshot=True, progress=False, max_removed=None
    )
    assert acct.members(a) == set(keep)
    undo = ccpandas.undo(kept.run_id, client=client, progress=False)
    assert acct.members(a) == before[a]
    assert pairs_of(undo.changes, "restored") == {(x, a) for x in before[a] - set(keep)}


# -- another process -----------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, ccpandas
    base_url, token, run_id, mode = sys.argv[1:5]
    client = ccpandas.Client(token=token, base_url=base_url, rate=None)
    if mode == "undo":
        undo = ccpandas.undo(run_id, client=client, progress=False)
    else:
        undo = ccpandas.resume(run_id, client=client, progress=False)
    print(json.dumps({"run_id": undo.run_id, "ok": undo.ok,
                      "outcomes": undo.changes["outcome"].value_counts().to_dict()}))
    """
)


def _child(emu, run_id: str, mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(ccpandas.__file__).parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, emu.base_url, emu.token, run_id, mode],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_undo_in_a_fresh_process_from_the_run_id(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=26, contacts=900, **FAST)
    client, acct = connect(emu), emu.account
    a, b = acct.list_ids()[:2]
    before = {lid: acct.members(lid) for lid in (a, b)}
    result = _remove(emu, client, [a, b], sorted(before[a] | before[b])[:400])
    n = len(pairs_of(result.changes, "removed"))
    out = _child(emu, result.run_id, "undo")
    assert out["ok"] and out["outcomes"] == {"restored": n}
    assert {lid: acct.members(lid) for lid in (a, b)} == before
    assert ccpandas.runs().set_index("run_id").loc[out["run_id"], "parent"] == result.run_id


def test_a_rebuilt_run_takes_the_client_of_the_environment(
    cc_emulator_factory, connect, monkeypatch
) -> None:
    # ccpandas.run_result(run_id).undo() said "undo needs a client" with CC_ACCESS_TOKEN
    # set, where ccpandas.undo(run_id) builds the default client from the environment
    # (found by review); its wait() and resume() said "Runner needs a client".
    emu, _client, a, before, result = _small_removal(cc_emulator_factory, connect, 50, wait=False)
    acct = emu.account
    old = ccpandas.set_default_client(None)
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
    monkeypatch.setenv("CC_BASE_URL", emu.base_url)
    try:
        assert ccpandas.run_result(result.run_id).wait(progress=False).ok
        assert ccpandas.run_result(result.run_id).resume(progress=False).ok
        undone = ccpandas.run_result(result.run_id).undo(progress=False)
        assert undone.ok and acct.members(a) == before
        # The default client must talk to the run's API, as for ccpandas.undo(run_id).
        ccpandas.set_default_client(None)
        monkeypatch.setenv("CC_BASE_URL", "http://127.0.0.1:9/v3")
        with pytest.raises(ccpandas.CCError, match="was sent to"):
            ccpandas.run_result(undone.run_id).undo(progress=False)
    finally:
        ccpandas.set_default_client(old)


def test_undo_killed_half_way_and_resumed(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=27, contacts=4000, lists=2, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    pool = acct.contact_ids("active")[:3000]
    acct.set_members(a, pool)
    result = _remove(emu, client, [a], pool)
    assert result.ok and len(pairs_of(result.changes, "removed")) == 3000
    # For the undo: slow activities, so the accepted adds are still processing when the
    # child is killed, and slow answers, so the kill lands between two adds, not after all.
    emu.configure(speed=50.0, start_delay=0.0, latency=0.3)
    env = {**os.environ, "PYTHONPATH": str(Path(ccpandas.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, emu.base_url, emu.token, result.run_id, "undo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while adds(emu) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, f"the child ended before the kill: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert 2 <= adds(emu) < 6, "the child should die with some adds sent, not all"
    undo_id = ccpandas.runs().query("kind == 'undo'")["run_id"].iloc[0]
    running = [a for a in acct.activities.values() if a.kind == "add_list_memberships"]
    assert any(a.state != "completed" for a in running), "an accepted add still running"
    emu.configure(speed=FAST["speed"], latency=0.0)  # the resume ends them quickly
    out = _child(emu, undo_id, "resume")
    assert out["ok"] and out["outcomes"] == {"restored": 3000}
    assert acct.members(a) == set(pool)
    assert adds(emu) <= 6 + 1  # the accepted adds were followed, not sent again


def test_every_member_of_the_one_plan_type_answers_for_an_undo(fast_account) -> None:
    # An undo's plan is a RemovalPlan of kind "undo": the members a removal's plan has
    # must answer for it too. summary(), n_invalid, invalid_examples() raised KeyError
    # ('plan_status', which an undo's pairs have not), changes was empty and undo_text
    # spoke of a missing snapshot.
    emu, client, target = fast_account(seed=29, contacts=300)
    acct = emu.account
    chosen = sorted(acct.members(target))[:7]
    plan = _remove(emu, client, [target], chosen).undo(dry_run=True).plan
    assert type(plan) is ccpandas.RemovalPlan and str(plan.kind) == "undo"
    summary = plan.summary()
    assert (summary["rows"], summary["invalid"], summary["requests"]) == (7, 0, 1)
    assert (plan.n_invalid, plan.n_missing, plan.n_duplicates, plan.invalid_examples()) == (
        0,
        0,
        0,
        [],
    )
    changes = plan.changes
    assert set(zip(changes["contact_id"], changes["list_id"], strict=True)) == {
        (c, target) for c in chosen
    }
    assert set(changes["action"].astype(str)) == {"add"} and not changes["will_leave"].any()
    assert plan.undo_text.startswith("not possible: an undo is not undone")
    assert {"later_runs", "restore_per_list"} <= set(dir(plan))  # Tab completes them
    with pytest.raises(AttributeError, match=r"'RemovalPlan' object has no attribute 'nope'"):
        plan.nope  # noqa: B018
    public = [n for n in dir(plan) if not n.startswith("_")]
    for name in public:  # every property answers (methods with arguments aside)
        value = getattr(plan, name)
        if callable(value) and name in {"summary", "invalid_examples", "pending_text"}:
            value()


def test_a_frame_cannot_resume_an_undo_and_nothing_is_sent(fast_account) -> None:
    # df.cc.resume(undo_run_id) told an undo apart by its plan lacking `source`; one plan
    # type has it, so the frame's resume went on, sent, and failed with KeyError.
    emu, client, target = fast_account(seed=31, contacts=300)
    acct = emu.account
    chosen = sorted(acct.members(target))[:6]
    df = pd.DataFrame({"contact_id": chosen})
    undone = _remove(emu, client, [target], chosen).undo(progress=False)
    assert undone.ok
    before = acct.request_counts.total()
    with pytest.raises(PlanError, match=r"is an undo, not a DataFrame's removal"):
        df.cc.resume(undone.run_id, client=client)
    sent = acct.request_counts.total() - before
    assert adds(emu) == 1 and sent == 0


def test_an_undo_preview_calls_its_pairs_planned_as_a_dry_run_does(fast_account) -> None:
    # A dry run's rows are `planned` (ROW_STATUSES; `not_sent` is a run that stopped
    # before sending them). The undo preview's pairs said `not_sent`, and so did
    # `ccpandas undo RUN_ID --dry-run`'s summary ("rows 7 (not_sent 7)").
    emu, client, target = fast_account(seed=5, contacts=300)
    acct = emu.account
    preview = _remove(emu, client, [target], sorted(acct.members(target))[:7]).undo(dry_run=True)
    assert preview.changes["outcome"].tolist() == ["planned"] * 7
    assert dict(preview.summary().by_status) == {"planned": 7}


@pytest.mark.parametrize("pause", ["later_runs", "create_run"])
def test_two_undos_started_at_once_send_one(
    cc_emulator_factory, connect, monkeypatch, caplog, pause: str
) -> None:
    # Two undos of one run, A and B, each passed the "already undone" check before
    # either journaled itself, and both sent their adds. A stops (an event) after its
    # check: before it claims the run (later_runs, the last step of its fresh read), or
    # inside the claim (create_run, which journals it). B runs meanwhile; A goes on once
    # B is done or waits for the run's lock. B's journaled undo is named to A, or A's to B.
    import logging
    import threading

    from ccpandas.run import undo as undo_module
    from ccpandas.store.journal import RunJournal

    emu = cc_emulator_factory(seed=27, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    before = acct.members(a)
    result = _remove(emu, client, [a], sorted(before)[:40])
    assert result.ok
    stopped, go, waiting = threading.Event(), threading.Event(), threading.Event()

    def stop_a(real):
        def stop(*args, **kwargs):
            if threading.current_thread().name == "undo-A":
                stopped.set()
                go.wait(60)
            return real(*args, **kwargs)

        return stop

    monkeypatch.setattr(undo_module, "_CLAIM_WAIT", 300.0)  # B waits for A, however slow
    if pause == "create_run":
        real = RunJournal.create_run.__func__
        monkeypatch.setattr(RunJournal, "create_run", classmethod(stop_a(real)))
    else:
        monkeypatch.setattr(undo_module, "later_runs", stop_a(undo_module.later_runs))

    class Waiting(logging.Handler):  # B waits for the run's lock (A holds it)
        def emit(self, record: logging.LogRecord) -> None:
            if "its lock is held elsewhere; waiting" in record.getMessage():
                waiting.set()

    handler = Waiting()
    logging.getLogger("ccpandas").addHandler(handler)
    outcomes: dict[str, object] = {}

    def undo(name: str) -> None:
        try:
            outcomes[name] = ccpandas.undo(result.run_id, client=connect(emu), progress=False)
        except Exception as exc:
            outcomes[name] = exc

    try:
        caplog.set_level("INFO", logger="ccpandas")
        first = threading.Thread(target=undo, args=("A",), name="undo-A")
        first.start()
        assert stopped.wait(60)
        second = threading.Thread(target=undo, args=("B",), name="undo-B")
        second.start()
        while not waiting.wait(0.05) and second.is_alive():
            pass
        go.set()
        first.join(60)
        second.join(60)
    finally:
        go.set()
        logging.getLogger("ccpandas").removeHandler(handler)
    done = {k: v for k, v in outcomes.items() if not isinstance(v, Exception)}
    refused = {k: v for k, v in outcomes.items() if isinstance(v, Exception)}
    assert len(done) == 1 and len(refused) == 1, outcomes
    (winner,), (loser,) = done.values(), refused.values()
    assert isinstance(loser, PlanError) and winner.run_id in str(loser), loser
    assert "nothing was sent" in str(loser) or "undone by run" in str(loser)
    assert adds(emu) == len(winner.runs)  # the winner's adds only
    assert (ccpandas.runs()["parent"] == result.run_id).sum() == 1
    assert winner.ok and acct.members(a) == before


def test_an_undo_of_a_run_another_process_holds_stops_and_says_undo_again(
    cc_emulator_factory, connect, monkeypatch
) -> None:
    # Its verify() or retry elsewhere holds the run: the undo waited for its lock, then
    # stopped with the lock's own advice, "then resume it", wrong for an undo.
    from ccpandas.errors import RunLockedError
    from ccpandas.run import undo as undo_module
    from ccpandas.store.journal import RunJournal, open_journal

    emu, client, _a, _before, result = _small_removal(cc_emulator_factory, connect, 10)
    assert result.ok
    monkeypatch.setattr(undo_module, "_CLAIM_WAIT", 0.0)
    held = RunJournal(open_journal(), result.run_id).hold()
    with held, pytest.raises(RunLockedError, match="held by another process") as info:
        ccpandas.undo(result.run_id, client=client, progress=False)
    assert "undo it again once that ends" in str(info.value)
    assert "resume" not in str(info.value)
    assert adds(emu) == 0 and open_journal().undone_by(result.run_id, sent=False) is None
