"""A run's membership read journals only what the run needs: the members its input
selects (ids as positions into the run's own input) and counts of the rest. A plan made
again from the journal is the live one, figures included; a read continued for another
input is refused before any request."""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest
from test_membership_http import InterruptReading, reads

import ccpandas
from ccpandas import Source
from ccpandas.errors import JournalError, PlanError, SnapshotInterrupted
from ccpandas.plan.compact import Selection
from ccpandas.plan.membership import reads_after
from ccpandas.run.result import rebuild_run
from ccpandas.run.runner import Runner
from ccpandas.store.codec import read_page
from ccpandas.store.journal import open_journal, plan_digest
from ccpandas.store.snapshots import SnapshotJournal

FAST = {"rate": None, "speed": 1_000_000.0}


def _pages(sid: str, keys: list) -> list[tuple[list, object]]:
    """Each page's rows (positions read through ``keys``) and counts."""
    db = open_journal()
    lists = SnapshotJournal(db, sid).list_ids
    blobs = db.query("SELECT members FROM snapshot_pages WHERE snapshot_id = ?", (sid,))
    assert all(bytes(b["members"]).startswith(b"CCJ3") for b in blobs)
    with pytest.raises(JournalError, match="positions into the run's input"):
        read_page(blobs[0]["members"], lists)  # without the input: no ids
    return [read_page(b["members"], lists, keys) for b in blobs]


def _same_plan(live, rebuilt, targets) -> None:
    """Every figure the plan shows and every request it sends."""
    a, b = live.membership, rebuilt.membership
    assert b.snapshot.sizes() == a.snapshot.sizes()
    assert b.snapshot.n_contacts == a.snapshot.n_contacts
    assert reads_after(b, targets) == reads_after(a, targets)
    assert (b.verify_method, b.verify_requests) == (a.verify_method, a.verify_requests)
    assert b.leaving(targets) == a.leaving(targets)
    assert plan_digest(rebuilt.batches) == plan_digest(live.batches)
    # (The journal keeps no address: the rebuilt pairs have none.)
    pd.testing.assert_frame_equal(
        rebuilt.changes.drop(columns="email"), live.changes.drop(columns="email")
    )


