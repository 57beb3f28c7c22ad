"""What a removal did: one row per input row, one row per activity.

Example:
    >>> from ccpandas.run.result import ROW_STATUSES
    >>> "removed" in ROW_STATUSES
    True
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import json
import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import attrgetter
from typing import Any, Self

import numpy as np
import pandas as pd

from ccpandas._docs import shared_params
from ccpandas.errors import (
    SENDING_FAILED_AGAIN,
    SENDING_THE_REST,
    ActivityError,
    CCError,
    JournalError,
    PlanError,
    QuotaExceededError,
    UnauthorizedError,
    next_utc_midnight,
)
from ccpandas.models import MembershipAction
from ccpandas.plan import membership as membership_plans  # looked up at call time
from ccpandas.plan.changes import NONE
from ccpandas.plan.planner import CHANGE_COLUMNS, duplicate_example
from ccpandas.read.snapshot import check_still_planned, read_after, recheck_reads
from ccpandas.report.progress import PhaseReporter, Snapshot, make_reporter
from ccpandas.run import summary as summaries
from ccpandas.run.budget import QuotaCheck
from ccpandas.run.kinds import Kind, kind_of
from ccpandas.run.known import (
    contact_errors,
    errored_pairs,
    general_errors,
    partly_done,
    unknown_reason,
)
from ccpandas.run.options import RunOptions
from ccpandas.run.runner import Runner, run_error, to_send
from ccpandas.run.summary import (
    SPENT_PARTS,
    Fate,
    Summary,
    fate_of,
    html_table,
    stop_word,
    verified_text,
)
from ccpandas.store.batch import BatchRun, BatchState
from ccpandas.store.journal import journaled_spent, mark_unanswered, open_journal
from ccpandas.store.snapshots import (
    SnapshotJournal,
    journaled_after,
    kept_after,
    outdate_afters,
)
from ccpandas.vocab import (
    STOP_DRIVER_ENDED,
    STOP_NOT_WAITED,
    STOP_TIMEOUT,
    Action,
    PairOutcome,
    RowStatus,
    RunOutcome,
    VerifyMethod,
)

__all__ = ["ROW_FRONT_COLUMNS", "ROW_STATUSES", "RemovalResult"]


# RemovalResult.undo() runs ccpandas.run.undo, which builds on this module (an undo's
# result is a RemovalResult): that module installs itself here when imported (the
# public entry points import it), so the two modules never import each other.
_undo_handler: Callable[..., Any] | None = None


def set_undo_handler(handler: Callable[..., Any] | None) -> None:
    """Install what :meth:`RemovalResult.undo` calls (``ccpandas.run.undo`` installs
    its :func:`~ccpandas.run.undo.run_undo`)."""
    global _undo_handler
    _undo_handler = handler


def rebuild_run(db: Any, run_id: str, runner: Runner) -> RemovalResult:
    """The result of journaled run ``run_id`` of any kind: its plan (its kind loads
    it), its batches in the states last recorded and its verification, if finished,
    from the journal; ``runner`` carries the client and the run's journal.

    Example:
        >>> result = rebuild_run(db, run_id, Runner(None))  # doctest: +SKIP
    """
    record = db.run_record(run_id)
    plan = kind_of(record.get("kind")).load(db, run_id, record)
    verify = json.loads(record["plan"] or "{}").get("verify", True)  # the run's option
    verify = verify if isinstance(verify, bool | str) else True
    runs = db.load_runs(run_id, plan)
    # A dead process's POST without an answer: uncertain, as runs() and a resume say.
    mark_unanswered(runs, db.unanswered(run_id))
    result = RemovalResult(plan, runs, runner, run_id=run_id, verify=verify)
    driven = record.get("status") == "running" and db.is_driven(run_id)
    _take_journaled_stop(result, record, driven)
    result._take_spent(*journaled_spent(record.get("spent")))  # None: not counted
    if plan.membership is not None or plan.verifiable:
        # A finished verification is in the journal already.
        result.after = journaled_after(db, run_id, plan)
    return result


def _take_journaled_stop(result: RemovalResult, record: Mapping[str, Any], driven: bool) -> None:
    """Why the run stands where it does, as its journal record says (a rebuild, and a
    verify() of a result rebuilt while another process drove the run)."""
    if record.get("status") == "stopped":
        # Why its last driving call stopped, as that call's result said (a quota, an
        # interrupt): the rebuilt summary tells what runs() and the CLI told.
        result.stop_reason = record.get("stop_reason") or "stopped"
        result.stopped, result.interrupted = True, result.stop_reason == "interrupted"
    elif record.get("status") == "running":
        # Its process is gone (killed), as runs() says; or another one drives it now.
        result.driven_elsewhere = driven
        result.unfinished_reason = None if driven else STOP_DRIVER_ENDED
    else:  # why its activities were left running (timeout, not waited), as journaled
        result.unfinished_reason = record.get("stop_reason")


log = logging.getLogger("ccpandas")
# Row statuses that are not batch states: a row's batch was never sent, or its
# activity completed (the contact is out of the lists).
_NOT_SENT = PairOutcome.NOT_SENT.value
_REMOVED = PairOutcome.REMOVED.value
_ADDED = PairOutcome.ADDED.value
# A dry run's rows: they would be sent, and nothing was (not_sent means a real run
# stopped before their batch went out).
_PLANNED = RowStatus.PLANNED.value

# A contact group spans several activities when there are more than 50 lists: the
# row shows the worst of them. Worst first; the order of ROW_STATUSES below.
_SENT_STATUSES: tuple[str, ...] = (
    BatchState.FAILED,
    BatchState.CANCELLED,
    BatchState.TIMED_OUT,
    BatchState.REJECTED,
    BatchState.UNCERTAIN,
    _NOT_SENT,
    _PLANNED,
    BatchState.UNKNOWN,
    BatchState.PROCESSING,
    _REMOVED,
    _ADDED,
)
_PRECEDENCE = {str(status): rank for rank, status in enumerate(_SENT_STATUSES)}

#: What can have happened to an input row, worst first within each family.
ROW_STATUSES = (
    # the row never reached the API (the planner's statuses)
    RowStatus.INVALID_ID.value,
    RowStatus.MISSING.value,
    RowStatus.DUPLICATE.value,
    # the row's contact was sent (or, not_sent/planned, was to be: a stopped run, a
    # dry run)
    *map(str, _SENT_STATUSES),
    # exclude rows of a list/all-active source: kept in the lists
    PairOutcome.KEPT.value,
    # with a membership snapshot (ccpandas.plan.membership)
    RowStatus.INVALID_EMAIL.value,
    RowStatus.NOT_A_MEMBER.value,
    PairOutcome.STILL_MEMBER.value,
    # its completed activity's activity_errors name the contact (e.g. not found)
    PairOutcome.API_ERROR.value,
    # add and sync (the same words as their pair outcomes)
    RowStatus.NOT_A_CONTACT.value,
    RowStatus.ALREADY_MEMBER.value,
    PairOutcome.NOT_ADDED.value,
)


#: The first columns of ``result.rows``, in this order; the rest follow as planned.
ROW_FRONT_COLUMNS = ("status", "reason")

#: The columns of ``result.activities``, in order: the attribute of a batch's run each
#: shows (``lists`` and ``errors`` are filled in from theirs).
_ACTIVITY = {
    "batch": "batch.index",
    **{name: name for name in ("activity_id", "state", "percent_done", "items_completed")},
    "items_total": "items_total",
    "contacts": "batch.size",
    "lists": "batch.list_ids",
    "contact_group": "batch.contact_group",
    "list_group": "batch.list_group",
    **{name: name for name in ("attempts", "resent", "errors", "submitted_at", "finished_at")},
}


def _batch_row_status(run: BatchRun, dry_run: bool = False, reread: bool = True) -> str:
    """The status a batch gives its rows. ``reread`` False: no re-read says what an
    activity that ended badly part way did, so its rows are ``unknown``, not ``failed``."""
    if dry_run:
        return _PLANNED
    if not reread and partly_done(run):
        return str(BatchState.UNKNOWN)
    if run.state is BatchState.COMPLETED:
        return _ADDED if run.batch.action is MembershipAction.ADD else _REMOVED
    if run.state.busy:
        return str(BatchState.PROCESSING)
    if run.state is BatchState.PENDING:
        return _NOT_SENT
    return str(run.state)


class RemovalResult:
    """The outcome of a removal, live until every activity is terminal.

    ``rows`` has one row per input row (same index) with ``status``, ``activity_id``
    and ``error``; ``activities`` one row per batch. ``wait()``, ``resume()`` and
    ``retry_failed()`` continue the run in place. You get one from the removal
    functions (or :func:`ccpandas.run_result`), never build it yourself.

    Args:
        plan: The :class:`~ccpandas.plan.planner.RemovalPlan` that was run (or will be).
        runs: One :class:`~ccpandas.store.batch.BatchRun` per request of the plan, in order:
            each batch's state, activity id and errors.
        runner: The :class:`~ccpandas.run.runner.Runner` that sends and polls (its client,
            journal and display).
        dry_run: True for the result of a dry run: nothing was sent, and nothing can be
            continued. Default False.
        run_id: The run's journal id, e.g. ``"20250301-231501-7f3a2c"``; None (the default)
            when nothing is journaled (``journal=False``, a dry run).
        verify: The run's ``verify`` option: with a membership snapshot, how to verify
            once every activity has ended (``"auto"``, the default: the plan's choice;
            True: re-read the lists; ``"changed"``, ``"sample"``), or not (False).

    Example:
        >>> result = df.cc.remove_from_lists(["Newsletter"], client=client)  # doctest: +SKIP
        >>> result.rows["status"].value_counts()  # doctest: +SKIP
    """

    @property
    def _kind(self) -> Kind:
        """The kind of run (:mod:`ccpandas.run.kinds`): how it is loaded, shown, changed."""
        return kind_of(getattr(self.plan, "kind", None))

    @property
    def parent_run_id(self) -> str | None:
        """The run this one reverses (an undo's), or None."""
        return getattr(self.plan.part, "parent_run_id", None)

    @property
    def _truth_word(self) -> str:
        """The verb of the verified truth a reporter ends on ("removed Newsletter 43"),
        the summary's own: "changed" when a run both added and removed (a sync). Before
        a re-read (a preview, no verification) the change its requests make."""
        if not (done := list(self._verified_parts())):  # what the batches do: add, remove, both
            return self._kind.words.made_by(r.batch.action for r in self.runs)
        return done[0] if len(done) == 1 else "changed"

    def __init__(
        self,
        plan: Any,  # a RemovalPlan: the one plan type, of any kind
        runs: Sequence[BatchRun],
        runner: Runner,
        *,
        dry_run: bool = False,
        run_id: str | None = None,
        verify: bool | str = "auto",
    ) -> None:
        self.plan = plan
        self.runs = list(runs)
        self.runner = runner
        self.dry_run = dry_run
        self.run_id = run_id
        #: Verify when the activities end (the run's ``verify`` option).
        self.verify_after = verify
        self.stopped = False
        self.interrupted = False
        #: Why the last driving call stopped (``quota_exceeded``, ``interrupted``, an
        #: error's key...); None when it ended normally.
        self.stop_reason: str | None = None
        #: Why an unfinished run with no stop is not followed: ``timeout``,
        #: ``not_waited``, the process driving it ended; None while one is.
        self.unfinished_reason: str | None = None
        #: Another live process drives the run (a rebuilt result): it cannot resume here.
        self.driven_elsewhere = False
        self._read_early = False  # the re-read was made while activities still ran
        #: The verification read (``verify()``), None until it is done.
        self.after: Any = None
        #: The requests the run spent, per part (:attr:`Summary.spent
        #: <ccpandas.run.summary.Summary.spent>`): planning's reads, then each driving
        #: call's; None when not known (a rebuilt result whose journal kept no count).
        self.spent: dict[str, int] | None = dict.fromkeys(SPENT_PARTS, 0)
        # Planning's reads: the snapshot's or lookups' (an undo's part: its fresh read).
        part = plan.part
        reads = plan.read_requests if plan.spent_reads is None else plan.spent_reads
        self.spent["reads"] = int(part.check_requests if part else reads)
        self.spent["polls"] = int(getattr(part, "poll_requests", 0))  # an undo's look
        #: :attr:`spent` is a lower bound: it adds to what the journal counted of a call
        #: whose process was killed (its last requests not counted).
        self.spent_at_least = False

    # -- state -----------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Every batch was accepted and its activity reached an end state."""
        return all(r.accepted and r.terminal for r in self.runs)

    @property
    def ok(self) -> bool:
        """Every pair that could be sent ended as asked: every activity completed and,
        when the lists were re-read, every pair shows it (no ``still_member``). Rows never
        sendable (invalid, missing, duplicate, not a member) are skipped, not failures.
        The same as ``result.summary().ok``, the CLI's exit 0 and ``runs()``'
        ``completed``."""
        return self.summary().ok

    @property
    def failed_runs(self) -> list[BatchRun]:
        """Batches whose activity ended failed, cancelled or timed out."""
        return [r for r in self.runs if r.failed]

    @property
    def retryable_runs(self) -> list[BatchRun]:
        """What :meth:`retry_failed` sends again: the failed batches and those the API
        refused with a 4xx."""
        return [r for r in self.runs if r.retryable]

    @property
    def activity_ids(self) -> list[str]:
        """The activity ids accepted so far, in batch order."""
        return [r.activity_id for r in self.runs if r.activity_id]

    @property
    def activities(self) -> pd.DataFrame:
        """One row per batch: its activity, state, progress and errors."""
        runs = self.runs
        # A dict of columns: a run of no batches still has every column (as objects).
        columns = {name: [attrgetter(path)(r) for r in runs] for name, path in _ACTIVITY.items()}
        columns["lists"] = [len(r.batch.list_ids) for r in runs]
        columns["errors"] = [list(r.errors) for r in runs]
        frame = pd.DataFrame(columns, dtype=None if runs else object)
        return frame.set_index("batch")

    @property
    def rows(self) -> pd.DataFrame:
        """One row per input row, same index: the plan's columns plus ``status``,
        ``activity_id`` and ``error``."""
        return self._per_state("rows", self._build_rows).copy()

    def _per_state(self, name: str, build: Callable[[], Any]) -> Any:
        """``build()``'s value, built once per state of the run (:meth:`_state_key`): the
        summary, the displays and the caller ask for ``rows``, ``changes`` and the
        summary many times each. Frames are copied for the caller, so what a caller
        does to one never reaches the next."""
        key = self._state_key()
        values = self.__dict__.setdefault("_frames", {})
        hit = values.get(name)
        if hit is None or hit[0] != key or hit[1] is not self.after:
            # The re-read is kept with the value: its id in the key is never reused.
            hit = values[name] = (key, self.after, build())
        return hit[2]

    def _build_rows(self) -> pd.DataFrame:
        if self._kind.changes is not None:  # a kind without input rows: its pairs
            return self._changes
        return _RowStatuses(self).frame()

    # -- membership truth ----------------------------------------------------------------
    @property
    def changes(self) -> pd.DataFrame:
        """One row per (contact, target list) pair the run concerned: ``contact_id``,
        ``email`` (when known), ``list_id``, ``list_name``, ``was_member``,
        ``will_leave`` and ``outcome``: ``removed`` (a re-read shows it gone),
        ``still_member`` (its activity completed, yet it is still there),
        ``not_a_member``, ``kept``, ``unverified`` (completed, not re-read),
        ``api_error`` (its activity's ``activity_errors`` name the contact, and no
        re-read shows it done), or the state of an activity that did not complete
        (``unknown`` when it ended badly part way and no re-read says more).

        Example:
            >>> result.changes.query("outcome == 'still_member'")  # doctest: +SKIP
        """
        return self._changes.copy()

    @property
    def _changes(self) -> pd.DataFrame:
        """``changes`` for this module's readers, not copied: never change it."""
        return self._per_state("changes", self._build_changes)

    def _build_changes(self) -> pd.DataFrame:
        if self._kind.changes is not None:
            return self._kind.changes(self)
        m = self._membership()
        if m is None:
            return _no_changes()
        names = dict(m.snapshot.list_names) if m.snapshot is not None else {}
        if self.after is not None:
            names.update(self.after.list_names)
        source, errored = m.key not in ("email", "contact_id"), None
        if not source:  # the API selects a source's contacts: no errors to match
            pairs = (m.contact_ids, m.pair_contact, m.pair_list, m.change_set.pair_batch)
            errored = errored_pairs(self.runs, *pairs, self.plan.list_ids)
        frame = membership_plans.changes_frame(
            m,
            self.plan.list_ids,
            batch_states=self._batch_states(source, self.after is not None),
            after=self.after,
            list_names=names,
            errored=errored,
            # A pair the verification did not see (a narrowed read, a sample) keeps the
            # outcome it has without one: never more than was verified.
            seen=self._covered_pairs(),
            unseen_states=self._batch_states(source, False),
        )
        if not source:
            frame["reason"] = _pair_reasons(frame, self.runs)
        return frame

    def _batch_states(self, source: bool, reread: bool) -> list[str]:
        """Per batch, the status it gives its pairs (a source plan: one, the worst)."""
        states = [_batch_row_status(r, self.dry_run, reread) for r in self.runs]
        if source:  # every pair takes the worst state (removed when none is worse)
            return [min([_REMOVED, *states], key=lambda st: _PRECEDENCE.get(st, 9))]
        return states

    def _covered_pairs(self) -> np.ndarray | None:
        """Per pair of the plan, whether the verification saw its contact; None when it
        saw every one (a full re-read) or there is none. Once per state of the run."""
        return self._per_state("covered", self._find_covered_pairs)

    def _find_covered_pairs(self) -> np.ndarray | None:
        if self.after is None:
            return None
        m = self._membership()
        seen = self._saw(m.contact_ids)
        return None if seen is None else np.asarray(seen[m.pair_contact], dtype=bool)

    def _saw(self, contact_ids: Any) -> np.ndarray | None:
        """Per contact id, whether the verification (:attr:`after`, set: its callers
        check) saw it; None: it saw every one (a full re-read whose lists settled: a
        contact it does not hold is on none)."""
        after, ids = self.after, pd.Index(contact_ids, dtype=object)
        if self.verify_method() is not VerifyMethod.FULL:
            return np.asarray(ids.isin(after.contact_ids), dtype=bool)
        unread = after.contact_ids[after.statuses == membership_plans.UNREAD]
        return np.asarray(~ids.isin(unread), dtype=bool) if len(unread) else None

    def verify_method(self) -> VerifyMethod:
        """How this run verifies: its ``verify`` option, ``"auto"`` (or False, for an
        explicit :meth:`verify`) taking the plan's choice.

        Example:
            >>> result.verify_method()  # doctest: +SKIP
            <VerifyMethod.CHANGED: 'changed'>
        """
        option, m = self.verify_after, self.plan.membership
        if option is True or m is None:
            return VerifyMethod.FULL
        if isinstance(option, str) and option in set(VerifyMethod):
            return VerifyMethod(option)
        return VerifyMethod(getattr(m, "verify_method", VerifyMethod.FULL))

    def verification(self) -> dict[str, Any] | None:
        """What the verification covered: ``method``, ``pairs`` (pairs with a change),
        ``verified`` (of those, the pairs it saw) and ``sample`` (True when it saw
        fewer than all: the outcomes of the others stay ``unverified``); None before it.

        Example:
            >>> result.verification()  # doctest: +SKIP
            {'method': 'sample', 'pairs': 12000, 'verified': 50, 'sample': True}
        """
        if self.after is not None and self.parent_run_id is not None:  # an undo
            sent = len(self.plan.changes)  # its re-read reads every list it changed
            return {"method": "full", "pairs": sent, "verified": sent, "sample": False}
        if self.after is None or self.plan.membership is None:
            return None  # no snapshot
        m = self._membership()
        acted = m.change_set.action != NONE  # nothing to verify of a pair left as it was
        covered = self._covered_pairs()
        total = int(acted.sum())
        seen = total if covered is None else int((covered & acted).sum())
        method = str(self.verify_method())
        return {"method": method, "pairs": total, "verified": seen, "sample": seen < total}

    def verify(self, client: Any = None, progress: Any = False) -> RemovalResult:
        """Re-read the target lists now and set each pair's outcome from what the API
        says: ``removed`` only when the contact is gone from that list,
        ``still_member`` otherwise (warned about loudly). The read is journaled: an
        interrupted verification continues where it stopped. The activities this
        result last saw running are polled first (one GET /activities, more when newer
        activities push them off its first page; each counted as a poll); made while
        some still run, the read is shown but is not the run's verification: the run is
        read again when they end.

        Args:
            client: The :class:`~ccpandas.Client` to read with. None (the default) uses the
                run's own client (rebuilt by ``ccpandas.run_result`` without one: the
                default client).
            progress: How the read shows its progress, as for
                :func:`ccpandas.remove_from_lists`. False (the default) shows nothing.

        Returns:
            This result, with ``changes`` from the new read.

        Raises:
            PlanError: This was a dry run: there is nothing to verify; or the run was
                undone: its lists show the undo's work (nothing is read).
            ~ccpandas.errors.RunLockedError: Another process drives the run right now:
                nothing is read.
            CCError: The journal no longer has the run (its file set aside since this
                result was made): nothing is read; put it back, then verify again.
            QuotaExceededError: The daily quota is spent: the run stops there, as a
                run's own verification does (``quota_exceeded``, pairs ``unverified``).

        Example:
            >>> result.verify().changes["outcome"].value_counts()  # doctest: +SKIP
        """
        if self.dry_run:
            raise PlanError("this was a dry run: nothing to verify")
        self._refuse_undone("verify")  # its lists show the undo's work now, not this run's
        stats = getattr(self.runner.use_client(client), "stats", None)
        marks = [stats.split()] * 2 if stats is not None else []  # no reads, no changes
        # Under the run's lock: a read made while another process drives the run
        # (its activities not yet run) would be taken for that process's verification.
        journal = self.runner.journal
        with self._held(), journal.counting(lambda: self._spent_with(marks)):
            # Another call may have moved the run on (a retry): its batches as recorded,
            # or the poll below would write this result's older look back.
            journal.catch_up(self.runs)
            rec = self._db.run_record(str(self.run_id)) if self._db is not None else {}
            if self.driven_elsewhere:  # that process ended since: why, as a rebuild says now
                _take_journaled_stop(self, rec, False)
            self.driven_elsewhere = False  # the lock is ours: no one else drives it now
            # Verified before this read (here, or in the journal by another view)?
            verified = self.done and (not self.verification_due or self._journaled_read())
            try:
                # Ended since this result's last look? One round of polling, so that only
                # a read made while some still run is set aside (_verify_now).
                if pending := [r for r in self.runs if r.in_flight]:
                    self.runner.poll(pending)
                marks += [stats.split()] if stats is not None else []  # the rest: the read
                self._verify_now(make_reporter(progress), fresh=True)
                # This read was all a stop (here or elsewhere) left: over; none, no write.
                ended = rec.get("status", "ended") == "ended" and not rec.get("stop_reason")
                if self.done and (self.stopped or not ended):
                    self._record_stop(journal, None)
            except QuotaExceededError as exc:
                if verified:  # a re-check of a verified run: its verification stands
                    raise
                # The run stops here as wait()'s verification does: unverified, not done.
                self._record_stop(journal, stop_word(exc))
                raise run_error(self._explain_stop(exc), self) from None
            finally:
                self._count_spent(marks)
                # A re-read can change the word (still members); stopped (a quota), the
                # exact count replaces the "at least" its poll journaled, as _drive's.
                self._record_outcome()
        return self

    def _membership(self) -> Any:
        """The plan's membership part; for plans without a snapshot, today's pairs
        (every contact x every list, was_member unknown)."""
        m = self.plan.membership
        if m is not None or self.plan.source.kind.api_selects:
            return m
        return membership_plans.unknown_membership(self.plan)

    def _should_verify(self) -> bool:
        return self.verification_due and not self.runner.stopped

    @property
    def verification_due(self) -> bool:
        """Every activity ended and the re-read the run asked for is still to come: a
        run stopped (or whose process died) here is not over (``resume`` reads)."""
        read = self.after is not None and not self._read_early
        due = self.plan.verifiable and self.verify_after is not False and not read
        return due and not self.dry_run and self.done

    def _verify_now(self, reporter: Any, fresh: bool = False) -> None:
        journal = self.runner.journal
        db = getattr(journal, "db", None)
        after, sid = read_after(
            self.runner.client,
            self.plan,
            db=db,
            run_id=self.run_id,
            reporter=reporter,
            fresh=fresh,
            method=self.verify_method(),
            since=min((r.submitted_at for r in self.runs if r.submitted_at), default=None),
        )
        self.after = after
        summary, word = self.summary_text(), self._truth_word
        if word not in ("changed", self._kind.words.truth):
            # runs() shows it in the column of the kind's word ("restored_memberships"):
            # an undo of an add only removed, so it says so.
            summary = f"{word} {summary}"
        # Made while activities still run (result.verify() before they end): shown, but
        # not the run's verification, which is read when they end, here or elsewhere.
        self._read_early = any(r.in_flight for r in self.runs)
        if db is not None and sid is not None:
            kept = SnapshotJournal(db, sid)
            kept.complete(summary)
            if self._read_early:
                kept.outdate()
        ch = self._changes
        for word, text in _WARNINGS.items():
            wrong = ch[ch["outcome"] == word]
            if len(wrong):
                per = wrong["list_name"].value_counts()
                shown = ", ".join(f"{k} {v:,}" for k, v in per.items() if v)
                warnings.warn(text.format(n=len(wrong), per=shown), stacklevel=3)

    @property
    def _db(self) -> Any:
        """The journal file of this run; None when it is not journaled."""
        return None if self.run_id is None else getattr(self.runner.journal, "db", None)

    def _journaled_read(self) -> bool:
        """The journal holds a complete verification read of this run."""
        return self._db is not None and kept_after(self._db, str(self.run_id)) is not None

    def summary_text(self) -> str:
        """ "Newsletter 43, Customers 16": memberships a re-read shows removed (an undo:
        restored) per list, or "not verified" before one."""
        if self.after is None:
            return "not verified"
        done = self._verified_parts()
        if len(done) <= 1:  # one kind of change: the per-list figures alone
            text = next(iter(done.values()), "none")
        else:  # A sync's added and removed: each named.
            text = "; ".join(f"{w} {t}" for w, t in done.items())
        v = self.verification()  # a sample says so: " (verified by a sample of 50 of ...)"
        return text + (f" (verified {verified_text(v)})" if v and v["sample"] else "")

    def _verified_parts(self) -> dict[str, str]:
        """Per verified outcome word ("added", "removed") a re-read shows, its per-list
        figures (once per state of the run)."""
        return self._per_state("verified", self._find_verified_parts)

    def _find_verified_parts(self) -> dict[str, str]:
        ch = self._changes if self.after is not None else _no_changes()
        parts = {}
        for word in self._kind.words.truths:
            done = ch.loc[ch["outcome"] == word, "list_name"].value_counts(sort=False)
            parts[word] = ", ".join(f"{k} {int(v):,}" for k, v in done.items() if v)
        return {word: text for word, text in parts.items() if text}

    def counts(self) -> pd.Series:
        """How many input rows (an undo: pairs) ended in each status."""
        return self.rows[self._kind.words.status_column].value_counts().loc[lambda s: s > 0]

    def summary(self) -> Summary:
        """What the run came to, once: its outcome word, ``ok``, the exit code it means,
        rows per status (skips apart from failures), per-list figures, activities. The
        text and HTML displays, the panel, the CLI and ``runs()`` all render it.

        Example:
            >>> result.summary().outcome  # doctest: +SKIP
            <RunOutcome.COMPLETED: 'completed'>
        """
        return self._per_state("summary", lambda: Summary.of(self))  # ok, repr, the panel

    def _state_key(self) -> tuple[Any, ...]:
        """What a summary depends on: each batch's fields, the re-read, the stop."""
        # The list of earlier ids is mutated in place: its copy in the key tells a change.
        runs = tuple((*vars(r).values(), tuple(r.previous_activity_ids)) for r in self.runs)
        flags = (self.dry_run, self.stopped, self.interrupted, self.stop_reason, self._undone_by())
        return (runs, id(self.after), flags)

    # -- continuing ------------------------------------------------------------------
    @shared_params
    def wait(self, timeout: float | None = None, progress: Any = None) -> RemovalResult:
        """Poll until every activity is terminal (or ``timeout`` seconds pass).

        Activities still running at the timeout are reported as ``processing``,
        never as failed.

        Args:
            timeout: {shared}
            progress: {shared:progress_keep}

        Returns:
            This result, brought up to date.

        Raises:
            PlanError: The run was undone (the message names the undo) and has activities
                to follow or a verification to read, as :meth:`resume`: nothing is sent.

        Example:
            >>> result.wait(timeout=600).done  # doctest: +SKIP
            True
        """
        options = RunOptions.of(timeout=timeout, progress=progress)
        self._refuse_undone("wait")  # its story goes on without the undo
        asks = not self.done or self._should_verify()  # a finished run: no client needed
        marks = self._reset(options.progress, asks)
        self._drive(lambda: self.runner.wait(self.runs, timeout=options.timeout), marks)
        return self

    @shared_params
    def resume(
        self,
        timeout: float | None = None,
        progress: Any = None,
        *,
        wait: bool = True,
        wait_for_quota: bool | None = None,
    ) -> RemovalResult:
        """Send the batches that were never accepted (stopped, interrupted, quota,
        unknown outcome), then wait. Accepted batches are never sent again, even when
        their activity failed; nor are batches the API refused (4xx):
        :meth:`retry_failed` sends those. A batch whose earlier request got no usable
        answer is sent again (idempotent) and counted as re-sent (see the Reliability
        guide). ``ccpandas.resume(run_id)`` does the same from the journal, in another
        process.

        Args:
            timeout: {shared}
            progress: {shared:progress_keep}
            wait: {shared}
            wait_for_quota: True sleeps through a spent daily quota (it resets at 00:00 UTC)
                and then continues. False stops the run with
                :class:`~ccpandas.QuotaExceededError`; ``ccpandas.resume(run_id)`` continues
                it after the reset. None (the default) keeps the run's setting.

        Returns:
            This result, continued.

        Raises:
            PlanError: This was a dry run: call the removal again with ``dry_run=False``.
                Or the API selects the run's contacts (``keep_in_lists``) and its lists,
                read again first, hold members who would leave that the plan did not
                show: nothing is sent; plan it again. :meth:`retry_failed` checks the same.
                Or the run was undone (the message names the undo): nothing is sent.
            QuotaShortError: What is left to send does not fit in what the shared ledger
                leaves of today's quota, without ``wait_for_quota``: nothing is sent.

        Example:
            >>> result.resume(wait_for_quota=True).ok  # doctest: +SKIP
            True
        """
        if wait_for_quota is None:
            wait_for_quota = self.runner.wait_for_quota  # the run's setting
        options = RunOptions.pick(locals())
        return self._continue(options)

    def _continue(self, options: RunOptions) -> RemovalResult:
        """:meth:`resume` with a checked bundle (``ccpandas.resume`` forwards here);
        ``options.progress`` None keeps the run's display."""
        if self.dry_run:
            raise PlanError("this was a dry run; call remove_from_lists(..., dry_run=False)")
        if options.wait_for_quota != self.runner.wait_for_quota:
            self.runner = self.runner.replace(wait_for_quota=options.wait_for_quota)
        return self._send(options, options.progress, check=True)

    def _check_quota(self, sending: Sequence[BatchRun], retry: bool) -> None:
        """Before a resume (``retry``: :meth:`retry_failed`) sends, the quota check every
        run makes before its first change (:meth:`~ccpandas.run.budget.QuotaCheck.check_run`),
        for the batches still to send: refused, or the reset waited for, nothing sent."""
        if not sending:
            return
        rest = dataclasses.replace(self.plan, batches=tuple(r.batch for r in sending))
        before = SENDING_FAILED_AGAIN if retry else SENDING_THE_REST
        QuotaCheck(self.runner, rest.daily_quota).check_run(rest, recheck_reads(rest), before)

    def _send(
        self, options: RunOptions, progress: Any = None, *, retry: bool = False, check: bool = False
    ) -> Self:
        """Send the batches not accepted yet (``retry``: those :meth:`retry_failed` sends),
        then (``options.wait``) wait for them; ``progress`` None keeps the run's display.
        ``check``: a resume's quota check first (:meth:`_check_quota`)."""

        def go() -> None:
            if isinstance(blocked, BaseException):  # a spent quota: the run stops on it
                raise blocked
            if blocked:  # the user stopped a wait: nothing sent
                self.runner.stopped = True
                return
            # A retry's batches are chosen under the journal's lock: another process may
            # have moved on.
            todo = self.retryable_runs if retry else None
            if to_send(self.runs, todo):
                # A re-read before this send (this result's or another's) says nothing of
                # what it changes: the run is read again when done, here or in any
                # process that rebuilds it.
                self.after = None
                if self._db is not None:  # its re-reads are outdated (see outdate_afters)
                    outdate_afters(self._db, str(self.run_id))
            if todo is None or todo:
                self.runner.submit(self.runs, todo=todo)
            if options.wait and not self.runner.stopped:
                self.runner.wait(self.runs, timeout=options.timeout)

        # A missing login (or a default client of another API) is said before the
        # lock: once another process is done with the run, the call would still fail.
        self.runner.use_client()
        # The lists are read again under the run's lock: when another process drives
        # the run, RunLockedError before any read.
        with self._held():
            # Under the lock an undo of the run journals itself.
            self._refuse_undone("retry" if retry else "resume")
            marks = self._reset(progress)
            # Its checks' waits show (and its Stop button stops them) in the display.
            self.runner.reporter.start(self.runner.snapshot(self.runs, "starting"))
            try:
                # Under the run's lock, after the call's resets (its display re-armed, an
                # earlier call's stop and timeout gone): another process driving the run
                # is RunLockedError before any wait for the quota's reset.
                sending = to_send(self.runs, self.retryable_runs if retry else None)
                if check:
                    self._check_quota(sending, retry)
                blocked = self._still_planned(sending)
            except BaseException:
                # Refused: the run as it was (its stop, its outcome), its display ended.
                self._count_spent(marks)  # a re-read made before a PlanError: reads
                self._finish_report(self.runner.reporter, "stopped" if self.stopped else "done")
                raise
            self._drive(go, marks, shown=True)
        return self

    def _still_planned(self, sending: Sequence[BatchRun]) -> BaseException | bool:
        """The API selects a source's contacts when it is sent: are they still the
        plan's (:func:`reread_lists`)? Asked before the run is taken up: a refusal (a
        PlanError) leaves it as it was, nothing sent. A spent quota is waited out with
        ``wait_for_quota``, else returned (the run stops on it, nothing sent); True: the
        user stopped that wait; False: the run may send (``sending``: its batches)."""
        if not sending:
            return False
        lists = list(dict.fromkeys(lid for r in sending for lid in r.batch.list_ids))
        run = f"run {self.run_id}" if self.run_id else "this run"
        try:
            return reread_lists(self.runner, self.plan, lists, self.runs, run) is None
        except QuotaExceededError as exc:
            return exc

    @shared_params
    def retry_failed(self, timeout: float | None = None, progress: Any = None) -> RemovalResult:
        """Re-submit only the batches whose activity ended failed, cancelled or timed
        out, and those the API refused (a 4xx answer), then wait for them.

        Args:
            timeout: {shared}
            progress: {shared:progress_keep}

        Returns:
            This result; nothing is sent when no batch needs it.

        Raises:
            PlanError: The run was undone (the message names the undo) and a batch needs
                sending: nothing is sent.
            QuotaShortError: The batches to send again do not fit in what the shared ledger
                leaves of today's quota, without the run's ``wait_for_quota``: nothing is
                sent.

        Example:
            >>> result.retry_failed().ok  # doctest: +SKIP
            True
        """
        options = RunOptions.of(timeout=timeout, progress=progress)
        self._refuse_undone("retry")  # a stopped run's rest too; a finished run: a no-op
        if self.retryable_runs:
            self._send(options, options.progress, retry=True, check=True)
        return self

    @shared_params
    def undo(
        self,
        client: Any = None,
        *,
        dry_run: bool = False,
        wait: bool = True,
        progress: Any = "auto",
        timeout: float | None = None,
        force: bool = False,
    ) -> Any:
        """Put back exactly the memberships this run removed, and take off those it
        added (its verified ``changes`` with outcome ``removed`` or ``added``): an
        undo run of its own, journaled, resumable, verified at the end.
        ``dry_run=True`` returns the preview. Needs the run's membership snapshot;
        ``ccpandas.undo(run_id)`` does the same from the journal in another process
        (see there for the details).

        Args:
            client: The :class:`~ccpandas.Client` to read and send with. None (the default)
                uses the run's own client (rebuilt by ``ccpandas.run_result`` without
                one: the default client, :func:`ccpandas.get_default_client`).
            dry_run: True reads the lists and returns the preview, an
                :class:`~ccpandas.RemovalResult` marked as a dry run (per-list counts,
                cost, what cannot be restored and why), without sending any change. False
                (the default) sends the undo.
            wait: {shared}
            progress: {shared}
            timeout: {shared}
            force: True undoes anyway: a run already undone, one whose pairs later runs
                changed again (the preview names them; undoing reverts them too), or a
                stopped run with a request sent without an answer (its activity may still
                take members off after the undo). False (the default) refuses each with a
                :class:`~ccpandas.PlanError` saying why.

        Returns:
            The undo's :class:`~ccpandas.RemovalResult`; its ``changes`` say ``restored``,
            ``already_member`` or ``cannot_restore`` per pair.

        Raises:
            PlanError: The run cannot be undone (no membership snapshot, not finished or not
                verified, already undone or being undone (the message names that undo),
                or changed again by a later run without ``force=True``). A run whose
                contacts the API selects (``keep_in_lists``) that stopped part way is
                undone as far as it ran, once its activities ended and every request
                of it got an answer.
            ~ccpandas.errors.RunLockedError: Another process holds the run (its
                ``verify()`` or retry) for more than 10 s; nothing was sent: undo it again
                once that ends.
            TypeError: No client: the result has none, nor was it rebuilt by
                ``ccpandas.run_result``, and ``client`` is None.

        Example:
            >>> result.undo(dry_run=True)  # doctest: +SKIP
            >>> result.undo().changes["outcome"].value_counts()  # doctest: +SKIP
        """
        options = RunOptions.pick(locals())
        if not isinstance(force, bool):
            raise TypeError(f"force must be True or False, not {force!r}")
        return self._undo(client, options, force)

    def _undo(self, client: Any, options: RunOptions, force: bool) -> Any:
        """:meth:`undo` with checked arguments (``ccpandas.undo`` forwards here)."""
        run_undo = _undo_handler
        if run_undo is None:  # installed by ccpandas.run.undo, which ccpandas.api loads
            raise CCError("undo is not installed: import ccpandas.api first")
        client = self.runner.use_client() if client is None else client
        if client is None:
            raise TypeError("undo needs a client: pass client= (a ccpandas.Client)")
        db = getattr(self.runner.journal, "db", None) or open_journal()
        # The runner: its clock and polling settings.
        return run_undo(self, client, options, db=db, force=force, runner=self.runner)

    def raise_for_errors(self) -> RemovalResult:
        """Raise :class:`ActivityError` if any activity failed, was cancelled or timed
        out; return ``self`` otherwise, for chaining."""
        if bad := self.failed_runs:
            detail = "; ".join(
                f"{r.activity_id}: {r.state} ({', '.join(r.errors) or 'no detail'})"
                for r in bad[:5]
            )
            raise ActivityError(
                f"{len(bad)} of {len(self.runs)} activities did not complete: {detail}. "
                "result.retry_failed() sends only those batches again.",
                activities=[r.progress() for r in bad],
            )
        return self

    @property
    def resume_call(self) -> str:
        """The call that continues this run, e.g. ``ccpandas.resume('20250301-...')``.

        With a client that is not the default one (passed as ``client=``), the call
        passes it too: ``ccpandas.resume(run_id)`` alone would look for a default
        client and fail with an AuthError.
        """
        return resume_call_text(self.run_id, self.runner.client)

    def _undone_by(self) -> dict[str, Any] | None:
        """The undo of this run, as :meth:`JournalDB.undone_by
        <ccpandas.store.journal.JournalDB.undone_by>` says (None: not undone)."""
        return None if self._db is None else self._db.undone_by(str(self.run_id))

    def _refuse_undone(self, call: str = "resume") -> None:
        """A PlanError, nothing sent nor read, when this run was undone and ``call``
        would act on it: a ``"resume"`` (or ``"wait"``) with batches to send, activities
        to follow or a verification to read, a ``"retry"`` with batches to send (again),
        a ``"verify"`` always. Sending would take off again what the undo put back;
        reading would take the undo's work for this run's."""
        left = self.retryable_runs if call == "retry" else not self.done or self.verification_due
        if not (to_send(self.runs) or left or call == "verify"):
            return
        if (undo := self._undone_by()) is None:
            return
        run, by = self.run_id, undo["run_id"]
        said = f"run {run} was {_undone_note(undo)}; ccpandas.run_result({by!r}) shows what"
        if call in ("resume", "retry"):
            raise PlanError(
                f"{said} that undo did. Continuing this run would take off again what the undo "
                "put back; nothing was sent. Plan the change again instead."
            )
        nothing = "nothing was read" if call == "verify" else "nothing was sent or read"
        raise PlanError(  # a result made before the undo (elsewhere) still shows it busy
            f"{said} that undo did. Its lists show that undo's work now, which a read for this "
            f"run would take for its failure; {nothing}. ccpandas.run_result({run!r}) "
            f"shows the run as the journal has it, ccpandas.run_result({by!r}).verify() "
            "verifies the undo."
        )

    def _reset(self, progress: Any, asks: bool = True) -> list[tuple[int, int]]:
        """A driving call's start: its display (``progress`` None keeps the run's), an
        earlier call's stop and timeout gone; the client's counts from here (what
        :meth:`_count_spent` splits, a resume's checks' re-read too). ``asks``: the call
        may read or send (its client looked up: ``Runner.use_client``; False: nothing to
        follow or verify)."""
        if progress is not None:
            self.runner = self.runner.replace(reporter=make_reporter(progress))
        runner = self.runner
        runner.stopped, runner.stop_reason = False, None
        runner.timed_out, runner.deadline = False, None
        stats = getattr(runner.use_client() if asks else runner.client, "stats", None)
        if stats is None and runner.client is not None:
            self.spent = None  # a client that counts nothing: not known
        return [stats.split()] if stats is not None else []

    def _drive(
        self, action: Any, marks: list[tuple[int, int]], first: Any = None, shown: bool = False
    ) -> None:
        """A driving call once reset (:meth:`_reset`: its counts ``marks``): the run held
        (journal), ``first`` (the lists read again, a step of their own: the reads,
        refused requests too), ``action`` then the verification; what it spent, why it
        stopped. ``shown``: the display started already (a resume's checks)."""
        runner = self.runner
        reporter, journal = runner.reporter, runner.journal
        stats = getattr(runner.client, "stats", None)
        self.interrupted, self.driven_elsewhere = False, False
        # Holding the run (journal lock) first: if another process drives it, nothing
        # is sent from here, and the batches and count are brought up to date before
        # acting. Each journal write counts what the run spent so far: a killed process
        # leaves that.
        spent = journal.counting(lambda: self._spent_with(marks))
        with self._held(), spent, journal.attach(self.runs):
            if not shown:
                reporter.start(runner.snapshot(self.runs, "starting"))
            phase = "done"
            reason: str | None = None
            try:
                if first is not None:
                    first()
                marks += [stats.split()] if stats is not None else []  # the sends from here
                if not runner.stopped:
                    action()
                marks += [stats.split()] if stats is not None else []
                runner.deadline = None  # the timeout bounds the waits of sends and polls only
                if self._should_verify():
                    # The re-read is a phase of this run, not a run of its own: the
                    # reporter keeps its one display (tqdm its bars) and ends on finish.
                    # A quota spent meanwhile is waited out as the sends' and polls' are.
                    verify = PhaseReporter(reporter, self._verifying)
                    runner.through_quota(self.runs, lambda: self._verify_now(verify), None)
            except KeyboardInterrupt as exc:
                # Ctrl-C: make the journal agree with what was sent (a POST on its way
                # is uncertain, as a dead process's would be), then let it propagate:
                # a script exits non-zero, a notebook cell shows it interrupted.
                self.interrupted = True
                reason = "interrupted"
                runner.settle_interrupted(self.runs)
                journal.settle(self.runs)
                exc.result = self  # type: ignore[attr-defined]
                exc.run_id = self.run_id  # type: ignore[attr-defined]
                exc.add_note(self._interrupted_note())
                log.warning("run %s interrupted", self.run_id)
                raise
            except BaseException as exc:
                reason = stop_word(exc)
                raise run_error(self._explain_stop(exc), self) from None
            finally:
                self._count_spent(marks)
                if runner.stopped or self.interrupted or reason is not None:
                    phase = "stopped"
                    reason = reason or runner.stop_reason or "stopped"
                # Activities left running with no stop: wait()'s timeout, or no wait.
                self.unfinished_reason = STOP_TIMEOUT if runner.timed_out else STOP_NOT_WAITED
                try:
                    self._record_stop(journal, reason)
                finally:
                    self._finish_report(reporter, phase)

    @contextlib.contextmanager
    def _held(self) -> Iterator[None]:
        """The run's lock (the journal's ``hold``), :attr:`spent` then rebased on the
        journal's: another process may have driven the run since this result counted (a
        result rebuilt mid-run says "at least" its count then), so a call adds only its
        own requests to the journal's count, never writes an older one back over it."""
        with self.runner.journal.hold():
            spent, at_least = self.runner.journal.spent_record()
            if spent is not None and self.spent is not None:
                self._take_spent(spent, at_least)
            yield

    def _take_spent(self, spent: Mapping[str, int] | None, at_least: bool) -> None:
        """:attr:`spent` (None: not known) and :attr:`spent_at_least` as journaled."""
        self.spent = None if spent is None else {p: int(spent.get(p, 0)) for p in SPENT_PARTS}
        self.spent_at_least = at_least

    def _count_spent(self, marks: list[tuple[int, int]]) -> None:
        """Add what a driving call spent to :attr:`spent` (:meth:`_spent_with`), once:
        ``marks`` are emptied."""
        spent = self._spent_with(marks)
        marks.clear()  # first: a journal write meanwhile counts less, never twice
        self.spent = spent

    def _spent_with(self, marks: list[tuple[int, int]]) -> dict[str, int] | None:
        """:attr:`spent` and what a driving call spent so far, from the client's counts at
        its start and at each mark: the lists read again before its sends (reads), the
        POSTs (changes, resends) and other requests (polls) of its sends and waits, and
        every request after them (the verification). A mark not reached: now."""
        stats = getattr(self.runner.client, "stats", None)
        if self.spent is None or stats is None or not marks:
            return self.spent
        end = stats.split()
        start, sends, (posts, gets) = [*marks, end, end][:3]
        return {
            "reads": self.spent["reads"] + sum(sends) - sum(start),
            "changes": self.spent["changes"] + posts - sends[0],
            "polls": self.spent["polls"] + gets - sends[1],
            "verification": self.spent["verification"] + sum(end) - posts - gets,
        }

    def _record_stop(self, journal: Any, reason: str | None) -> None:
        """Why the driving call returned (None: it ended), in this result and the journal.
        A journal that cannot take it (a full disk) never hides the error that stopped
        the run; after a normal end it is raised with the run's id and how to continue."""
        self.stopped, self.stop_reason = reason is not None, reason
        self.interrupted = reason == "interrupted"
        try:
            journal.run_stopped(reason)
        except JournalError as exc:
            if reason is not None:  # an error is on its way out already: it tells more
                log.warning("run %s: its stop was not journaled (%s)", self.run_id, exc)
                return
            raise run_error(self._explain_stop(exc), self) from None

    def _finish_report(self, reporter: Any, phase: str) -> None:
        """The end of a driving call: the summary's word into the journal (for
        ``ccpandas.runs()``), and the reporter's last snapshot, which ends on the
        verified truth and carries the summary (``extra["summary"]``) for displays."""
        summary = self._record_outcome()
        truth = ""
        if self.after is not None:
            # The summary's membership line, failed pairs included: one story with the
            # result's text (a display says it without the leading "memberships").
            truth = f"{self._truth_word} (verified): {self.summary_text()}"
            truth = truth if summary is None else summary.truth.removeprefix("memberships ")
        extra: dict[str, Any] = {} if summary is None else {"summary": summary}
        reporter.finish(self.runner.snapshot(self.runs, phase, truth, **extra))

    def _record_outcome(self) -> Summary | None:
        """Keep the summary's word in the journal, for ``ccpandas.runs()``; the summary
        (None if it could not be made: a display never crashes a run)."""
        try:
            summary = self.summary()
        except Exception as exc:
            log.warning("run %s: no summary (%s)", self.run_id, exc)
            return None
        record = getattr(self.runner.journal, "run_outcome", None)
        if record is not None and not self.dry_run:
            try:
                # A run left running keeps why (timeout, not waited) for runs(); a
                # later driving call to the end clears it.
                unfinished = summary.outcome is RunOutcome.PROCESSING
                reason = summary.stop_reason if unfinished else None
                record(summary.outcome, reason, summary.spent, summary.spent_at_least)
            except Exception as exc:  # a record for runs(), never a reason to crash a run
                log.warning("run %s: its outcome was not recorded (%s)", self.run_id, exc)
        return summary

    def _verifying(self, read: Snapshot) -> Snapshot:
        """The verification read's progress as this run's: the run's activities, phase
        ``verifying``, the read's words (and the read itself in ``extra["read"]``)."""
        return self.runner.snapshot(self.runs, "verifying", read.message, read=read)

    def _accepted_text(self) -> str:
        """ "3 of 5 requests accepted": how far the sending got."""
        return f"{sum(r.accepted for r in self.runs):,} of {len(self.runs):,} requests accepted"

    def _interrupted_note(self) -> str:
        unsure = sum(r.state is BatchState.UNCERTAIN for r in self.runs)
        done = self._accepted_text()
        if unsure:
            done += f", {unsure:,} without an answer (sent again on resume)"
        if self.run_id is None:
            return f"ccpandas: interrupted; {done}. result.resume() continues the run."
        return (
            f"ccpandas: run {self.run_id} interrupted; {done}. {self.resume_call} "
            f"continues it; ccpandas.run_result({self.run_id!r}) is the result so far "
            "(also on this exception's .result)."
        )

    def _explain_stop(self, exc: BaseException) -> BaseException:
        """The error to raise when a run stops: what was done, and how to continue."""
        if not isinstance(exc, CCError):
            return exc
        done = self._accepted_text()
        if isinstance(exc, QuotaExceededError):
            # The reset by the runner's clock (injectable), not the client's.
            reset = next_utc_midnight(self.runner.clock.now())
            step = (
                f"Stopped cleanly: {done}, nothing is lost. After the reset, continue with "
                f"{self.resume_call}, or pass wait_for_quota=True to wait instead"
            )
            return _restated(exc, QuotaExceededError, step, reset_at=reset)
        if isinstance(exc, UnauthorizedError) and self.run_id is not None:
            # As for the quota: what to do (a new login), then the call that continues.
            step = (
                f"The access token has expired or was revoked. Stopped: {done}, nothing "
                "is lost. Log in again (`%cc_connect` in a notebook, `ccpandas login` on "
                f"the command line), then continue with {self.resume_call}"
            )
            return _restated(exc, UnauthorizedError, step)
        if summaries.refused_at_end(self.runs):  # nothing left for a resume to do
            exc.add_note(f"ccpandas: {done}; result.retry_failed() sends it again.")
        elif not isinstance(exc, PlanError) and self.run_id is not None:
            exc.add_note(f"ccpandas: {done}; {self.resume_call} continues the run.")
        return exc

    # -- display ---------------------------------------------------------------------
    def _summary_of(
        self, error: BaseException | None = None, names: Mapping[str, str] | None = None
    ) -> Summary:
        """:meth:`Summary.of <ccpandas.run.summary.Summary.of>` of this result: counts
        per status and per pair outcome, list names, the verified truth per list, the
        membership line, the kind's extra facts, the outcome word and the requests."""
        words, plan, runs = self._kind.words, self.plan, self.runs
        by_status = {str(k): int(v) for k, v in self.counts().items() if v}
        ch = self._changes
        pairs = _outcome_counts(ch["outcome"])
        list_names: dict[str, str] = dict(plan.list_names or {})
        m = plan.membership
        reads: int | None = None
        if m is not None and m.snapshot is not None:
            list_names.update(m.snapshot.list_names)
            reads = int(m.snapshot.requests)
        verified: dict[str, int] | None = None
        if self.after is not None:
            list_names.update(self.after.list_names)
            reads = (reads or 0) + int(getattr(self.after, "requests", 0) or 0)
            done = ch.loc[ch["outcome"].isin(words.truths), "list_id"]
            verified = {str(k): int(v) for k, v in done.value_counts().items()}
            truth = f"memberships {self._truth_word} (verified): {self.summary_text()}"
            loud = [(w, n) for w, n in pairs.items() if fate_of(w) is Fate.FAILED]
            truth += "".join(f"; {_LOUD.get(w, w.upper())}: {n:,}" for w, n in loud)
        else:
            truth = str(plan.pending_text())
        preview: tuple[tuple[str, str], ...] = ()
        if words.preview and self.dry_run:  # a kind whose plan has lines of its own (undo)
            preview = tuple((k, v) for k, v in plan.summary_lines()[1:])
        dup = self._duplicate_example()
        outcome = summaries.outcome_of(self, [*by_status, *pairs], error)
        undo = self._undone_by()  # not to be resumed, nor undone again
        undone = None if undo is None else str(undo["run_id"])
        said = _undone_note(undo) + (": it is not resumed" if outcome.unfinished else "")
        states = collections.Counter(str(r.state) for r in runs)
        return Summary(
            run_id=self.run_id,
            words=words,
            parent=self.parent_run_id,
            dry_run=bool(self.dry_run),
            outcome=outcome,
            rows=int(plan.n_rows),
            contacts=plan.n_contacts,
            n_lists=len(plan.list_ids),
            by_status=by_status,
            pairs=pairs,
            lists=summaries.list_figures(self, {**list_names, **(names or {})}, verified),
            batches=len(runs),
            accepted=sum(r.accepted for r in runs),
            resent=sum(r.resent for r in runs),
            # The accepted sends (retry_failed()'s too), and those sent again after no
            # usable answer: each a POST the API got (or may have got).
            sent=sum(r.attempts + r.resent for r in runs),
            # 0: read from the journal (a rebuilt result), which keeps no count: not known.
            reads=reads or None,
            spent=None if self.spent is None else dict(self.spent),
            spent_at_least=self.spent is not None and self.spent_at_least,
            activity_states=dict(states.most_common()),
            verified=self.after is not None,
            truth=truth,
            verified_word=self._truth_word,
            stop_reason=summaries.stop_reason_of(self, outcome, error),
            error=str(error) if error is not None else None,
            resume_call=self.resume_call if outcome.unfinished and not undone else None,
            # The kind's own (an undo of a run stopped part way: the part it reverts).
            facts=(
                *([dup] if dup else []),
                *(plan.part.facts if plan.part else ()),
                *([said] if undone else []),
            ),
            preview=preview,
            verification=self.verification(),
            driven_elsewhere=self.driven_elsewhere,
            undone_by=undone,
        )

    def _duplicate_example(self) -> str:
        """ "duplicate rows: 3 (sent once; e.g. row 7 is a duplicate of row 2)"."""
        rows = self.plan.rows  # an undo's rows are its pairs: no duplicates
        if "duplicate_of" not in rows or not (example := duplicate_example(rows)):
            return ""
        n = int(rows["duplicate_of"].notna().sum())
        return f"duplicate rows: {n:,}{example}"

    def __repr__(self) -> str:
        return self.summary().text()

    def _repr_html_(self) -> str:
        # The summary's lines, then a table: rows per status, or (for sources the API
        # selects, which have no input rows) one row per activity.
        summary = self.summary()
        if summary.by_status:
            return summary.html()
        rows = [
            (
                r.batch.index,
                r.activity_id or "",
                _batch_row_status(r, self.dry_run),
                f"{len(r.batch.list_ids):,}",
                "; ".join(r.errors),
            )
            for r in self.runs
        ]
        return summary.html(html_table(("request", "activity", "status", "lists", "errors"), rows))


#: The warning a verification gives when pairs did not end as asked.
_WARNINGS = {
    PairOutcome.STILL_MEMBER.value: "{n:,} contact(s) are STILL MEMBERS after their removal "
    "activity completed ({per}); result.changes.query(\"outcome == 'still_member'\") lists them",
    PairOutcome.NOT_RESTORED.value: "{n:,} membership(s) are NOT back after their add activity "
    "completed; undo.changes.query(\"outcome == 'not_restored'\") lists them",
}

#: How a failed pair outcome is named loudly on the membership line.
_LOUD = {
    PairOutcome.STILL_MEMBER.value: "STILL MEMBERS",
    PairOutcome.NOT_RESTORED.value: "NOT BACK",
}


class _RowStatuses:
    """The ``status``, ``activity_id`` and ``error`` of a result's input rows, worked
    out in positional arrays (the input index may repeat labels), set in place."""

    def __init__(self, result: RemovalResult) -> None:
        self.result = result
        self.rows = rows = result.plan.rows.copy()
        self.status = rows["plan_status"].astype(object).to_numpy(copy=True)
        self.activity = np.full(len(rows), None, dtype=object)
        self.error = rows["reason"].astype(object).to_numpy(copy=True)
        self.planned = self.status == RowStatus.PLANNED.value

    @functools.cached_property
    def ids(self) -> np.ndarray:
        """Per row, its contact id as the changes name it (lower case)."""
        return self.rows["normalized_id"].to_numpy(dtype=object)

    def frame(self) -> pd.DataFrame:
        """``result.rows``: the plan's rows with their statuses, front columns first."""
        plan, rows, status, planned = self.result.plan, self.rows, self.status, self.planned
        membership = plan.membership
        if membership is not None and membership.key in ("email", "contact_id"):
            self._membership()
        elif plan.source.kind.value == "contact_ids":
            self._groups()
        else:
            status[planned] = PairOutcome.KEPT.value
            if membership is not None and membership.known:
                # An exclude row whose contact is on none of the target lists keeps
                # nothing: it is not a member (the snapshot says so).
                found = membership.snapshot.index.get_indexer(pd.Index(self.ids, dtype=object))
                status[planned & (found < 0)] = RowStatus.NOT_A_MEMBER.value
        rows["status"] = pd.Categorical(status, categories=ROW_STATUSES)
        rows["activity_id"] = self.activity
        rows["error"] = self.error
        kind = self.result._kind  # target lists each row's contact left or joined
        rows[kind.lists_column] = self._lists_changed(kind.words.truth)
        # What happened first, the long id columns after: a terminal shows status and
        # reason even when a wide normalized_id pushes the rest off screen.
        front = [c for c in ROW_FRONT_COLUMNS if c in rows.columns]
        return rows[front + [c for c in rows.columns if c not in front]]

    def _groups(self) -> None:
        """Rows of a plan without a snapshot: the worst batch of their contact group
        (one entry per group, mapped over the rows through a hash table)."""
        worst: dict[int, tuple[str, str | None, str | None]] = {}
        for run, row in zip(self.result.runs, self._batch_rows(), strict=True):
            g = run.batch.contact_group
            if g not in worst or _PRECEDENCE.get(row[0], 9) < _PRECEDENCE.get(worst[g][0], 9):
                worst[g] = row
        groups = pd.Series(self.rows["batch"].to_numpy()[self.planned])
        for target, pos in ((self.status, 0), (self.activity, 1), (self.error, 2)):
            target[self.planned] = groups.map({g: o[pos] for g, o in worst.items()}).to_numpy()
        self._api_errors(self.planned)

    def _membership(self) -> None:
        """Rows of a membership plan: per contact, the worst state of the batches that
        carry it; ``still_member`` when a re-read shows it still on a list."""
        result, planned, status, error = self.result, self.planned, self.status, self.error
        m, runs = result.plan.membership, result.runs
        none = (_PLANNED if result.dry_run else _NOT_SENT, None, None)  # carried by no batch
        states, ids_, errors = np.array([*self._batch_rows(), none], dtype=object).T
        rank = np.array([_PRECEDENCE.get(str(x), 9) for x in states])
        # Per contact, its worst batch (vectorised: sort pairs by contact, then rank).
        carried = m.pair_batch >= 0
        owner, batch = m.pair_contact[carried], m.pair_batch[carried]
        order = np.lexsort((rank[batch], owner))
        owner, batch = owner[order], batch[order]
        first = np.ones(len(owner), dtype=bool)
        first[1:] = owner[1:] != owner[:-1]
        worst = np.full(len(m.contact_ids), len(runs), dtype=np.int64)  # len(runs): none
        worst[owner[first]] = batch[first]
        pos = pd.Index(m.contact_ids, dtype=object).get_indexer(self.ids[planned])
        chosen = np.where(pos >= 0, worst[np.maximum(pos, 0)], len(runs))
        status[planned], self.activity[planned] = states[chosen], ids_[chosen]
        error[planned] = errors[chosen]
        if result.after is None:
            self._api_errors(planned)
            return
        ch = result._changes
        ids = self.ids[planned]
        self._credited(ch, ids)
        wrong = ch.loc[ch["outcome"] == PairOutcome.API_ERROR.value, "contact_id"].unique()
        if len(wrong):  # the re-read does not show it done either
            self._api_errors(planned & np.isin(self.ids, wrong))
        for word, why in _NOT_AS_ASKED.items():
            if wrong := ch.loc[ch["outcome"] == word, "contact_id"].tolist():
                hit = np.flatnonzero(planned)[np.isin(ids, wrong)]
                status[hit], error[hit] = word, why

    def _batch_rows(self) -> list[tuple[str, str | None, str | None]]:
        """Per batch: the ``status``, ``activity_id`` and ``error`` it gives its rows."""
        result = self.result
        out = []
        for run in result.runs:
            st = _batch_row_status(run, result.dry_run, result.after is not None)
            out.append((st, run.activity_id, _batch_error(run, st, result.plan.verifiable)))
        return out

    def _api_errors(self, rows: np.ndarray) -> None:
        """``rows`` whose contact a completed activity's ``activity_errors`` name (e.g.
        "not found") say ``api_error`` with that message, not ``removed``/``added``."""
        named = [contact_errors(r) for r in self.result.runs if r.state is BatchState.COMPLETED]
        named = [n for n in named if n]
        done = np.isin(self.status, (_REMOVED, _ADDED)) & rows
        if not named or not done.any():
            return
        ids = pd.Series(self.ids)  # lower case, as named
        for per_contact in named:
            msg = ids.map(per_contact).to_numpy(dtype=object)
            hit = done & pd.notna(msg)
            self.status[hit], self.error[hit] = PairOutcome.API_ERROR.value, msg[hit]

    def _credited(self, ch: pd.DataFrame, ids: np.ndarray) -> None:
        """Rows of an activity that ended badly part way, whose every change the re-read
        shows done: the verified word (``removed``, ``added``), not ``failed``."""
        bad = {str(s) for s in BatchState.bad_states()}
        at = np.flatnonzero(self.planned)
        stuck = np.isin(self.status[at], list(bad))
        if not stuck.any():
            return
        acted = ch[ch["action"].astype(str) != Action.NONE.value]
        truths = set(self.result._kind.words.truths)
        per = acted.groupby("contact_id", observed=True)["outcome"].agg(
            lambda s: s.iloc[0] if s.astype(str).isin(truths).all() else None
        )
        word = pd.Series(ids[stuck]).map(per).to_numpy(dtype=object)
        hit = at[stuck][pd.notna(word)]
        self.status[hit] = word[pd.notna(word)].astype(str)
        self.error[hit] = "its activity ended badly part way; the re-read shows this contact done"

    def _lists_changed(self, word: str) -> pd.Series:
        """Per row: target lists its contact really left or joined (pairs whose outcome is
        ``word``, "removed" or "added"; NA until verified)."""
        result, rows = self.result, self.rows
        if result.after is None or "normalized_id" not in rows:
            return pd.Series(pd.NA, index=rows.index, dtype="Int64")
        ch = result._changes
        counts = ch.loc[ch["outcome"] == word, "contact_id"].value_counts()
        ids = rows["normalized_id"].astype(object)
        mapped = ids.map(counts).fillna(0).astype("int64")
        values = pd.array(mapped.to_numpy(), dtype="Int64")
        values[~self.planned] = pd.NA
        seen = result._saw(ids) if result._covered_pairs() is not None else None
        if seen is not None:  # contacts the verification did not see
            values[~seen] = pd.NA
        return pd.Series(values, index=rows.index)


def _batch_error(run: BatchRun, status: str, verifiable: bool) -> str | None:
    """The ``error`` a batch gives its rows: why ``unknown``, or its activity's errors
    that name none of its contacts (those that do go to their own rows)."""
    if status == str(BatchState.UNKNOWN) and partly_done(run):
        return unknown_reason(run, verifiable)
    if run.state is BatchState.COMPLETED:
        return general_errors(run)
    return "; ".join(run.errors) or None


#: A row whose contact has a pair that did not end as asked (verified by a re-read).
_NOT_AS_ASKED = {
    PairOutcome.NOT_ADDED.value: "not on the list after its add completed",
    PairOutcome.STILL_MEMBER.value: "still a member after the activity completed",
}


def _pair_reasons(frame: pd.DataFrame, runs: Sequence[BatchRun]) -> pd.Series:
    """Why a pair did not end as asked: the API's message for its contact
    (``api_error``), or what the re-read showed (``not_added``, ``still_member``)."""
    said: dict[str, str] = {}
    for run in runs:
        said.update(contact_errors(run))
    outcome = frame["outcome"]  # compared as it is: no word spelled per pair
    reason = pd.Series(None, index=frame.index, dtype=object)
    api = (outcome == PairOutcome.API_ERROR.value).to_numpy()
    reason[api] = frame.loc[api, "contact_id"].map(said).to_numpy()
    for word, why in _NOT_AS_ASKED.items():
        reason[(outcome == word).to_numpy()] = why
    return reason


def reread_lists(
    runner: Runner, plan: Any, lists: Sequence[str], runs: Sequence[BatchRun] = (), run: str = ""
) -> int | None:
    """A plan made earlier whose contacts the API selects, about to send to ``lists``:
    those lists read again (:func:`~ccpandas.read.snapshot.check_still_planned`: a
    PlanError naming the ``run``, "this plan" by default, when members would leave that
    the plan did not show), a spent quota slept through with the runner's
    ``wait_for_quota`` (else QuotaExceededError; ``runs``: the run's batches, for the
    wait's display). The reads spent (0: nothing to check); None when the user stopped
    the wait."""
    return runner.through_quota(
        runs, lambda: check_still_planned(plan, runner.client, lists, run or "this plan"), None
    )


def _outcome_counts(outcome: pd.Series) -> dict[str, int]:
    """Pairs per outcome word, most first (ties: first seen), as ``value_counts()`` of
    the words; a categorical is counted by its codes, never a word spelled per pair
    (millions of pairs: seconds at the end of every run)."""
    if not isinstance(outcome.dtype, pd.CategoricalDtype):
        return {str(k): int(v) for k, v in outcome.astype(str).value_counts().items() if v}
    words = outcome.cat.categories
    counts = pd.Series(outcome.cat.codes.to_numpy()).value_counts()
    return {str(words[c]): int(v) for c, v in counts.items() if c >= 0 and v}


def _no_changes() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in (*CHANGE_COLUMNS, "outcome")})


