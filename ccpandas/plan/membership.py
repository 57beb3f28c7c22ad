"""Membership truth, pure: who is on which target list, emails as input, and removal
batches that only carry contacts to the lists they are on.

Nothing here sends a request (the reads are in :mod:`ccpandas.read.snapshot`). A
:class:`MembershipSnapshot` holds, for the target lists, every member contact with its
email, status, list memberships and tag ids. :func:`plan_membership_removal` turns a
column of contact ids or email addresses into a :class:`~ccpandas.plan.planner.RemovalPlan`
whose batches go only to the list groups (of <= 50 lists) each contact is a member of:
``sum over groups of ceil(|segment & members(group)| / 500)`` requests, never more
than ``ceil(n/500) x ceil(L/50)``. :func:`changes_frame` gives one row per
(contact, target list) pair with its outcome.

Example:
    >>> snap = MembershipSnapshot.from_records(
    ...     ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"],
    ...     [{"contact_id": "8b54d1f4-5b0e-11ee-8c99-0242ac120002",
    ...       "email": "Ann@Example.com", "status": "active",
    ...       "lists": ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"], "tags": []}],
    ...     list_names={"2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f": "Newsletter"},
    ... )
    >>> plan = plan_membership_removal(
    ...     pd.Series([" ann@example.COM", "ann@example.com", "bob@example.com", "nope"]),
    ...     snap.list_ids, snap,
    ... )
    >>> plan.rows["plan_status"].tolist()
    ['planned', 'duplicate', 'not_a_member', 'invalid_email']
    >>> plan.n_requests, plan.changes["was_member"].tolist()
    (1, [True])
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from ccpandas.errors import PlanError, short_repr
from ccpandas.models import (
    MAX_CONTACTS_PER_REQUEST,
    MAX_LISTS_PER_CONTACT,
    MAX_LISTS_PER_REQUEST,
    Source,
    SourceKind,
)
from ccpandas.plan import planner
from ccpandas.plan.changes import (
    ADD,
    BY_API,
    NONE,
    REMOVE,
    ChangeSet,
    cross_pair_batch,
    cross_pairs,
    pair_outcomes,
)
from ccpandas.plan.compact import Others, Ragged, SnapshotBuilder, bincount, code_dtype
from ccpandas.plan.ids import (
    DUPLICATE,
    ID_STATUSES,
    MISSING,
    PLANNED,
    REASON_DUPLICATE,
    REASON_MISSING,
    check_ids,
    first_rows,
    first_rows_any,
)
from ccpandas.plan.keys import arrow_text, email_keys, factorize_in, folded, positions
from ccpandas.plan.planner import CHANGE_COLUMNS, duration, per_list_text, plural
from ccpandas.vocab import PairOutcome, RowStatus, RunKind, VerifyMethod

__all__ = [
    "CHANGE_COLUMNS",
    "MEMBERSHIP_PLAN_STATUSES",
    "OUTCOMES",
    "READ_LISTS_PER_PASS",
    "READ_PAGE_SIZE",
    "ListChange",
    "MembershipPlan",
    "MembershipSnapshot",
    "changes_frame",
    "detect_key",
    "looks_like_emails",
    "normalize_emails",
    "plan_membership_removal",
    "plan_requests",
    "preview_source",
    "snapshot_reads",
    "union_reads",
    "unknown_membership",
]

#: ``GET /contacts?lists=`` takes up to 25 list ids, and pages of up to 500 contacts.
READ_LISTS_PER_PASS = 25
READ_PAGE_SIZE = 500
#: The status of a contact of a run that its verification's read could not settle
#: (its lists kept changing, and the lookups it allows were spent): not verified.
UNREAD = "unread"

#: Plan statuses with a snapshot: the id statuses plus the two email/membership ones.
MEMBERSHIP_PLAN_STATUSES = (
    *ID_STATUSES,
    RowStatus.INVALID_EMAIL.value,
    RowStatus.NOT_A_MEMBER.value,
    RowStatus.NOT_A_CONTACT.value,
    RowStatus.ALREADY_MEMBER.value,
    RowStatus.KEPT.value,
)
MEMBERSHIP_STATUS_DTYPE = pd.CategoricalDtype(list(MEMBERSHIP_PLAN_STATUSES))
# Codes into MEMBERSHIP_PLAN_STATUSES: the id statuses' (ids.PLANNED to DUPLICATE), then these.
_INVALID_EMAIL, _NOT_A_MEMBER, _NOT_A_CONTACT, _ALREADY_MEMBER, _KEPT = range(4, 9)
#: The row status of a contact with nothing to send, per kind (add: on every list).
_IDLE_ROW = {RunKind.REMOVE: _NOT_A_MEMBER, RunKind.ADD: _ALREADY_MEMBER, RunKind.SYNC: _KEPT}

REASON_INVALID_EMAIL = "not an email address"
REASON_NOT_A_MEMBER = "no member of any target list has this address"
REASON_NOT_A_MEMBER_ID = "this contact is a member of none of the target lists"
REASON_NOT_A_CONTACT = "no contact in the account has this address (none is created)"
_IDLE_REASON = {
    RunKind.REMOVE: REASON_NOT_A_MEMBER_ID,
    RunKind.ADD: "on every target list already: nothing to add",
    RunKind.SYNC: "on every target list already: kept",
}
REASON_DUPLICATE_EMAIL = "the same address as an earlier row, in any case (see duplicate_of)"

#: What ``changes["outcome"]`` can say about one (contact, list) pair.
OUTCOMES = (
    PairOutcome.REMOVED.value,  # the contact was on the list and a re-read shows it gone
    PairOutcome.STILL_MEMBER.value,  # its activity completed, yet the list still has the contact
    PairOutcome.ADDED.value,  # an add: a re-read shows the contact on the list
    PairOutcome.NOT_ADDED.value,  # its add completed, yet the re-read does not show it
    PairOutcome.ALREADY_MEMBER.value,  # an add: on the list already, nothing sent
    RowStatus.NOT_A_MEMBER.value,  # the contact was not on the list: nothing to remove
    PairOutcome.KEPT.value,  # the plan keeps it (exclude set, not selected by the source)
    PairOutcome.UNVERIFIED.value,  # its activity completed; no re-read says whether it left
    PairOutcome.API_ERROR.value,  # its activity's activity_errors name the contact
    # the pair's activity did not complete:
    "failed",
    "cancelled",
    "timed_out",
    "rejected",
    "uncertain",
    PairOutcome.NOT_SENT.value,
    RowStatus.PLANNED.value,  # a dry run: nothing was sent
    "unknown",
    "processing",
)
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
#: The columns of ``plan.changes`` / ``result.changes``.

_AUTO_SHARE = 0.5
#: ``by="auto"`` looks at this many values of a longer column (evenly spaced).
_KEY_SAMPLE = 10_000


# -- the snapshot ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MembershipSnapshot:
    """The members of the target lists at one moment, read with ``status=all``.

    One entry per member contact (a member of at least one of ``list_ids``), by
    position: ``contact_ids`` (canonical), ``emails`` (as the API gave them; None when
    not known, e.g. pages continued from the journal), ``statuses``, ``lists`` (every
    list the contact is on, target or not: ``snap.lists[i]`` is a tuple of ids) and
    ``tags`` (tag ids). Lists and tags are held as small integer codes, not tuples (a
    few bytes per membership: see :mod:`ccpandas.plan.compact`). ``list_names`` maps
    list ids to names where known.

    A read for one run keeps only the members its input selects (its ids, its
    addresses, the contacts it changed) and counts the rest in ``others``
    (:class:`~ccpandas.plan.compact.Others`): :meth:`sizes` and :attr:`n_contacts`
    count them, the columns do not hold them.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "email": "a@b.co", "status": "active",
        ...      "lists": ["l1", "l9"], "tags": ["t1"]}])
        >>> snap.members("l1"), snap.n_pairs, snap.lists[0]
        ({'c1'}, 1, ('l1', 'l9'))
    """

    list_ids: tuple[str, ...]
    contact_ids: np.ndarray
    emails: np.ndarray
    statuses: np.ndarray
    #: Per contact, its lists (and tags) as codes into a table of distinct ids (a
    #: :class:`~ccpandas.plan.compact.Ragged`: indexing gives a tuple of ids); any
    #: sequence of tuples given is converted.
    lists: Ragged
    tags: Ragged
    list_names: Mapping[str, str] = field(default_factory=dict)
    #: Requests the reads took (for the result's cost lines).
    requests: int = 0
    #: The members read but not kept (the run's input does not select them), counted.
    others: Others = field(default_factory=Others)

    def __post_init__(self) -> None:
        for name in ("lists", "tags"):
            value = getattr(self, name)
            if not isinstance(value, Ragged):
                object.__setattr__(self, name, Ragged.from_tuples(value))

    @classmethod
    def from_records(
        cls,
        list_ids: Sequence[str],
        records: Iterable[Mapping[str, Any]] | SnapshotBuilder,
        *,
        list_names: Mapping[str, str] | None = None,
        requests: int = 0,
        others: Others | None = None,
    ) -> MembershipSnapshot:
        """Build from dicts with ``contact_id``, ``email``, ``status``, ``lists``,
        ``tags`` (or a :class:`~ccpandas.plan.compact.SnapshotBuilder` filled with
        them); a contact seen twice (two passes of 25 lists) is kept once. ``others``:
        the members counted, not kept (default: the builder's counts, or none)."""
        if not isinstance(records, SnapshotBuilder):
            records = SnapshotBuilder().extend(records)
        columns = records.columns()
        if others is not None:
            columns["others"] = others
        return cls(
            # A list named twice is read (and planned) once; the planner notes the repeat.
            list_ids=tuple(dict.fromkeys(list_ids)),
            **columns,
            list_names=dict(list_names or {}),
            requests=requests,
        )

    def __len__(self) -> int:
        return len(self.contact_ids)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{self.name_of(lid)} {n:,}" for lid, n in self.sizes().items())
        return f"MembershipSnapshot({self.n_contacts:,} contacts; {sizes})"

    @property
    def n_contacts(self) -> int:
        """Contacts on the target lists: those held and those only counted."""
        return len(self) + self.others.contacts

    def name_of(self, list_id: str) -> str:
        """The list's name, or its id when the name is not known."""
        return self.list_names.get(list_id, list_id)

    @cached_property
    def index(self) -> pd.Index:
        """Contact id -> position."""
        return pd.Index(self.contact_ids, dtype=object)

    @cached_property
    def email_keys(self) -> pa.Array:
        """Per contact, its email trimmed and lower-cased in Arrow (null where unknown):
        what addresses are matched against."""
        return folded(self.emails)

    @cached_property
    def id_keys(self) -> pa.Array:
        """Per contact, its id in Arrow: what contact ids are matched against."""
        return arrow_text(self.contact_ids)[0]

    @cached_property
    def _targets(self) -> Ragged:
        """Per contact, its target lists as positions into ``list_ids``: two bytes a
        membership (owners are recomputed when asked, not held)."""
        return self.lists.remap(self.lists.positions(self.list_ids), self.list_ids)

    def member_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(contact position int32, target list position int16) of every target
        membership, contact by contact."""
        return self._targets.owners(), self._targets.codes

    @property
    def n_pairs(self) -> int:
        """Target memberships (contact, list) in the snapshot."""
        return len(self._targets.codes)

    def members(self, list_id: str) -> set[str]:
        """The contact ids on ``list_id`` (a target list)."""
        j = self.list_ids.index(list_id)
        owner, target = self.member_matrix()
        return set(self.contact_ids[owner[target == j]].tolist())

    def sizes(self) -> dict[str, int]:
        """Members per target list (those only counted too)."""
        counts = bincount(self._targets.codes, minlength=len(self.list_ids))
        more = self.others.per_list
        return {
            lid: int(c) + more.get(lid.lower(), 0)
            for lid, c in zip(self.list_ids, counts, strict=True)
        }

    def masks(self, lists: Sequence[int]) -> np.ndarray:
        """Per contact, a uint64 bit mask of its memberships among the target list
        positions ``lists`` (at most 64: one list group is at most 50)."""
        targets = self._targets
        slot = np.full(len(self.list_ids), -1, dtype=np.int8)
        slot[np.asarray(lists, dtype=np.int64)] = np.arange(len(lists))
        mask = np.zeros(len(self), dtype=np.uint64)
        # A slice of contacts at a time: the per-pair temporaries stay a few MB however
        # many pairs the snapshot holds.
        for _, _, codes, owners in targets.slices():
            bit = slot[codes]
            sel = bit >= 0
            # Distinct (contact, list) pairs: OR-ing the bits.
            bits = np.left_shift(np.uint64(1), bit[sel].astype(np.uint64))
            np.bitwise_or.at(mask, owners[sel], bits)
        return mask


# -- emails ----------------------------------------------------------------------------------
def normalize_emails(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Emails compared case-insensitively, surrounding whitespace ignored.

    Returns ``(normalized, valid, missing)``: ``normalized`` an object array (None where
    the value is not an address), ``valid`` and ``missing`` boolean masks.

    Example:
        >>> norm, valid, missing = normalize_emails(pd.Series([" A@B.co ", "x", None]))
        >>> norm.tolist(), valid.tolist(), missing.tolist()
        (['a@b.co', None, None], [True, False, False], [False, False, True])
        >>> normalize_emails(pd.Series(["mailto:a@b.co"]))[1].tolist()
        [False]
    """
    keys, valid, missing = email_keys(values)
    return keys.to_numpy(zero_copy_only=False), valid, missing


def looks_like_emails(values: pd.Series) -> bool:
    """True when most non-missing values of ``values`` are email addresses
    (what ``by="auto"`` uses); ids and other text are not.

    Example:
        >>> looks_like_emails(pd.Series(["a@b.co", "c@d.org", None, "typo"]))
        True
        >>> looks_like_emails(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]))
        False
    """
    values = pd.Series(values, copy=False)
    if len(values) > _KEY_SAMPLE:
        # A bounded, evenly spaced sample decides (the column's whole length would cost
        # more than planning it); too few values in it: the whole column.
        at = np.linspace(0, len(values) - 1, _KEY_SAMPLE).astype(np.int64)
        valid, missing = normalize_emails(values.iloc[at])[1:]
        if int((~missing).sum()) >= _KEY_SAMPLE // 10:
            return _mostly_emails(valid, missing)
    return _mostly_emails(*normalize_emails(values)[1:])


def _mostly_emails(valid: np.ndarray, missing: np.ndarray) -> bool:
    present = int((~missing).sum())
    return bool(present > 0 and valid.sum() / present >= _AUTO_SHARE)


def detect_key(values: pd.Series, by: str = "auto") -> Literal["email", "contact_id"]:
    """``"email"`` or ``"contact_id"``: what the column holds (``by="auto"``) or what
    ``by`` forces.

    Example:
        >>> detect_key(pd.Series(["Ann@Example.com "]))
        'email'
    """
    if by not in ("auto", "email", "contact_id"):
        raise ValueError(f"by must be 'auto', 'email' or 'contact_id', not {by!r}")
    if by != "auto":
        return by  # type: ignore[return-value]
    return "email" if looks_like_emails(values) else "contact_id"


@dataclass(frozen=True)
class ListChange:
    """What a plan does to one target list: memberships it adds, removes, leaves.

    Args:
        list_id: The list's id.
        name: The list's name (its id when the name is not known).
        added: Contacts put on the list.
        removed: Members taken off it.
        unchanged: Members that stay (``already_member`` in an add, ``kept`` in a sync).
    """

    list_id: str
    name: str
    added: int
    removed: int
    unchanged: int


# -- planning --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MembershipPlan:
    """What the snapshot adds to a plan: the run's :class:`~ccpandas.plan.changes.ChangeSet`
    (every (contact, target list) pair it concerns, ``was_member`` and each pair's
    action), and how the contacts were found and what reading them costs.
    """

    snapshot: MembershipSnapshot | None
    key: str
    #: Every (contact, target list) pair, batched (``pair_batch`` filled in).
    change_set: ChangeSet
    #: How the contacts were found: "snapshot", "email lookups" or "none".
    lookup: str = "snapshot"
    #: Read requests the snapshot took or will take.
    read_requests: int = 0
    #: Requests of the verification ``verify="auto"`` chose (``verify_method``).
    verify_requests: int = 0
    #: Requests the plan would send without the snapshot (today's count).
    naive_requests: int = 0
    #: Per row: the plan status codes of email input (into MEMBERSHIP_PLAN_STATUSES),
    #: journaled instead of the addresses.
    row_codes: np.ndarray | None = None
    #: The journal id of the snapshot read (None when not journaled).
    snapshot_id: str | None = None
    #: What the run does (a :class:`~ccpandas.vocab.RunKind`): its idle pairs' word.
    kind: str = RunKind.REMOVE
    #: How ``verify="auto"`` verifies the run (a :class:`~ccpandas.vocab.VerifyMethod`).
    verify_method: str = VerifyMethod.FULL
    #: Requests of a full re-read (what ``verify=True`` spends).
    full_verify_requests: int = 0
    #: Of ``read_requests``: the lists read again before the first change, a plan whose
    #: contacts the API selects being sent later (``run_plan``, the panel).
    recheck_requests: int = 0

    # Positional views of the change set (the result and the panel read these).
    @property
    def contact_ids(self) -> np.ndarray:
        return self.change_set.contact_ids

    @property
    def emails(self) -> np.ndarray:
        cs = self.change_set
        return cs.emails if cs.emails is not None else np.full(len(cs.contact_ids), None)

    @property
    def pair_contact(self) -> np.ndarray:
        return self.change_set.pair_contact

    @property
    def pair_list(self) -> np.ndarray:
        return self.change_set.pair_list

    @property
    def pair_batch(self) -> np.ndarray:
        cs = self.change_set
        return cs.pair_batch if cs.pair_batch is not None else np.full(cs.n_pairs, -1)

    @property
    def will_leave(self) -> np.ndarray:
        """Per pair: 1 it leaves, 0 it stays, -1 the API decides (int8)."""
        action = self.change_set.action
        return np.where(action == REMOVE, 1, np.where(action == BY_API, -1, 0)).astype(np.int8)

    @property
    def known(self) -> bool:
        """True when ``was_member`` comes from a snapshot."""
        return self.snapshot is not None

    @property
    def n_changed(self) -> int:
        """Contacts with a pair to change: those an add or a sync sends."""
        return len(changed_contacts(self))

    # The plan's calls come through these methods: membership.py imports planner.py, so
    # planner.py reaches this module only through the part it holds (no import cycle).
    def changes(self, list_ids: Sequence[str]) -> pd.DataFrame:
        """``plan.changes``: one row per (contact, target list) pair."""
        return changes_frame(self, list_ids)

    def summary_lines(self, plan: Any) -> list[tuple[str, str]]:
        """The (label, text) lines a membership snapshot adds to a plan's summary."""
        out: list[tuple[str, str]] = []
        counts = plan.row_statuses()
        if self.key == "email":
            out.append(("input", "email addresses, matched case-insensitively to list members"))
            shown = planner._eg(plan.invalid_examples(3))
            out.append(("invalid emails", f"{plan.n_invalid:,}{shown}"))
        if self.key in ("email", "contact_id") and self.known and self.kind == RunKind.REMOVE:
            outside = plural(int(counts.get(RowStatus.NOT_A_MEMBER.value, 0)), "row")
            out.append(("not a member", f"{outside} (not sent)"))
        elif self.key == "email":
            nobody = plural(int(counts.get(RowStatus.NOT_A_CONTACT.value, 0)), "row")
            out.append(("not a contact", f"{nobody}: no contact has the address (none is made)"))
        if not self.known:
            out.append(("snapshot", "none: outcomes will say 'unverified', not 'removed'"))
            return out
        reads, rate = self.read_requests, plan.rate
        how = "list reads (GET /contacts?lists=, 25 lists per pass)"
        if self.lookup == "email lookups":
            how = "per-address lookups (GET /contacts?email=)"
        took = f"{duration(reads / rate)} at {rate:g}/s"
        out.append(("snapshot", f"{plural(reads, 'request')} ({took}) by {how}"))
        out.append(("verification", verification_text(self, plan.rate, plan.n_requests)))
        if self.kind != RunKind.REMOVE:
            out.extend(_change_lines(self))
        elif (self.will_leave < 0).any():
            out.append(("members leaving", "decided by the API (engagement level)"))
        else:
            out.append(("members leaving", self.leaving_text(plan.list_ids) or "none"))
        if self.key == "contact_id" and self.kind == RunKind.REMOVE:  # addresses need the read
            naive = plural(self.naive_requests, "removal request")
            out.append(("without snapshot", f"{naive} (this plan: {plan.n_requests:,})"))
        return out

    def leaving_text(self, list_ids: Sequence[str]) -> str:
        """``"Newsletter 43, Customers 16"``: members of each target list that will leave.

        Example:
            >>> snap = MembershipSnapshot.from_records(["l1"], [
            ...     {"contact_id": "c1", "status": "active", "lists": ["l1"], "tags": []}],
            ...     list_names={"l1": "Newsletter"})
            >>> preview_source(snap, Source.list_ids(["l1"]), ["l1"]).leaving_text(["l1"])
            'Newsletter 1'
        """
        names = self.snapshot.list_names if self.snapshot is not None else {}
        counts = self.leaving(list_ids)
        return ", ".join(f"{names.get(lid, lid)} {n:,}" for lid, n in counts.items())

    def per_list(self) -> list[ListChange]:
        """Each target list's adds, removes and members that stay, counted on the
        change set (the plan's lines, the panel's preview and the CLI's question)."""
        cs = self.change_set
        adds, removes = cs.per_list(ADD), cs.per_list(REMOVE)
        stays = cs.per_list(NONE, among=cs.was_member)
        names = self.snapshot.list_names if self.snapshot is not None else {}
        return [
            ListChange(
                lid, names.get(lid, lid), adds.get(lid, 0), removes.get(lid, 0), stays.get(lid, 0)
            )
            for lid in cs.list_ids
        ]

    def leaving(self, list_ids: Sequence[str]) -> dict[str, int]:
        """Members of each target list that will leave (-1 pairs not counted)."""
        cs = self.change_set
        counts = bincount(cs.pair_list[cs.was_member & (cs.action == REMOVE)], len(list_ids))
        return {lid: int(c) for lid, c in zip(list_ids, counts, strict=True)}


def plan_requests(n_contacts: int, n_lists: int) -> int:
    """Today's request count: ``ceil(n/500) x ceil(L/50)``.

    Example:
        >>> plan_requests(1001, 51)
        6
    """
    return math.ceil(n_contacts / MAX_CONTACTS_PER_REQUEST) * math.ceil(
        n_lists / MAX_LISTS_PER_REQUEST
    )


def snapshot_reads(list_sizes: Sequence[int], *, least: bool = False) -> int:
    """The read requests for lists of these sizes, 25 lists per pass: the union of a
    pass's members is read, ``ceil(union / 500)`` pages (at least one). The union is
    at most the sum of the sizes (the default, an upper bound) and at least the largest
    list of the pass (``least=True``, a lower bound); with one list per pass both are
    exact. Only a count of each union (:func:`union_reads`) tells the truth between.

    Example:
        >>> snapshot_reads([50_000, 200_000]), snapshot_reads([50_000, 200_000], least=True)
        (500, 400)
    """
    sizes = list(list_sizes)
    passes = [sizes[i : i + READ_LISTS_PER_PASS] for i in range(0, len(sizes), READ_LISTS_PER_PASS)]
    return union_reads([max(group) if least else sum(group) for group in passes])


def union_reads(unions: Sequence[int]) -> int:
    """The exact read requests of passes whose unions of members are ``unions`` (one
    count per pass of 25 lists): ``ceil(union / 500)`` pages each, at least one.

    Example:
        >>> union_reads([10_400, 0])
        22
    """
    return sum(max(1, math.ceil(u / READ_PAGE_SIZE)) for u in unions)


def plan_membership_removal(
    data: pd.DataFrame | pd.Series,
    list_ids: Sequence[str],
    snapshot: MembershipSnapshot | None,
    *,
    column: Any = "contact_id",
    by: str = "auto",
    rate: float = 4.0,
    daily_quota: int = 10_000,
    lookup: str = "snapshot",
    read_requests: int | None = None,
    allow_empty: bool = False,
    kind: str = RunKind.REMOVE,
    max_removed: float | int | None = None,
    check_room: bool = False,
) -> Any:
    """Plan removing the contacts of ``data[column]`` (ids or emails) with a snapshot,
    or, by ``kind``, adding them (``"add"``) or making each list hold exactly them
    (``"sync"``: the other members leave, at most ``max_removed`` of a list).
    ``check_room``: refuse to put a contact on more lists than it may be on (a new
    plan; a journaled run is planned again as it was).

    Each contact goes only to the list groups it is a member of; within a group,
    contacts are ordered by their exact set of memberships, so each batch names only
    the lists its contacts are on. Emails are matched to the snapshot's members
    case-insensitively, surrounding whitespace ignored. ``snapshot=None`` with
    ``by="contact_id"`` plans as today (every contact to every list; ``changes`` say
    ``unverified``). Returns a :class:`~ccpandas.plan.planner.RemovalPlan` with
    ``plan.membership`` set. ``allow_empty`` plans a column without any valid id
    (the journal's rebuild of an email run whose addresses matched nobody).

    Example:
        >>> snap = MembershipSnapshot.from_records(["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"], [])
        >>> plan = plan_membership_removal(
        ...     pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]), snap.list_ids, snap)
        >>> plan.rows["plan_status"].tolist(), plan.n_requests
        (['not_a_member'], 0)
    """
    targets, notes, values, column = planner.column_to_plan(
        data, list_ids, column, rate, daily_quota
    )
    kind = RunKind(kind)
    if kind is RunKind.SYNC and snapshot is None:
        raise PlanError("a sync needs a membership snapshot: who is on the lists now")
    match = _match(values, column, snapshot, by, allow_empty, kind)
    cs = _change_set(match, snapshot, targets, kind)
    if check_room and snapshot is not None:
        _check_room(match, cs, snapshot, values, kind)
    if kind is RunKind.SYNC:
        check_max_removed(cs, snapshot, max_removed)  # type: ignore[arg-type]
    batches, cs = cs.batched()
    row_batch = np.full(len(values), -1, dtype=np.int64)
    row_batch[match.seg_rows] = _first_batches(cs)[: len(match.seg_rows)]
    _mark_idle(match, cs, kind)
    rows = _rows(values, match, row_batch)
    if read_requests is None:
        read_requests = snapshot.requests if snapshot is not None else 0
    membership = MembershipPlan(
        snapshot=snapshot,
        key=match.key,
        change_set=cs,
        lookup=lookup if snapshot is not None else "none",
        read_requests=read_requests,
        verify_requests=read_requests,
        naive_requests=plan_requests(int(match.first.sum()), len(targets)),
        row_codes=match.codes if match.key == "email" else None,
        kind=kind,
    )
    notes += _membership_notes(snapshot, membership, targets) if kind is RunKind.REMOVE else ()
    # Views of the change set's ids, not a tuple of every id again.
    ids = cs.contact_ids
    fields = {"notes": notes, "membership": membership, "kind": kind}
    return planner.ids_plan(rows, targets, ids, batches, column, rate, daily_quota, **fields)


@dataclass(frozen=True, eq=False)
class _Match:
    """Every input row matched to a contact: its status code and reason, its factor
    code (-1: no usable value), whether it is the first row of its contact, and the
    segment: each distinct contact once (``seg_rows`` its first row, ``seg_snap`` its
    position in the snapshot or None without one, ``seg_ids`` its contact id)."""

    key: str
    codes: np.ndarray
    reasons: np.ndarray
    fcodes: np.ndarray
    first: np.ndarray
    seg_rows: np.ndarray
    seg_snap: np.ndarray | None
    seg_ids: np.ndarray


def _match(
    values: pd.Series,
    column: Any,
    snapshot: MembershipSnapshot | None,
    by: str,
    allow_empty: bool,
    kind: RunKind = RunKind.REMOVE,
) -> _Match:
    key = detect_key(values, by)
    pos: np.ndarray | None
    if key == "email":
        codes, reasons, fcodes, uniques, pos = _match_emails(values, column, snapshot)
        dup_reason = REASON_DUPLICATE_EMAIL
    else:
        codes, reasons, fcodes, uniques, pos = _match_ids(values, column, snapshot, allow_empty)
        dup_reason = REASON_DUPLICATE
    # An address's codes are not in order of first appearance (factorize_in).
    first = first_rows_any(fcodes) if key == "email" else first_rows(fcodes)
    dup = (fcodes >= 0) & ~first
    codes[dup] = DUPLICATE
    reasons[dup] = dup_reason
    first_pos = np.flatnonzero(first)
    if pos is None:
        seg_ids = _objects_at(uniques, fcodes[first_pos])
        return _Match(key, codes, reasons, fcodes, first, first_pos, None, seg_ids)
    contact_pos = np.append(pos, -1)[fcodes]  # -1 (no key) picks the appended -1
    no_member = first & (contact_pos < 0)
    if kind is RunKind.REMOVE:  # on no target list: nothing to send
        codes[no_member] = _NOT_A_MEMBER
        reasons[no_member] = REASON_NOT_A_MEMBER if key == "email" else REASON_NOT_A_MEMBER_ID
    elif key == "email":  # the read covered every address: nobody has this one
        codes[no_member] = _NOT_A_CONTACT
        reasons[no_member] = REASON_NOT_A_CONTACT
    seg_rows = first_pos[(codes[first_pos] == PLANNED)]
    seg_snap = contact_pos[seg_rows]
    known = seg_snap >= 0  # an id on no target list is added as given
    seg_ids = np.empty(len(seg_rows), dtype=object)
    seg_ids[known] = snapshot.contact_ids[seg_snap[known]]  # type: ignore[union-attr]
    if not known.all():
        seg_ids[~known] = _objects_at(uniques, fcodes[seg_rows[~known]])
    return _Match(key, codes, reasons, fcodes, first, seg_rows, seg_snap, seg_ids)


def _objects_at(uniques: Any, at: np.ndarray) -> np.ndarray:
    """``uniques[at]`` (an Arrow array or a pandas Index) as Python strings: only the
    values a plan names, not every row's."""
    if isinstance(uniques, pa.Array):
        picked: np.ndarray = uniques.take(pa.array(at)).to_numpy(zero_copy_only=False)
        return picked.astype(object, copy=False)
    return np.asarray(uniques.take(at).to_numpy(dtype=object))


def _match_emails(
    values: pd.Series, column: Any, snapshot: MembershipSnapshot | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array, np.ndarray]:
    """Statuses, reasons, factor codes, distinct addresses and their snapshot positions.

    All in Arrow: the addresses are normalised, deduplicated (a dictionary encoding,
    in order of first appearance) and looked up in the snapshot by Arrow kernels."""
    if snapshot is None:
        raise PlanError(
            f"column {column!r} holds email addresses: matching them to contacts needs "
            "a membership snapshot (snapshot=True or 'auto')",
            column=column,
        )
    keys, valid, missing = email_keys(values)
    codes = np.where(missing, MISSING, np.where(valid, PLANNED, _INVALID_EMAIL)).astype(np.int8)
    reasons = np.full(len(values), None, dtype=object)
    reasons[~valid] = REASON_INVALID_EMAIL
    reasons[missing] = REASON_MISSING
    if not valid.any():
        raise _no_address(values, column)
    # Duplicates by address (in any case): the codes number the addresses (-1: not an
    # address), and give each one's position in the snapshot.
    fcodes, uniques, pos = factorize_in(keys, snapshot.email_keys)
    return codes, reasons, fcodes, uniques, pos


def require_addresses(values: pd.Series, column: Any) -> None:
    """A PlanError, before any request, when ``by="email"`` is forced on a column that
    holds no email address.

    Example:
        >>> require_addresses(pd.Series(["ann@example.com"]), "email")
    """
    if not email_keys(values)[1].any():
        raise _no_address(values, column)


def _no_address(values: pd.Series, column: Any) -> PlanError:
    return PlanError(
        f"no email address in column {column!r} ({len(values):,} rows): e.g. "
        + ", ".join(short_repr(v) for v in values.iloc[:3].tolist()),
        column=column,
    )


def _match_ids(
    values: pd.Series, column: Any, snapshot: MembershipSnapshot | None, allow_empty: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Index, np.ndarray | None]:
    checked = check_ids(values)
    fcodes = checked.codes.astype(np.int64)
    codes = np.asarray(checked.status, dtype=np.int8).copy()
    reasons = np.asarray(checked.reason, dtype=object).copy()
    if not (fcodes >= 0).any() and not allow_empty:
        raise planner._no_valid_ids(values, checked.status, column)
    uniques = checked.ids
    # The ids stay in their Arrow buffers: one Arrow hash lookup, no Python string each.
    pos = None if snapshot is None else positions(snapshot.id_keys, arrow_text(uniques)[0])
    return codes, reasons, fcodes, uniques, pos


def _change_set(
    match: _Match,
    snapshot: MembershipSnapshot | None,
    targets: tuple[str, ...],
    kind: RunKind = RunKind.REMOVE,
) -> ChangeSet:
    """The diff: every segment contact x every target list. A removal removes the
    member pairs, an add adds the others; without a snapshot every pair is sent
    (membership unknown). A sync adds like an add, then every member of a target list
    outside the segment follows, with a pair for each target list (removed where a
    member)."""
    ids, n_lists, seg = match.seg_ids, len(targets), match.seg_snap
    todo = ADD if kind in (RunKind.ADD, RunKind.SYNC) else REMOVE
    emails = np.full(len(ids), None, dtype=object)
    grid = np.zeros((len(ids), n_lists), dtype=bool)
    if snapshot is None:
        action = np.full(grid.size, todo, dtype=np.int8)
    else:
        assert seg is not None
        known = seg >= 0
        grid[known] = _was_member(snapshot, targets, seg[known]).reshape(-1, n_lists)
        # int8 codes throughout (np.where of two Python ints would make 8 bytes a pair)
        action = np.where(grid.ravel() == (todo == REMOVE), np.int8(todo), np.int8(NONE))
        emails[known] = snapshot.emails[seg[known]]
    was = grid.ravel()
    if kind is RunKind.SYNC:
        assert snapshot is not None and seg is not None
        extra = np.setdiff1d(np.unique(snapshot.member_matrix()[0]), seg)
        leaves = _was_member(snapshot, targets, extra)
        ids = np.concatenate([ids, snapshot.contact_ids[extra]])
        emails = np.concatenate([emails, snapshot.emails[extra]])
        action = np.concatenate([action, np.where(leaves, np.int8(REMOVE), np.int8(NONE))])
        was = np.concatenate([was, leaves])
    pair_contact, pair_list = cross_pairs(len(ids), n_lists)
    return ChangeSet(
        contact_ids=ids,
        list_ids=targets,
        pair_contact=pair_contact,
        pair_list=pair_list,
        action=action,
        was_member=was,
        known=snapshot is not None,
        emails=emails,
    )


def check_max_removed(
    cs: ChangeSet,
    snapshot: MembershipSnapshot,
    max_removed: float | int | None,
    call: str = "the sync",
    given: str = "segment",
) -> None:
    """The guard of a sync (``call``, of the ``given`` contacts; ``keep_in_lists``
    too): refuse a change set that removes more than ``max_removed`` of any list's
    current members (a share in (0, 1], or a count); None: no guard.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "lists": ["l1"]},
        ...     {"contact_id": "c2", "lists": ["l1"]}])
        >>> cs = ChangeSet.from_pairs([("c1", "l1"), ("c2", "l1")], REMOVE, was_member=True)
        >>> check_max_removed(cs, snap, 0.5)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ...
        ccpandas.errors.PlanError: the sync would remove 2 of the 2 members of 'l1'
    """
    if max_removed is None:
        return
    sizes = snapshot.sizes()
    for lid, leaving in cs.per_list(REMOVE).items():
        size = sizes.get(lid, 0)
        limit = max_removed * size if isinstance(max_removed, float) else max_removed
        if leaving > limit:
            raise PlanError(
                f"{call} would remove {leaving:,} of the {size:,} members of "
                f"{snapshot.name_of(lid)!r}, more than max_removed={max_removed!r} allows "
                f"({int(limit):,}): check the {given}, or raise max_removed (None turns the "
                "guard off)",
                values=[lid],
            )


def _check_room(
    match: _Match, cs: ChangeSet, snapshot: MembershipSnapshot, values: pd.Series, kind: str
) -> None:
    """A PlanError naming the input values of the contacts that ``cs`` would put on
    more than :data:`~ccpandas.models.MAX_LISTS_PER_CONTACT` lists, counting the lists
    the snapshot shows them on (a contact it does not hold: not known, not refused).
    Its ``values`` are every row's value of those contacts (each spelling, each repeat),
    so that ``df[~df[column].isin(exc.values)]`` leaves them all out."""
    seg = match.seg_snap
    assert seg is not None  # a snapshot was read
    joins = bincount(cs.pair_contact[cs.action == ADD], minlength=len(cs.contact_ids))
    held = np.zeros(len(seg), dtype=np.int64)
    held[seg >= 0] = snapshot.lists.lengths()[seg[seg >= 0]]
    over = np.flatnonzero((seg >= 0) & (held + joins[: len(seg)] > MAX_LISTS_PER_CONTACT))
    if not len(over):
        return
    named = values.iloc[match.seg_rows[over]].tolist()  # each contact's first row
    every = np.flatnonzero(np.isin(match.fcodes, match.fcodes[match.seg_rows[over]]))
    shown = ", ".join(short_repr(v) for v in named[:10])
    more = f" and {len(named) - 10:,} more" if len(named) > 10 else ""
    first = over[0]
    raise PlanError(
        f"the {kind} would put {plural(len(over), 'contact')} on more than "
        f"{MAX_LISTS_PER_CONTACT} lists, the most a contact can be a member of (the API's "
        f"limit): {shown}{more}; e.g. {named[0]!r} is on {held[first]} lists and would "
        f"join {joins[first]} more of the {len(cs.list_ids)} target lists. Nothing was "
        f"sent. {_SYNC_ROOM if kind == RunKind.SYNC else _ADD_ROOM}",
        column=values.name,
        values=list(dict.fromkeys(values.iloc[every].tolist())),
        every_row=True,
    )


_ADD_ROOM = (
    "Leave these contacts out (the error's values are their rows' values, every "
    "spelling), take them off lists they no longer need first, or give fewer target lists."
)
# A contact left out of a sync's data leaves the target lists: not a way to keep it.
_SYNC_ROOM = (
    "Leaving them out would not keep them: a contact left out of a sync is removed from "
    "every target list it is on. Instead take these contacts off some of their other "
    "lists first, or give fewer target lists (the error's values are their rows' values, "
    "every spelling: leave them out only if they should leave the target lists)."
)


def max_removed_value(value: Any) -> float | int | None:
    """``max_removed`` checked: None, a share in (0, 1] (a float) or a count >= 0
    (an int).

    Example:
        >>> max_removed_value(0.5), max_removed_value(200), max_removed_value(None)
        (0.5, 200, None)
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"max_removed must be a share (a float in (0, 1]), a count (an int) or None, "
            f"not {value!r}"
        )
    # A count computed from a frame is a numpy integer: a count like an int.
    number: float | int = int(value) if isinstance(value, numbers.Integral) else float(value)
    if isinstance(number, float) and not 0 < number <= 1:
        raise ValueError(
            f"max_removed={number!r}: a share must be in (0, 1]; give a count as an int "
            "(e.g. 200), or None to turn the guard off"
        )
    if isinstance(number, int) and number < 0:
        raise ValueError(f"max_removed={number!r}: a count cannot be negative")
    return number


def max_removed_of(text: str) -> float | int | None:
    """The sync guard as typed (the panel's field, the CLI's ``--max-removed``): a share
    (``"0.5"``), a count (``"200"``) or ``"none"`` (no guard). Anything else is a
    :class:`~ccpandas.errors.PlanError`.

    Example:
        >>> max_removed_of("0.25"), max_removed_of(" 200 "), max_removed_of("None")
        (0.25, 200, None)
    """
    word = text.strip()
    if word.lower() == "none":
        return None
    try:
        return max_removed_value(int(word) if word.isdigit() else float(word))
    except ValueError as exc:
        raise PlanError(
            f"max_removed {text!r}: a share in (0, 1] such as 0.5, a count such as 200, "
            f"or none ({exc})"
        ) from None


def _mark_idle(match: _Match, cs: ChangeSet, kind: RunKind) -> None:
    """Add and sync rows whose contact has nothing to send: ``already_member``/``kept``."""
    n = len(match.seg_rows)
    if not cs.known:
        return
    busy = bincount(cs.pair_contact[cs.action != NONE], minlength=len(cs.contact_ids))[:n]
    idle = match.seg_rows[busy == 0]
    match.codes[idle] = _IDLE_ROW[kind]
    match.reasons[idle] = _IDLE_REASON[kind]


def _was_member(
    snapshot: MembershipSnapshot, targets: tuple[str, ...], seg_snap: np.ndarray
) -> np.ndarray:
    """Per (segment contact x target list) pair, in that order: a member before?"""
    target_pos = pd.Index(snapshot.list_ids, dtype=object).get_indexer(list(targets))
    if (target_pos < 0).any():
        missing = [t for t, p in zip(targets, target_pos, strict=True) if p < 0]
        raise PlanError(f"the snapshot does not cover target lists {missing}", values=missing)
    blocks = []
    for offset in range(0, len(targets), MAX_LISTS_PER_REQUEST):
        cols = target_pos[offset : offset + MAX_LISTS_PER_REQUEST]
        mask = snapshot.masks(cols)[seg_snap].astype("<u8")
        # One byte per 8 lists until the bits are unpacked (not 8 bytes per pair).
        bits = np.unpackbits(mask.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little")
        blocks.append(bits[:, : len(cols)].view(bool))
    if not blocks:
        return np.zeros(0, dtype=bool)
    return np.concatenate(blocks, axis=1).ravel()


def _first_batches(cs: ChangeSet) -> np.ndarray:
    """Per contact, the first batch that carries it (-1: none)."""
    none = np.int32(np.iinfo(np.int32).max)  # batch indices are int32
    first = np.full(len(cs.contact_ids), none, dtype=np.int64)
    contact = cs.pair_contact
    if cs.pair_batch is not None and len(contact):
        # int32 like pair_batch: 4 bytes a pair while planning, not 16
        batch = np.where(cs.pair_batch >= 0, cs.pair_batch, none).astype(np.int32, copy=False)
        # The lowest batch index per contact, without sorting the pairs: per run of a
        # contact's pairs when they are grouped by contact (as a plan makes them).
        if (contact[1:] >= contact[:-1]).all():
            starts = np.concatenate(([0], np.flatnonzero(contact[1:] != contact[:-1]) + 1))
            first[contact[starts]] = np.minimum.reduceat(batch, starts)
        else:
            np.minimum.at(first, contact, batch)
    first[first == none] = -1
    return first


def _rows(values: pd.Series, match: _Match, row_batch: np.ndarray) -> pd.DataFrame:
    """One row per input row (same index), like ``plan_removal``'s rows; email input
    adds the given ``email`` and the resolved ``contact_id``."""
    codes, reasons, fcodes, first = match.codes, match.reasons, match.fcodes, match.first
    key, seg_rows, seg_ids = match.key, match.seg_rows, match.seg_ids
    index = values.index
    dup = codes == DUPLICATE
    first_of = np.flatnonzero(first)
    # Position of the first row of each factor code, for duplicate_of.
    first_at = np.full(int(fcodes.max()) + 1 if len(fcodes) and fcodes.max() >= 0 else 0, -1)
    first_at[fcodes[first_of]] = first_of
    dup_of = planner._duplicate_labels(index, dup, first_at[fcodes[dup]])
    # Every row that names a segment contact (its first row and its duplicates); code
    # -1 (no contact) takes the appended None.
    code_to_id = np.full(len(first_at) + 1, None, dtype=object)
    code_to_id[fcodes[seg_rows]] = seg_ids
    resolved = code_to_id[fcodes]
    reason = planner.reason_categorical(reasons, codes != PLANNED)
    batch = pd.arrays.IntegerArray(row_batch, mask=row_batch < 0)
    columns: dict[str, Any] = {}
    if key == "email":
        columns["email"] = values
        # Its own array: the two columns must not share memory.
        columns["contact_id"] = pd.Series(resolved.copy(), index=index, dtype=object, copy=False)
    else:
        columns["contact_id"] = values
    columns.update(
        normalized_id=pd.Series(resolved, index=index, dtype=object, copy=False),
        plan_status=pd.Categorical.from_codes(codes, dtype=MEMBERSHIP_STATUS_DTYPE),
        reason=reason,
        duplicate_of=pd.Series(dup_of, index=index, dtype=dup_of.dtype, copy=False),
        batch=batch,
    )
    return pd.DataFrame(columns, index=index, copy=False)


def _membership_notes(
    snapshot: MembershipSnapshot | None, m: MembershipPlan, targets: tuple[str, ...]
) -> tuple[str, ...]:
    if snapshot is None:
        return ()
    sizes, leaving = snapshot.sizes(), m.leaving(targets)
    return tuple(
        f"{leaving[lid]:,} of the {sizes[lid]:,} members of {snapshot.name_of(lid)!r} will "
        "leave: keeping the rest may be simpler (df_to_keep.cc.keep_in_lists([...], "
        "max_removed=None), one request with an exclude set)"
        for lid in targets
        if sizes.get(lid, 0) and leaving[lid] > sizes[lid] / 2
    )


# -- previews of API-selected sources --------------------------------------------------------
def preview_source(
    snapshot: MembershipSnapshot,
    source: Source,
    targets: Sequence[str],
    exclude: Sequence[str] = (),
) -> MembershipPlan:
    """Which members of the target lists a source removal will take out.

    ``tag_ids``: members carrying any of the tags (from ``include=taggings``);
    ``list_ids``: members of any source list; ``all_active_contacts``: active members;
    ``engagement_level``: unknown (``will_leave`` -1, "decided by the API"). Contacts
    in ``exclude`` stay.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "status": "active", "lists": ["l1"], "tags": ["t"]},
        ...     {"contact_id": "c2", "status": "active", "lists": ["l1"], "tags": []}])
        >>> preview_source(snap, Source.tag_ids(["t"]), ["l1"]).leaving(["l1"])
        {'l1': 1}
    """
    owner, target = snapshot.member_matrix()
    # Each snapshot list's position among the targets (-1: not one); looked up this way
    # round, a repeated target id cannot make the index ambiguous.
    target_pos = pd.Index(snapshot.list_ids, dtype=object).get_indexer(list(targets))
    remap = np.full(len(snapshot.list_ids), -1, dtype=np.int64)
    remap[target_pos[target_pos >= 0]] = np.flatnonzero(target_pos >= 0)
    pair_list = remap[target]
    keep = pair_list >= 0
    owner, pair_list = owner[keep], pair_list[keep]
    kind = source.kind
    n = len(snapshot)
    if kind is SourceKind.ENGAGEMENT_LEVEL:
        selected = np.full(n, -1, dtype=np.int8)
    else:
        wanted = {str(v).lower() for v in source.values}
        if kind is SourceKind.TAG_IDS:
            hit = snapshot.tags.has_any(wanted)
        elif kind is SourceKind.LIST_IDS:
            hit = snapshot.lists.has_any(wanted)
        elif kind is SourceKind.ALL_ACTIVE_CONTACTS:
            hit = np.asarray(snapshot.statuses == "active", dtype=bool).reshape(n)
        else:
            raise PlanError(f"no source preview for {kind.value}")
        selected = hit.astype(np.int8)
    if exclude:
        kept = snapshot.index.get_indexer(pd.Index(list(exclude), dtype=object))
        selected[kept[kept >= 0]] = 0
    # Compact to the contacts that have a target membership.
    used, pair_contact = np.unique(owner, return_inverse=True)
    leave = selected[owner] if len(owner) else np.zeros(0, dtype=np.int8)
    cs = ChangeSet(
        contact_ids=snapshot.contact_ids[used],
        list_ids=tuple(targets),
        pair_contact=pair_contact.astype(np.int32),
        pair_list=pair_list.astype(code_dtype(len(targets))),
        action=np.where(leave == 1, REMOVE, np.where(leave < 0, BY_API, NONE)).astype(np.int8),
        was_member=np.ones(len(owner), dtype=bool),
        emails=snapshot.emails[used],
    )
    return MembershipPlan(
        snapshot=snapshot,
        key="source",
        change_set=cs,
        read_requests=snapshot.requests,
        verify_requests=snapshot.requests,
    )


# -- outcomes --------------------------------------------------------------------------------
def changes_frame(
    m: MembershipPlan,
    list_ids: Sequence[str],
    *,
    batch_states: Sequence[str] | None = None,
    after: MembershipSnapshot | None = None,
    list_names: Mapping[str, str] | None = None,
    errored: np.ndarray | None = None,
    seen: np.ndarray | None = None,
    unseen_states: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (contact, target list) pair of the plan, with its outcome.

    ``batch_states`` is the row status of each batch (``removed`` for a completed
    activity, else ``failed``, ``processing``, ... as in ``result.rows``); a source plan
    gives one for all its batches (the worst). ``after`` is the re-read (verification):
    a member pair is ``removed`` only when ``after`` no longer has it, ``still_member``
    when its activity completed and it is still there. ``seen`` marks the pairs that
    read saw (None: all); the others keep their outcome without it, from
    ``unseen_states`` (default ``batch_states``). Without ``batch_states`` (a plan, not
    a result) there is no ``outcome`` column. ``errored`` marks the pairs an
    activity's ``activity_errors`` name (``api_error``).

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "status": "active", "lists": ["l1"], "tags": []}])
        >>> m = preview_source(snap, Source.list_ids(["l1"]), ["l1"])
        >>> changes_frame(m, ["l1"], batch_states=["removed"], after=snap)["outcome"].tolist()
        ['still_member']
    """
    names = {**(m.snapshot.list_names if m.snapshot is not None else {}), **(list_names or {})}
    lids = np.asarray(list(list_ids), dtype=object)
    # The change set's frame, read as the plan knows it, and whether each pair leaves.
    frame = m.change_set.replace(list_ids=tuple(lids), known=m.known).frame(names)
    if batch_states is None:
        return frame
    cs = m.change_set
    if m.key == "source":  # the API selects the contacts: one state for all
        cs = cs.replace(pair_batch=np.zeros(cs.n_pairs, dtype=np.int64))
    still = _still_member(m, after, lids) if after is not None else None
    was, action = cs.was_member, cs.action
    on = PairOutcome.ALREADY_MEMBER if m.kind == RunKind.ADD else PairOutcome.KEPT
    removed, kept, added = str(PairOutcome.REMOVED), str(PairOutcome.KEPT), str(PairOutcome.ADDED)
    one = {added: removed}  # a completed batch's row status, whatever its action
    # Positions into the outcome words, not a word per pair (millions of pairs).
    vocab: list[Any] = list(OUTCOMES)
    out = pair_outcomes(
        cs,
        [one.get(st, st) for st in batch_states],
        still,
        words={
            REMOVE: (removed, str(PairOutcome.STILL_MEMBER)),
            BY_API: (removed, kept),
            ADD: (added, str(PairOutcome.NOT_ADDED)),
        },
        idle=str(on),
        completed=removed,
        credit_read=True,
        errored=errored,
        seen=seen,
        unseen_states=unseen_states and [one.get(st, st) for st in unseen_states],
        vocab=vocab,
    )
    out[(action == NONE) & ~was] = OUTCOMES.index(PairOutcome.NOT_A_MEMBER)  # idle, not on it
    if still is not None and cs.known:
        saw = True if seen is None else seen
        # Gone from the list: by the run when the API chose whom its request removes;
        # else no request of the run named it (someone else took it off). Kept: the API
        # decided to keep it.
        gone = PairOutcome.NOT_A_MEMBER if m.key in ("email", "contact_id") else removed
        out[(action == NONE) & was & ~still & saw] = OUTCOMES.index(gone)
        out[(action == BY_API) & still & saw] = OUTCOMES.index(kept)
    # A word outside the outcomes is missing (NA), as it was from its word.
    out[out >= len(OUTCOMES)] = -1
    frame["outcome"] = pd.Categorical.from_codes(out, dtype=OUTCOME_DTYPE)
    return frame


