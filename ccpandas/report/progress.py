"""How a run reports progress: one Reporter interface, several front ends.

The runner drives; reporters only watch. They receive immutable :class:`Snapshot`
objects from the thread that runs the removal (never from a background thread), so a
front end that is not thread-safe (ipywidgets under ipykernel 7) is safe to update.

Example:
    >>> rep = make_reporter(False)
    >>> type(rep).__name__
    'NullReporter'
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO, runtime_checkable

from ccpandas._env import in_notebook
from ccpandas.errors import short_repr
from ccpandas.vocab import BatchState

__all__ = [
    "ActivityProgress",
    "LogReporter",
    "NullReporter",
    "PageProgress",
    "PhaseReporter",
    "Reporter",
    "Snapshot",
    "TqdmReporter",
    "check_progress",
    "make_reporter",
    "set_default_reporter_factory",
]


@dataclass(frozen=True)
class ActivityProgress:
    """The last known state of one batch and its activity.

    Args:
        batch: The batch's position in its plan, from 0.
        activity_id: The activity the API created for it, or None before it is accepted.
        state: Its state: ``pending`` before it is sent, then the API's activity state
            (``processing``, ``completed``, ``failed``...); a
            :class:`~ccpandas.vocab.BatchState`.
        percent_done: How far the API says the activity is, 0 to 100. Default 0.
        items_completed: Items (contact x list pairs, as the API counts them) processed so
            far. Default 0.
        items_total: Items the activity has to process; 0 (the default) until the API says.
        errors: The activity's error messages, if any. Default none.
    """

    batch: int
    activity_id: str | None
    state: BatchState  # pending before it is sent, then the API's activity state
    percent_done: int = 0
    items_completed: int = 0
    items_total: int = 0
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """Everything a display needs at one moment of a run.

    Args:
        phase: What the run is doing: ``"starting"``, ``"submitting"``, ``"polling"``,
            ``"waiting"`` (a full queue or a spent quota), ``"done"`` or ``"stopped"``.
        batches_total: Requests in the run.
        batches_submitted: Requests the API accepted so far.
        activities: One :class:`ActivityProgress` per batch, in order. Default none.
        message: A line for people, e.g. why the run waits. Default empty.
        wait_seconds: How long the current wait lasts, in seconds (phase ``waiting``).
            Default 0.
        extra: Anything more a display may show: the verification read ("read"), and the
            run's :class:`~ccpandas.run.summary.Summary` ("summary") at its end. Default empty.
    """

    phase: str  # "submitting", "polling", "waiting", "done", "stopped"
    batches_total: int
    batches_submitted: int
    activities: tuple[ActivityProgress, ...] = ()
    message: str = ""
    wait_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def items_total(self) -> int:
        """Items (contact x list pairs, as the API counts them) across activities."""
        return sum(a.items_total for a in self.activities)

    @property
    def items_completed(self) -> int:
        """Items processed so far across activities."""
        return sum(a.items_completed for a in self.activities)

    @property
    def failed(self) -> int:
        """How many activities ended failed, cancelled or timed out."""
        return sum(BatchState(a.state).bad for a in self.activities)


@runtime_checkable
class Reporter(Protocol):
    """What the runner calls. All methods are called from the running thread."""

    def start(self, snapshot: Snapshot) -> None:
        """The run begins.

        Args:
            snapshot: The run's state at the start (a :class:`Snapshot`).
        """

    def update(self, snapshot: Snapshot) -> None:
        """Something changed: a batch was sent, a poll answered, a wait began.

        Args:
            snapshot: The run's state now (a :class:`Snapshot`).
        """

    def finish(self, snapshot: Snapshot) -> None:
        """The run ended (done, timed out, stopped or failed).

        Args:
            snapshot: The run's state at the end (a :class:`Snapshot`).
        """

    @property
    def stop_requested(self) -> bool:
        """True when the user asked to stop waiting (a Stop button)."""

    @property
    def sleep(self) -> Callable[[float], None] | None:
        """How to wait between polls, or None for the runner's clock. A widget reporter
        brings one that keeps processing UI events, so its Stop button is seen."""


class NullReporter:
    """Shows nothing (``progress=False``)."""

    stop_requested = False
    sleep = None

    def update(self, snapshot: Snapshot) -> None:
        pass

    start = finish = update


class PhaseReporter:
    """Reports a step inside a run (the verification read) as one phase of that run.

    The step calls ``start``/``update``/``finish`` as if it ran alone; the run's
    reporter sees only ``update`` calls, each the step's snapshot turned by ``frame``
    into one of the run's (e.g. the run's activities with the phase ``"verifying"``).
    So a display shows one run, from its single ``start`` to its single ``finish``,
    instead of a second display (or a second pair of bars) for the step.

    Example:
        >>> seen = []
        >>> class Watch(NullReporter):
        ...     def update(self, snapshot):
        ...         seen.append(snapshot.phase)
        >>> def frame(read):
        ...     return Snapshot("verifying", 1, 1, message=read.message)
        >>> step = PhaseReporter(Watch(), frame)
        >>> step.start(Snapshot("reading", 0, 0))
        >>> step.finish(Snapshot("read", 1, 1))
        >>> seen
        ['verifying', 'verifying']
    """

    def __init__(self, reporter: Reporter, frame: Callable[[Snapshot], Snapshot]) -> None:
        self.reporter = reporter
        self.frame = frame

    @property
    def stop_requested(self) -> bool:
        return bool(self.reporter.stop_requested)

    @property
    def sleep(self) -> Callable[[float], None] | None:
        return self.reporter.sleep

    def update(self, snapshot: Snapshot) -> None:
        self.reporter.update(self.frame(snapshot))

    start = finish = update  # the step's own start and end are updates of the run


#: The phases of a membership read (``ccpandas.read.snapshot``), not of a removal.
READ_PHASES = frozenset({"reading", "read"})


class TqdmReporter(NullReporter):
    """Two tqdm bars: requests submitted, and items completed by the API.

    ``progress="tqdm"`` picks it; pass an instance as ``progress=`` to choose where the
    bars go.

    Args:
        file: Where the bars are written, e.g. ``sys.stdout`` or an open file. None (the
            default) is stderr, like tqdm itself.
        tqdm_kwargs: More keyword arguments for both ``tqdm`` bars, e.g. ``ncols=80`` or
            ``mininterval=5``.

    Example:
        >>> bars = TqdmReporter(file=sys.stdout, ncols=80)
        >>> ccpandas.remove_from_lists(df, ["Newsletter"], progress=bars)  # doctest: +SKIP
    """

    def __init__(self, file: Any = None, **tqdm_kwargs: Any) -> None:
        self._file = file
        self._kwargs = tqdm_kwargs
        self._submit: Any = None
        self._items: Any = None

    def start(self, snapshot: Snapshot) -> None:
        from tqdm.auto import tqdm

        common = {"file": self._file or sys.stderr, "dynamic_ncols": True, **self._kwargs}

        def bar(desc: str, unit: str, total: int | None, initial: int = 0) -> Any:
            return tqdm(total=total, initial=initial, desc=desc, unit=unit, **common)

        s = snapshot
        if s.phase in READ_PHASES:
            # A membership read sends GET pages, not removals: one bar, counting pages.
            known = s.extra.get("pages_known", True)
            total = (s.batches_total or None) if known else None
            self._submit = bar("reading lists" if known else "reading", "page", total)
        else:
            # initial=: a resume starts with work already done; counted as if done now, it
            # made rates like 88246.50req/s. tqdm's rate counts only n - initial.
            self._submit = bar("submitted", "req", s.batches_total, s.batches_submitted)
            self._items = bar("processed", "item", s.items_total or None, s.items_completed)
        self.update(snapshot)

    def update(self, snapshot: Snapshot) -> None:
        if self._submit is None:
            return
        reading = self._items is None  # a read: pages so far, of about how many
        known = snapshot.extra.get("pages_known", True)
        if reading and known and snapshot.batches_total:
            self._submit.total = snapshot.batches_total
        self._submit.n = snapshot.batches_submitted
        self._submit.set_postfix_str(snapshot.message or snapshot.phase, refresh=False)
        self._submit.refresh()
        if reading:
            return
        if snapshot.items_total:
            self._items.total = snapshot.items_total
        self._items.n = snapshot.items_completed
        if snapshot.failed:
            self._items.set_postfix_str(f"{snapshot.failed} failed", refresh=False)
        self._items.refresh()

    def finish(self, snapshot: Snapshot) -> None:
        self.update(snapshot)
        for bar in (self._submit, self._items):
            if bar is not None:
                bar.close()
        self._submit = self._items = None


class LogReporter(NullReporter):
    """Progress for a log file: plain timestamped lines, never ``\\r`` or escapes.

    A line when the run starts, then at most one every ``interval`` seconds while it
    runs, and one when it ends. Pass it as ``progress=``.

    Args:
        stream: Where the lines go, e.g. an open log file. None (the default) is
            ``sys.stderr`` at the time of each line.
        interval: The fewest seconds between two lines while it runs. Default 5.
        clock: Where the time comes from (seconds, only differences count). Default
            ``time.monotonic``.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> rep = LogReporter(out, interval=5, clock=iter([0, 1, 9]).__next__)
        >>> rep.start(Snapshot("submitting", 4, 0))
        >>> rep.update(Snapshot("submitting", 4, 1))  # 1 s later: too soon, no line
        >>> rep.finish(Snapshot("done", 4, 4))
        >>> [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]
        ['ccpandas: submitting: 0 of 4 requests sent', 'ccpandas: done: 4 of 4 requests sent']
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self.interval = interval
        self._clock = clock
        self._last = -math.inf

    def _line(self, snapshot: Snapshot) -> None:
        sent = f"{snapshot.batches_submitted:,} of {snapshot.batches_total:,}"
        parts = [f"{sent} requests sent"]
        if snapshot.phase in READ_PHASES:  # a membership read: pages, not removal requests
            # A reader's read (no total to show): its message says it all.
            parts = [f"{sent} pages read"] if snapshot.extra.get("pages_known", True) else []
        if snapshot.items_total:
            parts.append(
                f"{snapshot.items_completed:,} of {snapshot.items_total:,} items processed"
            )
        if snapshot.failed:
            parts.append(f"{snapshot.failed:,} activities failed")
        if snapshot.wait_seconds:
            parts.append(f"waiting {snapshot.wait_seconds:.0f} s")
        if snapshot.message:
            parts.append(snapshot.message)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        text = f"{stamp} ccpandas: {snapshot.phase}: " + "; ".join(parts)
        # A log line is one line: a message never breaks it or moves the cursor.
        text = "".join(c if c.isprintable() else " " for c in text)
        print(text, file=self._stream or sys.stderr, flush=True)

    def start(self, snapshot: Snapshot) -> None:
        self._last = self._clock()
        self._line(snapshot)

    def update(self, snapshot: Snapshot) -> None:
        now = self._clock()
        if now - self._last >= self.interval:
            self._last = now
            self._line(snapshot)

    def finish(self, snapshot: Snapshot) -> None:
        self._line(snapshot)


