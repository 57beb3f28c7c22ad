"""Execute a plan: submit its batches, poll their activities, report progress.

The runner owns the mutable per-batch records (:class:`BatchRun`); the result object
(:mod:`ccpandas.run.result`) turns them into DataFrames. Everything runs in the caller's
thread, so reporters (tqdm, widgets) are only touched from there.

Polling uses ``GET /activities`` (up to 500 activities per call) and falls back to
``GET /activities/{id}`` only for an activity that the collection no longer shows. The
interval starts at ``poll_min`` seconds (1 s) after the last submission and grows by
``poll_growth`` up to ``poll_max`` (15 s) while activities stay busy and progress; it
starts over only when new activities were submitted. So a long activity costs a handful
of polls, not one a second. While a poll sees no change at all (an activity stuck in
``processing``), the interval doubles on, up to ``poll_idle_max`` (5 min); after
``activity_timeout`` seconds (2 h) without any change the runner stops following, and
the run is left stopped and resumable (the activities keep running on the server).

Limits the runner respects on its own:

- at most ``max_queued`` (1,000) of its activities unfinished at once: submission pauses
  and polls until some finish; a ``429`` saying the account has too many queued
  activities (another run's, say) pauses it the same way;
- the daily quota: ``429 quota_exceeded`` stops the run (it can be resumed after
  00:00 UTC), or with ``wait_for_quota=True`` sleeps until then, plus some jitter so
  several waiting runs do not all start in the same second.

A batch whose POST got no usable answer is ``uncertain`` and is sent again: no answer
(a dead process, a dropped connection, a 5xx), a 201 whose body cannot be read or names
no ``activity_id``, or a 201 naming an activity another batch already holds (a cache
replaying an earlier answer; :meth:`Runner.holder_of`). Both bulk actions are
idempotent, so a second activity changes nothing; an activity is never taken for a
batch's by its shape, which could report contacts removed that were not. Every such
re-send is counted (``BatchRun.resent``). See the Reliability guide.

The clock (wall time, monotonic time, sleeping) and the random draws are injectable, so
tests drive hours in milliseconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import itertools
import logging
import math
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from ccpandas.client.retry import before_resend
from ccpandas.errors import (
    APIError,
    CCError,
    NotFoundError,
    QuotaExceededError,
    RateLimitError,
    TooManyActivitiesError,
    TransportError,
    UnusableAnswerError,
    next_utc_midnight,
)
from ccpandas.plan.polls import POLL_GROWTH, POLL_MAX, POLL_MIN, SUBMIT_POLL_EVERY
from ccpandas.report.progress import NullReporter, Reporter, Snapshot
from ccpandas.run.clock import Clock, SystemClock
from ccpandas.store.batch import BatchRun, BatchState, Outcome
from ccpandas.vocab import STOP_ACTIVITY_TIMEOUT, STOP_TIMEOUT

__all__ = ["BatchRun", "Journal", "NullJournal", "Runner"]

log = logging.getLogger("ccpandas")
T = TypeVar("T")

#: The API's documented limit of unfinished activities per account.
MAX_QUEUED_ACTIVITIES = 1_000


@runtime_checkable
class Journal(Protocol):
    """Where a run records what it does, so a dead kernel can resume
    (:class:`ccpandas.store.journal.RunJournal`).

    Each call must be durable before it returns: the runner sends nothing until then.
    Each method records nothing by default (:class:`NullJournal` is that default).
    """

    def batch_sending(self, run: BatchRun) -> None:
        """About to POST this batch."""
        return None

    def batch_resending(self, run: BatchRun) -> None:
        """The client is about to send this batch's POST again (``run.resent`` counts it)."""
        return None

    def batch_answered(self, run: BatchRun) -> None:
        """The POST was answered (accepted, rejected) or its outcome is unknown
        (``run.outcome`` says which)."""
        return None

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        """A poll changed these activities' states."""
        return None

    def attach(self, runs: Sequence[BatchRun]) -> contextlib.AbstractContextManager[None]:
        """Held while this process drives the run; brings ``runs`` up to date first."""
        ...

    def catch_up(self, runs: Sequence[BatchRun]) -> None:
        """Under :meth:`hold`: ``runs`` brought up to date with what was recorded."""
        return None

    def hold(self) -> contextlib.AbstractContextManager[None]:
        """The run's lock alone, which :meth:`attach` takes too: held while a resume
        reads the lists again before it drives the run."""
        return contextlib.nullcontext()

    def spent_record(self) -> tuple[Mapping[str, int] | None, bool]:
        """Under :meth:`hold`: the run's requests spent as recorded (None: none), and
        whether that is a lower bound; what a call adds its own requests to."""
        return None, False

    def run_stopped(self, reason: str | None) -> None:
        """The driving call returned; ``reason`` None when it ended normally."""
        return None

    def counting(
        self, spent: Callable[[], Mapping[str, int] | None]
    ) -> contextlib.AbstractContextManager[None]:
        """Held while a call drives the run: its writes record ``spent()``, the requests
        spent so far, as a lower bound (a killed process leaves at least that)."""
        return contextlib.nullcontext()

    def run_outcome(
        self,
        outcome: str,
        reason: str | None = None,
        spent: Mapping[str, int] | None = None,
        at_least: bool = False,
    ) -> None:
        """The run's summary word (:class:`ccpandas.vocab.RunOutcome`) as the driving
        call left it, why a run left running is not followed, and the requests it spent
        (``at_least``: a lower bound), for ``ccpandas.runs()``."""
        return None

    def activity_holder(self, activity_id: str) -> str | None:
        """Which journaled batch, of any run on the same API, already holds
        ``activity_id`` (e.g. ``"batch 3 of run 20250301-231501-7f3a2c"``); None if none."""
        return None

    def settle(self, runs: Sequence[BatchRun]) -> None:
        """After an interruption: record what ``runs`` say, attempts left ``sending``
        included, so the journal agrees with what a resume will do."""
        return None


