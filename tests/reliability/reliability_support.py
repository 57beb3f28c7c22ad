"""The three invariants every reliability scenario ends with, checked against the
emulator's own state (never against what the client believes).

1. Every input row has a final, accounted state in ``result.rows``.
2. The memberships the emulator holds are exactly what the request asked for: no
   contact missed, no other membership touched.
3. No batch with an accepted activity was sent again, except ``uncertain`` ones (no
   usable answer came back: they are sent again, never matched to an activity by its
   shape), which are counted; every activity on the server is one of ours.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Iterable
from typing import Any

import pandas as pd

import ccpandas
from ccpandas.run.runner import Runner
from ccpandas.store.journal import open_journal

REMOVE = "/v3/activities/remove_list_memberships"
FINAL_ROW_STATUSES = {
    "removed",
    "invalid_id",
    "missing",
    "duplicate",
    "failed",
    "cancelled",
    "timed_out",
    "rejected",
    "unknown",  # its activity ended badly part way; nothing re-read (issue 21)
    "api_error",  # its activity's activity_errors name the contact (issue 21)
}
_BAD_ACTIVITY = {"failed", "cancelled", "timed_out"}


def fast_client(emu: Any, *, seed: int = 0, token: Any = None, **kwargs: Any) -> ccpandas.Client:
    """A client with no client-side limit (unless asked) and short, seeded retry waits.

    The retry schedule itself is unit-tested; here only its outcome matters.
    """
    kwargs.setdefault("rate", None)
    kwargs.setdefault("jitter", random.Random(seed).random)
    client = ccpandas.Client(token=token or emu.token, base_url=emu.base_url, **kwargs)
    client.retry_policy = dataclasses.replace(
        client.retry_policy,
        base_delay=0.01,
        max_delay=0.1,
        activities_base_delay=0.02,
        activities_max_delay=0.1,
    )
    return client


def fast_runner(client: Any, **kwargs: Any) -> Runner:
    """A runner that polls every few milliseconds (the emulator is fast)."""
    kwargs.setdefault("poll_min", 0.01)
    kwargs.setdefault("poll_max", 0.05)
    return Runner(client, **kwargs)


def memberships(emu: Any) -> dict[str, set[str]]:
    """Every list's members now (a deep copy)."""
    return emu.account.memberships()


# -- invariant 1 ------------------------------------------------------------------------
def check_rows(result: Any, frame: pd.DataFrame | None = None) -> pd.Series:
    """Every input row is in ``result.rows`` once, in order, with a final status that
    agrees with its batch; returns the status counts."""
    rows = result.rows
    plan = result.plan
    assert len(rows) == plan.n_rows
    if frame is not None:
        assert rows.index.equals(frame.index)
    status = rows["status"].astype(object)
    assert status.notna().all()
    not_final = sorted(set(status) - FINAL_ROW_STATUSES)
    assert not not_final, f"rows left in non-final states: {not_final}"
    # accounted: planned rows carry the outcome of their batch, others their plan status
    planned = (rows["plan_status"] == "planned").to_numpy()
    assert set(status[~planned]) <= {"invalid_id", "missing", "duplicate"}
    assert (status[~planned].to_numpy() == rows["plan_status"].astype(object)[~planned]).all()
    if result.ok:
        assert set(status[planned]) <= {"removed"}
        assert rows.loc[planned, "activity_id"].notna().all()
    return status.value_counts()


# -- invariant 2 ------------------------------------------------------------------------
def check_memberships(
    emu: Any,
    before: dict[str, set[str]],
    results: Iterable[Any],
    *,
    exact: bool = True,
) -> None:
    """The emulator holds ``before`` minus what the runs asked to remove.

    ``exact=False`` (a run not finished yet, or with failed activities) only checks
    that nothing outside the request was touched.
    """
    asked: dict[str, set[str]] = {}
    for result in results:
        rows = result.rows
        ids = set(rows.loc[rows["plan_status"] == "planned", "normalized_id"].astype(str))
        for list_id in result.plan.list_ids:
            asked.setdefault(list_id, set()).update(ids)
    now = memberships(emu)
    assert set(now) == set(before)
    for list_id, members in before.items():
        removed = members - now[list_id]
        assert now[list_id] <= members, f"contacts were added to {list_id}"
        assert removed <= asked.get(list_id, set()), f"list {list_id}: others were removed"
        if exact:
            assert now[list_id] == members - asked.get(list_id, set()), f"{list_id}: missed"


