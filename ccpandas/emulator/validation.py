"""Request validation: bodies of the two activity POSTs and the query parameters.

Pure checks of shape and documented limits; each failure is an :class:`ErrorReply`
(400 ``validation_error`` or ``malformed_json``, 415 ``unsupported_media_type``) whose
message names the field. Whether referenced ids exist is checked later, by the
handlers, against the account.

Example:
    >>> req = parse_activity_body(
    ...     {"source": {"engagement_level": "low"}, "list_ids": [_L]}, kind="remove"
    ... )
    >>> req.source_kind, req.source_values, req.list_ids
    ('engagement_level', ('low',), ('0f9e2a8c-3c1d-4b7e-9a55-2d8f6b1c0e11',))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from ccpandas.emulator.replies import ErrorReply
from ccpandas.models import (
    ENGAGEMENT_LEVELS,
    MAX_CONTACTS_PER_REQUEST,
    MAX_LISTS_PER_REQUEST,
    MAX_SOURCE_LISTS,
    MAX_TAGS_PER_REQUEST,
    UUID_RE,
)

__all__ = [
    "ActivityRequest",
    "bool_param",
    "csv_param",
    "datetime_param",
    "int_param",
    "is_uuid",
    "parse_activity_body",
    "parse_json",
]

_L = "0f9e2a8c-3c1d-4b7e-9a55-2d8f6b1c0e11"  # for the doctest

#: The documented source limits (spec descriptions, not its ``maxItems: 0`` defect).
SOURCE_LIMITS = {
    "contact_ids": MAX_CONTACTS_PER_REQUEST,
    "list_ids": MAX_SOURCE_LISTS,
    "tag_ids": MAX_TAGS_PER_REQUEST,
}
_REMOVE_SOURCES = ("contact_ids", "list_ids", "all_active_contacts", "tag_ids", "engagement_level")
# segment_id is the spec's; new_subscriber only the developer guide's ("Add Contacts to
# Lists"), which says to use it with exclude.
_ADD_SOURCES = (*_REMOVE_SOURCES, "segment_id", "new_subscriber")
#: The sources that ``true`` selects (``false`` is the spec's default: "not this source").
_FLAG_SOURCES = ("all_active_contacts", "new_subscriber")
_EXCLUDABLE = {
    "remove": ("list_ids", "all_active_contacts"),
    "add": ("list_ids", "all_active_contacts", "new_subscriber"),
}


def _bad(message: str) -> ErrorReply:
    return ErrorReply(400, "validation_error", message)


def is_uuid(value: Any) -> bool:
    """True for a canonical 8-4-4-4-12 UUID string (any letter case)."""
    return isinstance(value, str) and UUID_RE.match(value.lower()) is not None


def parse_json(body: bytes, content_type: str | None) -> Any:
    """Decode a POST body: 415 unless the content type is JSON, 400 if it is malformed."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json":
        shown = media or "none"
        raise ErrorReply(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json (got {shown}).",
        )
    try:
        text = body.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) else type(exc).__name__
        raise ErrorReply(
            400, "malformed_json", f"The request body is not valid JSON: {detail}"
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


@dataclasses.dataclass(frozen=True)
class ActivityRequest:
    """A validated add/remove list-memberships body; ids are lower-case and deduplicated."""

    kind: str  # "remove" or "add"
    source_kind: str
    source_values: tuple[Any, ...]
    list_ids: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    def source_json(self) -> dict[str, Any]:
        """The ``source`` object as it was understood."""
        if self.source_kind in _FLAG_SOURCES:
            return {self.source_kind: True}
        if self.source_kind in ("engagement_level", "segment_id"):
            return {self.source_kind: self.source_values[0]}
        return {self.source_kind: list(self.source_values)}


def _uuid_array(value: Any, field: str, *, limit: int | None, allow_empty: bool = False) -> tuple:
    if not isinstance(value, list):
        raise _bad(f"{field} must be an array of UUID strings.")
    if not value and not allow_empty:
        raise _bad(f"{field} must not be empty.")
    if limit is not None and len(value) > limit:
        raise _bad(f"{field} has {len(value)} items; at most {limit} are allowed.")
    bad = [v for v in value if not is_uuid(v)]
    if bad:
        shown = ", ".join(_show(v) for v in bad[:3])
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise _bad(f"{field} must hold UUIDs (8-4-4-4-12); not valid: {shown}{more}.")
    return tuple(dict.fromkeys(v.lower() for v in value))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value[:60])
    return {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _check_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        raise _bad(
            f"Unknown field(s) in {where}: {', '.join(sorted(k[:40] for k in unknown)[:5])}. "
            f"Allowed: {', '.join(allowed)}."
        )


def parse_activity_body(body: Any, *, kind: str) -> ActivityRequest:
    """Validate a ``remove_list_memberships`` (``kind="remove"``) or
    ``add_list_memberships`` (``kind="add"``) body."""
    if not isinstance(body, dict):
        raise _bad("The request body must be a JSON object with source and list_ids.")
    _check_keys(body, ("source", "list_ids", "exclude"), "the request body")
    if "source" not in body:
        raise _bad("source is required.")
    if "list_ids" not in body:
        raise _bad("list_ids (the target lists) is required.")
    source = body["source"]
    if not isinstance(source, dict):
        raise _bad("source must be an object naming exactly one source.")
    allowed = _REMOVE_SOURCES if kind == "remove" else _ADD_SOURCES
    _check_keys(source, allowed, "source")
    # all_active_contacts: false is the spec's default and means "not this source".
    given = [k for k in allowed if k in source and source[k] is not False]
    if not given:
        raise _bad(f"source must name exactly one of: {', '.join(allowed)}.")
    if len(given) > 1:
        raise _bad(f"source properties are mutually exclusive; got {', '.join(given)}.")
    source_kind = given[0]
    value = source[source_kind]
    values: tuple[Any, ...]
    if source_kind in SOURCE_LIMITS:
        values = _uuid_array(value, f"source.{source_kind}", limit=SOURCE_LIMITS[source_kind])
    elif source_kind in _FLAG_SOURCES:
        if value is not True:
            raise _bad(f"source.{source_kind} must be true.")
        values = ()
    elif source_kind == "engagement_level":
        if value not in ENGAGEMENT_LEVELS:
            raise _bad(f"source.engagement_level must be one of: {', '.join(ENGAGEMENT_LEVELS)}.")
        values = (value,)
    else:  # segment_id
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad("source.segment_id must be a non-negative integer.")
        values = (value,)
    list_ids = _uuid_array(body["list_ids"], "list_ids", limit=MAX_LISTS_PER_REQUEST)

    exclude: tuple[str, ...] = ()
    raw_exclude = body.get("exclude")
    if raw_exclude is not None:
        if not isinstance(raw_exclude, dict):
            raise _bad("exclude must be an object with contact_ids.")
        _check_keys(raw_exclude, ("contact_ids",), "exclude")
        if "contact_ids" in raw_exclude:
            exclude = _uuid_array(
                raw_exclude["contact_ids"], "exclude.contact_ids", limit=None, allow_empty=True
            )
        excludable = _EXCLUDABLE[kind]
        if exclude and source_kind not in excludable:
            raise _bad(
                f"exclude.contact_ids is only allowed with source {' or '.join(excludable)} "
                f"(this request's source is {source_kind})."
            )
    return ActivityRequest(kind, source_kind, values, list_ids, exclude)


# -- query parameters ---------------------------------------------------------------


def int_param(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter within ``lo..hi``."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise _bad(f"{name} must be an integer from {lo} to {hi}.") from None
    if not lo <= value <= hi:
        raise _bad(f"{name} must be an integer from {lo} to {hi} (got {value}).")
    return value


def bool_param(query: Mapping[str, str], name: str) -> bool:
    """``true``/``false`` (any case); absent means false."""
    raw = query.get(name)
    if raw is None:
        return False
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise _bad(f"{name} must be true or false.")
    return lowered == "true"


def csv_param(
    query: Mapping[str, str],
    name: str,
    *,
    choices: tuple[str, ...] | None = None,
    uuids: bool = False,
    limit: int | None = None,
) -> tuple[str, ...] | None:
    """A comma-separated parameter, each value checked; None when absent."""
    raw = query.get(name)
    if raw is None:
        return None
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise _bad(f"{name} must not be empty.")
    if limit is not None and len(values) > limit:
        raise _bad(f"{name} accepts at most {limit} values (got {len(values)}).")
    if choices is not None:
        bad = [v for v in values if v.lower() not in choices]
        if bad:
            raise _bad(f"{name} has invalid value(s) {', '.join(bad)}; use {', '.join(choices)}.")
        values = [v.lower() for v in values]
    if uuids:
        bad = [v for v in values if not is_uuid(v)]
        if bad:
            raise _bad(f"{name} must hold UUIDs; not valid: {', '.join(bad[:3])}.")
        values = [v.lower() for v in values]
    return tuple(dict.fromkeys(values))


def datetime_param(query: Mapping[str, str], name: str) -> dt.datetime | None:
    """An ISO-8601 date-time parameter (naive values are taken as UTC)."""
    raw = query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name} must be an ISO-8601 date-time, e.g. 2024-01-31T12:00:00Z.") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
