"""End to end: ccpandas and a naive script against the emulator at the real 4 requests/s.

Each run gets a fresh emulator (same seed, same account), serving its rate limit of
``rate`` requests per second with activity processing made fast enough
(``speed``) that the server is never the bottleneck: what is measured is how close the
client gets to the API's limits. Everything is read from the emulator's own request
counts and log, so ccpandas and the baseline are measured the same way.

Metrics per run, with their targets (for ccpandas):

- removal requests sent / the minimum ``ceil(contacts/500) x ceil(lists/50)`` (1.00)
- poll requests (``GET /activities`` and ``GET /activities/{id}``) per activity (<= 0.2)
- ``throttled`` answers (0)
- achieved request rate / limit (>= 0.95): requests after the first, divided by the
  time from the first request to the last
- wall time / (total requests / limit) (<= 1.05): the whole call, planning included

The baseline (:func:`naive_remove`) is written the way such scripts usually are: a
``requests`` loop posting 500 ids at a time with a fixed ``time.sleep(1 / rate)`` after
every call, then one ``GET /activities/{id}`` per unfinished activity every 5 s.

Example:
    >>> rows = run([(600, 3)], rate=50.0, poll_every=0.2)
    >>> [(r["runner"], r["removal_requests"], r["minimum_requests"]) for r in rows]
    [('ccpandas', 2, 2), ('naive', 2, 2)]
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd

from benchmarks._util import POLL_ROUTES, REMOVE_ROUTE, table

__all__ = ["SCENARIOS", "naive_remove", "print_table", "run"]

#: (contacts, lists) of the two runs the issue asks for.
SCENARIOS: tuple[tuple[int, int], ...] = ((50_000, 3), (20_000, 120))
#: Items per second per activity: fast enough that the server never holds anyone up.
FAST_SPEED = 1_000_000.0
_TERMINAL = frozenset({"completed", "failed", "cancelled", "timed_out"})
#: Where ccpandas keeps its journal and daily request count (see ccpandas.store.journal).
DATA_DIR_ENV = "CCPANDAS_DATA_DIR"


# -- the naive baseline ------------------------------------------------------------------
def naive_remove(
    base_url: str,
    token: str,
    contact_ids: Sequence[str],
    list_ids: Sequence[str],
    *,
    pause: float = 0.25,
    poll_every: float = 5.0,
    give_up_after: float = 600.0,
) -> dict[str, Any]:
    """Remove contacts from lists the way a first script does; return what it saw.

    Posts 500 ids at a time (lists in groups of 50, since the API refuses more), sleeps
    ``pause`` after every call, then every ``poll_every`` seconds GETs each activity
    that has not finished. No retries: a refused call is counted and skipped.
    """
    import requests

    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    activity_ids: list[str] = []
    refused = 0
    try:
        for first_list in range(0, len(list_ids), 50):
            lists = list(list_ids[first_list : first_list + 50])
            for start in range(0, len(contact_ids), 500):
                body = {"source": {"contact_ids": list(contact_ids[start : start + 500])}}
                body["list_ids"] = lists
                r = session.post(
                    f"{base_url}/activities/remove_list_memberships",
                    json=body,
                    headers=headers,
                    timeout=30,
                )
                if r.status_code == 201:
                    activity_ids.append(r.json()["activity_id"])
                else:
                    refused += 1
                time.sleep(pause)
        pending = list(activity_ids)
        deadline = time.monotonic() + give_up_after
        while pending and time.monotonic() < deadline:
            time.sleep(poll_every)
            still = []
            for activity_id in pending:
                r = session.get(f"{base_url}/activities/{activity_id}", headers=headers, timeout=30)
                if not (r.ok and r.json().get("state") in _TERMINAL):
                    still.append(activity_id)
                if not r.ok:
                    refused += 1
                time.sleep(pause)
            pending = still
    finally:
        session.close()
    return {"activities": len(activity_ids), "unfinished": len(pending), "refused": refused}


# -- one run -------------------------------------------------------------------------------
def _emulator(contacts: int, lists: int, *, rate: float, speed: float, seed: int) -> Any:
    from ccpandas.emulator import Emulator

    return Emulator(seed=seed, contacts=contacts, lists=lists, tags=1, rate=rate, speed=speed)


def _run_ccpandas(emu: Any, ids: list[str], lists: list[str], rate: float) -> dict[str, Any]:
    import ccpandas

    df = pd.DataFrame({"contact_id": ids})
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=rate) as client:
        started_at = emu.clock.now()
        start = time.perf_counter()
        # Today's mode: this benchmark measures the rate against the minimum
        # ceil(n/500) x ceil(L/50); bench_membership measures the snapshot.
        result = df.cc.remove_from_lists(lists, client=client, progress=False, snapshot=False)
        wall = time.perf_counter() - start
        stats = client.stats.as_dict()
    return {
        "started_at": started_at,
        "wall_seconds": wall,
        "ok": bool(result.ok),
        "activities": len(result.activity_ids),
        "poll_rounds": result.runner.polls,
        "client_retries": stats["retries"],
        "client_throttled": stats["throttled"],
    }


def _run_naive(
    emu: Any, ids: list[str], lists: list[str], rate: float, poll_every: float
) -> dict[str, Any]:
    started_at = emu.clock.now()
    start = time.perf_counter()
    seen = naive_remove(
        emu.base_url, emu.token, ids, lists, pause=1.0 / rate, poll_every=poll_every
    )
    wall = time.perf_counter() - start
    return {
        "started_at": started_at,
        "wall_seconds": wall,
        "ok": seen["unfinished"] == 0 and seen["refused"] == 0,
        "activities": seen["activities"],
        "poll_rounds": None,
        "client_retries": 0,
        "client_throttled": None,
    }


def _measure(
    runner: str,
    contacts: int,
    lists: int,
    *,
    rate: float,
    speed: float,
    seed: int,
    go: Callable[[Any, list[str], list[str]], dict[str, Any]],
) -> dict[str, Any]:
    with _emulator(contacts, lists, rate=rate, speed=speed, seed=seed) as emu:
        acct = emu.account
        ids = acct.contact_ids()
        targets = acct.list_ids()
        members_before = sum(len(acct.members(lid)) for lid in targets)
        out = go(emu, ids, targets)
        emu.wait_idle(timeout=30)
        members_after = sum(len(acct.members(lid)) for lid in targets)
        log = acct.request_log
        count = acct.count
        removal = count(method="POST", route=REMOVE_ROUTE)
        polls = sum(count(method="GET", route=r) for r in POLL_ROUTES)
        # ccpandas checks its target lists first (one listing): a request like any other.
        reads = count(method="GET", route="/v3/contact_lists")
        throttled = count(status=429)
    total = len(log)
    offsets = [(rec.at - out["started_at"]).total_seconds() for rec in log]
    span = offsets[-1] - offsets[0] if total > 1 else 0.0
    minimum = math.ceil(contacts / 500) * math.ceil(lists / 50)
    activities = out["activities"]
    achieved = (total - 1) / span if span > 0 else math.nan
    return {
        "runner": runner,
        "contacts": contacts,
        "lists": lists,
        "rate_limit": rate,
        "speed": speed,
        "minimum_requests": minimum,
        "removal_requests": removal,
        "removal_ratio": removal / minimum,
        "activities": activities,
        "poll_requests": polls,
        "read_requests": reads,
        "polls_per_activity": polls / activities if activities else math.nan,
        "throttled": throttled,
        "total_requests": total,
        "achieved_rate": achieved,
        "rate_ratio": achieved / rate,
        "wall_seconds": out["wall_seconds"],
        "ideal_seconds": total / rate,
        "wall_ratio": out["wall_seconds"] / (total / rate),
        "memberships_before": members_before,
        "memberships_after": members_after,
        "ok": out["ok"] and members_after == 0,
        "poll_rounds": out["poll_rounds"],
        "client_retries": out["client_retries"],
        # For the chart: when each request reached the emulator, from the call's start.
        "request_offsets": [round(x, 4) for x in offsets],
        "request_kinds": [_kind_of(rec) for rec in log],
    }


def _kind_of(rec: Any) -> str:
    if rec.method == "POST":
        return "post"
    return "read" if rec.route == "/v3/contact_lists" else "poll"


def run(
    scenarios: Sequence[tuple[int, int]] = SCENARIOS,
    *,
    rate: float = 4.0,
    speed: float = FAST_SPEED,
    poll_every: float = 5.0,
    seed: int = 7,
) -> list[dict[str, Any]]:
    """Run ccpandas, then the naive baseline, on a fresh emulator each, per scenario.

    ``scenarios`` are ``(contacts, lists)`` pairs; every contact of the seeded account
    is removed from every list. ``poll_every`` is the baseline's polling period.
    """
    with _private_data_dir():
        return _run_all(scenarios, rate=rate, speed=speed, poll_every=poll_every, seed=seed)


@contextlib.contextmanager
def _private_data_dir() -> Iterator[None]:
    """Point ccpandas' journal and daily request count at a temporary directory.

    Runs are journaled by default (that cost is part of what is measured), but a
    benchmark must not fill the user's own journal or spend their day's count.
    """
    old = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="ccpandas-bench-") as tmp:
        os.environ[DATA_DIR_ENV] = tmp
        try:
            yield
        finally:
            if old is None:
                os.environ.pop(DATA_DIR_ENV, None)
            else:
                os.environ[DATA_DIR_ENV] = old


def _run_all(
    scenarios: Sequence[tuple[int, int]], *, rate: float, speed: float, poll_every: float, seed: int
) -> list[dict[str, Any]]:
    rows = []
    for contacts, lists in scenarios:
        rows.append(
            _measure(
                "ccpandas",
                contacts,
                lists,
                rate=rate,
                speed=speed,
                seed=seed,
                go=lambda emu, ids, targets: _run_ccpandas(emu, ids, targets, rate),
            )
        )
        rows.append(
            _measure(
                "naive",
                contacts,
                lists,
                rate=rate,
                speed=speed,
                seed=seed,
                go=lambda emu, ids, targets: _run_naive(emu, ids, targets, rate, poll_every),
            )
        )
    return rows


def print_table(rows: Sequence[dict[str, Any]]) -> str:
    """The results as a text table (returned and printed)."""
    headers = [
        "run",
        "contacts x lists",
        "removal req / min",
        "polls / activity",
        "throttled",
        "rate / limit",
        "wall s",
        "wall / ideal",
        "requests",
        "all removed",
    ]
    body = [
        [
            r["runner"],
            f"{r['contacts']:,} x {r['lists']}",
            f"{r['removal_requests']} / {r['minimum_requests']} = {r['removal_ratio']:.2f}",
            f"{r['polls_per_activity']:.2f}",
            r["throttled"],
            f"{r['rate_ratio']:.3f}",
            f"{r['wall_seconds']:.1f}",
            f"{r['wall_ratio']:.3f}",
            r["total_requests"],
            "yes" if r["ok"] else "NO",
        ]
        for r in rows
    ]
    text = table(headers, body)
    print(text)
    return text


if __name__ == "__main__":
    print_table(run())
