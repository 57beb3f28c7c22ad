"""Sync a segment to two lists against the emulator at the real 4 requests/s.

A seeded account; the targets are its first two lists. The segment keeps a share of
the lists' members (``keep``) and brings newcomers who are on neither list, so a sync
adds (newcomers, and kept members missing from the other list) and removes (the
members left out). Two runs on a fresh emulator each: the segment by email (mixed
case; the newcomers are on no target list, so their addresses must be resolved) and
by contact id. Like the end-to-end benchmark, it runs in real time against the
emulator's rate limit, with activity processing fast enough that the server never
holds anyone up; everything is counted by the emulator.

Measured per run, against the minimum:

- activities sent (``POST add_list_memberships`` + ``remove_list_memberships``) /
  the sum over groups of 50 target lists of ``ceil(adds / 500) + ceil(removes / 500)``,
  where *adds* counts the segment's contacts lacking a list of the group and
  *removes* the other members of a list of it (target 1.00);
- every request by kind: list lookups (``GET /contact_lists``), reads before the
  first change (the membership snapshot and the email resolution), change requests,
  polls (``GET /activities``) and the verification reads after the last change;
- ``throttled`` answers (0) and the wall time of the call against the ideal, total
  requests / limit (target <= 1.05);
- whether each list ends holding exactly the segment's contacts.

Example:
    >>> rows = run(contacts=1_500, newcomers=60, rate=100.0)
    >>> [(r["by"], r["activities"] == r["minimum_activities"], r["ok"]) for r in rows]
    [('email', True, True), ('contact_id', True, True)]
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._util import request_kinds, table
from benchmarks.bench_e2e import FAST_SPEED, _private_data_dir

__all__ = ["markdown", "minimum_activities", "print_table", "run"]

#: Targets: change requests / minimum, wall time / ideal.
ACTIVITY_RATIO = 1.0
WALL_RATIO = 1.05


def minimum_activities(segment: set[str], members: Sequence[set[str]]) -> tuple[int, int, int]:
    """``(minimum, adds, removes)`` for one list group (at most 50 lists): adding a
    member again and removing a non-member change nothing, so one request serves
    contacts that lack (or hold) different lists of the group.

    Example:
        >>> minimum_activities({"a", "b"}, [{"a", "c"}, {"b"}])
        (2, 2, 1)
    """
    adds = sum(1 for c in segment if any(c not in m for m in members))
    leaving = set().union(*members) - segment
    removes = len(leaving)
    return math.ceil(adds / 500) + math.ceil(removes / 500), adds, removes


def _segment(acct: Any, targets: Sequence[str], keep: float, newcomers: int, seed: int) -> Any:
    """The segment's contact ids: ``keep`` of the lists' members, plus newcomers."""
    rng = np.random.default_rng(seed)
    union = sorted(set().union(*(acct.members(lid) for lid in targets)))
    kept = rng.choice(union, int(len(union) * keep), replace=False).tolist()
    outsiders = [c for c in acct.contact_ids("active") if c not in set(union)]
    new = rng.choice(outsiders, min(newcomers, len(outsiders)), replace=False).tolist()
    return kept + new, len(union)


def _one(by: str, *, contacts: int, newcomers: int, keep: float, rate: float, seed: int) -> dict:
    import ccpandas
    from ccpandas.emulator import Emulator

    with Emulator(seed=seed, contacts=contacts, lists=6, rate=rate, speed=FAST_SPEED) as emu:
        acct = emu.account
        targets = acct.list_ids()[:2]
        seg_ids, union = _segment(acct, targets, keep, newcomers, seed)
        before = [set(acct.members(lid)) for lid in targets]
        minimum, adds, removes = minimum_activities(set(seg_ids), before)
        if by == "email":
            df = pd.DataFrame({"email": [acct.contact(c).email.upper() for c in seg_ids]})
        else:
            df = pd.DataFrame({"contact_id": seg_ids})
        with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=rate) as client:
            start = time.perf_counter()
            result = df.cc.sync_lists(targets, by, client=client, progress=False)
            wall = time.perf_counter() - start
        emu.wait_idle(timeout=30)
        exact = all(set(acct.members(lid)) == set(seg_ids) for lid in targets)
        row = _counts(acct.request_log)
    row.update(
        by=by,
        contacts=contacts,
        lists=len(targets),
        members=union,
        segment=len(seg_ids),
        newcomers=newcomers,
        adds=adds,
        removes=removes,
        minimum_activities=minimum,
        activity_ratio=row["activities"] / minimum if minimum else math.nan,
        rate_limit=rate,
        wall_seconds=wall,
        ideal_seconds=row["total_requests"] / rate,
        wall_ratio=wall / (row["total_requests"] / rate),
        ok=bool(result.ok) and exact,
    )
    return row


def _counts(log: Sequence[Any]) -> dict[str, Any]:
    """Requests by kind, from the emulator's log (:func:`benchmarks._util.request_kinds`)."""
    kinds = request_kinds(log)
    return {
        "activities": kinds["sends"],
        "add_requests": kinds["adds"],
        "remove_requests": kinds["removes"],
        "list_lookups": kinds["listing"],
        "reads_before": kinds["reads"],
        "verify_reads": kinds["verify"],
        "polls": kinds["polls"],
        "throttled": kinds["throttled"],
        "total_requests": kinds["total"],
    }


