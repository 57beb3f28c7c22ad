"""Snapshots as compact codes: the CSR lists, the page-by-page builder, and plans whose
pairs are small integers, with the same answers as the plain Python reading of them."""

from __future__ import annotations

import gc
import tracemalloc
import uuid

import numpy as np
import pandas as pd
import pytest

from ccpandas.plan import changes, compact
from ccpandas.plan.compact import Ragged, SnapshotBuilder, bincount
from ccpandas.plan.membership import MembershipSnapshot, plan_membership_removal


def _records(n: int, n_lists: int, seed: int = 0) -> tuple[list[str], list[dict]]:
    rng = np.random.default_rng(seed)
    lists = [str(uuid.UUID(int=int(x))) for x in rng.integers(1 << 60, 1 << 62, n_lists + 2)]
    recs = []
    for i in range(n):
        on = [lists[j] for j in rng.permutation(n_lists + 2)[: rng.integers(0, n_lists + 2)]]
        recs.append(
            {
                "contact_id": str(uuid.UUID(int=int(rng.integers(1, 1 << 62)))),
                "email": f"User{i}@Example.com" if i % 2 else f"user{i}@example.com",
                "status": "active" if i % 3 else "unsubscribed",
                "lists": on,
                "tags": ["T1"] if i % 4 == 0 else [],
            }
        )
    return lists[:n_lists], recs


def test_ragged_reads_like_the_tuples_it_was_made_from(monkeypatch) -> None:
    monkeypatch.setattr(compact, "_CHUNK", 3)  # iteration crosses several chunks
    values = [("a", "b"), (), None, ("b",), ("c", "a", "c"), ("a",), ()]
    r = Ragged.from_tuples(values)
    expected = [tuple(v or ()) for v in values]
    assert list(r) == expected
    assert [r[i] for i in range(len(r))] == expected
    assert r[-3] == ("c", "a", "c") and r[1:3] == [(), ()]
    assert r.codes.dtype == np.int16 and len(r.table) == 3
    assert r.has_any({"c"}).tolist() == [False, False, False, False, True, False, False]
    with pytest.raises(IndexError):
        r[7]


def test_a_snapshot_answers_as_its_records_say(monkeypatch) -> None:
    monkeypatch.setattr(compact, "_CHUNK", 7)  # masks and targets built over many slices
    targets, recs = _records(300, 30)
    snap = MembershipSnapshot.from_records(targets, recs)
    on = {r["contact_id"]: set(r["lists"]) for r in recs}
    assert snap.n_pairs == sum(len(s & set(targets)) for s in on.values())
    for lid in targets[:5]:
        assert snap.members(lid) == {c for c, s in on.items() if lid in s}
    assert snap.sizes() == {lid: sum(lid in s for s in on.values()) for lid in targets}
    cols = [3, 0, 17]
    masks = snap.masks(cols)
    for k, cid in enumerate(snap.contact_ids.tolist()):
        want = sum(1 << b for b, j in enumerate(cols) if targets[j] in on[cid])
        assert int(masks[k]) == want
    # Stored compact: 2 bytes a membership, positions of target lists as int16.
    assert snap.lists.codes.dtype == np.int16
    owner, target = snap.member_matrix()
    assert owner.dtype == np.int32 and target.dtype == np.int16


def test_the_builder_keeps_the_first_record_of_a_contact_and_forgets_a_pass() -> None:
    b = SnapshotBuilder().extend(
        [
            {"contact_id": "C1", "status": "active", "lists": ["L1", "L2"], "tags": ["T"]},
            {"contact_id": "c2", "status": "active", "lists": ["l3"], "tags": []},
            {"contact_id": "c1", "status": "deleted", "lists": ["l3"], "tags": []},
            {"contact_id": "c3", "status": "temp_hold", "lists": ["l2"], "tags": ["t"]},
        ]
    )
    assert b.contact_ids == ["c1", "c2", "c3"]
    assert list(b.columns()["lists"]) == [("l1", "l2"), ("l3",), ("l2",)]
    b.drop_lists(["L2"])  # the pass of l2 is read again: its members are forgotten
    cols = b.columns()
    assert cols["contact_ids"].tolist() == ["c2"] and list(cols["tags"]) == [()]
    b.set_statuses(["not_active"])
    assert b.add({"contact_id": "c1", "status": "active", "lists": ["l1"]})  # back in
    snap = MembershipSnapshot.from_records(["l1", "l3"], b)
    assert snap.sizes() == {"l1": 1, "l3": 1} and snap.statuses.tolist() == ["not_active", "active"]


