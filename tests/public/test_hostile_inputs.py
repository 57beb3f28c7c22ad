"""Hostile inputs: every argument and column shape is checked before the first request.

Unit tests per category (column dtypes, index kinds, one-shot iterables, list_ids
values, column= and the frame itself), then a hypothesis test over the public entry
points against one emulator: each call is either refused cleanly (a ccpandas error,
TypeError or ValueError naming the argument) with zero requests of any kind, or
planned exactly (every input row once, with the status a plain per-row reference
gives; dry_run=True, so nothing is removed).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from specs import reference

import ccpandas
from ccpandas import CCError, PlanError, Source
from ccpandas.api import plan_list_removal
from ccpandas.emulator import Emulator
from ccpandas.plan.ids import check_ids, holds_text
from ccpandas.plan.planner import list_values, plan_removal, resolve_list_ids

pa = pytest.importorskip("pyarrow", reason="the Arrow dtypes need pyarrow")

U1 = "8b54d1f4-5b0e-11ee-8c99-0242ac120002"
U2 = "9c65e2a5-6c1f-42ff-9daa-1353bd231113"
LIST = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"


def arrow(values: list[Any], typ: Any) -> pd.Series:
    return pd.Series(pd.array(pa.array(values, type=typ), dtype=pd.ArrowDtype(typ)))


def arrow_dictionary(values: list[Any], value_type: Any = None) -> pd.Series:
    encoded = pa.array(values, type=value_type or pa.string()).dictionary_encode()
    return pd.Series(pd.array(encoded, dtype=pd.ArrowDtype(encoded.type)))


# -- column dtypes ---------------------------------------------------------------------
NO_TEXT = {
    "arrow int64": lambda: arrow([1, None], pa.int64()),
    "arrow binary": lambda: arrow([U1.encode(), None], pa.binary()),
    "arrow large_binary": lambda: arrow([U1.encode(), None], pa.large_binary()),
    "arrow bool": lambda: arrow([True, None], pa.bool_()),
    "arrow timestamp": lambda: arrow([dt.datetime(2024, 1, 1), None], pa.timestamp("us")),
    "arrow null": lambda: arrow([None, None], pa.null()),
    "arrow list": lambda: arrow([[U1], None], pa.list_(pa.string())),
    "arrow struct": lambda: arrow([{"a": U1}, None], pa.struct([("a", pa.string())])),
    "arrow dictionary of ints": lambda: arrow_dictionary([1, 2, 1], pa.int64()),
    "int64": lambda: pd.Series([1, 2]),
    "uint64": lambda: pd.Series([2**64 - 1], dtype="uint64"),
    "float64": lambda: pd.Series([1.5, np.nan]),
    "all-NaN float": lambda: pd.Series([np.nan, np.nan]),
    "bool": lambda: pd.Series([True, False]),
    "datetime64": lambda: pd.Series(pd.to_datetime(["2024-01-01", None])),
    "datetime64 tz": lambda: pd.Series(pd.date_range("2024", periods=2, tz="UTC")),
    "timedelta64": lambda: pd.Series(pd.to_timedelta([1, 2], unit="s")),
    "complex": lambda: pd.Series([1j, 2j]),
    "Int64": lambda: pd.Series([1, None], dtype="Int64"),
    "boolean": lambda: pd.Series([True, None], dtype="boolean"),
    "period": lambda: pd.Series(pd.period_range("2024", periods=2)),
    "interval": lambda: pd.Series(pd.interval_range(0, 2)),
    "sparse": lambda: pd.Series(pd.arrays.SparseArray([1.0, np.nan])),
    "category of ints": lambda: pd.Series([1, 2, 1], dtype="category"),
    "category of dates": lambda: pd.Series(pd.to_datetime(["2024-01-01"])).astype("category"),
}


@pytest.mark.parametrize("make", list(NO_TEXT.values()), ids=list(NO_TEXT))
def test_columns_that_hold_no_text_are_a_plan_error_naming_column_and_dtype(make) -> None:
    series = make()
    df = pd.DataFrame({"cid": series})
    with pytest.raises(PlanError) as info:
        plan_removal(df, LIST, column="cid")
    msg = str(info.value)
    assert "column 'cid'" in msg and f"its dtype is {series.dtype}" in msg
    assert "must be text" in msg  # what is accepted
    assert info.value.column == "cid"
    # check_ids itself never raises pandas' errors: every row gets a status
    checked = check_ids(series)
    assert len(checked.status) == len(series)
    assert set(checked.status_categorical.astype(str)) <= {"invalid_id", "missing"}


TEXT = {
    "object": lambda v: pd.Series(v, dtype=object),
    "str": lambda v: pd.Series(v, dtype="str"),
    "string[python]": lambda v: pd.Series(v, dtype="string[python]"),
    "string[pyarrow]": lambda v: pd.Series(v, dtype="string[pyarrow]"),
    "arrow string": lambda v: arrow(v, pa.string()),
    "arrow large_string": lambda v: arrow(v, pa.large_string()),
    "arrow dictionary": arrow_dictionary,
    "arrow dictionary of large_string": lambda v: arrow_dictionary(v, pa.large_string()),
    "category": lambda v: pd.Series(v, dtype="category"),
}


@pytest.mark.parametrize("make", list(TEXT.values()), ids=list(TEXT))
def test_text_columns_plan_with_a_status_per_row(make) -> None:
    values = [U1, " {" + U1.upper() + "} ", "nope", None, U2, ""]
    series = make(values)
    assert holds_text(series.dtype)
    plan = plan_removal(pd.DataFrame({"contact_id": series}), LIST)
    assert plan.rows["plan_status"].tolist() == [
        "planned",
        "duplicate",
        "invalid_id",
        "missing",
        "planned",
        "missing",
    ]
    assert list(plan.contact_groups[0]) == [U1, U2]
    assert plan.rows["contact_id"].dtype == series.dtype  # the values as given


def test_mixed_object_columns_keep_every_row_with_a_reason() -> None:
    values = [U1, U1.encode(), 7, None, np.nan, pd.NA, [U1], {"a": 1}, 2.5, True, U2]
    plan = plan_removal(pd.Series(values, dtype=object), LIST)
    rows = plan.rows
    assert len(rows) == len(values)
    assert rows["plan_status"].tolist() == (
        ["planned"] + ["invalid_id"] * 2 + ["missing"] * 3 + ["invalid_id"] * 4 + ["planned"]
    )
    assert rows["reason"].tolist()[1:3] == ["not a string (bytes)", "not a string (int)"]
    assert rows["reason"].tolist()[6:8] == ["not a string (list)", "not a string (dict)"]


def test_categorical_of_strings_and_of_mixed_values_plan() -> None:
    mixed = pd.Series(pd.Categorical([U1, 1, U1]))
    assert plan_removal(mixed, LIST).rows["plan_status"].tolist() == [
        "planned",
        "invalid_id",
        "duplicate",
    ]


# -- index kinds ---------------------------------------------------------------------------
BIG = 2**63 + 5
INDEXES = {
    "uint64 above 2**63": pd.Index(np.array([BIG, BIG + 1, BIG + 2], dtype="uint64")),
    "UInt64 nullable": pd.Index(pd.array([BIG, BIG + 1, BIG + 2], dtype="UInt64")),
    "int64 negative": pd.Index([-(2**63), 5, -1]),
    "RangeIndex with step": pd.RangeIndex(10, 40, 10),
    "duplicated labels": pd.Index([3, 3, 3]),
    "float": pd.Index([0.5, 1.5, 2.5]),
    "datetime": pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"]),
    "object": pd.Index(["a", 2, ("t",)], dtype=object),
    "strings": pd.Index(["x", "y", "z"]),
    "MultiIndex": pd.MultiIndex.from_tuples([(1, "a"), (BIG, "b"), (2, "c")]),
}


@pytest.mark.parametrize("index", list(INDEXES.values()), ids=list(INDEXES))
def test_duplicate_of_holds_the_original_label_exactly(index: pd.Index) -> None:
    df = pd.DataFrame({"contact_id": [U1, U2, U1.upper()]}, index=index)
    rows = plan_removal(df, LIST).rows
    assert rows.index.equals(index)
    dup_of = rows["duplicate_of"]
    assert pd.isna(dup_of.iloc[0]) and pd.isna(dup_of.iloc[1])
    label = dup_of.iloc[2]
    assert label == index[0]  # exact: no float, no wrapped integer
    assert not isinstance(label, float) or isinstance(index[0], float)
    if index.dtype == np.uint64 or str(index.dtype) == "UInt64":
        assert str(dup_of.dtype) == "UInt64" and int(label) == BIG


# -- list_ids --------------------------------------------------------------------------
def test_a_generator_of_list_ids_is_read_once() -> None:
    gen = (v for v in [LIST, LIST.upper()])
    assert list_values(gen) == (LIST, LIST.upper())
    plan = plan_list_removal(pd.Series([U1]), (v for v in [LIST]))
    assert plan.list_ids == (LIST,)


def test_a_single_string_is_one_list() -> None:
    assert list_values("Newsletter") == ("Newsletter",)
    assert plan_removal(pd.Series([U1]), LIST).list_ids == (LIST,)


def test_series_index_and_arrays_are_fine() -> None:
    for value in (pd.Series([LIST]), pd.Index([LIST]), np.array([LIST]), (LIST,)):
        assert list_values(value) == (LIST,)


@pytest.mark.parametrize(
    ("list_ids", "message"),
    [
        (None, "list_ids is required"),
        ([], "list_ids is empty"),
        (iter([]), "list_ids is empty"),
        (42, "got int"),
        (b"Newsletter", "must be strings; got b'Newsletter'"),
        ({LIST}, "got a set.*sorted"),
        (frozenset([LIST]), "got a frozenset"),
        ({"VIP": LIST}, "got a dict"),
        (pd.DataFrame({"list_id": [LIST]}), "got a DataFrame"),
        (np.array([[LIST]]), "2-d array"),
        ([None], "must be strings; got None"),
        ([float("nan")], "must be strings; got nan"),
        ([LIST, 7, 1.5], "must be strings; got 7, 1.5"),
        ([[LIST]], "must be strings; got \\['2d0e"),
        ([""], "cannot be empty or blank; got ''"),
        (["VIP", "  \t"], "cannot be empty or blank"),
        ([f"name {i}" for i in range(1001)], "1,001 target lists"),
    ],
)
def test_list_ids_that_are_neither_ids_nor_names_are_refused(list_ids, message) -> None:
    with pytest.raises(PlanError, match=message) as info:
        list_values(list_ids)
    assert "list_ids" in str(info.value)


# -- against the emulator: zero requests when refused ----------------------------------
@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    emulator = Emulator(seed=14, contacts=60, lists=6, speed=1e9, rate=None, daily_quota=None)
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def client(emu: Emulator) -> Iterator[ccpandas.Client]:
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as c:
        yield c


def _names(emu: Emulator) -> list[str]:
    names = [lst.name for lst in emu.account.lists.values()]
    return [n for n in names if names.count(n) == 1]


def _refused_without_requests(emu: Emulator, call: Callable[[], Any], *words: str) -> str:
    before = emu.account.count()
    with pytest.raises((CCError, TypeError, ValueError)) as info:
        call()
    assert emu.account.count() == before, emu.account.request_log[-3:]
    msg = str(info.value)
    assert any(w in msg for w in words), (words, msg)
    return msg


@pytest.mark.parametrize(
    "bad",
    [[None], [float("nan")], [7], [b"x"], [[LIST]], [""], ["   "], 7, None, {LIST}],
    ids=repr,
)
def test_bad_list_values_cost_no_request(emu, client, bad) -> None:
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]})
    plan = lambda: df.cc.plan(bad, client=client, snapshot=False)  # noqa: E731
    _refused_without_requests(emu, plan, "list_ids")
    # next to a real name, too: the name is never looked up
    mixed = [_names(emu)[0], *bad] if isinstance(bad, list) else bad
    calls = [
        lambda: ccpandas.remove_from_lists(df, mixed, client=client, dry_run=True),
        lambda: df.cc.keep_in_lists(mixed, client=client, dry_run=True),
    ]
    if isinstance(bad, list):  # (read_contacts: lists=None means every contact)
        calls.append(lambda: ccpandas.read_contacts(client, lists=mixed))
        calls.append(
            lambda: ccpandas.remove_list_memberships(
                client, [LIST], source=Source.list_ids(mixed), dry_run=True
            )
        )
    for call in calls:
        _refused_without_requests(emu, call, "list_ids", "lists", "Source.list_ids")


def test_a_generator_of_names_is_resolved_with_one_request(emu, client) -> None:
    name = _names(emu)[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]})
    before = emu.account.count()
    result = df.cc.remove_from_lists(
        (n for n in [name]), client=client, dry_run=True, snapshot=False
    )
    assert emu.account.count() == before + 1  # the one GET /contact_lists
    lid = next(i for i, lst in emu.account.lists.items() if lst.name == name)
    assert result.plan.list_ids == (lid,)


@pytest.mark.parametrize(
    ("data", "column", "word"),
    [
        (pd.DataFrame({"email": ["a@b.c"]}), "contact_id", "not found"),
        (pd.DataFrame({"contact_id": [U1]}), ["contact_id"], "not found"),
        (pd.DataFrame([[U1, U2]], columns=["contact_id", "contact_id"]), "contact_id", "2 times"),
        (pd.DataFrame({"contact_id": [1, 2]}), "contact_id", "its dtype is int64"),
        (pd.DataFrame({"contact_id": arrow([1], pa.int64())}), "contact_id", "dtype is int64"),
        (pd.DataFrame({"contact_id": ["junk", None]}), "contact_id", "no valid contact id"),
        (pd.DataFrame({"contact_id": pd.Series([], dtype=object)}), "contact_id", "no rows"),
    ],
)
def test_bad_data_and_column_cost_no_request_even_with_list_names(
    emu, client, data, column, word
) -> None:
    names = _names(emu)[:1]  # names would cost a GET: the data are checked first
    calls = [
        lambda: data.cc.plan(names, column, client=client, snapshot=False),
        lambda: data.cc.remove_from_lists(names, column, client=client, dry_run=True),
        lambda: ccpandas.remove_from_lists(data, names, column=column, client=client),
    ]
    for call in calls:
        _refused_without_requests(emu, call, word)
    # keep_in_lists: the frame is the contacts to keep, and every one must be an id
    keep = lambda: data.cc.keep_in_lists(names, column, client=client, dry_run=True)  # noqa: E731
    _refused_without_requests(emu, keep, word, "not contact ids", "contacts to keep")


def test_addresses_without_a_snapshot_are_refused_before_the_listing(emu, client) -> None:
    # Addresses cannot be matched without the read: refused, but only after the lists'
    # listing was sent (review: "bad data never costs one").
    frame = pd.DataFrame({"email": ["a@b.co", "c@d.co"]})
    for lists in (_names(emu)[:1], [emu.account.list_ids()[0]]):
        call = lambda: frame.cc.remove_from_lists(lists, "email", client=client, snapshot=False)  # noqa: B023, E731
        _refused_without_requests(emu, call, "needs a membership snapshot")


def test_a_column_that_is_the_index_is_named_so(emu, client) -> None:
    # frame.set_index("contact_id"): the message named 'email' as the likely column
    # ("the only column that holds email addresses") and said nothing of the index.
    frame = pd.DataFrame({"contact_id": [U1, U2], "email": ["a@b.co", "c@d.co"]})
    indexed = frame.set_index("contact_id")
    names = _names(emu)[:1]
    msg = _refused_without_requests(
        emu, lambda: indexed.cc.plan(names, client=client, snapshot=False), "not found"
    )
    assert "'contact_id' is the frame's index" in msg and "reset_index()" in msg
    assert "Did you mean 'email'" not in msg


def test_a_column_of_display_name_addresses_is_pointed_at_by_email() -> None:
    frame = pd.DataFrame({"email": ["Ann <a@b.co>", "Bob <b@c.co>", "c@d.co"]})
    with pytest.raises(PlanError, match="no valid contact id") as info:
        frame.cc.plan([LIST], "email", snapshot=False)
    assert "pass by='email'" in str(info.value)
    ids = pd.DataFrame({"contact_id": ["junk", "1234"]})
    with pytest.raises(PlanError, match="no valid contact id") as info:
        ids.cc.plan([LIST], snapshot=False)
    assert "by='email'" not in str(info.value)  # only where the values hold an "@"


@pytest.mark.parametrize("first", [U1, "ann@example.com"])
def test_a_column_named_by_a_value_is_a_header_row_missing(first) -> None:
    # pd.read_csv of a bare list takes its first value for the header: planning that
    # column would leave the first row out without a word.
    frame = pd.read_csv(io.StringIO(f"{first}\n{U2}\nbob@example.com\n"), dtype=str)
    for column in (first, "contact_id"):
        with pytest.raises(PlanError, match="header=None") as info:
            frame.cc.plan([LIST], column, snapshot=False)
        assert "Did you mean" not in str(info.value)
    with pytest.raises(PlanError, match="header=None"):
        ccpandas.remove_from_lists(frame[first], [LIST], dry_run=True)


def test_a_column_named_by_a_uuid_is_not_called_a_contact_id() -> None:
    # A bare column of list ids read without header=None: the message called its first
    # value "a contact id", which a list id (or any other UUID) is not.
    frame = pd.read_csv(io.StringIO(f"{LIST}\n{U2}\n"), dtype=str)
    with pytest.raises(PlanError, match="header=None") as info:
        frame.cc.plan([LIST], LIST, snapshot=False)
    assert "a contact id" not in str(info.value) and "a UUID" in str(info.value)


def test_a_title_row_above_the_header_is_named_not_its_columns() -> None:
    report = f"Members export,\n,\ncontact_id,email\n{U1},ann@example.com\n"
    frame = pd.read_csv(io.StringIO(report), dtype=str, skip_blank_lines=False)
    with pytest.raises(PlanError, match="not found") as info:
        frame.cc.plan([LIST], snapshot=False)
    assert "header=2" in str(info.value) and "Did you mean" not in str(info.value)
    # a value that happens to be the name sought, in a table with its own header
    plain = pd.DataFrame({"channel": ["contact_id"], "id": [U1]})
    with pytest.raises(PlanError, match="Did you mean 'id'"):
        plain.cc.plan([LIST], snapshot=False)


@pytest.mark.parametrize("data", [{"contact_id": [U1]}, None, "abc", np.array([[U1]]), 7])
def test_data_that_is_not_a_frame_costs_no_request(emu, client, data) -> None:
    names = _names(emu)[:1]
    _refused_without_requests(
        emu,
        lambda: ccpandas.remove_from_lists(data, names, client=client, dry_run=True),
        "expected a DataFrame",
        "expected one column",
    )


def test_the_accessor_is_on_data_frames_only() -> None:
    with pytest.raises(AttributeError, match="cc"):
        pd.Series([U1]).cc  # noqa: B018


def test_keep_in_lists_with_names_checks_the_frame_then_resolves_once(emu, client) -> None:
    name = _names(emu)[0]
    members = sorted(emu.account.memberships()[_list_id(emu, name)])
    keep = pd.DataFrame({"contact_id": members[:1] or [U1]})
    before = emu.account.count()
    result = keep.cc.keep_in_lists(
        [name], client=client, dry_run=True, snapshot=False, max_removed=None
    )
    assert emu.account.count() == before + 1  # one listing for target and source lists
    assert result.plan.source == Source.list_ids([_list_id(emu, name)])
    # an invalid id in the frame: refused before the names are looked up
    bad = pd.DataFrame({"contact_id": [U1, "junk"]})
    _refused_without_requests(
        emu, lambda: bad.cc.keep_in_lists([name], client=client, dry_run=True), "contact id"
    )


def _list_id(emu: Emulator, name: str) -> str:
    return next(i for i, lst in emu.account.lists.items() if lst.name == name)


def test_resolve_list_ids_refuses_non_strings_before_names() -> None:
    with pytest.raises(PlanError, match="must be strings"):
        resolve_list_ids(["VIP", 3], {"VIP": LIST})


# -- hypothesis over the public entry points -------------------------------------------
_TEMPLATE = Emulator(seed=14, contacts=60, lists=6)
CONTACTS = _TEMPLATE.account.contact_ids()
LIST_IDS = _TEMPLATE.account.list_ids()
_ALL_NAMES = [lst.name for lst in _TEMPLATE.account.lists.values()]
NAMES = [n for n in _ALL_NAMES if _ALL_NAMES.count(n) == 1]

HOSTILE_VALUES = [
    None,
    np.nan,
    pd.NA,
    "",
    "   ",
    "not-an-id",
    U1[:-1],
    7,
    2.5,
    True,
    b"bytes",
    U1.encode(),
    [U1],
    {"a": 1},
    (U1,),
]
TEXT_DTYPES = [
    "object",
    "str",
    "string[python]",
    "string[pyarrow]",
    "category",
    "arrow",
    "arrow large",
    "arrow dictionary",
]


@st.composite
def cell(draw: Any) -> Any:
    if draw(st.integers(0, 2)):
        uid = draw(st.sampled_from(CONTACTS[:20]))
        return draw(st.sampled_from([uid, uid.upper(), "{" + uid + "}", f"  {uid}\t"]))
    return draw(st.sampled_from(HOSTILE_VALUES))


def as_text_dtype(values: list[Any], dtype: str) -> pd.Series:
    series = pd.Series(values, dtype=object)
    if dtype == "object":
        return series
    if dtype == "category":
        if any(isinstance(v, (list, tuple, dict)) for v in values):
            return series  # not hashable, or read by pandas as a row: objects stay
        try:
            return series.astype("category")
        except TypeError:  # unorderable mixed values: objects stay objects
            return series
    # text dtypes only hold text: every other value becomes missing
    text = [v if isinstance(v, str) else None for v in values]
    if dtype == "arrow":
        return arrow(text, pa.string())
    if dtype == "arrow large":
        return arrow(text, pa.large_string())
    if dtype == "arrow dictionary":
        return arrow_dictionary(text)
    return pd.Series(text, dtype=dtype)


@st.composite
def index_for(draw: Any, n: int) -> pd.Index:
    kinds = ["range", "step", "ints", "dups", "uint64", "float", "dates", "obj", "multi"]
    kind = draw(st.sampled_from(kinds))
    if kind == "range":
        return pd.RangeIndex(n)
    if kind == "step":
        return pd.RangeIndex(5, 5 + 3 * n, 3)
    if kind == "ints":
        return pd.Index(draw(st.permutations(list(range(-n, 0)))), dtype="int64")
    if kind == "dups":
        return pd.Index(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    if kind == "uint64":
        return pd.Index(np.array([2**63 + 7 * i for i in range(n)], dtype="uint64"))
    if kind == "float":
        return pd.Index([i + 0.25 for i in range(n)])
    if kind == "dates":
        return pd.date_range("2024-01-01", periods=n, freq="h")
    if kind == "obj":
        return pd.Index([("t", i) if i % 2 else f"r{i}" for i in range(n)], dtype=object)
    return pd.MultiIndex.from_arrays([[i % 2 for i in range(n)], [f"k{i}" for i in range(n)]])


@st.composite
def frames(draw: Any) -> dict[str, Any]:
    """A frame, the column to use and what is hostile about them."""
    n = draw(st.integers(0, 8))
    hostile: set[str] = set()
    if draw(st.integers(0, 4)) == 0:  # a dtype that holds no text
        make = draw(st.sampled_from(sorted(NO_TEXT)))
        series = NO_TEXT[make]()
        hostile.add("dtype")
    else:
        values = draw(st.lists(cell(), min_size=n, max_size=n))
        series = as_text_dtype(values, draw(st.sampled_from(TEXT_DTYPES)))
    series.index = draw(index_for(len(series)))
    name = draw(st.sampled_from(["contact_id", "Contact ID", 0]))
    df = pd.DataFrame({name: series, "other": 1})
    column: Any = name
    kind = draw(st.sampled_from(["ok"] * 6 + ["missing", "unhashable", "twice"]))
    if kind == "missing":
        column = "contact_idd"
        hostile.add("column")
    elif kind == "unhashable":
        column = [name]
        hostile.add("column")
    elif kind == "twice":
        df = pd.concat([df, df[[name]]], axis=1)
        hostile.add("column")
    return {"df": df, "column": column, "hostile": hostile}


@st.composite
def list_ids_for(draw: Any) -> dict[str, Any]:
    """list_ids in some form, and whether it is hostile."""
    kind = draw(st.sampled_from(["ids", "names", "mixed", "one", "gen", "series", "bad"]))
    good = draw(st.lists(st.sampled_from(LIST_IDS), min_size=1, max_size=3))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2))
    if kind == "ids":
        return {"value": good, "hostile": False, "names": False}
    if kind == "names":
        return {"value": names, "hostile": False, "names": True}
    if kind == "mixed":
        return {"value": good + names, "hostile": False, "names": True}
    if kind == "one":
        return {"value": draw(st.sampled_from([good[0], names[0]])), "hostile": False}
    if kind == "gen":
        return {"value": (v for v in good + names), "hostile": False, "names": True}
    if kind == "series":
        return {"value": pd.Series(good, index=[9] * len(good)), "hostile": False}
    bad = draw(
        st.sampled_from(
            [None, [], 7, b"x", {LIST_IDS[0]}, {"a": LIST_IDS[0]}, np.array([[LIST_IDS[0]]])]
            + [[v] for v in (None, np.nan, 3, 2.5, b"x", "", "  ", (LIST_IDS[0],))]
        )
    )
    if isinstance(bad, list) and bad and draw(st.booleans()):
        bad = names + bad  # a real name next to it must not be looked up
    return {"value": bad, "hostile": True}


def _remove(df, lists, column, client):  # ccpandas.remove_from_lists
    return ccpandas.remove_from_lists(
        df, lists, column=column, client=client, dry_run=True, snapshot=False
    )


def _remove_auto(df, lists, column, client):  # the default snapshot="auto"
    return ccpandas.remove_from_lists(df, lists, column=column, client=client, dry_run=True)


def _accessor_remove(df, lists, column, client):
    return df.cc.remove_from_lists(
        lists, column, client=client, dry_run=True, progress=False, snapshot=False
    )


def _accessor_plan(df, lists, column, client):
    return df.cc.plan(lists, column, client=client, snapshot=False)


def _memberships(df, lists, column, client):
    # the frame's column as Source.contact_ids (a hostile column is refused by pandas'
    # own frame[column] first: that is the caller's code, so take the first column)
    values = df.iloc[:, 0].tolist()
    return ccpandas.remove_list_memberships(
        client,
        lists,
        source=Source.contact_ids(values),
        dry_run=True,
        progress=False,
        snapshot=False,
    )


def _keep(df, lists, column, client):
    return df.cc.keep_in_lists(
        lists,
        column,
        client=client,
        dry_run=True,
        progress=False,
        snapshot=False,
        max_removed=None,
    )


ENTRY_POINTS = {
    "ccpandas.remove_from_lists": _remove,
    "ccpandas.remove_from_lists(snapshot=auto)": _remove_auto,
    "df.cc.remove_from_lists": _accessor_remove,
    "df.cc.plan": _accessor_plan,
    "remove_list_memberships(Source.contact_ids)": _memberships,
    "df.cc.keep_in_lists": _keep,
}


@pytest.mark.parametrize("entry", list(ENTRY_POINTS), ids=list(ENTRY_POINTS))
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames(), targets=list_ids_for())
def test_refused_cleanly_or_planned_exactly(emu, client, entry, frame, targets) -> None:
    df, column = frame["df"], frame["column"]
    hostile = set(frame["hostile"])
    if entry.startswith("remove_list_memberships"):
        hostile.discard("column")  # it takes no column: the values go in a Source
    if targets["hostile"]:
        hostile.add("list_ids")
    note(f"{entry}: hostile={hostile} column={column!r} dtype={df.iloc[:, 0].dtype}")
    before_log = len(emu.account.request_log)
    before = emu.account.count()
    try:
        out = ENTRY_POINTS[entry](df, targets["value"], column, client)
    except (CCError, TypeError, ValueError) as exc:
        sent = emu.account.request_log[before_log:]
        msg = str(exc)
        note(f"refused: {type(exc).__name__}: {msg}")
        event(f"refused ({'+'.join(sorted(hostile)) or 'data'})")
        assert emu.account.count() == before, [(r.method, r.path) for r in sent]
        words = {
            "list_ids": ["list_ids"],
            "column": ["column"],
            "dtype": ["column", "contact id"],
        }
        expected = [w for h in hostile for w in words[h]] or ["column", "contact id", "exclude"]
        assert any(w in msg for w in expected), (hostile, msg)
        return
    assert not hostile, f"hostile input {hostile} was not refused"
    event("planned")
    sent = emu.account.request_log[before_log:]
    if entry.endswith("(snapshot=auto)"):
        # planned with the default snapshot: reads only (lists, members), never a change
        assert all(r.method == "GET" for r in sent)
        return
    # planned: at most the one listing that resolves list names, nothing else
    assert all((r.method, r.path.split("?")[0]) == ("GET", "/v3/contact_lists") for r in sent)
    assert emu.account.count() - before <= 1
    plan = out if isinstance(out, ccpandas.RemovalPlan) else out.plan
    rows = plan.rows
    given_values = df.iloc[:, 0]
    if entry.startswith("remove_list_memberships"):
        given_values = pd.Series(given_values.tolist(), dtype=object)
    expected = reference(given_values.astype(object).tolist())
    assert rows["plan_status"].astype(str).tolist() == expected
    if not entry.startswith("remove_list_memberships"):
        assert rows.index.equals(df.index)
        first: dict[str, Any] = {}
        for label, norm, status, dup_of in zip(
            df.index, rows["normalized_id"], rows["plan_status"], rows["duplicate_of"], strict=True
        ):
            if status == "planned":
                first[norm] = label
            elif status == "duplicate":
                assert dup_of == first[norm]
    if entry == "df.cc.keep_in_lists":
        assert set(expected) <= {"planned", "duplicate"}
    else:
        assert plan.n_contacts == expected.count("planned")


@pytest.mark.parametrize("shape", [list, tuple, pd.Index, np.array])
def test_remove_from_lists_takes_a_list_tuple_index_or_array(cc_emulator_factory, shape) -> None:
    # The guide's "What input is accepted": ccpandas.remove_from_lists takes a DataFrame,
    # a Series, an Index, a list, a tuple or a 1-d array. Only a frame or a Series was.
    emu = cc_emulator_factory(seed=26, contacts=300, rate=None, speed=1_000_000.0)
    target = emu.account.list_ids()[0]
    members = sorted(emu.account.members(target))[:4]
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as c:
        result = ccpandas.remove_from_lists(
            shape([*members, "junk"]), [target], client=c, progress=False
        )
    assert result.rows["status"].astype(str).tolist() == [*["removed"] * 4, "invalid_id"]
    assert result.ok and not set(members) & emu.account.members(target)


def test_by_email_on_a_column_without_addresses_costs_no_request(emu, client) -> None:
    # by="email" forced on a column of contact ids: refused before the lists' listing
    # (it was refused after it), like by="contact_id" on addresses.
    ids = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]})
    target = emu.account.list_ids()[0]
    for call in (
        lambda: ids.cc.remove_from_lists([target], client=client, by="email", dry_run=True),
        lambda: ids.cc.plan([target], client=client, by="email"),
        lambda: ids.cc.add_to_lists([target], client=client, by="email", dry_run=True),
    ):
        _refused_without_requests(emu, call, "no email address in column 'contact_id'")


def test_a_saved_index_column_is_no_title_row() -> None:
    # A frame re-read from a CSV saved with its index has an "Unnamed: 0" column; a
    # value "email" in another column made the message speak of a title row.
    frame = pd.DataFrame(
        {
            "Unnamed: 0": [0, 1],
            "contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"] * 2,
            "Email": ["a@x.com", "b@x.com"],
            "channel": ["email", "sms"],
        }
    )
    with pytest.raises(PlanError, match="Did you mean 'Email'"):
        frame.cc.plan([LIST], "email", snapshot=False)
