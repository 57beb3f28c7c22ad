"""The public verbs: plan a change, run it, and find, resume or undo recorded runs.

Removal plans, runs and returns a :class:`~ccpandas.run.result.RemovalResult`; the journal's
runs are listed by :func:`runs`, rebuilt by :func:`run_result`, continued by :func:`resume`
and reverted by :func:`undo`.

Example:
    >>> import ccpandas
    >>> result = ccpandas.remove_from_lists(df, ["Newsletter"], client=client)  # doctest: +SKIP
    >>> ccpandas.runs()  # doctest: +SKIP
                     run_id                started_at  lists  contacts      state  progress
    0  20250301-231501-7f3a2c 2025-03-01 23:15:01+00:00      1    120000  completed      1.0
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypedDict, Unpack

import pandas as pd

# Registers the undo kind (ccpandas.run.kinds) and what RemovalResult.undo() runs.
import ccpandas.run.undo  # noqa: F401
from ccpandas._docs import shared_params
from ccpandas.errors import CCError, PlanError, QuotaExceededError, refuse_unknown
from ccpandas.models import Source, SourceKind
from ccpandas.plan.ids import holds_text
from ccpandas.plan.membership import (
    check_max_removed,
    detect_key,
    max_removed_value,
    require_addresses,
    snapshot_reads,
    verified_as,
)
from ccpandas.plan.planner import (
    RemovalPlan,
    _column_of,
    as_kind,
    check_list_count,
    frame_column,
    list_names,
    list_values,
    names_not_looked_up,
    plan_removal,
    plan_source_removal,
    plural,
    resolve_list_ids,
    retarget,
    stand_ins,
)
from ccpandas.read.costs import pace_of
from ccpandas.read.lists import ListInfo, Targets, check_targets, read_lists
from ccpandas.read.snapshot import SnapshotChoice, recheck_reads, with_recheck
from ccpandas.report.progress import NullReporter, make_reporter
from ccpandas.run.budget import QuotaCheck, count_planning, day_usage, requests_sent, sent_by
from ccpandas.run.kinds import kind_of
from ccpandas.run.options import RunOptions, check_client, check_source, pick_client
from ccpandas.run.result import RemovalResult, rebuild_run, reread_lists
from ccpandas.run.runner import Journal, NullJournal, Runner
from ccpandas.store.batch import BatchRun, BatchState, Outcome
from ccpandas.store.journal import (
    JournalDB,
    RunJournal,
    journaled_spent,
    open_journal,
    plan_digest,
)
from ccpandas.vocab import (
    STOP_DRIVER_ENDED,
    RunKind,
    RunOutcome,
    RunState,
    sql_list,
)

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.read.assumptions import DoctorReport


log = logging.getLogger("ccpandas")

__all__ = [
    "RUN_COLUMNS",
    "RUN_STATES",
    "check_source",
    "doctor",
    "plan_list_removal",
    "remove_from_lists",
    "remove_list_memberships",
    "resume",
    "resume_frame",
    "run_plan",
    "run_result",
    "runs",
    "undo",
    "wait",
]


_P = ParamSpec("_P")


def _counted(plan_call: Callable[_P, RemovalPlan]) -> Callable[_P, RemovalPlan]:
    """``plan_call`` (its ``client`` argument, given or not), its plan told every
    request planning sent (:func:`~ccpandas.run.budget.count_planning`), the listing
    of a checked :class:`~ccpandas.read.lists.Targets` it was given included."""
    signature = inspect.signature(plan_call)

    @functools.wraps(plan_call)
    def counted(*args: _P.args, **kwargs: _P.kwargs) -> RemovalPlan:
        given = signature.bind(*args, **kwargs).arguments
        targets = [v for v in given.values() if isinstance(v, Targets)]
        listed = sum(v.unclaimed() for v in targets)
        plan = count_planning(given.get("client"), lambda: plan_call(*args, **kwargs), listed)
        for v in targets:  # the listing was sent once: the next plan of it claims none
            v.claim()
        return plan

    return counted


def resolve_targets(values: tuple[str, ...], client: Client | None) -> Targets:
    """The :class:`~ccpandas.read.lists.Targets` of ``values`` (as :func:`list_values`
    read them, once, at the entry point): checked against one ``GET /contact_lists``
    when there is a client or a name to resolve; UUIDs alone and no client stay
    offline, unchecked.

    Example:
        >>> resolve_targets(("2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f",), None).checked
        False
    """
    if client is None and not list_names(values):
        return Targets(resolve_list_ids(values, None))
    api = pick_client(client)
    lists, sent = sent_by(api, lambda: read_lists(api))  # retries included: the plan's
    return Targets(check_targets(values, lists), lists, sent or 0)


@_counted
def _plan_source(
    client: Client | None,
    targets: tuple[str, ...],
    source: Source,
    exclude: Any,
    *,
    choice: SnapshotChoice,
    options: RunOptions,
    max_removed: float | int | None = None,
    keep: bool = False,
    **confirm: bool,
) -> RemovalPlan:
    """Plan a removal by ``source`` from ``targets`` (read by :func:`list_values`):
    everything is checked (pure, with stand-ins for list names) before the target and
    source lists are checked and their names resolved, in one ``GET /contact_lists``
    (a run, not a dry run, checks even UUIDs with the default client); tag names take
    one ``GET /contact_tags``. With a snapshot, the plan previews who leaves.
    ``options``: the call's, :meth:`~ccpandas.run.options.RunOptions.started`.
    ``max_removed``: the guard of ``keep_in_lists`` (``keep``), and of a removal whose
    source is a target list's own members (checked once the names are resolved)."""
    online, guarded = not options.dry_run, keep
    by_list = source.kind is SourceKind.LIST_IDS  # a Source: checked by the public call
    lists = list_values(source.values, "Source.list_ids") if by_list else ()
    if source.kind is SourceKind.CONTACT_IDS:
        if exclude is not None:
            raise PlanError("exclude only goes with Source.list_ids or Source.all_active_contacts")
        ids = pd.Series(list(source.values), dtype=object)
        by_id = dataclasses.replace(choice, by="contact_id")
        return _plan_list(ids, targets, client=client, choice=by_id, options=options)
    tags = list(source.values) if source.kind is SourceKind.TAG_IDS else []
    names, tag_names = list_names(targets + lists), list_names(tags)
    if names or tag_names or online or client is not None:
        # Checked with stand-ins first: bad input never costs the list or tag listing.
        named = by_list or tag_names
        values = lists if by_list else tags  # source.values may be an iterator, read once
        checked = dataclasses.replace(source, values=stand_ins(values)) if named else source
        try:
            plan_source_removal(checked, stand_ins(targets), exclude=exclude, **confirm)
        except PlanError as exc:
            named = names or tag_names
            raise (names_not_looked_up(exc, names, tag_names) if named else exc) from None
    if choice.snapshot is not False:
        from ccpandas.read.snapshot import check_continued

        check_continued(True, choice.snapshot_id)  # before a request
    resolved = resolve_targets(targets + lists, pick_client(client) if online else client)
    if by_list:
        source = Source.list_ids(resolved.ids[len(targets) :])
    targets = resolved.ids[: len(targets)]
    if max_removed is not None and not guarded and by_list and set(source.values) & set(targets):
        guarded = True  # a target list's own members leave: the guard of keep_in_lists
        choice = _guarded(choice, max_removed, "remove_list_memberships")
    if tag_names:
        from ccpandas.readers import resolve_tag_names  # exact tag names, like list names

        source = Source.tag_ids(resolve_tag_names(tags, pick_client(client)))
    plan = plan_source_removal(source, targets, exclude=exclude, rate=pace_of(client), **confirm)
    # -- membership snapshot (ccpandas.read.snapshot): a preview of who leaves
    if choice.snapshot is False:
        return _costed(plan, resolved.lists)
    from ccpandas.read.snapshot import prepare_source_plan

    plan = prepare_source_plan(
        plan,
        pick_client(client),
        choice=choice,
        progress=options.progress,
        lists=resolved.lists,
        gate=options.gate,
    )
    if max_removed is not None and guarded and plan.membership is not None:
        m, call = plan.membership, "keep_in_lists" if keep else "remove_list_memberships"
        given = "frame" if keep else "source and exclude"
        check_max_removed(m.change_set, m.snapshot, max_removed, call, given)
    return plan


