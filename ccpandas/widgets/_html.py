"""Small HTML and number formatting shared by the widgets (no ipywidgets import).

Example:
    >>> esc("<b>")
    '&lt;b&gt;'
"""

from __future__ import annotations

import functools
import html
from typing import Any

from ccpandas.run.summary import html_table
from ccpandas.store.batch import BatchState

__all__ = ["STYLE", "badge", "box", "esc", "note", "table"]

# Widgets render HTML outside the notebook's own table styles: bring a small, neutral
# style (works in light and dark themes because it only uses borders and transparency).
STYLE = """<style>
.ccp table{border-collapse:collapse;font-size:12px;margin:2px 0}
.ccp th,.ccp td{padding:2px 8px;border-bottom:1px solid rgba(128,128,128,.3);text-align:left}
.ccp td.num,.ccp th.num{text-align:right;font-variant-numeric:tabular-nums}
.ccp tr.bad td{background:rgba(220,38,38,.12)}
.ccp .badge{padding:0 6px;border-radius:8px;font-size:11px;white-space:nowrap}
.ccp .ok{background:rgba(22,163,74,.18)}
.ccp .run{background:rgba(37,99,235,.15)}
.ccp .wait{background:rgba(128,128,128,.15)}
.ccp .bad{background:rgba(220,38,38,.22)}
.ccp .note{margin:2px 0}
.ccp .warn{color:#b45309}
.ccp .danger{color:#dc2626;font-weight:bold}
.ccp .muted{opacity:.7}
</style>"""


def box(*parts: str) -> str:
    """Wrap HTML parts in the styled ``ccp`` container (every widget's HTML uses it)."""
    return f'{STYLE}<div class="ccp">{"".join(parts)}</div>'


def esc(value: Any) -> str:
    """HTML-escape ``str(value)``."""
    return html.escape(str(value), quote=True)


def badge(state: str) -> str:
    """A coloured pill for an activity state."""
    kinds: dict[str, str] = {
        BatchState.COMPLETED: "ok",
        BatchState.PROCESSING: "run",
        BatchState.INITIALIZED: "run",
        BatchState.PENDING: "wait",
        BatchState.UNCERTAIN: "wait",
    }
    kind = kinds.get(state, "bad")
    return f'<span class="badge {kind}">{esc(state)}</span>'


def note(text: str, kind: str = "") -> str:
    """A paragraph of already-escaped HTML, optionally ``warn``/``danger``/``muted``."""
    cls = f"note {kind}" if kind else "note"
    return f'<div class="{cls}">{text}</div>'


# One table markup for every display: the result's (cells escaped there) and the
# widgets' (cells already HTML, escaped by the caller).
table = functools.partial(html_table, escape=False)
