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

Backends: :class:`LocalState` (default, nothing to configure) keeps the TAT and the
ledger in ``quota.sqlite3`` in the data directory; one ``INSERT ... ON CONFLICT DO
UPDATE ... RETURNING`` per slot, in WAL mode, so every process of this user on this
machine shares them. :class:`RedisState` (team mode, ``CCPANDAS_SHARED_STATE=
redis://host:6379/0``) does the same step as a server-side Lua script (the clock is
Redis' own ``TIME``, so machines whose clocks differ still agree), and holds run locks
as expiring keys. If Redis cannot be reached, :class:`SharedState` falls back to the
local state at :data:`FALLBACK_SHARE` of the rate, warns once, buffers the ledger's
counts and goes back to Redis when it answers again.

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
    >>> round(state.reserve("https://api.cc.email/v3 app=demo", 0.25), 2)
    0.0
    >>> 0.2 < state.reserve("https://api.cc.email/v3 app=demo", 0.25) <= 0.25
    True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import socket
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ccpandas._config import CLIENT_ID_ENV, SHARED_STATE_ENV, data_dir, env
from ccpandas._secret import MASK, Secret
from ccpandas.errors import ConfigError

__all__ = [
    "FALLBACK_SHARE",
    "LOCAL",
    "QUOTA_FILE",
    "BudgetKey",
    "LocalState",
    "RedisState",
    "SharedState",
    "configure",
    "process_id",
    "resolve",
]

#: The file of the local state (rate-limit timestamps and the quota ledger).
QUOTA_FILE = "quota.sqlite3"
#: ``shared_state`` value for this machine only (the default).
LOCAL = "local"
#: The share of the rate a process keeps to while Redis is unreachable: other machines
#: may be falling back at the same moment, each with its own local limiter.
FALLBACK_SHARE = 0.5
#: Seconds between attempts to reach Redis again while it is down.
PROBE_EVERY = 2.0
#: A TAT further ahead than this is from a clock that jumped: it is reset to now.
MAX_AHEAD = 600.0
#: Seconds a Redis run lock lives without being renewed (a dead holder frees it then).
LOCK_TTL = 30.0
# Days of ledger kept.
_KEEP_DAYS = 35
_REDIS_TIMEOUT = 0.5  # seconds: a gone Redis must not stall a request for long

log = logging.getLogger("ccpandas")


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


_process: tuple[int, str] | None = None


def process_id() -> str:
    """This process in the ledger: ``host:pid`` (a forked child gets its own).

    Example:
        >>> process_id().endswith(f":{os.getpid()}")
        True
    """
    global _process
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        _process = (pid, f"{socket.gethostname()}:{pid}")
    return _process[1]


# --------------------------------------------------------------------------- the key


class BudgetKey:
    """Names the budget of one application key at one API: ``"<base_url> app=<id>"``.

    - OAuth tokens (``ccpandas.login``): the application's client id, which the token
      provider knows (``provider.client_id``), else ``CC_CLIENT_ID``;
    - a bare access token (``CC_ACCESS_TOKEN``, ``token="..."``) with no client id
      known: ``"<base_url> token=<16 hex>"``, a salted SHA-256 of the token (never the
      token). Every holder of that token shares the budget; a *new* token of the same
      application is a new key, so set ``CC_CLIENT_ID`` to join them;
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
        self._lock = threading.Lock()

    def _find_client_id(self) -> str | None:
        if self._client_id:
            return self._client_id
        for holder in (self._token, getattr(self._token, "func", None)):
            cid = getattr(holder, "client_id", None)
            if isinstance(cid, str) and cid:
                return cid
        return env(CLIENT_ID_ENV)

    @property
    def value(self) -> str:
        """The key; the base URL alone while no token can be read yet (not cached)."""
        if self._value is not None:
            return self._value
        with self._lock:
            if self._value is None:
                cid = self._find_client_id()
                if cid:
                    self._value = f"{self.base_url} app={cid}"
                elif self._token is None or not _reads_freely(self._token):
                    # A user's callable is not called for this (it may count or refresh):
                    # such clients share the budget of the whole API, the cautious choice.
                    self._value = self.base_url
                else:
                    try:
                        token = self._token()
                    except Exception:  # no token yet: the request itself will say so
                        return self.base_url
                    raw = token.reveal() if isinstance(token, Secret) else str(token)
                    digest = hashlib.sha256(b"ccpandas budget v1\0" + raw.encode()).hexdigest()
                    self._value = f"{self.base_url} token={digest[:16]}"
            return self._value

    def __str__(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return f"BudgetKey({self.base_url!r})"


def _reads_freely(token: Callable[[], Any]) -> bool:
    """True for token providers that may be read without side effects (a fixed token,
    the environment variable): ccpandas' own StaticToken and EnvToken."""
    return type(token).__name__ in ("StaticToken", "EnvToken") or isinstance(token, str)


def _scope_matches(scope: str, wanted: str) -> bool:
    """A key matches itself; a bare base URL matches every key at that API."""
    return scope == wanted or (" " not in wanted and scope.startswith(wanted + " "))


# --------------------------------------------------------------------------- local


_SCHEMA = """
CREATE TABLE IF NOT EXISTS gcra (
    scope TEXT PRIMARY KEY,  -- the budget key
    tat   REAL NOT NULL      -- theoretical arrival time of the next slot (Unix seconds)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS quota_ledger (
    scope   TEXT NOT NULL,   -- the budget key
    day     TEXT NOT NULL,   -- UTC date, YYYY-MM-DD
    process TEXT NOT NULL,   -- host:pid
    n       INTEGER NOT NULL,
    PRIMARY KEY (scope, day, process)
) WITHOUT ROWID;
"""

# One connection per (file, process), shared by every user of the file: a notebook may
# build many clients, and a forked child must not reuse its parent's connection.
_connections: dict[tuple[str, int], sqlite3.Connection] = {}
_connections_lock = threading.Lock()


def _connect(path: Path) -> sqlite3.Connection:
    key = (str(path), os.getpid())
    with _connections_lock:
        conn = _connections.get(key)
        if conn is None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            conn = sqlite3.connect(
                path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            # A lost slot or increment on power failure is harmless; an fsync per
            # request is not.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            _migrate(conn)
            horizon = (_today() - dt.timedelta(days=_KEEP_DAYS)).isoformat()
            conn.execute("DELETE FROM quota_ledger WHERE day < ?", (horizon,))
            _connections[key] = conn
        return conn


def _migrate(conn: sqlite3.Connection) -> None:
    """Move the counts of ccpandas <= 0.x (one row per base URL and day) into the ledger."""
    old = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'request_counts'"
    ).fetchone()
    if old is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR IGNORE INTO quota_ledger (scope, day, process, n) "
            "SELECT scope, day, 'before the ledger', n FROM request_counts"
        )
        conn.execute("DROP TABLE request_counts")
        conn.execute("COMMIT")
    except sqlite3.Error:
        conn.execute("ROLLBACK")