def _costed(plan: RemovalPlan, lists: Mapping[str, ListInfo] | None) -> RemovalPlan:
    """``plan`` (no snapshot) told what a snapshot of its lists would cost, when the
    listing (``lists``) gave their sizes: the plan says what would make it undoable."""
    if lists is None:
        return plan
    sizes = [lists[t].members for t in plan.list_ids if t in lists]
    return dataclasses.replace(plan, snapshot_cost=snapshot_reads(sizes))


def plan_list_removal(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str] | Targets,
    *,
    column: str = "contact_id",
    client: Client | None = None,
    snapshot: bool | str = False,
    verify: bool | str = "auto",
    by: str = "auto",
    progress: Any = False,
    kind: str = "remove",
    max_removed: float | int | None = 0.5,
    wait_for_quota: bool | None = None,
) -> RemovalPlan:
    """Plan removing (``kind``: adding, syncing) the contacts of ``data[column]`` (ids
    or emails) from ``list_ids``; sends no change. Everything that can be checked
    without a request is checked first (the column, its dtype, the ids), so bad data
    never costs one; then one listing resolves list names and refuses any list that is
    not an active list of the account (with a client, names or a snapshot; UUIDs with
    neither plan offline, unchecked; ``list_ids`` may be the checked
    :func:`resolve_targets` of an earlier listing), and a membership snapshot
    (``snapshot=True``/``"auto"``, see :doc:`removing`) reads the lists' members and
    shows who will leave in ``plan.changes``. ``verify`` is a choice of the run, not
    of its plan: give it to :func:`run_plan` (False here warns that it does nothing).

    ``wait_for_quota``: None (the default) checks no quota (a plan only reads). True or
    False, for a plan that is about to run (the command line's): first check that the
    whole run fits in what is left of today's quota, before its first list read, as
    :func:`remove_from_lists` does: wait for the reset (True) or refuse with
    :class:`~ccpandas.QuotaShortError` (False)."""
    if kind not in ("remove", "add", "sync"):  # an undo is planned from its run
        raise ValueError(f"kind must be 'remove', 'add' or 'sync', not {kind!r}")
    kind, choice = RunKind(kind), SnapshotChoice(snapshot=snapshot, by=by)
    # A plan sends nothing (a dry run); one about to run (wait_for_quota True or False)
    # asks the quota before its first read.
    about_to_run = wait_for_quota is not None
    quota = {"wait_for_quota": wait_for_quota} if about_to_run else {}
    options = RunOptions.of(dry_run=True, progress=progress, verify=verify, **quota)
    if not options.verify:
        warnings.warn(
            "verify=False does nothing to a plan: verification is chosen when the plan "
            "runs; pass verify=False to run_plan() (or to the removal) instead",
            stacklevel=2,
        )
    values = list_ids if isinstance(list_ids, Targets) else list_values(list_ids)
    return _plan_list(
        data,
        values,
        column=column,
        client=client,
        choice=choice,
        options=options.started(client, quota=about_to_run),
        kind=kind,
        max_removed=max_removed_value(max_removed) if kind == RunKind.SYNC else None,
    )


def check_change(kind: str, snapshot: bool | str, lists: Sequence[str]) -> None:
    """What a change (``kind``) to ``lists`` (as :func:`list_values` read them) can be
    refused for before any request: a sync must read the lists (``snapshot=False``), and
    an add or a sync cannot have more target lists than a contact may be on
    (:func:`check_list_count`). Each is a PlanError.

    Example:
        >>> check_change("add", False, ["VIP"])
    """
    check_list_count(kind, lists)
    if kind == "sync" and snapshot is False:
        raise PlanError(
            "a sync reads the lists first (it removes every member outside the frame): "
            "snapshot=False cannot sync"
        )


@_counted
def _plan_list(
    data: pd.DataFrame | pd.Series,
    values: tuple[str, ...] | Targets,
    *,
    column: str = "contact_id",
    client: Client | None = None,
    choice: SnapshotChoice,
    options: RunOptions,
    kind: str = "remove",
    max_removed: float | int | None = None,
) -> RemovalPlan:
    """:func:`plan_list_removal` below its checks: ``values`` read by
    :func:`list_values` (or already resolved), ``choice`` checked, ``options``
    :meth:`~ccpandas.run.options.RunOptions.started` (its ``gate``, a run's quota
    check, is asked before the first list read). The target lists are checked
    against one ``GET /contact_lists`` after the data: always with a client, names or
    a snapshot, and for a run that sends (with the default client); a plan of UUIDs
    with no client and no snapshot stays offline, unchecked."""
    given = values.ids if isinstance(values, Targets) else values
    names = list_names(given)
    snapshot = choice.snapshot
    check_change(kind, snapshot, given)
    try:
        # a frame's column, a Series, an Index, a list, a tuple or a 1-d array
        column_values = _column_of(data, column)[0]
        text = holds_text(column_values.dtype)
        key = detect_key(column_values, choice.by) if text else "contact_id"
        if key == "email" and choice.by == "email":  # "auto" saw addresses already
            require_addresses(column_values, column)
        checked = None
        if key == "contact_id":  # (names stand in until they are looked up)
            checked = plan_removal(data, stand_ins(given), column=column, rate=pace_of(client))
    except PlanError as exc:
        raise (names_not_looked_up(exc, names) if names else exc) from None
    from ccpandas.read.snapshot import check_addresses_read, check_continued

    check_addresses_read(key, snapshot, column)  # before a request, the listing's too
    if snapshot is not False:
        check_continued(True, choice.snapshot_id, column_values, key, kind)  # before a request
    if not (isinstance(values, Targets) and values.checked):
        offline = checked is not None and snapshot is False and options.dry_run
        values = resolve_targets(tuple(given), client if offline else pick_client(client))
        check_list_count(kind, values.ids)  # names and ids of different lists, counted
    if checked is not None and snapshot is False:
        plan = retarget(checked, values.ids) if names else checked
        plan = _named(plan, given, values.ids)
        return _with_usage(_costed(as_kind(plan, kind), values.lists), client)
    # -- membership snapshot (ccpandas.read.snapshot)
    from ccpandas.read.snapshot import prepare_frame_plan

    plan = prepare_frame_plan(
        data,
        values.ids,
        pick_client(client) if snapshot is not False else client,
        choice=dataclasses.replace(choice, by=key),
        column=column,
        progress=options.progress,
        kind=kind,
        max_removed=max_removed,
        lists=values.lists,
        gate=options.gate,
    )
    return _with_usage(_named(plan, given, values.ids), client)


def _named(plan: RemovalPlan, values: Sequence[str], ids: Sequence[str]) -> RemovalPlan:
    """``plan`` with the names the user gave its lists (by id), so the journal keeps
    them: a resume or ``runs()`` in another process names the lists as given."""
    return dataclasses.replace(plan, list_names={**given_names(values, ids), **plan.list_names})


def given_names(values: Sequence[str], ids: Sequence[str]) -> dict[str, str]:
    """The names the user gave lists, by list id: ``values`` as given, ``ids`` the
    lists they resolved to (a value that was a list id names nothing).

    Example:
        >>> given_names(["VIP", "7C6B5A4D-3E2F-4A1B-8C9D-0E1F2A3B4C5D"], ["id-1", "id-2"])
        {'id-1': 'VIP'}
    """
    names = set(list_names(values))
    return {i: v for i, v in zip(ids, values, strict=True) if v in names}


