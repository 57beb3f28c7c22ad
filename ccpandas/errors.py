"""One exception tree for everything ccpandas raises.

::

    Exception
    └── CCError                         every ccpandas error (``result``: the run so far)
        ├── PlanError (ValueError)      bad input, found before anything is sent
        ├── ConfigError (ValueError)    a setting that cannot work (http to a remote host)
        ├── AuthError                   no token, refresh failed, 401 after a refresh
        │   ├── TokenStoreError         saved credentials cannot be read, written or locked
        │   └── UnauthorizedError       401 (also an APIError)
        ├── APIError                    the API answered with an error status
        │   ├── BadRequestError         400
        │   ├── UnauthorizedError       401 (also an AuthError)
        │   ├── ForbiddenError          403 (missing scope or privilege)
        │   ├── NotFoundError           404
        │   ├── ConflictError           409
        │   ├── UnsupportedMediaTypeError  415
        │   ├── RateLimitError          429
        │   │   ├── ThrottledError      429 ``throttled`` (retried automatically)
        │   │   ├── QuotaExceededError  429 ``quota_exceeded`` (carries ``reset_at``)
        │   │   │   └── QuotaShortError  a run needs more than today's quota has left
        │   │   └── TooManyActivitiesError  429 on activity POSTs: over 1,000 queued
        │   ├── ServerError             5xx
        │   └── UnusableAnswerError     2xx that cannot be used: not JSON, no activity id,
        │                               or another batch's activity id (a replayed answer)
        ├── TransportError              no answer: refused, dropped, timed out, unknown host
        ├── ActivityError               an activity ended failed / cancelled / timed_out
        ├── RunLockedError              another process is driving this run (holds its lock)
        ├── JournalError                the journal file is damaged, or cannot be written
        └── SnapshotInterrupted         a membership read stopped; ``snapshot_id`` continues

Every error carries what a user needs to act on it; none ever carries a secret: not in
its message, its attributes, its ``__cause__``/``__context__`` chain, nor in the local
variables of the frames of its traceback (what Sentry, IPython's ``%xmode Verbose`` or
``traceback.TracebackException(capture_locals=True)`` show). A transport failure keeps the
underlying requests exception as ``__cause__`` with its request's token masked and its
frames' locals cleared.
``APIError`` keeps ``status``, ``error_key``, ``error_message`` and ``request``
(``"POST /v3/activities/remove_list_memberships"``: method and path only).

Example:
    >>> try:
    ...     raise PlanError("column 'contact_id' not found", column="contact_id")
    ... except CCError as exc:
    ...     print(exc)
    column 'contact_id' not found
"""

from __future__ import annotations

import datetime as _dt
import inspect
import math
import numbers
from collections.abc import Collection, Iterable
from typing import Any

__all__ = [
    "APIError",
    "ActivityError",
    "AuthError",
    "BadRequestError",
    "CCError",
    "ConfigError",
    "ConflictError",
    "ForbiddenError",
    "JournalError",
    "NotFoundError",
    "PlanError",
    "QuotaExceededError",
    "QuotaShortError",
    "RateLimitError",
    "RunLockedError",
    "ServerError",
    "SnapshotInterrupted",
    "ThrottledError",
    "TokenStoreError",
    "TooManyActivitiesError",
    "TransportError",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "UnusableAnswerError",
    "error_entries",
    "error_for_response",
    "rate_limit_kind",
]


def refuse_unknown(given: Iterable[str], names: Collection[str], call: str) -> None:
    """A TypeError, as Python's for an unknown keyword, naming the first of ``given``
    that is not in ``names`` (a call's ``**options``) and listing those.

    Example:
        >>> refuse_unknown(["dry_ru"], {"dry_run", "wait"}, "f")
        Traceback (most recent call last):
        ...
        TypeError: f() got an unexpected keyword argument 'dry_ru'; its options are dry_run, wait
    """
    for name in given:
        if name not in names:
            known = ", ".join(sorted(names))
            raise TypeError(
                f"{call}() got an unexpected keyword argument {name!r}; its options are {known}"
            )


