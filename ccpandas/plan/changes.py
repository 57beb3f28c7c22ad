"""The change set: every (contact, list) pair a run concerns, and what it asks of each.

Every kind of membership change (remove, undo, and add and sync next) builds one
:class:`ChangeSet`; everything after it is shared: batching into the fewest requests
(:meth:`ChangeSet.batches`), counting, the ``changes`` frames, and the verified
outcome of each pair (:func:`pair_outcomes`). Pure: numpy and pandas only.

A pair's action is a small integer code (:data:`NONE`, :data:`REMOVE`, :data:`ADD`,
:data:`BY_API`), so a million pairs cost a few bytes each.

Example:
    >>> cs = ChangeSet.from_pairs([("c1", "l1"), ("c2", "l1"), ("c2", "l2")], ADD,
    ...                           list_order=["l1", "l2"])
    >>> [(b.source.values, b.list_ids, b.action.value) for b in cs.batches()]
    [(('c1',), ('l1',), 'add_list_memberships'), (('c2',), ('l1', 'l2'), 'add_list_memberships')]
    >>> cs.invert().per_list(REMOVE)
    {'l1': 2, 'l2': 1}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ccpandas.models import (
    MAX_CONTACTS_PER_REQUEST,
    MAX_LISTS_PER_REQUEST,
    Batch,
    IdSlice,
    MembershipAction,
    Source,
    chunked,
)
from ccpandas.plan.compact import bincount, code_dtype
from ccpandas.vocab import Action, BatchState, PairOutcome

__all__ = [
    "ADD",
    "BY_API",
    "NONE",
    "REMOVE",
    "ChangeSet",
    "cross_pair_batch",
    "cross_pairs",
    "pair_outcomes",
    "unique_names",
]

#: Pair action codes (``ChangeSet.action``): leave the pair as it is, take the contact
#: off the list, put it on, or let the API decide (an engagement-level source).
NONE, REMOVE, ADD, BY_API = 0, 1, 2, -1
_ACTION_OF = {NONE: Action.NONE, REMOVE: Action.REMOVE, ADD: Action.ADD, BY_API: Action.BY_API}
_ENDPOINT = {REMOVE: MembershipAction.REMOVE, ADD: MembershipAction.ADD}


@dataclass(frozen=True, eq=False)
class ChangeSet:
    """Every (contact, list) pair of a run, positional: ``pair_contact`` indexes
    ``contact_ids`` (and ``emails``), ``pair_list`` indexes ``list_ids``.

    Args:
        contact_ids: The distinct contacts, in the order their first row appears.
        list_ids: The target lists, in order.
        pair_contact: Per pair, the position of its contact (an integer array).
        pair_list: Per pair, the position of its list (an integer array: a snapshot's
            plan holds int32 and int16, a few bytes a pair).
        action: Per pair, its action code (int8: :data:`NONE`, :data:`REMOVE`,
            :data:`ADD`, :data:`BY_API`).
        was_member: Per pair, whether the contact was on the list before the run (bool;
            meaningful only when ``known``).
        known: True when ``was_member`` comes from a read of the lists (a snapshot).
        emails: Per contact, its address where known (None otherwise). Default: none.
        pair_batch: Per pair, the batch that carries it (-1: none), once batched.

    Example:
        >>> cs = ChangeSet.from_pairs([("c1", "l1")], REMOVE)
        >>> cs.n_pairs, cs.per_list(REMOVE)
        (1, {'l1': 1})
    """

    contact_ids: np.ndarray
    list_ids: tuple[str, ...]
    pair_contact: np.ndarray
    pair_list: np.ndarray
    action: np.ndarray
    was_member: np.ndarray
    known: bool = True
    emails: np.ndarray | None = None
    pair_batch: np.ndarray | None = None
    #: A pair absent from a known set is no membership (a read of the lists built it);
    #: False for a set that names only its own pairs (an undo's).
    complete: bool = True

    # -- building ----------------------------------------------------------------------
    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[tuple[str, str]],
        action: int,
        *,
        list_order: Sequence[str] | None = None,
        was_member: bool | None = None,
    ) -> ChangeSet:
        """A change set asking ``action`` of each ``(contact_id, list_id)`` pair.

        Args:
            pairs: The pairs, e.g. ``[("c1", "l1")]``; their order is kept.
            action: The action code for every pair (:data:`REMOVE` or :data:`ADD`).
            list_order: The target lists in order; lists not in it follow, sorted.
                Default: the lists sorted.
            was_member: What is known of the pairs before the run; None (the default)
                is "not known", else every pair was (True) or was not (False) a member.
        """
        cids = [str(c) for c, _ in pairs]
        lids = [str(x) for _, x in pairs]
        order = list(dict.fromkeys(list_order or ()))
        lists = (*order, *sorted(set(lids) - set(order)))  # the same whatever the pair order
        contacts = pd.Index(list(dict.fromkeys(cids)), dtype=object)
        n = len(pairs)
        return cls(
            contact_ids=contacts.to_numpy(dtype=object),
            list_ids=lists,
            pair_contact=contacts.get_indexer(cids).astype(np.int64),
            pair_list=pd.Index(lists, dtype=object).get_indexer(lids).astype(np.int64),
            action=np.full(n, action, dtype=np.int8),
            was_member=np.full(n, bool(was_member), dtype=bool),
            known=was_member is not None,
        )

    def replace(self, **changes: Any) -> ChangeSet:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def invert(self, changed: np.ndarray | None = None) -> ChangeSet:
        """The change set that reverses this one: each changed pair asks the opposite
        action and was (before the inverse) what the original made it; every other
        pair asks nothing.

        Args:
            changed: Per pair, whether the run really changed it (e.g. verified
                ``removed``); None (the default) takes every pair with an action.
        """
        acted = np.isin(self.action, (REMOVE, ADD))
        mask = acted if changed is None else (np.asarray(changed, dtype=bool) & acted)
        flipped = np.where(self.action == REMOVE, ADD, REMOVE).astype(np.int8)
        return self.replace(
            action=np.where(mask, flipped, NONE).astype(np.int8),
            was_member=np.where(mask, self.action == ADD, self.was_member),
            known=True,
            pair_batch=None,
        )

    # -- counting ----------------------------------------------------------------------
    @property
    def n_pairs(self) -> int:
        """Pairs in the set."""
        return len(self.pair_contact)

    def mask(self, action: int) -> np.ndarray:
        """Per pair: does it ask ``action``?"""
        return np.asarray(self.action == action)

    def pairs(self, action: int) -> list[tuple[str, str]]:
        """The ``(contact_id, list_id)`` pairs that ask ``action``, in pair order."""
        return self._tuples(self.mask(action))

    def _tuples(self, sel: Any) -> list[tuple[str, str]]:
        cids = self.contact_ids[self.pair_contact[sel]].tolist()
        lids = np.asarray(self.list_ids, dtype=object)[self.pair_list[sel]].tolist()
        return list(zip(cids, lids, strict=True))

    def per_list(self, action: int, among: np.ndarray | None = None) -> dict[str, int]:
        """Pairs asking ``action`` per list id (target order), lists with none left out.

        Args:
            action: The action code counted.
            among: Only these pairs (a boolean mask). Default: every pair.
        """
        sel = self.mask(action) if among is None else (self.mask(action) & among)
        counts = bincount(self.pair_list[sel], minlength=len(self.list_ids))
        return {lid: int(n) for lid, n in zip(self.list_ids, counts, strict=True) if n}

    def min_requests(self) -> int:
        """The fewest requests that carry every pair with an action, each exactly:
        per action, the fewer of the sum over distinct list sets of ``ceil(contacts/500)
        x ceil(lists/50)`` and the sum over lists of ``ceil(contacts/500)``."""
        return sum(
            min(_per_set_count(self, code), _per_list_count(self, code)) for code in (REMOVE, ADD)
        )

    # -- batching ----------------------------------------------------------------------
    def batches(self, start: int = 0) -> tuple[Batch, ...]:
        """The requests that carry every pair with an action: removals first, then adds.

        Without a read of the lists (``known`` False), every contact goes to every list
        group, contact groups outermost. Otherwise, when a request may name more lists
        than a contact's own without changing anything else (removing a non-member,
        adding a member: see :func:`_union_safe`), pairs go by list group, contacts
        ordered by their set of lists, each request naming the union of its contacts'
        lists: that packs more into each request. Else they go by identical list set, or
        one list per request when that takes fewer requests (a contact is never put
        on, or taken off, a list it should not be).

        Args:
            start: The index of the first batch. Default 0.
        """
        return self.batched(start)[0]

    def batched(self, start: int = 0) -> tuple[tuple[Batch, ...], ChangeSet]:
        """:meth:`batches`, and this set with ``pair_batch`` filled in."""
        pair_batch = np.full(self.n_pairs, -1, dtype=np.int32)  # 4 bytes a pair
        out: list[Batch] = []
        cross = self.n_pairs == len(self.contact_ids) * len(self.list_ids)
        grid: list[np.ndarray | None] = []  # the (contact x list) view, read once if asked
        for code in (REMOVE, ADD):
            if not self.mask(code).any():
                continue
            if not self.known and cross:
                new = _cross_batches(self, code, start + len(out), pair_batch)
            elif self.known and _union_safe(self, code):
                grid = grid or [_grid(self) if cross else None]
                new = _union_batches(self, code, start + len(out), pair_batch, grid[0])
            elif _per_list_count(self, code) < _per_set_count(self, code):
                # Contacts on many different subsets of the lists (an undo of a run
                # whose contacts were on some of its lists each): one list per request.
                new = _per_list_batches(self, code, start + len(out), pair_batch)
            else:
                new = _exact_batches(self, code, start + len(out), pair_batch)
            out.extend(new)
        return tuple(out), self.replace(pair_batch=pair_batch)

    # -- frames ------------------------------------------------------------------------
    def frame(self, list_names: Mapping[str, str] | None = None) -> pd.DataFrame:
        """One row per pair: ``contact_id``, ``email``, ``list_id``, ``list_name``,
        ``action``, ``was_member`` (NA when not known) and ``will_leave`` (NA where
        the API decides).

        Args:
            list_names: List id to name; an id without one is shown as the id.
        """
        n, emails = self.n_pairs, self.emails
        lids = np.asarray(self.list_ids, dtype=object)
        was = pd.array(self.was_member, dtype="boolean")
        if not self.known:
            was[:] = pd.NA
        leave = pd.array(self.action == REMOVE, dtype="boolean")
        leave[self.action == BY_API] = pd.NA
        names = unique_names(self.list_ids, list_names or {})
        return pd.DataFrame(
            {
                "contact_id": _spread(self.contact_ids, self.pair_contact),
                "email": _nones(n) if emails is None else _spread(emails, self.pair_contact),
                "list_id": _spread(lids, self.pair_list),
                "list_name": pd.Categorical.from_codes(
                    self.pair_list, categories=pd.Index(names, dtype=object)
                ),
                "action": pd.Categorical.from_codes(
                    # The categories follow the codes (none, remove, add), then by_api (-1).
                    np.where(self.action < 0, 3, self.action),
                    categories=[str(a) for a in _ACTION_OF.values()],
                ),
                "was_member": was,
                "will_leave": leave,
            }
        )

    def member_after(self, after: set[tuple[str, str]] | np.ndarray) -> np.ndarray:
        """Per pair: is the contact on the list in a later read?

        Args:
            after: The ``(contact_id, list_id)`` memberships the read found, or already
                a boolean array per pair.
        """
        if isinstance(after, np.ndarray):
            return after.astype(bool)
        return np.fromiter((p in after for p in self._tuples(slice(None))), bool, self.n_pairs)


def _nones(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def _spread(values: Any, at: np.ndarray) -> Any:
    """``values[at]`` as a column: the few values typed once (as a column of them
    would be), then taken per pair; never a Python string typed per pair."""
    if not len(at):
        return _nones(0)
    return pd.Series(np.asarray(values, dtype=object), copy=False).array.take(at)


def unique_names(list_ids: Sequence[str], names: Mapping[str, str]) -> list[str]:
    """Display names of the lists, made unique (two lists may share a name).

    Example:
        >>> unique_names(["l1", "l2"], {"l1": "News", "l2": "News"})
        ['News', 'News (l2)']
    """
    seen: set[str] = set()
    out = []
    for lid in list_ids:
        name = names.get(lid, lid)
        if name in seen:
            name = f"{name} ({lid})"
        seen.add(name)
        out.append(name)
    return out


def _list_sets(cs: ChangeSet, code: int) -> dict[tuple[int, ...], list[int]]:
    """The contacts asking ``code``, grouped by their set of lists (sorted positions)."""
    sel = cs.mask(code)
    per: dict[int, set[int]] = {}
    for c, lst in zip(cs.pair_contact[sel].tolist(), cs.pair_list[sel].tolist(), strict=True):
        per.setdefault(c, set()).add(lst)
    groups: dict[tuple[int, ...], list[int]] = {}
    for c, on in per.items():
        groups.setdefault(tuple(sorted(on)), []).append(c)
    return groups


def _per_set_count(cs: ChangeSet, code: int) -> int:
    """Requests :func:`_exact_batches` sends for ``code``."""
    return sum(
        math.ceil(len(c) / MAX_CONTACTS_PER_REQUEST) * math.ceil(len(s) / MAX_LISTS_PER_REQUEST)
        for s, c in _list_sets(cs, code).items()
    )


def _per_list_count(cs: ChangeSet, code: int) -> int:
    """Requests :func:`_per_list_batches` sends for ``code``."""
    per_list = np.bincount(cs.pair_list[cs.mask(code)], minlength=len(cs.list_ids))
    return int(np.ceil(per_list / MAX_CONTACTS_PER_REQUEST).sum())


def _per_list_batches(cs: ChangeSet, code: int, start: int, pair_batch: np.ndarray) -> list[Batch]:
    """One list per request (target order), its contacts sorted, 500 per request:
    never a pair extra, and fewer requests than by list set when the contacts are on
    many different subsets of the lists."""
    sel = np.flatnonzero(cs.mask(code))
    batches: list[Batch] = []
    for lst in range(len(cs.list_ids)):
        mine = sel[cs.pair_list[sel] == lst]
        if not len(mine):
            continue
        order = mine[np.argsort(cs.contact_ids[cs.pair_contact[mine]].astype(str), kind="stable")]
        for group, first in enumerate(range(0, len(order), MAX_CONTACTS_PER_REQUEST)):
            chunk = order[first : first + MAX_CONTACTS_PER_REQUEST]
            ids = tuple(str(i) for i in cs.contact_ids[cs.pair_contact[chunk]].tolist())
            index = start + len(batches)
            batches.append(_batch(cs, code, index, ids, (lst,), group, lst))
            pair_batch[chunk] = index
    return batches


def _exact_batches(cs: ChangeSet, code: int, start: int, pair_batch: np.ndarray) -> list[Batch]:
    """Contacts grouped by their identical set of lists (in target order, contacts
    sorted), 500 contacts and 50 lists per request: never a pair extra."""
    groups = _list_sets(cs, code)
    batches: list[Batch] = []
    at: dict[tuple[int, int], int] = {}  # (contact, list) -> batch
    for group, key in enumerate(sorted(groups)):
        members = sorted(groups[key], key=lambda c: str(cs.contact_ids[c]))
        for lg, chosen in enumerate(chunked([str(i) for i in key], MAX_LISTS_PER_REQUEST)):
            lists = tuple(int(x) for x in chosen)
            for chunk in chunked([str(c) for c in members], MAX_CONTACTS_PER_REQUEST):
                index = start + len(batches)
                ids = tuple(str(cs.contact_ids[int(c)]) for c in chunk)
                batches.append(_batch(cs, code, index, ids, lists, group, lg))
                at.update({(int(c), lst): index for c in chunk for lst in lists})
    sel = np.flatnonzero(cs.mask(code))
    pair_batch[sel] = [
        at[(c, lst)]
        for c, lst in zip(cs.pair_contact[sel].tolist(), cs.pair_list[sel].tolist(), strict=True)
    ]
    return batches


def cross_pairs(n_contacts: int, n_lists: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pair_contact, pair_list)`` of every contact x every list, contacts outermost,
    as small integer positions (int32, and :func:`~ccpandas.plan.compact.code_dtype` for
    the lists: a few bytes a pair).

    Example:
        >>> [a.tolist() for a in cross_pairs(2, 2)]
        [[0, 0, 1, 1], [0, 1, 0, 1]]
    """
    contacts = np.repeat(np.arange(n_contacts, dtype=np.int32), n_lists)
    return contacts, np.tile(np.arange(n_lists, dtype=code_dtype(n_lists)), n_contacts)


