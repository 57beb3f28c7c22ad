"""Execute a plan: submit its batches, poll their activities, report progress.

The runner owns the mutable per-batch records (:class:`BatchRun`); the result object
(:mod:`ccpandas.result`) turns them into DataFrames. Everything runs in the caller's
thread, so reporters (tqdm, widgets) are only touched from there.

Polling uses ``GET /activities`` (up to 500 activities per call) and falls back to
``GET /activities/{id}`` only for an activity that the collection no longer shows. The
interval starts at ``poll_min`` seconds and grows by ``poll_growth`` up to ``poll_max``
while nothing changes, so a long run spends almost nothing on polling.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccpandas.errors import APIError, CCError, NotFoundError, QuotaExceededError, TransportError
from ccpandas.models import ActivityState, Batch
from ccpandas.progress import ActivityProgress, NullReporter, Reporter, Snapshot

__all__ = ["BatchRun", "Journal", "NullJournal", "Runner"]

log = logging.getLogger("ccpandas")

#: Batch states that are not API activity states.
PENDING = "pending"  # not sent (yet)
UNCERTAIN = "uncertain"  # sent, but no answer came back: the activity may or may not exist
REJECTED = "rejected"  # the API refused the request (4xx)
UNKNOWN = "unknown"  # the activity is no longer reported by the API

_TERMINAL_STATES = frozenset(s.value for s in ActivityState if s.terminal) | {UNKNOWN}
_BAD_STATES = frozenset({"failed", "cancelled", "timed_out"})


@dataclass
class BatchRun:
    """One batch and what became of it. Mutated only by the runner."""

    batch: Batch
    state: str = PENDING
    activity_id: str | None = None
    percent_done: int = 0
    items_completed: int = 0
    items_total: int = 0
    errors: tuple[str, ...] = ()
    attempts: int = 0  # accepted submissions; more than one after retry_failed()
    submitted_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    previous_activity_ids: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """The API answered 201: an activity exists for this batch."""
        return self.activity_id is not None

    @property
    def terminal(self) -> bool:
        """The activity reached an end state (or can no longer be followed)."""
        return self.state in _TERMINAL_STATES

    @property
    def needs_sending(self) -> bool:
        """Not accepted yet: never sent, or sent without a known outcome."""
        return self.state in (PENDING, UNCERTAIN)

    @property
    def failed(self) -> bool:
        """The activity ended failed, cancelled or timed out."""
        return self.state in _BAD_STATES

    def progress(self) -> ActivityProgress:
        """An immutable view for reporters."""
        return ActivityProgress(
            batch=self.batch.index,
            activity_id=self.activity_id,
            state=self.state,
            percent_done=self.percent_done,
            items_completed=self.items_completed,
            items_total=self.items_total,
            errors=self.errors,
        )

    def apply(self, activity: dict[str, Any], now: dt.datetime) -> bool:
        """Take the fields of an activity body; True when something changed."""
        status = activity.get("status") or {}
        before = (self.state, self.percent_done, self.items_completed, self.errors)
        self.state = str(activity.get("state") or self.state)
        self.percent_done = int(activity.get("percent_done") or 0)
        self.items_total = int(status.get("items_total_count") or self.items_total)
        self.items_completed = int(status.get("items_completed_count") or 0)
        self.errors = tuple(str(e) for e in activity.get("activity_errors") or ())
        if self.terminal and self.finished_at is None:
            self.finished_at = now
        return before != (self.state, self.percent_done, self.items_completed, self.errors)


class Journal(Protocol):
    """Where a run records what it does, so a dead kernel can resume (see issue 6).

    Each call must be durable before it returns: the runner sends nothing until then.
    """

    def batch_sending(self, run: BatchRun) -> None:
        """About to POST this batch."""

    def batch_answered(self, run: BatchRun) -> None:
        """The POST was answered (accepted, rejected) or its outcome is unknown."""

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        """A poll changed these activities' states."""


class NullJournal:
    """Records nothing."""

    def batch_sending(self, run: BatchRun) -> None:
        pass

    def batch_answered(self, run: BatchRun) -> None:
        pass

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        pass