def _restated(exc: Any, cls: type[Any], step: str, **extra: Any) -> Any:
    """``exc`` (an API error) again as ``cls``, its message ending with ``step`` (what
    to do now); the original stays its ``__cause__``."""
    new = cls(
        exc.status,
        exc.error_key,
        exc.error_message,
        request=exc.request,
        errors=exc.errors,
        next_step=step,
        **extra,
    )
    new.__cause__ = exc
    return new


def _undone_note(undo: dict[str, Any] | None) -> str:
    """ "undone by run X", with " (that undo: processing)" while X did not complete (its
    outcome as its driving call left it); "" for a run not undone (``undo`` None)."""
    if undo is None:
        return ""
    word = undo["outcome"] or undo["stop_reason"] or "unfinished"
    state = "" if word == RunOutcome.COMPLETED else f" (that undo: {word})"
    return f"undone by run {undo['run_id']}{state}"


def resume_call_text(run_id: str | None, client: Any) -> str:
    """The call that continues run ``run_id`` driven with ``client``.

    ``client=client`` is added unless ``client`` is the default client (or None):
    ``ccpandas.resume(run_id)`` alone looks for a default client.

    Example:
        >>> resume_call_text("20250301-231501-7f3a2c", None)
        "ccpandas.resume('20250301-231501-7f3a2c')"
        >>> resume_call_text(None, None)
        'result.resume()'
    """
    from ccpandas.client.http import default_client

    if run_id is None:
        return "result.resume()"
    # The default is read, never built: building one here could prompt for a login.
    if client is None or client is default_client():
        return f"ccpandas.resume({run_id!r})"
    return f"ccpandas.resume({run_id!r}, client=client)"
