"""Pure planning: turn a contact_id column (or another source) into the minimum batches.

Nothing here sends a request. A plan validates every input row (each gets a
``plan_status``: ``planned``, ``invalid_id``, ``missing`` or ``duplicate``), de-duplicates
the valid ids in order of first appearance, and splits them into
``ceil(contacts / 500) x ceil(lists / 50)`` batches, the fewest the API allows.

Example:
    >>> df = pd.DataFrame({"contact_id": [
    ...     "8b54d1f4-5b0e-11ee-8c99-0242ac120002",
    ...     "{8B54D1F4-5B0E-11EE-8C99-0242AC120002}",
    ...     "not-an-id",
    ...     None,
    ... ]})
    >>> plan = plan_removal(df, "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
    >>> plan.rows["plan_status"].tolist()
    ['planned', 'duplicate', 'invalid_id', 'missing']
    >>> plan.n_contacts, plan.n_requests
    (1, 1)
"""

from __future__ import annotations

import dataclasses
import difflib
import html
import math
import numbers
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from ccpandas.errors import PlanError, short_repr
from ccpandas.models import (
    DAILY_QUOTA,
    ENGAGEMENT_LEVELS,
    MAX_CONTACTS_PER_REQUEST,
    MAX_LISTS_PER_CONTACT,
    MAX_LISTS_PER_REQUEST,
    MAX_SOURCE_LISTS,
    MAX_TAGS_PER_REQUEST,
    Batch,
    IdSlice,
    MembershipAction,
    Source,
    SourceKind,
    chunked,
)
from ccpandas.plan.ids import (
    DUPLICATE,
    ID_STATUS_DTYPE,
    ID_STATUSES,
    INVALID,
    MISSING,
    PLANNED,
    REASON_DUPLICATE,
    CheckedIds,
    check_ids,
    first_rows,
    holds_text,
    normalize_ids,
    uuid_of,
)
from ccpandas.plan.keys import EMAIL_PATTERN
from ccpandas.plan.polls import DEFAULT_MODEL, request_items, run_estimate
from ccpandas.vocab import PairOutcome, RowStatus, RunKind

__all__ = [
    "CHANGE_COLUMNS",
    "DAILY_QUOTA",
    "DEFAULT_RATE",
    "MAX_TARGET_LISTS",
    "PLAN_STATUSES",
    "PLAN_STATUS_DTYPE",
    "ROW_COLUMNS",
    "RemovalPlan",
    "check_list_count",
    "duplicate_example",
    "duration",
    "frame_column",
    "list_names",
    "list_values",
    "names_not_looked_up",
    "normalize_ids",
    "per_list_text",
    "plan_removal",
    "plan_source_removal",
    "plural",
    "quota_percent",
    "resolve_list_ids",
    "retarget",
    "stand_ins",
]

#: The statuses of ``plan.rows["plan_status"]`` (its categories, in this order).
PLAN_STATUSES = ID_STATUSES
PLAN_STATUS_DTYPE = ID_STATUS_DTYPE
#: The columns of ``plan.rows``.
ROW_COLUMNS = ("contact_id", "normalized_id", "plan_status", "reason", "duplicate_of", "batch")
#: An account has at most 1,000 lists.
MAX_TARGET_LISTS = 1_000
#: Requests per second per application key (the daily quota is models.DAILY_QUOTA).
DEFAULT_RATE = 4.0
_EXAMPLES = 5
#: The row statuses of a value that is no usable key.
_INVALID = (RowStatus.INVALID_ID, RowStatus.INVALID_EMAIL)


#: The columns of ``plan.changes``: one row per (contact, target list) pair.
CHANGE_COLUMNS = (
    "contact_id",
    "email",
    "list_id",
    "list_name",
    "action",
    "was_member",
    "will_leave",
)


class PlanPart(Protocol):
    """What a kind with more to say than its change set gives the one plan type, as
    :attr:`RemovalPlan.part`: its title, lines and texts, and its read figures. An
    undo's is :class:`~ccpandas.plan.undo.UndoPart`; the plan asks it through
    :meth:`of`, which binds it to the plan whose batches, rate and lists it reads.
    """

    title: ClassVar[str]  #: how the plan is shown, e.g. "UndoPlan (nothing sent yet)"

    @property
    def read_requests(self) -> int:
        """What ``plan.read_requests`` says (an undo's: its verification read)."""

    @property
    def total_reads(self) -> int:
        """Every read request of the run, before and after its changes."""

    @property
    def verifiable(self) -> bool:
        """Whether a re-read can show each pair's outcome."""

    @property
    def undo_text(self) -> str:
        """The plan's undo line."""

    @property
    def facts(self) -> tuple[str, ...]:
        """Lines its result shows besides the counts."""

    def of(self, plan: RemovalPlan) -> PlanPart:
        """This part, reading the figures of ``plan``."""

    def summary_lines(self) -> list[tuple[str, str]]:
        """The (label, text) lines of the plan's text and HTML."""

    def pending_text(self) -> str:
        """The membership line of a result before the re-read."""

    def changes(self) -> pd.DataFrame:
        """``plan.changes``: the pairs the run sends."""


def _aligned(lines: list[tuple[str, str]], indent: str) -> str:
    width = max(len(label) for label, _ in lines)
    return "\n".join(f"{indent}{label:<{width}}  {text}" for label, text in lines)


