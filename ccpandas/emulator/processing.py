"""Bulk activities: resolving a request into items, and processing them over time.

Progress is computed lazily from the clock: whenever anyone looks (an HTTP request or
an ``Account`` accessor), :meth:`Processor.advance` replays the time since the last
look. No background thread, so the result depends only on the clock, the settings and
the seed, and a ``ManualClock`` controls it exactly.

The model:

- An activity's items are the contacts it touches, one item per contact whatever the
  number of target lists (``status.items_total_count``; ``list_count`` is the number of
  target lists). The source is resolved when the activity is accepted (a snapshot).
- It stays ``initialized`` for ``start_delay`` seconds, then waits for one of
  ``concurrency`` processing slots (first come, first served), then turns
  ``processing`` and handles ``speed`` items per second.
- Membership changes apply progressively, item by item in order, as
  ``items_completed_count`` rises; an activity that ends ``failed`` or ``timed_out``
  (fault settings) leaves the items after its stopping point untouched.

Example:
    >>> from ccpandas.emulator.clock import ManualClock
    >>> from ccpandas.emulator.core import Emulator
    >>> emu = Emulator(seed=1, speed=100, start_delay=0, clock=ManualClock())
    >>> target = emu.account.list_ids()[0]
    >>> act = emu.account.submit_activity(
    ...     {"source": {"list_ids": [target]}, "list_ids": [target]}
    ... )
    >>> act.state
    'initialized'
    >>> emu.clock.advance(1000)
    >>> emu.account.activity(act.activity_id).state, emu.account.members(target)
    ('completed', set())
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Protocol

from ccpandas.emulator.clock import Clock
from ccpandas.emulator.faults import Faults
from ccpandas.emulator.model import Activity
from ccpandas.emulator.settings import Settings
from ccpandas.emulator.validation import ActivityRequest
from ccpandas.models import ActivityState


class Account(Protocol):
    """What the processor needs of the account it changes (an
    :class:`~ccpandas.emulator.account.Account`, which imports this module)."""

    clock: Clock
    settings: Settings

    def new_id(self, at: dt.datetime | None = None) -> str:
        """A fresh UUID for a new record (``at``: the time its fields carry)."""
        ...

    def apply_memberships(
        self, kind: str, contact_ids: Iterable[str], list_ids: Iterable[str]
    ) -> list[str]:
        """Apply one slice of an activity; messages for ``activity_errors``."""
        ...


__all__ = ["MAX_ACTIVITY_ERRORS", "Processor"]

#: At most this many messages are kept in one activity's ``activity_errors``.
MAX_ACTIVITY_ERRORS = 1000

_INIT = ActivityState.INITIALIZED.value
_PROC = ActivityState.PROCESSING.value
_ENDING_MESSAGES = {
    ActivityState.FAILED.value: "The activity failed while processing",
    ActivityState.TIMED_OUT.value: "The activity timed out before completing",
}


class Processor:
    """Creates activities and moves them forward. Called under the account's lock."""

    def __init__(self, account: Account, faults: Faults) -> None:
        self._account = account
        self._faults = faults
        self._last = account.clock.monotonic()
        self._pending: list[Activity] = []  # non-terminal, in creation order
        self._ordinal = 0

    @property
    def queued(self) -> int:
        """Activities not yet in a terminal state (the queue the 1,000 limit counts)."""
        return len(self._pending)

    def submit(
        self, request: ActivityRequest, items: tuple[str, ...], errors: list[str]
    ) -> Activity:
        """Accept a validated, resolved request as a new ``initialized`` activity."""
        acct = self._account
        now_mono, now_wall = acct.clock.monotonic(), acct.clock.now()
        settings = acct.settings
        fate = self._faults.for_activity(settings)
        self._ordinal += 1
        activity = Activity(
            activity_id=acct.new_id(at=now_wall),
            ordinal=self._ordinal,
            kind=f"{request.kind}_list_memberships",
            list_ids=request.list_ids,
            items=items,
            source=request.source_json(),
            exclude=request.exclude,
            created_at=now_wall,
            created_mono=now_mono,
            eligible_mono=now_mono + settings.effective_start_delay,
            stop_at=fate.stop_at(len(items)),
            fate=fate.state,
            updated_at=now_wall,
            errors=errors[:MAX_ACTIVITY_ERRORS],
        )
        self._pending.append(activity)
        return activity

    def cancel(self, activity: Activity) -> bool:
        """End a non-terminal activity as ``cancelled``; False if it already ended."""
        if activity not in self._pending:
            return False
        now = self._account.clock.now()
        self._pending.remove(activity)
        activity.state = ActivityState.CANCELLED.value
        activity.completed_at = activity.updated_at = now
        activity.errors.append(
            f"The activity was cancelled after {activity.applied} of {activity.items_total} items."
        )
        return True

    def advance(self) -> None:
        """Replay processing from the last call up to the clock's current time."""
        clock = self._account.clock
        now = clock.monotonic()
        if now <= self._last or not self._pending:
            self._last = max(self._last, now)
            return
        wall_now = clock.now()

        def wall(at: float) -> dt.datetime:
            return wall_now - dt.timedelta(seconds=now - at)

        settings = self._account.settings
        speed, slots = settings.speed, settings.concurrency
        t = self._last
        while self._pending:
            running = [a for a in self._pending if a.state == _PROC]
            for a in self._pending:
                if len(running) >= slots:
                    break
                if a.state == _INIT and a.eligible_mono <= t:
                    a.state = _PROC
                    a.started_at = a.updated_at = wall(t)
                    running.append(a)
            finished = [a for a in running if a.done >= a.stop_at]
            if finished:
                for a in finished:
                    self._finish(a, wall(t))
                continue
            if t >= now:
                break
            next_t = now
            for a in running:
                next_t = min(next_t, t + (a.stop_at - a.done) / speed)
            if len(running) < slots:
                for a in self._pending:
                    if a.state == _INIT and a.eligible_mono > t:
                        next_t = min(next_t, a.eligible_mono)
            for a in running:
                if t + (a.stop_at - a.done) / speed <= next_t:
                    a.done = float(a.stop_at)  # reached exactly, whatever float rounding says
                else:
                    a.done = min(float(a.stop_at), a.done + (next_t - t) * speed)
                self._apply(a, wall(next_t))
            t = next_t
        self._last = now

    def _apply(self, activity: Activity, when: dt.datetime) -> None:
        upto = int(activity.done)
        if upto <= activity.applied:
            return
        batch = activity.items[activity.applied : upto]
        errors = self._account.apply_memberships(activity.kind, batch, activity.list_ids)
        room = MAX_ACTIVITY_ERRORS - len(activity.errors)
        activity.errors.extend(errors[: max(room, 0)])
        activity.applied = upto
        activity.updated_at = when

    def _finish(self, activity: Activity, when: dt.datetime) -> None:
        self._pending.remove(activity)
        activity.state = activity.fate
        activity.completed_at = activity.updated_at = when
        message = _ENDING_MESSAGES.get(activity.fate)
        if message:
            left = activity.items_total - activity.applied
            activity.errors.append(
                f"{message}: {activity.applied} of {activity.items_total} items were "
                f"processed; the other {left} were not changed."
            )
