"""The client-side rate limiters: request starts spaced evenly.

:class:`SharedRateLimiter` (what a :class:`~ccpandas.client.Client` uses by default)
hands the slots of one application key out to every thread, process and, in team
mode, machine (see :mod:`ccpandas.client.shared`); :class:`RateLimiter` keeps them in
this process only (a client with an injected clock, or ``limiter=RateLimiter(...)``).

Constant Contact allows 4 requests per second per application and does not document
whether it counts a sliding window or a token bucket. Even spacing satisfies both:
with starts ``(1 + margin) / rate`` seconds apart, any 1-second window holds at most
``rate`` starts even when the server sees each request up to ``margin`` seconds later
or earlier than we sent it (loopback and scheduler jitter), while the achieved rate stays
``rate / (1 + margin)`` (98 % of the limit with the default 20 ms margin).

Example:
    >>> t = [0.0]
    >>> lim = RateLimiter(4, clock=lambda: t[0], sleep=lambda s: t.__setitem__(0, t[0] + s))
    >>> [round(lim.acquire(), 3) for _ in range(3)]  # seconds waited before each start
    [0.0, 0.255, 0.255]
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ccpandas.client.shared import ALONE_SLOTS, QUOTA_FILE

if TYPE_CHECKING:
    from ccpandas.client.shared import BudgetKey, SharedState

__all__ = ["DEFAULT_MARGIN", "Limiter", "RateLimiter", "SharedRateLimiter"]

log = logging.getLogger("ccpandas")

#: Extra spacing, as a fraction of one second per ``rate`` requests (see module docstring).
DEFAULT_MARGIN = 0.02


class Limiter(Protocol):
    """What a client needs of a limiter: ``rate``, ``acquire()`` and ``defer(seconds)``."""

    rate: float

    def acquire(self) -> float: ...

    def defer(self, seconds: float) -> None: ...


class RateLimiter:
    """Spaces request starts at least ``(1 + margin) / rate`` seconds apart.

    Thread-safe: each caller reserves the next free slot under a lock, then sleeps
    outside it, so concurrent callers queue up in order without holding the lock.
    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    # A limiter whose __init__ refused its rate still has a repr: a traceback shown with
    # its frames' locals (IPython's verbose mode, Sentry) calls it.
    rate = margin = 0.0

    def __init__(
        self,
        rate: float,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ValueError(f"rate must be a positive number of requests per second, not {rate!r}")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), not {margin!r}")
        self.rate = float(rate)
        self.margin = float(margin)
        self.interval = (1.0 + self.margin) / self.rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None  # earliest start of the next request

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate:g}, margin={self.margin:g})"

    def reserve(self) -> float:
        """Claim the next start slot and return how long the caller must wait for it."""
        with self._lock:
            now = self._clock()
            start = now if self._next is None else max(now, self._next)
            self._next = start + self.interval
            return start - now

    def acquire(self) -> float:
        """Wait for the next start slot; return the seconds waited (0.0 when none)."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def defer(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` from now (after a ``throttled`` answer)."""
        with self._lock:
            later = self._clock() + max(0.0, seconds)
            if self._next is None or self._next < later:
                self._next = later


class SharedRateLimiter(RateLimiter):
    """Spaces the request starts of one budget key ``(1 + margin) / rate`` seconds
    apart across every process sharing ``state`` (this machine's SQLite, or Redis).

    Each :meth:`acquire` takes one slot in one atomic step (GCRA, see
    :mod:`ccpandas.client.shared`) and sleeps until it, so concurrent processes are
    served in the order they ask: each gets an equal share while all are busy. A
    process that dies holds no slot and no lock.

    Args:
        rate: Requests per second allowed for the key, e.g. ``4`` (Constant Contact's
            limit); a positive number.
        key: The budget key: a :class:`~ccpandas.client.shared.BudgetKey` or its text, e.g.
            ``"https://api.cc.email/v3 app=my-app"``. Every limiter with the same key and
            state shares one pace.
        state: Where the pace is shared: a :class:`~ccpandas.client.shared.SharedState`
            (this machine's SQLite, or Redis in team mode).
        margin: Extra spacing as a fraction of the interval, in [0, 1): starts are
            ``(1 + margin) / rate`` seconds apart. Default :data:`DEFAULT_MARGIN` (0.02).
        sleep: How to wait, a function of seconds. Default ``time.sleep``; tests pass a fake
            one.

    Raises:
        ValueError: ``rate`` is not positive, or ``margin`` is outside [0, 1).

    Example:
        >>> import tempfile, pathlib
        >>> from ccpandas.client.shared import SharedState
        >>> state = SharedState.local(pathlib.Path(tempfile.mkdtemp()) / "quota.sqlite3")
        >>> key, waits = "https://api.cc.email/v3 app=demo", []
        >>> lim = SharedRateLimiter(4, key=key, state=state, sleep=waits.append)
        >>> lim
        SharedRateLimiter(rate=4, margin=0.02, state='local')
        >>> lim.acquire()
        0.0
        >>> lim.defer(60)  # a throttled answer: every process of the key waits
        >>> 59 < lim.acquire() <= 60, len(waits)
        (True, 1)
    """

    def __init__(
        self,
        rate: float,
        *,
        key: str | BudgetKey,
        state: SharedState,
        margin: float = DEFAULT_MARGIN,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.key = key
        self.state = state
        super().__init__(rate, margin=margin, sleep=sleep)
        # This process's own limiter, used only while the local state file fails (the
        # file itself says when to try it again: LocalState's ALONE_SLOTS).
        self._own: RateLimiter | None = None
        self._switch = threading.Lock()  # threads of one client switch _own in turn

    def __repr__(self) -> str:
        return (
            f"SharedRateLimiter(rate={self.rate:g}, margin={self.margin:g}, "
            f"state={self.state.where if self.state.kind != 'local' else 'local'!r})"
        )

    def reserve(self) -> float:
        """Claim the next start slot of the key; return how long to wait for it."""
        try:
            wait = self.state.reserve(str(self.key), self.interval)
        except (sqlite3.Error, OSError) as exc:  # a rate limit must never break a request
            with self._switch:
                own, first = self._own, self._own is None
                if own is None:
                    own = self._own = RateLimiter(self.rate, margin=self.margin)
            if first:
                log.warning(
                    f"ccpandas: cannot share the rate limit through {QUOTA_FILE} ({exc}); "
                    f"pacing this process alone, trying the file again every "
                    f"{ALONE_SLOTS // 2} requests or so"
                )
            return own.reserve()
        with self._switch:
            was, self._own = self._own, None
        if was is not None:
            log.warning(f"ccpandas: sharing the rate limit through {QUOTA_FILE} again")
        return wait

    def defer(self, seconds: float) -> None:
        """Hold every process of the key back for ``seconds`` (after a ``throttled``).

        Args:
            seconds: How long from now no request of the key starts, e.g. the server's
                ``Retry-After``.
        """
        own = self._own
        if own is not None:
            own.defer(seconds)
            return
        with contextlib.suppress(sqlite3.Error, OSError):  # the next reserve() switches
            self.state.defer(str(self.key), seconds)  # to this process's own limiter
