"""How many ``GET /activities`` a run spends following its activities, and how long
from its first change to the poll that sees the last activity ended: the runner's own
polling schedule, simulated against an assumed processing speed.

The runner (:class:`ccpandas.run.runner.Runner`, whose defaults are the constants
here) polls every :data:`SUBMIT_POLL_EVERY` seconds while it submits, then right after
the last submission, :data:`POLL_MIN` seconds later, and so on with the interval
growing by :data:`POLL_GROWTH` up to :data:`POLL_MAX` until every activity ended. One
poll is one ``GET /activities`` page per 500 unfinished activities, and takes its
turn in the client's pace (a request start every ``1 / rate`` seconds; the client's
limiter adds a 2 % margin, which the figures leave out). How long an activity takes
is the service's business: no public figure exists, so the estimate assumes the
emulator's defaults (:data:`ASSUMED_SPEED` contacts per second, after a start delay
of 500 contacts' worth, one activity at a time). Not modelled: the wait
while 1,000 activities are queued (at the assumed speed the queue stays short at
4 requests/s), the longer intervals while nothing changes (something always
progresses when activities run one after another). The runner times its polls from
its first change, as this does, also when that change waits a slot behind a
snapshot's last read.

Example:
    >>> expected_polls(1, 4.0, 100)  # polled at once, again 1 s later: done
    2
    >>> expected_polls(400, 4.0)  # 100 s of sending: a poll every 5 s, 2 at the end
    22
    >>> expected_run_seconds(1, 4.0, 100)  # the POST at 0 s, polls at 0.25 and 1.25 s
    1.25
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ccpandas.models import MAX_CONTACTS_PER_REQUEST, Batch, SourceKind

__all__ = [
    "ASSUMED_SPEED",
    "DEFAULT_MODEL",
    "POLL_GROWTH",
    "POLL_MAX",
    "POLL_MIN",
    "SUBMIT_POLL_EVERY",
    "PollModel",
    "expected_polls",
    "expected_run_seconds",
    "request_items",
    "run_estimate",
]

#: The runner's first polling interval after the last submission, in seconds.
POLL_MIN = 1.0
#: The polling interval's cap while activities progress, in seconds.
POLL_MAX = 15.0
#: How much the polling interval grows from one poll to the next.
POLL_GROWTH = 1.6
#: Seconds between polls while a long submission goes on.
SUBMIT_POLL_EVERY = 5.0
#: Contacts an activity processes per second, assumed (the emulator's default: the
#: real service publishes no figure).
ASSUMED_SPEED = 2_000.0
#: An activity waits this many contacts' worth of processing time before it starts.
START_DELAY_ITEMS = 500
#: Activities one ``GET /activities`` page reports.
ACTIVITIES_PER_PAGE = 500


@dataclass(frozen=True)
class PollModel:
    """The runner's polling schedule and the service's assumed pace.

    Args:
        speed: Contacts an activity processes per second. Default :data:`ASSUMED_SPEED`.
        start_delay: Seconds a new activity waits before it may start; None (the
            default) is ``500 / speed``.
        poll_min: The first interval after the last submission. Default 1 s.
        poll_max: The interval's cap. Default 15 s.
        poll_growth: The interval's growth per poll. Default 1.6.
        submit_poll_every: Seconds between polls while submitting. Default 5 s.
        margin: Extra spacing of request starts, as a fraction of ``1 / rate``.
            Default 0; the client's limiter adds 0.02 (its ``DEFAULT_MARGIN``), which
            makes a run about 2 % longer than the plan says.

    Example:
        >>> PollModel(speed=1_000.0).delay
        0.5
        >>> PollModel().gap(4.0), PollModel(margin=0.02).gap(4.0)
        (0.25, 0.255)
    """

    speed: float = ASSUMED_SPEED
    start_delay: float | None = None
    poll_min: float = POLL_MIN
    poll_max: float = POLL_MAX
    poll_growth: float = POLL_GROWTH
    submit_poll_every: float = SUBMIT_POLL_EVERY
    margin: float = 0.0

    def __post_init__(self) -> None:
        values = (self.speed, self.poll_min, self.poll_max, self.poll_growth)
        if not all(v > 0 for v in values) or self.submit_poll_every < 0:
            raise ValueError(f"the poll model needs positive figures, got {self!r}")
        if self.start_delay is not None and self.start_delay < 0:
            raise ValueError(f"start_delay must be 0 or more seconds, got {self.start_delay!r}")
        if not 0 <= self.margin < 1:
            raise ValueError(f"margin must be in [0, 1), got {self.margin!r}")

    @property
    def delay(self) -> float:
        """The start delay in seconds."""
        return START_DELAY_ITEMS / self.speed if self.start_delay is None else self.start_delay

    def gap(self, rate: float) -> float:
        """Seconds between two request starts at ``rate`` requests per second."""
        return (1.0 + self.margin) / rate


DEFAULT_MODEL = PollModel()


def request_items(batches: Sequence[Batch]) -> list[int]:
    """The contacts each request carries (its activity's items): the batch's size, or
    the ids it names; a full request (500) where the API selects the contacts.

    Example:
        >>> from ccpandas.models import Source
        >>> request_items([Batch(0, Source.contact_ids(["a", "b"]), ("l",)),
        ...                Batch(1, Source.list_ids(["l2"]), ("l",))])
        [2, 500]
    """
    by_ids = SourceKind.CONTACT_IDS
    return [
        b.size or (len(b.source.values) if b.source.kind is by_ids else MAX_CONTACTS_PER_REQUEST)
        for b in batches
    ]


def expected_polls(
    n_requests: int,
    rate: float,
    items: int | Sequence[int] = MAX_CONTACTS_PER_REQUEST,
    *,
    model: PollModel = DEFAULT_MODEL,
) -> int:
    """The ``GET /activities`` requests that following ``n_requests`` changes costs,
    sent at ``rate`` per second (the polls take their turn in the same pace), each
    carrying ``items`` contacts (one number for all, or one per request).

    Args:
        n_requests: Change requests sent (activities), in order.
        rate: Requests per second they are sent at.
        items: Contacts per request. Default 500 (full requests).
        model: The polling schedule and the assumed processing speed.

    Example:
        >>> expected_polls(0, 4.0), expected_polls(3, 4.0, [500, 500, 20])
        (0, 2)
        >>> slow = PollModel(speed=10.0, start_delay=0.0)  # 50 s for 500 contacts
        >>> expected_polls(1, 4.0, 500, model=slow)  # at 0.25, 1.25, 2.85, ..., 56.5 s
        9
    """
    return run_estimate(n_requests, rate, items, model=model)[0]


def expected_run_seconds(
    n_requests: int,
    rate: float,
    items: int | Sequence[int] = MAX_CONTACTS_PER_REQUEST,
    *,
    model: PollModel = DEFAULT_MODEL,
) -> float:
    """Seconds from the first of ``n_requests`` changes to the poll that sees the last
    of their activities ended: the same simulation as :func:`expected_polls`, so it
    holds the sends, the polls' rate slots while sending, and the wait for the
    activities (at the assumed speed) on the growing poll intervals.

    Args:
        n_requests: Change requests sent (activities), in order.
        rate: Requests per second they and the polls are sent at.
        items: Contacts per request. Default 500 (full requests).
        model: The polling schedule and the assumed processing speed.

    Example:
        >>> expected_run_seconds(0, 4.0)
        0.0
        >>> expected_run_seconds(1, 4.0, 100)  # POST at 0 s, polls at 0.25 and 1.25 s
        1.25
        >>> slow = PollModel(speed=10.0, start_delay=0.0)  # 50 s for 500 contacts
        >>> round(expected_run_seconds(1, 4.0, 500, model=slow), 2)  # the 9th poll
        56.55
    """
    return run_estimate(n_requests, rate, items, model=model)[1]


def run_estimate(
    n_requests: int,
    rate: float,
    items: int | Sequence[int] = MAX_CONTACTS_PER_REQUEST,
    *,
    model: PollModel = DEFAULT_MODEL,
) -> tuple[int, float]:
    """:func:`expected_polls` and :func:`expected_run_seconds` from one simulation (a
    plan asks for both).

    Example:
        >>> run_estimate(1, 4.0, 100), run_estimate(0, 4.0)
        ((2, 1.25), (0, 0.0))
    """
    runs = _runs(n_requests, rate, items)
    return _simulate(runs, float(rate), model) if runs else (0, 0.0)


def _runs(n_requests: int, rate: float, items: int | Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The requests as runs of (items, requests), checked; empty for no request."""
    if not rate > 0:
        raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
    if not n_requests:
        return ()
    if isinstance(items, int):
        return ((items, n_requests),)
    if len(items) != n_requests:
        raise ValueError(f"items has {len(items):,} counts for {n_requests:,} requests")
    return tuple((k, sum(1 for _ in g)) for k, g in itertools.groupby(items))


@functools.lru_cache(maxsize=256)
def _simulate(
    runs: tuple[tuple[int, int], ...], rate: float, model: PollModel
) -> tuple[int, float]:
    """The runner's submission and wait, step by step (``runs``: (items, requests)):
    the polls' requests, and when (in seconds from the first POST) the last poll went,
    the one that saw every activity ended."""
    gap = model.gap(rate)
    ends: list[float] = []  # each activity's end: processed one at a time, in order
    state = _Pace(gap)
    free = 0.0  # when the processing slot frees
    last_poll = seen = 0.0  # when the last poll went (``seen``: what it saw had ended)
    sizes = [k for k, n in runs for _ in range(n)]
    for i, n_items in enumerate(sizes):
        t = state.take()  # the POST
        free = max(t + model.delay, free) + n_items / model.speed
        ends.append(free)
        if i + 1 < len(sizes) and t - last_poll >= model.submit_poll_every:
            last_poll = t
            seen = state.poll(ends, seen)
    # wait(): a poll at once, then growing intervals until the last activity ended.
    interval = model.poll_min
    while True:
        seen = state.poll(ends, seen)
        if seen >= ends[-1]:
            return state.requests, seen
        state.now = seen + interval
        interval = min(interval * model.poll_growth, model.poll_max)


class _Pace:
    """The client's rate limiter (a slot every ``gap`` seconds) and the polls' count."""

    def __init__(self, gap: float) -> None:
        self.gap, self.now, self.next, self.requests = gap, 0.0, 0.0, 0

    def take(self) -> float:
        self.now = max(self.now, self.next)
        self.next = self.now + self.gap
        return self.now

    def poll(self, ends: list[float], seen: float) -> float:
        """One poll at the next slot: a page per 500 activities not seen ended."""
        t = self.take()
        unfinished = len(ends) - bisect.bisect_right(ends, seen)
        self.requests += max(1, math.ceil(unfinished / ACTIVITIES_PER_PAGE))
        return t