class LocalState:
    """The shared state of every process of this user on this machine (SQLite).

    ``path`` defaults to ``quota.sqlite3`` in the data directory, resolved at first use;
    nothing touches the disk before then.

    Example:
        >>> import tempfile
        >>> local = LocalState(Path(tempfile.mkdtemp()) / "quota.sqlite3")
        >>> local.ledger_add("k", dt.date(2025, 3, 1), "host:1", 2)
        >>> local.ledger_usage("k", dt.date(2025, 3, 1))
        (2, 1)
    """

    kind = LOCAL

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file; by default read from the data directory at each use, so a changed
        ``CCPANDAS_DATA_DIR`` is followed."""
        return self._path if self._path is not None else data_dir() / QUOTA_FILE

    def _execute(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return _connect(self.path).execute(sql, params).fetchall()

    def reserve(self, scope: str, interval: float) -> float:
        """Take the next slot of ``scope``; return the seconds to wait for it."""
        now = time.time()
        # One statement: SQLite takes the write lock for it, so it is atomic across
        # processes, and no lock outlives it.
        rows = self._execute(
            "INSERT INTO gcra (scope, tat) VALUES (:scope, :now + :interval) "
            "ON CONFLICT (scope) DO UPDATE SET tat = (CASE WHEN tat < :now OR "
            "tat > :now + :ahead THEN :now ELSE tat END) + :interval RETURNING tat",
            {"scope": scope, "now": now, "interval": interval, "ahead": MAX_AHEAD},
        )
        return max(0.0, float(rows[0][0]) - interval - now)

    def defer(self, scope: str, seconds: float) -> None:
        """Hold every slot of ``scope`` back until ``seconds`` from now."""
        until = time.time() + min(max(0.0, seconds), MAX_AHEAD)
        self._execute(
            "INSERT INTO gcra (scope, tat) VALUES (:scope, :until) "
            "ON CONFLICT (scope) DO UPDATE SET tat = max(tat, :until)",
            {"scope": scope, "until": until},
        )

    def ledger_add(self, scope: str, day: dt.date, process: str, n: int) -> None:
        """Count ``n`` requests of ``process`` on ``day``."""
        self._execute(
            "INSERT INTO quota_ledger (scope, day, process, n) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, day, process) DO UPDATE SET n = n + excluded.n",
            (scope, day.isoformat(), process, int(n)),
        )

    def ledger_usage(self, scope: str, day: dt.date) -> tuple[int, int]:
        """``(requests, processes)`` counted on ``day`` for ``scope`` (a bare base URL:
        every key at that API)."""
        like = scope.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + " %"
        rows = self._execute(
            "SELECT coalesce(sum(n), 0), count(DISTINCT process) FROM quota_ledger "
            "WHERE day = ? AND (scope = ? OR (? AND scope LIKE ? ESCAPE '\\'))",
            (day.isoformat(), scope, " " not in scope, like),
        )
        return int(rows[0][0]), int(rows[0][1])

    def __repr__(self) -> str:
        return f"LocalState({str(self._path) if self._path else 'data dir'!r})"


# --------------------------------------------------------------------------- Redis

# KEYS[1] the TAT; ARGV interval, max ahead. Returns the wait in seconds, as text (a Lua
# number would be truncated to an integer).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local ahead = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now or tat > now + ahead then tat = now end
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'EX', math.ceil(ahead) + 60)
return string.format('%.6f', tat - now)
"""
# KEYS[1] the TAT; ARGV seconds from now.
_DEFER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local later = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < later then
  redis.call('SET', KEYS[1], string.format('%.6f', later), 'EX', math.ceil(ARGV[1]) + 60)
