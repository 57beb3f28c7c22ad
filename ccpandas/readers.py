"""Read contact lists, contacts, tags and segments into DataFrames (every page, typed
columns).

Every reader takes ``client=None`` (then :func:`ccpandas.get_default_client`),
checks its arguments before sending anything (:class:`~ccpandas.errors.PlanError`), and
returns a frame with the same columns and dtypes whether it has rows or not: ids and
text as pandas' default string dtype, datetimes as ``datetime64[ns, UTC]``, counts as
``Int64`` and flags as ``boolean`` (both nullable).

Example:
    >>> import ccpandas
    >>> lists = ccpandas.read_contact_lists(client)  # doctest: +SKIP
    >>> members = ccpandas.read_contacts(client, lists=lists.list_id[:2])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from ccpandas._docs import shared_params
from ccpandas.client.http import Client
from ccpandas.errors import PlanError
from ccpandas.models import chunked
from ccpandas.plan.ids import TEXT_DTYPE
from ccpandas.plan.planner import _as_uuids, _by_names, list_names, list_values, resolve_list_ids
from ccpandas.read.lists import check_targets, read_lists
from ccpandas.read.snapshot import contact_status
from ccpandas.report.progress import PageProgress, Reporter, check_progress
from ccpandas.run.options import pick_client

__all__ = [
    "CONTACT_COLUMNS",
    "CONTACT_INCLUDES",
    "CONTACT_LIST_COLUMNS",
    "CONTACT_STATUSES",
    "CONTACT_TAG_COLUMNS",
    "DATE_FILTERS",
    "MAX_LISTS_PER_QUERY",
    "MAX_TAGS_PER_QUERY",
    "SEGMENT_COLUMNS",
    "read_contact_lists",
    "read_contact_tags",
    "read_contacts",
    "read_segments",
    "resolve_tag_names",
]

#: ``GET /contacts`` accepts at most 25 list ids and 50 tag ids per query.
MAX_LISTS_PER_QUERY = 25
MAX_TAGS_PER_QUERY = 50

CONTACT_STATUSES = (
    "all",
    "active",
    "deleted",
    "not_set",
    "pending_confirmation",
    "temp_hold",
    "unsubscribed",
)
CONTACT_INCLUDES = (
    "custom_fields",
    "list_memberships",
    "phone_numbers",
    "street_addresses",
    "taggings",
    "notes",
)
#: The date filters of ``GET /contacts``, as (after, before) pairs.
DATE_FILTERS = (
    ("created_after", "created_before"),
    ("updated_after", "updated_before"),
    ("optout_after", "optout_before"),
)
LIST_STATUSES = ("all", "active", "deleted")
SEGMENT_SORTS = ("date", "name")
MEMBERSHIP_COUNTS = ("all", "active")

# Column name -> kind; the kind picks the dtype (see _column).
CONTACT_LIST_COLUMNS: dict[str, str] = {
    "list_id": "str",
    "name": "str",
    "description": "str",
    "favorite": "bool",
    "created_at": "datetime",
    "updated_at": "datetime",
    "membership_count": "int",
}
_WITH_DELETED_AT = {**CONTACT_LIST_COLUMNS, "deleted_at": "datetime"}
CONTACT_COLUMNS: dict[str, str] = {
    "contact_id": "str",
    "email": "str",
    "first_name": "str",
    "last_name": "str",
    "status": "str",
    "permission_to_send": "str",
    "created_at": "datetime",
    "updated_at": "datetime",
}
CONTACT_TAG_COLUMNS: dict[str, str] = {
    "tag_id": "str",
    "name": "str",
    "contacts_count": "int",
    "created_at": "datetime",
    "updated_at": "datetime",
}

SEGMENT_COLUMNS: dict[str, str] = {
    "segment_id": "int",
    "name": "str",
    "created_at": "datetime",
    "edited_at": "datetime",
}

_DATETIME_DTYPE = "datetime64[ns, UTC]"
#: The dtype of each other kind of column (anything else: object).
_DTYPES = {"str": TEXT_DTYPE, "int": "Int64", "bool": "boolean"}
#: What a progress argument may be (see :func:`ccpandas.report.progress.make_reporter`).
Progress = bool | str | Reporter | None
#: What a date filter accepts (a ``pandas.Timestamp`` is a ``datetime``).
DateLike = dt.datetime | dt.date | str | np.datetime64


# --------------------------------------------------------------------------- readers


@shared_params
def read_contact_lists(
    client: Client | None = None,
    *,
    status: str = "active",
    include_membership_count: str | None = "all",
    progress: Progress = "auto",
) -> pd.DataFrame:
    """Every contact list of the account, one row per list.

    Columns: list_id, name, description, favorite, created_at, updated_at,
    membership_count (``Int64``; ``<NA>`` when ``include_membership_count=None``); with
    ``status="all"`` or ``"deleted"``, also deleted_at (``NaT`` for a list not deleted).

    Args:
        client: {shared}
        status: Which lists: ``"active"`` (the default), ``"deleted"`` or ``"all"``.
        include_membership_count: What ``membership_count`` counts: ``"all"`` (the default)
            every member, ``"active"`` only the active ones; None leaves the column empty
            (``<NA>``).
        progress: {shared:progress_read}

    Returns:
        A DataFrame with one row per list, columns as above (the same columns when there are
        none).

    Raises:
        PlanError: A ``status`` or ``include_membership_count`` it does not know, before
            anything is sent.

    Example:
        >>> lists = read_contact_lists(client)  # doctest: +SKIP
        >>> lists.loc[lists.name == "Newsletter", "list_id"].item()  # doctest: +SKIP
        '0a8c6f2e-...'
    """
    _choice("status", status, LIST_STATUSES)
    if include_membership_count is not None:
        _choice("include_membership_count", include_membership_count, MEMBERSHIP_COUNTS)
    params = {
        "limit": 1000,  # an account has at most 1,000 lists: usually a single page
        "status": status,
        "include_membership_count": include_membership_count,
    }
    # The API marks a deleted list only by its deleted_at: without it, status="all" could
    # not tell the deleted lists from the others.
    schema = CONTACT_LIST_COLUMNS if status == "active" else _WITH_DELETED_AT
    return _read_all(client, "/contact_lists", "lists", params, schema, progress)


@shared_params
def read_contacts(
    client: Client | None = None,
    *,
    lists: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    tags: str | Iterable[str] | None = None,
    email: str | None = None,
    include: str | Iterable[str] | None = None,
    limit: int = 500,
    segment_id: int | str | None = None,
    created_after: DateLike | None = None,
    created_before: DateLike | None = None,
    updated_after: DateLike | None = None,
    updated_before: DateLike | None = None,
    optout_after: DateLike | None = None,
    optout_before: DateLike | None = None,
    progress: Progress = "auto",
) -> pd.DataFrame:
    """Contacts matching the filters, one row per contact, every page read.

    The filters combine: a contact is read when it matches all of them (any of the
    ``lists``, any of the ``tags``). ``segment_id`` is the exception: the API allows
    only ``limit`` beside it.

    Args:
        client: {shared}
        lists: list ids, or exact names of active lists (resolved with one
            GET /contact_lists; an unknown or ambiguous name, or one that only a
            deleted list has, is a PlanError): contacts in any of them. More
            than 25 are split into several queries whose results are merged without
            duplicate contacts.
        status: one or more of ``all``, ``active``, ``deleted``, ``not_set``,
            ``pending_confirmation``, ``temp_hold``, ``unsubscribed`` (API default:
            every contact that is not deleted).
        tags: tag ids, or exact tag names (resolved with one GET /contact_tags; an
            unknown or ambiguous name is a PlanError with close matches); more than 50
            are split like ``lists``.
        email: one exact email address.
        include: sub-resources to add as columns: ``list_memberships`` and
            ``taggings`` (lists of ids), ``custom_fields``, ``phone_numbers``,
            ``street_addresses``, ``notes`` (lists of records, as the API sends them).
        limit: contacts per page, 1 to 500 (fewer pages with more).
        segment_id: a segment's id (an integer, as :func:`read_segments` gives it):
            the contacts that meet the segment's criteria now. The API allows no other
            filter beside it (a PlanError names the others given); filter the frame
            instead.
        created_after: contacts created after this moment: a ``datetime``, a
            ``pandas.Timestamp``, a ``date`` (its midnight) or an ISO-8601 string
            (``"2024-05-06"``, ``"2024-05-06T09:30:00Z"``). A value without a time zone
            is UTC, like the readers' datetime columns; one with a zone is converted.
        created_before: contacts created before this moment (same forms). With
            ``created_after``, a range; it must come after it.
        updated_after: contacts whose details (name, ...) changed after this moment.
            An unsubscribe does not change ``updated_at`` in Constant Contact: use
            ``optout_after`` for those.
        updated_before: contacts whose details last changed before this moment.
        optout_after: contacts who unsubscribed after this moment ("everyone who
            unsubscribed since Monday"); contacts that never did are left out.
        optout_before: contacts who unsubscribed before this moment.
        progress: {shared:progress_read}

    Every date bound is exclusive, and each ``_after`` must be earlier than its
    ``_before``; a bad value is a PlanError naming the argument, before anything
    is sent.

    Columns: contact_id, email, first_name, last_name, status, permission_to_send,
    created_at, updated_at, then one per ``include``. ``status`` speaks the ``status=``
    filter's vocabulary (``active``, ``unsubscribed``, ``deleted``,
    ``pending_confirmation``, ``temp_hold``, ``not_set``; see
    :func:`ccpandas.read.snapshot.contact_status`), so
    ``contacts[contacts.status == "active"]`` selects what ``status="active"`` reads;
    ``permission_to_send`` is the email address' permission (``explicit``,
    ``implicit``, ``unsubscribed``, ...). Changed: ``status`` used to hold the
    permission (``explicit``/``implicit`` for active contacts, ``implicit`` for
    deleted ones); code that compared it with ``"explicit"`` or ``"implicit"`` should
    read ``permission_to_send`` now. ``status == "unsubscribed"`` selects the
    unsubscribed contacts, as before.

    Example:
        >>> df = read_contacts(client, lists=[lid], include="list_memberships")  # doctest: +SKIP
        >>> df.columns.tolist()  # doctest: +SKIP
        ['contact_id', 'email', ..., 'updated_at', 'list_memberships']
        >>> gone = read_contacts(client, optout_after="2024-05-06")  # doctest: +SKIP
    """
    tag_values = _as_strings("tags", tags) or []
    tag_uuids = _tag_ids(tag_values)  # checked before list names cost a request
    statuses = _choices("status", status, CONTACT_STATUSES)
    includes = _choices("include", include, CONTACT_INCLUDES)
    if email is not None and (not isinstance(email, str) or not email.strip()):
        raise PlanError(f"email must be a non-empty string, not {email!r}")
    # numbers.Integral: a limit computed from a frame is a numpy integer, as segment_id is.
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or not 1 <= limit <= 500:
        raise PlanError(f"limit must be an integer from 1 to 500, not {limit!r}")
    limit = int(limit)
    arguments = locals()
    given = {name: arguments[name] for pair in DATE_FILTERS for name in pair}
    dates = _date_filters(given)
    check_progress(progress)
    if segment_id is not None:
        filters = ("lists", "status", "tags", "email", "include", *given)
        segment = _segment_query(segment_id, [k for k in filters if arguments[k] is not None])
        params = {"segment_id": segment, "limit": limit}
        return _read_groups(pick_client(client), params, [], [], [], progress)

    api = pick_client(client)
    list_ids = _list_ids(api, lists)  # after the other checks: names may cost a request
    tag_ids = list(dict.fromkeys(_resolve_tags(tag_values, tag_uuids, api)))
    base = {
        "status": statuses,
        "email": email.strip() if email is not None else None,
        **dates,
        "include": includes,
        "limit": limit,
    }
    return _read_groups(api, base, list_ids, tag_ids, includes, progress)


def _read_groups(
    api: Client,
    base: Mapping[str, Any],
    list_ids: list[str],
    tag_ids: list[str],
    includes: list[str],
    progress: Progress,
) -> pd.DataFrame:
    """``GET /contacts`` with ``base``'s filters (or a segment's query), once per (list
    group, tag group), the results merged without duplicate contacts."""
    # A contact matches when it is in any of the lists (and carries any of the tags):
    # every (list group, tag group) pair together covers exactly the full filter.
    # Query-sized groups; [None] (one query, no filter) when there are no ids.
    list_groups: Sequence[tuple[str, ...] | None] = chunked(list_ids, MAX_LISTS_PER_QUERY) or [None]
    tag_groups: Sequence[tuple[str, ...] | None] = chunked(tag_ids, MAX_TAGS_PER_QUERY) or [None]
    schema = {**CONTACT_COLUMNS, **dict.fromkeys(includes, "object")}

    def rows(pages: PageProgress) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for list_group, tag_group in product(list_groups, tag_groups):
            params = {**base, "lists": list_group, "tags": tag_group}
            for item in api.paginate("/contacts", "contacts", params, on_page=pages.page):
                cid = item.get("contact_id")
                if cid is not None:
                    if cid in seen:
                        continue  # the same contact found through another group
                    seen.add(cid)
                yield _contact_row(item, includes)

    with closing(PageProgress(progress, "contacts", "contacts")) as pages:
        return _frame(rows(pages), schema)


@shared_params
def read_contact_tags(client: Client | None = None, *, progress: Progress = "auto") -> pd.DataFrame:
    """Every tag of the account with the number of contacts carrying it.

    Columns: tag_id, name, contacts_count (``Int64``), created_at, updated_at.

    Args:
        client: {shared}
        progress: {shared:progress_read}

    Returns:
        A DataFrame with one row per tag, columns as above.

    Example:
        >>> tags = read_contact_tags(client)  # doctest: +SKIP
        >>> tags.sort_values("contacts_count", ascending=False).head()  # doctest: +SKIP
    """
    params = {"limit": 500, "include_count": True}
    return _read_all(client, "/contact_tags", "tags", params, CONTACT_TAG_COLUMNS, progress)


@shared_params
def read_segments(
    client: Client | None = None, *, sort_by: str = "date", progress: Progress = "auto"
) -> pd.DataFrame:
    """Every segment of the account (``GET /segments``; deleted ones are left out).

    A segment built in Constant Contact (say, "did not open the last 5 campaigns")
    can feed a removal: ``read_contacts(segment_id=...)`` reads its contacts.

    Columns: segment_id (``Int64``), name, created_at, edited_at (when its name or
    criteria last changed).

    Args:
        client: {shared}
        sort_by: ``"date"`` (the default: the most recently edited first) or ``"name"``
            (A to Z), as the API sorts them.
        progress: {shared:progress_read}

    Returns:
        A DataFrame with one row per segment, columns as above.

    Raises:
        PlanError: A ``sort_by`` it does not know, before anything is sent.

    Example:
        >>> segments = read_segments(client)  # doctest: +SKIP
        >>> never = segments[segments.name == "Never clicked"]  # doctest: +SKIP
        >>> quiet = read_contacts(client, segment_id=never.segment_id.item())  # doctest: +SKIP
    """
    _choice("sort_by", sort_by, SEGMENT_SORTS)
    params = {"limit": 1000, "sort_by": sort_by}  # the API's default page size
    return _read_all(client, "/segments", "segments", params, SEGMENT_COLUMNS, progress)


def _read_all(
    client: Client | None,
    path: str,
    key: str,
    params: Mapping[str, Any],
    schema: Mapping[str, str],
    progress: Progress,
) -> pd.DataFrame:
    """Every page of one GET as a frame of ``schema``, its pages reported as
    ``progress`` says (checked first, then the client)."""
    check_progress(progress)
    api = pick_client(client)
    with closing(PageProgress(progress, key, key)) as pages:
        items = api.paginate(path, key, params, on_page=pages.page)
        return _frame(({col: item.get(col) for col in schema} for item in items), schema)


# --------------------------------------------------------------------------- arguments


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise PlanError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _instant(name: str, value: Any) -> pd.Timestamp:
    """``value`` as an aware UTC datetime; naive values are UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise PlanError(
                f"{name} must be an ISO-8601 date or date-time such as '2024-05-06' or "
                f"'2024-05-06T09:30:00Z', not {value!r}"
            ) from None
    elif not isinstance(value, dt.date | np.datetime64):
        raise PlanError(
            f"{name} must be a datetime, a date or an ISO-8601 string, "
            f"not {type(value).__name__} {value!r}"
        )
    elif pd.isna(value):
        raise PlanError(f"{name} is NaT (no date); pass None (the default) to leave it out")
    moment = pd.Timestamp(value)  # a date: its midnight
    return moment.tz_localize(dt.UTC) if moment.tzinfo is None else moment.tz_convert(dt.UTC)


