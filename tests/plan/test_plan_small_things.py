"""Issue 21, section 6, small things that need no HTTP: a ``mailto:`` link is no
address, a missing column points at the one column that holds ids or addresses, an
undo's adds go one list per request when that takes fewer requests, and counts of
one are singular."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

import ccpandas
from ccpandas.plan.changes import ADD, ChangeSet
from ccpandas.plan.membership import looks_like_emails, normalize_emails
from ccpandas.plan.planner import plan_removal
from ccpandas.plan.undo import add_batches, min_add_requests

LIST = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"


def test_a_mailto_link_is_not_an_address() -> None:
    values = pd.Series(["mailto:x@example.com", "MailTo:y@example.com", " x@example.com "])
    norm, valid, missing = normalize_emails(values)
    assert valid.tolist() == [False, False, True]
    assert norm.tolist() == [None, None, "x@example.com"]
    assert not missing.any()
    assert not looks_like_emails(pd.Series(["mailto:a@example.com", "mailto:b@example.com"]))


def test_a_missing_column_names_the_only_column_of_addresses() -> None:
    frame = pd.DataFrame(
        {"email": ["a@example.com", "b@example.com"], "first_name": ["A", "B"], "last": "x"}
    )
    with pytest.raises(ccpandas.PlanError) as caught:
        plan_removal(frame, [LIST])
    text = str(caught.value)
    assert "Did you mean 'email'? It is the only column that holds email addresses." in text
    assert caught.value.values == ["email"]


def test_a_missing_column_names_the_only_column_of_ids_over_a_look_alike_name() -> None:
    frame = pd.DataFrame({"contacts": ["yes"], "id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]})
    with pytest.raises(ccpandas.PlanError, match="Did you mean 'id'\\? It is the only column"):
        plan_removal(frame, [LIST])


def test_a_missing_column_without_a_plausible_one_falls_back_to_close_names() -> None:
    frame = pd.DataFrame({"contact_ids": ["x"], "name": ["y"]})
    with pytest.raises(ccpandas.PlanError, match="Did you mean 'contact_ids'\\?"):
        plan_removal(frame, [LIST])


def _every_subset(lists: list[str]) -> list[tuple[str, str]]:
    """One contact on each non-empty subset of ``lists``: 7 contacts for 3 lists."""
    subsets = [s for r in range(1, len(lists) + 1) for s in itertools.combinations(lists, r)]
    return [(f"c{k}", lst) for k, subset in enumerate(subsets) for lst in subset]


def test_undo_adds_go_one_list_per_request_when_that_is_fewer() -> None:
    lists = ["l1", "l2", "l3"]
    pairs = _every_subset(lists)
    batches = add_batches(pairs, lists)
    # By identical list set it took 7 requests; one per list takes 3.
    assert len(batches) == 3 == min_add_requests(pairs)
    carried = [(c, lst) for b in batches for c in b.source.values for lst in b.list_ids]
    assert sorted(carried) == sorted(pairs)  # every pair once, never one extra


def test_undo_adds_stay_grouped_by_list_set_when_that_is_fewer() -> None:
    lists = ["l1", "l2", "l3"]
    pairs = [(f"c{i}", lst) for i in range(10) for lst in lists]  # one set: one request
    assert len(add_batches(pairs, lists)) == 1 == min_add_requests(pairs)


def test_per_list_batches_fill_every_pair_batch_and_split_at_500() -> None:
    lists = ["l1", "l2", "l3"]
    pairs = _every_subset(lists) + [(f"x{i}", "l1") for i in range(600)]
    cs = ChangeSet.from_pairs(pairs, ADD, list_order=lists, was_member=False)
    batches, batched = cs.replace(complete=False).batched()
    assert len(batches) == 4  # l1 holds 604 contacts: two requests; l2 and l3 one each
    assert (batched.pair_batch >= 0).all()
    for pair_index, batch in enumerate(batched.pair_batch.tolist()):
        contact = str(batched.contact_ids[batched.pair_contact[pair_index]])
        lst = batched.list_ids[batched.pair_list[pair_index]]
        assert contact in batches[batch].source.values and lst in batches[batch].list_ids