def short_repr(value: Any, width: int = 40) -> str:
    """How a bad value is named in an error message: its repr, cut to ``width``.

    Example:
        >>> short_repr("x" * 50, width=10)
        "'xxxxxx..."
    """
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def check_timeout(timeout: Any, name: str = "timeout") -> None:
    """TypeError unless ``timeout`` is None or a real number of seconds (bool is not);
    ValueError when it is negative or NaN.

    Example:
        >>> check_timeout(True)
        Traceback (most recent call last):
        ...
        TypeError: timeout must be None or seconds (an int or float), not True (bool)
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(
            f"{name} must be None or seconds (an int or float), not "
            f"{short_repr(timeout, 60)} ({type(timeout).__name__})"
        )
    if math.isnan(float(timeout)) or timeout < 0:
        raise ValueError(f"{name} must be None or seconds >= 0, not {timeout!r}")


class CCError(Exception):
    """Base class of every ccpandas error.

    When a run stops on an error, ``result`` holds the :class:`~ccpandas.RemovalResult`
    so far (what was sent, what was not), ready for ``result.resume()``.
    """

    result: Any = None


class PlanError(CCError, ValueError):
    """The input cannot be planned; raised before any request is sent.

    ``column`` and ``values`` (a few offending values) say where to look.

    Args:
        message: What went wrong, for people (the exception's text).
        column: The input column concerned, e.g. ``"contact_id"``; None (the default) when
            none is.
        values: A few offending values, e.g. the unknown list names; None (the default) when
            there are none to show.
        every_row: True when ``values`` are the values of every offending row of
            ``column`` (so ``df[~df[column].isin(exc.values)]`` leaves them all out), not
            a few examples. Default False.

    Example:
        >>> PlanError("unknown list name: 'Promo'", values=["Promo"]).values
        ['Promo']
    """

    def __init__(
        self,
        message: str,
        *,
        column: str | None = None,
        values: Any = None,
        every_row: bool = False,
    ) -> None:
        super().__init__(message)
        self.column = column
        self.values = values
        self.every_row = every_row


class ConfigError(CCError, ValueError):
    """A setting that cannot work, e.g. a plain ``http://`` base URL to a remote host
    (a token must never cross a network unencrypted)."""


class AuthError(CCError):
    """No usable credentials: missing token, failed refresh, or refused after refresh.

    ``error_key`` names the OAuth2 error where there is one (``invalid_grant``,
    ``access_denied``, ``expired_token`` ...), or ``transport`` when the authorization
    server gave no answer.

    Args:
        args: The message (and any more exception arguments), as for any exception.
        error_key: The OAuth2 error's name, e.g. ``"invalid_grant"``; None (the default)
            when there is none.

    Example:
        >>> AuthError("the refresh token was refused", error_key="invalid_grant").error_key
        'invalid_grant'
    """

    error_key: str | None = None
    # Set by a login flow that showed how the login ended; the login then adds nothing.
    _shown: bool = False

    def __init__(self, *args: Any, error_key: str | None = None) -> None:
        super().__init__(*args)
        if error_key is not None or "error_key" not in vars(self):
            # UnauthorizedError: APIError.__init__ already set the API's error_key.
            self.error_key = error_key


class TokenStoreError(AuthError):
    """The saved credentials could not be read, written or locked (disk full, a folder
    without permission, another process holding the lock, a keyring that refused).

    ``error_key`` is ``"token_store"``. The message names the file and the operating
    system's reason, never a token.

    Args:
        message: What went wrong, naming the file and the operating system's reason (never a
            token).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, error_key="token_store")