def _wire(moment: dt.datetime) -> str:
    """ISO-8601 in UTC with ``Z``, milliseconds only when there are any."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    millis = moment.microsecond // 1000
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def _date_filters(given: Mapping[str, Any]) -> dict[str, str]:
    """The date filters' query values; a PlanError for a bad value or an empty range."""
    moments = {k: _instant(k, v) for k, v in given.items() if v is not None}
    for after, before in DATE_FILTERS:
        if after in moments and before in moments and moments[after] >= moments[before]:
            raise PlanError(
                f"{after} ({_wire(moments[after])}) must be earlier than {before} "
                f"({_wire(moments[before])}): no contact can match both"
            )
    # The wire keeps milliseconds, the API's precision. Both bounds are exclusive, so
    # _after rounds down and _before up: a finer bound selects the same contacts (one
    # created at T is before T + 1 µs; rounding that down to T would leave it out).
    return {k: _wire(v.ceil("ms") if k.endswith("_before") else v) for k, v in moments.items()}


def _segment_query(segment_id: Any, others: list[str]) -> str:
    """``segment_id`` as the query sends it; a PlanError for a bad id or another filter."""
    if (
        isinstance(segment_id, bool)
        or not isinstance(segment_id, numbers.Integral | str)
        or not str(segment_id).strip().isdigit()
    ):
        raise PlanError(
            f"segment_id must be a segment's number (read_segments() lists them), "
            f"not {segment_id!r}"
        )
    if others:
        raise PlanError(
            "segment_id can only be combined with limit (the API allows no other filter "
            f"beside it); also given: {', '.join(others)}. Read the segment, then filter "
            "the frame."
        )
    return str(int(str(segment_id).strip()))


