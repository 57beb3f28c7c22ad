"""The V3 endpoints the emulator serves, and their handlers.

Each handler takes a :class:`Context` and returns a :class:`Reply` or raises
:class:`ErrorReply`; it runs under the account's lock after authentication, the limits
and fault injection (see :mod:`ccpandas.emulator.pipeline`).

Example:
    >>> route, params, allowed = match("GET", "/v3/contacts/0f9e2a8c-3c1d-4b7e-9a55-2d8f6b1c0e11")
    >>> route.template, params
    ('/v3/contacts/{contact_id}', {'contact_id': '0f9e2a8c-3c1d-4b7e-9a55-2d8f6b1c0e11'})
    >>> match("DELETE", "/v3/contacts")[0] is None, match("DELETE", "/v3/contacts")[2]
    (True, ('GET',))
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ccpandas.emulator.account import Account
from ccpandas.emulator.model import CONTACT_STATUSES, Contact
from ccpandas.emulator.paging import decode_cursor, encode_cursor, next_link
from ccpandas.emulator.render import (
    activity_json,
    contact_json,
    list_json,
    segment_json,
    tag_json,
)
from ccpandas.emulator.replies import ErrorReply, Reply, dumps
from ccpandas.emulator.settings import Settings
from ccpandas.emulator.validation import (
    bool_param,
    csv_param,
    datetime_param,
    int_param,
    is_uuid,
    parse_activity_body,
    parse_json,
)

__all__ = ["DEFAULT_TABLE", "ROUTES", "Context", "Route", "RouteTable", "match"]

_ACTIVITY_STATES = ("processing", "completed", "cancelled", "failed", "timed_out")
_CONTACT_STATUS_FILTER = ("all", *CONTACT_STATUSES)
_CONTACT_INCLUDES = (
    "custom_fields",
    "list_memberships",
    "phone_numbers",
    "street_addresses",
    "taggings",
    "notes",
)


@dataclasses.dataclass
class Context:
    """Everything a handler may read about one request."""

    account: Account
    settings: Settings
    params: dict[str, str]
    query: dict[str, str]
    body: bytes
    content_type: str | None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-case names


@dataclasses.dataclass(frozen=True)
class Route:
    """One method + path template, its handler and the OAuth scope it needs.

    ``scope=None`` makes a public endpoint: no bearer token is asked for (the seam for
    an OAuth2 token endpoint, which authenticates clients its own way).
    """

    method: str
    template: str
    handler: Callable[[Context], Reply]
    scope: str | None = "contact_data"

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template) + "$")

    @property
    def static(self) -> bool:
        return "{" not in self.template


# -- helpers ------------------------------------------------------------------------------


def _uuid_path(ctx: Context, name: str) -> str:
    value = ctx.params[name]
    if not is_uuid(value):
        raise ErrorReply(400, "validation_error", f"{name} must be a UUID (8-4-4-4-12).")
    return value.lower()


def _page_state(ctx: Context, collection: str, default_limit: int, max_limit: int) -> dict:
    """The query of a paged GET: from the cursor when there is one."""
    if "cursor" in ctx.query:
        state = decode_cursor(ctx.query["cursor"], collection)
        if "limit" in ctx.query:  # an explicit limit may change the page size
            state["limit"] = int_param(ctx.query, "limit", default_limit, 1, max_limit)
        return state
    return {"limit": int_param(ctx.query, "limit", default_limit, 1, max_limit)}


def _paged(
    ctx: Context,
    collection: str,
    key: str,
    rows: list[Any],
    state: dict,
    more: bool,
    position: int,
) -> dict[str, Any]:
    body: dict[str, Any] = {key: rows}
    links = next_link(
        collection, encode_cursor(collection, {**state, "at": position}) if more else None
    )
    if links or ctx.settings.last_page_links == "empty":
        body["_links"] = links  # the last page keeps an empty "_links": {}, as the API does
    return body


# -- activities ---------------------------------------------------------------------------


def _post_activity(kind: str) -> Callable[[Context], Reply]:
    def handler(ctx: Context) -> Reply:
        acct = ctx.account
        answers = ctx.settings.activity_answers
        if answers == "replay" and acct.last_activity_answer is not None:
            # A cache in the way answers with its copy: the request never reaches the API.
            return Reply(201, acct.last_activity_answer)
        request = parse_activity_body(parse_json(ctx.body, ctx.content_type), kind=kind)
        resolved = acct.resolve(request)
        limit = ctx.settings.max_queued_activities
        if limit is not None and acct.processor.queued >= limit:
            raise ErrorReply(
                429,
                "too_many_activities",
                f"Too many requests: the account already has {acct.processor.queued} queued "
                f"activities (at most {limit}). Wait for some to finish.",
            )
        activity = acct.create_activity(request, resolved)
        body = activity_json(activity, ctx.settings)
        acct.last_activity_answer = body
        return _mangled(Reply(201, body), answers)

    handler.__name__ = f"post_{kind}_list_memberships"
    return handler


def _mangled(reply: Reply, answers: str) -> Reply:
    """The 201 as ``activity_answers`` says it arrives: cut short (not JSON), or
    without its ``activity_id``; the activity exists either way."""
    if answers == "truncated":
        text = dumps(reply.body)
        return dataclasses.replace(reply, raw=text[: len(text) // 2])
    if answers == "no_activity_id":
        return Reply(reply.status, {k: v for k, v in reply.body.items() if k != "activity_id"})
    return reply


def get_activity(ctx: Context) -> Reply:
    activity_id = _uuid_path(ctx, "activity_id")
    activity = ctx.account.find_activity(activity_id)
    if activity is None:
        raise ErrorReply(404, "not_found", f"No activity with activity_id {activity_id}.")
    return Reply(200, activity_json(activity, ctx.settings))


def get_activities(ctx: Context) -> Reply:
    state = _page_state(ctx, "activities", 50, 500)
    if "cursor" not in ctx.query:
        raw = ctx.query.get("state")
        if raw is not None and raw.strip().lower() not in _ACTIVITY_STATES:
            raise ErrorReply(
                400, "validation_error", f"state must be one of: {', '.join(_ACTIVITY_STATES)}."
            )
        state["state"] = raw.strip().lower() if raw is not None else None
    before = state.get("at")
    chosen = [
        a
        for a in reversed(ctx.account.live_activities())  # newest first
        if (state["state"] is None or a.state == state["state"])
        and (before is None or a.ordinal < before)
    ]
    page = chosen[: state["limit"]]
    more = len(chosen) > len(page)
    position = page[-1].ordinal if page else 0
    if more and ctx.settings.activity_paging == "repeating":
        # The fault: the next link leads to this very page, its cursor new each time.
        position = before if before is not None else page[0].ordinal + 1
        state["turn"] = state.get("turn", 0) + 1
    body = _paged(
        ctx,
        "activities",
        "activities",
        [activity_json(a, ctx.settings) for a in page],
        {k: v for k, v in state.items() if k != "at"},
        more,
        position,
    )
    return Reply(200, body)


# -- lists and tags -----------------------------------------------------------------------


def _membership_count(ctx: Context, list_id: str, how: str | None) -> int | None:
    if how is None:
        return None
    return ctx.account.membership_count(list_id, active_only=how == "active")


def get_contact_lists(ctx: Context) -> Reply:
    state = _page_state(ctx, "contact_lists", 50, 1000)
    if "cursor" not in ctx.query:
        statuses = csv_param(ctx.query, "status", choices=("all", "active", "deleted"))
        how = csv_param(ctx.query, "include_membership_count", choices=("all", "active"))
        state.update(
            statuses=list(statuses or ("active",)),
            name=ctx.query.get("name"),
            count=bool_param(ctx.query, "include_count"),
            membership=how[0] if how else None,
        )
    wanted = set(state["statuses"])
    chosen = [
        lst
        for lst in ctx.account.lists.values()
        if ("all" in wanted or ("deleted" if lst.deleted_at is not None else "active") in wanted)
        and (state["name"] is None or lst.name == state["name"])
    ]
    after = state.get("at", -1)
    rest = [lst for lst in chosen if lst.ordinal > after]
    page = rest[: state["limit"]]
    rows = [
        list_json(lst, _membership_count(ctx, lst.list_id, state["membership"]), ctx.settings)
        for lst in page
    ]
    body = _paged(
        ctx,
        "contact_lists",
        "lists",
        rows,
        {k: v for k, v in state.items() if k != "at"},
        len(rest) > len(page),
        page[-1].ordinal if page else 0,
    )
    if state["count"]:
        body["lists_count"] = len(chosen)
    return Reply(200, body)


def get_contact_list(ctx: Context) -> Reply:
    list_id = _uuid_path(ctx, "list_id")
    lst = ctx.account.lists.get(list_id)
    if lst is None:
        raise ErrorReply(404, "not_found", f"No contact list with list_id {list_id}.")
    how = csv_param(ctx.query, "include_membership_count", choices=("all", "active"))
    count = _membership_count(ctx, list_id, how[0] if how else None)
    return Reply(200, list_json(lst, count, ctx.settings))


def get_contact_tags(ctx: Context) -> Reply:
    state = _page_state(ctx, "contact_tags", 50, 500)
    if "cursor" not in ctx.query:
        state["count"] = bool_param(ctx.query, "include_count")
    after = state.get("at", -1)
    rest = [t for t in ctx.account.tags.values() if t.ordinal > after]
    page = rest[: state["limit"]]
    acct = ctx.account
    rows = [
        tag_json(t, acct.tag_count(t.tag_id) if state["count"] else None, ctx.settings)
        for t in page
    ]
    body = _paged(
        ctx,
        "contact_tags",
        "tags",
        rows,
        {k: v for k, v in state.items() if k != "at"},
        len(rest) > len(page),
        page[-1].ordinal if page else 0,
    )
    return Reply(200, body)


# -- contacts -----------------------------------------------------------------------------


#: The date filters of GET /contacts and the contact field each one bounds.
_DATE_FILTERS = {
    "created_after": "created_at",
    "created_before": "created_at",
    "updated_after": "updated_at",
    "updated_before": "updated_at",
    "optout_after": "opt_out_at",
    "optout_before": "opt_out_at",
}
#: What ``segment_id`` may be combined with: "only ... the limit query parameter" (spec).
_SEGMENT_COMPANIONS = frozenset({"segment_id", "limit"})


def _segment_filter(ctx: Context) -> int:
    """The segment of ``GET /contacts?segment_id=``: 400 if combined with another
    filter, 404 for an unknown segment."""
    others = sorted(set(ctx.query) - _SEGMENT_COMPANIONS)
    if others:
        raise ErrorReply(
            400,
            "validation_error",
            "segment_id can only be combined with the limit query parameter; "
            f"also given: {', '.join(others)}.",
        )
    raw = ctx.query["segment_id"].strip()
    if not raw.isdigit():
        raise ErrorReply(400, "validation_error", "segment_id must be a non-negative integer.")
    segment_id = int(raw)
    if segment_id not in ctx.account.segments:
        raise ErrorReply(404, "not_found", f"No segment with segment_id {segment_id}.")
    return segment_id


def _contact_filter(query: Mapping[str, str]) -> dict[str, Any]:
    dates = {}
    for name in _DATE_FILTERS:
        value = datetime_param(query, name)
        if value is not None:
            dates[name] = value.isoformat()
    include = csv_param(query, "include", choices=_CONTACT_INCLUDES)
    return {
        "status": list(csv_param(query, "status", choices=_CONTACT_STATUS_FILTER) or ()),
        "email": (query.get("email") or "").strip().lower() or None,
        "lists": list(csv_param(query, "lists", uuids=True, limit=25) or ()),
        "tags": list(csv_param(query, "tags", uuids=True, limit=50) or ()),
        "include": list(include or ()),
        "count": bool_param(query, "include_count"),
        "dates": dates,
    }


def _contact_predicate(acct: Account, f: dict[str, Any]) -> Callable[[Contact], bool]:
    statuses = set(f["status"])
    lists, tags, email = set(f["lists"]), set(f["tags"]), f["email"]
    bounds = {k: dt.datetime.fromisoformat(v) for k, v in f["dates"].items()}
    lists_of = acct.live_lists_of if lists else None

    def keep(c: Contact) -> bool:
        if "all" not in statuses and (
            (c.status not in statuses) if statuses else c.status == "deleted"
        ):
            return False
        if email is not None and c.email.lower() != email:
            return False
        if tags and not tags.intersection(c.tag_ids):
            return False
        if lists_of is not None and not lists.intersection(lists_of(c.contact_id)):
            return False
        for name, bound in bounds.items():
            # Both bounds are exclusive; a contact that never opted out matches no
            # optout_ filter.
            value = getattr(c, _DATE_FILTERS[name])
            if value is None:
                return False
            if (value <= bound) if name.endswith("after") else (value >= bound):
                return False
        return True

    return keep


def _segment_page(ctx: Context, state: dict) -> Reply:
    """A page of ``GET /contacts?segment_id=``: the segment's live contacts, in account
    order (no ``include``, no count: the spec allows only ``limit`` beside it).

    A first read may answer 202 with no contacts (``segment_pending_reads``): the spec
    says the API may, the segment's results not being complete yet."""
    if "cursor" not in ctx.query:
        reads = ctx.account.segment_reads
        reads[state["segment"]] += 1
        if reads[state["segment"]] <= ctx.settings.segment_pending_reads:
            return Reply(202, _paged(ctx, "contacts", "contacts", [], state, False, 0))
    members = ctx.account.segment_members(state["segment"])
    after = state.get("at", -1)
    rest = [c for c in members if c.ordinal > after]
    page = rest[: state["limit"]]
    body = _paged(
        ctx,
        "contacts",
        "contacts",
        [contact_json(c, settings=ctx.settings) for c in page],
        {k: v for k, v in state.items() if k != "at"},
        len(rest) > len(page),
        page[-1].ordinal if page else 0,
    )
    return Reply(200, body)