class TransportError(CCError):
    """The request got no usable answer (connection refused or dropped, timeout).

    Args:
        message: What went wrong, for people (the exception's text).
        request: The request, as ``"METHOD /path"``; None (the default) when unknown.
        sent: True (the default) when the request may have reached the server (the outcome
            is unknown), False when it certainly did not.
        reason: The underlying error's type and message, without URLs or headers, e.g.
            ``"could not connect (Connection refused)"``; None (the default) when unknown.
        host: The host that was asked, e.g. ``"api.cc.email"``; None (the default) when
            unknown.
    """

    def __init__(
        self,
        message: str,
        *,
        request: str | None = None,
        sent: bool = True,
        reason: str | None = None,
        host: str | None = None,
    ) -> None:
        super().__init__(message)
        self.request = request
        self.sent = sent
        self.reason = reason
        self.host = host


class APIError(CCError):
    """The API answered with an error status.

    Each argument is kept as the attribute of the same name. The client builds these
    errors (:func:`error_for_response`); catch them, or their subclasses.

    Args:
        status: The HTTP status of the answer, e.g. ``404``.
        error_key: The ``error_key`` of the answer's first error entry, e.g.
            ``"not_found"``; None when the body had none.
        error_message: The ``error_message`` of that entry, as the API wrote it; None when
            the body had none.
        request: The request that failed, as ``"METHOD /path"`` (never headers, never a
            token); None when unknown.
        errors: Every entry of the answer's error body (dicts with ``error_key`` and
            ``error_message``). None (the default) is none.
        next_step: What to do now, added to the message: for a run, e.g. log in again
            and the ``ccpandas.resume(...)`` call that continues it. None (the default)
            adds nothing.

    Example:
        >>> str(APIError(404, "not_found", "no such list", request="GET /v3/contact_lists/x"))
        'HTTP 404 not_found for GET /v3/contact_lists/x: no such list'
    """

    def __init__(
        self,
        status: int,
        error_key: str | None = None,
        error_message: str | None = None,
        *,
        request: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        next_step: str | None = None,
    ) -> None:
        self.status = status
        self.error_key = error_key
        self.error_message = error_message
        self.request = request
        self.errors = errors or []
        #: What to do now (the run layer says what was done and how to continue).
        self.next_step = next_step
        text = self._describe()
        super().__init__(f"{text}. {next_step}" if next_step else text)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass that keeps this constructor documents its arguments with this
        # class's own Args section (the API reference shows them on every subclass).
        super().__init_subclass__(**kwargs)
        doc = inspect.cleandoc(cls.__doc__ or "")
        if "__init__" not in cls.__dict__ and "Args:" not in doc:
            own = inspect.cleandoc(APIError.__doc__ or "")
            args = own[own.index("Args:") : own.index("\n\nExample:")]  # up to the next section
            cls.__doc__ = f"{doc}\n\n{args}"

    def _describe(self) -> str:
        where = f" for {self.request}" if self.request else ""
        key = f" {self.error_key}" if self.error_key else ""
        msg = f": {self.error_message}" if self.error_message else ""
        return f"HTTP {self.status}{key}{where}{msg}"


class BadRequestError(APIError):
    """400: the API rejected the request body or parameters."""


class UnauthorizedError(APIError, AuthError):
    """401: the token is missing, wrong, expired or revoked (and refreshing did not help).

    Example:
        >>> str(UnauthorizedError(401, "unauthorized", next_step="Log in again"))
        'HTTP 401 unauthorized. Log in again'
    """


class ForbiddenError(APIError):
    """403: the token lacks a scope (``contact_data``) or the user a privilege."""


class NotFoundError(APIError):
    """404: no such list, contact, tag or activity."""


class ConflictError(APIError):
    """409: the request conflicts with the account's state."""


class UnsupportedMediaTypeError(APIError):
    """415: the body was not sent as JSON."""


class RateLimitError(APIError):
    """429: a rate limit answered."""


class ThrottledError(RateLimitError):
    """429 ``throttled``: over 4 requests per second. The client retries it."""