end
return 1
"""


def mask_url(url: str) -> str:
    """``url`` with its user name and password masked (shown in reprs, logs and errors).

    Example:
        >>> mask_url("redis://:hunter2@cache:6379/0")
        'redis://:********@cache:6379/0'
    """
    parts = urlsplit(url)
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f":{MASK}@{host}" + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Unavailable(Exception):
    """Redis did not answer (internal: callers fall back). Carries no secret."""


class RedisState:
    """The shared state in a Redis server (team mode), via the ``redis`` package.

    Every call raises :class:`Unavailable` (never a ``redis`` error, whose chain could
    hold the connection's password) when Redis cannot be reached.
    """

    kind = "redis"

    def __init__(self, url: str | Secret, *, prefix: str = "ccpandas:") -> None:
        import importlib.util

        if importlib.util.find_spec("redis") is None:
            raise ConfigError("team mode needs the redis package: pip install 'ccpandas[redis]'")
        self._url = url if isinstance(url, Secret) else Secret(url)
        self.url = mask_url(self._url.reveal())
        self.prefix = prefix
        self._clients: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RedisState({self.url!r})"

    def _redis(self) -> Any:
        pid = os.getpid()
        with self._lock:
            made = self._clients.get(pid)
            if made is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.retry import Retry

                client = redis.Redis.from_url(
                    self._url.reveal(),
                    socket_timeout=_REDIS_TIMEOUT,
                    socket_connect_timeout=_REDIS_TIMEOUT,
                    retry=Retry(NoBackoff(), 0),  # we fall back at once instead
                    decode_responses=True,
                )
                made = (
                    client,
                    client.register_script(_RESERVE),
                    client.register_script(_DEFER),
                )
                self._clients[pid] = made
            return made

    def _call(self, action: Callable[..., Any]) -> Any:
        import redis

        try:
            return action(*self._redis())
        except (redis.RedisError, OSError) as exc:
            message = self._describe(exc)
        # Raised outside the except block so it has no __context__: the redis error's
        # frames hold the connection, and the connection holds the password.
        raise Unavailable(message)

    def _describe(self, exc: BaseException) -> str:
        text = str(exc).replace(self._url.reveal(), self.url)
        password = urlsplit(self._url.reveal()).password
        if password:
            text = text.replace(password, MASK)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def ping(self) -> None:
        """Raise :class:`Unavailable` unless Redis answers."""
        self._call(lambda r, *_: r.ping())

    def reserve(self, scope: str, interval: float) -> float:
        key = self._key("gcra", scope)
        wait = self._call(lambda _r, script, _d: script(keys=[key], args=[interval, MAX_AHEAD]))
        return max(0.0, float(wait))

    def defer(self, scope: str, seconds: float) -> None:
        key = self._key("gcra", scope)
        seconds = min(max(0.0, seconds), MAX_AHEAD)
        self._call(lambda _r, _s, script: script(keys=[key], args=[seconds]))

    def _ledger_key(self, scope: str, day: dt.date) -> str:
        return self._key("quota", day.isoformat(), scope)

    def ledger_add(self, scope: str, day: dt.date, process: str, n: int) -> None:
        key = self._ledger_key(scope, day)

        def add(r: Any, *_: Any) -> None:
            pipe = r.pipeline(transaction=True)
            pipe.hincrby(key, process, int(n))
            pipe.expire(key, _KEEP_DAYS * 86_400)
            pipe.execute()

        self._call(add)

    def ledger_usage(self, scope: str, day: dt.date) -> tuple[int, int]:
        def usage(r: Any, *_: Any) -> tuple[int, int]:
            if " " in scope:
                counts = [int(v) for v in r.hvals(self._ledger_key(scope, day))]
                return sum(counts), len(counts)
            processes: Counter[str] = Counter()
            head = self._ledger_key("", day)
            for key in r.scan_iter(match=head + "*", count=500):
                if _scope_matches(key[len(head) :], scope):
                    processes.update({p: int(v) for p, v in r.hgetall(key).items()})
            return sum(processes.values()), len(processes)

        return self._call(usage)

    def lease(self, name: str) -> RedisLease:
        """A run lock named ``name`` (not yet taken)."""
        return RedisLease(self, self._key("lock", name))

    def is_locked(self, name: str) -> bool:
        return bool(self._call(lambda r, *_: r.exists(self._key("lock", name))))


class RedisLease:
    """A lock in Redis that expires :data:`LOCK_TTL` seconds after its holder stops
    renewing it (a thread renews it every third of that), so a dead holder frees it."""

    def __init__(self, state: RedisState, key: str) -> None:
        self._state = state
        self.key = key
        self._lock: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """True when taken; False when another process holds it; raises
        :class:`Unavailable` when Redis cannot be reached."""

        def take(r: Any, *_: Any) -> bool:
            lock = r.lock(self.key, timeout=LOCK_TTL, blocking=False, thread_local=False)
            if not lock.acquire(blocking=False):
                return False
            self._lock = lock
            return True

        if not self._state._call(take):
            return False
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew, name="ccpandas-lease", daemon=True)
        self._thread.start()
        return True

    def _renew(self) -> None:
        import redis

        while not self._stop.wait(LOCK_TTL / 3):
            try:
                self._lock.reacquire()
            except redis.exceptions.LockNotOwnedError:
                log.warning("ccpandas: the run lock %s expired while held", self.key)
                return
            except (redis.RedisError, OSError):
                continue  # Redis away for a moment: try again at the next beat

    def release(self) -> None:
        """Give the lock back (best effort: it expires on its own anyway)."""
        import redis

        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
        lock, self._lock = self._lock, None
        if lock is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                lock.release()


# --------------------------------------------------------------------------- the choice


class SharedState:
    """The shared state clients use: this machine's (:meth:`local`) or Redis with the
    local state as its fallback (:meth:`redis`). Build one with :func:`resolve`.

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
        self._pending: Counter[tuple[str, dt.date, str]] = Counter()
        self._last_usage: dict[tuple[str, dt.date], tuple[int, int]] = {}

    @classmethod
    def local(cls, path: Path | None = None) -> SharedState:
        """This machine only: ``quota.sqlite3`` in the data directory.

        Args:
            path: The SQLite file to keep the state in. None (the default) uses
                ``quota.sqlite3`` in the data directory (``CCPANDAS_DATA_DIR``), read at
                each use.
        """
        return cls(LocalState(path))

    @classmethod
    def redis(cls, url: str | Secret, *, local_path: Path | None = None) -> SharedState:
        """Team mode: Redis at ``url`` (``redis://[:password@]host:port/db``).

        Args:
            url: The Redis URL, e.g. ``"redis://:password@cache.internal:6379/0"`` (a
                password in it is never shown: reprs and logs mask it).
            local_path: The SQLite file of the local fallback, used while Redis cannot be
                reached. None (the default) uses ``quota.sqlite3`` in the data directory.
        """
        return cls(LocalState(local_path), RedisState(url))

    @property
    def kind(self) -> str:
        """``"local"`` or ``"redis"``."""
        return LOCAL if self.redis_state is None else "redis"

    @property
    def where(self) -> str:
        """Where the state is, for people: ``this machine`` or the masked Redis URL."""
        return "this machine" if self.redis_state is None else self.redis_state.url

    @property
    def degraded(self) -> bool:
        """True while Redis is unreachable and the local fallback is in use."""
        return self._down

    def __repr__(self) -> str:
        return f"SharedState({LOCAL if self.redis_state is None else self.redis_state.url!r})"

    # -- Redis or the fallback -------------------------------------------------------
    def _try_redis(self) -> RedisState | None:
        """Redis when it should be tried now, else None (local only, or down and not
        yet due for another try)."""
        if self.redis_state is None:
            return None
        with self._lock:
            if self._down and time.monotonic() < self._next_probe:
                return None
        return self.redis_state

    def _failed(self, exc: Unavailable) -> None:
        with self._lock:
            first = not self._down
            self._down = True
            self._next_probe = time.monotonic() + PROBE_EVERY
        if first:
            log.warning(
                "ccpandas: the shared state at %s cannot be reached (%s); pacing with this "
                "machine's limiter at %d%% of the rate until it answers again",
                self.where,
                exc,
                round(FALLBACK_SHARE * 100),
            )

    def _answered(self) -> None:
        if not self._down:
            return
        with self._lock:
            was_down, self._down = self._down, False
            pending, self._pending = self._pending, Counter()
        if was_down:
            log.warning("ccpandas: the shared state at %s answers again; using it", self.where)
        for (scope, day, process), n in pending.items():
            self.ledger_add(scope, day, n, process=process)

    def reserve(self, scope: str, interval: float) -> float:
        """Take the next request slot of ``scope`` (``interval`` seconds apart); return
        the seconds the caller must wait for it.

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            interval: Seconds between two request starts of that budget, e.g. ``0.255`` for
                4 per second with the margin.
        """
        redis = self._try_redis()
        if redis is not None:
            try:
                wait = redis.reserve(scope, interval)
            except Unavailable as exc:
                self._failed(exc)
            else:
                self._answered()
                return wait
        if self.redis_state is None:
            return self.local_state.reserve(scope, interval)
        return self.local_state.reserve(scope + " fallback", interval / FALLBACK_SHARE)

    def defer(self, scope: str, seconds: float) -> None:
        """Hold back every slot of ``scope`` for ``seconds`` (after a throttled answer).

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            seconds: How long from now no slot is handed out, e.g. the server's
                ``Retry-After``.
        """
        redis = self._try_redis()
        if redis is not None:
            try:
                redis.defer(scope, seconds)
                return
            except Unavailable as exc:
                self._failed(exc)
        if self.redis_state is None:
            self.local_state.defer(scope, seconds)
        else:
            self.local_state.defer(scope + " fallback", seconds)

    def ledger_add(
        self, scope: str, day: dt.date, n: int = 1, *, process: str | None = None
    ) -> None:
        """Count ``n`` requests the server counted, on UTC ``day``, for this process.

        In team mode while Redis is away, the counts wait in this process and are
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
        if self.redis_state is None:
            self.local_state.ledger_add(scope, day, process, n)
            return
        redis = self._try_redis()
        if redis is not None:
            try:
                redis.ledger_add(scope, day, process, n)
            except Unavailable as exc:
                self._failed(exc)
            else:
                self._answered()
                return
        with self._lock:
            self._pending[(scope, day, process)] += n

    def ledger_usage(self, scope: str, day: dt.date) -> tuple[int, int, bool]:
        """``(requests, processes, stale)`` counted on ``day`` for ``scope``; ``stale``
        when Redis could not be asked (the last figure seen, plus this process's own
        counts since).

        Args:
            scope: The budget key's text (:attr:`BudgetKey.value`, e.g.
                ``"https://api.cc.email/v3 app=my-app"``): whose budget it is.
            day: The UTC day to count, a ``datetime.date``.
        """
        if self.redis_state is None:
            return (*self.local_state.ledger_usage(scope, day), False)
        redis = self._try_redis()
        if redis is not None:
            try:
                used, processes = redis.ledger_usage(scope, day)
            except Unavailable as exc:
                self._failed(exc)
            else:
                self._answered()
                self._last_usage[(scope, day)] = (used, processes)
                return used, processes, False
        used, processes = self._last_usage.get((scope, day), (0, 0))
        with self._lock:
            mine = sum(
                n for (s, d, _), n in self._pending.items() if d == day and _scope_matches(s, scope)
            )
        return used + mine, max(processes, 1 if mine else 0), True

    # -- run locks -------------------------------------------------------------------
    def lease(self, name: str) -> RedisLease | None:
        """A Redis lock for ``name`` in team mode; None on one machine (the journal's
        file lock is enough there).

        Args:
            name: The lock's name, e.g. ``"run:20250301-231501-7f3a2c"`` for a run.
        """
        return None if self.redis_state is None else self.redis_state.lease(name)

    def is_locked(self, name: str) -> bool:
        """True when a process anywhere holds the Redis lock ``name`` (False when local
        or unreachable).

        Args:
            name: The lock's name, e.g. ``"run:20250301-231501-7f3a2c"`` for a run.
        """
        if self.redis_state is None:
            return False
        try:
            return self.redis_state.is_locked(name)
        except Unavailable:
            return False


# --------------------------------------------------------------------------- configuration

_configured: SharedState | None = None
_states: dict[str, SharedState] = {}
_states_lock = threading.Lock()


def _parse(value: str) -> SharedState:
    text = value.strip()
    if text.lower() == LOCAL:
        key = LOCAL
    else:
        parts = urlsplit(text)
        if parts.scheme.lower() not in ("redis", "rediss", "unix") or not (
            parts.hostname or parts.path
        ):
            raise ConfigError(
                f"shared_state must be 'local' or a Redis URL such as "
                f"redis://host:6379/0, not {mask_url(text)!r}"
            )
        key = hashlib.sha256(text.encode()).hexdigest()  # the URL itself is not kept here
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = SharedState.local() if key == LOCAL else SharedState.redis(text)
            _states[key] = state
        return state


def resolve(shared_state: str | SharedState | None = None) -> SharedState:
    """The shared state to use: ``shared_state`` when given, else what
    :func:`configure` set, else ``CCPANDAS_SHARED_STATE``, else this machine's.

    One :class:`SharedState` per URL is kept, so clients share Redis connections and
    its fallback status.

    Example:
        >>> resolve("local").kind
        'local'
    """
    if isinstance(shared_state, SharedState):
        return shared_state
    if shared_state is not None:
        if not isinstance(shared_state, str):
            raise TypeError(
                "shared_state must be 'local', a redis:// URL or a SharedState, "
                f"not {type(shared_state).__name__}"
            )
        return _parse(shared_state)
    if _configured is not None:
        return _configured
    return _parse(env(SHARED_STATE_ENV) or LOCAL)


def configure(*, shared_state: str | SharedState | None = None) -> None:
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

    Example:
        >>> import ccpandas
        >>> ccpandas.configure(shared_state="redis://cache.internal:6379/0")  # doctest: +SKIP
        >>> ccpandas.configure(shared_state=None)
    """
    global _configured
    _configured = None if shared_state is None else resolve(shared_state)
