"""Run locks: one process drives a run at a time.

On one machine an OS file lock (``locks/<run_id>.lock`` beside the journal) is enough;
in team mode (:mod:`ccpandas.client.shared`) the run is also leased in Redis, so a
kernel on another machine cannot drive it either. A process that dies frees both: the
OS drops its file lock, and its Redis lease expires once nobody renews it.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "locks" / "r1.lock"
    >>> with hold_run(path, "r1", "local"):
    ...     is_driven(path, "r1", "local")
    True
    >>> is_driven(path, "r1", "local")
    False
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ccpandas.client.shared import Unavailable, resolve
from ccpandas.errors import RunLockedError

__all__ = ["hold_run", "is_driven", "lock_path"]

log = logging.getLogger("ccpandas")


def lock_path(journal_path: Path, run_id: str) -> Path:
    """The lock file a process holds while it drives ``run_id`` of the journal at
    ``journal_path``.

    Example:
        >>> lock_path(Path("/data/journal.sqlite3"), "r1").as_posix()
        '/data/locks/r1.lock'
    """
    return journal_path.parent / "locks" / f"{run_id}.lock"


def is_driven(path: Path, run_id: str, shared_state: Any = None) -> bool:
    """True when some process holds the run's lock file ``path``, or (team mode) its
    Redis lease, now."""
    if resolve(shared_state).is_locked(_lease_name(run_id)):
        return True
    if not path.exists():
        return False
    lock = _try_lock(path)
    if lock is None:
        return True
    lock.release()
    return False


@contextlib.contextmanager
def hold_run(
    path: Path, run_id: str, shared_state: Any = None, *, wait: float = 0.0, then: str = "resume it"
) -> Iterator[None]:
    """Hold the run's lock file ``path`` and, in team mode, its Redis lease while the
    block runs; ``wait`` seconds for the file lock when another holder has it (an
    undo's brief claim of the run it reverses), with a log line; the lease is not waited for.

    Raises:
        RunLockedError: Another process drives the run right now; its message says to
            do ``then`` (e.g. ``"undo it again"``) once that ends.
    """
    lock = _try_lock(path)
    if lock is None and wait:
        log.info("ccpandas: run %s: its lock is held elsewhere; waiting up to %g s", run_id, wait)
        lock = _try_lock(path, wait)
    if lock is None:
        raise _locked(run_id, then)
    lease = _take_lease(run_id, shared_state)
    if lease is False:
        lock.release()
        raise _locked(run_id, then)
    try:
        yield
    finally:
        if lease is not None:
            lease.release()
        lock.release()


def _locked(run_id: str, then: str) -> RunLockedError:
    return RunLockedError(
        f"run {run_id} is held by another process (its sends, verify() or retry, or an undo"
        f" of it); nothing was sent: {then} once that ends (ccpandas.runs() shows its state)"
    )


def _lease_name(run_id: str) -> str:
    return f"run:{run_id}"


def _take_lease(run_id: str, shared_state: Any) -> Any:
    """The run's Redis lock in team mode: the lease, None (one machine, or Redis away:
    the file lock alone holds the run, with a warning), or False (held elsewhere)."""
    state = resolve(shared_state)
    lease = state.lease(_lease_name(run_id))
    if lease is None:
        return None
    try:
        return lease if lease.acquire() else False
    except Unavailable as exc:
        log.warning(
            "ccpandas: run %s: cannot take its lock at %s (%s); holding it on this machine only",
            run_id,
            state.where,
            exc,
        )
        return None


def _try_lock(path: Path, wait: float = 0.0) -> Any:
    """The exclusive OS lock on ``path`` (``filelock``: ``flock`` on POSIX, ``msvcrt``
    on Windows), released by the OS if the process dies; None when another holder has
    it (still, after ``wait`` seconds). Per open file, so two holders in one process
    exclude each other too."""
    import filelock

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = filelock.FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=wait)
    except filelock.Timeout:
        return None
    return lock
