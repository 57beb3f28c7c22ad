"""ipywidgets front ends for ccpandas: pickers, plan preview, live status, removal panel.

Every widget is usable on its own and has a ``value`` trait that ``observe`` can watch:

=====================  ===============================================================
``ListPicker``          ``value``: selected list ids (names accepted on assignment)
``TagPicker``           ``value``: selected tag ids
``SourcePicker``        ``value``: a :class:`~ccpandas.widgets.source.SourceChoice`
``PlanPreview``         ``value``: the :class:`~ccpandas.RemovalPlan` shown
``StatusDisplay``       ``value``: the latest :class:`~ccpandas.report.progress.Snapshot`
                        (it is the Reporter used by removals in a notebook)
``RemovalPanel``        ``result``: the :class:`~ccpandas.RemovalResult` of its run
=====================  ===============================================================

Importing ``ccpandas`` never imports ipywidgets; this package imports it on first use
of a widget (the names below are loaded lazily).

Example:
    >>> from ccpandas.widgets import in_notebook
    >>> in_notebook()
    False
"""

from __future__ import annotations

from ccpandas import _env
from ccpandas._env import in_notebook as in_notebook
from ccpandas._env import in_widget_event as in_widget_event

_LAZY = {
    "ItemPicker": "ccpandas.widgets.pickers",
    "ListPicker": "ccpandas.widgets.pickers",
    "TagPicker": "ccpandas.widgets.pickers",
    "SourceChoice": "ccpandas.widgets.source",
    "SourcePicker": "ccpandas.widgets.source",
    "PlanPreview": "ccpandas.widgets.preview",
    "SnapshotBuffer": "ccpandas.widgets.status",
    "StatusDisplay": "ccpandas.widgets.status",
    "make_widget_reporter": "ccpandas.widgets.status",
    "RemovalPanel": "ccpandas.widgets.panel",
    "removal_panel": "ccpandas.widgets.panel",
    "LoginPrompt": "ccpandas.widgets.login",
    "LoginWidget": "ccpandas.widgets.login",
    "connect": "ccpandas.widgets.login",
}

__all__ = sorted([*_LAZY, "in_notebook", "in_widget_event"])

__getattr__, __dir__ = _env.attach("ccpandas.widgets", _LAZY, globals(), __all__)
