"""One batch of a run and the states it goes through.

:class:`BatchState` is the one vocabulary for a batch's state: the API's activity states
(:class:`~ccpandas.models.ActivityState`) plus the four a client needs before or beyond
the API (``pending``, ``uncertain``, ``rejected``, ``unknown``). The runner, the journal
(SQL included), the result, the reporters and the widgets all name states through it.

Example:
    >>> BatchState.COMPLETED.terminal, BatchState.FAILED.bad, BatchState.PENDING.terminal
    (True, True, False)
    >>> BatchState.parse("processing")
    <BatchState.PROCESSING: 'processing'>
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ccpandas.models import Batch, activity_error_texts
from ccpandas.report.progress import ActivityProgress
from ccpandas.vocab import BatchState, Outcome

__all__ = ["BatchRun", "BatchState", "Outcome"]


@dataclass
class BatchRun:
    """One batch and what became of it. Mutated only by the runner."""

    batch: Batch
    state: BatchState = BatchState.PENDING
    activity_id: str | None = None
    percent_done: int = 0
    items_completed: int = 0
    items_total: int = 0
    errors: tuple[str, ...] = ()
    attempts: int = 0  # accepted submissions; more than one after retry_failed()
    submitted_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    previous_activity_ids: list[str] = field(default_factory=list)
    #: Sends after one whose outcome was unknown (no answer, a 5xx): each may have
    #: created an activity too. Harmless (removal is idempotent), but counted.
    resent: int = 0
    #: The outcome of the latest POST: accepted, rejected, not_sent or uncertain
    #: (``adopted`` only in journals of earlier versions).
    outcome: Outcome | None = None
    #: Why the latest POST did not succeed (None after an accepted one).
    last_error: str | None = None
    #: An activity the latest POST created that the batch does not follow: its 201 was
    #: cut short but still named it. Journaled with the attempt, so no batch takes it.
    unused_activity_id: str | None = None
    #: When the POST now on its way was sent (None between POSTs).
    sending_since: dt.datetime | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        # One vocabulary: a state read back from the journal or an API body is a string;
        # it becomes a BatchState here (an unknown word is a ValueError, not a new state).
        if name == "state" and not isinstance(value, BatchState):
            value = BatchState(value)
        elif name == "outcome" and value is not None and not isinstance(value, Outcome):
            value = Outcome(value)
        super().__setattr__(name, value)

    @property
    def accepted(self) -> bool:
        """The API answered 201: an activity exists for this batch."""
        return self.activity_id is not None

    @property
    def terminal(self) -> bool:
        """The activity reached an end state (or can no longer be followed)."""
        return self.state.terminal

    @property
    def needs_sending(self) -> bool:
        """Not accepted yet: never sent, or sent without a known outcome."""
        return self.state in (BatchState.PENDING, BatchState.UNCERTAIN)

    @property
    def failed(self) -> bool:
        """The activity ended failed, cancelled or timed out."""
        return self.state.bad

    @property
    def retryable(self) -> bool:
        """What ``result.retry_failed()`` sends again: an activity that ended failed,
        cancelled or timed out, or a request the API refused (4xx)."""
        return self.failed or self.state is BatchState.REJECTED

    @property
    def in_flight(self) -> bool:
        """Accepted and not finished: it counts against the queued-activities limit."""
        return self.activity_id is not None and not self.terminal

    def progress(self) -> ActivityProgress:
        """An immutable view for reporters. Until the API says how many items an
        activity has, its planned contacts stand in (one item per contact, as the API
        counts them), so a display's total is the planned one from the start and never
        grows during a run."""
        return ActivityProgress(
            batch=self.batch.index,
            activity_id=self.activity_id,
            state=self.state,
            percent_done=self.percent_done,
            items_completed=self.items_completed,
            items_total=self.items_total or self.batch.size,
            errors=self.errors,
        )

    def apply(self, activity: dict[str, Any], now: dt.datetime) -> bool:
        """Take the fields of an activity body; True when something changed."""
        status = activity.get("status") or {}
        before = (self.state, self.percent_done, self.items_completed, self.errors)
        self.state = BatchState.parse(activity.get("state"), default=self.state)
        self.percent_done = int(activity.get("percent_done") or 0)
        self.items_total = int(status.get("items_total_count") or self.items_total)
        self.items_completed = int(status.get("items_completed_count") or 0)
        self.errors = activity_error_texts(activity.get("activity_errors"))
        if self.terminal and self.finished_at is None:
            self.finished_at = now
        return before != (self.state, self.percent_done, self.items_completed, self.errors)
