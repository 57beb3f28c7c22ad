"""``ccpandas.doctor()``: check what ccpandas assumes about the API against an account.

A few GET requests (seven when the account has two lists or more; never a write), each
answer compared with :data:`ASSUMPTIONS`, the one table of what ccpandas takes for
granted: the token's claims (decoded, not verified), paging, the fields it reads, error
bodies, rate-limit headers and the clock. Each assumption comes out ``as assumed``,
``differs`` (with what was seen, in shapes and API words, never a value of the account)
or ``not seen`` (the account gave nothing to compare: an opaque token, a single list,
no activity in the past 10 days). :meth:`DoctorReport.report` is the same in JSON
shapes and key names only, to attach to a bug report.

Example:
    >>> report = ccpandas.doctor(client)  # doctest: +SKIP
    >>> report.ok, report.differs  # doctest: +SKIP
    (True, [])
"""

from __future__ import annotations

import dataclasses
import email.utils
import enum
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pandas as pd
import requests

from ccpandas._env import package_version
from ccpandas._secret import jwt_parts
from ccpandas.client.http import Client, next_href
from ccpandas.client.transport import map_transport_error
from ccpandas.errors import (
    APIError,
    QuotaExceededError,
    ServerError,
    ThrottledError,
    UnauthorizedError,
    UnusableAnswerError,
    error_entries,
)
from ccpandas.models import MAX_CLOCK_SKEW_SECONDS, ActivityState
from ccpandas.plan.ids import UUID_PATTERN

__all__ = ["ASSUMPTIONS", "Assumption", "Check", "DoctorReport", "Result", "check_account"]

#: The audience of the API's access tokens.
AUDIENCE = "https://api.cc.email/v3"
#: Access tokens last 24 hours; a minute's slack for the issuer's rounding.
TOKEN_LIFETIME = 24 * 3600 + 60
#: The clock may be this far off the server's: the wait for the daily quota's reset
#: (00:00 UTC by the API's clock) is timed by this machine's.
MAX_SKEW: float = MAX_CLOCK_SKEW_SECONDS
#: The states an activity goes through (:class:`ccpandas.ActivityState`).
ACTIVITY_STATES = tuple(s.value for s in ActivityState)
_ACTIVITY_STATUS_KEYS = ("items_total_count", "items_completed_count", "list_count")
_TIMESTAMP_KEYS = ("created_at", "updated_at", "started_at", "completed_at")
_ID_KEYS = ("list_id", "contact_id", "activity_id")
_UUID = re.compile(f"^{UUID_PATTERN}$", re.I)
_WHOLE_SECONDS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_RATE_HEADER = re.compile(r"rate-?limit|retry-after|quota", re.I)
# A value quoted in what was seen: an API word (a state, an error key, a scope, a URL
# like the audience), never free text, an id or an address.
_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]{0,60}$")


class Result(enum.Enum):
    """What one check found: the account answers as assumed, differently, or gave
    nothing to compare."""

    AS_ASSUMED = "as assumed"
    DIFFERS = "differs"
    NOT_SEEN = "not seen"


#: A check returns None (as assumed), the text of what differs, or ``Result.NOT_SEEN``.
Verdict = str | Result | None


@dataclasses.dataclass
class Answer:
    """What one request brought back (no request header, so never the token)."""

    request: str
    status: int | None
    body: Any
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # lower-case names
    received: float = 0.0  # time.time() when the answer came
    elapsed: float = 0.0  # seconds from sending to the answer's headers


#: A check: the answers an assumption reads -> its verdict.
_Check = Callable[[Sequence[Answer]], Verdict]


@dataclasses.dataclass(frozen=True)
class Assumption:
    """One thing ccpandas takes for granted: its ``name``, the ``answers`` it reads, what
    ccpandas ``assumes`` (in words) and the ``check`` that compares."""

    name: str
    answers: tuple[str, ...]
    assumes: str
    check: Callable[[Sequence[Answer]], Verdict]


