"""The pure part of an undo: pairs decided from a fresh read, batches grouped by list
set in the fewest requests, the preview's text."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ccpandas.models import MAX_LISTS_PER_CONTACT, MembershipAction
from ccpandas.plan.undo import (
    add_batches,
    decide_undo,
    min_add_requests,
    plan_undo,
    undo_changes,
)

LISTS = [f"l{i}" for i in range(60)]


def _pairs(rows):
    return pd.DataFrame(rows, columns=["contact_id", "list_id"])


def test_every_reason_is_decided_and_nothing_dropped() -> None:
    pairs = _pairs(
        [
            ("gone", "l0"),
            ("c1", "dead"),
            ("c1", "l0"),
            ("back", "l0"),
            ("full", "l0"),
            ("full", "l1"),
            ("u", "l1"),
        ]
    )
    now = {
        "gone": ("deleted", ()),
        "c1": ("active", ()),
        "back": ("active", ("l0",)),
        # 49 lists now: room for one more, the first in target order.
        "full": ("active", tuple(f"x{i}" for i in range(MAX_LISTS_PER_CONTACT - 1))),
        "u": ("unsubscribed", ()),
    }
    d = decide_undo(pairs, live_lists={"l0", "l1"}, contacts=now, list_order=["l0", "l1"])
    assert len(d) == len(pairs)
    assert d["decision"].tolist() == [
        "cannot_restore",
        "cannot_restore",
        "restore",
        "already_member",
        "restore",
        "cannot_restore",
        "restore",
    ]
    assert d["reason"].tolist() == ["deleted", "list_deleted", None, None, None, "list_limit", None]
    plan = plan_undo(d, "r1", ["l0", "l1"], {"l0": "News", "l1": "Shop"})
    assert plan.restore_per_list() == {"News": 2, "Shop": 1}
    assert plan.unsubscribed == 1
    text = str(plan)
    assert "News 2, Shop 1" in text and "cannot be restored" in text
    assert "the contact was deleted since the removal" in text
    assert "stay unsubscribed" in text and "UndoPlan" in plan._repr_html_()
    # A contact missing from the read is gone: deleted.
    d2 = decide_undo(_pairs([("ghost", "l0")]), live_lists={"l0"}, contacts={})
    assert d2["reason"].tolist() == ["deleted"]


def test_batches_group_identical_list_sets_and_split_at_500_and_50() -> None:
    both = [(f"b{i:04d}", lid) for i in range(1001) for lid in ("l0", "l1")]
    wide = [(f"w{i}", lid) for i in range(3) for lid in LISTS]  # 60 lists: 2 groups
    batches = add_batches(both + wide, LISTS)
    assert len(batches) == math.ceil(1001 / 500) + 2 == min_add_requests(both + wide)
    assert all(b.action is MembershipAction.ADD for b in batches)
    assert [b.index for b in batches] == list(range(len(batches)))
    assert all(len(b.source.values) <= 500 and len(b.list_ids) <= 50 for b in batches)
    assert batches[0].to_json()["list_ids"] == ["l0", "l1"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 40), st.sampled_from(LISTS[:55])), min_size=1, max_size=400)
)
def test_batches_carry_each_pair_exactly_once_in_the_minimum(raw) -> None:
    pairs = sorted({(f"c{c}", lid) for c, lid in raw})
    batches = add_batches(pairs, LISTS)
    carried = [(cid, lid) for b in batches for cid in b.source.values for lid in b.list_ids]
    assert sorted(carried) == pairs  # each exactly once: nobody extra, nobody missing
    assert len(batches) == min_add_requests(pairs)
    # Planning again gives the same batches (what resume relies on).
    assert [b.to_json() for b in add_batches(list(reversed(pairs)), LISTS)] == [
        b.to_json() for b in batches
    ]


def test_changes_outcomes_from_states_and_the_reread() -> None:
    d = decide_undo(
        _pairs([("a", "l0"), ("b", "l0"), ("c", "l0")]),
        live_lists={"l0"},
        contacts={"a": ("active", ()), "b": ("active", ()), "c": ("active", ("l0",))},
    )
    plan = plan_undo(d, "r1", ["l0"], {})
    assert plan.n_requests == 1
    assert undo_changes(plan, ["processing"], None)["outcome"].tolist() == [
        "processing",
        "processing",
        "already_member",
    ]
    assert undo_changes(plan, ["completed"], None)["outcome"].tolist()[:2] == ["unverified"] * 2
    ch = undo_changes(plan, ["completed"], {("a", "l0"), ("c", "l0")})
    assert ch["outcome"].tolist() == ["restored", "not_restored", "already_member"]
    assert ch["reason"].iloc[1] and ch["reason"].iloc[0] is None


def test_the_cost_line_of_an_undo_says_change_requests_when_it_also_removes() -> None:
    """The undo of a sync sends adds (the removed pairs back) and removals (the added
    pairs off): its cost line does not call them all "add requests"."""
    pairs = _pairs([("gone1", "l0"), ("new1", "l0")]).assign(undo_action=["add", "remove"])
    now = {"gone1": ("active", ()), "new1": ("active", ("l0",))}
    d = decide_undo(pairs, live_lists={"l0"}, contacts=now, list_order=["l0"])
    assert d["decision"].tolist() == ["restore", "remove"]
    both = plan_undo(d, "r1", ["l0"], {"l0": "News"}, read_requests=1)
    assert {b.action for b in both.batches} == {MembershipAction.ADD, MembershipAction.REMOVE}
    assert "+ 2 change requests +" in str(both) and "add request" not in str(both)
    only_back = plan_undo(d.iloc[[0]], "r1", ["l0"], {"l0": "News"})
    assert "+ 1 add request +" in str(only_back)


def test_the_undo_time_holds_its_reads_and_the_wait_for_its_activities() -> None:
    # 1 add of 1 contact at 4 requests/s: the POST at 0 s; its activity ends at 0.2505 s
    # (0.25 s start delay), so the poll at 0.25 s sees it waiting and the one 1 s later
    # ended; then the verification's read, 0.25 s: where the requests alone made 0.5 s
    pairs = _pairs([("gone1", "l0")]).assign(undo_action=["add"])
    now = {"gone1": ("active", ())}
    d = decide_undo(pairs, live_lists={"l0"}, contacts=now, list_order=["l0"])
    plan = plan_undo(d, "r1", ["l0"], {"l0": "News"}, read_requests=1)
    assert (plan.check_requests, plan.n_requests, plan.read_requests) == (0, 1, 1)
    assert plan.expected_polls == 2
    assert plan.seconds == 1.25 + 0.25
    assert "about 2 s at 4/s" in str(plan)


def test_a_plan_member_that_fails_inside_shows_its_own_error() -> None:
    # RemovalPlan forwards names it lacks to a kind's part (__getattr__); a property of
    # the plan that raised AttributeError inside came out as "no attribute" instead.
    import dataclasses

    import pytest

    from ccpandas.plan.planner import plan_removal

    class Broken:
        known = True

        @property
        def verify_requests(self) -> int:
            raise AttributeError("the membership part lost its reads")

    plan = plan_removal(
        pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]), "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
    )
    with pytest.raises(AttributeError, match="the membership part lost its reads"):
        dataclasses.replace(plan, membership=Broken()).verify_requests  # noqa: B018
    assert not hasattr(plan, "later_runs")  # a removal has no undo part


def test_an_undo_of_no_pair_claims_no_direction() -> None:
    # An empty set's all() is True: an undo of no pair (an earlier version journaled
    # some) said to "add those contacts again with a new add", of a removal too.
    d = decide_undo(_pairs([("a", "l0")]), live_lists={"l0"}, contacts={"a": ("active", ())})
    plan = plan_undo(d.iloc[:0], "r1", ["l0"], {"l0": "News"})
    assert "contacts again" not in plan.undo_text and "nothing" in plan.undo_text
