"""Unit tests for the pure planning layer (ccpandas.plan.planner, ccpandas.plan.ids). No HTTP."""

from __future__ import annotations

import dataclasses
import doctest
import importlib.util
import math
import pickle

import numpy as np
import pandas as pd
import pytest

import ccpandas.plan.ids
import ccpandas.plan.planner
from ccpandas.errors import PlanError
from ccpandas.models import IdSlice, Source, SourceKind
from ccpandas.plan.planner import (
    PLAN_STATUSES,
    ROW_COLUMNS,
    RemovalPlan,
    normalize_ids,
    plan_removal,
    plan_source_removal,
    resolve_list_ids,
)

pytestmark = pytest.mark.filterwarnings("error::FutureWarning")

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
arrow_only = pytest.mark.skipif(not HAS_ARROW, reason="pyarrow is not installed")


def cid(i: int) -> str:
    """A deterministic canonical contact id."""
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def lid(i: int) -> str:
    """A deterministic canonical list id."""
    return f"{i:08x}-1111-4111-8111-{i:012x}"


LIST = lid(1)

# Every string column type a user may hand us.
STRING_DTYPES = [
    pytest.param(object, id="object"),
    pytest.param("string", id="string-python"),
    pytest.param("str", id="str"),
    pytest.param("category", id="category"),
    pytest.param("string[pyarrow]", id="string-pyarrow", marks=arrow_only),
    pytest.param("arrow", id="ArrowDtype", marks=arrow_only),
]


def as_dtype(values: list, dtype) -> pd.Series:
    if dtype == "arrow":
        import pyarrow as pa

        return pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    return pd.Series(values, dtype=dtype)


def statuses(plan: RemovalPlan) -> list[str]:
    return plan.rows["plan_status"].tolist()


# -- statuses -------------------------------------------------------------------------------
def test_every_status_and_reason() -> None:
    df = pd.DataFrame(
        {
            "contact_id": [
                cid(1),  # planned
                cid(1).upper(),  # duplicate of row 0 after normalising
                "not-a-uuid",  # invalid
                None,  # missing
                np.nan,  # missing
                pd.NA,  # missing
                "",  # missing (empty)
                "   ",  # missing (blank)
                12345,  # not a string
                1.5,  # not a string
                b"bytes",  # not a string
                cid(2),  # planned
            ]
        }
    )
    plan = plan_removal(df, LIST)
    rows = plan.rows
    assert statuses(plan) == [
        "planned",
        "duplicate",
        "invalid_id",
        "missing",
        "missing",
        "missing",
        "missing",
        "missing",
        "invalid_id",
        "invalid_id",
        "invalid_id",
        "planned",
    ]
    reasons = rows["reason"].tolist()
    assert pd.isna(reasons[0]) and pd.isna(reasons[11])
    assert reasons[1] == "duplicate of an earlier row (see duplicate_of)"
    assert "not a UUID" in reasons[2]
    assert reasons[3] == reasons[4] == reasons[5] == "missing value"
    assert reasons[6] == reasons[7] == "empty string"
    assert reasons[8] == "not a string (int)"
    assert reasons[9] == "not a string (float)"
    assert reasons[10] == "not a string (bytes)"
    assert rows["duplicate_of"].tolist()[1] == 0
    assert pd.isna(rows["duplicate_of"].tolist()[0])
    assert rows["normalized_id"].tolist()[:2] == [cid(1), cid(1)]
    assert rows["batch"].tolist()[0] == 0 and pd.isna(rows["batch"].tolist()[1])
    assert (plan.n_contacts, plan.n_invalid, plan.n_missing, plan.n_duplicates) == (2, 4, 5, 1)
    assert plan.n_rows == 12
    assert list(rows.columns) == list(ROW_COLUMNS)
    assert rows["plan_status"].dtype == pd.CategoricalDtype(list(PLAN_STATUSES))
    assert str(rows["batch"].dtype) == "Int64"
    assert isinstance(rows["reason"].dtype, pd.CategoricalDtype)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (cid(7), cid(7)),
        (cid(7).upper(), cid(7)),
        ("  " + cid(7) + "\t\n", cid(7)),
        ("{" + cid(7) + "}", cid(7)),
        (" { " + cid(7).upper() + " } ", cid(7)),
        ("{" + cid(7), None),  # unbalanced brace
        (cid(7) + "}", None),
        ("{{" + cid(7) + "}}", None),  # only one pair is removed
        ("{}", None),
        (cid(7).replace("-", ""), None),  # 32 hex digits without dashes
        ("urn:uuid:" + cid(7), None),
        (cid(7)[:-1] + "g", None),  # not hex
        (cid(7)[:-1], None),  # too short
        (cid(7) + "0", None),  # too long
        (cid(7)[:-1] + "\u00e9", None),  # non-ASCII
        (cid(7).replace("-", "_"), None),
    ],
)
def test_normalisation(raw: str, expected: str | None) -> None:
    ids, status = normalize_ids(pd.Series([raw, cid(1)]))
    if expected is None:
        assert status[0] == "invalid_id"
        assert pd.isna(ids[0])
    else:
        assert status[0] == "planned"
        assert ids[0] == expected


