"""The live status display: the widget front end of the Reporter interface.

:class:`StatusDisplay` *is* a :class:`~ccpandas.report.progress.Reporter`: the runner calls
``start``/``update``/``finish`` with immutable snapshots, and the display draws an
overall progress bar and one row per activity (state, percent done, items, errors).
Its ``value`` trait holds the latest :class:`~ccpandas.report.progress.Snapshot`.

Threads: the display is only ever touched from the kernel's main thread. A plain
``df.cc.remove_from_lists(...)`` runs in the cell, so updates come from the cell's own
execution. The removal panel runs a browser click in a worker thread instead; the
worker then reports into a :class:`SnapshotBuffer` (plain data behind a lock) and the
panel copies the latest snapshot into the display from the kernel's event loop.

Example:
    >>> from ccpandas.report.progress import Snapshot
    >>> status = StatusDisplay()
    >>> status.start(Snapshot("starting", batches_total=2, batches_submitted=0))
    >>> status.text()
    'starting: 2 requests to send'
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w
import traitlets

from ccpandas._env import in_notebook
from ccpandas.plan.planner import plural
from ccpandas.report.progress import READ_PHASES, ActivityProgress, Snapshot, TqdmReporter
from ccpandas.store.batch import BatchState
from ccpandas.vocab import STOP_ACTIVITY_TIMEOUT, STOP_NOT_WAITED, STOP_TIMEOUT, RunOutcome
from ccpandas.widgets._html import badge, box, esc, note, table
from ccpandas.widgets._parts import TextBox, row, titled

__all__ = ["SnapshotBuffer", "StatusDisplay", "make_widget_reporter"]

_TERMINAL = frozenset(BatchState.terminal_states())
# What the display flags: an activity that ended badly, a refused request, a lost one.
_BAD = frozenset({*BatchState.bad_states(), BatchState.REJECTED, BatchState.UNKNOWN})
# Rows shown first when there are more activities than rows: what needs attention.
_ORDER = {**{s: 0 for s in BatchState.bad_states()}, BatchState.REJECTED: 0, BatchState.UNKNOWN: 1}

#: Every text status starts with this (a removal, an undo or a membership read alike),
#: so a notebook sanitizer can match it.
TEXT_PREFIX = "ccpandas status: "
# Failed activities the text form names (the widget's table shows up to max_rows).
_TEXT_BAD_ROWS = 3


def _current_cell() -> int | None:
    """The execution count of the cell running now (None outside IPython)."""
    from IPython import get_ipython

    shell = get_ipython()
    count = getattr(shell, "execution_count", None) if shell is not None else None
    return count if isinstance(count, int) else None


def _news(snap: Snapshot) -> tuple[str, str, str]:
    """The headline, the message under it (when the headline does not say it) and the
    run's summary line (``result.summary().outcome_line``) when the run ended otherwise
    than completed: e.g. every activity completed, yet a re-read shows contacts still
    members. A completed run's headline says it all already."""
    head = headline(snap)
    message = snap.message if snap.message and snap.message not in head else ""
    summary = snap.extra.get("summary")
    if summary is None or summary.ok or summary.dry_run:
        return head, message, ""
    return head, message, str(summary.outcome_line)


#: A stopped run's headline by its summary's stop reason (:class:`~ccpandas.vocab.RunOutcome`).
_STOPPED_BY = {
    RunOutcome.QUOTA_EXCEEDED.value: "stopped by the daily request quota",
    RunOutcome.INTERRUPTED.value: "interrupted",
    STOP_TIMEOUT: "stopped waiting at the timeout",
    STOP_NOT_WAITED: "not waited for (wait=False)",
    STOP_ACTIVITY_TIMEOUT: "stopped waiting: nothing moved for the activity timeout",
}