@pytest.mark.parametrize("key", ["contact_id", "email"])
def test_a_run_rebuilt_from_its_projected_journal_is_the_live_plan(
    cc_emulator_factory, connect, key
):
    emu = cc_emulator_factory(seed=31, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    before = {t: acct.members(t) for t in targets}
    union = sorted(set().union(*before.values()))
    chosen = union[::10]  # a tenth of the members
    values = chosen if key == "contact_id" else [acct.contact(c).email for c in chosen]
    df = pd.DataFrame({key: values})
    plan = df.cc.plan(targets, key, client=client, snapshot=True)
    snap = plan.membership.snapshot
    # The snapshot holds the segment and counts the rest: the lists' true sizes.
    assert len(snap) == len(chosen) < snap.n_contacts == len(union)
    assert snap.sizes() == {t: len(before[t]) for t in targets}
    # The pages keep the segment's ids as positions into the run's own column: its
    # distinct ids (sorted), or for addresses the rows (each row's contact).
    if key == "contact_id":
        keys = list(Selection.of("contact_id", chosen).keys)
    else:
        keys = plan.rows["contact_id"].tolist()
    pages = _pages(plan.membership.snapshot_id, keys)
    assert len(pages) == math.ceil(len(union) / 500)
    assert sorted(r[0] for rows, _ in pages for r in rows) == chosen
    others = sum(counts.contacts for _, counts in pages)
    assert others == len(union) - len(chosen)
    result = df.cc.remove_from_lists(targets, key, client=client, snapshot=True, progress=False)
    assert result.ok
    rebuilt = rebuild_run(open_journal(), result.run_id, Runner(None))
    _same_plan(result.plan, rebuilt.plan, targets)
    # Without the counts the rebuilt sizes would be the segment's memberships only.
    held = {t: int((snap.lists.has_any([t])).sum()) for t in targets}
    assert held != rebuilt.plan.membership.snapshot.sizes()
    outcomes = rebuilt.changes["outcome"].astype(str)
    assert outcomes.tolist() == result.changes["outcome"].astype(str).tolist()
    assert "removed" in set(outcomes) and "still_member" not in set(outcomes)


def test_a_read_interrupted_is_continued_by_the_same_input_only(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=32, contacts=4000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:3]
    union = sorted(set().union(*(acct.members(t) for t in targets)))
    pages = math.ceil(len(union) / 500)
    assert pages >= 3
    chosen = union[::7]
    df = pd.DataFrame({"contact_id": chosen})
    with pytest.raises(SnapshotInterrupted) as caught:
        df.cc.remove_from_lists(targets, client=client, snapshot=True, progress=InterruptReading(2))
    sid = caught.value.snapshot_id
    assert SnapshotJournal(open_journal(), sid).selection["by"] == "contact_id"

    # Another column (a different segment, or the same contacts as addresses): refused
    # before any request (not even the listing of the lists), naming what to do.
    asked = acct.count()
    other = pd.DataFrame({"contact_id": union[::5]})
    with pytest.raises(PlanError, match=r"read for other input.*snapshot=True"):
        other.cc.plan(targets, client=client, snapshot=sid)
    emails = pd.DataFrame({"email": [acct.contact(c).email for c in chosen]})
    with pytest.raises(PlanError, match=r"snapshot=True"):
        emails.cc.plan(targets, "email", client=client, snapshot=sid)
    with pytest.raises(PlanError, match=r"snapshot=True"):  # a source: every member
        ccpandas.remove_list_memberships(
            client, targets, source=Source.tag_ids([acct.tag_ids()[0]]), snapshot=sid
        )
    assert acct.count() == asked

    # The same contacts (in another order) continue it: only the pages not journaled
    # are read, and the plan is the one a fresh read gives.
    read_before = reads(emu)
    again = df.iloc[::-1].cc.plan(targets, client=client, snapshot=sid)
    assert reads(emu) - read_before == pages - 2
    fresh = df.iloc[::-1].cc.plan(targets, client=client, snapshot=True)
    assert again.membership.snapshot.sizes() == fresh.membership.snapshot.sizes()
    assert again.membership.snapshot.n_contacts == fresh.membership.snapshot.n_contacts
    assert plan_digest(again.batches) == plan_digest(fresh.batches)
    # (Pages continued from the journal know no address.)
    pd.testing.assert_frame_equal(
        again.changes.drop(columns="email"), fresh.changes.drop(columns="email")
    )


def test_the_verification_journals_only_the_runs_contacts(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=33, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    union = sorted(set().union(*(acct.members(t) for t in targets)))
    chosen = union[:40]
    result = pd.DataFrame({"contact_id": chosen}).cc.remove_from_lists(
        targets, client=client, snapshot=True, verify=True, progress=False
    )
    assert result.ok
    after = SnapshotJournal(open_journal(), _after_id(result.run_id))
    assert after.selection["by"] == "run"
    kept = after.members()
    assert kept == []  # every contact of the run left every list: no row to keep
    loaded = rebuild_run(open_journal(), result.run_id, Runner(None))
    assert loaded.after.sizes() == {t: len(acct.members(t)) for t in targets}
    assert loaded.summary_text() == result.summary_text()


def _file_bytes(path) -> bytes:
    """The journal file's bytes, read by another process: opening and closing the file
    here would drop the locks SQLite holds on it in this process (POSIX locks belong to
    the process), and a later run's commit could then be lost to other processes."""
    code = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _after_id(run_id: str) -> str:
    from ccpandas.store.snapshots import run_snapshot_ids

    return run_snapshot_ids(open_journal(), run_id)["after"]


def test_a_read_that_kept_every_member_is_continued_keeping_every_member(
    cc_emulator_factory, connect
):
    # Its pages kept each contact with all its lists: a selection from the second pass
    # of 25 lists on would count a contact of both passes again in the second.
    from ccpandas.read.snapshot import read_snapshot

    emu = cc_emulator_factory(seed=34, contacts=0, **FAST)
    client, acct = connect(emu), emu.account
    lists = [acct.create_list(f"L{i}") for i in range(26)]
    both, chosen = acct.add_contact("both@x.co"), acct.add_contact("chosen@x.co")
    acct.add_members(lists[0], [both, chosen])
    acct.add_members(lists[25], [both])
    with pytest.raises(SnapshotInterrupted) as caught:
        read_snapshot(client, lists, reporter=InterruptReading(1))  # after the first pass
    sid = caught.value.snapshot_id
    assert SnapshotJournal(open_journal(), sid).passes[0]["done"]
    select = Selection.of("contact_id", [chosen])
    snap, _ = read_snapshot(client, lists, snapshot_id=sid, select=select, need_emails=False)
    assert snap.n_contacts == 2
    assert snap.sizes()[lists[25].lower()] == 1 and snap.sizes()[lists[0].lower()] == 2
    assert SnapshotJournal(open_journal(), sid).selection is None
    assert reads(emu) == 2  # a page a pass: the first is not read again


def test_an_email_read_journals_nothing_derived_from_the_addresses(cc_emulator_factory, connect):
    import hashlib

    emu = cc_emulator_factory(seed=35, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    union = sorted(set().union(*(acct.members(t) for t in targets)))
    df = pd.DataFrame({"email": [acct.contact(c).email for c in union[::9]]})
    with pytest.raises(SnapshotInterrupted) as caught:
        df.cc.remove_from_lists(
            targets, "email", client=client, snapshot=True, progress=InterruptReading(2)
        )
    sid = caught.value.snapshot_id
    db = open_journal()
    assert SnapshotJournal(db, sid).selection == {"by": "email", "keys": len(df)}
    # (What the journal kept before: a digest anyone could confirm by guessing.)
    keys = Selection.of_emails(df["email"]).keys
    digest = hashlib.sha256("\n".join(("email", *keys)).encode()).hexdigest()
    (row,) = db.query("SELECT selection FROM snapshots WHERE snapshot_id = ?", (sid,))
    assert digest not in row["selection"] and digest.encode() not in _file_bytes(db.path)

    # Continued (its pages are read again for their addresses): the plan a fresh read
    # gives, for the same column or another one.
    fresh = df.cc.plan(targets, "email", client=client, snapshot=True)
    again = df.cc.plan(targets, "email", client=client, snapshot=sid)
    assert plan_digest(again.batches) == plan_digest(fresh.batches)
    assert again.membership.snapshot.sizes() == fresh.membership.snapshot.sizes()
    pd.testing.assert_frame_equal(again.changes, fresh.changes)
    other = pd.DataFrame({"email": [acct.contact(c).email for c in union[::4]]})
    mixed = other.cc.plan(targets, "email", client=client, snapshot=sid)
    alone = other.cc.plan(targets, "email", client=client, snapshot=True)
    assert plan_digest(mixed.batches) == plan_digest(alone.batches)
    assert SnapshotJournal(db, sid).selection == {"by": "email", "keys": len(other)}

    # Once a run was planned from it, its pages are that run's: refused before a request.
    result = other.cc.remove_from_lists(
        targets, "email", client=client, snapshot=sid, progress=False
    )
    assert result.ok and rebuild_run(db, result.run_id, Runner(None)).changes is not None
    asked = acct.count()
    with pytest.raises(PlanError, match=rf"{result.run_id}.*snapshot=True"):
        df.cc.plan(targets, "email", client=client, snapshot=sid)
    assert acct.count() == asked


def test_a_projected_reads_progress_counts_every_contact(cc_emulator_factory, connect):
    from ccpandas.read.snapshot import read_snapshot
    from ccpandas.report.progress import NullReporter

    class Messages(NullReporter):
        def __init__(self) -> None:
            self.seen: list[str] = []

        def update(self, snapshot) -> None:
            self.seen.append(snapshot.message)

        def finish(self, snapshot) -> None:
            self.seen.append(snapshot.message)

    emu = cc_emulator_factory(seed=36, contacts=3000, **FAST)
    client, acct = connect(emu), emu.account
    targets = acct.list_ids()[:2]
    union = sorted(set().union(*(acct.members(t) for t in targets)))
    rec = Messages()
    snap, _ = read_snapshot(
        client, targets, reporter=rec, select=Selection.of("contact_id", union[:40])
    )
    assert len(snap) == 40 and snap.n_contacts == len(union)
    pages = math.ceil(len(union) / 500)
    assert rec.seen[-1] == f"read list members: {pages} pages, {len(union):,} contacts"
    assert rec.seen[0] == "reading list members: page 1, 500 contacts"
