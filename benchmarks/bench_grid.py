"""Requests against the best possible, over a grid of list shapes and segments.

Each cell is one ``df.cc.remove_from_lists(lists, column)`` with the public defaults
(``snapshot="auto"``, ``verify`` as the library sets it), against an emulator whose
lists are laid out by the cell: ``lists`` lists of ``size`` members each, overlapping
``none`` (disjoint), ``half`` (half of each list's members are shared by every list of
its group of 50) or ``full`` (the lists of a group of 50 hold the same members; a
contact can be on 50 lists at most, so 60 lists are two groups of distinct members).
The segment holds ``share x size`` contacts: members first (as many as there are),
then contacts on no target list; by contact id or by email address. The client sends
at the API's 4 requests per second and the emulator processes activities at its
default 2,000 contacts per second, as the plan assumes: how often a run polls depends
on time (the quick grid runs unlimited and at once, to check the paths, not the
figures). Every request is counted by the emulator.

Measured per cell, side by side:

- requests sent / the best possible (:func:`best_possible`; target for the audit's two
  headline cells: at most 1.5x and 1.3x);
- verification reads / change requests sent (target: at most 1);
- the plan's request figure (``plan.total_requests``) / the requests the run sent
  (target: within 10 %);
- whether every member of the segment left every list (and nobody else did).

Example (the whole quick grid, which prints a line per account, is
``run(QUICK_GRID, rate=None, speed=FAST_SPEED)``):
    >>> best_possible([range(1_000)] * 2, range(600), "contact_id")
    {'reads': 2, 'sends': 2, 'verify': 1, 'read': 7, 'blind': 4, 'best': 4}
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from benchmarks._util import request_kinds, table
from benchmarks.bench_e2e import _private_data_dir
from benchmarks.report import _md_table, _verdict
from ccpandas.plan.polls import ASSUMED_SPEED

__all__ = [
    "FULL_GRID",
    "HEADLINES",
    "QUICK_GRID",
    "best_possible",
    "layout",
    "measured",
    "run",
]

PAGE = 500  # contacts per GET /contacts page, and per change request
PASS_LISTS = 25  # lists per GET /contacts?lists= pass
GROUP_LISTS = 50  # lists per change request (and on one contact at most)
OVERLAPS = {"none": 0.0, "half": 0.5, "full": 1.0}

#: The grid: list counts, list sizes, overlaps, segment size / list size, inputs.
FULL_GRID: dict[str, tuple[Any, ...]] = {
    "lists": (1, 5, 60),
    "size": (1_000, 10_000),
    "overlap": ("none", "half", "full"),
    "share": (0.1, 10.0),
    "by": ("contact_id", "email"),
}
#: A few seconds, every choice at small sizes: a blind send (3 ids against 8 lists), a
#: list read (6,000 contacts) and email lookups (3 addresses: fewer than the exact read's
#: pages, which the union probes measure).
QUICK_GRID: dict[str, tuple[Any, ...]] = {
    "lists": (1, 8),
    "size": (600,),
    "overlap": ("half",),
    "share": (0.005, 10.0),
    "by": ("contact_id", "email"),
}
#: The audit's headline cells (issue 23): (lists, size, overlap, share, by) -> what the
#: audit measured, what it called the best, and the target ratio to the best.
HEADLINES: dict[tuple[Any, ...], dict[str, Any]] = {
    (60, 10_000, "full", 10.0, "contact_id"): {
        "name": "A: 60 lists of 10k overlapping members, 100k contact ids",
        "audit": 402,
        "audit_best": 81,
        "target": 1.5,
    },
    (60, 10_000, "full", 0.1, "email"): {
        "name": "B: 1k emails against 60 lists of 10k",
        "audit": 1_204,
        "audit_best": 124,
        "target": 1.3,
    },
}
#: Accounts whose lists hold more contacts are left out of the grid: reading 600,000
#: members (60 lists of 10,000 apart) takes the emulator many minutes.
MAX_UNION = 100_000
VERIFY_RATIO = 1.0
PLAN_TOLERANCE = 0.10
#: The client's pace (the API's limit) and the emulator's processing speed (its
#: default), both as the plan assumes them; the quick grid runs unlimited and at once.
RATE = 4.0
SPEED = ASSUMED_SPEED


# -- the cell's account ------------------------------------------------------------------
def layout(lists: int, size: int, overlap: str) -> tuple[list[np.ndarray], int]:
    """Each list's members as positions in a pool of contacts, and the union's size.

    Example:
        >>> members, union = layout(3, 4, "half")
        >>> [m.tolist() for m in members], union
        ([[0, 1, 2, 3], [0, 1, 4, 5], [0, 1, 6, 7]], 8)
    """
    core = round(size * OVERLAPS[overlap])
    own = size - core
    out: list[np.ndarray] = []
    pos = 0
    for first in range(0, lists, GROUP_LISTS):
        shared = np.arange(pos, pos + core)
        pos += core
        for _ in range(min(GROUP_LISTS, lists - first)):
            out.append(np.concatenate([shared, np.arange(pos, pos + own)]))
            pos += own
    return out, pos


def segment_positions(union: int, n: int, seed: int = 0) -> np.ndarray:
    """``n`` positions: members first (a random sample of the union), then non-members.

    Example:
        >>> sorted(segment_positions(4, 6).tolist())
        [0, 1, 2, 3, 4, 5]
    """
    rng = np.random.default_rng(seed)
    k = min(n, union)
    members = rng.choice(union, k, replace=False)
    return np.concatenate([members, np.arange(union, union + n - k)])


# -- the best possible -------------------------------------------------------------------
def _pages(n: int) -> int:
    # A pass costs one page even when nobody is on its lists (the empty answer).
    return max(1, math.ceil(n / PAGE))


def best_possible(
    members: Sequence[Iterable[int]], segment: Iterable[int], by: str
) -> dict[str, int]:
    """The fewest requests that remove ``segment`` from the lists, by strategy.

    ``read``: one listing of the lists (names, sizes), the fewest reads that find
    the members (the exact union's pages per pass of 25 lists, or one lookup per
    contact, whichever is fewer), ``ceil(members of the segment / 500)`` change
    requests per group of 50 lists, one poll, and a verification of at most the sends
    (the union's pages after the change, or the sends' cost, whichever is fewer).
    ``blind`` (contact ids only: addresses must be found first): the listing,
    ``ceil(contacts / 500)`` per group of 50 lists and one poll, unverified. ``best``
    is the lower of the two.

    Example:
        >>> best_possible([{1, 2}, {2, 3}], {2, 9}, "contact_id")["best"]  # blind
        3
        >>> best_possible([set(range(2_000))], range(10), "email")
        {'reads': 4, 'sends': 1, 'verify': 1, 'read': 8, 'blind': 0, 'best': 8}
    """
    lists = [set(m) for m in members]
    seg = set(segment)
    passes = [set().union(*lists[i : i + PASS_LISTS]) for i in range(0, len(lists), PASS_LISTS)]
    groups = [set().union(*lists[i : i + GROUP_LISTS]) for i in range(0, len(lists), GROUP_LISTS)]
    pages = sum(_pages(len(u)) for u in passes)
    reads = min(pages, len(seg))
    sends = sum(math.ceil(len(g & seg) / PAGE) for g in groups)
    after = sum(_pages(len(u - seg)) for u in passes)
    verify = min(after, sends)
    read = 1 + reads + sends + (1 if sends else 0) + verify
    blind = 0
    if by == "contact_id":
        blind_sends = math.ceil(len(seg) / PAGE) * len(groups)
        blind = 1 + blind_sends + (1 if blind_sends else 0)
    best = min(read, blind) if blind else read
    return {
        "reads": reads,
        "sends": sends,
        "verify": verify,
        "read": read,
        "blind": blind,
        "best": best,
    }


# -- measuring ---------------------------------------------------------------------------
def _plan_figures(result: Any) -> dict[str, Any]:
    """What the plan said it would cost. Attributes another version of the library may
    lack read as None (a figure not there yet), never as 0."""
    plan = result.plan
    m = getattr(plan, "membership", None)
    known = m is not None and bool(getattr(m, "known", True))
    return {
        "plan_total": getattr(plan, "total_requests", None),
        "plan_reads": getattr(plan, "read_requests", None),
        "plan_sends": getattr(plan, "n_requests", None),
        "plan_polls": getattr(plan, "expected_polls", None),
        "plan_verify": getattr(plan, "verify_requests", None),
        "choice": str(getattr(m, "lookup", "snapshot")) if known else "blind",
        "verification": _verification(result, m),
    }


def _verification(result: Any, m: Any) -> str | None:
    """How the run was verified, when the library says so (a later version names the
    method: a full re-read, a narrowed one, a sample); None when it does not."""
    for owner, name in ((result, "verified_by"), (m, "verify_method"), (m, "verification")):
        value = getattr(owner, name, None) if owner is not None else None
        if isinstance(value, str):
            return value
    return None


def _one_run(
    emu: Any, ids: list[str], targets: list[str], by: str, rate: float | None
) -> dict[str, Any]:
    import ccpandas

    acct = emu.account
    if by == "email":
        df = pd.DataFrame({"email": [acct.contact(c).email for c in ids]})
    else:
        df = pd.DataFrame({"contact_id": ids})
    before = acct.count()
    # A fresh journal and daily count per run: the grid sends more than a day's quota.
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=rate)
    with _private_data_dir(), client:
        start = time.perf_counter()
        result = df.cc.remove_from_lists(targets, by, client=client, progress=False)
        wall = time.perf_counter() - start
    emu.wait_idle(timeout=60)
    sent = acct.count() - before
    row = {"wall_seconds": wall, "result_ok": bool(result.ok), **_plan_figures(result)}
    kinds = request_kinds(acct.request_log[-sent:] if sent else [])
    kinds = {k: v for k, v in kinds.items() if k not in ("adds", "removes")}
    row.update({f"sent_{k}": v for k, v in kinds.items()})
    return row


@dataclasses.dataclass
class _Account:
    """A started emulator holding a cell's lists, and where each list's members sit in
    its pool of contact ids (``positions``, as :func:`layout` gives them)."""

    emu: Any
    pool: list[str]
    positions: list[np.ndarray]
    union: int
    layout: dict[str, list[str]]

    def restore(self) -> None:
        for lid, wanted in self.layout.items():
            self.emu.account.set_members(lid, wanted)


def _account(
    lists: int, size: int, overlap: str, biggest: int, seed: int, speed: float
) -> _Account:
    from ccpandas.emulator import Emulator

    positions, union = layout(lists, size, overlap)
    need = union + max(0, biggest - union)
    # Deleted contacts (about 5 % of a seeded account) are on no list and in no segment.
    emu = Emulator(
        seed=seed,
        contacts=int(need / 0.9) + 50,
        lists=0,
        tags=0,
        rate=None,
        speed=speed,
        daily_quota=None,
    )
    acct = emu.account
    pool = [c for c in acct.contact_ids() if acct.contact(c).status != "deleted"][:need]
    targets = [acct.create_list(f"Grid {i + 1}") for i in range(lists)]
    members = {t: [pool[p] for p in m] for t, m in zip(targets, positions, strict=True)}
    return _Account(emu.start(), pool, positions, union, members)


def run_account(
    lists: int,
    size: int,
    overlap: str,
    shares: Sequence[float],
    bys: Sequence[str],
    seed: int = 7,
    *,
    rate: float | None = RATE,
    speed: float = SPEED,
) -> list[dict[str, Any]]:
    """Every (share, by) cell on one account, its lists restored between runs; the
    client sends at ``rate`` (None: unlimited), the emulator processes ``speed``
    contacts per second."""
    rows = []
    biggest = max(round(s * size) for s in shares)
    a = _account(lists, size, overlap, biggest, seed, speed)
    try:
        for share, by in itertools.product(shares, bys):
            a.restore()
            pos = segment_positions(a.union, round(share * size), seed)
            ids = [a.pool[p] for p in pos]
            row: dict[str, Any] = {
                "lists": lists,
                "size": size,
                "overlap": overlap,
                "share": share,
                "by": by,
                "segment": len(ids),
                "union": a.union,
                "segment_members": int(min(len(ids), a.union)),
                "rate": rate,
                "speed": speed,
            }
            best = best_possible(a.positions, pos.tolist(), by)
            row.update({f"best_{k}": v for k, v in best.items()})
            row.update(_one_run(a.emu, ids, list(a.layout), by, rate))
            leaving = set(ids)
            row["exact"] = all(
                set(a.emu.account.members(t)) == set(w) - leaving for t, w in a.layout.items()
            )
            _derive(row)
            rows.append(row)
    finally:
        a.emu.stop()
    return rows


def _ratio(a: float | None, b: float | None) -> float:
    return a / b if a is not None and b else math.nan


def _derive(row: dict[str, Any]) -> None:
    row["best_ratio"] = _ratio(row["sent_total"], row["best_best"])
    row["verify_ratio"] = (
        _ratio(row["sent_verify"], row["sent_sends"]) if row["sent_verify"] else 0.0
    )
    row["plan_ratio"] = _ratio(row["plan_total"], row["sent_total"])
    # The plan expects polls for activities that take seconds; here they end at once.
    planned = None if row["plan_total"] is None else row["plan_total"] - (row["plan_polls"] or 0)
    row["plan_ratio_without_polls"] = _ratio(planned, row["sent_total"] - row["sent_polls"])
    key = (row["lists"], row["size"], row["overlap"], row["share"], row["by"])
    row["headline"] = HEADLINES[key]["name"] if key in HEADLINES else None


def run(
    grid: dict[str, Sequence[Any]] | None = None,
    *,
    seed: int = 7,
    max_union: int = MAX_UNION,
    rate: float | None = RATE,
    speed: float = SPEED,
) -> list[dict[str, Any]]:
    """Every cell of ``grid`` (default :data:`FULL_GRID`), one emulator per account,
    the client at ``rate`` requests per second (None: unlimited) and the emulator at
    ``speed`` contacts per second (default: as the plan assumes them).
    An account whose lists hold more than ``max_union`` contacts is not built: its
    cells are one row saying so (``skipped``), so the page shows the gap."""
    g = grid or FULL_GRID
    rows: list[dict[str, Any]] = []
    for lists, size, overlap in itertools.product(g["lists"], g["size"], g["overlap"]):
        if lists == 1 and overlap != g["overlap"][0]:
            continue  # one list overlaps nothing: the first overlap stands for all
        union = layout(lists, size, overlap)[1]
        if union > max_union:
            rows.append(
                {
                    "lists": lists,
                    "size": size,
                    "overlap": overlap,
                    "union": union,
                    "skipped": f"{union:,} contacts on the lists (over {max_union:,})",
                }
            )
            continue
        started = time.perf_counter()
        rows += run_account(lists, size, overlap, g["share"], g["by"], seed, rate=rate, speed=speed)
        took = time.perf_counter() - started
        print(f"  {lists} x {size:,} {overlap}: {union:,} contacts, {took:.0f} s", flush=True)
    return rows


def measured(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of cells that ran (not ``skipped``)."""
    return [r for r in rows if not r.get("skipped")]


