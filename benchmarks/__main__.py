"""``python -m benchmarks``: run the suite, print tables, write results, docs and charts.

Usage::

    python -m benchmarks                      # everything (make bench), 10 to 15 minutes
    python -m benchmarks --only plan import   # some benchmarks; other results are kept
    python -m benchmarks --only grid          # requests against the best possible
    python -m benchmarks --quick              # tiny sizes in seconds; writes nothing
    python -m benchmarks --render             # rewrite the page from results.json

Writes ``benchmarks/results.json``, ``docs/benchmarks.md`` and
``docs/_static/bench-e2e-*.svg`` (``--results``, ``--docs`` and ``--charts`` change the
places; ``--quick`` writes only where told to).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks import (
    bench_e2e,
    bench_grid,
    bench_import,
    bench_membership,
    bench_plan,
    bench_sync,
    bench_team,
    report,
)
from benchmarks._util import machine_info
from benchmarks.chart import write_rate_chart

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results.json"
DOCS = ROOT / "docs" / "benchmarks.md"
CHARTS = ROOT / "docs" / "_static"

#: Sizes for --quick: enough to exercise every code path in a few seconds.
QUICK = {
    "plan_sizes": (3_000,),
    "e2e_scenarios": ((1_500, 3), (600, 60)),
    "e2e_rate": 40.0,
    "e2e_poll_every": 0.25,
    "import_repeats": 1,
    "team_processes": (1, 2),
    "team_batches": 8,
}


def _load_avg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def run_suite(only: Sequence[str] | None = None, *, quick: bool = False) -> dict[str, Any]:
    """Run the chosen benchmarks (default: all), printing each table; return the results."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine_info(),
        "quick": quick,
        "load_before": _load_avg(),
    }
    for name in NAMES:  # in the page's order, whatever the order asked
        if only is None or name in only:
            SECTIONS[name](results, quick)
    results["load_after"] = _load_avg()
    results["duration_seconds"] = time.perf_counter() - started
    return results


def _stamp(load: list[float] | None, seconds: float | None = None) -> str:
    """The stamp of a section that is often run alone (``--only sync``)."""
    took = f" in {seconds:.0f} s" if seconds is not None else ""
    return (
        f"Measured {machine_info()['date']}{took} (load average before / after: "
        f"{load[0] if load else '?'} / {(_load_avg() or ['?'])[0]}, 1-minute, on 2 cores "
        "shared with other work)."
    )


def _plan(results: dict[str, Any], quick: bool) -> None:
    print("== planning: plan_removal beside a naive per-row loop", flush=True)
    sizes = QUICK["plan_sizes"] if quick else (100_000, 1_000_000)
    results["plan"] = bench_plan.run(sizes, repeats=1 if quick else None)
    bench_plan.print_table(results["plan"])
    print("\n== planning: every plan beside a vectorised pandas baseline", flush=True)
    big = QUICK["plan_sizes"] if quick else (1_000_000, 5_000_000)
    results["plan_vectorised"] = bench_plan.run_vectorised(big, repeats=1 if quick else 3)
    bench_plan.print_vectorised(results["plan_vectorised"])


def _e2e(results: dict[str, Any], quick: bool) -> None:
    print("\n== end to end against the emulator: ccpandas and a naive script", flush=True)
    if quick:
        results["e2e"] = bench_e2e.run(
            QUICK["e2e_scenarios"], rate=QUICK["e2e_rate"], poll_every=QUICK["e2e_poll_every"]
        )
    else:
        results["e2e"] = bench_e2e.run()
    bench_e2e.print_table(results["e2e"])


def _team(results: dict[str, Any], quick: bool) -> None:
    print("\n== several processes on one key: the shared limiter, local and Redis", flush=True)
    team_started, load = time.perf_counter(), _load_avg()
    results["team"] = (
        bench_team.run(QUICK["team_processes"], total_batches=QUICK["team_batches"])
        if quick
        else bench_team.run()
    )
    # Its own stamp: it is often run alone (--only team), later than the rest.
    results["team_measured"] = {
        "date": machine_info()["date"],
        "os": machine_info()["os"],
        "seconds": time.perf_counter() - team_started,
        "load_before": load,
        "load_after": _load_avg(),
    }
    bench_team.print_table(results["team"])


def _import(results: dict[str, Any], quick: bool) -> None:
    print("\n== import time", flush=True)
    repeats = QUICK["import_repeats"] if quick else 7
    results["import"] = bench_import.run(repeats, warm_up=not quick)
    bench_import.print_table(results["import"])


def _membership(results: dict[str, Any], quick: bool) -> None:
    print("\n== membership snapshots: emails, membership-aware batching", flush=True)
    results["membership"] = bench_membership.run(quick=quick)
    bench_membership.print_table(results["membership"])


def _sync(results: dict[str, Any], quick: bool) -> None:
    print("\n== sync a segment to two lists against the emulator", flush=True)
    load = _load_avg()
    if quick:
        results["sync"] = bench_sync.run(contacts=1_500, newcomers=60, rate=100.0)
    else:
        results["sync"] = bench_sync.run()
    results["sync_measured"] = _stamp(load)
    bench_sync.print_table(results["sync"])


def _grid(results: dict[str, Any], quick: bool) -> None:
    print("\n== requests against the best possible, over a grid of lists and segments")
    load, grid_started = _load_avg(), time.perf_counter()
    # The quick grid checks the paths in seconds: no rate limit, activities at once.
    fast = {"rate": None, "speed": bench_e2e.FAST_SPEED} if quick else {}
    results["grid"] = bench_grid.run(bench_grid.QUICK_GRID if quick else None, **fast)
    results["grid_measured"] = _stamp(load, time.perf_counter() - grid_started)
    bench_grid.print_table(results["grid"])