@dataclass(frozen=True, eq=False, repr=False)
class RemovalPlan:
    """What a removal will send, and what happens to every input row. Nothing is sent.

    Build one with :func:`plan_removal`, :func:`plan_source_removal` or
    ``df.cc.plan``; ``print(plan)`` says what will be sent and what it costs. It is
    the one plan type: every kind of run (remove, add, sync, undo) has one, its
    ``kind`` says which, and a kind with more to say has a ``part`` of its own.
    For plans from :func:`plan_source_removal` the API selects the contacts: ``rows``
    holds the ``exclude`` ids (``planned`` there means "will be kept"), and
    ``contact_groups`` is empty.

    Args:
        rows: One row per input row, with the input's index (even where labels repeat), and
            the columns ``contact_id`` (the value as given, dtype kept), ``normalized_id``
            (the canonical id for ``planned`` and ``duplicate`` rows, in the column's string
            storage), ``plan_status`` (categorical of :data:`PLAN_STATUSES`), ``reason``
            (categorical text for rows that are not planned), ``duplicate_of`` (the index
            label of the first row with the same id, exactly as in the index: a nullable
            integer of the index's own type for integer indexes, e.g. UInt64, else objects)
            and ``batch`` (nullable Int64: the contact group that carries the row's id, for
            ``planned`` rows; each contact group goes out once per list group).
        list_ids: The target list ids, in order, without repeats.
        contact_groups: The unique valid contact ids in groups of at most 500 (one request's
            worth); empty when the API selects the contacts.
        batches: The requests to send (:class:`~ccpandas.models.Batch` objects), in order:
            every contact group once per list group.
        source: What selects the contacts (a :class:`~ccpandas.Source`): the contact ids, or
            a list, tag, engagement or all-active source.
        exclude: The contact ids to keep, for list and all-active sources. Default none.
        source_groups: The ids of a ``tag_ids`` or ``list_ids`` source in groups of at most
            50. Default none.
        column: The input column's label (None for sources the API selects).
        rate: Requests per second the run will be sent at, for the time estimate. Default
            4.0 (the API's limit).
        daily_quota: Requests per UTC day the application key may send, for the quota share.
            Default :data:`DAILY_QUOTA` (10,000).
        notes: Things the planner decided that the user should know, e.g. merged repeated
            lists. Default none.
        used_today: Requests already counted today on this application key (the shared quota
            ledger's figure, see :meth:`with_usage`), or None (the default) when not known.
        used_by: How many processes sent ``used_today``, or None (the default) when not
            known.
        membership: The membership snapshot's part
            (:class:`ccpandas.plan.membership.MembershipPlan`: every (contact, target list)
            pair, ``was_member``, ``will_leave``), or None (the default) without a snapshot.
        kind: What the run does: ``"remove"`` (the default), ``"add"`` or ``"sync"``
            (see :class:`~ccpandas.vocab.RunKind`).
        snapshot_cost: Without a snapshot: the read requests one would cost (the lists'
            sizes were read), so the plan can say what makes the run undoable; None (the
            default) when not known.
        list_names: The names the user gave the target lists, by list id, e.g.
            ``{"2d0e3a5c-...": "Newsletter"}``. Default none (lists given by id).
        planning_requests: Without a snapshot: the reads planning spent to choose
            none (the list listing and the union probes), counted in
            :attr:`read_requests`. Default 0.
        spent_reads: The requests planning sent, as its client counted them (retries,
            and the listing of a plan without a snapshot, included): what a run of the
            plan spent before its first change. None (the default): not counted.
        part: A kind's own part, e.g. an undo's (:class:`ccpandas.plan.undo.UndoPart`),
            or None (the default). It gives the plan's title, lines, pending text and
            read figures, and its attributes read as the plan's (``plan.later_runs``).

    Example:
        >>> plan = plan_removal(
        ...     pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
        ...     ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"],
        ... )
        >>> plan.n_batches, plan.batches[0].to_json()["source"]
        (1, {'contact_ids': ['8b54d1f4-5b0e-11ee-8c99-0242ac120002']})
    """

    rows: pd.DataFrame
    list_ids: tuple[str, ...]
    #: The unique valid ids in groups of at most 500 (lazy :class:`~ccpandas.models.IdSlice`).
    contact_groups: tuple[Sequence[str], ...]
    batches: tuple[Batch, ...]
    source: Source
    exclude: tuple[str, ...] = ()
    #: The ids of a tag_ids or list_ids source, in groups of at most 50.
    source_groups: tuple[tuple[str, ...], ...] = ()
    column: Any = None
    rate: float = DEFAULT_RATE
    daily_quota: int = DAILY_QUOTA
    #: Things the planner decided that the user should know (e.g. merged repeated lists).
    notes: tuple[str, ...] = ()
    #: Requests already counted today on this application key, and by how many
    #: processes (the shared quota ledger's figure, passed in: see :meth:`with_usage`);
    #: None when not known.
    used_today: int | None = None
    used_by: int | None = None
    #: The membership snapshot's part (:class:`ccpandas.plan.membership.MembershipPlan`):
    #: every (contact, target list) pair, was_member, will_leave. None without one.
    membership: Any = None
    #: What the run does (a :class:`~ccpandas.vocab.RunKind`): remove, add or sync.
    kind: str = "remove"
    #: Without a snapshot: what reading one would cost in requests (None: not known).
    snapshot_cost: int | None = None
    #: Without a snapshot: the reads planning spent choosing none (listing, probes).
    planning_requests: int = 0
    #: The requests planning sent, counted by its client: retries and the listing of a
    #: plan without a snapshot included (what a run of it spent before its first
    #: change). None: not counted (:attr:`read_requests` stands in).
    spent_reads: int | None = None
    #: A kind's own part (a :class:`PlanPart`: an undo's ``UndoPart``), or None.
    part: PlanPart | None = None

    @cached_property
    def list_groups(self) -> tuple[tuple[str, ...], ...]:
        """The target lists in groups of at most 50 (one request's worth)."""
        return tuple(chunked(self.list_ids, MAX_LISTS_PER_REQUEST))

    @cached_property
    def _part(self) -> PlanPart:
        """The kind's part, reading this plan's figures (its batches, rate, lists)."""
        assert self.part is not None, "asked only when the plan has a part"
        return self.part.of(self)

    if not TYPE_CHECKING:  # typed code asks plan.part; users ask plan.later_runs

        def __getattr__(self, name: str) -> Any:
            if hasattr(type(self), name):  # a member of the plan failed inside: its error
                return object.__getattribute__(self, name)
            missing = AttributeError(f"'RemovalPlan' object has no attribute {name!r}")
            if name.startswith("_") or self.__dict__.get("part") is None:
                raise missing
            try:
                return getattr(self._part, name)
            except AttributeError:
                raise missing from None

    def __dir__(self) -> list[str]:
        """The plan's names and its part's (``plan.later_runs`` completes with Tab)."""
        part = [n for n in dir(self._part) if not n.startswith("_")] if self.part else []
        return sorted({*super().__dir__(), *part})

    @property
    def undoable(self) -> bool:
        """Whether the run can be undone exactly (``ccpandas.undo``): only with a
        membership snapshot, which says who really was a member before; the run must
        also finish and be verified."""
        return self.membership is not None and bool(self.membership.known)

    @property
    def undo_text(self) -> str:
        """Whether the run can be undone and, if not, what a snapshot would cost to make
        it so, in one line (the plan's text, the panel and the CLI show it).

        Example:
            >>> plan_removal(
            ...     pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
            ...     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",
            ... ).undo_text  # doctest: +ELLIPSIS
            'not possible: no membership snapshot, so nobody will know who really was ...'
        """
        if self.part is not None:
            return self._part.undo_text
        if self.undoable:
            return "possible: ccpandas.undo(run_id) puts back exactly what the re-read shows"
        reads = self.snapshot_cost
        if reads is None:
            cost = "at the cost of reading the lists before (1 request per 500 members) and after"
        else:
            cost = (
                f"for {2 * reads:,} more requests ({duration(2 * reads / self.rate)}): "
                f"{plural(reads, 'read')} of the lists before, as many to verify after"
            )
        return (
            "not possible: no membership snapshot, so nobody will know who really was a "
            f"member; snapshot=True (--snapshot yes) makes it possible, {cost}"
        )

    #: The names the user gave the target lists, by list id (journaled with the run).
    list_names: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def changes(self) -> pd.DataFrame:
        """One row per (contact, target list) pair the plan concerns: ``contact_id``,
        ``email``, ``list_id``, ``list_name``, ``was_member``, ``will_leave``. Empty
        without a membership snapshot (nothing is known about who is on the lists). An
        undo's are the pairs it sends
        (:meth:`UndoPart.changes <ccpandas.plan.undo.UndoPart.changes>`)."""
        if self.part is not None:
            return self._part.changes()
        if self.membership is None:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in CHANGE_COLUMNS})
        changes: pd.DataFrame = self.membership.changes(self.list_ids)
        return changes

    # -- what a result asks of any plan -----------------------------------------------------
    @property
    def verifiable(self) -> bool:
        """True when a re-read of the lists can show each pair's outcome: the plan has a
        membership snapshot to compare it with (what makes it undoable), or its kind's
        part says so (an undo's, when it sends changes)."""
        return self._part.verifiable if self.part is not None else self.undoable

    def pending_text(self) -> str:
        """The membership line of a result before a re-read: what is expected, or why
        it is unknown."""
        if self.part is not None:
            return self._part.pending_text()
        m = self.membership
        if m is None or not m.known:
            done = PairOutcome.ADDED if str(self.kind) == "add" else PairOutcome.REMOVED
            return (
                f"memberships: unverified (no snapshot); '{done}' rows mean the activity completed"
            )
        if str(self.kind) != "remove":  # an add's joining, a sync's joining and leaving
            per = m.per_list()
            text = f"members to add: {per_list_text(per, PairOutcome.ADDED) or 'none'}"
            if str(self.kind) == "sync":
                text += f"; to remove: {per_list_text(per, PairOutcome.REMOVED) or 'none'}"
            return f"{text} (not verified yet)"
        if (m.will_leave < 0).any():
            return "members leaving: decided by the API (not verified yet)"
        return f"members to leave: {m.leaving_text(self.list_ids)} (not verified yet)"

    # -- counts ---------------------------------------------------------------------------
    def row_statuses(self) -> dict[str, int]:
        """The input rows per ``plan_status`` (those with any): they add up to
        :attr:`n_rows`, email statuses (``invalid_email``, ``not_a_member``...) included.

        Example:
            >>> plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002", "x"]),
            ...     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f").row_statuses()
            {'planned': 1, 'invalid_id': 1}
        """
        # A part's rows (an undo's pairs) are not input rows: no status.
        statuses = self.rows.get("plan_status", pd.Series([], dtype=object))
        counts = statuses.value_counts(sort=False)
        return {str(s): int(n) for s, n in counts.items() if n}

    @property
    def n_rows(self) -> int:
        """Input rows (for source plans, the exclude rows)."""
        return len(self.rows)

    @property
    def n_contacts(self) -> int | None:
        """Unique valid contact ids planned (an add or a sync sends only those it
        changes); None when the API selects them (source plans)."""
        if self.source.kind.api_selects:
            return None
        return sum(len(g) for g in self.contact_groups)

    @property
    def n_invalid(self) -> int:
        """Rows whose value is not a usable key: not an id (malformed, or not a string),
        or, by email, not an address."""
        counts = self.row_statuses()
        return sum(counts.get(s.value, 0) for s in _INVALID)

    @property
    def n_missing(self) -> int:
        """Rows with no value (NaN, None, NA, empty or blank string)."""
        return self.row_statuses().get(RowStatus.MISSING.value, 0)

    @property
    def n_duplicates(self) -> int:
        """Rows repeating an id seen in an earlier row."""
        return self.row_statuses().get(RowStatus.DUPLICATE.value, 0)

    @property
    def n_lists(self) -> int:
        """Target lists."""
        return len(self.list_ids)

    @property
    def n_requests(self) -> int:
        """Change requests to send, one activity each: for contact ids,
        ``ceil(contacts/500) x ceil(lists/50)`` at most (the minimum)."""
        return len(self.batches)

    @property
    def expected_polls(self) -> int:
        """The ``GET /activities`` calls spent following the activities: the runner's
        polling schedule simulated at ``rate``, with each request's contacts
        processed at the assumed speed (:func:`ccpandas.plan.polls.expected_polls`)."""
        return self._run[0]

    @cached_property
    def _run(self) -> tuple[int, float]:
        """The polls, and the seconds from the first change to the poll that sees the
        last activity ended: one simulation of the runner's schedule."""
        return run_estimate(self.n_requests, self.rate, request_items(self.batches))

    #: Requests to send (one activity each): :attr:`n_requests`.
    n_batches = n_requests

    @property
    def read_requests(self) -> int:
        """Read requests of the membership snapshot (list reads or email lookups, with
        the listing and union probes) that this plan took or will take; without one,
        the reads planning spent deciding so (:attr:`planning_requests`); a kind's part
        says its own (an undo's: its verification read)."""
        if self.part is not None:
            return self._part.read_requests
        return int(self.membership.read_requests) if self.verifiable else self.planning_requests

    @property
    def verify_requests(self) -> int:
        """Read requests of the re-read that verifies the run (about the snapshot's
        again); 0 without a snapshot (nothing to compare with)."""
        return int(self.membership.verify_requests) if self.undoable else 0

    @property
    def _reads(self) -> int:
        """The read requests before the changes and after them (the verification): a
        kind's part counts its own (an undo's fresh read, and its verification)."""
        if self.part is not None:
            return self._part.total_reads
        return self.read_requests + self.verify_requests

    @property
    def total_requests(self) -> int:
        """Every request the run costs: the snapshot's reads (or email lookups), the
        changes, the expected polls and the verification's reads.

        Example:
            >>> plan = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
            ...                     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
            >>> plan.total_requests == plan.n_requests + plan.expected_polls
            True
        """
        return self._reads + self.n_requests + self.expected_polls

    @property
    def quota_share(self) -> float:
        """Every request the run costs (:attr:`total_requests`: reads, changes, polls,
        verification) as a share of the daily quota (1.0 = a whole day's quota);
        :attr:`days_needed` counts the same requests."""
        return self.total_requests / self.daily_quota

    def with_usage(self, used_today: int, used_by: int) -> RemovalPlan:
        """This plan, knowing that ``used_today`` requests were already counted today on
        the key, by ``used_by`` processes (the plan never reads the ledger itself).

        Args:
            used_today: Requests already counted today on the application key, e.g.
                ``3412``.
            used_by: How many processes sent them.

        Returns:
            A copy of this plan whose ``quota_text`` and display tell the figure.

        Example:
            >>> plan = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
            ...                     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
            >>> print(plan.with_usage(3412, 3).quota_text)
            0.03% of 10,000/day; 3,412 of 10,000 used today on this key by 3 processes
        """
        return dataclasses.replace(self, used_today=int(used_today), used_by=int(used_by))

    @property
    def quota_text(self) -> str:
        """The run's share of the daily quota, and (when known) what is used today."""
        days = f"; needs {self.days_needed} days" if self.days_needed > 1 else ""
        usage = f"; {self.usage_text}" if self.usage_text else ""
        return f"{quota_percent(self.quota_share)} of {self.daily_quota:,}/day{days}{usage}"

    @property
    def usage_text(self) -> str | None:
        """``"3,412 of 10,000 used today on this key by 3 processes"``, or None when the
        plan was not told (:meth:`with_usage`)."""
        if self.used_today is None:
            return None
        return (
            f"{self.used_today:,} of {self.daily_quota:,} used today on this key "
            f"by {plural(self.used_by or 0, 'process', 'processes')}"
        )

    @property
    def days_needed(self) -> int:
        """UTC days of quota the run needs: every request it costs (:attr:`total_requests`)."""
        return max(1, math.ceil(self.total_requests / self.daily_quota))

    @property
    def estimated_seconds(self) -> float:
        """Seconds the run takes at ``rate`` requests per second, in the runner's order:
        the snapshot's reads, then from the first change to the poll that sees the last
        activity ended (the changes, the polls, the activities' processing at the
        assumed speed: :func:`ccpandas.plan.polls.expected_run_seconds`), then the
        verification's reads. Every request takes its slot in the pace (the client's
        2 % margin left out).

        Example:
            >>> plan = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
            ...                     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
            >>> plan.estimated_seconds  # the POST at 0 s, polls at 0.25 s and 1.25 s
            1.25
        """
        return self._reads * DEFAULT_MODEL.gap(self.rate) + self._run[1]

    def invalid_examples(self, n: int = _EXAMPLES) -> list[Any]:
        """A few distinct values that were rejected as ``invalid_id`` (``invalid_email``
        by email).

        Args:
            n: How many examples at most. Default 5.
        """
        given = self.rows.get("email" if self._by_email else "contact_id")
        if not self.n_invalid or given is None:  # (a rebuilt run keeps no addresses)
            return []
        bad = self.rows["plan_status"].isin([s.value for s in _INVALID]).to_numpy()
        return _distinct(_first_values(given, bad, n * 20))[:n]

    # -- summaries ------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """The headline numbers as a dict.

        Example:
            >>> plan_removal(
            ...     pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
            ...     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",
            ... ).summary()["requests"]
            1
        """
        return {
            "source": self.source.kind.value,
            "rows": self.n_rows,
            "row_statuses": self.row_statuses(),
            "contacts": self.n_contacts,
            "invalid": self.n_invalid,
            RowStatus.MISSING.value: self.n_missing,
            "duplicates": self.n_duplicates,
            "lists": self.n_lists,
            "list_groups": len(self.list_groups),
            "contact_groups": len(self.contact_groups),
            "source_groups": len(self.source_groups),
            "exclude": len(self.exclude),
            "batches": self.n_batches,
            "requests": self.n_requests,
            "expected_polls": self.expected_polls,
            "read_requests": self.read_requests,
            "verify_requests": self.verify_requests,
            "total_requests": self.total_requests,
            "daily_quota": self.daily_quota,
            "quota_share": self.quota_share,
            "days_needed": self.days_needed,
            "used_today": self.used_today,
            "used_by": self.used_by,
            "rate": self.rate,
            "estimated_seconds": self.estimated_seconds,
            "invalid_examples": self.invalid_examples(),
            "notes": list(self.notes),
            "undoable": self.undoable,
            "snapshot_cost": self.snapshot_cost,
        }

    def _lines(self) -> list[tuple[str, str]]:
        """(label, text) pairs shared by the text and HTML summaries, in an analyst's
        words; the technical figures are in :meth:`_detail_lines`."""
        if self.part is not None:
            return self._part.summary_lines()
        out: list[tuple[str, str]] = []
        if self.source.kind is SourceKind.CONTACT_IDS:
            out.append(("input rows", f"{self.n_rows:,}"))
            sent, what = self.n_contacts or 0, "unique valid ids"
            if self.verifiable and self.kind == "remove":
                what = "members of a target list, to send"
            elif self.verifiable:  # an add or a sync sends only the contacts it changes
                sent = self.membership.n_changed
                what = f"in the account, {sent:,} to send"
            out.append(("contacts", f"{self.n_contacts:,} {what}"))
            if not self._by_email:  # addresses: "invalid emails" below says it
                out.append(("invalid", f"{self.n_invalid:,}{_eg(self.invalid_examples(3))}"))
            out.append((RowStatus.MISSING.value, f"{self.n_missing:,}"))
            out.append(("duplicates", f"{self.n_duplicates:,}" + duplicate_example(self.rows)))
            who = plural(sent, "contact")
        else:
            out.append(("source", _describe_source(self.source)))
            if self.source.accepts_exclude:
                out.append(("exclude", f"{len(self.exclude):,} contacts kept"))
            who = _describe_source(self.source)
        polls = self.expected_polls
        follow = f", then about {polls:,} more to follow them" if polls else ""
        if self.planning_requests and not self.verifiable:
            follow += (
                f"; {self.total_requests:,} in all with "
                f"{plural(self.read_requests, 'read')} to plan"
            )
        elif self.read_requests or self.verify_requests:
            follow += (
                f"; {self.total_requests:,} in all with the snapshot's "
                f"{plural(self.read_requests, 'read')} and "
                f"{plural(self.verify_requests, 'read')} to verify"
            )
        verb = {"add": "to add {} to", "sync": "to sync {} with"}.get(
            str(self.kind), "to remove {} from"
        )
        sends = f"{plural(self.n_requests, 'request')} {verb.format(who)}"
        out.append(("requests", f"{sends} {plural(self.n_lists, 'list')}{follow}"))
        out.append(("daily quota", self.quota_text))
        out.append((f"time at {self.rate:g} req/s", duration(self.estimated_seconds)))
        if self.membership is not None:
            out.extend(self.membership.summary_lines(self))
        out.append(("undo", self.undo_text))
        out.extend(("note", note) for note in self.notes)
        return out

    def _detail_lines(self) -> list[tuple[str, str]]:
        """The technical figures behind :meth:`_lines`: groups, requests, polls."""
        if self.part is not None:  # a kind's part says everything in its lines
            return []
        groups: list[tuple[str, Sequence[Any], str]]
        groups = [("list", self.list_groups, f"{MAX_LISTS_PER_REQUEST} lists")]
        if self.source.kind is SourceKind.CONTACT_IDS:
            groups.append(("contact", self.contact_groups, f"{MAX_CONTACTS_PER_REQUEST} contacts"))
        elif self.source_groups:
            limit = f"{MAX_TAGS_PER_REQUEST} tags or {MAX_SOURCE_LISTS} lists"
            groups.append(("source", self.source_groups, limit))
        out = [(f"{k} groups", f"{len(g):,} (at most {n} per request)") for k, g, n in groups]
        for action in dict.fromkeys(b.action for b in self.batches) or [MembershipAction.REMOVE]:
            n = sum(b.action is action for b in self.batches)
            label = "add requests" if action is MembershipAction.ADD else "removal requests"
            out.append((label, f"{n:,} POST /activities/{action.value}, one activity each"))
        polls = f"about {self.expected_polls:,} GET /activities (each reports up to 500 activities)"
        return [*out, ("status polls", polls)]

    @property
    def _by_email(self) -> bool:
        return self.membership is not None and self.membership.key == "email"

    def _title(self) -> str:
        if self.part is not None:
            return self._part.title
        what = {"add": "AddPlan", "sync": "SyncPlan"}.get(str(self.kind), "RemovalPlan")
        given = "email addresses" if self._by_email else self.source.kind.value
        return f"{what} ({given}, nothing sent yet)"

    def __str__(self) -> str:
        text = f"{self._title()}\n{_aligned(self._lines(), '  ')}"
        details = self._detail_lines()
        return f"{text}\n  details\n{_aligned(details, '    ')}" if details else text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        def cells(pairs: list[tuple[str, str]]) -> str:
            return "".join(
                f"<tr><th style='text-align:left'>{html.escape(label)}</th>"
                f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
                for label, text in pairs
            )

        title = html.escape(self._title())
        page = f"<table class='ccpandas-plan'><caption>{title}</caption>{cells(self._lines())}"
        details = self._detail_lines()
        if not details:
            return page + "</table>"
        return (
            f"{page}</table><details class='ccpandas-plan-details'><summary>details</summary>"
            f"<table>{cells(details)}</table></details>"
        )


def quota_percent(share: float) -> str:
    """A share of the daily quota as a percentage, the same in every display: one
    decimal from 1 %, two below, and "< 0.01%" for less (never "0.0%" for a run
    that does cost requests).

    Args:
        share: The share of the daily quota, e.g. ``0.0005`` for 5 of 10,000 requests (1.0
            is a whole day's quota).

    Example:
        >>> quota_percent(0.0005), quota_percent(0.025), quota_percent(0.00001)
        ('0.05%', '2.5%', '< 0.01%')
    """
    if 0 < share < 0.0001:
        return "< 0.01%"
    return f"{share:.{1 if share >= 0.01 else 2}%}"


def per_list_text(changes: Iterable[Any], what: str) -> str:
    """``"Newsletter 10, Customers 19"``: the lists with some ``what`` (``"added"`` or
    ``"removed"``), e.g. for a confirmation.

    Args:
        changes: Each target list's changes
            (:class:`~ccpandas.plan.membership.ListChange` items).
        what: The count to show: ``"added"`` or ``"removed"``.

    Example:
        >>> from ccpandas.plan.membership import ListChange
        >>> per_list_text([ListChange("l1", "Newsletter", 10, 0, 3)], "added")
        'Newsletter 10'
    """
    return ", ".join(f"{c.name} {getattr(c, what):,}" for c in changes if getattr(c, what))


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``n`` and its noun, with thousands separators (every front end's count words).

    Example:
        >>> plural(1, "list"), plural(1200, "list"), plural(2, "activity", "activities")
        ('1 list', '1,200 lists', '2 activities')
    """
    return f"{n:,} {noun if n == 1 else (plural_form or noun + 's')}"


def duplicate_example(rows: pd.DataFrame) -> str:
    """ " (sent once; e.g. row 7 is a duplicate of row 2)", or "" without duplicates:
    ``duplicate_of`` holds a row label, which a bare number would pass off as a count.

    Args:
        rows: A plan's ``rows`` (at least its ``duplicate_of`` column, with the input's
            index).

    Example:
        >>> rows = pd.DataFrame({"duplicate_of": pd.array([pd.NA, 0], dtype="Int64")})
        >>> duplicate_example(rows)
        ' (sent once; e.g. row 1 is a duplicate of row 0)'
    """
    if "duplicate_of" not in rows or not len(rows):
        return ""
    dup = rows["duplicate_of"]
    hit = dup.notna().to_numpy()
    if not hit.any():
        return ""
    first = int(np.flatnonzero(hit)[0])
    # numpy scalars repr as np.int64(0): show the plain values.
    row, of = (
        x.item() if isinstance(x, np.generic) else x for x in (rows.index[first], dup.iloc[first])
    )
    said = f" (sent once; e.g. row {row!r} is a duplicate of row {of!r}"
    if not rows.index.is_unique:  # pd.concat of two exports: a label names several rows
        said += "; the index repeats labels, which name several rows: reset_index() gives "
        said += "each its own"
    return said + ")"


# -- DataFrame plans ---------------------------------------------------------------------
def plan_removal(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: Any = "contact_id",
    rate: float = DEFAULT_RATE,
    daily_quota: int = DAILY_QUOTA,
) -> RemovalPlan:
    """Plan removing the contacts in ``data[column]`` (or the Series ``data``) from lists.

    Pure: nothing is sent or read. Invalid, missing and duplicate ids are kept in
    ``plan.rows`` with their reason and never sent.

    Args:
        data: The contacts: a DataFrame (its ``column`` is read) or a Series of contact ids.
        list_ids: The target lists: one list UUID or several (a list, tuple or Series).
            Names must be resolved first (:func:`resolve_list_ids`); repeated ids are
            merged, keeping their order (the plan's ``notes`` say so), and more than 50
            lists are split into groups of 50.
        column: The column of ``data`` that holds the contact ids. Default ``"contact_id"``;
            a Series is read whole.
        rate: Requests per second the run will be sent at, for the time estimate. Default
            4.0 (the API's limit).
        daily_quota: Requests per UTC day the application key may send, for the quota share.
            Default :data:`DAILY_QUOTA` (10,000).

    Returns:
        A :class:`RemovalPlan`.

    Raises:
        PlanError: Nothing sensible can be planned: no such column, no rows, a column that
            holds no text, no valid id, an unresolved list name.

    Example:
        >>> plan = plan_removal(
        ...     pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"] * 2}),
        ...     ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"],
        ... )
        >>> plan.n_contacts, plan.n_duplicates, plan.rows["duplicate_of"].tolist()
        (1, 1, [<NA>, 0])
    """
    targets, notes, values, column = column_to_plan(data, list_ids, column, rate, daily_quota)
    if not holds_text(values.dtype):  # once per column: no value is looked at
        raise _no_text(values, column)

    checked = check_ids(values)
    if not (checked.codes >= 0).any():
        raise _no_valid_ids(values, checked.status, column)
    rows = _rows_frame(values, checked, with_batches=True)

    # The ids stay in the column's string storage (Arrow for Arrow columns): each group is
    # a lazy slice, turned into Python strings only when its request body is built.
    ids = _FirstIds(checked.normalized.array, np.flatnonzero(first_rows(checked.codes)))
    del checked
    return ids_plan(rows, targets, ids, None, column, rate, daily_quota, notes=notes)


def column_to_plan(
    data: Any, list_ids: Any, column: Any, rate: Any, daily_quota: Any
) -> tuple[tuple[str, ...], tuple[str, ...], pd.Series, Any]:
    """What every plan of a column checks first: the pace, the target lists (with notes
    on repeats) and the column, which must have rows; ``(targets, notes, values, column)``.

    Example:
        >>> column_to_plan(pd.Series(["x"], name="id"), "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",
        ...                "contact_id", 4.0, 10_000)[3]
        'id'
    """
    _check_pace(rate, daily_quota)
    targets, notes = _target_lists(list_ids)
    values, column = _column_of(data, column)
    if len(values) == 0:
        raise PlanError(f"nothing to plan: column {column!r} has no rows", column=column)
    return targets, notes, values, column


def ids_plan(
    rows: pd.DataFrame,
    targets: tuple[str, ...],
    ids: Any,
    batches: tuple[Batch, ...] | None,
    column: Any = None,
    rate: float = DEFAULT_RATE,
    daily_quota: int = DAILY_QUOTA,
    **fields: Any,
) -> RemovalPlan:
    """The plan of the distinct contact ids ``ids`` (kept, not copied: each group of 500
    is a lazy :class:`~ccpandas.models.IdSlice`), the target lists in groups of 50;
    ``batches`` None sends every contact group to every list group. ``fields``: the
    plan's other fields (notes, membership, kind).

    Example:
        >>> ids_plan(pd.DataFrame(), ("l1",), ["c1", "c2"], None, "id", 4, 10_000).n_requests
        1
    """
    contact_groups = tuple(
        IdSlice(ids, start, start + MAX_CONTACTS_PER_REQUEST)
        for start in range(0, len(ids), MAX_CONTACTS_PER_REQUEST)
    )
    return RemovalPlan(
        rows=rows,
        list_ids=targets,
        contact_groups=contact_groups,
        batches=_contact_batches(contact_groups, targets) if batches is None else batches,
        source=Source.contact_ids(IdSlice(ids)),
        column=column,
        rate=float(rate),
        daily_quota=int(daily_quota),
        **fields,
    )


def as_kind(plan: RemovalPlan, kind: str) -> RemovalPlan:
    """A plan made without a read of the lists, for ``kind``: an add sends the same
    requests to ``add_list_memberships`` (every contact to every list).

    Example:
        >>> p = as_kind(plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
        ...                          "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"), "add")
        >>> p.kind, p.batches[0].action.value
        ('add', 'add_list_memberships')
    """
    if kind == "remove":
        return plan
    batches = tuple(dataclasses.replace(b, action=MembershipAction.ADD) for b in plan.batches)
    return dataclasses.replace(plan, batches=batches, kind=kind)


def _contact_batches(
    contact_groups: tuple[Sequence[str], ...], targets: tuple[str, ...]
) -> tuple[Batch, ...]:
    """Every contact group once per list group, contact groups outermost."""
    return tuple(_cross([(Source.contact_ids(g), len(g)) for g in contact_groups], targets))


def retarget(plan: RemovalPlan, list_ids: str | Iterable[str]) -> RemovalPlan:
    """``plan`` (of contact ids) sent to other target lists: its rows and contact groups
    are kept, its list groups, batches and notes made anew. This lets the data be
    checked (pure) before list names are resolved (a request), without checking twice.

    Args:
        plan: A plan of contact ids (from :func:`plan_removal`).
        list_ids: The new target lists: one list UUID or several, names already resolved.

    Raises:
        ValueError: ``plan`` is not a plan of contact ids.

    Example:
        >>> plan = plan_removal(pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]),
        ...                     "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
        >>> retarget(plan, ["7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"]).list_ids
        ('7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d',)
    """
    if plan.source.kind is not SourceKind.CONTACT_IDS:
        raise ValueError(f"retarget takes a plan of contact ids, not of {plan.source.kind.value}")
    targets, notes = _target_lists(list_ids)
    kept = tuple(n for n in plan.notes if "repeated list id" not in n)
    return dataclasses.replace(
        plan,
        list_ids=targets,
        batches=_contact_batches(plan.contact_groups, targets),
        notes=kept + notes,
    )


def frame_column(data: Any, column: Any) -> pd.Series:
    """The column ``column`` of the DataFrame ``data``, or a PlanError saying why not
    (not a DataFrame, no such column, a label that is not hashable or appears twice).

    Args:
        data: The DataFrame to read.
        column: The column's label, e.g. ``"contact_id"``.

    Example:
        >>> frame_column(pd.DataFrame({"contact_id": ["a"]}), "contact_id").tolist()
        ['a']
    """
    if not isinstance(data, pd.DataFrame):
        raise PlanError(
            f"expected a DataFrame with a {column!r} column, got {type(data).__name__}",
            column=column,
        )
    return _column_of(data, column)[0]


def _column_of(data: Any, column: Any) -> tuple[pd.Series, Any]:
    """The Series to plan, and the name to report it by."""
    if isinstance(data, pd.DataFrame):
        try:
            found = column in data.columns
        except TypeError:  # an unhashable column name
            raise PlanError(
                f"column {short_repr(column)} not found: column takes one column label (a "
                f"string, usually), not a {type(column).__name__}; the frame's columns are "
                f"{', '.join(repr(c) for c in list(data.columns)[:20]) or 'none'}",
                column=None,
            ) from None
        # A column named by an id or address: before "did you mean" points at it.
        named = [column] if found else data.columns
        headless = next(filter(None, map(_a_value, named)), None)
        if headless is not None:
            raise headless
        if not found:
            raise _missing_column(data, column)
        values = data[column]
        multi = isinstance(data.columns, pd.MultiIndex)
        under = [c for c in data.columns if c[0] == column][:5] if multi else []
        if isinstance(values, pd.DataFrame) and under:
            raise PlanError(
                f"column {column!r} is a level of the columns, not one column: pass a "
                f"whole label, such as {', '.join(map(repr, under))}",
                column=column,
            )
        if isinstance(values, pd.DataFrame):
            raise PlanError(
                f"column {column!r} appears {values.shape[1]} times; keep one of them",
                column=column,
            )
        return values, column
    if isinstance(data, pd.Series):
        headless = _a_value(data.name)  # pd.read_csv(...)[first value]
        if headless is not None:
            raise headless
        return data, data.name if data.name is not None else column
    if isinstance(data, pd.Index):
        return pd.Series(data, index=range(len(data))), column
    if isinstance(data, (list, tuple, np.ndarray)):
        if isinstance(data, np.ndarray) and data.ndim != 1:
            raise PlanError(f"expected one column of contact ids, got a {data.ndim}-d array")
        return pd.Series(list(data), dtype=object), column
    raise PlanError(
        f"expected a DataFrame or Series of contact ids, got {type(data).__name__}",
        column=column,
    )


def _a_value(label: Any) -> PlanError | None:
    """The error for a column named by an id (a UUID: a contact's, a list's...) or an
    email address: a table read without its header row, whose first row became the
    header and would be left out."""
    if not isinstance(label, str):
        return None
    if re.fullmatch(EMAIL_PATTERN, label.strip()):
        what = "an email address"
    elif uuid_of(label) is not None:
        what = "an id (a UUID)"
    else:
        return None
    return PlanError(
        f"a column is named {label!r}, {what}: the data's first row was taken for its "
        "header row and would be left out. Give the data a header row (such as "
        "'email' or 'contact_id'), or read it with pandas' header=None.",
        column=label,
    )


def _missing_column(data: pd.DataFrame, column: Any) -> PlanError:
    names = [str(c) for c in data.columns]
    shown = ", ".join(repr(c) for c in list(data.columns)[:20])
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    plausible = _plausible_columns(data)
    close = _close_matches(str(column), names)
    both = [c for c in close if c in dict(plausible)]
    below = _header_below(data, column)
    if column is not None and column in data.index.names:
        # set_index("contact_id") moved it out of the columns: no other column is meant.
        close, hint = [], f" {column!r} is the frame's index: pass frame.reset_index()."
    elif below is not None:
        # A title above the header: the columns named are no columns of the table.
        close = []
        hint = (
            f" {column!r} is a value in row {below + 2} (the header's being row 1): the "
            "table's header row is lower down, under a title perhaps. Delete the rows "
            f"above it, or read it with pandas' header={below + 1}."
        )
    elif not both and len(plausible) == 1:
        # What the values hold beats a look-alike name ('contact' for 'contact_id').
        (only, what), close = plausible[0], [plausible[0][0]]
        hint = f" Did you mean {only!r}? It is the only column that holds {what}."
    else:
        close = both or [c for c, _ in plausible] or close
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    columns = f"its columns are {shown}{more}" if names else "it has no columns"
    return PlanError(
        f"column {column!r} not found in the DataFrame; {columns}.{hint} "
        "Pass column='...' to name the column of contact ids or email addresses.",
        column=column,
        values=close,
    )


def _header_below(data: pd.DataFrame, column: Any, rows: int = 20) -> int | None:
    """The position of the first of the top ``rows`` rows that holds ``column`` as a
    value (any case): the table's real header row, when a title sat above it.

    Example:
        >>> _header_below(pd.DataFrame({"Export": [None, "Email", "a@b.co"]}), "email")
        1
        >>> _header_below(pd.DataFrame({"channel": ["email"], "to": ["a@b.co"]}), "email")
    """
    # A title fills one cell of its row: pandas names the others "Unnamed: 1"...; a
    # value "email" in a table with a header of its own is just a value.
    # (A lone "Unnamed: 0" first is a saved index, not a title.)
    rest = [str(c) for c in data.columns[1:]]
    untitled = bool(rest) and all(c.startswith("Unnamed: ") for c in rest)
    if not isinstance(column, str) or not (untitled or data.shape[1] == 1):
        return None
    wanted = column.casefold()
    for position, row in enumerate(data.iloc[:rows].astype(object).to_numpy()):
        if any(isinstance(v, str) and v.strip().casefold() == wanted for v in row):
            return position
    return None


def _plausible_columns(data: pd.DataFrame, sample: int = 50) -> list[tuple[str, str]]:
    """The text columns whose first values are mostly email addresses or contact ids,
    with what they hold: ``[("email", "email addresses")]``.

    Example:
        >>> _plausible_columns(pd.DataFrame({"email": ["a@b.co"], "name": ["Ann"]}))
        [('email', 'email addresses')]
    """
    found = []
    for name in data.columns:
        values = data[name]
        if not isinstance(name, str) or not isinstance(values, pd.Series):
            continue  # a repeated label gives a frame: not a candidate
        if not holds_text(values.dtype):
            continue
        head = values.dropna().iloc[:sample]
        if head.empty:
            continue
        # As plain Python strings: any text dtype (Arrow dictionaries too) reads so.
        text = pd.Series([v.strip() for v in head.tolist() if isinstance(v, str)], dtype=object)
        # A hint, not the check: one "@" and no space is enough to point at the column
        # (ccpandas.plan.membership judges the addresses; it imports this module).
        if len(text) and text.str.fullmatch(r"[^@\s]+@[^@\s]+").mean() >= 0.5:
            found.append((name, "email addresses"))
        elif (check_ids(head).status == PLANNED).mean() >= 0.5:
            found.append((name, "contact ids"))
    return found


def _did_you_mean(close: Sequence[str]) -> str:
    """``" (did you mean 'a' or 'b'?)"``, or "" without a close match."""
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def _close_matches(word: str, candidates: Iterable[Any]) -> list[str]:
    """Close matches, ignoring case, returned in their original spelling (each of the
    spellings that differ in case only: 'VIP' and 'vip')."""
    folded: dict[str, list[str]] = {}
    for c in candidates:
        if isinstance(c, str):
            folded.setdefault(c.casefold(), []).append(c)
    hits = difflib.get_close_matches(word.casefold(), list(folded), n=3, cutoff=0.6)
    return [c for h in hits for c in folded[h]]


def _no_text(values: pd.Series, column: Any) -> PlanError:
    """The error for a column whose dtype cannot hold ids (numbers, dates, bytes...)."""
    examples = _distinct(values.iloc[:100].dropna().tolist())[:_EXAMPLES]
    return PlanError(
        f"no valid contact id in column {column!r}: its dtype is {values.dtype}{_eg(examples)}, "
        "which holds no text. A contact id is a string like "
        "'8b54d1f4-5b0e-11ee-8c99-0242ac120002'; the column must be text: object, str, "
        "string, a category of strings, or an Arrow string or dictionary-of-strings column.",
        column=column,
        values=examples,
    )


def _no_valid_ids(values: pd.Series, status: np.ndarray, column: Any) -> PlanError:
    invalid = int((status == INVALID).sum())
    missing = int((status == MISSING).sum())
    examples = _distinct(_first_values(values, status == INVALID, 100))[:_EXAMPLES]
    # Addresses most of which fail the plain check ("Ann <ann@x.com>") read as ids.
    emails = any("@" in str(v) for v in examples)
    by_email = (
        " If the column holds email addresses, pass by='email': each that is not a "
        "plain address (a display name, a mailto: link) is then an invalid_email row."
    )
    return PlanError(
        f"no valid contact id in column {column!r}: {invalid:,} invalid{_eg(examples)}, "
        f"{missing:,} missing, of {len(values):,} rows. A contact id is a UUID "
        "like '8b54d1f4-5b0e-11ee-8c99-0242ac120002'." + (by_email if emails else ""),
        column=column,
        values=examples,
    )


def _duplicate_labels(index: pd.Index, dup: np.ndarray, first_pos: np.ndarray) -> Any:
    """Index labels of each duplicate's first occurrence, missing for other rows."""
    n = len(index)
    dtype = index.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        # In the index's own integer type: uint64 labels above 2**63 stay exact.
        values = np.zeros(n, dtype=dtype)
        values[dup] = index.to_numpy()[first_pos]
        return pd.arrays.IntegerArray(values, mask=~dup)
    if not isinstance(index, pd.MultiIndex) and isinstance(index.array, pd.arrays.IntegerArray):
        positions = np.full(n, -1, dtype=np.intp)  # Int64, UInt64...: kept as they are
        positions[dup] = first_pos
        return index.array.take(positions, allow_fill=True)
    labels = np.full(n, None, dtype=object)
    if dup.any():
        labels[dup] = index.take(first_pos).to_numpy(dtype=object)
    return labels


# -- target lists --------------------------------------------------------------------------
def _target_lists(list_ids: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validated, de-duplicated target list ids and notes about what was merged."""
    values = _as_values(list_ids, "list_ids", ordered=True)
    if not values:
        raise PlanError("no target list: list_ids is empty", values=[])
    ids = _uuids(values, "list id", hint=_NAMES_HINT)
    unique = tuple(dict.fromkeys(ids))
    if len(unique) > MAX_TARGET_LISTS:
        raise PlanError(
            f"{len(unique):,} target lists given; an account has at most "
            f"{MAX_TARGET_LISTS:,} lists",
            values=list(unique[:_EXAMPLES]),
        )
    repeats = len(ids) - len(unique)
    notes = (f"{repeats} repeated list id{'s' * (repeats != 1)} merged",) if repeats else ()
    return unique, notes


_NAMES_HINT = (
    "A list id is a UUID; to use list names, resolve them first "
    "(resolve_list_ids, or give a client to the removal functions)."
)


def _as_values(values: Any, what: str, *, ordered: bool = False) -> list[Any]:
    """One string, or an iterable of values, as a list (an iterator is read once).

    ``ordered``: refuse sets and mappings, whose order is not the caller's (a set of
    strings iterates in another order in every process, so a resumed run would not
    match its plan) or whose meaning is unclear (a mapping's keys, or its values?).
    """
    if values is None:
        raise PlanError(f"{what} is required")
    if isinstance(values, (str, bytes)):
        return [values]
    if isinstance(values, pd.DataFrame):
        raise PlanError(f"{what}: expected ids, got a DataFrame; pass one of its columns")
    if ordered and isinstance(values, (Mapping, Set)):
        kind = type(values).__name__
        fix = "sorted(...)" if isinstance(values, Set) else "list(d.values()) or list(d)"
        raise PlanError(
            f"{what}: expected a list of list ids or names (in the order to use), got a "
            f"{kind}, which has no order of its own; pass {fix}",
            values=None,
        )
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise PlanError(f"{what}: expected one dimension of ids, got a {values.ndim}-d array")
    try:
        return list(values)
    except TypeError:
        raise PlanError(
            f"{what}: expected an id or an iterable of ids, got {type(values).__name__}"
        ) from None


def list_values(list_ids: Any, argument: str = "list_ids") -> tuple[str, ...]:
    """``list_ids`` read once and checked: list UUIDs or exact list names, as given.

    Pure: this runs before any request, so that only plausible names are ever looked
    up. One string is one list (id or name); any other iterable (list, tuple, Series,
    Index, a generator: read once) gives the lists in its order. Refused with a
    :class:`~ccpandas.errors.PlanError` naming ``argument``: None, a DataFrame, a set
    or mapping, a non-iterable, no value at all, values that are not strings (None,
    NaN, numbers, bytes, lists...), empty or blank strings, and more than
    :data:`MAX_TARGET_LISTS` distinct values.

    Args:
        list_ids: The lists as given: one list UUID or exact name, or several (a list,
            tuple, Series, Index or generator), e.g. ``["Newsletter", "Customers"]``.
        argument: The argument's name in error messages. Default ``"list_ids"``.

    Returns:
        The values, in order, as a tuple of strings.

    Example:
        >>> list_values(v for v in ["VIP", "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"])
        ('VIP', '2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f')
        >>> list_values(["VIP", None])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.PlanError: list_ids: list ids and names must be strings; got None ...
    """
    given = _as_values(list_ids, argument, ordered=True)
    if not given:
        what = "no target list" if argument == "list_ids" else "no list"
        raise PlanError(f"{what}: {argument} is empty", values=[])
    not_text = [v for v in given if not isinstance(v, str)]  # <= 1,000 lists: cheap
    if not_text:
        raise PlanError(
            f"{argument}: list ids and names must be strings; got "
            + ", ".join(short_repr(v) for v in not_text[:10])
            + f" ({len(not_text)} of {len(given)}). Give list UUIDs or exact list names "
            "(ccpandas.read_contact_lists() shows them).",
            values=not_text[:10],
        )
    blank = [v for v in given if not v.strip()]
    if blank:
        raise PlanError(
            f"{argument}: a list id or name cannot be empty or blank; got "
            + ", ".join(short_repr(v) for v in blank[:10])
            + ". Give list UUIDs or exact list names.",
            values=blank[:10],
        )
    distinct = len(set(given))
    if distinct > MAX_TARGET_LISTS:
        what = "target lists" if argument == "list_ids" else "lists"
        raise PlanError(
            f"{argument}: {distinct:,} {what} given; an account has at most "
            f"{MAX_TARGET_LISTS:,} lists",
            values=list(dict.fromkeys(given))[:_EXAMPLES],
        )
    return tuple(given)


def check_list_count(kind: str, values: Sequence[str]) -> None:
    """An add or a sync (``kind``) puts each contact on every target list, and a contact
    can be a member of at most :data:`~ccpandas.models.MAX_LISTS_PER_CONTACT` lists:
    more target lists is a PlanError, before any request. ``values`` are list UUIDs
    and names (as :func:`list_values` read them); a name may be one of the UUIDs, so
    they count apart (the fewest lists they can be), and the resolved ids again.

    Example:
        >>> check_list_count("add", ["VIP", "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"])
    """
    if kind not in (RunKind.ADD, RunKind.SYNC):
        return
    ids = _as_uuids(values)
    names = {v for v, i in zip(values, ids, strict=True) if i is None}
    count = max(len(names), len(set(ids) - {None}))
    if count > MAX_LISTS_PER_CONTACT:
        raise PlanError(
            f"{count} target lists given: {'an' if kind == RunKind.ADD else 'a'} {kind} puts each "
            "contact on every target list, "
            f"and a contact can be a member of at most {MAX_LISTS_PER_CONTACT} lists (the "
            f"API's limit). Nothing was sent. Give at most {MAX_LISTS_PER_CONTACT} lists "
            "(fewer for contacts on other lists already); to reach more, split the lists "
            "across runs, each with the contacts meant for its lists."
        )


#: Stands for each list name while the plan's data are checked, before the names are
#: resolved (no real list has the nil UUID).
NAME_STAND_IN = "00000000-0000-0000-0000-000000000000"


def stand_ins(values: Sequence[str]) -> tuple[str, ...]:
    """``values`` with every list name replaced by :data:`NAME_STAND_IN`: target lists
    to plan with, so the data are checked before names cost a request; the real
    lists replace them after (:func:`retarget`, or a second plan).

    Args:
        values: Target lists as given: list UUIDs and exact list names.

    Example:
        >>> stand_ins(["VIP", "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"])[0] == NAME_STAND_IN
        True
    """
    names = set(list_names(values))
    return tuple(NAME_STAND_IN if v in names else v for v in values)


def names_not_looked_up(
    error: PlanError, names: Sequence[str], tags: Sequence[str] = ()
) -> PlanError:
    """``error`` (found with :func:`stand_ins` for ``names`` and ``tags``) saying that
    the names were not looked up: nothing was sent, so whether they exist is still open.

    Args:
        error: The PlanError found while planning with stand-ins.
        names: The list names that stand-ins replaced.
        tags: The tag names that stand-ins replaced. Default none.

    Example:
        >>> str(names_not_looked_up(PlanError("bad"), ["VIP"], ["a", "b"]))
        "bad (nothing was sent; list name 'VIP' and tag names 'a', 'b' not looked up yet)"
    """
    said = []
    for kind, given in (("list", names), ("tag", tags)):
        unique = list(dict.fromkeys(given))
        if unique:
            shown = ", ".join(short_repr(n) for n in unique[:10])
            said.append(f"{kind} name{'s' * (len(unique) != 1)} {shown}")
    return PlanError(
        f"{error} (nothing was sent; {' and '.join(said)} not looked up yet)",
        column=error.column,
        values=error.values,
    )


def list_names(values: Sequence[Any]) -> list[Any]:
    """The values that are not list UUIDs (braces, case and whitespace forgiven), in
    order: the names a ``GET /contact_lists`` must resolve.

    Args:
        values: Target lists as given: list UUIDs and exact list names.

    Example:
        >>> list_names(["VIP", "{2D0E3A5C-8A1D-4D43-9F3E-1C2B3A4D5E6F}"])
        ['VIP']
    """
    return [v for v, i in zip(values, _as_uuids(values), strict=True) if i is None]


def _as_uuids(values: Sequence[Any]) -> list[str | None]:
    """Each value as a normalised UUID (braces, case and whitespace forgiven), or None."""
    return [uuid_of(v) for v in values]


def _uuids(values: list[Any], what: str, *, hint: str = "") -> list[str]:
    """Normalised UUIDs, or a PlanError naming every value that is not one."""
    ids = _as_uuids(values)
    shown = [v for v, i in zip(values, ids, strict=True) if i is None]
    if shown:
        listed = ", ".join(short_repr(v) for v in shown[:10])
        more = f" and {len(shown) - 10} more" if len(shown) > 10 else ""
        ss = "s" * (len(shown) != 1)
        raise PlanError(
            f"{len(shown)} malformed {what}{ss}: {listed}{more}. {hint}".strip(),
            values=shown,
        )
    return [str(i) for i in ids]


# -- other sources ------------------------------------------------------------------------
def plan_source_removal(
    source: Source,
    list_ids: str | Iterable[str],
    *,
    exclude: pd.Series | pd.DataFrame | Iterable[str] | None = None,
    confirm_all_active: bool = False,
    confirm_empty: bool = False,
    rate: float = DEFAULT_RATE,
    daily_quota: int = DAILY_QUOTA,
) -> RemovalPlan:
    """Plan a removal whose contacts the API selects: by list, tag, engagement or all.

    ``exclude`` (ids, a Series, or a DataFrame with a ``contact_id`` column) keeps those
    contacts; it goes only with ``Source.list_ids`` and ``Source.all_active_contacts()``,
    and every value must be a valid id. An ``exclude`` with no values would keep nobody
    (every selected contact removed): it is a PlanError unless ``confirm_empty=True``.
    ``Source.all_active_contacts()`` needs ``confirm_all_active=True``. More than 50
    source tags or lists are split into groups of 50: batches = source groups x list
    groups. A ``Source.contact_ids`` source is planned like a column by
    :func:`plan_removal`. Pure: nothing is sent or read.

    Args:
        source: Which contacts leave, a :class:`~ccpandas.Source`:
            ``Source.list_ids([...])``, ``Source.tag_ids([...])``,
            ``Source.engagement_level(...)``, ``Source.all_active_contacts()`` or
            ``Source.contact_ids([...])``, with ids (names resolved first).
        list_ids: The target lists: one list UUID or several (a list, tuple or Series).
            Names must be resolved first (:func:`resolve_list_ids`); repeated ids are
            merged, keeping their order (the plan's ``notes`` say so), and more than 50
            lists are split into groups of 50.
        exclude: Contacts to keep: contact ids, a Series, or a DataFrame with a
            ``contact_id`` column; every value must be a valid id. None (the default) keeps
            nobody back.
        confirm_all_active: Must be True to plan with ``Source.all_active_contacts()``: a
            guard against emptying the lists by mistake. Default False.
        confirm_empty: Must be True to accept an empty ``exclude``, which keeps nobody;
            otherwise that is a :class:`~ccpandas.PlanError`. Default False.
        rate: Requests per second the run will be sent at, for the time estimate. Default
            4.0 (the API's limit).
        daily_quota: Requests per UTC day the application key may send, for the quota share.
            Default :data:`DAILY_QUOTA` (10,000).

    Returns:
        A :class:`RemovalPlan`.

    Raises:
        PlanError: A source that is not a ``Source``, ``exclude`` with a source it does not
            go with, a missing confirmation, malformed ids.

    Example:
        >>> plan = plan_source_removal(
        ...     Source.engagement_level("low"), ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"]
        ... )
        >>> plan.batches[0].to_json()["source"]
        {'engagement_level': 'low'}
    """
    if not isinstance(source, Source):
        raise PlanError(
            f"source must be a ccpandas.Source (e.g. Source.tag_ids([...])), "
            f"got {type(source).__name__}"
        )
    if exclude is not None and not source.accepts_exclude:
        raise PlanError(_EXCLUDE_ONLY.format(kind=source.kind.value))
    if source.kind is SourceKind.CONTACT_IDS:
        return plan_removal(
            pd.Series(list(source.values), dtype=object),
            list_ids,
            rate=rate,
            daily_quota=daily_quota,
        )
    _check_pace(rate, daily_quota)
    targets, notes = _target_lists(list_ids)

    source, source_groups = _validated_source(source, confirm_all_active)
    rows, excluded = _exclude_rows(exclude, confirm_empty)
    per_request = [Source(source.kind, g) for g in source_groups] if source_groups else [source]
    return RemovalPlan(
        rows=rows,
        list_ids=targets,
        contact_groups=(),
        batches=tuple(_cross([(src, 0) for src in per_request], targets, exclude=excluded)),
        source=source,
        exclude=excluded,
        source_groups=source_groups,
        rate=float(rate),
        daily_quota=int(daily_quota),
        notes=notes,
    )


def _cross(
    sources: Sequence[tuple[Source, int]],
    targets: tuple[str, ...],
    *,
    exclude: tuple[str, ...] = (),
) -> Iterator[Batch]:
    """The batches of a plan: every source group (with its contact count, 0 when the
    API selects the contacts) times every group of 50 target lists, in that order."""
    list_groups = tuple(chunked(targets, MAX_LISTS_PER_REQUEST))
    for i, (src, size) in enumerate(sources):
        for j, lists in enumerate(list_groups):
            yield Batch(
                index=i * len(list_groups) + j,
                source=src,
                list_ids=lists,
                exclude=exclude,
                contact_group=i,
                list_group=j,
                size=size,
            )


_EXCLUDE_ONLY = (
    "exclude only goes with Source.list_ids(...) or Source.all_active_contacts(), "
    "not with a {kind} source"
)


def _validated_source(
    source: Source, confirm_all_active: bool
) -> tuple[Source, tuple[tuple[str, ...], ...]]:
    """The source with normalised values, and its groups of ids (tags, lists)."""
    kind = source.kind
    if kind is SourceKind.ALL_ACTIVE_CONTACTS:
        if confirm_all_active is not True:
            raise PlanError(
                "Source.all_active_contacts() removes every active contact from the target "
                "lists. To do that, pass confirm_all_active=True (and consider exclude=... "
                "for contacts to keep)."
            )
        return Source.all_active_contacts(), ()
    if kind is SourceKind.ENGAGEMENT_LEVEL:
        levels = list(source.values)
        level = levels[0] if len(levels) == 1 else None
        norm = level.strip().lower() if isinstance(level, str) else None
        if norm not in ENGAGEMENT_LEVELS:
            allowed = ", ".join(repr(v) for v in ENGAGEMENT_LEVELS)
            shown = short_repr(level) if len(levels) == 1 else repr(levels)
            raise PlanError(f"engagement level {shown} is not one of {allowed}", values=levels)
        return Source.engagement_level(norm), ()
    what, limit = (
        ("tag id", MAX_TAGS_PER_REQUEST)
        if kind is SourceKind.TAG_IDS
        else ("source list id", MAX_SOURCE_LISTS)
    )
    values = list(source.values)
    if not values:
        raise PlanError(f"Source.{kind.value}() needs at least one {what}", values=[])
    ids = tuple(dict.fromkeys(_uuids(values, what)))
    return Source(kind, ids), tuple(chunked(ids, limit))


def _exclude_rows(
    exclude: Any, confirm_empty: bool = False
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows for the exclude ids (validated; any invalid or missing one is an error).

    An exclude given with no values is refused unless ``confirm_empty``: it usually
    comes from a filter that matched nothing, and would empty the lists.
    """
    if exclude is None:
        return _empty_rows(), ()
    if isinstance(exclude, pd.DataFrame):
        values, column = _column_of(exclude, "contact_id")
    elif isinstance(exclude, pd.Series):
        values, column = exclude, exclude.name
    else:
        values, column = pd.Series(_as_values(exclude, "exclude"), dtype=object), None
    if len(values) == 0:
        if confirm_empty is not True:
            raise PlanError(
                "the contacts to keep (exclude, or the frame of keep_in_lists) are empty: "
                "an empty keep set would remove every contact the source selects, e.g. "
                "every member of the lists. If that is really meant, pass "
                "confirm_empty=True; otherwise check the filter that built the frame.",
                column=column,
                values=[],
            )
        return _empty_rows(), ()
    checked = check_ids(values)
    bad = checked.status != PLANNED
    if bad.any():
        shown = _first_values(values, bad, 10)
        raise PlanError(
            f"exclude has {int(bad.sum()):,} value(s) that are not contact ids "
            f"(e.g. {', '.join(short_repr(v) for v in shown)}). Every contact to keep must "
            "have a valid id, or it would be removed.",
            column=column,
            values=shown,
        )
    # to_numpy converts in C (tolist would iterate an Arrow array one value at a time).
    return _rows_frame(values, checked, with_batches=False), tuple(checked.ids.to_numpy(object))


def _rows_frame(values: pd.Series, checked: CheckedIds, *, with_batches: bool) -> pd.DataFrame:
    """One row per input row (same index): status, reason, duplicate_of, batch."""
    codes, status = checked.codes, checked.status.copy()
    first = first_rows(codes)
    dup = (codes >= 0) & ~first
    status[dup] = DUPLICATE
    dup_of = _duplicate_labels(values.index, dup, np.flatnonzero(first)[codes[dup]])
    reasons = checked.reason.copy()
    reasons[dup] = REASON_DUPLICATE
    batch_of = (codes // MAX_CONTACTS_PER_REQUEST).astype(np.int64, copy=False)
    batch = pd.arrays.IntegerArray(batch_of, mask=~first | (not with_batches))
    index = values.index
    norm = checked.normalized
    return pd.DataFrame(
        {
            # Series on the very same index: no alignment, and no dtype guessing.
            "contact_id": values,
            "normalized_id": pd.Series(norm.array, index=index, dtype=norm.dtype, copy=False),
            "plan_status": pd.Categorical.from_codes(status, dtype=PLAN_STATUS_DTYPE),
            "reason": reason_categorical(reasons, status != PLANNED),
            "duplicate_of": pd.Series(dup_of, index=index, dtype=dup_of.dtype, copy=False),
            "batch": batch,
        },
        index=index,
    )


def reason_categorical(reasons: np.ndarray, explained: np.ndarray) -> pd.Categorical:
    """``pd.Categorical(reasons)`` of the ``explained`` rows (missing elsewhere; sorted
    categories) without pandas inferring a text dtype for every row: reasons are few
    distinct texts, and only they are typed.

    Example:
        >>> reasons = np.array(["b", None, "a", "b"], dtype=object)
        >>> reason_categorical(reasons, pd.notna(reasons)).tolist()
        ['b', nan, 'a', 'b']
        >>> reason_categorical(reasons, np.ones(4, dtype=bool)).tolist()  # None: missing
        ['b', nan, 'a', 'b']
    """
    codes, texts = pd.factorize(reasons[explained])
    categories = pd.Index(texts).sort_values()
    out = np.full(len(reasons), -1, dtype=np.intp)
    # factorize's -1 (a missing reason) stays missing, not the last category
    out[explained] = np.where(codes < 0, -1, categories.get_indexer(texts)[codes])
    return pd.Categorical.from_codes(out, categories=categories)


class _FirstIds(Sequence[str]):
    """The distinct ids, read from the rows' normalised ids at their first occurrences.

    Holds the normalised ids per row (the storage behind ``plan.rows["normalized_id"]``;
    Arrow for Arrow columns) and one integer per id, instead of a second copy of every id.
    """

    __slots__ = ("_positions", "_values")

    def __init__(self, values: Any, positions: np.ndarray) -> None:
        self._values, self._positions = values, positions

    def __len__(self) -> int:
        return len(self._positions)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            return self._values.take(self._positions[key])  # an array: has to_numpy
        return self._values[int(self._positions[key])]


def _empty_rows() -> pd.DataFrame:
    """The rows of a plan without any (a source plan that keeps nobody back)."""
    empty = pd.Series([], dtype=object)
    return _rows_frame(empty, check_ids(empty), with_batches=False)


# -- list names --------------------------------------------------------------------------
def resolve_list_ids(
    values: str | Iterable[str], lists: Mapping[str, str] | pd.DataFrame | None
) -> tuple[str, ...]:
    """Turn list UUIDs and exact list names into list ids, in the order given.

    A value that is a UUID (braces, case and whitespace forgiven) passes through,
    normalised. Any other value is an exact list name, looked up in ``lists``: the
    DataFrame read from ``GET /contact_lists`` (columns ``list_id`` and ``name``) or a
    mapping of name to id. Unknown and ambiguous names raise
    :class:`~ccpandas.errors.PlanError` naming them. Pure: nothing is fetched.

    Args:
        values: List UUIDs and exact list names: one string, or several (a list, tuple or
            Series), e.g. ``["Newsletter", "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"]``.
        lists: The account's lists to look names up in: the DataFrame of
            :func:`ccpandas.read_contact_lists` (columns ``list_id`` and ``name``) or a
            mapping of name to id. None is enough when every value is a UUID.

    Returns:
        The list ids, in the order given.

    Raises:
        PlanError: Values :func:`list_values` refuses (none, not strings, blank), an
            unknown or ambiguous name, or names with ``lists=None``.

    Example:
        >>> lists = pd.DataFrame({"list_id": ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"],
        ...                       "name": ["Newsletter"]})
        >>> resolve_list_ids(["Newsletter"], lists)
        ('2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f',)
    """
    given = list_values(values)
    ids = _as_uuids(given)
    names = [v for v, i in zip(given, ids, strict=True) if i is None]
    if not names:
        return tuple(map(str, ids))
    if lists is None:
        raise PlanError(
            f"list name{'s' * (len(names) != 1)} {', '.join(short_repr(v) for v in names[:10])} "
            "cannot be resolved without a client (GET /contact_lists); pass client=... "
            "or give list UUIDs",
            values=names,
        )
    return _by_names(given, ids, _ids_by_name(lists), "list")


def _by_names(
    given: Sequence[Any],
    ids: Sequence[str | None],
    by_name: Mapping[str, list[str]],
    noun: str,
    *,
    show: Callable[[Any], str] = short_repr,
    tail: str = "",
) -> tuple[str, ...]:
    """The ids of ``given``: ``ids[i]`` where a value is an id (None: a name), else the
    one id ``by_name`` has for the name. A PlanError names unknown names (with close
    matches, then ``tail``) and names ``by_name`` has more than one id for."""
    names = dict.fromkeys(v for v, i in zip(given, ids, strict=True) if i is None)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        parts = [show(n) + _did_you_mean(_close_matches(n, by_name)) for n in unknown[:10]]
        raise PlanError(
            f"unknown {noun} name{'s' * (len(unknown) != 1)}: {', '.join(parts)}{tail}",
            values=unknown,
        )
    ambiguous = {n: by_name[n] for n in names if len(by_name[n]) > 1}
    if ambiguous:
        parts = [f"{n!r} matches {noun}s {', '.join(i)}" for n, i in ambiguous.items()]
        raise PlanError(
            f"ambiguous {noun} name: " + "; ".join(parts) + f". Give the {noun} id instead.",
            values=list(ambiguous),
        )
    return tuple(i if i is not None else by_name[v][0] for v, i in zip(given, ids, strict=True))


def _ids_by_name(lists: Mapping[str, str] | pd.DataFrame) -> dict[str, list[str]]:
    """name -> normalised list ids, from a lists DataFrame or a name -> id mapping."""
    if isinstance(lists, pd.DataFrame):
        missing = [c for c in ("list_id", "name") if c not in lists.columns]
        if missing:
            raise PlanError(
                f"the lists DataFrame needs columns 'list_id' and 'name'; missing {missing}",
                column=missing[0],
            )
        names, raw = lists["name"].tolist(), lists["list_id"].tolist()
    elif isinstance(lists, Mapping):
        names, raw = list(lists.keys()), list(lists.values())
    else:
        raise PlanError(
            f"lists must be a DataFrame or a name -> id mapping, got {type(lists).__name__}"
        )
    ids = _uuids(raw, "list id in the lists table") if raw else []
    out: dict[str, list[str]] = {}
    for name, list_id in zip(names, ids, strict=True):  # one entry per list: <= 1,000
        if list_id not in out.setdefault(name, []):
            out[name].append(list_id)
    return out


# -- small helpers ------------------------------------------------------------------------
def _check_pace(rate: Any, daily_quota: Any) -> None:
    def number(value: Any, kind: type) -> bool:  # True and False are ints too: refused
        return isinstance(value, kind) and not isinstance(value, bool)

    if not number(rate, numbers.Real) or not 0 < float(rate) < math.inf:
        raise PlanError(f"rate must be a positive number of requests per second, got {rate!r}")
    if not number(daily_quota, numbers.Integral) or daily_quota <= 0:
        raise PlanError(f"daily_quota must be a positive integer, got {daily_quota!r}")


def _first_values(values: pd.Series, mask: np.ndarray, k: int) -> list[Any]:
    """The first ``k`` values where ``mask`` is true, without converting the column."""
    first: list[Any] = values.iloc[np.flatnonzero(mask)[:k]].tolist()
    return first


def _eg(examples: Sequence[Any]) -> str:
    """``" (e.g. 'x', 7)"`` naming a few bad values, or "" without any."""
    return f" (e.g. {', '.join(short_repr(v) for v in examples)})" if examples else ""


def _distinct(values: list[Any]) -> list[Any]:
    """``values`` without repeats, in order (values may be unhashable: compare reprs)."""
    return list({repr(v): v for v in values}.values())


def _describe_source(source: Source) -> str:
    kind = source.kind
    if kind is SourceKind.ALL_ACTIVE_CONTACTS:
        return "all active contacts"
    if kind is SourceKind.ENGAGEMENT_LEVEL:
        return f"engagement level {source.values[0]!r}"
    what = "tag" if kind is SourceKind.TAG_IDS else "list"
    return f"members of {plural(len(source.values), what)}"


def duration(seconds: float) -> str:
    """A short human duration, rounded up (every front end's time words).

    Example:
        >>> duration(0), duration(0.3), duration(42), duration(75), duration(7620)
        ('0 s', 'under 1 s', '42 s', '1 min 15 s', '2 h 7 min')
    """
    if seconds <= 0:
        return "0 s"
    if seconds < 1:
        return "under 1 s"
    s = math.ceil(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, sec = divmod(s, 60)
        return f"{m} min {sec} s" if sec else f"{m} min"
    h, rest = divmod(s, 3600)
    m = rest // 60
    return f"{h} h {m} min" if m else f"{h} h"
