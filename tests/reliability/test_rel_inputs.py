"""Hypothesis over the public API's inputs, end to end against the emulator.

Frames with odd dtypes (object, python and Arrow strings, ``str``, categorical), ids in
mixed case, in braces, wrapped in whitespace, missing, malformed or not strings at all;
odd indexes; target lists by id, by name, repeated, unknown or by the thousand. Each
input either plans correctly (checked against a plain per-row reference) and then
removes exactly those contacts, or raises ``PlanError`` naming the problem, with no
removal request sent (the emulator's request counts say so).
"""

from __future__ import annotations

import importlib.util
import math
import random
import uuid
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from reliability_support import REMOVE, check_all, fast_client, fast_runner, memberships
from specs import CANONICAL, is_missing, reference

from ccpandas import PlanError, remove_from_lists
from ccpandas.api import plan_list_removal, run_plan
from ccpandas.emulator import Emulator
from ccpandas.plan.planner import plan_removal

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
SEED, CONTACTS, LISTS = 41, 700, 60

# The account every example starts from (a fresh emulator per example, same seed).
_TEMPLATE = Emulator(seed=SEED, contacts=CONTACTS, lists=LISTS)
CONTACT_IDS = _TEMPLATE.account.contact_ids()
LIST_IDS = _TEMPLATE.account.list_ids()
LIST_NAMES = [lst.name for lst in _TEMPLATE.account.lists.values()]
UNIQUE_NAMES = [n for n in LIST_NAMES if LIST_NAMES.count(n) == 1]


# -- generating values ------------------------------------------------------------------
def _spelled(draw: Any, uid: str) -> str:
    """One spelling of an id that must be accepted: case, braces, outer whitespace."""
    case = draw(st.sampled_from(["lower", "upper", "mixed"]))
    if case == "upper":
        uid = uid.upper()
    elif case == "mixed":
        flips = draw(st.lists(st.booleans(), min_size=len(uid), max_size=len(uid)))
        uid = "".join(c.upper() if f else c for c, f in zip(uid, flips, strict=True))
    if draw(st.booleans()):
        inner = draw(st.sampled_from(["", " ", "\t"]))
        uid = "{" + inner + uid + inner + "}"
    pad = st.sampled_from(["", " ", "  ", "\t", "\n", " \u00a0"])
    return draw(pad) + uid + draw(pad)


@st.composite
def cell(draw: Any) -> Any:
    kind = draw(
        st.sampled_from(["known"] * 6 + ["stranger", "missing", "blank", "malformed", "not_text"])
    )
    if kind == "known":
        return _spelled(draw, draw(st.sampled_from(CONTACT_IDS[:60])))
    if kind == "stranger":  # a valid UUID the account does not have
        return _spelled(draw, str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)), version=4)))
    if kind == "missing":
        return draw(st.sampled_from([None, np.nan, pd.NA, float("nan")]))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t\n"]))
    if kind == "malformed":
        uid = draw(st.sampled_from(CONTACT_IDS[:60]))
        return draw(
            st.sampled_from(
                [
                    uid[:-1],
                    uid + "0",
                    "{" + uid,
                    uid + "}",
                    "{{" + uid + "}}",
                    uid.replace("-", ""),
                    uid.replace("-", " "),
                    "not-a-uuid",
                    "{}",
                    "contact_id",
                ]
            )
        )
    return draw(st.sampled_from([7, 3.5, True, b"abc", uid_bytes(), ("a",)]))


def uid_bytes() -> bytes:
    return CONTACT_IDS[0].encode()


DTYPES = ["object", "str", "string[python]", "category"] + (
    ["string[pyarrow]", "arrow"] if HAS_ARROW else []
)


def as_dtype(values: list[Any], dtype: str) -> pd.Series:
    series = pd.Series(values, dtype=object)
    if dtype == "object":
        return series
    if dtype == "category":
        with warnings.catch_warnings():
            # pandas deprecates categories of sequences (a tuple cell): refused as below
            warnings.simplefilter("error", FutureWarning)
            warnings.simplefilter("error", DeprecationWarning)
            try:
                return series.astype("category")
            except (TypeError, FutureWarning, DeprecationWarning):  # unorderable: objects
                return series
    # text dtypes turn non-strings into their text (or refuse them): only text or missing
    text = series.map(lambda v: v if isinstance(v, str) or is_missing(v) else str(v))
    if dtype == "arrow":
        import pyarrow as pa

        return text.astype(pd.ArrowDtype(pa.string()))
    return text.astype(dtype)