class _ActivityClient(Protocol):
    def remove_list_memberships(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def get_activity(self, activity_id: str) -> dict[str, Any]: ...
    def iter_activities(self, *, state: str | None = None, limit: int = 500) -> Any: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Runner:
    """Submits and polls the batches of one result.

    Example:
        >>> Runner(client=None).poll_min
        1.0
    """

    def __init__(
        self,
        client: _ActivityClient | None,
        *,
        reporter: Reporter | None = None,
        journal: Journal | None = None,
        poll_min: float = 1.0,
        poll_max: float = 15.0,
        poll_growth: float = 1.6,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.reporter: Reporter = reporter or NullReporter()
        self.journal: Journal = journal or NullJournal()
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.poll_growth = poll_growth
        self.clock = clock
        self.sleep = sleep
        self.now = now
        self.stopped = False
        self.polls = 0

    # -- reporting -------------------------------------------------------------------
    def snapshot(self, runs: Sequence[BatchRun], phase: str, message: str = "") -> Snapshot:
        """The state of ``runs`` for reporters."""
        return Snapshot(
            phase=phase,
            batches_total=len(runs),
            batches_submitted=sum(r.accepted for r in runs),
            activities=tuple(r.progress() for r in runs),
            message=message,
        )

    def _stop_requested(self) -> bool:
        return bool(getattr(self.reporter, "stop_requested", False))

    # -- submission ------------------------------------------------------------------
    def submit(self, runs: Sequence[BatchRun], todo: Iterable[BatchRun] | None = None) -> None:
        """POST every batch in ``todo`` (default: those not yet accepted), in order.

        Stops at the first error that the client's retries could not overcome and
        re-raises it; the batches already accepted keep their activity ids.
        """
        assert self.client is not None, "a client is needed to submit"
        queue = [r for r in (runs if todo is None else todo) if r.needs_sending or r.failed]
        for run in queue:
            if self._stop_requested():
                self.stopped = True
                return
            self._submit_one(run)
            self.reporter.update(self.snapshot(runs, "submitting"))

    def _submit_one(self, run: BatchRun) -> None:
        assert self.client is not None
        self.journal.batch_sending(run)
        try:
            activity = self.client.remove_list_memberships(run.batch.to_json())
        except TransportError as exc:
            # The request may have reached the server: removal is idempotent, so it is
            # simply sent again on resume; the state says it is unknown meanwhile.
            run.state = UNCERTAIN if exc.sent else PENDING
            self.journal.batch_answered(run)
            raise
        except QuotaExceededError:
            self.journal.batch_answered(run)
            raise
        except APIError as exc:
            if exc.status >= 500 or exc.status == 429:
                run.state = UNCERTAIN if exc.status >= 500 else PENDING
            else:
                run.state = REJECTED
                run.errors = (str(exc),)
            self.journal.batch_answered(run)
            raise
        except KeyboardInterrupt:
            # Interrupted inside the HTTP call: it may have been sent.
            run.state = UNCERTAIN
            self.journal.batch_answered(run)
            raise
        now = self.now()
        if run.activity_id is not None:
            run.previous_activity_ids.append(run.activity_id)
        run.activity_id = str(activity["activity_id"])
        run.attempts += 1
        run.submitted_at = now
        run.finished_at = None
        run.state = ActivityState.INITIALIZED.value
        run.percent_done = run.items_completed = 0
        run.errors = ()
        run.apply(activity, now)
        self.journal.batch_answered(run)
        log.info("batch %d accepted as activity %s", run.batch.index, run.activity_id)

    # -- polling ---------------------------------------------------------------------
    def wait(self, runs: Sequence[BatchRun], timeout: float | None = None) -> bool:
        """Poll until every accepted activity is terminal; True when they all are.

        Returns False when ``timeout`` seconds pass or the user asks to stop; the
        activities keep running on the server either way.
        """
        deadline = None if timeout is None else self.clock() + timeout
        interval = self.poll_min
        while True:
            pending = [r for r in runs if r.accepted and not r.terminal]
            if not pending:
                return True
            if self._stop_requested():
                self.stopped = True
                return False
            changed = self.poll(pending)
            self.reporter.update(self.snapshot(runs, "polling"))
            if all(r.terminal for r in pending):
                return True
            interval = self.poll_min if changed else min(interval * self.poll_growth, self.poll_max)
            pause = interval
            if deadline is not None:
                left = deadline - self.clock()
                if left <= 0:
                    return False
                pause = min(pause, left)
            self._sleep_watching_stop(pause)

    def _sleep_watching_stop(self, seconds: float) -> None:
        # Sleep in short steps so a Stop button is honoured within a fraction of a second.
        # A reporter may bring its own sleep that keeps processing UI events (a widget
        # Stop button is a comm message the kernel only sees if something pumps it).
        sleep = getattr(self.reporter, "sleep", None) or self.sleep
        end = self.clock() + seconds
        while (left := end - self.clock()) > 0:
            if self._stop_requested():
                return
            sleep(min(left, 0.2))

    def poll(self, pending: Sequence[BatchRun]) -> bool:
        """One round of polling for ``pending``; True when any of them changed."""
        assert self.client is not None
        self.polls += 1
        by_id = {r.activity_id: r for r in pending if r.activity_id}
        seen: dict[str, dict[str, Any]] = {}
        # Ours are the newest activities (barring concurrent runs): this many pages of
        # 500 cover them; anything older is fetched one by one below.
        max_pages = math.ceil(len(by_id) / 500) + 1
        limit = 500
        for fetched, item in enumerate(self.client.iter_activities(limit=limit), start=1):
            aid = item.get("activity_id")
            if aid in by_id:
                seen[aid] = item
                if len(seen) == len(by_id):
                    break
            if fetched >= max_pages * limit:
                break
        now = self.now()
        changed_runs = []
        for aid, run in by_id.items():
            item = seen.get(aid)
            if item is None:
                try:
                    item = self.client.get_activity(aid)
                except NotFoundError:
                    run.state = UNKNOWN
                    run.errors = ("the API no longer reports this activity (kept 10 days)",)
                    run.finished_at = now
                    changed_runs.append(run)
                    continue
            if run.apply(item, now):
                changed_runs.append(run)
        if changed_runs:
            self.journal.states_changed(changed_runs)
        return bool(changed_runs)


def run_error(exc: BaseException, result: Any) -> BaseException:
    """Attach ``result`` to a CCError so the caller can resume from it."""
    if isinstance(exc, CCError):
        exc.result = result
    return exc
