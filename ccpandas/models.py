"""Plain, frozen data: what a removal is made of. No I/O, no pandas, no HTTP.

Example:
    >>> src = Source.tag_ids(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"])
    >>> src.to_json()
    {'tag_ids': ['8b54d1f4-5b0e-11ee-8c99-0242ac120002']}
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ENGAGEMENT_LEVELS",
    "MAX_CONTACTS_PER_REQUEST",
    "MAX_LISTS_PER_REQUEST",
    "MAX_SOURCE_LISTS",
    "MAX_TAGS_PER_REQUEST",
    "UUID_RE",
    "ActivityState",
    "Batch",
    "Source",
    "SourceKind",
]

# Limits from the developer guide / spec descriptions (not the spec's maxItems: 0 defect).
MAX_CONTACTS_PER_REQUEST = 500
MAX_LISTS_PER_REQUEST = 50
MAX_SOURCE_LISTS = 50
MAX_TAGS_PER_REQUEST = 50
ENGAGEMENT_LEVELS = ("unqualified", "low", "medium", "high")

#: A canonical lower-case 8-4-4-4-12 UUID.
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class ActivityState(enum.StrEnum):
    """The documented states of a bulk activity."""

    INITIALIZED = "initialized"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def terminal(self) -> bool:
        """True for the four end states."""
        return self in _TERMINAL

    @property
    def ok(self) -> bool:
        """True only for ``completed``."""
        return self is ActivityState.COMPLETED


_TERMINAL = frozenset(
    {
        ActivityState.COMPLETED,
        ActivityState.CANCELLED,
        ActivityState.FAILED,
        ActivityState.TIMED_OUT,
    }
)


class SourceKind(enum.StrEnum):
    """The five mutually exclusive sources of a removal activity."""

    CONTACT_IDS = "contact_ids"
    LIST_IDS = "list_ids"
    ALL_ACTIVE_CONTACTS = "all_active_contacts"
    TAG_IDS = "tag_ids"
    ENGAGEMENT_LEVEL = "engagement_level"


@dataclass(frozen=True)
class Source:
    """Which contacts an activity removes. Build it with the class methods.

    Example:
        >>> Source.engagement_level("low").to_json()
        {'engagement_level': 'low'}
    """

    kind: SourceKind
    values: tuple[str, ...] = ()

    @classmethod
    def contact_ids(cls, ids: Iterable[str]) -> Source:
        """Remove exactly these contacts (at most 500 per request)."""
        return cls(SourceKind.CONTACT_IDS, tuple(ids))

    @classmethod
    def list_ids(cls, ids: Iterable[str]) -> Source:
        """Remove every member of these lists (at most 50)."""
        return cls(SourceKind.LIST_IDS, tuple(ids))

    @classmethod
    def all_active_contacts(cls) -> Source:
        """Remove every active contact. Destructive: callers must confirm."""
        return cls(SourceKind.ALL_ACTIVE_CONTACTS)

    @classmethod
    def tag_ids(cls, ids: Iterable[str]) -> Source:
        """Remove contacts carrying any of these tags (at most 50)."""
        return cls(SourceKind.TAG_IDS, tuple(ids))

    @classmethod
    def engagement_level(cls, level: str) -> Source:
        """Remove contacts at one engagement level: unqualified, low, medium or high."""
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
    ``list_group`` say which slice of contacts and of lists it covers.

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

    def to_json(self) -> dict[str, Any]:
        """The request body for ``POST /activities/remove_list_memberships``."""
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
