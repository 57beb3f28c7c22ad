"""Where the budget of one application key is kept: this machine's SQLite, or Redis.

Constant Contact limits the *application key*: 4 requests per second and 10,000 per
UTC day, whoever sends them. So every process using one key must draw from one pool.
Three things are shared, all keyed by the budget key (:class:`BudgetKey`):

- the **rate limit**: a GCRA (generic cell rate algorithm) whose whole state is one
  timestamp per key, the *theoretical arrival time* (TAT). Taking a slot is one atomic
  step: ``start = max(TAT, now); TAT = start + interval``, and the caller sleeps until
  ``start``. Each process asks for one slot at a time, so slots are handed out in order
  of asking (fair), and a process that dies holds nothing: at worst one unused slot;
- the **daily quota ledger**: requests the server counted, per UTC day and per
  process, so "3,412 of 10,000 used today on this key by 3 processes" can be said;
- the **run locks** (team mode only; on one machine the journal's file lock does it).

Backends (in :mod:`ccpandas.client.backends`): :class:`LocalState` (default, nothing
to configure) keeps the TAT and the ledger in ``quota.sqlite3`` in the data directory;
one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per slot, in WAL mode, so every
process of this user on this machine shares them. :class:`RedisState` (team mode,
``CCPANDAS_SHARED_STATE=redis://host:6379/0``) does the same step as a server-side Lua
script (the clock is Redis' own ``TIME``, so machines whose clocks differ still agree),
and holds run locks as expiring keys. If Redis cannot be reached, :class:`SharedState`
falls back to the local state, warns once, holds the ledger's counts in the local file
(so a process that ends meanwhile loses none) and goes back to Redis when it answers
again, adding them. The fallback paces this process at
its share of the rate as last seen in Redis (the rate divided by the processes that
took a slot within a minute), and never faster than :data:`FALLBACK_RATE` (1/s): every
machine of the team falls back at the same moment, each with its own limiter, so 4
machines send at most the 4/s the key allows, not 4 x 2/s. A Redis that refuses the
URL's password is refused at once (``ConfigError`` when the state is first resolved:
``configure()``, ``Client(shared_state=...)``), since waiting never heals it; a
Redis that lost its data (FLUSHALL, a restart without persistence) is warned about.

Why a hand-written Lua script rather than the ``limits`` library: ``limits`` answers
"may I send now?" (a moving window or a fixed window), which makes every process poll
and gives no order; GCRA *reserves* a future slot, so callers sleep exactly until their
turn and are served first come, first served. The script is 10 lines.

The Redis URL may hold a password: it lives in a :class:`~ccpandas._secret.Secret`;
reprs, logs and errors show it as ``redis://:********@host:6379/0``.

Example:
    >>> import tempfile, pathlib
    >>> state = SharedState.local(pathlib.Path(tempfile.mkdtemp()) / "quota.sqlite3")
    >>> state
    SharedState('local')
    >>> round(state.reserve("https://api.cc.email/v3 app=demo", 0.25), 2)  # the first: now
    0.0
    >>> 0 < state.reserve("https://api.cc.email/v3 app=demo", 0.25) <= 0.25  # the next
    True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ccpandas._config import SHARED_STATE_ENV, env
from ccpandas._secret import Secret, env_client_id, jwt_parts
from ccpandas.client.backends import MAX_AHEAD, scope_matches
from ccpandas.client.backends.redis import (
    RedisLease,
    RedisState,
    Unavailable,
    encode_userinfo,
    mask_url,
)
from ccpandas.client.backends.sqlite import ALONE_SLOTS, LOCAL, QUOTA_FILE, LocalState
from ccpandas.errors import ConfigError

__all__ = [
    "ALONE_SLOTS",
    "FALLBACK_RATE",
    "HELD_CHECK_EVERY",
    "LOCAL",
    "MAX_AHEAD",
    "QUOTA_FILE",
    "BudgetKey",
    "LocalState",
    "RedisState",
    "Refused",
    "SharedState",
    "Unavailable",
    "configure",
    "process_id",
    "resolve",
]

#: Requests per second a process sends at most while Redis is unreachable (less when
#: its share of the rate, as last seen, is less): the other machines of the team are
#: falling back at the same moment, each with its own local limiter.
FALLBACK_RATE = 1.0
#: Seconds between attempts to reach Redis again while it is down.
PROBE_EVERY = 2.0
#: Seconds between looks for counts held on this machine for Redis (by a process that
#: ran while it was away): a process that reaches Redis adds them. A quota figure asked
#: for looks at once.
HELD_CHECK_EVERY = 30.0
#: Seconds a Redis run lock lives without being renewed (a dead holder frees it then).
LOCK_TTL = 30.0

log = logging.getLogger("ccpandas")

# Token providers read without side effects to name a key (a fixed token, the
# environment variable): ccpandas' own StaticToken and EnvToken.
_READ_FREELY = ("StaticToken", "EnvToken")
# What :meth:`SharedState._via_redis` returns when Redis was not asked or did not answer.
_MISSED: Any = object()


def process_id() -> str:
    """This process in the ledger: ``host:pid`` (a forked child gets its own).

    Example:
        >>> process_id().endswith(f":{os.getpid()}")
        True
    """
    return f"{socket.gethostname()}:{os.getpid()}"


# --------------------------------------------------------------------------- the key


class BudgetKey:
    """Names the budget of one application key at one API: ``"<base_url> app=<id>"``.

    - OAuth tokens (``ccpandas.login``): the application's client id, which the token
      provider knows (``provider.client_id``), else ``CC_CLIENT_ID``;
    - a bare access token (``CC_ACCESS_TOKEN``, ``token="..."``) with no client id
      known: the application its JWT claims name (``cid``), else
      ``"<base_url> token=<16 hex>"``, a salted SHA-256 of the token (never the
      token). Every holder of that token shares the budget; a *new* token that is not a
      JWT is a new key, so set ``CC_CLIENT_ID`` to join them;
    - a token callable of your own with no ``client_id`` attribute: it is not called
      to name the key, so the key is the base URL alone (every such client at that API
      shares one budget: cautious, never over the limit).

    Resolved once, at first use (a token may be read from the environment only then).

    Args:
        base_url: The API's base URL, e.g. ``"https://api.cc.email/v3"``: budgets at
            different APIs never mix.
        token: The client's token callable (what it calls for an access token), or None. It
            names the key only through its ``client_id`` attribute, or, for a plain token, a
            salted hash of the token it returns; None (the default) leaves the base URL (and
            ``CC_CLIENT_ID``) to name the key.
        client_id: The application's client id, when known: it names the key
            (``app=<client_id>``) before anything else. None (the default) looks at the
            token provider, then ``CC_CLIENT_ID``.

    Example:
        >>> BudgetKey("https://api.cc.email/v3", client_id="my-app").value
        'https://api.cc.email/v3 app=my-app'
        >>> BudgetKey("https://api.cc.email/v3", lambda: "tok").value
        'https://api.cc.email/v3'
    """

    def __init__(
        self,
        base_url: str,
        token: Callable[[], Any] | None = None,
        *,
        client_id: str | None = None,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self._client_id = client_id
        self._value: str | None = None

    def _find_client_id(self) -> str | None:
        if self._client_id:
            return self._client_id
        for holder in (self._token, getattr(self._token, "func", None)):
            cid = getattr(holder, "client_id", None)
            if isinstance(cid, str) and cid:
                return cid
        return env_client_id()  # an access token in it: ConfigError

    @property
    def value(self) -> str:
        """The key; the base URL alone while no token can be read yet (not cached)."""
        # No lock: two threads computing it at once find the same key.
        if self._value is None:
            cid = self._find_client_id()
            if cid:
                self._value = f"{self.base_url} app={cid}"
            elif self._token is None or type(self._token).__name__ not in _READ_FREELY:
                # A user's callable is not called for this (it may count or refresh):
                # such clients share the budget of the whole API, the cautious choice.
                self._value = self.base_url
            else:
                try:
                    token = self._token()
                except Exception:  # no token yet: the request itself will say so
                    return self.base_url
                raw = token.reveal() if isinstance(token, Secret) else str(token)
                # A JWT names its application (Okta's ``cid`` claim): every token of it
                # shares the application's budget.
                cid = (jwt_parts(raw) or ({}, {}))[1].get("cid")
                if isinstance(cid, str) and cid:
                    self._value = f"{self.base_url} app={cid}"
                else:
                    digest = hashlib.sha256(b"ccpandas budget v1\0" + raw.encode()).hexdigest()
                    self._value = f"{self.base_url} token={digest[:16]}"
        return self._value

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"BudgetKey({self.base_url!r})"


# --------------------------------------------------------------------------- the choice


class SharedState:
    """The shared state clients use: this machine's (:meth:`local`) or Redis with the
    local state as its fallback (:meth:`redis`). Build one with :func:`resolve`.

    With Redis, after a failed call Redis is marked down (warned once) and not tried
    again for :data:`PROBE_EVERY` seconds; ledger counts made meanwhile are held in the
    local file (in memory when it is unusable) and added by the first process of this
    machine to reach it again, or by any within :data:`HELD_CHECK_EVERY` seconds.

    Args:
        local: This machine's state (a ``LocalState``, SQLite): the whole state without
            Redis, the fallback with it.
        redis: The Redis state of team mode (a ``RedisState``), or None (the default) for
            this machine only.

    Example:
        >>> SharedState.redis("redis://:pw@cache:6379/0")
        SharedState('redis://:********@cache:6379/0')
    """

    def __init__(self, local: LocalState, redis: RedisState | None = None) -> None:
        self.local_state = local
        self.redis_state = redis
        self._lock = threading.Lock()
        self._down = False
        self._next_probe = 0.0
        self._held_checked = -math.inf  # counts held on disk for Redis: added at first contact
        # Counts for Redis the local file could not hold (unusable): kept here instead.
        self._held: dict[tuple[str, dt.date, str], int] = {}
        self._last_usage: dict[tuple[str, dt.date], tuple[int, int]] = {}

    @classmethod
    def local(cls, path: Path | None = None) -> SharedState:
        """This machine only: ``quota.sqlite3`` in the data directory.

        Args:
            path: The SQLite file to keep the state in. None (the default) uses
                ``quota.sqlite3`` in the data directory (``CCPANDAS_DATA_DIR``), read at
                each use.
        """
        return cls(_local_state(path))

    @classmethod
    def redis(cls, url: str | Secret, *, local_path: Path | None = None) -> SharedState:
        """Team mode: Redis at ``url`` (``redis://[:password@]host:port/db``).

        Args:
            url: The Redis URL, e.g. ``"redis://:password@cache.internal:6379/0"`` (a
                password in it is never shown: reprs and logs mask it).
            local_path: The SQLite file of the local fallback, used while Redis cannot be
                reached. None (the default) uses ``quota.sqlite3`` in the data directory.
        """
        url = hide(url)  # in no frame's locals
        return cls(_local_state(local_path), RedisState(url))

    @property
    def kind(self) -> str:
        """``"local"`` or ``"redis"``."""
        return LOCAL if self.redis_state is None else "redis"

    def __repr__(self) -> str:
        return f"SharedState({LOCAL if self.redis_state is None else self.redis_state.url!r})"

    @property
    def where(self) -> str:
        """Where the state is, for people: ``this machine`` or the masked Redis URL."""
        return "this machine" if self.redis_state is None else self.redis_state.url

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and the local fallback is in use."""
        return self._down

    def _via_redis(self, action: Callable[[RedisState], Any]) -> Any:
        """``action(redis)``'s answer; :data:`_MISSED` when there is no Redis, it is down
        and not yet due for another try, or it does not answer now."""
        redis = self.redis_state
        if redis is None:
            return _MISSED
        with self._lock:
            now = time.monotonic()
            if self._down and now < self._next_probe:
                return _MISSED
            drain = self._down or now - self._held_checked >= HELD_CHECK_EVERY
            if drain:
                self._held_checked = now
        try:
            if drain:
                self._drain(redis)
            value = action(redis)
        except Unavailable as exc:
            self._failed(exc)
            return _MISSED
        self._answered()
        return value

    def _failed(self, exc: Unavailable) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._next_probe = time.monotonic() + PROBE_EVERY
        if first:
            log.warning(
                f"ccpandas: the shared state at {self.where} cannot be reached ({exc}); pacing "
                "with this machine's limiter at this process's share of the rate as last "
                f"seen, at most {FALLBACK_RATE:g} request/s, until it answers again"
            )

    def _drain(self, redis: RedisState) -> None:
        """Add to Redis the counts held while it was away: in this process's memory
        (the local file could not hold them), and on this machine's disk by any process,
        this one or one that ended since. Raises :class:`Unavailable` when it stops
        answering; what was not added stays held."""
        with self._lock:
            held, self._held = self._held, {}
        try:
            while held:
                (scope, day, process), n = next(iter(held.items()))
                redis.ledger_add(scope, day, process, n)
                del held[(scope, day, process)]
        finally:
            for (scope, day, process), n in held.items():  # interrupted: kept
                self._hold_in_memory(scope, day, process, n)
        with contextlib.suppress(sqlite3.Error, OSError):  # no usable file: none held in it
            self.local_state.drain_held(redis.url, redis.ledger_add)

    def _hold_in_memory(self, scope: str, day: dt.date, process: str, n: int) -> None:
        with self._lock:
            self._held[(scope, day, process)] = self._held.get((scope, day, process), 0) + n

    def _answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
        if was_down:
            log.warning("ccpandas: the shared state at %s answers again; using it", self.where)

    def reserve(self, scope: str, interval: float) -> float:
        """Take the next request slot of ``scope`` (``interval`` seconds apart); return
        the seconds the caller must wait for it.

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            interval: Seconds between two request starts of that budget, e.g. ``0.255`` for
                4 per second with the margin.
        """
        wait = self._via_redis(lambda redis: redis.reserve(scope, interval, process_id()))
        if wait is not _MISSED:
            return float(wait)
        if self.redis_state is None:
            return self.local_state.reserve(scope, interval)
        return self.local_state.reserve(
            scope + " fallback", self.fallback_interval(scope, interval)
        )

    def fallback_interval(self, scope: str, interval: float) -> float:
        """Seconds between this process's requests while Redis is away: its share as
        last seen (``interval`` times the processes that took slots lately), and at least
        ``1 / FALLBACK_RATE``.

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`).
            interval: Seconds between two request starts of the whole team.

        Example:
            >>> SharedState.redis("redis://cache:6379/0").fallback_interval("k", 0.25)
            1.0
        """
        team = self.redis_state.team_seen.get(scope, 1) if self.redis_state else 1
        return max(interval * max(team, 1), 1.0 / FALLBACK_RATE)

    def defer(self, scope: str, seconds: float) -> None:
        """Hold back every slot of ``scope`` for ``seconds`` (after a throttled answer).

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            seconds: How long from now no slot is handed out, e.g. the server's
                ``Retry-After``.
        """
        if self._via_redis(lambda redis: redis.defer(scope, seconds)) is _MISSED:
            local = scope if self.redis_state is None else scope + " fallback"
            self.local_state.defer(local, seconds)

    def ledger_add(
        self, scope: str, day: dt.date, n: int = 1, *, process: str | None = None
    ) -> None:
        """Count ``n`` requests the server counted, on UTC ``day``, for this process.

        In team mode while Redis is away, the counts are held in the local file and
        added when it answers again.

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            day: The UTC day the requests count against, a ``datetime.date``.
            n: How many requests to add. Default 1.
            process: Who sent them, as ``host:pid``. None (the default) is this process
                (:func:`process_id`).
        """
        process = process or process_id()
        redis = self.redis_state
        if redis is None:
            self.local_state.ledger_add(scope, day, process, n)
        elif self._via_redis(lambda r: r.ledger_add(scope, day, process, n)) is _MISSED:
            try:  # held on this machine's disk: a process that ends meanwhile loses none
                self.local_state.hold(redis.url, scope, day, process, n)
            except (sqlite3.Error, OSError) as exc:
                if not self._held:
                    log.warning(
                        f"ccpandas: cannot hold the daily request counts for {self.where} in "
                        f"{self.local_state.path} ({exc}); holding them in this process "
                        "until it answers again"
                    )
                self._hold_in_memory(scope, day, process, n)

    def ledger_usage(self, scope: str, day: dt.date) -> tuple[int, int, bool]:
        """``(requests, processes, stale)`` counted on ``day`` for ``scope``; ``stale``
        when Redis could not be asked (the last figure seen, plus the counts held on
        this machine since).

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            day: The UTC day to count, a ``datetime.date``.
        """
        if self.redis_state is None:
            return (*self.local_state.ledger_usage(scope, day), False)
        self._held_checked = -math.inf  # the figure counts what this machine holds
        usage = self._via_redis(lambda redis: redis.ledger_usage(scope, day))
        if usage is not _MISSED:
            self._last_usage[(scope, day)] = usage
            return (*usage, False)
        # The usage last read from Redis plus the counts held here since (stale).
        used, processes = self._last_usage.get((scope, day), (0, 0))
        held, holders = 0, 0
        with contextlib.suppress(sqlite3.Error, OSError):  # no usable file: none in it
            held, holders = self.local_state.ledger_usage(scope, day, held=self.redis_state.url)
        mine = [
            (p, n)
            for (s, d, p), n in self._held.items()
            if (d, scope_matches(s, scope)) == (day, True)
        ]
        held += sum(n for _, n in mine)
        return used + held, max(processes, holders, len({p for p, _ in mine})), True

    # -- run locks -------------------------------------------------------------------
    def lease(self, name: str) -> RedisLease | None:
        """A Redis lock for ``name`` in team mode; None on one machine (the journal's
        file lock is enough there).

        Args:
            name: The lock's name, e.g. ``"run:20250301-231501-7f3a2c"`` for a run.
        """
        return None if self.redis_state is None else self.redis_state.lease(name, LOCK_TTL)

    def is_locked(self, name: str) -> bool:
        """True when a process anywhere holds the Redis lock ``name`` (False when local
        or unreachable).

        Args:
            name: The lock's name, e.g. ``"run:20250301-231501-7f3a2c"`` for a run.
        """
        with contextlib.suppress(Unavailable):
            return self.redis_state is not None and self.redis_state.is_locked(name)
        return False


# --------------------------------------------------------------------------- configuration

_configured: SharedState | None = None
_states: dict[str, SharedState] = {}
_states_lock = threading.RLock()  # _parse holds it to make a state (_local_state)
# One LocalState per file (None: the data directory's), whichever states use it: one
# skip countdown while it is locked, not one per state each waiting for the lock.
_local_states: dict[Path | None, LocalState] = {}


def _local_state(path: Path | None) -> LocalState:
    with _states_lock:
        if path not in _local_states:
            _local_states[path] = LocalState(path)
        return _local_states[path]


class Refused:
    """What :func:`hide` keeps of a setting of a type it does not take: its type's name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind


def hide(value: Any, *takes: Any) -> Any:
    """A string setting (a token; a Redis URL may hold a password) as a Secret; when
    ``takes`` names the other types the setting takes, any value of none of them
    (bytes, the token endpoint's dict) by its type's name only (a :class:`Refused`, for
    its TypeError); anything else as it is. The first line of every function given one,
    so no frame's locals (what a traceback with locals shows) hold it in clear.

    Example:
        >>> hide("redis://:pw@cache:6379/0"), hide(None)
        (Secret('********'), None)
        >>> hide(b"redis://:pw@cache:6379/0", SharedState).kind
        'bytes'
    """
    if isinstance(value, str):
        return Secret(value)
    if not takes or value is None or isinstance(value, (Secret, Refused, *takes)):
        return value
    return Refused(type(value).__name__)


def _check_url(value: Secret) -> tuple[str, str | None]:
    """``(key, problem)``: the key :func:`_parse` keeps the state under (``local``, or a
    hash: the URL itself is not kept), and why the setting cannot work, masked (None
    when it can; :class:`RedisState` then asks redis-py whether it reads the URL)."""
    text = value.reveal().strip()
    if text.lower() == LOCAL:
        return LOCAL, None
    parts = urlsplit(encode_userinfo(text))  # a password may hold / ? # @
    if parts.scheme.lower() not in ("redis", "rediss", "unix") or not (
        parts.hostname or parts.path
    ):
        return "", (
            f"shared_state must be 'local' or a Redis URL such as "
            f"redis://host:6379/0, not {mask_url(text)!r}"
        )
    return hashlib.sha256(text.encode()).hexdigest(), None


def _parse(value: str | Secret) -> SharedState:
    value = hide(value)  # in no frame's locals in clear
    key, problem = _check_url(Secret(value))
    if problem is not None:
        raise ConfigError(problem)
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = SharedState.local() if key == LOCAL else SharedState.redis(value)
            if state.redis_state is not None:
                # Once per URL: a refused password fails here, not as a lasting fallback.
                state.redis_state.check_login()
            _states[key] = state
        return state


def resolve(shared_state: str | Secret | SharedState | None = None) -> SharedState:
    """The shared state to use: ``shared_state`` when given, else what
    :func:`configure` set, else ``CCPANDAS_SHARED_STATE``, else this machine's.

    One :class:`SharedState` per URL is kept, so clients share Redis connections and
    its fallback status.

    Example:
        >>> resolve("local").kind
        'local'
    """
    shared_state = hide(shared_state, SharedState)
    if isinstance(shared_state, SharedState):
        return shared_state
    if shared_state is not None:
        if isinstance(shared_state, Refused):
            raise TypeError(
                "shared_state must be 'local', a redis:// URL or a SharedState, "
                f"not {shared_state.kind}"
            )
        return _parse(shared_state)
    if _configured is not None:
        return _configured
    return _parse(env(SHARED_STATE_ENV) or LOCAL)


def configure(*, shared_state: str | Secret | SharedState | None = None) -> None:
    """Set where every client built from now on shares its rate limit, daily quota
    ledger and run locks. Clients built before keep theirs.

    Args:
        shared_state: Where to share: ``"redis://host:6379/0"`` (team mode: every process
            and machine using that Redis shares one budget), ``"local"`` (the processes of
            this machine, in ``quota.sqlite3`` in the data directory), a
            :class:`SharedState`, or None (the default: back to ``CCPANDAS_SHARED_STATE``,
            else this machine).

    Raises:
        TypeError: ``shared_state`` is not a string, a ``SharedState`` or None.
        ConfigError: Redis refused the URL's password (an unreachable Redis is not an
            error: it is fallen back from, and tried again).

    Example:
        >>> import ccpandas
        >>> ccpandas.configure(shared_state="redis://cache.internal:6379/0")  # doctest: +SKIP
        >>> ccpandas.configure(shared_state=None)
    """
    global _configured
    shared_state = hide(shared_state, SharedState)  # a Redis URL's password: in no frame's locals
    state = None if shared_state is None else resolve(shared_state)
    if state is not None and state.redis_state is not None:
        state.redis_state.check_login()  # a SharedState built by hand is checked too
    _configured = state
