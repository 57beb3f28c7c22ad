"""The one state vocabulary of a run: :class:`BatchState` and :class:`Outcome`.

Its own module (re-exported by :mod:`ccpandas.store.batch`) so that the reporters in
:mod:`ccpandas.report.progress`, which :mod:`ccpandas.store.batch` builds on, can name states
without an import cycle.

Example:
    >>> BatchState.COMPLETED.terminal, BatchState.FAILED.bad, BatchState.PENDING.terminal
    (True, True, False)
    >>> sql_list(BatchState.bad_states())
    "'cancelled', 'failed', 'timed_out'"
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from ccpandas.models import ActivityState

__all__ = [
    "STOP_ACTIVITY_TIMEOUT",
    "STOP_DRIVER_ENDED",
    "STOP_NOT_WAITED",
    "STOP_TIMEOUT",
    "Action",
    "AttemptReason",
    "BatchState",
    "ExitCode",
    "Fate",
    "Outcome",
    "PairOutcome",
    "RowStatus",
    "RunKind",
    "RunOutcome",
    "RunState",
    "VerifyMethod",
    "sql_list",
]


class BatchState(enum.StrEnum):
    """What a batch is doing: an API activity state, or one the client adds."""

    PENDING = "pending"  # not sent (yet)
    UNCERTAIN = "uncertain"  # sent, but no answer came back: the activity may exist
    REJECTED = "rejected"  # the API refused the request (4xx)
    INITIALIZED = ActivityState.INITIALIZED.value
    PROCESSING = ActivityState.PROCESSING.value
    COMPLETED = ActivityState.COMPLETED.value
    CANCELLED = ActivityState.CANCELLED.value
    FAILED = ActivityState.FAILED.value
    TIMED_OUT = ActivityState.TIMED_OUT.value
    UNKNOWN = "unknown"  # the activity is no longer reported by the API

    @property
    def terminal(self) -> bool:
        """Nothing more will happen: an API end state, or no longer followable."""
        return self.bad or self in (BatchState.COMPLETED, BatchState.UNKNOWN)

    @property
    def bad(self) -> bool:
        """The activity ended failed, cancelled or timed out."""
        return self in (BatchState.FAILED, BatchState.CANCELLED, BatchState.TIMED_OUT)

    @classmethod
    def parse(cls, value: Any, default: BatchState | None = None) -> BatchState:
        """The state a string names; ``default`` for an empty or unknown one.

        Example:
            >>> BatchState.parse("", default=BatchState.PENDING)
            <BatchState.PENDING: 'pending'>
        """
        try:
            return cls(str(value))
        except ValueError:
            if default is None:
                raise ValueError(f"not a batch state: {value!r}") from None
            return default

    @classmethod
    def terminal_states(cls) -> tuple[BatchState, ...]:
        """Every terminal state, in declaration order."""
        return tuple(s for s in cls if s.terminal)

    @classmethod
    def bad_states(cls) -> tuple[BatchState, ...]:
        """Every bad state (failed, cancelled, timed out), in declaration order."""
        return tuple(s for s in cls if s.bad)

    @property
    def busy(self) -> bool:
        """The API holds the activity and it has not ended (initialized, processing)."""
        return self in (BatchState.INITIALIZED, BatchState.PROCESSING)


class Outcome(enum.StrEnum):
    """What became of one POST attempt (``BatchRun.outcome``, the journal's attempts)."""

    SENDING = "sending"  # journaled before the POST; never seen after a clean exit
    ACCEPTED = "accepted"
    #: Only in journals of earlier versions, which took an activity found on the server
    #: by its shape as an unanswered attempt's. Never recorded now: see the Reliability
    #: guide.
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NOT_SENT = "not_sent"
    UNCERTAIN = "uncertain"


class AttemptReason(enum.StrEnum):
    """Why an attempt was made (the journal's ``attempts.reason``)."""

    FIRST = "first"
    RESEND = "resend"  # sent before without reaching the API (quota, a refusal)
    UNCERTAIN = "uncertain"  # the previous attempt got no answer
    RETRY_FAILED = "retry_failed"  # result.retry_failed(): the activity ended badly


class RunState(enum.StrEnum):
    """What ``ccpandas.runs()`` says about a whole run (its ``state`` column)."""

    RUNNING = "running"  # a process is driving it right now
    COMPLETED = BatchState.COMPLETED.value
    FAILED = BatchState.FAILED.value
    PROCESSING = BatchState.PROCESSING.value
    STOPPED = "stopped"


class RunKind(enum.StrEnum):
    """What a run changes (the journal's ``runs.kind``, ``ccpandas.runs()``'s ``kind``)."""

    REMOVE = "remove"
    UNDO = "undo"
    ADD = "add"  # put the frame's contacts on the lists
    SYNC = "sync"  # make each list hold exactly the frame's contacts (adds and removes)


class Action(enum.StrEnum):
    """What a run asks of one (contact, list) pair (``changes["action"]``)."""

    NONE = "none"  # leave it as it is (not a member, already one, kept)
    REMOVE = "remove"
    ADD = "add"
    BY_API = "by_api"  # an engagement-level source: the API decides who leaves


class VerifyMethod(enum.StrEnum):
    """How a run verifies what it changed (``verify="auto"`` picks one, the plan shows it)."""

    NONE = "none"  # verify=False: nothing is read again
    FULL = "full"  # the target lists are read again (or, found by email, every contact)
    #: GET /contacts?updated_after=<run start>: the contacts changed since, then a look-up
    #: of each changed contact that read does not show
    CHANGED = "changed"
    SAMPLE = "sample"  # a seeded random sample of changed contacts, each looked up


class RowStatus(enum.StrEnum):
    """What the planner says of an input row (``plan.rows["plan_status"]``); a result's
    rows add the outcome of their contact's batch (:class:`PairOutcome`, ``failed``...)."""

    PLANNED = "planned"  # a contact to send
    INVALID_ID = "invalid_id"  # not a usable contact id
    MISSING = "missing"  # no value
    DUPLICATE = "duplicate"  # repeats an earlier row's contact
    INVALID_EMAIL = "invalid_email"  # email input: not an address
    NOT_A_MEMBER = "not_a_member"  # on none of the target lists: nothing to send
    NOT_A_CONTACT = "not_a_contact"  # add/sync by email: no contact has it (never created)
    ALREADY_MEMBER = "already_member"  # add: on every target list already, nothing to send
    KEPT = "kept"  # sync: on every target list already, and stays


class PairOutcome(enum.StrEnum):
    """What became of one (contact, list) pair (``changes["outcome"]``), besides the
    state of an activity that did not complete (``failed``, ``processing``...)."""

    REMOVED = "removed"  # it was on the list and a re-read shows it gone
    STILL_MEMBER = "still_member"  # its activity completed, yet it is still on the list
    NOT_A_MEMBER = "not_a_member"  # it was not on the list: nothing to remove
    KEPT = "kept"  # the plan keeps it (exclude set, not selected by the source)
    RESTORED = "restored"  # an undo put it back and a re-read shows it
    NOT_RESTORED = "not_restored"  # an undo's add completed, yet the re-read does not show it
    ALREADY_MEMBER = "already_member"  # it is on the list already: nothing to add
    ADDED = "added"  # an add put it on the list and a re-read shows it
    NOT_ADDED = "not_added"  # its add completed, yet the re-read does not show it
    CANNOT_RESTORE = "cannot_restore"  # an undo cannot put it back (the reason says why)
    UNVERIFIED = "unverified"  # its activity completed; no re-read says more
    #: its activity ended, and its ``activity_errors`` name this contact (e.g. "not
    #: found"): the API says it did not do it, and no re-read shows it done
    API_ERROR = "api_error"
    NOT_SENT = "not_sent"
    PLANNED = "planned"  # a dry run: nothing was sent


def sql_list(values: Iterable[enum.StrEnum]) -> str:
    """Values as an SQL ``IN (...)`` body of quoted literals (enum values only: they
    are fixed words of this module, never user input).

    Example:
        >>> sql_list([Outcome.SENDING, Outcome.UNCERTAIN])
        "'sending', 'uncertain'"
    """
    words = [str(v) for v in values]
    if not all(w.replace("_", "").isalpha() for w in words):  # never anything but words
        raise ValueError(f"not state words: {words!r}")
    return ", ".join(f"'{w}'" for w in words)


# ----------------------------------------------------------------------------------
# One summary (issue 19 item 4): what a whole run came to, in every front end.
# (A block of its own: the words of ccpandas.run.summary, the CLI and runs().)


#: ``stop_reason`` words of a run its driving call left unfinished with no error
#: (``result.summary()``, the CLI, ``ccpandas.runs()``): ``timeout=`` ran out; the
#: call did not wait (``wait=False``); the process driving it ended (killed).
STOP_TIMEOUT = "timeout"
STOP_NOT_WAITED = "not_waited"
#: A run's activities did not move for its ``activity_timeout``: no longer followed.
STOP_ACTIVITY_TIMEOUT = "activity_timeout"
STOP_DRIVER_ENDED = "the process driving it ended"


class ExitCode(enum.IntEnum):
    """What a ``ccpandas`` command's exit status means (:attr:`RunOutcome.exit_code`).

    Args:
        value: The status, e.g. ``ExitCode(1)``.
    """

    #: Everything asked for was done: every pair that could be sent ended as asked. Rows
    #: that could never be sent (invalid, missing, duplicate, not a member) are skipped,
    #: counted apart, and do not change it.
    OK = 0
    #: Some pair did not end as asked (a failed activity, a contact still a member after
    #: its removal), activities were still running at ``--timeout`` (or another process
    #: drives the run still: outcome ``running``), or the run stopped on an error after
    #: it started. ``doctor``: an assumption differs.
    FAILED = 1
    #: Bad usage or input, not connected, declined at the prompt: nothing was sent.
    USAGE = 2
    #: The daily request quota is spent: ``ccpandas resume RUN_ID`` after 00:00 UTC.
    QUOTA = 3
    #: ``login --refresh``: there is no saved login to refresh (log in once).
    NO_LOGIN = 4
    #: ``login --refresh``: the server refused the refresh token (expired after 180 days
    #: unused, revoked, or spent): log in again.
    REFRESH_REFUSED = 5
    #: ``login --refresh``: the token store could not be read or written (disk full,
    #: keyring locked, no permission); the message says what to fix.
    STORE_FAILED = 6
    #: Interrupted (Ctrl-C): what was sent is journaled; ``ccpandas resume RUN_ID``.
    INTERRUPTED = 130


class RunOutcome(enum.StrEnum):
    """What a run came to, in one word: the same in ``repr(result)``, the panel, the
    CLI's summary and ``--json``, and ``ccpandas.runs()``.

    Args:
        value: The word, e.g. ``RunOutcome("completed")``.

    Example:
        >>> RunOutcome.COMPLETED.exit_code, RunOutcome.FAILED.run_state
        (<ExitCode.OK: 0>, <RunState.FAILED: 'failed'>)
    """

    PLANNED = "planned"  # a dry run: nothing was sent
    COMPLETED = "completed"  # every sendable pair ended as asked (skips counted apart)
    FAILED = "failed"  # every request answered, but some pair did not end as asked
    PROCESSING = "processing"  # activities still running at the last look
    #: another live process drives it now (a rebuilt result, ``ccpandas.run_result``):
    #: ``runs()``' state word, so one run is told one way
    RUNNING = "running"
    STOPPED = "stopped"  # cut short (an error, the quota, a stop): resume() goes on
    QUOTA_EXCEEDED = "quota_exceeded"
    INTERRUPTED = "interrupted"

    @property
    def exit_code(self) -> ExitCode:
        """The ``ccpandas`` exit status of a run with this outcome."""
        if self is RunOutcome.QUOTA_EXCEEDED:
            return ExitCode.QUOTA
        if self is RunOutcome.INTERRUPTED:
            return ExitCode.INTERRUPTED
        done = self in (RunOutcome.PLANNED, RunOutcome.COMPLETED)
        return ExitCode.OK if done else ExitCode.FAILED

    @property
    def run_state(self) -> RunState:
        """The ``state`` word of ``ccpandas.runs()``: the outcome, or ``stopped`` for a
        run stopped by the quota or an interrupt (its ``stop_reason`` says which)."""
        same = (RunOutcome.COMPLETED, RunOutcome.FAILED, RunOutcome.PROCESSING, RunOutcome.RUNNING)
        return RunState(self) if self in same else RunState.STOPPED

    @property
    def unfinished(self) -> bool:
        """The run did not get to the end: ``ccpandas resume`` continues it (every
        outcome but a dry run's, a completed and a failed one)."""
        return self not in (RunOutcome.PLANNED, RunOutcome.COMPLETED, RunOutcome.FAILED)


class Fate(enum.StrEnum):
    """What a row status or pair outcome counts as in a run's summary."""

    DONE = "done"  # ended as asked (removed, restored; kept: nothing asked)
    SKIPPED = "skipped"  # never sendable, or nothing to do: counted apart, not a failure
    FAILED = "failed"  # sent, and not ended as asked
    OPEN = "open"  # not ended yet: not sent, no answer, still running, a dry run's plan