def headline(snap: Snapshot) -> str:
    """One line saying where the run stands (plain text, no HTML)."""
    total = snap.batches_total
    finished = sum(a.state in _TERMINAL for a in snap.activities)
    bad = sum(a.state in _BAD for a in snap.activities)
    sent = sum(a.activity_id is not None for a in snap.activities)
    running = sum(a.activity_id is not None and a.state not in _TERMINAL for a in snap.activities)
    reason = str(getattr(snap.extra.get("summary"), "stop_reason", None))
    if snap.phase in READ_PHASES:
        # A membership read (before a removal, or on its own): its pages, not activities.
        return snap.message or "reading the lists' members"
    if snap.phase == "verifying":
        return "verifying the result: " + (snap.message or "reading the lists again")
    if snap.phase == "starting":
        return f"starting: {plural(total, 'request')} to send"
    if snap.phase == "submitting":
        return f"sending requests: {sent:,} of {total:,} accepted"
    if snap.phase == "waiting" and snap.message:
        # A quota or queue wait says what it waits for and until when.
        return snap.message
    if snap.phase in ("polling", "waiting"):
        acts = plural(total, "activity", "activities")
        return f"waiting for the API: {finished:,} of {acts} finished"
    if snap.phase == "stopped":
        # Why it stopped, as the run's summary says (an error's word, e.g. unauthorized);
        # the Stop button's words only for its own stop (or no summary).
        stop = "stopped waiting" if reason in (RunOutcome.STOPPED, "None") else f"stopped: {reason}"
        parts = [_STOPPED_BY.get(reason, stop)]
        if running:
            verb = "keeps" if running == 1 else "keep"
            parts.append(
                f"{plural(running, 'activity', 'activities')} {verb} running on the server "
                "(the API cannot stop them)"
            )
        if total - sent:
            parts.append(f"{plural(total - sent, 'request')} not sent")
        if bad:
            parts.append(f"{bad:,} failed")
        return "; ".join(parts)
    # "done": the run ended normally, possibly at a timeout (or not waited for) with
    # activities running: the summary's stop_reason says which.
    if running:
        return (
            f"{_STOPPED_BY.get(reason, _STOPPED_BY[STOP_TIMEOUT])}: "
            f"{plural(running, 'activity', 'activities')} still running on the server"
        )
    if bad:
        return f"done with errors: {bad:,} of {plural(total, 'activity', 'activities')} failed"
    return f"done: {plural(finished, 'activity', 'activities')} completed"


