"""The shared state in a Redis server (team mode), via the ``redis`` package.

Taking a slot is a server-side Lua script (the clock is Redis' own ``TIME``, so
machines whose clocks differ still agree); the ledger is one hash per key and day; run
locks are expiring keys a thread renews. Every call raises :class:`Unavailable` when
Redis cannot be reached, and :class:`ccpandas.client.shared.SharedState` falls back to
this machine's state then.

The Redis URL may hold a password: it lives in a :class:`~ccpandas._secret.Secret`;
reprs, logs and errors show it as ``redis://:********@host:6379/0``. A password as
``openssl rand -base64`` makes it (with ``/``, ``+``, ``=``; other generators add ``#``
or ``?``) may be written as it is: everything between ``://`` and the last ``@`` is
the user and password, masked when shown and percent-encoded for redis-py.

Example:
    >>> mask_url("redis://:pw@cache:6379/0")
    'redis://:********@cache:6379/0'
    >>> mask_url("redis://:a/b#c?d@cache:6379/0")
    'redis://:********@cache:6379/0'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from ccpandas._secret import MASK, Secret
from ccpandas.client.backends import KEEP_DAYS, MAX_AHEAD, scope_matches
from ccpandas.errors import ConfigError

__all__ = [
    "TEAM_WINDOW",
    "RedisLease",
    "RedisState",
    "Unavailable",
    "encode_userinfo",
    "mask_url",
]

_REDIS_TIMEOUT = 0.5  # seconds: a gone Redis must not stall a request for long

log = logging.getLogger("ccpandas")

# KEYS[1] the TAT, KEYS[2] the team (who took a slot lately); ARGV interval, max ahead,
# this process, the team window. Returns the wait in seconds as text (a Lua number would
# be truncated to an integer), and how many processes took a slot within the window.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local ahead = tonumber(ARGV[2])
local window = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now or tat > now + ahead then tat = now end
redis.call('SET', KEYS[1], string.format('%.6f', tat + interval), 'EX', math.ceil(ahead) + 60)
redis.call('ZADD', KEYS[2], now, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('EXPIRE', KEYS[2], math.ceil(window) + 60)
return {string.format('%.6f', tat - now), redis.call('ZCARD', KEYS[2])}
"""
#: Seconds a process counts as one of the team after it last took a slot.
TEAM_WINDOW = 60.0
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