def get_contacts(ctx: Context) -> Reply:
    state = _page_state(ctx, "contacts", 50, 500)
    if "cursor" not in ctx.query and "segment_id" in ctx.query:
        state["segment"] = _segment_filter(ctx)
    if "segment" in state:
        return _segment_page(ctx, state)
    if "cursor" not in ctx.query:
        state["filter"] = _contact_filter(ctx.query)
    f = state["filter"]
    acct = ctx.account
    keep = _contact_predicate(acct, f)
    # "offset": a page starts after as many matching records as were shown, counted
    # again now (the service's cursor carries next=N): one that left the results before
    # that point makes this page skip a record.
    offset = ctx.settings.contact_paging == "offset"
    skip = state.pop("shown", 0) if offset else 0
    shown = skip
    page: list[Contact] = []
    more = False
    for contact in _contact_scan(acct, f, -1 if offset else state.get("at", -1)):
        if not keep(contact):
            continue
        if skip:
            skip -= 1
            continue
        if len(page) == state["limit"]:
            more = True
            break
        page.append(contact)
    rows = [
        contact_json(
            c,
            f["include"],
            sorted(acct.live_lists_of(c.contact_id)) if "list_memberships" in f["include"] else (),
            ctx.settings,
        )
        for c in page
    ]
    if offset:
        state["shown"] = shown + len(page)
    body = _paged(
        ctx,
        "contacts",
        "contacts",
        rows,
        {k: v for k, v in state.items() if k != "at"},
        more,
        page[-1].ordinal if page else 0,
    )
    if f["count"]:
        body["contacts_count"] = _contact_count(acct, f, keep)
    return Reply(200, body)