def _with_usage(plan: RemovalPlan, client: Any) -> RemovalPlan:
    """The plan told today's figure of the client's shared quota ledger (when it has one).

    Without a client, the default client's, if one exists: planning never logs in."""
    usage = day_usage(client)
    return plan if usage is None else plan.with_usage(usage.used, usage.processes)


def run_plan(
    plan: RemovalPlan,
    client: Client | None = None,
    *,
    runner: Runner | None = None,
    journal: bool | Journal = True,
    **options: Any,
) -> RemovalResult:
    """Execute ``plan``: submit its batches in order, then (``wait=True``) poll until
    every activity is terminal or ``timeout`` seconds pass.

    ``options`` are the run options (:class:`~ccpandas.run.options.RunOptions`):
    ``dry_run`` (False), ``wait`` (True), ``progress`` ("auto"), ``timeout`` (None),
    ``wait_for_quota`` (False) and ``verify`` ("auto"), as :func:`remove_from_lists`
    documents them. They and ``client`` are checked before anything is sent or
    journaled.

    Errors the client cannot retry away (quota spent, a refused request, the network
    gone) stop the run and are raised with the result so far on ``exc.result``.
    The run is recorded in the journal (``journal=True``, see
    :mod:`ccpandas.store.journal`) so ``ccpandas.resume(result.run_id)`` can finish it from
    any process; ``journal=False`` records nothing. ``runner`` is a template whose
    settings (clock, polling, limits) the run uses (tests); the client, reporter,
    journal and ``wait_for_quota`` come from this call.

    A plan whose contacts the API selects when it is sent (``keep_in_lists``,
    :func:`remove_list_memberships`), made with a snapshot, has its lists read again
    first (about its snapshot's reads, counted in the quota check and in the result's
    ``plan``): when anyone would leave that the plan did not show (they joined since),
    a :class:`~ccpandas.PlanError` before any change, and no run is recorded.

    Example:
        >>> result = run_plan(plan, client, progress=False)  # doctest: +SKIP
        >>> result.run_id  # doctest: +SKIP
        '20250301-231501-7f3a2c'
    """
    bundle = RunOptions.of(**options)
    check_client(client)
    if runner is not None and not isinstance(runner, Runner):
        raise TypeError(f"runner must be a ccpandas.run.runner.Runner, not {type(runner).__name__}")
    if journal not in (True, False, None) and not isinstance(journal, Journal):
        raise TypeError(f"journal must be True, False or a Journal, not {journal!r}")
    return execute(plan, client, bundle, runner=runner, journal=journal, later=True)


def execute(
    plan: RemovalPlan,
    client: Client | None,
    options: RunOptions,
    *,
    runner: Runner | None = None,
    journal: bool | Journal | None = True,
    later: bool = False,
) -> RemovalResult:
    """:func:`run_plan` below its checks: every argument was checked where the user
    gave it, and ``options`` arrive whole (their ``gate``: the quota check planning
    already asked, when the run refused or waited for the reset before its first read).
    ``later``: the plan was made before this call (:func:`run_plan`), so a source's
    lists are read again first (:func:`_still_planned`); a removal planned in this
    call sends at once, as planned."""
    template = runner or Runner(None)
    plan = costed_for(plan, options.verify)  # the total and the quota check: what it spends
    if options.dry_run:
        dry = template.replace(reporter=NullReporter())
        return RemovalResult(plan, [BatchRun(b) for b in plan.batches], dry, dry_run=True)
    api = template.client if template.client is not None else pick_client(client)
    reporter = make_reporter(options.progress)
    early = template.replace(client=api, reporter=reporter, wait_for_quota=options.wait_for_quota)
    plan, deferred = _still_planned(plan, early, options.gate) if later else (plan, None)
    if deferred is None:  # (a check of the lists asked it, counting its read)
        # Before the run is journaled: refused, or stopped in the wait, it leaves no run.
        _check_quota(plan, early, options.gate)
    chosen: Journal = template.journal
    if journal is True and isinstance(chosen, NullJournal):
        base_url = getattr(api, "base_url", None)
        chosen = RunJournal.create(plan, base_url=base_url, verify=options.verify)
    elif isinstance(journal, Journal):
        chosen = journal
    runner = early.replace(journal=chosen)  # with its quota waits: a lag backs off briefly
    run_id = getattr(runner.journal, "run_id", None)
    if run_id is not None:
        log.info("run %s: %d requests to send", run_id, plan.n_requests)
    runs = [BatchRun(b) for b in plan.batches]
    result = RemovalResult(plan, runs, runner, run_id=run_id, verify=options.verify)

    def go() -> None:
        runner.submit(result.runs)
        if options.wait and not runner.stopped:
            runner.wait(result.runs, timeout=options.timeout)

    # The API's quota stopped the check: the lists are read first, the reset waited for
    # there, or a stop (the user stopped that wait: the run stops, nothing is sent).
    first = (lambda: reread_lists(runner, plan, plan.list_ids, result.runs)) if deferred else None
    result._drive(go, result._reset(None), first)
    return result


def _still_planned(
    plan: RemovalPlan, runner: Runner, gate: QuotaCheck | None
) -> tuple[RemovalPlan, bool | None]:
    """A plan made earlier whose contacts the API selects, with a snapshot: its lists
    read again (:func:`~ccpandas.read.snapshot.check_still_planned`: a PlanError when
    anyone would leave that it did not show, before any run is recorded), after a quota
    check that counts that read; the plan with the read counted. True when the API's
    quota stopped the read: the run's first step then (waited for, or a stopped run);
    None when there is nothing to check."""
    if with_recheck(plan) is plan:
        return plan, None
    _check_quota(plan, runner, gate, reads=recheck_reads(plan))
    api, before = runner.client, requests_sent(runner.client) or 0
    try:  # never waits: a run waits for the reset once it is journaled (resumable)
        reread = runner.replace(wait_for_quota=False)
        reads, sent = sent_by(api, lambda: reread_lists(reread, plan, plan.list_ids))
    except QuotaExceededError:
        # Not read: the plan counts the refused requests, the run its read.
        return with_recheck(plan, (requests_sent(api) or 0) - before), True
    return with_recheck(plan, reads, sent), False  # retries included


def costed_for(plan: RemovalPlan, verify: bool | str) -> RemovalPlan:
    """``plan`` with the verification its run's ``verify`` option spends (``"auto"``:
    the plan's own choice), so that its total, its text and the quota check count it.

    Example:
        >>> costed_for(plan, False).verify_requests  # doctest: +SKIP
        0
    """
    m = plan.membership
    if m is None or not m.known:
        return plan
    return dataclasses.replace(plan, membership=verified_as(m, verify, plan.n_requests))


def run_requests(plan: RemovalPlan) -> int:
    """The requests a run of ``plan`` spends from its first change on: the changes, the
    expected polls and the verification (the snapshot's reads are spent already).

    Example:
        >>> run_requests(plan) == plan.n_requests + plan.expected_polls  # doctest: +SKIP
        True
    """
    return plan.n_requests + plan.expected_polls + plan.verify_requests


def _check_quota(
    plan: RemovalPlan, runner: Runner, gate: QuotaCheck | None, reads: int = 0
) -> None:
    """Refuse (or wait for the reset) before anything is sent when the run does not fit
    in what is left of today's quota (:meth:`~ccpandas.run.budget.QuotaCheck.check_run`);
    ``reads``: a read of the lists first (:func:`_still_planned`)."""
    check = gate or QuotaCheck(runner, plan.daily_quota)
    check.check_run(plan, reads)
    # The run's own count of waits for the reset: a refusal just after one (the API's
    # clock behind) backs off briefly instead of waiting for the next midnight.
    runner.quota_waits = max(runner.quota_waits, check.runner.quota_waits)