class QuotaExceededError(RateLimitError):
    """429 ``quota_exceeded``: the 10,000-per-day quota is spent.

    ``reset_at`` is the next 00:00 UTC, when the quota resets. Never retried blindly.

    Args:
        args: ``status``, ``error_key`` and ``error_message``, as for :class:`APIError`.
        reset_at: When the quota resets (UTC). None (the default) is the next 00:00 UTC.
        kwargs: ``request``, ``errors`` and ``next_step`` (e.g. the
            ``ccpandas.resume(...)`` call that continues the run), as for :class:`APIError`.
    """

    def __init__(self, *args: Any, reset_at: _dt.datetime | None = None, **kwargs: Any) -> None:
        self.reset_at = reset_at or next_utc_midnight()
        super().__init__(*args, **kwargs)

    def _describe(self) -> str:
        # The reset time once, from reset_at: the server's own message (kept in
        # error_message) states it too, in its own format, so it is not repeated here.
        where = f" for {self.request}" if self.request else ""
        reset = f"{self.reset_at:%Y-%m-%d %H:%M} UTC"
        return (
            f"HTTP {self.status} {self.error_key or 'quota_exceeded'}{where}: the daily "
            f"request quota is spent; it resets at {reset}"
        )


#: Where a resume's quota check stops it (:class:`QuotaShortError`'s ``before``).
SENDING_THE_REST = "sending the rest"
#: Where :meth:`~ccpandas.RemovalResult.retry_failed`'s quota check stops it.
SENDING_FAILED_AGAIN = "sending the failed batches again"
#: Where an undo's quota check stops it (it takes no ``wait_for_quota``).
UNDOING = "undoing anything"


class QuotaShortError(QuotaExceededError):
    """A run needs more requests than are left of today's quota on its key: refused
    before its first list read (or, for a plan read earlier, before its first change),
    so nothing is spent on a run that would stop half way. ``wait_for_quota=True``
    waits for the reset instead. No API answer: ``status`` is the 429 the quota would
    give, ``error_key`` is ``"quota_short"``.

    Args:
        needed: The requests the run needs from now on, e.g. ``412``.
        used: The requests already counted today on the key (the shared ledger).
        limit: The daily quota. Default 10,000.
        detail: What the requests are, for the message, e.g. ``"about 412 requests:
            the list reads, sends, polls and a re-read to verify"``; empty (the
            default) says only the number.
        reset_at: When the quota resets (UTC). None (the default) is the next 00:00 UTC.
        before: Where the run stopped. Default ``"its first list read"`` (a run made
            from a plan read earlier stops before ``"its first change"``, a resume before
            ``"sending the rest"``, and the message says to resume it then; a retry of
            failed batches before ``"sending the failed batches again"``, to retry then).

    Example:
        >>> err = QuotaShortError(412, used=9_700)
        >>> err.left, isinstance(err, QuotaExceededError)
        (300, True)
        >>> str(err).split(". ")[0]
        'this run needs about 412 requests, but 9,700 of 10,000 are used today on this key'
    """

    def __init__(
        self,
        needed: int,
        *,
        used: int,
        limit: int = 10_000,
        detail: str = "",
        reset_at: _dt.datetime | None = None,
        before: str = "its first list read",
    ) -> None:
        self.needed, self.used, self.limit = int(needed), int(used), int(limit)
        self.detail = detail or f"about {self.needed:,} requests"
        self.before = before
        super().__init__(429, "quota_short", None, reset_at=reset_at)

    @property
    def left(self) -> int:
        """Requests left today (never below 0)."""
        return max(0, self.limit - self.used)

    def _describe(self) -> str:
        again = "resume" if self.before == SENDING_THE_REST else "run"
        # retry_failed() and undo() take no wait_for_quota
        advice = {SENDING_FAILED_AGAIN: "call retry_failed() then", UNDOING: "undo it then"}.get(
            self.before,
            f"{again} it then, pass wait_for_quota=True to wait for the reset, or split the run",
        )
        return (
            f"this run needs {self.detail}, but {self.used:,} of {self.limit:,} are used "
            f"today on this key. Only {self.left:,} are left, so it stopped before "
            f"{self.before}. The quota resets at {self.reset_at:%Y-%m-%d %H:%M} UTC: {advice}"
        )