@st.composite
def index_for(draw: Any, n: int) -> pd.Index:
    kind = draw(st.sampled_from(["range", "shuffled", "repeated", "text", "multi", "dates"]))
    if kind == "range":
        return pd.RangeIndex(n)
    if kind == "shuffled":
        return pd.Index(draw(st.permutations(list(range(100, 100 + n)))))
    if kind == "repeated":
        return pd.Index(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    if kind == "text":
        return pd.Index([f"row {i}" for i in range(n)], name="who")
    if kind == "dates":
        return pd.date_range("2025-01-01", periods=n, freq="h", tz="UTC")
    return pd.MultiIndex.from_arrays([[i % 2 for i in range(n)], list(range(n))], names=["a", "b"])


# -- target lists -------------------------------------------------------------------------
@st.composite
def targets(draw: Any) -> tuple[list[Any], str | None]:
    """(list_ids as given, the word a PlanError must contain, or None if valid)."""
    kind = draw(
        st.sampled_from(["ids"] * 4 + ["names", "many", "unknown_name", "huge", "empty", "odd"])
    )
    if kind == "ids":
        picked = draw(st.lists(st.sampled_from(LIST_IDS), min_size=1, max_size=4))
        return [_spelled(draw, lid) for lid in picked], None
    if kind == "names":
        return draw(st.lists(st.sampled_from(UNIQUE_NAMES), min_size=1, max_size=3)), None
    if kind == "many":  # more than 50: several list groups
        return draw(st.permutations(LIST_IDS))[: draw(st.integers(51, LISTS))], None
    if kind == "unknown_name":
        name = draw(st.sampled_from(["Newsleter", "No such list", "VIPs 2019"]))
        return [LIST_IDS[0], name], name
    if kind == "huge":  # an account has at most 1,000 lists
        rng = random.Random(draw(st.integers(0, 2**32)))
        count = draw(st.sampled_from([1_001, 5_000]))
        return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count)], (
            f"{count:,} target lists"
        )
    if kind == "empty":
        return [], "list_ids is empty"
    return [LIST_IDS[0], 42], "must be strings"


def _normal(v: str) -> str:
    text = v.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    return text.lower()


@st.composite
def inputs(draw: Any) -> dict[str, Any]:
    values = draw(st.lists(cell(), max_size=40))
    if draw(st.integers(0, 9)) == 0:  # now and then more than one batch of 500
        values += CONTACT_IDS[100 : 100 + draw(st.integers(450, 600))]
    dtype = draw(st.sampled_from(DTYPES))
    series = as_dtype(values, dtype)
    series.index = draw(index_for(len(series)))
    column = draw(st.sampled_from(["contact_id", "Contact ID", 0]))
    shape = draw(st.sampled_from(["frame", "frame", "series", "wrong_column"]))
    lists, problem = draw(targets())
    return {
        "series": series,
        "column": column,
        "shape": shape,
        "lists": lists,
        "problem": problem,
        "dtype": dtype,
    }


def _call_args(case: dict[str, Any]) -> tuple[Any, str]:
    series, column = case["series"], case["column"]
    if case["shape"] == "series":
        return series.rename(column), column
    frame = pd.DataFrame({column: series, "email": "someone@example.com"})
    if case["shape"] == "wrong_column":
        return frame, "contact id"
    return frame, column


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(case=inputs())
def test_every_input_plans_correctly_or_is_refused_before_sending(case, data_dir):
    data, column = _call_args(case)
    values = case["series"].astype(object).tolist()
    expected = reference(values)
    # The lists are checked first, then the column, then its values.
    problem = case["problem"]
    if problem is None and case["shape"] == "wrong_column":
        problem = "'contact id' not found"
    elif problem is None and "planned" not in expected:
        problem = "no valid contact id" if values else "nothing to plan"
    note(f"dtype={case['dtype']} shape={case['shape']} problem={problem!r}")
    event(f"refused: {problem}" if problem else f"removed ({case['dtype']})")

    with Emulator(seed=SEED, contacts=CONTACTS, lists=LISTS, rate=None, speed=1e6) as emu:
        client = fast_client(emu)
        before = memberships(emu)
        if problem is not None:
            with pytest.raises(PlanError) as caught:
                remove_from_lists(data, case["lists"], column=column, client=client)
            assert problem in str(caught.value)
            assert emu.account.count(method="POST") == 0  # nothing was sent
            by_name = any(
                not (isinstance(v, str) and CANONICAL.fullmatch(_normal(v))) for v in case["lists"]
            )
            if not by_name:
                assert emu.account.count() == 0  # not even a listing
            return

        plan = plan_list_removal(data, case["lists"], column=column, client=client)
        rows = plan.rows
        assert rows.index.equals(data.index)
        assert rows["plan_status"].astype(str).tolist() == expected
        unique = expected.count("planned")
        lists = len(dict.fromkeys(plan.list_ids))
        assert plan.n_contacts == unique
        assert plan.n_requests == math.ceil(unique / 500) * math.ceil(lists / 50)
        assert all(b.size <= 500 and len(b.list_ids) <= 50 for b in plan.batches)
        assert emu.account.count(method="POST") == 0  # planning sends nothing

        result = run_plan(plan, client, progress=False, runner=fast_runner(client))
        # A well-formed id the account does not have is reported in activity_errors:
        # its row says api_error and the run is not ok (issue 21: it said removed).
        sent = result.rows["plan_status"] == "planned"
        strangers = ~result.rows["normalized_id"].isin(emu.account.contact_ids()) & sent
        assert result.ok == (not strangers.any())
        assert (result.rows.loc[strangers, "status"] == "api_error").all()
        assert emu.account.count(method="POST", route=REMOVE) == plan.n_requests
        check_all(emu, before, [result], [data])


def test_the_reference_agrees_on_a_fixed_example():
    uid = CONTACT_IDS[0]
    values = [uid, " {" + uid.upper() + "} ", None, "", "x", 3, uid + "0"]
    assert reference(values) == [
        "planned",
        "duplicate",
        "missing",
        "missing",
        "invalid_id",
        "invalid_id",
        "invalid_id",
    ]
    plan = plan_removal(pd.Series(values, dtype=object), LIST_IDS[0])
    assert plan.rows["plan_status"].astype(str).tolist() == reference(values)