@pytest.mark.parametrize("dtype", STRING_DTYPES)
def test_string_column_types_plan_alike(dtype) -> None:
    values = [cid(3), " {" + cid(3).upper() + "} ", "junk", None, cid(4), "", cid(3)]
    plan = plan_removal(pd.DataFrame({"contact_id": as_dtype(values, dtype)}), [LIST])
    assert statuses(plan) == [
        "planned",
        "duplicate",
        "invalid_id",
        "missing",
        "planned",
        "missing",
        "duplicate",
    ]
    assert plan.contact_groups == ((cid(3), cid(4)),)
    assert plan.rows["duplicate_of"].tolist()[1] == 0
    assert plan.rows["duplicate_of"].tolist()[6] == 0
    normalized = plan.rows["normalized_id"].tolist()
    assert normalized[:2] == [cid(3), cid(3)] and pd.isna(normalized[2])
    assert all(type(i) is str for group in plan.contact_groups for i in group)


def test_categorical_with_non_string_and_unused_categories() -> None:
    cat = pd.Categorical([cid(2), 5, None, cid(1)], categories=[cid(1), cid(9), 5, cid(2)])
    plan = plan_removal(pd.Series(cat), LIST)
    assert statuses(plan) == ["planned", "invalid_id", "missing", "planned"]
    # Ids follow the rows' order of first appearance, not the category order.
    assert plan.contact_groups == ((cid(2), cid(1)),)
    assert plan.rows["reason"].tolist()[1] == "not a string (int)"


def test_categorical_without_categories() -> None:
    with pytest.raises(PlanError, match="2 missing"):
        plan_removal(pd.Series([None, None], dtype="category"), LIST)


@pytest.mark.parametrize(
    ("series", "reason"),
    [
        (pd.Series([1, 2, 3]), "not a string (int64)"),
        (pd.Series([1.0, 2.0]), "not a string (float64)"),
        (pd.Series([True, False]), "not a string (bool)"),
        (pd.Series(pd.to_datetime(["2024-01-01"])), "not a string (datetime64"),
    ],
)
def test_non_string_columns_are_rejected_with_the_type(series: pd.Series, reason: str) -> None:
    with pytest.raises(PlanError) as info:
        plan_removal(series, LIST)
    assert "no valid contact id" in str(info.value)
    ids = ccpandas.plan.ids.check_ids(series)
    assert ids.reason[0].startswith(reason)


def test_numeric_nan_is_missing() -> None:
    _, status = normalize_ids(pd.Series([np.nan, 1.0]))
    assert status.tolist() == ["missing", "invalid_id"]


def test_mixed_object_column_with_unhashable_values() -> None:
    plan = plan_removal(pd.Series([cid(1), ["a"], {"b": 1}, (cid(1),)], dtype=object), LIST)
    assert statuses(plan) == ["planned", "invalid_id", "invalid_id", "invalid_id"]
    assert plan.rows["reason"].tolist()[1:] == [
        "not a string (list)",
        "not a string (dict)",
        "not a string (tuple)",
    ]


def test_numpy_str_values_are_strings() -> None:
    plan = plan_removal(pd.Series([np.str_(cid(1)), cid(1)], dtype=object), LIST)
    assert statuses(plan) == ["planned", "duplicate"]


