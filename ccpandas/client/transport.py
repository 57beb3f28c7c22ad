"""The one place where requests/urllib3 exceptions become a ccpandas ``TransportError``.

Modelled on httpx's ``map_httpcore_exceptions`` (``httpx/_transports/default.py``): the
client never looks at a requests exception anywhere else. :func:`map_transport_error`
says whether the request may have reached the server (``sent``), whether any retry could
help (``fatal``: a bad URL, a TLS failure, a host name that does not resolve), and a
short reason without URLs (they may carry PII) or headers.

The requests exception stays the ``__cause__`` of ours, for debugging, but disarmed:
the token in the request requests keeps on it is masked, and every frame of every
traceback in its chain (requests', urllib3's, http.client's: they hold the
``Authorization`` header as a local variable) is cleared, so a debugger, Sentry or
``%xmode Verbose`` finds no secret there.

Example:
    >>> import requests
    >>> exc = requests.exceptions.InvalidURL("bad")
    >>> error, fatal = map_transport_error(exc, "GET /v3/x", host="api.cc.email")
    >>> type(error).__name__, error.sent, fatal, str(error)
    ('TransportError', False, True, 'GET /v3/x: InvalidURL: bad')
"""

from __future__ import annotations

import socket
import traceback
from typing import Any

import requests
import urllib3

from ccpandas._secret import MASK
from ccpandas.errors import TransportError

__all__ = ["clear_chain", "map_transport_error", "mask_authorization"]

# requests errors that no retry can fix (bad URL, TLS failure): raised at once.
_FATAL = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


def mask_authorization(request: Any) -> None:
    """Mask the ``Authorization`` header of a (prepared) request in place, if it has one.

    Args:
        request: A ``requests`` request or prepared request (anything with ``headers``), or
            None; it is changed in place, so an error holding it never shows the token.

    Example:
        >>> r = requests.Request("GET", "http://h/", headers={"Authorization": "Bearer x"})
        >>> p = r.prepare(); mask_authorization(p); p.headers["Authorization"]
        'Bearer ********'
    """
    headers = getattr(request, "headers", None)
    if headers is not None and "Authorization" in headers:
        headers["Authorization"] = f"Bearer {MASK}"


def clear_chain(exc: BaseException | None) -> None:
    """Clear the local variables of every frame in the tracebacks of ``exc`` and of its
    ``__cause__``/``__context__`` chain (frames still running are left alone).

    The frames' file names and line numbers stay, so the traceback still prints.

    Args:
        exc: The exception whose tracebacks to clear (their frames' locals may hold the
            token), or None (nothing to do).
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if exc.__traceback__ is not None:
            traceback.clear_frames(exc.__traceback__)
        nxt = exc.__cause__ or exc.__context__
        if exc.__cause__ is not None and exc.__context__ is not None:
            clear_chain(exc.__context__)
        exc = nxt


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps: ``reason``, exceptions in ``args``, cause, context."""
    out: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(out) < 20:
        inner = todo.pop(0)
        if any(inner is seen for seen in out):
            continue
        out.append(inner)
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        todo.extend(a for a in inner.args if isinstance(a, BaseException))
        todo.extend(e for e in (inner.__cause__, inner.__context__) if e is not None)
    return out


def _innermost(exc: BaseException) -> BaseException:
    """The innermost cause of a requests error, following ``reason`` and ``args``."""
    inner: BaseException = exc
    for _ in range(10):
        nxt = getattr(inner, "reason", None)
        if not isinstance(nxt, BaseException):
            nxt = next((a for a in inner.args if isinstance(a, BaseException)), None)
        if nxt is None or nxt is inner:
            break
        inner = nxt
    return inner


def _reason(exc: BaseException) -> str:
    """What went wrong, without URLs (they may carry PII)."""
    inner = _innermost(exc)
    if isinstance(inner, urllib3.exceptions.NewConnectionError):
        detail = "could not connect"
        errno_text = str(inner).rpartition(":")[2].strip()
        if errno_text:
            detail += f" ({errno_text})"
        return detail
    text = str(inner.args[0]) if inner.args and isinstance(inner.args[0], str) else ""
    if "://" in text or "url:" in text:  # urllib3 messages that embed the URL
        text = ""
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def _was_sent(exc: requests.RequestException) -> bool:
    """False only when the request certainly never reached the server."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner: Any = exc.args[0] if exc.args else None
        inner = getattr(inner, "reason", inner)
        if isinstance(inner, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return False
    return True


def _unresolved(exc: BaseException) -> bool:
    """True when the host name did not resolve (a DNS failure: no retry can fix it)."""
    return any(
        isinstance(e, urllib3.exceptions.NameResolutionError | socket.gaierror) for e in _chain(exc)
    )


def map_transport_error(
    exc: requests.RequestException, label: str, *, host: str | None = None
) -> tuple[TransportError, bool]:
    """``(error, fatal)`` for a request that got no answer; ``fatal``: never retry it.

    The returned error has ``exc`` as ``__cause__``, disarmed (see the module
    docstring); raise it later, outside any ``except`` block.

    Args:
        exc: The ``requests`` error the attempt raised.
        label: The request, as ``"METHOD /path"`` (e.g. ``"GET /v3/contacts"``), for the
            message.
        host: The host the request went to, named when it does not resolve. None (the
            default) when unknown.

    Returns:
        ``(error, fatal)``: the :class:`~ccpandas.errors.TransportError` to raise, and True
        when no retry can fix it (a host name that does not resolve, a TLS failure, a bad
        URL).
    """
    for req in (getattr(exc, "request", None), getattr(exc.response, "request", None)):
        mask_authorization(req)
    if _unresolved(exc):
        reason = f"the host name {host} does not resolve (DNS lookup failed)"
        error = TransportError(
            f"{label}: {reason}; check the base URL", request=label, sent=False, reason=reason
        )
        fatal = True
    else:
        fatal = isinstance(exc, _FATAL)
        sent = False if fatal else _was_sent(exc)
        reason = _reason(exc)
        error = TransportError(f"{label}: {reason}", request=label, sent=sent, reason=reason)
    error.host = host
    clear_chain(exc)
    error.__cause__ = exc
    return error, fatal
