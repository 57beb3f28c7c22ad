"""Planning speed and memory: ``plan_removal`` beside a naive per-row Python baseline,
and every kind of plan beside a *vectorised* pandas baseline.

Part one (:func:`run`), against the naive per-row loop:

The input is a ``contact_id`` column with 5 % invalid values (4 % malformed strings,
1 % missing) and 10 % repeated ids, as an ``object`` column, as pandas' default ``str``
column (Arrow-backed on pandas 3 with pyarrow, Python strings otherwise) and as an
``arrow`` column (``pd.ArrowDtype(pa.string())``, as ``dtype_backend="pyarrow"`` reads
it; needs pyarrow). Both planners get the same frame in the same process: wall time
is the best of a few runs (the others are slower only because other work on the
machine got in the way; CPU time of that run beside it), peak memory comes from a
separate run, since tracing slows Python code.

The baseline is the loop such scripts are usually written as: ``uuid.UUID`` per row,
a dict of seen ids (for "duplicate of row ..."), list appends, then the batches. The
two planners must agree on every row's status and on the requests, or the comparison
means nothing (``agree``).

Targets (issue 7): 1,000,000 rows in well under 2 s, at least 5x faster than the
baseline, peak memory under 3x the input column's size. Peak memory is tracemalloc's
peak (Python objects, numpy arrays, pandas' hash tables) plus the peak of pyarrow's own
pool during the plan, which tracemalloc cannot see: an upper bound of the true peak.

Part two (:func:`run_vectorised`), against the vectorised pandas baseline of
:mod:`benchmarks.baseline` (strip, lower, validate with a regex, dedupe, merge against
the snapshot's member table, chunk into 500s; Arrow-backed text): contact ids without
a snapshot (``plan_removal``), contact ids and email addresses with one
(``plan_membership_removal``, half the rows members), and ``by="auto"`` beside the key
given. Each case runs ccpandas and the baseline back to back, in turns, in one
process; times are medians of the repeats, CPU time beside wall time (the machine is
shared: CPU time is steadier). Each snapshot plan gets a fresh snapshot, so reading
its addresses and memberships is timed, as the baseline's merge is.

Run alone: ``python -m benchmarks.bench_plan`` (``--sizes 100000`` for a quick look;
``--vectorised`` for part two).

Example:
    >>> rows = run(sizes=(2_000,), kinds=("object",), repeats=1)
    >>> rows[0]["rows"], rows[0]["agree"], rows[0]["requests"]
    (2000, True, 4)
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import math
import os
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import baseline
from benchmarks._util import best_seconds, measure_peak, table
from ccpandas.plan.changes import REMOVE
from ccpandas.plan.membership import detect_key, plan_membership_removal
from ccpandas.plan.planner import plan_removal

__all__ = [
    "KINDS",
    "make_frame",
    "make_values",
    "naive_plan",
    "print_table",
    "print_vectorised",
    "run",
    "run_vectorised",
]

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
CONTACTS_PER_REQUEST = 500
LISTS_PER_REQUEST = 50
#: The baseline's peak memory is traced up to this many rows (see ``_measure``).
NAIVE_PEAK_MAX = 200_000

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = [8, 13, 18, 23]
_DIGITS = [i for i in range(36) if i not in _DASHES]


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
    """``n`` values: 85 % distinct ids, 10 % repeats of them, 4 % malformed, 1 % None,
    shuffled.

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
    return values[rng.permutation(n)]


