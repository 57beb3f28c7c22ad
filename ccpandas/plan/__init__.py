"""Planning: a DataFrame column and target lists in, the fewest requests out. Pure.

Imports only pandas, numpy, pyarrow and the base layer (``errors``, ``models``): no HTTP,
no journal, no widgets. Import from its modules: :mod:`ccpandas.plan.planner` (the
plan), :mod:`ccpandas.plan.ids` (id checks), :mod:`ccpandas.plan.membership`,
:mod:`ccpandas.plan.changes`, :mod:`ccpandas.plan.undo`.

Example:
    >>> from ccpandas.plan.planner import MAX_TARGET_LISTS
    >>> MAX_TARGET_LISTS  # target lists one plan may name
    1000
"""
