"""The removal panel: mode, target lists, source, preview, confirm, live status, result.

Its mode (``panel.mode``) is what the run does: ``"remove"`` (the default) takes the
contacts off the target lists, ``"add"`` puts the DataFrame's contacts on them, and
``"sync"`` makes each list hold exactly the DataFrame's contacts (with the
``max_removed`` guard). Every mode has the same preview, confirmation, status and undo.

Built from the small widgets of this package (each usable alone): a
:class:`~ccpandas.widgets.pickers.ListPicker`, a
:class:`~ccpandas.widgets.source.SourcePicker`, a
:class:`~ccpandas.widgets.preview.PlanPreview` and a
:class:`~ccpandas.widgets.status.StatusDisplay`. Nothing is sent until the analyst
ticks the confirmation and clicks Remove. The outcome is ``panel.result`` (a trait,
so ``panel.observe(callback, "result")`` fires when the run ends).

Where the removal runs:

* a click made by code in a cell (``panel.remove_button.click()``) runs the removal
  in that cell, like a plain ``df.cc.remove_from_lists(...)``;
* a click in the browser runs it in a worker thread, so the kernel stays free to
  receive the Stop button. The worker touches no widget: it reports into a
  :class:`~ccpandas.widgets.status.SnapshotBuffer`, and a task on the kernel's event
  loop (the main thread) copies the latest snapshot into the display.

Example:
    >>> panel = df.cc.removal_panel()  # doctest: +SKIP
    >>> panel.targets.value = ["Newsletter", "Promotions"]  # doctest: +SKIP
    >>> panel.confirm.value = True  # doctest: +SKIP
    >>> panel.remove_button.click()  # doctest: +SKIP
    >>> panel.result.rows  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd
import traitlets

from ccpandas._docs import shared_params
from ccpandas._env import in_widget_event
from ccpandas.errors import CCError, PlanError
from ccpandas.models import MAX_LISTS_PER_CONTACT, MAX_LISTS_PER_REQUEST, SourceKind
from ccpandas.plan.membership import max_removed_of
from ccpandas.plan.planner import plural
from ccpandas.vocab import RunKind
from ccpandas.widgets._html import box, esc, note
from ccpandas.widgets._parts import TextBox, checkbox, choices, row
from ccpandas.widgets.pickers import ListPicker
from ccpandas.widgets.preview import PlanPreview, change_text
from ccpandas.widgets.source import SourcePicker, pick_column
from ccpandas.widgets.status import SnapshotBuffer, StatusDisplay

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.plan.planner import RemovalPlan
    from ccpandas.run.result import RemovalResult

__all__ = ["MODES", "RemovalPanel", "max_removed_of", "removal_panel"]

#: What a front end without widgets shows instead of the panel.
FALLBACK_TEXT = (
    "ccpandas removal panel: it needs a front end that shows ipywidgets (JupyterLab 4, "
    "Notebook 7, VS Code). Without one, call df.cc.remove_from_lists(list_ids) instead."
)
_RESULT_ROWS = 10
_ROWS_CODE = "<code>panel.result.rows</code>"


@dataclass(frozen=True)
class _Mode:
    """What the panel says in one mode."""

    title: str
    targets: str
    button: str
    icon: str
    style: str
    tooltip: str
    snapshot: str


#: The panel's modes, in the order offered: what a run does to the target lists.
MODES: dict[str, str] = {
    "remove": "remove from lists",
    "add": "add to lists",
    "sync": "sync lists (add the missing, remove the rest)",
}
_WORDS = {
    "remove": _Mode(
        "Remove contacts from lists",
        "Target lists: remove from",
        "Remove",
        "trash",
        "danger",
        "Send the removal to Constant Contact",
        "Read the lists' members first when cheap, always for emails (who leaves each "
        "list, exact outcomes, undo)",
    ),
    "add": _Mode(
        "Add contacts to lists",
        "Target lists: add to",
        "Add",
        "plus",
        "primary",
        "Send the additions to Constant Contact",
        "Read the lists' members first (only new members are sent; emails as input)",
    ),
    "sync": _Mode(
        "Sync lists to this DataFrame",
        "Target lists: make each hold exactly the source's contacts",
        "Sync",
        "exchange",
        "danger",
        "Send the additions and removals to Constant Contact",
        "Read the lists' members first (a sync always does: who joins and who leaves)",
    ),
}
_FRAME_ONLY = (
    "Add and sync take the contacts of a DataFrame: pick 'contacts in this DataFrame' "
    "as the source (the API's other sources only remove here)."
)
_UNFINISHED = (
    "Not everything is finished: what was sent keeps running on the server. "
    "<i>Keep waiting</i> (or <code>panel.result.resume()</code>) follows it and "
    "sends what was not sent."
)
_UNREAD = (
    "Every activity ended; the lists are still to be read to verify them. "
    "<i>Keep waiting</i> (or <code>panel.result.resume()</code>) reads them."
)
_INTERRUPTED = "The run was interrupted (the kernel's interrupt, Ctrl-C): what was sent is known."
_UNTICKED = note("Nothing sent: tick the confirmation first.", "warn")
_REPLANNED = "The preview above now shows today's members: check it, tick and remove again."
_GUARD_HELP = (
    "max_removed: the most a sync may remove from any one list, a share of its members "
    "(0.5), a count (200) or none. More stops the sync before anything is sent."
)


def _heading(n: int, text: str) -> str:
    return f"<h4 style='margin:10px 0 2px'>{n}. {esc(text)}</h4>"


def _section(n: int, text: str, *parts: w.Widget) -> w.VBox:
    """A step: its heading, then ``parts`` (hidden until the step is reached)."""
    return w.VBox([w.HTML(_heading(n, text)), *parts], layout=w.Layout(display="none"))


def _confirmed(**button: Any) -> tuple[w.Checkbox, w.Button, w.HBox]:
    """An "I understand" box and the button it arms, both off and disabled until
    there is something to confirm, side by side."""
    tick = checkbox("I understand", disabled=True)
    go = w.Button(disabled=True, **button)
    return tick, go, row(tick, go)


@shared_params
class RemovalPanel(TextBox):
    """Walks an analyst through one removal, from picking lists to the result.

    Args:
        data: The DataFrame of contacts. None (the default) offers only the sources the
            API selects (lists, tags, engagement, all active contacts).
        column: The column of ``data`` that holds the contacts, pre-selected in the
            panel; one ``data`` lacks is refused (:class:`~ccpandas.PlanError`). Default
            ``"contact_id"`` (when missing, a column named like it is pre-selected).
        client: {shared}
        lists: The account's lists, a DataFrame as :func:`ccpandas.read_contact_lists`
            returns. None (the default) reads them now.
        tags: The account's tags, a DataFrame as :func:`ccpandas.read_contact_tags`
            returns. None (the default) reads them when the tag source is picked.
        background: True runs the removal in a worker thread, False in the caller.
            None (the default) decides per click: the browser's clicks run in the
            background.
        mode: What the run does, pre-selected: ``"remove"`` (the default), ``"add"``
            or ``"sync"`` (see :data:`MODES`). Add and sync take the DataFrame's
            contacts; a sync always reads the lists first and has the ``max_removed``
            field (default 0.5).
    """

    result = traitlets.Any(None, help="the RemovalResult once a run ended (or stopped)")
    running = traitlets.Bool(False, help="a removal is running")
    undo_result = traitlets.Any(None, help="the undo's result once the Undo button ran")

    def __init__(
        self,
        data: pd.DataFrame | None = None,
        column: Any = "contact_id",
        *,
        client: Client | None = None,
        lists: pd.DataFrame | None = None,
        tags: pd.DataFrame | None = None,
        background: bool | None = None,
        mode: str = "remove",
    ) -> None:
        if data is not None and not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a DataFrame, not {type(data).__name__}")
        if not isinstance(mode, str) or mode not in MODES:
            raise ValueError(
                f"mode must be one of {', '.join(map(repr, list(MODES)))}, not {mode!r}"
            )
        from ccpandas.readers import read_contact_lists

        if data is not None:  # a typo: refused before the lists are read (the picker
            pick_column(data, column)  # settles the column, from what was given)
        lists = read_contact_lists(client) if lists is None else lists
        self.data = data
        self.client = client
        self.background = background
        self.error: BaseException | None = None
        self._future: concurrent.futures.Future[Any] | None = None
        self._buffer: SnapshotBuffer | None = None
        self._task: asyncio.Task[None] | None = None

        self.targets = ListPicker(lists, client=client)
        self.source = SourcePicker(data, column, lists=lists, tags=tags, client=client)
        self.preview = PlanPreview()
        # -- membership snapshot (ccpandas.read.snapshot): exact preview and outcomes
        # Ticked, as Python's snapshot="auto": the contacts' lists are read when that is
        # cheap (always for emails), so the preview, the outcomes and undo are exact.
        self.snapshot = checkbox(_WORDS["remove"].snapshot, value=True)
        self._build_mode(mode)
        self._build_run_controls()
        self._build_undo()
        self._target = "result"
        super().__init__(self._sections(), layout=w.Layout(width="100%", max_width="900px"))
        for control in (self.targets, self.source, self.snapshot, self.max_removed):
            control.observe(self._replan, "value")
        self.mode.observe(self._mode_changed, "value")
        self.confirm.observe(self._arm, "value")
        self.remove_button.on_click(self._on_remove)
        self.resume_button.on_click(self._on_resume)
        self.undo_confirm.observe(self._arm_undo, "value")
        self.undo_button.on_click(self._on_undo)
        self._mode_changed()

    def _build_mode(self, mode: str) -> None:
        """The mode choice (remove, add, sync) and a sync's ``max_removed`` guard."""
        self._switching = False  # the mode is changing: plan once, at the end
        self.mode = choices(MODES, mode)
        self.max_removed = w.Text(
            value="0.5",
            description="max_removed",
            placeholder="0.5, 200 or none",
            # Each new value plans again, which reads the lists: on Enter, not per key.
            continuous_update=False,
            layout=w.Layout(width="220px"),
        )
        guard_help = w.HTML(box(note(esc(_GUARD_HELP), "muted")))
        self._guard_box = row(self.max_removed, guard_help, display="none")
        self._title = w.HTML()
        self._targets_heading = w.HTML()

    def _mode_changed(self, change: Any = None) -> None:
        """Words, the guard field and the snapshot box follow the mode; then one plan."""
        mode = self.mode.value
        words = _WORDS[mode]
        self._title.value = f"<h3 style='margin:4px 0'>{esc(words.title)}</h3>"
        self._targets_heading.value = _heading(1, words.targets)
        button = self.remove_button
        button.description, button.icon = words.button, words.icon
        button.button_style, button.tooltip = words.style, words.tooltip
        self._guard_box.layout.display = None if mode == RunKind.SYNC else "none"
        adds = mode != RunKind.REMOVE
        # An add or a sync may put a contact on at most 50 lists (the API's rule): the
        # picker stops there; a removal's more than 50 lists are split into requests.
        self.targets.set_limits(
            max_selected=MAX_LISTS_PER_CONTACT if adds else None,
            per_request=None if adds else MAX_LISTS_PER_REQUEST,
            why=f"a contact can be on at most {MAX_LISTS_PER_CONTACT} lists" if adds else "",
        )
        self._switching = True
        try:
            if mode != RunKind.REMOVE:
                # Add and sync take the DataFrame's contacts, and read the lists: only
                # new members are sent, and the undo knows exactly what changed.
                if self.data is not None:
                    self.source.kind.value = SourceKind.CONTACT_IDS
                self.snapshot.value = True
            self.snapshot.disabled = mode == RunKind.SYNC
            self.snapshot.description = words.snapshot
        finally:
            self._switching = False
        self._replan()

    def _build_run_controls(self) -> None:
        """Steps 4-6: the confirmation, the Remove button, the status and the result."""
        # The button's words, icon and style are the mode's (_mode_changed).
        self.confirm, self.remove_button, self._confirm_row = _confirmed()
        self.status = StatusDisplay(stoppable=True)
        self.message = w.HTML()
        self.result_view = w.HTML()
        self.resume_button = w.Button(
            description="Keep waiting",
            icon="refresh",
            tooltip="Follow the activities again; send what was not sent",
            layout=w.Layout(width="auto", display="none"),
        )
        self._status_box = _section(5, "Status", self.status)
        self._result_box = _section(6, "Result", self.resume_button, self.result_view)

    def _build_undo(self) -> None:
        """Step 7: put back what the run removed, with its own explicit confirmation."""
        self.undo_confirm, self.undo_button, undo_row = _confirmed(
            description="Undo",
            icon="undo",
            button_style="warning",
            tooltip="Reverse exactly what this run changed: put back what it removed, "
            "take off what it added",
        )
        self.undo_view = w.HTML()
        self._undo_box = _section(7, "Undo", undo_row, self.undo_view)

    def _sections(self) -> list[w.Widget]:
        """The panel, top to bottom: the mode, then the seven steps."""
        return [
            self._title,
            self.mode,
            self._guard_box,
            self._targets_heading,
            self.targets,
            w.HTML(_heading(2, "Source: which contacts")),
            self.source,
            w.HTML(_heading(3, "Preview")),
            self.snapshot,
            self.preview,
            w.HTML(_heading(4, "Confirm")),
            self._confirm_row,
            self.message,
            self._status_box,
            self._result_box,
            self._undo_box,
        ]

    # -- steps 1-4: plan and confirm -------------------------------------------------
    @property
    def plan(self) -> RemovalPlan | None:
        """The plan the preview shows (None until lists and source are picked)."""
        return self.preview.value

    def _replan(self, change: Any = None) -> None:
        if self.running or self.result is not None or self._switching:
            return
        self.confirm.value = False  # a new plan needs a new confirmation
        choice = self.source.value
        plan, error = None, ""
        if self.targets.value and not choice.problem:
            try:
                plan = self._named(self._make_plan(choice, tuple(self.targets.value)))
            except CCError as exc:
                error = str(exc)
        self.preview.source_text = self.source.describe()
        self.preview.error = error
        self.preview.value = plan
        self.confirm.disabled = plan is None
        self.confirm.description = self._confirm_text(plan) if plan else "I understand"
        self._arm()

    def _make_plan(self, choice: Any, targets: tuple[str, ...]) -> RemovalPlan:
        """The plan of the current mode, source and target lists. A DataFrame's column
        is planned by ``plan_list_removal`` whenever the lists are read or the mode is
        not a removal; without a read, a removal's plan is pure."""
        mode = RunKind(self.mode.value)
        read = bool(self.snapshot.value) or mode == RunKind.SYNC
        if choice.kind is SourceKind.CONTACT_IDS and (read or mode != RunKind.REMOVE):
            from ccpandas.api import plan_list_removal

            guard = max_removed_of(self.max_removed.value) if mode == RunKind.SYNC else None
            return plan_list_removal(
                self.data,
                targets,
                column=choice.column,
                client=self.client,
                snapshot=("auto" if mode != RunKind.SYNC else True) if read else False,
                kind=mode,
                max_removed=guard,
                # As every run: refused before the first list read when it cannot fit.
                wait_for_quota=False,
            )
        if mode != RunKind.REMOVE:
            raise PlanError(_FRAME_ONLY)
        if read:
            return self._with_snapshot(choice, targets)
        return choice.plan(self.data, targets)

    def _named(self, plan: RemovalPlan) -> RemovalPlan:
        """``plan`` with the picked lists' names, so its journal (``runs()``, a resume
        elsewhere) names them as a Python call by name does, read or not."""
        names = {i: self.targets.name_of(i) for i in plan.list_ids}
        given = {i: name for i, name in names.items() if name}
        return dataclasses.replace(plan, list_names={**given, **plan.list_names})

    def _with_snapshot(self, choice: Any, targets: tuple[str, ...]) -> RemovalPlan:
        """A source's plan with the target lists' members read (the checkbox): a
        preview of who leaves, counting the read of the lists again before the send."""
        from ccpandas.read.snapshot import SnapshotChoice, prepare_source_plan, with_recheck
        from ccpandas.run.budget import count_planning
        from ccpandas.run.options import RunOptions, pick_client

        client = pick_client(self.client)
        read = SnapshotChoice(snapshot=True)
        # As every run: refused before the first list read when it cannot fit today.
        gate = RunOptions.of(wait_for_quota=False).started(client).gate
        plan = count_planning(  # every request it sends, retries included, is the run's
            client,
            lambda: prepare_source_plan(
                choice.plan(self.data, targets), client, choice=read, gate=gate
            ),
        )
        return with_recheck(plan)  # sent later (run_plan): the lists are read again first

    def _confirm_text(self, plan: RemovalPlan) -> str:
        if plan.kind != RunKind.REMOVE:
            return "I understand " + change_text(plan)
        m = plan.membership
        if m is not None and m.known and not (m.will_leave < 0).any():
            total = sum(m.leaving(plan.list_ids).values())
            return (
                f"I understand {plural(total, 'membership')} will be removed "
                f"({m.leaving_text(plan.list_ids)})"
            )
        values = plan.source.values
        kept = f" (except {len(plan.exclude):,} kept)" if plan.exclude else ""
        who = {
            SourceKind.CONTACT_IDS: plural(plan.n_contacts or 0, "contact"),
            SourceKind.ALL_ACTIVE_CONTACTS: f"ALL active contacts{kept}",
            SourceKind.LIST_IDS: f"the members of {plural(len(values), 'list')}{kept}",
            SourceKind.TAG_IDS: f"the contacts with {plural(len(values), 'tag')}",
        }.get(plan.source.kind) or f"the contacts at engagement level {values[0]!r}"
        return f"I understand {who} will be removed from {plural(plan.n_lists, 'list')}"

    def _arm(self, change: Any = None) -> None:
        ready = self.plan is not None and self.confirm.value and not self.running
        self.remove_button.disabled = not (ready and self.result is None)

    # -- step 5: run -----------------------------------------------------------------
    def _on_remove(self, _button: Any = None) -> None:
        # The button is disabled until confirmed, but code can still call click():
        # check again, so nothing is ever sent without the tick.
        plan = self.plan
        if plan is None or not self.confirm.value or self.running or self.result is not None:
            unticked = plan is not None and not self.confirm.value
            self.message.value = box(_UNTICKED if unticked else "")
            return
        from ccpandas.api import run_plan

        client = self.client
        self._launch(lambda reporter: run_plan(plan, client, progress=reporter))

    def _on_resume(self, _button: Any = None) -> None:
        result = self.result
        if result is None or self.running:
            return
        self._launch(lambda reporter: result.resume(progress=reporter))

    # -- step 7: undo ----------------------------------------------------------------
    def _undoable(self) -> str | None:
        """What the undo may change (its confirmation's words) when the run can be
        undone from here."""
        from ccpandas.run.undo import undo_promise

        if self.result is None or self.result.summary().undone_by:  # a click: refused
            return None
        return undo_promise(self.result)

    def _arm_undo(self, change: Any = None) -> None:
        ready = self.undo_confirm.value and not self.running and self.undo_result is None
        self.undo_button.disabled = not (ready and self._undoable() is not None)

    def _on_undo(self, _button: Any = None) -> None:
        # As for Remove: a click without the tick (code can click) sends nothing.
        result = self.result
        if self._undoable() is None or self.running or self.undo_result is not None:
            return
        if not self.undo_confirm.value:
            self.undo_view.value = box(_UNTICKED)
            return
        self.undo_view.value = ""
        client = self.client
        self._launch(lambda reporter: result.undo(client, progress=reporter), target="undo_result")

    @traitlets.observe("undo_result")
    def _show_undo(self, change: Any) -> None:
        undo = change["new"]
        if undo is None:
            return
        self.undo_confirm.disabled = self.undo_button.disabled = True
        self.undo_view.value = box(undo._repr_html_())
        self._show_result({"new": self.result})  # its summary now says "undone by run ..."

    def _launch(self, action: Callable[[Any], Any], target: str = "result") -> None:
        self._target = target
        self.running = True
        self.error = None
        self.message.value = ""  # a new attempt: an earlier one's error is over
        self._freeze(True)
        self._status_box.layout.display = None
        self.resume_button.layout.display = "none"
        self.status.reset()
        try:
            loop = asyncio.get_running_loop() if self.background is not False else None
        except RuntimeError:
            loop = None
        background = self.background
        if background is None:  # a click in the browser runs in the background
            background = loop is not None and in_widget_event()
        if background:
            self.status.stoppable = True
            self._buffer = SnapshotBuffer(self.status)
            self._future = _in_worker(action, self._buffer)
            if loop is not None:
                self._task = loop.create_task(self._follow())
            else:
                # No event loop to draw from (plain Python): wait here, draw once.
                self.wait()
            return
        self.status.stoppable = False
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        _settle(future, action, self.status)
        self._done(future)
        stopped = future.exception()
        if stopped is not None and not isinstance(stopped, Exception):
            # Ctrl-C (interrupt the kernel): the result so far and the resume button
            # are shown; now the interruption reaches the cell.
            raise stopped

    async def _follow(self) -> None:
        """Runs on the kernel's event loop: draw snapshots until the worker ends."""
        future, buffer = self._future, self._buffer
        assert future is not None and buffer is not None
        waiter = asyncio.wrap_future(future)
        try:
            while not waiter.done():
                buffer.drain()
                await asyncio.wait([waiter], timeout=0.25)
            buffer.drain()
        except Exception as exc:  # a drawing error must not hide the run's outcome
            self.message.value = box(note(f"The display failed: {esc(exc)}", "danger"))
            await asyncio.wait([waiter])
        self._done(future)

    def wait(self, timeout: float | None = None) -> RemovalResult | None:
        """Block until a background run ends (no-op otherwise); return the result.

        For code and tests: while it blocks, the kernel does not process clicks.

        Args:
            timeout: Seconds to wait at most, e.g. ``60``; the run goes on after it.
                None (the default) waits until the run ends.
        """
        future = self._future
        if future is not None and self.running:
            concurrent.futures.wait([future], timeout=timeout)
            if future.done() and self.running:
                if self._task is not None:
                    self._task.cancel()
                if self._buffer is not None:
                    self._buffer.drain()
                self._done(future)
        return self.result

    def _done(self, future: concurrent.futures.Future[Any]) -> None:
        if not self.running:  # already finished (wait() and the task both got here)
            return
        exc = self.error = future.exception()
        result = future.result() if exc is None else getattr(exc, "result", None)
        if result is None:  # a refused Keep waiting: the run as it was, still to finish
            result = getattr(self, self._target)
        if isinstance(exc, Exception):
            self.message.value = box(note(f"The run stopped with an error: {esc(exc)}", "danger"))
        elif exc is not None:  # Ctrl-C: no error, and no message of its own to show
            self.message.value = box(note(_INTERRUPTED, "warn"))
        self._future = self._buffer = self._task = None
        self.running = False
        if result is None:
            self._freeze(False)  # nothing was sent: let the analyst fix and retry
            if isinstance(exc, PlanError) and self._target == "result":
                # The lists changed since the preview (run_plan read them again):
                # preview today's members, to be confirmed again.
                self._replan()
                self.message.value = box(note(esc(exc), "danger"), note(_REPLANNED, "warn"))
            self._arm()
            self._arm_undo()
            return
        again = getattr(self, self._target) is result
        setattr(self, self._target, result)
        if again and self._target == "result":
            # Keep waiting continues the same result object: the trait does not change,
            # so its observer would leave the stopped run on show. Draw it here.
            self._show_result({"new": result})
        if self._target != "result":
            self._freeze(False)

    @traitlets.observe("result")
    def _show_result(self, change: Any) -> None:
        result = change["new"]
        if result is None:
            return
        self._result_box.layout.display = None
        # The summary's call to go on, as Python and the CLI offer it: none once the run
        # ended, or was undone (by another kernel too: the summary reads the journal).
        unfinished = result.summary().resume_call is not None
        self.resume_button.layout.display = None if unfinished else "none"
        self.resume_button.disabled = False
        rows = result.rows
        more = f", first {_RESULT_ROWS} shown" if len(rows) > _RESULT_ROWS else ""
        shown = rows.head(_RESULT_ROWS)[["contact_id", "status", "error", "activity_id"]]
        shown = shown.astype(object).where(shown.notna(), "")  # no "None" in the cells
        self.result_view.value = box(
            result._repr_html_(),
            note(_UNREAD if result.verification_due else _UNFINISHED, "warn") if unfinished else "",
            note(f"<b>result.rows</b> ({len(rows):,} rows{more}; all in {_ROWS_CODE})"),
            shown.to_html(border=0),
        )
        undoable = self._undoable()
        if undoable is not None:
            self._undo_box.layout.display = None
            self.undo_confirm.value = self.undo_confirm.disabled = False
            self.undo_confirm.description = f"I understand the undo will {undoable}"
            self._arm_undo()

    def _freeze(self, frozen: bool) -> None:
        # Once the run has a result, its inputs stay frozen (an undo's end too): nothing
        # plans again, so a change there would neither clear the tick nor show a plan.
        inputs = frozen or self.result is not None
        self.targets.set_disabled(inputs)
        self.source.set_disabled(inputs)
        self.mode.disabled = self.max_removed.disabled = inputs
        self.snapshot.disabled = inputs or self.mode.value == RunKind.SYNC
        self.confirm.disabled = inputs or self.plan is None
        self.remove_button.disabled = self.undo_button.disabled = True  # until armed again
        self.resume_button.disabled = frozen
        self.undo_confirm.disabled = (
            frozen or self.undo_result is not None or self._undoable() is None
        )

    # -- text form -------------------------------------------------------------------
    def __repr__(self) -> str:
        return "RemovalPanel()"

    def plain(self) -> str:
        """What a front end without widgets shows: how to do without the panel."""
        return FALLBACK_TEXT


