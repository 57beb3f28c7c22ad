"""The per-UTC-day request count, shared by every client and process of this user.

The API allows 10,000 requests per day per application key and resets the count at
00:00 UTC. Each :class:`~ccpandas.client.Client` adds every request that may have
reached the server to a small SQLite file in the journal directory
(``quota.sqlite3`` beside ``journal.sqlite3``), so two notebooks, or a notebook and a
script, see one count. SQLite is the lock: an increment is one atomic statement.

The count is what *this machine* spent, keyed by the API base URL: another machine or
another tool using the same application key is not in it. It informs (plans, warnings,
error messages); the API's own ``429 quota_exceeded`` stays the authority.

Counting must never break a request: if the file cannot be written, a warning is logged
once and the counter switches itself off.

Example:
    >>> import datetime as dt, tempfile, pathlib
    >>> counter = DayCounter("https://api.cc.email/v3",
    ...                      path=pathlib.Path(tempfile.mkdtemp()) / "quota.sqlite3")
    >>> day = dt.date(2025, 3, 1)
    >>> counter.add(day); counter.add(day, 2)
    >>> counter.used(day)
    3
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import threading
from pathlib import Path

from ccpandas._config import DEFAULT_BASE_URL, data_dir
from ccpandas.client.urls import normalize_base_url

__all__ = ["QUOTA_FILE", "DayCounter", "used_today"]

#: The counter's file name inside the journal directory.
QUOTA_FILE = "quota.sqlite3"
# Days of counts kept; older rows are dropped when a process first opens the file.
_KEEP_DAYS = 35

log = logging.getLogger("ccpandas")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_counts (
    scope TEXT NOT NULL,     -- the API base URL
    day   TEXT NOT NULL,     -- UTC date, YYYY-MM-DD
    n     INTEGER NOT NULL,
    PRIMARY KEY (scope, day)
) WITHOUT ROWID;
"""

# One connection per (file, process), shared by every counter: a notebook may build
# many clients, and a forked child must not reuse its parent's connection.
_connections: dict[tuple[str, int], sqlite3.Connection] = {}
_connections_lock = threading.Lock()


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _connect(path: Path) -> sqlite3.Connection:
    key = (str(path), os.getpid())
    with _connections_lock:
        conn = _connections.get(key)
        if conn is None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(
                path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # A lost increment on power failure is harmless; an fsync per request is not.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            horizon = (_today() - dt.timedelta(days=_KEEP_DAYS)).isoformat()
            conn.execute("DELETE FROM request_counts WHERE day < ?", (horizon,))
            _connections[key] = conn
        return conn


class DayCounter:
    """Requests per UTC day for one API (``scope``, the base URL), in a shared file.

    ``path`` defaults to ``quota.sqlite3`` in the journal directory
    (``CCPANDAS_DATA_DIR``, else the user data directory), resolved at first use.
    Nothing touches the disk before the first :meth:`add` or :meth:`used`.
    """

    def __init__(self, scope: str, *, path: Path | None = None) -> None:
        self.scope = scope
        self._path = path
        self._lock = threading.Lock()
        self.broken = False

    @property
    def path(self) -> Path:
        """The counter file."""
        if self._path is None:
            self._path = data_dir() / QUOTA_FILE
        return self._path

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]] | None:
        if self.broken:
            return None
        try:
            with self._lock:
                return _connect(self.path).execute(sql, params).fetchall()
        except (sqlite3.Error, OSError) as exc:
            self.broken = True
            log.warning(
                "ccpandas: cannot keep the shared daily request count in %s (%s); "
                "counting only in this client from now on",
                self._path,
                exc,
            )
            return None

    def add(self, day: dt.date | None = None, n: int = 1) -> None:
        """Count ``n`` requests on UTC ``day`` (default: today)."""
        self._run(
            "INSERT INTO request_counts (scope, day, n) VALUES (?, ?, ?) "
            "ON CONFLICT (scope, day) DO UPDATE SET n = n + excluded.n",
            (self.scope, (day or _today()).isoformat(), int(n)),
        )

    def used(self, day: dt.date | None = None) -> int:
        """Requests counted on UTC ``day`` (default: today) by every process."""
        rows = self._run(
            "SELECT n FROM request_counts WHERE scope = ? AND day = ?",
            (self.scope, (day or _today()).isoformat()),
        )
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def __repr__(self) -> str:
        return f"DayCounter({self.scope!r})"


def used_today(base_url: str | None = None) -> int:
    """Requests ccpandas sent today (UTC) to ``base_url``, from every process here.

    ``base_url`` defaults to the real API, ``https://api.cc.email/v3``.

    Example:
        >>> used_today("https://api.cc.email/v3")  # doctest: +SKIP
        1234
    """
    return DayCounter(normalize_base_url(base_url or DEFAULT_BASE_URL)).used()