def _contact_count(acct: Account, f: dict[str, Any], keep: Callable[[Contact], bool]) -> int:
    """``contacts_count``: the contacts matching ``f``. A membership read's filter (lists,
    any status) is the size of the lists' union, without a scan: a client may ask for it
    on every page."""
    if f["lists"] and "all" in f["status"] and not (f["email"] or f["tags"] or f["dates"]):
        return len(set().union(*(acct.live_members(lid) for lid in f["lists"])))
    return sum(1 for c in _contact_scan(acct, f, -1) if keep(c))


def _contact_scan(acct: Account, f: dict[str, Any], after: int) -> Iterator[Contact]:
    """Contacts with an ordinal above ``after``, in account order, that may match the
    filter ``f``.

    A page starts where the last one ended (ordinals are positions in account order),
    so reading every page costs one pass over the account, not one per page. An
    ``email`` is looked up in the account's index (no scan at all); with ``lists`` and
    few members next to the account's size, only the members are sorted.
    """
    start = max(after + 1, 0)
    if f["email"] is not None:
        return (c for c in acct.live_with_email(f["email"]) if c.ordinal >= start)
    ordered = acct.contacts_in_order()
    lists = f["lists"]
    if lists:
        wanted = [acct.live_members(lid) for lid in lists]
        if sum(len(m) for m in wanted) * 8 < len(ordered) - start:
            records = (acct.live_contact(cid) for cid in set().union(*wanted))
            return iter(
                sorted(
                    (c for c in records if c is not None and c.ordinal >= start),
                    key=lambda c: c.ordinal,
                )
            )
    return (ordered[i] for i in range(start, len(ordered)))


