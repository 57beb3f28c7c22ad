"""Undo a removal: put back exactly the memberships a run removed, as a journaled run.

An undo works from the journal alone, in any process, days later. It takes the
(contact, list) pairs whose outcome was ``removed`` in the run's verified ``changes``
(so it needs the run's membership snapshot: without one nobody knows who was a member,
and re-adding everyone sent would add contacts that never were), reads the lists and
those contacts afresh, decides each pair (:mod:`ccpandas.plan.undo`), and sends the
``POST /activities/add_list_memberships`` batches through the same runner, journal,
resume and re-sends as a removal. The undo is a run of kind ``undo`` whose
``parent`` is the run it reverses; it ends with a re-read of the lists.

Example:
    >>> undo = ccpandas.undo("20250301-231501-7f3a2c", client=client)  # doctest: +SKIP
    >>> undo.changes["outcome"].value_counts()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import zlib
from typing import Any

import numpy as np
import pandas as pd

from ccpandas.errors import UNDOING, CCError, PlanError
from ccpandas.models import MembershipAction, SourceKind
from ccpandas.plan.membership import READ_LISTS_PER_PASS, preview_source, union_reads
from ccpandas.plan.planner import RemovalPlan, plural
from ccpandas.plan.undo import decide_undo, plan_undo, undo_changes, undo_part
from ccpandas.read.lists import read_lists
from ccpandas.read.snapshot import _looked_up, contact_pages, every_contact, read_snapshot
from ccpandas.report.progress import NullReporter, Reporter, make_reporter
from ccpandas.run.budget import QuotaCheck, requests_sent
from ccpandas.run.kinds import Kind, register
from ccpandas.run.options import RunOptions
from ccpandas.run.result import RemovalResult, rebuild_run, set_undo_handler
from ccpandas.run.runner import Runner
from ccpandas.run.summary import UNDO_WORDS
from ccpandas.store.batch import BatchRun, BatchState
from ccpandas.store.codec import decode_change_set, encode_change_set
from ccpandas.store.journal import JournalDB, RunJournal, checked_plan
from ccpandas.vocab import Action, PairOutcome, RowStatus, RunKind, RunOutcome

__all__ = [
    "later_runs",
    "load_undo_plan",
    "plan_undo_of",
    "run_undo",
    "undo_changes_of",
    "undo_promise",
]


def _batch_state(run: BatchRun, dry_run: bool) -> str:
    if run.state is BatchState.PENDING:  # a preview's pairs: planned, as a dry run's rows
        return RowStatus.PLANNED.value if dry_run else PairOutcome.NOT_SENT.value
    if run.state.busy:
        return "processing"
    return str(run.state)


def undo_changes_of(result: RemovalResult) -> pd.DataFrame:
    """The undo kind's ``result.changes``: per pair the parent run changed
    (``contact_id``, ``list_id``, ``list_name``, ``contact_status``, ``decision``,
    ``reason``) its ``outcome``: ``restored``, ``already_member``, ``cannot_restore``,
    ``not_restored``, ``unverified``, or the state of an activity that did not complete
    (see :func:`~ccpandas.plan.undo.undo_changes`); an undo's ``rows`` are the same."""
    after = None
    if result.after is not None:
        owner, target = result.after.member_matrix()
        ids, lists = result.after.contact_ids, result.after.list_ids
        pairs = zip(owner.tolist(), target.tolist(), strict=True)
        after = {(str(ids[o]), lists[t]) for o, t in pairs}
    states = [_batch_state(r, result.dry_run) for r in result.runs]
    return undo_changes(result.plan, states, after)


# --------------------------------------------------------------------------- checks


def _refuse_undone(db: JournalDB, run_id: str, force: bool) -> None:
    """A PlanError naming the undo of ``run_id`` already journaled (over or not; one
    that stopped before anything of it reached the API does not count), unless
    ``force``."""
    undo = db.undone_by(run_id)
    if undo is None or force:
        return
    last = undo["run_id"]
    if undo["outcome"] in (RunOutcome.COMPLETED, RunOutcome.FAILED):
        raise PlanError(
            f"run {run_id} was already undone by run {last} "
            f"(ccpandas.run_result({last!r}) shows what it did); pass force=True "
            "to undo it again"
        )
    raise PlanError(
        f"an undo of run {run_id} has not finished: run {last} (ccpandas.runs() shows "
        f"whether it still runs; if it stopped, ccpandas.resume({last!r}) finishes it); "
        "nothing was sent; pass force=True to undo it again anyway"
    )