class NullJournal(Journal):
    """Records nothing: the protocol's own do-nothing methods, and a run held by
    nobody."""

    run_id: str | None = None

    @contextlib.contextmanager
    def attach(self, runs: Sequence[BatchRun]) -> Iterator[None]:
        yield


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
        >>> str(outcome_of(UnusableAnswerError(201, "invalid_json")))
        'uncertain'
    """
    if isinstance(exc, TransportError):
        return Outcome.UNCERTAIN if exc.sent else Outcome.NOT_SENT
    if isinstance(exc, UnusableAnswerError):
        return Outcome.UNCERTAIN  # the API said yes: an activity may exist, not one to follow
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


#: The activity ids this process's batches hold, per API (base URL), and by which
#: batch: a 201 naming one of them again is a replayed answer. Kept for every run,
#: ``journal=False`` ones included; the journal answers for other processes' runs.
_CLAIMS: dict[tuple[str, str], str] = {}
_CLAIMS_LOCK = threading.Lock()
#: Sends of one batch in a row whose 201 could not be used before the run stops.
MAX_UNUSABLE_ANSWERS = 3


def to_send(runs: Iterable[BatchRun], todo: Iterable[BatchRun] | None = None) -> list[BatchRun]:
    """The batches :meth:`Runner.submit` sends: of ``runs``, those never accepted nor
    refused; or, when ``todo`` names batches, those of them still to send or to retry.

    Example:
        >>> to_send([])
        []
    """
    if todo is None:
        return [r for r in runs if r.needs_sending]
    return [r for r in todo if r.needs_sending or r.retryable]


@dataclasses.dataclass(eq=False, repr=False)  # a runner is one object; its client stays unshown
class Runner:
    """Submits and polls the batches of one result.

    Everything is given at construction; :meth:`replace` makes a runner with some
    settings changed (what ``run_plan`` and ``resume`` do with a runner passed as a
    template). Only the run's own counters (``stopped``, ``polls``, ``quota_waits``)
    change while it runs, and ``client`` once :meth:`use_client` builds or swaps it.

    Args:
        client: the API client (:class:`ccpandas.Client`; the public functions resolve
            the default one before building a runner). None only for a runner that
            never sends (a dry run, a template).
        default_client: with ``client`` None, builds it the first time one is needed
            (:meth:`use_client`): a result rebuilt without a client
            (``ccpandas.run_result(run_id)``) takes the default client only when it reads
            or sends.
        reporter, journal: who watches (progress) and who records (the run journal).
        clock: wall time, monotonic time and sleeping (:class:`~ccpandas.run.clock.Clock`,
            default the system's), so tests drive hours of waiting in milliseconds.
        poll_min, poll_max, poll_growth: polling interval, growing from ``poll_min`` by
            ``poll_growth`` up to ``poll_max`` while activities stay busy.
        poll_idle_max: while polls see no change, the interval doubles beyond
            ``poll_max`` up to this many seconds (default 300).
        activity_timeout: seconds without any change in the followed activities after
            which :meth:`wait` stops (resumable, ``stop_reason`` ``activity_timeout``);
            None never stops. Default 7,200 (2 h).
        jitter: random draws in [0, 1) spreading the quota waits.
        wait_for_quota: on ``429 quota_exceeded``, sleep until 00:00 UTC plus up to
            ``quota_jitter`` seconds and continue, instead of stopping.
        max_queued: unfinished activities of this run allowed at once (the API allows
            1,000 per account).
        queue_patience: seconds to keep retrying while the API answers that the
            account has too many queued activities.
        submit_poll_every: seconds between polls while a long submission goes on (so
            the "processed" progress moves before the last POST); a submission shorter
            than this polls not at all before :meth:`wait`.

    Example:
        >>> Runner(client=None).poll_min
        1.0
        >>> Runner(client=None).replace(poll_min=0.5).poll_min
        0.5
    """

    client: _ActivityClient | None
    _: dataclasses.KW_ONLY
    default_client: Callable[[], _ActivityClient | None] | None = None
    reporter: Reporter = dataclasses.field(default_factory=NullReporter)
    journal: Journal = dataclasses.field(default_factory=NullJournal)
    clock: Clock = dataclasses.field(default_factory=SystemClock)
    poll_min: float = POLL_MIN
    poll_max: float = POLL_MAX
    poll_growth: float = POLL_GROWTH
    #: The polling interval's cap while polls see no change (a stuck activity).
    poll_idle_max: float = 300.0
    #: Seconds without any change before :meth:`wait` stops following (None: never).
    activity_timeout: float | None = 7200.0
    jitter: Callable[[], float] = random.random
    #: On 429 quota_exceeded: sleep until 00:00 UTC plus up to ``quota_jitter``
    #: seconds, then continue (True), or stop so the run can be resumed (False).
    wait_for_quota: bool = False
    quota_jitter: float = 300.0
    #: Unfinished activities of this run allowed at once (the API allows 1,000
    #: per account).
    max_queued: int = MAX_QUEUED_ACTIVITIES
    #: Seconds to keep retrying while the API says too many activities are queued.
    queue_patience: float = 3600.0
    #: During a long submission, poll the accepted activities every this many
    #: seconds, so progress shows before the last POST (one GET /activities per
    #: 20 POSTs at 4 req/s; the plan's expected_polls simulates this schedule).
    submit_poll_every: float = SUBMIT_POLL_EVERY
    # The run's own counters, not settings.
    stopped: bool = dataclasses.field(default=False, init=False)
    #: Why :meth:`wait` stopped on its own (``activity_timeout``), None otherwise.
    stop_reason: str | None = dataclasses.field(default=None, init=False)
    #: :meth:`wait`'s ``timeout`` ran out (the summary's ``stop_reason`` ``timeout``).
    timed_out: bool = dataclasses.field(default=False, init=False)
    #: When :meth:`wait`'s ``timeout`` runs out (``clock.monotonic()``): it bounds a
    #: quota wait too.
    deadline: float | None = dataclasses.field(default=None, init=False)
    polls: int = dataclasses.field(default=0, init=False)
    quota_waits: int = dataclasses.field(default=0, init=False)

    def __post_init__(self) -> None:
        # None given for reporter, journal or clock: the default, as if not given.
        self.reporter = self.reporter or NullReporter()
        self.journal = self.journal or NullJournal()
        self.clock = SystemClock() if self.clock is None else self.clock
        if not isinstance(self.clock, Clock):
            raise TypeError(
                "clock must have now(), monotonic() and sleep() (a ccpandas.run.clock."
                f"Clock), not {type(self.clock).__name__}"
            )

    def replace(self, **changes: Any) -> Runner:
        """A new runner with these settings changed (the counters carried over).

        Example:
            >>> Runner(None).replace(wait_for_quota=True).wait_for_quota
            True
        """
        new = dataclasses.replace(self, **changes)
        new.polls, new.quota_waits = self.polls, self.quota_waits
        return new

    # -- reporting -------------------------------------------------------------------
    def snapshot(
        self,
        runs: Sequence[BatchRun],
        phase: str,
        message: str = "",
        wait_seconds: float = 0.0,
        **extra: Any,
    ) -> Snapshot:
        """The state of ``runs`` for reporters; ``extra["run_id"]`` names a journaled
        run (a display's hints name it: ``ccpandas.resume(run_id)``), then ``extra``."""
        run_id = getattr(self.journal, "run_id", None)
        if isinstance(run_id, str):
            extra = {"run_id": run_id, **extra}
        return Snapshot(
            phase=phase,
            batches_total=len(runs),
            batches_submitted=sum(r.accepted for r in runs),
            activities=tuple(r.progress() for r in runs),
            message=message,
            wait_seconds=wait_seconds,
            extra=extra,
        )

    def _stop_requested(self) -> bool:
        """True when the user asked to stop (the reporter's Stop button): the run is
        then ``stopped``."""
        asked = bool(self.reporter.stop_requested)
        self.stopped |= asked
        return asked

    def _sleep(self, seconds: float) -> None:
        # A reporter may bring its own sleep that keeps processing UI events (a widget
        # Stop button is a comm message the kernel only sees if something pumps it).
        (self.reporter.sleep or self.clock.sleep)(seconds)

    def use_client(self, client: _ActivityClient | None = None) -> _ActivityClient | None:
        """The client to read or send with: ``client`` when given (it becomes the
        runner's), else the runner's, built by ``default_client`` the first time.

        Example:
            >>> Runner(None, default_client=lambda: "built").use_client()
            'built'
        """
        if client is None and self.client is None and self.default_client is not None:
            client = self.default_client()
        if client is not None:
            self.client = client
        return self.client

    def _client(self) -> _ActivityClient:
        # The public face (removal, history) resolves client=None before building a runner.
        client = self.use_client()
        if client is None:
            raise TypeError("Runner needs a client: pass client= (a ccpandas.Client)")
        return client

    # -- submission ------------------------------------------------------------------
    def submit(self, runs: Sequence[BatchRun], todo: Iterable[BatchRun] | None = None) -> None:
        """POST every batch in ``todo``, in order.

        By default (``todo=None``, what ``resume`` does) only the batches with no
        accepted activity and no refusal: never sent, or sent without a known outcome.
        A batch whose activity ended badly, or that the API refused with a 4xx, is
        sent only when named in ``todo`` (``result.retry_failed()``): sending it again
        is a choice, not a continuation.

        A batch without a usable answer (``uncertain``) is sent again, and counted in
        its ``resent``: both bulk actions are idempotent, and an activity is never
        taken for a batch's by its shape (it could be another run's).

        Pauses while ``max_queued`` of the run's activities are unfinished. Stops at
        the first error that the client's retries (and the waits above) could not
        overcome and re-raises it; the batches already accepted keep their activity ids.
        """
        self._client()
        queue = to_send(runs, todo)
        if unsure := sum(r.state is BatchState.UNCERTAIN for r in queue):
            log.info(
                "%d batch(es) got no usable answer before: sending them again "
                "(idempotent; counted as re-sent)",
                unsure,
            )
        last_poll: float | None = None
        for n, run in enumerate(queue, start=1):
            if self._stop_requested():
                return
            if not self._room_in_queue(runs):
                return
            if not self._send(runs, run):
                return
            # Timed from the first POST, as the plan's poll estimate is (ccpandas.plan.polls):
            # it may wait a slot behind a snapshot's last read.
            last_poll = self.clock.monotonic() if last_poll is None else last_poll
            more = n < len(queue)  # after the last POST, wait() polls at once anyway
            if more and self.clock.monotonic() - last_poll >= self.submit_poll_every:
                # A long submission: follow what is accepted so far, in the same
                # rate-limited client (one GET /activities reports up to 500).
                last_poll = self.clock.monotonic()
                if pending := [r for r in runs if r.in_flight]:
                    self.through_quota(runs, functools.partial(self.poll, pending), False)
            self.reporter.update(self.snapshot(runs, "submitting"))

    def _send(self, runs: Sequence[BatchRun], run: BatchRun) -> bool:
        """Send one batch, waiting out a full queue or (if asked) the daily quota.
        False when the user stopped the run meanwhile."""
        refused_since: float | None = None
        interval = self.poll_min
        unusable = 0
        while True:
            try:
                return self.through_quota(runs, lambda: self._submit_one(runs, run), False)
            except UnusableAnswerError as exc:
                # The API said yes, but the answer cannot be followed: send it again
                # (idempotent), a few times; a cache that keeps replaying stops the run.
                unusable += 1
                if unusable >= MAX_UNUSABLE_ANSWERS:
                    raise
                log.warning("batch %d: %s; sending it again (idempotent)", run.batch.index, exc)
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
            return False
        if pending := [r for r in runs if r.in_flight]:
            self.through_quota(runs, functools.partial(self.poll, pending), False)
            self.reporter.update(self.snapshot(runs, "submitting"))
        return not self.stopped

    def _submit_one(self, runs: Sequence[BatchRun], run: BatchRun) -> bool:
        client = self._client()
        if run.state is BatchState.UNCERTAIN:
            run.resent += 1  # the previous attempt may have created an activity
        run.unused_activity_id = None
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

        def resending() -> None:
            # The client re-sends a POST that got no usable answer (idempotent): each
            # re-send may leave an activity behind, so it is counted and on record
            # before it goes out (a process killed in the client's pause has it).
            run.resent += 1
            try:
                self.journal.batch_resending(run)
            except BaseException:
                run.resent -= 1  # not on record, so not sent again: not counted
                raise

        try:
            # The batch's action names the endpoint and the client's method for it
            # (remove_list_memberships, add_list_memberships: the same body).
            with before_resend(resending):
                activity = getattr(client, run.batch.action.value)(run.batch.to_json())
            self._check_answer(runs, run, activity)
        except BaseException as exc:
            self._record_failure(run, exc)
            if run.unused_activity_id is not None:
                self._claim(run, run.unused_activity_id)
            self.journal.batch_answered(run)
            raise
        run.sending_since = None
        _take_activity(run, activity, self.clock.now())
        self._claim(run, str(run.activity_id))
        self.journal.batch_answered(run)
        log.info("batch %d accepted as activity %s", run.batch.index, run.activity_id)
        return True

    # -- whose activity --------------------------------------------------------------
    def _api(self) -> str:
        return str(getattr(self.client, "base_url", ""))

    def _claim(self, run: BatchRun, activity_id: str) -> None:
        run_id = getattr(self.journal, "run_id", None)
        where = f"run {run_id}" if run_id else "a run of this process (not journaled)"
        with _CLAIMS_LOCK:
            _CLAIMS.setdefault((self._api(), activity_id), f"batch {run.batch.index} of {where}")

    def holder_of(self, runs: Sequence[BatchRun], activity_id: str) -> str | None:
        """Which batch already holds ``activity_id``: one of ``runs``, another run's in
        this process (journaled or not), or one of any run in the journal file on the
        same API. None when none does: a 201 naming it is the batch's own.

        Example:
            >>> Runner(None).holder_of([], "00000000-0000-1000-8000-000000000000") is None
            True
        """
        for other in runs:
            if activity_id in (other.activity_id, *other.previous_activity_ids):
                return f"batch {other.batch.index} of this run"
        with _CLAIMS_LOCK:
            held = _CLAIMS.get((self._api(), activity_id))
        return held or self.journal.activity_holder(activity_id)

    def _check_answer(self, runs: Sequence[BatchRun], run: BatchRun, activity: Any) -> None:
        """Raise :class:`UnusableAnswerError` for a 201 the batch cannot follow: no
        ``activity_id``, or one another batch holds (an earlier answer replayed)."""
        aid = activity.get("activity_id") if isinstance(activity, dict) else None
        request = f"POST {run.batch.action.path}"
        if not isinstance(aid, str) or not aid.strip():
            raise UnusableAnswerError(
                201,
                "no_activity_id",
                "the answer names no activity_id: the activity it created cannot be followed",
                request=request,
            )
        holder = self.holder_of(runs, aid)
        if holder is not None:
            raise UnusableAnswerError(
                201,
                "replayed_answer",
                f"the answer names activity {aid}, which {holder} already follows: an "
                "earlier answer replayed (a cache or proxy in the way?)",
                request=request,
            )

    @staticmethod
    def _record_failure(run: BatchRun, exc: BaseException) -> None:
        outcome = outcome_of(exc)
        run.sending_since = None
        run.outcome = outcome
        text = str(exc) or type(exc).__name__
        run.last_error = text if len(text) <= 300 else text[:297] + "..."
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
        else:
            run.state = BatchState.UNCERTAIN
            run.errors = ()
            legible = getattr(exc, "activity_id", None)
            if isinstance(exc, UnusableAnswerError) and legible:
                # A 201 cut short still named its activity: it exists and is nobody's to
                # follow; kept as claimed (journaled with the attempt).
                run.unused_activity_id = legible
                run.previous_activity_ids.append(legible)

    def settle_interrupted(self, runs: Sequence[BatchRun]) -> list[BatchRun]:
        """After an interruption (Ctrl-C): a batch whose POST was on its way when it
        came (its outcome still ``sending``) becomes ``uncertain``, as a dead process's
        would on resume. Returns those batches; the journal records them next."""
        caught = [r for r in runs if r.outcome is Outcome.SENDING]
        for run in caught:
            self._record_failure(run, KeyboardInterrupt())
            run.last_error = "interrupted while the request was out"
        return caught

    # -- the daily quota ---------------------------------------------------------------
    def wait_for_reset(self, runs: Sequence[BatchRun] = ()) -> bool:
        """Sleep until the daily quota resets (00:00 UTC plus jitter): before a run
        whose requests do not fit in what is left today starts (``wait_for_quota=True``),
        or when the API says the quota is spent while ``runs`` go on. False if the
        user stopped it meanwhile, or :meth:`wait`'s ``timeout`` ran out first (then
        stopped, ``stop_reason`` ``timeout``).

        Example:
            >>> Runner(None).wait_for_reset()  # doctest: +SKIP
            True
        """
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
        cut = False
        if self.deadline is not None:  # wait()'s timeout bounds the whole wait: this too
            ends = now + dt.timedelta(seconds=max(self.deadline - self.clock.monotonic(), 0.0))
            cut, until = ends < until, min(until, ends)
        while (left := (until - self.clock.now()).total_seconds()) > 0:
            if self._stop_requested():
                return False
            self.reporter.update(self.snapshot(runs, "waiting", message, wait_seconds=left))
            self._sleep(min(left, 1.0))
        if cut:  # the timeout ran out before the reset: stopped there (resumable)
            self.stopped, self.stop_reason, self.timed_out = True, STOP_TIMEOUT, True
            return False
        return True

    def through_quota(self, runs: Sequence[BatchRun], call: Callable[[], T], stopped: T) -> T:
        """``call()``; with ``wait_for_quota``, a spent daily quota is slept through and
        ``call`` tried again (``stopped`` when the user stops the wait), else raised.

        Args:
            runs: The run's batches, for the waiting display.
            call: What to do, e.g. one poll.
            stopped: What to return when the user stops the wait.

        Example:
            >>> runner.through_quota(runs, lambda: runner.poll(pending), False)  # doctest: +SKIP
        """
        while True:
            try:
                return call()
            except QuotaExceededError:
                if not self.wait_for_quota:
                    raise
                if not self.wait_for_reset(runs):
                    return stopped

    # -- polling ---------------------------------------------------------------------
    def wait(self, runs: Sequence[BatchRun], timeout: float | None = None) -> bool:
        """Poll until every accepted activity is terminal; True when they all are.

        Returns False when ``timeout`` seconds pass, the user asks to stop, or no
        followed activity changed for ``activity_timeout`` seconds (then ``stopped``,
        with ``stop_reason`` ``activity_timeout``); the activities keep running on the
        server either way.
        """
        deadline = None if timeout is None else self.clock.monotonic() + timeout
        self.deadline = deadline
        interval = self.poll_min
        followed: set[str | None] = set()
        quiet_since = self.clock.monotonic()
        while True:
            pending = [r for r in runs if r.in_flight]
            if not pending:
                return True
            if self._stop_requested():
                return False
            self._client()
            ids = {r.activity_id for r in pending}
            if not ids <= followed:
                # New activities were submitted: they may end within a second or two.
                # Progress of the known ones does not reset the interval: a busy
                # activity that creeps forward would otherwise be polled every second.
                interval = self.poll_min
                followed |= ids
                quiet_since = self.clock.monotonic()
            changed = self.through_quota(runs, functools.partial(self.poll, pending), False)
            if self.stopped:
                return False
            self.reporter.update(self.snapshot(runs, "polling"))
            if all(r.terminal for r in pending):
                return True
            if changed:
                quiet_since = self.clock.monotonic()
            elif self._stuck(pending, self.clock.monotonic() - quiet_since):
                return False
            pause = interval
            interval = self._next_interval(interval, changed)
            if deadline is not None:
                left = deadline - self.clock.monotonic()
                if left <= 0:
                    self.timed_out = True
                    return False
                pause = min(pause, left)
            self._sleep_watching_stop(pause)

    def _next_interval(self, interval: float, changed: bool) -> float:
        """Grow by ``poll_growth`` up to ``poll_max``; while nothing changes, double on
        up to ``poll_idle_max`` (a stuck activity would cost 5,760 polls a day at 15 s)."""
        if changed or interval < self.poll_max:
            return min(interval * self.poll_growth, self.poll_max)
        return min(interval * 2, max(self.poll_idle_max, self.poll_max))

    def _stuck(self, pending: Sequence[BatchRun], quiet: float) -> bool:
        """True (and the run stopped) once nothing changed for ``activity_timeout``."""
        if self.activity_timeout is None or quiet < self.activity_timeout:
            return False
        self.stopped, self.stop_reason = True, STOP_ACTIVITY_TIMEOUT
        log.warning(
            "no change in the run's unfinished activities (%d; e.g. %s, %s) for %.0f s: "
            "stopped following them (activity_timeout); they keep running on the server, "
            "and resuming the run follows them again",
            len(pending),
            pending[0].activity_id,
            pending[0].state,
            quiet,
        )
        return True

    def _sleep_watching_stop(self, seconds: float) -> None:
        # Sleep in short steps so a Stop button is honoured within a fraction of a second.
        end = self.clock.monotonic() + seconds
        while (left := end - self.clock.monotonic()) > 0:
            if self.reporter.stop_requested:  # not stopped here: its caller decides
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
        most = (math.ceil(len(by_id) / 500) + 1) * 500
        for item in itertools.islice(client.iter_activities(limit=500), most):
            aid = item.get("activity_id")
            if aid in by_id:
                seen[aid] = item
                if len(seen) == len(by_id):
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


def _take_activity(run: BatchRun, activity: dict[str, Any], now: dt.datetime) -> None:
    """``run`` follows ``activity`` from now on (accepted by a 201)."""
    if run.activity_id is not None:
        run.previous_activity_ids.append(run.activity_id)
    run.activity_id = str(activity["activity_id"])
    run.attempts += 1
    run.submitted_at = now
    run.finished_at = None
    run.state = BatchState.INITIALIZED
    run.percent_done = run.items_completed = 0
    run.errors = ()
    run.outcome = Outcome.ACCEPTED
    run.last_error = None
    run.sending_since = None
    run.apply(activity, now)


def run_error(exc: BaseException, result: Any) -> BaseException:
    """Attach ``result`` to a CCError so the caller can resume from it."""
    if isinstance(exc, CCError):
        exc.result = result
    return exc
