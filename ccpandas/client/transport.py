"""The one place where exceptions of the HTTP stack become a ccpandas ``TransportError``.

Modelled on httpx's ``map_httpcore_exceptions`` (``httpx/_transports/default.py``): the
client never looks at a requests exception anywhere else. :func:`map_transport_error`
says whether the request may have reached the server (``sent``), whether any retry could
help (``fatal``: a bad URL, a TLS failure, a host name that does not resolve), and a
short reason without URLs (they may carry PII) or headers.

The requests exception stays the ``__cause__`` of ours, for debugging, but disarmed
(:func:`disarm`): the token in the request requests keeps on it is masked, a
``Bearer ...`` quoted in its text (or its causes') is masked, and every frame of every
traceback in its chain (requests', urllib3's, http.client's: they hold the
``Authorization`` header as a local variable) is cleared, so a debugger, Sentry or
``%xmode Verbose`` finds no secret there.

Any other exception the stack raises (``http.client``'s ``ValueError("Invalid header
value b'Bearer ...'")``, a ``UnicodeEncodeError`` quoting the header) is mapped here too,
by its type alone: its text, which may quote a header, is never shown nor chained.

Example:
    >>> import requests
    >>> exc = requests.exceptions.InvalidURL("bad")
    >>> error, fatal = map_transport_error(exc, "GET /v3/x", host="api.cc.email")
    >>> type(error).__name__, error.sent, fatal, str(error)
    ('TransportError', False, True, 'GET /v3/x: InvalidURL: bad')
"""

from __future__ import annotations

import re
import socket
import traceback
from typing import Any

import requests
import urllib3

from ccpandas._secret import MASK, Secret
from ccpandas.errors import TransportError

__all__ = ["SecretAuth", "clear_chain", "disarm", "map_transport_error", "mask_authorization"]

# requests errors that no retry can fix (bad URL, TLS failure): raised at once.
_FATAL = (
    requests.exceptions.SSLError,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
)


class SecretAuth(requests.auth.AuthBase):
    """Sets the ``Authorization`` header, kept as a Secret until the request is built:
    ``secret`` as a Bearer token, or with ``user`` HTTP Basic credentials (a client
    secret).

    Passed as ``auth=`` rather than as a header so requests' ``.netrc`` lookup can never
    replace it, and so no frame of ours holds the credential in clear (requests'
    HTTPBasicAuth keeps its password as a plain attribute). The Basic header is built
    per request, inside the send's error handling: a user name that cannot be encoded
    fails there, disarmed, and not in a constructor whose frames hold the secret.

    Example:
        >>> SecretAuth(Secret("abc")), SecretAuth(Secret("s3cret"), user="app")
        (SecretAuth(********), SecretAuth(********))
    """

    def __init__(self, secret: Secret, user: str | None = None) -> None:
        self._secret, self._user = secret, user

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._user is None:
            r.headers["Authorization"] = f"Bearer {self._secret.reveal()}"
        else:
            r.headers["Authorization"] = requests.auth._basic_auth_str(
                self._user, self._secret.reveal()
            )
        return r

    def __repr__(self) -> str:
        return f"SecretAuth({MASK})"