def _check_undoable(parent: RemovalResult, db: JournalDB, force: bool) -> pd.DataFrame:
    """The pairs ``parent`` removed; PlanError saying why when it cannot be undone."""
    run_id = parent.run_id
    if parent.parent_run_id is not None:
        raise PlanError(
            f"run {run_id} is itself an undo (of {parent.parent_run_id}); undoing an undo "
            f"is not supported: {undo_part(parent.plan).of(parent.plan).redo_text}"
        )
    if parent.dry_run or run_id is None:
        raise PlanError("only a journaled run that was sent can be undone (this one was not)")
    m = parent.plan.membership
    if m is None or not m.known:
        blind = (
            "taking every contact it sent off again would remove some that were members before."
            if str(parent.plan.kind) == RunKind.ADD
            else "re-adding every contact it sent would add some that never were members."
        )
        raise PlanError(
            f"run {run_id} was taken without a membership snapshot, so nobody knows which "
            f"contacts were really on its lists: it cannot be undone exactly, and {blind} "
            "Runs started with snapshot=True (or snapshot='auto' when it takes one) can be undone."
        )
    stopped = _went_out(parent) is not None
    running = any(r.in_flight for r in parent.runs)
    unsure = sum(r.state is BatchState.UNCERTAIN for r in parent.runs)
    if stopped and unsure and not force:  # its activity, if the API made one, may still run
        raise PlanError(
            f"run {run_id} has {plural(unsure, 'request')} sent without an answer (the API "
            f"may have made an activity that still runs): {parent.resume_call} sends it "
            "again and follows it to its end, then undo it; nothing was sent. If that "
            "resume is refused, pass force=True to undo it now: that activity, if it "
            "still runs, may take members off again after the undo"
        )
    if not parent.done and (not stopped or running or parent.driven_elsewhere):
        way = f"finish it first with {parent.resume_call}"
        if stopped:  # a resume may be refused (its lists grew): the part that ran is undone
            way = (
                "its activities still run: wait for them to end (ccpandas.run_result("
                f"{run_id!r}).wait() follows them; the undo asks the API again)"
            )
        if parent.driven_elsewhere:  # a resume would be refused (RunLockedError)
            way = "another process drives it now: wait for it to end (ccpandas.runs())"
        raise PlanError(
            f"run {run_id} has not finished (some requests were not accepted or activities "
            f"are still running): {way}, then undo it"
        )
    if parent.after is None and not stopped:  # stopped: the fresh read decides each pair
        raise PlanError(
            f"run {run_id} was not verified (verify=False, or it stopped before): its "
            f"removed memberships are not known. ccpandas.run_result({run_id!r}).verify() "
            "re-reads the lists; an undo then re-adds what that read shows removed."
        )
    _refuse_undone(db, run_id, force)
    changed = undo_pairs(parent)
    if not len(changed):
        raise PlanError(f"run {run_id} changed no membership: there is nothing to undo")
    return changed


def _went_out(result: RemovalResult) -> list[BatchRun] | None:
    """The requests that went out (or may have: no answer came) of a run stopped part
    way whose contacts the API selects: its resume is refused once its lists grew, so
    an undo reverts what those did. None for a finished run or any other."""
    if result.done or not result.plan.source.kind.api_selects:
        return None
    idle = (BatchState.PENDING, BatchState.REJECTED)
    return [r for r in result.runs if r.state not in idle]


def _look_again(parent: RemovalResult, client: Any) -> int:
    """One poll of the activities a stopped run (:func:`_went_out`) was last seen
    running, journaled: ended since (its process gone, nobody followed them), the undo
    goes ahead; still running, it is refused (:func:`_check_undoable`). The requests
    it spent."""
    pending = [r for r in parent.runs if r.in_flight]
    if not pending or parent.run_id is None or _went_out(parent) is None:
        return 0
    if parent.driven_elsewhere:  # its driver follows them
        return 0
    stats = getattr(client, "stats", None)
    before = stats.requests if stats is not None else 0
    with _claimed(parent.runner.journal):
        parent.runner.journal.catch_up(parent.runs)
        if pending := [r for r in parent.runs if r.in_flight]:
            parent.runner.replace(client=client).poll(pending)
    return stats.requests - before if stats is not None else 0


