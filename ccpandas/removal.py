"""The public removal functions: plan, then run, then return a RemovalResult.

Example:
    >>> import ccpandas
    >>> result = ccpandas.remove_from_lists(df, ["Newsletter"], client=client)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Unpack

import pandas as pd

from ccpandas._docs import shared_params
from ccpandas.errors import PlanError
from ccpandas.models import Source, SourceKind
from ccpandas.plan.ids import holds_text
from ccpandas.plan.membership import detect_key
from ccpandas.plan.planner import (
    RemovalPlan,
    frame_column,
    list_names,
    list_values,
    names_not_looked_up,
    plan_removal,
    plan_source_removal,
    resolve_list_ids,
    retarget,
    stand_ins,
)
from ccpandas.run.batch import BatchRun
from ccpandas.run.options import (
    RUN_OPTION_DEFAULTS,
    RunOptions,
    check_client,
    check_run_options,
    check_source,
)
from ccpandas.run.progress import NullReporter, make_reporter
from ccpandas.run.result import RemovalResult, resume_call_text
from ccpandas.run.runner import Journal, NullJournal, Runner

if TYPE_CHECKING:
    from ccpandas.client.http import Client

log = logging.getLogger("ccpandas")

__all__ = [
    "check_client",
    "check_source",
    "plan_list_removal",
    "remove_from_lists",
    "remove_list_memberships",
    "run_plan",
    "wait",
]


def _client(client: Client | None) -> Client:
    from ccpandas.auth.connect import get_default_client

    check_client(client)
    return client if client is not None else get_default_client()


def target_lists(list_ids: str | Iterable[str], client: Client | None) -> tuple[str, ...]:
    """Resolve list UUIDs and exact names of active lists to list ids.

    Names need a client (one ``GET /contact_lists`` listing); UUIDs do not. Deleted
    lists never match a name: a name only a deleted list has is a PlanError saying so,
    before anything is sent.

    Example:
        >>> target_lists(["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"], None)
        ('2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f',)
    """
    values = list_values(list_ids)  # read once, refused here before any request
    if list_names(values):
        from ccpandas.readers import resolve_list_names

        return resolve_list_names(values, _client(client))
    return resolve_list_ids(values, None)


def _plan_frame(data: Any, list_ids: Any, column: Any, client: Client | None) -> RemovalPlan:
    """Plan ``data[column]``: the data are checked (pure) before list names are
    resolved (a request), so bad data never costs one."""
    values = list_values(list_ids)
    names = list_names(values)
    if not names:
        return plan_removal(data, values, column=column)
    try:
        plan = plan_removal(data, stand_ins(values), column=column)
    except PlanError as exc:
        raise names_not_looked_up(exc, names) from None
    return retarget(plan, target_lists(values, client))


def _plan_source(
    client: Client | None,
    list_ids: Any,
    source: Any,
    exclude: Any,
    *,
    snapshot: bool | str = False,
    verify: bool = True,
    progress: Any = False,
    **confirm: bool,
) -> RemovalPlan:
    """Plan a removal by ``source``: everything is checked (pure, with stand-ins for
    list names) before the names of the target and source lists are resolved, in one
    ``GET /contact_lists``; tag names take one ``GET /contact_tags``. With a snapshot,
    the plan previews who leaves."""
    targets = list_values(list_ids)
    by_list = isinstance(source, Source) and source.kind is SourceKind.LIST_IDS
    lists = list_values(source.values, "Source.list_ids") if by_list else ()
    if isinstance(source, Source) and source.kind is SourceKind.CONTACT_IDS:
        if exclude is not None:
            raise PlanError("exclude only goes with Source.list_ids or Source.all_active_contacts")
        ids = pd.Series(list(source.values), dtype=object)
        return plan_list_removal(
            ids,
            targets,
            client=client,
            snapshot=snapshot,
            verify=verify,
            by="contact_id",
            progress=progress,
        )
    by_tag = isinstance(source, Source) and source.kind is SourceKind.TAG_IDS
    tags = list(source.values) if by_tag else []
    names, tag_names = list_names(targets + lists), list_names(tags)
    if names or tag_names:
        # Checked with stand-ins first: bad input never costs the name lookups.
        checked = source
        if by_list:
            checked = Source.list_ids(stand_ins(lists))
        elif tag_names:
            checked = Source.tag_ids(stand_ins(tags))
        try:
            plan_source_removal(checked, stand_ins(targets), exclude=exclude, **confirm)
        except PlanError as exc:
            raise names_not_looked_up(exc, names + tag_names) from None
    if names:
        resolved = target_lists(targets + lists, client)
        if by_list:
            source = Source.list_ids(resolved[len(targets) :])
        targets = resolved[: len(targets)]
    if tag_names:
        from ccpandas.readers import resolve_tag_names  # exact tag names, like list names

        source = Source.tag_ids(resolve_tag_names(tags, _client(client)))
    plan = plan_source_removal(source, targets, exclude=exclude, **confirm)
    # -- membership snapshot (ccpandas.run.snapshot): a preview of who leaves
    if snapshot is not False:
        from ccpandas.run.snapshot import prepare_source_plan

        plan = prepare_source_plan(
            plan, _client(client), snapshot=snapshot, verify=verify, progress=progress
        )
    return plan


def plan_list_removal(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    client: Client | None = None,
    snapshot: bool | str = False,
    verify: bool = True,
    by: str = "auto",
    progress: Any = False,
) -> RemovalPlan:
    """Plan removing the contacts of ``data[column]`` (ids or emails) from ``list_ids``;
    sends no removal. Everything that can be checked without a request is checked
    first (the column, its dtype, the ids), so bad data never costs one; then list
    names take one listing, and a membership snapshot (``snapshot=True``/``"auto"``,
    see :doc:`removing`) reads the lists' members and shows who will leave in
    ``plan.changes``."""
    values = list_values(list_ids)
    names = list_names(values)
    try:
        column_values = data if isinstance(data, pd.Series) else frame_column(data, column)
        text = holds_text(column_values.dtype)
        key = detect_key(column_values, by) if text else "contact_id"
        checked = None
        if key == "contact_id":
            checked = plan_removal(data, stand_ins(values) if names else values, column=column)
    except PlanError as exc:
        raise (names_not_looked_up(exc, names) if names else exc) from None
    if checked is not None and snapshot is False:
        plan = retarget(checked, target_lists(values, client)) if names else checked
        return _with_usage(plan, client)
    targets = target_lists(values, client)
    # -- membership snapshot (ccpandas.run.snapshot)
    from ccpandas.run.snapshot import prepare_frame_plan

    plan = prepare_frame_plan(
        data,
        targets,
        _client(client) if snapshot is not False else client,
        column=column,
        by=key,
        snapshot=snapshot,
        verify=verify,
        progress=progress,
    )
    return _with_usage(plan, client)


def _with_usage(plan: RemovalPlan, client: Any) -> RemovalPlan:
    """The plan told today's figure of the client's shared quota ledger (when it has one).

    Without a client, the default client's, if one exists: planning never logs in."""
    if client is None:
        import sys

        http = sys.modules.get("ccpandas.client.http")  # loaded: a client may exist
        client = http.default_client() if http is not None else None
    counter = getattr(getattr(client, "stats", None), "day_counter", None)
    if counter is None:
        return plan
    usage = counter.usage()
    return plan.with_usage(usage.used, usage.processes)


