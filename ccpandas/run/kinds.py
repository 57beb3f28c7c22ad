"""Kinds of membership change: the one place a new kind plugs in.

A kind says how its change set is built, how the journal's plan of a run of it is
loaded, and the words it is shown with; everything else (batching, running, the one
result type :class:`~ccpandas.RemovalResult`, the journal's batches and attempts,
verification, the summary) is shared. The journal records a run's kind as a
:class:`~ccpandas.vocab.RunKind` word; :func:`kind_of` maps it back to its :class:`Kind`.

To add a kind: add its word to :class:`~ccpandas.vocab.RunKind`, write its planner (a
function that returns a plan holding a :class:`~ccpandas.plan.changes.ChangeSet`), and
register a :class:`Kind`: how the journal's plan is loaded, its words, and either the
column its rows count lists in or (only for a kind without input rows) its own
``changes``. The kinds that share the removal's
planner are registered here; a kind with a module of its own registers itself there
with :func:`register` (``ccpandas.run.undo`` does), so this registry imports no kind's
module and nothing imports in a circle.

Example:
    >>> kind_of("add").verified_column
    'added_memberships'
    >>> {"add", "remove", "sync"} <= {k.value for k in KINDS}
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ccpandas.errors import CCError
from ccpandas.run.summary import ADD_WORDS, REMOVAL_WORDS, SYNC_WORDS, KindWords
from ccpandas.store.journal import JournalDB
from ccpandas.vocab import RunKind

__all__ = ["KINDS", "Kind", "kind_of", "register"]


@dataclass(frozen=True)
class Kind:
    """One kind of membership change.

    Args:
        word: Its word in the journal and in ``ccpandas.runs()``'s ``kind`` column.
        load: ``load(db, run_id, record)``: the plan of a journaled run of this kind
            (``record``: its ``runs`` row, read once), rebuilt into the requests it sent.
        verified_column: The column of ``ccpandas.runs()`` that shows what a re-read
            verified per list (e.g. ``removed_memberships``).
        words: The words its results are shown with (:class:`~ccpandas.run.summary.KindWords`).
        lists_column: The column of ``result.rows`` that counts, per row, the target lists
            a re-read shows its contact left or joined (e.g. ``lists_removed_from``);
            unused by a kind with its own ``changes``.
        changes: ``changes(result)``: the kind's own ``result.changes``, or None (the
            default) for the membership pairs every plan with a snapshot has. A kind with
            its own changes has no input rows: ``result.rows`` are its changes.
    """

    word: RunKind
    load: Callable[[JournalDB, str, dict[str, Any]], Any]
    verified_column: str
    words: KindWords
    lists_column: str = ""
    changes: Callable[[Any], pd.DataFrame] | None = None

    def __post_init__(self) -> None:
        if not self.lists_column and self.changes is None:  # rows need a column's name
            raise ValueError(f"kind {self.word!r} needs a lists_column or its own changes")


#: Every kind, by its word. Add and sync are the removal's engine with other actions; a
#: sync's rows are the contacts it adds or keeps (its removals are other members').
KINDS: dict[RunKind, Kind] = {
    word: Kind(word, JournalDB.load_plan, verified, words, lists)
    for word, verified, words, lists in (
        (RunKind.REMOVE, "removed_memberships", REMOVAL_WORDS, "lists_removed_from"),
        (RunKind.ADD, "added_memberships", ADD_WORDS, "lists_added_to"),
        (RunKind.SYNC, "synced_memberships", SYNC_WORDS, "lists_added_to"),
    )
}


def register(kind: Kind) -> None:
    """Add ``kind`` to :data:`KINDS` (a kind's own module calls this when imported)."""
    KINDS[kind.word] = kind


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