def get_contact(ctx: Context) -> Reply:
    contact_id = _uuid_path(ctx, "contact_id")
    contact = ctx.account.live_contact(contact_id)
    if contact is None:
        raise ErrorReply(404, "not_found", f"No contact with contact_id {contact_id}.")
    include = csv_param(ctx.query, "include", choices=_CONTACT_INCLUDES) or ()
    memberships = (
        sorted(ctx.account.live_lists_of(contact_id)) if "list_memberships" in include else ()
    )
    return Reply(200, contact_json(contact, include, memberships, ctx.settings))


# -- segments -----------------------------------------------------------------------------


def get_segments(ctx: Context) -> Reply:
    """``GET /segments``: name, id and dates; ``sort_by=date`` (the default: the most
    recently edited first) or ``name`` (A to Z); ``limit`` defaults to 1000."""
    state = _page_state(ctx, "segments", 1000, 1000)
    if "cursor" not in ctx.query:
        sort_by = (ctx.query.get("sort_by") or "date").strip().lower()
        if sort_by not in ("date", "name"):
            raise ErrorReply(400, "validation_error", "sort_by must be one of: date, name.")
        state["sort_by"] = sort_by
    segments = list(ctx.account.segments.values())
    if state["sort_by"] == "name":
        segments.sort(key=lambda g: (g.name, g.segment_id))
    else:
        segments.sort(key=lambda g: (g.edited_at, g.segment_id), reverse=True)
    start = state.get("at", 0)
    page = segments[start : start + state["limit"]]
    rows = [segment_json(g, ctx.settings) for g in page]
    body = _paged(
        ctx,
        "segments",
        "segments",
        rows,
        {k: v for k, v in state.items() if k != "at"},
        start + len(page) < len(segments),
        start + len(page),
    )
    # The spec's SegmentsDTO requires "next" inside "_links": its last page has none.
    if not body.get("_links"):
        body.pop("_links", None)
    return Reply(200, body)


