"""The ``df.cc`` accessor: thin methods that call planning and the runner.

pandas caches one accessor per DataFrame, so it holds no state of its own and never
changes the frame.

Example:
    >>> import pandas as pd, ccpandas
    >>> df = pd.DataFrame({"contact_id": ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"]})
    >>> df.cc.plan(["7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"], snapshot=False).n_requests
    1
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Unpack

import pandas as pd

from ccpandas._docs import shared_params
from ccpandas.errors import PlanError, refuse_unknown
from ccpandas.models import Source

if TYPE_CHECKING:
    from ccpandas.api import ChangeOptions, SourceOptions
    from ccpandas.client.http import Client
    from ccpandas.plan.planner import RemovalPlan
    from ccpandas.run.result import RemovalResult

__all__ = ["CCAccessor"]


@pd.api.extensions.register_series_accessor("cc")
class _SeriesAccessor:
    """``series.cc``: the accessor works on DataFrames; say so, and how to get one.

    Example:
        >>> pd.Series(["a@example.com"], name="email").cc  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        AttributeError: .cc works on a DataFrame, not a Series: ...
    """

    def __init__(self, obj: pd.Series) -> None:
        name = obj.name if isinstance(obj.name, str) else "contact_id"
        raise AttributeError(
            ".cc works on a DataFrame, not a Series: use series.to_frame().cc (a frame "
            f"with the one column {name!r}), or df.cc with column={name!r} on the frame "
            "the series came from"
        )


@pd.api.extensions.register_dataframe_accessor("cc")
class CCAccessor:
    """Constant Contact actions on a DataFrame of contacts (``df.cc``).

    pandas builds it on first use of ``df.cc``; you never create one yourself.

    Args:
        obj: The DataFrame the accessor belongs to (``df`` in ``df.cc``).
    """

    def __init__(self, obj: pd.DataFrame) -> None:
        self._obj = obj  # a DataFrame: pandas registers this class for frames only

    @shared_params
    def plan(
        self,
        list_ids: str | Iterable[str],
        column: str = "contact_id",
        *,
        client: Client | None = None,
        snapshot: bool | str = "auto",
        verify: bool | str = "auto",
        by: str = "auto",
        kind: str = "remove",
        max_removed: float | int | None = 0.5,
    ) -> RemovalPlan:
        """Plan a removal, an add or a sync (``kind``) of this frame's contacts (ids or
        emails); nothing is sent but the reads. With ``snapshot="auto"`` (the default,
        as for the runs) the lists' members are read when that is cheap, and always
        for email input, so the plan previews who leaves or joins each list; with
        ``snapshot=False`` it plans offline (list UUIDs: no request at all).

        Args:
            list_ids: {shared}
            column: The column of this frame that holds the contacts (contact ids or
                email addresses). Default ``"contact_id"``.
            client: The :class:`~ccpandas.Client` to use. None (the default) uses the
                default client (:func:`ccpandas.get_default_client`). It is needed only to
                resolve list names or read members: planning by list UUIDs without a
                snapshot sends nothing.
            snapshot: {shared}
            verify: {shared:verify_plan}
            by: {shared}
            kind: ``"remove"`` (the default), ``"add"`` or ``"sync"``: what
                :meth:`remove_from_lists`, :meth:`add_to_lists` or :meth:`sync_lists`
                would send.
            max_removed: A sync's guard (see :meth:`sync_lists`). Default 0.5.

        Returns:
            A :class:`~ccpandas.plan.planner.RemovalPlan` (shown as ``AddPlan`` or
            ``SyncPlan`` for those kinds).

        Example:
            >>> df.cc.plan(["Newsletter"], "email", client=client).changes  # doctest: +SKIP
        """
        given = {k: v for k, v in locals().items() if k != "self"}
        from ccpandas import api  # the planner and runner load on first use of df.cc

        return api.plan_list_removal(self._obj, **given)

    @shared_params
    def remove_from_lists(
        self,
        list_ids: str | Iterable[str] | None = None,
        column: str = "contact_id",
        **options: Unpack[ChangeOptions],
    ) -> RemovalResult | Any:
        """Remove this frame's contacts (``column``) from ``list_ids``.

        In a notebook, calling it without ``list_ids`` opens the removal panel instead.
        The run is journaled: ``df.cc.resume(result.run_id)`` or
        ``ccpandas.resume(run_id)`` finishes it after a crash.

        Args:
            list_ids: {shared}
                None (the default) opens the removal panel in a notebook and is a
                :class:`~ccpandas.PlanError` elsewhere.
            column: The column of this frame that holds the contacts (contact ids or
                email addresses). Default ``"contact_id"``.
            options: {shared:change_options}

        Returns:
            A :class:`~ccpandas.run.result.RemovalResult` whose ``rows`` has one row
            per row of this frame, with the same index (the panel, in a notebook
            without ``list_ids``).

        Example:
            >>> result = df.cc.remove_from_lists(["Newsletter"], client=client)  # doctest: +SKIP
            >>> result.rows["status"].value_counts()  # doctest: +SKIP
        """
        from ccpandas import api

        if list_ids is None:
            from ccpandas._env import in_notebook  # no ipywidgets import

            # no typo ignored
            refuse_unknown(options, api.ChangeOptions.__optional_keys__, "remove_from_lists")
            if in_notebook():
                return self.removal_panel(column, client=options.get("client"))
            raise PlanError(
                "list_ids is required: pass list UUIDs or exact list names, "
                "e.g. df.cc.remove_from_lists(['Newsletter']) (in a notebook, no list_ids "
                "opens the removal panel)"
            )
        return api.remove_from_lists(self._obj, list_ids, column=column, **options)

    @shared_params
    def add_to_lists(
        self,
        list_ids: str | Iterable[str],
        column: str = "contact_id",
        **options: Unpack[ChangeOptions],
    ) -> RemovalResult:
        """Put this frame's contacts (``column``) on ``list_ids``: see
        :func:`ccpandas.add_to_lists`, which takes the same arguments.

        Args:
            list_ids: {shared}
            column: The column that holds the contacts (ids or email addresses).
                Default ``"contact_id"``.
            options: {shared:change_options}

        Example:
            >>> df.cc.add_to_lists(["Newsletter"], "email", client=client)  # doctest: +SKIP
        """
        from ccpandas import api

        return api.add_to_lists(self._obj, list_ids, column=column, **options)

    @shared_params
    def sync_lists(
        self,
        list_ids: str | Iterable[str],
        column: str = "contact_id",
        *,
        max_removed: float | int | None = 0.5,
        **options: Unpack[ChangeOptions],
    ) -> RemovalResult:
        """Make each of ``list_ids`` hold exactly this frame's contacts: see
        :func:`ccpandas.sync_lists`, which takes the same arguments.

        Args:
            list_ids: The lists to sync: list UUIDs or exact names of active lists.
            column: The column that holds the contacts (ids or email addresses).
                Default ``"contact_id"``.
            max_removed: The most a sync may remove from one list: a share of its
                members (a float in (0, 1]), a count (an int), or None (no guard).
                Default 0.5.
            options: {shared:change_options}

        Example:
            >>> df.cc.sync_lists(["Newsletter"], "email", client=client)  # doctest: +SKIP
        """
        from ccpandas import api

        return api.sync_lists(
            self._obj, list_ids, column=column, max_removed=max_removed, **options
        )

    @shared_params
    def resume(
        self,
        run_id: str,
        column: str = "contact_id",
        *,
        client: Client | None = None,
        wait: bool = True,
        timeout: float | None = None,
        progress: Any = "auto",
        wait_for_quota: bool = False,
    ) -> RemovalResult:
        """Continue the journaled run ``run_id`` that this frame started (after a dead
        kernel, a spent quota, an interruption).

        Activities already accepted are followed, never sent again; the rest is sent.
        The frame must plan into the run's requests (else :class:`~ccpandas.PlanError`,
        nothing sent); the result's rows keep its index.

        Args:
            run_id: The run's id, as ``result.run_id`` and ``ccpandas.runs()`` show it,
                e.g. ``"20250301-231501-7f3a2c"``.
            column: The column of this frame that holds the contacts (contact ids or
                email addresses). Default ``"contact_id"``.
            client: The :class:`~ccpandas.Client` to use. None (the default) uses
                the default client (:func:`ccpandas.get_default_client`). It must talk to
                the API the run started on.
            wait: {shared}
            timeout: {shared}
            progress: {shared}
            wait_for_quota: {shared}

        Returns:
            The run's :class:`~ccpandas.run.result.RemovalResult`, continued.

        Example:
            >>> result = df.cc.resume("20250301-231501-7f3a2c", client=client)  # doctest: +SKIP
        """
        from ccpandas import api
        from ccpandas.run.options import RunOptions

        options = RunOptions.pick(locals())  # the client is checked by resume_frame
        return api.resume_frame(self._obj, run_id, options, column=column, client=client)

    def removal_panel(
        self, column: str = "contact_id", *, client: Client | None = None, **kwargs: Any
    ) -> Any:
        """The interactive removal panel for this frame (ipywidgets; see the Jupyter guide).

        Args:
            column: The column of this frame that holds the contacts, pre-selected in
                the panel; one the frame lacks is refused (:class:`~ccpandas.PlanError`).
                Default ``"contact_id"``.
            client: The :class:`~ccpandas.Client` the panel reads and sends with. None
                (the default) uses the default client
                (:func:`ccpandas.get_default_client`).
            kwargs: More options of :class:`ccpandas.widgets.RemovalPanel`: ``lists``
                and ``tags`` (the account's lists and tags as DataFrames, read when
                omitted), ``background`` (run the removal in a worker thread) and
                ``mode`` (``"remove"``, ``"add"`` or ``"sync"``).

        Returns:
            The :class:`ccpandas.widgets.RemovalPanel`; display it as a cell's last
            value.

        Example:
            >>> panel = df.cc.removal_panel()  # doctest: +SKIP
        """
        from ccpandas.widgets.panel import RemovalPanel

        return RemovalPanel(self._obj, column, client=client, **kwargs)

    @shared_params
    def keep_in_lists(
        self,
        list_ids: str | Iterable[str],
        column: str = "contact_id",
        *,
        source: Source | None = None,
        client: Client | None = None,
        confirm_all_active: bool = False,
        confirm_empty: bool = False,
        max_removed: float | int | None = 0.5,
        **options: Unpack[SourceOptions],
    ) -> RemovalResult:
        """Empty ``list_ids`` of everyone except this frame's contacts.

        With a membership snapshot the plan says how many members of each list will
        leave (``result.plan.changes``), and ``result.changes`` what really happened.

        The source defaults to the members of ``list_ids`` themselves; pass
        ``source=Source.all_active_contacts()`` (with ``confirm_all_active=True``) or
        ``Source.list_ids([...])`` for another. This frame's ``column`` is the
        ``exclude`` set: those contacts stay.

        Args:
            list_ids: The lists to empty of everyone else: one list UUID or exact name
                of an active list, or several (a list, tuple or Series), e.g.
                ``["VIP"]``. Names cost one ``GET /contact_lists`` to resolve.
            column: The column of this frame that holds the contact ids to keep.
                Default ``"contact_id"``.
            source: Who may leave, a :class:`~ccpandas.Source`. None (the default)
                means the members of ``list_ids`` themselves; or
                ``Source.list_ids([...])``, or ``Source.all_active_contacts()`` (with
                ``confirm_all_active=True``).
            client: {shared}
            confirm_all_active: Must be True to remove with
                ``Source.all_active_contacts()``: a guard against emptying the lists by
                mistake. Default False.
            confirm_empty: Must be True to accept an empty frame, which keeps nobody (the
                lists emptied); otherwise that is a :class:`~ccpandas.PlanError`. Default
                False. True also lifts ``max_removed`` for an empty frame.
            max_removed: The guard of a sync: the most this may remove from one list, a
                share of its members (a float in (0, 1]), a count (an int), or None (no
                guard). More is a :class:`~ccpandas.PlanError` before any change is
                sent. Counting needs the lists read (``snapshot="auto"`` reads them;
                ``snapshot=False`` needs ``max_removed=None``). Default 0.5.
            options: {shared:source_options}

        Returns:
            A :class:`~ccpandas.run.result.RemovalResult`.

        Example:
            >>> vip.cc.keep_in_lists(["VIP"], client=client)  # doctest: +SKIP
        """
        from ccpandas import api

        confirm = {"confirm_all_active": confirm_all_active, "confirm_empty": confirm_empty}
        keep = (self._obj, column)
        return api._by_source(
            client, list_ids, source, None, options, confirm, keep=keep, max_removed=max_removed
        )
