"""The fast path of id checking (canonical ids read as 128-bit numbers from Arrow buffers)
must give exactly what the general path gives, for every column shape it accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ccpandas.plan.ids as ids_module
from ccpandas.plan.ids import check_ids

pa = pytest.importorskip("pyarrow", reason="the fast path reads Arrow buffers")

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cid(n: int) -> str:
    return f"8b54d1f4-5b0e-41ee-8c99-{n:012x}"


def general(values: pd.Series) -> ids_module.CheckedIds:
    return ids_module._check_general(values)


def same(fast: ids_module.CheckedIds, slow: ids_module.CheckedIds) -> None:
    assert [str(v) for v in fast.ids] == [str(v) for v in slow.ids]
    assert fast.codes.tolist() == slow.codes.tolist()
    assert fast.status.tolist() == slow.status.tolist()
    assert fast.reason.tolist() == slow.reason.tolist()
    left = [None if pd.isna(v) else v for v in fast.normalized.tolist()]
    right = [None if pd.isna(v) else v for v in slow.normalized.tolist()]
    assert left == right


def respell(draw: st.DrawFn, text: str) -> str:
    kind = draw(st.sampled_from(["as is", "as is", "upper", "braced", "spaced", "broken"]))
    if kind == "upper":
        return text.upper()
    if kind == "braced":
        return "{" + text + "}"
    if kind == "spaced":
        return " " + text + "\t"
    if kind == "broken":  # 36 characters, not hex, or not ASCII
        return draw(st.sampled_from([text[:-1] + "g", text[:8] + "_" + text[9:], "€" * 12]))
    return text


@st.composite
def mostly_canonical(draw: st.DrawFn) -> pd.Series:
    """Arrow-backed or object columns of canonical ids from a small pool, with other
    spellings, repeats, missing values and broken 36-character strings among them."""
    pool = draw(st.integers(1, 6))
    n = draw(st.integers(1, 80))
    values: list[object] = []
    for _ in range(n):
        if draw(st.integers(0, 9)) == 0:
            values.append(None)
        else:
            values.append(respell(draw, cid(draw(st.integers(0, pool)))))
    dtype = draw(st.sampled_from(["object", "str", "string[pyarrow]", "arrow", "large", "slice"]))
    if dtype == "arrow":
        return pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    if dtype == "large":
        return pd.Series(values, dtype=pd.ArrowDtype(pa.large_string()))
    if dtype == "slice":  # an Arrow array that starts at an offset, in two chunks
        chunks = pa.chunked_array([pa.array(["x", *values[: n // 2]])[1:], values[n // 2 :]])
        return pd.Series(pd.arrays.ArrowExtensionArray(chunks))
    return pd.Series(values, dtype=dtype)


@SETTINGS
@given(series=mostly_canonical())
def test_fast_path_equals_the_general_path(series: pd.Series) -> None:
    assert ids_module._canonical_rows(series) is not None  # the fast path applies
    same(check_ids(series), general(series))


def test_mixed_object_columns_take_the_general_path() -> None:
    series = pd.Series([cid(1), 5, None, b"x"], dtype=object)
    assert ids_module._canonical_rows(series) is None
    assert check_ids(series).status.tolist() == [0, 1, 2, 1]


def test_a_key_collision_falls_back_to_the_general_path(monkeypatch) -> None:
    # With the mixing factor 0 a key is the id's second half only: ids that differ in
    # their first half collide, and the check must notice.
    monkeypatch.setattr(ids_module, "_MIX", np.uint64(0))
    values = pd.Series(
        ["00000000-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000001"] * 3,
        dtype="str",
    )
    checked = check_ids(values)
    assert checked.codes.tolist() == [0, 1, 0, 1, 0, 1]
    assert list(checked.ids) == values.tolist()[:2]


def test_canonical_rows_share_the_columns_buffers() -> None:
    # Every row with an id is canonical: the per-row ids are the column's own bytes
    # under a validity bitmap, not a second copy of the column.
    values = pd.Series([cid(1), "junk", None, cid(2), cid(1)], dtype=pd.ArrowDtype(pa.string()))
    checked = check_ids(values)
    column = pa.array(values.array)
    column = column.chunk(0) if isinstance(column, pa.ChunkedArray) else column
    normalized = pa.array(checked.normalized.array)
    normalized = normalized.chunk(0) if isinstance(normalized, pa.ChunkedArray) else normalized
    assert normalized.buffers()[2].address == column.buffers()[2].address
    assert checked.normalized.tolist()[:2] == [cid(1), None] or pd.isna(
        checked.normalized.tolist()[1]
    )
    assert checked.normalized.isna().tolist() == [False, True, True, False, False]


def test_large_columns_plan_the_same_on_both_paths(monkeypatch) -> None:
    rng = np.random.default_rng(7)
    ids = [cid(int(i)) for i in rng.integers(0, 30_000, size=60_000)]
    ids[5] = ids[3].upper()
    ids[100] = None
    ids[200] = ids[300][:-1] + "z"
    for dtype in ("object", "str"):
        series = pd.Series(ids, dtype=dtype)
        same(check_ids(series), general(series))


@st.composite
def one_value(draw: st.DrawFn) -> object:
    """A value as a call's arguments hold it: an id in any spelling, a name, text of any
    characters (whitespace, invisible marks), or no string at all."""
    kind = draw(st.sampled_from(["id", "id", "text", "padded", "other"]))
    if kind == "id":
        return respell(draw, cid(draw(st.integers(0, 3))))
    if kind == "padded":  # Unicode whitespace and invisible marks around an id
        pad = st.text(alphabet=" \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u200b\u3000\ufeff", max_size=3)
        return draw(pad) + respell(draw, cid(1)) + draw(pad)
    if kind == "other":
        return draw(st.sampled_from([None, 7, 1.5, float("nan"), b"x", np.str_(cid(2))]))
    return draw(st.text(max_size=40))


@settings(max_examples=100, deadline=None)  # check_ids costs milliseconds a value
@given(value=one_value())
def test_uuid_of_one_value_is_what_check_ids_makes_of_it(value: object) -> None:
    checked = check_ids(pd.Series([value], dtype=object))
    expected = str(checked.normalized.iloc[0]) if checked.status[0] == ids_module.PLANNED else None
    assert ids_module.uuid_of(value) == expected
    assert type(ids_module.uuid_of(value)) in (str, type(None))
