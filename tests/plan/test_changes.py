"""The change set: batching every kind of pair into the fewest requests, inverting it,
and the outcome of each pair from its batch's state and a later read."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ccpandas.models import MembershipAction
from ccpandas.plan.changes import ADD, NONE, REMOVE, ChangeSet, pair_outcomes

LISTS = [f"l{i:02d}" for i in range(60)]
pair_lists = st.lists(
    st.tuples(st.integers(0, 30), st.sampled_from(LISTS[:55]), st.sampled_from([REMOVE, ADD])),
    min_size=1,
    max_size=300,
)


def _set(raw, known=True) -> ChangeSet:
    seen: dict[tuple[str, str], int] = {}
    for c, lid, action in raw:
        seen.setdefault((f"c{c}", lid), action)
    pairs = list(seen)
    cs = ChangeSet.from_pairs(pairs, REMOVE, list_order=LISTS, was_member=True if known else None)
    action = np.array([seen[p] for p in pairs], dtype=np.int8)
    return cs.replace(action=action, was_member=action == REMOVE)


def _carried(batches, endpoint):
    return sorted(
        (cid, lid)
        for b in batches
        if b.action is endpoint
        for cid in b.source.values
        for lid in b.list_ids
    )


@settings(max_examples=60, deadline=None)
@given(pair_lists)
def test_adds_carry_exactly_their_pairs_and_removals_never_touch_an_added_pair(raw) -> None:
    cs = _set(raw)
    batches, batched = cs.batched()
    adds = _carried(batches, MembershipAction.ADD)
    assert adds == sorted(cs.pairs(ADD))  # each exactly once, nobody extra
    removes = set(_carried(batches, MembershipAction.REMOVE))
    assert set(cs.pairs(REMOVE)) <= removes
    assert not removes & set(cs.pairs(ADD))  # a removal never undoes an add of the run
    assert all(len(b.source.values) <= 500 and len(b.list_ids) <= 50 for b in batches)
    # Every pair with an action knows its batch, and that batch carries it.
    for i in np.flatnonzero(batched.action != NONE):
        b = batches[batched.pair_batch[i]]
        cid = cs.contact_ids[cs.pair_contact[i]]
        assert cid in b.source.values and cs.list_ids[cs.pair_list[i]] in b.list_ids
    if not cs.mask(REMOVE).any() or cs.mask(ADD).any():
        assert len(batches) == cs.min_requests()  # identical list sets: the minimum


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1200), st.sampled_from(LISTS)), min_size=1))
def test_removals_alone_pack_by_list_group_never_above_the_cross(raw) -> None:
    cs = _set([(c, lid, REMOVE) for c, lid in raw])
    batches = cs.batches()
    assert set(cs.pairs(REMOVE)) <= set(_carried(batches, MembershipAction.REMOVE))
    contacts = len({c for c, _ in raw})
    groups = -(-len({lid for _, lid in raw}) // 50)
    assert len(batches) <= -(-contacts // 500) * max(groups, 2)


def test_without_a_read_every_contact_goes_to_every_list_group_contacts_outermost() -> None:
    pairs = [(f"c{i:04d}", lid) for i in range(501) for lid in LISTS[:51]]
    cs = ChangeSet.from_pairs(pairs, REMOVE, list_order=LISTS[:51])
    assert not cs.known
    batches, batched = cs.batched()
    assert [(b.contact_group, b.list_group) for b in batches] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert batched.pair_batch[:51].tolist() == [0] * 50 + [1]


def test_invert_asks_the_opposite_of_what_changed_and_nothing_else() -> None:
    cs = _set([(1, "l00", REMOVE), (2, "l00", REMOVE), (3, "l01", ADD)])
    back = cs.invert(changed=np.array([True, False, True]))
    assert back.pairs(ADD) == [("c1", "l00")]
    assert back.pairs(REMOVE) == [("c3", "l01")]
    assert back.action[1] == NONE
    assert back.was_member.tolist() == [False, True, True]  # what the run left
    assert [b.action for b in back.batches()] == [
        MembershipAction.REMOVE,
        MembershipAction.ADD,
    ]


def test_outcomes_come_from_the_batch_then_the_read() -> None:
    cs = _set([(1, "l00", REMOVE), (2, "l00", REMOVE), (3, "l01", ADD), (4, "l01", ADD)])
    batches, cs = cs.batched()
    assert len(batches) == 2
    words = {REMOVE: ("removed", "still_member"), ADD: ("added", "not_added")}
    before = pair_outcomes(cs, ["completed", "failed"], None, words=words, idle="-")
    assert before.tolist() == ["unverified", "unverified", "failed", "failed"]
    after = {("c2", "l00"), ("c3", "l01")}
    read = pair_outcomes(cs, ["completed", "completed"], after, words=words, idle="-")
    assert read.tolist() == ["removed", "still_member", "added", "not_added"]
    # A read shows the change although the batch failed: credited only when asked to.
    partly = pair_outcomes(cs, ["failed", "failed"], after, words=words, idle="-")
    assert partly.tolist() == ["failed"] * 4
    credited = pair_outcomes(
        cs, ["failed", "failed"], after, words=words, idle="-", credit_read=True
    )
    assert credited.tolist() == ["removed", "failed", "added", "failed"]


def test_outcomes_as_positions_into_the_words_say_the_same() -> None:
    # Millions of pairs (20,000 contacts x 120 lists): a word per pair cost seconds at
    # the end of every run; positions into the words (int16) say the same.
    cs = _set([(1, "l00", REMOVE), (2, "l00", REMOVE), (3, "l01", ADD), (4, "l01", NONE)])
    cs = cs.batched()[1]
    words = {REMOVE: ("removed", "still_member"), ADD: ("added", "not_added")}
    after = {("c2", "l00"), ("c3", "l01")}
    args = (cs, ["completed", "failed"], after)
    spelled = pair_outcomes(*args, words=words, idle="-", errored=np.array([0, 1, 0, 0]))
    vocab = ["removed", "kept"]
    at = pair_outcomes(*args, words=words, idle="-", errored=np.array([0, 1, 0, 0]), vocab=vocab)
    assert at.dtype == np.int16 and vocab[:2] == ["removed", "kept"]
    assert [vocab[i] for i in at] == spelled.tolist() == ["removed", "api_error", "failed", "-"]


def test_without_a_read_before_a_pair_gone_is_never_credited() -> None:
    cs = ChangeSet.from_pairs([("c1", "l1"), ("c2", "l1")], REMOVE)
    cs = cs.batched()[1]
    out = pair_outcomes(
        cs,
        ["completed"],
        {("c2", "l1")},
        words={REMOVE: ("removed", "still_member")},
        idle="-",
        credit_read=True,
    )
    assert out.tolist() == ["unverified", "still_member"]


def test_frame_has_one_row_per_pair_with_its_action() -> None:
    cs = _set([(1, "l00", REMOVE), (3, "l01", ADD)])
    frame = cs.frame({"l00": "News", "l01": "News"})
    assert frame["list_name"].tolist() == ["News", "News (l01)"]
    assert frame["action"].astype(str).tolist() == ["remove", "add"]
    assert frame["was_member"].tolist() == [True, False]


@settings(max_examples=80)
@given(
    n=st.integers(1, 40),
    n_lists=st.sampled_from([1, 3, 16, 17, 50, 55]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_plans_contact_by_list_grid_batches_as_any_order_of_its_pairs(n, n_lists, seed) -> None:
    """The grid path (every contact x every list, contact by contact, as a plan makes
    pairs) gives the same requests and the same batch per pair as the general path,
    which the same pairs in another order take."""
    rng = np.random.default_rng(seed)
    was = rng.random(n * n_lists) < 0.4
    grid = ChangeSet(
        contact_ids=np.array([f"c{i}" for i in range(n)], dtype=object),
        list_ids=tuple(LISTS[:n_lists]),
        pair_contact=np.repeat(np.arange(n, dtype=np.int32), n_lists),
        pair_list=np.tile(np.arange(n_lists, dtype=np.int8), n),
        action=np.where(was, np.int8(REMOVE), np.int8(NONE)),
        was_member=was,
    )
    order = rng.permutation(grid.n_pairs)
    shuffled = grid.replace(
        pair_contact=grid.pair_contact[order],
        pair_list=grid.pair_list[order],
        action=grid.action[order],
        was_member=grid.was_member[order],
    )
    (a, cs_a), (b, cs_b) = grid.batched(), shuffled.batched()
    assert [x.to_json() for x in a] == [x.to_json() for x in b]
    assert [(x.index, x.list_group, x.contact_group) for x in a] == [
        (x.index, x.list_group, x.contact_group) for x in b
    ]
    assert (cs_a.pair_batch[order] == cs_b.pair_batch).all()