def run_plan(
    plan: RemovalPlan,
    client: Client | None = None,
    *,
    runner: Runner | None = None,
    journal: bool | Journal = True,
    **options: Unpack[RunOptions],
) -> RemovalResult:
    """Execute ``plan``: submit its batches in order, then (``wait=True``) poll until
    every activity is terminal or ``timeout`` seconds pass.

    ``options`` are the run options (:class:`~ccpandas.run.options.RunOptions`):
    ``dry_run`` (False), ``wait`` (True), ``progress`` ("auto"), ``timeout`` (None) and
    ``wait_for_quota`` (False), as :func:`remove_from_lists` documents them. They and
    ``client`` are checked before anything is sent or journaled.

    Errors the client cannot retry away (quota spent, a refused request, the network
    gone) stop the run and are raised with the result so far on ``exc.result``.
    The run is recorded in the journal (``journal=True``, see
    :mod:`ccpandas.run.journal`) so ``ccpandas.resume(result.run_id)`` can finish it from
    any process; ``journal=False`` records nothing. ``runner`` is a template whose
    settings (clock, polling, limits) the run uses (tests); the client, reporter,
    journal and ``wait_for_quota`` come from this call.

    Example:
        >>> result = run_plan(plan, client, progress=False)  # doctest: +SKIP
        >>> result.run_id  # doctest: +SKIP
        '20250301-231501-7f3a2c'
    """
    check_run_options(options)
    check_client(client)
    if runner is not None and not isinstance(runner, Runner):
        raise TypeError(f"runner must be a ccpandas.run.runner.Runner, not {type(runner).__name__}")
    if journal not in (True, False, None) and not isinstance(journal, Journal):
        raise TypeError(f"journal must be True, False or a Journal, not {journal!r}")
    opts: RunOptions = {**RUN_OPTION_DEFAULTS, **options}
    template = runner or Runner(None)
    if opts["dry_run"]:
        dry = template.replace(reporter=NullReporter())
        return RemovalResult(plan, [BatchRun(b) for b in plan.batches], dry, dry_run=True)
    api = template.client if template.client is not None else _client(client)
    reporter = make_reporter(opts["progress"])
    chosen: Journal = template.journal
    if journal is True:
        if isinstance(chosen, NullJournal):
            from ccpandas.run.journal import RunJournal

            chosen = RunJournal.create(plan, base_url=getattr(api, "base_url", None))
    elif journal is not False and journal is not None:
        chosen = journal
    runner = template.replace(
        client=api, reporter=reporter, journal=chosen, wait_for_quota=opts["wait_for_quota"]
    )
    run_id = getattr(runner.journal, "run_id", None)
    if run_id is not None:
        log.info("run %s: %d requests to send", run_id, plan.n_requests)
    _warn_if_over_quota(plan, runner, run_id)
    result = RemovalResult(plan, [BatchRun(b) for b in plan.batches], runner, run_id=run_id)
    timeout = opts["timeout"]

    def go() -> None:
        runner.submit(result.runs)
        if opts["wait"] and not runner.stopped:
            runner.wait(result.runs, timeout=timeout)

    result._with_reporter(None, go)
    return result