class PageProgress:
    """Reports the pages of a reader's GETs, once a read takes more than one page.

    Pass :meth:`page` as ``on_page`` to :meth:`ccpandas.Client.paginate` (for every
    query of a read); :meth:`close` when the read ends, however it ends. A read of one
    page shows nothing and makes no reporter (no empty widget in a notebook); from the
    second page on the reporter sees phase ``reading`` (pages so far; the total is not
    known in advance), and ``read`` at the end.

    Args:
        progress: The reader's ``progress=`` argument: ``"auto"``, ``"tqdm"``, True,
            False, None or a :class:`Reporter` (see :func:`make_reporter`; ``"auto"``
            writes :class:`LogReporter` lines when stderr is not a terminal).
        what: What is read, for the message, e.g. ``"contacts"``.
        key: The key of a page's body that holds the items, e.g. ``"contacts"``.

    Example:
        >>> seen = []
        >>> class Watch(NullReporter):
        ...     def update(self, snapshot):
        ...         seen.append(snapshot.message)
        >>> pages = PageProgress(Watch(), "contacts", "contacts")
        >>> pages.page({"contacts": [{}, {}]}, True)
        >>> pages.page({"contacts": [{}]}, False)
        >>> pages.close()
        >>> seen
        ['contacts: page 2, 3 so far']
    """

    def __init__(self, progress: bool | str | Reporter | None, what: str, key: str) -> None:
        check_progress(progress)
        self.progress = progress
        self.reporter: Reporter = NullReporter()
        self.what = what
        self.key = key
        self.pages = 0
        self.items = 0
        self.started = False

    def _snapshot(self, more: bool, *, done: bool = False) -> Snapshot:
        pages = self.pages
        unknown = {"pages_known": False}
        if done:
            text = f"{self.what}: {pages:,} page{'s' * (pages != 1)}, {self.items:,} {self.what}"
            return Snapshot("read", pages, pages, message=text, extra=unknown)
        # The total is a lower bound: the API does not say how many pages follow.
        text = f"{self.what}: page {pages:,}, {self.items:,} so far"
        return Snapshot("reading", pages + more, pages, message=text, extra=unknown)

    def page(self, body: Mapping[str, Any], more: bool) -> None:
        """One page arrived; ``more``: another follows (a ``next`` link).

        Args:
            body: The page's decoded JSON body.
            more: True when the page links to a next one.
        """
        self.pages += 1
        items = body.get(self.key)
        self.items += len(items) if isinstance(items, list) else 0
        if not self.started and (more or self.pages > 1):
            self.started = True
            self.reporter = make_reporter(self.progress, plain_when_piped=True)
            self.reporter.start(self._snapshot(more))
        elif self.started:
            self.reporter.update(self._snapshot(more))

    def close(self) -> None:
        """The read ended: a last report, if anything was shown."""
        if self.started:
            self.started = False
            self.reporter.finish(self._snapshot(False, done=True))


