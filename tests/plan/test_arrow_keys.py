"""Issue 23, section 4: planning in Arrow. Email addresses are normalised, numbered and
matched to the snapshot by Arrow kernels, ids are matched by an Arrow lookup, and the
per-row statuses do not depend on the column's dtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccpandas.plan import keys, membership
from ccpandas.plan.changes import REMOVE
from ccpandas.plan.ids import first_rows, first_rows_any
from ccpandas.plan.keys import (
    arrow_text,
    email_keys,
    factorize_in,
    factorize_text,
    folded,
    positions,
)
from ccpandas.plan.membership import MembershipSnapshot, plan_membership_removal

L1 = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
L2 = "7f3c2b1a-0e9d-4c8b-a7f6-5e4d3c2b1a09"
ANN = "8b54d1f4-5b0e-11ee-8c99-0242ac120002"
BOB = "8b54d1f4-5b0e-11ee-8c99-0242ac120003"
EVE = "8b54d1f4-5b0e-11ee-8c99-0242ac120004"

VALUES = [" Ann@Example.COM", "bob@x.org\t", "ann@example.com", "zed@nowhere.example",
          "mailto:bob@x.org", "no at sign", "", None, "BOB@X.ORG"]  # fmt: skip
STATUSES = ["planned", "planned", "duplicate", "not_a_member", "invalid_email",
            "invalid_email", "missing", "missing", "duplicate"]  # fmt: skip
DTYPES = [
    object,
    "str",
    "string[python]",
    "string[pyarrow]",
    pd.ArrowDtype(pa.large_string()),
    pd.ArrowDtype(pa.dictionary(pa.int32(), pa.string())),
    "category",
]


def _snapshot() -> MembershipSnapshot:
    return MembershipSnapshot.from_records(
        [L1, L2],
        [
            {"contact_id": ANN, "email": "ann@Example.com", "lists": [L1]},
            {"contact_id": BOB, "email": " Bob@X.org", "lists": [L1, L2]},
            {"contact_id": EVE, "email": "eve@x.org", "lists": [L2]},
        ],
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_text_dtype_plans_the_same_statuses_and_pairs(dtype) -> None:
    plan = plan_membership_removal(pd.Series(VALUES, dtype=dtype), [L1, L2], _snapshot())
    assert plan.rows["plan_status"].astype(str).tolist() == STATUSES
    assert plan.rows["contact_id"].tolist()[:3] == [ANN, BOB, ANN]
    assert plan.rows["duplicate_of"].tolist()[2] == 0 and plan.rows["duplicate_of"][8] == 1
    cs = plan.membership.change_set
    sel = cs.action == REMOVE
    pairs = zip(cs.pair_contact[sel], cs.pair_list[sel], strict=True)
    assert {(cs.contact_ids[c], cs.list_ids[j]) for c, j in pairs} == {
        (ANN, L1), (BOB, L1), (BOB, L2)}  # fmt: skip
    assert plan.membership.leaving([L1, L2]) == {L1: 2, L2: 1}


def test_values_that_are_not_text_are_invalid_or_missing() -> None:
    values = pd.Series(["ann@example.com", 5, float("nan"), pd.NA, b"x@y.co"], dtype=object)
    plan = plan_membership_removal(values, [L1, L2], _snapshot(), by="email")
    assert plan.rows["plan_status"].astype(str).tolist() == [
        "planned", "invalid_email", "missing", "missing", "invalid_email"]  # fmt: skip


def test_planning_addresses_makes_no_python_string_per_row(monkeypatch) -> None:
    # The object-returning normaliser and the object index of the snapshot's addresses
    # are what made 1M addresses slower than plain pandas: planning uses neither.
    def refuse(*args, **kwargs):
        raise AssertionError("planning went through Python objects")

    monkeypatch.setattr(membership, "normalize_emails", refuse)
    monkeypatch.setattr(MembershipSnapshot, "index", property(refuse))
    values = pd.Series(VALUES, dtype="str")
    plan = plan_membership_removal(values, [L1, L2], _snapshot(), by="email")
    assert plan.rows["plan_status"].astype(str).tolist() == STATUSES
    ids = pd.Series([ANN, EVE.upper(), "nope"], dtype="str")
    plan = plan_membership_removal(ids, [L1, L2], _snapshot(), by="contact_id")
    assert plan.rows["plan_status"].astype(str).tolist() == ["planned", "planned", "invalid_id"]


def test_a_snapshot_with_unknown_addresses_still_matches_the_known_ones() -> None:
    # Pages continued from the journal carry no address: several None (the object
    # index of old refused to look anything up in a table with repeats).
    snap = MembershipSnapshot.from_records(
        [L1],
        [
            {"contact_id": ANN, "email": "a@b.co", "lists": [L1]},
            {"contact_id": BOB, "email": None, "lists": [L1]},
            {"contact_id": EVE, "email": None, "lists": [L1]},
        ],
    )
    plan = plan_membership_removal(pd.Series(["A@b.co ", "c@d.co"]), [L1], snap)
    assert plan.rows["plan_status"].astype(str).tolist() == ["planned", "not_a_member"]
    assert plan.rows["contact_id"].tolist() == [ANN, None]


def test_keys_number_in_order_of_first_appearance_and_look_up_the_first() -> None:
    keys, valid, missing = email_keys(pd.Series(["B@x.co", "a@x.co", "b@X.co ", "junk", None]))
    codes, uniques = factorize_text(keys)
    assert codes.tolist() == [0, 1, 0, -1, -1]
    assert uniques.to_pylist() == ["b@x.co", "a@x.co"]
    assert valid.tolist() == [True, True, True, False, False]
    assert missing.tolist() == [False, False, False, False, True]
    table = folded(np.array([" A@X.co", None, "b@x.co", "a@x.co"], dtype=object))
    assert positions(table, uniques).tolist() == [2, 0]
    assert positions(table, pa.array([], pa.string())).tolist() == []


_TEXTS = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "dé", "é", "", "abc"])))


@pytest.mark.parametrize("part_rows", [100_000, 1, 3])  # one hash table, or many
@settings(max_examples=60)
@given(arr=_TEXTS, table=_TEXTS)
def test_one_encoding_numbers_and_looks_up_as_the_two_steps_do(part_rows, arr, table) -> None:
    """factorize_in (one hash table over both, split in parts when large) gives each
    string of arr one code (any order) and the first position in the table, as
    factorize_text, then positions, do: nulls and repeats included."""
    old = keys._PART_ROWS
    keys._PART_ROWS = part_rows
    try:
        arr_a, table_a = pa.array(arr, pa.string()), pa.array(table, pa.string())
        codes, uniques, found = factorize_in(arr_a, table_a)
    finally:
        keys._PART_ROWS = old
    want_codes, want_uniques = factorize_text(arr_a)
    assert ((codes >= 0) == (want_codes >= 0)).all()
    assert [uniques[c].as_py() if c >= 0 else None for c in codes] == arr
    distinct = {c: w for c, w in zip(codes.tolist(), want_codes.tolist(), strict=True)}
    assert len(set(distinct.values())) == len(distinct)  # one code per string, no merge
    want_found = positions(table_a, want_uniques)
    assert [found[c] if c >= 0 else -2 for c in codes.tolist()] == [
        want_found[w] if w >= 0 else -2 for w in want_codes.tolist()
    ]
    assert first_rows_any(codes).tolist() == first_rows(want_codes).tolist()


def test_arrow_text_reads_arrow_columns_without_a_copy() -> None:
    column = pd.Series(["a@b.co", None], dtype=pd.ArrowDtype(pa.string()))
    text, na = arrow_text(column)
    assert na.tolist() == [False, True]
    source = pa.array(column.array)
    source = source.chunk(0) if isinstance(source, pa.ChunkedArray) else source
    assert text.buffers()[2].address == source.buffers()[2].address  # the same bytes
    text, na = arrow_text(pd.Series([1.5, None]))
    assert text.to_pylist() == [None, None] and na.tolist() == [False, True]
