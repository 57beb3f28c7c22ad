"""The client-side rate limiter: request starts spaced evenly, shared by every thread.

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

import threading
import time
from collections.abc import Callable

__all__ = ["DEFAULT_MARGIN", "RateLimiter"]

#: Extra spacing, as a fraction of one second per ``rate`` requests (see module docstring).
DEFAULT_MARGIN = 0.02


class RateLimiter:
    """Spaces request starts at least ``(1 + margin) / rate`` seconds apart.

    Thread-safe: each caller reserves the next free slot under a lock, then sleeps
    outside it, so concurrent callers queue up in order without holding the lock.
    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(
        self,
        rate: float,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
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
