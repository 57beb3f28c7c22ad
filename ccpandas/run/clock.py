"""The one clock a run reads its time from: wall time, monotonic seconds, and sleeping.

The runner takes a :class:`Clock` (``Runner(client, clock=...)``); tests inject one whose
``sleep`` moves time forward at once, so hours of waiting pass in milliseconds.

Example:
    >>> clock = SystemClock()
    >>> clock.now().tzinfo is not None, clock.monotonic() > 0
    (True, True)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = ["Clock", "ClockFrom", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the runner needs from time."""

    def now(self) -> dt.datetime:
        """The current time as an aware UTC datetime (quota resets, journal times)."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases (intervals, deadlines)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real time: ``datetime.now(UTC)``, ``time.monotonic()``, ``time.sleep()``."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ClockFrom:
    """Time read from another clock (any object with ``now()`` and ``monotonic()``, such
    as the emulator's), sleeping with ``sleep`` (default: real sleep; for a clock that
    only moves when told, pass its ``advance``).

    Example:
        >>> from ccpandas.emulator.clock import ManualClock
        >>> manual = ManualClock()
        >>> clock = ClockFrom(manual, sleep=manual.advance)
        >>> clock.sleep(90.0)
        >>> clock.monotonic()
        90.0
    """

    def __init__(self, source: Any, sleep: Callable[[float], None] | None = None) -> None:
        missing = [m for m in ("now", "monotonic") if not callable(getattr(source, m, None))]
        if missing:  # said here, not at a run's first poll (after its first change)
            raise TypeError(f"ClockFrom needs a clock with now() and monotonic(): {missing}")
        self._source = source
        self._sleep = sleep or time.sleep

    def now(self) -> dt.datetime:
        return self._source.now()

    def monotonic(self) -> float:
        return self._source.monotonic()

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)

    def __repr__(self) -> str:
        return f"ClockFrom({self._source!r})"
