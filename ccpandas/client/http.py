"""The HTTP client for the Constant Contact V3 API: auth header, rate limit, retries, paging.

One :class:`Client` holds a ``requests.Session``, one rate limiter shared by every call
(polls included) and the retry policy. Every failed answer becomes a typed error from
:mod:`ccpandas.errors`, carrying the status, ``error_key``, message and
``"METHOD /v3/path"`` (never a query string, never a token).

Example:
    >>> client = Client(token="not-a-real-token", base_url="http://127.0.0.1:8765/v3")
    >>> client
    Client(base_url='http://127.0.0.1:8765/v3', rate=4)
    >>> client.url_for("/contact_lists"), client.url_for("/v3/contacts?cursor=abc")
    ('http://127.0.0.1:8765/v3/contact_lists', 'http://127.0.0.1:8765/v3/contacts?cursor=abc')
    >>> client.close()

Tokens: ``token=`` (a string, or a callable returning one, such as a refreshing token
provider), else the ``CC_ACCESS_TOKEN`` environment variable, read at each request so a
client built before the variable is set still works. A missing token raises
:class:`~ccpandas.errors.AuthError` at the first request, before anything is sent; so
does one no HTTP header can carry (a line break inside, a non-ASCII character), with
an error that does not show it. Spaces and line breaks around a token are dropped.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json as _json
import logging
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ccpandas._config import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV, env
from ccpandas._env import package_version
from ccpandas._secret import MASK, Secret, header_problem
from ccpandas.client.quota import DayCounter, server_counted
from ccpandas.client.ratelimit import Limiter, RateLimiter, SharedRateLimiter
from ccpandas.client.retry import (
    BEFORE_RESEND,
    RetryBudget,
    RetryDecision,
    RetryKind,
    RetryPolicy,
    classify,
)
from ccpandas.client.shared import BudgetKey, Refused, SharedState, hide
from ccpandas.client.shared import resolve as resolve_shared_state
from ccpandas.client.transport import SecretAuth, disarm, map_transport_error, mask_authorization
from ccpandas.client.urls import is_loopback_host, normalize_base_url
from ccpandas.errors import (
    APIError,
    AuthError,
    CCError,
    ConfigError,
    ForbiddenError,
    QuotaExceededError,
    UnusableAnswerError,
    error_for_response,
)
from ccpandas.models import DAILY_QUOTA, ActivityState, quota_day

__all__ = [
    "DEFAULT_BASE_URL",
    "REQUEST_LOG",
    "Client",
    "ClientStats",
    "EnvToken",
    "StaticToken",
    "bearer_token",
    "default_client",
    "is_loopback_host",
    "next_href",
    "normalize_base_url",
    "resolve_base_url",
    "set_default_client",
]


# The values GET /activities takes as state= (every state but initialized).
ACTIVITY_STATES = tuple(s.value for s in ActivityState if s is not ActivityState.INITIALIZED)

#: The most activities an account can hold: the API keeps them 10 days, and each costs
#: one request of a 10,000-a-day quota. No activity listing reads more pages than these fill.
MAX_ACTIVITIES_KEPT = 10 * DAILY_QUOTA

_log = logging.getLogger("ccpandas.client.http")
#: ccpandas' own request log: each attempt's method, full URL, status, time and headers,
#: credentials masked (never a body). Off unless turned on by name, since it shows query
#: strings: ``logging.getLogger("ccpandas.http").setLevel(logging.DEBUG)``.
REQUEST_LOG = "ccpandas.http"
_request_log = logging.getLogger(REQUEST_LOG)
if _request_log.level == logging.NOTSET:  # a level set before this import stays
    _request_log.setLevel(logging.INFO)
# Headers the request log shows masked (they carry credentials or sessions).
_MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

# Methods that may always be sent twice. POSTs are replayable only for the endpoints
# below, whose effect is idempotent (removing or adding a membership twice is harmless).
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_IDEMPOTENT_POSTS = ("/activities/remove_list_memberships", "/activities/add_list_memberships")
# A path segment that is an id (UUIDs, and the spec's malformed example ids): counted as {id}.
_ID_SEGMENT = re.compile(r"^[0-9A-Fa-f]{4,}(?:-[0-9A-Fa-f]{2,}){2,}$|^[0-9A-Fa-f-]{20,}$")
_NO_TOKEN_ADVICE = (
    "No Constant Contact access token. Pass one as Client(token=...) (a string, or a "
    f"function returning one), set the {TOKEN_ENV} environment variable, or log in with "
    "ccpandas.login(client_id=...)."
)
_UNAUTHORIZED_ADVICE = (
    "The API refused the access token: it may have expired (access tokens live 24 hours), "
    "been revoked, or belong to another application. Log in again with "
    f"ccpandas.login(client_id=...), or pass a fresh token as token=... or in {TOKEN_ENV}."
)
_FORBIDDEN_ADVICE = (
    "The token lacks the 'contact_data' scope, or the user lacks the privilege "
    "(contacts:read / contacts:write) for this request."
)


# --------------------------------------------------------------------------- tokens


def bearer_token(value: str | Secret, *, source: str = "the access token") -> Secret:
    """``value`` without surrounding whitespace, as a :class:`~ccpandas._secret.Secret`,
    checked to be sendable in an ``Authorization`` header.

    Every token a client sends passes here first (whatever provided it), so a token
    pasted with a trailing line break still works, and one with a line break inside or a
    non-ASCII character is refused before anything is sent, by an error that does not
    show it (``http.client``'s own error would quote the whole header).

    Args:
        value: The token, e.g. what a user pasted, or what a token provider returned.
        source: How the error names the token, e.g. ``"the access token in
            CC_ACCESS_TOKEN"``. Default ``"the access token"``.

    Raises:
        AuthError: The token is empty, or holds a control character or a non-ASCII
            character (``error_key`` ``"malformed_token"``).

    Example:
        >>> bearer_token("  abc.def\\n").reveal()
        'abc.def'
        >>> bearer_token("abc\\ndef")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.AuthError: the access token has a line break (character 4 of 7)...
    """
    text = (value.reveal() if isinstance(value, Secret) else value).strip()
    if not text:  # spaces or a line break alone: an empty line of a .env file, say
        raise AuthError(
            f"{source} is blank; nothing was sent. Copy the token again, in one piece.",
            error_key="malformed_token",
        )
    problem = header_problem(text)
    # More than the token, pasted: the header's "Bearer ", a .env file's quotes, a space.
    odd = next((i for i, c in enumerate(text, 1) if c in _NOT_IN_TOKENS), 0)
    if problem is None and not odd:
        return Secret(text)
    if problem is None:
        kind = _NOT_IN_TOKENS[text[odd - 1]]
        problem = (
            "'Bearer ' before it"
            if text[:7].lower() == "bearer "
            else f"{kind} (character {odd} of {len(text)})"
        )
        why = "which no access token holds; nothing was sent. Give the token alone"
    else:
        why = "which no HTTP header can carry; nothing was sent. Copy the token again"
    del value, text  # the error's traceback shows this frame's locals
    raise AuthError(f"{source} has {problem}, {why}, in one piece.", error_key="malformed_token")


#: What no bearer token holds (RFC 6750's b64token), that a paste brings along.
_NOT_IN_TOKENS = {" ": "a space", '"': "a quote", "'": "a quote"}


class StaticToken:
    """A fixed token, kept in a :class:`~ccpandas._secret.Secret`.

    Example:
        >>> StaticToken("abc")
        StaticToken(********)
    """

    def __init__(self, token: str | Secret) -> None:
        if not isinstance(token, str | Secret) or not token:
            raise AuthError("the access token must be a non-empty string")
        self._secret = Secret(Secret(token).reveal().strip())

    def __call__(self) -> str:
        return self._secret.reveal()

    def check(self) -> None:
        """Raise the AuthError of :func:`bearer_token` now if no header can carry the
        token (a client checks its fixed token when it is built)."""
        bearer_token(self._secret)

    def __repr__(self) -> str:
        return "StaticToken(********)"


class EnvToken:
    """The token in an environment variable (``CC_ACCESS_TOKEN``), read at each call.

    Example:
        >>> EnvToken()
        EnvToken('CC_ACCESS_TOKEN')
    """

    def __init__(self, name: str = TOKEN_ENV) -> None:
        self.name = name

    def __call__(self) -> str:
        value = env(self.name) or ""
        if not value:
            raise AuthError(_NO_TOKEN_ADVICE)
        return value

    def __repr__(self) -> str:
        return f"EnvToken({self.name!r})"


class _CallableToken:
    """Wraps a user's callable so a bad return value becomes a clear AuthError."""

    def __init__(self, func: Callable[[], str]) -> None:
        self.func = func

    def __call__(self) -> str:
        value = self.func()
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str) or not value:
            kind = type(value).__name__
            del value  # bytes, say: no frame of the error's traceback keeps them
            raise AuthError(f"the token callable returned {kind}, not a non-empty string")
        return value

    def __repr__(self) -> str:
        return f"_CallableToken({type(self.func).__name__})"