def _sent_pairs(result: RemovalResult) -> pd.Series | None:
    """Per pair of ``result.changes`` of a stopped run (:func:`_went_out`), whether a
    request that went out could have removed it: its list among that request's, its
    contact selected by that request's own source (a source list's member, in the run's
    snapshot) and not excluded. None for any other run, or one without a snapshot
    (:func:`later_runs` goes by its lists); a PlanError when the snapshot cannot say
    (the API chose by engagement level).

    Example:
        >>> _sent_pairs(stopped)["list_id"].sum()  # doctest: +SKIP
    """
    went, m = _went_out(result), result.plan.membership
    if went is None or m is None:
        return None
    ch = result.changes
    groups: dict[tuple[Any, ...], list[str]] = {}
    for run in went:  # a request per source group and list group: each its own pairs
        b = run.batch
        if m.snapshot is None or b.source.kind is SourceKind.ENGAGEMENT_LEVEL:
            raise PlanError(
                f"run {result.run_id} stopped part way, and no snapshot shows whom the "
                f"API took off by {b.source.kind.value} in its requests that went out: "
                "it cannot be undone exactly; nothing was sent"
            )
        # One preview per source: its requests differ only by their lists.
        groups.setdefault((b.source, tuple(b.exclude)), []).extend(b.list_ids)
    sent = []
    for (source, exclude), lists in groups.items():
        p = preview_source(m.snapshot, source, list(dict.fromkeys(lists)), exclude)
        leave = p.will_leave == 1
        lids = np.asarray(p.change_set.list_ids, dtype=object)[p.pair_list[leave]]
        sent.append(pd.MultiIndex.from_arrays([p.contact_ids[p.pair_contact[leave]], lids]))
    could = sent[0].append(sent[1:]) if sent else pd.MultiIndex.from_arrays([[], []])
    pairs = pd.MultiIndex.from_arrays([ch["contact_id"], ch["list_id"]])
    return pd.Series(pairs.isin(could), index=ch.index)


def _part_way(result: RemovalResult, sent: pd.Series | None = None) -> pd.Series:
    """Per pair of ``result.changes``, whether its activity ended part way (``unknown``),
    or a request of a stopped run that went out could have removed it
    (:func:`_sent_pairs`), and the verification did not see it: the run may have
    changed it. ``sent``: :func:`_sent_pairs`, when the caller has it."""
    outcome = result.changes["outcome"].astype(str)
    unknown = outcome == BatchState.UNKNOWN
    sent = _sent_pairs(result) if sent is None else sent
    if sent is not None:  # one word for every pair of a source's run: its lists say more
        unknown = sent & (outcome != PairOutcome.REMOVED.value)
    if unknown.any():  # covered None: a read saw every pair
        read = result.after is not None
        covered = result._covered_pairs() if read else np.zeros(len(outcome), dtype=bool)
        unknown &= False if covered is None else ~covered
    return unknown


def undo_pairs(result: RemovalResult) -> pd.DataFrame:
    """The pairs an undo of a run reverses, from its ``changes``: ``contact_id``,
    ``list_id``, ``undo_action`` (``"add"`` back a removed pair, ``"remove"`` an
    added one) and ``part_way`` (:func:`_part_way`), verified or not (what the panel's
    undo confirmation counts too).

    Example:
        >>> undo_pairs(result)["undo_action"].value_counts()  # doctest: +SKIP
    """
    ch = result.changes
    outcome, action = ch["outcome"].astype(str), ch["action"].astype(str)
    # A pair the verification did not see is undone too (its activity completed, or
    # ended part way): the undo's own fresh read says whether it is still to put back.
    sent = _sent_pairs(result)  # once: a preview of the snapshot per source
    part_way = _part_way(result, sent)
    unseen = (outcome == PairOutcome.UNVERIFIED.value) | part_way
    unseen &= action.isin([Action.REMOVE.value, Action.ADD.value])
    done = outcome.isin([PairOutcome.REMOVED.value, PairOutcome.ADDED.value]) | unseen
    done &= True if sent is None else sent  # stopped: only what its sent requests did
    changed = ch.loc[done, ["contact_id", "list_id"]].reset_index(drop=True)
    # What reverses each pair: a removed one is added back, an added one taken off.
    added = (outcome == PairOutcome.ADDED.value) | (unseen & (action == Action.ADD.value))
    changed["undo_action"] = np.where(added[done].to_numpy(), "remove", "add")
    changed["part_way"] = part_way[done].to_numpy()
    return changed


