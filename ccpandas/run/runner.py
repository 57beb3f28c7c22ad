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

Before sending again a batch whose earlier POST got no answer (``uncertain``: a dead
process, a dropped connection), the runner asks the server whether that POST created an
activity after all (:meth:`Runner.reconcile`): one that matches the batch, created in
the attempt's time window and claimed by no journaled batch, is adopted instead of
sending the batch again. See the Reliability guide for what this can tell apart.

The clock (wall time, monotonic time, sleeping) and the random draws are injectable, so
tests drive hours in milliseconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

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
from ccpandas.models import MAX_CLOCK_SKEW_SECONDS, Batch, MembershipAction, SourceKind
from ccpandas.report.progress import NullReporter, Reporter, Snapshot
from ccpandas.run.clock import Clock, SystemClock
from ccpandas.store.batch import BatchRun, BatchState, Outcome

__all__ = ["BatchRun", "Journal", "NullJournal", "Runner"]

log = logging.getLogger("ccpandas")

#: The API's documented limit of unfinished activities per account.
MAX_QUEUED_ACTIVITIES = 1_000


@runtime_checkable
class Journal(Protocol):
    """Where a run records what it does, so a dead kernel can resume
    (:class:`ccpandas.store.journal.RunJournal`).

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

    def run_outcome(self, outcome: str) -> None:
        """The run's summary word (:class:`ccpandas.vocab.RunOutcome`) as the driving
        call left it, for ``ccpandas.runs()``."""

    def batch_reconciled(self, run: BatchRun) -> None:
        """Reconciliation settled ``run``'s unanswered attempts: its activity was found
        (``run.outcome`` adopted) or none exists (not_sent)."""

    def claimed_activity_ids(self) -> set[str]:
        """Every activity id any journaled batch holds (of any run): never adopted."""
        ...

    def unanswered_attempts(self) -> list[tuple[str, int, dt.datetime]]:
        """``(run_id, batch, sent_at)`` of every attempt, of any run, that never got an
        answer (uncertain, or left sending): each may have created an activity."""
        ...

    def settle(self, runs: Sequence[BatchRun]) -> None:
        """After an interruption: record what ``runs`` say, attempts left ``sending``
        included, so the journal agrees with what a resume will do."""


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

    def run_outcome(self, outcome: str) -> None:
        pass

    def batch_reconciled(self, run: BatchRun) -> None:
        pass

    def claimed_activity_ids(self) -> set[str]:
        return set()

    def unanswered_attempts(self) -> list[tuple[str, int, dt.datetime]]:
        return []

    def settle(self, runs: Sequence[BatchRun]) -> None:
        pass


class _ActivityClient(Protocol):
    def remove_list_memberships(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def add_list_memberships(self, body: dict[str, Any]) -> dict[str, Any]: ...
    def get_activity(self, activity_id: str) -> dict[str, Any]: ...
    def iter_activities(self, *, state: str | None = None, limit: int = 500) -> Any: ...


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
    if isinstance(exc, KeyboardInterrupt) and getattr(exc, "sent", True) is False:
        return Outcome.NOT_SENT  # Ctrl-C while it waited for its rate-limit slot
    return Outcome.UNCERTAIN  # interrupted (or a bug) inside the HTTP call: it may have gone out


def _activities_since(client: Any, oldest: dt.datetime) -> list[tuple[dt.datetime, Any]]:
    """The activities created since ``oldest``, with their creation times (one
    ``GET /activities`` listing, newest first, paged back to ``oldest``)."""
    seen: list[tuple[dt.datetime, Any]] = []
    for item in client.iter_activities(limit=500):
        created = _parse_time(item.get("created_at"))
        if created is None:
            continue
        if created < oldest:
            break  # newest first: the rest is older than every window
        seen.append((created, item))
    return seen


def _short_error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class Runner:
    """Submits and polls the batches of one result.

    Everything is given at construction; :meth:`replace` makes a runner with some
    settings changed (what ``run_plan`` and ``resume`` do with a runner passed as a
    template). Only the run's own counters (``stopped``, ``polls``, ``quota_waits``)
    change while it runs.

    Args:
        client: the API client (:class:`ccpandas.Client`; the public functions resolve
            the default one before building a runner). None only for a runner that
            never sends (a dry run, a template).
        reporter, journal: who watches (progress) and who records (the run journal).
        clock: wall time, monotonic time and sleeping (:class:`~ccpandas.run.clock.Clock`,
            default the system's), so tests drive hours of waiting in milliseconds.
        poll_min, poll_max, poll_growth: polling interval, growing from ``poll_min`` by
            ``poll_growth`` up to ``poll_max`` while activities stay busy.
        jitter: random draws in [0, 1) spreading the quota waits.
        wait_for_quota: on ``429 quota_exceeded``, sleep until 00:00 UTC plus up to
            ``quota_jitter`` seconds and continue, instead of stopping.
        max_queued: unfinished activities of this run allowed at once (the API allows
            1,000 per account).
        queue_patience: seconds to keep retrying while the API answers that the
            account has too many queued activities.
        reconcile_margin, reconcile_horizon: the window, around an unanswered POST's
            send time, in which :meth:`reconcile` looks for the activity it may have
            created: from ``reconcile_margin`` seconds before (clock skew) to
            ``reconcile_horizon`` seconds after (the client's retries).
        submit_poll_every: seconds between polls while a long submission goes on (so
            the "processed" progress moves before the last POST); a submission shorter
            than this polls not at all before :meth:`wait`.

    Example:
        >>> Runner(client=None).poll_min
        1.0
        >>> Runner(client=None).replace(poll_min=0.5).poll_min
        0.5
    """

    _SETTINGS = (
        "client",
        "reporter",
        "journal",
        "clock",
        "poll_min",
        "poll_max",
        "poll_growth",
        "jitter",
        "wait_for_quota",
        "quota_jitter",
        "max_queued",
        "queue_patience",
        "reconcile_margin",
        "reconcile_horizon",
        "submit_poll_every",
    )

    def __init__(
        self,
        client: _ActivityClient | None,
        *,
        reporter: Reporter | None = None,
        journal: Journal | None = None,
        clock: Clock | None = None,
        poll_min: float = 1.0,
        poll_max: float = 15.0,
        poll_growth: float = 1.6,
        jitter: Callable[[], float] = random.random,
        wait_for_quota: bool = False,
        quota_jitter: float = 300.0,
        max_queued: int = MAX_QUEUED_ACTIVITIES,
        queue_patience: float = 3600.0,
        reconcile_margin: float = MAX_CLOCK_SKEW_SECONDS,
        reconcile_horizon: float = 900.0,
        submit_poll_every: float = 5.0,
    ) -> None:
        if clock is not None and not isinstance(clock, Clock):
            raise TypeError(
                "clock must have now(), monotonic() and sleep() (a ccpandas.run.clock."
                f"Clock), not {type(clock).__name__}"
            )
        self.client = client
        self.reporter: Reporter = reporter or NullReporter()
        self.journal: Journal = journal or NullJournal()
        self.clock: Clock = clock or SystemClock()
        self.poll_min = poll_min
        self.poll_max = poll_max
        self.poll_growth = poll_growth
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
        self.reconcile_margin = reconcile_margin
        self.reconcile_horizon = reconcile_horizon
        #: During a long submission, poll the accepted activities every this many
        #: seconds, so progress shows before the last POST (one GET /activities per
        #: 20 POSTs at 4 req/s; the plan's expected_polls counts one per 10 s).
        self.submit_poll_every = submit_poll_every
        self.stopped = False
        self.polls = 0
        self.quota_waits = 0
        #: Unanswered batches found on the server by :meth:`reconcile` (not sent again).
        self.adopted = 0

    def replace(self, **changes: Any) -> Runner:
        """A new runner with these settings changed (the counters carried over).

        Example:
            >>> Runner(None).replace(wait_for_quota=True).wait_for_quota
            True
        """
        unknown = sorted(set(changes) - set(self._SETTINGS))
        if unknown:
            raise TypeError(f"Runner has no setting {', '.join(unknown)}")
        settings = {name: getattr(self, name) for name in self._SETTINGS}
        client = settings.pop("client")
        settings.update(changes)
        new = Runner(settings.pop("client", client), **settings)
        new.polls, new.quota_waits, new.adopted = self.polls, self.quota_waits, self.adopted
        return new

    # -- reporting -------------------------------------------------------------------
    def snapshot(
        self,
        runs: Sequence[BatchRun],
        phase: str,
        message: str = "",
        wait_seconds: float = 0.0,
    ) -> Snapshot:
        """The state of ``runs`` for reporters; ``extra["run_id"]`` names a journaled
        run (a display's hints name it: ``ccpandas.resume(run_id)``)."""
        run_id = getattr(self.journal, "run_id", None)
        return Snapshot(
            phase=phase,
            batches_total=len(runs),
            batches_submitted=sum(r.accepted for r in runs),
            activities=tuple(r.progress() for r in runs),
            message=message,
            wait_seconds=wait_seconds,
            extra={"run_id": run_id} if isinstance(run_id, str) else {},
        )

    def _stop_requested(self) -> bool:
        return bool(self.reporter.stop_requested)

    def _sleep(self, seconds: float) -> None:
        # A reporter may bring its own sleep that keeps processing UI events (a widget
        # Stop button is a comm message the kernel only sees if something pumps it).
        (self.reporter.sleep or self.clock.sleep)(seconds)

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
        unanswered = [r for r in queue if r.state is BatchState.UNCERTAIN]
        if unanswered:
            adopted = set(map(id, self.reconcile(runs, unanswered)))
            queue = [r for r in queue if id(r) not in adopted]
        last_poll = self.clock.monotonic()
        for n, run in enumerate(queue, start=1):
            if self._stop_requested():
                self.stopped = True
                return
            if not self._room_in_queue(runs):
                return
            if not self._send(runs, run):
                return
            more = n < len(queue)  # after the last POST, wait() polls at once anyway
            if more and self.clock.monotonic() - last_poll >= self.submit_poll_every:
                # A long submission: follow what is accepted so far, in the same
                # rate-limited client (one GET /activities reports up to 500).
                last_poll = self.clock.monotonic()
                pending = [r for r in runs if r.in_flight]
                if pending:
                    self._poll_waiting_for_quota(runs, pending)
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
                    refused_since = self.clock.monotonic()
                elif self.clock.monotonic() - refused_since > self.queue_patience:
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
        if run.state is BatchState.UNCERTAIN:
            run.resent += 1  # the previous attempt may have created an activity
        before = run.outcome
        # SENDING until the answer is recorded: an interruption in between leaves the
        # batch uncertain (settle_interrupted), as a dead process's would be on resume.
        run.outcome, run.sending_since = Outcome.SENDING, self.clock.now()
        try:
            self.journal.batch_sending(run)
        except Exception:
            run.outcome, run.sending_since = before, None  # nothing was sent
            raise
        log.debug("sending batch %d", run.batch.index)
        try:
            # The batch says which endpoint: a removal, or an undo's add (same body).
            if run.batch.action is MembershipAction.ADD:
                activity = client.add_list_memberships(run.batch.to_json())
            else:
                activity = client.remove_list_memberships(run.batch.to_json())
        except BaseException as exc:
            run.resent += max(0, getattr(stats, "resent_posts", 0) - resent_before)
            self._record_failure(run, exc)
            self.journal.batch_answered(run)
            raise
        run.sending_since = None
        # The client re-sends a POST that got no answer (removal is idempotent): each
        # re-send may have left an activity behind, so it is counted.
        run.resent += max(0, getattr(stats, "resent_posts", 0) - resent_before)
        _take_activity(run, activity, Outcome.ACCEPTED, self.clock.now())
        self.journal.batch_answered(run)
        log.info("batch %d accepted as activity %s", run.batch.index, run.activity_id)

    @staticmethod
    def _record_failure(run: BatchRun, exc: BaseException) -> None:
        outcome = outcome_of(exc)
        sent_at, run.sending_since = run.sending_since, None
        run.outcome = outcome
        run.last_error = _short_error(exc)
        if outcome is Outcome.NOT_SENT:
            return  # nothing happened: the batch keeps its state (pending, failed ...)
        if run.activity_id is not None:  # a re-send of a failed batch: its old activity
            run.previous_activity_ids.append(run.activity_id)
            run.activity_id = None
        run.percent_done = run.items_completed = 0
        run.finished_at = None
        if outcome is Outcome.REJECTED:
            run.state = BatchState.REJECTED
            run.errors = (run.last_error,)
            run.unanswered_since = None
        else:
            run.state = BatchState.UNCERTAIN
            run.errors = ()
            run.unanswered_since = run.unanswered_since or sent_at

    def settle_interrupted(self, runs: Sequence[BatchRun]) -> list[BatchRun]:
        """After an interruption (Ctrl-C): a batch whose POST was on its way when it
        came (its outcome still ``sending``) becomes ``uncertain``, as a dead process's
        would on resume. Returns those batches; the journal records them next."""
        caught = [r for r in runs if r.outcome is Outcome.SENDING]
        for run in caught:
            self._record_failure(run, KeyboardInterrupt())
            run.last_error = "interrupted while the request was out"
        return caught

    # -- reconciliation ----------------------------------------------------------------
    def reconcile(self, runs: Sequence[BatchRun], unanswered: Sequence[BatchRun]) -> list[BatchRun]:
        """Look on the server for the activities the unanswered POSTs of ``unanswered``
        may have created, and adopt them; returns the batches adopted (not to be sent).

        One ``GET /activities`` listing (newest first, paged back to the oldest window)
        is read. For each batch, latest first, a *candidate* is an activity:

        - created from ``reconcile_margin`` seconds before the first unanswered send
          of the batch to ``reconcile_horizon`` seconds after it;
        - whose ``status`` matches the batch: ``list_count`` its number of target lists
          and, for a contact-ids source, ``items_total_count`` its number of contacts;
        - claimed by no batch (this run's, or any run's in the journal).

        Exactly one candidate, that no other unanswered request on record could have
        made: adopted (the batch follows that activity, the attempt is recorded
        ``adopted``). None: the request never took effect (recorded ``not_sent``) and
        the batch is sent. Several, or one another request may have made: ambiguous,
        so the batch stays uncertain and is sent again (removal is idempotent: a
        second activity costs one request; adopting the wrong one could report contacts
        removed that were not), with a warning naming them.
        """
        client = self._client()
        todo = [r for r in unanswered if r.unanswered_since is not None]
        for run in unanswered:
            if run.unanswered_since is None:
                log.info("batch %d: no send time on record, sending it again", run.batch.index)
        if not todo:
            return []
        todo.sort(key=lambda r: r.unanswered_since or _EPOCH, reverse=True)
        margin = dt.timedelta(seconds=self.reconcile_margin)
        horizon = dt.timedelta(seconds=self.reconcile_horizon)
        oldest = min(r.unanswered_since or _EPOCH for r in todo) - margin
        claimed = set(self.journal.claimed_activity_ids())
        for r in runs:
            claimed.update(a for a in (r.activity_id, *r.previous_activity_ids) if a)
        by_index = {r.batch.index: r for r in runs}
        rivals = self._rivals(by_index, todo)
        seen = _activities_since(client, oldest)
        now = self.clock.now()
        adopted = []

        def contested(run: BatchRun, created: dt.datetime) -> bool:
            return any(
                (index is None or (index != run.batch.index and _same_shape(by_index[index], run)))
                and sent - margin <= created <= sent + horizon
                for index, sent in rivals
            )

        for run in todo:
            since = run.unanswered_since or _EPOCH
            found = [
                (created, item)
                for created, item in seen
                if since - margin <= created <= since + horizon
                and str(item.get("activity_id")) not in claimed
                and _matches(run.batch, item)
            ]
            if len(found) == 1 and contested(run, found[0][0]):
                log.warning(
                    "batch %d: activity %s matches its unanswered request, but another "
                    "unanswered request on record (another run's, or another batch's) may "
                    "have created it: sending the batch again (removal is idempotent)",
                    run.batch.index,
                    found[0][1].get("activity_id"),
                )
            elif self._settle(run, found, now):
                claimed.add(str(run.activity_id))
                adopted.append(run)
        return adopted

    def _rivals(
        self, by_index: Mapping[int, BatchRun], todo: Sequence[BatchRun]
    ) -> list[tuple[int | None, dt.datetime]]:
        """Every other unanswered request on record, as ``(batch index or None, sent)``:
        each may have created an activity too. Another run's (None: any shape, unknown
        here), or another batch of this run; and this process's own unanswered sends
        (without a journal they are not on record). An activity one of them could have
        made is not adopted."""
        run_id = getattr(self.journal, "run_id", None)
        rivals: list[tuple[int | None, dt.datetime]] = []
        for rid, index, sent in self.journal.unanswered_attempts():
            if rid != run_id:
                rivals.append((None, sent))
            elif index in by_index:
                rivals.append((index, sent))
        for r in todo:
            rivals.append((r.batch.index, r.unanswered_since or _EPOCH))
        return rivals

    def _settle(
        self, run: BatchRun, found: Sequence[tuple[dt.datetime, Any]], now: dt.datetime
    ) -> bool:
        """Adopt the one activity ``found`` for ``run`` (True), or leave the batch to
        be sent: several found (ambiguous), or none (the request never took effect)."""
        if len(found) == 1:
            created, item = found[0]
            _take_activity(run, item, Outcome.ADOPTED, now, submitted_at=created)
            self.journal.batch_reconciled(run)
            self.adopted += 1
            log.info(
                "batch %d: its unanswered request did create activity %s (created %s): "
                "adopted, not sent again",
                run.batch.index,
                run.activity_id,
                f"{created:%H:%M:%S}",
            )
            return True
        if found:
            log.warning(
                "batch %d: %d activities on the server match its unanswered request "
                "(%s): it cannot tell which, if any, is its own, so it sends the batch "
                "again (removal is idempotent)",
                run.batch.index,
                len(found),
                ", ".join(str(i.get("activity_id")) for _, i in found[:5]),
            )
            return False
        # Nothing on the server: that request never took effect. The batch is plain
        # unsent now (it is sent as a first send, not counted as resent).
        run.state = BatchState.PENDING
        run.outcome = Outcome.NOT_SENT
        run.unanswered_since = None
        run.last_error = _NOT_FOUND
        self.journal.batch_reconciled(run)
        log.info(
            "batch %d: no activity on the server matches its unanswered request: "
            "it never took effect, sending it",
            run.batch.index,
        )
        return False

    # -- the daily quota ---------------------------------------------------------------
    def _wait_for_quota(self, runs: Sequence[BatchRun]) -> bool:
        """Sleep until the daily quota resets (00:00 UTC plus jitter); False if the
        user stopped the run meanwhile."""
        now = self.clock.now()
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
        while (left := (until - self.clock.now()).total_seconds()) > 0:
            if self._stop_requested():
                self.stopped = True
                return False
            self.reporter.update(self.snapshot(runs, "waiting", message, wait_seconds=left))
            self._sleep(min(left, 1.0))
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
        deadline = None if timeout is None else self.clock.monotonic() + timeout
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
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    return False
                pause = min(pause, left)
            self._sleep_watching_stop(pause)

    def _sleep_watching_stop(self, seconds: float) -> None:
        # Sleep in short steps so a Stop button is honoured within a fraction of a second.
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            if self._stop_requested():
                return
            self._sleep(min(left, 0.2))

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
        now = self.clock.now()
        changed_runs = []
        for aid, run in by_id.items():
            item = seen.get(aid)
            if item is None:
                try:
                    item = client.get_activity(aid)
                except NotFoundError:
                    run.state = BatchState.UNKNOWN
                    run.errors = ("the API no longer reports this activity (kept 10 days)",)
                    run.finished_at = now
                    changed_runs.append(run)
                    continue
            if run.apply(item, now):
                changed_runs.append(run)
        if changed_runs:
            self.journal.states_changed(changed_runs)
        return bool(changed_runs)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NOT_FOUND = "no answer; no matching activity on the server (reconciled): it never took effect"


def _take_activity(
    run: BatchRun,
    activity: dict[str, Any],
    outcome: Outcome,
    now: dt.datetime,
    *,
    submitted_at: dt.datetime | None = None,
) -> None:
    """``run`` follows ``activity`` from now on (accepted by a 201, or adopted)."""
    if run.activity_id is not None:
        run.previous_activity_ids.append(run.activity_id)
    run.activity_id = str(activity["activity_id"])
    run.attempts += 1
    run.submitted_at = submitted_at or now
    run.finished_at = None
    run.state = BatchState.INITIALIZED
    run.percent_done = run.items_completed = 0
    run.errors = ()
    run.outcome = outcome
    run.last_error = None
    run.unanswered_since = None
    run.sending_since = None
    run.apply(activity, now)


def _matches(batch: Batch, activity: dict[str, Any]) -> bool:
    """``activity``'s status counts are those ``batch``'s request would give."""
    status = activity.get("status") or {}
    if _int(status.get("list_count")) != len(batch.list_ids):
        return False
    total = status.get("items_total_count")
    if batch.source.kind is SourceKind.CONTACT_IDS and total is not None:
        return _int(total) == batch.size
    # The API picks the contacts (their number cannot be foreseen), or a fresh activity
    # shows only list_count (the service's initialized activities may).
    return True


def _same_shape(a: BatchRun, b: BatchRun) -> bool:
    """Requests whose activities :func:`_matches` cannot tell apart."""
    if len(a.batch.list_ids) != len(b.batch.list_ids):
        return False
    contacts = SourceKind.CONTACT_IDS
    if a.batch.source.kind is contacts and b.batch.source.kind is contacts:
        return a.batch.size == b.batch.size
    return True


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _parse_time(value: Any) -> dt.datetime | None:
    """An API timestamp (ISO-8601, ``Z`` or offset) as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def run_error(exc: BaseException, result: Any) -> BaseException:
    """Attach ``result`` to a CCError so the caller can resume from it."""
    if isinstance(exc, CCError):
        exc.result = result
    return exc