def arrow_available() -> bool:
    """True when pyarrow can be imported (the ``arrow`` column needs it)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def make_frame(values: np.ndarray, kind: str) -> pd.DataFrame:
    """A one-column frame (``contact_id``) holding ``values`` as a column of ``kind``."""
    if kind == "object":
        column = pd.Series(values, dtype=object)
    elif kind == "str":
        column = pd.Series(values, dtype="str")
    elif kind == "arrow":
        import pyarrow as pa

        column = pd.Series(values, dtype=pd.ArrowDtype(pa.string()))
    else:
        raise ValueError(f"unknown column kind {kind!r}; use one of {KINDS}")
    return pd.DataFrame({"contact_id": column})


# -- the baseline ----------------------------------------------------------------------
def naive_plan(
    df: pd.DataFrame, list_ids: Sequence[str], column: str = "contact_id"
) -> dict[str, list[Any]]:
    """Plan the way a first script does: one ``uuid.UUID`` per row, a dict of seen ids.

    Returns per-row ``statuses`` and ``duplicate_of`` (label of the first occurrence)
    and the request ``batches``.

    Example:
        >>> naive_plan(pd.DataFrame({"contact_id": ["oops", None]}), LIST_IDS)["statuses"]
        ['invalid_id', 'missing']
    """
    statuses: list[str] = []
    duplicate_of: list[Any] = []
    seen: dict[str, Any] = {}
    contacts: list[str] = []
    for label, value in zip(df.index, df[column].tolist(), strict=True):
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
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
    batches = [
        {
            "source": {"contact_ids": contacts[i : i + CONTACTS_PER_REQUEST]},
            "list_ids": list(list_ids[j : j + LISTS_PER_REQUEST]),
        }
        for i in range(0, len(contacts), CONTACTS_PER_REQUEST)
        for j in range(0, len(list_ids), LISTS_PER_REQUEST)
    ]
    return {"statuses": statuses, "duplicate_of": duplicate_of, "batches": batches}


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

    ``repeats`` defaults to 5 runs at up to 200,000 rows and 3 above (the baseline
    runs half as often, at least twice; its peak memory is traced up to :data:`NAIVE_PEAK_MAX` rows
    only, else ``naive_peak_bytes`` is None). A kind that cannot be built here
    (``arrow`` without pyarrow) gives a row with ``skipped`` set.
    """
    out: list[dict[str, Any]] = []
    for n in sizes:
        values = make_values(n, seed)
        for kind in kinds:
            if kind == "arrow" and not arrow_available():
                out.append({"rows": n, "column": kind, "skipped": "pyarrow is not installed"})
                continue
            frame = make_frame(values, kind)
            out.append(_measure(frame, kind, repeats or _repeats_for(n)))
            del frame
        del values
    return out


