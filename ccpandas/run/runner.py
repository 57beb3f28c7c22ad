"""Execute a plan: submit its batches, poll their activities, report progress.

The runner owns the mutable per-batch records (:class:`BatchRun`); the result object
(:mod:`ccpandas.run.result`) turns them into DataFrames. Everything runs in the caller's
thread, so reporters (tqdm, widgets) are only touched from there.

Polling uses ``GET /activities`` (up to 500 activities per call) and falls back to
``GET /activities/{id}`` only for an activity that the collection no longer shows. The
interval starts at ``poll_min`` seconds (1 s) after the last submission and grows by
``poll_growth`` up to ``poll_max`` (15 s) while activities stay busy, progressing or
not; it starts over only when new activities were submitted. So a long activity costs
a handful of polls, not one a second.

Limits the runner respects on its own:

- at most ``max_queued`` (1,000) of its activities unfinished at once: submission pauses
  and polls until some finish; a ``429`` saying the account has too many queued
  activities (another run's, say) pauses it the same way;
- the daily quota: ``429 quota_exceeded`` stops the run (it can be resumed after
  00:00 UTC), or with ``wait_for_quota=True`` sleeps until then, plus some jitter so
  several waiting runs do not all start in the same second.

Every clock, sleep and random draw is injectable, so tests drive hours in milliseconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from ccpandas.errors import (
    APIError,
    CCError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    TooManyActivitiesError,
    TransportError,
    next_utc_midnight,
)
from ccpandas.models import ActivityState
from ccpandas.run.batch import (
    ACCEPTED,
    NOT_SENT,
    REJECTED,
    UNCERTAIN,
    UNKNOWN,
    BatchRun,
    Outcome,
)
from ccpandas.run.progress import NullReporter, Reporter, Snapshot

__all__ = ["BatchRun", "Journal", "NullJournal", "Runner"]

log = logging.getLogger("ccpandas")

#: The API's documented limit of unfinished activities per account.
MAX_QUEUED_ACTIVITIES = 1_000


class Journal(Protocol):
    """Where a run records what it does, so a dead kernel can resume
    (:class:`ccpandas.run.journal.RunJournal`).

    Each call must be durable before it returns: the runner sends nothing until then.
    """

    def batch_sending(self, run: BatchRun) -> None:
        """About to POST this batch."""

    def batch_answered(self, run: BatchRun) -> None:
        """The POST was answered (accepted, rejected) or its outcome is unknown
        (``run.outcome`` says which)."""

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        """A poll changed these activities' states."""

    def attach(self, runs: Sequence[BatchRun]) -> contextlib.AbstractContextManager[None]:
        """Held while this process drives the run; brings ``runs`` up to date first."""
        ...

    def run_stopped(self, reason: str | None) -> None:
        """The driving call returned; ``reason`` None when it ended normally."""


class NullJournal:
    """Records nothing."""

    run_id: str | None = None

    def batch_sending(self, run: BatchRun) -> None:
        pass

    def batch_answered(self, run: BatchRun) -> None:
        pass

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        pass

    @contextlib.contextmanager
    def attach(self, runs: Sequence[BatchRun]) -> Iterator[None]:
        yield

    def run_stopped(self, reason: str | None) -> None:
        pass