def test_chunked_counts_and_batches_match_the_whole_arrays(monkeypatch) -> None:
    codes = np.random.default_rng(3).integers(0, 40, 10_000).astype(np.int16)
    monkeypatch.setattr(compact, "_CHUNK", 999)
    assert bincount(codes, 50).tolist() == np.bincount(codes, minlength=50).tolist()
    targets, recs = _records(1_200, 60, seed=5)  # two list groups of 50
    snap = MembershipSnapshot.from_records(targets, recs)
    seg = pd.Series([r["email"] for r in recs[::2]])
    whole = plan_membership_removal(seg, targets, snap)
    monkeypatch.setattr(changes, "_PAIR_CHUNK", 13)
    sliced = plan_membership_removal(seg, targets, snap)
    assert sliced.batches == whole.batches
    cs = sliced.membership.change_set
    np.testing.assert_array_equal(cs.pair_batch, whole.membership.change_set.pair_batch)
    assert sliced.rows["batch"].equals(whole.rows["batch"])
    assert cs.pair_contact.dtype == np.int32 and cs.pair_list.dtype == np.int16
    assert cs.pair_batch.dtype == np.int32 and cs.action.dtype == np.int8
    # Each contact's first batch is the lowest that carries one of its pairs.
    for cid, batch in zip(sliced.rows["contact_id"], sliced.rows["batch"], strict=True):
        mine = cs.pair_batch[cs.pair_contact == list(cs.contact_ids).index(cid)]
        sent = mine[mine >= 0]
        assert (batch if pd.notna(batch) else -1) == (sent.min() if len(sent) else -1)


def test_a_snapshot_plan_holds_under_40_bytes_a_pair() -> None:
    # 6,000 contacts on 20 of 40 lists (120,000 pairs), half of them in the segment.
    rng = np.random.default_rng(7)
    lists = [str(uuid.UUID(int=int(x))) for x in rng.integers(1 << 60, 1 << 62, 40)]
    recs = [
        {
            "contact_id": str(uuid.UUID(int=int(rng.integers(1, 1 << 62)))),
            "email": f"user{i}@example.com",
            "status": "active",
            "lists": [lists[j] for j in rng.choice(40, 20, replace=False)],
            "tags": [],
        }
        for i in range(6_000)
    ]
    seg = pd.Series([r["email"] for r in recs[::2]])
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        snap = MembershipSnapshot.from_records(lists, SnapshotBuilder().extend(recs))
        plan = plan_membership_removal(seg, lists, snap)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert snap.n_pairs == 120_000 and plan.n_requests > 0
    assert held / snap.n_pairs < 40, f"{held / snap.n_pairs:.1f} bytes per pair"


def test_a_selection_keeps_its_members_and_counts_the_others_once() -> None:
    from ccpandas.plan.compact import PageCounts, Selection

    sel = Selection.of("contact_id", ["c2", "c2"])
    assert sel.keys == ("c2",) and sel.fingerprint != Selection.of("email", ["c2"]).fingerprint
    recs = [
        {"contact_id": "c1", "status": "active", "lists": ["l1", "l3", "x"], "tags": ["t"]},
        {"contact_id": "c2", "status": "active", "lists": ["l1", "l3", "x"], "tags": ["t"]},
        {"contact_id": "c3", "status": "active", "lists": ["l3"], "tags": []},
    ]
    targets = frozenset({"l1", "l2", "l3"})
    # Pass 0 over l1, l2; pass 1 over l3 reads c1 and c2 again (they are on l3 too).
    kept0, first = sel.split(recs[:2], ["l1", "l2"], frozenset(), targets)
    kept1, second = sel.split(recs, ["l3"], frozenset({"l1", "l2"}), targets)
    assert [r["lists"] for r in kept0] == [["l1", "l3"]] and kept0[0]["tags"] == []
    assert first == PageCounts((1, 0), contacts=1, new=1)
    assert second == PageCounts((2,), contacts=2, new=1)  # c1 was counted in pass 0
    b = SnapshotBuilder().extend(kept0).extend(kept1)
    b.count_others(0, ["l1", "l2"], first)
    b.count_others(1, ["l3"], second)
    snap = MembershipSnapshot.from_records(["l1", "l2", "l3"], b)
    assert len(snap) == 1 and snap.n_contacts == 3
    assert snap.sizes() == {"l1": 2, "l2": 0, "l3": 3}
    assert snap.others.per_pass == (1, 2)
    b.forget_pass(1, ["l3"])  # its cursor expired: read again from its start
    assert b.others().per_pass == (1,) and len(b) == 0


def test_an_email_selection_builds_its_arrow_keys_once(monkeypatch) -> None:
    # A read matches every page against the input's addresses: converting a million
    # of them per page took longer than reading the page.
    import pyarrow as pa

    sel = compact.Selection.of_emails([f"u{i}@x.co" for i in range(50)])
    real, built = pa.array, []

    def spy(obj, *args, **kwargs):
        built.append(obj is sel.keys)
        return real(obj, *args, **kwargs)

    monkeypatch.setattr(pa, "array", spy)
    page = [{"contact_id": f"c{i}", "email": f"U{i}@x.co "} for i in range(0, 100, 3)]
    first, second = sel.picks(page), sel.picks(page[::-1])
    assert first.tolist() == [i < 50 for i in range(0, 100, 3)] == second.tolist()[::-1]
    assert sum(built) == 1
    assert sel.key_array is sel.key_array