# -- index and input shapes ----------------------------------------------------------------
def test_series_input_keeps_its_index_and_name() -> None:
    s = pd.Series([cid(1), "x", cid(1)], index=["a", "b", "c"], name="id")
    plan = plan_removal(s, LIST)
    assert plan.rows.index.equals(s.index)
    assert plan.column == "id"
    assert plan.rows["duplicate_of"].tolist() == [None, None, "a"]
    assert plan.rows["reason"].tolist()[2].startswith("duplicate of an earlier row")


def test_duplicated_index_labels_keep_one_row_per_input_row() -> None:
    index = pd.Index([5, 5, 5, 2, 2])
    df = pd.DataFrame({"contact_id": [cid(1), cid(1), "bad", cid(2), cid(1)]}, index=index)
    plan = plan_removal(df, LIST)
    assert len(plan.rows) == 5
    assert plan.rows.index.equals(index)
    assert statuses(plan) == ["planned", "duplicate", "invalid_id", "planned", "duplicate"]
    assert plan.rows["duplicate_of"].tolist() == [pd.NA, 5, pd.NA, pd.NA, 5]
    assert plan.rows["contact_id"].tolist() == df["contact_id"].tolist()


def test_non_range_indexes() -> None:
    for index in (
        pd.Index([10, 3, 7]),
        pd.date_range("2024-01-01", periods=3),
        pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)]),
        pd.Index(["x", "x", "y"]),
    ):
        df = pd.DataFrame({"contact_id": [cid(1), cid(2), cid(1)]}, index=index)
        plan = plan_removal(df, LIST)
        assert plan.rows.index.equals(index)
        assert plan.rows["duplicate_of"].tolist()[2] == index[0]


def test_input_is_not_modified() -> None:
    df = pd.DataFrame({"contact_id": [" " + cid(1).upper(), None], "email": ["a@x", "b@x"]})
    before = df.copy()
    plan = plan_removal(df, LIST)
    pd.testing.assert_frame_equal(df, before)
    assert plan.rows["contact_id"].tolist()[0] == " " + cid(1).upper()


def test_other_column_name() -> None:
    df = pd.DataFrame({"id": [cid(1)], "contact_id": ["junk"]})
    assert plan_removal(df, LIST, column="id").n_contacts == 1


def test_list_and_index_inputs() -> None:
    assert plan_removal([cid(1), cid(2)], LIST).n_contacts == 2
    assert plan_removal(pd.Index([cid(1), "x"]), LIST).n_invalid == 1
    assert plan_removal(np.array([cid(1)], dtype=object), LIST).n_contacts == 1


# -- batches --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("contacts", "lists", "batches"),
    [(1, 1, 1), (500, 50, 1), (501, 50, 2), (500, 51, 2), (1234, 120, 9), (1000, 1000, 40)],
)
def test_batch_arithmetic(contacts: int, lists: int, batches: int) -> None:
    plan = plan_removal(
        pd.Series([cid(i) for i in range(contacts)]), [lid(i) for i in range(lists)]
    )
    assert plan.n_batches == plan.n_requests == batches
    assert batches == math.ceil(contacts / 500) * math.ceil(lists / 50)
    assert len(plan.contact_groups) == math.ceil(contacts / 500)
    assert len(plan.list_groups) == math.ceil(lists / 50)
    assert all(len(b.source.values) <= 500 and len(b.list_ids) <= 50 for b in plan.batches)
    assert [b.index for b in plan.batches] == list(range(batches))
    # Every (contact group, list group) pair exactly once covers every (contact, list).
    groups = sorted((b.contact_group, b.list_group) for b in plan.batches)
    assert groups == [
        (i, j) for i in range(len(plan.contact_groups)) for j in range(len(plan.list_groups))
    ]
    assert [c for g in plan.contact_groups for c in g] == [cid(i) for i in range(contacts)]
    assert [x for g in plan.list_groups for x in g] == [lid(i) for i in range(lists)]


def test_batches_follow_contact_groups_then_list_groups() -> None:
    plan = plan_removal(pd.Series([cid(i) for i in range(1001)]), [lid(i) for i in range(60)])
    order = [(b.contact_group, b.list_group) for b in plan.batches]
    assert order == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    assert [b.size for b in plan.batches] == [500, 500, 500, 500, 1, 1]
    assert plan.batches[1].list_ids == tuple(lid(i) for i in range(50, 60))
    assert plan.batches[0].to_json() == {
        "source": {"contact_ids": [cid(i) for i in range(500)]},
        "list_ids": [lid(i) for i in range(50)],
    }
    # Each planned row knows its contact group.
    batch = plan.rows["batch"].to_numpy()
    assert batch[0] == 0 and batch[499] == 0 and batch[500] == 1 and batch[1000] == 2


