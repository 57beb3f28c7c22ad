"""Hypothesis properties of planning: every row accounted for, batches minimal and legal,
and bad input always a PlanError. Each generated input is checked against a plain
per-row reference implementation written for clarity, not speed."""

from __future__ import annotations

import importlib.util
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ccpandas.errors import PlanError
from ccpandas.models import MAX_CONTACTS_PER_REQUEST, MAX_LISTS_PER_REQUEST
from ccpandas.plan.planner import plan_removal, plan_source_removal, resolve_list_ids

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def cid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def lid(i: int) -> str:
    return f"{i:08x}-1111-4111-8111-{i:012x}"


def reference(value: object) -> tuple[str, str | None]:
    """The status and normalised id of one value, the slow obvious way."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "missing", None
    if not isinstance(value, str):
        return "invalid_id", None
    text = value.strip()
    if not text:
        return "missing", None
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1].strip()
    text = text.lower()
    return ("planned", text) if CANONICAL.fullmatch(text) else ("invalid_id", None)


# -- strategies -----------------------------------------------------------------------------
WHITESPACE = st.sampled_from(["", " ", "  ", "\t", "\n", " \r\n "])


@st.composite
def spelled_id(draw: st.DrawFn, pool: int = 40) -> str:
    """A valid id from a small pool (so repeats happen), spelled in some accepted way."""
    text = cid(draw(st.integers(0, pool)))
    if draw(st.booleans()):
        text = text.upper()
    elif draw(st.booleans()):
        text = "".join(c.upper() if draw(st.booleans()) else c for c in text)
    if draw(st.booleans()):
        text = "{" + draw(WHITESPACE) + text + draw(WHITESPACE) + "}"
    return draw(WHITESPACE) + text + draw(WHITESPACE)


broken_id = st.one_of(
    spelled_id().map(lambda s: s[:-2]),  # too short
    spelled_id().map(lambda s: s.replace("-", "", 1)),
    spelled_id().map(lambda s: "{" + s),  # unbalanced
    spelled_id().map(lambda s: s + "x"),
    st.sampled_from(["", "  ", "{}", "nan", "None", "null", "N/A", "\u00a0"]),
    st.text(max_size=40),
)
missing_value = st.sampled_from([None, np.nan, pd.NA, float("nan")])
other_value = st.one_of(
    st.integers(),
    st.floats(allow_nan=False),
    st.binary(max_size=10),
    st.booleans(),
    st.just(b"8b54d1f4-5b0e-11ee-8c99-0242ac120002"),
)
string_value = st.one_of(spelled_id(), spelled_id(), broken_id)


@st.composite
def column(draw: st.DrawFn) -> pd.Series:
    """A column of odd values in one of the dtypes users have, under an odd index."""
    dtypes = ["object", "string", "str", "category"]
    if HAS_ARROW:
        dtypes += ["string[pyarrow]"]
    dtype = draw(st.sampled_from(dtypes))
    if dtype == "object":
        values = draw(st.lists(st.one_of(string_value, missing_value, other_value), max_size=60))
    elif dtype == "category":
        hashable = st.one_of(string_value, st.none(), st.integers(), st.binary(max_size=5))
        values = draw(st.lists(hashable, max_size=60))
    else:
        values = draw(st.lists(st.one_of(string_value, st.none()), max_size=60))
    index_kind = draw(st.sampled_from(["range", "repeated", "strings", "shuffled"]))
    n = len(values)
    if index_kind == "range":
        index = pd.RangeIndex(n)
    elif index_kind == "repeated":
        index = pd.Index(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    elif index_kind == "strings":
        index = pd.Index([f"r{i % 7}" for i in range(n)])
    else:
        index = pd.Index(draw(st.permutations(range(100, 100 + n))))
    if dtype == "object":
        return pd.Series(values, index=index, dtype=object)
    if dtype == "category":
        return pd.Series(values, index=index, dtype=object).astype("category")
    return pd.Series(values, index=index, dtype=dtype)


list_count = st.one_of(st.integers(1, 130), st.sampled_from([49, 50, 51, 999, 1000]))


# -- properties -----------------------------------------------------------------------------
def _expected(series: pd.Series) -> tuple[list[str], list[str | None]]:
    values = series.astype(object).tolist()
    ref = [reference(v) for v in values]
    seen: dict[str, int] = {}
    status = []
    for i, (state, norm) in enumerate(ref):
        if state == "planned" and norm in seen:
            status.append("duplicate")
        else:
            status.append(state)
            if state == "planned":
                seen[norm] = i
    return status, [n for _, n in ref]


@SETTINGS
@given(series=column(), n_lists=list_count)
def test_plan_matches_reference_or_raises_plan_error(series: pd.Series, n_lists: int) -> None:
    lists = [lid(i) for i in range(n_lists)]
    status, norm = _expected(series)
    try:
        plan = plan_removal(series, lists)
    except PlanError as exc:
        # Rejected only when there is nothing valid to send.
        assert "planned" not in status, str(exc)
        event("rejected: " + ("empty" if series.empty else "no valid id"))
        return
    event("planned")
    rows = plan.rows
    # Every input row exactly once, in order, under the same index.
    assert len(rows) == len(series)
    assert rows.index.equals(series.index)
    assert rows["plan_status"].tolist() == status
    got_norm = rows["normalized_id"].tolist()
    assert [None if pd.isna(v) else v for v in got_norm] == norm
    # duplicate_of names the first row holding the same id.
    first_label: dict[str, object] = {}
    for pos, (state, n) in enumerate(zip(status, norm, strict=True)):
        label = rows["duplicate_of"].iloc[pos]
        if state == "planned":
            first_label[n] = series.index[pos]
        if state == "duplicate":
            assert label == first_label[n]
        else:
            assert pd.isna(label)
    unique = list(dict.fromkeys(n for s, n in zip(status, norm, strict=True) if s == "planned"))
    _check_batches(plan, unique, lists)


def _check_batches(plan, unique: list[str], lists: list[str]) -> None:
    expected = math.ceil(len(unique) / 500) * math.ceil(len(lists) / 50)
    assert plan.n_requests == plan.n_batches == expected
    assert plan.n_contacts == len(unique)
    # Contact groups and list groups partition the ids, in order, within the limits...
    assert [c for g in plan.contact_groups for c in g] == unique
    assert [x for g in plan.list_groups for x in g] == lists
    assert all(1 <= len(g) <= MAX_CONTACTS_PER_REQUEST for g in plan.contact_groups)
    assert all(1 <= len(g) <= MAX_LISTS_PER_REQUEST for g in plan.list_groups)
    # ...and every (contact group, list group) pair is sent exactly once, so every
    # (contact, list) pair is covered exactly once.
    pairs = [(b.contact_group, b.list_group) for b in plan.batches]
    assert sorted(pairs) == [
        (i, j) for i in range(len(plan.contact_groups)) for j in range(len(plan.list_groups))
    ]
    for batch in plan.batches:
        assert batch.source.values == plan.contact_groups[batch.contact_group]
        assert batch.list_ids == plan.list_groups[batch.list_group]
        assert len(batch.source.values) <= MAX_CONTACTS_PER_REQUEST
        assert len(batch.list_ids) <= MAX_LISTS_PER_REQUEST


@SETTINGS
@given(
    n_unique=st.integers(1, 1600),
    n_repeats=st.integers(0, 300),
    n_bad=st.integers(0, 50),
    n_lists=list_count,
    seed=st.integers(0, 2**32 - 1),
)
def test_large_inputs_make_minimal_batches(
    n_unique: int, n_repeats: int, n_bad: int, n_lists: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    ids = [cid(i) for i in range(n_unique)]
    repeats = [ids[i].upper() for i in rng.integers(0, n_unique, n_repeats)]
    values = np.array(ids + repeats + ["bad"] * n_bad, dtype=object)
    rng.shuffle(values)
    series = pd.Series(values, index=rng.integers(0, 50, len(values)))
    lists = [lid(i) for i in range(n_lists)]
    plan = plan_removal(series, lists)
    assert len(plan.rows) == len(series) and plan.rows.index.equals(series.index)
    assert plan.n_duplicates == n_repeats and plan.n_invalid == n_bad
    unique = list(dict.fromkeys(v.lower() for v in values if v != "bad"))
    _check_batches(plan, unique, lists)
    # Each planned row points at the contact group that carries its id.
    planned = plan.rows[plan.rows["plan_status"] == "planned"]
    groups = planned["batch"].to_numpy()
    for g, cid_ in zip(groups, planned["normalized_id"], strict=True):
        assert cid_ in plan.contact_groups[g]


anything = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=20),
    st.lists(st.one_of(st.text(max_size=40), spelled_id(), st.none(), st.integers()), max_size=8),
    st.builds(lambda xs: pd.Series(xs, dtype=object), st.lists(st.text(max_size=5), max_size=3)),
    st.builds(lambda: pd.DataFrame()),
    st.builds(lambda: pd.DataFrame({"email": ["a@x"]})),
)


@SETTINGS
@given(
    data=st.one_of(column(), anything),
    lists=anything,
    column_name=st.sampled_from(["contact_id", "id", 0, None, ("a", "b")]),
)
def test_bad_input_raises_plan_error_only(data, lists, column_name) -> None:
    try:
        plan = plan_removal(data, lists, column=column_name)
    except PlanError as exc:
        assert str(exc)  # always says what is wrong
        return
    assert plan.n_contacts >= 1 and plan.n_batches >= 1


@SETTINGS
@given(
    n_lists=st.integers(1, 1100),
    repeats=st.integers(0, 20),
    bad=st.lists(st.one_of(st.text(max_size=12), st.none(), st.integers()), max_size=2),
)
def test_list_ids_plan_or_are_rejected(n_lists: int, repeats: int, bad: list) -> None:
    lists = [lid(i) for i in range(n_lists)] + [lid(0).upper()] * repeats + bad
    try:
        plan = plan_removal(pd.Series([cid(1)]), lists)
    except PlanError as exc:
        assert bad or n_lists > 1000, str(exc)
        return
    assert not bad and n_lists <= 1000
    assert plan.list_ids == tuple(lid(i) for i in range(n_lists))
    assert plan.n_batches == math.ceil(n_lists / 50)
    assert all(len(g) <= 50 for g in plan.list_groups)


@SETTINGS
@given(
    kind=st.sampled_from(["tag_ids", "list_ids"]),
    n=st.integers(0, 160),
    n_lists=st.integers(1, 160),
    exclude=st.one_of(st.none(), st.lists(spelled_id(), max_size=20)),
)
def test_source_plans_split_by_fifty(kind: str, n: int, n_lists: int, exclude) -> None:
    from ccpandas.models import Source

    source = getattr(Source, kind)([cid(i) for i in range(n)])
    lists = [lid(i) for i in range(n_lists)]
    if kind == "tag_ids":
        exclude = None  # exclude only goes with list_ids (tested in test_plan.py)
    try:
        plan = plan_source_removal(source, lists, exclude=exclude)
    except PlanError as exc:
        # No source ids, or an empty keep set: that would remove everyone, so it needs
        # confirm_empty=True.
        assert n == 0 or (exclude == [] and "confirm_empty" in str(exc)), str(exc)
        return
    assert exclude != [], "an empty keep set was accepted without confirmation"
    assert plan.n_batches == math.ceil(n / 50) * math.ceil(n_lists / 50)
    covered = [(s, x) for b in plan.batches for s in b.source.values for x in b.list_ids]
    assert len(covered) == len(set(covered)) == n * n_lists
    assert all(len(b.source.values) <= 50 and len(b.list_ids) <= 50 for b in plan.batches)
    if exclude is not None:
        assert len(plan.rows) == len(exclude)
        assert set(plan.exclude) == {reference(v)[1] for v in exclude}
        assert all(b.exclude == plan.exclude for b in plan.batches)


@SETTINGS
@given(
    values=st.lists(st.one_of(spelled_id(), st.sampled_from(["A", "B", "C", "Zed"])), max_size=6)
)
def test_resolve_list_ids_passes_ids_and_names_or_raises(values: list[str]) -> None:
    lists = pd.DataFrame({"list_id": [lid(1), lid(2), lid(3)], "name": ["A", "B", "B"]})
    try:
        got = resolve_list_ids(values, lists)
    except PlanError as exc:
        msg = str(exc)
        assert not values or "Zed" in msg or "C" in msg or "ambiguous" in msg
        return
    assert len(got) == len(values)
    for value, list_id in zip(values, got, strict=True):
        assert list_id == (lid(1) if value == "A" else reference(value)[1])


@pytest.mark.parametrize("size", [0, 1])
def test_reference_agrees_on_simple_cases(size: int) -> None:
    # Guards the oracle itself against drifting from the documented rules.
    assert reference(" {" + cid(size).upper() + "} ") == ("planned", cid(size))
    assert reference("") == ("missing", None)
    assert reference(5) == ("invalid_id", None)