def _as_strings(name: str, value: str | Iterable[Any] | None) -> list[Any] | None:
    """A single string or an iterable (list, tuple, Series, Index) as a list."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise PlanError(f"{name} must be a string or a list of strings, not {type(value).__name__}")
    values = list(value)
    if not values:
        raise PlanError(f"{name} is empty; pass None (the default) to leave it out")
    return values


def _choices(name: str, value: str | Iterable[str] | None, allowed: tuple[str, ...]) -> list[str]:
    out = []
    for v in _as_strings(name, value) or []:
        for part in v.split(",") if isinstance(v, str) else [v]:
            out.append(_choice(name, part.strip() if isinstance(part, str) else part, allowed))
    return list(dict.fromkeys(out))


def _list_ids(client: Client | None, lists: str | Iterable[str] | None) -> list[str]:
    """List ids from ids or exact list names (names cost one GET /contact_lists, read
    with deleted lists: a name only a deleted list has is a PlanError that says so)."""
    values = _as_strings("lists", lists)
    if values is None:
        return []
    values = list(list_values(values, "lists"))  # no request for None, NaN, "", 7...
    if list_names(values):
        return list(dict.fromkeys(check_targets(values, read_lists(pick_client(client)), "lists")))
    return list(dict.fromkeys(resolve_list_ids(values, None)))


def resolve_tag_names(values: list[Any], client: Client | None = None) -> tuple[str, ...]:
    """Tag ids for tag UUIDs and exact tag names, in the order given.

    UUIDs pass through (normalised) without a request; names cost one
    ``GET /contact_tags`` listing. An unknown name is a
    :class:`~ccpandas.errors.PlanError` naming it with close matches; a name two tags
    share is one naming both ids.

    Example:
        >>> resolve_tag_names(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"])
        ('8b54d1f4-5b0e-11ee-8c99-0242ac120002',)
        >>> resolve_tag_names(["Churned"], client)  # doctest: +SKIP
        ('5f1e...',)
    """
    values = list(values)
    if not values:
        raise PlanError("no tag given: tags is empty", values=[])
    return _resolve_tags(values, _tag_ids(values), client)


def _resolve_tags(values: list[Any], ids: list[Any], client: Client | None) -> tuple[str, ...]:
    """:func:`resolve_tag_names` of ``values`` once checked: ``ids`` their UUIDs
    (:func:`_tag_ids`, None for a name)."""
    names = [v for v, i in zip(values, ids, strict=True) if i is None]
    if not names:
        return tuple(str(i) for i in ids)
    tags = read_contact_tags(client, progress=False)
    tags["tag_id"] = tags["tag_id"].str.lower()
    by_name = tags.groupby("name")["tag_id"].agg(list).to_dict()
    tail = ". read_contact_tags() lists the tags."
    return _by_names(values, ids, by_name, "tag", show=repr, tail=tail)


def _tag_ids(values: list[Any]) -> list[Any]:
    """Each value's tag UUID (None for a name); a PlanError, before any request, for a
    value that is neither: no string, or a blank one."""
    ids = _as_uuids(values)
    bad = [
        v
        for v, i in zip(values, ids, strict=True)
        if i is None and not (isinstance(v, str) and v.strip())
    ]
    if bad:
        raise PlanError(
            "tag ids and names must be strings, and not blank; got "
            + ", ".join(repr(v) for v in bad[:5]),
            values=bad[:10],
        )
    return ids


# --------------------------------------------------------------------------- frames


def _contact_row(item: Mapping[str, Any], includes: Iterable[str]) -> dict[str, Any]:
    address = item.get("email_address") or {}
    row = {col: item.get(col) for col in CONTACT_COLUMNS}  # ids, names and timestamps as sent
    row["email"] = address.get("address")
    # Named for what they hold: the status= filter's vocabulary, and the email
    # permission apart (``status`` once held the permission: "implicit" for a
    # deleted contact, never "active").
    row["status"] = contact_status(item)
    row["permission_to_send"] = address.get("permission_to_send")
    for name in includes:
        # An included sub-resource a contact lacks is an empty list, not a missing value.
        row[name] = list(item.get(name) or [])
    return row


def _column(values: list[Any], kind: str) -> Any:
    if kind == "datetime":
        parsed = pd.to_datetime(
            pd.Series(values, dtype=object), utc=True, format="ISO8601", errors="coerce"
        )
        return parsed.astype(_DATETIME_DTYPE)
    return pd.Series(values, dtype=_DTYPES.get(kind, object))


def _frame(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, str]) -> pd.DataFrame:
    """A frame with exactly ``schema``'s columns and dtypes, built column by column."""
    records = list(rows)
    data = {col: _column([r.get(col) for r in records], kind) for col, kind in schema.items()}
    return pd.DataFrame(data, columns=list(schema))
