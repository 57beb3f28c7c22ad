"""Plain-loop specs that tests in several folders check against (tests/ has no packages:
this module is found as the root conftest's neighbour): a plan's per-row status, and
which contacts a date filter selects."""

from __future__ import annotations

import datetime as dt
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


def dated(emu: Any, field: str, after: dt.datetime | None, before: dt.datetime | None) -> list[str]:
    """The account's contacts (not deleted) whose ``field`` lies strictly between ``after``
    and ``before`` (either may be None), in account order."""
    out = []
    for c in emu.account.contacts.values():
        value = getattr(c, field)
        if c.status == "deleted" or value is None:
            continue
        if (after is None or value > after) and (before is None or value < before):
            out.append(c.contact_id)
    return out
