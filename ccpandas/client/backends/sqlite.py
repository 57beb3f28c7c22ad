"""The shared state of every process of this user on this machine, in SQLite.

The TAT of each budget key and the quota ledger live in ``quota.sqlite3`` in the data
directory; one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per slot, in WAL
mode, so every process of this user on this machine shares them. See
:mod:`ccpandas.client.shared` for what is shared and why.

Example:
    >>> import tempfile
    >>> local = LocalState(Path(tempfile.mkdtemp()) / "quota.sqlite3")
    >>> local.reserve("k", 0.25)
    0.0
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccpandas._config import data_dir
from ccpandas._secret import private_file
from ccpandas.client.backends import KEEP_DAYS, MAX_AHEAD
from ccpandas.models import quota_day

__all__ = ["ALONE_SLOTS", "LOCAL", "QUOTA_FILE", "LocalState"]

#: The file of the local state (rate-limit timestamps and the quota ledger).
QUOTA_FILE = "quota.sqlite3"
#: ``shared_state`` value for this machine only (the default).
LOCAL = "local"
#: Seconds a statement waits for another process's write lock (SQLite's busy timeout).
BUSY_WAIT = 10.0
#: The same, when the file is tried again after it failed: a lock still held costs little.
RETRY_WAIT = 0.2
#: After the file failed (locked past :data:`BUSY_WAIT`, unusable), uses that fail at
#: once, without touching it, before it is tried again (with :data:`RETRY_WAIT`).
ALONE_SLOTS = 40

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gcra (
    scope TEXT PRIMARY KEY,  -- the budget key
    tat   REAL NOT NULL      -- theoretical arrival time of the next slot (Unix seconds)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_ledger (
    scope   TEXT NOT NULL,   -- the budget key
    day     TEXT NOT NULL,   -- UTC date, YYYY-MM-DD
    process TEXT NOT NULL,   -- host:pid
    n       INTEGER NOT NULL,
    PRIMARY KEY (scope, day, process)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS held_counts (  -- ledger counts for a Redis that was away
    target  TEXT NOT NULL,   -- that Redis (its masked URL)
    scope   TEXT NOT NULL,
    day     TEXT NOT NULL,
    process TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (target, scope, day, process)
) WITHOUT ROWID;
"""

# One connection per (file, process), shared by every user of the file: a notebook may
# build many clients, and a forked child must not reuse its parent's connection.
_connections: dict[tuple[str, int], sqlite3.Connection] = {}
_connections_lock = threading.Lock()


