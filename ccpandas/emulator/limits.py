"""The per-second rate limit and the daily quota, read against the emulator's clock.

Only requests that pass both limits are counted by them: a throttled or
quota-rejected request costs nothing.

``bucket`` (the default): a token bucket holding up to ``max(1, rate)`` tokens that
refills at ``rate`` per second; each accepted request takes one. A client spacing its
requests at least ``1/rate`` seconds apart is never throttled, even when network
jitter bunches two arrivals, and a burst of ``rate`` requests after a pause passes.

``sliding``: at most ``rate`` accepted requests in any window of one second (for rates
below 1, one request per ``1/rate`` seconds). Stricter: a client must keep its own
window, since arrival jitter can put ``rate + 1`` requests inside one second.

Example:
    >>> limiter = RateLimiter()
    >>> [limiter.try_acquire(0.0, rate=2, algorithm="bucket") for _ in range(3)]
    [True, True, False]
    >>> limiter.try_acquire(0.5, rate=2, algorithm="bucket")
    True
"""

from __future__ import annotations

import collections
import datetime as dt
import math

__all__ = ["DailyQuota", "RateLimiter"]

_EPS = 1e-9


def next_utc_midnight(now: dt.datetime) -> dt.datetime:
    """The next 00:00 UTC after ``now`` (the quota's reset; the oracle keeps its own)."""
    tomorrow = (now.astimezone(dt.UTC) + dt.timedelta(days=1)).date()
    return dt.datetime.combine(tomorrow, dt.time(0), tzinfo=dt.UTC)


class RateLimiter:
    """Per-second limit. Not thread-safe on its own: the server calls it under its lock."""

    def __init__(self) -> None:
        self._algorithm: str | None = None
        self._tokens = 0.0
        self._last = 0.0
        self._times: collections.deque[float] = collections.deque()

    def try_acquire(self, now: float, *, rate: float | None, algorithm: str) -> bool:
        """Accept (and count) one request at monotonic time ``now``, or refuse it."""
        if rate is None:
            return True
        if algorithm != self._algorithm:  # switching algorithms starts afresh
            self._algorithm = algorithm
            self._tokens = max(1.0, rate)
            self._last = now
            self._times.clear()
        if algorithm == "bucket":
            capacity = max(1.0, rate)
            self._tokens = min(capacity, self._tokens + max(0.0, now - self._last) * rate)
            self._last = max(self._last, now)
            if self._tokens + _EPS < 1.0:
                return False
            self._tokens -= 1.0
            return True
        window = max(1.0, 1.0 / rate)
        limit = max(1, math.floor(rate + _EPS))
        while self._times and self._times[0] <= now - window:
            self._times.popleft()
        if len(self._times) >= limit:
            return False
        self._times.append(now)
        return True


class DailyQuota:
    """Requests per UTC day; the count resets at 00:00 UTC of the clock's ``now()``."""

    def __init__(self) -> None:
        self._day: dt.date | None = None
        self.used = 0
        #: Requests counted since the ``quota_left`` setting was set (no day resets it).
        self.since_set = 0

    def _roll(self, now: dt.datetime) -> None:
        day = now.astimezone(dt.UTC).date()
        if day != self._day:
            self._day = day
            self.used = 0

    def exhausted(self, now: dt.datetime, quota: int | None) -> bool:
        """True when today's ``quota`` is spent (never when ``quota`` is None)."""
        self._roll(now)
        return quota is not None and self.used >= quota

    def count(self, now: dt.datetime) -> None:
        """Count one accepted request."""
        self._roll(now)
        self.used += 1
        self.since_set += 1

    def used_today(self, now: dt.datetime) -> int:
        """Requests counted so far in the UTC day of ``now``."""
        self._roll(now)
        return self.used

    @staticmethod
    def reset_at(now: dt.datetime) -> dt.datetime:
        """The next 00:00 UTC after ``now``."""
        return next_utc_midnight(now)
