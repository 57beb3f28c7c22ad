"""Planning benchmark: ``plan_removal`` beside a naive per-row baseline, in one run.

Frames of 100,000 and 1,000,000 rows (5% invalid values, 10% repeated ids) in an Arrow
string column (``string[pyarrow]``, or pandas' python ``string`` dtype when pyarrow is
not installed) and in an object column. For each: wall time (best of ``repeats``
untraced runs) and peak memory (a separate run under tracemalloc) of ccpandas and of
the baseline, which is how such scripts are usually written: ``uuid.UUID`` per row,
list appends, a dict of seen ids.

Targets (issue 7): 1,000,000 rows in well under 2 s, at least 5x faster than the
baseline, peak memory under 3x the input column's size.

Note: tracemalloc sees Python allocations only. Buffers that pyarrow allocates in its
own memory pool are not counted, so Arrow rows under-report memory (``memory_note``).

Run alone: ``python -m benchmarks.bench_plan`` (``--sizes 100000`` for a quick look).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import math
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ccpandas.plan import plan_removal

__all__ = ["make_frame", "naive_plan", "run"]

HAS_ARROW = importlib.util.find_spec("pyarrow") is not None
LIST_IDS = [f"{i:08x}-1111-4111-8111-{i:012x}" for i in range(3)]
TARGET_SECONDS_PER_MILLION = 2.0
TARGET_SPEEDUP = 5.0
TARGET_MEMORY_RATIO = 3.0


def make_frame(n: int, kind: str, seed: int = 0) -> pd.DataFrame:
    """``n`` rows: random UUIDs, 10% of rows repeating an earlier id, 5% invalid values."""
    rng = np.random.default_rng(seed)
    hexes = rng.bytes(16 * n).hex()
    ids = np.array(
        [
            f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
            for h in (hexes[i : i + 32] for i in range(0, 32 * n, 32))
        ],
        dtype=object,
    )
    positions = rng.permutation(n)
    n_dup, n_bad = n // 10, n // 20
    dup_rows = positions[:n_dup]
    ids[dup_rows] = ids[rng.integers(0, n, n_dup)]
    bad_rows = positions[n_dup : n_dup + n_bad]
    ids[bad_rows] = np.array(["not-a-uuid", "", "12345", "{broken"], dtype=object)[
        rng.integers(0, 4, n_bad)
    ]
    return pd.DataFrame({"contact_id": pd.Series(ids, dtype=_dtype(kind))})


def _dtype(kind: str) -> Any:
    if kind == "object":
        return object
    return "string[pyarrow]" if HAS_ARROW else pd.StringDtype()


def naive_plan(df: pd.DataFrame, list_ids: list[str], column: str = "contact_id") -> dict:
    """The usual script: one ``uuid.UUID`` per row, appends, a dict of seen ids."""
    statuses: list[str] = []
    duplicate_of: list[Any] = []
    seen: dict[str, Any] = {}
    contacts: list[str] = []
    for label, value in zip(df.index, df[column].tolist(), strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            statuses.append("missing")
            duplicate_of.append(None)
            continue
        try:
            contact = str(uuid.UUID(str(value).strip()))
        except ValueError:
            statuses.append("invalid_id")
            duplicate_of.append(None)
            continue
        if contact in seen:
            statuses.append("duplicate")
            duplicate_of.append(seen[contact])
            continue
        seen[contact] = label
        contacts.append(contact)
        statuses.append("planned")
        duplicate_of.append(None)
    batches = []
    for i in range(0, len(contacts), 500):
        for j in range(0, len(list_ids), 50):
            batches.append(
                {"source": {"contact_ids": contacts[i : i + 500]}, "list_ids": list_ids[j : j + 50]}
            )
    return {"statuses": statuses, "duplicate_of": duplicate_of, "batches": batches}


def _best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
        del out
        out = None
    return best, out


def _peak_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, out


def run(
    sizes: Iterable[int] = (100_000, 1_000_000),
    kinds: Iterable[str] = ("arrow", "object"),
    repeats: int = 2,
) -> list[dict]:
    """Measure both implementations on every size and column kind; one dict per result."""
    results: list[dict] = []
    for n in sizes:
        for kind in kinds:
            df = make_frame(n, kind)
            column_bytes = int(df["contact_id"].memory_usage(deep=True, index=False))
            seconds, _ = _best_time(lambda df=df: plan_removal(df, LIST_IDS), repeats)
            peak, plan = _peak_bytes(lambda df=df: plan_removal(df, LIST_IDS))
            naive_seconds, _ = _best_time(lambda df=df: naive_plan(df, LIST_IDS), 1)
            naive_peak, naive = _peak_bytes(lambda df=df: naive_plan(df, LIST_IDS))
            # The two must agree, or the comparison means nothing.
            assert plan.n_batches == len(naive["batches"]), (plan.n_batches, len(naive["batches"]))
            common = {
                "benchmark": "plan",
                "rows": n,
                "column": kind,
                "dtype": str(df["contact_id"].dtype),
                "input_mib": column_bytes / 2**20,
                "contacts": plan.n_contacts,
                "invalid": plan.n_invalid + plan.n_missing,
                "duplicates": plan.n_duplicates,
                "batches": plan.n_batches,
                "memory_note": (
                    "arrow buffers not traced" if str(df["contact_id"].dtype).endswith("]") else ""
                ),
            }
            results.append(
                {
                    **common,
                    "impl": "ccpandas",
                    "seconds": seconds,
                    "peak_mib": peak / 2**20,
                    "peak_over_input": peak / column_bytes,
                    "speedup": naive_seconds / seconds,
                    "target_seconds": TARGET_SECONDS_PER_MILLION * n / 1_000_000,
                    "meets_time": seconds < TARGET_SECONDS_PER_MILLION * n / 1_000_000,
                    "meets_speedup": naive_seconds / seconds >= TARGET_SPEEDUP,
                    "meets_memory": peak / column_bytes < TARGET_MEMORY_RATIO,
                }
            )
            results.append(
                {
                    **common,
                    "impl": "naive",
                    "seconds": naive_seconds,
                    "peak_mib": naive_peak / 2**20,
                    "peak_over_input": naive_peak / column_bytes,
                    "speedup": 1.0,
                }
            )
            del df, plan, naive
    return results


def format_table(results: list[dict]) -> str:
    """A plain text table of :func:`run` results."""
    head = (
        f"{'rows':>9}  {'column':<7} {'impl':<9} {'seconds':>8} {'speedup':>8} "
        f"{'peak MiB':>9} {'x input':>8}  notes"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r['rows']:>9,}  {r['column']:<7} {r['impl']:<9} {r['seconds']:>8.3f} "
            f"{r['speedup']:>7.1f}x {r['peak_mib']:>9.1f} {r['peak_over_input']:>8.2f}  "
            f"{r['dtype']}{'; ' + r['memory_note'] if r['memory_note'] else ''}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    print(format_table(run(args.sizes, repeats=args.repeats)))


if __name__ == "__main__":
    main()