def _connect(path: Path, wait: float = BUSY_WAIT) -> sqlite3.Connection:
    key = (str(path), os.getpid())
    with _connections_lock:
        conn = _connections.get(key)
        if conn is None:
            private_file(path)  # 0600 even in an existing 0755 folder
            conn = sqlite3.connect(
                path, timeout=wait, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # A lost slot or increment on power failure is harmless; an fsync per
            # request is not.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            horizon = (quota_day() - dt.timedelta(days=KEEP_DAYS)).isoformat()
            for table in ("quota_ledger", "held_counts"):
                conn.execute(f"DELETE FROM {table} WHERE day < ?", (horizon,))
            _connections[key] = conn
        return conn


class LocalState:
    """The shared state of every process of this user on this machine (SQLite).

    ``path`` defaults to ``quota.sqlite3`` in the data directory, resolved at first use;
    nothing touches the disk before then.

    Example:
        >>> import tempfile
        >>> local = LocalState(Path(tempfile.mkdtemp()) / "quota.sqlite3")
        >>> local.ledger_add("k", dt.date(2025, 3, 1), "host:1", 2)
        >>> local.ledger_usage("k", dt.date(2025, 3, 1))
        (2, 1)
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._failed: BaseException | None = None  # the last use's error, if it failed
        self._skip = 0  # uses left that fail at once before the file is tried again

    @property
    def path(self) -> Path:
        """The file; by default read from the data directory at each use, so a changed
        ``CCPANDAS_DATA_DIR`` is followed."""
        return self._path if self._path is not None else data_dir() / QUOTA_FILE

    def _execute(self, sql: str, params: Any = (), *, read: bool = False) -> list[tuple[Any, ...]]:
        """Run one statement. After a failed write, the next :data:`ALONE_SLOTS` writes
        (the rate limiter's and the ledger's alike) raise it again at once, and the one
        after tries the file waiting :data:`RETRY_WAIT` at most for a lock; a ``read``
        (which another process's write lock does not block) is always tried."""
        with self._lock:
            if self._failed is not None and self._skip > 0 and not read:
                self._skip -= 1
                raise sqlite3.OperationalError(str(self._failed))
            retry = self._failed is not None
            try:
                conn = _connect(self.path, RETRY_WAIT if retry else BUSY_WAIT)
                try:
                    if retry:
                        conn.execute(f"PRAGMA busy_timeout = {int(RETRY_WAIT * 1000)}")
                    rows = conn.execute(sql, params).fetchall()
                finally:
                    if retry:
                        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_WAIT * 1000)}")
            except (sqlite3.Error, OSError) as exc:
                if not read:
                    self._failed, self._skip = exc, ALONE_SLOTS
                raise
            if not read:
                self._failed = None
            return rows

    def reserve(self, scope: str, interval: float) -> float:
        """Take the next slot of ``scope``; return the seconds to wait for it."""
        now = time.time()
        # One statement: SQLite takes the write lock for it, so it is atomic across
        # processes, and no lock outlives it.
        rows = self._execute(
            "INSERT INTO gcra (scope, tat) VALUES (:scope, :now + :interval) "
            "ON CONFLICT (scope) DO UPDATE SET tat = (CASE WHEN tat < :now OR "
            "tat > :now + :ahead THEN :now ELSE tat END) + :interval RETURNING tat",
            {"scope": scope, "now": now, "interval": interval, "ahead": MAX_AHEAD},
        )
        return max(0.0, float(rows[0][0]) - interval - now)

    def defer(self, scope: str, seconds: float) -> None:
        """Hold every slot of ``scope`` back until ``seconds`` from now."""
        until = time.time() + min(max(0.0, seconds), MAX_AHEAD)
        self._execute(
            "INSERT INTO gcra (scope, tat) VALUES (:scope, :until) "
            "ON CONFLICT (scope) DO UPDATE SET tat = max(tat, :until)",
            {"scope": scope, "until": until},
        )

    def ledger_add(self, scope: str, day: dt.date, process: str, n: int) -> None:
        """Count ``n`` requests of ``process`` on ``day``."""
        self._execute(
            "INSERT INTO quota_ledger (scope, day, process, n) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, day, process) DO UPDATE SET n = n + excluded.n",
            (scope, day.isoformat(), process, int(n)),
        )

    def ledger_usage(self, scope: str, day: dt.date, *, held: str = "") -> tuple[int, int]:
        """``(requests, processes)`` counted on ``day`` for ``scope`` (a bare base URL:
        every key at that API); with ``held``, the counts held for that Redis."""
        like = scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
        table, target = ("held_counts", "target = ? AND ") if held else ("quota_ledger", "")
        rows = self._execute(
            # A process whose every request was given back (throttled...) sent none.
            "SELECT coalesce(sum(n), 0), count(DISTINCT CASE WHEN n > 0 THEN process END) "
            f"FROM {table} WHERE {target}"
            "day = ? AND (scope = ? OR (? AND scope LIKE ? ESCAPE '\\'))",
            (*([held] if held else []), day.isoformat(), scope, " " not in scope, like),
            read=True,
        )
        return int(rows[0][0]), int(rows[0][1])

    def hold(self, target: str, scope: str, day: dt.date, process: str, n: int) -> None:
        """Keep ``n`` ledger counts for the Redis ``target`` while it cannot be reached:
        on disk, so they reach it when it answers again even if this process ends."""
        self._execute(
            "INSERT INTO held_counts (target, scope, day, process, n) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (target, scope, day, process) DO UPDATE SET n = n + excluded.n",
            (target, scope, day.isoformat(), process, int(n)),
        )

    def drain_held(self, target: str, add: Callable[[str, dt.date, str, int], None]) -> None:
        """Pass each count held for ``target`` to ``add`` (which adds it to that Redis)
        and delete it in one transaction, committed once ``add`` returned: a process
        interrupted or killed meanwhile leaves the row, added again later (at worst
        one row counted twice, the safe side for a quota), never lost; another process
        draining at the same time waits for the row and finds it gone (never added
        twice). ``add``'s errors propagate, the row kept. No file is made for it."""
        check = "SELECT 1 FROM held_counts WHERE target = ? LIMIT 1"
        if not self.path.exists() or not self._execute(check, (target,), read=True):
            return  # the cheap look of every call: nothing held
        conn = sqlite3.connect(self.path, timeout=BUSY_WAIT, isolation_level=None)
        try:
            while True:
                conn.execute("BEGIN IMMEDIATE")  # the file's write lock, till COMMIT
                try:
                    row = conn.execute(
                        "DELETE FROM held_counts WHERE (target, scope, day, process) = "
                        "(SELECT target, scope, day, process FROM held_counts "
                        "WHERE target = ? LIMIT 1) RETURNING scope, day, process, n",
                        (target,),
                    ).fetchone()
                    if row is not None:
                        add(row[0], dt.date.fromisoformat(row[1]), row[2], int(row[3]))
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
                if row is None:
                    return
        finally:
            conn.close()

    def __repr__(self) -> str:
        return f"LocalState({str(self._path) if self._path else 'data dir'!r})"