class TooManyActivitiesError(RateLimitError):
    """429 on an activity POST: the account already has 1,000 queued activities."""


class ServerError(APIError):
    """5xx: the service failed. Retried with backoff."""


class UnusableAnswerError(APIError):
    """The API answered success (``status`` 2xx), but the answer cannot be used: its body
    is not JSON (``error_key`` ``invalid_json``), an activity POST's 201 has no
    ``activity_id`` (``no_activity_id``), or names an activity another batch already
    follows (``replayed_answer``: a cache or proxy answered with an earlier 201).

    An activity POST answered this way may have created an activity: its batch is
    uncertain and is sent again (both bulk actions are idempotent), never followed.

    Args:
        args: ``status``, ``error_key`` and ``error_message``, as for :class:`APIError`.
        activity_id: The activity id the answer names, when one could be read (kept as
            claimed, so no other batch follows it); None (the default) when none.
        kwargs: ``request`` and ``errors``, as for :class:`APIError`.

    Example:
        >>> err = UnusableAnswerError(201, "no_activity_id", "no activity_id in the 201")
        >>> err.status, err.activity_id
        (201, None)
    """

    def __init__(self, *args: Any, activity_id: str | None = None, **kwargs: Any) -> None:
        self.activity_id = activity_id
        super().__init__(*args, **kwargs)


class ActivityError(CCError):
    """One or more activities ended ``failed``, ``cancelled`` or ``timed_out``.

    ``activities`` holds the failed activity records (id, state, errors).

    Args:
        message: What went wrong, for people (the exception's text).
        activities: The failed activities' records
            (:class:`~ccpandas.report.progress.ActivityProgress`: id, state, errors). None (the
            default) is none.
    """

    def __init__(self, message: str, *, activities: list[Any] | None = None) -> None:
        super().__init__(message)
        self.activities = activities or []


class RunLockedError(CCError):
    """Another process is driving this run right now (it holds the run's lock).

    Also importable as ``ccpandas.store.journal.RunLockedError``.
    """


class JournalError(CCError):
    """The run journal's SQLite file cannot be used: damaged (a corrupted page), or a
    write failed (a full disk). The message names the file and what to do; ``path`` is
    the file.

    Args:
        message: What went wrong and what to do, for people (the exception's text).
        path: The journal file, e.g. ``~/.local/share/ccpandas/journal.sqlite3``.

    Example:
        >>> JournalError("the run journal is damaged", path="journal.sqlite3").path
        'journal.sqlite3'
    """

    def __init__(self, message: str, *, path: Any = None) -> None:
        super().__init__(message)
        self.path = path


class SnapshotInterrupted(CCError):
    """A membership snapshot read was interrupted (Ctrl-C) before its end; pass
    ``snapshot=exc.snapshot_id`` to continue it without reading again what is journaled.

    Args:
        message: What went wrong, for people (the exception's text).
        snapshot_id: The interrupted read's id, e.g. ``"snap-20250301-231501-7f3a2c"``, to
            pass as ``snapshot=``; None (the default) when nothing was journaled.
    """

    def __init__(self, message: str, snapshot_id: str | None = None) -> None:
        super().__init__(message)
        self.snapshot_id = snapshot_id


def next_utc_midnight(now: _dt.datetime | None = None) -> _dt.datetime:
    """The next 00:00 UTC after ``now`` (default: the current time)."""
    now = now or _dt.datetime.now(_dt.UTC)
    tomorrow = (now.astimezone(_dt.UTC) + _dt.timedelta(days=1)).date()
    return _dt.datetime.combine(tomorrow, _dt.time(0), tzinfo=_dt.UTC)


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    415: UnsupportedMediaTypeError,
}
#: A 429's class, by :func:`rate_limit_kind`.
_BY_RATE_LIMIT: dict[str, type[APIError]] = {
    "throttled": ThrottledError,
    "too_many_activities": TooManyActivitiesError,
    "quota_exceeded": QuotaExceededError,
}


