"""The records the emulator keeps: contacts, lists, tags and bulk activities.

Plain mutable dataclasses owned by :class:`~ccpandas.emulator.account.Account`; the
account hands out copies, so what a test holds never changes under it.

Example:
    >>> iso(dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC))
    '2025-01-02T03:04:05Z'
    >>> iso(dt.datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC), seconds=False)
    '2025-01-02T03:04:05.678Z'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from ccpandas.models import ActivityState

__all__ = [
    "CONTACT_STATUSES",
    "Activity",
    "Contact",
    "ContactList",
    "Segment",
    "Tag",
    "iso",
]

#: Internal contact statuses; each is also a value of GET /contacts ``status``.
#: ``active`` contacts are the billable ones that ``all_active_contacts`` selects.
CONTACT_STATUSES = (
    "active",
    "unsubscribed",
    "pending_confirmation",
    "temp_hold",
    "not_set",
    "deleted",
)


# Cached: a page of contacts writes two stamps a contact, and the seeded ones never change
# (strftime took about 4 % of the suite's time in the emulator).
@functools.lru_cache(maxsize=1 << 16)
def iso(value: dt.datetime, *, seconds: bool = True) -> str:
    """ISO-8601 in UTC with ``Z``: whole seconds, as the API writes timestamps, or with
    milliseconds (``seconds=False``, the ``timestamps="milliseconds"`` setting)."""
    value = value.astimezone(dt.UTC)
    if seconds:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclasses.dataclass(slots=True)
class Contact:
    """One contact. ``status`` is one of :data:`CONTACT_STATUSES`."""

    contact_id: str
    ordinal: int
    email: str
    first_name: str
    last_name: str
    status: str
    permission_to_send: str
    engagement_level: str
    tag_ids: tuple[str, ...]
    create_source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    opt_out_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


@dataclasses.dataclass(slots=True)
class ContactList:
    """One contact list."""

    list_id: str
    ordinal: int
    name: str
    description: str
    favorite: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


@dataclasses.dataclass(slots=True)
class Tag:
    """One contact tag."""

    tag_id: str
    ordinal: int
    name: str
    tag_source: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(slots=True)
class Segment:
    """One segment: a saved query in Constant Contact, here its fixed set of members.

    The real service evaluates ``segment_criteria`` when asked; the emulator keeps the
    contacts the criteria would select (``contact_ids``), which is what
    ``GET /contacts?segment_id=`` and an add activity from ``source.segment_id`` read.
    """

    segment_id: int
    name: str
    contact_ids: frozenset[str]
    created_at: dt.datetime
    edited_at: dt.datetime


@dataclasses.dataclass(slots=True, eq=False)  # identity: one record per activity
class Activity:
    """A bulk list-membership activity and its progress.

    ``items`` are the contact ids it processes, in order (one item per contact,
    whatever the number of target lists). ``done`` counts processed items; it stops at
    ``stop_at`` (the total, or the point where an injected failure ends it).
    """

    activity_id: str
    ordinal: int
    kind: str  # "remove_list_memberships" or "add_list_memberships"
    list_ids: tuple[str, ...]
    items: tuple[str, ...]
    source: dict[str, object]
    exclude: tuple[str, ...]
    created_at: dt.datetime
    created_mono: float
    eligible_mono: float
    stop_at: int
    fate: str = ActivityState.COMPLETED.value
    state: str = ActivityState.INITIALIZED.value
    updated_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    done: float = 0.0
    applied: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def items_total(self) -> int:
        """``status.items_total_count``."""
        return len(self.items)

    @property
    def items_completed(self) -> int:
        """``status.items_completed_count``: items whose changes are applied."""
        return self.applied

    @property
    def percent_done(self) -> int:
        """0..100; 100 once completed (also for an empty activity)."""
        if self.state == ActivityState.COMPLETED.value:
            return 100
        if not self.items:
            return 0
        return self.applied * 100 // len(self.items)

    @property
    def terminal(self) -> bool:
        """True in ``completed``, ``cancelled``, ``failed`` or ``timed_out``."""
        return ActivityState(self.state).terminal

    def copy(self) -> Activity:
        """A detached snapshot."""
        return dataclasses.replace(self, errors=list(self.errors))
