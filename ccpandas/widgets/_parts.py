"""Small ipywidgets pieces the widgets share: a centred row, a title, a text form.

Example:
    >>> [type(part).__name__ for part in titled("Target lists", row())]
    ['HTML', 'HBox']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as w

from ccpandas.widgets._html import esc

__all__ = ["TextBox", "checkbox", "choices", "row", "titled"]


def row(*children: w.Widget, **layout: Any) -> w.HBox:
    """``children`` side by side, centred on one line (``layout``: more of its layout)."""
    return w.HBox(list(children), layout=w.Layout(align_items="center", **layout))


def checkbox(description: str, value: bool = False, **options: Any) -> w.Checkbox:
    """A box with ``description`` beside it, not indented (``options``: more of it)."""
    layout = w.Layout(width="auto")
    return w.Checkbox(value, description=description, indent=False, layout=layout, **options)


def choices(labels: Mapping[Any, str], value: Any) -> w.RadioButtons:
    """Radio buttons, one per key of ``labels`` shown as its label, ``value`` picked."""
    options = [(label, key) for key, label in labels.items()]
    return w.RadioButtons(options=options, value=value, layout=w.Layout(width="auto"))


def titled(title: str, *children: w.Widget) -> list[w.Widget]:
    """``children`` under a bold heading ``title`` (none when it is empty)."""
    return [w.HTML(f"<b>{esc(title)}</b>"), *children] if title else list(children)


class TextBox(w.VBox):
    """A VBox whose text form, what front ends without widgets show, is :meth:`plain`."""

    def plain(self) -> str:
        """The text form: ``repr(self)`` unless a widget says more."""
        return repr(self)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self.plain()
        return data