def run(
    *,
    contacts: int = 20_000,
    newcomers: int = 2_000,
    keep: float = 0.8,
    rate: float = 4.0,
    seed: int = 7,
) -> list[dict[str, Any]]:
    """The email run, then the contact-id run, on a fresh emulator each."""
    with _private_data_dir():
        return [
            _one(by, contacts=contacts, newcomers=newcomers, keep=keep, rate=rate, seed=seed)
            for by in ("email", "contact_id")
        ]


def _rows(results: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    headers = [
        "input",
        "members / segment",
        "adds + removes",
        "activities / minimum",
        "list lookups",
        "reads before",
        "polls",
        "verify reads",
        "throttled",
        "requests",
        "wall s (/ ideal)",
        "lists exact",
    ]
    body = [
        [
            "emails" if r["by"] == "email" else "contact ids",
            f"{r['members']:,} / {r['segment']:,}",
            f"{r['adds']:,} + {r['removes']:,}",
            f"{r['activities']} ({r['add_requests']} + {r['remove_requests']}) / "
            f"{r['minimum_activities']} = {r['activity_ratio']:.2f}",
            r["list_lookups"],
            r["reads_before"],
            r["polls"],
            r["verify_reads"],
            r["throttled"],
            r["total_requests"],
            f"{r['wall_seconds']:.1f} ({r['wall_ratio']:.3f})",
            "yes" if r["ok"] else "NO",
        ]
        for r in results
    ]
    return headers, body


def print_table(results: Sequence[dict[str, Any]]) -> None:
    """The results as a text table."""
    print(table(*_rows(results)))


def markdown(results: Sequence[dict[str, Any]], measured: str | None = None) -> list[str]:
    """The docs section (Markdown lines)."""
    first = results[0]
    headers, body = _rows(results)
    lines = [
        "## Sync",
        "",
        "Written by `make bench` (`benchmarks/bench_sync.py`). `sync_lists` against the "
        f"first 2 lists of a seeded account of {first['contacts']:,} contacts, at the "
        f"emulator's real {first['rate_limit']:g} requests per second (activity processing "
        "fast enough that the server never holds anyone up); a fresh emulator per run, "
        "everything counted by the emulator. The segment keeps 80 % of the lists' members "
        f"and brings {first['newcomers']:,} contacts on neither list; by email (upper "
        "case) the newcomers' addresses are resolved (here by reading every contact, "
        "cheaper than one lookup each), by contact id nothing is looked up. The minimum "
        "is `ceil(adds / 500) + ceil(removes / 500)` per group of 50 lists: *adds* are "
        "the segment's contacts lacking one of the lists, *removes* the members outside "
        "the segment. *Reads before* are the `GET /contacts` before the first change "
        "(the membership snapshot and the email resolution: one count, then every page), "
        "*verify reads* those after the last change; the ideal wall time is all "
        "requests / limit.",
    ]
    # Two tables, so that each fits the page: what was changed, then what it cost.
    for columns in ((0, 1, 2, 3, 11), (0, 4, 5, 6, 7, 8, 9, 10)):
        lines += ["", "| " + " | ".join(headers[i] for i in columns) + " |"]
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(str(row[i]) for i in columns) + " |" for row in body]
    lines.append("")
    verdicts = []
    for r in results:
        activities_met = "met" if r["activity_ratio"] <= ACTIVITY_RATIO else "MISSED"
        wall_met = "met" if r["wall_ratio"] <= WALL_RATIO else "MISSED"
        verdicts.append(
            f"- {r['by']}: activities / minimum {r['activity_ratio']:.2f} (target "
            f"{ACTIVITY_RATIO:.2f}: {activities_met}), wall / ideal {r['wall_ratio']:.3f} "
            f"(target <= {WALL_RATIO}: {wall_met}), throttled {r['throttled']}."
        )
    lines += verdicts
    if measured:
        lines += ["", measured]
    lines.append("")
    return lines


if __name__ == "__main__":  # pragma: no cover
    print_table(run())
