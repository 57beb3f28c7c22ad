"""Small helpers shared by the benchmarks: machine facts, timing, tables, and the
emulator's request log told apart by kind.

Example:
    >>> print(table(["a", "b"], [[1, 2.5]]))
    a | b
    --|----
    1 | 2.5
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    "ADD_ROUTE",
    "POLL_ROUTES",
    "REMOVE_ROUTE",
    "best_seconds",
    "machine_info",
    "measure_peak",
    "request_kinds",
    "table",
]

ADD_ROUTE = "/v3/activities/add_list_memberships"
REMOVE_ROUTE = "/v3/activities/remove_list_memberships"
SEND_ROUTES = (REMOVE_ROUTE, ADD_ROUTE)
POLL_ROUTES = ("/v3/activities", "/v3/activities/{activity_id}")
LISTING_ROUTE = "/v3/contact_lists"


def machine_info() -> dict[str, Any]:
    """Cores, CPU, memory, OS, Python and library versions, and the time of the run.

    Example:
        >>> sorted(machine_info())[:3]
        ['cores', 'cpu', 'date']
    """
    import numpy
    import pandas

    try:
        import pyarrow

        arrow: str | None = pyarrow.__version__
    except ImportError:
        arrow = None
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_name(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "pyarrow": arrow,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def best_seconds(func: Callable[[], Any], repeats: int) -> tuple[float, list[float], float]:
    """Run ``func`` ``repeats`` times; return the best wall time, every wall time, and
    the CPU time of this process in that best run.

    The best run is the one least disturbed by other work on the machine (the advice
    of :mod:`timeit`); a garbage collection runs before each call so one run's garbage
    does not land in the next run's time.
    """
    times, cpu = [], []
    for _ in range(repeats):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        func()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    best = min(range(repeats), key=times.__getitem__)
    return times[best], times, cpu[best]


def measure_peak(func: Callable[[], Any]) -> tuple[int, int]:
    """Memory that ``func`` allocates at its peak: ``(traced peak, Arrow peak)``.

    The first number is tracemalloc's peak above what was allocated before: Python
    objects, numpy arrays and pandas' hash tables. tracemalloc does not see the buffers
    pyarrow allocates in its own pool, so the second number is the peak of what
    ``func`` allocated there (through a proxy pool with its own statistics, set as the
    default for the call; 0 without pyarrow). The true peak lies between the larger of
    the two and their sum, since the two peaks need not fall at the same moment; the
    benchmarks report the sum, an upper bound.
    """
    pa = sys.modules.get("pyarrow")
    gc.collect()
    previous = pa.default_memory_pool() if pa else None
    proxy = pa.proxy_memory_pool(previous) if pa else None
    if pa:
        pa.set_memory_pool(proxy)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = func()
        peak = tracemalloc.get_traced_memory()[1]
        arrow = proxy.max_memory() if proxy is not None else 0
        del result
    finally:
        tracemalloc.stop()
        if pa:
            pa.set_memory_pool(previous)
    return max(0, peak - before), max(0, arrow)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table (also valid Markdown once wrapped in pipes)."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [
        " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    ]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def python_exe() -> str:
    """The interpreter running the benchmarks (subprocesses use the same one)."""
    return sys.executable


def request_kinds(log: Sequence[Any]) -> dict[str, int]:
    """A run's requests by kind, from the emulator's request log (records with
    ``method``, ``route`` and ``status``): the list listing, the reads of contacts
    before the first change request and after the last one (the verification), told
    apart by their place, the change requests (adds and removes), the polls, the
    ``429`` answers, the total and whatever is none of these (``other``).

    Example:
        >>> from types import SimpleNamespace as R
        >>> log = [R(method="GET", route="/v3/contacts", status=200),
        ...        R(method="POST", route=REMOVE_ROUTE, status=201),
        ...        R(method="GET", route="/v3/activities", status=200)]
        >>> kinds = request_kinds(log)
        >>> kinds["reads"], kinds["sends"], kinds["polls"], kinds["verify"], kinds["other"]
        (1, 1, 1, 0, 0)
    """
    sends = [i for i, r in enumerate(log) if r.method == "POST" and r.route in SEND_ROUTES]
    first, last = (sends[0], sends[-1]) if sends else (len(log), len(log))
    reads = [
        i for i, r in enumerate(log) if r.method == "GET" and r.route.startswith("/v3/contacts")
    ]
    out = {
        "listing": sum(1 for r in log if r.method == "GET" and r.route == LISTING_ROUTE),
        "reads": sum(1 for i in reads if i < first),
        "sends": len(sends),
        "adds": sum(1 for i in sends if log[i].route == ADD_ROUTE),
        "removes": sum(1 for i in sends if log[i].route == REMOVE_ROUTE),
        "polls": sum(1 for r in log if r.method == "GET" and r.route in POLL_ROUTES),
        "verify": sum(1 for i in reads if i > last),
        "throttled": sum(1 for r in log if r.status == 429),
        "total": len(log),
    }
    out["other"] = out["total"] - sum(
        out[k] for k in ("listing", "reads", "sends", "polls", "verify")
    )
    return out