ReporterFactory = Callable[[], Reporter]
_default_factory: ReporterFactory | None = None


def set_default_reporter_factory(factory: ReporterFactory | None) -> None:
    """Make ``progress="auto"`` build reporters with ``factory`` (the Jupyter extension
    sets its widget reporter here); ``None`` restores the default.

    Args:
        factory: A function of no arguments that returns a new :class:`Reporter` for each
            run, or None to go back to tqdm.

    Example:
        >>> set_default_reporter_factory(NullReporter)
        >>> type(make_reporter("auto")).__name__
        'NullReporter'
        >>> set_default_reporter_factory(None)
    """
    global _default_factory
    _default_factory = factory


def check_progress(progress: Any) -> None:
    """TypeError/ValueError unless ``progress`` is a value ``progress=`` accepts.

    Args:
        progress: The value to check: ``"auto"``, ``"tqdm"``, True, False, None or a
            :class:`Reporter` object pass.

    Example:
        >>> check_progress("tqdm")
        >>> check_progress(3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: progress must be 'auto', 'tqdm', True, False, None or ..., not 3 (int)
    """
    accepted = "'auto', 'tqdm', True, False, None or a Reporter object"
    if progress is None or isinstance(progress, bool):
        return
    if isinstance(progress, str):
        if progress not in ("auto", "tqdm"):
            raise ValueError(f"progress must be {accepted}, not {progress!r}")
        return
    if not isinstance(progress, Reporter):
        text = short_repr(progress, width=60)
        raise TypeError(f"progress must be {accepted}, not {text} ({type(progress).__name__})")