def _split_userinfo(url: str) -> tuple[str, str | None, str]:
    """``(scheme://, user:password or None, the rest)``: the user information is
    everything between ``://`` and the *last* ``@``, whatever it holds (a password may
    hold ``/``, ``?``, ``#`` or ``@``, which ``urlsplit`` takes for the URL's parts)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    head = scheme + sep
    userinfo, at, host = rest.rpartition("@")
    return (head, userinfo, host) if at else (head, None, rest)


def mask_url(url: str) -> str:
    """``url`` with everything between ``://`` and the last ``@`` masked, and without its
    query or fragment (``?password=`` is a redis-py option): what reprs, logs and errors
    show.

    Args:
        url: A Redis URL, e.g. ``"redis://:hunter2@cache:6379/0"``.

    Example:
        >>> mask_url("redis://:hunter2@cache:6379/0")
        'redis://:********@cache:6379/0'
        >>> mask_url("redis://cache:6379/0?password=hunter2")
        'redis://cache:6379/0'
    """
    head, userinfo, rest = _split_userinfo(url)
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    return head + (f":{MASK}@" if userinfo is not None else "") + rest


def encode_userinfo(url: str) -> str:
    """``url`` with the characters of its user and password that would end the user
    information (``/ ? # @``) percent-encoded, so redis-py (which decodes them) gets
    the password as written; an already encoded password (``%2F``) stays as it is.

    Args:
        url: A Redis URL, e.g. ``"redis://:a/b@cache:6379/0"``.

    Example:
        >>> encode_userinfo("redis://:a/b#c?d@e@cache:6379/0")
        'redis://:a%2Fb%23c%3Fd%40e@cache:6379/0'
    """
    head, userinfo, rest = _split_userinfo(url)
    if userinfo is None:
        return url
    for char in "/?#@":
        userinfo = userinfo.replace(char, f"%{ord(char):02X}")
    return f"{head}{userinfo}@{rest}"


class Unavailable(Exception):
    """Redis did not answer (internal: callers fall back). Carries no secret."""


def _refused_login(exc: BaseException) -> bool:
    """Redis answered, and refused the URL's credentials: waiting will not help."""
    import redis

    errors = (redis.AuthenticationError, redis.exceptions.AuthenticationWrongNumberOfArgsError)
    return isinstance(exc, errors) or (
        isinstance(exc, redis.ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS"))
    )


class _Login:
    """A Redis URL's user and password for redis-py (its ``CredentialProvider``
    protocol), the password kept as a Secret.

    Example:
        >>> _Login(None, "pw")
        _Login(None, ********)
    """

    def __init__(self, username: str | None, password: str | None) -> None:
        self.username = username
        self.password = None if password is None else Secret(password)

    def get_credentials(self) -> tuple[str | None, ...]:
        # as redis-py's UsernamePasswordCredentialProvider answers: a user with no
        # password (an ACL user made "nopass") sends an empty one, never None
        password = "" if self.password is None else self.password.reveal()
        return (self.username, password) if self.username else (password,)

    def __repr__(self) -> str:
        return f"_Login({self.username!r}, {MASK})"


class RedisState:
    """The shared state in a Redis server (team mode), via the ``redis`` package.

    Every call raises :class:`Unavailable` (never a ``redis`` error, whose chain could
    hold the connection's password) when Redis cannot be reached.
    """

    def __init__(self, url: str | Secret, *, prefix: str = "ccpandas:") -> None:
        import importlib.util

        if importlib.util.find_spec("redis") is None:
            raise ConfigError("team mode needs the redis package: pip install 'ccpandas[redis]'")
        raw = url.reveal() if isinstance(url, Secret) else url
        self._url = Secret(encode_userinfo(raw))
        self.url = mask_url(raw)
        del url, raw  # a ConfigError below must not show them in this frame's locals
        self.prefix = prefix
        self._clients: dict[int, Any] = {}
        self._lock = threading.Lock()
        #: Processes that took a slot of a scope within :data:`TEAM_WINDOW`, as last seen.
        self.team_seen: dict[str, int] = {}
        # The mark this process first saw in Redis: another one later means Redis lost
        # everything meanwhile (FLUSHALL, a restart without persistence).
        self._epoch: str | None = None
        from redis.connection import parse_url

        try:  # does redis-py read the URL? (a port that is no number...)
            parse_url(self._url.reveal())
            return
        except ValueError as exc:  # its text may quote a piece of the password
            problem = self._describe(exc)
        # Raised outside the except block: no chain to the URL's text.
        raise ConfigError(f"the Redis URL {self.url} cannot be used: {problem}")

    def __repr__(self) -> str:
        return f"RedisState({self.url!r})"

    def _redis(self) -> Any:
        pid = os.getpid()
        with self._lock:
            made = self._clients.get(pid)
            if made is None:
                import redis
                from redis.backoff import NoBackoff
                from redis.connection import parse_url
                from redis.retry import Retry

                # redis.Redis.from_url, but the user and password go to a credential
                # provider that keeps them as Secrets: in the pool's connection keywords
                # they were reachable from any error whose frames held a client.
                options: dict[str, Any] = {
                    "socket_timeout": _REDIS_TIMEOUT,
                    "socket_connect_timeout": _REDIS_TIMEOUT,
                    "retry": Retry(NoBackoff(), 0),  # we fall back at once instead
                    "decode_responses": True,
                }
                options.update(parse_url(self._url.reveal()))  # the URL's own win, as there
                login = _Login(options.pop("username", None), options.pop("password", None))
                if login.username or login.password:
                    options["credential_provider"] = login
                pool = redis.ConnectionPool(**options)
                client = redis.Redis(connection_pool=pool)
                client.auto_close_connection_pool = True
                made = (client, client.register_script(_RESERVE), client.register_script(_DEFER))
                self._clients[pid] = made
            return made

    def _call(self, action: Callable[..., Any]) -> Any:
        import redis

        try:
            return action(*self._redis())
        except (redis.RedisError, OSError, ValueError) as exc:
            # ValueError: redis-py's for a URL it cannot read; it must degrade like a
            # Redis that does not answer, never crash a request.
            message = self._describe(exc)
        # Raised outside the except block so it has no __context__: the redis error's
        # frames hold the connection, and the connection holds the password.
        raise Unavailable(message)

    def _describe(self, exc: BaseException) -> str:
        """``exc``'s type and text, with the URL, its user information and every piece
        of the password (as written and as encoded) masked."""
        text = str(exc).replace(self._url.reveal(), self.url)
        userinfo = _split_userinfo(self._url.reveal())[1] or ""
        password = userinfo.partition(":")[2]
        for secret in (userinfo, password, unquote(userinfo), unquote(password)):
            if secret:
                text = text.replace(secret, MASK)
        return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def check_login(self) -> None:
        """Raise :class:`~ccpandas.errors.ConfigError` when Redis refuses the URL's
        credentials (a wrong password never heals); an unreachable Redis is not an
        error here (it is fallen back from, and tried again)."""
        import redis

        try:
            self._redis()[0].ping()
            return
        except (redis.RedisError, OSError, ValueError) as exc:
            # ValueError: a URL option only redis-py's client refuses: degraded at use.
            if isinstance(exc, ValueError) or not _refused_login(exc):
                return
            message = self._describe(exc)
        # Raised outside the except block: no chain to the connection (the password).
        raise ConfigError(
            f"Redis at {self.url} refused the login ({message}): check the password "
            "in the shared_state URL (CCPANDAS_SHARED_STATE)"
        )

    def reserve(self, scope: str, interval: float, member: str = "") -> float:
        """Take the next slot of ``scope``; the seconds to wait for it. ``member`` (this
        process) is counted in :attr:`team_seen` for the scope."""
        keys = [self._key("gcra", scope), self._key("team", scope)]
        args = [interval, MAX_AHEAD, member or str(os.getpid()), TEAM_WINDOW]
        wait, team = self._call(lambda _r, script, _d: script(keys=keys, args=args))
        self.team_seen[scope] = int(team)
        return max(0.0, float(wait))

    def defer(self, scope: str, seconds: float) -> None:
        key = self._key("gcra", scope)
        seconds = min(max(0.0, seconds), MAX_AHEAD)
        self._call(lambda _r, _s, script: script(keys=[key], args=[seconds]))

    def _ledger_key(self, scope: str, day: dt.date) -> str:
        return self._key("quota", day.isoformat(), scope)

    def ledger_add(self, scope: str, day: dt.date, process: str, n: int) -> None:
        key = self._ledger_key(scope, day)

        def add(r: Any, *_: Any) -> Any:
            pipe = r.pipeline(transaction=True)
            pipe.hincrby(key, process, int(n))
            pipe.expire(key, KEEP_DAYS * 86_400)
            pipe.get(self._key("epoch"))
            epoch = pipe.execute()[-1]
            if epoch is None:  # new, or emptied: mark it (the first process to ask wins)
                r.set(self._key("epoch"), os.urandom(8).hex(), nx=True)
                epoch = r.get(self._key("epoch"))
            return epoch

        self._check_epoch(self._call(add))

    def _check_epoch(self, epoch: str | None) -> None:
        """Warn when Redis' mark changed since this process last saw it: its data was
        dropped (FLUSHALL, a restart without persistence), ledger counts and run locks."""
        with self._lock:
            before, self._epoch = self._epoch, epoch
        if before is not None and epoch != before:
            log.warning(
                f"ccpandas: the shared state at {self.url} was reset (FLUSHALL, or a restart "
                "without persistence): the daily request counts it held are gone, so the "
                "quota figures count from zero again, and run locks held in it were lost"
            )

    def ledger_usage(self, scope: str, day: dt.date) -> tuple[int, int]:
        def usage(r: Any, *_: Any) -> tuple[int, int]:
            if " " in scope:
                counts = [int(v) for v in r.hvals(self._ledger_key(scope, day))]
                return sum(counts), sum(c > 0 for c in counts)  # given back: sent none
            processes: Counter[str] = Counter()
            head = self._ledger_key("", day)
            for key in r.scan_iter(match=head + "*", count=500):
                if scope_matches(key[len(head) :], scope):
                    processes.update({p: int(v) for p, v in r.hgetall(key).items()})
            return sum(processes.values()), sum(n > 0 for n in processes.values())

        return self._call(usage)

    def lease(self, name: str, ttl: float) -> RedisLease:
        """A run lock named ``name`` (not yet taken) that lives ``ttl`` seconds unless
        renewed."""
        return RedisLease(self, self._key("lock", name), ttl)

    def is_locked(self, name: str) -> bool:
        return bool(self._call(lambda r, *_: r.exists(self._key("lock", name))))


class RedisLease:
    """A lock in Redis that expires ``ttl`` seconds after its holder stops renewing it
    (a thread renews it every third of that), so a dead holder frees it."""

    def __init__(self, state: RedisState, key: str, ttl: float) -> None:
        self._state = state
        self.key = key
        self.ttl = ttl
        self._lock: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """True when taken; False when another process holds it; raises
        :class:`Unavailable` when Redis cannot be reached."""

        def take(r: Any, *_: Any) -> bool:
            lock = r.lock(self.key, timeout=self.ttl, blocking=False, thread_local=False)
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

        while not self._stop.wait(self.ttl / 3):
            try:
                self._lock.reacquire()
            except redis.exceptions.LockNotOwnedError:
                log.warning(
                    f"ccpandas: the run lock {self.key} expired while held, or Redis lost its "
                    "data (FLUSHALL, a restart): another process may now drive this run"
                )
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