def _in_worker(action: Callable[[Any], Any], reporter: Any) -> concurrent.futures.Future[Any]:
    """Run ``action(reporter)`` in a daemon thread; its outcome lands in the future.

    A daemon thread, not an executor: a kernel shutting down must not wait for a removal
    (what was sent is known to the runner; ``resume()`` continues it).
    """
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()
    future.set_running_or_notify_cancel()
    args = (future, action, reporter)
    threading.Thread(target=_settle, args=args, name="ccpandas-removal", daemon=True).start()
    return future


def _settle(
    future: concurrent.futures.Future[Any], action: Callable[[Any], Any], reporter: Any
) -> None:
    """``action(reporter)``'s outcome, a result or any exception, into ``future``
    (the main thread reports it)."""
    try:
        future.set_result(action(reporter))
    except BaseException as exc:
        future.set_exception(exc)


@shared_params
def removal_panel(
    data: pd.DataFrame | None = None,
    column: Any = "contact_id",
    *,
    client: Client | None = None,
    **kwargs: Any,
) -> RemovalPanel:
    """Build the removal panel for ``data`` (what ``df.cc.removal_panel()`` returns).

    Args:
        data: The DataFrame of contacts. None (the default) offers only the sources the
            API selects (lists, tags, engagement, all active contacts).
        column: The column of ``data`` that holds the contacts, pre-selected in the
            panel; one ``data`` lacks is refused (:class:`~ccpandas.PlanError`). Default
            ``"contact_id"`` (when missing, a column named like it is pre-selected).
        client: {shared}
        **kwargs: More options of :class:`RemovalPanel`: ``lists`` and ``tags`` (the
            account's lists and tags as DataFrames, read when omitted),
            ``background`` (run the removal in a worker thread) and ``mode``
            (``"remove"``, ``"add"`` or ``"sync"``).

    Example:
        >>> panel = removal_panel(df, client=client)  # doctest: +SKIP
        >>> panel  # doctest: +SKIP
    """
    return RemovalPanel(data, column, client=client, **kwargs)
