"""The source picker: which contacts a removal takes out of the target lists.

The five documented kinds: the contacts of this DataFrame (a column), the members of
lists (optionally keeping this DataFrame's contacts), all active contacts (same keep
option, with a loud warning), contacts with tags, and an engagement level. The
picker's ``value`` is a :class:`SourceChoice`, a frozen description that can plan
itself (:meth:`SourceChoice.plan`), so nothing is sent while the analyst chooses.

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]})
    >>> picker = SourcePicker(df, lists=pd.DataFrame(columns=["list_id", "name"]))
    >>> picker.value.kind, picker.value.column
    (<SourceKind.CONTACT_IDS: 'contact_ids'>, 'contact_id')
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd
import traitlets

from ccpandas._docs import shared_params
from ccpandas.errors import PlanError
from ccpandas.models import ENGAGEMENT_LEVELS, MAX_SOURCE_LISTS, Source, SourceKind
from ccpandas.plan.planner import frame_column, plural
from ccpandas.widgets._html import box, esc, note
from ccpandas.widgets._parts import checkbox, choices, titled
from ccpandas.widgets.pickers import ItemPicker, ListPicker, TagPicker

if TYPE_CHECKING:
    from ccpandas.client.http import Client
    from ccpandas.plan.planner import RemovalPlan

__all__ = ["SOURCE_LABELS", "SourceChoice", "SourcePicker"]

#: What the analyst reads for each kind, in the order shown.
SOURCE_LABELS: dict[SourceKind, str] = {
    SourceKind.CONTACT_IDS: "contacts in this DataFrame",
    SourceKind.LIST_IDS: "members of lists",
    SourceKind.ALL_ACTIVE_CONTACTS: "all active contacts",
    SourceKind.TAG_IDS: "contacts with tags",
    SourceKind.ENGAGEMENT_LEVEL: "engagement level",
}

#: Why a choice of each kind cannot be planned yet, when it cannot.
_PROBLEMS = {
    SourceKind.CONTACT_IDS: "Pick the column that holds the contact ids.",
    SourceKind.LIST_IDS: "Pick the lists whose members are removed.",
    SourceKind.TAG_IDS: "Pick at least one tag.",
    SourceKind.ENGAGEMENT_LEVEL: "Pick an engagement level.",
}

_ALL_ACTIVE_WARNING = (
    "&#9888; <b>All active contacts</b> means every active contact of the account, "
    "not only the ones in this DataFrame: they are all removed from the target lists. "
    "Tick <i>keep the contacts in this DataFrame</i> to spare those."
)


@dataclass(frozen=True)
class SourceChoice:
    """What the source picker currently says. Frozen, so ``observe`` sees each change.

    Args:
        kind: What selects the contacts (a ``SourceKind``: ``contact_ids``,
            ``list_ids``, ``tag_ids``, ``engagement_level`` or ``all_active_contacts``).
        column: The DataFrame's contact id column, e.g. ``"contact_id"``: the source
            for ``contact_ids``, the contacts to spare for ``list_ids`` and
            ``all_active_contacts`` with ``keep``. Default None (not picked yet).
        ids: The list UUIDs (``list_ids``) or tag ids (``tag_ids``) whose contacts are
            removed. Default none.
        level: The engagement level for ``engagement_level``: ``"unqualified"``,
            ``"low"``, ``"medium"`` or ``"high"``. Default None (not picked yet).
        keep: True spares the contacts in ``column`` of the DataFrame (for
            ``list_ids`` and ``all_active_contacts``). Default False.

    Example:
        >>> SourceChoice(SourceKind.ENGAGEMENT_LEVEL, level="low").source().to_json()
        {'engagement_level': 'low'}
    """

    kind: SourceKind
    column: Any = None
    ids: tuple[str, ...] = ()
    level: str | None = None
    keep: bool = False

    @property
    def problem(self) -> str:
        """Why this choice cannot be planned yet (``""`` when it can)."""
        missing = {
            SourceKind.CONTACT_IDS: self.column is None,
            SourceKind.LIST_IDS: not self.ids,
            SourceKind.TAG_IDS: not self.ids,
            SourceKind.ENGAGEMENT_LEVEL: self.level not in ENGAGEMENT_LEVELS,
        }
        return _PROBLEMS[self.kind] if missing.get(self.kind) else ""

    def source(self) -> Source | None:
        """The API source for kinds the API selects (None for ``contact_ids``)."""
        if self.kind is SourceKind.ENGAGEMENT_LEVEL:
            return Source.engagement_level(self.level or "")
        if self.kind is SourceKind.ALL_ACTIVE_CONTACTS:
            return Source.all_active_contacts()
        return Source(self.kind, self.ids) if self.kind is not SourceKind.CONTACT_IDS else None

    def plan(self, data: pd.DataFrame | None, list_ids: Iterable[str]) -> RemovalPlan:
        """Plan removing this source's contacts from ``list_ids`` (list UUIDs). Pure.

        Raises :class:`~ccpandas.errors.PlanError` with the reason when it cannot.

        Args:
            data: The DataFrame of contacts the choice's ``column`` refers to (needed
                for ``contact_ids``, and for ``keep``). None when there is none.
            list_ids: The target lists' UUIDs, e.g. ``picker.value`` of a
                :class:`~ccpandas.widgets.ListPicker`.
        """
        from ccpandas.plan.planner import plan_removal, plan_source_removal

        if self.problem:
            raise PlanError(self.problem)
        if self.kind is SourceKind.CONTACT_IDS:
            if data is None:
                raise PlanError("there is no DataFrame to take contacts from")
            return plan_removal(data, tuple(list_ids), column=self.column)
        exclude = None
        if self.keep and self.kind in (SourceKind.LIST_IDS, SourceKind.ALL_ACTIVE_CONTACTS):
            if data is None or self.column not in data.columns:
                raise PlanError(f"column {self.column!r} not found: nothing to keep")
            exclude = data[self.column]
        source = self.source()
        assert source is not None
        # Planning is not consent: the panel still asks for an explicit tick before
        # anything is sent, with wording that says "all active contacts".
        return plan_source_removal(
            source,
            tuple(list_ids),
            exclude=exclude,
            confirm_all_active=self.kind is SourceKind.ALL_ACTIVE_CONTACTS,
        )


def pick_column(data: pd.DataFrame, column: Any) -> Any:
    """``column``, refused as the planner refuses it when not in ``data``; the default
    ``"contact_id"`` missing: the first column named like it, else the first column.

    Example:
        >>> pick_column(pd.DataFrame({"email": [], "Contact_ID": []}), "contact_id")
        'Contact_ID'
    """
    if not (isinstance(column, str) and column == "contact_id"):  # no guess replaces a typo
        frame_column(data, column)  # a PlanError (did you mean...) when not there
        return column
    if column in data.columns:
        return column
    named = [c for c in data.columns if "contact_id" in str(c).lower()]
    return next(iter([*named, *data.columns]), None)


@shared_params
class SourcePicker(w.VBox):
    """Choose the source of a removal. ``value`` is a :class:`SourceChoice`.

    Args:
        data: The DataFrame of contacts. None (the default) offers only the sources the
            API selects (lists, tags, engagement, all active contacts).
        column: The column of ``data`` that holds the contact ids, pre-selected; one
            ``data`` lacks is refused (:class:`~ccpandas.PlanError`).
            Default ``"contact_id"``; when ``data`` has no such column, the first one
            named like it is, else the first column.
        lists: The account's lists, a DataFrame as :func:`ccpandas.read_contact_lists`
            returns. None (the default) reads them with ``client`` on first need.
        tags: The account's tags, a DataFrame as :func:`ccpandas.read_contact_tags`
            returns. None (the default) reads them with ``client`` when the tag source
            is picked.
        client: {shared}
        title: A heading shown above the widget, e.g. ``"Target lists"``. Default
            none.

    Example:
        >>> picker = SourcePicker(df, client=client)  # doctest: +SKIP
        >>> picker.kind.value = SourceKind.TAG_IDS  # doctest: +SKIP
    """

    value = traitlets.Instance(SourceChoice, help="the current choice")

    def __init__(
        self,
        data: pd.DataFrame | None = None,
        column: Any = "contact_id",
        *,
        lists: pd.DataFrame | None = None,
        tags: pd.DataFrame | None = None,
        client: Client | None = None,
        title: str = "",
    ) -> None:
        self.data = data
        self.client = client
        self._lists_frame = lists
        self._tags_frame = tags
        kinds = [k for k in SOURCE_LABELS if data is not None or k is not SourceKind.CONTACT_IDS]
        self.kind = choices({k: SOURCE_LABELS[k] for k in kinds}, kinds[0])
        columns = list(data.columns) if data is not None else []
        self.column = w.Dropdown(
            options=[(str(c), c) for c in columns],
            value=pick_column(data, column) if data is not None else None,
            description="contact id column",
            style={"description_width": "initial"},
            layout=w.Layout(width="auto"),
        )
        self.keep = checkbox("keep the contacts in this DataFrame")
        self.level = w.Dropdown(
            options=list(ENGAGEMENT_LEVELS),
            value=None,
            description="level",
            layout=w.Layout(width="auto"),
        )
        self.warning = w.HTML(box(note(_ALL_ACTIVE_WARNING, "danger")))
        self.message = w.HTML()
        self.lists: ListPicker | None = None
        self.tags: TagPicker | None = None
        self._lists_box = w.VBox()
        self._tags_box = w.VBox()
        self._column_row = w.HBox([self.column])
        self._keep_row = w.HBox([self.keep])
        super().__init__(
            titled(
                title,
                self.kind,
                self._column_row,
                self._lists_box,
                self.warning,
                self._keep_row,
                self._tags_box,
                self.level,
                self.message,
            ),
            layout=w.Layout(width="100%"),
        )
        for control in (self.kind, self.column, self.keep, self.level):
            control.observe(self._changed, "value")
        self._changed()

    # -- the parts that need the account ---------------------------------------------
    def _picker(self, kind: SourceKind) -> ItemPicker | None:
        """The list or tag picker of ``kind``, made (reading the account) on first need;
        None for the other kinds."""
        if kind is SourceKind.LIST_IDS and self.lists is None:
            self.lists = ListPicker(
                self._lists_frame, client=self.client, per_request=MAX_SOURCE_LISTS
            )
            self.lists.observe(self._changed, "value")
            self._lists_box.children = [self.lists]
        elif kind is SourceKind.TAG_IDS and self.tags is None:
            self.tags = TagPicker(self._tags_frame, client=self.client)
            self.tags.observe(self._changed, "value")
            self._tags_box.children = [self.tags]
        return {SourceKind.LIST_IDS: self.lists, SourceKind.TAG_IDS: self.tags}.get(kind)

    # -- state -----------------------------------------------------------------------
    def _changed(self, change: Any = None) -> None:
        kind = self.kind.value
        problem = ""
        picker = None
        try:
            picker = self._picker(kind)
        except Exception as exc:  # the account could not be read: say so, stay usable
            problem = f"Could not read the account: {exc}"
        has_data = self.data is not None
        keepable = kind in (SourceKind.LIST_IDS, SourceKind.ALL_ACTIVE_CONTACTS)
        show = {
            self._column_row: has_data
            and (kind is SourceKind.CONTACT_IDS or (keepable and self.keep.value)),
            self._lists_box: kind is SourceKind.LIST_IDS,
            self.warning: kind is SourceKind.ALL_ACTIVE_CONTACTS,
            self._keep_row: has_data and keepable,
            self._tags_box: kind is SourceKind.TAG_IDS,
            self.level: kind is SourceKind.ENGAGEMENT_LEVEL,
        }
        for part, visible in show.items():
            part.layout.display = None if visible else "none"
        self.value = SourceChoice(
            kind=kind,
            column=self.column.value if has_data else None,
            ids=picker.value if picker is not None else (),
            level=self.level.value if kind is SourceKind.ENGAGEMENT_LEVEL else None,
            keep=bool(has_data and keepable and self.keep.value),
        )
        text = problem or self.value.problem
        self.message.value = box(note(esc(text), "warn" if problem else "muted")) if text else ""

    def describe(self) -> str:
        """The current source in words, with list and tag names."""
        choice = self.value
        if choice.kind is SourceKind.CONTACT_IDS:
            return f"the contacts in column {choice.column!r} of this DataFrame"
        if choice.kind is SourceKind.ENGAGEMENT_LEVEL:
            return f"the contacts at engagement level {choice.level!r}"
        if choice.kind is SourceKind.ALL_ACTIVE_CONTACTS:
            text = "ALL active contacts of the account"
        else:
            picker = self.lists if choice.kind is SourceKind.LIST_IDS else self.tags
            assert picker is not None
            names = ", ".join(repr(picker.name_of(i)) for i in choice.ids[:5])
            more = f" and {len(choice.ids) - 5} more" if len(choice.ids) > 5 else ""
            who = "the members of" if picker is self.lists else "the contacts with"
            text = f"{who} {plural(len(choice.ids), picker.noun)} ({names}{more})"
        if choice.keep:
            text += f", except the contacts in column {choice.column!r} of this DataFrame"
        return text

    def set_disabled(self, disabled: bool) -> None:
        """Freeze (or unfreeze) every control, e.g. while a removal runs.

        Args:
            disabled: True freezes the source's controls; False makes them usable
                again.
        """
        for control in (self.kind, self.column, self.keep, self.level):
            control.disabled = disabled
        for picker in (self.lists, self.tags):
            if picker is not None:
                picker.set_disabled(disabled)

    def __repr__(self) -> str:
        return f"SourcePicker({SOURCE_LABELS[self.value.kind]})"