def _still_member(m: MembershipPlan, after: MembershipSnapshot, lids: np.ndarray) -> np.ndarray:
    """Per pair: is the contact on the list in ``after``?"""
    n = len(m.pair_contact)
    if not n:
        return np.zeros(0, dtype=bool)
    owner, target = after.member_matrix()
    # Key pairs as contact position * L + list position, in the plan's numbering.
    cpos = pd.Index(m.contact_ids, dtype=object).get_indexer(after.contact_ids)
    lpos = pd.Index(lids, dtype=object).get_indexer(list(after.list_ids))
    a_c, a_l = cpos[owner], lpos[target]
    ok = (a_c >= 0) & (a_l >= 0)
    keys_after = np.unique(a_c[ok] * len(lids) + a_l[ok])
    keys = m.pair_contact.astype(np.int64) * len(lids) + m.pair_list
    return np.isin(keys, keys_after, assume_unique=False)


# -- verification ----------------------------------------------------------------------------
#: A look at the changed contacts (or a sample of them), or the full re-read of a run whose
#: contacts the API selects, may always take this many requests (one second at 4/s).
VERIFY_FREE_REQUESTS = 4
#: The largest sample of changed contacts ``verify="auto"`` looks up when nothing cheaper
#: shows the change.
VERIFY_SAMPLE_SIZE = 50


