"""Kinds of membership change: the one place a new kind plugs in.

A kind says how its change set is built, how the journal's plan of a run of it is
loaded, and the words it is shown with; everything else (batching, running, the one
result type :class:`~ccpandas.RemovalResult`, the journal's batches and attempts,
verification, the summary) is shared. The journal records a run's kind as a
:class:`~ccpandas.vocab.RunKind` word; :func:`kind_of` maps it back to its :class:`Kind`.

To add a kind: add its word to :class:`~ccpandas.vocab.RunKind`, write its planner (a
function that returns a plan holding a :class:`~ccpandas.plan.changes.ChangeSet`), and
register a :class:`Kind` here: how the journal's plan is loaded, its words, and
(only for a kind without input rows) its own ``changes``.

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

import pandas as pd

from ccpandas.errors import CCError
from ccpandas.run.summary import ADD_WORDS, REMOVAL_WORDS, SYNC_WORDS, UNDO_WORDS, KindWords
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
        load: ``load(db, run_id)``: the plan of a journaled run of this kind, rebuilt
            into the requests it sent.
        verified_column: The column of ``ccpandas.runs()`` that shows what a re-read
            verified per list (e.g. ``removed_memberships``).
        words: The words its results are shown with (:class:`~ccpandas.run.summary.KindWords`).
        changes: ``changes(result)``: the kind's own ``result.changes``, or None (the
            default) for the membership pairs every plan with a snapshot has. A kind with
            its own changes has no input rows: ``result.rows`` are its changes.
        result: ``result()``: the class of its results, a
            :class:`~ccpandas.RemovalResult` with no overrides (the default: that class),
            so ``isinstance`` tells the kinds apart and nothing else differs.
    """

    word: RunKind
    load: Callable[[JournalDB, str], Any]
    verified_column: str
    words: KindWords
    changes: Callable[[Any], pd.DataFrame] | None = None
    result: Callable[[], type] | None = None

    def rebuild(self, db: JournalDB, run_id: str, runner: Runner) -> Any:
        """The result of journaled run ``run_id`` of this kind, its batches in the states
        last recorded (``runner`` carries the client and the run's journal)."""
        from ccpandas.run.result import RemovalResult, rebuild_run

        cls = self.result() if self.result is not None else RemovalResult
        return rebuild_run(db, run_id, runner, self.load(db, run_id), cls=cls)


def _load_removal(db: JournalDB, run_id: str) -> Any:
    return db.load_plan(run_id)


def _load_undo(db: JournalDB, run_id: str) -> Any:
    from ccpandas.run.undo import load_undo_plan

    return load_undo_plan(db, run_id)


def _undo_result() -> type:
    from ccpandas.run.undo import UndoResult

    return UndoResult


def _undo_changes(result: Any) -> pd.DataFrame:
    from ccpandas.run.undo import undo_changes_of

    return undo_changes_of(result)


#: Every kind, by its word.
KINDS: dict[RunKind, Kind] = {
    RunKind.REMOVE: Kind(RunKind.REMOVE, _load_removal, "removed_memberships", REMOVAL_WORDS),
    RunKind.UNDO: Kind(
        RunKind.UNDO, _load_undo, "restored_memberships", UNDO_WORDS, _undo_changes, _undo_result
    ),
    # Add and sync are the removal's engine with other actions.
    RunKind.ADD: Kind(RunKind.ADD, _load_removal, "added_memberships", ADD_WORDS),
    RunKind.SYNC: Kind(RunKind.SYNC, _load_removal, "synced_memberships", SYNC_WORDS),
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