# -- the table ----------------------------------------------------------------------------

ROUTES: tuple[Route, ...] = (
    Route("POST", "/v3/activities/remove_list_memberships", _post_activity("remove")),
    Route("POST", "/v3/activities/add_list_memberships", _post_activity("add")),
    Route("GET", "/v3/activities/{activity_id}", get_activity),
    Route("GET", "/v3/activities", get_activities),
    Route("GET", "/v3/contact_lists", get_contact_lists),
    Route("GET", "/v3/contact_lists/{list_id}", get_contact_list),
    Route("GET", "/v3/contact_tags", get_contact_tags),
    Route("GET", "/v3/segments", get_segments),
    Route("GET", "/v3/contacts", get_contacts),
    Route("GET", "/v3/contacts/{contact_id}", get_contact),
)


class RouteTable:
    """Routes matched against a path: fixed paths win over templates.

    The pipeline holds one (``Pipeline.routes``); a table with more routes (an OAuth2
    server's, say) can replace it: ``RouteTable((*ROUTES, *more))``.
    """

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self.routes = routes
        self._compiled = tuple((route, route.pattern) for route in routes)

    def match(
        self, method: str, path: str
    ) -> tuple[Route | None, dict[str, str], tuple[str, ...] | None]:
        """Find the route for ``method`` and ``path``.

        Returns ``(route, path_params, allowed_methods)``: ``route`` is None when the
        method is wrong (``allowed_methods`` lists the right ones: 405) or when no route
        has this path (``allowed_methods`` is None too: 404). A fixed path such as
        ``/v3/activities/add_list_memberships`` wins over a template that also matches.
        """
        found = [(route, m) for route, pattern in self._compiled if (m := pattern.match(path))]
        static = [(route, m) for route, m in found if route.static]
        found = static or found
        if not found:
            return None, {}, None
        for route, m in found:
            if route.method == method:
                return route, m.groupdict(), tuple(r.method for r, _ in found)
        return None, {}, tuple(sorted({r.method for r, _ in found}))


DEFAULT_TABLE = RouteTable()


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], tuple[str, ...] | None]:
    """:meth:`RouteTable.match` on the emulator's standard routes."""
    return DEFAULT_TABLE.match(method, path)