def verify_budget(sends: int) -> int:
    """The most requests ``verify="auto"`` spends: the sends, or a few.

    Example:
        >>> verify_budget(1), verify_budget(40)
        (4, 40)
    """
    return max(VERIFY_FREE_REQUESTS, int(sends))


def changed_contacts(m: MembershipPlan) -> np.ndarray:
    """Positions (into ``m.contact_ids``) of the contacts with a pair to change."""
    cs = m.change_set
    return np.unique(cs.pair_contact[cs.action != NONE])


def choose_verification(
    full: int, changed: int, sends: int, *, by_source: bool = False
) -> tuple[VerifyMethod, int]:
    """How ``verify="auto"`` verifies a run, and the requests it expects to spend.

    ``full``: the requests of a full re-read; ``changed``: contacts with a pair to
    change; ``sends``: the run's change requests. A full re-read when it costs at most
    the sends (``by_source``, the API selecting who leaves: at most
    :func:`verify_budget`, since only a full re-read shows the members who stayed);
    else the contacts changed since the run started (one page of 500 each), when that
    fits :func:`verify_budget`; else a sample of at most :data:`VERIFY_SAMPLE_SIZE`
    contacts, each looked up.

    Example:
        >>> choose_verification(4, 4, 4), choose_verification(2, 4, 1)
        ((<VerifyMethod.FULL: 'full'>, 4), (<VerifyMethod.CHANGED: 'changed'>, 1))
        >>> choose_verification(2, 4, 1, by_source=True)
        (<VerifyMethod.FULL: 'full'>, 2)
        >>> choose_verification(200, 20_000, 2)
        (<VerifyMethod.SAMPLE: 'sample'>, 4)
    """
    budget = verify_budget(sends)
    if full <= (budget if by_source else sends):
        return VerifyMethod.FULL, int(full)
    if not changed and not by_source:  # nothing changes: the run looks nothing up
        return VerifyMethod.CHANGED, 0
    pages = max(1, math.ceil(changed / READ_PAGE_SIZE))
    if pages <= budget:
        return VerifyMethod.CHANGED, pages
    return VerifyMethod.SAMPLE, min(VERIFY_SAMPLE_SIZE, budget, max(1, changed))