# -- invariant 3 ------------------------------------------------------------------------
def _key(source: dict[str, Any], list_ids: Iterable[str], exclude: Iterable[str]) -> str:
    src = {k: sorted(v) if isinstance(v, list) else v for k, v in source.items()}
    return json.dumps([src, sorted(list_ids), sorted(exclude)], sort_keys=True)


def _keyed_activities(emu: Any) -> list[tuple[str, Any]]:
    """Every activity on the emulator with the key of its body."""
    return [(_key(a.source, a.list_ids, a.exclude), a) for a in emu.account.activities.values()]


def server_activities_by_batch(
    emu: Any, result: Any, keyed: list[tuple[str, Any]] | None = None
) -> dict[int, list[Any]]:
    """The emulator's activities for each batch of ``result`` (matched by body);
    ``keyed`` is ``_keyed_activities(emu)`` when the caller has it already."""
    wanted = {}
    for run in result.runs:
        body = run.batch.to_json()
        key = _key(body["source"], body["list_ids"], body.get("exclude", {}).get("contact_ids", ()))
        wanted[key] = run.batch.index
    found: dict[int, list[Any]] = {i: [] for i in wanted.values()}
    for key, activity in _keyed_activities(emu) if keyed is None else keyed:
        if key in wanted:
            found[wanted[key]].append(activity)
    return found


def check_no_resend(
    emu: Any, result: Any, keyed: list[tuple[str, Any]] | None = None
) -> dict[str, int]:
    """Invariant 3 for one journaled run; returns counts for the scenario's report."""
    attempts = open_journal().attempts(result.run_id)
    on_server = server_activities_by_batch(emu, result, keyed)
    extra_total = uncertain_total = 0
    for run in result.runs:
        mine = attempts[attempts["batch"] == run.batch.index].sort_values("attempt")
        server = {a.activity_id: a for a in on_server[run.batch.index]}
        accepted = [a for a in mine["activity_id"].tolist() if isinstance(a, str)]
        # every activity the journal knows exists on the server
        assert set(accepted) <= set(server), (run.batch.index, accepted, list(server))
        known = {run.activity_id, *run.previous_activity_ids} - {None}
        assert known == set(accepted), (run.batch.index, known, accepted)
        # after an accepted attempt, the batch is sent again only to retry a failed one
        previous = None
        for _, att in mine.iterrows():
            if previous is not None and previous["outcome"] == "accepted":
                assert att["reason"] == "retry_failed", (run.batch.index, att.to_dict())
                assert server[previous["activity_id"]].state in _BAD_ACTIVITY
            previous = att
        # activities beyond the accepted ones come only from sends without an answer
        uncertain = int((mine["reason"] == "uncertain").sum() + mine["resends"].sum())
        assert run.resent == uncertain, (run.batch.index, run.resent, uncertain)
        # each send without an answer (an attempt left uncertain, a re-send by the
        # client) may have created one activity nobody heard of: no more than that
        extra = len(server) - len(accepted)
        unanswered = int(mine["resends"].sum() + (mine["outcome"] == "uncertain").sum())
        assert 0 <= extra <= unanswered, (run.batch.index, extra, unanswered)
        extra_total += extra
        uncertain_total += uncertain
    return {"duplicates_on_server": extra_total, "uncertain_sends": uncertain_total}


def check_all(
    emu: Any,
    before: dict[str, set[str]],
    results: list[Any],
    frames: list[pd.DataFrame] | None = None,
    *,
    exact: bool = True,
) -> list[dict[str, int]]:
    """The three invariants for ``results`` (runs on one emulator), plus: every removal
    activity on the server belongs to one of their batches."""
    for i, result in enumerate(results):
        check_rows(result, frames[i] if frames else None)
    check_memberships(emu, before, results, exact=exact)
    keyed = _keyed_activities(emu)  # each activity's body keyed once, not once per run
    counts = [check_no_resend(emu, r, keyed) for r in results]
    by_batch = [server_activities_by_batch(emu, r, keyed) for r in results]
    matched = sum(len(v) for found in by_batch for v in found.values())
    assert matched == len(emu.account.activities), "the server has activities nobody sent"
    return counts
