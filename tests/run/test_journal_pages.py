"""The journal's snapshot pages: compact (UUID bytes or positions into the run's input,
list ids as indices into the snapshot's lists, small codes, the counts of the members
not kept, zlib), exact, and pages of the previous formats still read; a damaged page is
a clear JournalError."""

from __future__ import annotations

import base64
import json
import random
import zlib

import pytest

import ccpandas
from ccpandas.emulator.seed import uuid1
from ccpandas.errors import JournalError
from ccpandas.plan.compact import PageCounts
from ccpandas.read.snapshot import read_snapshot
from ccpandas.store.codec import PAGE_MAGIC, decode_page, encode_page, read_page
from ccpandas.store.journal import open_journal
from ccpandas.store.snapshots import SnapshotJournal, load_snapshot


def _ids(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [uuid1(rng) for _ in range(n)]


def _page(n: int, lists: list[str], seed: int = 1, shuffle: bool = True) -> list[list]:
    """``n`` contacts on every list of ``lists`` (in any order when ``shuffle``)."""
    rng = random.Random(seed)
    tags = [uuid1(rng) for _ in range(5)]
    return [
        [
            uuid1(rng),
            rng.choice(["active", "unsubscribed", "temp_hold"]),
            rng.sample(lists, len(lists)) if shuffle else list(lists),
            rng.sample(tags, rng.randint(0, 2)),
        ]
        for _ in range(n)
    ]


def _old_blob(rows: list[list]) -> bytes:
    """A page as the previous version wrote it."""
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 1)


def test_a_page_reads_back_exactly_whatever_its_ids() -> None:
    lists = _ids(3, 9)
    rows = [
        *_page(40, lists),
        ["C1", None, ["l9", lists[0]], []],  # not a UUID: ids kept as text
        [lists[0].upper(), "active", [], ["T"]],  # not canonical: text too
    ]
    for page in (rows, rows[:40], []):
        blob = encode_page(page, lists)
        assert blob.startswith(PAGE_MAGIC)
        assert decode_page(blob, lists) == page
    many = [[f"c{i}", "active", [f"x{i}"], []] for i in range(300)]  # 300 other lists
    assert decode_page(encode_page(many, []), []) == many


@pytest.mark.parametrize("n_lists", [1, 50])
def test_a_page_of_500_contacts_is_several_times_smaller(n_lists: int) -> None:
    lists = _ids(n_lists, n_lists)
    rows = _page(500, lists, shuffle=False)
    new, old = len(encode_page(rows, lists)), len(_old_blob(rows))
    # 500 random 128-bit ids are 8,000 bytes that no compression removes.
    assert new < 9_500 and new * (1.5 if n_lists == 1 else 3.5) < old, (new, old)


def _journal_with(blob: bytes, lists: list[str]) -> tuple[object, str]:
    db = open_journal()
    sj = SnapshotJournal.create(db, lists, base_url=None)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO snapshot_pages (snapshot_id, pass, page, members) VALUES (?, 0, 0, ?)",
            (sj.snapshot_id, blob),
        )
    sj.complete()
    return db, sj.snapshot_id


def test_a_page_of_the_previous_format_still_loads() -> None:
    lists = _ids(2, 4)
    rows = _page(30, lists)
    db, sid = _journal_with(_old_blob(rows), lists)
    snap = load_snapshot(db, sid, lists, {})
    assert snap.contact_ids.tolist() == [r[0] for r in rows]
    assert [list(x) for x in snap.lists] == [r[2] for r in rows]
    assert SnapshotJournal(db, sid).members() == rows


def test_a_damaged_page_is_a_journal_error() -> None:
    lists = _ids(1, 5)
    blob = encode_page(_page(10, lists), lists)
    db, sid = _journal_with(blob[:-20], lists)
    with pytest.raises(JournalError, match="cannot be read"):
        load_snapshot(db, sid, lists, {})


def test_a_journaled_read_loads_as_it_was_read(emu) -> None:
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    targets = emu.account.list_ids()[:2]
    snap, sid = read_snapshot(client, targets, need_emails=False)
    db = open_journal()
    blobs = db.query("SELECT members FROM snapshot_pages WHERE snapshot_id = ?", (sid,))
    assert len(blobs) >= 2 and all(bytes(b["members"]).startswith(PAGE_MAGIC) for b in blobs)
    back = load_snapshot(db, sid, targets, {})
    assert back.contact_ids.tolist() == snap.contact_ids.tolist()
    assert back.statuses.tolist() == snap.statuses.tolist()
    assert list(back.lists) == list(snap.lists) and list(back.tags) == list(snap.tags)
    assert back.sizes() == snap.sizes() == {t: len(emu.account.members(t)) for t in targets}
    client.close()