#: Each benchmark's section of the results, by name, in the page's order.
SECTIONS: dict[str, Callable[[dict[str, Any], bool], None]] = {
    "plan": _plan,
    "e2e": _e2e,
    "team": _team,
    "import": _import,
    "membership": _membership,
    "sync": _sync,
    "grid": _grid,
}
#: The benchmarks' names, in the page's order.
NAMES = tuple(SECTIONS)


#: The stamp of a whole-suite run (the page's "Machine" lines).
SUITE_STAMP = ("machine", "load_before", "load_after", "duration_seconds")


def merge(
    previous: dict[str, Any] | None, new: dict[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Keep the sections of ``previous`` that this run did not measure. A ``partial``
    run (``--only``) keeps the whole suite's stamp too: its sections carry their own.

    Example:
        >>> old = {"quick": False, "machine": "m1", "plan": 1, "grid": 2}
        >>> merge(old, {"quick": False, "machine": "m2", "grid": 3}, partial=True)
        {'quick': False, 'machine': 'm1', 'plan': 1, 'grid': 3}
    """
    if not previous or previous.get("quick") != new.get("quick"):
        return new
    merged = dict(previous)
    merged.update(new)
    if partial:
        merged.update({k: previous[k] for k in SUITE_STAMP if k in previous})
    return merged


def write_outputs(
    results: dict[str, Any], *, results_path: Path, docs_path: Path | None, charts_dir: Path
) -> list[dict[str, Any]]:
    """Write results JSON, the charts and the Markdown page; return the verdicts."""
    verdicts = report.check_targets(results)
    results["targets"] = verdicts
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(_jsonable(results), indent=2) + "\n", encoding="utf-8")
    charts: list[tuple[str, str]] = []
    e2e = results.get("e2e") or []
    for contacts, lists in sorted({(r["contacts"], r["lists"]) for r in e2e}, reverse=True):
        runs = [r for r in e2e if (r["contacts"], r["lists"]) == (contacts, lists)]
        title = f"Request rate: {contacts:,} contacts x {lists} lists, ccpandas and the baseline"
        path = write_rate_chart(
            runs,
            charts_dir / f"bench-e2e-{contacts}x{lists}.svg",
            limit=runs[0]["rate_limit"],
            title=title,
        )
        if docs_path is not None:
            rel = os.path.relpath(path, docs_path.parent).replace(os.sep, "/")
            charts.append((title, rel))
    if docs_path is not None:
        text = report.markdown(
            results, verdicts, charts=charts, notes=report.notes(verdicts, results)
        )
        if results.get("plan_vectorised"):
            section = bench_plan.markdown_vectorised(results["plan_vectorised"])
            text = text.rstrip("\n") + "\n\n" + "\n".join(section)
        if results.get("membership"):
            text = (
                text.rstrip("\n")
                + "\n\n"
                + "\n".join(bench_membership.markdown(results["membership"]))
            )
        if results.get("sync"):
            section = bench_sync.markdown(results["sync"], results.get("sync_measured"))
            text = text.rstrip("\n") + "\n\n" + "\n".join(section)
        if results.get("grid"):
            section = bench_grid.markdown(results["grid"], results.get("grid_measured"))
            text = text.rstrip("\n") + "\n\n" + "\n".join(section)
        docs_path.parent.mkdir(parents=True, exist_ok=True)
        docs_path.write_text(text, encoding="utf-8")
    return verdicts


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry; returns 0 (a missed target is reported, not an error)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument("--quick", action="store_true", help="tiny sizes; writes nothing")
    parser.add_argument("--results", type=Path, help=f"default {RESULTS.relative_to(ROOT)}")
    parser.add_argument("--docs", type=Path, help=f"default {DOCS.relative_to(ROOT)}")
    parser.add_argument("--charts", type=Path, help=f"default {CHARTS.relative_to(ROOT)}")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the page and charts from --results"
    )
    args = parser.parse_args(argv)

    if args.render:
        results_path = args.results or RESULTS
        results = json.loads(results_path.read_text(encoding="utf-8"))
        write_outputs(
            results,
            results_path=results_path,
            docs_path=args.docs or DOCS,
            charts_dir=args.charts or CHARTS,
        )
        print(f"rewrote {args.docs or DOCS} from {results_path}")
        return 0
    results = run_suite(args.only, quick=args.quick)
    if args.quick and args.results is None:
        verdicts = report.check_targets(results)
    else:
        results_path = args.results or RESULTS
        previous = None
        if results_path.exists():
            try:
                previous = json.loads(results_path.read_text(encoding="utf-8"))
            except ValueError:
                previous = None
        results = merge(previous, results, partial=set(args.only) != set(NAMES))
        docs_path = args.docs or (None if args.quick else DOCS)
        charts_dir = args.charts or (results_path.parent if args.quick else CHARTS)
        verdicts = write_outputs(
            results, results_path=results_path, docs_path=docs_path, charts_dir=charts_dir
        )
        print(f"\nwrote {results_path}" + (f" and {docs_path}" if docs_path else ""))
    missed = [v for v in verdicts if not v["met"]]
    print(f"\n{len(verdicts) - len(missed)} of {len(verdicts)} targets met", end="")
    print("." if not missed else "; missed:")
    for v in missed:
        print(f"  - {v['benchmark']}, {v['case']}: {v['metric']} {v['shown']}", end="")
        print(f" (target {v['target']})")
    print(f"suite time {results['duration_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