def test_contact_groups_keep_first_appearance_order() -> None:
    values = [cid(5), cid(3), cid(5), cid(9), cid(3).upper()]
    plan = plan_removal(pd.Series(values), LIST)
    assert plan.contact_groups == ((cid(5), cid(3), cid(9)),)
    assert plan.source == Source.contact_ids([cid(5), cid(3), cid(9)])


@pytest.mark.parametrize("dtype", STRING_DTYPES)
def test_contact_groups_are_lazy_slices_of_plain_strings(dtype) -> None:
    ids = [cid(i) for i in range(1_203)]
    plan = plan_removal(pd.DataFrame({"contact_id": as_dtype(ids, dtype)}), [LIST])
    groups = plan.contact_groups
    assert all(isinstance(g, IdSlice) for g in groups)
    assert isinstance(plan.source.values, IdSlice) and len(plan.source.values) == 1_203
    assert [len(g) for g in groups] == [500, 500, 203]
    # Equal to (and hashed like) the tuple of the same strings, either way round.
    assert groups[1] == tuple(ids[500:1_000]) and tuple(ids[500:1_000]) == groups[1]
    assert hash(groups[1]) == hash(tuple(ids[500:1_000]))
    assert groups[1] != tuple(ids[500:1_001]) and groups[1] != ids[500]
    assert groups[2][-1] == ids[-1] and groups[2][1:3] == (ids[1_001], ids[1_002])
    # Out of range or not an index: errors that name the IdSlice, as a tuple's name it
    with pytest.raises(IndexError, match=r"^IdSlice index out of range$"):
        groups[2][203]
    with pytest.raises(IndexError, match=r"^IdSlice index out of range$"):
        groups[2][-204]
    with pytest.raises(TypeError, match=r"^IdSlice indices must be integers or slices, not float"):
        groups[2][1.0]
    assert ids[700] in groups[1] and ids[0] not in groups[1]
    # `in` answers from the ids it converted once: the edges, another group's, an
    # unknown id, an unhashable value; the same from a copy pickled after that.
    assert ids[500] in groups[1] and ids[999] in groups[1] and ids[1_000] not in groups[1]
    assert cid(5_000) not in groups[1] and [ids[700]] not in groups[1]
    copy = pickle.loads(pickle.dumps(groups[1]))
    assert copy == groups[1] and ids[999] in copy and ids[499] not in copy
    body = plan.batches[2].to_json()["source"]["contact_ids"]
    assert body == ids[1_000:] and all(type(i) is str for i in body)
    assert Source.contact_ids(groups[0]).values is groups[0]
    assert "203 ids" in repr(groups[2]) and len(repr(plan.source)) < 200


def test_plan_is_frozen() -> None:
    plan = plan_removal(pd.Series([cid(1)]), LIST)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.list_ids = ()  # type: ignore[misc]


# -- target lists ---------------------------------------------------------------------------
def test_list_ids_forms() -> None:
    s = pd.Series([cid(1)])
    assert plan_removal(s, LIST).list_ids == (LIST,)
    assert plan_removal(s, (x for x in [LIST])).list_ids == (LIST,)
    assert plan_removal(s, pd.Series([LIST, lid(2)])).list_ids == (LIST, lid(2))
    assert plan_removal(s, ["{" + LIST.upper() + "} "]).list_ids == (LIST,)


def test_repeated_list_ids_are_merged_in_order_with_a_note() -> None:
    plan = plan_removal(pd.Series([cid(1)]), [lid(2), LIST, lid(2).upper(), LIST])
    assert plan.list_ids == (lid(2), LIST)
    assert plan.notes == ("2 repeated list ids merged",)
    assert "2 repeated list ids merged" in str(plan)


def test_a_thousand_lists_are_allowed() -> None:
    plan = plan_removal(pd.Series([cid(1)]), [lid(i) for i in range(1000)])
    assert plan.n_batches == 20


