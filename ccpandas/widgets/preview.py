"""The plan preview: what a removal will send, shown before anything is sent.

``value`` holds the :class:`~ccpandas.plan.RemovalPlan` (or None); set it and the
preview redraws: valid, invalid, missing and duplicate rows with a peek at the
unusable ones, activities, API requests, the time at the rate limit, the share of
the daily quota, and whether the run can be undone (and what a snapshot would cost
to make it so). ``error`` holds the reason when no plan can be made.

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

from ccpandas.models import SourceKind
from ccpandas.plan.planner import RemovalPlan, quota_percent
from ccpandas.vocab import RowStatus
from ccpandas.widgets._html import box, duration, esc, note, plural, table

__all__ = ["PlanPreview"]

_PEEK = 5


class PlanPreview(w.VBox):
    """Shows a :class:`~ccpandas.plan.RemovalPlan` (``value``) or why there is none
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
        heading = [w.HTML(f"<b>{esc(title)}</b>")] if title else []
        super().__init__([*heading, self.html], layout=w.Layout(width="100%"))
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
        self.html.value = box(self._summary(plan), self._peek(plan), self._notes(plan))

    def _summary(self, plan: RemovalPlan) -> str:
        rows: list[tuple[str, str]] = []
        if plan.source.kind is SourceKind.CONTACT_IDS:
            rows += [
                ("rows in the DataFrame", f"{plan.n_rows:,}"),
                ("contacts to remove (valid, unique)", f"{plan.n_contacts:,}"),
                ("invalid ids (never sent)", f"{plan.n_invalid:,}"),
                ("missing ids (never sent)", f"{plan.n_missing:,}"),
                ("duplicate rows (sent once)", f"{plan.n_duplicates:,}"),
            ]
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
            (
                "API requests",
                f"{plural(plan.n_requests, 'removal')} + about "
                f"{plural(plan.expected_polls, 'status check')}",
            ),
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

    def _peek(self, plan: RemovalPlan) -> str:
        if plan.source.kind is not SourceKind.CONTACT_IDS:
            return ""
        status = plan.rows["plan_status"]
        bad = plan.rows[
            status.isin([RowStatus.INVALID_ID.value, RowStatus.MISSING.value]).to_numpy()
        ]
        if bad.empty:
            return ""
        shown = bad.head(_PEEK)
        body = table(
            ["row", "value", "status", "reason"],
            [
                (esc(idx), f"<code>{esc(repr(val))}</code>", esc(st), esc(reason))
                for idx, val, st, reason in zip(
                    shown.index,
                    shown["contact_id"],
                    shown["plan_status"],
                    shown["reason"],
                    strict=True,
                )
            ],
        )
        more = f" (first {_PEEK} of {len(bad):,})" if len(bad) > _PEEK else ""
        return note(f"<b>Rows that will not be sent{more}</b>") + body

    def _notes(self, plan: RemovalPlan) -> str:
        return "".join(note(esc(n), "muted") for n in plan.notes)

    def text(self) -> str:
        """The preview in one line of text."""
        plan = self.value
        if self.error:
            return f"no plan: {self.error}"
        if plan is None:
            return "no plan yet"
        lists = plural(plan.n_lists, "list")
        reqs = plural(plan.n_requests, "request")
        if plan.source.kind is SourceKind.CONTACT_IDS:
            return (
                f"plan: {plural(plan.n_contacts or 0, 'contact')} from {lists} in {reqs} "
                f"({plan.n_invalid:,} invalid, {plan.n_missing:,} missing, "
                f"{plan.n_duplicates:,} duplicate rows)"
            )
        return f"plan: {self.source_text or plan.summary()['source']} from {lists} in {reqs}"

    def __repr__(self) -> str:
        return f"PlanPreview({self.text()})"