def undo_promise(result: RemovalResult) -> str | None:
    """What an undo of ``result`` may change, in the words both its confirmations use
    (the panel's tick box, ``ccpandas undo``'s question); None when it cannot be undone
    from here. A bound ("up to"): the undo's fresh read leaves out the pairs found as
    they were (back on a list, or never changed by an activity that ended part way)
    and those that cannot be restored.

    Example:
        >>> undo_promise(result)  # doctest: +SKIP
        'put its removed contacts back on their lists (up to 12 memberships on 2 lists)'
    """
    if result.dry_run or result.parent_run_id is not None or not result.done:
        return None
    changed = None if result.after is None else undo_pairs(result)
    if changed is None or not len(changed):
        return None
    off = int((changed["undo_action"] == "remove").sum())
    back, where = len(changed) - off, plural(int(changed["list_id"].nunique()), "list")
    if not off:
        what, up_to = "put its removed contacts back on their lists", plural(back, "membership")
    elif not back:
        what, up_to = "take the contacts it added off their lists", plural(off, "membership")
    else:
        what = "take the contacts it added off their lists and put back those it removed"
        up_to = f"{off:,} and {back:,} memberships"
    return f"{what} (up to {up_to} on {where})"


def later_runs(db: JournalDB, run_id: str, pairs: pd.DataFrame) -> list[tuple[str, str, int]]:
    """The runs journaled after ``run_id`` (same API) that changed some of ``pairs``
    (``contact_id``, ``list_id``, ``undo_action``) again the other way than the undo
    will (the undo would revert them), oldest first, as ``(run_id, kind, pairs)``.

    A later run's changed pairs are what its re-read verified (removed, added,
    restored), or, unverified, what it asked (without a snapshot: every contact of a
    sent request on each of its lists; a source the API selected: every pair of its
    lists). The run's own undos are not counted: the "already undone" check names them;
    nor is a later run a completed undo reverted since, nor that undo.

    Example:
        >>> later_runs(open_journal(), "20250301-231501-7f3a2c", removed)  # doctest: +SKIP
        [('20250302-080000-1a2b3c', 'remove', 50)]
    """
    me = db.run_record(run_id)
    lists = set(pairs["list_id"])
    # The later change an undo reverts goes the other way: a pair it puts back that a
    # later run removed, or one it takes off that a later run added. A change the same
    # way is what the undo does anyway (an add that put some removed contacts back).
    reverts = pairs["undo_action"].map({"add": "remove", "remove": "add"})
    wanted = set(zip(pairs["contact_id"], pairs["list_id"], reverts, strict=True))
    rows = db.query(
        "SELECT run_id, kind, parent, outcome, list_ids FROM runs WHERE created_at > ? "
        "AND run_id != ? AND base_url IS ? ORDER BY created_at",
        (me["created_at"], run_id, me["base_url"]),
    )
    # A later run that a completed undo reverted no longer stands: neither it nor its
    # undo is a change that undoing this run would revert (undo R2, then R1). Any of its
    # undos, not only its latest: an undo only reverses the run, so after one completed, a
    # second one that failed leaves the run reverted all the same.
    reverted = {row["run_id"] for row in rows} & {
        row["parent"]
        for row in rows
        if row["kind"] == "undo" and row["outcome"] == RunOutcome.COMPLETED
    }
    out = []
    for row in rows:
        if row["kind"] == "undo" and row["parent"] in reverted | {run_id}:
            continue
        if row["run_id"] in reverted:
            continue
        shared = lists & {str(x) for x in json.loads(row["list_ids"])}
        if not shared:
            continue
        try:
            hit = _touched(db, str(row["run_id"]), wanted)
        except CCError:  # not rebuildable here (another version wrote it): assume it did
            hit = sum(lid in shared for _, lid, _way in wanted)
        if hit:
            out.append((str(row["run_id"]), str(row["kind"] or "remove"), hit))
    return out