def error_entries(body: Any) -> list[dict[str, Any]]:
    """The entries of an error body, whatever its shape, as ``error_key`` /
    ``error_message`` dicts.

    The service answers in two shapes: its application's errors are an array of
    ``{"error_key", "error_message"}`` objects, its API gateway's (401, 429, 504) a
    single object, sometimes with only a ``message`` (``{"message": "Limit
    Exceeded"}``), which is taken as the ``error_message``.

    Args:
        body: The answer's decoded JSON: an array, an object, or anything else (text,
            None), which has no entries.

    Returns:
        The entries; each keeps its other fields.

    Example:
        >>> error_entries({"message": "Limit Exceeded"})
        [{'message': 'Limit Exceeded', 'error_message': 'Limit Exceeded'}]
        >>> error_entries([{"error_key": "contacts.api.not_found", "error_message": "x"}])
        [{'error_key': 'contacts.api.not_found', 'error_message': 'x'}]
    """
    raw = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    entries = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        if "error_message" not in entry and isinstance(entry.get("message"), str):
            entry = {**entry, "error_message": entry["message"]}
        entries.append(entry)
    return entries


def rate_limit_kind(error_key: str | None) -> str:
    """Which limit a 429 with ``error_key`` reports: ``"throttled"`` (per second, retried),
    ``"too_many_activities"`` (the queue of 1,000 activities) or ``"quota_exceeded"``
    (the daily quota, never retried before 00:00 UTC).

    A 429 with no ``error_key`` is the daily quota: the gateway's per-second refusal
    always says ``throttled``, while its quota refusal (``{"message": "Limit
    Exceeded"}``) names no key. Retrying it every few seconds would only burn the next
    day's requests.

    Args:
        error_key: The ``error_key`` of the 429's body, or None when it has none.

    Example:
        >>> rate_limit_kind("throttled"), rate_limit_kind(None)
        ('throttled', 'quota_exceeded')
        >>> rate_limit_kind("too_many_activities")
        'too_many_activities'
    """
    if error_key == "throttled":
        return "throttled"
    if error_key is None or error_key == "quota_exceeded":
        return "quota_exceeded"
    return "too_many_activities"


def error_for_response(
    status: int, body: Any, *, request: str | None = None, now: _dt.datetime | None = None
) -> APIError:
    """Build the typed error for an HTTP error answer.

    Args:
        status: The HTTP status of the answer, e.g. ``429``.
        body: The answer's decoded JSON: the documented
            ``[{"error_key": ..., "error_message": ...}]`` array, the gateway's single
            object (``{"error_key": "throttled", ...}``, ``{"message": "Limit
            Exceeded"}``), or anything else a proxy may send (text, None).
        request: The request, as ``"METHOD /path"``, for the message; None (the default)
            when unknown.
        now: The current time, for a quota error's reset time. None (the default) is now.

    Returns:
        The :class:`APIError` subclass for the status and ``error_key`` (e.g.
        :class:`ThrottledError` for ``429 throttled``), to raise.

    Example:
        >>> body = [{"error_key": "throttled", "error_message": "slow"}]
        >>> type(error_for_response(429, body)).__name__
        'ThrottledError'
    """
    errors = error_entries(body)
    key = errors[0].get("error_key") if errors else None
    message = errors[0].get("error_message") if errors else None
    kwargs: dict[str, Any] = {"request": request, "errors": errors}
    cls = ServerError if status >= 500 else _BY_STATUS.get(status, APIError)
    if status == 429:
        cls = _BY_RATE_LIMIT[rate_limit_kind(key)]
        if cls is QuotaExceededError:
            kwargs["reset_at"] = next_utc_midnight(now)
    return cls(status, key, message, **kwargs)
