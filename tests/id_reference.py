"""The spec of a plan's per-row status, as a plain loop: shared by the hostile-input tests
(tests/public) and the reliability input tests (tests/reliability)."""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def reference(values: list[Any]) -> list[str]:
    """Per row, what the plan must say: planned, duplicate, invalid_id or missing."""
    out, seen = [], set()
    for v in values:
        if is_missing(v):
            out.append("missing")
            continue
        if not isinstance(v, str):
            out.append("invalid_id")
            continue
        text = v.strip()
        if not text:
            out.append("missing")
            continue
        if text.startswith("{") and text.endswith("}"):
            text = text[1:-1].strip()
        text = text.lower()
        if not CANONICAL.fullmatch(text):
            out.append("invalid_id")
        elif text in seen:
            out.append("duplicate")
        else:
            seen.add(text)
            out.append("planned")
    return out