@dataclasses.dataclass(frozen=True)
class Check:
    """One row of the doctor's table.

    Args:
        name: The assumption's name, e.g. ``"paging.last_page"``.
        assumes: What ccpandas assumes, in words.
        result: As assumed, differs or not seen (:class:`Result`).
        seen: What differs, in shapes and API words (empty unless it differs).
    """

    name: str
    assumes: str
    result: Result
    seen: str = ""


# --------------------------------------------------------------------------- shapes


def shape(value: Any) -> Any:
    """``value`` with every value replaced by its type or shape; keys kept.

    Example:
        >>> shape({"id": "8b54d1f4-5b0e-11ee-8c99-0242ac120002", "n": [1, 2], "x": None})
        {'id': 'uuid-v1', 'n': ['int'], 'x': 'null'}
    """
    if isinstance(value, Mapping):
        return {str(k): shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        shapes: list[Any] = []
        for item in value[:5]:
            s = shape(item)
            if s not in shapes:
                shapes.append(s)
        return shapes
    if isinstance(value, str):
        return _string_shape(value)
    return _SCALAR_SHAPES.get(type(value), type(value).__name__)


#: The shapes of a decoded JSON body's scalars, by type.
_SCALAR_SHAPES = {type(None): "null", bool: "bool", int: "int", float: "float"}
#: A string's shape: that of the first pattern it matches ("string" when none does).
_STRING_SHAPES = (
    (_WHOLE_SECONDS_Z, "timestamp (whole seconds, Z)"),
    (_TIMESTAMP, "timestamp"),
    (re.compile(r"^\d{4}-\d\d-\d\d$"), "date"),
    (re.compile("@"), "email-like string"),
    (re.compile("^/"), "path"),
    (re.compile("^https?://"), "url"),
)


def _string_shape(text: str) -> str:
    if _UUID.match(text):
        return f"uuid-v{uuid.UUID(text).version}"
    return next((name for pattern, name in _STRING_SHAPES if pattern.search(text)), "string")


def _word(value: Any) -> str:
    """An API word quoted as is; anything else by its shape."""
    if isinstance(value, str) and _WORD.match(value) and not _UUID.match(value):
        return repr(value)
    shown = shape(value)
    return shown if isinstance(shown, str) else type(value).__name__


# --------------------------------------------------------------------------- the checks


def _body(answers: Sequence[Answer]) -> Any:
    return answers[0].body


def _page(key: str) -> _Check:
    def check(answers: Sequence[Answer]) -> Verdict:
        body = _body(answers)
        if not isinstance(body, dict):
            return f"the body is {_kind(body)}, not an object"
        if not isinstance(body.get(key), list):
            return f"no {key!r} array; keys: {', '.join(map(_word, body)) or 'none'}"
        return None

    return check


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    return "an array" if isinstance(value, list) else _word(value)


def _items(answers: Sequence[Answer], key: str) -> list[dict[str, Any]]:
    found = [a.body.get(key) if isinstance(a.body, dict) else None for a in answers]
    return [i for items in found for i in items or () if isinstance(i, dict)]


def _seen(look: Callable[[Sequence[Answer]], Any]) -> Callable[[Callable[[Any], Verdict]], _Check]:
    """A check of what ``look`` finds in the answers (the items of an array, the token's
    parts); ``not seen`` when it finds nothing."""

    def wrap(test: Callable[[Any], Verdict]) -> _Check:
        def check(answers: Sequence[Answer]) -> Verdict:
            found = look(answers)
            return test(found) if found else Result.NOT_SEEN

        return check

    return wrap


def _each(key: str) -> Callable[[Callable[[Any], Verdict]], _Check]:
    """A check of the items of every answer's ``body[key]`` array."""
    return _seen(lambda answers: _items(answers, key))


def _fields(key: str, wanted: Mapping[str, type]) -> _Check:
    """Each item of ``body[key]`` has the fields ccpandas reads (dotted paths), each of
    its type (an ``int`` is never a bool)."""

    @_each(key)
    def check(items: list[dict[str, Any]]) -> Verdict:
        problems: list[str] = []
        for item in items:
            for path, kind in wanted.items():
                value: Any = item
                for part in path.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                if value is None:
                    problems.append(f"{path} missing")
                elif type(value) is not kind:
                    problems.append(f"{path} is {_word(value)}")
        return "; ".join(dict.fromkeys(problems)) or None

    return check


@_each("activities")
def _activity_fields(items: list[dict[str, Any]]) -> Verdict:
    problems = []
    for item in items:
        if not isinstance(item.get("activity_id"), str):
            problems.append("activity_id missing")
        percent = item.get("percent_done")
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            problems.append(f"percent_done is {_word(percent)}, not an integer 0 to 100")
        status = item.get("status", {})
        if not isinstance(status, dict):
            problems.append(f"status is {shape(status)}, not an object")
        else:
            bad = [
                k for k, v in status.items() if k in _ACTIVITY_STATUS_KEYS and type(v) is not int
            ]
            problems.extend(f"status.{k} is not an integer" for k in bad)
        errors = item.get("activity_errors", [])
        if not isinstance(errors, list) or not all(
            isinstance(e, str) or (isinstance(e, dict) and isinstance(e.get("message"), str))
            for e in errors
        ):
            problems.append(f"activity_errors is {shape(errors)}")
    return "; ".join(dict.fromkeys(problems)) or None


@_each("activities")
def _states(items: list[dict[str, Any]]) -> Verdict:
    odd = [_word(i.get("state")) for i in items if i.get("state") not in ACTIVITY_STATES]
    return f"state {', '.join(dict.fromkeys(odd))}" if odd else None


@_each("contacts")
def _list_memberships(items: list[dict[str, Any]]) -> Verdict:
    values = [m for i in items for m in i.get("list_memberships", [None]) or []]
    if any(i.get("list_memberships") is None for i in items):
        return "list_memberships missing"
    odd = [shape(v) for v in values if not (isinstance(v, str) and _UUID.match(v))]
    return f"list_memberships holds {json.dumps(odd[0])}, not list ids" if odd else None


@_each("contacts")
def _no_status(items: list[dict[str, Any]]) -> Verdict:
    odd = [i["status"] for i in items if "status" in i]
    return f"a top-level status: {_word(odd[0])}" if odd else None


def _next_link(answers: Sequence[Answer]) -> Verdict:
    body = _body(answers)
    try:
        href = next_href(body)
    except UnusableAnswerError as exc:  # the readers stop there with this error
        return exc.error_message
    if href is None:
        nxt = (body.get("_links") or {}).get("next") if isinstance(body, dict) else None
        if isinstance(nxt, dict) and nxt.get("href") == "":  # the spec says absent or null
            return 'an empty href (""): the readers take it for the last page'
        return Result.NOT_SEEN  # one list only: no next page
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return f"an absolute URL ({parts.scheme}://...), not a path on the API's host"
    if not parts.path.endswith("/contact_lists"):
        return f"the path is {_word(parts.path)}, not .../contact_lists"
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = [k for k, _ in query]
    if names != ["cursor"]:
        return f"query parameters {', '.join(map(_word, names)) or 'none'}, not cursor alone"
    if not _BASE64.match(query[0][1]):
        return "the cursor is not base64 text"
    return None


def _cursor_page_size(answers: Sequence[Answer]) -> Verdict:
    items = _body(answers).get("lists") if isinstance(_body(answers), dict) else None
    if not isinstance(items, list):
        return "the next page has no 'lists' array"
    return None if len(items) == 1 else f"{len(items)} lists on a page asked for 1"


def _last_page(answers: Sequence[Answer]) -> Verdict:
    body = _body(answers)
    if not isinstance(body, dict) or "_links" not in body:
        return "no _links key on the last page"
    links = body["_links"]
    if links != {}:
        return f"_links is {json.dumps(shape(links))} on the last page, not {{}}"
    return None


def _walk(value: Any, keys: Sequence[str]) -> Iterator[tuple[str, Any]]:
    """Every ``(key, value)`` pair with a key in ``keys``, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys:
                yield k, v
            yield from _walk(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, keys)


@_seen(lambda answers: [(k, v) for a in answers for k, v in _walk(a.body, _TIMESTAMP_KEYS)])
def _timestamps(seen: list[tuple[str, Any]]) -> Verdict:
    odd = [f"{k} {_timestamp_form(v)}" for k, v in seen if not _WHOLE_SECONDS_Z.match(str(v))]
    return ", ".join(dict.fromkeys(odd)) or None


def _timestamp_form(value: Any) -> str:
    """A timestamp's form with its digits masked: ``2024-10-30T18:56:35.5+00:00`` ->
    ``'dddd-dd-ddTdd:dd:dd.d+dd:dd'``."""
    if not isinstance(value, str):
        return f"is {shape(value)}"
    # Digits as d, other letters but the T and Z of a timestamp as x: the form, no value.
    masked = re.sub(r"\d", "d", re.sub(r"[^\W\dTZ_]", "x", value[:40]))
    return "is " + repr(masked)


def _ids(answers: Sequence[Answer]) -> list[Any]:
    """Every id seen: the ``*_id`` fields at any depth (list ids inside membership
    objects too), and the list ids of ``list_memberships`` arrays."""
    found = [v for a in answers for _, v in _walk(a.body, _ID_KEYS)]
    for item in _items(answers, "contacts"):
        found.extend(m for m in item.get("list_memberships") or () if isinstance(m, str))
    return [v for v in found if v is not None]


@_seen(_ids)
def _uuids(ids: list[Any]) -> Verdict:
    odd = [v for v in ids if not (isinstance(v, str) and _UUID.match(v))]
    if odd:
        masked = re.sub(r"[0-9A-Za-z]", "x", str(odd[0]))[:48]
        return f"an id {masked!r}, not a UUID (8-4-4-4-12)"
    return None


@_seen(lambda answers: [v for v in _ids(answers) if isinstance(v, str) and _UUID.match(v)])
def _uuid_v1(ids: list[str]) -> Verdict:
    versions = sorted({uuid.UUID(v).version for v in ids} - {1}, key=str)
    return f"version-{'/'.join(map(str, versions))} UUIDs" if versions else None


def _error_array(answers: Sequence[Answer]) -> Verdict:
    body = _body(answers)
    if not isinstance(body, list) or not body:
        return f"the body is {_kind(body)}, not an array of errors"
    if not all(isinstance(e, dict) and "error_key" in e and "error_message" in e for e in body):
        return f"the array holds {json.dumps(shape(body))}"
    return None


def _not_found_key(answers: Sequence[Answer]) -> Verdict:
    entries = error_entries(_body(answers))
    key = entries[0].get("error_key") if entries else None
    return None if key == "contacts.api.not_found" else f"error_key {_word(key)}"


def _gateway_body(answers: Sequence[Answer]) -> Verdict:
    body = _body(answers)
    if not isinstance(body, dict):
        return f"the body is {_kind(body)}, not an object"
    if body.get("error_key") != "unauthorized" or not isinstance(body.get("error_message"), str):
        return f"the object is {json.dumps(shape(body))}, error_key {_word(body.get('error_key'))}"
    return None


def _www_authenticate(answers: Sequence[Answer]) -> Verdict:
    value = answers[0].headers.get("www-authenticate")
    if value is None:
        return "no WWW-Authenticate header"
    scheme = value.split(" ", 1)[0]
    return None if scheme.lower() == "bearer" else f"WWW-Authenticate scheme {_word(scheme)}"


def _rate_headers(answers: Sequence[Answer]) -> Verdict:
    names = sorted({n for a in answers for n in a.headers if _RATE_HEADER.search(n)})
    return f"headers {', '.join(names)}" if names else None


def _skew(answers: Sequence[Answer]) -> Verdict:
    for a in answers:
        date = a.headers.get("date")
        try:
            server = email.utils.parsedate_to_datetime(date).timestamp() if date else None
        except (TypeError, ValueError):
            server = None
        if server is None:
            continue
        # Date has whole seconds: the server's time is in [Date, Date + 1), taken about
        # half-way between sending and the answer.
        skew = server + 0.5 - (a.received - a.elapsed / 2)
        if abs(skew) > MAX_SKEW:
            ahead = "ahead of" if skew > 0 else "behind"
            return f"the server's clock is {abs(skew):,.0f} s {ahead} this machine's"
        return None
    return Result.NOT_SEEN


#: A check of the token's JWT header and claims; not seen for an opaque token.
_token = _seen(lambda answers: _body(answers) if isinstance(_body(answers), dict) else None)


@_token
def _alg(jwt: dict[str, Any]) -> Verdict:
    alg = jwt["header"].get("alg")
    return None if alg == "RS256" else f"alg {_word(alg)}"


@_token
def _audience(jwt: dict[str, Any]) -> Verdict:
    aud = jwt["claims"].get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if AUDIENCE in auds:
        return None
    return f"aud {', '.join(_word(a) for a in auds)}"


@_token
def _lifetime(jwt: dict[str, Any]) -> Verdict:
    exp, iat = jwt["claims"].get("exp"), jwt["claims"].get("iat")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return "no exp claim"
    left = exp - time.time()
    if left <= 0:
        return f"expired {-left / 3600:,.1f} h ago"
    if isinstance(iat, int | float) and exp - iat > TOKEN_LIFETIME:
        return f"lasts {(exp - iat) / 3600:,.1f} h"
    if not isinstance(iat, int | float) and left > TOKEN_LIFETIME:
        return f"{left / 3600:,.1f} h left"
    return None


@_token
def _scopes(jwt: dict[str, Any]) -> Verdict:
    scopes = jwt["claims"].get("scp", jwt["claims"].get("scope"))
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list):
        return "no scp or scope claim"
    if "contact_data" in scopes:
        return None
    return f"scopes {', '.join(_word(s) for s in scopes) or 'none'}"


#: The timestamps a list and a contact have, strings both.
_STAMPS = {"created_at": str, "updated_at": str}
#: The answers of the three reads (lists, contacts, activities).
_READS = ("lists", "contacts", "activities")
#: What ccpandas assumes: the one table. Each row names the answers it reads.
ASSUMPTIONS: tuple[Assumption, ...] = (
    Assumption("token.algorithm", ("token",), "the access token is an RS256 JWT", _alg),
    Assumption("token.audience", ("token",), f"its audience (aud) is {AUDIENCE}", _audience),
    Assumption("token.lifetime", ("token",), "it has not expired and lasts 24 hours", _lifetime),
    Assumption("token.scopes", ("token",), "its scopes (scp) include contact_data", _scopes),
    Assumption(
        "lists.page", ("lists",), "GET /contact_lists answers {lists: [...]}", _page("lists")
    ),
    Assumption(
        "lists.fields",
        ("lists",),
        "a list has list_id, name, favorite, created_at, updated_at, membership_count",
        _fields(
            "lists",
            {"list_id": str, "name": str, "favorite": bool, **_STAMPS, "membership_count": int},
        ),
    ),
    Assumption(
        "paging.next_link",
        ("lists",),
        "_links.next.href is a path on the API's host with one opaque base64 cursor",
        _next_link,
    ),
    Assumption(
        "paging.cursor_page_size",
        ("lists_next",),
        "the next page keeps the page size (the cursor carries it)",
        _cursor_page_size,
    ),
    Assumption("paging.last_page", ("lists_last",), 'the last page has "_links": {}', _last_page),
    Assumption(
        "contacts.page", ("contacts",), "GET /contacts answers {contacts: [...]}", _page("contacts")
    ),
    Assumption(
        "contacts.fields",
        ("contacts",),
        "a contact has contact_id, email_address.address and .permission_to_send, "
        "created_at, updated_at",
        _fields(
            "contacts",
            {
                "contact_id": str,
                "email_address.address": str,
                "email_address.permission_to_send": str,
                **_STAMPS,
            },
        ),
    ),
    Assumption(
        "contacts.list_memberships",
        ("contacts",),
        "include=list_memberships gives an array of list ids",
        _list_memberships,
    ),
    Assumption(
        "contacts.no_status",
        ("contacts",),
        "a contact has no top-level status (told from permission_to_send, deleted_at)",
        _no_status,
    ),
    Assumption(
        "activities.page",
        ("activities",),
        "GET /activities answers {activities: [...]}",
        _page("activities"),
    ),
    Assumption(
        "activities.fields",
        ("activities",),
        "an activity has activity_id, percent_done 0-100, integer status counts, "
        "activity_errors as strings or {message} objects",
        _activity_fields,
    ),
    Assumption(
        "activities.states",
        ("activities",),
        "state is one of " + ", ".join(ACTIVITY_STATES),
        _states,
    ),
    Assumption(
        "values.timestamps",
        _READS,
        "timestamps have whole seconds and Z (2024-10-30T18:56:35Z)",
        _timestamps,
    ),
    Assumption("values.ids", _READS, "ids are UUIDs (8-4-4-4-12)", _uuids),
    Assumption("values.uuid_v1", _READS, "ids are version-1 UUIDs", _uuid_v1),
    Assumption(
        "errors.array",
        ("not_found",),
        "an application error is an array of {error_key, error_message}",
        _error_array,
    ),
    Assumption(
        "errors.namespaced_key",
        ("not_found",),
        "GET /contacts/{unknown id} says 404 contacts.api.not_found",
        _not_found_key,
    ),
    Assumption(
        "errors.gateway_401",
        ("unauthenticated",),
        'a request without a token gets 401 {"error_key": "unauthorized", ...} (an object)',
        _gateway_body,
    ),
    Assumption(
        "errors.www_authenticate",
        ("unauthenticated",),
        "the 401 has WWW-Authenticate: Bearer",
        _www_authenticate,
    ),
    Assumption(
        "headers.rate_limit",
        ("lists", "lists_next", "lists_last", "contacts", "activities", "not_found"),
        "no rate-limit headers (ccpandas paces itself: 4/s, 10,000/day)",
        _rate_headers,
    ),
    Assumption(
        "clock.skew",
        _READS,
        f"this machine's clock is within {MAX_SKEW:g} s of the server's Date",
        _skew,
    ),
)


# --------------------------------------------------------------------------- the requests


class _NoAuth(requests.auth.AuthBase):
    """No Authorization header at all (and no ``.netrc`` lookup, which ``auth=None``
    would do)."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers.pop("Authorization", None)
        return r


class _Probe:
    """The doctor's requests, and what each brought back, by name. Every answer of the
    client's session is heard through a ``requests`` response hook (status, headers,
    body): the client's retries, rate limit and token refresh stay as they are, and no
    request header (the token) is kept."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.answers: dict[str, Answer] = {}
        self.sent = 0
        self._lock = threading.Lock()
        self._heard: list[tuple[str, Answer]] = []  # (URL path, answer), every attempt

    def __call__(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = "<not JSON>"
        answer = Answer(
            request="",
            status=resp.status_code,
            body=body,
            headers={k.lower(): v for k, v in resp.headers.items() if k.lower() != "set-cookie"},
            received=time.time(),
            elapsed=resp.elapsed.total_seconds(),
        )
        with self._lock:
            self._heard.append((urlsplit(resp.url).path, answer))

    @contextmanager
    def listening(self) -> Iterator[_Probe]:
        """Hear the answers of the client's session while inside."""
        hooks = self.client.session.hooks.setdefault("response", [])
        hooks.append(self)
        try:
            yield self
        finally:
            hooks.remove(self)

    def get(
        self, name: str, path: str, params: dict[str, Any] | None = None, shown: str = ""
    ) -> None:
        """GET through the client; keep the answer, or the refusal, as ``name`` (its
        request shown with ``shown``, or the query of ``params``)."""
        url_path = urlsplit(self.client.url_for(path)).path
        before = self.client.stats.requests
        try:
            self.client.request("GET", path, params=params)
        except (UnauthorizedError, QuotaExceededError, ThrottledError, ServerError):
            raise  # the token, the budget or an outage: no shape to compare
        except APIError:
            pass  # an answer all the same (the deliberate 404, a 403): the hook heard it
        finally:
            self.sent += self.client.stats.requests - before
        query = f"?{urlencode(params)}" if params else ""
        self._keep(name, url_path, f"GET {url_path}{shown or query}")

    def _keep(self, name: str, path: str, request: str) -> None:
        """Keep the last answer to ``path`` (the final attempt, after any retry) as
        ``name``, shown as ``request``."""
        with self._lock:
            found = [a for p, a in self._heard if p == path]
        if found:
            found[-1].request = request
            self.answers[name] = found[-1]

    def get_without_token(self, name: str, path: str) -> None:
        """GET with no Authorization header: what the gateway says to no token."""
        client = self.client
        url = client.url_for(path)
        label = f"GET {urlsplit(url).path}"
        if client.limiter is not None:
            client.limiter.acquire()  # one more request on the shared pace
        self.sent += 1
        try:
            resp = client.session.get(
                url,
                params={"limit": 1},
                headers={"Accept": "application/json", "User-Agent": client.user_agent},
                auth=_NoAuth(),
                timeout=client.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            error, _ = map_transport_error(exc, label, host=urlsplit(url).hostname)
        else:
            resp.close()
            self._keep(name, urlsplit(url).path, f"{label}?limit=1 (no token)")
            return
        raise error  # outside the except block: no chained context


def _run_requests(probe: _Probe) -> None:
    """At most 7 GETs: 3 of lists, then contacts, activities, a 404 and a 401."""
    probe.get("lists", "/contact_lists", {"limit": 1, "include_membership_count": "all"})
    try:
        href = next_href(probe.answers["lists"].body) if "lists" in probe.answers else None
    except UnusableAnswerError:
        href = None  # no link to follow: the next-link check says how it differs
    if href is not None and not urlsplit(href).netloc:
        probe.get("lists_next", href, shown="?cursor=<cursor>")
        probe.get("lists_last", "/contact_lists", {"limit": 1000})
    elif href is None and "lists" in probe.answers:
        probe.answers["lists_last"] = probe.answers["lists"]  # a single page is the last
    probe.get("contacts", "/contacts", {"limit": 1, "include": "list_memberships"})
    probe.get("activities", "/activities", {"limit": 1})
    # A random version-4 id: surely no contact's, and nothing to find in the logs.
    probe.get("not_found", f"/contacts/{uuid.uuid4()}")
    if "not_found" in probe.answers:
        probe.answers["not_found"].request = "GET /v3/contacts/{random id}"
    probe.get_without_token("unauthenticated", "/contact_lists")


#: What each request is expected to answer (another status "differs" at once).
_EXPECTED_STATUS = {"not_found": 404, "unauthenticated": 401}


def _jwt_parts(client: Client) -> dict[str, Any] | None:
    try:
        parts = jwt_parts(client._token().reveal())
    except Exception:  # no token: nothing to decode; never re-raised (pieces of it)
        return None
    return None if parts is None else {"header": parts[0], "claims": parts[1]}


def _judge(assumption: Assumption, answers: Mapping[str, Answer]) -> Check:
    """One row: the assumption's check over the answers it reads."""
    usable: list[Answer] = []
    verdict: Verdict = None
    for name in assumption.answers:
        answer, want = answers.get(name), _EXPECTED_STATUS.get(name, 200)
        if answer is not None and answer.status not in (None, want):
            if len(assumption.answers) == 1:  # its only answer went wrong: say how
                verdict = _refusal(answer, want)
        elif answer is not None:
            usable.append(answer)
    if verdict is None:
        verdict = assumption.check(usable) if usable else Result.NOT_SEEN
    if isinstance(verdict, str):
        return Check(assumption.name, assumption.assumes, Result.DIFFERS, verdict)
    return Check(assumption.name, assumption.assumes, verdict or Result.AS_ASSUMED)


def _refusal(answer: Answer, want: int) -> str:
    entries = error_entries(answer.body)
    key = entries[0].get("error_key") if entries else None
    said = f" ({_word(key)})" if key is not None else ""
    return f"{answer.request} answered HTTP {answer.status}{said}, not {want}"


# --------------------------------------------------------------------------- the report


@dataclasses.dataclass(frozen=True)
class DoctorReport:
    """What :func:`doctor` found: one :class:`Check` per assumption, in table order.

    ``str(report)`` is the table; :meth:`to_frame` the same as a DataFrame;
    :meth:`report` the anonymised shapes for a bug report.

    Args:
        checks: One :class:`Check` per assumption of :data:`ASSUMPTIONS`.
        requests: The requests sent (retries included).
        base_url: The API that answered, e.g. ``"https://api.cc.email/v3"``.
        shapes: Each answer's request, status, header names and body shape, and the
            token's form and claim names (what :meth:`report` adds to the checks).

    Example:
        >>> report = ccpandas.doctor(client)  # doctest: +SKIP
        >>> report.to_frame().query("result == 'differs'")  # doctest: +SKIP
    """

    checks: tuple[Check, ...]
    requests: int
    base_url: str
    #: Each answer's request, status, header names and body shape; the token's form.
    shapes: Mapping[str, Any] = dataclasses.field(repr=False, default_factory=dict)

    @property
    def differs(self) -> list[str]:
        """The names of the assumptions the account does not match."""
        return [c.name for c in self.checks if c.result is Result.DIFFERS]

    @property
    def ok(self) -> bool:
        """True when nothing differs (``not seen`` is not a difference)."""
        return not self.differs

    def to_frame(self) -> pd.DataFrame:
        """The table as a DataFrame: name, result, assumes, seen.

        Example:
            >>> report.to_frame().query("result == 'differs'")  # doctest: +SKIP
        """
        rows = [dataclasses.asdict(c) | {"result": c.result.value} for c in self.checks]
        return pd.DataFrame(rows, columns=["name", "result", "assumes", "seen"])

    def report(self) -> dict[str, Any]:
        """Shapes and key names only: every value of the account (ids, addresses,
        names, messages) is replaced by its type, and the token by its claims' names.

        Example:
            >>> json.dumps(report.report())  # doctest: +SKIP
        """
        return {
            "ccpandas": package_version(),
            "requests": self.requests,
            "checks": [
                {"name": c.name, "result": c.result.value, "seen": c.seen} for c in self.checks
            ],
            **self.shapes,
        }

    def write_report(self, path: str | Path) -> Path:
        """Write :meth:`report` as JSON to ``path``; returns the path.

        Args:
            path: The file to write, e.g. ``"ccpandas-doctor.json"``.
        """
        file = Path(path)
        file.write_text(json.dumps(self.report(), indent=2) + "\n", encoding="utf-8")
        return file

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        counts = {r: sum(c.result is r for c in self.checks) for r in Result}
        lines = [
            f"ccpandas doctor: {len(self.checks)} assumptions checked against {self.base_url}",
            f"with {self.requests} GET requests: "
            + ", ".join(f"{n} {r.value}" for r, n in counts.items() if n),
        ]
        for c in self.checks:
            lines.append(f"{c.name:<{width}}  {c.result.value:<10}  {c.assumes}")
            if c.seen:
                lines.append(f"{'':<{width}}  {'':<10}  seen: {c.seen}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        # In a notebook: the table (pandas escapes every cell).
        return self.to_frame().to_html(index=False)

    def __repr__(self) -> str:
        return f"<DoctorReport {len(self.checks)} checks, differs: {self.differs or 'none'}>"


def check_account(api: Client) -> DoctorReport:
    """Send the doctor's read-only requests with ``api`` and judge every assumption
    (:func:`ccpandas.doctor` resolves the client, then calls this)."""
    probe = _Probe(api)
    with probe.listening():
        _run_requests(probe)
    answers = dict(probe.answers)
    # The token's JWT header and claims, decoded WITHOUT verifying (only to compare); an
    # opaque token gives a body of None. The token itself is kept nowhere.
    answers["token"] = Answer(request="the access token", status=None, body=_jwt_parts(api))
    checks = tuple(_judge(a, answers) for a in ASSUMPTIONS)
    return DoctorReport(checks, probe.sent, api.base_url, _shapes(answers))


def _shapes(answers: Mapping[str, Answer]) -> dict[str, Any]:
    """What the report keeps of the answers: no value of the account, no token."""
    shown = {
        name: {
            "request": a.request,
            "status": a.status,
            "headers": sorted(a.headers),
            "body": shape(a.body),
        }
        for name, a in answers.items()
        if name != "token"
    }
    parts = answers["token"].body
    token = (
        {"form": "JWT", "header": shape(parts["header"]), "claims": shape(parts["claims"])}
        if isinstance(parts, dict)
        else {"form": "opaque (not a JWT)"}
    )
    return {"answers": shown, "token": token}