@pytest.mark.parametrize(
    ("list_ids", "message"),
    [
        ([], "list_ids is empty"),
        (None, "list_ids is required"),
        (42, "got int"),
        (["Newsletter", LIST], "1 malformed list id: 'Newsletter'"),
        ([LIST, None, 7], "2 malformed list ids: None, 7"),
        ([lid(i) for i in range(1001)], "1,001 target lists"),
        (pd.DataFrame({"list_id": [LIST]}), "got a DataFrame"),
    ],
)
def test_bad_list_ids(list_ids, message: str) -> None:
    with pytest.raises(PlanError, match=message) as info:
        plan_removal(pd.Series([cid(1)]), list_ids)
    if "malformed" in message:
        assert "resolve" in str(info.value)  # points at name resolution
        assert info.value.values


# -- errors on the data ---------------------------------------------------------------------
def test_missing_column_names_columns_and_close_match() -> None:
    df = pd.DataFrame({"Contact_ID": [cid(1)], "email": ["a@x"]})
    with pytest.raises(PlanError) as info:
        plan_removal(df, LIST)
    msg = str(info.value)
    assert "'contact_id' not found" in msg
    assert "'Contact_ID', 'email'" in msg
    assert "Did you mean 'Contact_ID'?" in msg
    assert info.value.column == "contact_id"
    assert info.value.values == ["Contact_ID"]


def test_missing_column_without_close_match() -> None:
    with pytest.raises(PlanError) as info:
        plan_removal(pd.DataFrame({"zzz": [1]}), LIST)
    assert "Did you mean" not in str(info.value)
    with pytest.raises(PlanError, match="has no columns"):
        plan_removal(pd.DataFrame(), LIST)


def test_unhashable_column_name() -> None:
    with pytest.raises(PlanError, match="not found"):
        plan_removal(pd.DataFrame({"contact_id": [cid(1)]}), LIST, column=["contact_id"])


def test_duplicated_column_name() -> None:
    df = pd.DataFrame([[cid(1), cid(2)]], columns=["contact_id", "contact_id"])
    with pytest.raises(PlanError, match="appears 2 times"):
        plan_removal(df, LIST)


def test_empty_input() -> None:
    with pytest.raises(PlanError, match="no rows") as info:
        plan_removal(pd.DataFrame({"contact_id": []}), LIST)
    assert info.value.column == "contact_id"


def test_no_valid_ids_reports_counts_and_examples() -> None:
    df = pd.DataFrame({"contact_id": ["abc", "abc", None, 12, "", "{x}"]})
    with pytest.raises(PlanError) as info:
        plan_removal(df, LIST)
    msg = str(info.value)
    assert "no valid contact id in column 'contact_id'" in msg
    assert "4 invalid" in msg and "2 missing" in msg and "of 6 rows" in msg
    assert "'abc', 12, '{x}'" in msg  # distinct examples
    assert info.value.values == ["abc", 12, "{x}"]


@pytest.mark.parametrize("data", ["a-string", 42, None, {"contact_id": [1]}])
def test_wrong_data_type(data) -> None:
    with pytest.raises(PlanError, match="expected a DataFrame or Series"):
        plan_removal(data, LIST)


