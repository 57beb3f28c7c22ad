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