# -- targets and the page ------------------------------------------------------------------
def _cell(r: dict[str, Any]) -> str:
    what = "ids" if r["by"] == "contact_id" else "emails"
    return f"{r['lists']} x {r['size']:,} {r['overlap']}, {r['segment']:,} {what}"


def _worst(rows: Sequence[dict[str, Any]], key: str, bad: Any) -> str:
    missed = [r for r in rows if bad(r)]
    if not missed:
        return ""
    r = max(missed, key=lambda x: abs(x[key] - 1) if math.isfinite(x[key]) else math.inf)
    return f"; worst {_cell(r)}: {r[key]:.2f}"


def _misses_verify(r: dict[str, Any]) -> bool:
    return r["sent_verify"] > max(r["sent_sends"], 0) * VERIFY_RATIO


def _misses_plan(r: dict[str, Any]) -> bool:
    return not (abs(r["plan_ratio"] - 1) <= PLAN_TOLERANCE)


def _headlines(rows: Sequence[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """``(headline, row)`` for each headline cell that ran, in :data:`HEADLINES` order."""
    by_key = {(r["lists"], r["size"], r["overlap"], r["share"], r["by"]): r for r in rows}
    return [(h, by_key[k]) for k, h in HEADLINES.items() if k in by_key]


def targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The grid's verdicts (the same keys as :func:`benchmarks.report.check_targets`):
    the two headline cells against the best; verification reads at most the sends in
    every verified cell; the plan's figure within 10 % of the run and the lists exact
    in every cell.

    Example:
        >>> targets([])
        []
    """
    rows = measured(rows)
    if not rows:
        return []
    out = []
    for h, r in _headlines(rows):
        shown = (
            f"{r['sent_total']:,} / {r['best_best']:,} = {r['best_ratio']:.2f}x "
            f"(audit: {h['audit']:,} where {h['audit_best']:,} would do)"
        )
        ok = r["best_ratio"] <= h["target"]
        target = f"<= {h['target']}x"
        out.append(_verdict("grid", h["name"], "requests sent / best possible", target,
                            r["best_ratio"], shown, ok))  # fmt: skip
    verified = [r for r in rows if r["sent_verify"]]
    for cells, metric, target, bad, key in (
        (verified, "verification reads / change requests", "<= 1 in every verified cell",
         _misses_verify, "verify_ratio"),
        (rows, "plan's total_requests / requests sent", "within 10 % in every cell",
         _misses_plan, "plan_ratio"),
    ):  # fmt: skip
        n, missed = len(cells), sum(1 for r in cells if bad(r))
        shown = f"{n - missed} of {n} cells{_worst(cells, key, bad)}"
        out.append(_verdict("grid", f"{n} cells", metric, target, n - missed, shown, not missed))
    n, exact = len(rows), sum(1 for r in rows if r["exact"] and r["result_ok"])
    out.append(_verdict("grid", f"{n} cells", "segment removed, nobody else, result ok",
                        "every cell", exact, f"{exact} of {n} cells", exact == n))  # fmt: skip
    return out


def _rows(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    headers = [
        "lists x size, overlap",
        "segment (members)",
        "chosen",
        "sent = list + read + send + poll + verify",
        "best (read / blind)",
        "sent / best",
        "verify / sends",
        "plan (/ sent)",
        "exact",
    ]
    body: list[list[Any]] = []
    for r in rows:
        shape = f"{r['lists']} x {r['size']:,} {r['overlap']}"
        if r.get("skipped"):
            body.append([shape, "", "", f"not run: {r['skipped']}"] + [""] * (len(headers) - 4))
            continue
        parts = " + ".join(
            str(r[f"sent_{k}"]) for k in ("listing", "reads", "sends", "polls", "verify")
        )
        other = f" + {r['sent_other']} other" if r["sent_other"] else ""
        blind = f"{r['best_blind']:,}" if r["best_blind"] else "-"
        plan = r["plan_total"]
        body.append(
            [
                shape,
                f"{r['segment']:,} {'emails' if r['by'] == 'email' else 'ids'} "
                f"({r['segment_members']:,})",
                r["choice"],
                f"{r['sent_total']:,} = {parts}{other}",
                f"{r['best_best']:,} ({r['best_read']:,} / {blind})",
                _x(r["best_ratio"]),
                _x(r["verify_ratio"]),
                f"{plan:,} ({_x(r['plan_ratio'])})" if plan is not None else "-",
                "yes" if r["exact"] and r["result_ok"] else "**no**",
            ]
        )
    return headers, body


def _x(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else "-"


def print_table(rows: Sequence[dict[str, Any]]) -> None:
    """The cells as a text table."""
    print(table(*_rows(rows)))


def _summary(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    rows = measured(rows)
    if not rows:
        return []
    ratios = sorted(r["best_ratio"] for r in rows)
    near = sum(1 for x in ratios if x <= 1.3)
    worst = max(rows, key=lambda r: r["best_ratio"])
    out = [
        [
            "requests sent, every cell",
            "the best possible (above)",
            f"median {ratios[len(ratios) // 2]:.2f}x; {near} of {len(rows)} cells within 1.3x; "
            f"worst {_cell(worst)}: {worst['sent_total']:,} / {worst['best_best']:,} = "
            f"{worst['best_ratio']:.2f}x",
            "-",
        ]
    ]
    for h, r in _headlines(rows):
        out.append(
            [
                h["name"],
                "the best possible; the audit's figures beside",
                f"{r['sent_total']:,} / {r['best_best']:,} = {r['best_ratio']:.2f}x (audit "
                f"{h['audit']:,} / {h['audit_best']:,})",
                f"<= {h['target']}x",
            ]
        )
    verified = [r for r in rows if r["sent_verify"]]
    within = sum(1 for r in verified if not _misses_verify(r))
    out.append(
        [
            "verification reads",
            "the change requests the same run sent",
            f"{within} of {len(verified)} verified cells at most the sends "
            f"({len(rows) - len(verified)} read nothing after their last send); in all "
            f"{_total(rows, 'sent_verify'):,} reads for {_total(rows, 'sent_sends'):,} sends",
            "<= 1x unless forced",
        ]
    )
    close = sum(1 for r in rows if not _misses_plan(r))
    polls = sum(1 for r in rows if abs(r["plan_ratio_without_polls"] - 1) <= PLAN_TOLERANCE)
    out.append(
        [
            "the plan's figure (`plan.total_requests`)",
            "the requests the emulator counted in the run",
            f"{close} of {len(rows)} cells within 10 %; planned "
            f"{_total(rows, 'plan_total'):,}, sent {_total(rows, 'sent_total'):,}; of them "
            f"polls: planned {_total(rows, 'plan_polls'):,}, sent "
            f"{_total(rows, 'sent_polls'):,}; without the polls: {polls} of {len(rows)} "
            "within 10 %",
            "within 10 %",
        ]
    )
    return out


def _total(rows: Sequence[dict[str, Any]], key: str) -> int:
    return sum(r[key] or 0 for r in rows)


def markdown(rows: Sequence[dict[str, Any]], stamp: str | None = None) -> list[str]:
    """The docs section (Markdown lines); ``stamp`` says when it was measured."""
    g = {k: sorted({r[k] for r in rows}, key=str) for k in ("lists", "size", "overlap")}
    g["share"] = sorted({r["share"] for r in measured(rows)})
    lines = [
        "## Requests against the best possible",
        "",
        "Written by `make bench` (`benchmarks/bench_grid.py`; alone: `python -m benchmarks "
        "--only grid`). One `df.cc.remove_from_lists(lists, column)` per cell with the "
        'library\'s defaults (`snapshot="auto"`, its default verification), against an '
        "emulator whose target lists the cell lays out: list counts "
        f"{_join(g['lists'])}, list sizes {_join(g['size'])}, overlap {_join(g['overlap'])} "
        "(*none*: disjoint lists; *half*: half of each list's members are shared by every "
        "list of its group of 50; *full*: the lists of a group of 50 hold the same members. "
        "A contact can be on 50 lists at most, so 60 lists are two groups of distinct "
        "members; one list overlaps nothing, so it runs as *none* only), a segment of "
        f"{_join([f'{s:g}' for s in g['share']])} x the list size (members first, a random "
        "sample of the union, then contacts on no target list), by contact id or by email "
        f"address: {len(measured(rows))} cells{_skipped(rows)}. {_pace(rows)} Every "
        "request is counted by the emulator. After each run the lists must hold exactly "
        "their members outside the segment (*exact*).",
        "",
        "**The best possible** is the lower of two strategies, computed from the account's "
        "true lists. *read*: 1 listing of the lists (`GET /contact_lists`, for names and "
        "sizes) + the fewest reads that find the members, which is the exact union's pages "
        "per pass of 25 lists (`sum over passes of max(1, ceil(union / 500))`) or one lookup "
        "per contact of the segment, whichever is fewer + the minimal sends, `ceil(members of "
        "the segment on the group / 500)` per group of 50 lists + 1 poll (when anything is "
        "sent) + a verification of at most the sends (the union's pages after the change, "
        "or the sends' count, whichever is fewer). *blind* (contact ids only; addresses must "
        "be found first): 1 listing + `ceil(contacts / 500)` per group of 50 lists + 1 "
        "poll, unverified. *sent* is every request of the run: the listing, the reads "
        "before the first change request (snapshot pages, count probes, email lookups), "
        "the change requests, the polls and the reads after the last change request (the "
        'verification). *chosen* is what `snapshot="auto"` picked (`blind`: no '
        "snapshot). The audit's figures (issue 23) came from its own grid; its best did "
        "not always count the same parts, so they stand beside ours, not in them.",
        "",
    ]
    lines += _md_table(["figure", "against", "measured", "target"], _summary(rows))
    lines += ["", *_md_table(*_rows(rows)), ""]
    if stamp:
        lines += [stamp, ""]
    return lines


def _pace(rows: Sequence[dict[str, Any]]) -> str:
    """How fast the cells' runs went: the client's rate and the emulator's speed.

    Example:
        >>> _pace([{"rate": 4.0, "speed": 2_000.0}])  # doctest: +ELLIPSIS
        'The client sends at 4 requests per second and the emulator processes 2,000 ...'
    """
    paces = {(r.get("rate"), r.get("speed")) for r in measured(rows)}
    if len(paces) != 1 or None in next(iter(paces)):
        return "Server and client run without a rate limit, activities end at once."
    rate, speed = paces.pop()
    return (
        f"The client sends at {rate:g} requests per second and the emulator processes "
        f"{speed:,.0f} contacts per second (its default): the pace the plan assumes for "
        "its poll estimate, since how often a run polls depends on time. The server "
        "enforces no limit of its own."
    )


def _skipped(rows: Sequence[dict[str, Any]]) -> str:
    gone = [r for r in rows if r.get("skipped")]
    if not gone:
        return ""
    shapes = ", ".join(
        f"{r['lists']} x {r['size']:,} {r['overlap']} ({r['union']:,})" for r in gone
    )
    return (
        f", without the accounts whose lists hold more than {MAX_UNION:,} contacts ({shapes}): "
        "the emulator takes many minutes to read them"
    )


def _join(values: Sequence[Any]) -> str:
    return ", ".join(f"{v:,}" if isinstance(v, int) else str(v) for v in values)
