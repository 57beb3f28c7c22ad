"""Planning: a DataFrame column and target lists in, the fewest requests out. Pure.

Imports only pandas, numpy, pyarrow and the base layer (``errors``, ``models``): no HTTP,
no journal, no widgets. ``ccpandas.plan`` keeps every name it had as a single module.

Example:
    >>> from ccpandas.plan import MAX_TARGET_LISTS
    >>> MAX_TARGET_LISTS  # target lists one plan may name
    1000
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.plan.ids import (
        ID_STATUS_DTYPE,
        ID_STATUSES,
        TEXT_DTYPE,
        UUID_PATTERN,
        CheckedIds,
        check_ids,
        first_rows,
    )
    from ccpandas.plan.planner import (
        DAILY_QUOTA,
        DEFAULT_RATE,
        MAX_TARGET_LISTS,
        PLAN_STATUS_DTYPE,
        PLAN_STATUSES,
        ROW_COLUMNS,
        RemovalPlan,
        normalize_ids,
        plan_removal,
        plan_source_removal,
        resolve_list_ids,
    )

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "CheckedIds": "ccpandas.plan.ids",
    "DAILY_QUOTA": "ccpandas.plan.planner",
    "DEFAULT_RATE": "ccpandas.plan.planner",
    "ID_STATUSES": "ccpandas.plan.ids",
    "ID_STATUS_DTYPE": "ccpandas.plan.ids",
    "MAX_TARGET_LISTS": "ccpandas.plan.planner",
    "PLAN_STATUSES": "ccpandas.plan.planner",
    "PLAN_STATUS_DTYPE": "ccpandas.plan.planner",
    "ROW_COLUMNS": "ccpandas.plan.planner",
    "RemovalPlan": "ccpandas.plan.planner",
    "TEXT_DTYPE": "ccpandas.plan.ids",
    "UUID_PATTERN": "ccpandas.plan.ids",
    "check_ids": "ccpandas.plan.ids",
    "first_rows": "ccpandas.plan.ids",
    "normalize_ids": "ccpandas.plan.planner",
    "plan_removal": "ccpandas.plan.planner",
    "plan_source_removal": "ccpandas.plan.planner",
    "resolve_list_ids": "ccpandas.plan.planner",
}

__all__ = [
    "DAILY_QUOTA",
    "DEFAULT_RATE",
    "ID_STATUSES",
    "ID_STATUS_DTYPE",
    "MAX_TARGET_LISTS",
    "PLAN_STATUSES",
    "PLAN_STATUS_DTYPE",
    "ROW_COLUMNS",
    "TEXT_DTYPE",
    "UUID_PATTERN",
    "CheckedIds",
    "RemovalPlan",
    "check_ids",
    "first_rows",
    "normalize_ids",
    "plan_removal",
    "plan_source_removal",
    "resolve_list_ids",
]

__getattr__, __dir__ = _env.attach("ccpandas.plan", _LAZY, globals(), __all__)
