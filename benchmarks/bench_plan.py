"""Planning speed and memory: ``plan_removal`` beside a naive per-row Python baseline.

The input is a ``contact_id`` column with 5 % invalid values (4 % malformed strings,
1 % missing) and 10 % duplicates, as an object column, as pandas' default ``str``
column, and as an Arrow string column (when pyarrow is installed). Each planner runs on
the same column in the same process: wall time is the median of a few runs, and peak
memory is measured (tracemalloc) in a separate run, since tracing slows Python code.

The baseline is the loop people write first: ``uuid.UUID`` per row, a ``set`` for
duplicates, list appends, then the batches.

Example:
    >>> rows = run(sizes=(2_000,), kinds=("object",), repeats=1)
    >>> rows[0]["rows"], rows[0]["agree"], rows[0]["requests"]
    (2000, True, 4)
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._util import measure_peak, median_seconds, table
from ccpandas.plan import plan_removal

__all__ = ["KINDS", "make_column", "naive_plan", "print_table", "run"]

#: Column kinds benchmarked, in order.
KINDS = ("object", "str", "arrow")
#: Three target lists, as in the end-to-end benchmark's first scenario.
LIST_IDS = (
    "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",
    "7f3c2b1a-0e9d-4c8b-a7f6-5e4d3c2b1a09",
    "c0ffee00-1234-4abc-8def-0123456789ab",
)
INVALID_SHARE = 0.05
MISSING_SHARE = 0.01  # part of the invalid share
DUPLICATE_SHARE = 0.10

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = [8, 13, 18, 23]
_DIGITS = [i for i in range(36) if i not in _DASHES]
_CONTACTS_PER_REQUEST = 500
_MAX_LISTS = 50


# -- data ------------------------------------------------------------------------------
def _random_uuids(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random canonical version-4 UUID strings (object array), built with numpy."""
    chars = np.empty((n, 36), dtype=np.uint8)
    chars[:, _DIGITS] = _HEX[rng.integers(0, 16, size=(n, 32), dtype=np.uint8)]
    chars[:, _DASHES] = ord("-")
    chars[:, 14] = ord("4")
    chars[:, 19] = _HEX[8 + rng.integers(0, 4, size=n)]
    return chars.view("S36").ravel().astype(str).astype(object)


def make_values(n: int, seed: int = 0) -> np.ndarray:
    """``n`` values: 85 % distinct valid ids, 10 % repeats of them, 4 % malformed, 1 % None.

    Example:
        >>> v = make_values(1000)
        >>> len(v), sum(x is None for x in v)
        (1000, 10)
    """
    rng = np.random.default_rng(seed)
    n_missing = round(n * MISSING_SHARE)
    n_bad = round(n * INVALID_SHARE) - n_missing
    n_dup = round(n * DUPLICATE_SHARE)
    n_unique = n - n_missing - n_bad - n_dup
    unique = _random_uuids(n_unique, rng)
    dups = unique[rng.integers(0, n_unique, size=n_dup)]
    # Malformed the usual ways: cut short, a stray letter, an e-mail in the id column.
    bad = _random_uuids(n_bad, rng)
    kind = np.arange(n_bad) % 3
    bad[kind == 0] = [s[:35] for s in bad[kind == 0]]
    bad[kind == 1] = [s[:-1] + "g" for s in bad[kind == 1]]
    bad[kind == 2] = [f"person{i}@example.com" for i in range(int((kind == 2).sum()))]
    values = np.concatenate([unique, dups, bad, np.full(n_missing, None, dtype=object)])
    # Repeats must come after their first occurrence only by chance: shuffle everything.
    return values[rng.permutation(n)]


def make_column(values: np.ndarray, kind: str) -> pd.Series:
    """The values as a column of ``kind``: ``object``, ``str`` (pandas' default string
    dtype) or ``arrow`` (``pd.ArrowDtype(pa.string())``, needs pyarrow)."""
    if kind == "object":
        return pd.Series(values, dtype=object, name="contact_id")
    if kind == "str":
        return pd.Series(values, dtype="str", name="contact_id")
    if kind == "arrow":
        import pyarrow as pa

        return pd.Series(values, dtype=pd.ArrowDtype(pa.string()), name="contact_id")
    raise ValueError(f"unknown column kind {kind!r}; use one of {KINDS}")


