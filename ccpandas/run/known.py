"""What is known of each contact of a batch, beyond its activity's state.

Two facts the state alone hides (issue 21):

- an activity that completed may name some of its contacts in ``activity_errors``
  ("contact_id ... was not found"): the API says those were not done;
- an activity that ended failed, cancelled or timed out after processing part of its
  items did some of its work: which contacts were done is not known without a re-read.

Example:
    >>> from ccpandas.models import Batch, Source
    >>> from ccpandas.store.batch import BatchRun
    >>> cid = "8b54d1f4-5b0e-11ee-8c99-0242ac120002"
    >>> run = BatchRun(Batch(0, Source.contact_ids([cid]), ("l1",)), state="completed",
    ...                errors=(f"contact_id {cid.upper()} was not found",))
    >>> list(contact_errors(run)) == [cid], general_errors(run)
    (True, None)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ccpandas.store.batch import BatchRun

__all__ = ["contact_errors", "errored_pairs", "general_errors", "partly_done", "unknown_reason"]

# Any UUID in an error's text: the contact (or list) it is about, in whatever case.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _named(run: BatchRun) -> list[tuple[set[str], str]]:
    """Per error text of ``run``: the ids it names (lower case), and the text."""
    return [({m.lower() for m in _UUID.findall(text)}, text) for text in run.errors]


def _contacts(run: BatchRun) -> set[str]:
    """The contacts ``run``'s batch names (lower case); none for a source the API selects."""
    source = run.batch.source
    return {str(c).lower() for c in source.values} if source.kind.value == "contact_ids" else set()


def contact_errors(run: BatchRun) -> dict[str, str]:
    """The batch's contacts its activity's ``activity_errors`` name, with their
    message(s) (``"; "``-joined); ids in lower case. Strings and ``{"message": ...}``
    objects read the same (:func:`ccpandas.models.activity_error_texts`)."""
    out: dict[str, list[str]] = {}
    mine = _contacts(run) if run.errors else set()
    for ids, text in _named(run):
        for cid in ids & mine:
            out.setdefault(cid, []).append(text)
    return {cid: "; ".join(texts) for cid, texts in out.items()}


def general_errors(run: BatchRun) -> str | None:
    """The activity's errors that name none of its contacts (shown on every row of the
    batch), or None."""
    mine = _contacts(run) if run.errors else set()
    rest = [text for ids, text in _named(run) if not ids & mine]
    return "; ".join(rest) or None


def partly_done(run: BatchRun) -> bool:
    """The activity ended failed, cancelled or timed out after processing some of its
    items: some of its contacts may be done, which ones is not known."""
    return run.state.bad and (run.items_completed > 0 or run.percent_done > 0)


def unknown_reason(run: BatchRun, verifiable: bool) -> str:
    """Why a row of a partly done activity says ``unknown``, and what settles it."""
    done = f"{run.percent_done}%"
    if run.items_total:
        done += f", {run.items_completed:,} of {run.items_total:,} items"
    step = (
        "result.verify() re-reads the lists and says which"
        if verifiable
        else "result.retry_failed() sends the batch again (harmless for those already done)"
    )
    return f"its activity {run.state} after processing part of it ({done}): {step}"


def errored_pairs(
    runs: Sequence[BatchRun],
    contact_ids: np.ndarray,
    pair_contact: np.ndarray,
    pair_list: np.ndarray,
    pair_batch: np.ndarray | None,
    list_ids: Sequence[str],
) -> np.ndarray | None:
    """Per (contact, list) pair: does its batch's ``activity_errors`` name it? A message
    that also names one of the batch's lists concerns that list only. None when no
    activity named any contact.

    Args:
        runs: The run's batches, in ``pair_batch`` order.
        contact_ids: The change set's contacts; ``pair_contact`` indexes them.
        pair_contact: Per pair, its contact's position.
        pair_list: Per pair, its list's position in ``list_ids``.
        pair_batch: Per pair, the position of the batch carrying it (-1: none).
        list_ids: The target lists.
    """
    named = [(b, _named(r)) for b, r in enumerate(runs) if r.errors and contact_errors(r)]
    if not named or pair_batch is None or not len(pair_contact):
        return None
    lower = pd.Index([str(c).lower() for c in contact_ids], dtype=object)
    lists = [str(x).lower() for x in list_ids]
    hit = np.zeros(len(pair_contact), dtype=bool)
    for b, texts in named:
        in_batch = pair_batch == b
        for ids, _text in texts:
            about = np.isin(pair_contact, lower.get_indexer(list(ids)))
            if only := {i for i, lid in enumerate(lists) if lid in ids}:
                about &= np.isin(pair_list, list(only))
            hit |= in_batch & about
    return hit if hit.any() else None