@shared_params
class SourceOptions(TypedDict, total=False):
    """The options of :func:`remove_list_memberships` and ``df.cc.keep_in_lists``, by
    name; every key is optional:

    ``dry_run`` (bool)
        {shared:dry_run}
    ``wait`` (bool)
        {shared:wait}
    ``progress`` (str, bool, None or a Reporter)
        {shared:progress}
    ``timeout`` (float or None)
        {shared:timeout}
    ``wait_for_quota`` (bool)
        {shared:wait_for_quota}
    ``snapshot`` (bool or str)
        {shared:source_snapshot}
    ``verify`` (bool or str)
        {shared:verify}
    ``journal`` (bool)
        {shared:record}

    Example:
        >>> options: SourceOptions = {"dry_run": True, "snapshot": False}
    """

    dry_run: bool
    wait: bool
    progress: Any
    timeout: float | None
    wait_for_quota: bool
    snapshot: bool | str
    verify: bool | str
    journal: bool


@shared_params
class ChangeOptions(SourceOptions, total=False):
    """The options of :func:`remove_from_lists`, :func:`add_to_lists`,
    :func:`sync_lists` and their ``df.cc`` methods, by name: those of
    :class:`SourceOptions` (``snapshot`` as said here), and these (each optional):

    ``client`` (:class:`~ccpandas.Client` or None)
        {shared:client}
    ``by`` (str)
        {shared:by}
    ``snapshot`` (bool or str)
        {shared:snapshot}

    Example:
        >>> options: ChangeOptions = {"by": "email", "wait": False}
    """

    client: Client | None
    by: str


#: What an option a call leaves out is (the run options' defaults are RunOptions').
_DEFAULTS = {"snapshot": "auto", "by": "auto", "journal": True}


def _entry(
    given: Mapping[str, Any],
    bundle: Any,
    call: str,
    client: Any = None,
    source: Callable[[], None] | None = None,
    **flags: Any,
) -> tuple[dict[str, Any], RunOptions, SnapshotChoice]:
    """The checks every change call makes first, in this order: ``given`` (the call's
    ``**options``: a name that ``bundle``, a TypedDict, does not have is a TypeError, as
    for any unknown keyword; ``client`` when it is not one of them), the run options,
    the snapshot choice, the client, the ``source`` check if any, then ``journal`` and
    ``flags`` (True or False). Returns the options with their defaults
    (:data:`_DEFAULTS`), the run options and the choice.

    Example:
        >>> _entry({"dry_ru": True}, SourceOptions, "remove_list_memberships")
        Traceback (most recent call last):
        ...
        TypeError: remove_list_memberships() got an unexpected keyword argument 'dry_ru'; ...
    """
    refuse_unknown(given, bundle.__optional_keys__, call)
    o = {"client": client, **_DEFAULTS, **given}
    options = RunOptions.pick(o)
    choice = SnapshotChoice(snapshot=o["snapshot"], by=o["by"])
    check_client(o["client"])
    if source is not None:
        source()
    check_flags(journal=o["journal"], **flags)
    return o, options, choice


@shared_params
def remove_from_lists(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    **options: Unpack[ChangeOptions],
) -> RemovalResult:
    """Remove the contacts in ``data[column]`` from the lists ``list_ids`` (UUIDs or
    exact names).

    Invalid, missing and duplicate ids are never sent and stay in ``result.rows`` with
    their reason. With a membership snapshot (``snapshot``) each contact is sent only
    for the lists it is on, and the plan previews who leaves which list. The run is
    journaled: ``ccpandas.resume(result.run_id)`` finishes it from any process.

    Args:
        data: The contacts: a DataFrame (its ``column`` is read) or a Series of
            contact ids or email addresses. It is never changed.
        list_ids: {shared}
        column: The column of ``data`` that holds the contacts (contact ids or email
            addresses). Default ``"contact_id"``.
        options: {shared:change_options}

            ``client``
                {shared:client}
            ``dry_run``
                {shared:dry_run}
            ``wait``
                {shared:wait}
            ``progress``
                {shared:progress}
            ``timeout``
                {shared:timeout}
            ``wait_for_quota``
                {shared:wait_for_quota}
            ``snapshot``
                {shared:snapshot}
            ``verify``
                {shared:verify}
            ``by``
                {shared:by}
            ``journal``
                {shared:record}

    Returns:
        A :class:`~ccpandas.RemovalResult`: ``result.rows`` has one row per input row
        (same index) with its status.

    Raises:
        TypeError: An argument of the wrong type (before anything is sent).
        ValueError: An argument out of range, e.g. a negative ``timeout`` (before
            anything is sent).
        PlanError: Input that cannot be planned (a missing column, an unknown list
            name), before any removal is sent.

    Example:
        >>> result = remove_from_lists(df, ["Newsletter"], client=client)  # doctest: +SKIP
    """
    return _change("remove_from_lists", data, list_ids, column, options)


@shared_params
def add_to_lists(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    **options: Unpack[ChangeOptions],
) -> RemovalResult:
    """Put the contacts in ``data[column]`` on the lists ``list_ids`` (UUIDs or exact
    names), with ``POST /activities/add_list_memberships``. No contact is created.

    With a membership snapshot only contacts not yet on a list are sent for it (rows
    on every list already say ``already_member``); addresses on none of the lists are
    looked up (``not_a_contact`` when no contact has one), the cheaper way: one
    ``GET /contacts?email=`` each, or every contact read. Then it runs, is verified
    and journaled exactly as :func:`remove_from_lists`; ``result.undo()`` takes the
    added contacts off again.

    Args:
        data: The contacts: a DataFrame (its ``column`` is read) or a Series of
            contact ids or email addresses. It is never changed.
        list_ids: {shared}
        column: The column of ``data`` that holds the contacts. Default ``"contact_id"``.
        options: {shared:change_options}

    Returns:
        A :class:`~ccpandas.RemovalResult` (shown as ``AddResult``): ``rows`` per input
        row, ``changes`` per (contact, list) pair with ``action`` and ``outcome``.

    Example:
        >>> result = add_to_lists(df, ["Newsletter"], client=client)  # doctest: +SKIP
    """
    return _change("add_to_lists", data, list_ids, column, options)


@shared_params
def sync_lists(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    max_removed: float | int | None = 0.5,
    **options: Unpack[ChangeOptions],
) -> RemovalResult:
    """Make each list of ``list_ids`` hold exactly the contacts of ``data[column]``
    that exist: add the missing ones and remove every other member, in one run, one
    journal entry and one result. It always reads the lists first.

    Args:
        data: The segment: a DataFrame (its ``column`` is read) or a Series of contact
            ids or email addresses. It is never changed.
        list_ids: The lists to sync: UUIDs or exact names of active lists.
        column: The column of ``data`` that holds the contacts. Default ``"contact_id"``.
        max_removed: The guard against a wrong or empty segment: the most a sync may
            remove from any one list, as a share of its current members (a float in
            (0, 1]) or a count (an int). More is a :class:`~ccpandas.PlanError`
            before any request is sent. None turns it off. Default 0.5.
        options: {shared:change_options}

    Returns:
        A :class:`~ccpandas.RemovalResult` (shown as ``SyncResult``); its ``changes``
        hold the adds and the removals (``action``).

    Example:
        >>> result = sync_lists(segment, ["Newsletter"], client=client)  # doctest: +SKIP
    """
    return _change("sync_lists", data, list_ids, column, options, max_removed=max_removed)


def _change(
    call: str,
    data: Any,
    list_ids: Any,
    column: str,
    given: Mapping[str, Any],
    max_removed: float | int | None = None,
) -> RemovalResult:
    """Remove, add or sync the contacts of a frame: :func:`remove_from_lists`,
    :func:`add_to_lists`, :func:`sync_lists` and their ``df.cc`` methods (``given``: the
    call's :class:`ChangeOptions` only; a sync's ``max_removed`` apart), ``call`` the
    public call's name (named in an error about its options; its first word, the kind).
    Every argument is checked before anything is read or sent; then one bundle of
    options goes down."""
    kind = RunKind(call.partition("_")[0])  # "add_to_lists": add
    o, options, choice = _entry(given, ChangeOptions, call)
    client = o["client"]
    max_removed = max_removed_value(max_removed)
    targets = list_values(list_ids)
    options = options.started(client)  # one display, and the run's quota check
    plan = _plan_list(
        data,
        targets,
        column=column,
        client=client,
        choice=choice,
        options=options,
        kind=kind,
        max_removed=max_removed,
    )
    return execute(plan, client, options, journal=o["journal"])


