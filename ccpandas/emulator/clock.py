"""Clocks the emulator reads its time from, so tests can move time on purpose.

Every time-based rule of the emulator (activity progress, the per-second limit, the
daily quota reset at 00:00 UTC, token expiry, the 10-day activity retention) reads one
clock object with two methods: ``now()`` (an aware UTC datetime) and ``monotonic()``
(seconds, never going backwards).

Example:
    >>> clock = ManualClock(dt.datetime(2025, 3, 1, 23, 59, tzinfo=dt.UTC))
    >>> clock.advance(120)
    >>> clock.now().isoformat()
    '2025-03-02T00:01:00+00:00'
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "OffsetClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the emulator needs from a clock."""

    def now(self) -> dt.datetime:
        """The current time as an aware UTC datetime."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases."""
        ...


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("clock times must be timezone-aware (use tzinfo=datetime.UTC)")
    return value.astimezone(dt.UTC)


class SystemClock:
    """The real time: ``datetime.now(UTC)`` and ``time.monotonic()``."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A frozen clock that moves only when a test calls :meth:`advance` or :meth:`set`.

    Use it for exact tests of the limits and of activity progress. Activities make no
    progress and ``Emulator.wait_idle`` times out while it stands still.

    Args:
        start: The time it shows at first, timezone-aware (e.g.
            ``datetime(2025, 3, 1, 23, 59, tzinfo=datetime.UTC)``). None (the default) is
            2025-01-01 12:00 UTC.

    Example:
        >>> clock = ManualClock(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        >>> clock.monotonic()
        0.0
        >>> clock.advance(1.5)
        >>> clock.monotonic()
        1.5
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = _as_utc(start) if start else dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
        self._mono = 0.0

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (>= 0).

        Args:
            seconds: How far to move, e.g. ``120`` or ``86400`` for a day.

        Raises:
            ValueError: ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)
            self._mono += seconds

    def set(self, when: dt.datetime) -> None:
        """Jump forward to ``when`` (an aware datetime not before ``now()``).

        Args:
            when: The time to jump to: a timezone-aware datetime, not before ``now()``, e.g.
                ``datetime(2025, 3, 2, tzinfo=datetime.UTC)``.

        Raises:
            ValueError: ``when`` is naive or in the past.
        """
        when = _as_utc(when)
        with self._lock:
            delta = (when - self._now).total_seconds()
        self.advance(delta)

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"


class OffsetClock:
    """Real time that flows, plus jumps: ``advance(hours=6)`` skips ahead at once.

    For end-to-end tests that need time to pass normally (activities progress, the
    client sleeps) and also to cross a boundary, e.g. past 00:00 UTC so the daily
    quota resets.

    Args:
        start: The wall time at creation, timezone-aware; it flows on from there. None (the
            default) is the real time.

    Example:
        >>> clock = OffsetClock(dt.datetime(2025, 1, 1, 23, 59, 59, tzinfo=dt.UTC))
        >>> clock.advance(seconds=2)
        >>> clock.now() >= dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
        True
    """

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._wall_offset = (_as_utc(start) - dt.datetime.now(dt.UTC)) if start else dt.timedelta(0)
        self._mono_offset = 0.0

    def now(self) -> dt.datetime:
        with self._lock:
            return dt.datetime.now(dt.UTC) + self._wall_offset

    def monotonic(self) -> float:
        with self._lock:
            return time.monotonic() + self._mono_offset

    def advance(self, seconds: float = 0.0, *, hours: float = 0.0, days: float = 0.0) -> None:
        """Jump forward by the given amount (the sum of the arguments, >= 0).

        Args:
            seconds: Seconds to skip. Default 0.
            hours: Hours to skip. Default 0.
            days: Days to skip. Default 0.

        Raises:
            ValueError: The sum is negative.

        Example:
            >>> OffsetClock().advance(hours=6)
        """
        total = seconds + hours * 3600 + days * 86400
        if total < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._wall_offset += dt.timedelta(seconds=total)
            self._mono_offset += total

    def set(self, when: dt.datetime) -> None:
        """Jump forward to ``when`` (an aware datetime not before ``now()``).

        Args:
            when: The time to jump to: a timezone-aware datetime, not before ``now()``, e.g.
                ``datetime(2025, 3, 2, tzinfo=datetime.UTC)``.

        Raises:
            ValueError: ``when`` is naive or in the past.
        """
        self.advance((_as_utc(when) - self.now()).total_seconds())

    def __repr__(self) -> str:
        return f"OffsetClock(now={self.now().isoformat()})"
