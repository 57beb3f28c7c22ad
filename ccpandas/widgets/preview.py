"""The plan preview: what a removal (an add, a sync) will send, shown before anything is sent.

``value`` holds the :class:`~ccpandas.RemovalPlan` (or None); set it and the
preview redraws: valid, invalid, missing and duplicate rows with a peek at the
unusable ones, activities, API requests, the time at the rate limit, the share of
the daily quota, whether the run can be undone (and what a snapshot would cost to
make it so); for an add or a sync, each list's adds and removes (from the plan's
change set). ``error`` holds the reason when no plan can be made.

Example:
    >>> import pandas as pd
    >>> from ccpandas.plan.planner import plan_removal
    >>> df = pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002", "x"]})
    >>> preview = PlanPreview()
    >>> preview.value = plan_removal(df, ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"])
    >>> preview.text()
    'plan: 1 contact from 1 list in 1 request (1 invalid, 0 missing, 0 duplicate rows)'
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import traitlets

from ccpandas.models import MembershipAction, SourceKind
from ccpandas.plan.membership import ListChange
from ccpandas.plan.planner import RemovalPlan, duration, per_list_text, plural, quota_percent
from ccpandas.vocab import PairOutcome, RowStatus, RunKind
from ccpandas.widgets._html import box, esc, note, table
from ccpandas.widgets._parts import titled

__all__ = ["ListChange", "PlanPreview", "change_text", "list_changes", "per_list_text"]

_PEEK = 5
# The contacts row of a DataFrame's plan, by kind (a removal's words are the original).
_CONTACTS_LABEL = {
    RunKind.REMOVE: "contacts to remove (valid, unique)",
    RunKind.ADD: "contacts to add (valid, unique)",
    RunKind.SYNC: "contacts in the segment (valid, unique)",
}
_BLIND_ADD = (
    "The lists' members are not read: every contact is sent to every list (members "
    "already on a list stay as they are). Read the members first to see who is new."
)


def list_changes(plan: RemovalPlan) -> list[ListChange] | None:
    """Each target list's adds, removes and unchanged members (the plan's
    :meth:`~ccpandas.plan.membership.MembershipPlan.per_list`); None when the lists'
    members were not read (nothing is known).

    Example:
        >>> list_changes(plan_removal(df, [list_id])) is None  # doctest: +SKIP
        True
    """
    m = plan.membership
    return m.per_list() if m is not None and m.known else None


class PlanPreview(w.VBox):
    """Shows a :class:`~ccpandas.RemovalPlan` (``value``) or why there is none
    (``error``). ``source_text`` describes an API-selected source in words (with list
    and tag names), since the plan itself only knows ids.

    Args:
        title: A heading shown above the widget, e.g. ``"Target lists"``. Default
            none.
        placeholder: What the preview says while there is no plan. Default (empty):
            "Pick the target lists and a source to see the plan."
    """

    value = traitlets.Instance(RemovalPlan, allow_none=True, help="the plan shown")
    error = traitlets.Unicode("", help="why there is no plan (shown in red)")
    source_text = traitlets.Unicode("", help="the source in words")

    def __init__(self, title: str = "", placeholder: str = "") -> None:
        self.placeholder = placeholder or "Pick the target lists and a source to see the plan."
        self.html = w.HTML()
        super().__init__(titled(title, self.html), layout=w.Layout(width="100%"))
        self._draw()

    @traitlets.observe("value", "error", "source_text")
    def _on_change(self, change: Any) -> None:
        self._draw()

    def _draw(self) -> None:
        plan = self.value
        if self.error:
            self.html.value = box(note(esc(self.error), "danger"))
            return
        if plan is None:
            self.html.value = box(note(esc(self.placeholder), "muted"))
            return
        notes = "".join(note(esc(n), "muted") for n in plan.notes)
        self.html.value = box(self._summary(plan), self._per_list(plan), self._peek(plan), notes)

    def _summary(self, plan: RemovalPlan) -> str:
        rows: list[tuple[str, str]] = []
        if plan.source.kind is SourceKind.CONTACT_IDS:
            rows += _row_lines(plan)
        else:
            rows.append(("source", self.source_text or plan.summary()["source"]))
            if plan.source.accepts_exclude:
                rows.append(("contacts kept (exclude)", f"{len(plan.exclude):,}"))
        groups = len(plan.list_groups)
        lists = plural(plan.n_lists, "list")
        if groups > 1:
            lists += f" in {groups} groups of at most 50"
        rows += [
            ("target lists", lists),
            ("activities (one per request)", f"{plan.n_batches:,}"),
            ("API requests", _requests_text(plan)),
            (f"time at {plan.rate:g} requests per second", duration(plan.estimated_seconds)),
            (
                "share of the daily quota",
                f"{quota_percent(plan.quota_share)} of "
                f"{plan.daily_quota:,} requests"
                + (f" (needs {plan.days_needed} days)" if plan.days_needed > 1 else "")
                + (f"; {plan.usage_text}" if plan.usage_text else ""),
            ),
            ("undo", plan.undo_text),  # said before the run, not when undo fails
        ]
        return table(["plan (nothing sent yet)", ""], [(esc(a), esc(b)) for a, b in rows])

    def _per_list(self, plan: RemovalPlan) -> str:
        """An add's or a sync's changes per target list (a removal says it in its
        confirmation)."""
        if plan.kind == RunKind.REMOVE:
            return ""
        changes = list_changes(plan)
        if changes is None:
            return note(esc(_BLIND_ADD), "muted")
        sync = plan.kind == RunKind.SYNC
        header = ["list", "to add", *(["to remove"] if sync else [])]
        header.append("kept" if sync else "already members")
        rows = [
            [esc(c.name), f"{c.added:,}", *([f"{c.removed:,}"] if sync else []), f"{c.unchanged:,}"]
            for c in changes
        ]
        return note("<b>Each list</b>") + table(header, rows, numeric=range(1, len(header)))

    def _peek(self, plan: RemovalPlan) -> str:
        if plan.source.kind is not SourceKind.CONTACT_IDS:
            return ""
        status = plan.rows["plan_status"]
        bad = plan.rows[
            status.isin([RowStatus.INVALID_ID.value, RowStatus.MISSING.value]).to_numpy()
        ]
        if bad.empty:
            return ""
        shown = bad.head(_PEEK)[["contact_id", "plan_status", "reason"]]
        cells = [
            (esc(idx), f"<code>{esc(repr(val))}</code>", esc(st), esc(reason))
            for idx, val, st, reason in shown.itertuples(name=None)
        ]
        body = table(["row", "value", "status", "reason"], cells)
        more = f" (first {_PEEK} of {len(bad):,})" if len(bad) > _PEEK else ""
        return note(f"<b>Rows that will not be sent{more}</b>") + body

    def text(self) -> str:
        """The preview in one line of text."""
        plan = self.value
        if self.error:
            return f"no plan: {self.error}"
        if plan is None:
            return "no plan yet"
        lists = plural(plan.n_lists, "list")
        reqs = plural(plan.n_requests, "request")
        if plan.kind != RunKind.REMOVE:
            return f"plan: {change_text(plan)} in {reqs} ({_skipped(plan)})"
        if plan.source.kind is SourceKind.CONTACT_IDS:
            return (
                f"plan: {plural(plan.n_contacts or 0, 'contact')} from {lists} in {reqs} "
                f"({_skipped(plan)})"
            )
        return f"plan: {self.source_text or plan.summary()['source']} from {lists} in {reqs}"

    def __repr__(self) -> str:
        return f"PlanPreview({self.text()})"


#: Rows a plan leaves out because they need nothing (shown when there are some).
_IDLE_ROWS = {
    RowStatus.NOT_A_MEMBER: "on none of the target lists (nothing to remove)",
    RowStatus.NOT_A_CONTACT: "no contact has the address (none is made)",
    RowStatus.ALREADY_MEMBER: "on every target list already (nothing to add)",
    RowStatus.KEPT: "on every target list already (kept)",
}


def _row_lines(plan: RemovalPlan) -> list[tuple[str, str]]:
    """Every input row counted once, so the lines add up to the rows: the contacts to
    send, the rows never sent (invalid, missing), the repeats, and those that need
    nothing (not a member, already one...)."""
    counts = plan.rows["plan_status"].astype(str).value_counts()
    by_email = plan.membership is not None and plan.membership.key == "email"
    invalid = (f"invalid {'emails' if by_email else 'ids'} (never sent)", plan.n_invalid)
    out = [
        ("rows in the DataFrame", plan.n_rows),
        (_CONTACTS_LABEL[RunKind(plan.kind)], int(counts.get(RowStatus.PLANNED.value, 0))),
        invalid,
        ("missing ids (never sent)", plan.n_missing),
        ("duplicate rows (sent once)", plan.n_duplicates),
    ]
    out += [(label, int(counts.get(s.value, 0))) for s, label in _IDLE_ROWS.items()]
    return [(label, f"{n:,}") for i, (label, n) in enumerate(out) if n or i < 5]


def _skipped(plan: RemovalPlan) -> str:
    return (
        f"{plan.n_invalid:,} invalid, {plan.n_missing:,} missing, "
        f"{plan.n_duplicates:,} duplicate rows"
    )


def _requests_text(plan: RemovalPlan) -> str:
    """Every request the run costs, as the plan counts them (``total_requests``), the
    sends by endpoint: "1 removal + about 4 status checks" without a snapshot, "2 adds,
    1 removal + ..." for a sync, with its reads beside."""
    if plan.kind == RunKind.REMOVE:
        sends = plural(plan.n_requests, "removal")
    else:
        adds = sum(b.action is MembershipAction.ADD for b in plan.batches)
        removes = plan.n_batches - adds
        sends = ", ".join([plural(adds, "add")] + ([plural(removes, "removal")] if removes else []))
    text = f"{sends} + about {plural(plan.expected_polls, 'status check')}"
    if plan.planning_requests and not plan.verifiable:  # listing and probes, no snapshot
        return f"{plan.total_requests:,} in all: {plural(plan.read_requests, 'read')} + {text}"
    if plan.read_requests or plan.verify_requests:
        text = (
            f"{plan.total_requests:,} in all: {plural(plan.read_requests, 'read')} "
            f"(snapshot) + {text} + {plural(plan.verify_requests, 'read')} to verify"
        )
    return text


def change_text(plan: RemovalPlan) -> str:
    """An add's or a sync's plan in words, e.g. ``"29 memberships will be added
    (Newsletter 10, Customers 19)"``; a sync adds ``"and 8 removed (Newsletter 8)"``.

    Example:
        >>> change_text(df.cc.plan(["Newsletter"], kind="add"))  # doctest: +SKIP
        '10 memberships will be added (Newsletter 10)'
    """
    changes = list_changes(plan)
    if changes is None:  # an add without the members read: every contact to every list
        who = plural(plan.n_contacts or 0, "contact")
        return f"{who} will be added to {plural(plan.n_lists, 'list')}"
    added = sum(c.added for c in changes)
    detail = per_list_text(changes, PairOutcome.ADDED.value)
    text = f"{plural(added, 'membership')} will be added" + (f" ({detail})" if detail else "")
    if plan.kind == RunKind.SYNC:
        removed = sum(c.removed for c in changes)
        detail = per_list_text(changes, PairOutcome.REMOVED.value)
        text += f" and {removed:,} removed" + (f" ({detail})" if detail else "")
    return text