def mask_authorization(request: Any) -> None:
    """Mask the ``Authorization`` header of a (prepared) request in place, if it has one,
    and drop its body (an OAuth form holds a refresh token, a code or a client secret).

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
    if getattr(request, "body", None) is not None:
        request.body = None


# A bearer or basic credential quoted in an error's text (as http.client quotes a header).
_QUOTED_CREDENTIAL = re.compile(r"(Bearer|Basic)(\s+|\\x20)[^\s'\"]+")
# Functions of the HTTP stack that run before anything goes on the wire: an error
# raised inside them means the request was never sent (headers are buffered until
# http.client's endheaders).
_BEFORE_SENDING = frozenset(
    {"putrequest", "putheader", "prepare", "prepare_request", "prepare_headers", "prepare_url"}
)


def _mask_text(text: str) -> str:
    """``text`` with any quoted bearer or basic credential masked.

    Example:
        >>> _mask_text("Invalid header value b'Bearer abc\\\\n'")
        "Invalid header value b'Bearer ********'"
    """
    return _QUOTED_CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)


def disarm(exc: BaseException) -> None:
    """Make ``exc`` and its chain safe to show: the requests they keep masked, quoted
    credentials in their text masked, their frames' local variables cleared.

    Args:
        exc: An exception raised by the HTTP stack, e.g. a ``requests.ConnectionError``
            or a ``KeyboardInterrupt`` that landed inside ``http.client``.

    Example:
        >>> exc = requests.exceptions.InvalidHeader("Invalid value 'Bearer abc'")
        >>> disarm(exc); str(exc)
        "Invalid value 'Bearer ********'"
    """
    for inner in _chain(exc):
        for req in (
            getattr(inner, "request", None),
            getattr(getattr(inner, "response", None), "request", None),
        ):
            mask_authorization(req)
        if any(isinstance(a, str) for a in inner.args):
            inner.args = tuple(_mask_text(a) if isinstance(a, str) else a for a in inner.args)
    clear_chain(exc)


def clear_chain(exc: BaseException | None) -> None:
    """Clear the local variables of every frame in the tracebacks of ``exc`` and of its
    ``__cause__``/``__context__`` chain (frames still running are left alone).

    The frames' file names and line numbers stay, so the traceback still prints.

    Args:
        exc: The exception whose tracebacks to clear (their frames' locals may hold the
            token), or None (nothing to do).
    """
    for inner in _chain(exc):
        if inner.__traceback__ is not None:
            traceback.clear_frames(inner.__traceback__)


def _chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and all it wraps, each once: ``reason``, exceptions in ``args``, cause,
    context (and theirs)."""
    found: dict[int, BaseException] = {}  # by id: the objects are kept alive meanwhile
    todo: list[Any] = [exc]
    while todo:
        inner = todo.pop()
        if isinstance(inner, BaseException) and id(inner) not in found:
            found[id(inner)] = inner
            todo += [getattr(inner, "reason", None), *inner.args]
            todo += [inner.__cause__, inner.__context__]
    return list(found.values())


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
        errno_text = str(inner).rpartition(":")[2].strip()
        return f"could not connect ({errno_text})" if errno_text else "could not connect"
    text = str(inner.args[0]) if inner.args and isinstance(inner.args[0], str) else ""
    if "://" in text or "url:" in text:  # urllib3 messages that embed the URL
        text = ""
    return f"{type(inner).__name__}: {text}" if text else type(inner).__name__


def _raised_before_sending(exc: BaseException) -> bool:
    """True when ``exc`` was raised while the request was still being built (nothing
    went on the wire): inside requests' ``prepare*`` or http.client's ``put*``."""
    frames = traceback.walk_tb(exc.__traceback__)
    return any(frame.f_code.co_name in _BEFORE_SENDING for frame, _ in frames)


def _map_foreign(exc: BaseException, label: str, host: str | None) -> TransportError:
    """The error for an exception that is not requests' own: named by its type only
    (its text may quote a header), not chained, its frames cleared. Never retried: it
    comes from what was asked, not from the network."""
    sent = not _raised_before_sending(exc)
    clear_chain(exc)
    reason = f"{type(exc).__name__} in the HTTP library"
    where = "before sending" if not sent else "perhaps after sending"
    return TransportError(
        f"{label}: {reason}, {where} (its text is not shown: it may quote a header)",
        request=label,
        sent=sent,
        reason=reason,
        host=host,
    )


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
    exc: Exception, label: str, *, host: str | None = None
) -> tuple[TransportError, bool]:
    """``(error, fatal)`` for a request that got no answer; ``fatal``: never retry it.

    The returned error has a requests ``exc`` as ``__cause__``, disarmed (see the module
    docstring); any other exception is named by its type only, and not chained. Raise
    the error later, outside any ``except`` block.

    Args:
        exc: What the attempt raised: a ``requests`` error, or any other exception of
            the HTTP stack (``http.client``'s ``ValueError`` for a bad header...).
        label: The request, as ``"METHOD /path"`` (e.g. ``"GET /v3/contacts"``), for the
            message.
        host: The host the request went to, named when it does not resolve. None (the
            default) when unknown.

    Returns:
        ``(error, fatal)``: the :class:`~ccpandas.errors.TransportError` to raise, and True
        when no retry can fix it (a host name that does not resolve, a TLS failure, a bad
        URL).
    """
    if not isinstance(exc, requests.RequestException):
        return _map_foreign(exc, label, host), True
    disarm(exc)
    advice, fatal = "", isinstance(exc, _FATAL)
    if _unresolved(exc):
        reason = f"the host name {host} does not resolve (DNS lookup failed)"
        advice, fatal = "; check the base URL", True
    else:
        reason = _reason(exc)
    sent = not fatal and _was_sent(exc)
    error = TransportError(
        f"{label}: {reason}{advice}", request=label, sent=sent, reason=reason, host=host
    )
    error.__cause__ = exc
    return error, fatal
