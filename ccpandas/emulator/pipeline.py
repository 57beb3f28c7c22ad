"""One request's way through the emulator, independent of the HTTP plumbing.

In order: route (404 / 405) -> body size (413) -> bearer token (401) and scope (403)
-> daily quota (429 ``quota_exceeded``) -> per-second limit (429 ``throttled``) ->
injected 500/503 (and 504 on reads) -> the endpoint's handler (415, 400, 404, 429
``too_many_activities``, 200, 201). Then the request is counted, and the server applies
the injected delay and, if drawn, drops the connection instead of answering (only for
requests whose handler ran, so a dropped POST did create its activity).

Example:
    >>> from ccpandas.emulator import Emulator
    >>> emu = Emulator(seed=1)
    >>> out = emu.pipeline.handle("GET", "/v3/contact_tags", {}, b"")
    >>> out.status, out.body
    (401, b'{"error_key":"unauthorized","error_message":"Unauthorized"}')
"""

from __future__ import annotations

import dataclasses
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any

from ccpandas.emulator.account import Account
from ccpandas.emulator.faults import Faults, RequestFault
from ccpandas.emulator.limits import DailyQuota, RateLimiter
from ccpandas.emulator.replies import (
    GATEWAY_TIMEOUT,
    LIMIT_EXCEEDED,
    THROTTLED,
    UNAUTHORIZED,
    ErrorReply,
    dumps,
)
from ccpandas.emulator.routes import Context, RouteTable

__all__ = ["Outcome", "Pipeline"]

logger = logging.getLogger("ccpandas.emulator")

_AUTH_MESSAGES = {
    "missing": "Missing access token: send 'Authorization: Bearer <access token>'.",
    "unknown": "The access token is not valid.",
    "revoked": "The access token has been revoked.",
    "expired": "The access token has expired.",
}


@dataclasses.dataclass
class Outcome:
    """What the server must do: answer ``status`` with ``body`` (JSON bytes), after
    ``delay`` seconds, or drop the connection when ``drop`` is set."""

    status: int
    body: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


