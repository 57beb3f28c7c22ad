"""Pickers for lists and tags: type to filter, multi-select, a running count.

Each picker's ``value`` is a real traitlet holding the selected ids (a tuple, in the
account's order), so ``picker.observe(callback, "value")`` fires on every change,
whether it came from a click or from code. Assigning names works too: they are turned
into ids, and an unknown or ambiguous name is refused with a message naming it.

Example:
    >>> import pandas as pd
    >>> lists = pd.DataFrame({"list_id": ["a" * 8 + "-0000-4000-8000-" + "0" * 12],
    ...                       "name": ["Newsletter"], "membership_count": [3]})
    >>> picker = ListPicker(lists)
    >>> picker.value = ["Newsletter"]
    >>> picker.value
    ('aaaaaaaa-0000-4000-8000-000000000000',)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd
import traitlets

from ccpandas._docs import shared_params
from ccpandas.models import MAX_LISTS_PER_REQUEST, MAX_TAGS_PER_REQUEST
from ccpandas.plan.planner import plural
from ccpandas.widgets._html import box, note
from ccpandas.widgets._parts import row, titled

if TYPE_CHECKING:
    from ccpandas.client.http import Client

__all__ = ["ItemPicker", "ListPicker", "TagPicker"]


class ItemPicker(w.VBox):
    """Pick items (lists or tags) of a frame with ``id``, ``name`` and ``count`` columns.

    Args:
        items: one row per item.
        id_column, name_column, count_column: where the id, name and count are.
        noun: ``"list"`` or ``"tag"``, used in the messages.
        count_noun: what the count counts (``"members"``).
        max_selected: a hard stop; selecting more is refused with a message.
        per_request: how many one request takes; more are split into groups (explained).
        title: the heading shown above the picker.
    """

    value = traitlets.Tuple(help="the selected ids, in the order of the items")

    def __init__(
        self,
        items: pd.DataFrame,
        *,
        id_column: str,
        name_column: str = "name",
        count_column: str | None = None,
        noun: str = "item",
        count_noun: str = "",
        max_selected: int | None = None,
        per_request: int | None = None,
        title: str = "",
        rows: int = 8,
    ) -> None:
        for col in (id_column, name_column, count_column):
            if col is not None and col not in items.columns:
                raise ValueError(f"items have no {col!r} column; they have {list(items.columns)}")
        frame = items.reset_index(drop=True)
        names = frame[name_column].astype(object).where(frame[name_column].notna(), "")
        order = sorted(range(len(frame)), key=lambda i: (str(names[i]).casefold(), i))
        self._ids: list[str] = [str(frame[id_column][i]) for i in order]
        self._names: list[str] = [str(names[i]) for i in order]
        counts = frame[count_column] if count_column else pd.Series(pd.NA, index=frame.index)
        unit = f" {count_noun}" if count_noun else ""
        self._labels: list[str] = [
            (name or "(no name)") + ("" if pd.isna(counts[i]) else f" ({int(counts[i]):,}{unit})")
            for i, name in zip(order, self._names, strict=True)
        ]
        self.noun = noun
        self.max_selected = max_selected
        self.per_request = per_request
        self.limit_why = ""  # why max_selected, said when it stops a pick (set_limits)
        self._updating = False

        self.filter = w.Text(
            placeholder=f"type to filter {noun}s by name", layout=w.Layout(width="auto")
        )
        self.select = w.SelectMultiple(
            options=list(zip(self._labels, self._ids, strict=True)),
            rows=min(rows, max(len(self._ids), 2)),
            layout=w.Layout(width="auto"),
        )
        self.clear_button = w.Button(description="Clear", layout=w.Layout(width="auto"))
        self.count = w.HTML()
        controls = titled(title, self.filter, self.select, row(self.count, self.clear_button))
        super().__init__(controls, layout=w.Layout(width="auto"))
        self.filter.observe(self._show_options, "value")
        self.select.observe(self._on_select, "value")
        self.clear_button.on_click(lambda _b: setattr(self, "value", ()))
        self._render_count(refused=0)

    # -- the value -------------------------------------------------------------------
    def name_of(self, item_id: str) -> str:
        """The name of an item id (``""`` for an unknown id).

        Args:
            item_id: A list or tag id of the picker, e.g. one of ``picker.value``.
        """
        try:
            return self._names[self._ids.index(item_id)]
        except ValueError:
            return ""

    @traitlets.validate("value")
    def _validate_value(self, proposal: Any) -> tuple[str, ...]:
        wanted = proposal["value"]
        if isinstance(wanted, str):
            wanted = (wanted,)
        chosen = {self._resolve(v) for v in wanted}
        if self.max_selected is not None and len(chosen) > self.max_selected:
            raise traitlets.TraitError(
                f"at most {self.max_selected} {self.noun}s can be picked here "
                f"(one request takes {self.max_selected}); got {len(chosen)}"
            )
        return tuple(i for i in self._ids if i in chosen)

    def _resolve(self, value: Any) -> str:
        text = str(value)
        if text in self._ids:
            return text
        hits = [i for i, n in zip(self._ids, self._names, strict=True) if n == text]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise traitlets.TraitError(
                f"{len(hits)} {self.noun}s are named {text!r}: pick by id instead ({hits})"
            )
        raise traitlets.TraitError(f"no {self.noun} has the id or exact name {text!r}")

    @traitlets.observe("value")
    def _on_value(self, change: Any) -> None:
        self._show_options()
        self._render_count(refused=0)

    # -- the controls ----------------------------------------------------------------
    def _visible(self) -> list[int]:
        text = self.filter.value.strip().casefold()
        chosen = set(self.value)
        return [
            k
            for k, (i, n) in enumerate(zip(self._ids, self._names, strict=True))
            # selected items stay visible so the filter never hides what will happen
            if not text or text in n.casefold() or i in chosen
        ]

    def _show_options(self, change: Any = None) -> None:
        """Show the items the filter matches (and every selected one)."""
        keep = self._visible()
        self._updating = True
        try:
            options = [(self._labels[k], self._ids[k]) for k in keep]
            if list(self.select.options) != options:
                self.select.options = options
            shown = {self._ids[k] for k in keep}
            self.select.value = tuple(i for i in self.value if i in shown)
        finally:
            self._updating = False

    def _on_select(self, change: Any) -> None:
        if self._updating:
            return
        shown = {v for _label, v in self.select.options}
        # Deselecting in the widget only affects what it shows; hidden picks stay.
        hidden = {i for i in self.value if i not in shown}
        wanted = hidden | set(change["new"])
        refused = 0
        if self.max_selected is not None and len(wanted) > self.max_selected:
            # The hard stop: keep the earlier picks, drop the newest ones.
            keep = [i for i in self._ids if i in self.value]
            extra = [i for i in self._ids if i in wanted and i not in self.value]
            room = max(self.max_selected - len(keep), 0)
            refused = len(extra) - room
            wanted = set(keep) | set(extra[:room])
        self.value = tuple(i for i in self._ids if i in wanted)
        if refused:
            self._show_options()
            self._render_count(refused=refused)

    def set_limits(self, *, max_selected: int | None, per_request: int | None, why: str) -> None:
        """Change the hard stop and the split, and say them again.

        Args:
            max_selected: The most items that can be picked from now on (None: no limit);
                a pick already over it stays, and the count says so.
            per_request: How many one request takes (None says nothing of requests).
            why: The reason for ``max_selected``, said when it stops a pick.

        Example:
            >>> picker.set_limits(max_selected=50, per_request=None,
            ...                   why="a contact can be on at most 50 lists")  # doctest: +SKIP
        """
        self.max_selected, self.per_request, self.limit_why = max_selected, per_request, why
        self._render_count(refused=0)

    def _render_count(self, refused: int) -> None:
        n, most, per = len(self.value), self.max_selected, self.per_request
        text, kind = "", "warn"  # what the count says beside how many are picked
        why = self.limit_why or f"at most {most} {self.noun}s can be picked here"
        if refused:
            text = f"Stopped at {most}: {why}, so {refused:,} more were not added."
        elif most is not None and n > most:
            text = f"{n:,} {self.noun}s is more than {most}: {why}."
        elif per and n > per:
            groups = math.ceil(n / per)
            text = (
                f"{n:,} {self.noun}s is more than the {per} one request takes: they are split "
                f"into {groups} groups of at most {per}, so the removal needs {groups} times "
                "the requests."
            )
        elif per and n == per:
            text, kind = f"{n} {self.noun}s: the most one request takes.", "muted"
        picked = note(f"{n:,} of {plural(len(self._ids), self.noun)} selected")
        self.count.value = box(picked, note(text, kind) if text else "")

    def set_disabled(self, disabled: bool) -> None:
        """Freeze (or unfreeze) the picker, e.g. while a removal runs.

        Args:
            disabled: True freezes the filter, the list box and the Clear button; False
                makes them usable again.
        """
        for control in (self.filter, self.select, self.clear_button):
            control.disabled = disabled

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.value)} of {plural(len(self._ids), self.noun)})"


@shared_params
class ListPicker(ItemPicker):
    """Pick contact lists by name (with member counts).

    More than ``per_request`` (50) are allowed and explained: the plan splits them into
    groups of 50. Give ``max_selected`` for a hard stop instead.

    Args:
        lists: The account's lists, a DataFrame as :func:`ccpandas.read_contact_lists`
            returns (``list_id``, ``name``, and ``membership_count`` when shown). None
            (the default) reads them with ``client``.
        client: {shared}
        max_selected: The most lists that can be picked, e.g. ``10``; picking more is
            refused with a message. None (the default) sets no limit.
        per_request: How many lists one request takes: picking more shows that the
            plan splits them into groups. Default 50, the API's limit; None says
            nothing.
        title: A heading shown above the widget, e.g. ``"Target lists"``. Default
            none.
        rows: How many lists the box shows at once (it scrolls for more). Default 8.

    Example:
        >>> picker = ListPicker(client=client)  # doctest: +SKIP
        >>> picker.observe(lambda change: print(change["new"]), "value")  # doctest: +SKIP
    """

    def __init__(
        self,
        lists: pd.DataFrame | None = None,
        *,
        client: Client | None = None,
        max_selected: int | None = None,
        per_request: int | None = MAX_LISTS_PER_REQUEST,
        title: str = "",
        rows: int = 8,
    ) -> None:
        from ccpandas.readers import read_contact_lists

        lists = read_contact_lists(client) if lists is None else lists
        super().__init__(
            lists,
            id_column="list_id",
            count_column="membership_count" if "membership_count" in lists.columns else None,
            noun="list",
            count_noun="members",
            max_selected=max_selected,
            per_request=per_request,
            title=title,
            rows=rows,
        )


@shared_params
class TagPicker(ItemPicker):
    """Pick contact tags (with contact counts); more than 50 are split into groups.

    Args:
        tags: The account's tags, a DataFrame as :func:`ccpandas.read_contact_tags`
            returns (``tag_id``, ``name``, and ``contacts_count`` when shown). None (the
            default) reads them with ``client``.
        client: {shared}
        title: A heading shown above the widget, e.g. ``"Target lists"``. Default
            none.
        rows: How many tags the box shows at once (it scrolls for more). Default 6.

    Example:
        >>> TagPicker(client=client).value  # doctest: +SKIP
        ()
    """

    def __init__(
        self,
        tags: pd.DataFrame | None = None,
        *,
        client: Client | None = None,
        title: str = "",
        rows: int = 6,
    ) -> None:
        from ccpandas.readers import read_contact_tags

        tags = read_contact_tags(client) if tags is None else tags
        super().__init__(
            tags,
            id_column="tag_id",
            count_column="contacts_count" if "contacts_count" in tags.columns else None,
            noun="tag",
            count_noun="contacts",
            per_request=MAX_TAGS_PER_REQUEST,
            title=title,
            rows=rows,
        )
