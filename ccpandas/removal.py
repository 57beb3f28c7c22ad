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
from typing import TYPE_CHECKING, Any

import pandas as pd

from ccpandas.errors import PlanError
from ccpandas.models import Source
from ccpandas.plan.ids import PLANNED, check_ids
from ccpandas.plan.planner import RemovalPlan, plan_removal, plan_source_removal, resolve_list_ids
from ccpandas.run.batch import BatchRun
from ccpandas.run.progress import NullReporter, make_reporter
from ccpandas.run.result import RemovalResult, resume_call_text
from ccpandas.run.runner import Journal, NullJournal, Runner

if TYPE_CHECKING:
    from ccpandas.client.http import Client

log = logging.getLogger("ccpandas")

__all__ = [
    "plan_list_removal",
    "remove_from_lists",
    "remove_list_memberships",
    "run_plan",
    "wait",
]


def _needs_names(list_ids: str | Iterable[str]) -> bool:
    """True when some value is not a list UUID (by the planner's own rules: case,
    braces and whitespace forgiven), so the lists must be read to resolve names."""
    if list_ids is None or isinstance(list_ids, pd.DataFrame):
        return False  # the planner says what is wrong, without a request
    try:
        values = [list_ids] if isinstance(list_ids, str) else list(list_ids)
        return bool(values) and bool(
            (check_ids(pd.Series(values, dtype=object)).status != PLANNED).any()
        )
    except TypeError:  # not an iterable of ids: the planner says so
        return False


def _client(client: Client | None) -> Client:
    from ccpandas.auth.connect import get_default_client

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
    if _needs_names(list_ids):
        from ccpandas.readers import resolve_list_names

        values = [list_ids] if isinstance(list_ids, str) else list(list_ids)
        return resolve_list_names(values, _client(client))
    return resolve_list_ids(list_ids, None)


def plan_list_removal(
    data: pd.DataFrame | pd.Series,
    list_ids: str | Iterable[str],
    *,
    column: str = "contact_id",
    client: Client | None = None,
) -> RemovalPlan:
    """Plan removing the contacts of ``data[column]`` from ``list_ids``; sends nothing
    except, when lists are given by name, one listing to resolve the names. The plan
    shows what is used of today's quota on the key (the shared ledger) when a client is
    given or a default client exists."""
    plan = plan_removal(data, target_lists(list_ids, client), column=column)
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
    dry_run: bool = False,
    wait: bool = True,
    progress: Any = "auto",
    timeout: float | None = None,
    runner: Runner | None = None,
    wait_for_quota: bool = False,
    journal: bool | Journal = True,
) -> RemovalResult:
    """Execute ``plan``: submit its batches in order, then (``wait=True``) poll until
    every activity is terminal or ``timeout`` seconds pass.

    Errors the client cannot retry away (quota spent, a refused request, the network
    gone) stop the run and are raised with the result so far on ``exc.result``.
    ``wait_for_quota=True`` sleeps through a spent daily quota (until 00:00 UTC)
    instead of stopping. The run is recorded in the journal (``journal=True``, see
    :mod:`ccpandas.run.journal`) so ``ccpandas.resume(result.run_id)`` can finish it from
    any process; ``journal=False`` records nothing. ``runner`` brings injected clocks
    and sleeps (tests).

    Example:
        >>> result = run_plan(plan, client, progress=False)  # doctest: +SKIP
        >>> result.run_id  # doctest: +SKIP
        '20250301-231501-7f3a2c'
    """
    if dry_run:
        runner = runner or Runner(None, reporter=NullReporter())
        return RemovalResult(plan, [BatchRun(b) for b in plan.batches], runner, dry_run=True)
    runner = runner or Runner(None)
    if runner.client is None:
        runner.client = _client(client)
    runner.reporter = make_reporter(progress)
    runner.wait_for_quota = wait_for_quota
    if journal is True:
        if isinstance(runner.journal, NullJournal):
            from ccpandas.run.journal import RunJournal

            runner.journal = RunJournal.create(
                plan, base_url=getattr(runner.client, "base_url", None)
            )
    elif journal is not False and journal is not None:
        runner.journal = journal
    run_id = getattr(runner.journal, "run_id", None)
    if run_id is not None:
        log.info("run %s: %d requests to send", run_id, plan.n_requests)
    _warn_if_over_quota(plan, runner, run_id)
    result = RemovalResult(plan, [BatchRun(b) for b in plan.batches], runner, run_id=run_id)

    def go() -> None:
        runner.submit(result.runs)
        if wait and not runner.stopped:
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
) -> RemovalResult:
    """Remove the contacts in ``data[column]`` from the lists ``list_ids`` (UUIDs or
    exact names).

    Invalid, missing and duplicate ids are never sent and stay in ``result.rows`` with
    their reason. ``dry_run=True`` plans and returns without sending anything;
    ``wait=False`` returns once every batch is accepted (``result.wait()`` polls later).
    ``wait_for_quota=True`` sleeps through a spent daily quota instead of stopping.
    The run is journaled: ``ccpandas.resume(result.run_id)`` finishes it from any process.

    Example:
        >>> result = remove_from_lists(df, ["Newsletter"], client=client)  # doctest: +SKIP
    """
    plan = plan_list_removal(data, list_ids, column=column, client=client)
    return run_plan(
        plan,
        client,
        dry_run=dry_run,
        wait=wait,
        progress=progress,
        timeout=timeout,
        wait_for_quota=wait_for_quota,
    )


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
) -> RemovalResult:
    """Remove the contacts that ``source`` selects from ``list_ids``.

    ``source`` is any :class:`~ccpandas.Source`: ``Source.contact_ids``,
    ``Source.list_ids``, ``Source.all_active_contacts()`` (needs
    ``confirm_all_active=True``), ``Source.tag_ids`` or ``Source.engagement_level``.
    ``exclude`` (ids, or a DataFrame column) keeps those contacts; it only goes with
    ``list_ids`` and ``all_active_contacts`` sources. An empty ``exclude`` would keep
    nobody: it is a :class:`~ccpandas.PlanError` unless ``confirm_empty=True``.

    Example:
        >>> remove_list_memberships(  # doctest: +SKIP
        ...     client, ["Newsletter"], source=Source.tag_ids([churned_tag_id])
        ... )
    """
    targets = target_lists(list_ids, client)
    if source.kind.value == "list_ids":
        # Source lists may be named too.
        source = Source.list_ids(target_lists(source.values, client))
    if source.kind.value == "contact_ids":
        if exclude is not None:
            raise PlanError("exclude only goes with Source.list_ids or Source.all_active_contacts")
        plan = plan_removal(pd.Series(list(source.values), dtype=object), targets)
    else:
        plan = plan_source_removal(
            source,
            targets,
            exclude=exclude,
            confirm_all_active=confirm_all_active,
            confirm_empty=confirm_empty,
        )
    return run_plan(
        plan,
        client,
        dry_run=dry_run,
        wait=wait,
        progress=progress,
        timeout=timeout,
        wait_for_quota=wait_for_quota,
    )


def wait(
    result: RemovalResult, timeout: float | None = None, progress: Any = None
) -> RemovalResult:
    """Resume polling a result returned with ``wait=False``; same as ``result.wait()``."""
    return result.wait(timeout=timeout, progress=progress)