def _warn_if_over_quota(plan: RemovalPlan, runner: Runner, run_id: str | None) -> None:
    """Say before anything is sent when the run will not fit in today's quota."""
    needed = plan.n_requests + plan.expected_polls
    counter = getattr(getattr(runner.client, "stats", None), "day_counter", None)
    usage = counter.usage() if counter is not None else None
    used = usage.used if usage is not None else 0
    left = max(0, plan.daily_quota - used)
    if needed <= left:
        return
    days = plan.days_needed if used == 0 else 1 + math.ceil((needed - left) / plan.daily_quota)
    then = (
        "It will wait for each reset (wait_for_quota=True)."
        if runner.wait_for_quota
        else "It will stop when the quota is spent; "
        + resume_call_text(run_id, runner.client)
        + " continues after 00:00 UTC (or pass wait_for_quota=True to wait)."
    )
    warnings.warn(
        f"this run needs about {needed:,} requests ({plan.n_requests:,} removals and "
        f"~{plan.expected_polls:,} polls); {usage or 'nothing known to be used today'}, "
        f"so it spans about {days} days of quota. " + then,
        stacklevel=3,
    )


@shared_params
def remove_from_lists(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    client: Client | None = None,
    dry_run: bool = False,
    wait: bool = True,
    progress: Any = "auto",
    timeout: float | None = None,
    wait_for_quota: bool = False,
    snapshot: bool | str = "auto",
    verify: bool = True,
    by: str = "auto",
    journal: bool = True,
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
        list_ids: The target lists: one list UUID or exact name of an active list, or
            several (a list, tuple or Series), e.g. ``["Newsletter", "Customers"]``.
            Names cost one ``GET /contact_lists`` to resolve.
        column: The column of ``data`` that holds the contacts (contact ids or email
            addresses). Default ``"contact_id"``.
        client: {shared}
        dry_run: {shared}
        wait: {shared}
        progress: {shared}
        timeout: {shared}
        wait_for_quota: {shared}
        snapshot: {shared}
        verify: {shared}
        by: {shared}
        journal: True (the default) records the run in the journal on disk, so
            ``ccpandas.resume(result.run_id)`` can finish it from any process and
            ``ccpandas.runs()`` lists it. False records nothing (no ``run_id``; only
            ``result.resume()`` in this process can continue it).

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
    options: RunOptions = {
        "dry_run": dry_run,
        "wait": wait,
        "progress": progress,
        "timeout": timeout,
        "wait_for_quota": wait_for_quota,
    }
    check_run_options(options)
    check_client(client)
    check_journal_flag(journal)
    # One reporter for the whole call: the membership read and the removal show in one
    # display (one pair of tqdm bars at a time), not one display each.
    options["progress"] = make_reporter(progress)
    plan = plan_list_removal(
        data,
        list_ids,
        column=column,
        client=client,
        snapshot=snapshot,
        verify=verify,
        by=by,
        progress=options["progress"],
    )
    return run_plan(plan, client, journal=journal, **options)


@shared_params
def remove_list_memberships(
    client: Client | None,
    list_ids: str | Iterable[str],
    *,
    source: Source,
    exclude: pd.Series | Iterable[str] | None = None,
    confirm_all_active: bool = False,
    confirm_empty: bool = False,
    dry_run: bool = False,
    wait: bool = True,
    progress: Any = "auto",
    timeout: float | None = None,
    wait_for_quota: bool = False,
    snapshot: bool | str = "auto",
    verify: bool = True,
    journal: bool = True,
) -> RemovalResult:
    """Remove the contacts that ``source`` selects from ``list_ids``.

    The API selects the contacts (one ``POST`` per request, no contact ids sent). With a
    membership snapshot the plan previews who of each target list will leave and
    ``result.changes`` gives the exact outcome per (contact, list) pair.

    Args:
        client: The :class:`~ccpandas.Client` to use. None uses the default
            client (:func:`ccpandas.get_default_client`).
        list_ids: The target lists: one list UUID or exact name of an active list, or
            several (a list, tuple or Series), e.g. ``["Newsletter", "Customers"]``.
            Names cost one ``GET /contact_lists`` to resolve.
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
        dry_run: {shared}
        wait: {shared}
        progress: {shared}
        timeout: {shared}
        wait_for_quota: {shared}
        snapshot: Whether to read the target lists' members first (a membership
            snapshot): ``"auto"`` (the default) reads them when the reads cost no
            more than the removal requests; True or False forces it; a ``"snap-..."``
            id continues an interrupted read.
        verify: {shared}
        journal: True (the default) records the run in the journal on disk, so
            ``ccpandas.resume(result.run_id)`` can finish it from any process and
            ``ccpandas.runs()`` lists it. False records nothing (no ``run_id``; only
            ``result.resume()`` in this process can continue it).

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
    options: RunOptions = {
        "dry_run": dry_run,
        "wait": wait,
        "progress": progress,
        "timeout": timeout,
        "wait_for_quota": wait_for_quota,
    }
    check_run_options(options)
    check_client(client)
    check_source(source)
    check_journal_flag(journal)
    for name, flag in (
        ("confirm_all_active", confirm_all_active),
        ("confirm_empty", confirm_empty),
    ):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, not {flag!r} ({type(flag).__name__})")
    options["progress"] = make_reporter(progress)  # one display for the read and the run
    plan = _plan_source(
        client,
        list_ids,
        source,
        exclude,
        confirm_all_active=confirm_all_active,
        confirm_empty=confirm_empty,
        snapshot=snapshot,
        verify=verify,
        progress=options["progress"],
    )
    return run_plan(plan, client, journal=journal, **options)


def check_journal_flag(journal: Any) -> None:
    """``journal=`` of the public calls is True or False (a TypeError before anything
    is sent otherwise).

    Example:
        >>> check_journal_flag("no")
        Traceback (most recent call last):
        ...
        TypeError: journal must be True or False, not 'no' (str)
    """
    if not isinstance(journal, bool):
        raise TypeError(
            f"journal must be True or False, not {journal!r} ({type(journal).__name__})"
        )


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
    return result.wait(timeout=timeout, progress=progress)