@shared_params
def remove_list_memberships(
    client: Client | None,
    list_ids: str | Iterable[str],
    *,
    source: Source,
    exclude: pd.Series | Iterable[str] | None = None,
    confirm_all_active: bool = False,
    confirm_empty: bool = False,
    max_removed: float | int | None = 0.5,
    **options: Unpack[SourceOptions],
) -> RemovalResult:
    """Remove the contacts that ``source`` selects from ``list_ids``.

    The API selects the contacts (one ``POST`` per request, no contact ids sent). With a
    membership snapshot the plan previews who of each target list will leave and
    ``result.changes`` gives the exact outcome per (contact, list) pair.

    Args:
        client: The :class:`~ccpandas.Client` to use. None uses the default
            client (:func:`ccpandas.get_default_client`).
        list_ids: {shared}
        source: Which contacts leave, a :class:`~ccpandas.Source`:
            ``Source.contact_ids([...])``, ``Source.list_ids([...])`` (the members of
            those lists), ``Source.tag_ids([...])``, ``Source.engagement_level(...)``
            or ``Source.all_active_contacts()`` (needs ``confirm_all_active=True``).
        exclude: Contacts to keep (contact ids, or a DataFrame column of them); only
            with ``Source.list_ids`` and ``Source.all_active_contacts`` sources.
            None (the default) keeps nobody back.
        confirm_all_active: Must be True to remove with
            ``Source.all_active_contacts()``: a guard against emptying the lists by
            mistake. Default False.
        confirm_empty: Must be True to accept an empty ``exclude``, which keeps
            nobody; otherwise that is a :class:`~ccpandas.PlanError`. Default False.
            True also lifts ``max_removed``.
        max_removed: The guard of ``keep_in_lists``, for a ``Source.list_ids`` that
            names a target list (its own members leave, all but ``exclude``): the most
            this may remove from one list, a share of its members (a float in (0, 1]),
            a count (an int), or None (no guard). More is a
            :class:`~ccpandas.PlanError` before any change is sent. Counting needs the
            lists read (``snapshot="auto"`` reads them; ``snapshot=False`` needs
            ``max_removed=None``). Other sources ignore it. Default 0.5.
        options: {shared:source_options}

    Returns:
        A :class:`~ccpandas.RemovalResult`; ``result.activities`` has one row per
        request.

    Raises:
        TypeError: An argument of the wrong type, e.g. a ``source`` that is not a
            ``Source`` (before anything is sent).
        ValueError: An argument out of range (before anything is sent).
        PlanError: A selection that cannot be planned (an unknown list or tag name,
            ``exclude`` with a source it does not go with), before anything is sent.

    Example:
        >>> remove_list_memberships(  # doctest: +SKIP
        ...     client, ["Newsletter"], source=Source.tag_ids([churned_tag_id])
        ... )
    """
    confirm = {"confirm_all_active": confirm_all_active, "confirm_empty": confirm_empty}
    return _by_source(client, list_ids, source, exclude, options, confirm, None, max_removed)


def _by_source(
    client: Any,
    lists: Any,
    source: Any,
    exclude: Any,
    given: Mapping[str, Any],
    confirm: dict[str, Any],
    keep: tuple[pd.DataFrame, str] | None = None,
    max_removed: float | int | None = None,
) -> RemovalResult:
    """Remove the contacts a source selects: :func:`remove_list_memberships` and
    ``df.cc.keep_in_lists`` (``given``: the call's :class:`SourceOptions` only;
    ``confirm``: its confirm flags; for the accessor ``keep``, its frame and column: the
    ``exclude`` set, and the source defaults to the members of the lists themselves;
    and ``max_removed``, its guard, counted on a read of the lists as a sync's is).
    Every argument is checked before anything is read or sent; list names are resolved
    later, in one request."""
    call = "remove_list_memberships" if keep is None else "keep_in_lists"
    checked = keep is None or source is not None
    o, options, choice = _entry(
        given,
        SourceOptions,
        call,
        client,
        (lambda: check_source(source)) if checked else None,
        **confirm,
    )
    exclude = exclude if keep is None else frame_column(*keep)
    max_removed = max_removed_value(max_removed)
    empty = exclude is None or (hasattr(exclude, "__len__") and not len(exclude))
    if confirm["confirm_empty"] and empty:
        max_removed = None  # emptying the lists is confirmed already
    if max_removed is not None and keep is not None:
        choice = _guarded(choice, max_removed, call)
    targets = list_values(lists)
    # A source of the targets' own members (by name: checked again once resolved)
    own = keep is None and source.kind is SourceKind.LIST_IDS
    if max_removed is not None and own and any(v in targets for v in source.values):
        choice = _guarded(choice, max_removed, call)
    options = options.started(client)  # one display, and the run's quota check
    plan = _plan_source(
        client,
        targets,
        source if source is not None else Source.list_ids(targets),
        exclude,
        choice=choice,
        options=options,
        max_removed=max_removed,
        keep=keep is not None,
        **confirm,
    )
    return execute(plan, client, options, journal=o["journal"])


def _guarded(choice: SnapshotChoice, max_removed: float | int, call: str) -> SnapshotChoice:
    """The snapshot choice of a ``call`` guarded by ``max_removed``: the lists are read
    (``"auto"`` reads), or a PlanError for ``snapshot=False``, before any change."""
    if choice.snapshot is False:
        raise PlanError(
            f"{call} reads the lists first to count who would leave (its guard, "
            f"max_removed={max_removed!r}): snapshot=False cannot count them; pass "
            "max_removed=None to remove without the guard"
        )
    return choice if choice.snapshot != "auto" else dataclasses.replace(choice, snapshot=True)


def check_flags(**flags: Any) -> None:
    """Each of ``flags`` (``journal=``, ``confirm_empty=``... of the public calls) is
    True or False: a TypeError naming the first that is not, before anything is sent.

    Example:
        >>> check_flags(journal="no")
        Traceback (most recent call last):
        ...
        TypeError: journal must be True or False, not 'no' (str)
    """
    for name, flag in flags.items():
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, not {flag!r} ({type(flag).__name__})")


@shared_params
def wait(
    result: RemovalResult, timeout: float | None = None, progress: Any = None
) -> RemovalResult:
    """Resume polling a result returned with ``wait=False``; same as ``result.wait()``.

    Args:
        result: The :class:`~ccpandas.RemovalResult` to follow.
        timeout: {shared}
        progress: {shared:progress_keep}

    Returns:
        ``result`` itself, brought up to date.

    Example:
        >>> result = ccpandas.wait(result, timeout=600)  # doctest: +SKIP
    """
    if not isinstance(result, RemovalResult):
        raise TypeError(
            # the value is not shown: a string given here may be a token
            f"ccpandas.wait takes a run's result (a RemovalResult), not a "
            f"{type(result).__name__}; for a run id, ccpandas.resume(run_id) follows it"
        )
    return result.wait(timeout=timeout, progress=progress)


