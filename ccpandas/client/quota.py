"""The daily quota ledger: requests the server counted per UTC day, for one key.

The API allows 10,000 requests per day per application key and resets the count at
00:00 UTC. Each :class:`~ccpandas.client.Client` adds every request the server counted
to a ledger shared by everyone on that key (:mod:`ccpandas.client.shared`): on one
machine ``quota.sqlite3`` in the data directory (beside ``journal.sqlite3``); in team
mode (``CCPANDAS_SHARED_STATE=redis://...``) Redis, so every machine sees one count.

What is counted (:func:`server_counted`): the API does not say which answers count
against the quota. The ledger assumes the server counts every request that passed its
limits, as the emulator (our oracle) does: every answer except ``429 throttled`` and
``429 quota_exceeded`` (the limits' own refusals cost nothing), ``401`` (a refused
token names no application to charge) and ``403`` (refused before the limits). A
``429 too_many_activities`` passed the limits and counts. Requests that got no answer
but may have reached the server (a dropped connection, a read timeout) count too, and
each request is counted right before it is sent (given back when its answer shows the
server did not count it), so a process killed meanwhile leaves it counted: the ledger
may over-count, never under-count. Token requests go to the authorization server, not
the API: they are not counted. The API's own ``429 quota_exceeded`` stays
the authority.

The ledger is per key (:class:`~ccpandas.client.shared.BudgetKey`) and per process, so
it can say "3,412 of 10,000 used today on this key by 3 processes". A ``DayCounter``
of a bare base URL reads every key at that API.

Counting must never break a request: if the local file cannot be written (another
process holds its lock too long, no permission), a warning is logged once and the counts
wait in this client, added to the file with the next write that works; the file is
tried again every 20 requests or so (Redis going away is not that: the counts are held
in the local file until it answers again).

Example:
    >>> import tempfile, pathlib
    >>> counter = DayCounter("https://api.cc.email/v3 app=demo",
    ...                      path=pathlib.Path(tempfile.mkdtemp()) / "quota.sqlite3")
    >>> day = dt.date(2025, 3, 1)
    >>> counter.add(day); counter.add(day, 2)
    >>> counter.used(day)
    3
    >>> str(counter.usage(day))
    '3 of 10,000 used on 2025-03-01 on this key by 1 process'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

from ccpandas._config import DEFAULT_BASE_URL
from ccpandas.client.shared import ALONE_SLOTS, QUOTA_FILE, BudgetKey, SharedState, resolve
from ccpandas.client.urls import normalize_base_url
from ccpandas.errors import error_entries, rate_limit_kind
from ccpandas.models import DAILY_QUOTA, quota_day

__all__ = [
    "DAILY_QUOTA",
    "QUOTA_FILE",
    "UNCOUNTED_429_KEYS",
    "UNCOUNTED_STATUSES",
    "DayCounter",
    "QuotaUsage",
    "server_counted",
    "used_today",
]

#: Statuses the server does not count against the quota (see the module docstring).
UNCOUNTED_STATUSES = frozenset({401, 403})
#: ``error_key`` of the 429 answers the server does not count: the limits' refusals.
UNCOUNTED_429_KEYS = frozenset({"throttled", "quota_exceeded"})


def server_counted(status: int, body: Any = None) -> bool:
    """Whether the server counted an answer against the daily quota (see the module
    docstring). ``body`` is the decoded error body; only a 429's is read.

    Args:
        status: The HTTP status of the answer, e.g. ``200`` or ``429``.
        body: The answer's decoded JSON body (a dict, or the API's list of errors), or None
            (the default). Only a 429's ``error_key`` matters: ``throttled`` and
            ``quota_exceeded`` are not counted.

    Returns:
        True when the answer used one request of the daily quota.

    Example:
        >>> server_counted(200), server_counted(401)
        (True, False)
        >>> server_counted(429, [{"error_key": "throttled"}])
        False
        >>> server_counted(429, [{"error_key": "too_many_activities"}])
        True
        >>> server_counted(429, {"message": "Limit Exceeded"})  # the quota's other shape
        False
    """
    if status in UNCOUNTED_STATUSES:
        return False
    if status != 429:
        return True
    entries = error_entries(body)
    key = entries[0].get("error_key") if entries else None
    return rate_limit_kind(key) not in UNCOUNTED_429_KEYS


log = logging.getLogger("ccpandas")


@dataclasses.dataclass(frozen=True)
class QuotaUsage:
    """Requests counted on one UTC day for one key, by how many processes.

    Args:
        used: Requests counted on ``day``, e.g. ``3412``.
        processes: How many processes sent them.
        day: The UTC day counted, a ``datetime.date``.
        limit: The daily quota the figure is read against. Default :data:`DAILY_QUOTA`
            (10,000).
        where: Where the ledger is: ``"this machine"`` (the default) or the masked Redis URL
            of team mode.
        stale: True when Redis could not be asked: the last figure seen, plus this machine's
            own counts since. Default False.

    Example:
        >>> str(QuotaUsage(3412, 3, day=quota_day()))
        '3,412 of 10,000 used today on this key by 3 processes'
    """

    used: int
    processes: int
    day: dt.date
    limit: int = DAILY_QUOTA
    where: str = "this machine"
    stale: bool = False

    @property
    def left(self) -> int:
        """Requests left today (never below 0)."""
        return max(0, self.limit - self.used)

    def __str__(self) -> str:
        when = "today" if self.day == quota_day() else f"on {self.day.isoformat()}"
        who = f"{self.processes:,} process{'es' * (self.processes != 1)}"
        text = f"{self.used:,} of {self.limit:,} used {when} on this key by {who}"
        return text + (" (Redis unreachable: last known figure)" if self.stale else "")


class DayCounter:
    """The ledger of one budget key (``scope``: a :class:`BudgetKey`, its text, or a
    bare base URL to read every key at that API).

    Nothing touches the disk or the network before the first :meth:`add` or
    :meth:`used`.

    Args:
        scope: Whose requests: a :class:`~ccpandas.client.shared.BudgetKey`, its text (e.g.
            ``"https://api.cc.email/v3 app=my-app"``), or a bare base URL to read every key
            at that API.
        path: A local SQLite file to keep the ledger in, instead of the shared state. None
            (the default) uses ``state``.
        state: Where the ledger lives, a :class:`~ccpandas.client.shared.SharedState`. None
            (the default) resolves it at first use (:func:`ccpandas.client.shared.resolve`:
            ``configure()``, ``CCPANDAS_SHARED_STATE``, else this machine).

    Attributes:
        day: For tests: the UTC day (a ``datetime.date``) counted and checked when none is
            given, so a test's counts and its run's quota check stay on one day across a
            midnight. None (the default): the real day (:meth:`today`). A pinned counter
            counts on that day whatever the date: past it, it is out of step with the
            API's count and with every other client's and process's.
    """

    def __init__(
        self,
        scope: str | BudgetKey,
        *,
        path: Path | None = None,
        state: SharedState | None = None,
    ) -> None:
        self._scope = scope
        self._path = path
        self._state = state
        self.broken = False  # the last use failed (the file says when to try it again)
        self.day: dt.date | None = None
        # Counts (and give-backs) not yet in the ledger: added with the next write that works.
        self._pending: dict[dt.date, int] = {}
        self._lock = threading.Lock()

    @property
    def scope(self) -> str:
        """The budget key's text."""
        return str(self._scope)

    @property
    def state(self) -> SharedState:
        """Where the ledger lives."""
        if self._state is None:
            self._state = SharedState.local(self._path) if self._path else resolve()
        return self._state

    @property
    def path(self) -> Path:
        """The local ledger file (the fallback in team mode)."""
        return self.state.local_state.path

    def _broke(self, exc: BaseException) -> None:
        if not self.broken:
            log.warning(
                f"ccpandas: cannot keep the shared daily request count in "
                f"{self._path or QUOTA_FILE} ({exc}); counting in this client, added to "
                f"it once it answers (tried again every {ALONE_SLOTS // 2} requests or so)"
            )
        self.broken = True

    def today(self) -> dt.date:
        """The UTC day counted when none is given: :attr:`day`, else the real one.

        Example:
            >>> counter = DayCounter("https://api.cc.email/v3 app=demo")
            >>> counter.day = dt.date(2025, 3, 1)
            >>> counter.today()
            datetime.date(2025, 3, 1)
        """
        return self.day or quota_day()

    def add(self, day: dt.date | None = None, n: int = 1) -> None:
        """Count ``n`` requests on UTC ``day`` (default: today). Never raises: while the
        ledger cannot be written, the counts wait in this client and are added with the
        next write that works.

        Args:
            day: The UTC day, a ``datetime.date``. None (the default) is today.
            n: How many requests to count. Default 1.
        """
        day = day or self.today()
        with self._lock:  # one write at a time: a give-back never lands before its count
            pending = self._pending
            pending[day] = pending.get(day, 0) + int(n)
            try:
                for each in list(pending):
                    if pending[each]:
                        self.state.ledger_add(self.scope, each, pending[each])
                    del pending[each]
            except (sqlite3.Error, OSError) as exc:  # what was not added stays pending
                self._broke(exc)
            else:
                self.broken = False

    def usage(self, day: dt.date | None = None) -> QuotaUsage:
        """What the ledger holds for UTC ``day`` (default: today), from every process.

        Args:
            day: The UTC day, a ``datetime.date``. None (the default) is today.

        Returns:
            A :class:`QuotaUsage`; ``str()`` of it reads "3,412 of 10,000 used today on this
            key by 3 processes".
        """
        day = day or self.today()
        used, processes, stale = 0, 0, True  # what a broken ledger can say
        try:
            used, processes, stale = self.state.ledger_usage(self.scope, day)
        except (sqlite3.Error, OSError) as exc:
            self._broke(exc)
        waiting = self._pending.get(day, 0)  # this client's counts not yet added
        processes = max(processes, int(waiting > 0))
        return QuotaUsage(used + waiting, processes, day=day, where=self.state.where, stale=stale)

    def used(self, day: dt.date | None = None) -> int:
        """Requests counted on UTC ``day`` (default: today) by every process.

        Args:
            day: The UTC day, a ``datetime.date``. None (the default) is today.
        """
        return self.usage(day).used

    def __repr__(self) -> str:
        key = self._scope if isinstance(self._scope, str) else self._scope.base_url
        return f"DayCounter({key!r})"


def used_today(base_url: str | None = None) -> int:
    """Requests ccpandas counted today (UTC) at ``base_url``, for every key and process
    sharing this machine's (or, in team mode, the team's) ledger.

    Args:
        base_url: The API whose requests to count, e.g. ``"http://127.0.0.1:8765/v3"`` for a
            local emulator. None (the default) is the real API, ``https://api.cc.email/v3``.

    Example:
        >>> used_today("https://api.cc.email/v3")  # doctest: +SKIP
        1234
    """
    return DayCounter(normalize_base_url(base_url or DEFAULT_BASE_URL)).used()