class StatusDisplay(TextBox):
    """Live status of a removal: a progress bar and one row per activity.

    Args:
        stoppable: True (the default) shows the Stop button. A click only reaches the
            kernel while the kernel is free, so the panel shows it when it runs the
            removal in the background; a plain call in a cell shows how to interrupt
            instead.
        auto_display: True displays the widget when a run starts (the default reporter
            of a plain call does). False (the default) leaves that to the caller (the
            panel embeds it).
        max_rows: The most activities the table shows, those needing attention first.
            Default 100.
        min_interval: The fewest seconds between two redraws while updates pour in.
            Default 0.2.
        text_interval: The fewest seconds between two refreshes of the displayed output
            (what front ends without widgets show as a line of text) within one phase;
            a new phase refreshes it at once. Default 2.0.
        clock: How the display reads the time, a function returning seconds
            (monotonic). Default ``time.monotonic``; tests pass a fake one.
        title: A heading shown above the widget, e.g. ``"Target lists"``. Default
            none.

    Example:
        >>> status = StatusDisplay(stoppable=True)
        >>> status.stop_button.click()
        >>> status.stop_requested
        True
    """

    value = traitlets.Instance(Snapshot, allow_none=True, help="the latest snapshot")

    def __init__(
        self,
        *,
        stoppable: bool = True,
        auto_display: bool = False,
        max_rows: int = 100,
        min_interval: float = 0.2,
        text_interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        title: str = "",
    ) -> None:
        self._stop = threading.Event()
        self.auto_display = auto_display
        self.max_rows = max_rows
        self.min_interval = min_interval
        self.text_interval = text_interval
        self.clock = clock
        self._last_draw = -float("inf")
        self._last_text = -float("inf")
        self._dirty = False
        self._handle: Any = None  # the display of this status (auto_display)
        self._shown_in: int | None = None  # the cell it was displayed in
        self._live = False  # a run is reporting: updates refresh the display
        self._run_id: str | None = None  # the journaled run shown (its hints name it)

        self.header = w.HTML()
        self.bar = w.IntProgress(min=0, max=1, value=0, layout=w.Layout(width="60%"))
        self.counts = w.HTML()
        self.rows = w.HTML(layout=w.Layout(max_height="320px", overflow="auto"))
        self.stop_button = w.Button(
            description="Stop waiting",
            icon="stop",
            button_style="warning",
            tooltip="Stop following the activities. The server keeps processing what "
            "was already sent; result.wait() follows it again.",
            layout=w.Layout(width="auto"),
        )
        self.hint = w.HTML()
        self._controls = row(self.stop_button, self.hint)
        self.stop_button.on_click(lambda _b: self.request_stop())
        super().__init__(
            titled(title, self.header, row(self.bar, self.counts), self.rows, self._controls)
        )
        self.stoppable = stoppable

    # -- the Stop button -------------------------------------------------------------
    @property
    def stoppable(self) -> bool:
        """Whether the Stop button is shown."""
        return self.stop_button.layout.display != "none"

    @stoppable.setter
    def stoppable(self, on: bool) -> None:
        self.stop_button.layout.display = None if on else "none"
        self._set_hint()

    @property
    def stop_requested(self) -> bool:
        """True once Stop was clicked (or :meth:`request_stop` called) in this run."""
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the runner to stop waiting. Thread-safe; the server is not told (the API
        has no way to cancel an activity)."""
        self._stop.set()
        self.stop_button.disabled = True
        self.stop_button.description = "Stopping…"

    def sleep(self, seconds: float) -> None:
        """The runner's pause between polls: draw what is pending, then wait, waking
        up at once when Stop is requested.

        Args:
            seconds: How long to wait, e.g. ``2.0`` until the next poll.
        """
        if self._dirty and self.value is not None:
            self._draw(self.value)
        self._stop.wait(seconds)

    # -- Reporter --------------------------------------------------------------------
    def reset(self) -> None:
        """Forget a previous Stop request and re-arm the button (a new run begins)."""
        self._stop.clear()
        self.stop_button.disabled = False
        self.stop_button.description = "Stop waiting"
        self._controls.layout.display = None

    def start(self, snapshot: Snapshot) -> None:
        """A run begins: re-arm the Stop button and draw.

        With ``auto_display`` the status is displayed once per cell: a second run
        reported in the same cell (the membership read, then the removal it plans)
        continues the same display, which ends on the last run's final state.

        Args:
            snapshot: The run's state at the start (a :class:`~ccpandas.report.progress.Snapshot`).
        """
        self.reset()
        self.value = snapshot
        self._draw(snapshot)
        if self.auto_display:
            cell = _current_cell()
            if self._handle is not None and cell is not None and cell == self._shown_in:
                self._handle.update(self)
            else:
                from IPython.display import display

                self._handle = display(self, display_id=True)
                self._shown_in = cell
            self._live = True
            self._last_text = self.clock()

    def update(self, snapshot: Snapshot) -> None:
        """Something changed; redraws at most every ``min_interval`` seconds.

        Args:
            snapshot: The run's state now (a :class:`~ccpandas.report.progress.Snapshot`).
        """
        phase_changed = self.value is None or self.value.phase != snapshot.phase
        self.value = snapshot
        if phase_changed or self.clock() - self._last_draw >= self.min_interval:
            self._draw(snapshot)
        else:
            self._dirty = True
        if (
            self._live
            and self._handle is not None
            and (phase_changed or self.clock() - self._last_text >= self.text_interval)
        ):
            # Front ends that cannot draw widgets show the text form, which only
            # changes when the output is sent again; widget front ends redraw the same
            # widget (rarely: on a new phase, or every text_interval seconds).
            if self._dirty:
                self._draw(snapshot)
            self._last_text = self.clock()
            self._handle.update(self)

    def finish(self, snapshot: Snapshot) -> None:
        """The run ended: final draw; the Stop button goes away.

        Args:
            snapshot: The run's state at the end (a :class:`~ccpandas.report.progress.Snapshot`).
        """
        self.value = snapshot
        self._draw(snapshot)
        self.stop_button.disabled = True
        self._controls.layout.display = "none"
        if self._live and self._handle is not None:
            # Front ends that cannot draw widgets, a saved notebook and the docs show
            # the text form as the last update left it: it tells the end of the run.
            self._handle.update(self)
        self._live = False

    # -- drawing ---------------------------------------------------------------------
    def _set_hint(self) -> None:
        if self.stoppable:
            text = "The server keeps processing what was already sent."
        else:
            # After an interrupt the call never returned: no ``result`` was assigned, so
            # the hint names the run (the interruption's message does too).
            run = esc(repr(self._run_id)) if self._run_id else "run_id"
            text = (
                "To stop waiting, interrupt the kernel (■); the server keeps processing "
                f"what was sent, <code>ccpandas.resume({run})</code> follows it again and "
                f"<code>ccpandas.run_result({run})</code> is the result so far."
            )
        self.hint.value = box(note(text, "muted"))

    def _draw(self, snap: Snapshot) -> None:
        run_id = snap.extra.get("run_id")
        if run_id != self._run_id:
            self._run_id = run_id
            self._set_hint()
        self._last_draw = self.clock()
        self._dirty = False
        acts = snap.activities
        bad = sum(a.state in _BAD for a in acts)
        finished = sum(a.state in _TERMINAL for a in acts)
        ended = snap.phase in ("done", "stopped")
        head, message, word = _news(snap)
        self.header.value = box(
            note("<b>" + esc(head) + "</b>", "danger" if bad else ""),
            note(esc(message), "muted") if message else "",
            note(esc(word), "danger") if word else "",
        )
        if snap.phase in READ_PHASES:
            # A membership read has pages, not activities.
            self.bar.max = max(snap.batches_total, snap.batches_submitted, 1)
            self.bar.value = snap.batches_submitted
            self.bar.bar_style = "success" if snap.phase == "read" else ""
            self.counts.value = box(note(esc(f"{snap.batches_submitted:,} pages read")))
            self.rows.value = ""
            return
        if snap.items_total:
            self.bar.max = snap.items_total
            self.bar.value = min(snap.items_completed, snap.items_total)
            items = f"{snap.items_completed:,} of {snap.items_total:,} items"
        else:
            self.bar.max, self.bar.value = max(snap.batches_total, 1), finished
            items = "items not reported yet"
        complete = ended and finished == snap.batches_total and snap.batches_total
        self.bar.bar_style = "danger" if bad else "success" if complete else ""
        of = plural(snap.batches_total, "activity", "activities")
        failed = note(f"{bad:,} failed", "danger") if bad else ""
        self.counts.value = box(note(esc(items)), note(esc(f"{finished:,} of {of} ended")), failed)
        self.rows.value = self._table(acts)

    def _table(self, acts: tuple[ActivityProgress, ...]) -> str:
        shown = list(acts)
        more = ""
        if len(shown) > self.max_rows:
            shown = sorted(shown, key=lambda a: (_ORDER.get(a.state, 2), a.batch))
            shown = sorted(shown[: self.max_rows], key=lambda a: a.batch)
            more = note(
                f"{len(acts) - self.max_rows:,} more activities not shown "
                "(all of them are in result.activities)",
                "muted",
            )
        rows, classes = [], []
        for a in shown:
            aid = (
                f'<code title="{esc(a.activity_id)}">{esc(a.activity_id[:8])}…</code>'
                if a.activity_id
                else '<span class="muted">not sent</span>'
            )
            items = f"{a.items_completed:,} / {a.items_total:,}" if a.items_total else ""
            errors = "<br>".join(esc(e) for e in a.errors[:3])
            if len(a.errors) > 3:
                errors += f"<br>… {len(a.errors) - 3:,} more"
            rows.append([a.batch, aid, badge(a.state), f"{a.percent_done}%", items, errors])
            classes.append("bad" if a.state in _BAD else "")
        header = ["batch", "activity", "state", "done", "items", "errors"]
        return box(table(header, rows, numeric=(0, 3, 4), row_classes=classes), more)

    # -- text form -------------------------------------------------------------------
    def text(self) -> str:
        """The status in words, the facts the widget shows: the headline and items,
        e.g. ``"done: 2 activities completed; 84 of 84 items"``, then (indented lines)
        the message under the headline (what a re-read verified) and the activities
        that need attention with their first error."""
        if self.value is None:
            return "not started"
        snap = self.value
        head, *news = _news(snap)
        if snap.items_total:
            head += f"; {snap.items_completed:,} of {snap.items_total:,} items"
        lines = [head, *("  " + line for line in news if line)]
        bad = [a for a in snap.activities if a.state in _BAD]
        for a in bad[:_TEXT_BAD_ROWS]:
            error = f": {a.errors[0]}" if a.errors else ""
            lines.append(f"  batch {a.batch} {a.state}{error}")
        if len(bad) > _TEXT_BAD_ROWS:
            lines.append(f"  … {len(bad) - _TEXT_BAD_ROWS:,} more (all in result.activities)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return TEXT_PREFIX + self.text()


class SnapshotBuffer:
    """A Reporter for a worker thread: keeps the latest snapshot behind a lock and
    touches no widget. The kernel's event loop copies it into a :class:`StatusDisplay`
    with :meth:`drain`; Stop requests come from that display.

    Example:
        >>> buf = SnapshotBuffer(StatusDisplay())
        >>> buf.update(Snapshot("polling", 1, 1))
        >>> buf.drain()
        True
    """

    def __init__(self, display: StatusDisplay) -> None:
        self.display = display
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._finished = False

    @property
    def stop_requested(self) -> bool:
        return self.display.stop_requested

    def sleep(self, seconds: float) -> None:
        self.display._stop.wait(seconds)

    def start(self, snapshot: Snapshot) -> None:
        # The display was reset by the main thread before the worker started.
        with self._lock:
            self._latest, self._finished = snapshot, False

    def update(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._latest = snapshot

    def finish(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._latest, self._finished = snapshot, True

    def drain(self) -> bool:
        """Draw the latest snapshot (main thread only); True when there was one."""
        with self._lock:
            snap, finished = self._latest, self._finished
            self._latest = None
        if snap is None:
            return False
        if finished:
            self.display.finish(snap)
        else:
            self.display.update(snap)
        return True


def make_widget_reporter() -> Any:
    """The reporter ``progress="auto"`` builds after ``%load_ext ccpandas``: a
    self-displaying :class:`StatusDisplay` in a Jupyter kernel, tqdm text elsewhere."""
    if not in_notebook():
        return TqdmReporter()
    return StatusDisplay(stoppable=False, auto_display=True)
