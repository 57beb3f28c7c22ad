"""``by="auto"`` decides from a bounded sample of a long column, and from the whole
column when the sample holds too few values to tell."""

from __future__ import annotations

import uuid

import pandas as pd

from ccpandas.plan import membership
from ccpandas.plan.membership import detect_key


def test_a_long_id_column_is_told_from_a_sample(monkeypatch) -> None:
    ids = pd.Series([str(uuid.uuid4()) for _ in range(30_000)])
    seen: list[int] = []
    real = membership.normalize_emails

    def spy(values: pd.Series):
        seen.append(len(values))
        return real(values)

    monkeypatch.setattr(membership, "normalize_emails", spy)
    assert detect_key(ids) == "contact_id"
    assert seen == [membership._KEY_SAMPLE]  # never the whole column


def test_a_sparse_column_falls_back_to_the_whole_column() -> None:
    values = [None] * 50_000
    for i in range(3, 50_000, 500):  # 100 addresses, most of them between sample points
        values[i] = f"user{i}@example.com"
    assert detect_key(pd.Series(values, dtype=object)) == "email"


def test_a_snapshot_holds_each_list_id_once() -> None:
    # 1M memberships of 20 lists: 126 -> 41 bytes per (member, list) pair.
    snap = membership.MembershipSnapshot.from_records(
        ["L1"],
        [{"contact_id": f"c{i}", "lists": ["L1", "L2"], "tags": ["T"]} for i in range(3)],
    )
    assert snap.lists[0] == ("l1", "l2")
    assert all(a is b for a, b in zip(snap.lists[0], snap.lists[2], strict=True))
    assert snap.tags[0][0] is snap.tags[1][0]


def test_a_plan_of_addresses_speaks_of_addresses() -> None:
    # Issue 21: headed "RemovalPlan (contact_ids, ...)", "invalid 0" above "invalid
    # emails 40", and "without snapshot 14 removal requests" for input that needs one.
    lid = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
    snap = membership.MembershipSnapshot.from_records(
        [lid],
        [{"contact_id": "8b54d1f4-5b0e-11ee-8c99-0242ac120002", "email": "a@b.co", "lists": [lid]}],
    )
    plan = membership.plan_membership_removal(pd.Series(["a@b.co", "junk"]), [lid], snap)
    text = str(plan)
    assert text.startswith("RemovalPlan (email addresses, nothing sent yet)")
    assert "invalid emails   1" in text
    assert "\n  invalid  " not in text and "without snapshot" not in text