def cross_pair_batch(n_contacts: int, n_lists: int) -> np.ndarray:
    """The batch of each (contact x list) pair, contacts outermost, when every contact
    goes to every list group (:meth:`ChangeSet.batches` without a read of the lists).

    Example:
        >>> cross_pair_batch(2, 51).reshape(2, 51)[:, [0, 50]].tolist()
        [[0, 1], [0, 1]]
    """
    pair_contact, pair_list = cross_pairs(n_contacts, n_lists)
    groups = math.ceil(n_lists / MAX_LISTS_PER_REQUEST)
    chunk = pair_contact // MAX_CONTACTS_PER_REQUEST
    return np.asarray(chunk * groups + pair_list // MAX_LISTS_PER_REQUEST, dtype=np.int64)


def _union_safe(cs: ChangeSet, code: int) -> bool:
    """True when a request may name the union of its contacts' lists for ``code``:
    each of its contacts' other pairs is a no-op for ``code`` (removing a non-member,
    adding a member), and, for adds or beside them, each contact has a pair for every
    target list (an absent pair may be a non-member, whom a union would add)."""
    carriers = np.zeros(len(cs.contact_ids), dtype=bool)
    carriers[cs.pair_contact[cs.mask(code)]] = True
    mine = carriers[cs.pair_contact]
    noop = (cs.action == NONE) & (cs.was_member == (code == ADD))
    if (mine & (cs.action != code) & ~noop).any():
        return False
    if code == REMOVE and cs.complete and not cs.mask(ADD).any():
        return True  # a known set's absent pair is no membership: removing it is a no-op
    per = np.bincount(cs.pair_contact[mine], minlength=len(cs.contact_ids))[carriers]
    return bool((per == len(cs.list_ids)).all())


def _cross_batches(cs: ChangeSet, code: int, start: int, pair_batch: np.ndarray) -> list[Batch]:
    """Every contact to every list group, contact groups outermost (a full cross of
    ``contact_ids`` x ``list_ids``, as a set without a read of the lists is)."""
    groups = chunked([str(i) for i in range(len(cs.list_ids))], MAX_LISTS_PER_REQUEST)
    ids = cs.contact_ids.tolist()
    batches: list[Batch] = []
    for cg, chunk in enumerate(chunked(ids, MAX_CONTACTS_PER_REQUEST)):
        for lg, lists in enumerate(groups):
            index = start + len(batches)
            batches.append(_batch(cs, code, index, chunk, tuple(map(int, lists)), cg, lg))
    pair_batch[:] = start + cross_pair_batch(len(ids), len(cs.list_ids))
    return batches


def _union_batches(
    cs: ChangeSet, code: int, start: int, pair_batch: np.ndarray, grid: np.ndarray | None
) -> list[Batch]:
    """Pairs of ``code`` by list group of 50: contacts ordered by their set of lists in the group
    (stable: first-appearance order within a set), 500 per request, each request
    naming the union of its contacts' lists. ``grid``: :func:`_grid` of ``cs`` (None:
    not a grid), read once by the caller for both actions."""
    n = len(cs.contact_ids)
    batches: list[Batch] = []
    for j, offset in enumerate(range(0, len(cs.list_ids), MAX_LISTS_PER_REQUEST)):
        width = min(MAX_LISTS_PER_REQUEST, len(cs.list_ids) - offset)
        mask = _group_masks(cs, grid, code, offset, width)
        on = np.flatnonzero(mask)
        if not len(on):
            continue
        keys = mask[on]
        if width <= 16:  # a stable sort of 16-bit keys is a radix sort: about 8x faster
            keys = keys.astype(np.uint16)
        order = on[np.argsort(keys, kind="stable")]
        owner = np.full(n, -1, dtype=np.int32)
        owner[order] = start + len(batches) + np.arange(len(order)) // MAX_CONTACTS_PER_REQUEST
        # Every request's ids and union of lists at once, not a Python step per contact.
        ids = cs.contact_ids[order]
        firsts = range(0, len(order), MAX_CONTACTS_PER_REQUEST)
        unions = np.bitwise_or.reduceat(mask[order], np.asarray(firsts, dtype=np.intp))
        for first, union in zip(firsts, unions.tolist(), strict=True):
            lists = tuple(offset + b for b in range(width) if union >> b & 1)
            index = start + len(batches)
            chunk = IdSlice(ids, first, first + MAX_CONTACTS_PER_REQUEST)
            contact_group = first // MAX_CONTACTS_PER_REQUEST
            batches.append(_batch(cs, code, index, chunk, lists, contact_group, j))
        _fill_batches(cs, grid, code, offset, width, owner, pair_batch)
    return batches


def _grid(cs: ChangeSet) -> np.ndarray | None:
    """The actions as a (contact x list) view when the pairs are every contact x every
    list, contact by contact (as a plan makes them), else None."""
    n, n_lists = len(cs.contact_ids), len(cs.list_ids)
    if cs.n_pairs != n * n_lists or not n_lists:
        return None
    lists = cs.pair_list.reshape(n, n_lists)
    contacts = cs.pair_contact.reshape(n, n_lists)
    for rows in _blocks(n):  # a block at a time: no temporary of a byte a pair
        if not (lists[rows] == np.arange(n_lists)).all():
            return None
        if not (contacts[rows] == np.arange(rows.start, rows.stop)[:, None]).all():
            return None
    return cs.action.reshape(n, n_lists)


def _group_masks(
    cs: ChangeSet, grid: np.ndarray | None, code: int, offset: int, width: int
) -> np.ndarray:
    """Per contact, the bits of the lists from ``offset`` (``width`` of them, at most 64)
    where it asks ``code``: packed 8 lists a byte from the ``grid`` view, else OR-ed
    pair by pair; a block at a time."""
    mask = np.zeros(len(cs.contact_ids), dtype=np.uint64)
    if grid is None:
        for part in _blocks(cs.n_pairs):
            contact, bit, hit = _group_bits(cs, code, part, offset, width)
            np.bitwise_or.at(mask, contact[hit], np.left_shift(np.uint64(1), bit[hit]))
        return mask
    for rows in _blocks(len(grid)):
        bits = np.packbits(grid[rows, offset : offset + width] == code, axis=1, bitorder="little")
        wide = np.zeros((len(bits), 8), dtype=np.uint8)
        wide[:, : bits.shape[1]] = bits
        mask[rows] = wide.view("<u8")[:, 0]
    return mask


def _fill_batches(
    cs: ChangeSet,
    grid: np.ndarray | None,
    code: int,
    offset: int,
    width: int,
    owner: np.ndarray,
    pair_batch: np.ndarray,
) -> None:
    """Each pair of ``code`` in the list group from ``offset`` takes its contact's
    batch (``owner``): where it asks, in the ``grid`` view, else pair by pair."""
    if grid is None:
        for part in _blocks(cs.n_pairs):
            contact, _, hit = _group_bits(cs, code, part, offset, width)
            pair_batch[part][hit] = owner[contact[hit]]
        return
    by_contact = pair_batch.reshape(grid.shape)[:, offset : offset + width]
    for rows in _blocks(len(grid)):
        hit = grid[rows, offset : offset + width] == code
        np.copyto(by_contact[rows], owner[rows, None], where=hit)


#: Pairs (or contacts) whose temporaries are made at once (a few MB, however many pairs).
_PAIR_CHUNK = 1 << 16


def _blocks(n: int) -> list[slice]:
    return [slice(a, min(n, a + _PAIR_CHUNK)) for a in range(0, n, _PAIR_CHUNK)]


def _group_bits(
    cs: ChangeSet, code: int, part: slice, offset: int, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the pairs of ``part``: their contacts, their list's bit within the group of
    lists from ``offset`` (``width`` of them), and whether they ask ``code`` there."""
    rel = cs.pair_list[part].astype(np.int64) - offset
    hit = (cs.action[part] == code) & (rel >= 0) & (rel < width)
    return cs.pair_contact[part], np.where(hit, rel, 0).astype(np.uint64), hit


def _batch(
    cs: ChangeSet,
    code: int,
    index: int,
    ids: Sequence[str],
    lists: tuple[int, ...],
    cg: int,
    lg: int,
) -> Batch:
    return Batch(
        index=index,
        source=Source.contact_ids(ids),
        list_ids=tuple(cs.list_ids[i] for i in lists),
        contact_group=cg,
        list_group=lg,
        size=len(ids),
        action=_ENDPOINT[code],
    )


# -- outcomes ------------------------------------------------------------------------------
def pair_outcomes(
    cs: ChangeSet,
    batch_states: Sequence[str],
    after: set[tuple[str, str]] | np.ndarray | None,
    *,
    words: Mapping[int, tuple[str, str]],
    idle: str | np.ndarray,
    completed: str = BatchState.COMPLETED,
    credit_read: bool = False,
    errored: np.ndarray | None = None,
    seen: np.ndarray | None = None,
    unseen_states: Sequence[str] | None = None,
    vocab: list[Any] | None = None,
) -> np.ndarray:
    """Per pair, what became of it, as a word.

    A pair with an action takes its batch's state until the batch completed; then it is
    ``unverified`` without a later read, else the first of ``words[action]`` when the
    read shows the change (e.g. ``removed``) and the second when it does not
    (``still_member``).

    Args:
        cs: The change set that was run (batched: ``pair_batch`` filled in).
        batch_states: Per batch, ``completed`` or the state it is in instead (``failed``,
            ``not_sent``, ``processing``...).
        after: The memberships a read after the run found (see
            :meth:`ChangeSet.member_after`), or None before any.
        words: Action code to (word when the read shows the change, word when it does not).
        idle: The word (or words, per pair) for pairs without an action.
        completed: The batch state that means "completed". Default ``"completed"``.
        credit_read: A change the later read shows counts whatever its batch's state (it
            happened, by this run or partly). Default False: only completed batches count.
            Either way a change counts only with a read before the run (``cs.known``):
            without it, a contact gone from a list may never have been on it.
        errored: Per pair, whether its activity's ``activity_errors`` name it. Such a
            pair of a completed batch is ``api_error`` unless the later read shows the
            change (a read is the truth). Default None: no errors.
        seen: Per pair, whether ``after``'s read saw its contact (a read of what changed,
            or a sample, sees some). A pair it did not see keeps the outcome it has
            without a read. Default None: the read saw every pair.
        unseen_states: Per batch, the state its pairs unseen by the read take (an
            activity that ended part way: ``unknown``). Default: ``batch_states``.
        vocab: Words; when given, each pair's outcome comes as its word's position in
            it (int16), a word not in it appended: no word is spelled per pair
            (millions of pairs). Default None: the words.

    Example:
        >>> cs = ChangeSet.from_pairs([("c1", "l1"), ("c2", "l1")], REMOVE, was_member=True)
        >>> cs = cs.batched()[1]
        >>> pair_outcomes(cs, ["completed"], {("c2", "l1")},
        ...               words={REMOVE: ("removed", "still_member")},
        ...               idle="not_a_member").tolist()
        ['removed', 'still_member']
    """
    n = cs.n_pairs
    words_of = [] if vocab is None else vocab
    code = _coder(words_of)
    if isinstance(idle, str):
        out = np.full(n, code(idle), dtype=np.int16)
    else:
        at, seen_words = pd.factorize(np.asarray(idle, dtype=object), use_na_sentinel=False)
        out = np.asarray([code(w) for w in seen_words], dtype=np.int16)[at]
    states = np.asarray([code(st) for st in batch_states], dtype=np.int16)
    carried = cs.pair_batch if cs.pair_batch is not None else np.full(n, -1, dtype=np.int64)
    state = np.full(n, code(str(PairOutcome.NOT_SENT)), dtype=np.int16)
    has = carried >= 0
    saw = np.ones(n, dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    if len(states):
        state[has] = states[carried[has]]
    if unseen_states is not None and len(states):
        blind = has & ~saw
        state[blind] = np.asarray([code(st) for st in unseen_states], np.int16)[carried[blind]]
    done = state == code(str(completed))
    member = cs.member_after(after) if after is not None else None
    unverified = code(str(PairOutcome.UNVERIFIED))
    for action, (yes, no) in words.items():
        sel = cs.mask(action)
        out[sel] = np.where(done[sel], unverified, state[sel])
        if member is None:
            continue
        changed, sel = (member if action == ADD else ~member), sel & saw
        if cs.known:  # without the state before, a pair gone may never have been there
            out[sel & (changed if credit_read else changed & done)] = code(yes)
        out[sel & done & ~changed] = code(no)
    if errored is not None:
        hit = np.asarray(errored, dtype=bool) & done & (cs.action != NONE)
        if member is not None and cs.known:  # a read that shows the change wins
            hit &= np.where(cs.action == ADD, ~member, member) | ~saw
        out[hit] = code(str(PairOutcome.API_ERROR))
    return out if vocab is not None else np.asarray(words_of, dtype=object)[out]


def _coder(vocab: list[Any]) -> Callable[[Any], int]:
    """A word's position in ``vocab`` (appended the first time it is met)."""
    at = {w: i for i, w in enumerate(vocab)}

    def code(word: Any) -> int:
        if word not in at:
            at[word] = len(vocab)
            vocab.append(word)
        return at[word]

    return code