def make_reporter(
    progress: bool | str | Reporter | None, *, plain_when_piped: bool = False
) -> Reporter:
    """Turn the ``progress=`` argument into a Reporter.

    ``"auto"`` (or True): the kernel's default (widgets after ``%load_ext ccpandas``),
    else tqdm when stderr is a terminal or in CI, else tqdm anyway (it degrades to text).
    ``False``/``None``: nothing. ``"tqdm"``: tqdm. A Reporter object is used as is.

    Args:
        progress: How progress is shown: ``"auto"`` (the widget display in a notebook after
            ``%load_ext ccpandas``, else tqdm bars on stderr), ``"tqdm"``, True (same as
            ``"auto"``), False or None (nothing), or a
            :class:`~ccpandas.report.progress.Reporter` object.
        plain_when_piped: With ``"auto"``, outside a notebook, when stderr is not a
            terminal (a log, a pipe, cron): plain :class:`LogReporter` lines instead of
            tqdm's redraws. False (the default) keeps tqdm (the readers pass True).

    Example:
        >>> isinstance(make_reporter("tqdm"), TqdmReporter)
        True
    """
    check_progress(progress)
    if progress is None or progress is False:
        return NullReporter()
    if progress is True or progress == "auto":
        if _default_factory is not None:
            return _default_factory()
        if plain_when_piped and not _stderr_is_terminal() and not in_notebook():
            return LogReporter()  # sys.stderr when it writes: pytest's capture, say
        return TqdmReporter()
    if progress == "tqdm":
        return TqdmReporter()
    assert isinstance(progress, Reporter)
    return progress


def _stderr_is_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # replaced by an object without isatty, or closed
        return False