#: The columns of :func:`runs`.
RUN_COLUMNS = (
    "run_id",
    "started_at",
    "updated_at",
    "lists",
    "list_names",
    "contacts",
    "rows",
    "source",
    "batches",
    "accepted",
    "completed",
    "failed",
    "uncertain",
    "state",
    "progress",
    "stop_reason",
    "base_url",
    "removed_memberships",
    "kind",
    "parent",
    "restored_memberships",
    "added_memberships",
    "synced_memberships",
    "outcome",
    "requests_spent",
    "requests_spent_at_least",
    "undone_by",
)
#: What :func:`runs` says about a run.
RUN_STATES = {
    RunState.RUNNING: "a process is driving it right now",
    RunState.COMPLETED: "every sendable pair ended as asked (rows never sendable are "
    "skipped, not failures): the result's outcome, result.ok and the CLI's exit 0",
    RunState.FAILED: "every request was answered, but some pair did not end as asked: an "
    "activity failed or was refused (result.retry_failed() sends those again), or a "
    "re-read shows contacts still members",
    RunState.PROCESSING: "every request was accepted; activities were still running at "
    "the last look: resume() follows them",
    RunState.STOPPED: "the run was cut short (quota, error, interruption, a dead process) "
    "with requests never accepted, activities not followed to their end or its "
    "verification not made: resume() sends the first, follows the others and reads",
}
# What a batch's state counts as in runs(): done well, done badly (nothing more will
# happen without retry_failed), or followed by the API.
_GOOD = BatchState.COMPLETED
_BAD = (*BatchState.bad_states(), BatchState.REJECTED, BatchState.UNKNOWN)
_BUSY = tuple(s for s in BatchState if s.busy)


@shared_params
def runs(*, journal: JournalDB | None = None) -> pd.DataFrame:
    """Every run in the journal, newest first: one row each with ``run_id``,
    ``started_at``, ``lists`` (how many target lists), ``list_names`` ("Newsletter,
    Customers": names where the journal knows them, ids otherwise), ``contacts`` (None when the
    API selected them), ``state`` (see :data:`RUN_STATES`) and ``progress`` (the
    share of requests whose activity completed, 0 to 1), ``removed_memberships``
    (what the verification read found removed per list, e.g. "Newsletter 43,
    Customers 16"; None for runs without one), ``kind`` (``remove``, ``add``, ``sync``
    or ``undo``), ``added_memberships`` and ``synced_memberships`` (the same for an add
    and a sync),
    ``parent`` (an undo: the run it reverses), ``restored_memberships`` (an undo's
    verified memberships back per list), ``outcome`` (the run's summary word, as
    ``result.summary()`` and the CLI say it: ``completed``, ``failed``,
    ``quota_exceeded``...; None for a run driven now, or journaled without one),
    ``requests_spent`` (every request the run spent, as its summary's ``spent``; None
    when journaled without the count), ``requests_spent_at_least`` (True: that count is
    a lower bound, a process driving the run was killed or drives it still),
    ``undone_by`` (the undo that reverted the run, as its summary's; None), and more.
    A missing text value (``stop_reason`` of a completed run, say) is always None, in an
    object column.

    Args:
        journal: {shared}

    Returns:
        A DataFrame with the columns of :data:`RUN_COLUMNS`, one row per run; no rows when
        nothing was journaled yet.

    Example:
        >>> ccpandas.runs()[["run_id", "state", "progress"]]  # doctest: +SKIP
    """
    db = journal or open_journal()
    records = db.query(
        # Named as runs()' columns; the counts are 0 for a run without batches.
        "SELECT r.run_id, r.created_at AS started_at, r.updated_at, r.list_ids, r.plan, "
        "r.n_contacts AS contacts, r.n_rows AS rows, r.source, r.n_batches AS batches, "
        "r.status, r.stop_reason, r.base_url, r.kind, r.parent, r.outcome, r.spent, "
        "IFNULL(SUM(b.activity_id IS NOT NULL), 0) AS accepted, "
        "IFNULL(SUM(b.state = ?), 0) AS completed, "
        f"IFNULL(SUM(b.state IN ({sql_list(_BAD)})), 0) AS failed, "
        # Unanswered: uncertain, or an attempt a dead process left on its way (a resume
        # turns it uncertain): exactly the batches a resume sends again. A POST on its
        # way in a run driven now is not (yet) without an answer: `sending` (below).
        "IFNULL(SUM(b.state = ?), 0) AS uncertain, "
        "IFNULL(SUM(b.state != ? AND EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = b.run_id "
        "AND a.batch = b.batch AND a.outcome = ?)), 0) AS sending, "
        f"IFNULL(SUM(b.activity_id IS NOT NULL AND b.state IN ({sql_list(_BUSY)})), 0) AS busy "
        "FROM runs r LEFT JOIN batches b ON b.run_id = r.run_id "
        "GROUP BY r.run_id ORDER BY r.created_at DESC",
        (_GOOD, BatchState.UNCERTAIN, BatchState.UNCERTAIN, Outcome.SENDING),
    )
    from ccpandas.store.snapshots import run_summaries

    verified = run_summaries(db)  # "Newsletter 43, Customers 16", from the verification
    out = []
    for rec in records:
        with db.readable(rec["run_id"]):  # a damaged record: a JournalError naming it
            out.append(_runs_row(rec, db, verified))
    # Object columns, then fixed dtypes: inferred, a text column with no value would be
    # None in one call and NaN (pandas' string dtype) in another.
    frame = pd.DataFrame(out, columns=list(RUN_COLUMNS), dtype=object).astype(_RUN_DTYPES)
    for col in ("started_at", "updated_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601")
    return frame


def _runs_row(rec: dict[str, Any], db: JournalDB, verified: dict[str, str]) -> dict[str, Any]:
    """One run's row of :func:`runs`, from its record ``rec``."""
    state = _run_state(rec, db)
    reason = rec["stop_reason"]
    if rec["status"] == "running" and state is not RunState.RUNNING:
        reason = STOP_DRIVER_ENDED  # as the rebuilt result's summary says
    row = {col: rec.get(col) for col in RUN_COLUMNS}  # None where the journal has none
    spent, at_least = journaled_spent(rec["spent"])
    row.update(
        lists=len(json.loads(rec["list_ids"])),
        list_names=_list_names(rec),
        state=str(state),
        progress=rec["completed"] / rec["batches"] if rec["batches"] else 1.0,
        stop_reason=None if state in (RunState.RUNNING, RunState.COMPLETED) else reason,
        uncertain=rec["uncertain"] + (rec["sending"] if state is not RunState.RUNNING else 0),
        outcome=rec["outcome"] if rec["status"] != "running" else None,
        # Every request spent, as the result's summary says; None: not journaled.
        requests_spent=None if spent is None else sum(spent.values()),
        requests_spent_at_least=at_least,
        undone_by=(db.undone_by(rec["run_id"]) or {}).get("run_id"),  # as its summary says
    )
    # What a re-read verified, in the column of the run's kind ("removed_memberships").
    row[kind_of(rec["kind"]).verified_column] = verified.get(rec["run_id"])
    return row


def _run_state(rec: dict[str, Any], db: JournalDB) -> RunState:
    """A run's ``state`` in :func:`runs`: the word its summary left in the journal
    (:attr:`RunOutcome.run_state <ccpandas.vocab.RunOutcome.run_state>`, the same as
    the result's and the CLI's); for a run driven now, one that died while driven, or
    one journaled before outcomes were kept, the word its batches' states give."""
    n, completed, failed = rec["batches"], rec["completed"], rec["failed"]
    accepted, busy = rec["accepted"], rec["busy"]
    if rec["status"] == "running":
        if db.is_driven(rec["run_id"]):
            return RunState.RUNNING
    elif rec["outcome"]:
        return RunOutcome(rec["outcome"]).run_state
    if completed == n:  # killed before the re-read it asked for: stopped, as rebuilt
        died = rec["status"] == "running"
        return RunState.STOPPED if died and _unverified(rec, db) else RunState.COMPLETED
    if completed + failed == n:
        return RunState.FAILED
    if accepted + failed == n and busy:
        return RunState.PROCESSING
    return RunState.STOPPED


