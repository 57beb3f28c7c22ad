"""The emulated account's state, and the accessors tests assert on.

One re-entrant lock guards everything; every accessor first brings activity
processing up to the clock's time, so what it returns is what a GET would show now.
Accessors return copies: holding one never blocks or races the server.

Example:
    >>> from ccpandas.emulator import Emulator
    >>> acct = Emulator(seed=1, contacts=50, lists=3).account
    >>> first = acct.list_ids()[0]
    >>> acct.members(first) <= set(acct.contacts)
    True
    >>> acct.count(method="GET")  # requests answered so far
    0
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import random
import secrets
import threading
from collections.abc import Iterable
from typing import Any

from ccpandas.emulator.clock import Clock
from ccpandas.emulator.faults import Faults
from ccpandas.emulator.model import (
    CONTACT_STATUSES,
    Activity,
    Contact,
    ContactList,
    Segment,
    Tag,
)
from ccpandas.emulator.processing import Processor
from ccpandas.emulator.replies import ErrorReply
from ccpandas.emulator.seed import SeedData, uuid1, uuid1_at
from ccpandas.emulator.settings import Settings
from ccpandas.emulator.tokens import TokenStore
from ccpandas.emulator.validation import ActivityRequest, parse_activity_body
from ccpandas.models import ENGAGEMENT_LEVELS, MAX_LISTS_PER_CONTACT

__all__ = [
    "ACTIVITY_RETENTION",
    "NEW_SUBSCRIBER_WINDOW",
    "REQUEST_LOG_SIZE",
    "Account",
    "RequestRecord",
]

#: Activities are kept this long after they are created (then GET answers 404).
ACTIVITY_RETENTION = dt.timedelta(days=10)
#: ``source.new_subscriber`` adds "contacts that subscribed within the last 30 days".
NEW_SUBSCRIBER_WINDOW = dt.timedelta(days=30)
#: The request log keeps the most recent this many requests.
REQUEST_LOG_SIZE = 10_000


@dataclasses.dataclass(frozen=True)
class RequestRecord:
    """One answered (or dropped) request. ``path`` includes the query string."""

    method: str
    route: str
    path: str
    status: int
    dropped: bool
    at: dt.datetime


class Account:
    """Contacts, lists, tags, memberships, activities, tokens and request counts.

    The :class:`~ccpandas.emulator.Emulator` builds it (``emu.account``); its methods
    read and change the account directly, without HTTP, to set up or check a test.

    Args:
        data: The seeded records to start from (``SeedData``: contacts, lists, tags,
            memberships), from ``seed_account``.
        clock: The emulator's clock (``now()`` and ``monotonic()``), e.g. a
            :class:`~ccpandas.emulator.clock.ManualClock`.
        settings: The :class:`~ccpandas.emulator.settings.Settings` in force.
        faults: The fault injector (random faults and :meth:`Emulator.fail_next` /
            :meth:`Emulator.keep_members`).
        tokens: The bearer tokens the server accepts (a ``TokenStore``).
        seed: The seed new ids follow, so a test run gives the same ids each time. Default
            0.
    """

    def __init__(
        self,
        data: SeedData,
        *,
        clock: Clock,
        settings: Settings,
        faults: Faults,
        tokens: TokenStore,
        seed: int = 0,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        #: The settings in force; replaced as a whole by ``Emulator.configure``.
        self.settings = settings
        #: The bearer tokens the server accepts (the seam for an OAuth2 server).
        self.tokens = tokens
        self._contacts: dict[str, Contact] = {c.contact_id: c for c in data.contacts}
        self._by_ordinal: list[Contact] = list(data.contacts)
        # GET /contacts?email= looks addresses up here instead of scanning the account:
        # lower-cased address -> ids in account order (a list, as nothing stops a test
        # from giving two contacts one address).
        self._by_email: dict[str, list[str]] = collections.defaultdict(list)
        for contact in data.contacts:
            self._by_email[contact.email.lower()].append(contact.contact_id)
        self._lists: dict[str, ContactList] = {lst.list_id: lst for lst in data.lists}
        self._tags: dict[str, Tag] = {t.tag_id: t for t in data.tags}
        self._segments: dict[int, Segment] = {g.segment_id: g for g in data.segments}
        self._members: dict[str, set[str]] = {lid: set(m) for lid, m in data.memberships.items()}
        self._lists_of: dict[str, set[str]] = collections.defaultdict(set)
        for list_id, members in self._members.items():
            for cid in members:
                self._lists_of[cid].add(list_id)
        self._tagged: dict[str, set[str]] = {t.tag_id: set() for t in data.tags}
        for contact in data.contacts:
            for tag_id in contact.tag_ids:
                self._tagged[tag_id].add(contact.contact_id)
        self._activities: dict[str, Activity] = {}
        #: The body of the last 201 an activity POST got: what a caching proxy replays
        #: (``activity_answers="replay"``).
        self.last_activity_answer: dict[str, Any] | None = None
        #: First reads of each segment's contacts so far (``segment_pending_reads``).
        self.segment_reads: collections.Counter[int] = collections.Counter()
        self._counts: collections.Counter[tuple[str, str, int]] = collections.Counter()
        self._log: collections.deque[RequestRecord] = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self._ids = random.Random(f"{seed}:ids")
        #: This emulator's node in its activity ids (random per instance, as a host's).
        self._node = secrets.randbits(48)
        self._faults = faults
        self.processor = Processor(self, faults)

    # -- housekeeping -----------------------------------------------------------------

    def new_id(self, at: dt.datetime | None = None) -> str:
        """A fresh UUID for a new record.

        Args:
            at: The time the UUID's time fields carry (an activity's creation time, as
                the service's time-based ids do: unique over time). None (the default)
                draws every field from the seed, so a record's id is reproducible.
        """
        with self.lock:
            return uuid1(self._ids) if at is None else uuid1_at(self._ids, at, self._node)

    def sync(self) -> None:
        """Bring activities up to the clock's time and forget those past retention."""
        with self.lock:
            self.processor.advance()
            horizon = self.clock.now() - ACTIVITY_RETENTION
            expired = []
            for activity_id, activity in self._activities.items():
                if activity.created_at >= horizon:
                    break
                if activity.terminal:
                    expired.append(activity_id)
            for activity_id in expired:
                del self._activities[activity_id]

    def record_request(
        self, method: str, route: str, path: str, status: int, *, dropped: bool = False
    ) -> None:
        """Count one request under ``(method, route, status)`` and log it.

        Args:
            method: The HTTP method, e.g. ``"POST"``.
            route: The route template, e.g. ``"/v3/activities/remove_list_memberships"``
                (ids replaced by placeholders).
            path: The path as requested, e.g. ``"/v3/activities/4f2c..."``.
            status: The answer's HTTP status, e.g. ``201``.
            dropped: True when the connection was closed with no answer (the ``drop_rate``
                fault). Default False.
        """
        with self.lock:
            self._counts[(method, route, status)] += 1
            self._log.append(RequestRecord(method, route, path, status, dropped, self.clock.now()))

    # -- reading: records ---------------------------------------------------------------

    @property
    def contacts(self) -> dict[str, Contact]:
        """All contacts (deleted ones too) by id, in account order."""
        with self.lock:
            return dict(self._contacts)

    @property
    def lists(self) -> dict[str, ContactList]:
        """All contact lists by id, in account order."""
        with self.lock:
            return dict(self._lists)

    @property
    def tags(self) -> dict[str, Tag]:
        """All tags by id, in account order."""
        with self.lock:
            return dict(self._tags)

    @property
    def segments(self) -> dict[int, Segment]:
        """All segments by id, in the order they were made."""
        with self.lock:
            return dict(self._segments)

    def segment_members(self, segment_id: int) -> list[Contact]:
        """The live contacts a segment selects, in account order (deleted ones never:
        a segment's criteria see only contacts that exist). ``KeyError`` if unknown.

        Args:
            segment_id: The segment's id, e.g. ``1``.
        """
        with self.lock:
            members = self._segments[segment_id].contact_ids
            found = (self._contacts.get(cid) for cid in members)
            live = [c for c in found if c is not None and c.status != "deleted"]
            return sorted(live, key=lambda c: c.ordinal)

    def create_segment(self, name: str, contact_ids: Iterable[str]) -> int:
        """Add a segment selecting ``contact_ids``; returns its id (1, 2, ...).

        Args:
            name: Its name, unique in the account (``ValueError`` otherwise).
            contact_ids: The contacts its criteria select (any case; ``KeyError`` for an
                unknown one).

        Example:
            >>> from ccpandas.emulator import Emulator
            >>> acct = Emulator(seed=1, contacts=20, lists=2).account
            >>> sid = acct.create_segment("Openers", acct.contact_ids("active")[:3])
            >>> len(acct.segment_members(sid))
            3
        """
        with self.lock:
            self.sync()
            if any(g.name == name for g in self._segments.values()):
                raise ValueError(f"a segment named {name!r} exists already")
            ids = frozenset(cid.lower() for cid in contact_ids)
            unknown = sorted(ids - self._contacts.keys())
            if unknown:
                raise KeyError(f"no contact {unknown[0]}")
            now = self.clock.now()
            segment_id = max(self._segments, default=0) + 1
            self._segments[segment_id] = Segment(segment_id, name, ids, now, now)
            return segment_id

    def contact(self, contact_id: str) -> Contact:
        """One contact (a copy); ``KeyError`` if unknown.

        Args:
            contact_id: The contact's id (any case).
        """
        with self.lock:
            return dataclasses.replace(self._contacts[contact_id.lower()])

    def contact_ids(self, status: str | None = None) -> list[str]:
        """Contact ids in account order, optionally only those with ``status``.

        Args:
            status: Only contacts with this status, e.g. ``"active"`` or ``"unsubscribed"``.
                None (the default) is every contact, deleted ones too.
        """
        with self.lock:
            return [c.contact_id for c in self._by_ordinal if status in (None, c.status)]

    def contacts_in_order(self) -> list[Contact]:
        """The live contact records in account order (for the server, under the lock)."""
        return self._by_ordinal

    def live_contact(self, contact_id: str) -> Contact | None:
        """The live record of one contact, or None (for the server, under the lock).

        Args:
            contact_id: The contact's id, lower case.
        """
        return self._contacts.get(contact_id)

    def live_with_email(self, email: str) -> list[Contact]:
        """The live records with this address, in account order (for the server, under
        the lock); deleted contacts too, as ``GET /contacts`` filters by status later.

        Args:
            email: The address, lower case, e.g. ``"ana.silva@example.com"``.
        """
        return [self._contacts[cid] for cid in self._by_email.get(email, ())]

    def live_lists_of(self, contact_id: str) -> set[str] | frozenset[str]:
        """The live set of lists of one contact (for the server, under the lock).

        Args:
            contact_id: The contact's id, lower case.
        """
        return self._lists_of.get(contact_id, frozenset())

    def live_members(self, list_id: str) -> set[str] | frozenset[str]:
        """The live member set of one list (for the server, under the lock).

        Args:
            list_id: The list's id, lower case.
        """
        return self._members.get(list_id, frozenset())

    def list_ids(self, *, include_deleted: bool = False) -> list[str]:
        """List ids in account order.

        Args:
            include_deleted: True lists deleted lists too. Default False.
        """
        with self.lock:
            return [
                lst.list_id
                for lst in self._lists.values()
                if include_deleted or lst.deleted_at is None
            ]

    def list_named(self, name: str) -> str:
        """The id of the list called exactly ``name``; ``KeyError`` if none.

        Args:
            name: The list's exact name, e.g. ``"Newsletter"``.
        """
        with self.lock:
            for lst in self._lists.values():
                if lst.name == name:
                    return lst.list_id
        raise KeyError(name)

    def tag_ids(self) -> list[str]:
        """Tag ids in account order."""
        with self.lock:
            return list(self._tags)

    # -- reading: memberships ------------------------------------------------------------

    def members(self, list_id: str) -> set[str]:
        """The contact ids in list ``list_id`` now; ``KeyError`` if no such list.

        Args:
            list_id: The list's id (any case).
        """
        with self.lock:
            self.sync()
            return set(self._members[list_id.lower()])

    def memberships(self) -> dict[str, set[str]]:
        """Every list's members now: ``{list_id: {contact_id, ...}}``."""
        with self.lock:
            self.sync()
            return {lid: set(m) for lid, m in self._members.items()}

    def lists_of(self, contact_id: str) -> set[str]:
        """The lists ``contact_id`` belongs to now.

        Args:
            contact_id: The contact's id (any case).
        """
        with self.lock:
            self.sync()
            return set(self._lists_of.get(contact_id.lower(), ()))

    def tagged(self, *tag_ids: str) -> set[str]:
        """Non-deleted contacts carrying any of ``tag_ids``.

        Args:
            tag_ids: Tag ids (any case), given one by one: ``tagged(t1, t2)``.
        """
        with self.lock:
            found: set[str] = set()
            for tag_id in tag_ids:
                found |= self._tagged.get(tag_id.lower(), set())
            return {cid for cid in found if self._contacts[cid].status != "deleted"}

    def active_contacts(self) -> set[str]:
        """Contacts with status ``active`` (what ``all_active_contacts`` selects)."""
        with self.lock:
            return {c.contact_id for c in self._by_ordinal if c.status == "active"}

    def new_subscribers(self) -> set[str]:
        """Contacts who subscribed within the last 30 days (what ``new_subscriber``
        selects): ``active`` ones whose opt-in (``created_at``) is that recent."""
        with self.lock:
            since = self.clock.now() - NEW_SUBSCRIBER_WINDOW
            return {
                c.contact_id
                for c in self._by_ordinal
                if c.status == "active" and c.created_at >= since
            }

    def engaged(self, level: str) -> set[str]:
        """Non-deleted contacts at engagement ``level`` (unqualified/low/medium/high).

        Args:
            level: ``"unqualified"``, ``"low"``, ``"medium"`` or ``"high"``.
        """
        with self.lock:
            return {
                c.contact_id
                for c in self._by_ordinal
                if c.engagement_level == level and c.status != "deleted"
            }

    def membership_count(self, list_id: str, *, active_only: bool = False) -> int:
        """How many contacts list ``list_id`` has (only ``active`` ones if asked).

        Args:
            list_id: The list's id, lower case.
            active_only: True counts only contacts with status ``active``. Default False.
        """
        with self.lock:
            members = self._members.get(list_id, set())
            if not active_only:
                return len(members)
            return sum(1 for cid in members if self._contacts[cid].status == "active")

    def tag_count(self, tag_id: str) -> int:
        """How many non-deleted contacts carry ``tag_id``.

        Args:
            tag_id: The tag's id (any case).
        """
        return len(self.tagged(tag_id))

    # -- reading: activities and requests ------------------------------------------------

    def activity(self, activity_id: str) -> Activity:
        """A snapshot of one activity as it is now; ``KeyError`` if unknown or expired.

        Args:
            activity_id: The activity's id (any case).
        """
        with self.lock:
            self.sync()
            return self._activities[activity_id.lower()].copy()

    @property
    def activities(self) -> dict[str, Activity]:
        """Snapshots of all kept activities, oldest first."""
        with self.lock:
            self.sync()
            return {aid: a.copy() for aid, a in self._activities.items()}

    def live_activities(self) -> list[Activity]:
        """The live activity records, oldest first (for the server; call under the lock)."""
        return list(self._activities.values())

    def find_activity(self, activity_id: str) -> Activity | None:
        """The live record of one activity, or None (for the server).

        Args:
            activity_id: The activity's id, lower case.
        """
        return self._activities.get(activity_id)

    @property
    def queued_activities(self) -> int:
        """Activities not yet completed, failed, timed out or cancelled."""
        with self.lock:
            self.sync()
            return self.processor.queued

    @property
    def request_counts(self) -> collections.Counter[tuple[str, str, int]]:
        """Requests by ``(method, route template, status)``, e.g.
        ``("POST", "/v3/activities/remove_list_memberships", 201)``."""
        with self.lock:
            return collections.Counter(self._counts)

    @property
    def request_log(self) -> list[RequestRecord]:
        """The most recent requests (at most 10,000), oldest first."""
        with self.lock:
            return list(self._log)

    def count(
        self, *, method: str | None = None, route: str | None = None, status: int | None = None
    ) -> int:
        """How many requests matched all the given filters.

        Args:
            method: Only this HTTP method, e.g. ``"POST"``. None (the default): any.
            route: Only this route template, e.g.
                ``"/v3/activities/remove_list_memberships"``. None (the default): any.
            status: Only answers with this status, e.g. ``429``. None (the default): any.
        """
        with self.lock:
            return sum(
                n
                for (m, r, s), n in self._counts.items()
                if method in (None, m) and route in (None, r) and status in (None, s)
            )

    # -- activities ----------------------------------------------------------------------

    def resolve(self, request: ActivityRequest) -> tuple[tuple[str, ...], list[str]]:
        """Check the ids a request names and list its items (contacts, in order).

        Raises ``ErrorReply`` for unknown or deleted lists, unknown tags or segments
        (404 for a removal, 400 for an add, unless ``unknown_list_status`` says one) and,
        with ``unknown_contacts="reject"``, contacts.

        Args:
            request: The validated request body (an ``ActivityRequest``: kind, source,
                target lists, exclude).

        Returns:
            ``(items, errors)``: the contact ids the activity will process, in account
            order, and the messages for ``activity_errors``.
        """
        settings = self.settings
        missing_status = settings.missing_status(request.kind)
        live_lists = {lid for lid, lst in self._lists.items() if lst.deleted_at is None}
        unknown = [lid for lid in request.list_ids if lid not in live_lists]
        if unknown:
            raise ErrorReply(
                missing_status, "not_found", f"list_ids: no contact list {', '.join(unknown[:5])}."
            )
        kind, values = request.source_kind, request.source_values
        errors: list[str] = []
        if kind == "contact_ids":
            missing = [cid for cid in values if cid not in self._contacts]
            if missing and settings.unknown_contacts == "reject":
                raise ErrorReply(
                    400,
                    "validation_error",
                    f"source.contact_ids: {len(missing)} unknown contact(s), e.g. {missing[0]}.",
                )
            errors = [f"contact_id {cid} was not found" for cid in missing]
            return tuple(values), errors
        if kind == "list_ids":
            unknown = [lid for lid in values if lid not in live_lists]
            if unknown:
                raise ErrorReply(
                    missing_status,
                    "not_found",
                    f"source.list_ids: no contact list {', '.join(unknown[:5])}.",
                )
            chosen: set[str] = set().union(*(self._members[lid] for lid in values))
        elif kind == "tag_ids":
            unknown = [tid for tid in values if tid not in self._tags]
            if unknown:
                raise ErrorReply(
                    missing_status, "not_found", f"source.tag_ids: no tag {', '.join(unknown[:5])}."
                )
            chosen = self.tagged(*values)
        elif kind == "all_active_contacts":
            chosen = self.active_contacts()
        elif kind == "new_subscriber":
            chosen = self.new_subscribers()
        elif kind == "engagement_level":
            chosen = self.engaged(values[0])
        else:  # segment_id
            if values[0] not in self._segments:
                raise ErrorReply(
                    missing_status, "not_found", f"source.segment_id: no segment {values[0]}."
                )
            chosen = {c.contact_id for c in self.segment_members(values[0])}
        chosen.difference_update(request.exclude)
        items = sorted(chosen, key=lambda cid: self._contacts[cid].ordinal)
        return tuple(items), errors

    def submit_activity(self, body: dict[str, Any], *, kind: str = "remove") -> Activity:
        """Create an activity from a request body without HTTP (no limits, no faults).

        Validates exactly as the endpoint does (raising ``ErrorReply``). Handy to set up
        a queue or a scenario quickly.

        Args:
            body: The request body as the POST would send it, e.g.
                ``{"source": {"contact_ids": [...]}, "list_ids": [...]}``.
            kind: ``"remove"`` (the default: ``remove_list_memberships``) or ``"add"``
                (``add_list_memberships``).

        Returns:
            A snapshot of the new activity.
        """
        request = parse_activity_body(body, kind=kind)
        with self.lock:
            self.sync()
            return self.create_activity(request).copy()

    def create_activity(
        self, request: ActivityRequest, resolved: tuple[tuple[str, ...], list[str]] | None = None
    ) -> Activity:
        """Queue a validated request (resolving it unless ``resolved`` is given);
        returns the live record.

        Args:
            request: The validated request body (an ``ActivityRequest``).
            resolved: What :meth:`resolve` answered for it, when already known. None (the
                default) resolves it here.
        """
        with self.lock:
            items, errors = resolved if resolved is not None else self.resolve(request)
            activity = self.processor.submit(request, items, errors)
            self._activities[activity.activity_id] = activity
            return activity

    def cancel_activity(self, activity_id: str) -> bool:
        """End a running or queued activity as ``cancelled`` (a test hook; the V3 API has
        no cancel call). False if it had already ended.

        Args:
            activity_id: The activity's id (any case).
        """
        with self.lock:
            self.sync()
            return self.processor.cancel(self._activities[activity_id.lower()])

    def apply_memberships(
        self, kind: str, contact_ids: Iterable[str], list_ids: Iterable[str]
    ) -> list[str]:
        """Apply one slice of an activity; returns messages for ``activity_errors``.

        Args:
            kind: ``"remove_list_memberships"`` or ``"add_list_memberships"``.
            contact_ids: The slice's contacts, lower case.
            list_ids: The activity's target lists, lower case.
        """
        list_ids = tuple(list_ids)
        errors: list[str] = []
        with self.lock:
            if kind == "remove_list_memberships":
                faults, settings = self._faults, self.settings
                # the silent "kept" fault: completed, yet still a member (no error either)
                faulty = bool(faults.keep_members) or settings.keep_rate > 0
                for cid in contact_ids:
                    member_of = self._lists_of.get(cid)
                    if not member_of:
                        continue
                    for lid in list_ids:
                        if lid in member_of:
                            if faulty and faults.keep(cid, lid, settings):
                                continue
                            member_of.discard(lid)
                            self._members[lid].discard(cid)
                            self._touch(cid)
                return errors
            # a list deleted after the activity was accepted gets no members
            list_ids = tuple(lid for lid in list_ids if self._lists[lid].deleted_at is None)
            for cid in contact_ids:
                contact = self._contacts.get(cid)
                if contact is None:
                    continue  # unknown ids were reported when the activity was accepted
                if contact.status == "deleted":
                    errors.append(f"contact_id {cid} is deleted and was not added to lists")
                    continue
                member_of = self._lists_of[cid]
                for lid in list_ids:
                    if lid in member_of:
                        continue
                    if len(member_of) >= MAX_LISTS_PER_CONTACT:
                        # "up to 50 lists" (the spec); how the service says so is assumed
                        # (docs/emulator.md): named in activity_errors, the activity completes
                        errors.append(
                            f"contact_id {cid} is already in {MAX_LISTS_PER_CONTACT} lists "
                            f"and was not added to list {lid}"
                        )
                        continue
                    member_of.add(lid)
                    self._members[lid].add(cid)
                    self._touch(cid)
            return errors

    def _touch(self, contact_id: str) -> None:
        """A membership change dates the contact: its ``updated_at`` (and so
        ``updated_after``) follows it. Assumed, as the classic API documented it (see
        docs/emulator.md); ccpandas's verification never relies on it alone."""
        self._contacts[contact_id].updated_at = self.clock.now()

    # -- test set-up helpers (no HTTP, immediate) ---------------------------------------

    # Each helper first brings activities up to now, so work the clock says is already
    # done is applied before the change, never replayed over it later.

    def add_members(self, list_id: str, contact_ids: Iterable[str]) -> None:
        """Put contacts into a list at once (``KeyError`` for an unknown list or contact).

        Like "someone else added them" between two operations. It does not check the
        contact's status (the API never puts a deleted contact in a list; this helper
        will, if told to).

        Args:
            list_id: The list's id (any case).
            contact_ids: The contacts' ids (any case).
        """
        with self.lock:
            self.sync()
            list_id = list_id.lower()
            members = self._members[list_id]
            for cid in contact_ids:
                cid = cid.lower()
                if cid not in self._contacts:
                    raise KeyError(f"no contact {cid}")
                if list_id not in self._lists_of[cid]:
                    if len(self._lists_of[cid]) >= MAX_LISTS_PER_CONTACT:
                        full = f"contact {cid} is already in {MAX_LISTS_PER_CONTACT} lists"
                        raise ValueError(full)
                    self._lists_of[cid].add(list_id)
                    members.add(cid)

    def remove_members(self, list_id: str, contact_ids: Iterable[str]) -> None:
        """Take contacts out of a list at once (like "someone else removed them").

        Args:
            list_id: The list's id (any case).
            contact_ids: The contacts' ids (any case).
        """
        with self.lock:
            self.sync()
            list_id = list_id.lower()
            members = self._members[list_id]
            for cid in contact_ids:
                cid = cid.lower()
                members.discard(cid)
                if cid in self._lists_of:
                    self._lists_of[cid].discard(list_id)

    def set_members(self, list_id: str, contact_ids: Iterable[str]) -> None:
        """Make a list hold exactly ``contact_ids``.

        Args:
            list_id: The list's id (any case).
            contact_ids: Every contact the list should hold (any case); the others leave it.
        """
        wanted = {cid.lower() for cid in contact_ids}
        with self.lock:
            self.remove_members(list_id, self._members[list_id.lower()] - wanted)
            self.add_members(list_id, wanted)

    def create_list(self, name: str, description: str = "", *, favorite: bool = False) -> str:
        """Add an empty contact list; returns its id.

        Args:
            name: The list's name, e.g. ``"Spring promo"``.
            description: Its description. Default empty.
            favorite: Whether it is marked a favorite. Default False.
        """
        with self.lock:
            self.sync()
            now = self.clock.now()
            list_id = self.new_id()
            self._lists[list_id] = ContactList(
                list_id, len(self._lists), name, description, favorite, now, now
            )
            self._members[list_id] = set()
            return list_id

    def delete_list(self, list_id: str) -> None:
        """Mark a list deleted (it drops out of GET /contact_lists and its members go).

        Activities then refuse it as a target or source (404 removal, 400 add); one
        already accepted simply changes nothing more on it.

        Args:
            list_id: The list's id (any case).
        """
        with self.lock:
            self.sync()
            lst = self._lists[list_id.lower()]
            self.remove_members(lst.list_id, set(self._members[lst.list_id]))
            lst.deleted_at = self.clock.now()

    def add_contact(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        status: str = "active",
        engagement_level: str = "medium",
        tag_ids: Iterable[str] = (),
    ) -> str:
        """Add a contact; returns its id.

        Args:
            email: The contact's email address, e.g. ``"ana@example.com"``.
            first_name: The first name. Default empty.
            last_name: The last name. Default empty.
            status: The contact's status: ``"active"`` (the default), ``"unsubscribed"``,
                ``"pending_confirmation"``, ``"temp_hold"``, ``"not_set"`` or ``"deleted"``.
            engagement_level: ``"unqualified"``, ``"low"``, ``"medium"`` (the default) or
                ``"high"``.
            tag_ids: Ids of existing tags it carries. Default none.

        Raises:
            ValueError: An unknown status or engagement level.
            KeyError: An unknown tag id.
        """
        self.sync()
        if status not in CONTACT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CONTACT_STATUSES)}")
        if engagement_level not in ENGAGEMENT_LEVELS:
            raise ValueError(f"engagement_level must be one of {', '.join(ENGAGEMENT_LEVELS)}")
        with self.lock:
            tags = tuple(t.lower() for t in tag_ids)
            for tag_id in tags:
                if tag_id not in self._tags:
                    raise KeyError(f"no tag {tag_id}")
            now = self.clock.now()
            contact = Contact(
                contact_id=self.new_id(),
                ordinal=len(self._by_ordinal),
                email=email,
                first_name=first_name,
                last_name=last_name,
                status=status,
                permission_to_send={"active": "explicit", "deleted": "implicit"}.get(
                    status, status
                ),
                engagement_level=engagement_level,
                tag_ids=tags,
                create_source="Account",
                created_at=now,
                updated_at=now,
                opt_out_at=now if status == "unsubscribed" else None,
                deleted_at=now if status == "deleted" else None,
            )
            self._contacts[contact.contact_id] = contact
            self._by_ordinal.append(contact)
            self._by_email[email.lower()].append(contact.contact_id)  # the newest: last
            for tag_id in tags:
                self._tagged[tag_id].add(contact.contact_id)
            return contact.contact_id

    def set_contact_email(self, contact_id: str, email: str) -> None:
        """Give a contact another email address at once (``updated_at`` becomes now).

        ``GET /contacts?email=`` then finds it by the new address only. Change addresses
        here, not on a record from :attr:`contacts`: the lookup index follows this call.
        ``KeyError`` for an unknown contact.

        Args:
            contact_id: The contact's id (any case).
            email: The new address, e.g. ``"ana@example.org"``.

        Example:
            >>> from ccpandas.emulator import Emulator
            >>> acct = Emulator(seed=1, contacts=20, lists=2).account
            >>> cid = acct.contact_ids()[0]
            >>> acct.set_contact_email(cid, "Ana@Example.org")
            >>> acct.contact(cid).email
            'Ana@Example.org'
        """
        with self.lock:
            self.sync()
            contact = self._contacts[contact_id.lower()]
            before = contact.email.lower()
            old = self._by_email.get(before, [])
            if contact.contact_id in old:
                old.remove(contact.contact_id)
            if not old:
                self._by_email.pop(before, None)
            contact.email = email
            contact.updated_at = self.clock.now()
            new = self._by_email[email.lower()]
            new.append(contact.contact_id)
            new.sort(key=lambda cid: self._contacts[cid].ordinal)

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact at once: status ``deleted``, ``deleted_at`` now, and out of
        every list (as deleted contacts are everywhere in the API).

        ``GET /contacts`` then leaves it out unless ``status=all`` or ``deleted`` is
        asked for; ``GET /contacts/{id}`` still shows it, with ``deleted_at``. Add
        activities skip it. ``KeyError`` for an unknown contact.

        Args:
            contact_id: The contact's id (any case).

        Example:
            >>> from ccpandas.emulator import Emulator
            >>> acct = Emulator(seed=1, contacts=20, lists=2).account
            >>> cid = acct.contact_ids(status="active")[0]
            >>> acct.delete_contact(cid)
            >>> acct.contact(cid).status, acct.lists_of(cid)
            ('deleted', set())
        """
        self.set_contact_status(contact_id, "deleted")

    def set_contact_status(self, contact_id: str, status: str) -> None:
        """Give a contact another status at once (one of ``CONTACT_STATUSES``).

        ``deleted`` drops all its memberships; every other status keeps them (an
        ``unsubscribed`` contact stays a member of its lists and gets an opt-out date).
        Leaving ``deleted`` does not bring memberships back.
        ``KeyError`` for an unknown contact, ``ValueError`` for an unknown status.

        Args:
            contact_id: The contact's id (any case).
            status: The new status: ``"active"``, ``"unsubscribed"``,
                ``"pending_confirmation"``, ``"temp_hold"``, ``"not_set"`` or ``"deleted"``.
        """
        if status not in CONTACT_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CONTACT_STATUSES)}")
        with self.lock:
            self.sync()
            contact = self._contacts[contact_id.lower()]
            now = self.clock.now()
            contact.status = status
            if status != "unsubscribed":
                # An opt-out dates the email address (opt_out_date), not the contact:
                # its updated_at, and so updated_after, stays as it was (see
                # docs/emulator.md for the source).
                contact.updated_at = now
            contact.permission_to_send = {
                "active": "explicit",
                "deleted": "implicit",
            }.get(status, status)
            contact.opt_out_at = now if status == "unsubscribed" else None
            contact.deleted_at = now if status == "deleted" else None
            if status == "deleted":
                for list_id in self._lists_of.pop(contact.contact_id, set()):
                    self._members[list_id].discard(contact.contact_id)

    def __repr__(self) -> str:
        return (
            f"<Account {len(self._contacts)} contacts, {len(self._lists)} lists, "
            f"{len(self._tags)} tags, {len(self._activities)} activities>"
        )