def arrow_available() -> bool:
    """True when pyarrow can be imported (the Arrow column needs it)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


# -- the baseline ----------------------------------------------------------------------
def naive_plan(column: pd.Series, list_ids: Sequence[str]) -> tuple[list[str], list[dict]]:
    """Plan the way a first script does: one ``uuid.UUID`` per row, a set for repeats.

    Returns a status per row (``planned``, ``invalid_id``, ``missing``, ``duplicate``)
    and the request bodies.

    Example:
        >>> naive_plan(pd.Series(["oops", None]), LIST_IDS)
        (['invalid_id', 'missing'], [])
    """
    statuses: list[str] = []
    ids: list[str] = []
    seen: set[str] = set()
    for value in column:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            statuses.append("missing")
            continue
        try:
            contact_id = str(uuid.UUID(value.strip()))
        except (ValueError, AttributeError, TypeError):
            statuses.append("invalid_id")
            continue
        if contact_id in seen:
            statuses.append("duplicate")
            continue
        seen.add(contact_id)
        ids.append(contact_id)
        statuses.append("planned")
    bodies = [
        {
            "source": {"contact_ids": ids[i : i + _CONTACTS_PER_REQUEST]},
            "list_ids": list(list_ids[j : j + _MAX_LISTS]),
        }
        for i in range(0, len(ids), _CONTACTS_PER_REQUEST)
        for j in range(0, len(list_ids), _MAX_LISTS)
    ]
    return statuses, bodies


# -- the benchmark ---------------------------------------------------------------------
def _repeats_for(n: int) -> int:
    return 5 if n <= 200_000 else 3


def run(
    sizes: Sequence[int] = (100_000, 1_000_000),
    *,
    kinds: Sequence[str] = KINDS,
    repeats: int | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Measure planning for every size and column kind; one dict per (size, kind).

    ``repeats`` defaults to 5 runs at up to 200,000 rows and 3 above. A kind that cannot
    be built here (``arrow`` without pyarrow) gives a row with ``skipped`` set.
    """
    out: list[dict[str, Any]] = []
    for n in sizes:
        values = make_values(n, seed)
        for kind in kinds:
            if kind == "arrow" and not arrow_available():
                out.append({"rows": n, "column": kind, "skipped": "pyarrow is not installed"})
                continue
            out.append(_measure(make_column(values, kind), kind, repeats or _repeats_for(n)))
        del values
    return out


def _measure(column: pd.Series, kind: str, repeats: int) -> dict[str, Any]:
    lists = list(LIST_IDS)
    plan = plan_removal(column, lists)  # warm-up, and the numbers to check against
    statuses, bodies = naive_plan(column, lists)
    agree = bool(
        (plan.rows["plan_status"].astype(str).to_numpy() == np.asarray(statuses)).all()
        and plan.n_requests == len(bodies)
    )
    input_bytes = int(column.memory_usage(deep=True, index=False))
    del statuses, bodies

    fast, fast_runs = median_seconds(lambda: plan_removal(column, lists), repeats)
    slow, slow_runs = median_seconds(lambda: naive_plan(column, lists), max(1, repeats // 2))
    fast_peak = measure_peak(lambda: plan_removal(column, lists))
    slow_peak = measure_peak(lambda: naive_plan(column, lists))
    return {
        "rows": len(column),
        "column": kind,
        "dtype": str(column.dtype),
        "input_bytes": input_bytes,
        "contacts": plan.n_contacts,
        "invalid": plan.n_invalid + plan.n_missing,
        "duplicates": plan.n_duplicates,
        "requests": plan.n_requests,
        "agree": agree,
        "ccpandas_seconds": fast,
        "ccpandas_runs": fast_runs,
        "naive_seconds": slow,
        "naive_runs": slow_runs,
        "speedup": slow / fast if fast > 0 else math.inf,
        "ccpandas_peak_bytes": fast_peak,
        "naive_peak_bytes": slow_peak,
        "peak_over_input": fast_peak / input_bytes if input_bytes else math.nan,
        "memory_note": "tracemalloc does not see Arrow buffers" if kind == "arrow" else "",
    }


def print_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a text table (returned and printed)."""
    headers = [
        "rows",
        "column",
        "ccpandas s",
        "naive s",
        "speedup",
        "input MB",
        "ccpandas peak MB",
        "peak/input",
        "naive peak MB",
    ]
    body = []
    for r in rows:
        if r.get("skipped"):
            body.append([r["rows"], r["column"], f"skipped: {r['skipped']}", *[""] * 6])
            continue
        body.append(
            [
                r["rows"],
                r["column"],
                r["ccpandas_seconds"],
                r["naive_seconds"],
                f"{r['speedup']:.1f}x",
                r["input_bytes"] / 1e6,
                r["ccpandas_peak_bytes"] / 1e6,
                f"{r['peak_over_input']:.2f}x",
                r["naive_peak_bytes"] / 1e6,
            ]
        )
    text = table(headers, body)
    print(text)
    return text


if __name__ == "__main__":
    print_table(run())