def _unverified(rec: dict[str, Any], db: JournalDB) -> bool:
    """A run whose process died with its verification due: not when it asked for none
    or its verification is kept (the journal's newest, complete); else rebuilt to know."""
    from ccpandas.store.snapshots import kept_after

    if json.loads(rec["plan"] or "{}").get("verify") is False or kept_after(db, rec["run_id"]):
        return False
    try:
        return rebuild_run(db, rec["run_id"], Runner(None)).verification_due
    except CCError:  # not rebuildable here: its batches' word
        return False


# The dtypes of runs()' columns; every other column is object, with None when missing.
_COUNTS = ("lists", "rows", "batches", "accepted", "completed", "failed", "uncertain")
_RUN_DTYPES = dict.fromkeys(_COUNTS, "int64") | {
    "contacts": "Int64",
    "requests_spent": "Int64",
    "requests_spent_at_least": "bool",
    "progress": "float64",
}


def _list_names(rec: dict[str, Any]) -> str:
    """ "Newsletter, Customers": the target lists by name where the journal knows it
    (from the run's membership snapshot), by id otherwise."""
    ids = json.loads(rec["list_ids"])
    meta = json.loads(rec["plan"] or "{}")
    names = {
        **(meta.get("list_names") or {}),
        **((meta.get("membership") or {}).get("list_names") or {}),
    }
    return ", ".join(str(names.get(i, i)) for i in ids)


@shared_params
def run_result(
    run_id: str,
    client: Client | None = None,
    *,
    runner: Runner | None = None,
    journal: JournalDB | None = None,
) -> RemovalResult:
    """Rebuild the :class:`~ccpandas.RemovalResult` of ``run_id`` from the journal.

    Nothing is sent: ``result.rows`` (one row per input row, the input's index) and
    ``result.activities`` show what was last recorded. ``result.resume()``,
    ``wait()``, ``retry_failed()`` and ``undo()`` continue it with ``client`` (or the
    default client).

    Args:
        run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
            ``"20250301-231501-7f3a2c"``.
        client: The :class:`~ccpandas.Client` that later ``result.resume()``, ``wait()``,
            ``retry_failed()``, ``verify()`` or ``undo()`` calls use. None (the default)
            uses the default client (:func:`ccpandas.get_default_client`) when one is
            needed, checked to talk to the run's API; rebuilding the result sends nothing.
        runner: A :class:`~ccpandas.run.runner.Runner` whose settings (clock, polling,
            limits) the run uses instead of the defaults; for tests. None (the default) uses
            the defaults.
        journal: {shared}

    Returns:
        The run's :class:`~ccpandas.RemovalResult` (of any kind: an undo's too).

    Raises:
        PlanError: ``run_id`` is None: the run was made with ``journal=False``.
        TypeError: ``run_id`` is not a string, or ``client`` is not a ``Client``.

    Example:
        >>> result = ccpandas.run_result("20250301-231501-7f3a2c")  # doctest: +SKIP
        >>> result.rows["status"].value_counts()  # doctest: +SKIP
    """
    return _rebuild(run_id, client, runner=runner, journal=journal)


def _rebuild(
    run_id: str,
    client: Any,
    *,
    runner: Runner | None,
    journal: JournalDB | None = None,
) -> RemovalResult:
    """The result of ``run_id``, its runner built with everything it needs: ``client``
    (checked; or the template's, else the default client once it reads or sends)."""
    check_client(client)
    if run_id is None:
        # result.run_id of a run made with journal=False: nothing was recorded.
        raise PlanError(
            "run_id is None: that run was made with journal=False, so the journal has "
            "nothing to resume or undo it from; result.resume() continues it in the process "
            "that made it"
        )
    if not isinstance(run_id, str):
        raise TypeError(f"run_id must be a string (result.run_id), not {type(run_id).__name__}")
    if runner is not None and not isinstance(runner, Runner):
        raise TypeError(f"runner must be a ccpandas.run.runner.Runner, not {type(runner).__name__}")
    db = journal or open_journal()
    run_journal = RunJournal.open(run_id, db=db)
    template = runner or Runner(None)
    api = client if client is not None else template.client
    _check_same_api(run_journal, api)
    # Without a client: the default client once it reads or sends (Runner.use_client).
    default = None if api is not None else lambda: _check_same_api(run_journal, pick_client(None))
    runner = template.replace(client=api, journal=run_journal, default_client=default)
    with db.readable(run_id):
        return rebuild_run(db, run_id, runner)


@shared_params
def resume(
    run_id: str,
    client: Client | None = None,
    *,
    wait: bool = True,
    timeout: float | None = None,
    progress: Any = "auto",
    wait_for_quota: bool = False,
    runner: Runner | None = None,
) -> RemovalResult:
    """Continue a journaled run, in this process or any other: follow the activities
    already accepted, send only the batches with no accepted activity, then wait. A
    batch whose request got no usable answer (a dead process, a lost connection, a 201
    that could not be read) is sent again and counted as re-sent: both bulk actions are
    idempotent, and an activity is never taken for a batch's by its shape (see the
    Reliability guide). Failed activities and requests the API refused (4xx) are not
    sent again: ``result.retry_failed()`` does that.

    Args:
        run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it, e.g.
            ``"20250301-231501-7f3a2c"``.
        client: The :class:`~ccpandas.Client` to use. None (the default) uses the
            default client (:func:`ccpandas.get_default_client`). It must talk to the API
            the run started on.
        wait: {shared}
        timeout: {shared}
        progress: {shared}
        wait_for_quota: {shared}
        runner: A :class:`~ccpandas.run.runner.Runner` whose settings (clock, polling,
            limits) the run uses instead of the defaults; for tests. None (the default) uses
            the defaults.

    Returns:
        The run's :class:`~ccpandas.RemovalResult` (of any kind: an undo's too), continued.

    Raises:
        TypeError: An argument of the wrong type (before anything is sent).
        ValueError: An argument out of range, e.g. a negative ``timeout``.
        CCError: ``client`` talks to another API than the one the run started on.
        QuotaShortError: What is left to send (its batches, polls and verification) does
            not fit in what the shared ledger leaves of today's quota, without
            ``wait_for_quota``: nothing is sent.
        PlanError: A run whose contacts the API selects (``keep_in_lists``,
            ``remove_list_memberships``, with a snapshot) would now remove members its
            plan did not show (its lists, read again, grew): nothing is sent; plan it
            again. Or the run was undone (the message names the undo): nothing is sent.

    Example:
        >>> result = ccpandas.resume("20250301-231501-7f3a2c", client=client)  # doctest: +SKIP
        >>> result.ok  # doctest: +SKIP
        True
    """
    options = RunOptions.pick(locals())
    return _rebuild(run_id, client, runner=runner)._continue(options)


def resume_frame(
    data: pd.DataFrame | pd.Series,
    run_id: str,
    options: RunOptions,
    *,
    column: str = "contact_id",
    client: Client | None = None,
) -> RemovalResult:
    """Resume ``run_id`` for the frame it started from (``df.cc.resume``, which checks
    the arguments and lists the options): the result's rows keep the frame's exact index
    and values. A frame that would not produce the run's requests raises
    :class:`~ccpandas.PlanError` and nothing is sent.
    """
    result = _rebuild(run_id, client, runner=None)
    journaled = result.plan
    if result._kind.changes is not None:  # a kind without input rows (an undo)
        raise PlanError(
            f"run {run_id} is an undo, not a DataFrame's removal; use ccpandas.resume({run_id!r})"
        )
    if journaled.source.kind.api_selects:
        raise PlanError(
            f"run {run_id} removed contacts selected by the API ({journaled.source.kind.value}),"
            f" not a DataFrame's; use ccpandas.resume({run_id!r})"
        )
    membership = journaled.membership
    if membership is not None and membership.key == "email":
        # -- membership snapshot: the journal keeps no address, so the frame's emails
        # cannot be matched again; the frame must be the one the run started from.
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame({column: data})
        if column not in frame.columns or not frame.index.equals(journaled.rows.index):
            raise PlanError(
                f"this frame does not match run {run_id}: the run had {journaled.n_rows:,} "
                f"rows keyed by email (column {column!r}); pass the frame it started from, "
                f"or use ccpandas.resume({run_id!r}).",
                column=column,
            )
        rows = journaled.rows.copy()
        rows.insert(0, "email", frame[column])
    else:
        plan = _replanned(data, journaled, column)
        if len(plan.rows) != len(journaled.rows) or plan_digest(plan.batches) != plan_digest(
            journaled.batches
        ):
            raise PlanError(
                f"this frame does not match run {run_id}: it plans {_sizes(plan)}, the run "
                f"had {_sizes(journaled)}. Pass the frame the run started from, or "
                f"use ccpandas.resume({run_id!r}).",
                column=column,
            )
        rows, column = plan.rows, plan.column
    result.plan = dataclasses.replace(journaled, rows=rows, column=column)
    return result._continue(options)


