"""The text of an add's and a sync's plan speaks of adding: its requests, the endpoint
it sends to, each list's adds, removes and keeps with an example, and the unsubscribed
contacts it would add (they go on the list but receive no email). A removal's plan
keeps its words."""

from __future__ import annotations

import pandas as pd

from ccpandas.plan.membership import MembershipSnapshot, plan_membership_removal

NEWS = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
SHOP = "3e1f4b6d-9b2e-4e54-8a4f-2d3c4b5e6f70"


def _cid(i: int) -> str:
    return f"8b54d1f4-5b0e-11ee-8c99-{i:012x}"


def _snapshot() -> MembershipSnapshot:
    """c1..c4 on News (c4 also on Shop), c5 (unsubscribed) and c6 on no list."""
    records = [
        {"contact_id": _cid(i), "email": f"p{i}@x.org", "status": "active", "lists": lists}
        for i, lists in ((1, [NEWS]), (2, [NEWS]), (3, [NEWS]), (4, [NEWS, SHOP]), (6, []))
    ]
    records.append({"contact_id": _cid(5), "email": "p5@x.org", "status": "unsubscribed"})
    records[-1]["lists"] = []
    for r in records:
        r["tags"] = []
    return MembershipSnapshot.from_records(
        [NEWS, SHOP], records, list_names={NEWS: "News", SHOP: "Shop"}
    )


def _lines(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines()[1:]:
        label, _, rest = line.strip().partition("  ")
        out.setdefault(label, rest.strip())
    return out


def test_an_add_plan_says_add_and_names_the_add_endpoint() -> None:
    segment = pd.Series(["P1@x.org", "p5@x.org", " p6@x.org", "nobody@x.org"])
    plan = plan_membership_removal(segment, [NEWS, SHOP], _snapshot(), kind="add")
    text = str(plan)
    lines = _lines(text)
    assert text.startswith("AddPlan")
    assert lines["requests"].startswith("1 request to add contacts to 2 lists")
    assert "remove" not in text  # no word of a removal anywhere
    assert "1 POST /activities/add_list_memberships" in lines["change requests"]
    assert lines["News"] == "add 2 (e.g. p5@x.org), already on it 1"
    assert lines["Shop"] == "add 3 (e.g. p1@x.org), already on it 0"
    assert lines["not a contact"].startswith("1 rows")
    assert lines["unsubscribed"] == (
        "1 contact to add is unsubscribed: it goes on the lists but receives no email"
    )
    assert "AddPlan" in plan._repr_html_() and "unsubscribed" in plan._repr_html_()


def test_a_sync_plan_shows_adds_removes_and_keeps_per_list() -> None:
    segment = pd.Series([_cid(1), _cid(2), _cid(3), _cid(5), _cid(6)])
    plan = plan_membership_removal(segment, [NEWS], _snapshot(), kind="sync", max_removed=None)
    lines = _lines(str(plan))
    assert lines["requests"].startswith("2 requests to add and remove contacts on 1 list")
    assert lines["change requests"] == (
        "1 POST /activities/add_list_memberships + 1 POST "
        "/activities/remove_list_memberships, one activity each"
    )
    assert lines["News"] == "add 2 (e.g. p5@x.org), remove 1 (e.g. p4@x.org), keep 3"
    assert lines["contacts"] == "6 in the segment or on a target list"
    assert lines["unsubscribed"].startswith("1 contact to add is unsubscribed")
    assert "members leaving" not in lines


def test_a_plan_with_nobody_unsubscribed_says_nothing_of_it() -> None:
    plan = plan_membership_removal(pd.Series([_cid(6)]), [NEWS], _snapshot(), kind="add")
    assert "unsubscribed" not in str(plan)


def test_a_removal_plan_keeps_its_words() -> None:
    plan = plan_membership_removal(pd.Series([_cid(1), _cid(4)]), [NEWS, SHOP], _snapshot())
    lines = _lines(str(plan))
    assert lines["requests"].startswith("1 request to remove 2 contacts from 2 lists")
    assert lines["members leaving"] == "News 2, Shop 1"
    assert "1 POST /activities/remove_list_memberships" in lines["removal requests"]
