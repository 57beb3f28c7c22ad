"""The emulator's run-time settings: limits, speed, faults and choices about unknowns.

All of them can be given to ``Emulator(...)`` and changed while it runs with
``Emulator.configure(...)``. ``0`` and ``None`` both switch a limit off.

Example:
    >>> s = Settings().replace(rate=0, error_rate=0.1)
    >>> s.rate is None, s.error_rate
    (True, 0.1)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["DEFAULT_SPEED", "Settings"]

#: Items (contacts) an activity processes per second by default.
DEFAULT_SPEED = 2000.0
#: How long a new activity stays ``initialized``, counted in items at the current speed
#: (0.25 s at the default speed; almost nothing at a huge test speed).
START_DELAY_ITEMS = 500.0

_FRACTIONS = ("error_rate", "spike_rate", "drop_rate", "fail_rate", "timeout_rate", "keep_rate")
_OFF_WHEN_ZERO = (
    "rate",
    "daily_quota",
    "max_queued_activities",
    "token_expires_after",
    "access_token_lifetime",
    "token_rate",
    "unknown_list_status",
)

#: Settings that pick one of a few shapes (the first is the default).
_CHOICES = {
    "error_shape": ("real", "array"),
    "quota_error": ("object", "limit_exceeded"),
    "timestamps": ("seconds", "milliseconds"),
    "activity_errors": ("strings", "objects"),
    "activity_shape": ("full", "sparse"),
    "last_page_links": ("empty", "absent"),
    "access_tokens": ("jwt", "opaque"),
    "activity_answers": ("json", "truncated", "no_activity_id", "replay"),
    "activity_paging": ("normal", "repeating"),
    "contact_paging": ("stable", "offset"),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting that ``Emulator.configure`` can change. See the emulator guide.

    Limits come first, then processing, faults, answers to unknown ids and the OAuth2
    server (:mod:`ccpandas.emulator.oauth`). ``0`` and ``None`` both switch a limit off.

    Args:
        rate: Requests per second before 429 ``throttled``. Default 4; 0 or None: no limit.
        rate_algorithm: How the rate is counted: ``"bucket"`` (the default: a token bucket
            of ``rate`` tokens) or ``"sliding"`` (at most ``rate`` requests in any
            one-second window, stricter).
        daily_quota: Requests per UTC day of the emulator's clock before 429
            ``quota_exceeded``. Default 10,000; 0 or None: no limit.
        quota_left: Requests accepted from the moment it is set (then 429
            ``quota_exceeded`` in the daily quota's shape, its message naming the setting),
            whatever the day: a test's "N left today" that a midnight during the test
            cannot refill, as ``daily_quota=quota_used + N`` can. 0: none left. None (the
            default): only ``daily_quota``.
        max_queued_activities: Unfinished activities before activity POSTs get 429. Default
            1,000; 0 or None: no limit.
        speed: Items (contacts) an activity processes per second. Default 2,000.
        start_delay: Seconds a new activity stays ``initialized``. None (the default) is
            ``500 / speed``.
        concurrency: Activities processed at the same time. Default 1.
        error_rate: The fraction of requests answered 500 or 503 before reaching the
            endpoint (nothing happens), e.g. ``0.1``. Default 0.
        latency: Seconds added before every answer. Default 0.
        spike_rate: The fraction of answers delayed ``spike_latency`` seconds more. Default
            0.
        spike_latency: Seconds a spike adds. Default 5.
        drop_rate: The fraction of requests handled, then left with no answer (the
            connection is closed). Default 0.
        fail_rate: The fraction of activities that end ``failed``. Default 0.
        timeout_rate: The fraction of activities that end ``timed_out``. Default 0;
            ``fail_rate + timeout_rate`` is at most 1.
        keep_rate: The fraction of removals (one contact from one list) that a removal
            activity silently does not do, while still ending ``completed``. Default 0.
        token_expires_after: Accepted requests after which a token answers 401. None (the
            default) or 0: never.
        unknown_list_status: The status for unknown or deleted list, tag or segment ids in a
            POST: 404 or 400 for both POSTs. None (the default) or 0: 404 for removal, 400
            for add, as the spec documents them.
        unknown_contacts: Unknown source ``contact_ids``: ``"report"`` (the default:
            accepted, listed in ``activity_errors``) or ``"reject"`` (400).
        access_token_lifetime: Seconds an OAuth2 access token lives on the emulator's clock.
            Default 86,400 (24 h); 0 or None: forever.
        rotate_refresh_tokens: True (the default): each refresh returns a new refresh token
            and retires the old one; False: refresh tokens live long.
        auto_approve: True approves every login at once (``/authorize`` redirects, device
            codes start approved). Default False.
        device_interval: Seconds the device flow asks clients to wait between polls. Default
            5; 0: no check.
        device_code_lifetime: Seconds a device code can be approved. Default 600.
        token_rate: Token endpoint requests per second before 429. Default 1; 0 or None: no
            limit.
        error_shape: ``"real"`` (the default): errors in the shapes the real service sends
            them (the API gateway's 401 and 429 as JSON objects, the application's errors
            as arrays with namespaced keys such as ``contacts.api.not_found``);
            ``"array"``: every error as the spec's array with short keys (``not_found``).
        quota_error: The body of the daily-quota 429 (``error_shape="real"`` only):
            ``"object"`` (the default: ``{"error_key": "quota_exceeded", ...}``) or
            ``"limit_exceeded"`` (``{"message": "Limit Exceeded"}``).
        timestamps: ``"seconds"`` (the default: ``2024-10-30T18:56:35Z``) or
            ``"milliseconds"`` (``2024-10-30T18:56:35.123Z``).
        activity_errors: ``activity_errors`` entries as ``"strings"`` (the default, as the
            spec says) or ``"objects"`` (``{"message": ...}``).
        activity_shape: ``"full"`` (the default: every activity has ``percent_done`` from
            0, the three ``status`` counts and ``_links``) or ``"sparse"``: an
            ``initialized`` activity shows ``percent_done`` 1 and only
            ``status.list_count``, and a ``completed`` one has no ``_links``.
        gateway_timeouts: True (the default): a third of the faults ``error_rate`` injects
            into reads (GET) are 504 gateway timeouts; False: 500 and 503 only.
        last_page_links: ``"empty"`` (the default): the last page of a collection keeps
            ``"_links": {}``; ``"absent"``: it has no ``_links``.
        access_tokens: ``"jwt"`` (the default): OAuth2 access tokens are RS256 JWTs of
            about 1,150 characters; ``"opaque"``: short random strings.
        activity_answers: How the 201 of an activity POST comes back, as a proxy or a
            cache in the way may mangle it: ``"json"`` (the default: the activity);
            ``"truncated"`` (the activity is created, its JSON cut short: not JSON);
            ``"no_activity_id"`` (created, the JSON lacks ``activity_id``); ``"replay"``
            (a cache: the last 201 an activity POST got is answered again and nothing is
            created; with no 201 yet, the POST is handled and its 201 kept).
        activity_paging: ``"normal"`` (the default) or ``"repeating"``: every
            ``GET /v3/activities`` page links to the same page again, under a new cursor
            each time (a paging loop that never ends).
        contact_paging: How ``GET /v3/contacts`` pages continue: ``"stable"`` (the
            default: after the last record shown, so a change between two pages never
            shifts one) or ``"offset"``: after as many matching records as were shown,
            counted again at each page, as the service's cursor (``next=2``) suggests;
            a record leaving the results before that point makes the next page skip one.
        segment_pending_reads: How many first reads of each segment's contacts
            (``GET /v3/contacts?segment_id=``, no cursor) answer 202 "accepted, not fully
            completed" with no contacts before one answers 200, as the spec says the API
            may. Default 0.

    Raises:
        TypeError: A value of the wrong type.
        ValueError: A value out of range, e.g. a fraction above 1.

    Example:
        >>> Settings(rate=0, fail_rate=0.5).rate is None
        True
    """

    rate: float | None = 4
    rate_algorithm: str = "bucket"
    daily_quota: int | None = 10_000
    quota_left: int | None = None
    max_queued_activities: int | None = 1_000
    speed: float = DEFAULT_SPEED
    start_delay: float | None = None
    concurrency: int = 1
    error_rate: float = 0.0
    latency: float = 0.0
    spike_rate: float = 0.0
    spike_latency: float = 5.0
    drop_rate: float = 0.0
    fail_rate: float = 0.0
    timeout_rate: float = 0.0
    keep_rate: float = 0.0
    token_expires_after: int | None = None
    unknown_list_status: int | None = None
    unknown_contacts: str = "report"
    access_token_lifetime: float | None = 86_400.0
    rotate_refresh_tokens: bool = True
    auto_approve: bool = False
    device_interval: float = 5.0
    device_code_lifetime: float = 600.0
    token_rate: float | None = 1.0
    error_shape: str = "real"
    quota_error: str = "object"
    timestamps: str = "seconds"
    activity_errors: str = "strings"
    activity_shape: str = "full"
    gateway_timeouts: bool = True
    last_page_links: str = "empty"
    access_tokens: str = "jwt"
    activity_answers: str = "json"
    activity_paging: str = "normal"
    contact_paging: str = "stable"
    segment_pending_reads: int = 0

    def __post_init__(self) -> None:
        for name in _OFF_WHEN_ZERO:
            if getattr(self, name) == 0:
                object.__setattr__(self, name, None)
        self._validate()

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of all settings, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied; unknown names raise ``TypeError``.

        Args:
            changes: Settings by name, e.g. ``rate=1, error_rate=0.1``.

        Example:
            >>> Settings().replace(speed=10.0).speed
            10.0
        """
        unknown = sorted(set(changes) - set(self.names()))
        if unknown:
            raise TypeError(f"unknown emulator setting(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def missing_status(self, kind: str) -> int:
        """The status for unknown list, tag or segment ids in a ``kind`` POST.

        The spec documents 404 for ``remove_list_memberships`` but no 404 for
        ``add_list_memberships`` (only 400), so each gets its own unless
        ``unknown_list_status`` forces one.

        Args:
            kind: Which POST: ``"add"`` (``add_list_memberships``) or ``"remove"``
                (``remove_list_memberships``).

        Example:
            >>> Settings().missing_status("add"), Settings().missing_status("remove")
            (400, 404)
            >>> Settings(unknown_list_status=404).missing_status("add")
            404
        """
        if self.unknown_list_status is not None:
            return self.unknown_list_status
        return 400 if kind == "add" else 404

    @property
    def effective_start_delay(self) -> float:
        """``start_delay`` in seconds, resolving the default from ``speed``."""
        if self.start_delay is not None:
            return self.start_delay
        return START_DELAY_ITEMS / self.speed

    def _validate(self) -> None:
        def number(name: str, *, minimum: float = 0.0, strict: bool = False) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < minimum or (strict and value == minimum):
                sign = ">" if strict else ">="
                raise ValueError(f"{name} must be a finite number {sign} {minimum}, got {value!r}")

        if self.rate is not None:
            number("rate", strict=True)
        for name in ("access_token_lifetime", "token_rate"):
            if getattr(self, name) is not None:
                number(name, strict=True)
        number("device_interval")
        number("device_code_lifetime", strict=True)
        for name in ("rotate_refresh_tokens", "auto_approve", "gateway_timeouts"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("daily_quota", "max_queued_activities", "token_expires_after", "concurrency"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer (or 0/None), got {value!r}")
        for name in ("segment_pending_reads", "quota_left"):
            count = getattr(self, name)
            if name == "quota_left" and count is None:
                continue
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {count!r}")
        number("speed", strict=True)
        if self.start_delay is not None:
            number("start_delay")
        number("latency")
        number("spike_latency")
        for name in _FRACTIONS:
            number(name)
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must be a fraction between 0 and 1")
        if self.fail_rate + self.timeout_rate > 1:
            raise ValueError("fail_rate + timeout_rate must not exceed 1")
        if self.rate_algorithm not in ("bucket", "sliding"):
            raise ValueError("rate_algorithm must be 'bucket' or 'sliding'")
        if self.unknown_list_status not in (None, 400, 404):
            raise ValueError("unknown_list_status must be 404, 400 or None (per endpoint)")
        if self.unknown_contacts not in ("report", "reject"):
            raise ValueError("unknown_contacts must be 'report' or 'reject'")
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}")