def _measure(df: pd.DataFrame, kind: str, repeats: int) -> dict[str, Any]:
    lists = list(LIST_IDS)
    plan = plan_removal(df, lists)  # warm-up, and the numbers to check against
    fast, fast_runs, fast_cpu = best_seconds(lambda: plan_removal(df, lists), repeats)
    naive: dict[str, Any] = {}

    def naive_once() -> None:
        naive["out"] = naive_plan(df, lists)  # the last run's output is checked below

    slow, slow_runs, slow_cpu = best_seconds(naive_once, max(2, repeats // 2))
    out = naive.pop("out")
    agree = bool(
        (plan.rows["plan_status"].astype(str).to_numpy() == np.asarray(out["statuses"])).all()
        and plan.n_requests == len(out["batches"])
        and [list(b.source.values) for b in plan.batches]
        == [b["source"]["contact_ids"] for b in out["batches"]]
    )
    input_bytes = int(df["contact_id"].memory_usage(deep=True, index=False))
    summary = {
        "contacts": plan.n_contacts,
        "invalid": plan.n_invalid + plan.n_missing,
        "duplicates": plan.n_duplicates,
        "requests": plan.n_requests,
    }
    del plan, out

    fast_traced, fast_arrow = measure_peak(lambda: plan_removal(df, lists))
    fast_peak = fast_traced + fast_arrow
    # Tracing makes the per-row loop several times slower: its memory is measured at
    # the smaller sizes only, which keeps `make bench` within its time budget.
    slow_peak = (
        sum(measure_peak(lambda: naive_plan(df, lists))) if len(df) <= NAIVE_PEAK_MAX else None
    )
    dtype = df["contact_id"].dtype
    return {
        "rows": len(df),
        "column": kind,
        "dtype": f"{dtype} ({dtype.storage})" if isinstance(dtype, pd.StringDtype) else str(dtype),
        "input_bytes": input_bytes,
        **summary,
        "agree": agree,
        "ccpandas_seconds": fast,
        "ccpandas_runs": fast_runs,
        "ccpandas_cpu_seconds": fast_cpu,
        "naive_seconds": slow,
        "naive_runs": slow_runs,
        "naive_cpu_seconds": slow_cpu,
        "speedup": slow / fast if fast > 0 else math.inf,
        "ccpandas_peak_bytes": fast_peak,
        "ccpandas_traced_peak_bytes": fast_traced,
        "ccpandas_arrow_bytes": fast_arrow,
        "naive_peak_bytes": slow_peak,
        "peak_over_input": fast_peak / input_bytes if input_bytes else math.nan,
    }


def print_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a text table (returned and printed)."""
    headers = [
        "rows",
        "column",
        "ccpandas s (cpu)",
        "naive s (cpu)",
        "speedup",
        "input MB",
        "ccpandas peak MB (Arrow)",
        "peak/input",
        "naive peak MB",
        "agree",
    ]
    body = []
    for r in rows:
        if r.get("skipped"):
            body.append([r["rows"], r["column"], f"skipped: {r['skipped']}", *[""] * 7])
            continue
        body.append(
            [
                r["rows"],
                r["column"],
                f"{r['ccpandas_seconds']:.3f} ({r['ccpandas_cpu_seconds']:.3f})",
                f"{r['naive_seconds']:.3f} ({r['naive_cpu_seconds']:.3f})",
                f"{r['speedup']:.1f}x",
                r["input_bytes"] / 1e6,
                f"{r['ccpandas_peak_bytes'] / 1e6:.1f} ({r['ccpandas_arrow_bytes'] / 1e6:.1f})",
                f"{r['peak_over_input']:.2f}x",
                "" if r["naive_peak_bytes"] is None else r["naive_peak_bytes"] / 1e6,
                "yes" if r["agree"] else "NO",
            ]
        )
    text = table(headers, body)
    print(text)
    return text


# -- part two: the vectorised baseline ----------------------------------------------------
#: The cases of :func:`run_vectorised`: (name, key, with a snapshot).
VECTORISED_CASES = (
    ("ids, no snapshot", "contact_id", False),
    ("ids, snapshot", "contact_id", True),
    ("emails, snapshot", "email", True),
)


def _timed(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, float]]:
    """Run each function ``repeats`` times, in turns; per name the median (wall, CPU)."""
    wall: dict[str, list[float]] = {k: [] for k in funcs}
    cpu: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            gc.collect()
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in funcs}


def _ours(case: baseline.Case, key: str, snapshot: bool, by: str) -> Callable[[], Any]:
    lists = list(baseline.LIST_IDS)
    if not snapshot:

        def plan() -> Any:
            # by="auto" as the accessor does it: the key first, then the plan.
            detect_key(case.frame[key], by)
            return plan_removal(case.frame, lists, column=key)

        return plan
    # A fresh snapshot each time: its addresses and memberships are read in the timing.
    return lambda: plan_membership_removal(
        case.frame, lists, dataclasses.replace(case.snapshot), column=key, by=by
    )


def _theirs(case: baseline.Case, key: str, snapshot: bool) -> Callable[[], Any]:
    if key == "email":
        return lambda: baseline.pandas_plan_emails(case.frame, case.members)
    members = case.members if snapshot else None
    return lambda: baseline.pandas_plan_ids(case.frame, baseline.LIST_IDS, members)


def _agree(plan: Any, out: dict[str, Any], exact: bool) -> bool:
    """Same status on every row, and (with a snapshot) the same pairs leaving."""
    if not (plan.rows["plan_status"].astype(str).to_numpy() == out["status"]).all():
        return False
    if out["leaving"] is None:
        return bool(plan.n_requests == out["requests"])
    cs = plan.membership.change_set
    sel = cs.action == REMOVE
    ours = pd.DataFrame(
        {
            "contact_id": cs.contact_ids[cs.pair_contact[sel]],
            "list_id": np.asarray(cs.list_ids, dtype=object)[cs.pair_list[sel]],
        }
    )
    theirs = out["leaving"].astype({"list_id": object})
    if len(ours) != len(theirs):
        return False
    if not exact:  # the counts per list (sorting millions of strings takes seconds)
        a, b = ours["list_id"].value_counts(), theirs["list_id"].value_counts()
        return bool(a.sort_index().equals(b.sort_index()))
    key = ["list_id", "contact_id"]
    a = ours.sort_values(key, ignore_index=True)
    b = theirs.astype({"contact_id": object}).sort_values(key, ignore_index=True)
    return bool((a.to_numpy() == b.to_numpy()).all())


def run_vectorised(
    sizes: Sequence[int] = (1_000_000, 5_000_000),
    *,
    repeats: int = 3,
    column: str = "str",
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Every case of :data:`VECTORISED_CASES` at every size, ccpandas beside the
    vectorised baseline, and ``by="auto"`` beside the key given; one dict per case.

    Example:
        >>> rows = run_vectorised((3_000,), repeats=1)
        >>> [(r["case"], r["agree"]) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
        [('ids, no snapshot', True), ('ids, snapshot', True), ('emails, snapshot', True)]
    """
    out = []
    for n in sizes:
        for key, make in (
            ("contact_id", baseline.make_id_case),
            ("email", baseline.make_email_case),
        ):
            case = make(n, seed, column)  # one case for the ids with and without a snapshot
            for name, case_key, snapshot in VECTORISED_CASES:
                if case_key == key:
                    out.append(_measure_vectorised(case, name, key, snapshot, repeats))
            del case
    return out


def _measure_vectorised(
    case: baseline.Case, name: str, key: str, snapshot: bool, repeats: int
) -> dict[str, Any]:
    n = len(case.frame)
    ours, theirs = _ours(case, key, snapshot, key), _theirs(case, key, snapshot)
    agree = _agree(ours(), theirs(), exact=n <= 1_000_000)  # also the warm-up
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    times = _timed(
        {"ccpandas": ours, "baseline": theirs, "auto": _ours(case, key, snapshot, "auto")}, repeats
    )
    (w, c), (bw, bc), (aw, ac) = times["ccpandas"], times["baseline"], times["auto"]
    return {
        "rows": n,
        "case": name,
        "column": str(case.frame[key].dtype),
        "agree": agree,
        "repeats": repeats,
        "load": load,
        "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "ccpandas_seconds": w,
        "ccpandas_cpu_seconds": c,
        "baseline_seconds": bw,
        "baseline_cpu_seconds": bc,
        "auto_seconds": aw,
        "auto_cpu_seconds": ac,
        # Ratios of CPU times (the machine is shared); wall ratios beside them.
        "speedup": bc / c if c > 0 else math.inf,
        "speedup_wall": bw / w if w > 0 else math.inf,
        "auto_ratio": ac / c if c > 0 else math.inf,
    }


def print_vectorised(rows: Sequence[dict[str, Any]]) -> str:
    """Part two as a text table (returned and printed)."""
    headers = ["rows", "case", "ccpandas s cpu (wall)", "baseline s cpu (wall)", "speed-up",
               "auto / key", "agree"]  # fmt: skip
    body = [
        [
            r["rows"],
            r["case"],
            f"{r['ccpandas_cpu_seconds']:.3f} ({r['ccpandas_seconds']:.3f})",
            f"{r['baseline_cpu_seconds']:.3f} ({r['baseline_seconds']:.3f})",
            f"{r['speedup']:.2f}x",
            f"{r['auto_ratio']:.2f}x",
            "yes" if r["agree"] else "NO",
        ]
        for r in rows
    ]
    text = table(headers, body)
    print(text)
    return text


#: Issue 23's planning targets against the vectorised baseline (CPU-time ratios).
IDS_SPEEDUP = 1.5
EMAILS_SPEEDUP = 1.0
AUTO_RATIO = 1.2


def vectorised_verdicts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One verdict per target and case (the shape of :func:`benchmarks.report.check_targets`'s):
    ids without a snapshot at least 1.5x faster than the baseline (the figure the
    issue says ids keep), emails at least as fast, ``by="auto"`` at most 1.2x the key
    given. Contact ids with a snapshot are shown in the table, without a target.

    Example:
        >>> row = {"rows": 10, "case": "emails, snapshot", "speedup": 1.1, "auto_ratio": 1.0}
        >>> [v["met"] for v in vectorised_verdicts([row])]
        [True, True]
    """
    out = []
    for r in rows:
        case = f"{r['rows']:,} rows, {r['case']}"
        want = {"ids, no snapshot": IDS_SPEEDUP, "emails, snapshot": EMAILS_SPEEDUP}.get(r["case"])
        checks = []
        if want is not None:
            checks.append(("speed-up over the vectorised baseline (CPU)", f">= {want:g}x",
                           r["speedup"], r["speedup"] >= want))  # fmt: skip
        checks.append(('by="auto" / the key given (CPU)', f"<= {AUTO_RATIO:g}x",
                       r["auto_ratio"], r["auto_ratio"] <= AUTO_RATIO))  # fmt: skip
        for metric, target, value, met in checks:
            out.append(
                {
                    "benchmark": "plan (vectorised)",
                    "case": case,
                    "metric": metric,
                    "target": target,
                    "value": value,
                    "shown": f"{value:.2f}x",
                    "met": bool(met),
                }
            )
    return out


def markdown_vectorised(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The docs section for part two (Markdown lines)."""
    if not rows:
        return []
    lines = [
        "## Planning beside a vectorised pandas baseline",
        "",
        "Written by `make bench` (`benchmarks/bench_plan.py`, part two). The baseline "
        "(`benchmarks/baseline.py`) is what a good pandas user writes, with no per-row "
        "Python: the column as Arrow-backed text, `str.strip`, `str.lower`, `str.fullmatch` "
        "(run by Arrow: the address pattern spells `\\s` out, which pandas would otherwise "
        "hand to Python's `re`, one call per row), `duplicated`, a `merge` against the "
        "snapshot's member table (one row per (contact, list) pair) and each list's "
        "contacts chunked into 500s. It is "
        "*not* the naive per-row loop of the table above. Half the rows are members of "
        "the lists (snapshot cases), 10 % repeat an earlier row, 5 % are invalid or "
        "missing; addresses come in mixed case with stray spaces. Both planners run back "
        "to back, in turns, in one process, and must agree on every row's status and on "
        "the pairs that leave. Times are medians of the repeats, CPU seconds (wall in "
        "brackets: the machine is shared, so wall times carry other work's waiting); the "
        "speed-up is baseline CPU / ccpandas CPU. Each snapshot plan starts from a fresh "
        "snapshot, so matching against the snapshot's addresses is timed as the "
        'baseline\'s merge is. *auto / key* is `by="auto"` beside the key given '
        "(without a snapshot: the accessor's key detection plus `plan_removal`).",
        "",
        "| rows | case | column | ccpandas s | baseline s | speed-up | auto / key | agree |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rows']:,} | {r['case']} | `{r['column']}` | "
            f"{r['ccpandas_cpu_seconds']:.3f} ({r['ccpandas_seconds']:.3f}) | "
            f"{r['baseline_cpu_seconds']:.3f} ({r['baseline_seconds']:.3f}) | "
            f"{r['speedup']:.2f}x | {r['auto_ratio']:.2f}x | {'yes' if r['agree'] else '**no**'} |"
        )
    loads = [r["load"] for r in rows if r.get("load") is not None]
    if loads:
        lines += [
            "",
            f"Measured {rows[0].get('at', '?')}, {rows[0]['repeats']} repeats per case; "
            "1-minute load average between "
            f"{min(loads):.1f} and {max(loads):.1f} on {os.cpu_count()} cores while measuring.",
        ]
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.bench_plan [--sizes N ...] [--kinds K ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument(
        "--vectorised", action="store_true", help="part two: the vectorised pandas baseline"
    )
    args = parser.parse_args(argv)
    if args.vectorised:
        print_vectorised(run_vectorised(args.sizes, repeats=args.repeats or 3))
    else:
        print_table(run(args.sizes, kinds=args.kinds, repeats=args.repeats))


if __name__ == "__main__":
    main()