def test_a_page_with_counts_and_positions_reads_back_exactly() -> None:
    lists = _ids(3, 11)
    rows = [[r[0], r[1], r[2], []] for r in _page(40, lists)]
    keys = sorted(r[0] for r in rows)
    at = [keys.index(r[0]) for r in rows]
    counts = PageCounts(lists=(7, 0, 3), contacts=9, new=6)
    blob = encode_page(rows, lists, counts=counts, positions=at)
    assert read_page(blob, lists, keys) == (rows, counts)
    # 40 positions of one byte, not 40 ids of 16: well under the ids alone.
    assert len(blob) < 40 * 16 < len(encode_page(rows, lists, counts=counts))
    with pytest.raises(JournalError, match="positions into the run's input"):
        read_page(blob, lists)
    # Positions that point at no contact id (another input) are refused too.
    with pytest.raises(JournalError, match="cannot be read"):
        read_page(blob, lists, [None] * len(keys))
    # A page that keeps every member has no counts.
    assert read_page(encode_page(rows, lists), lists) == (rows, None)


#: A page as the CCJ2 encoder wrote it (commit 56babb4), of ``CCJ2_ROWS`` on ``CCJ2_LISTS``.
CCJ2_PAGE = (
    "Q0NKMnicNZDdSgQxDIVnV119jlxPoGk7/Vm8E59CvGjSFAaGFXZ2RBDf3Q4iuTmEQ86X83oYhm+4"
    "wNmPsG1zhXMry6ojzHWF8xtkTmQ0BgwqGcmmgMVJwWRTrVPz7NjCCGbioEEdmlg9klbBTN4hUXYa"
    "xDXncre5JEZSq5giWaTE0lVo6GKKnCvFrKbbXgjeR9Cv27XsDEVu86f2/XZZN17lOrNWGC/bsoyw"
    "7HdJbVNOGT15wR7c442NKL6SuBSYxXeb1EBOncGaGiGV2jolR5ySL9aGialNO+XELWdbUbL2nwP1"
    "n8kqxpBDCaIixDugfFTtJcHzRvBzPN7dH4e/6Z0eDsPDvx5Oj6en0y9jQVft"
)
CCJ2_LISTS = ["87751d4c-a850-1e2c-84dc-da6a797d76de", "61b339ff-2481-14e5-998b-88dbaa99e079"]
CCJ2_ROWS = [
    [
        "9b810e76-6ec9-1286-a3ca-828dd5f4b3b2",
        "active",
        [CCJ2_LISTS[1], CCJ2_LISTS[0]],
        ["1e2feb89-414c-143c-9027-c4d1c386bbc4", "cd613e30-d8f1-1adf-91b7-584a2265b1f5"],
    ],
    [
        "05b6e6e3-07d4-1edc-9143-1193e6c3f339",
        "active",
        [CCJ2_LISTS[0], CCJ2_LISTS[1]],
        ["1e2feb89-414c-143c-9027-c4d1c386bbc4", "35bf992d-c9e9-1616-a12e-7696a6cecc1b"],
    ],
    [
        "38c0c8fd-8712-18bc-876f-3787b9d179e0",
        "unsubscribed",
        [CCJ2_LISTS[1], CCJ2_LISTS[0]],
        ["1e2feb89-414c-143c-9027-c4d1c386bbc4"],
    ],
    ["C1", None, ["l9", CCJ2_LISTS[0]], []],  # not a UUID: kept as text
]


def test_a_page_of_the_ccj2_format_still_loads() -> None:
    blob = base64.b64decode(CCJ2_PAGE)  # fixed bytes: not today's encoder under old magic
    assert blob.startswith(b"CCJ2")
    assert read_page(blob, CCJ2_LISTS) == (CCJ2_ROWS, None)
    db, sid = _journal_with(blob, CCJ2_LISTS)
    assert SnapshotJournal(db, sid).members() == CCJ2_ROWS
    snap = load_snapshot(db, sid, CCJ2_LISTS, {})
    assert snap.sizes() == {CCJ2_LISTS[0]: 4, CCJ2_LISTS[1]: 3} and snap.others.contacts == 0


def test_a_stand_in_for_a_value_json_cannot_hold_equals_only_its_like() -> None:
    # A value JSON could not hold comes back as a stand-in of the same repr (result.rows
    # of a run read back): equal to the same stand-in only, never to mock.ANY, and one
    # answer against an array, not one per element (found by review of a refactor).
    import dataclasses
    import unittest.mock

    import numpy as np

    from ccpandas.store.codec import _opaque_type

    decimal, other = _opaque_type("Decimal"), _opaque_type("Fraction")
    a, b = decimal("Decimal('1')"), decimal("Decimal('1')")
    assert a == b and hash(a) == hash(b) and {a, b} == {a} and repr(a) == "Decimal('1')"
    assert a != other("Decimal('1')") and hash(a) != hash(other("Decimal('1')"))
    assert (a == unittest.mock.ANY) is False
    assert (a == np.array([b], dtype=object)) is False
    assert not dataclasses.is_dataclass(a)
