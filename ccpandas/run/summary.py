"""One summary of a run, computed once, rendered by every front end.

:class:`Summary` is what a result came to: its outcome word (:class:`RunOutcome`), the
exit code that word means, rows and pairs per status, what was skipped apart from what
failed, per-list figures, activities, the stop reason and the hints. ``repr(result)``,
``result._repr_html_()``, the panel, the CLI's summary and ``--json`` and, through the
journal, ``ccpandas.runs()`` all render it, so they cannot disagree.

What differs between kinds of run (a removal, an undo) is data, :class:`KindWords`,
that the result class names; the rules are here, once.

Example:
    >>> fate_of("invalid_id"), fate_of("still_member"), fate_of("removed")
    (<Fate.SKIPPED: 'skipped'>, <Fate.FAILED: 'failed'>, <Fate.DONE: 'done'>)
    >>> RunOutcome.COMPLETED.exit_code
    <ExitCode.OK: 0>
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ccpandas.errors import QuotaExceededError
from ccpandas.models import MembershipAction
from ccpandas.plan.planner import plural
from ccpandas.store.batch import BatchState
from ccpandas.vocab import (
    STOP_DRIVER_ENDED,
    STOP_NOT_WAITED,
    ExitCode,
    Fate,
    PairOutcome,
    RowStatus,
    RunOutcome,
)

__all__ = [
    "ADD_WORDS",
    "REMOVAL_WORDS",
    "SPENT_PARTS",
    "SYNC_WORDS",
    "UNDO_WORDS",
    "KindWords",
    "ListFigures",
    "Summary",
    "fate_of",
    "spent_words",
]

# What each row status / pair outcome counts as. Batch states are the enum's words; the
# others are the planner's, the membership pairs' and the undo's. Done: an exclude row
# kept in the lists, as asked; unverified: its activity completed, no re-read (no
# snapshot). Skipped: not_a_contact (add/sync by email: never created), duplicate (sent
# once, with the row it repeats), an undo's pair already back or not restorable (deleted,
# 50 lists). Failed: api_error, sent and the API says it was not done. Any other word is
# open (fate_of's default): uncertain, processing, not_sent, a dry run's planned.
_FATES: dict[str, Fate] = {
    str(word): fate
    for fate, words in (
        (
            Fate.DONE,
            (
                PairOutcome.REMOVED,
                PairOutcome.RESTORED,
                PairOutcome.ADDED,
                PairOutcome.KEPT,
                PairOutcome.UNVERIFIED,
            ),
        ),
        (
            Fate.SKIPPED,
            (
                RowStatus.NOT_A_CONTACT,
                RowStatus.INVALID_ID,
                RowStatus.MISSING,
                RowStatus.DUPLICATE,
                RowStatus.INVALID_EMAIL,
                RowStatus.NOT_A_MEMBER,
                PairOutcome.ALREADY_MEMBER,
                PairOutcome.CANNOT_RESTORE,
            ),
        ),
        (
            Fate.FAILED,
            (
                PairOutcome.NOT_ADDED,
                PairOutcome.STILL_MEMBER,
                PairOutcome.API_ERROR,
                PairOutcome.NOT_RESTORED,
                *BatchState.bad_states(),
                BatchState.REJECTED,
                BatchState.UNKNOWN,
            ),
        ),
    )
    for word in words
}


#: The parts of a run's spent requests (:attr:`Summary.spent`), in order.
SPENT_PARTS = ("reads", "changes", "polls", "verification")


#: Why a run's spent count is a lower bound (:attr:`Summary.spent_at_least`).
_SPENT_CUT = "a process driving it ended before counting its last requests"


def spent_words(total: int, at_least: bool) -> str:
    """A run's spent requests in all: "1,234", or "at least 3" for a lower bound
    (:attr:`Summary.spent_at_least`), as the summary and ``ccpandas runs`` say it.

    Example:
        >>> spent_words(1234, False), spent_words(3, True)
        ('1,234', 'at least 3')
    """
    return f"at least {total:,}" if at_least else f"{total:,}"


def fate_of(word: str) -> Fate:
    """What a row status or pair outcome counts as: done, skipped, failed or open.

    Example:
        >>> fate_of("not_sent")
        <Fate.OPEN: 'open'>
    """
    return _FATES.get(str(word), Fate.OPEN)


@dataclasses.dataclass(frozen=True)
class KindWords:
    """The words a kind of run is shown with (data, so result classes need not
    override their displays)."""

    kind: str  #: the journal's kind: "remove", "undo"
    title: str  #: the class shown: "RemovalResult"
    truth: str  #: the verified pair outcome: "removed", "restored"
    unit: str = "rows"  #: what ``rows`` counts: "rows", "pairs"
    counted: str = "rows by status"  #: the label of the per-status counts
    requests: str = "activities"  #: the label of the requests line: "change requests"
    preview: bool = False  #: a dry run shows the plan's summary lines
    parent_label: str = "follows run"  #: how the run names its parent: "undoes run"
    status_column: str = "status"  #: the column of ``result.rows`` counted per status
    also: str = ""  #: a second verified outcome: a sync's "removed" beside "added"
    #: what the CLI's ``contacts`` count is: a sync's has the lists' other members too
    contacts: str = "unique valid ids"

    @property
    def truths(self) -> tuple[str, ...]:
        """Every pair outcome that counts as verified done: ("added", "removed")."""
        return (self.truth, self.also) if self.also else (self.truth,)

    def made_by(self, actions: Iterable[str]) -> str:
        """What requests of ``actions`` make, before a re-read shows it: removals the
        removal's word (``also``, else ``truth``), adds ``truth``, both "changed".

        Example:
            >>> SYNC_WORDS.made_by([MembershipAction.REMOVE, MembershipAction.ADD])
            'changed'
            >>> UNDO_WORDS.made_by([MembershipAction.REMOVE]), UNDO_WORDS.made_by([])
            ('removed', 'restored')
        """
        removal = self.also or self.truth
        words = {removal if a == MembershipAction.REMOVE else self.truth for a in actions}
        return "changed" if len(words) > 1 else next(iter(words), self.truth)


REMOVAL_WORDS = KindWords("remove", "RemovalResult", PairOutcome.REMOVED.value)
ADD_WORDS = KindWords("add", "AddResult", PairOutcome.ADDED.value)
SYNC_WORDS = dataclasses.replace(
    ADD_WORDS,
    kind="sync",
    title="SyncResult",
    also=PairOutcome.REMOVED.value,
    contacts="(the file's and the lists' other members)",
)
UNDO_WORDS = KindWords(
    "undo",
    "UndoResult",
    PairOutcome.RESTORED.value,
    "pairs",
    "pairs by outcome",
    "change requests",  # an undo of an add or a sync takes pairs off too
    preview=True,
    parent_label="undoes run",
    status_column="outcome",
    also=PairOutcome.REMOVED.value,  # the undo of an add or a sync takes pairs off again
)


@dataclasses.dataclass(frozen=True)
class ListFigures:
    """One target list's figures in a summary."""

    list_id: str
    name: str | None
    requests: int
    accepted: int
    completed: int
    failed: int
    contacts_sent: int | None  #: None when the API selected the contacts
    contacts_completed: int | None
    verified: int | None  #: pairs a re-read shows ended as asked; None without one


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a run came to, once: every display renders this.

    Build it with :meth:`of`; ``result.summary()`` does.

    Args:
        run_id: The run's journal id; None when nothing was journaled.
        words: The :class:`KindWords` of the run's kind (a removal, an undo).
        parent: The run an undo reverses; None for a removal.
        dry_run: True when nothing was meant to be sent.
        outcome: The one word (:class:`~ccpandas.vocab.RunOutcome`).
        rows: Input rows (an undo: pairs).
        contacts: Unique valid contacts; None when the API selected them.
        n_lists: Target lists.
        by_status: Rows (an undo: pairs) per status, e.g. ``{"removed": 42}``.
        pairs: (contact, list) pairs per outcome of ``result.changes``.
        lists: One :class:`ListFigures` per target list.
        batches: Requests of the plan.
        accepted: Requests the API accepted.
        resent: Requests sent again after no answer.
        sent: POST attempts: the accepted ones (``retry_failed()``'s too) and the
            resends after no usable answer.
        reads: Read requests of the membership snapshot and the verification, when
            known; None otherwise (a result rebuilt from the journal, which keeps no
            count of them).
        activity_states: Requests per activity state, e.g. ``{"completed": 2}``.
        spent: Every request the run spent, per part of :data:`SPENT_PARTS`: ``reads``
            (planning's: the list listing, probes, list reads or lookups), ``changes``
            (the POSTs, resends included), ``polls`` (activity reads) and
            ``verification`` (the re-read), over every driving call of the run (a
            resume adds to it); None when not known (a rebuilt result of a run
            journaled before this count, or a client that counts nothing).
        spent_at_least: :attr:`spent` is a lower bound: counted by the journal while a
            process drove the run, which was killed (or drives it still) before counting
            its last requests; a resume adds its own to it.
        verified: True when a re-read of the lists says how each pair ended.
        truth: The membership line: what the re-read shows, or what is expected.
        stop_reason: Why the run stopped (``quota_exceeded``, ``timeout``,
            ``not_waited``...), or None.
        error: The error the run stopped on, as text, or None.
        resume_call: The Python call that continues an unfinished run, or None.
        facts: Extra lines of the kind, e.g. the duplicates' example.
        preview: A dry-run undo's plan lines, (label, text) each.
        verification: What the verification covered (``method``, ``pairs``, ``verified``,
            ``sample``), as :meth:`RemovalResult.verification
            <ccpandas.RemovalResult.verification>` says; None without one.
        verified_word: What each list's ``verified`` counts: the run's verified change,
            "changed" for a sync that both added and removed.
        driven_elsewhere: Another live process drives the run now (a rebuilt result):
            resuming it here would be refused until that process ends.
        undone_by: The undo that reverted the run, e.g. ``"20250302-080000-1a2b3c"``
            (its note says so); None when it was not undone. An undone run is not
            resumed, and not undone again without ``force=True``.

    Example:
        >>> s = result.summary()  # doctest: +SKIP
        >>> s.outcome, s.ok, s.exit_code, s.skipped  # doctest: +SKIP
        (<RunOutcome.COMPLETED: 'completed'>, True, <ExitCode.OK: 0>, {'invalid_id': 1})
    """

    run_id: str | None
    words: KindWords
    parent: str | None
    dry_run: bool
    outcome: RunOutcome
    rows: int
    contacts: int | None
    n_lists: int
    by_status: Mapping[str, int]  #: rows (an undo: pairs) per status, worst first
    pairs: Mapping[str, int]  #: (contact, list) pairs per outcome
    lists: tuple[ListFigures, ...]
    batches: int
    accepted: int
    resent: int
    sent: int  #: POST attempts, resends included
    reads: int | None  #: read requests of the snapshot and verification, when known
    activity_states: Mapping[str, int]
    verified: bool  #: a re-read of the lists says how each pair ended
    truth: str  #: the membership line: what the re-read shows, or what is expected
    stop_reason: str | None
    error: str | None
    resume_call: str | None  #: the Python call that continues the run
    facts: tuple[str, ...] = ()  #: extra lines of the kind: the duplicates' example
    preview: tuple[tuple[str, str], ...] = ()  #: a dry-run undo: the plan's lines
    verification: Mapping[str, Any] | None = None  #: what the verification covered
    #: what ``ListFigures.verified`` counts: "removed", "added", "restored", or "changed"
    #: (a sync that both added and removed); the kind's word when it is not given
    verified_word: str = ""
    driven_elsewhere: bool = False  #: another live process drives the run now
    spent: Mapping[str, int] | None = None  #: every request spent, per part; None: unknown
    spent_at_least: bool = False  #: ``spent`` is a lower bound (a killed process's count)
    undone_by: str | None = None  #: the undo that reverted the run

    @property
    def spent_total(self) -> int | None:
        """Every request the run spent (the sum of :attr:`spent`), None when unknown."""
        return None if self.spent is None else sum(self.spent.values())

    @property
    def spent_text(self) -> str:
        """ "57 in all (reads 24, changes 32, polls 1, verification 0)", "at least 57
        (...; why)", or "unknown"."""
        if self.spent is None:
            return "unknown (not counted in the journal of this run)"
        if not self.spent_at_least:
            return f"{self.spent_total:,} in all ({_counts(self.spent)})"
        why = "another process drives it now" if self.driven_elsewhere else _SPENT_CUT
        return f"{spent_words(sum(self.spent.values()), True)} ({_counts(self.spent)}; {why})"

    @property
    def changed_word(self) -> str:
        """What each list's ``verified`` counts: ``verified_word``, else the kind's word."""
        return self.verified_word or self.words.truth

    @property
    def by_sample(self) -> bool:
        """The verification saw only a sample of the changed pairs (the others stay
        ``unverified``)."""
        return bool(self.verification and self.verification.get("sample"))

    @property
    def verification_text(self) -> str:
        """ "by a sample of 50 of 12,000 pairs", "all 4 changed pairs (changed)", or ""."""
        return verified_text(self.verification)

    # -- derived ---------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        """Every pair that could be sent ended as asked (skips do not count)."""
        return self.outcome is RunOutcome.COMPLETED

    @property
    def exit_code(self) -> ExitCode:
        """The ``ccpandas`` exit status this outcome means."""
        return self.outcome.exit_code

    @property
    def stopped(self) -> bool:
        """The run did not get to the end (quota, interrupt, error, timeout)."""
        return self.outcome.unfinished

    @property
    def skipped(self) -> dict[str, int]:
        """Rows never sendable or with nothing to do, per status (not failures)."""
        return self._of_fate(Fate.SKIPPED)

    @property
    def failures(self) -> dict[str, int]:
        """Rows (pairs) sent that did not end as asked, per status."""
        return self._of_fate(Fate.FAILED)

    def _of_fate(self, fate: Fate) -> dict[str, int]:
        return {k: v for k, v in self.by_status.items() if fate_of(k) is fate}

    # -- built once ------------------------------------------------------------------
    @classmethod
    def of(
        cls,
        result: Any,
        *,
        error: BaseException | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Summary:
        """The summary of ``result`` (a removal's or an undo's).

        Args:
            result: The :class:`~ccpandas.RemovalResult` (or undo result) to summarise.
            error: The error the run stopped on, if the caller caught one (the CLI).
            names: List names the caller knows (as the user gave them), by list id; the
                result's own names fill in the others.

        Example:
            >>> Summary.of(result).outcome  # doctest: +SKIP
            <RunOutcome.COMPLETED: 'completed'>
        """
        # The result computes it: what it knows of its runs and plan (no import of it here).
        return result._summary_of(error, names)

    # -- renderers -------------------------------------------------------------------
    @property
    def title(self) -> str:
        """ "RemovalResult", with "(dry run: nothing was sent)" for a dry run."""
        return self.words.title + (" (dry run: nothing was sent)" if self.dry_run else "")

    @property
    def outcome_line(self) -> str:
        """ "outcome: completed (ok); skipped 2 (invalid_id 2)": the run in one line."""
        text = f"outcome: {self.outcome}"
        if self.outcome is RunOutcome.COMPLETED:
            text += f" (ok{self._unverified_note})"
        if failed := self.failures:
            text += f"; not as asked {sum(failed.values()):,} ({_counts(failed)})"
        skipped = self.skipped
        if skipped and not self.dry_run:
            text += f"; skipped {sum(skipped.values()):,} ({_counts(skipped)})"
        return text

    @property
    def _unverified_note(self) -> str:
        """What the "ok" of a completed run did not see: a sample's or a busy list's
        unread pairs, or every pair when nothing re-read the lists after changes."""
        if self.by_sample:
            return f", verified {self.verification_text}"
        return ", not verified" if self.accepted and not self.verified else ""

    def lines(self) -> list[str]:
        """The facts of the text and HTML displays, one per line (without the title)."""
        out = [self.outcome_line]
        if self.parent is not None:
            mine = f"; this {self.words.kind} is run {self.run_id}" if self.run_id else ""
            out.append(f"{self.words.parent_label} {self.parent}{mine}")
        if self.preview:
            return out + [f"{label}: {text}" for label, text in self.preview]
        contacts = self._contacts_text()
        out.append(
            f"{self.words.unit}: {self.rows:,}  contacts: {contacts}  lists: {self.n_lists:,}"
        )
        out.append(f"{self.words.requests}: {self._requests_text}")
        out.append(f"requests spent: {self.spent_text}")
        if self.by_status:
            out.append(f"{self.words.counted}: {_counts(self.by_status)}")
        out.extend(self.facts)
        out.append(self.truth)
        return out + self._next_lines()

    def _next_lines(self) -> list[str]:
        """What to do about an unfinished run: who drives it, or the call that goes on."""
        if not self.outcome.unfinished:
            return []
        if self.driven_elsewhere:  # a resume from here would raise RunLockedError
            return [
                "another process is driving it now: wait for it to end, or watch it with "
                "ccpandas.runs() (ccpandas runs)"
            ]
        if not self.resume_call:
            return []
        if self.stop_reason == STOP_NOT_WAITED:
            return [
                "not waited for (wait=False): result.wait() follows its activities; "
                f"{self.resume_call} continues it"
            ]
        return [f"stopped before the end: {self.resume_call} continues"]

    @property
    def _requests_text(self) -> str:
        """ "2 of 2 accepted; completed 2": the requests and their activities' states."""
        text = f"{self.accepted:,} of {self.batches:,} accepted"
        if self.activity_states:
            text += f"; {_counts(self.activity_states)}"
        # Each re-send may have left one more activity on the server: say how many, so
        # the server's activity list adds up (accepted <= activities <= accepted + this).
        if self.resent:
            text += f"; {self.resent:,} re-sent (no usable answer before; idempotent)"
        return text

    def _contacts_text(self, unit: str = "") -> str:
        return "selected by the API" if self.contacts is None else f"{self.contacts:,}{unit}"

    def text(self) -> str:
        """The text display (``repr(result)``)."""
        return "\n".join([self.title, *(f"  {line}" for line in self.lines())])

    def html(self, table: str = "") -> str:
        """The HTML display: the same lines as :meth:`text`, then a table.

        Args:
            table: The table's HTML, e.g. one row per activity; empty (the default)
                shows the counts per status.
        """
        esc = html.escape
        body = "".join(f"<li>{esc(line)}</li>" for line in self.lines())
        if not table and self.by_status:
            counts = ((k, f"{v:,}") for k, v in self.by_status.items())
            table = html_table(("status", self.words.unit), counts)  # rows, or pairs
        return (
            f"<div class='ccpandas-result ccpandas-{esc(str(self.outcome))}'>"
            f"<strong>{esc(self.title)}</strong><ul>{body}</ul>{table}</div>"
        )

    def to_json(self, command: str, output: str | None = None) -> dict[str, Any]:
        """The CLI's ``--json`` object (its keys are documented in docs/cli.md).

        Args:
            command: The command that ran: "remove", "resume", "undo".
            output: The ``--output`` path, or None.
        """
        unfinished = self.outcome.unfinished
        return {
            "command": command,
            "kind": self.words.kind,
            "run_id": self.run_id,
            "dry_run": self.dry_run,
            "outcome": str(self.outcome),
            "ok": self.ok,
            "exit_code": int(self.exit_code),
            "rows": self.rows,
            "contacts": self.contacts,
            "rows_by_status": dict(self.by_status),
            "skipped": self.skipped if not self.dry_run else {},
            "pairs_by_outcome": dict(self.pairs),
            "requests": {"total": self.batches, "accepted": self.accepted, "resent": self.resent},
            "activities": dict(self.activity_states),
            "requests_spent": None
            if self.spent is None
            else {"total": self.spent_total, **self.spent},
            "requests_spent_at_least": self.spent_at_least,
            "lists": [dataclasses.asdict(item) for item in self.lists],
            "verified_word": self.changed_word,
            "verification": dict(self.verification) if self.verification else None,
            "stopped": unfinished,
            "stop_reason": self.stop_reason,
            "resume": f"ccpandas resume {self.run_id}"
            if unfinished and self.run_id and self.resume_call
            else None,
            "error": self.error or None,
            "notes": list(self.facts),
            "undone_by": self.undone_by,
            "output": output,
        }

    def report_text(self, output: str | None = None) -> str:
        """The CLI's readable summary (``ccpandas remove``, ``resume``, ``undo``).

        Args:
            output: The ``--output`` path the rows were written to, or None.
        """
        what = "Dry run" if self.dry_run else f"Run {self.run_id or '(not journaled)'}"
        shown = f" ({_counts(self.by_status)})" if self.by_status else ""
        skipped = self.skipped if not self.dry_run else {}
        facts = [
            ("rows", f"{self.rows:,}{shown}"),
            ("contacts", self._contacts_text(f" {self.words.contacts}")),
            ("requests", self._requests_text),
            ("spent", self.spent_text),
            *(("list", self._list_text(item)) for item in self.lists),
            (
                "skipped",
                f"{sum(skipped.values()):,} {self.words.unit} never sendable "
                f"or with nothing to do ({_counts(skipped)}): not failures"
                if skipped
                else "",
            ),
            # No re-read: say so, as repr(result) does ("ok" is then the activities').
            (
                "verified",
                self.verification_text or ("" if self.verified or self.dry_run else self.truth),
            ),
            ("error", self.error),
            *(("note", fact) for fact in self.facts),  # as str() and the panel say them
        ]
        lines = [f"{what}: {str(self.outcome).replace('_', ' ')}"]
        lines.extend(f"  {label:<10} {text}" for label, text in facts if text)
        if self.outcome.unfinished and self.run_id and self.resume_call:
            lines.append(f"Continue with: ccpandas resume {self.run_id}")
        bad = {k: v for k, v in self.by_status.items() if fate_of(k) in (Fate.FAILED, Fate.OPEN)}
        if bad and not self.dry_run and not self.ok:
            where = "in " + output if output else "written with --output"
            lines.append(
                f"{sum(bad.values()):,} of {self.rows:,} {self.words.unit} did not succeed "
                f"({_counts(bad)}): their status and error are {where}"
            )
        if output:
            lines.append(f"Wrote {self.rows:,} {self.words.unit} to {output}")
        return "\n".join(lines)

    def _list_text(self, item: ListFigures) -> str:
        label = item.name or item.list_id
        if item.contacts_sent is None:
            text = f"{item.completed:,} of {item.requests:,} requests completed"
        else:
            text = (
                f"{item.contacts_sent:,} contacts sent, "
                f"{item.contacts_completed:,} in completed activities"
            )
        if item.failed:
            text += f", {plural(item.failed, 'request')} failed"
        if item.verified is not None:
            how = "in the sample" if self.by_sample else "by reading the list"
            text += f"; {self.changed_word} (verified {how}) {item.verified:,}"
        return f"{label}: {text}"


def html_table(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    escape: bool = True,
    numeric: Iterable[int] = (),
    row_classes: Sequence[str] | None = None,
) -> str:
    """An HTML table of ``rows`` under ``header``, every cell escaped (unless ``escape``
    is False).

    Args:
        header: The column titles.
        rows: The cells, row by row.
        escape: True (the default) escapes every cell; False inserts them as given
            (HTML already, escaped by the caller).
        numeric: The positions of the columns to right-align (``class="num"``).
        row_classes: Per row, a class for its ``<tr>`` (e.g. ``"bad"``) or "".

    Example:
        >>> print(html_table(("list", "rows"), [("VIP", "3")]).replace("><", ">\\n<"))
        <table>
        <thead>
        <tr>
        <th>list</th>
        <th>rows</th>
        </tr>
        </thead>
        <tbody>
        <tr>
        <td>VIP</td>
        <td>3</td>
        </tr>
        </tbody>
        </table>
    """
    nums, num = set(numeric), ' class="num"'

    def tr(tag: str, cells: Sequence[Any], cls: str = "", text: bool = True) -> str:
        attr = f' class="{cls}"' if cls else ""
        tds = (
            f"<{tag}{num if i in nums else ''}>{html.escape(str(c)) if text else c}</{tag}>"
            for i, c in enumerate(cells)
        )
        return f"<tr{attr}>{''.join(tds)}</tr>"

    body = "".join(
        tr("td", row, row_classes[n] if row_classes else "", escape) for n, row in enumerate(rows)
    )
    return f"<table><thead>{tr('th', header)}</thead><tbody>{body}</tbody></table>"


def verified_text(verification: Mapping[str, Any] | None) -> str:
    """What a verification (:meth:`RemovalResult.verification
    <ccpandas.RemovalResult.verification>`) covered, in words; "" without one.

    Example:
        >>> verified_text({"method": "sample", "pairs": 12000, "verified": 50, "sample": True})
        'by a sample of 50 of 12,000 pairs'
    """
    v = verification
    if not v:
        return ""
    if v["sample"] and v["method"] == "full":  # lists that kept changing, see docs/removing.md
        return f"{v['verified']:,} of {v['pairs']:,} pairs (full: the others' lists kept changing)"
    if v["sample"]:
        return f"by a sample of {v['verified']:,} of {v['pairs']:,} pairs"
    return f"all {v['pairs']:,} changed pairs ({v['method']})"


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def outcome_of(result: Any, words: Iterable[str], error: BaseException | None) -> RunOutcome:
    """The one word for ``result``, whose rows and pairs have the statuses and outcomes
    ``words``: the rules every front end shares (docs/cli.md, exit codes)."""
    reason, runs = getattr(result, "stop_reason", None), result.runs
    if result.dry_run:
        return RunOutcome.PLANNED
    if getattr(result, "driven_elsewhere", False):  # runs()' word: it is not over yet
        return RunOutcome.RUNNING
    if result.interrupted or isinstance(error, KeyboardInterrupt):
        return RunOutcome.INTERRUPTED
    if isinstance(error, QuotaExceededError) or reason == "quota_exceeded":
        return RunOutcome.QUOTA_EXCEEDED
    died = getattr(result, "unfinished_reason", None) == STOP_DRIVER_ENDED
    if getattr(result, "verification_due", False) and (error or reason or died):
        return RunOutcome.STOPPED  # stopped (or killed) before the re-read it asked for
    # A refusal that leaves nothing to resume is not a stop: the run failed.
    stopped = error is not None or (reason is not None and not result.done)
    if stopped and not refused_at_end(runs):
        return RunOutcome.STOPPED
    if not result.done:
        ended = all(r.terminal or r.state is BatchState.REJECTED for r in runs)
        if ended:  # nothing more will happen without retry_failed(): refused batches
            return RunOutcome.FAILED
        busy = all(r.accepted or r.failed or r.state is BatchState.REJECTED for r in runs)
        return RunOutcome.PROCESSING if busy and not result.stopped else RunOutcome.STOPPED
    if any(r.state is not BatchState.COMPLETED for r in runs) or any(
        fate_of(w) is not Fate.DONE and fate_of(w) is not Fate.SKIPPED for w in words
    ):
        return RunOutcome.FAILED
    return RunOutcome.COMPLETED


def refused_at_end(runs: Sequence[Any]) -> bool:
    """The API refused a batch (4xx) and every other batch's activity ended: a resume
    would send and follow nothing; ``retry_failed()`` sends the refused ones again."""
    refused = [r.state is BatchState.REJECTED for r in runs]
    return any(refused) and all(r.terminal or no for r, no in zip(runs, refused, strict=True))


def stop_word(exc: BaseException) -> str:
    """A short word for why a run stopped on ``exc``, kept in the journal: its
    ``error_key`` (any spent quota: ``quota_exceeded``), or the error's class name.

    Example:
        >>> stop_word(QuotaExceededError(429, "too_many_requests")), stop_word(KeyError())
        ('quota_exceeded', 'KeyError')
    """
    if isinstance(exc, QuotaExceededError):
        return str(RunOutcome.QUOTA_EXCEEDED)
    return str(getattr(exc, "error_key", None) or type(exc).__name__)


def stop_reason_of(result: Any, outcome: RunOutcome, error: BaseException | None) -> str | None:
    """Why ``result`` stopped, as its summary says (None: it did not)."""
    if outcome in (RunOutcome.QUOTA_EXCEEDED, RunOutcome.INTERRUPTED):
        return str(outcome)
    # Unfinished with no stop recorded: why nothing follows it (``timeout``,
    # ``not_waited``, the process driving it ended), or None while another process does.
    unfinished = getattr(result, "unfinished_reason", None)
    if outcome is RunOutcome.PROCESSING:
        return unfinished
    if error is not None:
        return stop_word(error)
    if outcome is RunOutcome.STOPPED:
        return getattr(result, "stop_reason", None) or unfinished or "stopped"
    return None


def list_figures(
    result: Any, names: Mapping[str, str], verified: Mapping[str, int] | None
) -> tuple[ListFigures, ...]:
    """Per target list of ``result``: requests, and contacts sent and in completed
    activities; ``names``: the lists' names, ``verified``: pairs verified per list."""
    runs = result.runs
    # Contacts are counted only when the input named them (not for tag or engagement
    # sources, where the API selects them).
    counted = result.plan.n_contacts is not None
    out = []
    for list_id in result.plan.list_ids:
        mine = [r for r in runs if list_id in r.batch.list_ids]
        accepted = [r for r in mine if r.accepted]
        completed = [r for r in mine if r.state is BatchState.COMPLETED]
        out.append(
            ListFigures(
                list_id=list_id,
                name=names.get(list_id),
                requests=len(mine),
                accepted=len(accepted),
                completed=len(completed),
                failed=sum(bool(r.failed) for r in mine),
                contacts_sent=sum(r.batch.size for r in accepted) if counted else None,
                contacts_completed=sum(r.batch.size for r in completed) if counted else None,
                verified=None if verified is None else int(verified.get(list_id, 0)),
            )
        )
    return tuple(out)