def _touched(db: JournalDB, run_id: str, wanted: set[tuple[str, str, str]]) -> int:
    """How many of ``wanted`` (contact, list, way) changes journaled run ``run_id``
    made (or asked for); the way is ``"add"`` or ``"remove"``."""
    with db.readable(run_id):  # damaged: a JournalError (a CCError), as unrebuildable
        result: RemovalResult = rebuild_run(db, run_id, Runner(None))
    ch = result.changes
    if "decision" in ch:  # an undo: what it decided to change
        ch = ch[ch["decision"].isin(["restore", "remove"])]
        way = np.where(ch["decision"] == "restore", "add", "remove")
    else:
        # A pair its verification did not see counts, as undo_pairs counts it.
        changed = [
            o.value for o in (PairOutcome.REMOVED, PairOutcome.ADDED, PairOutcome.UNVERIFIED)
        ]
        ch = ch[ch["outcome"].isin(changed) | _part_way(result)]
        way = np.where(ch["action"] == Action.ADD.value, "add", "remove")
    if len(ch) or result.plan.membership is not None:
        return len(wanted & set(zip(ch["contact_id"], ch["list_id"], way, strict=True)))
    hit: set[tuple[str, str, str]] = set()
    for run in result.runs:  # no snapshot: what the sent requests named
        source, lists = run.batch.source, run.batch.list_ids
        if run.state is not BatchState.PENDING:
            named = set(source.values) if source.kind.value == "contact_ids" else None
            sent = "add" if run.batch.action is MembershipAction.ADD else "remove"
            hit |= {
                (c, t, w)
                for c, t, w in wanted
                if w == sent and t in lists and (named is None or c in named)
            }
    return len(hit)


# --------------------------------------------------------------------------- the fresh read


def _live_lists(client: Any, list_ids: list[str]) -> tuple[set[str], dict[str, str], int]:
    """Which of ``list_ids`` still exist, their names, and the requests spent."""
    lists = read_lists(client)
    known = [lid for lid in list_ids if lid in lists]
    live = {lid for lid in known if not lists[lid].deleted}
    # At least one page; target lists are few, pages of 1,000 lists.
    return live, {lid: lists[lid].name for lid in known}, 1


def _contacts_now(
    client: Any, wanted: list[str]
) -> tuple[dict[str, tuple[str, tuple[str, ...]]], int]:
    """Status and current lists of ``wanted`` contacts: one ``GET /contacts/{id}`` each,
    or one read of the whole account (``status=all``) when that costs fewer requests."""
    pages, requests = (contact_pages(client), 1) if len(wanted) > 4 else (None, 0)
    if pages is not None and pages < len(wanted):
        want = set(wanted)
        records = list(every_contact(client, lambda r: r["contact_id"] in want))
        requests += pages
    else:  # a contact gone (404) is deleted: decide_undo says so
        records, requests = _looked_up(client, wanted, None), requests + len(wanted)
    return {r["contact_id"]: (r["status"], tuple(r["lists"])) for r in records}, requests


