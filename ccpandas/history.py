"""Runs recorded in the journal: list them, rebuild their results, resume them.

Example:
    >>> import ccpandas
    >>> ccpandas.runs()  # doctest: +SKIP
                     run_id                started_at  lists  contacts      state  progress
    0  20250301-231501-7f3a2c 2025-03-01 23:15:01+00:00      1    120000  completed      1.0
    >>> result = ccpandas.resume("20250301-231501-7f3a2c", client=client)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from ccpandas.errors import CCError, PlanError
from ccpandas.run.batch import UNCERTAIN
from ccpandas.run.journal import JournalDB, RunJournal, open_journal, plan_digest
from ccpandas.run.runner import Runner

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.run.result import RemovalResult

__all__ = ["RUN_COLUMNS", "RUN_STATES", "resume", "resume_frame", "run_result", "runs"]

#: The columns of :func:`runs`.
RUN_COLUMNS = (
    "run_id",
    "started_at",
    "updated_at",
    "lists",
    "contacts",
    "rows",
    "source",
    "batches",
    "accepted",
    "completed",
    "failed",
    "uncertain",
    "state",
    "progress",
    "stop_reason",
    "base_url",
    "removed_memberships",
)
#: What :func:`runs` says about a run.
RUN_STATES = {
    "running": "a process is driving it right now",
    "completed": "every activity completed",
    "failed": "every request was answered, but some activities failed or were refused: "
    "result.retry_failed() sends those again",
    "processing": "every request was accepted; activities were still running at the "
    "last look: resume() follows them",
    "stopped": "some requests were never accepted (quota, error, interruption, a dead "
    "process): resume() sends them",
}
_GOOD = "completed"
_BAD = ("failed", "cancelled", "timed_out", "rejected", "unknown")


def runs(*, journal: JournalDB | None = None) -> pd.DataFrame:
    """Every run in the journal, newest first: one row each with ``run_id``,
    ``started_at``, ``lists`` (how many target lists), ``contacts`` (None when the
    API selected them), ``state`` (see :data:`RUN_STATES`) and ``progress`` (the
    share of requests whose activity completed, 0 to 1), ``removed_memberships``
    (what the verification read found removed per list, e.g. "Newsletter 43,
    Customers 16"; None for runs without one), and more.

    Example:
        >>> ccpandas.runs()[["run_id", "state", "progress"]]  # doctest: +SKIP
    """
    db = journal or open_journal()
    records = db.query(
        "SELECT r.run_id, r.created_at, r.updated_at, r.list_ids, r.n_contacts, r.n_rows, "
        "r.source, r.n_batches, r.status, r.stop_reason, r.base_url, "
        "SUM(b.activity_id IS NOT NULL) AS accepted, "
        "SUM(b.state = 'completed') AS completed, "
        "SUM(b.state IN ('failed', 'cancelled', 'timed_out', 'rejected', 'unknown')) AS failed, "
        "SUM(b.state = ?) AS uncertain, "
        "SUM(b.activity_id IS NOT NULL AND b.state IN ('initialized', 'processing')) AS busy "
        "FROM runs r LEFT JOIN batches b ON b.run_id = r.run_id "
        "GROUP BY r.run_id ORDER BY r.created_at DESC",
        (UNCERTAIN,),
    )
    from ccpandas.run.snapshot import run_summaries

    verified = run_summaries(db)  # "Newsletter 43, Customers 16", from the verification
    out = []
    for rec in records:
        n = rec["n_batches"]
        completed, failed = rec["completed"] or 0, rec["failed"] or 0
        accepted, busy = rec["accepted"] or 0, rec["busy"] or 0
        if rec["status"] == "running" and db.is_driven(rec["run_id"]):
            state = "running"
        elif completed == n:
            state = "completed"
        elif completed + failed == n:
            state = "failed"
        elif accepted + failed == n and busy:
            state = "processing"
        else:
            state = "stopped"
        reason = rec["stop_reason"]
        if rec["status"] == "running" and state != "running":
            reason = "the process driving it ended"
        out.append(
            {
                "run_id": rec["run_id"],
                "started_at": rec["created_at"],
                "updated_at": rec["updated_at"],
                "lists": len(json.loads(rec["list_ids"])),
                "contacts": rec["n_contacts"],
                "rows": rec["n_rows"],
                "source": rec["source"],
                "batches": n,
                "accepted": accepted,
                "completed": completed,
                "failed": failed,
                "uncertain": rec["uncertain"] or 0,
                "state": state,
                "progress": completed / n if n else 1.0,
                "stop_reason": None if state in ("running", "completed") else reason,
                "base_url": rec["base_url"],
                "removed_memberships": verified.get(rec["run_id"]),
            }
        )
    frame = pd.DataFrame.from_records(out, columns=list(RUN_COLUMNS))
    for col in ("started_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    frame["contacts"] = frame["contacts"].astype("Int64")
    return frame


def run_result(
    run_id: str,
    client: Client | None = None,
    *,
    runner: Runner | None = None,
    journal: JournalDB | None = None,
) -> RemovalResult:
    """Rebuild the :class:`~ccpandas.RemovalResult` of ``run_id`` from the journal.

    Nothing is sent: ``result.rows`` (one row per input row, the input's index) and
    ``result.activities`` show what was last recorded. ``result.resume()``,
    ``wait()`` and ``retry_failed()`` continue it with ``client`` (or the default
    client).

    Example:
        >>> result = ccpandas.run_result("20250301-231501-7f3a2c")  # doctest: +SKIP
        >>> result.rows["status"].value_counts()  # doctest: +SKIP
    """
    from ccpandas.run.result import RemovalResult

    db = journal or open_journal()
    run_journal = RunJournal.open(run_id, db=db)
    plan = db.load_plan(run_id)
    runner = runner or Runner(None)
    if client is not None:
        runner.client = client
    _check_same_api(run_journal, runner.client)
    runner.journal = run_journal
    result = RemovalResult(plan, db.load_runs(run_id, plan), runner, run_id=run_id)
    if plan.membership is not None:
        # -- membership snapshot: a finished verification is in the journal already.
        from ccpandas.run.snapshot import journaled_after

        result.after = journaled_after(db, run_id, plan)
    return result


def resume(
    run_id: str,
    client: Client | None = None,
    *,
    wait: bool = True,
    timeout: float | None = None,
    progress: Any = "auto",
    wait_for_quota: bool = False,
    runner: Runner | None = None,
) -> RemovalResult:
    """Continue a journaled run, in this process or any other: follow the activities
    already accepted, send only the batches with no accepted activity (those whose
    outcome was unknown are sent again: removal is idempotent), then wait. Failed
    activities and requests the API refused (4xx) are not sent again:
    ``result.retry_failed()`` does that.

    Returns the same kind of result as the first call. ``client`` defaults to the
    default client; it must talk to the API the run started on. ``runner`` brings
    injected clocks and sleeps (tests).

    Example:
        >>> result = ccpandas.resume("20250301-231501-7f3a2c", client=client)  # doctest: +SKIP
        >>> result.ok  # doctest: +SKIP
        True
    """
    result = run_result(run_id, client, runner=runner)
    _resolve_client(result.runner, client)
    return result.resume(
        timeout=timeout, progress=progress, wait=wait, wait_for_quota=wait_for_quota
    )


def resume_frame(
    data: pd.DataFrame | pd.Series,
    run_id: str,
    *,
    column: str = "contact_id",
    client: Client | None = None,
    wait: bool = True,
    timeout: float | None = None,
    progress: Any = "auto",
    wait_for_quota: bool = False,
    runner: Runner | None = None,
) -> RemovalResult:
    """Resume ``run_id`` for the frame it started from (``df.cc.resume``): the result's
    rows keep the frame's exact index and values. A frame that would not produce the
    run's requests raises :class:`~ccpandas.PlanError` and nothing is sent.
    """
    from ccpandas.plan.planner import plan_removal

    result = run_result(run_id, client, runner=runner)
    journaled = result.plan
    if journaled.source.kind.value != "contact_ids":
        raise PlanError(
            f"run {run_id} removed contacts selected by the API ({journaled.source.kind.value}),"
            f" not a DataFrame's; use ccpandas.resume({run_id!r})"
        )
    membership = journaled.membership
    if membership is not None and membership.key == "email":
        # -- membership snapshot: the journal keeps no address, so the frame's emails
        # cannot be matched again; the frame must be the one the run started from.
        return _resume_email_frame(
            data, result, column, client, wait, timeout, progress, wait_for_quota
        )
    if membership is not None:
        from ccpandas.plan.membership import plan_membership_removal

        plan = plan_membership_removal(
            data,
            journaled.list_ids,
            membership.snapshot,
            column=column,
            by="contact_id",
            rate=journaled.rate,
            daily_quota=journaled.daily_quota,
        )
        plan = dataclasses.replace(plan, membership=membership)
    else:
        plan = plan_removal(
            data,
            journaled.list_ids,
            column=column,
            rate=journaled.rate,
            daily_quota=journaled.daily_quota,
        )
    if len(plan.rows) != len(journaled.rows) or plan_digest(plan.batches) != plan_digest(
        journaled.batches
    ):
        raise PlanError(
            f"this frame does not match run {run_id}: it plans {plan.n_rows:,} rows and "
            f"{plan.n_contacts:,} contacts in {plan.n_requests:,} requests, the run had "
            f"{journaled.n_rows:,} rows and {journaled.n_contacts:,} contacts in "
            f"{journaled.n_requests:,} requests. Pass the frame the run started from, or "
            f"use ccpandas.resume({run_id!r}).",
            column=column,
        )
    result.plan = dataclasses.replace(journaled, rows=plan.rows, column=plan.column)
    _resolve_client(result.runner, client)
    return result.resume(
        timeout=timeout, progress=progress, wait=wait, wait_for_quota=wait_for_quota
    )


def _resume_email_frame(
    data: Any,
    result: RemovalResult,
    column: str,
    client: Client | None,
    wait: bool,
    timeout: float | None,
    progress: Any,
    wait_for_quota: bool,
) -> RemovalResult:
    """``df.cc.resume`` of an email-keyed run: the rows come back with the frame's
    addresses when the frame has the run's shape and index."""
    journaled = result.plan
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({column: data})
    if column not in frame.columns or not frame.index.equals(journaled.rows.index):
        raise PlanError(
            f"this frame does not match run {result.run_id}: the run had "
            f"{journaled.n_rows:,} rows keyed by email (column {column!r}); pass the frame "
            f"it started from, or use ccpandas.resume({result.run_id!r}).",
            column=column,
        )
    rows = journaled.rows.copy()
    rows.insert(0, "email", frame[column])
    result.plan = dataclasses.replace(journaled, rows=rows, column=column)
    _resolve_client(result.runner, client)
    return result.resume(
        timeout=timeout, progress=progress, wait=wait, wait_for_quota=wait_for_quota
    )


def _resolve_client(runner: Runner, client: Client | None) -> None:
    if runner.client is None:
        from ccpandas.auth.connect import get_default_client

        runner.client = client if client is not None else get_default_client()
    journal = runner.journal
    if isinstance(journal, RunJournal):
        _check_same_api(journal, runner.client)


def _check_same_api(journal: RunJournal, client: Any) -> None:
    base_url = getattr(client, "base_url", None)
    if base_url is None or journal.base_url is None or base_url == journal.base_url:
        return
    raise CCError(
        f"run {journal.run_id} was sent to {journal.base_url}; this client talks to "
        f"{base_url}. Resume it with a client for the same API (and account)."
    )
