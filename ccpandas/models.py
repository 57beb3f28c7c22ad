"""Plain, frozen data: what a removal is made of and the daily quota it spends. No I/O, no
pandas, no HTTP.

Example:
    >>> src = Source.tag_ids(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"])
    >>> src.to_json()
    {'tag_ids': ['8b54d1f4-5b0e-11ee-8c99-0242ac120002']}
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DAILY_QUOTA",
    "ENGAGEMENT_LEVELS",
    "MAX_CLOCK_SKEW_SECONDS",
    "MAX_CONTACTS_PER_REQUEST",
    "MAX_LISTS_PER_CONTACT",
    "MAX_LISTS_PER_REQUEST",
    "MAX_SOURCE_LISTS",
    "MAX_TAGS_PER_REQUEST",
    "UUID_RE",
    "ActivityState",
    "Batch",
    "IdSlice",
    "MembershipAction",
    "Source",
    "SourceKind",
    "activity_error_texts",
    "quota_day",
]

# Limits from the developer guide / spec descriptions (not the spec's maxItems: 0 defect).
MAX_CONTACTS_PER_REQUEST = 500
MAX_LISTS_PER_REQUEST = 50
MAX_SOURCE_LISTS = 50
MAX_TAGS_PER_REQUEST = 50
#: "Each contact can be a member of up to 50 lists" (the spec's add_list_memberships;
#: the guide's "A contact can belong to a maximum of 50 lists").
MAX_LISTS_PER_CONTACT = 50
ENGAGEMENT_LEVELS = ("unqualified", "low", "medium", "high")
#: Requests an application key may send per UTC day (Constant Contact's default).
DAILY_QUOTA = 10_000

#: A canonical lower-case 8-4-4-4-12 UUID.
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def activity_error_texts(errors: Any) -> tuple[str, ...]:
    """The message texts of an activity's ``activity_errors``, whatever their shape.

    The spec says strings; the service has also been seen to send ``{"message": ...}``
    objects. Both read as their text, never as a dict's repr; an object without a
    message reads as its JSON.

    Args:
        errors: The ``activity_errors`` value of an activity body (a list, usually; None
            or a single string or object are read too).

    Returns:
        One text per error.

    Example:
        >>> activity_error_texts(["gone", {"message": "not added"}, None])
        ('gone', 'not added')
    """
    if errors is None:
        return ()
    items = errors if isinstance(errors, list | tuple) else [errors]
    texts = []
    for item in items:
        if isinstance(item, dict):
            text = item.get("message", item.get("error_message"))
            texts.append(str(text) if text is not None else json.dumps(item, sort_keys=True))
        elif item is not None:
            texts.append(str(item))
    return tuple(texts)


class ActivityState(enum.StrEnum):
    """The documented states of a bulk activity.

    Args:
        value: A state as the API spells it, e.g. ``ActivityState("completed")``.

    Example:
        >>> ActivityState("timed_out").terminal, ActivityState("completed").ok
        (True, True)
    """

    INITIALIZED = "initialized"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        """True for the four end states (every state but the two running ones)."""
        return self not in (ActivityState.INITIALIZED, ActivityState.PROCESSING)

    @property
    def ok(self) -> bool:
        """True only for ``completed``."""
        return self is ActivityState.COMPLETED


#: How far the machine's clock may be off the API's: the wait for the daily quota's
#: reset (00:00 UTC by the API's clock) is timed by this machine's, and
#: ``ccpandas.doctor`` flags a larger skew.
MAX_CLOCK_SKEW_SECONDS = 5.0


class MembershipAction(enum.StrEnum):
    """What a batch does to its target lists: the bulk activity endpoint it is sent to.

    Example:
        >>> MembershipAction.ADD.path
        '/activities/add_list_memberships'
    """

    REMOVE = "remove_list_memberships"
    ADD = "add_list_memberships"

    @property
    def path(self) -> str:
        """The endpoint, relative to the API's base URL."""
        return f"/activities/{self.value}"