def plan_undo_of(
    parent: RemovalResult,
    client: Any,
    *,
    db: JournalDB,
    force: bool = False,
    reporter: Reporter | None = None,
) -> RemovalPlan:
    """Check that ``parent`` can be undone, read its lists and contacts afresh, and
    plan the adds (nothing is sent)."""
    polled = _look_again(parent, client)
    removed, went = _check_undoable(parent, db, force), _went_out(parent)
    reporter = reporter or NullReporter()
    list_ids = [lid for lid in parent.plan.list_ids if lid in set(removed["list_id"])]
    before = requests_sent(client)
    live, names, requests = _live_lists(client, list_ids)
    m = parent.plan.membership
    known_names = dict(m.snapshot.list_names) if m is not None and m.snapshot is not None else {}
    names = {**known_names, **names}
    # Who is on the (live) lists now: already_member without spending an add on it.
    reads = [lid for lid in list_ids if lid in live]
    contacts: dict[str, tuple[str, tuple[str, ...]]] = {}
    if reads:
        snap, _ = read_snapshot(
            client, reads, reporter=reporter, journal=False, need_emails=False, names=names
        )
        requests += snap.requests
        now = zip(snap.contact_ids.tolist(), snap.statuses.tolist(), snap.lists, strict=True)
        contacts = {str(cid): (str(status), tuple(lists)) for cid, status, lists in now}
    # The others: their status (deleted?) and how many lists they are on (50 at most).
    readd = removed.loc[removed["undo_action"] == "add", "contact_id"]  # status, list count
    others = [c for c in dict.fromkeys(readd.tolist()) if c not in contacts]
    found, spent = _contacts_now(client, others)
    contacts.update(found)
    requests += spent
    if before is not None:  # every attempt: a page read again after a 5xx too
        requests = max(requests, (requests_sent(client) or 0) - before)
    decided = decide_undo(removed, live_lists=live, contacts=contacts, list_order=list_ids)
    # A pair of an activity that ended part way, as it was before: not the run's change.
    same = decided["decision"].isin([PairOutcome.ALREADY_MEMBER, PairOutcome.NOT_A_MEMBER])
    mine = ~(same.to_numpy() & removed["part_way"].to_numpy())
    decided, removed = decided[mine].reset_index(drop=True), removed[mine]
    if not len(removed):  # nothing journaled nor sent: an undo of no pair blocks a later one
        raise PlanError(
            f"run {parent.run_id} changed no membership: the pairs of its activities that "
            "ended part way are all as they were, so there is nothing to undo"
        )
    # The verification re-reads, 25 lists per pass, the lists a request goes to: a page
    # per 500 of each pass's members now and contacts coming back.
    sent = set(decided.loc[decided["decision"].isin(["restore", "remove"]), "list_id"])
    verify = [lid for lid in reads if lid.lower() in sent]
    back = decided[decided["decision"] == "restore"]
    unions = []
    for i in range(0, len(verify), READ_LISTS_PER_PASS):
        group = {lid.lower() for lid in verify[i : i + READ_LISTS_PER_PASS]}
        on_now = {c for c, (_, on) in contacts.items() if group.intersection(map(str.lower, on))}
        unions.append(len(on_now | set(back.loc[back["list_id"].isin(group), "contact_id"])))
    plan = plan_undo(
        decided,
        str(parent.run_id),
        list_ids,
        names,
        read_requests=union_reads(unions),
        rate=parent.plan.rate,
        check_requests=requests,
        later_runs=later_runs(db, str(parent.run_id), removed),
        # A run stopped part way (its resume refused): the part that ran is undone.
        ran="" if went is None else f"{len(went):,} of {plural(len(parent.runs), 'request')}",
    )
    note = f"checked just now with {plural(requests, 'read request')} (lists, members, contacts)"
    if polled:  # its look at the activities still running: polls, not reads
        note += f" and {plural(polled, 'status check')} of run {parent.run_id}'s activities"
    part = dataclasses.replace(undo_part(plan), poll_requests=polled)
    return dataclasses.replace(plan, notes=(*plan.notes, note), part=part)


# --------------------------------------------------------------------------- the journal


#: What the journal keeps of an undo plan besides its pairs (the change set) and their
#: decisions: enough to plan them again into the same requests.
_META = ("list_ids", "list_names", "rate", "notes")
_PART = ("read_requests", "check_requests", "later_runs", "ran", "poll_requests")
_DECIDED = ("contact_status", "decision", "reason")


def _encode(plan: RemovalPlan) -> tuple[dict[str, Any], bytes]:
    part = undo_part(plan)
    meta = {"parent": part.parent_run_id, **{k: getattr(plan, k) for k in _META}}
    meta.update({k: getattr(part, k) for k in _PART})
    # The pairs as every kind journals them, and what the fresh read decided of each.
    doc = {"changes": encode_change_set(part.change_set)}
    doc.update({c: plan.rows[c].tolist() for c in _DECIDED})
    return meta, zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 1)


