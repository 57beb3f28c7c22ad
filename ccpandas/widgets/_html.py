"""Small HTML and number formatting shared by the widgets (no ipywidgets import).

Example:
    >>> duration(75)
    '1 min 15 s'
    >>> plural(1, "list"), plural(3, "list")
    ('1 list', '3 lists')
"""

from __future__ import annotations

import functools
import html
import math
from typing import Any

from ccpandas.run.summary import html_table
from ccpandas.store.batch import BatchState

__all__ = ["STYLE", "badge", "box", "duration", "esc", "note", "plural", "table"]

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


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """``"1 list"`` / ``"3 lists"`` with thousands separators."""
    word = noun if n == 1 else (plural_form or noun + "s")
    return f"{n:,} {word}"


def duration(seconds: float) -> str:
    """A short human duration: ``"under 1 s"``, ``"42 s"``, ``"3 min 5 s"``, ``"2 h 7 min"``."""
    if seconds < 1:
        return "under 1 s"
    s = math.ceil(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, sec = divmod(s, 60)
        return f"{m} min {sec} s" if sec else f"{m} min"
    h, rest = divmod(s, 3600)
    m = rest // 60
    return f"{h} h {m} min" if m else f"{h} h"


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