def test_two_dimensional_array() -> None:
    with pytest.raises(PlanError, match="2-d array"):
        plan_removal(np.array([[cid(1)]]), LIST)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate must be"),
        ({"rate": -1.0}, "rate must be"),
        ({"rate": float("nan")}, "rate must be"),
        ({"rate": "4"}, "rate must be"),
        ({"daily_quota": 0}, "daily_quota must be"),
        ({"daily_quota": 1.5}, "daily_quota must be"),
    ],
)
def test_bad_pace(kwargs, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_removal(pd.Series([cid(1)]), LIST, **kwargs)


# -- summaries ------------------------------------------------------------------------------
def test_summary_numbers() -> None:
    values = [cid(i) for i in range(1200)] + ["bad"] * 3 + [None] * 2 + [cid(0)]
    plan = plan_removal(pd.Series(values), [lid(i) for i in range(3)], rate=4.0)
    s = plan.summary()
    assert s["rows"] == 1206 and s["contacts"] == 1200
    assert (s["invalid"], s["missing"], s["duplicates"]) == (3, 2, 1)
    assert s["batches"] == s["requests"] == 3 and s["lists"] == 3
    # removals and the polls expected to follow them, as days_needed counts
    assert s["quota_share"] == pytest.approx((3 + s["expected_polls"]) / 10_000)
    # POSTs at 0, 0.25 and 0.5 s, processed until 0.5, 0.75 and 0.85 s (0.25 s start
    # delay, 500 contacts in 0.25 s): the poll at 0.75 s sees the third running, the
    # one 1 s later sees it ended
    assert s["estimated_seconds"] == pytest.approx(1.75)
    assert s["invalid_examples"] == ["bad"]
    assert s["expected_polls"] >= 1 and s["days_needed"] == 1
    assert s["source"] == "contact_ids"


def test_text_summary() -> None:
    values = [cid(i) for i in range(40_000)] + ["oops", 7, None, cid(1)]
    plan = plan_removal(pd.Series(values), [lid(i) for i in range(120)])
    text = str(plan)
    assert text == repr(plan)
    for part in (
        "40,004",  # rows
        "40,000 unique valid ids",
        "invalid          2 (e.g. 'oops', 7)",
        "missing          1",
        # duplicate_of names a row, not a count
        "duplicates       1 (sent once; e.g. row 40003 is a duplicate of row 1)",
        # in an analyst's words; the groups and polls one level down
        f"240 requests to remove 40,000 contacts from 120 lists, then about "
        f"{plan.expected_polls} more to follow them",
        "2.5% of 10,000/day",
        # 240 POSTs and the 13 polls while sending, a slot each, then the closing poll
        "time at 4 req/s  1 min 4 s",
        "  details\n",
        "list groups       3 (at most 50 lists per request)",
        "contact groups    80 (at most 500 contacts per request)",
    ):
        assert part in text, part
    summary = text.split("  details\n")[0]
    for jargon in ("group of", "batches", "removals (+", "polls"):
        assert jargon not in summary, jargon


def test_text_summary_over_a_days_quota() -> None:
    contacts = pd.Series([cid(i) for i in range(500 * 150)])
    plan = plan_removal(contacts, [lid(i) for i in range(1000)], rate=0.5, daily_quota=2000)
    assert plan.n_requests == 150 * 20
    # 3,000 removals and 1,499 expected polls against 2,000 a day: at 0.5 req/s the
    # runner polls every 5 s while sending, so after every other removal
    assert plan.quota_share == pytest.approx((3000 + plan.summary()["expected_polls"]) / 2000)
    assert plan.quota_share == pytest.approx(2.2495)
    assert plan.days_needed == 3
    text = str(plan)
    assert "224.9% of 2,000/day; needs 3 days" in text
    # 3,000 POSTs and 1,498 polls while sending, 2 s a slot, and the closing poll
    assert "time at 0.5 req/s  2 h 29 min" in text


def test_html_summary_escapes_values() -> None:
    plan = plan_removal(pd.Series([cid(1), "<script>alert(1)</script>"]), LIST)
    page = plan._repr_html_()
    assert page.startswith("<table") and "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "invalid" in page and "requests" in page
    # the technical figures one level down, in a <details>
    assert "<details" in page and "list groups" in page.split("<details")[1]


# -- other sources --------------------------------------------------------------------------
def test_tag_source_splits_into_groups_of_fifty() -> None:
    tags = [cid(i) for i in range(75)]
    plan = plan_source_removal(Source.tag_ids(tags), [lid(i) for i in range(51)])
    assert len(plan.source_groups) == 2 and len(plan.list_groups) == 2
    assert plan.n_batches == 4
    assert plan.batches[0].source == Source.tag_ids(tags[:50])
    assert plan.batches[3].source == Source.tag_ids(tags[50:])
    assert plan.batches[3].list_ids == (lid(50),)
    assert plan.rows.empty and list(plan.rows.columns) == list(ROW_COLUMNS)
    assert plan.n_contacts is None
    assert "members of 75 tags" in str(plan)


def test_source_ids_are_normalised_and_merged() -> None:
    plan = plan_source_removal(Source.tag_ids([" {" + cid(1).upper() + "}", cid(1)]), LIST)
    assert plan.source == Source.tag_ids([cid(1)])


def test_list_source_with_exclude_series() -> None:
    keep = pd.Series([cid(1), cid(2).upper(), cid(1)], index=["a", "b", "c"])
    plan = plan_source_removal(Source.list_ids([lid(9)]), LIST, exclude=keep)
    assert plan.exclude == (cid(1), cid(2))
    assert plan.rows.index.equals(keep.index)
    assert statuses(plan) == ["planned", "planned", "duplicate"]
    assert plan.rows["duplicate_of"].tolist()[2] == "a"
    assert plan.batches[0].to_json() == {
        "source": {"list_ids": [lid(9)]},
        "list_ids": [LIST],
        "exclude": {"contact_ids": [cid(1), cid(2)]},
    }
    assert "2 contacts kept" in str(plan)


def test_exclude_from_a_dataframe_or_a_list() -> None:
    df = pd.DataFrame({"contact_id": [cid(3)]})
    src = Source.all_active_contacts()
    plan = plan_source_removal(src, LIST, exclude=df, confirm_all_active=True)
    assert plan.exclude == (cid(3),)
    plan = plan_source_removal(src, LIST, exclude=[cid(4)], confirm_all_active=True)
    assert plan.exclude == (cid(4),)
    plan = plan_source_removal(src, LIST, exclude=[], confirm_all_active=True, confirm_empty=True)
    assert plan.exclude == () and plan.rows.empty


def test_exclude_with_invalid_or_missing_ids_is_refused() -> None:
    with pytest.raises(PlanError) as info:
        plan_source_removal(Source.list_ids([lid(9)]), LIST, exclude=[cid(1), "nope", None])
    msg = str(info.value)
    assert "2 value(s) that are not contact ids" in msg and "'nope'" in msg and "None" in msg
    assert info.value.values == ["nope", None]


def test_exclude_only_with_list_or_all_active_sources() -> None:
    for source in (Source.tag_ids([cid(1)]), Source.engagement_level("low")):
        with pytest.raises(PlanError, match="exclude only goes with"):
            plan_source_removal(source, LIST, exclude=[cid(2)])
    with pytest.raises(PlanError, match="not with a contact_ids source"):
        plan_source_removal(Source.contact_ids([cid(1)]), LIST, exclude=[cid(2)])


def test_all_active_contacts_needs_confirmation() -> None:
    with pytest.raises(PlanError, match="confirm_all_active=True"):
        plan_source_removal(Source.all_active_contacts(), LIST)
    with pytest.raises(PlanError, match="confirm_all_active=True"):
        plan_source_removal(Source.all_active_contacts(), LIST, confirm_all_active="yes")  # type: ignore[arg-type]
    plan = plan_source_removal(Source.all_active_contacts(), LIST, confirm_all_active=True)
    assert plan.batches[0].to_json() == {
        "source": {"all_active_contacts": True},
        "list_ids": [LIST],
    }
    assert "all active contacts" in str(plan)


def test_engagement_level() -> None:
    plan = plan_source_removal(Source.engagement_level(" Low "), [lid(i) for i in range(101)])
    assert plan.source == Source.engagement_level("low")
    assert plan.n_batches == 3
    with pytest.raises(PlanError, match="'bogus' is not one of 'unqualified', 'low'"):
        plan_source_removal(Source.engagement_level("bogus"), LIST)
    with pytest.raises(PlanError, match="engagement level"):
        plan_source_removal(Source(SourceKind.ENGAGEMENT_LEVEL, ("low", "high")), LIST)


def test_bad_source_ids() -> None:
    with pytest.raises(PlanError, match="needs at least one tag id"):
        plan_source_removal(Source.tag_ids([]), LIST)
    with pytest.raises(PlanError, match="1 malformed tag id: 'vip'"):
        plan_source_removal(Source.tag_ids(["vip", cid(1)]), LIST)
    with pytest.raises(PlanError, match="malformed source list id"):
        plan_source_removal(Source.list_ids(["Newsletter"]), LIST)
    with pytest.raises(PlanError, match=r"must be a ccpandas\.Source"):
        plan_source_removal("tag_ids", LIST)  # type: ignore[arg-type]
    with pytest.raises(PlanError, match="list_ids is empty"):
        plan_source_removal(Source.tag_ids([cid(1)]), [])


def test_contact_ids_source_is_planned_like_a_column() -> None:
    plan = plan_source_removal(Source.contact_ids([cid(1), cid(1), "x"]), LIST)
    assert statuses(plan) == ["planned", "duplicate", "invalid_id"]
    assert plan.source == Source.contact_ids([cid(1)])


# -- list names -----------------------------------------------------------------------------
LISTS = pd.DataFrame(
    {
        "list_id": [lid(1), lid(2), lid(3), lid(4)],
        "name": ["Newsletter", "VIP", "Events", "Events"],
        "membership_count": [10, 2, 3, 4],
    }
)


def test_resolve_ids_and_names_in_order() -> None:
    got = resolve_list_ids(["VIP", "{" + lid(9).upper() + "}", "Newsletter"], LISTS)
    assert got == (lid(2), lid(9), lid(1))
    assert resolve_list_ids("VIP", LISTS) == (lid(2),)
    assert resolve_list_ids([lid(7)], None) == (lid(7),)  # ids need no lookup
    assert resolve_list_ids(["VIP"], {"VIP": lid(2).upper()}) == (lid(2),)


def test_resolve_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(PlanError) as info:
        resolve_list_ids(["Newsleter", "Zzz"], LISTS)
    msg = str(info.value)
    assert "unknown list names: 'Newsleter' (did you mean 'Newsletter'?), 'Zzz'" in msg
    assert info.value.values == ["Newsleter", "Zzz"]


def test_resolve_ambiguous_name_lists_candidates() -> None:
    with pytest.raises(PlanError) as info:
        resolve_list_ids(["Events"], LISTS)
    msg = str(info.value)
    assert "ambiguous list name" in msg and lid(3) in msg and lid(4) in msg


def test_resolve_names_need_lists() -> None:
    with pytest.raises(PlanError, match="'VIP' cannot be resolved without a client"):
        resolve_list_ids(["VIP", lid(1)], None)


@pytest.mark.parametrize(
    ("values", "lists", "message"),
    [
        ([None], LISTS, "must be strings; got None"),
        ([], LISTS, "list_ids is empty"),
        (["VIP"], pd.DataFrame({"id": [lid(1)]}), "needs columns 'list_id' and 'name'"),
        (["VIP"], ["VIP"], "lists must be a DataFrame or a name -> id mapping"),
        (["VIP"], {"VIP": "not-a-uuid"}, "malformed list id in the lists table"),
    ],
)
def test_resolve_errors(values, lists, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        resolve_list_ids(values, lists)


# -- helpers ---------------------------------------------------------------------------------
def test_normalize_ids_keeps_index() -> None:
    s = pd.Series(["{" + cid(1) + "}", 3, None], index=[9, 9, 1], name="x")
    ids, status = normalize_ids(s)
    assert ids.index.equals(s.index) and status.index.equals(s.index)
    assert ids.name == "x"
    assert status.tolist() == ["planned", "invalid_id", "missing"]


def test_docstring_examples() -> None:
    for module in (ccpandas.plan.ids, ccpandas.plan.planner):
        result = doctest.testmod(module, extraglobs={"pd": pd}, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0


def test_large_object_columns_plan_the_same_through_arrow(monkeypatch):
    """Object columns are checked as Arrow text when pyarrow is there; the plan must
    be identical to the Python-object path."""
    pytest.importorskip("pyarrow", reason="the Arrow fast path needs pyarrow")
    import ccpandas.plan.ids as ids_module

    good = [f"8b54d1f4-5b0e-11ee-8c99-{i:012x}" for i in range(11_000)]
    messy = [good[0].upper(), "{" + good[1] + "}", "  " + good[2], "nope", None, "", float("nan")]
    column = pd.Series(good + messy + good[:100], dtype=object)
    fast = plan_removal(column, LIST)
    monkeypatch.setattr(ids_module, "_arrow_text", None)
    slow = plan_removal(column, LIST)
    for name in ("plan_status", "reason", "duplicate_of", "batch", "normalized_id"):
        left = fast.rows[name].astype(object).where(fast.rows[name].notna(), None)
        right = slow.rows[name].astype(object).where(slow.rows[name].notna(), None)
        assert left.tolist() == right.tolist(), name
    assert fast.contact_groups == slow.contact_groups
    assert fast.rows["contact_id"].dtype == object  # the column as given