def load_undo_plan(db: JournalDB, run_id: str, record: dict[str, Any]) -> RemovalPlan:
    """The plan of journaled undo run ``run_id`` (``record``: its ``runs`` row),
    rebuilt into the requests it sent."""
    meta = json.loads(record["plan"])
    doc = json.loads(zlib.decompress(record["rows"]))
    if "changes" in doc:
        cs = decode_change_set(doc.pop("changes"))
        doc["contact_id"] = cs.contact_ids[cs.pair_contact].tolist()
        doc["list_id"] = np.asarray(cs.list_ids, dtype=object)[cs.pair_list].tolist()
    columns = ("contact_id", "list_id", *_DECIDED)
    decided = pd.DataFrame({k: pd.Series(doc[k], dtype=object) for k in columns})
    plan = plan_undo(
        decided,
        meta["parent"],
        meta["list_ids"],
        meta["list_names"],
        read_requests=meta["read_requests"],
        rate=meta["rate"],
        check_requests=int(meta.get("check_requests", 0)),  # none before issue 21
        later_runs=[(str(r), str(k), int(n)) for r, k, n in meta.get("later_runs") or ()],
        ran=str(meta.get("ran", "")),
    )
    part = dataclasses.replace(undo_part(plan), poll_requests=int(meta.get("poll_requests", 0)))
    plan = dataclasses.replace(plan, notes=tuple(meta["notes"]), part=part)
    return checked_plan(plan, meta, f"undo run {run_id}")


#: Seconds an undo waits for the lock of the run it reverses: another undo of it holds
#: it only to check and journal itself (a query and one transaction).
_CLAIM_WAIT = 10.0


def _claimed(journal: Any) -> contextlib.AbstractContextManager[None]:
    """Hold the lock of the run an undo reverses, waiting :data:`_CLAIM_WAIT` seconds
    for another process's brief hold (``journal``: its RunJournal); RunLockedError in
    an undo's words."""
    return journal.hold(wait=_CLAIM_WAIT, then="undo it again")


def run_undo(
    parent: RemovalResult,
    client: Any,
    options: RunOptions,
    *,
    db: JournalDB,
    force: bool = False,
    runner: Runner | None = None,
) -> RemovalResult:
    """Plan the undo of ``parent`` (a fresh read), then, unless ``options.dry_run``,
    journal it as a run of kind ``undo`` and send its adds; wait and verify like a
    removal. ``options`` were checked where the user gave them."""
    template = runner or Runner(None)
    reporter = make_reporter(options.progress)
    plan = plan_undo_of(parent, client, db=db, force=force, reporter=NullReporter())
    part = undo_part(plan)
    if part.later_runs and not force and not options.dry_run:
        # The preview (dry_run) names them; the undo itself needs the user's word.
        raise PlanError(f"nothing was sent: {part.later_text()}")
    if options.dry_run:
        # The undo after this preview does not look at the activities again (journaled
        # ended): the preview's cost leaves its look out; what it spent keeps it.
        shown = dataclasses.replace(plan, part=dataclasses.replace(part, poll_requests=0))
        dry = template.replace(client=client, reporter=NullReporter())
        preview = RemovalResult(shown, [BatchRun(b) for b in plan.batches], dry, dry_run=True)
        preview.spent["polls"] = part.poll_requests  # type: ignore[index]
        return preview
    # The check every run makes before its first change: nothing journaled nor sent.
    QuotaCheck(template.replace(client=client), plan.daily_quota).check_run(plan, before=UNDOING)
    meta, blob = _encode(plan)
    base_url = getattr(client, "base_url", None)
    # The check and the journaling under the reversed run's lock: two undos of it started
    # at once passed the check above before either was journaled, and both sent.
    with _claimed(RunJournal(db, part.parent_run_id)):
        _refuse_undone(db, part.parent_run_id, force)
        journal = RunJournal.create_run(
            plan, meta=meta, rows_blob=blob, parent=part.parent_run_id, base_url=base_url, db=db
        )
    built = template.replace(client=client, reporter=reporter, journal=journal)
    result = RemovalResult(plan, [BatchRun(b) for b in plan.batches], built, run_id=journal.run_id)
    return result._send(options)


# The undo kind: its journaled plan, words and changes (ccpandas.run.kinds).
register(
    Kind(RunKind.UNDO, load_undo_plan, "restored_memberships", UNDO_WORDS, changes=undo_changes_of)
)
set_undo_handler(run_undo)
