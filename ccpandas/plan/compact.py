"""Compact columns for membership snapshots: ragged id lists as small integer codes.

A snapshot of a million members on 50 lists holds 50 million (member, list) pairs. As
Python tuples of strings that is about 8 bytes a pair for the pointers alone, plus a
tuple per contact; as codes it is 2 bytes a pair (a list index into a table of the
distinct ids, each id held once) plus one offset per contact: a CSR layout.
:class:`Ragged` is that layout; :class:`SnapshotBuilder` fills it page by page while a
read is under way, so the read never holds a dict per contact. Pure: numpy and pyarrow.

Example:
    >>> r = Ragged.from_tuples([("l1", "l2"), (), ("l2",)])
    >>> r[0], len(r), r.codes.dtype.name, r.lengths().tolist()
    (('l1', 'l2'), 3, 'int16', [2, 0, 1])
    >>> r.has_any({"l2"}).tolist()
    [True, False, True]
"""

from __future__ import annotations

import hashlib
import itertools
import operator
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ccpandas.models import MAX_LISTS_PER_CONTACT
from ccpandas.plan.keys import arrow_text, email_keys, factorize_text, folded

__all__ = [
    "Others",
    "PageCounts",
    "Ragged",
    "Selection",
    "SnapshotBuilder",
    "bincount",
    "code_dtype",
]

#: Items decoded at once when a Ragged is iterated (bounds the transient Python ints).
_CHUNK = 65_536


def bincount(values: np.ndarray, minlength: int = 0) -> np.ndarray:
    """``np.bincount`` a slice at a time: it widens small codes to 8 bytes each, which
    for 50 million int16 codes would be 400 MB at once.

    Example:
        >>> bincount(np.array([0, 2, 2], dtype=np.int16), 4).tolist()
        [1, 0, 2, 0]
    """
    out = np.zeros(minlength, dtype=np.int64)
    for a in range(0, len(values), _CHUNK):
        part = np.bincount(values[a : a + _CHUNK], minlength=minlength)
        if len(part) > len(out):
            part[: len(out)] += out
            out = part
        else:
            out[: len(part)] += part
    return out


def code_dtype(n_table: int) -> Any:
    """The smallest signed code type for a table of ``n_table`` ids (or positions in one,
    such as a pair's target list): 2 bytes for up to 32,767."""
    return np.int16 if n_table < 2**15 else np.int32


