"""Kinds of membership change: the one place a new kind plugs in.

A kind says how its change set is built and how a journaled run of it is rebuilt;
everything else (batching, running, the journal's batches and attempts, verification,
the summary) is shared. The journal records a run's kind as a :class:`~ccpandas.vocab.
RunKind` word; :func:`kind_of` maps it back to the :class:`Kind` that rebuilds it.

To add a kind: add its word to :class:`~ccpandas.vocab.RunKind`, write its planner (a
function that returns a plan holding a :class:`~ccpandas.plan.changes.ChangeSet`), and
register a :class:`Kind` here with its rebuild.

Example:
    >>> kind_of("undo").verified_column
    'restored_memberships'
    >>> sorted(k.value for k in KINDS)
    ['add', 'remove', 'sync', 'undo']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ccpandas.errors import CCError
from ccpandas.vocab import RunKind

if TYPE_CHECKING:
    from ccpandas.run.runner import Runner
    from ccpandas.store.journal import JournalDB

__all__ = ["KINDS", "Kind", "kind_of"]


@dataclass(frozen=True)
class Kind:
    """One kind of membership change.

    Args:
        word: Its word in the journal and in ``ccpandas.runs()``'s ``kind`` column.
        rebuild: ``rebuild(db, run_id, runner)``: the result of a journaled run of this
            kind, its batches in the states last recorded (``runner`` carries the
            client and the run's journal).
        verified_column: The column of ``ccpandas.runs()`` that shows what a re-read
            verified per list (e.g. ``removed_memberships``).
    """

    word: RunKind
    rebuild: Callable[[JournalDB, str, Runner], Any]
    verified_column: str


def _rebuild_removal(db: JournalDB, run_id: str, runner: Runner) -> Any:
    from ccpandas.run.result import rebuild_removal

    return rebuild_removal(db, run_id, runner)


def _rebuild_undo(db: JournalDB, run_id: str, runner: Runner) -> Any:
    from ccpandas.run.undo import rebuild_undo

    return rebuild_undo(db, run_id, runner)


#: Every kind, by its word.
KINDS: dict[RunKind, Kind] = {
    RunKind.REMOVE: Kind(RunKind.REMOVE, _rebuild_removal, "removed_memberships"),
    RunKind.UNDO: Kind(RunKind.UNDO, _rebuild_undo, "restored_memberships"),
    # Add and sync are the removal's engine with other actions: the same rebuild.
    RunKind.ADD: Kind(RunKind.ADD, _rebuild_removal, "added_memberships"),
    RunKind.SYNC: Kind(RunKind.SYNC, _rebuild_removal, "synced_memberships"),
}


def kind_of(word: str | None) -> Kind:
    """The kind a journal's word names (None, from journals older than kinds: a removal).

    Raises:
        CCError: The word names no kind this version knows (a newer ccpandas wrote it).
    """
    try:
        return KINDS[RunKind(word or RunKind.REMOVE)]
    except (ValueError, KeyError):
        raise CCError(
            f"the journal names a run kind {word!r} that this version of ccpandas does not "
            "know (written by a newer version?): upgrade ccpandas to rebuild it"
        ) from None