def _token_provider(token: Secret | Callable[[], str] | Refused | None) -> Callable[[], str]:
    if token is None:
        return EnvToken()
    if isinstance(token, Secret):
        return StaticToken(token)
    if callable(token):
        return _CallableToken(token)
    raise TypeError(f"token must be a str or a callable returning one, not {token.kind}")


def _token_source(provider: Callable[[], str]) -> str:
    """How an error names the token ``provider`` gives (never the token)."""
    if isinstance(provider, EnvToken):
        return f"the access token in {provider.name}"
    if isinstance(provider, _CallableToken):
        client_id = getattr(provider.func, "client_id", None)
        if isinstance(client_id, str):
            return f"the access token of the login of {client_id}"
        return "the access token your token function returned"
    return "the access token"


# --------------------------------------------------------------------------- URLs


def _path_template(host_path: str) -> str:
    """``/v3/activities/<uuid>`` -> ``/v3/activities/{id}``: one counter per endpoint."""
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in host_path.split("/"))


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Drop None values and empty sequences; booleans as true/false; sequences
    comma-joined (the API's csv)."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list | tuple | set | frozenset):
            # an empty csv filter means "no filter", as if left out
            value = ",".join(str(v) for v in value) if value else None
        if value is not None:
            out[key] = str(value)
    return out or None


# --------------------------------------------------------------------------- stats


@dataclass
class ClientStats:
    """Counters of what a client did. Safe to read at any time; updated under a lock.

    - ``requests``: attempts sent (every try, retries included)
    - ``by_endpoint``: attempts per ``(method, path template)``, e.g.
      ``("GET", "/v3/activities/{id}")``
    - ``by_status``: answers per HTTP status
    - ``retries``: attempts that were retries
    - ``throttled``: ``429 throttled`` answers seen
    - ``server_errors``: 5xx answers seen
    - ``transport_errors``: attempts that got no usable answer
    - ``resent_posts``: POSTs sent again after an ambiguous failure (5xx, dropped
      connection, read timeout): each may have been applied twice, which removal and
      addition of memberships tolerate
    - ``refreshes``: token refreshes after a 401
    - ``quota_used_today``: attempts the server counted since 00:00 UTC (``quota_day``):
      every answer but 401, 403, 429 throttled and 429 quota_exceeded, and every
      attempt that may have reached it without an answer; what this client spent of
      the 10,000-per-day quota
    - ``day_counter``: the same count shared by everyone on the application key
      (:class:`ccpandas.client.quota.DayCounter`, in this machine's data directory or,
      in team mode, Redis); None to keep the count in this client only
    """

    requests: int = 0
    by_endpoint: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    throttled: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    resent_posts: int = 0
    refreshes: int = 0
    quota_used_today: int = 0
    quota_day: _dt.date | None = None
    day_counter: Any = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _charge(self, today: _dt.date) -> None:
        """Count an attempt in the shared ledger right before it is sent: the server
        counts it on arrival, so a process killed before the answer leaves it counted
        (:meth:`_sent` gives it back when the server did not count it)."""
        if self.day_counter is not None:
            self.day_counter.add(today)  # never raises: a count it cannot write waits

    def _sent(
        self, method: str, template: str, status: int | None, *, reached: bool, today: _dt.date
    ) -> None:
        """Count a charged attempt: its answer's ``status``, None when it got none."""
        with self._lock:
            self.requests += 1
            self.by_endpoint[(method, template)] += 1
            if status is None:
                self.transport_errors += 1
            else:
                self.by_status[status] += 1
                if status >= 500:
                    self.server_errors += 1
            if reached:
                if self.quota_day != today:
                    self.quota_day, self.quota_used_today = today, 0
                self.quota_used_today += 1
        if not reached and self.day_counter is not None:
            self.day_counter.add(today, -1)  # charged, but the server did not count it

    def _add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def split(self) -> tuple[int, int]:
        """(POST attempts, other attempts) so far: what a run's phases spent
        (:attr:`Summary.spent <ccpandas.run.summary.Summary.spent>`).

        Example:
            >>> ClientStats().split()
            (0, 0)
        """
        with self._lock:
            posts = sum(n for (method, _), n in self.by_endpoint.items() if method == "POST")
            return posts, self.requests - posts

    def as_dict(self) -> dict[str, Any]:
        """A plain snapshot (copies of the counters).

        Example:
            >>> ClientStats().as_dict()["requests"]
            0
        """
        with self._lock:
            return {
                f.name: dict(value)
                if isinstance(value := getattr(self, f.name), Counter)
                else value
                for f in fields(self)
                if f.repr
            }


# --------------------------------------------------------------------------- client


def resolve_base_url(base_url: str | None = None) -> str:
    """The API base URL every way of making a client uses: ``base_url`` when given, else
    ``CC_BASE_URL`` from the environment, else :data:`DEFAULT_BASE_URL` (not checked
    here: :func:`normalize_base_url` does that).

    Args:
        base_url: The API's base URL, e.g. ``"http://127.0.0.1:8765/v3"`` for a local
            emulator. None (the default) reads ``CC_BASE_URL``, else uses the real API's.

    Example:
        >>> resolve_base_url("http://127.0.0.1:9/v3")
        'http://127.0.0.1:9/v3'
    """
    return base_url if base_url is not None else env(BASE_URL_ENV) or DEFAULT_BASE_URL


@dataclass
class _Call:
    """One :meth:`Client.request` call: what every attempt sends, and whether its one
    token refresh after a 401 was used."""

    method: str
    url: str
    host_path: str
    template: str
    replayable: bool
    params: dict[str, str] | None
    data: str | None
    headers: dict[str, str]
    refreshed: bool = False

    @property
    def label(self) -> str:
        """``"METHOD /v3/path"``: how errors and logs name the request."""
        return f"{self.method} {self.host_path}"


@dataclass
class _Attempt:
    """What one attempt left: the decoded body, or the error and how to retry it.

    Holds no response (its request carried the token), only what was read from it.
    """

    value: Any = None
    error: CCError | None = None
    kind: RetryKind | None = None
    status: int | None = None
    retry_after: float | None = None


def _retry_after(resp: requests.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers["Retry-After"]))
    except (KeyError, ValueError):
        return None  # none, or an HTTP date: rare for APIs, not worth parsing here


