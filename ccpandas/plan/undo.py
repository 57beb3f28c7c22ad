"""Plan an undo: the memberships a removal removed, back to their lists (pure).

An undo re-adds exactly the (contact, list) pairs whose outcome was ``removed`` in a
run's verified ``changes``, through ``POST /activities/add_list_memberships``
(``source.contact_ids`` up to 500, up to 50 target lists). Before anything is sent, a
fresh read decides each pair:

- ``restore``: it will be added back;
- ``already_member``: the contact is on the list again (no request spent on it);
- ``cannot_restore`` with a reason: ``deleted`` (the contact was deleted since),
  ``list_deleted`` (the list was), ``list_limit`` (the contact is now on 50 lists, the
  most the API allows; the lists it has room for are restored, in target-list order).

Contacts are grouped by the identical set of lists they go back to, so the add
requests are the minimum: the sum over distinct list sets of
``ceil(contacts / 500) x ceil(lists / 50)``.

Example:
    >>> pairs = pd.DataFrame({"contact_id": ["c1", "c2", "c2"],
    ...                       "list_id": ["l1", "l1", "l2"]})
    >>> decided = decide_undo(pairs, live_lists={"l1", "l2"},
    ...     contacts={"c1": ("active", ()), "c2": ("unsubscribed", ("l2",))})
    >>> decided["decision"].tolist()
    ['restore', 'restore', 'already_member']
    >>> plan = plan_undo(decided, "r1", ["l1", "l2"], {"l1": "News", "l2": "Shop"})
    >>> plan.n_requests, plan.restore_per_list()
    (1, {'News': 2})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ccpandas.models import DAILY_QUOTA, MAX_LISTS_PER_CONTACT, Batch, MembershipAction
from ccpandas.plan.changes import ADD, NONE, REMOVE, ChangeSet, pair_outcomes
from ccpandas.plan.planner import RemovalPlan, duration, ids_plan, plural
from ccpandas.vocab import PairOutcome, RunKind

__all__ = [
    "CANNOT_RESTORE_REASONS",
    "DECISIONS",
    "UNDO_CHANGE_COLUMNS",
    "UNDO_OUTCOMES",
    "UndoPart",
    "add_batches",
    "decide_undo",
    "min_add_requests",
    "plan_undo",
    "undo_changes",
]

#: What the fresh read decides for each pair.
DECISIONS = (
    "restore",
    PairOutcome.ALREADY_MEMBER.value,
    PairOutcome.CANNOT_RESTORE.value,
    # the undo of an add or a sync: a pair it added comes off again, if still there
    "remove",
    PairOutcome.NOT_A_MEMBER.value,
)
#: The note of an undo that sends nothing.
_NOTHING = "nothing to send: every pair is as it was before the run, or cannot be restored"
#: Why a pair cannot be put back.
CANNOT_RESTORE_REASONS = {
    "deleted": "the contact was deleted since the removal",
    "list_deleted": "the list was deleted since the removal",
    "list_limit": f"the contact is on {MAX_LISTS_PER_CONTACT} lists now, the most allowed",
}
#: The outcomes of ``undo_result.changes``, besides the states of activities that did
#: not complete (``failed``, ``not_sent``, ``processing``...).
UNDO_OUTCOMES = (
    PairOutcome.RESTORED.value,
    PairOutcome.ALREADY_MEMBER.value,
    PairOutcome.CANNOT_RESTORE.value,
    PairOutcome.NOT_RESTORED.value,
    PairOutcome.UNVERIFIED.value,
)
#: The columns of ``undo_result.changes`` (and of an undo plan's ``rows`` but ``outcome``).
UNDO_CHANGE_COLUMNS = (
    "contact_id",
    "list_id",
    "list_name",
    "contact_status",
    "decision",
    "reason",
    "outcome",
)


def decide_undo(
    pairs: pd.DataFrame,
    *,
    live_lists: set[str] | frozenset[str],
    contacts: Mapping[str, tuple[str, Sequence[str]]],
    list_order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Decide each removed pair from what a fresh read says now.

    Args:
        pairs: The pairs the run removed: a DataFrame with the columns ``contact_id`` and
            ``list_id``.
        live_lists: The ids of the target lists that still exist; a pair on any other list
            is ``cannot_restore`` (``list_deleted``).
        contacts: Per contact id, ``(status, lists it is on now)``, e.g.
            ``{"c1": ("active", ("l2",))}``. A contact missing from it was not found
            (deleted and purged); ``status == "deleted"`` is deleted.
        list_order: The order in which a contact near the 50-list limit gets its lists back,
            e.g. the run's target lists. None (the default) is the order the lists first
            appear in ``pairs``.

    Returns:
        ``pairs`` with ``contact_status``, ``decision`` (:data:`DECISIONS`) and ``reason``
        (a key of :data:`CANNOT_RESTORE_REASONS`, or None), in the same order; nothing is
        dropped.

    Raises:
        ValueError: ``pairs`` lacks the ``contact_id`` or ``list_id`` column.
    """
    missing = [c for c in ("contact_id", "list_id") if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs needs the columns contact_id and list_id; missing {missing}")
    cids = pairs["contact_id"].astype(str).str.lower().tolist()
    lids = pairs["list_id"].astype(str).str.lower().tolist()
    order = {lid: i for i, lid in enumerate(list_order or dict.fromkeys(lids))}
    status_out: list[str] = []
    decision: list[str] = [""] * len(cids)
    reason: list[str | None] = [None] * len(cids)
    # Pairs that could go back, per contact, to apply the 50-list limit in list order.
    candidates: dict[str, list[int]] = {}
    undo_action = pairs.get("undo_action", pd.Series("", index=pairs.index))
    take_off = undo_action.astype(str).eq("remove").tolist()
    for i, (cid, lid) in enumerate(zip(cids, lids, strict=True)):
        status, now_on = contacts.get(cid, ("deleted", ()))
        status_out.append(status)
        on = lid in {str(x).lower() for x in now_on}
        if take_off[i]:  # an added pair: off again if it is still there
            decision[i] = "remove" if on and lid in live_lists else PairOutcome.NOT_A_MEMBER.value
        elif status == "deleted":
            decision[i], reason[i] = PairOutcome.CANNOT_RESTORE.value, "deleted"
        elif lid not in live_lists:
            decision[i], reason[i] = PairOutcome.CANNOT_RESTORE.value, "list_deleted"
        elif on:
            decision[i] = PairOutcome.ALREADY_MEMBER.value
        else:
            candidates.setdefault(cid, []).append(i)
    for cid, positions in candidates.items():
        room = MAX_LISTS_PER_CONTACT - len(set(contacts[cid][1]))
        positions.sort(key=lambda p: order.get(lids[p], len(order)))
        for n, p in enumerate(positions):
            if n < room:
                decision[p] = "restore"
            else:
                decision[p], reason[p] = PairOutcome.CANNOT_RESTORE.value, "list_limit"
    columns = {"contact_id": cids, "list_id": lids, "contact_status": status_out}
    return pd.DataFrame({**columns, "decision": decision, "reason": reason}, dtype=object)


def add_batches(
    restore: Sequence[tuple[str, str]], list_ids: Sequence[str], start: int = 0
) -> list[Batch]:
    """``add_list_memberships`` batches for ``(contact_id, list_id)`` pairs: contacts
    grouped by their identical set of lists, 500 contacts and 50 lists per request,
    so their number is :func:`min_add_requests`. Deterministic: sets in target-list
    order, contacts sorted.

    Args:
        restore: The ``(contact_id, list_id)`` pairs to put back, e.g.
            ``[("c1", "l1"), ("c2", "l1")]``.
        list_ids: The target lists in the order the batches should follow (the run's
            target-list order); lists not in it come last.
        start: The index of the first batch, so batches appended to others keep counting.
            Default 0.

    Returns:
        The :class:`~ccpandas.models.Batch` objects (action ``add``), in sending order.

    Example:
        >>> [(b.source.values, b.list_ids) for b in add_batches(
        ...     [("c1", "l1"), ("c2", "l1"), ("c2", "l2")], ["l1", "l2"])]
        [(('c1',), ('l1',)), (('c2',), ('l1', 'l2'))]
    """
    cs = ChangeSet.from_pairs(restore, ADD, list_order=list_ids, was_member=False)
    return list(cs.batches(start))


def min_add_requests(restore: Sequence[tuple[str, str]]) -> int:
    """The fewest ``add_list_memberships`` requests that put ``restore`` back: the sum
    over distinct list sets of ``ceil(contacts / 500) x ceil(lists / 50)``.

    Args:
        restore: The ``(contact_id, list_id)`` pairs to put back, e.g.
            ``[("c1", "l1"), ("c2", "l1")]``.

    Example:
        >>> min_add_requests([(f"c{i}", "l1") for i in range(501)] + [("x", "l2")])
        3
    """
    return ChangeSet.from_pairs(restore, ADD, was_member=False).min_requests()


@dataclass(frozen=True, eq=False)
class UndoPart:
    """The undo kind's part of its :class:`~ccpandas.plan.planner.RemovalPlan` (the one
    plan type), as :class:`~ccpandas.plan.membership.MembershipPlan` is a snapshot's:
    the run it reverses, what the fresh read cost and found, and the undo's own text.

    The plan's ``rows`` are the pairs the parent run changed (``contact_id``,
    ``list_id``, ``list_name``, ``contact_status``, ``decision`` (:data:`DECISIONS`),
    ``reason``); ``str(plan)`` and the notebook display say how many memberships come
    back per list, the cost in requests and time, and which pairs cannot be restored
    and why. The part's attributes read as the plan's: ``plan.later_runs``,
    ``plan.restore_per_list()``. Build the plan with :func:`plan_undo`.

    Args:
        parent_run_id: The id of the run this undo reverses, e.g.
            ``"20250301-231501-7f3a2c"``.
        change_set: The pairs as a :class:`~ccpandas.plan.changes.ChangeSet` (``add``
            where the decision is ``restore``, ``remove`` where it is ``remove``), batched.
        read_requests: What the verification read at the end costs. Default 0.
        check_requests: What the fresh read that decided the pairs cost (lists, members,
            contacts): the undo reads as much again before it sends. Default 0.
        later_runs: The runs journaled after the parent that changed some of its pairs
            again, oldest first: ``(run_id, kind, pairs)`` each. Undoing the parent
            would silently revert their changes of those pairs, so the undo needs
            ``force=True``. Default none.
        ran: What ran of a parent that stopped part way, e.g. ``"1 of 2 requests"``:
            the undo reverts only that. Default "" (the whole run).
        poll_requests: What the look at the activities of a parent that stopped part
            way cost (status checks, apart from the fresh read). Default 0.
        plan: The plan whose figures (batches, rate, lists) the part reads; the plan
            sets it when asked (:meth:`of`). Default None.

    Example:
        >>> print(undo_plan)  # doctest: +SKIP
    """

    parent_run_id: str
    change_set: ChangeSet
    read_requests: int = 0
    check_requests: int = 0
    later_runs: tuple[tuple[str, str, int], ...] = ()
    ran: str = ""
    poll_requests: int = 0
    plan: Any = field(default=None, repr=False)
    #: How the plan is shown.
    title: ClassVar[str] = "UndoPlan (nothing sent yet)"

    def of(self, plan: Any) -> UndoPart:
        """This part, reading the figures of ``plan``.

        Args:
            plan: The plan it is part of (a :class:`~ccpandas.plan.planner.RemovalPlan`).
        """
        return dataclasses.replace(self, plan=plan)

    @property
    def pairs(self) -> pd.DataFrame:
        """The pairs the parent run changed, decided: the plan's rows."""
        return self.plan.rows

    def later_text(self) -> str:
        """The later runs that changed the same pairs, and what undoing now does to them
        ("" when none).

        Example:
            >>> plan.later_text()  # doctest: +SKIP
            'run 20250302-... (remove, 50 pairs) changed some of these pairs again ...'
        """
        if not self.later_runs:
            return ""
        parts = [f"{r} ({k}, {n:,} pair{'s' * (n != 1)})" for r, k, n in self.later_runs]
        one = len(parts) == 1
        return (
            f"{'run' if one else 'runs'} {', '.join(parts)} changed some of these pairs "
            f"again after run {self.parent_run_id}; undoing it would silently revert "
            f"{'that run' if one else 'those runs'} for them: pass force=True (--force) "
            "to undo anyway"
        )

    @property
    def facts(self) -> tuple[str, ...]:
        """What the undo's result says besides its counts: the part of its parent it
        reverts, when that stopped part way."""
        if not self.ran:
            return ()
        return (
            f"undoes only the part that ran ({self.ran}) of run {self.parent_run_id}, "
            "which stopped part way",
        )

    @property
    def verify_lists(self) -> list[str]:
        """The target lists the changes go to (in target-list order): what the
        verification re-reads."""
        used = {lid for b in self.plan.batches for lid in b.list_ids}
        return [lid for lid in self.plan.list_ids if lid in used]

    @property
    def verifiable(self) -> bool:
        """True when there is something to re-read: changes were planned."""
        return bool(self.plan.batches)

    def pending_text(self) -> str:
        """The membership line of a result before the re-read (or without one)."""
        if not self.plan.batches:  # nothing to send: nothing to re-read
            return f"memberships to restore: none ({_NOTHING})"
        off = self._per_text(self._decided("remove"))
        also = f"; to take off: {off}" if off else ""
        return f"memberships to restore: {self._back()}{also} (not verified yet)"

    @property
    def total_reads(self) -> int:
        """The fresh read (and look at the parent's activities) before the changes and
        the verification after them."""
        return self.check_requests + self.poll_requests + self.read_requests

    @property
    def undo_text(self) -> str:
        """What the plan's undo line says of an undo."""
        return f"not possible: an undo is not undone; {self.redo_text}"

    @property
    def redo_text(self) -> str:
        """How to make the change this undo reverts again: a new run of its kind."""
        off = self.pairs["decision"].isin(["remove", PairOutcome.NOT_A_MEMBER.value])
        if off.empty:  # journaled by a version that kept an undo of no pair
            return "it reverted no membership, so there is nothing to make again"
        if off.all():
            return "add those contacts again with a new add"
        if off.any():
            return "sync the lists again"
        return "remove those contacts again with a new removal"

    def changes(self) -> pd.DataFrame:
        """``plan.changes``: the pairs the undo sends, ``action`` ``add`` to put back or
        ``remove`` to take off again, in a removal plan's ``changes`` columns."""
        sent = np.isin(self.change_set.action, (ADD, REMOVE))
        return self.change_set.frame(self.plan.list_names)[sent].reset_index(drop=True)

    def restore_per_list(self) -> dict[str, int]:
        """Memberships that will come back, per list name (target-list order)."""
        return self._per_list(self._decided("restore"))

    def cannot_restore(self) -> pd.DataFrame:
        """The pairs that cannot be put back, with their reason."""
        return self._decided(PairOutcome.CANNOT_RESTORE.value).reset_index(drop=True)

    def _decided(self, decision: str) -> pd.DataFrame:
        return self.pairs[self.pairs["decision"] == decision]

    def _per_list(self, frame: pd.DataFrame) -> dict[str, int]:
        counts = frame["list_id"].value_counts()
        names = self.plan.list_names
        return {str(names.get(x, x)): int(counts[x]) for x in self.plan.list_ids if x in counts}

    def _per_text(self, frame: pd.DataFrame) -> str:
        """``"News 2, Shop 1"``: the pairs of ``frame`` per list name."""
        return ", ".join(f"{k} {v:,}" for k, v in self._per_list(frame).items())

    def _back(self) -> str:
        return self._per_text(self._decided("restore")) or "none"

    @property
    def seconds(self) -> float:
        """Time the undo takes at the rate limit: the fresh read, the changes with their
        polls until the last activity is seen ended
        (:func:`ccpandas.plan.polls.expected_run_seconds`), and the verification read."""
        return float(self.plan.estimated_seconds)

    @property
    def unsubscribed(self) -> int:
        """Contacts put back whose permission to send is ``unsubscribed`` (it stays so)."""
        sel = self._decided("restore")
        return int(sel.loc[sel["contact_status"] == "unsubscribed", "contact_id"].nunique())

    def summary_lines(self) -> list[tuple[str, str]]:
        """(label, text) lines of the plan's text and HTML."""
        plan, off = self.plan, self._decided("remove")
        # The run added some: pairs to take off, or already off.
        added = len(off) or len(self._decided(PairOutcome.NOT_A_MEMBER.value))
        lines = [
            ("undoes run", self.parent_run_id),
            (f"memberships {'changed' if added else PairOutcome.REMOVED}", f"{plan.n_rows:,}"),
            ("will be added back", f"{len(self._decided('restore')):,} ({self._back()})"),
        ]
        for label, frame in (
            ("will be taken off", off),
            ("already back", self._decided(PairOutcome.ALREADY_MEMBER.value)),
            ("already off", self._decided(PairOutcome.NOT_A_MEMBER.value)),
        ):
            if len(frame):
                lines.append((label, f"{len(frame):,} ({self._per_text(frame)})"))
        cannot = self.cannot_restore()
        if len(cannot):
            reasons = "; ".join(
                f"{int(n):,} {CANNOT_RESTORE_REASONS.get(str(r), str(r))}"
                for r, n in cannot["reason"].value_counts().items()
            )
            lines.append(("cannot be restored", f"{len(cannot):,}: {reasons}"))
        if self.unsubscribed:
            stay = "go back on their lists but stay unsubscribed: no email is sent to them"
            lines.append(("unsubscribed", f"{self.unsubscribed:,} contacts {stay}"))
        adds_only = all(b.action is MembershipAction.ADD for b in plan.batches)
        what = "add" if adds_only else "change"
        changes = plural(plan.n_requests, f"{what} request")
        took = duration(self.seconds)
        # "under 1 s" is a bound already: "about under 1 s" says nothing more.
        took = took if took.startswith("under") else f"about {took}"
        reads = f"{plural(self.check_requests, 'read')} to check the lists (as this preview did)"
        if self.poll_requests:  # the look at the parent's activities: status checks
            reads += f" + {plural(self.poll_requests, 'status check')} of run {self.parent_run_id}"
        polls = plural(plan.expected_polls, "status check")
        verify = f"{plural(self.read_requests, 'read')} to verify, {took} at {plan.rate:g}/s"
        parts = f"{reads} + {changes} + about {polls} + {verify}"
        lines.append(("cost", f"{plan.total_requests:,} requests: {parts}"))
        if self.later_runs:
            lines.append(("changed since", self.later_text()))
        lines.extend(("note", n) for n in (*self.facts, *plan.notes))
        return lines


def undo_part(plan: RemovalPlan) -> UndoPart:
    """The :class:`UndoPart` of an undo's plan; a TypeError for any other plan.

    Example:
        >>> undo_part(undo_plan).parent_run_id  # doctest: +SKIP
        '20250301-231501-7f3a2c'
    """
    if not isinstance(plan.part, UndoPart):
        raise TypeError(f"a {plan.kind} plan has no undo part")
    return plan.part


def plan_undo(
    decided: pd.DataFrame,
    parent_run_id: str,
    list_ids: Sequence[str],
    list_names: Mapping[str, str],
    *,
    read_requests: int = 0,
    rate: float = 4.0,
    check_requests: int = 0,
    later_runs: Sequence[tuple[str, str, int]] = (),
    ran: str = "",
) -> RemovalPlan:
    """The undo plan of decided pairs (:func:`decide_undo`): the add batches and the
    lines the preview shows. Planning the same pairs again gives the same batches.

    Args:
        decided: The decided pairs, as :func:`decide_undo` returns them.
        parent_run_id: The id of the removal run this undo reverses, e.g.
            ``"20250301-231501-7f3a2c"``.
        list_ids: The run's target lists, in its order (the batches follow it).
        list_names: List id to list name, for the texts, e.g. ``{"l1": "Newsletter"}``.
        read_requests: What the fresh read cost in requests; the verification at the end
            costs as much again. Default 0.
        rate: Requests per second, for the time estimate. Default 4.0 (the API's limit).
        check_requests: What the fresh read that decided the pairs cost. Default 0.
        later_runs: The later runs that changed some of the same pairs, as
            ``(run_id, kind, pairs)`` (see :class:`UndoPart`). Default none.
        ran: What ran of a parent that stopped part way (see :class:`UndoPart`).
            Default "" (the whole run).

    Returns:
        A :class:`~ccpandas.plan.planner.RemovalPlan` of kind ``undo`` (the one plan
        type), whose ``part`` is an :class:`UndoPart`.

    Example:
        >>> plan = plan_undo(decided, "r1", ["l1", "l2"], {"l1": "News"})  # doctest: +SKIP
    """
    names = dict(list_names)
    frame = decided.reset_index(drop=True)
    frame.insert(2, "list_name", [str(names.get(x, x)) for x in frame["list_id"].tolist()])
    pairs = list(zip(frame["contact_id"].tolist(), frame["list_id"].tolist(), strict=True))
    cs = ChangeSet.from_pairs(pairs, ADD, list_order=list_ids, was_member=False)
    restore = (frame["decision"] == "restore").to_numpy()
    off = (frame["decision"] == "remove").to_numpy()
    action = np.where(restore, ADD, np.where(off, REMOVE, NONE)).astype(np.int8)
    # The set names only its pairs: a request never takes in a contact's other lists.
    batches, cs = cs.replace(action=action, was_member=off, complete=False).batched()
    notes = () if batches else (_NOTHING,)
    contacts = list(dict.fromkeys(frame.loc[restore | off, "contact_id"].tolist()))
    return ids_plan(
        frame,
        tuple(list_ids),
        contacts,
        batches,
        rate=rate,
        daily_quota=DAILY_QUOTA,  # read when called: a test stands a smaller day for it
        notes=notes,
        list_names=names,
        kind=RunKind.UNDO.value,
        part=UndoPart(parent_run_id, cs, read_requests, check_requests, tuple(later_runs), ran),
    )


def undo_changes(
    plan: RemovalPlan,
    batch_states: Sequence[str],
    after: set[tuple[str, str]] | None,
) -> pd.DataFrame:
    """``undo_result.changes``: per pair, its ``outcome``: ``restored`` (a re-read shows
    it back), ``already_member``, ``cannot_restore`` (``reason`` says why),
    ``not_restored`` (its activity completed, yet the re-read does not show it),
    ``unverified`` (completed, not re-read) or the state of an activity that did not
    complete.

    Args:
        plan: The undo plan that was run (:func:`plan_undo`).
        batch_states: Per batch of the plan, in order: ``completed`` or what it is instead
            (``not_sent``, ``processing``, ``failed``...).
        after: The (contact_id, list_id) memberships the verification re-read found, or None
            before that read (completed pairs are then ``unverified``).

    Returns:
        A DataFrame with the columns :data:`UNDO_CHANGE_COLUMNS`, one row per pair.
    """
    frame = plan.rows.copy()
    outcome = pair_outcomes(
        undo_part(plan).change_set,
        batch_states,
        after,
        words={
            ADD: (str(PairOutcome.RESTORED), str(PairOutcome.NOT_RESTORED)),
            REMOVE: (str(PairOutcome.REMOVED), str(PairOutcome.STILL_MEMBER)),
        },
        idle=frame["decision"].astype(str).to_numpy(dtype=object),
        credit_read=True,  # what the re-read shows back, an activity that failed part way too
    )
    unseen = "its activity completed, but the re-read does not show it on the list"
    frame["reason"] = (
        frame["reason"].astype(object).mask(outcome == str(PairOutcome.NOT_RESTORED), unseen)
    )
    frame["outcome"] = pd.Series(outcome, dtype=object)
    return frame[list(UNDO_CHANGE_COLUMNS)]
