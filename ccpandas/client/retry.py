"""When to retry a request and how long to wait first. Pure: no I/O, no clock, no randomness.

The client classifies each failed attempt (:func:`classify`) and asks the request's
:class:`RetryBudget` (:meth:`RetryBudget.decide`), which counts the attempts and the
throttled answers against the :class:`RetryPolicy` (:func:`should_retry`) and picks the
wait (:meth:`RetryPolicy.delay`); the client only sleeps. The randomness comes in through
``jitter`` and the time through ``now`` so tests choose both (stripe-python's
``_should_retry`` / ``_sleep_time_seconds`` keep the same split between the decision and
the sleep). The one piece of state, :data:`BEFORE_RESEND`, is the caller's hook, run
before a POST is re-sent.

Example:
    >>> policy = RetryPolicy()
    >>> kind = classify(503, None)
    >>> kind
    <RetryKind.SERVER_ERROR: 'server_error'>
    >>> should_retry(kind, attempts=1, elapsed=0.0, delay=0.5, policy=policy)
    True
    >>> policy.delay(kind, retry=3, jitter=lambda: 1.0)  # full jitter, top of the range
    2.0
    >>> classify(429, "quota_exceeded") is None  # the daily quota: never retried
    True
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import numbers
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ccpandas.errors import rate_limit_kind

__all__ = [
    "BEFORE_RESEND",
    "RETRYABLE_STATUSES",
    "RetryBudget",
    "RetryDecision",
    "RetryKind",
    "RetryPolicy",
    "backoff_delay",
    "before_resend",
    "classify",
    "should_retry",
]

#: Server statuses worth another try: the service or a proxy in front of it failed.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class RetryKind(enum.StrEnum):
    """Why an attempt failed, as far as retrying is concerned.

    Args:
        value: A kind by its name, e.g. ``RetryKind("throttled")``.
    """

    THROTTLED = "throttled"  # 429 throttled: over the per-second limit
    TOO_MANY_ACTIVITIES = "too_many_activities"  # 429 on activity POSTs: 1,000 queued
    SERVER_ERROR = "server_error"  # 500/502/503/504
    CONNECT_FAILED = "connect_failed"  # the request certainly never reached the server
    CONNECTION_LOST = "connection_lost"  # dropped or timed out after sending: outcome unknown
    NOT_COMPLETE = "not_complete"  # 202 to a read: accepted, its answer not complete yet

    @property
    def ambiguous(self) -> bool:
        """True when the server may have acted on the request before it failed."""
        return self in (RetryKind.SERVER_ERROR, RetryKind.CONNECTION_LOST)


def classify(
    status: int | None, error_key: str | None, *, sent: bool = True, method: str | None = None
) -> RetryKind | None:
    """The :class:`RetryKind` of a failed attempt (a 202 to a read is one), or None when it
    must not be retried.

    Args:
        status: The HTTP status of the answer, e.g. ``503``; None when there was no HTTP
            answer at all.
        error_key: The ``error_key`` of the answer's body (e.g. ``"throttled"`` or
            ``"quota_exceeded"`` for a 429), or None (a 429 without one is the daily
            quota, see :func:`~ccpandas.errors.rate_limit_kind`).
        sent: Without an answer: whether the request may have reached the server (True, the
            default: the outcome is unknown) or certainly did not (False: the connection
            never opened).
        method: The request's HTTP method; a 202 is a read not complete yet only when
            this says ``"GET"`` (an unknown method's 202 is no failure).

    Example:
        >>> classify(None, None, sent=False)
        <RetryKind.CONNECT_FAILED: 'connect_failed'>
        >>> classify(404, "not_found") is None
        True
        >>> classify(202, None, method="GET"), classify(202, None, method="POST")
        (<RetryKind.NOT_COMPLETE: 'not_complete'>, None)
    """
    if status is None:
        return RetryKind.CONNECTION_LOST if sent else RetryKind.CONNECT_FAILED
    if status == 202 and method == "GET":
        # "Accepted, but not fully completed: retry ... for the completed results" (the
        # spec, GET /contacts?segment_id=): the body is not the answer; read it again.
        return RetryKind.NOT_COMPLETE
    if status == 429:
        kind = rate_limit_kind(error_key)  # the other two are RetryKind values
        # The daily quota resets at 00:00 UTC: waiting minutes would not help.
        return None if kind == "quota_exceeded" else RetryKind(kind)
    if status in RETRYABLE_STATUSES:
        return RetryKind.SERVER_ERROR
    return None


def backoff_delay(
    retry: int, *, base: float, cap: float, jitter: Callable[[], float], floor: float = 0.0
) -> float:
    """Exponential backoff with full jitter: ``jitter() * min(cap, base * 2 ** (retry - 1))``.

    Args:
        retry: Which retry this is, counting from 1 (the first retry).
        base: The first retry's longest wait, in seconds, e.g. ``0.5``; it doubles with each
            retry.
        cap: The longest wait of any retry, in seconds.
        jitter: Random draws in [0, 1] that spread the waits (``random.random`` in
            production); values outside are clamped.
        floor: The shortest wait, in seconds. Default 0.

    Raises:
        ValueError: ``retry`` is below 1.

    Example:
        >>> [backoff_delay(n, base=0.5, cap=4.0, jitter=lambda: 1.0) for n in (1, 2, 3, 4, 5)]
        [0.5, 1.0, 2.0, 4.0, 4.0]
        >>> backoff_delay(3, base=0.5, cap=4.0, jitter=lambda: 0.5)
        1.0
    """
    if retry < 1:
        raise ValueError(f"retry counts from 1, not {retry!r}")
    ceiling = min(cap, base * 2.0 ** min(retry - 1, 64))  # min(): no overflow on huge retries
    fraction = min(1.0, max(0.0, float(jitter())))
    return max(floor, fraction * ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and backoff shapes for retries.

    A ``throttled`` answer proves the server did nothing and clears within a second,
    yet two notebooks sharing one application key meet it many times in a row: so
    throttled answers do not use up ``max_attempts``. They have their own budget,
    ``max_throttled`` retries per request, and back off only up to
    ``throttled_max_delay``, since waiting longer than the limit's one-second window
    gains nothing. "Too many activities" clears only as queued activities finish, so
    it backs off from ``activities_base_delay`` up to ``activities_max_delay``.

    Args:
        max_attempts: Attempts per request, the first included (throttled answers not
            counted). Default 8; at least 1.
        max_retry_seconds: No retry starts later than this many seconds after the first
            attempt. Default 300.
        base_delay: The first retry's longest wait, in seconds (doubling after). Default
            0.5.
        max_delay: The longest wait between two attempts, in seconds. Default 20.
        max_throttled: ``429 throttled`` answers retried per request. Default 60.
        throttled_max_delay: The longest wait after a throttled answer, in seconds. Default
            2.
        activities_base_delay: The first wait after ``429 too many activities``, in seconds.
            Default 5.
        activities_max_delay: The longest wait after ``429 too many activities``, in
            seconds. Default 60.

    Raises:
        ValueError: ``max_attempts`` below 1, or a negative ``max_retry_seconds`` or
            ``max_throttled``.

    Example:
        >>> RetryPolicy(max_attempts=3).max_throttled
        60
    """

    max_attempts: int = 8
    max_retry_seconds: float = 300.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    max_throttled: int = 60
    throttled_max_delay: float = 2.0
    activities_base_delay: float = 5.0
    activities_max_delay: float = 60.0

    def __post_init__(self) -> None:
        for name, least in (("max_attempts", 1), ("max_retry_seconds", 0), ("max_throttled", 0)):
            value = getattr(self, name)
            # not a bool, a string or NaN (every comparison with it is False: no bound)
            number = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not number or not value >= least:
                wanted = "at least 1" if least else ">= 0"
                raise ValueError(f"{name} must be a number {wanted}, not {value!r}")

    def delay(
        self,
        kind: RetryKind,
        *,
        retry: int,
        jitter: Callable[[], float],
        retry_after: float | None = None,
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) after a ``kind`` failure.

        A server's ``Retry-After`` (not documented by Constant Contact, honoured if
        sent) raises the delay to at least that many seconds.

        Args:
            kind: Why the attempt failed (a :class:`RetryKind`): it picks the backoff.
            retry: Which retry of its budget this is, counting from 1.
            jitter: Random draws in [0, 1] that spread the waits (``random.random`` in
                production; tests pass a constant).
            retry_after: The server's ``Retry-After``, in seconds, when it sent one: the
                wait is at least that. None (the default) when it sent none.

        Example:
            >>> RetryPolicy().delay(RetryKind.SERVER_ERROR, retry=2, jitter=lambda: 1.0)
            1.0
        """
        # (first wait, longest wait, shortest wait) of each kind's backoff
        base, cap, floor = self.base_delay, self.max_delay, 0.0
        if kind is RetryKind.TOO_MANY_ACTIVITIES:
            base, cap = self.activities_base_delay, self.activities_max_delay
            floor = base / 2
        elif kind is RetryKind.THROTTLED:
            cap = min(self.max_delay, self.throttled_max_delay)
        wait = backoff_delay(retry, base=base, cap=cap, jitter=jitter, floor=floor)
        return max(wait, retry_after) if retry_after is not None else wait


def should_retry(
    kind: RetryKind | None,
    *,
    attempts: int,
    elapsed: float,
    delay: float,
    policy: RetryPolicy,
    replayable: bool = True,
    throttled: int = 0,
) -> bool:
    """Decide whether to send the request again.

    Args:
        kind: Why the attempt failed (a :class:`RetryKind`), or None for a failure no retry
            can fix.
        attempts: How many attempts were made so far, the first included.
        elapsed: Seconds since the first attempt started.
        delay: The wait before the next attempt, in seconds (from
            :meth:`RetryPolicy.delay`).
        policy: The :class:`RetryPolicy` giving the budgets.
        replayable: False for a request that must not run twice: it is then retried only
            when the failure proves the server did not act (a throttle, a connection that
            never opened). Default True.
        throttled: How many of the attempts were answered ``429 throttled``: those count
            against ``policy.max_throttled`` instead of ``policy.max_attempts``. Default 0.

    Returns:
        True to send the request again after ``delay``.

    Example:
        >>> p = RetryPolicy(max_attempts=3)
        >>> should_retry(RetryKind.SERVER_ERROR, attempts=3, elapsed=1.0, delay=0.1, policy=p)
        False
        >>> should_retry(RetryKind.THROTTLED, attempts=3, throttled=3, elapsed=1.0,
        ...              delay=0.1, policy=p)  # throttles have their own budget
        True
        >>> should_retry(RetryKind.CONNECTION_LOST, attempts=1, elapsed=0.0, delay=0.1,
        ...              policy=p, replayable=False)
        False
    """
    if kind is None or elapsed + delay > policy.max_retry_seconds:
        return False
    if kind.ambiguous and not replayable:
        return False
    if kind is RetryKind.THROTTLED:
        return throttled <= policy.max_throttled
    return attempts - throttled < policy.max_attempts


@dataclass(frozen=True)
class RetryDecision:
    """What :meth:`RetryBudget.decide` answers about one failed attempt.

    Args:
        retry: True to send the request again after ``delay`` seconds.
        delay: Seconds to wait before the retry. Default 0.
        number: Which retry of its budget that would be (for the log line). Default 0.
        budget: That budget's size: throttles count against ``max_throttled``, everything
            else against ``max_attempts - 1``. Default 0.
        note: When giving up after more than one attempt, what to add to the error, e.g.
            ``"gave up after 8 attempts in 41.2 s"``; None (the default) otherwise.
    """

    retry: bool
    delay: float = 0.0
    number: int = 0
    budget: int = 0
    note: str | None = None


@dataclass
class RetryBudget:
    """The retry budgets of one request: attempts, throttled answers, time.

    Call :meth:`attempt` before each attempt (a resend with a refreshed token is not
    one) and :meth:`decide` after each failed one. ``started`` and ``now`` are readings
    of the same clock (seconds).

    Args:
        policy: The :class:`RetryPolicy` giving the budgets.
        started: When the first attempt started, a reading of the client's clock.
        attempts: Attempts made so far. Default 0.
        throttled: Throttled answers so far. Default 0.

    Example:
        >>> budget = RetryBudget(RetryPolicy(max_attempts=2), started=0.0)
        >>> budget.attempt()
        1
        >>> budget.decide(RetryKind.SERVER_ERROR, now=0.1, jitter=lambda: 1.0)
        RetryDecision(retry=True, delay=0.5, number=1, budget=1, note=None)
        >>> budget.attempt()
        2
        >>> budget.decide(RetryKind.SERVER_ERROR, now=0.7, jitter=lambda: 1.0).note
        'gave up after 2 attempts in 0.7 s'
    """

    policy: RetryPolicy
    started: float
    attempts: int = 0
    throttled: int = 0

    def attempt(self) -> int:
        """Count one more attempt; return its number (1 for the first)."""
        self.attempts += 1
        return self.attempts

    def decide(
        self,
        kind: RetryKind | None,
        *,
        now: float,
        jitter: Callable[[], float],
        replayable: bool = True,
        retry_after: float | None = None,
    ) -> RetryDecision:
        """Whether to retry after a ``kind`` failure (None: never), and after how long.

        Args:
            kind: Why the attempt failed (a :class:`RetryKind`), or None for a failure no
                retry can fix.
            now: The current reading of the clock ``started`` came from.
            jitter: Random draws in [0, 1] that spread the waits (``random.random`` in
                production; tests pass a constant).
            replayable: False for a request that must not run twice: it is then retried only
                when the failure proves the server did not act (a throttle, a connection
                that never opened). Default True.
            retry_after: The server's ``Retry-After``, in seconds, when it sent one: the
                wait is at least that. None (the default) when it sent none.

        Returns:
            A :class:`RetryDecision`.
        """
        if kind is None:
            return RetryDecision(retry=False)
        policy = self.policy
        if kind is RetryKind.THROTTLED:
            self.throttled += 1
            number, budget = self.throttled, policy.max_throttled
        else:
            number, budget = self.attempts - self.throttled, policy.max_attempts - 1
        delay = policy.delay(kind, retry=number, jitter=jitter, retry_after=retry_after)
        elapsed = now - self.started
        retry = should_retry(
            kind,
            attempts=self.attempts,
            throttled=self.throttled,
            elapsed=elapsed,
            delay=delay,
            policy=policy,
            replayable=replayable,
        )
        note = None
        if not retry and self.attempts > 1:
            throttled = f" ({self.throttled} throttled)" if self.throttled else ""
            note = f"gave up after {self.attempts} attempts{throttled} in {elapsed:.1f} s"
        return RetryDecision(retry=retry, delay=delay, number=number, budget=budget, note=note)


#: Called right before each re-send of a POST that may have reached the server (a 5xx,
#: no answer): a journaled run records the re-send there, so a process killed in the
#: retry pause leaves every POST that went out on record. Set it with before_resend.
BEFORE_RESEND: contextvars.ContextVar[Callable[[], None] | None] = contextvars.ContextVar(
    "ccpandas_before_resend", default=None
)


@contextlib.contextmanager
def before_resend(hook: Callable[[], None]) -> Iterator[None]:
    """Call ``hook`` right before each re-send of a POST made inside the block (in this
    thread) that may have reached the server: an ambiguous failure (a 5xx, no answer)
    sent again after the client's retry pause. If ``hook`` raises, nothing is re-sent.

    Args:
        hook: Called with no arguments; the runner journals the re-send in it.

    Example:
        >>> with before_resend(lambda: print("re-sending")):
        ...     pass  # client.remove_list_memberships(body) here
    """
    token = BEFORE_RESEND.set(hook)
    try:
        yield
    finally:
        BEFORE_RESEND.reset(token)
