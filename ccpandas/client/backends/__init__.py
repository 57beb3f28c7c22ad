"""The two places the shared state can live: this machine's SQLite file
(:mod:`~ccpandas.client.backends.sqlite`) and a Redis server
(:mod:`~ccpandas.client.backends.redis`).

Both answer the same four calls, ``reserve``, ``defer``, ``ledger_add`` and
``ledger_usage``; :class:`ccpandas.client.shared.SharedState` chooses between them and
falls back from Redis to SQLite. What both need is here.

Example:
    >>> scope_matches("https://api.cc.email/v3 app=a", "https://api.cc.email/v3")
    True
"""

from __future__ import annotations

__all__ = ["KEEP_DAYS", "MAX_AHEAD", "scope_matches"]

#: A TAT further ahead than this is from a clock that jumped: it is reset to now.
MAX_AHEAD = 600.0
#: Days of ledger kept.
KEEP_DAYS = 35


def scope_matches(scope: str, wanted: str) -> bool:
    """A key matches itself; a bare base URL matches every key at that API.

    Example:
        >>> scope_matches("https://x/v3 app=a", "https://x/v3 app=b")
        False
    """
    return scope == wanted or (" " not in wanted and scope.startswith(wanted + " "))
