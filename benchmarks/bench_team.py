"""Several processes on one application key: the shared limiter, local and Redis.

For 1, 2 and 4 processes removing contacts at once against one emulator at the API's
4 requests per second: the combined request rate while all were busy, the throttled
answers, and how evenly the processes shared the limit. ``local`` is every process on
one machine (the data directory's SQLite, the default); ``redis`` gives each process its
own data and config directories (a "machine" each) sharing a real ``redis-server``
(skipped, and said so, when it is not installed).

The processes and their bookkeeping are the team test suite's (``tests/team``): each
child is a fresh interpreter, released together once all have imported ccpandas, and
reports when it sent every request.

Targets: 0 throttled; combined rate >= 0.95 of the limit; each process within 20 % of
an equal share.

Example:
    >>> rows = run((1,), modes=("local",), total_batches=4)  # doctest: +SKIP
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._util import table

__all__ = ["print_table", "run"]

ROOT = Path(__file__).resolve().parent.parent
TEAM_TESTS = ROOT / "tests" / "team"
RATE = 4.0


def _support() -> Any:
    if str(TEAM_TESTS) not in sys.path:
        sys.path.insert(0, str(TEAM_TESTS))
    import team_support

    return team_support


def _one(mode: str, n: int, total_batches: int, seed: int) -> dict[str, Any]:
    from ccpandas.emulator import Emulator

    support = _support()
    batches = max(1, total_batches // n)
    with tempfile.TemporaryDirectory(prefix="ccpandas-bench-team-") as tmp:
        work = Path(tmp)
        redis = None
        emu = Emulator(seed=seed, contacts=batches * 500, lists=1, rate=RATE, speed=1e6).start()
        try:
            ids, lists = support.removal_setup(emu, n, batches)
            before = emu.account.memberships()
            if mode == "redis":
                redis = support.RedisServer(shutil.which("redis-server"), work / "redis").start()
                envs = [
                    support.child_env(
                        emu,
                        work / f"m{i}" / "data",
                        shared_state=redis.url,
                        config_dir=work / f"m{i}" / "config",
                    )
                    for i in range(n)
                ]
            else:
                envs = [support.child_env(emu, work / "data")] * n
            jobs = [
                ({"ids": ids, "list": lid, "rate": RATE}, env)
                for lid, env in zip(lists, envs, strict=True)
            ]
            reports = support.run_children(jobs, work)
            support.check_removed(emu, before, ids, lists)
            start, end = support.busy_window(reports)
            got = support.shares(reports, start, end)
            fair = sum(got) / n
            rate = support.combined_rate(reports)
            return {
                "mode": mode,
                "processes": n,
                "batches_each": batches,
                "requests": emu.account.count(),
                "throttled": emu.account.count(status=429),
                "combined_rate": rate,
                "rate_ratio": rate / RATE,
                "busy_seconds": end - start,
                "shares": got,
                "worst_share_deviation": max(abs(g - fair) / fair for g in got),
                "ok": all(r["ok"] for r in reports),
            }
        finally:
            if redis is not None:
                redis.stop()
            emu.stop()


def run(
    process_counts: Sequence[int] = (1, 2, 4),
    *,
    modes: Sequence[str] = ("local", "redis"),
    total_batches: int = 32,
) -> list[dict[str, Any]]:
    """One row per (mode, process count); ``total_batches`` removal requests are split
    evenly between the processes (32: about 8 s of sending at 4/s)."""
    rows: list[dict[str, Any]] = []
    for mode in modes:
        if mode == "redis" and shutil.which("redis-server") is None:
            rows.append({"mode": mode, "skipped": "redis-server is not installed"})
            continue
        for i, n in enumerate(process_counts):
            rows.append(_one(mode, n, total_batches, seed=70 + i))
    return rows


def print_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a text table (returned and printed)."""
    headers = [
        "shared state",
        "processes",
        "throttled",
        "combined rate",
        "rate / limit",
        "requests in busy window",
        "worst share deviation",
        "all removed",
    ]
    body = []
    for r in rows:
        if r.get("skipped"):
            body.append([r["mode"], f"skipped: {r['skipped']}", "", "", "", "", "", ""])
            continue
        body.append(
            [
                r["mode"],
                r["processes"],
                r["throttled"],
                f"{r['combined_rate']:.2f}/s",
                f"{r['rate_ratio']:.3f}",
                " + ".join(map(str, r["shares"])),
                f"{r['worst_share_deviation']:.0%}",
                "yes" if r["ok"] else "NO",
            ]
        )
    text = table(headers, body)
    print(text, flush=True)
    return text