@dataclass(frozen=True, eq=False)
class Ragged(Sequence[tuple[str, ...]]):
    """A sequence of id tuples held as codes: item ``i`` is
    ``tuple(table[c] for c in codes[offsets[i]:offsets[i + 1]])``. Each id string is
    held once (in ``table``), so equal ids of two items are the same object.

    Example:
        >>> r = Ragged.from_tuples([("a",), ("a", "b")])
        >>> r[1], r[0][0] is r[1][0], list(r)
        (('a', 'b'), True, [('a',), ('a', 'b')])
    """

    table: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_tuples(cls, values: Iterable[Any]) -> Ragged:
        """From an iterable of id sequences (None is an empty one)."""
        seen: dict[str, int] = {}
        codes: array[int] = array("i")
        lengths: array[int] = array("q")
        for item in values:
            ids = item or ()
            codes.extend(seen.setdefault(x, len(seen)) for x in ids)
            lengths.append(len(ids))
        return cls.of(tuple(seen), codes, lengths)

    @classmethod
    def of(cls, table: Sequence[str], codes: Any, lengths: Any) -> Ragged:
        """From a table, the flat codes and each item's length."""
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
        dtype = code_dtype(len(table))
        flat = codes if getattr(codes, "dtype", None) == dtype else np.asarray(codes, np.int32)
        return cls(tuple(table), flat.astype(dtype, copy=False), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        j = operator.index(i)
        j = j + n if j < 0 else j
        if not 0 <= j < n:
            raise IndexError(f"index {i} out of range for {n} items")
        a, b = int(self.offsets[j]), int(self.offsets[j + 1])
        table = self.table
        return tuple(table[c] for c in self.codes[a:b].tolist())

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        table, n = self.table, len(self)
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            offs = self.offsets[start : stop + 1].tolist()
            codes = self.codes[offs[0] : offs[-1]].tolist()
            base = offs[0]
            for k in range(stop - start):
                yield tuple(table[c] for c in codes[offs[k] - base : offs[k + 1] - base])

    def __repr__(self) -> str:
        return f"Ragged({len(self):,} items, {len(self.codes):,} ids, {len(self.table):,} distinct)"

    def lengths(self) -> np.ndarray:
        """Ids per item (int64)."""
        return np.diff(self.offsets)

    def owners(self) -> np.ndarray:
        """Per flat code, the position of its item (int32)."""
        return np.repeat(np.arange(len(self), dtype=np.int32), self.lengths())

    def slices(self) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
        """The items in ranges ``(lo, hi)`` covering about 65,536 codes each, with their
        codes and each code's item (int32): what is computed per code is computed a
        slice at a time, a few MB however many."""
        bounds = np.searchsorted(self.offsets, np.arange(0, len(self.codes), _CHUNK))
        edges = [*np.unique(bounds).tolist(), len(self)]
        for lo, hi in itertools.pairwise(edges):
            if hi > lo:
                offsets = self.offsets[lo : hi + 1]
                owners = np.repeat(np.arange(lo, hi, dtype=np.int32), np.diff(offsets))
                yield lo, hi, self.codes[int(offsets[0]) : int(offsets[-1])], owners

    def positions(self, ids: Sequence[str]) -> np.ndarray:
        """Per table code, the position of its id in ``ids`` (-1: absent), as int32."""
        at = {x: k for k, x in enumerate(ids)}
        return np.fromiter((at.get(x, -1) for x in self.table), np.int32, len(self.table))

    def remap(self, mapping: np.ndarray, table: Sequence[str]) -> Ragged:
        """Each item's codes mapped through ``mapping`` (per table code: its code in
        ``table``, -1 to leave it out), in order.

        Example:
            >>> r = Ragged.from_tuples([("x", "l1"), ("l2",)])
            >>> list(r.remap(r.positions(["l1", "l2"]), ["l1", "l2"]))
            [('l1',), ('l2',)]
        """
        dtype = code_dtype(len(table))
        lengths = np.zeros(len(self), dtype=np.int64)
        parts = [np.zeros(0, dtype=dtype)]
        for lo, hi, codes, owners in self.slices():
            new = mapping[codes]
            keep = new >= 0
            lengths[lo:hi] = np.bincount(owners[keep] - lo, minlength=hi - lo)
            parts.append(new[keep].astype(dtype))
        return Ragged.of(table, np.concatenate(parts), lengths)

    def has_any(self, ids: Iterable[str]) -> np.ndarray:
        """Per item: does it hold any of ``ids``?"""
        wanted = set(ids)
        hit = np.fromiter((x in wanted for x in self.table), bool, len(self.table))
        out = np.zeros(len(self), dtype=bool)
        for _, _, codes, owners in self.slices():
            out[owners[hit[codes]]] = True
        return out


@dataclass(frozen=True)
class PageCounts:
    """What a projected page keeps of the members its run's input does not select:
    per list of its pass (in the pass's order) how many of them are on it,
    ``contacts`` (how many there are: each is read once per pass) and ``new`` (those
    on no list of an earlier pass: each contact is counted once over the passes).

    Example:
        >>> PageCounts(lists=(3, 1), contacts=3, new=3).lists
        (3, 1)
    """

    lists: tuple[int, ...]
    contacts: int
    new: int


@dataclass(frozen=True)
class Others:
    """The members a read counted but did not keep (its run's input does not select
    them): per target list (lower-case id) how many, per pass of 25 lists how many
    (the pass's union) and how many contacts in all. They change nothing a plan
    sends; they only make the lists' sizes and a re-read's cost what they are.

    Example:
        >>> Others({"l1": 2}, (2,), 2).per_list["l1"]
        2
    """

    per_list: Mapping[str, int] = field(default_factory=dict)
    per_pass: tuple[int, ...] = ()
    contacts: int = 0


#: What a read's selection can select by: the contact ids of an id column, the
#: addresses of an email column, or the contacts of a run's pairs (its verification).
SELECT_BY = ("contact_id", "email", "run")


@dataclass(frozen=True)
class Selection:
    """The members a read keeps: those whose id (``by`` ``contact_id`` or ``run``)
    or address (``email``, trimmed and lower-cased) is one of ``keys``
    (sorted, each once). The others are only counted (:class:`PageCounts`).

    Example:
        >>> sel = Selection.of("contact_id", ["c2", "c1", "c2"])
        >>> sel.keys, sel.picks([{"contact_id": "C1"}, {"contact_id": "c9"}]).tolist()
        (('c1', 'c2'), [True, False])
    """

    by: str
    keys: tuple[str, ...]
    #: For addresses: per key, the first row of the input that gives it (the run's
    #: journaled id column holds its contact there), else empty.
    rows: tuple[int, ...] = ()
    #: An add's: a contact the targets could put on more lists than it may be on keeps
    #: every list, so that the add can refuse it (not journaled: it keeps more, never less).
    every_list: bool = False

    @classmethod
    def of(cls, by: str, keys: Any) -> Selection:
        """A selection of the distinct ``keys`` (strings as they are matched: a list,
        an Index or an Arrow array; missing values are left out), sorted in Arrow."""
        if by not in SELECT_BY:
            raise ValueError(f"a read selects by one of {SELECT_BY}, not {by!r}")
        if isinstance(keys, Iterator | list | tuple | set | frozenset):
            keys = _objects(list(keys))
        text = keys if hasattr(keys, "drop_null") else arrow_text(keys)[0]
        distinct = pc.unique(text.drop_null())
        return cls(by, tuple(distinct.take(pc.array_sort_indices(distinct)).to_pylist()))

    @classmethod
    def of_emails(cls, values: Any) -> Selection:
        """The valid addresses of an email column (normalised as planning matches
        them), each with the first row that gives it.

        Example:
            >>> sel = Selection.of_emails(["b@x.co", "typo", " A@x.co", "b@x.co"])
            >>> sel.keys, sel.rows
            (('a@x.co', 'b@x.co'), (2, 0))
        """
        codes, uniques = factorize_text(
            email_keys(_objects(list(values)) if isinstance(values, list) else values)[0]
        )
        given = np.flatnonzero(codes >= 0)[::-1]
        first = np.zeros(len(uniques), dtype=np.int64)
        first[codes[given]] = given  # written last to first: each key's first row stays
        order = pc.array_sort_indices(uniques).to_numpy()
        return cls("email", tuple(uniques.take(order).to_pylist()), tuple(first[order].tolist()))

    def positions(
        self, records: Sequence[Mapping[str, Any]], seen: dict[str, str]
    ) -> list[int] | None:
        """What a journal page keeps of the selected ``records``' ids: positions into
        the run's input (of its distinct ids, or the first row of an address), or
        None when the ids must stay (a read of a run's contacts; an address of two
        contacts). ``seen``: address -> the contact the read found first with it
        (updated): the one planning takes, the only one its row names.

        Example:
            >>> sel = Selection.of_emails(["b@x.co", "a@x.co"])
            >>> seen = {}
            >>> sel.positions([{"contact_id": "c1", "email": "A@x.co"}], seen), seen
            ([1], {'a@x.co': 'c1'})
            >>> sel.positions([{"contact_id": "c2", "email": "a@x.co"}], seen) is None
            True
        """
        at = self.index
        if self.by == "contact_id":
            return [at[str(r["contact_id"]).lower()] for r in records]
        if self.by != "email":
            return None
        found = folded(_objects([r.get("email") for r in records])).to_pylist()
        ok = True
        for address, rec in zip(found, records, strict=True):
            cid = str(rec["contact_id"]).lower()
            ok = seen.setdefault(address, cid) == cid and ok
        return [self.rows[at[k]] for k in found] if ok else None

    @cached_property
    def index(self) -> dict[str, int]:
        """Key -> its position in ``keys`` (what a journal page keeps of an id)."""
        return {k: i for i, k in enumerate(self.keys)}

    @cached_property
    def key_array(self) -> Any:
        """``keys`` as an Arrow array, built once: a read matches every page against
        it (a million addresses take longer to convert than a page to read)."""
        return pa.array(self.keys, pa.string())

    @property
    def fingerprint(self) -> str:
        """A digest of ``by`` and the keys: the same for the same input, in any order."""
        return hashlib.sha256("\n".join((self.by, *self.keys)).encode()).hexdigest()

    def record(self) -> dict[str, Any]:
        """What the journal keeps of it: no key, and for addresses nothing derived
        from them (a digest of one address is confirmed by guessing it).

        Example:
            >>> Selection.of_emails(["a@x.co"]).record()
            {'by': 'email', 'keys': 1}
        """
        if self.by == "email":
            return {"by": self.by, "keys": len(self.keys)}
        return {"by": self.by, "keys": len(self.keys), "fingerprint": self.fingerprint}

    def picks(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Per record, whether it is selected."""
        if self.by == "email":
            # Folded exactly as planning matches addresses.
            found = folded(_objects([r.get("email") for r in records]))
            hit = pc.is_in(found, value_set=self.key_array)
            return np.asarray(hit.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        at = self.index
        ids = (str(r["contact_id"]).lower() for r in records)
        return np.fromiter((c in at for c in ids), bool, len(records))

    def split(
        self,
        records: Sequence[Mapping[str, Any]],
        pass_lists: Sequence[str],
        earlier: frozenset[str],
        targets: frozenset[str],
    ) -> tuple[list[Mapping[str, Any]], PageCounts]:
        """The selected records of a page of a pass over ``pass_lists``, and the
        others' counts. ``earlier``: the (lower-case) lists of the earlier passes: a
        contact on one of them was counted there, and a list read there too is
        counted there only. A record kept keeps its id, status and the (lower-case)
        ``targets`` it is on: a run by ids or addresses needs nothing else (its other
        lists and its tags only preview a removal by source, which keeps every member;
        but see ``every_list``).

        Example:
            >>> sel = Selection.of("contact_id", ["c1"])
            >>> recs = [{"contact_id": "c1", "status": "active", "lists": ["l1", "x"],
            ...          "tags": ["t"]}, {"contact_id": "c2", "lists": ["l1"]}]
            >>> kept, counts = sel.split(recs, ["l1"], frozenset(), frozenset({"l1"}))
            >>> kept[0]["lists"], kept[0]["tags"], counts
            (['l1'], [], PageCounts(lists=(1,), contacts=1, new=1))
        """
        hit = self.picks(records)
        slot = {x.lower(): k for k, x in enumerate(pass_lists) if x.lower() not in earlier}
        per = [0] * len(pass_lists)
        kept: list[Mapping[str, Any]] = []
        contacts = new = 0
        for rec, selected in zip(records, hit.tolist(), strict=True):
            lists = [str(x).lower() for x in rec.get("lists") or ()]
            if selected:
                if not self.every_list or len(targets.union(lists)) <= MAX_LISTS_PER_CONTACT:
                    lists = [x for x in lists if x in targets]
                kept.append({**rec, "lists": lists, "tags": []})
                continue
            contacts += 1
            new += not earlier.intersection(lists)
            for k in [slot[x] for x in lists if x in slot]:
                per[k] += 1
        return kept, PageCounts(tuple(per), contacts, new)


class SnapshotBuilder:
    """A snapshot's columns, filled a page at a time while a read is under way: each
    contact once (its first record wins: a contact read by two passes of 25 lists),
    list and tag ids as codes, each id and status string held once.

    Example:
        >>> b = SnapshotBuilder().extend([
        ...     {"contact_id": "C1", "email": "a@b.co", "status": "active",
        ...      "lists": ["L1", "L2"], "tags": []},
        ...     {"contact_id": "c1", "lists": ["L1"]}])
        >>> len(b), b.columns()["lists"][0]
        (1, ('l1', 'l2'))
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self.contact_ids: list[str] = []
        self.emails: list[str | None] = []
        self.statuses: list[Any] = []
        self._words: dict[Any, Any] = {}
        self._tables: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._lower: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self._codes: tuple[array[int], array[int]] = (array("i"), array("i"))
        self._lengths: tuple[array[int], array[int]] = (array("q"), array("q"))
        #: Per pass: the members counted, not kept (per list, contacts, new contacts).
        self._others: dict[int, tuple[dict[str, int], int, int]] = {}

    def __len__(self) -> int:
        return len(self.contact_ids)

    def __repr__(self) -> str:
        return f"SnapshotBuilder({len(self):,} contacts)"

    def add(self, rec: Mapping[str, Any]) -> bool:
        """Add one record (``contact_id``, ``email``, ``status``, ``lists``, ``tags``);
        False when its contact is already in."""
        cid = str(rec["contact_id"]).lower()
        if cid in self._seen:
            return False
        self._seen.add(cid)
        self.contact_ids.append(cid)
        self.emails.append(rec.get("email"))
        status = rec.get("status")
        self.statuses.append(self._words.setdefault(status, status))
        for k, key in enumerate(("lists", "tags")):
            ids = rec.get(key) or ()
            self._codes[k].extend(self._code(k, x) for x in ids)
            self._lengths[k].append(len(ids))
        return True

    def extend(self, records: Iterable[Mapping[str, Any]]) -> SnapshotBuilder:
        """Add every record; returns the builder."""
        for rec in records:
            self.add(rec)
        return self

    def count_others(self, pass_index: int, pass_lists: Sequence[str], counts: PageCounts) -> None:
        """Add a page's counts of the members it did not keep (pass ``pass_index``
        over ``pass_lists``)."""
        per, contacts, new = self._others.get(pass_index, ({}, 0, 0))
        for lid, n in zip(pass_lists, counts.lists, strict=True):
            if n:
                per[lid.lower()] = per.get(lid.lower(), 0) + n
        self._others[pass_index] = (per, contacts + counts.contacts, new + counts.new)

    def forget_pass(self, pass_index: int, lists: Iterable[str]) -> None:
        """Forget what pass ``pass_index`` over ``lists`` found (it is read again from
        its start): the contacts on any of them and its counts."""
        self._others.pop(pass_index, None)
        self.drop_lists(lists)

    @property
    def n_contacts(self) -> int:
        """The contacts found so far: those kept and those only counted.

        Example:
            >>> b = SnapshotBuilder().extend([{"contact_id": "c1", "lists": ["l1"]}])
            >>> b.count_others(0, ["l1"], PageCounts(lists=(2,), contacts=2, new=2))
            >>> len(b), b.n_contacts
            (1, 3)
        """
        return len(self) + sum(new for _, _, new in self._others.values())

    def others(self) -> Others:
        """The counts of the members not kept, over every pass."""
        per = sum((Counter(lists) for lists, _, _ in self._others.values()), Counter[str]())
        n_passes = max(self._others, default=-1) + 1
        per_pass = tuple(self._others.get(i, ({}, 0, 0))[1] for i in range(n_passes))
        return Others(dict(per), per_pass, sum(v[2] for v in self._others.values()))

    def _code(self, k: int, value: Any) -> int:
        text = str(value)
        low = self._lower[k].get(text) or self._lower[k].setdefault(text, text.lower())
        table = self._tables[k]
        return table.setdefault(low, len(table))

    def ragged(self, k: int) -> Ragged:
        """The lists (``k`` 0) or the tags (1) as a :class:`Ragged`."""
        return Ragged.of(tuple(self._tables[k]), self._codes[k], self._lengths[k])

    def columns(self) -> dict[str, Any]:
        """The snapshot's columns: ``contact_ids``, ``emails``, ``statuses`` (object
        arrays), ``lists``, ``tags`` (:class:`Ragged`) and ``others`` (the counts of
        the members not kept, :class:`Others`)."""
        return {
            "others": self.others(),
            "contact_ids": _objects(self.contact_ids),
            "emails": _objects(self.emails),
            "statuses": _objects(self.statuses),
            "lists": self.ragged(0),
            "tags": self.ragged(1),
        }

    def drop_lists(self, lists: Iterable[str]) -> None:
        """Forget the contacts on any of ``lists`` (a pass read again from its start)."""
        keep = ~self.ragged(0).has_any(x.lower() for x in lists)
        if keep.all():
            return
        kept = np.flatnonzero(keep).tolist()
        self.contact_ids = [self.contact_ids[i] for i in kept]
        self.emails = [self.emails[i] for i in kept]
        self.statuses = [self.statuses[i] for i in kept]
        self._seen = set(self.contact_ids)
        for k in (0, 1):
            r = self.ragged(k)
            mask = np.repeat(keep, r.lengths())
            self._codes[k][:] = array("i", r.codes[mask].astype(np.int32).tobytes())
            self._lengths[k][:] = array("q", r.lengths()[keep].tobytes())

    def set_statuses(self, statuses: Sequence[Any]) -> None:
        """Replace every contact's status (in contact order), each word held once."""
        self.statuses = [self._words.setdefault(s, s) for s in statuses]


def _objects(values: Sequence[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
