"""What a removal did: one row per input row, one row per activity.

Example:
    >>> from ccpandas.run.result import ROW_STATUSES
    >>> "removed" in ROW_STATUSES
    True
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Unpack

import numpy as np
import pandas as pd

from ccpandas.errors import ActivityError, CCError, PlanError, QuotaExceededError, next_utc_midnight
from ccpandas.run.batch import BatchRun, BatchState
from ccpandas.run.options import RunOptions, check_run_options
from ccpandas.run.progress import make_reporter
from ccpandas.run.runner import Runner, run_error

if TYPE_CHECKING:
    from ccpandas.plan.planner import RemovalPlan

__all__ = ["ROW_STATUSES", "RemovalResult"]

log = logging.getLogger("ccpandas")

# Row statuses that are not batch states: a row's batch was never sent, or its
# activity completed (the contact is out of the lists).
_NOT_SENT = "not_sent"
_REMOVED = "removed"

# A contact group spans several activities when there are more than 50 lists: the
# row shows the worst of them. Worst first; the order of ROW_STATUSES below.
_SENT_STATUSES: tuple[str, ...] = (
    BatchState.FAILED,
    BatchState.CANCELLED,
    BatchState.TIMED_OUT,
    BatchState.REJECTED,
    BatchState.UNCERTAIN,
    _NOT_SENT,
    BatchState.UNKNOWN,
    BatchState.PROCESSING,
    _REMOVED,
)
_PRECEDENCE = {str(status): rank for rank, status in enumerate(_SENT_STATUSES)}

#: What can have happened to an input row, worst first within each family.
ROW_STATUSES = (
    # the row never reached the API (the planner's statuses)
    "invalid_id",
    "missing",
    "duplicate",
    # the row's contact was sent
    *map(str, _SENT_STATUSES),
    # exclude rows of a list/all-active source: kept in the lists
    "kept",
)


def _batch_row_status(run: BatchRun) -> str:
    if run.state is BatchState.COMPLETED:
        return _REMOVED
    if run.state.busy:
        return str(BatchState.PROCESSING)
    if run.state is BatchState.PENDING:
        return _NOT_SENT
    return str(run.state)


class RemovalResult:
    """The outcome of a removal, live until every activity is terminal.

    ``rows`` has one row per input row (same index) with ``status``, ``activity_id``
    and ``error``; ``activities`` one row per batch. ``wait()``, ``resume()`` and
    ``retry_failed()`` continue the run in place.

    Example:
        >>> result = df.cc.remove_from_lists(["Newsletter"], client=client)  # doctest: +SKIP
        >>> result.rows["status"].value_counts()  # doctest: +SKIP
    """

    def __init__(
        self,
        plan: RemovalPlan,
        runs: Sequence[BatchRun],
        runner: Runner,
        *,
        dry_run: bool = False,
        run_id: str | None = None,
    ) -> None:
        self.plan = plan
        self.runs = list(runs)
        self.runner = runner
        self.dry_run = dry_run
        self.run_id = run_id
        self.stopped = False
        self.interrupted = False

    # -- state -----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Every batch was accepted and its activity reached an end state."""
        return all(r.accepted and r.terminal for r in self.runs)

    @property
    def ok(self) -> bool:
        """Every activity completed."""
        return all(r.state is BatchState.COMPLETED for r in self.runs)

    @property
    def failed_runs(self) -> list[BatchRun]:
        """Batches whose activity ended failed, cancelled or timed out."""
        return [r for r in self.runs if r.failed]

    @property
    def retryable_runs(self) -> list[BatchRun]:
        """What :meth:`retry_failed` sends again: the failed batches and those the API
        refused with a 4xx."""
        return [r for r in self.runs if r.retryable]

    @property
    def activity_ids(self) -> list[str]:
        """The activity ids accepted so far, in batch order."""
        return [r.activity_id for r in self.runs if r.activity_id]

    @property
    def activities(self) -> pd.DataFrame:
        """One row per batch: its activity, state, progress and errors."""
        records = [
            {
                "batch": r.batch.index,
                "activity_id": r.activity_id,
                "state": r.state,
                "percent_done": r.percent_done,
                "items_completed": r.items_completed,
                "items_total": r.items_total,
                "contacts": r.batch.size,
                "lists": len(r.batch.list_ids),
                "contact_group": r.batch.contact_group,
                "list_group": r.batch.list_group,
                "attempts": r.attempts,
                "resent": r.resent,
                "errors": list(r.errors),
                "submitted_at": r.submitted_at,
                "finished_at": r.finished_at,
            }
            for r in self.runs
        ]
        frame = pd.DataFrame.from_records(
            records,
            columns=[
                "batch",
                "activity_id",
                "state",
                "percent_done",
                "items_completed",
                "items_total",
                "contacts",
                "lists",
                "contact_group",
                "list_group",
                "attempts",
                "resent",
                "errors",
                "submitted_at",
                "finished_at",
            ],
        )
        return frame.set_index("batch")

    @property
    def rows(self) -> pd.DataFrame:
        """One row per input row, same index: the plan's columns plus ``status``,
        ``activity_id`` and ``error``."""
        rows = self.plan.rows.copy()
        # Positional arrays: the input index may repeat labels.
        status = rows["plan_status"].astype(object).to_numpy(copy=True)
        activity = np.full(len(rows), None, dtype=object)
        error = rows["reason"].astype(object).to_numpy(copy=True)
        planned = status == "planned"
        if self.plan.source.kind.value == "contact_ids":
            # One entry per contact group, mapped over the rows through a hash table.
            worst = self._group_outcomes()
            groups = pd.Series(rows["batch"].to_numpy()[planned])
            for target, pos in ((status, 0), (activity, 1), (error, 2)):
                target[planned] = groups.map({g: o[pos] for g, o in worst.items()}).to_numpy()
        else:
            status[planned] = "kept"
        rows["status"] = pd.Categorical(status, categories=ROW_STATUSES)
        rows["activity_id"] = activity
        rows["error"] = error
        return rows

    def _group_outcomes(self) -> dict[int, tuple[str, str | None, str | None]]:
        # Per contact group: (status, activity id, error) of its worst batch. One entry
        # per group, so mapping it over the rows stays vectorised.
        out: dict[int, tuple[str, str | None, str | None]] = {}
        for run in self.runs:
            st = _batch_row_status(run)
            err = "; ".join(run.errors) or None
            g = run.batch.contact_group
            if g not in out or _PRECEDENCE.get(st, 9) < _PRECEDENCE.get(out[g][0], 9):
                out[g] = (st, run.activity_id, err)
        return out

    def counts(self) -> pd.Series:
        """How many input rows ended in each status."""
        return self.rows["status"].value_counts().loc[lambda s: s > 0]

    def summary(self) -> dict[str, Any]:
        """Headline numbers of the run."""
        states = pd.Series([r.state for r in self.runs], dtype=object).value_counts()
        return {
            "run_id": self.run_id,
            "rows": self.plan.n_rows,
            "contacts": self.plan.n_contacts,
            "lists": len(self.plan.list_ids),
            "batches": len(self.runs),
            "accepted": sum(r.accepted for r in self.runs),
            "resent": sum(r.resent for r in self.runs),
            "activity_states": {str(k): int(v) for k, v in states.items()},
            "done": self.done,
            "ok": self.ok,
            "dry_run": self.dry_run,
        }

    # -- continuing ------------------------------------------------------------------
    def wait(self, timeout: float | None = None, progress: Any = None) -> RemovalResult:
        """Poll until every activity is terminal (or ``timeout`` seconds pass).

        Activities still running at the timeout are reported as ``processing``,
        never as failed.
        """
        check_run_options({"timeout": timeout, "progress": progress})
        self._with_reporter(progress, lambda: self.runner.wait(self.runs, timeout=timeout))
        return self

    def resume(
        self,
        timeout: float | None = None,
        progress: Any = None,
        *,
        wait: bool = True,
        wait_for_quota: bool | None = None,
    ) -> RemovalResult:
        """Send the batches that were never accepted (stopped, interrupted, quota,
        unknown outcome), then wait. Accepted batches are never sent again, even when
        their activity failed; nor are batches the API refused (4xx):
        :meth:`retry_failed` sends those. A batch whose earlier request got no answer
        is first looked for on the server (see the Reliability guide): found, it is
        followed, not sent again.

        ``timeout``: seconds to keep polling; ``progress``: a new display (None keeps
        the one in use); ``wait=False`` returns once every batch is accepted;
        ``wait_for_quota=True`` sleeps through a spent daily quota instead of stopping
        (None keeps the run's setting). ``ccpandas.resume(run_id)`` does the same from
        the journal, in another process.
        """
        options: RunOptions = {"timeout": timeout, "progress": progress, "wait": wait}
        if wait_for_quota is not None:
            options["wait_for_quota"] = wait_for_quota
        return self._continue(**options)

    def _continue(self, **options: Unpack[RunOptions]) -> RemovalResult:
        """:meth:`resume` with a checked option bundle (``ccpandas.resume`` forwards here)."""
        check_run_options(options)
        if self.dry_run:
            raise PlanError("this was a dry run; call remove_from_lists(..., dry_run=False)")
        if "wait_for_quota" in options:
            self.runner = self.runner.replace(wait_for_quota=options["wait_for_quota"])
        timeout = options.get("timeout")

        def go() -> None:
            self.runner.submit(self.runs)
            if options.get("wait", True) and not self.runner.stopped:
                self.runner.wait(self.runs, timeout=timeout)

        self._with_reporter(options.get("progress"), go)
        return self

    def retry_failed(self, timeout: float | None = None, progress: Any = None) -> RemovalResult:
        """Re-submit only the batches whose activity ended failed, cancelled or timed
        out, and those the API refused (a 4xx answer), then wait for them.

        Example:
            >>> result.retry_failed().ok  # doctest: +SKIP
            True
        """
        check_run_options({"timeout": timeout, "progress": progress})

        def go() -> None:
            # Chosen under the journal's lock: another process may have moved on.
            todo = self.retryable_runs
            if todo:
                self.runner.submit(self.runs, todo=todo)
            if not self.runner.stopped:
                self.runner.wait(self.runs, timeout=timeout)

        if self.retryable_runs:
            self._with_reporter(progress, go)
        return self

    def raise_for_errors(self) -> RemovalResult:
        """Raise :class:`ActivityError` if any activity failed, was cancelled or timed
        out; return ``self`` otherwise, for chaining."""
        bad = self.failed_runs
        if bad:
            detail = "; ".join(
                f"{r.activity_id}: {r.state} ({', '.join(r.errors) or 'no detail'})"
                for r in bad[:5]
            )
            raise ActivityError(
                f"{len(bad)} of {len(self.runs)} activities did not complete: {detail}. "
                "result.retry_failed() sends only those batches again.",
                activities=[r.progress() for r in bad],
            )
        return self

    @property
    def resume_call(self) -> str:
        """The call that continues this run, e.g. ``ccpandas.resume('20250301-...')``.

        With a client that is not the default one (passed as ``client=``), the call
        passes it too: ``ccpandas.resume(run_id)`` alone would look for a default
        client and fail with an AuthError.
        """
        return resume_call_text(self.run_id, self.runner.client)

    def _with_reporter(self, progress: Any, action: Any) -> None:
        if progress is not None:
            self.runner = self.runner.replace(reporter=make_reporter(progress))
        runner = self.runner
        reporter = runner.reporter
        journal = runner.journal
        runner.stopped = False
        self.interrupted = False
        # Holding the run (journal lock) first: if another process drives it, nothing
        # is sent from here, and the batches are brought up to date before acting.
        with journal.attach(self.runs):
            reporter.start(runner.snapshot(self.runs, "starting"))
            phase = "done"
            reason: str | None = None
            try:
                action()
            except KeyboardInterrupt as exc:
                # Ctrl-C: make the journal agree with what was sent (a POST on its way
                # is uncertain, as a dead process's would be), then let it propagate:
                # a script exits non-zero, a notebook cell shows it interrupted.
                self.interrupted = True
                reason = "interrupted"
                runner.settle_interrupted(self.runs)
                journal.settle(self.runs)
                exc.result = self  # type: ignore[attr-defined]
                exc.run_id = self.run_id  # type: ignore[attr-defined]
                exc.add_note(self._interrupted_note())
                log.warning("run %s interrupted", self.run_id)
                raise
            except BaseException as exc:
                reason = _stop_reason(exc)
                raise run_error(self._explain_stop(exc), self) from None
            finally:
                self.stopped = runner.stopped or self.interrupted or reason is not None
                if self.stopped:
                    phase = "stopped"
                    reason = reason or "stopped"
                try:
                    journal.run_stopped(reason)
                finally:
                    reporter.finish(runner.snapshot(self.runs, phase))

    def _interrupted_note(self) -> str:
        sent = sum(r.accepted for r in self.runs)
        unsure = sum(r.state is BatchState.UNCERTAIN for r in self.runs)
        done = f"{sent:,} of {len(self.runs):,} requests accepted"
        if unsure:
            done += f", {unsure:,} without an answer (looked for on the server on resume)"
        if self.run_id is None:
            return f"ccpandas: interrupted; {done}. result.resume() continues the run."
        return (
            f"ccpandas: run {self.run_id} interrupted; {done}. {self.resume_call} "
            f"continues it; ccpandas.run_result({self.run_id!r}) is the result so far "
            "(also on this exception's .result)."
        )

    def _explain_stop(self, exc: BaseException) -> BaseException:
        """The error to raise when a run stops: what was done, and how to continue."""
        if not isinstance(exc, CCError):
            return exc
        sent = sum(r.accepted for r in self.runs)
        done = f"{sent:,} of {len(self.runs):,} requests accepted"
        if isinstance(exc, QuotaExceededError):
            # The reset by the runner's clock (injectable), not the client's.
            reset = next_utc_midnight(self.runner.clock.now())
            message = (
                f"{exc.error_message or 'the daily request quota is spent'} "
                f"Stopped cleanly: {done}, nothing is lost. After the reset, continue with "
                f"{self.resume_call}, or pass wait_for_quota=True to wait instead"
            )
            new = QuotaExceededError(
                exc.status,
                exc.error_key,
                message,
                request=exc.request,
                errors=exc.errors,
                reset_at=reset,
            )
            new.__cause__ = exc
            return new
        if not isinstance(exc, PlanError) and self.run_id is not None:
            exc.add_note(f"ccpandas: {done}; {self.resume_call} continues the run.")
        return exc

    # -- display ---------------------------------------------------------------------
    def __repr__(self) -> str:
        s = self.summary()
        # Sources other than contact ids are selected by the API: no count up front.
        contacts = "selected by the API" if s["contacts"] is None else f"{s['contacts']:,}"
        lines = [
            f"RemovalResult{' (dry run: nothing was sent)' if self.dry_run else ''}",
            f"  rows: {s['rows']:,}  contacts: {contacts}  lists: {s['lists']:,}",
            f"  activities: {s['accepted']:,} of {s['batches']:,} accepted; "
            + ", ".join(f"{k} {v:,}" for k, v in s["activity_states"].items()),
        ]
        counts = self.counts()
        lines.append("  rows by status: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        if self.interrupted or self.stopped:
            lines.append(f"  stopped before the end: {self.resume_call} continues")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = self.counts()
        cells = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{v:,}</td></tr>" for k, v in counts.items()
        )
        head = html.escape(repr(self).splitlines()[1].strip())
        return (
            f"<div><strong>RemovalResult</strong> <span>{head}</span>"
            f"<table><thead><tr><th>status</th><th>rows</th></tr></thead>"
            f"<tbody>{cells}</tbody></table></div>"
        )


def resume_call_text(run_id: str | None, client: Any) -> str:
    """The call that continues run ``run_id`` driven with ``client``.

    ``client=client`` is added unless ``client`` is the default client (or None):
    ``ccpandas.resume(run_id)`` alone looks for a default client.

    Example:
        >>> resume_call_text("20250301-231501-7f3a2c", None)
        "ccpandas.resume('20250301-231501-7f3a2c')"
        >>> resume_call_text(None, None)
        'result.resume()'
    """
    from ccpandas.client.http import default_client

    if run_id is None:
        return "result.resume()"
    # The default is read, never built: building one here could prompt for a login.
    if client is None or client is default_client():
        return f"ccpandas.resume({run_id!r})"
    return f"ccpandas.resume({run_id!r}, client=client)"


def _stop_reason(exc: BaseException) -> str:
    """A short word for why a run stopped, kept in the journal."""
    if isinstance(exc, QuotaExceededError):
        return "quota_exceeded"
    key = getattr(exc, "error_key", None)
    return str(key) if key else type(exc).__name__
