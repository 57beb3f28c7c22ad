"""The run journal: what every removal run planned, sent and learned, in SQLite.

A removal of two million contacts takes hours; a kernel may die on the way. So each run
gets a ``run_id`` and its story goes into ``journal.sqlite3`` in the data directory
(``CCPANDAS_DATA_DIR``, else the user data directory from platformdirs):

- when the run starts: the plan (target lists, source, and the id column with its
  index: planning it again rebuilds every row, checked against a fingerprint of the
  requests) and one record per batch. Ids and missing values are kept as given; a
  value that is not an id (an e-mail address typed into the column, say) is kept only
  as a stand-in naming its type, which plans into the same ``invalid_id`` row with the
  same reason;
- before each POST: an *attempt* of that batch, outcome ``sending``;
- when the POST is answered: the outcome (``accepted`` with the activity id,
  ``rejected``, ``not_sent``, or ``uncertain`` when no answer came back);
- after each poll: the activities whose state changed;
- with each of those writes, the requests the run spent so far (a lower bound, marked
  so, until the driving call ends and writes the exact count).

Every write is committed (WAL mode, ``synchronous=FULL``) before the runner sends the
next request, so a run killed at any instant can be resumed: accepted activities are
followed again, never re-sent; a batch whose last attempt never got a usable answer is
``uncertain`` and is sent again on resume (both bulk actions are idempotent; an activity
is never taken for a batch's by its shape), every attempt on record. The activity ids
the attempts received are claimed: a 201 naming one of them again (a replayed answer)
is never followed by another batch (:meth:`RunJournal.activity_holder`).

The journal holds ids and states only: no token (not even part of one), no other
column of the DataFrame, no value of the id column that is not an id. One process at a
time drives a run: it holds an OS file lock on ``locks/<run_id>.lock`` meanwhile, which
the OS releases if the process dies.

Example:
    >>> import tempfile, pandas as pd
    >>> from ccpandas.plan.planner import plan_removal
    >>> db = JournalDB(Path(tempfile.mkdtemp()) / "journal.sqlite3")
    >>> plan = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
    ...                     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
    >>> journal = RunJournal.create(plan, db=db, base_url="http://127.0.0.1:9/v3")
    >>> db.load_plan(journal.run_id).n_requests
    1
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccpandas._config import DATA_DIR_ENV, data_dir
from ccpandas._secret import private_file
from ccpandas.errors import CCError, ConfigError, JournalError, RunLockedError
from ccpandas.models import Batch, Source, SourceKind
from ccpandas.plan.ids import INVALID, check_ids
from ccpandas.plan.membership import membership_meta
from ccpandas.plan.planner import RemovalPlan, as_kind, plan_removal, plan_source_removal
from ccpandas.store import locks
from ccpandas.store.batch import BatchRun
from ccpandas.store.codec import _opaque_type, decode_series, encode_series
from ccpandas.store.snapshots import insert_row, rebuild_membership_plan, update_rows
from ccpandas.vocab import (
    AttemptReason,
    BatchState,
    Outcome,
    RowStatus,
    RunKind,
    RunOutcome,
)

log = logging.getLogger("ccpandas")

__all__ = [
    "DATA_DIR_ENV",
    "JOURNAL_FILE",
    "RUN_KINDS",
    "JournalDB",
    "RunJournal",
    "RunLockedError",
    "data_dir",
    "open_journal",
]

#: The journal's file name inside the data directory (:func:`data_dir`).
JOURNAL_FILE = "journal.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    base_url    TEXT,             -- scheme://host/path only: a base URL never holds secrets
    source      TEXT NOT NULL,    -- source kind
    list_ids    TEXT NOT NULL,    -- JSON array of target list ids
    n_rows      INTEGER NOT NULL,
    n_contacts  INTEGER,          -- NULL when the API selects the contacts
    n_batches   INTEGER NOT NULL,
    plan        TEXT NOT NULL,    -- JSON: source, exclude, column, pace, notes, digest
    rows        BLOB NOT NULL,    -- zlib-compressed JSON: the id column (invalid values
                                  -- as stand-ins), with its index
    status      TEXT NOT NULL,    -- running | ended | stopped
    stop_reason TEXT,             -- why it last stopped (quota_exceeded, interrupted, ...)
    stopped_at  TEXT              -- then the _ADDED_RUN_COLUMNS
);
CREATE TABLE IF NOT EXISTS batches (
    run_id          TEXT NOT NULL,
    batch           INTEGER NOT NULL,
    state           TEXT NOT NULL,    -- {states}
    activity_id     TEXT,
    previous_ids    TEXT NOT NULL DEFAULT '[]',
    attempts        INTEGER NOT NULL DEFAULT 0,
    resent          INTEGER NOT NULL DEFAULT 0,
    percent_done    INTEGER NOT NULL DEFAULT 0,
    items_completed INTEGER NOT NULL DEFAULT 0,
    items_total     INTEGER NOT NULL DEFAULT 0,
    errors          TEXT NOT NULL DEFAULT '[]',
    submitted_at    TEXT,
    finished_at     TEXT,
    PRIMARY KEY (run_id, batch)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts (
    run_id      TEXT NOT NULL,
    batch       INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    reason      TEXT NOT NULL,    -- {reasons}
    sent_at     TEXT NOT NULL,
    answered_at TEXT,
    outcome     TEXT NOT NULL,    -- {outcomes}
    activity_id TEXT,
    resends     INTEGER NOT NULL DEFAULT 0,  -- re-sent by the client after no answer
    error       TEXT,
    PRIMARY KEY (run_id, batch, attempt)
) WITHOUT ROWID;
-- Who holds an activity id: looked up at every 201 (a replayed answer names one held).
CREATE INDEX IF NOT EXISTS attempts_by_activity ON attempts (activity_id);
-- Membership snapshots (ccpandas.read.snapshot): contact ids, statuses, list and tag ids
-- only, never an email address.
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id   TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    base_url      TEXT,
    run_id        TEXT,             -- the run it belongs to (NULL until the run starts)
    phase         TEXT NOT NULL,    -- before | after (verification)
    list_ids      TEXT NOT NULL,    -- JSON array of the lists read
    status_filter TEXT NOT NULL,
    state         TEXT NOT NULL,    -- reading | complete | outdated
    passes        TEXT NOT NULL,    -- JSON: per 25 lists {{lists, next (cursor), done, pages}}
    summary       TEXT              -- after: removed memberships per list, for runs();
                                    -- then the _ADDED_SNAPSHOT_COLUMNS
);
CREATE TABLE IF NOT EXISTS snapshot_pages (
    snapshot_id TEXT NOT NULL,
    pass        INTEGER NOT NULL,
    page        INTEGER NOT NULL,
    members     BLOB NOT NULL,      -- store.codec.encode_page: 'CCJ3' + zlib of the kept
                                    -- members (UUID bytes or positions into the run's input,
                                    -- small codes) and the others' counts (older pages:
                                    -- 'CCJ2', every member; zlib JSON [[contact_id, status,
                                    -- [list ids], [tag ids]]]; both still read)
    PRIMARY KEY (snapshot_id, pass, page)
) WITHOUT ROWID;
""".format(
    # The vocabularies in the comments come from the enums, never retyped. (No CHECK
    # constraint: CREATE TABLE IF NOT EXISTS could not add one to an existing file.)
    outcomes=" | ".join(Outcome),
    reasons=" | ".join(AttemptReason),
    states=" | ".join(BatchState),
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def _from_iso(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


#: The columns of :meth:`JournalDB.attempts`, in order.
_ATTEMPT_COLUMNS = [
    "batch",
    "attempt",
    "reason",
    "sent_at",
    "answered_at",
    "outcome",
    "activity_id",
    "resends",
    "error",
]
_DIED = "no answer recorded: the process ended while the request was out"
_INTERRUPTED = "interrupted while the request was out"

#: The kinds of run: a removal, or an undo re-adding what a removal removed.
RUN_KINDS = tuple(str(k) for k in RunKind)
# Columns added after the first release: (name, definition), defined here only. Every
# journal file gets them on open, a new one as an old one (CREATE TABLE IF NOT EXISTS
# leaves an old table as is).
_ADDED_RUN_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT 'remove'"),  # a RunKind word: remove | undo | ...
    ("parent", "TEXT"),  # an undo: the run it reverses
    # The summary's word (a RunOutcome) when the driving call returned; NULL: older, or
    # died while driven.
    ("outcome", "TEXT"),
    ("spent", "TEXT"),  # the requests spent per part, as JSON (Summary.spent)
)
# JSON {by, keys[, fingerprint]}: the members its pages keep (the rest counted); NULL:
# every member.
_ADDED_SNAPSHOT_COLUMNS = (("selection", "TEXT"),)


#: The key of a journaled ``spent`` counted while a process drove the run: a lower bound
#: (that process may have been killed before counting its last requests).
_AT_LEAST = "at_least"


def journaled_spent(value: str | None) -> tuple[dict[str, int] | None, bool]:
    """A run's journaled ``spent`` column: the requests per part (None: not counted), and
    True when that is a lower bound (counted while a process drove the run).

    Example:
        >>> journaled_spent('{"reads": 2, "changes": 1, "at_least": 1}')
        ({'reads': 2, 'changes': 1}, True)
        >>> journaled_spent(None)
        (None, False)
    """
    if not (spent := json.loads(value or "null")):
        return None, False
    at_least = bool(spent.pop(_AT_LEAST, False))
    return {k: int(v) for k, v in spent.items()}, at_least


def _spent_json(spent: Mapping[str, int], at_least: bool) -> str:
    counts = {k: int(v) for k, v in spent.items()}
    return json.dumps({**counts, _AT_LEAST: 1} if at_least else counts)


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an existing journal file's tables up to this version's columns."""
    for table, added in (("runs", _ADDED_RUN_COLUMNS), ("snapshots", _ADDED_SNAPSHOT_COLUMNS)):
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, definition in added:
            if name in have:
                continue
            try:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")
            except sqlite3.OperationalError as exc:
                # Another process added it between our check and our ALTER.
                if "duplicate column" not in str(exc):
                    raise
    # After the parent column: a result asks for its undos at every summary.
    conn.execute("CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent)")


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the next request goes out.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        _migrate(conn)
        conn.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    except BaseException:
        conn.close()
        raise
    return conn


def _open_with_retry(path: Path, seconds: float = 30.0) -> sqlite3.Connection:
    """Open (and on first use create) the journal. Several processes starting at once on
    a new file race for the switch to WAL, which SQLite answers "database is locked"
    without waiting for its busy timeout: such an answer is retried, briefly."""
    deadline = time.monotonic() + seconds
    delay = 0.02
    while True:
        try:
            return _open(path)
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


# --------------------------------------------------------------------------- the file

# SQLite's words for a file that is not (or no longer) a sound database.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _damaged(exc: sqlite3.Error) -> bool:
    name = str(getattr(exc, "sqlite_errorname", ""))
    return name.startswith(_DAMAGED) or any(w in str(exc) for w in ("malformed", "not a database"))


def journal_error(path: Path, exc: sqlite3.Error) -> JournalError:
    """What to tell a user whose journal file failed: damaged, full disk, or else.

    The file is never moved or replaced on its own: it is the only record from which
    the runs it holds can be resumed or undone, so setting it aside is the user's call.

    Example:
        >>> error = sqlite3.DatabaseError("file is not a database")
        >>> str(journal_error(Path("j.sqlite3"), error))[:40]
        'the run journal j.sqlite3 is damaged (fi'
    """
    name = str(getattr(exc, "sqlite_errorname", ""))
    if _damaged(exc):
        text = (
            f"the run journal {path} is damaged ({exc}) and cannot be used. Move it "
            f"aside (rename it, e.g. to {path.name}.damaged, with any {path.name}-wal "
            f"and -shm beside it): the next run starts a new journal. The runs recorded "
            "in the old file can then no longer be listed, resumed or undone from here "
            f"(sqlite3's .recover command may save some). Or set {DATA_DIR_ENV} to "
            "another directory."
        )
    elif name == "SQLITE_FULL" or "full" in str(exc):
        text = (
            f"the run journal {path} could not be written: the disk is full ({exc}). "
            "Free some space: every step written before is kept."
        )
    else:
        text = (
            f"the run journal {path} could not be read or written ({exc}). Check that "
            f"the file and its directory are writable and on a local disk, or set "
            f"{DATA_DIR_ENV} to another directory."
        )
    return JournalError(text, path=path)


@contextlib.contextmanager
def _not_started() -> Iterator[None]:
    """A new run the journal could not record: nothing of it exists, nothing was sent."""
    try:
        yield
    except JournalError as exc:
        raise JournalError(
            f"{exc} No run was started and nothing was sent.",
            path=exc.path,
        ) from exc.__cause__


class JournalDB:
    """One journal file. Thread-safe; one connection per process.

    Nothing touches the disk before the first query; :func:`open_journal` gives one
    shared object per file.

    Args:
        path: The SQLite file, e.g. ``journal.sqlite3`` in the data directory; created, with
            its directory, on first use.

    Example:
        >>> import tempfile
        >>> JournalDB(Path(tempfile.mkdtemp()) / "journal.sqlite3").run_ids()
        []
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0

    def __repr__(self) -> str:
        return f"JournalDB({str(self.path)!r})"

    def connect(self) -> sqlite3.Connection:
        """The open connection (opened, and the schema created, on first use)."""
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                try:
                    private_file(self.path)  # 0600 even in an existing 0755 folder
                    conn = _open_with_retry(self.path)
                except (sqlite3.DatabaseError, OSError) as exc:
                    if isinstance(exc, sqlite3.DatabaseError) and _damaged(exc):
                        raise journal_error(self.path, exc) from exc
                    raise ConfigError(
                        f"cannot open the run journal {self.path}: {exc}. Set "
                        f"{DATA_DIR_ENV} to a writable local directory (the journal lets "
                        "a run resume after a crash), or pass journal=False to run_plan."
                    ) from exc
                self._conn, self._pid = conn, os.getpid()
            return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: one durable write, or none."""
        with self._lock:
            conn = self.connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    # SQLite may have rolled back on its own (a full disk): then there
                    # is nothing left to roll back, and the first error is the one to tell.
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise journal_error(self.path, exc) from exc

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read-only query.

        Args:
            sql: One SQL ``SELECT``, with ``?`` placeholders, e.g.
                ``"SELECT run_id FROM runs WHERE status = ?"``.
            params: The values of the placeholders, in order. Default none.

        Returns:
            One dict per row, column name to value.
        """
        with self._lock:
            conn = self.connect()
            try:
                cursor = conn.execute(sql, tuple(params))
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except sqlite3.Error as exc:
                raise journal_error(self.path, exc) from exc

    @contextlib.contextmanager
    def readable(self, run_id: str) -> Iterator[None]:
        """A record of ``run_id`` that cannot be decoded (SQLite checks no page's
        bytes: a disk fault, a half-written page, another version's format) is a
        :class:`JournalError` naming the file and the run, never a zlib or JSON error.

        Args:
            run_id: The run whose records the block reads (named in the error).
        """
        try:
            yield
            return
        except JournalError as exc:
            if exc.path is not None:
                raise
            cause: BaseException = exc
        except CCError:
            raise
        except (zlib.error, ValueError, KeyError) as exc:
            cause = exc
        raise JournalError(
            f"the run journal {self.path} holds a record of run {run_id} that cannot be "
            f"read ({cause}): the file is damaged, or another ccpandas version wrote it. "
            "That run cannot be rebuilt, resumed or undone from it. If the file is "
            f"damaged, move it aside (rename it, with any {self.path.name}-wal and -shm "
            f"beside it; sqlite3's .recover command may save some runs) or set "
            f"{DATA_DIR_ENV} to another directory.",
            path=self.path,
        ) from cause

    # -- reading --------------------------------------------------------------------
    def run_ids(self) -> list[str]:
        """Every run in the journal, newest first."""
        return [r["run_id"] for r in self.query("SELECT run_id FROM runs ORDER BY created_at DESC")]

    def run_record(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of ``run_id``; CCError naming the known runs if unknown.

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.
        """
        if not (rows := self.query("SELECT * FROM runs WHERE run_id = ?", (run_id,))):
            known = ", ".join(self.run_ids()[:5]) or "none"
            raise CCError(
                f"no run {run_id!r} in the journal {self.path} (latest runs: {known}). "
                "ccpandas.runs() lists them."
            )
        return rows[0]

    def attempts(self, run_id: str) -> pd.DataFrame:
        """Every POST attempt of a run: batch, attempt, reason, outcome, activity id...

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.

        Returns:
            A DataFrame with one row per attempt: ``batch``, ``attempt``, ``reason``,
            ``sent_at``, ``answered_at``, ``outcome``, ``activity_id``, ``resends`` and
            ``error``.

        Example:
            >>> open_journal().attempts(result.run_id)  # doctest: +SKIP
        """
        self.run_record(run_id)
        rows = self.query(
            f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM attempts WHERE run_id = ? "
            "ORDER BY batch, attempt",
            (run_id,),
        )
        frame = pd.DataFrame.from_records(rows, columns=_ATTEMPT_COLUMNS)
        for col in ("sent_at", "answered_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
        return frame

    def load_plan(self, run_id: str, record: dict[str, Any] | None = None) -> RemovalPlan:
        """The run's plan, rebuilt from the journal (the same batches, checked).

        Args:
            run_id: The id of a removal run (not an undo), e.g.
                ``"20250301-231501-7f3a2c"``.
            record: The run's ``runs`` row when the caller has read it; None (the
                default) reads it.

        Raises:
            CCError: The run is unknown, is not a removal, or does not rebuild into the
                requests it sent.
        """
        record = record or self.run_record(run_id)
        if (record.get("kind") or RunKind.REMOVE) == RunKind.UNDO:
            raise CCError(
                f"run {run_id} is an {record['kind']} (of run {record.get('parent')}), not "
                "a removal: ccpandas.run_result() and ccpandas.resume() rebuild it"
            )
        return _rebuild_plan(record, self)

    def load_runs(self, run_id: str, plan: Any) -> list[BatchRun]:
        """The run's batches (``plan.batches``) with the states last recorded.

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.
            plan: The run's plan (from :meth:`load_plan`), whose batches to fill in.
        """
        runs = [BatchRun(b) for b in plan.batches]
        _apply_records(runs, self._batch_records(run_id))
        return runs

    def _batch_records(self, run_id: str) -> list[dict[str, Any]]:
        return self.query("SELECT * FROM batches WHERE run_id = ? ORDER BY batch", (run_id,))

    def undone_by(self, run_id: str, *, sent: bool = True) -> dict[str, Any] | None:
        """The latest undo journaled of ``run_id`` (over or not): its ``run_id``,
        ``status``, ``stop_reason`` and ``outcome``; None when it was not undone. The
        one answer to "was this run undone?" (its summary, runs(), the refusals).

        Args:
            run_id: The run undone, e.g. ``"20250301-231501-7f3a2c"``.
            sent: True (the default, what "undone" means): leave out an undo that
                stopped before any request of it could reach the API (each refused or
                never sent, none sent again); one still running, or just journaled,
                counts. False: any.

        Example:
            >>> open_journal().undone_by("20250301-231501-7f3a2c")["run_id"]  # doctest: +SKIP
            '20250302-080000-1a2b3c'
        """
        went = (  # not stopped, or an attempt that went out (a resend may have too)
            " AND (r.status != 'stopped' OR EXISTS (SELECT 1 FROM attempts a"
            " WHERE a.run_id = r.run_id AND (a.resends > 0"
            f" OR a.outcome NOT IN ('{Outcome.NOT_SENT}', '{Outcome.REJECTED}'))))"
        )
        rows = self.query(
            "SELECT run_id, status, stop_reason, outcome FROM runs r WHERE kind = 'undo' "
            f"AND parent = ?{went if sent else ''} ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (run_id,),
        )
        return rows[0] if rows else None

    # -- locks ----------------------------------------------------------------------
    def unanswered(self, run_id: str) -> set[int]:
        """The batches of ``run_id`` whose attempt a dead process left ``sending``: no
        answer on record, so a resume sends them again. Empty while a process drives
        the run (its POST is on its way).

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.
        """
        return set() if self.is_driven(run_id) else self._sending(run_id)

    def _sending(self, run_id: str) -> set[int]:
        """The batches of ``run_id`` with an attempt still ``sending`` (recovery settles
        each such attempt, the last and any earlier one a crash left)."""
        sql = f"SELECT batch FROM attempts WHERE run_id = ? AND outcome = '{Outcome.SENDING}'"
        return {row["batch"] for row in self.query(sql, (run_id,))}

    def is_driven(self, run_id: str, *, shared_state: Any = None) -> bool:
        """True when some process holds the run's lock now (in team mode, on any
        machine: see :func:`ccpandas.client.shared.resolve`).

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.
            shared_state: Where run locks are shared in team mode: a
                :class:`~ccpandas.client.shared.SharedState`, a ``"redis://..."`` URL or
                ``"local"``. None (the default) uses :func:`ccpandas.configure`'s, else
                ``CCPANDAS_SHARED_STATE``, else this machine's.
        """
        return locks.is_driven(locks.lock_path(self.path, run_id), run_id, shared_state)


_journals: dict[str, JournalDB] = {}
_journals_lock = threading.Lock()


def open_journal(path: Path | str | None = None) -> JournalDB:
    """The journal at ``path`` (default: ``journal.sqlite3`` in :func:`data_dir`).

    One :class:`JournalDB` per file is kept, so every caller shares its connection.

    Args:
        path: The journal file, e.g. ``"~/runs/journal.sqlite3"``. None (the default) is
            ``journal.sqlite3`` in the data directory (``CCPANDAS_DATA_DIR``, else the user
            data directory).

    Example:
        >>> open_journal().path.name  # doctest: +SKIP
        'journal.sqlite3'
    """
    resolved = Path(path) if path is not None else data_dir() / JOURNAL_FILE
    key = str(resolved.expanduser().absolute())
    with _journals_lock:
        db = _journals.get(key)
        if db is None:
            db = _journals[key] = JournalDB(Path(key))
        return db


# --------------------------------------------------------------------------- one run


class RunJournal:
    """The journal of one run: what the runner calls (see :class:`ccpandas.run.runner.Journal`).

    Build it with :meth:`create` (a new run) or :meth:`open` (an existing one).

    Args:
        db: The journal file the run is in (a :class:`JournalDB`).
        run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
            ``"20250301-231501-7f3a2c"``.
        base_url: The API the run talks to, as recorded; None when unknown.
    """

    def __init__(self, db: JournalDB, run_id: str, *, base_url: str | None = None) -> None:
        self.db = db
        self.run_id = run_id
        self.base_url = base_url
        self._held = False  # this object holds the run's lock (hold() is re-entrant)
        self._attached = False  # and drives the run (attach() is re-entrant too)
        self._resent_at_send: dict[int, int] = {}
        self._counting: Callable[[], Mapping[str, int] | None] | None = None  # counting()

    def __repr__(self) -> str:
        return f"RunJournal({self.run_id!r}, {str(self.db.path)!r})"

    @classmethod
    def create(
        cls,
        plan: RemovalPlan,
        *,
        base_url: str | None = None,
        db: JournalDB | None = None,
        now: dt.datetime | None = None,
        verify: bool | str = True,
    ) -> RunJournal:
        """Record a new run of ``plan`` (durably) and return its journal.

        Args:
            plan: The :class:`~ccpandas.plan.planner.RemovalPlan` to run: its input column,
                batches and settings are recorded, so another process can rebuild it.
            base_url: The API the run talks to, e.g. ``"https://api.cc.email/v3"``; a resume
                refuses a client for another. None (the default) records none.
            db: The journal file to write in (a :class:`JournalDB`). None (the default)
                opens the one in the data directory (:func:`open_journal`).
            now: The run's creation time (UTC), which also names it. None (the default) is
                now; tests pass a fixed one.
            verify: The run's ``verify`` option (a re-read of the lists at the end, with a
                membership snapshot), kept so a resume in another process does the same.
                Default True.
        """
        # The column's name as given when JSON holds it (text, a number, None), else text.
        column = plan.column
        column = column if isinstance(column, str | int | float | None) else str(column)
        meta: dict[str, Any] = {
            "verify": verify,
            "source": {"kind": plan.source.kind.value, "values": _source_values(plan)},
            "column": column,
            "rate": plan.rate,
            "daily_quota": plan.daily_quota,
            "notes": list(plan.notes),
        }
        if getattr(plan, "list_names", None):
            # The names as given, so a resume elsewhere names the lists (runs() reads it).
            meta["list_names"] = dict(plan.list_names)
        # -- membership snapshot (ccpandas.read.snapshot): ids and costs, no address.
        membership = getattr(plan, "membership", None)
        if membership is not None and membership.snapshot_id is not None:
            meta["membership"] = membership_meta(membership)
        blob = _encode_input(plan)
        return cls.create_run(plan, meta=meta, rows_blob=blob, base_url=base_url, db=db, now=now)

    @classmethod
    def create_run(
        cls,
        plan: Any,
        *,
        meta: dict[str, Any],
        rows_blob: bytes,
        parent: str | None = None,
        base_url: str | None = None,
        db: JournalDB | None = None,
        now: dt.datetime | None = None,
    ) -> RunJournal:
        """Record a new run of any kind (:meth:`create` records a removal, add or sync
        plan; an ``undo`` of ``parent`` comes here directly): its meta (with the batches'
        digest), one record per batch, and the membership snapshot it was planned from
        (``meta["membership"]``), all in one transaction.

        Args:
            plan: The run's plan: its ``kind`` (one of :data:`RUN_KINDS`), ``source`` (the
                kind of its requests' source, e.g. ``contact_ids``), ``list_ids`` (target
                lists, in order), ``n_rows`` (an undo: the pairs), ``n_contacts`` (None when
                the API selects them) and ``batches`` (its requests, in order) are recorded.
            meta: What rebuilding the run needs, as a JSON-ready dict; the batches' digest
                is added.
            rows_blob: Its rows, encoded as bytes by the caller, to rebuild the result.
            parent: The run it reverses (an undo's removal run id); None (the default) for
                a run of another kind.
            base_url: The API the run talks to, e.g. ``"https://api.cc.email/v3"``; a resume
                refuses a client for another. None (the default) records none.
            db: The journal file to write in (a :class:`JournalDB`). None (the default)
                opens the one in the data directory (:func:`open_journal`).
            now: The run's creation time (UTC), which also names it. None (the default) is
                now; tests pass a fixed one.

        Raises:
            ValueError: ``plan.kind`` is not one of :data:`RUN_KINDS`.

        Example:
            >>> import tempfile, types
            >>> db = JournalDB(Path(tempfile.mkdtemp()) / "journal.sqlite3")
            >>> plan = types.SimpleNamespace(kind="undo", source=Source.contact_ids([]),
            ...     list_ids=[], n_rows=0, n_contacts=0, batches=[])
            >>> j = RunJournal.create_run(plan, parent="r1", meta={}, rows_blob=b"", db=db)
            >>> db.run_record(j.run_id)["kind"], db.run_record(j.run_id)["parent"]
            ('undo', 'r1')
        """
        kind = str(plan.kind)
        if kind not in RUN_KINDS:
            raise ValueError(f"kind must be one of {RUN_KINDS}, not {kind!r}")
        db = db or open_journal()
        now = now or _utcnow()
        run_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        batches = plan.batches
        meta = {**meta, "digest": plan_digest(batches)}
        with _not_started(), db.transaction() as conn:
            insert_row(
                conn,
                "runs",
                run_id=run_id,
                created_at=_iso(now),
                updated_at=_iso(now),
                base_url=base_url,
                source=plan.source.kind.value,
                list_ids=json.dumps(list(plan.list_ids)),
                n_rows=plan.n_rows,
                n_contacts=plan.n_contacts,
                n_batches=len(batches),
                plan=json.dumps(meta),
                rows=rows_blob,
                status="ended",
                kind=kind,
                parent=parent,
            )
            conn.executemany(
                "INSERT INTO batches (run_id, batch, state) VALUES (?, ?, ?)",
                [(run_id, b.index, BatchState.PENDING) for b in batches],
            )
            if "membership" in meta:  # the snapshot the plan was made from is the run's
                snapshot = {"snapshot_id": meta["membership"]["snapshot_id"]}
                update_rows(conn, "snapshots", snapshot, run_id=run_id, phase="before")
        return cls(db, run_id, base_url=base_url)

    @classmethod
    def open(cls, run_id: str, *, db: JournalDB | None = None) -> RunJournal:
        """The journal of an existing run.

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
                ``"20250301-231501-7f3a2c"``.
            db: The journal file to look in (a :class:`JournalDB`). None (the default) opens
                the one in the data directory (:func:`open_journal`).

        Raises:
            CCError: No such run in the journal.
        """
        db = db or open_journal()
        record = db.run_record(run_id)
        return cls(db, run_id, base_url=record["base_url"])

    # -- driving ----------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(
        self, shared_state: Any = None, *, wait: float = 0.0, then: str = "resume it"
    ) -> Iterator[None]:
        """Hold the run's lock alone, re-entrant within this object: what
        :meth:`attach` takes first, what a resume holds while it reads the lists
        again before it sends, and what an undo holds on the run it reverses while it
        checks that no other undo of it was journaled and journals itself.

        Args:
            shared_state: Where run locks are shared in team mode, as for :meth:`attach`.
            wait: Seconds to wait for the lock when another process holds it. Default 0.
            then: What :class:`RunLockedError` says to do once that process is done with
                the run. Default ``"resume it"``; an undo's claim says ``"undo it again"``.

        Raises:
            RunLockedError: Another process drives the run right now.
        """
        if self._held:
            yield
            return
        path = locks.lock_path(self.db.path, self.run_id)
        with locks.hold_run(path, self.run_id, shared_state, wait=wait, then=then):
            self._held = True
            try:
                yield
            finally:
                self._held = False

    @contextlib.contextmanager
    def attach(self, runs: Sequence[BatchRun], *, shared_state: Any = None) -> Iterator[None]:
        """Hold the run while this process drives it.

        Takes the run's lock (:meth:`hold`: :class:`RunLockedError` if another process
        has it), brings ``runs`` up to date with the journal (another process may have
        moved the run on), and turns attempts left ``sending`` by a dead process into
        ``uncertain``: their batches are sent again. In team mode (``shared_state``, by
        default ``ccpandas.configure`` / ``CCPANDAS_SHARED_STATE``) the lock is also
        taken in Redis, so a kernel on another machine cannot drive the run either.

        Args:
            runs: The run's :class:`~ccpandas.store.batch.BatchRun` objects, one per batch, in
                order.
            shared_state: Where run locks are shared in team mode: a
                :class:`~ccpandas.client.shared.SharedState`, a ``"redis://..."`` URL or
                ``"local"``. None (the default) uses :func:`ccpandas.configure`'s, else
                ``CCPANDAS_SHARED_STATE``, else this machine's.

        Raises:
            RunLockedError: Another process drives the run right now.
        """
        if self._attached:  # re-entrant within this object
            yield
            return
        with self.hold(shared_state):
            self.catch_up(runs)
            self._attached = True
            try:
                with self.db.transaction() as conn:
                    self._set(conn, status="running", updated_at=_iso(_utcnow()))
                yield
            finally:
                self._attached = False

    @contextlib.contextmanager
    def counting(self, spent: Callable[[], Mapping[str, int] | None]) -> Iterator[None]:
        """While held, each write of the run also records ``spent()`` (the requests spent
        so far, per part; None: not known) as a lower bound: a process killed mid-way
        leaves at least that count, with no write of its own (:meth:`run_outcome`
        writes the exact one).

        Args:
            spent: What the run spent so far, asked at each write.
        """
        before, self._counting = self._counting, spent
        try:
            yield
        finally:
            self._counting = before

    def spent_record(self) -> tuple[dict[str, int] | None, bool]:
        """The run's journaled requests spent, per part (None: not counted), and True
        when that is a lower bound (:func:`journaled_spent`): under :meth:`hold`, what a
        call adds its own requests to (another process may have driven the run since).
        A CCError when the file no longer has the run: the call stops there.
        """
        if not (rows := self.db.query("SELECT spent FROM runs WHERE run_id = ?", (self.run_id,))):
            raise CCError(
                f"the journal {self.db.path} no longer has run {self.run_id} (its file was "
                "set aside or replaced, or the run deleted from it, since this result was "
                "made): whether the run was undone or moved on elsewhere is not known, and "
                "nothing could be recorded; nothing was sent or read. Put the journal file "
                f"back (in the folder {DATA_DIR_ENV} names), then call again."
            )
        return journaled_spent(rows[0]["spent"])

    def catch_up(self, runs: Sequence[BatchRun]) -> None:
        """``runs`` as the journal has them (another call or process may have moved the
        run on), under :meth:`hold`; a batch whose attempt a dead process left
        ``sending`` is ``uncertain`` (sent again), and so is that attempt. Nothing when
        this object drives the run: its ``runs`` are the journal's news.

        Args:
            runs: The run's batches, in order.
        """
        if self._attached:
            return
        dangling = self.db._sending(self.run_id)
        _apply_records(runs, self.db._batch_records(self.run_id))
        mark_unanswered(runs, dangling)
        if dangling:
            self._settle(runs, dangling, _DIED)

    def activity_holder(self, activity_id: str) -> str | None:
        """Which batch of a run in this journal file, on this run's API, an attempt of
        which received ``activity_id``: a 201 naming it again is a replayed answer,
        never another batch's to follow.

        Args:
            activity_id: The id a 201 named.

        Returns:
            e.g. ``"batch 3 of run 20250301-231501-7f3a2c"``, or None when no attempt on
            record received it.
        """
        rows = self.db.query(
            "SELECT a.run_id, a.batch FROM attempts a JOIN runs r ON r.run_id = a.run_id "
            "WHERE a.activity_id = ? AND r.base_url IS ? LIMIT 1",
            (activity_id, self.base_url),
        )
        return f"batch {rows[0]['batch']} of run {rows[0]['run_id']}" if rows else None

    def settle(self, runs: Sequence[BatchRun]) -> None:
        """After an interruption in this process: the attempts still ``sending`` get the
        outcome their batch holds in memory (``uncertain`` unless its answer arrived),
        and every batch is written as the runner knows it. ``runs()`` then counts as
        uncertain exactly the batches a resume sends again.

        Args:
            runs: The run's :class:`~ccpandas.store.batch.BatchRun` objects, one per batch, in
                order.
        """
        self._settle(runs, self.db._sending(self.run_id), _INTERRUPTED)

    def _settle(self, runs: Sequence[BatchRun], dangling: set[int], unanswered: str) -> None:
        """The ``dangling`` attempts (still ``sending``) get their batch's outcome in
        ``runs`` (``uncertain``, error ``unanswered``, unless its answer arrived), and
        every batch is written as ``runs`` have it."""
        by_index = {r.batch.index: r for r in runs}
        now = _iso(_utcnow())
        with self.db.transaction() as conn:
            for batch in dangling:
                run = by_index.get(batch)
                outcome = run.outcome if run is not None else None
                if outcome is None or outcome is Outcome.SENDING:
                    outcome = Outcome.UNCERTAIN
                unsure = outcome is Outcome.UNCERTAIN
                aid = run.activity_id if run is not None and outcome is Outcome.ACCEPTED else None
                why = run.last_error if run is not None and not unsure else unanswered
                update_rows(
                    conn,
                    "attempts",
                    {"run_id": self.run_id, "batch": batch, "outcome": Outcome.SENDING},
                    outcome=outcome,
                    answered_at=None if unsure else now,
                    activity_id=aid,
                    error=why,
                )
            self._write_batches(conn, runs, now)

    def run_stopped(self, reason: str | None) -> None:
        """The driving call returned: ``reason`` None when it ended normally, else why
        it stopped (``quota_exceeded``, ``interrupted``, an error's name...).

        Args:
            reason: Why the run stopped, e.g. ``"quota_exceeded"``; None when it ended
                normally.
        """
        now, status = _iso(_utcnow()), "ended" if reason is None else "stopped"
        with self.db.transaction() as conn:
            self._set(conn, status=status, stop_reason=reason, stopped_at=now, updated_at=now)

    def run_outcome(
        self,
        outcome: str,
        reason: str | None = None,
        spent: Mapping[str, int] | None = None,
        at_least: bool = False,
    ) -> None:
        """Record the run's summary word (:class:`~ccpandas.vocab.RunOutcome`) as the
        driving call left it: ``ccpandas.runs()`` shows the same word as the result.

        Args:
            outcome: The word, e.g. ``"completed"``.
            reason: Why a run left ``processing`` is not followed (``timeout``,
                ``not_waited``), kept as its ``stop_reason``; None keeps the one
                :meth:`run_stopped` wrote.
            spent: The requests the run spent so far, per part (reads, changes, polls,
                verification); None keeps what was journaled.
            at_least: ``spent`` is a lower bound (it adds to what a killed process
                counted).
        """
        word = RunOutcome(outcome)  # a fixed word of the vocabulary, never free text
        extra: dict[str, Any] = {} if reason is None else {"stop_reason": reason}
        if spent is not None:
            extra["spent"] = _spent_json(spent, at_least)
        with self.db.transaction() as conn:
            self._set(conn, outcome=str(word), **extra)

    # -- the runner's hooks (each one commits before returning) ------------------------
    def batch_sending(self, run: BatchRun) -> None:
        """Record an attempt of ``run`` as ``sending``, durably, before the POST.

        Args:
            run: The batch (a :class:`~ccpandas.store.batch.BatchRun`) about to be sent.
        """
        index = run.batch.index
        if run.state is BatchState.UNCERTAIN:
            reason = AttemptReason.UNCERTAIN
        elif run.failed or run.state is BatchState.REJECTED:
            reason = AttemptReason.RETRY_FAILED
        else:
            reason = AttemptReason.FIRST
        self._resent_at_send[index] = run.resent
        now = _iso(_utcnow())
        with self.db.transaction() as conn:
            (last,) = conn.execute(
                "SELECT COALESCE(MAX(attempt), 0) FROM attempts WHERE run_id = ? AND batch = ?",
                (self.run_id, index),
            ).fetchone()
            if reason is AttemptReason.FIRST and last:
                reason = AttemptReason.RESEND  # sent before without reaching the API
            conn.execute(
                "INSERT INTO attempts (run_id, batch, attempt, reason, sent_at, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (self.run_id, index, last + 1, reason, now, Outcome.SENDING),
            )
            self._write_batches(conn, (), now)

    def batch_resending(self, run: BatchRun) -> None:
        """Record, durably, that the client sends the attempt just made again (after a
        5xx or no answer, ``run.resent`` counts it): the attempt's ``resends`` and the
        batch's ``resent`` are on disk before the re-send goes out.

        Args:
            run: The batch (a :class:`~ccpandas.store.batch.BatchRun`) being re-sent.
        """
        resends = run.resent - self._resent_at_send.get(run.batch.index, run.resent)
        self._last_attempt(run, None, resends=resends)

    def batch_answered(self, run: BatchRun) -> None:
        """Record the outcome of the attempt just made, and the batch's new state.

        Args:
            run: The batch (a :class:`~ccpandas.store.batch.BatchRun`) whose request was
                answered (or not: its ``outcome`` says).
        """
        index = run.batch.index
        resends = run.resent - self._resent_at_send.pop(index, run.resent)
        outcome = Outcome(run.outcome or Outcome.UNCERTAIN)
        error = "; ".join(run.errors) if outcome is Outcome.REJECTED else run.last_error
        now = _iso(_utcnow())
        # A 201 cut short that still named its activity: on record as claimed.
        aid = run.activity_id if outcome is Outcome.ACCEPTED else run.unused_activity_id
        values = {"outcome": outcome, "answered_at": now, "activity_id": aid, "error": error}
        self._last_attempt(run, now, resends=resends, **values)

    def _last_attempt(self, run: BatchRun, now: str | None, **values: Any) -> None:
        """Set ``values`` on the last attempt of ``run``'s batch, and write the batch (and
        the run's ``updated_at``: ``now``, None for the present time)."""
        where = {"run_id": self.run_id, "batch": run.batch.index}
        sql = "SELECT MAX(attempt) FROM attempts WHERE run_id = ? AND batch = ?"
        with self.db.transaction() as conn:
            (last,) = conn.execute(sql, tuple(where.values())).fetchone()
            update_rows(conn, "attempts", {**where, "attempt": last}, **values)
            self._write_batches(conn, [run], now)

    def states_changed(self, runs: Sequence[BatchRun]) -> None:
        """Record the activity states a poll brought.

        Args:
            runs: The batches (:class:`~ccpandas.store.batch.BatchRun` objects) whose state
                changed; none is a no-op.
        """
        if not runs:
            return
        with self.db.transaction() as conn:
            self._write_batches(conn, runs)

    def _write_batches(
        self, conn: sqlite3.Connection, runs: Sequence[BatchRun], now: str | None = None
    ) -> None:
        """Write ``runs`` as they are, and the run's ``updated_at``: now, or ``now`` (ISO)
        as the caller wrote it."""
        for r in runs:
            where = {"run_id": self.run_id, "batch": r.batch.index}
            update_rows(conn, "batches", where, **_batch_values(r))
        self._set(conn, updated_at=now or _iso(_utcnow()))

    def _set(self, conn: sqlite3.Connection, **values: Any) -> None:
        """Update the run's ``runs`` row (inside the caller's transaction); with the
        count :meth:`counting` gives, unless ``values`` has the exact one."""
        spent = None if self._counting is None or "spent" in values else self._counting()
        if spent is not None:
            values["spent"] = _spent_json(spent, True)
        update_rows(conn, "runs", {"run_id": self.run_id}, **values)


#: The ``batches`` columns that hold a :class:`BatchRun` attribute of the same name as is.
_PLAIN_BATCH_COLUMNS = (
    "state",
    "activity_id",
    "attempts",
    "resent",
    "percent_done",
    "items_completed",
    "items_total",
)


def mark_unanswered(runs: Sequence[BatchRun], batches: set[int]) -> None:
    """The ``runs`` of the batch numbers ``batches`` (an attempt left ``sending`` by a
    dead process: no answer on record) are ``uncertain``, as a resume sends them again.

    Example:
        >>> mark_unanswered(result.runs, open_journal().unanswered(run_id))  # doctest: +SKIP
    """
    for run in runs:
        if run.batch.index in batches:
            if run.activity_id is not None:
                run.previous_activity_ids.append(run.activity_id)
                run.activity_id = None
            run.state, run.outcome = BatchState.UNCERTAIN, Outcome.UNCERTAIN


def _batch_values(r: BatchRun) -> dict[str, Any]:
    """Every ``batches`` column :meth:`RunJournal._write_batches` writes, by name."""
    return {
        **{name: getattr(r, name) for name in _PLAIN_BATCH_COLUMNS},
        "previous_ids": json.dumps(r.previous_activity_ids),
        "errors": json.dumps(list(r.errors)),
        "submitted_at": _iso(r.submitted_at),
        "finished_at": _iso(r.finished_at),
    }


def _apply_records(runs: Sequence[BatchRun], records: list[dict[str, Any]]) -> None:
    by_index = {r.batch.index: r for r in runs}
    for rec in records:
        run = by_index.get(rec["batch"])
        if run is None:
            continue
        for name in _PLAIN_BATCH_COLUMNS:
            setattr(run, name, rec[name])
        run.previous_activity_ids = list(json.loads(rec["previous_ids"]))
        run.errors = tuple(json.loads(rec["errors"]))
        run.submitted_at = _from_iso(rec["submitted_at"])
        run.finished_at = _from_iso(rec["finished_at"])


# --------------------------------------------------------------------------- the plan


def plan_digest(batches: Sequence[Batch]) -> str:
    """A fingerprint of the request bodies, in order: equal digests, equal requests.

    Example:
        >>> from ccpandas.models import Source
        >>> one = [Batch(0, Source.contact_ids(["a"]), ("l",))]
        >>> plan_digest(one) == plan_digest(one), plan_digest(one) == plan_digest([])
        (True, False)
    """
    h = hashlib.sha256()
    for b in batches:
        h.update(json.dumps(b.to_json(), sort_keys=True, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


def _source_values(plan: RemovalPlan) -> list[str]:
    # Contact ids are in the rows already; storing them twice would double the journal.
    return [] if plan.source.kind is SourceKind.CONTACT_IDS else list(plan.source.values)


def _rebuild_plan(record: dict[str, Any], db: JournalDB) -> RemovalPlan:
    """Plan the journaled input of a run (its ``runs`` row) again (planning is pure),
    then check that it gives the very requests the run sent."""
    meta = json.loads(record["plan"])
    given = _decode_input(record["rows"])
    list_ids = json.loads(record["list_ids"])
    kind = SourceKind(meta["source"]["kind"])
    pace = {"rate": meta["rate"], "daily_quota": meta["daily_quota"]}
    column = meta["column"]
    with_snapshot = "membership" in meta
    run_kind = record.get("kind") or RunKind.REMOVE
    if kind is SourceKind.CONTACT_IDS and with_snapshot:
        plan = rebuild_membership_plan(db, meta, given, list_ids, pace, kind=run_kind)
    elif kind is SourceKind.CONTACT_IDS:
        assert given is not None
        plan = plan_removal(given.rename(column), list_ids, column=column, **pace)
        plan = as_kind(plan, run_kind)
    else:
        source = Source(kind, tuple(meta["source"]["values"]))
        plan = plan_source_removal(source, list_ids, exclude=given, confirm_all_active=True, **pace)
        if with_snapshot:
            plan = rebuild_membership_plan(db, meta, given, list_ids, pace, base=plan)
    plan = dataclasses.replace(
        plan, column=column, notes=tuple(meta["notes"]), list_names=meta.get("list_names") or {}
    )
    return checked_plan(plan, meta, f"run {record['run_id']}")


def checked_plan(plan: Any, meta: dict[str, Any], what: str) -> Any:
    """``plan``, rebuilt from the journal of ``what`` (e.g. "run 2025..."), when it gives
    the very requests the run sent (their digest in ``meta``); a CCError otherwise."""
    if plan_digest(plan.batches) != meta["digest"]:
        raise CCError(
            f"the journal of {what} does not rebuild into the requests it sent "
            "(written by another ccpandas version?); it cannot be resumed safely"
        )
    return plan


# --------------------------------------------------------------------------- input


def _encode_input(plan: RemovalPlan) -> bytes:
    """The id column of the run (dtype, index, ids and missing values as given; other
    values as stand-ins, see :func:`_without_invalid_values`): planning it again
    rebuilds ``plan.rows`` but for those values. For API-selected sources: the exclude
    column (all valid ids)."""
    column = _without_invalid_values(plan.rows) if len(plan.rows) else None
    doc = {"column": encode_series(column) if column is not None else None}
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 1)


def _stand_in(reason: str, suffix: str = "") -> Any:
    """What the journal keeps of an invalid value: its type and nothing else.

    It plans into the same row (``invalid_id``, same reason): a string that is not a
    UUID for ``not a UUID``, a stand-in object whose type has the original type's name
    for ``not a string (<type>)``.
    """
    prefix = "not a string ("
    if reason.startswith(prefix) and reason.endswith(")"):
        kind = reason[len(prefix) : -1]
        return _opaque_type(kind)(f"<{kind} value not kept{suffix}>")
    return f"<str value not kept{suffix}>"


def _without_invalid_values(rows: pd.DataFrame) -> pd.Series:
    """``rows["contact_id"]`` with every ``invalid_id`` value replaced by its stand-in.

    An invalid value is what the user typed where an id belongs, often personal data
    (an e-mail address, a name); the result only needs its type and the reason, and
    the row stays identified by its position and index label.
    """
    column = rows["contact_id"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        # The values are the categories (used or not): replace the invalid ones, each
        # with a distinct stand-in since categories must stay unique.
        categories = column.cat.categories
        checked = check_ids(pd.Series(categories, dtype=object))
        bad = np.flatnonzero(checked.status == INVALID)
        if not len(bad):
            return column
        new = categories.to_numpy(dtype=object, copy=True)
        for pos in bad:
            new[pos] = _stand_in(str(checked.reason[pos]), f" #{pos}")
        return column.cat.rename_categories(pd.Index(new, dtype=object))
    invalid = (rows["plan_status"] == RowStatus.INVALID_ID.value).to_numpy()
    if not invalid.any():
        return column
    out = column.copy()
    positions = np.flatnonzero(invalid)
    reasons = rows["reason"].astype(object).to_numpy()[positions]
    stand_ins = {r: _stand_in(str(r)) for r in dict.fromkeys(reasons)}  # few distinct
    values = np.empty(len(positions), dtype=object)
    values[:] = [stand_ins[r] for r in reasons]
    out.iloc[positions] = values
    return out


def _decode_input(blob: bytes) -> pd.Series | None:
    doc = json.loads(zlib.decompress(blob))
    return None if doc["column"] is None else decode_series(doc["column"])