class Client:
    """A client for the Constant Contact V3 API.

    Args:
        token: the access token, or a callable returning it (called before each
            request, so a refreshing provider works; one that also has
            ``refresh() -> bool`` is asked once after a 401, and True sends the request
            again with the new token); default ``CC_ACCESS_TOKEN``.
        base_url: the API; default ``CC_BASE_URL`` from the environment, else
            ``https://api.cc.email/v3`` (the same rule as :func:`ccpandas.connect` and the
            default client); plain ``http://`` only to a loopback host (the emulator).
        rate: requests per second for the client-side limiter shared by every call,
            ``None`` to switch it off. Ignored when ``limiter`` is given.
        timeout: seconds, or ``(connect, read)`` seconds, for every request.
        max_attempts: attempts per request, the first included. Answers "429 throttled"
            do not count: they have a budget of their own, ``max_throttled``.
        max_throttled: "429 throttled" answers retried per request; they prove nothing
            was done, and two notebooks sharing one application key meet many.
        max_retry_seconds: no retry starts later than this after the first attempt.
        session: a ``requests.Session`` to use (the client then does not close it).
        clock, sleep, jitter: injectable time and randomness (tests).
        user_agent: a product token put before ``ccpandas/<version>`` in User-Agent.
        limiter: a limiter to use instead (``ccpandas.client.ratelimit.RateLimiter`` keeps
            the pace in this process only).
        shared_state: where the rate limit and the daily quota ledger are shared with
            every other client on the same application key: ``"local"`` (every process
            on this machine), ``"redis://host:6379/0"`` (team mode: every machine), or a
            :class:`~ccpandas.client.shared.SharedState`; default ``ccpandas.configure``
            / ``CCPANDAS_SHARED_STATE``, else ``"local"``. See the "Working as a team"
            guide. A client given ``clock`` or ``sleep`` keeps its limiter in-process.

    Example:
        >>> with Client(token="t", base_url="http://localhost:9/v3", rate=None) as c:
        ...     c.base_url
        'http://localhost:9/v3'
    """

    def __init__(
        self,
        token: str | Callable[[], str] | None = None,
        base_url: str | None = None,
        *,
        rate: float | None = 4.0,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        max_attempts: int = 8,
        max_throttled: int = 60,
        max_retry_seconds: float = 300.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        user_agent: str | None = None,
        limiter: Limiter | None = None,
        shared_state: str | SharedState | None = None,
    ) -> None:
        # first: no traceback shows the token, or a Redis URL's password, in this frame
        hidden, token = hide(token, Callable), None
        self._token_provider = _token_provider(hidden)
        shared_state = hide(shared_state, SharedState)
        if isinstance(self._token_provider, StaticToken):
            self._token_provider.check()  # a broken fixed token: refused before any request
        self.base_url = normalize_base_url(resolve_base_url(base_url))
        parts = urlsplit(self.base_url)
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.hostname
        self._base_path = parts.path  # "/v3", or "" for a host-root base URL
        self.timeout = _check_timeout(timeout)
        self.retry_policy = RetryPolicy(
            max_attempts=max_attempts,
            max_throttled=max_throttled,
            max_retry_seconds=max_retry_seconds,
        )
        self.shared_state = resolve_shared_state(shared_state)
        self.budget_key = BudgetKey(self.base_url, self._token_provider)
        if limiter is not None:
            self.limiter: Limiter | None = limiter
        elif rate is None:
            self.limiter = None
        elif clock is not time.monotonic or sleep is not time.sleep:
            # An injected clock cannot be shared with other processes: pace in-process.
            self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        else:
            self.limiter = SharedRateLimiter(rate, key=self.budget_key, state=self.shared_state)
        self._owns_session = session is None
        self.session = session if session is not None else requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        product = f"ccpandas/{package_version()} python-requests/{requests.__version__}"
        agent_problem = header_problem(user_agent.strip()) if user_agent else None
        if agent_problem is not None:
            raise ConfigError(f"user_agent has {agent_problem}, which no HTTP header can carry")
        self.user_agent = f"{user_agent.strip()} {product}" if user_agent else product
        self.stats = ClientStats(day_counter=DayCounter(self.budget_key, state=self.shared_state))

    # -- plumbing ---------------------------------------------------------------

    def __repr__(self) -> str:
        # getattr: a constructor that failed half-way leaves a client without some of
        # these, and a traceback showing its frames' locals still calls repr on it.
        base_url = getattr(self, "base_url", None)
        limiter = getattr(self, "limiter", None)
        rate = "None" if limiter is None else f"{getattr(limiter, 'rate', 0):g}"
        return f"Client(base_url={base_url!r}, rate={rate})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (only when the client created it)."""
        if self._owns_session:
            self.session.close()

    @property
    def rate(self) -> float | None:
        """Requests per second allowed by the client-side limiter, or None when unlimited."""
        return None if self.limiter is None else self.limiter.rate

    def _split(self, path: str) -> tuple[str, str]:
        """``(url, host_path)`` for ``path``; host_path has no query string.

        ``path`` is relative to the base URL (``/contacts``), or absolute from the host
        as in ``_links.next.href`` (``/v3/contacts?cursor=...``), or a full URL on the
        same origin. A full URL on another origin is refused: it would get our token.
        """
        if not isinstance(path, str) or not path:
            raise CCError(f"path must be a non-empty string, not {path!r}")
        parts = urlsplit(path)
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if (parts.scheme or parts.netloc) and origin != self._origin:
            raise CCError(
                f"refusing to follow a link to another host ({parts.hostname}): "
                "it would receive the access token"
            )
        raw_path = parts.path if parts.path.startswith("/") else "/" + parts.path
        base = self._base_path
        under_base = base and (raw_path == base or raw_path.startswith(base + "/"))
        host_path = raw_path if under_base else base + raw_path
        query = f"?{parts.query}" if parts.query else ""
        return self._origin + host_path + query, host_path

    def url_for(self, path: str) -> str:
        """The full URL a ``path`` resolves to (see :meth:`request`).

        Args:
            path: The API path, relative to the base URL (``"/contact_lists"``), absolute
                from the host as in ``_links.next.href`` (``"/v3/contacts?cursor=..."``), or
                a full URL on the same host; a URL on another host is refused (it would get
                the token).

        Example:
            >>> Client(token="t", base_url="http://127.0.0.1:9/v3").url_for("/contacts")
            'http://127.0.0.1:9/v3/contacts'
        """
        return self._split(path)[0]

    def _token(self) -> Secret:
        """The token to send, stripped and checked, whatever provider gave it."""
        return bearer_token(self._token_provider(), source=_token_source(self._token_provider))

    def _refresh_on_401(self) -> bool:
        """Called once when the API answers 401; return True to resend with a new token.

        The default asks the token provider: a provider with ``refresh() -> bool``
        (the auth module's) gets the chance to renew the token; a plain string or the
        environment variable cannot, so the 401 is raised as UnauthorizedError.
        Subclasses may override it.
        """
        refresh = getattr(getattr(self._token_provider, "func", None), "refresh", None)
        return bool(refresh()) if callable(refresh) else False

    def _replayable(self, method: str, host_path: str) -> bool:
        return method in _SAFE_METHODS or (
            method == "POST" and host_path.endswith(_IDEMPOTENT_POSTS)
        )

    # -- sending: request -> retries -> auth -> one attempt ---------------------
    # The shape of httpx's Client.send -> _send_handling_auth -> _send_single_request;
    # the retry decision and its budgets are in ccpandas.client.retry, the mapping of
    # requests' exceptions in ccpandas.client.transport.

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one API request, with rate limiting and retries; return the decoded JSON.

        Returns None for an empty body. Raises the typed error of the last attempt
        (``ServerError``, ``ThrottledError``, ``TransportError``...) once retries are
        exhausted, and at once for errors no retry can fix (400, 401, 403, 404,
        ``quota_exceeded``, a host name that does not resolve...). ``idempotent``
        overrides whether the request may be re-sent after an ambiguous failure
        (default: True for GET and for the list-membership activity POSTs).

        Args:
            method: The HTTP method, e.g. ``"GET"`` or ``"POST"`` (any case).
            path: The API path, relative to the base URL (``"/contact_lists"``), absolute
                from the host as in ``_links.next.href`` (``"/v3/contacts?cursor=..."``), or
                a full URL on the same host; a URL on another host is refused (it would get
                the token).
            params: The query string as a mapping, e.g. ``{"limit": 500}``; None values are
                dropped, lists comma-joined. None (the default) sends none.
            json: The request body, encoded as JSON, e.g. ``batch.to_json()``. None (the
                default) sends no body.
            idempotent: Whether the request may be re-sent after an ambiguous failure (no
                answer, a 5xx after it may have been done). None (the default): True for GET
                and for the list-membership activity POSTs, False otherwise.

        Returns:
            The decoded JSON body, or None for an empty one.

        Raises:
            APIError: The API refused the request (400, 401, 403, 404, ...), or retries were
                exhausted (``ServerError``, ``ThrottledError``).
            QuotaExceededError: The daily quota is spent.
            TransportError: No answer: the network, a host name that does not resolve, a
                timeout.

        Example:
            >>> client.request("GET", "/contact_lists", params={"limit": 10})  # doctest: +SKIP
            {'lists': [...], 'lists_count': 3}
        """
        method = method.upper()
        url, host_path = self._split(path)
        replayable = self._replayable(method, host_path) if idempotent is None else idempotent
        data = None if json is None else _json.dumps(json, separators=(",", ":"))
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if data is not None:
            headers["Content-Type"] = "application/json"
        # Everything about the request that stays the same from one attempt to the next.
        call = _Call(
            method=method,
            url=url,
            host_path=host_path,
            template=_path_template(host_path),
            replayable=replayable,
            params=_clean_params(params),
            data=data,
            headers=headers,
        )
        return self._send_handling_retries(call)

    def _send_handling_retries(self, call: _Call) -> Any:
        """Attempt after attempt until an answer, or until the budget says stop."""
        budget = RetryBudget(self.retry_policy, started=self._clock())
        while True:
            attempt = self._send_handling_auth(call, budget.attempt())
            if attempt.error is None:
                return attempt.value
            decision = budget.decide(
                attempt.kind,
                now=self._clock(),
                jitter=self._jitter,
                replayable=call.replayable,
                retry_after=attempt.retry_after,
            )
            if not decision.retry:
                if decision.note:
                    attempt.error.add_note(decision.note)
                raise attempt.error  # built, never raised before: no chained context
            self._wait_before_retry(call, attempt, decision)

    def _send_handling_auth(self, call: _Call, number: int) -> _Attempt:
        """One attempt; after a 401, one resend with a refreshed token (per request)."""
        attempt = self._send_single_request(call, number)
        if attempt.status == 401 and not call.refreshed and self._refresh_on_401():
            call.refreshed = True  # a resend with a new token is not a retry
            self.stats._add("refreshes")
            _log.info("%s: token refreshed after 401, sending again", call.label)
            attempt = self._send_single_request(call, number)
        if attempt.status == 401 and attempt.error is not None:
            attempt.error.add_note(_UNAUTHORIZED_ADVICE)
        return attempt

    def _send_single_request(self, call: _Call, number: int) -> _Attempt:
        """Send once: token, rate-limit slot, HTTP; the answer or the transport failure.

        Holds the token only as a Secret and masks it on the request requests keeps,
        so nothing this frame or the answer refers to shows the token.
        """
        token = self._token()  # AuthError here: nothing was sent
        try:
            if self.limiter is not None:
                self.limiter.acquire()  # the shared rate limit's next start slot
            pinned = getattr(self.stats.day_counter, "day", None)  # a test's day
            started, today = self._clock(), pinned or quota_day()
            self.stats._charge(today)  # may wait for Redis or the local file
        except KeyboardInterrupt as exc:
            # Ctrl-C while waiting for the slot or the count: this attempt never went out
            # (nor did an earlier one, on the first attempt), so the runner records "not
            # sent", not "without an answer" (ccpandas.run.runner.outcome_of reads this).
            # A count it made stays (an over-count, the safe side).
            exc.sent = number > 1  # type: ignore[attr-defined]
            raise
        try:
            resp = self.session.request(
                call.method,
                call.url,
                params=call.params,
                data=call.data,
                headers=call.headers,
                auth=SecretAuth(token),
                timeout=self.timeout,
                allow_redirects=False,  # a redirect could carry the token elsewhere
            )
        except Exception as exc:  # the one masking path of every error of the HTTP stack
            # Not only requests' errors: http.client's ValueError or UnicodeEncodeError
            # quote the header they refuse, and urllib3's frames hold it as a local.
            error, fatal = map_transport_error(exc, call.label, host=self._host)
            reached = error.sent and not fatal  # then the server counted it
            self.stats._sent(call.method, call.template, None, reached=reached, today=today)
            took = self._clock() - started
            _log_exchange(call, None, f"no answer ({error.reason})", took, number)
            kind = None if fatal else classify(None, None, sent=error.sent)
            return _Attempt(error=error, kind=kind)
        except BaseException as exc:  # KeyboardInterrupt mid-request: let it go, disarmed
            disarm(exc)
            # It may have reached the server, which then counted it: counted here too
            # (the daily count), as the runner takes such a POST for sent (uncertain).
            self.stats._sent(call.method, call.template, None, reached=True, today=today)
            raise
        mask_authorization(resp.request)
        return self._answer(call, resp, number=number, started=started, today=today)

    def _answer(
        self,
        call: _Call,
        resp: requests.Response,
        *,
        number: int,
        started: float,
        today: _dt.date,
    ) -> _Attempt:
        """Account for an HTTP answer (to a request sent on quota day ``today``): the
        decoded body, or its typed error."""
        status = resp.status_code
        # The ledger counts what the server counts: not a 429 throttled, 401, ... (quota).
        counted = server_counted(status, _error_body(resp) if status == 429 else None)
        self.stats._sent(call.method, call.template, status, reached=counted, today=today)
        _log_exchange(call, resp, str(status), self._clock() - started, number)
        if 200 <= status < 300:
            kind = classify(status, None, method=call.method)
            if kind is None:
                return _Attempt(value=_decode(resp, call.label), status=status)
            # Not complete yet (a 202 to a read): sent again, never returned as complete.
            text = "the API has not completed this read yet"
            pending = APIError(status, "accepted", text, request=call.label)
            return _Attempt(error=pending, kind=kind, status=status)
        # The typed error, with advice where there is some.
        error = error_for_response(status, _error_body(resp), request=call.label)
        if error.error_key == "throttled":
            self.stats._add("throttled")
        if isinstance(error, ForbiddenError):
            error.add_note(_FORBIDDEN_ADVICE)
        return _Attempt(
            error=error,
            kind=classify(status, error.error_key),
            status=status,
            retry_after=_retry_after(resp),
        )

    def _wait_before_retry(self, call: _Call, attempt: _Attempt, decision: RetryDecision) -> None:
        """Count and log the retry, hold back the other callers after a throttle, sleep;
        before re-sending a POST the server may have acted on, tell ``before_resend``."""
        kind = attempt.kind
        self.stats._add("retries")
        if kind is RetryKind.THROTTLED and self.limiter is not None:
            self.limiter.defer(decision.delay)  # hold back every caller, not only this one
        # A throttle, or a read the API is still working on (202), is no failure.
        calm = kind in (RetryKind.THROTTLED, RetryKind.NOT_COMPLETE)
        why = _short(attempt.error) if attempt.error is not None else "?"
        retry = f"retry {decision.number} of {decision.budget} in {decision.delay:.2f} s"
        what = "not complete yet" if kind is RetryKind.NOT_COMPLETE else "failed"
        level = logging.INFO if calm else logging.WARNING
        _log.log(level, "%s %s (%s), %s", call.label, what, why, retry)
        if decision.delay > 0:
            self._sleep(decision.delay)
        if kind is not None and kind.ambiguous and call.method == "POST":
            # After the pause: a process that dies in it has not re-sent anything.
            if (hook := BEFORE_RESEND.get()) is not None:
                hook()  # durable (the journal) before the POST goes out again
            self.stats._add("resent_posts")

    # -- conveniences -------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with query ``params`` (None values dropped, lists comma-joined).

        Args:
            path: The API path, relative to the base URL (``"/contact_lists"``), absolute
                from the host as in ``_links.next.href`` (``"/v3/contacts?cursor=..."``), or
                a full URL on the same host; a URL on another host is refused (it would get
                the token).
            params: The query parameters as keywords, e.g. ``limit=500, status="active"``.

        Returns:
            The decoded JSON body.

        Example:
            >>> client.get("/contact_tags", limit=500)  # doctest: +SKIP
        """
        return self.request("GET", path, params=params)

    def paginate(
        self,
        path: str,
        key: str,
        params: Mapping[str, Any] | None = None,
        *,
        on_page: Callable[[Mapping[str, Any], bool], None] | None = None,
        item_key: str | None = None,
        max_pages: int | None = None,
        budget: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the items of ``body[key]`` page after page, following ``_links.next.href``.

        Args:
            path: The API path, relative to the base URL (``"/contact_lists"``), absolute
                from the host as in ``_links.next.href`` (``"/v3/contacts?cursor=..."``), or
                a full URL on the same host; a URL on another host is refused (it would get
                the token).
            key: The key of each page's body that holds the items, e.g. ``"lists"`` or
                ``"contacts"``.
            params: The first page's query, e.g. ``{"limit": 500}``; the next pages' links
                carry their own. None (the default) sends none.
            on_page: Called with each page's body and whether another page follows,
                before that page's items are yielded (a reader counts pages for its
                progress display). None (the default) calls nothing.
            item_key: The key that identifies an item, e.g. ``"activity_id"``: an item
                already read is not yielded again, and a page of nothing new ends the
                paging with a warning (its next link may be new each time while the
                page repeats: the paging would never end). None (the default) checks
                nothing.
            max_pages: At most this many pages are read; more ends the paging with a
                warning. None (the default): no limit.
            budget: At most this many pages, for a reader that settles the rest another
                way: the paging ends quietly after them, or where the API refuses a next
                link (a 4xx other than 429: an expired cursor). None (the default): no
                budget, and such a refusal raises.

        Yields:
            Each item (a dict), in the API's order.

        Raises:
            CCError: The API repeated a page link (the paging would never end).
            UnusableAnswerError: A page's ``_links`` or ``_links.next`` is not an object
                (see :func:`next_href`): not taken for the last page.

        Example:
            >>> pages = client.paginate("/contact_lists", "lists", {"limit": 500})  # doctest: +SKIP
            >>> names = [item["name"] for item in pages]  # doctest: +SKIP
        """
        seen: set[str] = set()
        read: set[Any] = set()
        if budget is not None and budget < 1:
            return
        body, where = self.request("GET", path, params=params), path
        for page in itertools.count(1):
            body = body if isinstance(body, dict) else {}
            items = body.get(key) or []
            href = next_href(body, f"GET {urlsplit(self.url_for(where)).path}")
            if item_key is not None:
                fresh = [i for i in items if not isinstance(i, dict) or i.get(item_key) not in read]
                if items and not fresh:
                    _log.warning("%s: page %d repeats what was read; stopped paging", path, page)
                    return
                read.update(i.get(item_key) for i in fresh if isinstance(i, dict))
                items = fresh
            if on_page is not None:
                on_page(body, bool(href))
            yield from items
            if not href:
                return
            if href in seen:
                link = urlsplit(href).path
                raise CCError(f"the API repeated the page link {link}; stopped paging")
            if max_pages is not None and page >= max_pages:
                _log.warning("%s: more than %d pages; stopped paging", path, max_pages)
                return
            if page == budget:  # spent: the reader settles the rest its own way
                return
            seen.add(href)
            try:
                body, where = self.request("GET", href), href
            except APIError as exc:
                if budget is None or not 400 <= exc.status < 500 or exc.status == 429:
                    raise
                # An expired cursor (or a link it cannot follow): ended quietly, as a
                # spent budget is. Safe for its one reader, read_changed: a contact its
                # pages did not show is looked up, or stays unverified, never absent.
                return

    def remove_list_memberships(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /activities/remove_list_memberships; return the activity (state initialized).

        Re-sent after an ambiguous failure (removal is idempotent), counted in
        ``stats.resent_posts``.

        Args:
            body: The request body: ``source`` (e.g. ``{"contact_ids": [...]}``) and
                ``list_ids``, as ``Batch.to_json()`` builds it; ``exclude`` for list and
                all-active sources.

        Returns:
            The activity the API created, with its ``activity_id``.

        Example:
            >>> client.remove_list_memberships(batch.to_json())["activity_id"]  # doctest: +SKIP
        """
        return self.request("POST", "/activities/remove_list_memberships", json=dict(body))

    def add_list_memberships(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /activities/add_list_memberships (the mirror of removal); return the activity.

        Args:
            body: The request body: ``source`` (e.g. ``{"contact_ids": [...]}``) and
                ``list_ids``, as ``Batch.to_json()`` builds it.

        Returns:
            The activity the API created, with its ``activity_id``.
        """
        return self.request("POST", "/activities/add_list_memberships", json=dict(body))

    def get_activity(self, activity_id: str) -> dict[str, Any]:
        """GET /activities/{activity_id}: one activity's state, progress and errors.

        Args:
            activity_id: The activity's id, as the POST that created it answered.

        Returns:
            The activity as the API describes it: ``state``, ``percent_done``,
            ``activity_errors``...
        """
        if not isinstance(activity_id, str) or not activity_id.strip():
            raise CCError(f"activity_id must be a non-empty string, not {activity_id!r}")
        return self.request("GET", f"/activities/{quote(activity_id.strip(), safe='')}")

    def iter_activities(
        self, *, state: str | None = None, limit: int = 500
    ) -> Iterator[dict[str, Any]]:
        """Every activity of the past 10 days (GET /activities, paged), newest first.

        Args:
            state: Only activities in this state: ``"processing"``, ``"completed"``,
                ``"cancelled"``, ``"failed"`` or ``"timed_out"``. None (the default) lists
                every one.
            limit: Activities per page, 1 to 500. Default 500 (the fewest requests).

        Yields:
            Each activity (a dict), newest first, once. The paging stops (with a
            warning) at a page that only repeats activities already read, and after as
            many pages as the most activities an account keeps could fill
            (:data:`MAX_ACTIVITIES_KEPT`).

        Example:
            >>> running = [a for a in client.iter_activities(state="processing")]  # doctest: +SKIP
        """
        if state is not None and state not in ACTIVITY_STATES:
            raise CCError(f"state must be one of {', '.join(ACTIVITY_STATES)}, not {state!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise CCError(f"limit must be an integer from 1 to 500, not {limit!r}")
        return self.paginate(
            "/activities",
            "activities",
            {"limit": limit, "state": state},
            item_key="activity_id",
            max_pages=math.ceil(MAX_ACTIVITIES_KEPT / limit) + 1,
        )


def _shown_header(name: str, value: str) -> str:
    """A header as the request log shows it: credentials masked, scheme kept."""
    lower = name.lower()
    if lower not in _MASKED_HEADERS:
        return f"{name}: {value}"
    if lower.endswith("authorization") and " " in value:  # "Bearer ********"
        return f"{name}: {value.split(' ', 1)[0]} {MASK}"
    return f"{name}: {MASK}"


def _log_exchange(
    call: _Call, resp: requests.Response | None, outcome: str, seconds: float, number: int
) -> None:
    """One attempt in the debug log (its path, no query string) and in the request log
    (:data:`REQUEST_LOG`), when it is on: the full URL, ``> `` the headers sent, ``< ``
    the headers answered, every credential masked."""
    ms, took = seconds * 1000, f"{outcome} {'in' if resp is not None else 'after'}"
    _log.debug("%s -> %s %.1f ms (attempt %d)", call.label, took, ms, number)
    if not _request_log.isEnabledFor(logging.DEBUG):
        return
    if resp is not None:
        url, sent = resp.request.url or call.url, dict(resp.request.headers)
        answered = dict(resp.headers)
    else:
        prepared = requests.PreparedRequest()
        prepared.prepare_url(call.url, call.params)
        url, sent, answered = prepared.url or call.url, {**call.headers}, {}
        sent["Authorization"] = "Bearer (masked)"
    lines = [f"> {_shown_header(k, v)}" for k, v in sent.items()]
    lines += [f"< {_shown_header(k, v)}" for k, v in answered.items()]
    shown = "\n".join(lines)
    _request_log.debug(
        "%s %s -> %s in %.1f ms (attempt %d)\n%s", call.method, url, outcome, ms, number, shown
    )


def _check_timeout(timeout: Any) -> float | tuple[float, float]:
    if isinstance(timeout, tuple):
        if len(timeout) == 2 and all(isinstance(t, int | float) and t > 0 for t in timeout):
            return (float(timeout[0]), float(timeout[1]))
    elif isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        return float(timeout)
    raise ValueError(f"timeout must be seconds > 0 or a (connect, read) pair, not {timeout!r}")


def _decode(resp: requests.Response, label: str) -> Any:
    """A success's JSON body; :class:`UnusableAnswerError` when it is not JSON (a 201
    cut short or rewritten on its way: the request may still have taken effect)."""
    if resp.status_code == 204 or not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        ctype = resp.headers.get("Content-Type", "no content type")
        found = _ACTIVITY_ID.search(resp.text)
        raise UnusableAnswerError(
            resp.status_code,
            "invalid_json",
            f"the answer is not JSON ({ctype})",
            request=label,
            activity_id=found.group(1) if found else None,
        ) from None


# An activity id still legible in a body cut short: the activity it names exists.
_ACTIVITY_ID = re.compile(r'"activity_id"\s*:\s*"([0-9A-Za-z-]{1,64})"')


def _error_body(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        # A proxy's HTML or text page: keep a short, single-line excerpt as the message.
        text = " ".join(resp.text.split())[:200]
        return {"error_message": text} if text else None


def next_href(body: Any, request: str | None = None) -> str | None:
    """The page after ``body`` (its ``_links.next.href``), None on the last page: no
    ``_links`` or ``next`` (absent, null or ``{}``), or an href null or ``""``. A
    ``_links`` or ``next`` that is not an object is :class:`UnusableAnswerError` (for
    ``request``, e.g. ``"GET /v3/contacts"``): taken for the last page, it would make the
    rest of the read look absent. An href that is not a string is returned as text:
    following it fails.

    Example:
        >>> next_href({"_links": {"next": {"href": 12}}}), next_href({"_links": {}})
        ('12', None)
        >>> next_href({"_links": {"next": "/v3/x?cursor=YQ=="}}, "GET /v3/x")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.UnusableAnswerError: HTTP 200 ... GET /v3/x: _links.next is a string, ...
    """
    links = _link_object(body.get("_links") if isinstance(body, dict) else None, "_links", request)
    href = _link_object(links.get("next"), "_links.next", request).get("href")
    return None if href is None or href == "" else str(href)


def _link_object(value: Any, name: str, request: str | None) -> dict[str, Any]:
    if value is None or isinstance(value, dict):
        return value or {}
    kind = {str: "a string", list: "a list", bool: "a boolean"}.get(type(value), "a number")
    shape = '{"next": ...}' if name == "_links" else '{"href": ...}'
    text = f"{name} is {kind}, not an object {shape} (the page after it cannot be read)"
    raise UnusableAnswerError(200, "invalid_next_link", text, request=request)


def _short(error: BaseException) -> str:
    if isinstance(error, QuotaExceededError | APIError):
        return f"HTTP {error.status} {error.error_key or ''}".strip()
    return str(error).partition(": ")[2] or type(error).__name__


# --------------------------------------------------------------------------- default client

_default_lock = threading.Lock()
_default_client: Client | None = None


def set_default_client(client: Client | None) -> Client | None:
    """Make ``client`` the one used when a function gets ``client=None``; return the old one.

    ``set_default_client(None)`` forgets it (the next call builds one from the
    environment again).

    Args:
        client: The :class:`~ccpandas.Client` to use from now on, e.g.
            ``ccpandas.Client(token=...)``; None forgets the current one.

    Returns:
        The default client until now, or None (keep it to put it back later).

    Raises:
        TypeError: ``client`` is neither a ``Client`` nor None.

    Example:
        >>> old = set_default_client(Client(token="t", base_url="http://127.0.0.1:9/v3"))
        >>> default_client().base_url
        'http://127.0.0.1:9/v3'
        >>> _ = set_default_client(old)
    """
    global _default_client
    if client is not None and not isinstance(client, Client):
        raise TypeError(f"expected a ccpandas.Client, not {type(client).__name__}")
    with _default_lock:
        old, _default_client = _default_client, client
    return old


def default_client(build: Callable[[], Client] | None = None) -> Client | None:
    """The default client, or None; with ``build``, build and keep one when there is none.

    Building happens under the lock, so two threads asking at once share one client (and
    its rate limiter). :func:`ccpandas.get_default_client` passes a builder from
    :mod:`ccpandas.auth`; the client layer itself never logs anyone in.

    Example:
        >>> old = set_default_client(None)
        >>> default_client() is None
        True
        >>> default_client(lambda: Client(token="t", base_url="http://127.0.0.1:9/v3")).base_url
        'http://127.0.0.1:9/v3'
        >>> _ = set_default_client(old)
    """
    global _default_client
    with _default_lock:
        if _default_client is None and build is not None:
            _default_client = build()
        return _default_client