class _ActivityClient(Protocol):
    def remove_list_memberships(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def get_activity(self, activity_id: str) -> dict[str, Any]: ...
    def iter_activities(self, *, state: str | None = None, limit: int = 500) -> Any: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def outcome_of(exc: BaseException) -> Outcome:
    """What a failed POST means for its batch: ``not_sent``, ``uncertain`` or
    ``rejected``.

    Example:
        >>> str(outcome_of(TransportError("dropped", sent=True)))
        'uncertain'
        >>> str(outcome_of(APIError(404, "not_found")))
        'rejected'
    """
    if isinstance(exc, TransportError):
        return Outcome.UNCERTAIN if exc.sent else Outcome.NOT_SENT
    if isinstance(exc, APIError):
        if exc.status >= 500:
            return Outcome.UNCERTAIN  # the server may have acted before it failed
        if isinstance(exc, RateLimitError) or exc.status in (401, 403):
            return Outcome.NOT_SENT  # refused before anything happened: send it again later
        return Outcome.REJECTED
    if isinstance(exc, CCError):
        return Outcome.NOT_SENT  # e.g. no token: raised before the request went out
    return Outcome.UNCERTAIN  # interrupted (or a bug) inside the HTTP call: it may have gone out


def _short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Runner:
    """Submits and polls the batches of one result.

    Args:
        client: the API client (None: the default client, found when first needed).
        reporter, journal: who watches (progress) and who records (the run journal).
        poll_min, poll_max, poll_growth: polling interval, growing from ``poll_min`` by
            ``poll_growth`` up to ``poll_max`` while activities stay busy.
        clock, sleep, now, jitter: injectable time (monotonic seconds, sleeping, UTC
            datetimes) and randomness, so tests drive hours of waiting in milliseconds.
        wait_for_quota: on ``429 quota_exceeded``, sleep until 00:00 UTC plus up to
            ``quota_jitter`` seconds and continue, instead of stopping.
        max_queued: unfinished activities of this run allowed at once (the API allows
            1,000 per account).
        queue_patience: seconds to keep retrying while the API answers that the
            account has too many queued activities.

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
        jitter: Callable[[], float] = random.random,
        wait_for_quota: bool = False,
        quota_jitter: float = 300.0,
        max_queued: int = MAX_QUEUED_ACTIVITIES,
        queue_patience: float = 3600.0,
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
        self.jitter = jitter
        #: On 429 quota_exceeded: sleep until 00:00 UTC plus up to ``quota_jitter``
        #: seconds, then continue (True), or stop so the run can be resumed (False).
        self.wait_for_quota = wait_for_quota
        self.quota_jitter = quota_jitter
        #: Unfinished activities of this run allowed at once (the API allows 1,000
        #: per account).
        self.max_queued = max_queued
        #: Seconds to keep retrying while the API says too many activities are queued.
        self.queue_patience = queue_patience
        self.stopped = False
        self.polls = 0
        self.quota_waits = 0

    # -- reporting -------------------------------------------------------------------
    def snapshot(
        self,
        runs: Sequence[BatchRun],
        phase: str,
        message: str = "",
        wait_seconds: float = 0.0,
    ) -> Snapshot:
        """The state of ``runs`` for reporters."""
        return Snapshot(
            phase=phase,
            batches_total=len(runs),
            batches_submitted=sum(r.accepted for r in runs),
            activities=tuple(r.progress() for r in runs),
            message=message,
            wait_seconds=wait_seconds,
        )

    def _stop_requested(self) -> bool:
        return bool(getattr(self.reporter, "stop_requested", False))

    def _client(self) -> _ActivityClient:
        # The public face (removal, history) resolves client=None before building a runner.
        if self.client is None:
            raise TypeError("Runner needs a client: pass client= (a ccpandas.Client)")
        return self.client

    # -- submission ------------------------------------------------------------------
    def submit(self, runs: Sequence[BatchRun], todo: Iterable[BatchRun] | None = None) -> None:
        """POST every batch in ``todo``, in order.

        By default (``todo=None``, what ``resume`` does) only the batches with no
        accepted activity and no refusal: never sent, or sent without a known outcome.
        A batch whose activity ended badly, or that the API refused with a 4xx, is
        sent only when named in ``todo`` (``result.retry_failed()``): sending it again
        is a choice, not a continuation.

        Pauses while ``max_queued`` of the run's activities are unfinished. Stops at
        the first error that the client's retries (and the waits above) could not
        overcome and re-raises it; the batches already accepted keep their activity ids.
        """
        self._client()
        if todo is None:
            queue = [r for r in runs if r.needs_sending]
        else:
            queue = [r for r in todo if r.needs_sending or r.retryable]
        for run in queue:
            if self._stop_requested():
                self.stopped = True
                return
            if not self._room_in_queue(runs):
                return
            if not self._send(runs, run):
                return
            self.reporter.update(self.snapshot(runs, "submitting"))

    def _send(self, runs: Sequence[BatchRun], run: BatchRun) -> bool:
        """Send one batch, waiting out a full queue or (if asked) the daily quota.
        False when the user stopped the run meanwhile."""
        refused_since: float | None = None
        interval = self.poll_min
        while True:
            try:
                self._submit_one(run)
                return True
            except QuotaExceededError:
                if not self.wait_for_quota:
                    raise
                if not self._wait_for_quota(runs):
                    return False
            except TooManyActivitiesError:
                # The account (maybe through another run) has too many queued activities:
                # follow ours while some finish, then try again.
                if refused_since is None:
                    refused_since = self.clock()
                elif self.clock() - refused_since > self.queue_patience:
                    raise
                message = "the account has too many queued activities: waiting for some to end"
                if not self._pause(runs, interval, message):
                    return False
                interval = min(interval * self.poll_growth, self.poll_max)

    def _room_in_queue(self, runs: Sequence[BatchRun]) -> bool:
        """Wait until fewer than ``max_queued`` of our activities are unfinished."""
        interval = self.poll_min
        while (busy := sum(r.in_flight for r in runs)) >= self.max_queued:
            message = (
                f"{busy:,} activities queued (at most {self.max_queued:,}): "
                "waiting for some to end before sending more"
            )
            if not self._pause(runs, interval, message):
                return False
            interval = min(interval * self.poll_growth, self.poll_max)
        return True

    def _pause(self, runs: Sequence[BatchRun], seconds: float, message: str) -> bool:
        """Sleep ``seconds``, then poll the unfinished activities. False if stopped."""
        self.reporter.update(self.snapshot(runs, "waiting", message, wait_seconds=seconds))
        self._sleep_watching_stop(seconds)
        if self._stop_requested():
            self.stopped = True
            return False
        pending = [r for r in runs if r.in_flight]
        if pending:
            self._poll_waiting_for_quota(runs, pending)
            self.reporter.update(self.snapshot(runs, "submitting"))
        return not self.stopped

    def _submit_one(self, run: BatchRun) -> None:
        client = self._client()
        stats = getattr(client, "stats", None)
        resent_before = getattr(stats, "resent_posts", 0)
        if run.state == UNCERTAIN:
            run.resent += 1  # the previous attempt may have created an activity
        self.journal.batch_sending(run)
        log.debug("sending batch %d", run.batch.index)
        try:
            activity = client.remove_list_memberships(run.batch.to_json())
        except BaseException as exc:
            run.resent += max(0, getattr(stats, "resent_posts", 0) - resent_before)
            self._record_failure(run, exc)
            self.journal.batch_answered(run)
            raise
        # The client re-sends a POST that got no answer (removal is idempotent): each
        # re-send may have left an activity behind, so it is counted.
        run.resent += max(0, getattr(stats, "resent_posts", 0) - resent_before)
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
        run.outcome = ACCEPTED
        run.last_error = None
        run.apply(activity, now)
        self.journal.batch_answered(run)
        log.info("batch %d accepted as activity %s", run.batch.index, run.activity_id)

    @staticmethod
    def _record_failure(run: BatchRun, exc: BaseException) -> None:
        outcome = outcome_of(exc)
        run.outcome = outcome
        run.last_error = _short_error(exc)
        if outcome == NOT_SENT:
            return  # nothing happened: the batch keeps its state (pending, failed ...)
        if run.activity_id is not None:  # a re-send of a failed batch: its old activity
            run.previous_activity_ids.append(run.activity_id)
            run.activity_id = None
        run.percent_done = run.items_completed = 0
        run.finished_at = None
        if outcome == REJECTED:
            run.state = REJECTED
            run.errors = (run.last_error,)
        else:
            run.state = UNCERTAIN
            run.errors = ()

    # -- the daily quota ---------------------------------------------------------------
    def _wait_for_quota(self, runs: Sequence[BatchRun]) -> bool:
        """Sleep until the daily quota resets (00:00 UTC plus jitter); False if the
        user stopped the run meanwhile."""
        now = self.now()
        reset = next_utc_midnight(now)
        since_reset = now - (reset - dt.timedelta(days=1))
        if self.quota_waits and since_reset < dt.timedelta(hours=1):
            # Just after midnight and still refused: the server's clock lags ours a
            # little. Back off briefly instead of waiting a whole day.
            until = now + dt.timedelta(seconds=min(60.0 * 2 ** min(self.quota_waits, 5), 1800))
        else:
            until = reset + dt.timedelta(seconds=self.jitter() * self.quota_jitter)
        self.quota_waits += 1
        log.warning("daily quota spent: waiting until %s", f"{until:%Y-%m-%d %H:%M:%S} UTC")
        message = f"daily quota spent: continuing at {until:%Y-%m-%d %H:%M:%S} UTC"
        sleep = getattr(self.reporter, "sleep", None) or self.sleep
        while (left := (until - self.now()).total_seconds()) > 0:
            if self._stop_requested():
                self.stopped = True
                return False
            self.reporter.update(self.snapshot(runs, "waiting", message, wait_seconds=left))
            sleep(min(left, 1.0))
        return True

    def _poll_waiting_for_quota(
        self, runs: Sequence[BatchRun], pending: Sequence[BatchRun]
    ) -> bool:
        while True:
            try:
                return self.poll(pending)
            except QuotaExceededError:
                if not self.wait_for_quota:
                    raise
                if not self._wait_for_quota(runs):
                    return False

    # -- polling ---------------------------------------------------------------------
    def wait(self, runs: Sequence[BatchRun], timeout: float | None = None) -> bool:
        """Poll until every accepted activity is terminal; True when they all are.

        Returns False when ``timeout`` seconds pass or the user asks to stop; the
        activities keep running on the server either way.
        """
        deadline = None if timeout is None else self.clock() + timeout
        interval = self.poll_min
        followed: set[str | None] = set()
        while True:
            pending = [r for r in runs if r.in_flight]
            if not pending:
                return True
            if self._stop_requested():
                self.stopped = True
                return False
            self._client()
            ids = {r.activity_id for r in pending}
            if not ids <= followed:
                # New activities were submitted: they may end within a second or two.
                # Progress of the known ones does not reset the interval: a busy
                # activity that creeps forward would otherwise be polled every second.
                interval = self.poll_min
                followed |= ids
            self._poll_waiting_for_quota(runs, pending)
            if self.stopped:
                return False
            self.reporter.update(self.snapshot(runs, "polling"))
            if all(r.terminal for r in pending):
                return True
            pause = interval
            interval = min(interval * self.poll_growth, self.poll_max)
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
        client = self._client()
        self.polls += 1
        log.debug("poll %d: %d activities unfinished", self.polls, len(pending))
        by_id = {r.activity_id: r for r in pending if r.activity_id}
        seen: dict[str, dict[str, Any]] = {}
        # Ours are the newest activities (barring concurrent runs): this many pages of
        # 500 cover them; anything older is fetched one by one below.
        max_pages = math.ceil(len(by_id) / 500) + 1
        limit = 500
        for fetched, item in enumerate(client.iter_activities(limit=limit), start=1):
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
                    item = client.get_activity(aid)
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