def _sizes(plan: RemovalPlan) -> str:
    """ "3 rows and 3 contacts in 1 request": a plan's size, for a mismatch message."""
    rows, contacts = plural(plan.n_rows, "row"), plural(plan.n_contacts or 0, "contact")
    return f"{rows} and {contacts} in {plural(plan.n_requests, 'request')}"


def _replanned(data: Any, journaled: RemovalPlan, column: str) -> RemovalPlan:
    """``data`` planned (by contact id) as the run ``journaled`` was: its lists, rate,
    quota and kind, and its membership snapshot when it had one."""
    same: dict[str, Any] = {"column": column, "rate": journaled.rate}
    same["daily_quota"] = journaled.daily_quota
    membership = journaled.membership
    if membership is None:
        return as_kind(plan_removal(data, journaled.list_ids, **same), journaled.kind)
    from ccpandas.plan.membership import plan_membership_removal

    targets, snapshot = journaled.list_ids, membership.snapshot
    plan = plan_membership_removal(
        data, targets, snapshot, by="contact_id", kind=journaled.kind, **same
    )
    return dataclasses.replace(plan, membership=membership)


@shared_params
def undo(
    run_id: str,
    client: Client | None = None,
    *,
    dry_run: bool = False,
    wait: bool = True,
    progress: Any = "auto",
    timeout: float | None = None,
    force: bool = False,
    runner: Runner | None = None,
) -> Any:
    """Put back exactly the memberships run ``run_id`` removed, and take off those it
    added (an add or a sync), from the journal, in any process.

    The pairs are those whose outcome was ``removed`` (or ``added``) in the run's
    verified ``changes``. A fresh read first decides each pair: ``restore``,
    ``already_member`` (back on the list: no request spent), or ``cannot_restore``
    (``deleted`` contact, ``list_deleted``, ``list_limit``: the contact is on 50 lists
    now). The adds go out as ``POST /activities/add_list_memberships`` (the
    removals of an add's pairs as ``remove_list_memberships``), contacts
    grouped by identical list sets, or by list when that takes fewer requests, as a
    journaled run of kind ``undo`` (``ccpandas.resume(undo_id)`` continues it after a
    crash), re-read at the end: ``undo_result.changes`` says ``restored`` /
    ``already_member`` / ``cannot_restore`` per pair (``removed`` for a pair an add put
    on a list). Unsubscribed contacts get their
    list memberships back and stay unsubscribed.

    ``dry_run=True`` returns the preview (the plan's text: per-list counts, cost, what
    cannot be restored and why) and sends nothing. A run taken without a membership
    snapshot (``snapshot=True`` would have made it possible), or one not finished or
    not verified, cannot be undone: a :class:`~ccpandas.PlanError`. A run whose
    contacts the API selects (``keep_in_lists``) that stopped part way (its resume
    refused once its lists grew) is undone as far as it ran: the pairs its requests that
    went out could have removed (their own source lists' members in its snapshot) that
    the fresh read finds gone, and the preview and result say so; once undone, it is
    not resumed. Nor, without
    ``force=True``, can a run whose pairs a later run changed again: the preview names
    those runs (undoing would silently revert them for those pairs).

    Args:
        run_id: The id of the run to undo (a removal, an add or a sync), as ``result.run_id`` and
            ``ccpandas.runs()`` show it, e.g. ``"20250301-231501-7f3a2c"``.
        client: The :class:`~ccpandas.Client` to use. None (the default) uses
            the default client (:func:`ccpandas.get_default_client`). It must talk to the
            API the run started on.
        dry_run: True reads the lists and returns the preview, an
            :class:`~ccpandas.RemovalResult` marked as a dry run (per-list counts,
            cost, what cannot be restored and why), without sending any change. False (the
            default) sends the undo.
        wait: {shared}
        progress: {shared}
        timeout: {shared}
        force: True undoes anyway: a run already undone, one whose pairs later runs
            changed again (the preview names them; undoing reverts them too), or a
            stopped run with a request sent without an answer (its activity may still
            take members off after the undo). False (the default) refuses each with a
            :class:`~ccpandas.PlanError` saying why.
        runner: A :class:`~ccpandas.run.runner.Runner` whose settings (clock, polling,
            limits) the run uses instead of the defaults; for tests. None (the default) uses
            the defaults.

    Returns:
        The undo's :class:`~ccpandas.RemovalResult`; its ``changes`` say ``restored``,
        ``already_member`` or ``cannot_restore`` per pair.

    Raises:
        PlanError: The run cannot be undone (no membership snapshot, not finished or not
            verified, already undone or being undone, by a call started even at the same
            moment: the message names that undo; changed again by a later run without
            ``force=True``; a stopped run whose contacts the API selects: while its
            activities still run or a request of it got no answer).
        ~ccpandas.errors.RunLockedError: Another process holds the run (its
            ``verify()`` or retry) for more than 10 s; nothing was sent: undo it again
            once that ends.
        TypeError: An argument of the wrong type (before anything is sent).

    Example:
        >>> preview = ccpandas.undo("20250301-231501-7f3a2c", dry_run=True)  # doctest: +SKIP
        >>> done = ccpandas.undo("20250301-231501-7f3a2c")  # doctest: +SKIP
        >>> done.changes["outcome"].value_counts()  # doctest: +SKIP
    """
    options = RunOptions.pick(locals())
    check_flags(force=force)
    parent = _rebuild(run_id, client, runner=runner)
    return parent._undo(parent.runner.client, options, force)


def _check_same_api(journal: RunJournal, client: Any) -> Any:
    """``client``, refused when it talks to another API than the run's ``journal``'s."""
    base_url = getattr(client, "base_url", None)
    if base_url is None or journal.base_url is None or base_url == journal.base_url:
        return client
    raise CCError(
        f"run {journal.run_id} was sent to {journal.base_url}; this client talks to "
        f"{base_url}. Resume it with a client for the same API (and account)."
    )


@shared_params
def doctor(client: Client | None = None) -> DoctorReport:
    """Check what ccpandas assumes about the API against the account: read-only.

    Sends 7 GET requests (5 when the account has fewer than two lists; more only when
    the client retries a failed answer), never a write: the first page of lists (one list),
    the next page and the last one, one contact with its list memberships, one
    activity, a contact that does not exist (the 404's body) and one request without
    a token (the 401's body). It compares them, the access token's claims (decoded,
    never verified nor shown) and the server's clock with :data:`ASSUMPTIONS`.

    Args:
        client: {shared}

    Returns:
        A :class:`DoctorReport`: ``str()`` of it is the table, ``.ok`` is False when an
        assumption differs, ``.write_report(path)`` writes the anonymised shapes.

    Raises:
        AuthError: No token, or the API refused it.
        QuotaExceededError: The daily quota is spent.
        ServerError: The API kept failing (a 5xx after the client's retries): an outage
            says nothing of its shapes.
        TransportError: No answer from the API.

    Example:
        >>> report = ccpandas.doctor(client)  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    from ccpandas.read.assumptions import check_account

    return check_account(pick_client(client))