def reads_after(m: MembershipPlan, list_ids: Sequence[str]) -> int | None:
    """The pages a full re-read of ``list_ids`` costs once the plan's changes are done:
    per pass of 25 lists, the union of the members left (and added), 500 a page; None
    without a snapshot. A removal that empties the lists costs one page per pass.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "status": "active", "lists": ["l1"], "tags": []}])
        >>> reads_after(preview_source(snap, Source.list_ids(["l1"]), ["l1"]), ["l1"])
        1
    """
    snap = m.snapshot
    if snap is None:
        return None
    lids = list(list_ids)
    n_lists = len(lids)
    if len(set(lids)) != n_lists:  # a list named twice: the plan's own numbering differs
        return None
    owner, target = snap.member_matrix()
    lpos = pd.Index(lids, dtype=object).get_indexer(list(snap.list_ids))
    # Contacts numbered in the plan's change set, then the snapshot's others after them.
    cs = m.change_set
    cpos = np.array(pd.Index(cs.contact_ids, dtype=object).get_indexer(snap.contact_ids))
    extra = np.flatnonzero(cpos < 0)
    cpos[extra] = len(cs.contact_ids) + np.arange(len(extra))
    keys = np.unique(cpos[owner] * n_lists + lpos[target])
    pair_keys = cs.pair_contact * n_lists + cs.pair_list
    keys = np.union1d(
        np.setdiff1d(keys, pair_keys[cs.action == REMOVE]), pair_keys[cs.action == ADD]
    )
    if not n_lists:
        return 0
    # Each pass's union: the distinct contacts of its pairs (one pass per 25 lists),
    # and the members the read only counted (the plan changes none of them).
    passes = (keys % n_lists) // READ_LISTS_PER_PASS
    n_passes = -(-n_lists // READ_LISTS_PER_PASS)
    pass_of_contact = np.unique((keys // n_lists) * n_passes + passes) % n_passes
    unions = np.bincount(pass_of_contact, minlength=n_passes)
    counted = snap.others.per_pass[:n_passes]
    unions[: len(counted)] += np.asarray(counted, dtype=unions.dtype)
    return union_reads(unions.tolist())


def with_verification(
    m: MembershipPlan, full: int, sends: int, list_ids: Sequence[str] | None = None
) -> MembershipPlan:
    """``m`` with the verification ``verify="auto"`` chooses (see
    :func:`choose_verification`) and its cost; ``full`` is what a full re-read costs
    (with ``list_ids``, for a snapshot read: what is left on the lists after the run,
    :func:`reads_after`)."""
    # Found by email lookups, a full verification looks each contact up again.
    after = None if list_ids is None or m.lookup == "email lookups" else reads_after(m, list_ids)
    full = full if after is None else after
    changed = len(changed_contacts(m))
    method, cost = choose_verification(full, changed, sends, by_source=m.key == "source")
    return dataclasses.replace(
        m, verify_method=method, verify_requests=cost, full_verify_requests=int(full)
    )


def verified_as(m: MembershipPlan, option: bool | str, sends: int) -> MembershipPlan:
    """``m`` costed for a run's ``verify`` option, so that the plan's request total
    and the quota check count what the run will spend: ``"auto"`` keeps the plan's
    choice; False none; True (or ``"full"``) a full re-read; ``"changed"`` and
    ``"sample"`` within :func:`verify_budget` of ``sends``.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [
        ...     {"contact_id": "c1", "status": "active", "lists": ["l1"], "tags": []}])
        >>> m = with_verification(preview_source(snap, Source.list_ids(["l1"]), ["l1"]), 1, 1)
        >>> verified_as(m, False, 1).verify_requests, verified_as(m, True, 1).verify_requests
        (0, 1)
    """
    if option == "auto":
        return m
    if option is False:
        return dataclasses.replace(m, verify_requests=0)
    method = VerifyMethod.FULL if option is True else VerifyMethod(option)
    changed, budget = len(changed_contacts(m)), verify_budget(sends)
    least = 1 if changed or m.key == "source" else 0  # nothing changes: nothing looked up
    cost = {
        VerifyMethod.FULL: m.full_verify_requests or m.verify_requests,
        VerifyMethod.CHANGED: min(budget, max(least, math.ceil(changed / READ_PAGE_SIZE))),
        VerifyMethod.SAMPLE: min(VERIFY_SAMPLE_SIZE, budget, max(least, changed)),
    }[method]
    return dataclasses.replace(m, verify_method=method, verify_requests=cost)


_VERIFY_HOW = {
    VerifyMethod.FULL: "a full re-read of the lists",
    VerifyMethod.CHANGED: (
        "the contacts changed since the run started (GET /contacts?updated_after=), "
        "then a look-up of each changed contact that read does not show"
    ),
    VerifyMethod.SAMPLE: "a random sample of the changed contacts, each looked up",
}


def verification_text(m: MembershipPlan, rate: float, sends: int = 0) -> str:
    """The plan's verification line: the method ``verify="auto"`` chose and its cost.

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [])
        >>> m = preview_source(snap, Source.list_ids(["l1"]), ["l1"])
        >>> verification_text(m, 4.0)
        'a full re-read of the lists: 0 requests (0 s) after'
    """
    if sends and not m.verify_requests:  # verify=False (--verify none)
        return "none: nothing is read again after the run"
    method = VerifyMethod(m.verify_method)
    cost = f"{plural(m.verify_requests, 'request')} ({duration(m.verify_requests / rate)})"
    if method is VerifyMethod.SAMPLE:
        cost = f"{cost}: labelled as a sample"
    elif method is VerifyMethod.CHANGED:
        cost = f"about {cost}, at most {verify_budget(sends):,}"
    force = (
        "" if method is VerifyMethod.FULL else "; verify=True (--verify full) forces a full re-read"
    )
    return f"{_VERIFY_HOW[method]}: {cost} after{force}"


def _change_lines(m: MembershipPlan) -> list[tuple[str, str]]:
    """An add's or a sync's lines: per list what is added, removed and kept, a few
    examples, and the unsubscribed contacts (on the list, but sent no email)."""
    cs, changes, emails = m.change_set, m.per_list(), m.emails
    out = []
    actions = [("to add", ADD, PairOutcome.ADDED), ("to remove", REMOVE, PairOutcome.REMOVED)]
    for label, code, what in actions[: 2 if m.kind == RunKind.SYNC else 1]:
        text = per_list_text(changes, what)
        who = np.unique(cs.pair_contact[cs.mask(code)])[:3]
        shown = [emails[c] or cs.contact_ids[c] for c in who]
        eg = f" (e.g. {', '.join(map(str, shown))})" if shown else ""
        out.append((label, (text or "none") + eg))
    word = str(PairOutcome.KEPT) if m.kind == RunKind.SYNC else "already members"
    out.append((word, ", ".join(f"{c.name} {c.unchanged:,}" for c in changes)))
    if m.snapshot is not None:
        adding = np.unique(cs.pair_contact[cs.mask(ADD)])
        pos = m.snapshot.index.get_indexer(cs.contact_ids[adding])
        unsub = int((m.snapshot.statuses[pos[pos >= 0]] == "unsubscribed").sum())
        if unsub:
            stay = "are unsubscribed: they go on the list but no email is sent to them"
            out.append(("unsubscribed", f"{unsub:,} contacts to add {stay}"))
    return out


# -- journal -----------------------------------------------------------------------------------
#: The statuses of email rows the journal keeps as row positions (it keeps no address).
_EMAIL_ROWS = (
    (RowStatus.INVALID_EMAIL.value, _INVALID_EMAIL, REASON_INVALID_EMAIL),
    (RowStatus.NOT_A_MEMBER.value, _NOT_A_MEMBER, REASON_NOT_A_MEMBER),
    (RowStatus.NOT_A_CONTACT.value, _NOT_A_CONTACT, REASON_NOT_A_CONTACT),
)


def membership_meta(m: MembershipPlan) -> dict[str, Any]:
    """What the journal keeps of a membership plan (no address): the key, the snapshot
    id, costs, and for email input the row positions that are ``invalid_email`` or
    ``not_a_member`` (the rows' resolved contact ids are journaled as the id column).

    Example:
        >>> snap = MembershipSnapshot.from_records(["l1"], [])
        >>> m = preview_source(snap, Source.list_ids(["l1"]), ["l1"])
        >>> membership_meta(m)["key"]
        'source'
    """
    rows = m.row_codes
    codes = (
        {} if rows is None else {n: np.flatnonzero(rows == c).tolist() for n, c, _ in _EMAIL_ROWS}
    )
    return {
        "key": m.key,
        "snapshot_id": m.snapshot_id,
        "lookup": m.lookup,
        "read_requests": m.read_requests,
        "verify_requests": m.verify_requests,
        "verify_method": str(m.verify_method),
        "full_verify_requests": m.full_verify_requests,
        "naive_requests": m.naive_requests,
        "email_codes": codes,
        "list_names": dict(m.snapshot.list_names) if m.snapshot is not None else {},
    }


def restore_email_rows(rows: pd.DataFrame, codes: Mapping[str, list[int]]) -> pd.DataFrame:
    """Rows planned again from the journaled contact ids of an email run, with the
    ``invalid_email`` / ``not_a_member`` statuses put back (the addresses are not kept)."""
    status = rows["plan_status"].cat.codes.to_numpy().copy()
    reasons = rows["reason"].astype(object).to_numpy().copy()
    for name, code, reason in _EMAIL_ROWS:
        pos = np.asarray(codes.get(name, []), dtype=np.int64)
        status[pos] = code
        reasons[pos] = reason
    out = rows.copy()
    out["plan_status"] = pd.Categorical.from_codes(status, dtype=MEMBERSHIP_STATUS_DTYPE)
    out["reason"] = pd.Categorical(reasons)
    return out


def unknown_membership(plan: Any) -> MembershipPlan:
    """The pairs of a plan made without a snapshot: every contact x every target list,
    ``was_member`` unknown (their outcomes say ``unverified``, never ``removed``).

    Example:
        >>> from ccpandas.plan.planner import plan_removal
        >>> p = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
        ...                  "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
        >>> len(unknown_membership(p).pair_contact)
        1
    """
    ids = np.fromiter(itertools.chain.from_iterable(plan.contact_groups), dtype=object)
    n, n_lists = len(ids), len(plan.list_ids)
    pair_contact, pair_list = cross_pairs(n, n_lists)
    cs = ChangeSet(
        contact_ids=ids,
        list_ids=tuple(plan.list_ids),
        pair_contact=pair_contact,
        pair_list=pair_list,
        action=np.full(n * n_lists, ADD if plan.kind == RunKind.ADD else REMOVE, dtype=np.int8),
        was_member=np.zeros(n * n_lists, dtype=bool),
        known=False,
        pair_batch=cross_pair_batch(n, n_lists),
    )
    return MembershipPlan(
        snapshot=None,
        key="contact_id",
        change_set=cs,
        lookup="none",
        naive_requests=plan.n_requests,
        kind=plan.kind,
    )
