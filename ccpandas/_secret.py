"""A string that will not show itself: tokens live in :class:`Secret` so no repr leaks them.

Example:
    >>> s = Secret("abc123")
    >>> s
    Secret('********')
    >>> f"{s}"
    '********'
    >>> s.reveal()
    'abc123'

Files that keep data (the journal, the quota ledger) are made private by
:func:`private_file`: 0600, whatever the umask and the folder's mode.

A token pasted with a line break, or typed with a character no HTTP header can carry,
is named by :func:`header_problem` (where, never what), before it reaches the HTTP stack
whose errors would quote it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import unicodedata
from pathlib import Path
from typing import Any, NoReturn

from ccpandas._config import CLIENT_ID_ENV, TOKEN_ENV, env
from ccpandas.errors import ConfigError

__all__ = [
    "MASK",
    "Secret",
    "env_client_id",
    "header_problem",
    "jwt_parts",
    "looks_like_token",
    "private_file",
]

#: What SQLite adds beside a database file (same data: same mode).
_SQLITE_SIDES = ("-wal", "-shm", "-journal")

MASK = "********"


class Secret:
    """Holds a secret string; ``repr``, ``str`` and ``format`` show only a mask.

    Only :meth:`reveal` returns the value, so every place that uses it is explicit
    and easy to find (``grep reveal``). Pickling is refused so a secret cannot be
    written to a journal or a notebook by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself. Use it only to build the one header that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would write the secret out)")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The header and claims of a JWT-shaped token (nothing verified), or None for any
    other token. Never raises: an error's traceback would show pieces of the token.

    Example:
        >>> jwt_parts("eyJhbGciOiJSUzI1NiJ9.eyJjaWQiOiJteS1hcHAifQ.c2ln")
        ({'alg': 'RS256'}, {'cid': 'my-app'})
        >>> jwt_parts("not-a-jwt") is None
        True
    """
    try:  # a token of other than three segments fails the unpacking
        header, claims = (
            json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
            for s in _jwt_segments(token)[:2]
        )
    except Exception:  # whatever it is, it is not a JWT
        return None
    if isinstance(header, dict) and isinstance(claims, dict):
        return header, claims
    return None


def _jwt_segments(token: str) -> list[str]:
    """The three dot-separated segments of a JWT-shaped ``token``, or [] for any other."""
    segments = token.split(".")
    return segments if len(segments) == 3 else []


def header_problem(value: str) -> str | None:
    """Why ``value`` (a token, already stripped) cannot go into an HTTP header, or None.

    Says what kind of character is wrong and where, never the value itself: line breaks
    and other control characters (a copy-paste), and anything outside printable ASCII
    (OAuth bearer tokens are ASCII; ``http.client`` refuses control characters and
    cannot encode the rest, and its errors quote the whole header).

    Args:
        value: The token to check, e.g. what a user pasted.

    Example:
        >>> header_problem("abc.def-123") is None
        True
        >>> header_problem("abc\\r\\ndef")
        'a line break (character 4 of 8)'
        >>> header_problem("abc\\u20ac")
        'a character outside ASCII (character 4 of 4)'
    """
    for position, char in enumerate(value, 1):
        if char in "\r\n":
            kind = "a line break"
        elif unicodedata.category(char) == "Cc":
            kind = "a control character" if char != "\t" else "a tab"
        elif ord(char) > 126:
            kind = "a character outside ASCII"
        else:
            continue
        return f"{kind} (character {position} of {len(value)})"
    return None


def looks_like_token(value: str) -> bool:
    """True when ``value`` is shaped like a JWT, as Constant Contact's access tokens
    are: a string given for a client id or a URL that an error must not quote back.

    Example:
        >>> looks_like_token("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"), looks_like_token("app")
        (True, False)
    """
    text = value.strip()
    return text.startswith("eyJ") and bool(_jwt_segments(text))


def env_client_id() -> str | None:
    """``CC_CLIENT_ID`` (None when unset); a ConfigError naming it, not quoting it, when
    it holds an access token: pasted into the wrong variable, it would name the quota
    budget, a login's client id and files with the token.

    Example:
        >>> from unittest import mock
        >>> token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
        >>> with mock.patch.dict(os.environ, {"CC_CLIENT_ID": token}):
        ...     env_client_id()
        Traceback (most recent call last):
        ccpandas.errors.ConfigError: CC_CLIENT_ID looks like an access token (41 ...
    """
    value = env(CLIENT_ID_ENV)
    if value is not None and looks_like_token(value):
        raise ConfigError(
            f"{CLIENT_ID_ENV} looks like an access token ({len(value)} characters, not "
            f"shown), not your application's API key: put the token in {TOKEN_ENV}"
        )
    return value


def private_file(path: Path) -> Path:
    """Create ``path`` (and its folder) readable by this user only, before anyone
    writes to it; make an existing one (and SQLite's ``-wal``, ``-shm``, ``-journal``
    beside it) private too. Returns ``path``.

    Needed although a new data folder is made 0700: a folder that already exists
    (0755, made by hand or by an older version) keeps its mode, and files created in
    it get 0644 from the usual umask. SQLite creates its side files with the mode of
    the database file, so making that one 0600 first is enough for new files.

    Args:
        path: The file to be, e.g. ``journal.sqlite3`` in the data directory.

    Example:
        >>> import tempfile
        >>> p = private_file(Path(tempfile.mkdtemp()) / "new" / "journal.sqlite3")
        >>> oct(p.stat().st_mode & 0o777)
        '0o600'
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Born private: created with mode 0600 (the umask can only remove bits). Never
    # opened when it exists: closing any descriptor of a file drops every POSIX lock
    # this process holds on it, SQLite's locks of other connections included.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY, 0o600))
    for each in (path, *(path.with_name(path.name + side) for side in _SQLITE_SIDES)):
        # A side file may not exist; another user's file is not ours to change.
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if each.stat().st_mode & 0o077:
                os.chmod(each, 0o600)
    return path
