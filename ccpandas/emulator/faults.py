"""Injected faults, drawn from seeded random streams so a run can be replayed.

Each kind of fault has its own stream, and every request draws from every request
stream whether or not that fault is switched on. So the n-th request of a run meets
the same fate under the same seed, and switching one fault on does not reshuffle the
others. Activities draw their fate when they are created.

One fault is silent: a removal activity that still ends ``completed`` but leaves some
contacts on their lists (``keep_members`` names exact ``(contact_id, list_id)`` pairs,
the ``keep_rate`` setting a fraction of all removals). It lets a client's "check that
they are really gone" step be tested.

Example:
    >>> faults = Faults(seed=3)
    >>> fault = faults.for_request(Settings(error_rate=1.0))
    >>> fault.error_status in (500, 503), fault.drop
    (True, False)
"""

from __future__ import annotations

import collections
import dataclasses
import math
import random
import threading

from ccpandas.emulator.settings import Settings
from ccpandas.models import ActivityState

__all__ = ["ActivityFate", "Faults", "RequestFault"]

_ENDINGS = (ActivityState.FAILED.value, ActivityState.TIMED_OUT.value)


@dataclasses.dataclass(frozen=True)
class RequestFault:
    """What happens to one request: an injected 5xx, a dropped connection, a delay."""

    error_status: int | None = None
    drop: bool = False
    delay: float = 0.0


@dataclasses.dataclass(frozen=True)
class ActivityFate:
    """How an activity ends: ``state`` after processing ``fraction`` of its items."""

    state: str = ActivityState.COMPLETED.value
    fraction: float = 1.0

    def stop_at(self, total: int) -> int:
        """The item count at which the activity ends."""
        if self.state == ActivityState.COMPLETED.value:
            return total
        return min(total, math.floor(self.fraction * total))


class Faults:
    """Seeded decisions about request faults and activity endings."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._error = random.Random(f"{seed}:error")
        self._drop = random.Random(f"{seed}:drop")
        self._spike = random.Random(f"{seed}:spike")
        self._activity = random.Random(f"{seed}:activity")
        self._keep = random.Random(f"{seed}:keep")
        self._forced: collections.deque[ActivityFate] = collections.deque()
        #: ``(contact_id, list_id)`` pairs (lower-case) that removal activities leave in
        #: place while still ending ``completed``; a test adds to it, e.g. with
        #: ``emu.keep_members([(cid, lid)])``, and may ``clear()`` it.
        self.keep_members: set[tuple[str, str]] = set()

    def for_request(self, settings: Settings, *, read: bool = False) -> RequestFault:
        """Draw the faults of the next request; a ``read`` (GET) may also meet a 504
        gateway timeout (``gateway_timeouts``), as reads on the real service do."""
        with self._lock:
            hit, which = self._error.random(), self._error.random()
            drop = self._drop.random()
            spike = self._spike.random()
        if read and settings.gateway_timeouts:
            status = 500 if which < 1 / 3 else 503 if which < 2 / 3 else 504
        else:
            status = 500 if which < 0.5 else 503
        error_status = status if hit < settings.error_rate else None
        delay = settings.latency + (settings.spike_latency if spike < settings.spike_rate else 0)
        return RequestFault(
            error_status=error_status,
            drop=error_status is None and drop < settings.drop_rate,
            delay=delay,
        )

    def fail_next(self, count: int = 1, state: str = "failed", at: float = 0.5) -> None:
        """Make the next ``count`` activities end in ``state`` after ``at`` of their items.

        ``state`` is ``"failed"``, ``"timed_out"`` or ``"completed"``; ``at`` is a
        fraction in [0, 1] (0: nothing is processed).
        """
        if state not in (*_ENDINGS, ActivityState.COMPLETED.value):
            raise ValueError("state must be 'failed', 'timed_out' or 'completed'")
        if not 0.0 <= at <= 1.0 or count < 0:
            raise ValueError("at must be in [0, 1] and count >= 0")
        with self._lock:
            self._forced.extend(ActivityFate(state, at) for _ in range(count))

    def keep(self, contact_id: str, list_id: str, settings: Settings) -> bool:
        """True when a removal of ``contact_id`` from ``list_id`` is to be skipped silently.

        Exact pairs in :attr:`keep_members` first; then one draw from the keep stream per
        removal that would change a membership, only while ``keep_rate`` is set (so
        switching it on does not disturb the other streams).

        Example:
            >>> faults = Faults(seed=1)
            >>> faults.keep_members.add(("c1", "l1"))
            >>> faults.keep("C1", "L1", Settings()), faults.keep("c2", "l1", Settings())
            (True, False)
        """
        if (contact_id.lower(), list_id.lower()) in self.keep_members:
            return True
        if settings.keep_rate <= 0:
            return False
        with self._lock:
            return self._keep.random() < settings.keep_rate

    def for_activity(self, settings: Settings) -> ActivityFate:
        """Draw the fate of a new activity (a forced one from :meth:`fail_next` first)."""
        with self._lock:
            roll, fraction = self._activity.random(), self._activity.random()
            if self._forced:
                return self._forced.popleft()
        if roll < settings.fail_rate:
            return ActivityFate(ActivityState.FAILED.value, fraction)
        if roll < settings.fail_rate + settings.timeout_rate:
            return ActivityFate(ActivityState.TIMED_OUT.value, fraction)
        return ActivityFate()