class Pipeline:
    """Authentication, limits, faults, routing and counting around the handlers."""

    def __init__(self, account: Account, faults: Faults, routes: RouteTable | None = None) -> None:
        self.account = account
        self.faults = faults
        #: The endpoints served; replace it to serve more (e.g. OAuth2 routes).
        self.routes = routes or RouteTable()
        #: The authorization server (:class:`~ccpandas.emulator.oauth.AuthServer`) that
        #: answers the paths it ``serves()``, or None.
        self.oauth: Any = None
        self.limiter = RateLimiter()
        self.quota = DailyQuota()

    def handle(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        too_large: bool = False,
    ) -> Outcome:
        """Answer one request. ``headers`` keys are matched case-insensitively."""
        hdrs = {k.lower(): v for k, v in headers.items()}
        split = urllib.parse.urlsplit(target)
        path = split.path.rstrip("/") or "/"
        query = {
            k: v for k, v in urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        }  # the last of repeated parameters wins
        if self.oauth is not None and self.oauth.serves(path):
            # Another service in reality (authz.constantcontact.com): the API's token
            # check, limits and faults do not apply to it.
            return self.oauth.handle(method, path, target, hdrs, body, too_large=too_large)
        acct = self.account
        with acct.lock:
            settings = acct.settings
            # drawn for every request, in order
            fault = self.faults.for_request(settings, read=method == "GET")
            route, params, allowed = self.routes.match(method, path)
            extra: dict[str, str] = {}
            handled = False
            try:
                if route is None:
                    if allowed is None:
                        raise ErrorReply(404, "not_found", f"No such endpoint: {method} {path}")
                    extra["Allow"] = ", ".join(allowed)
                    raise ErrorReply(
                        405,
                        "method_not_allowed",
                        f"{method} is not allowed on {path}; use {', '.join(allowed)}.",
                    )
                if too_large:
                    raise ErrorReply(413, "request_too_large", "The request body is too large.")
                if route.scope is not None:
                    self._authorize(hdrs.get("authorization"), route.scope)
                self._limit()
                self._inject(fault)
                acct.sync()
                handled = True
                reply = route.handler(
                    Context(acct, settings, params, query, body, hdrs.get("content-type"), hdrs)
                )
            except ErrorReply as err:
                reply = err.reply(settings.error_shape)
                extra.update(err.headers)
            except Exception:  # never let a request take the server down
                logger.exception("emulator: unexpected error answering %s %s", method, path)
                reply = ErrorReply(
                    500, "internal_error", "There was a problem with the emulator's service."
                ).reply()
            drop = fault.drop and handled
            template = route.template if route is not None else "<unknown>"
            acct.record_request(method, template, target, reply.status, dropped=drop)
        body = reply.raw if reply.raw is not None else dumps(reply.body)
        return Outcome(reply.status, body, extra, fault.delay, drop)

    def _authorize(self, header: str | None, scope: str) -> None:
        acct = self.account
        token = None
        if header:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() == "bearer":
                token = value.strip() or None
        verdict, scopes = acct.tokens.authenticate(
            token, now=acct.clock.now(), default_expires_after=acct.settings.token_expires_after
        )
        if verdict != "ok":
            # The gateway says only "Unauthorized", whatever the reason, and challenges.
            raise ErrorReply(
                401,
                "unauthorized",
                _AUTH_MESSAGES[verdict],
                gateway=UNAUTHORIZED,
                headers={"WWW-Authenticate": "Bearer realm=api.cc.email"},
            )
        if scope not in scopes:
            raise ErrorReply(
                403, "forbidden", f"The access token lacks the '{scope}' scope this call needs."
            )

    def _limit(self) -> None:
        acct = self.account
        settings = acct.settings
        now, left = acct.clock.now(), settings.quota_left
        if self.quota.exhausted(now, settings.daily_quota):
            reset = self.quota.reset_at(now)
            message = (
                f"The daily quota of {settings.daily_quota} requests is spent; it "
                f"resets at {reset:%Y-%m-%dT%H:%M:%SZ} (00:00 UTC)."
            )
        elif left is not None and self.quota.since_set >= left:
            # A test's knob, not the API's: say so rather than promise a midnight reset.
            message = (
                f"The emulator's quota_left setting ({left} requests) is spent; no "
                "midnight resets it (configure quota_left again)."
            )
        else:
            message = ""
        if message:
            gateway = (
                LIMIT_EXCEEDED
                if settings.quota_error == "limit_exceeded"
                else {"error_key": "quota_exceeded", "error_message": message}
            )
            raise ErrorReply(429, "quota_exceeded", message, gateway=gateway)
        if not self.limiter.try_acquire(
            acct.clock.monotonic(), rate=settings.rate, algorithm=settings.rate_algorithm
        ):
            raise ErrorReply(
                429,
                "throttled",
                f"Too many requests: at most {settings.rate:g} requests per second.",
                gateway=THROTTLED,
            )
        self.quota.count(now)

    @staticmethod
    def _inject(fault: RequestFault) -> None:
        if fault.error_status == 500:
            raise ErrorReply(
                500, "internal_error", "There was a problem with our internal service."
            )
        if fault.error_status == 503:
            raise ErrorReply(
                503, "service_unavailable", "Our internal service is temporarily unavailable."
            )
        if fault.error_status == 504:
            raise ErrorReply(
                504,
                "gateway_timeout",
                "The service did not answer in time.",
                gateway=GATEWAY_TIMEOUT,
            )

    def quota_used(self) -> int:
        """Requests counted against today's quota (UTC day of the account's clock)."""
        with self.account.lock:
            return self.quota.used_today(self.account.clock.now())

    @staticmethod
    def error(status: int, key: str, message: str) -> Outcome:
        """An error outcome built outside the pipeline (e.g. an unreadable request)."""
        return Outcome(status, dumps(ErrorReply(status, key, message).body()))