class SourceKind(enum.StrEnum):
    """The five mutually exclusive sources of a removal activity."""

    CONTACT_IDS = "contact_ids"
    LIST_IDS = "list_ids"
    ALL_ACTIVE_CONTACTS = "all_active_contacts"
    TAG_IDS = "tag_ids"
    ENGAGEMENT_LEVEL = "engagement_level"

    @property
    def api_selects(self) -> bool:
        """The API chooses the contacts when the request is sent: every kind but
        ``contact_ids``, whose requests name them.

        Example:
            >>> SourceKind.TAG_IDS.api_selects, SourceKind.CONTACT_IDS.api_selects
            (True, False)
        """
        return self is not SourceKind.CONTACT_IDS


class IdSlice(Sequence[str]):
    """Ids ``start`` to ``stop`` of ``ids``, read as Python strings only when used.

    ``ids`` is any sliceable sequence of strings (a plan passes its pandas Index,
    which may be Arrow-backed, or a numpy array); it is kept, not copied. A plan of a million rows
    would otherwise hold every id as a Python ``str`` up front. Equal to any sequence
    of the same strings, and hashes like the tuple of them.

    Example:
        >>> part = IdSlice(["a", "b", "c", "d"], 1, 3)
        >>> len(part), list(part), part == ("b", "c"), part[-1]
        (2, ['b', 'c'], True, 'c')
        >>> Source.contact_ids(part).to_json()
        {'contact_ids': ['b', 'c']}
    """

    __slots__ = ("_hash", "_ids", "_set", "_start", "_stop")
    _ids: Any  # sliceable: a sequence, a pandas Index or array, a numpy array
    _start: int
    _stop: int
    _hash: int | None
    _set: frozenset[str] | None

    def __init__(self, ids: Any, start: int = 0, stop: int | None = None) -> None:
        start, stop, _ = slice(start, stop).indices(len(ids))
        object.__setattr__(self, "_ids", ids)
        object.__setattr__(self, "_start", start)
        object.__setattr__(self, "_stop", max(start, stop))
        object.__setattr__(self, "_hash", None)
        object.__setattr__(self, "_set", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, key: Any) -> Any:
        try:
            at = range(self._start, self._stop)[key]
        except IndexError:  # a tuple's errors, naming the IdSlice
            raise IndexError("IdSlice index out of range") from None
        except TypeError:
            kind = type(key).__name__
            raise TypeError(f"IdSlice indices must be integers or slices, not {kind}") from None
        if isinstance(at, int):
            return str(self._ids[at])
        return IdSlice(self._ids, at.start, at.stop) if at.step == 1 else tuple(self)[key]

    def __iter__(self) -> Iterator[str]:
        part = self._ids[self._start : self._stop]
        # to_numpy converts a pandas (e.g. Arrow) slice in C; tolist iterates one by one.
        to_numpy = getattr(part, "to_numpy", None)
        return iter(to_numpy(dtype=object) if to_numpy is not None else part)

    def __contains__(self, value: object) -> bool:
        # The ids converted once, at the first `in` (a caller checking many rows asked 500
        # conversions a check); the ids a plan slices are never written after.
        if self._set is None:
            object.__setattr__(self, "_set", frozenset(self))
        assert self._set is not None
        try:
            return value in self._set
        except TypeError:  # unhashable: equal to no id
            return False

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdSlice):
            if other._ids is self._ids and (other._start, other._stop) == (self._start, self._stop):
                return True
        elif not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(other) == len(self) and list(self) == list(other)

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(tuple(self)))
        assert self._hash is not None
        return self._hash

    def __repr__(self) -> str:
        n = len(self)
        shown = ", ".join(repr(v) for v in self[:2])
        more = ", ..." if n > 2 else ""
        return f"IdSlice([{shown}{more}], {n} id{'s' * (n != 1)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (IdSlice, (self._ids, self._start, self._stop))


@dataclass(frozen=True)
class Source:
    """Which contacts an activity removes. Build it with the class methods.

    Args:
        kind: What selects the contacts (a ``SourceKind``: ``contact_ids``, ``list_ids``,
            ``tag_ids``, ``engagement_level`` or ``all_active_contacts``).
        values: The ids (or the one engagement level) of that kind. Default none, as for
            ``all_active_contacts``.

    Example:
        >>> Source.engagement_level("low").to_json()
        {'engagement_level': 'low'}
    """

    kind: SourceKind
    values: Sequence[str] = ()

    @classmethod
    def contact_ids(cls, ids: Iterable[str]) -> Source:
        """Remove exactly these contacts (at most 500 per request).

        An :class:`IdSlice` is kept as it is (not copied into a tuple).

        Args:
            ids: Contact ids, e.g. ``df["contact_id"]`` or
                ``["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]``.

        Example:
            >>> Source.contact_ids(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]).kind.value
            'contact_ids'
        """
        return cls(SourceKind.CONTACT_IDS, ids if isinstance(ids, IdSlice) else tuple(ids))

    @classmethod
    def list_ids(cls, ids: Iterable[str]) -> Source:
        """Remove every member of these lists (at most 50 per request: more are split).

        Args:
            ids: List UUIDs or exact names of active lists, e.g. ``["Spring promo"]``; the
                removal functions resolve names with one ``GET /contact_lists``.
        """
        return cls(SourceKind.LIST_IDS, tuple(ids))

    @classmethod
    def all_active_contacts(cls) -> Source:
        """Remove every active contact. Destructive: callers must confirm."""
        return cls(SourceKind.ALL_ACTIVE_CONTACTS)

    @classmethod
    def tag_ids(cls, ids: Iterable[str]) -> Source:
        """Remove contacts carrying any of these tags (at most 50 per request): tag ids,
        or exact tag names, which the removal functions resolve with one
        ``GET /contact_tags`` (unknown or ambiguous names are a PlanError).

        Args:
            ids: Tag ids or exact tag names, e.g. ``["Churned"]``.
        """
        return cls(SourceKind.TAG_IDS, tuple(ids))

    @classmethod
    def engagement_level(cls, level: str) -> Source:
        """Remove contacts at one engagement level: unqualified, low, medium or high.

        Args:
            level: The level: ``"unqualified"``, ``"low"``, ``"medium"`` or ``"high"``.
        """
        return cls(SourceKind.ENGAGEMENT_LEVEL, (level,))

    @property
    def accepts_exclude(self) -> bool:
        """Only ``list_ids`` and ``all_active_contacts`` sources take ``exclude``."""
        return self.kind in (SourceKind.LIST_IDS, SourceKind.ALL_ACTIVE_CONTACTS)

    def to_json(self) -> dict[str, Any]:
        """The ``source`` object of the request body."""
        if self.kind is SourceKind.ALL_ACTIVE_CONTACTS:
            return {"all_active_contacts": True}
        if self.kind is SourceKind.ENGAGEMENT_LEVEL:
            return {"engagement_level": self.values[0]}
        return {self.kind.value: list(self.values)}


@dataclass(frozen=True)
class Batch:
    """One removal request: a source, at most 50 target lists, an optional exclude.

    ``index`` is the batch's position in its plan; ``contact_group`` and
    ``list_group`` say which slice of contacts and of lists it covers. ``action`` is
    the endpoint: removal, or (an undo) ``add_list_memberships`` with the same body.

    Example:
        >>> b = Batch(0, Source.contact_ids(["a"]), ("l1",))
        >>> b.to_json()
        {'source': {'contact_ids': ['a']}, 'list_ids': ['l1']}
    """

    index: int
    source: Source
    list_ids: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    contact_group: int = 0
    list_group: int = 0
    size: int = field(default=0, compare=False)
    action: MembershipAction = MembershipAction.REMOVE

    def to_json(self) -> dict[str, Any]:
        """The request body for ``POST /activities/remove_list_memberships`` (or
        ``add_list_memberships``, the same shape)."""
        body: dict[str, Any] = {"source": self.source.to_json(), "list_ids": list(self.list_ids)}
        if self.exclude:
            body["exclude"] = {"contact_ids": list(self.exclude)}
        return body


def chunked(seq: Sequence[str], size: int) -> list[tuple[str, ...]]:
    """Split ``seq`` into consecutive tuples of at most ``size`` items.

    Example:
        >>> chunked(["a", "b", "c"], 2)
        [('a', 'b'), ('c',)]
    """
    return [tuple(seq[i : i + size]) for i in range(0, len(seq), size)]


def quota_day() -> dt.date:
    """Today in UTC: the day the daily quota counts against.

    Example:
        >>> quota_day() == dt.datetime.now(dt.UTC).date()
        True
    """
    return dt.datetime.now(dt.UTC).date()
