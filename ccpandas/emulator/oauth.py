"""The emulator's OAuth2 authorization server: device flow, authorization code with PKCE,
refresh tokens, revocation.

It answers under ``/oauth2/default/v1`` on the emulator's port (the real server is
``https://authz.constantcontact.com/oauth2/default/v1``) and issues its access tokens
into the account's :class:`~ccpandas.emulator.tokens.TokenStore`, so the API accepts
them at once, with their scopes (``contact_data`` is needed for every API endpoint:
403 without it) and an expiry time on the emulator's clock
(``access_token_lifetime``). Refresh tokens rotate (``rotate_refresh_tokens``): a used
one answers ``invalid_grant``. Being another service in reality, it is outside the API's
rate limit, quota and fault injection; its token endpoint has its own limit
(``token_rate``, about 1 request per second like the real one).

Endpoints (paths under ``/oauth2/default/v1``):

================================  ========================================================
``POST /device/authorize``        start a device login: ``device_code``, ``user_code``...
``GET|POST /device/verify``       the page where the user approves or denies a user code
``GET /authorize``                start an authorization-code login (PKCE S256 required);
                                  redirects at once with ``auto_approve``, else a page
``POST /authorize``               the page's approve/deny answer: redirects to the client
``POST /token``                   grants ``device_code``, ``authorization_code``,
                                  ``refresh_token``
``POST /revoke``                  revoke an access or refresh token (RFC 7009)
================================  ========================================================

Tests drive logins without a browser through :meth:`AuthServer.approve` and
:meth:`AuthServer.deny` (pending device codes), ``auto_approve=True`` (``/authorize``),
or :meth:`AuthServer.grant` (tokens without any flow).

Example:
    >>> from ccpandas.emulator import Emulator
    >>> emu = Emulator(seed=1, contacts=5)
    >>> body = emu.oauth.grant("my-app")
    >>> sorted(body)
    ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']
    >>> emu.account.tokens.is_valid(body["access_token"], now=emu.clock.now())
    True
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import hashlib
import html
import itertools
import json
import random
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Mapping
from ipaddress import ip_address
from typing import Any

from ccpandas.emulator.account import Account
from ccpandas.emulator.limits import RateLimiter
from ccpandas.emulator.pipeline import Outcome
from ccpandas.emulator.tokens import API_AUDIENCE, DEFAULT_SCOPES, ISSUER, fake_jwt

__all__ = [
    "AUTH_PATH",
    "DEVICE_GRANT",
    "KNOWN_SCOPES",
    "AuthServer",
]

#: Where the authorization server answers on the emulator's port.
AUTH_PATH = "/oauth2/default/v1"
#: The device flow's ``grant_type`` (RFC 8628).
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: The scopes Constant Contact knows; any other is ``invalid_scope``.
KNOWN_SCOPES = frozenset(
    {"account_read", "account_update", "contact_data", "campaign_data", "offline_access"}
)
#: How long an authorization code may wait before it is exchanged.
CODE_LIFETIME = dt.timedelta(minutes=5)
#: About how long a JWT access token is, in characters (the real ones: 1,100 to 1,200).
JWT_LENGTH = 1150
#: A refresh token not used for this long expires (Constant Contact: 180 days).
REFRESH_IDLE_LIMIT = dt.timedelta(days=180)
_USER_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: no words, no 0/O or 1/I confusion
_FORM = "application/x-www-form-urlencoded"
_TOKEN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class _OAuthError(Exception):
    """Raised inside the server to answer an RFC 6749 error body."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class _PageError(Exception):
    """Raised to answer an HTML error page (a browser is on the other end)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass
class _DeviceGrant:
    device_code: str
    user_code: str
    client_id: str
    scopes: frozenset[str]
    expires_at: dt.datetime
    interval: float
    decision: str = "pending"  # approved | denied
    last_poll: float | None = None
    used: bool = False


@dataclasses.dataclass
class _CodeGrant:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    challenge: str
    expires_at: dt.datetime
    used: bool = False


@dataclasses.dataclass
class _AuthRequest:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    challenge: str


@dataclasses.dataclass
class _RefreshGrant:
    client_id: str
    scopes: frozenset[str]
    family: int
    last_used: dt.datetime
    status: str = "live"  # rotated | revoked


def _pkce_s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _redirect_uri_ok(uri: str) -> bool:
    """https anywhere, or plain http to a loopback address (RFC 8252), no fragment."""
    parts = urllib.parse.urlsplit(uri)
    if parts.fragment or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    parts = urllib.parse.urlsplit(uri)
    extra = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urllib.parse.urlunsplit(parts._replace(query=query))


def _page(title: str, *body: str) -> bytes:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
        f"<h1>{html.escape(title)}</h1>{''.join(body)}"
        "<p style='opacity:.6'>ccpandas emulator: a local stand-in for Constant Contact's "
        "sign-in page.</p></body></html>"
    )
    return text.encode("utf-8")


class AuthServer:
    """The authorization server of one emulated account (``emu.oauth``).

    Everything runs under the account's lock. Secrets it issues are reproducible under
    the seed, like the rest of the emulator.
    """

    #: The ``sub`` claim of its tokens: the emulated account's owner.
    OWNER = "owner@example.com"

    def __init__(self, account: Account, *, seed: int = 0) -> None:
        self.account = account
        self._rng = random.Random(f"{seed}:oauth")
        self._kid = "".join(self._rng.choice(_TOKEN_LETTERS) for _ in range(43))
        self._devices: dict[str, _DeviceGrant] = {}
        self._user_codes: dict[str, str] = {}  # user code -> device code
        self._codes: dict[str, _CodeGrant] = {}
        self._requests: dict[str, _AuthRequest] = {}
        self._refresh: dict[str, _RefreshGrant] = {}
        self._issued: list[str] = []
        self._families = itertools.count(1)
        self._limiter = RateLimiter()
        self._events: collections.Counter[str] = collections.Counter()
        #: Confidential applications, client id -> client secret: their calls must
        #: carry these HTTP Basic credentials (``invalid_client`` otherwise), as at
        #: Constant Contact. Other client ids are public (``client_id`` in the form).
        self.client_secrets: dict[str, str] = {}
        self._routes: dict[tuple[str, str], Callable[[dict[str, Any]], Outcome]] = {
            ("POST", "/device/authorize"): self._device_authorize,
            ("GET", "/device/verify"): self._verify_page,
            ("POST", "/device/verify"): self._verify_decision,
            ("GET", "/authorize"): self._authorize_page,
            ("POST", "/authorize"): self._authorize_decision,
            ("POST", "/token"): self._token,
            ("POST", "/revoke"): self._revoke,
        }

    # -- plumbing ---------------------------------------------------------------------

    def serves(self, path: str) -> bool:
        """True for the paths this server answers (everything under ``AUTH_PATH``)."""
        return path == AUTH_PATH or path.startswith(AUTH_PATH + "/")

    def handle(
        self,
        method: str,
        path: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        too_large: bool = False,
    ) -> Outcome:
        """Answer one request (``headers`` with lower-case names); counted in the
        account's request log under the route ``/oauth2/default/v1/...``."""
        acct = self.account
        sub = path[len(AUTH_PATH) :] or "/"
        with acct.lock:
            handler = self._routes.get((method, sub))
            known = any(p == sub for _, p in self._routes)
            try:
                if handler is None:
                    allowed = sorted(m for m, p in self._routes if p == sub)
                    if allowed:
                        raise _OAuthError("invalid_request", f"use {', '.join(allowed)}", 405)
                    raise _OAuthError("not_found", f"No such endpoint: {method} {path}", 404)
                if too_large:
                    raise _OAuthError("invalid_request", "The request body is too large.", 413)
                split = urllib.parse.urlsplit(target)
                request = {
                    "query": dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
                    "headers": headers,
                    "body": body,
                }
                outcome = handler(request)
            except _OAuthError as err:
                outcome = self._error(err)
            except _PageError as err:
                outcome = self._html(
                    err.status, "Sign-in problem", f"<p>{html.escape(err.message)}</p>"
                )
            acct.record_request(
                method, AUTH_PATH + sub if known else "<unknown>", target, outcome.status
            )
        return outcome

    @staticmethod
    def _json(status: int, body: Any) -> Outcome:
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        # Token answers must not be cached (RFC 6749 section 5.1).
        return Outcome(status, data, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _error(self, err: _OAuthError) -> Outcome:
        self._events[f"error:{err.error}"] += 1
        return self._json(err.status, {"error": err.error, "error_description": err.description})

    @staticmethod
    def _html(status: int, title: str, *body: str) -> Outcome:
        return Outcome(
            status,
            _page(title, *body),
            {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"},
        )

    @staticmethod
    def _redirect(location: str) -> Outcome:
        return Outcome(302, b"", {"Location": location, "Cache-Control": "no-store"})

    @staticmethod
    def _form(request: Mapping[str, Any]) -> dict[str, str]:
        ctype = (request["headers"].get("content-type") or "").split(";")[0].strip().lower()
        if ctype != _FORM:
            raise _OAuthError("invalid_request", f"The body must be {_FORM}.")
        try:
            pairs = urllib.parse.parse_qsl(
                request["body"].decode("utf-8"), keep_blank_values=True, strict_parsing=False
            )
        except UnicodeDecodeError:
            raise _OAuthError("invalid_request", "The body is not UTF-8.") from None
        form: dict[str, str] = {}
        for key, value in pairs:
            if key in form:
                raise _OAuthError("invalid_request", f"The parameter {key} is repeated.")
            form[key] = value
        return form

    def _client_id(self, request: Mapping[str, Any], form: Mapping[str, str]) -> str:
        """From HTTP Basic authentication (confidential clients: the secret must be the
        one of :attr:`client_secrets`) or the ``client_id`` parameter (public clients)."""
        header = request["headers"].get("authorization") or ""
        scheme, _, value = header.partition(" ")
        secret = None
        if scheme.lower() == "basic" and value:
            try:
                user, _, secret = base64.b64decode(value.strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                raise _OAuthError("invalid_client", "Malformed Basic credentials.", 401) from None
            client_id = urllib.parse.unquote_plus(user)
        else:
            client_id = form.get("client_id", "")
        if not client_id.strip():
            raise _OAuthError("invalid_client", "client_id is required.", 401)
        wanted = self.client_secrets.get(client_id.strip())
        if wanted is not None and secret != wanted:
            raise _OAuthError("invalid_client", "Client authentication failed.", 401)
        return client_id.strip()

    @staticmethod
    def _scopes(raw: str | None) -> frozenset[str]:
        scopes = frozenset((raw or "").split())
        if not scopes:
            raise _OAuthError(
                "invalid_scope", "scope is required, e.g. 'contact_data offline_access'."
            )
        unknown = sorted(scopes - KNOWN_SCOPES)
        if unknown:
            raise _OAuthError("invalid_scope", f"Unknown scope: {', '.join(unknown)}.")
        return scopes

    def _secret(self, prefix: str, bits: int = 192) -> str:
        value = f"{prefix}{self._rng.getrandbits(bits):0{bits // 4}x}"
        self._issued.append(value)
        return value

    def _origin(self, request: Mapping[str, Any]) -> str:
        host = request["headers"].get("host") or "127.0.0.1"
        return f"http://{host}"

    # -- issuing tokens -----------------------------------------------------------------

    def _random_text(self, size: int, alphabet: str = _TOKEN_LETTERS) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(size))

    def _claims(self, client_id: str, now: dt.datetime, expires_at: dt.datetime | None) -> dict:
        """The claims of the service's access tokens (Okta's, plus Constant Contact's)."""
        iat = int(now.timestamp())
        # A token that never expires (access_token_lifetime=None) still carries an
        # ``exp``: ten years on, as a JWT always does.
        exp = int(expires_at.timestamp()) if expires_at else iat + 10 * 365 * 86_400
        return {
            "ver": 1,
            "jti": "AT." + self._random_text(43),
            "iss": ISSUER,
            "aud": API_AUDIENCE,
            "iat": iat,
            "exp": exp,
            "cid": client_id,
            "uid": "00u" + self._random_text(17),
            "scp": [],
            "auth_time": iat,
            "sub": self.OWNER,
            "platform_user_id": str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
        }

    def _access_token(
        self, client_id: str, scopes: frozenset[str], now: dt.datetime, expires_at: Any
    ) -> str | None:
        """A JWT-shaped access token (``access_tokens="jwt"``), else None (opaque)."""
        if self.account.settings.access_tokens != "jwt":
            return None
        claims = self._claims(client_id, now, expires_at)
        claims["scp"] = sorted(scopes)
        # Real tokens carry more claims than the emulator knows of; one filler claim
        # brings the token to the real ones' length (about 1,150 characters), which is
        # what a token store must hold.
        size = len(fake_jwt(claims, random.Random(0), kid=self._kid))
        claims["emulator_padding"] = self._random_text(max(0, (JWT_LENGTH - size) * 3 // 4 - 23))
        return fake_jwt(claims, self._rng, kid=self._kid)

    def _id_token(self, client_id: str) -> str:
        """The OpenID Connect ``id_token`` the authorization-code (PKCE) answer carries."""
        now = self.account.clock.now()
        claims = self._claims(client_id, now, now + dt.timedelta(hours=1))
        for name in ("scp", "cid", "uid", "platform_user_id"):
            del claims[name]
        claims.update(
            jti="ID." + self._random_text(43), aud=client_id, amr=["pwd"], idp=ISSUER[-20:]
        )
        token = fake_jwt(claims, self._rng, kid=self._kid)
        self._issued.append(token)
        return token

    def _issue(self, client_id: str, scopes: frozenset[str], family: int | None = None) -> dict:
        acct = self.account
        now = acct.clock.now()
        lifetime = acct.settings.access_token_lifetime
        expires_at = now + dt.timedelta(seconds=lifetime) if lifetime else None
        access = acct.tokens.issue(
            self._access_token(client_id, scopes, now, expires_at),
            scopes=scopes,
            expires_at=expires_at,
        )
        self._issued.append(access)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access,
            "scope": " ".join(sorted(scopes)),
        }
        if lifetime:
            # Whole seconds, as OAuth servers send it (oauthlib truncates anything else, and
            # would read 0.5 as "no expiry"); a fractional lifetime still expires on time.
            body["expires_in"] = max(1, int(lifetime))
        if "offline_access" in scopes:
            refresh = self._secret("ccrt_")
            self._refresh[refresh] = _RefreshGrant(
                client_id, scopes, family or next(self._families), now
            )
            body["refresh_token"] = refresh
        return body

    def _token(self, request: Mapping[str, Any]) -> Outcome:
        acct = self.account
        rate = acct.settings.token_rate
        if not self._limiter.try_acquire(acct.clock.monotonic(), rate=rate, algorithm="bucket"):
            raise _OAuthError(
                "rate_limited",
                f"Too many requests to the token endpoint: at most {rate:g} per second.",
                429,
            )
        form = self._form(request)
        client_id = self._client_id(request, form)
        grant_type = form.get("grant_type", "")
        grants = {
            DEVICE_GRANT: self._device_token,
            "authorization_code": self._code_token,
            "refresh_token": self._refresh_token,
        }
        if grant_type not in grants:
            raise _OAuthError(
                "unsupported_grant_type", f"grant_type {grant_type!r} is not supported."
            )
        body = grants[grant_type](client_id, form)
        self._events[f"token:{grant_type.rpartition(':')[2]}"] += 1
        return self._json(200, body)

    def _device_token(self, client_id: str, form: Mapping[str, str]) -> dict:
        grant = self._devices.get(form.get("device_code", ""))
        if grant is None or grant.client_id != client_id or grant.used:
            raise _OAuthError("invalid_grant", "The device code is invalid or already used.")
        acct = self.account
        if acct.clock.now() >= grant.expires_at:
            raise _OAuthError("expired_token", "The device code has expired: start again.")
        mono = acct.clock.monotonic()
        too_soon = (
            grant.interval > 0
            and grant.last_poll is not None
            and mono - grant.last_poll < grant.interval
        )
        grant.last_poll = mono
        if too_soon:
            # The client must now wait 5 s more between polls (RFC 8628 section 3.5);
            # the server keeps checking its own interval.
            raise _OAuthError("slow_down", f"Poll at most every {grant.interval:g} seconds.")
        if grant.decision == "pending":
            raise _OAuthError("authorization_pending", "The user has not answered yet.")
        if grant.decision == "denied":
            grant.used = True
            raise _OAuthError("access_denied", "The user denied the request.")
        grant.used = True
        return self._issue(client_id, grant.scopes)

    def _code_token(self, client_id: str, form: Mapping[str, str]) -> dict:
        grant = self._codes.get(form.get("code", ""))
        if grant is None or grant.used or grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "The authorization code is invalid or already used.")
        grant.used = True  # one try, right or wrong
        if self.account.clock.now() >= grant.expires_at:
            raise _OAuthError("invalid_grant", "The authorization code has expired.")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _OAuthError(
                "invalid_grant", "redirect_uri differs from the authorization request."
            )
        verifier = form.get("code_verifier", "")
        if not 43 <= len(verifier) <= 128 or _pkce_s256(verifier) != grant.challenge:
            raise _OAuthError("invalid_grant", "The PKCE code_verifier does not match.")
        body = self._issue(client_id, grant.scopes)
        body["id_token"] = self._id_token(client_id)
        return body

    def _refresh_token(self, client_id: str, form: Mapping[str, str]) -> dict:
        token = form.get("refresh_token", "")
        grant = self._refresh.get(token)
        now = self.account.clock.now()
        if grant is None or grant.client_id != client_id:
            raise _OAuthError("invalid_grant", "The refresh token is invalid.")
        if grant.status == "rotated":
            self._events["refresh_reuse"] += 1
            raise _OAuthError(
                "invalid_grant", "The refresh token was already used: refresh tokens rotate."
            )
        if grant.status == "revoked":
            raise _OAuthError("invalid_grant", "The refresh token has been revoked.")
        if now - grant.last_used > REFRESH_IDLE_LIMIT:
            raise _OAuthError("invalid_grant", "The refresh token expired after 180 days unused.")
        scopes = grant.scopes
        if form.get("scope"):
            scopes = self._scopes(form["scope"])
            if not scopes <= grant.scopes:
                raise _OAuthError("invalid_scope", "A refresh cannot add scopes.")
        if self.account.settings.rotate_refresh_tokens:
            grant.status = "rotated"
            return self._issue(client_id, scopes, family=grant.family)
        grant.last_used = now
        body = self._issue(client_id, scopes - {"offline_access"})
        body["refresh_token"] = token  # long-lived: the same one again
        body["scope"] = " ".join(sorted(scopes))
        return body

    def _revoke(self, request: Mapping[str, Any]) -> Outcome:
        form = self._form(request)
        self._client_id(request, form)
        token = form.get("token", "")
        grant = self._refresh.get(token)
        if grant is not None:
            grant.status = "revoked"
        else:
            self.account.tokens.revoke(token)  # unknown tokens are fine (RFC 7009)
        self._events["revoke"] += 1
        return Outcome(200, b"", {"Cache-Control": "no-store"})

    # -- device flow --------------------------------------------------------------------

    def _device_authorize(self, request: Mapping[str, Any]) -> Outcome:
        form = self._form(request)
        client_id = self._client_id(request, form)
        scopes = self._scopes(form.get("scope"))
        acct = self.account
        settings = acct.settings
        device_code = self._secret("ccdc_")
        letters = "".join(self._rng.choice(_USER_CODE_LETTERS) for _ in range(8))
        user_code = f"{letters[:4]}-{letters[4:]}"
        self._devices[device_code] = _DeviceGrant(
            device_code,
            user_code,
            client_id,
            scopes,
            acct.clock.now() + dt.timedelta(seconds=settings.device_code_lifetime),
            settings.device_interval,
            decision="approved" if settings.auto_approve else "pending",
        )
        self._user_codes[user_code] = device_code
        verify = f"{self._origin(request)}{AUTH_PATH}/device/verify"
        lifetime = settings.device_code_lifetime
        interval = settings.device_interval
        return self._json(
            200,
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verify,
                "verification_uri_complete": _with_query(verify, {"user_code": user_code}),
                "expires_in": int(lifetime) if float(lifetime).is_integer() else lifetime,
                "interval": int(interval) if float(interval).is_integer() else interval,
            },
        )

    def _pending(self, user_code: str) -> _DeviceGrant:
        code = user_code.strip().upper().replace(" ", "")
        if len(code) == 8 and "-" not in code:
            code = f"{code[:4]}-{code[4:]}"
        grant = self._devices.get(self._user_codes.get(code, ""))
        if grant is None or grant.used or self.account.clock.now() >= grant.expires_at:
            raise _PageError(400, "This code is unknown or has expired. Start the sign-in again.")
        if grant.decision != "pending":
            raise _PageError(400, f"This code was already {grant.decision}.")
        return grant

    def _verify_page(self, request: Mapping[str, Any]) -> Outcome:
        user_code = request["query"].get("user_code", "")
        action = f"{AUTH_PATH}/device/verify"
        if not user_code:
            return self._html(
                200,
                "Connect a device",
                f"<form method='post' action='{action}'><label>Code "
                "<input name='user_code' autofocus></label> "
                "<button name='decision' value='approve'>Allow</button> "
                "<button name='decision' value='deny'>Deny</button></form>",
            )
        grant = self._pending(user_code)
        return self._html(
            200,
            "Allow access?",
            f"<p><b>{html.escape(grant.client_id)}</b> asks for: "
            f"{html.escape(', '.join(sorted(grant.scopes)))}.</p>"
            f"<p>Code: <code>{html.escape(grant.user_code)}</code></p>"
            f"<form method='post' action='{action}'>"
            f"<input type='hidden' name='user_code' value='{html.escape(grant.user_code)}'>"
            "<button name='decision' value='approve'>Allow</button> "
            "<button name='decision' value='deny'>Deny</button></form>",
        )

    def _verify_decision(self, request: Mapping[str, Any]) -> Outcome:
        try:
            form = self._form(request)
        except _OAuthError as err:
            raise _PageError(400, err.description) from None
        decision = form.get("decision", "approve")
        if decision not in ("approve", "deny"):
            raise _PageError(400, "decision must be approve or deny.")
        grant = self._pending(form.get("user_code", ""))
        grant.decision = "approved" if decision == "approve" else "denied"
        title = "Device connected" if decision == "approve" else "Access denied"
        return self._html(200, title, "<p>You can close this window.</p>")

    # -- authorization code with PKCE ---------------------------------------------------

    def _authorize_page(self, request: Mapping[str, Any]) -> Outcome:
        q = request["query"]
        client_id = q.get("client_id", "").strip()
        redirect_uri = q.get("redirect_uri", "")
        if not client_id:
            raise _PageError(400, "client_id is missing.")
        if not redirect_uri or not _redirect_uri_ok(redirect_uri):
            raise _PageError(
                400, "redirect_uri must be https, or http to a loopback address (127.0.0.1)."
            )
        state = q.get("state")

        def back(error: str, description: str) -> Outcome:
            self._events[f"error:{error}"] += 1
            return self._redirect(
                _with_query(
                    redirect_uri,
                    {"error": error, "error_description": description, "state": state},
                )
            )

        if q.get("response_type") != "code":
            return back("unsupported_response_type", "response_type must be code.")
        try:
            scopes = self._scopes(q.get("scope"))
        except _OAuthError as err:
            return back(err.error, err.description)
        challenge = q.get("code_challenge", "")
        if q.get("code_challenge_method") != "S256" or not 43 <= len(challenge) <= 128:
            return back("invalid_request", "PKCE is required: code_challenge with method S256.")
        auth = _AuthRequest(client_id, redirect_uri, scopes, state, challenge)
        if self.account.settings.auto_approve:
            return self._approve_request(auth)
        request_id = f"{self._rng.getrandbits(96):024x}"
        self._requests[request_id] = auth
        return self._html(
            200,
            "Allow access?",
            f"<p><b>{html.escape(client_id)}</b> asks for: "
            f"{html.escape(', '.join(sorted(scopes)))}.</p>"
            f"<form method='post' action='{AUTH_PATH}/authorize'>"
            f"<input type='hidden' name='request_id' value='{request_id}'>"
            "<button name='decision' value='approve'>Allow</button> "
            "<button name='decision' value='deny'>Deny</button></form>",
        )

    def _approve_request(self, auth: _AuthRequest) -> Outcome:
        code = self._secret("ccac_", 128)
        self._codes[code] = _CodeGrant(
            auth.client_id,
            auth.redirect_uri,
            auth.scopes,
            auth.challenge,
            self.account.clock.now() + CODE_LIFETIME,
        )
        return self._redirect(_with_query(auth.redirect_uri, {"code": code, "state": auth.state}))

    def _authorize_decision(self, request: Mapping[str, Any]) -> Outcome:
        try:
            form = self._form(request)
        except _OAuthError as err:
            raise _PageError(400, err.description) from None
        auth = self._requests.pop(form.get("request_id", ""), None)
        if auth is None:
            raise _PageError(400, "This sign-in request is unknown or was already answered.")
        if form.get("decision") == "deny":
            self._events["error:access_denied"] += 1
            return self._redirect(
                _with_query(
                    auth.redirect_uri,
                    {
                        "error": "access_denied",
                        "error_description": "The user denied the request.",
                        "state": auth.state,
                    },
                )
            )
        return self._approve_request(auth)

    # -- hooks for tests ----------------------------------------------------------------

    def pending_user_codes(self) -> list[str]:
        """User codes of device logins waiting for an answer, oldest first."""
        with self.account.lock:
            now = self.account.clock.now()
            return [
                g.user_code
                for g in self._devices.values()
                if g.decision == "pending" and not g.used and now < g.expires_at
            ]

    def _decide(self, user_code: str | None, decision: str) -> str:
        with self.account.lock:
            if user_code is None:
                pending = self.pending_user_codes()
                if len(pending) != 1:
                    raise ValueError(
                        f"{len(pending)} device logins are pending: name the user code"
                    )
                user_code = pending[0]
            try:
                grant = self._pending(user_code)
            except _PageError as err:
                raise ValueError(err.message) from None
            grant.decision = decision
            return grant.user_code

    def approve(self, user_code: str | None = None) -> str:
        """Approve a pending device login (the only one when ``user_code`` is None), as
        the user would on the verification page. Returns the user code."""
        return self._decide(user_code, "approved")

    def deny(self, user_code: str | None = None) -> str:
        """Deny a pending device login; the client's next poll gets ``access_denied``."""
        return self._decide(user_code, "denied")

    def require_poll_interval(self, seconds: float, user_code: str | None = None) -> None:
        """Answer ``slow_down`` to polls of a pending device login that come less than
        ``seconds`` apart (a busy server raising the interval it announced)."""
        with self.account.lock:
            codes = [user_code] if user_code is not None else self.pending_user_codes()
            for code in codes:
                try:
                    self._pending(code).interval = seconds
                except _PageError as err:
                    raise ValueError(err.message) from None

    def grant(self, client_id: str, scopes: Iterable[str] = DEFAULT_SCOPES) -> dict[str, Any]:
        """Tokens for ``client_id`` as the token endpoint would answer them, without any
        flow (a test that needs a logged-in user, not a login)."""
        with self.account.lock:
            return self._issue(client_id, self._scopes(" ".join(scopes)))

    def revoke_refresh_token(self, token: str) -> None:
        """Make a refresh token answer ``invalid_grant`` from now on."""
        with self.account.lock:
            if token in self._refresh:
                self._refresh[token].status = "revoked"

    def live_refresh_tokens(self, client_id: str | None = None) -> list[str]:
        """Refresh tokens that would still be accepted (for ``client_id``, if given)."""
        with self.account.lock:
            return [
                t
                for t, g in self._refresh.items()
                if g.status == "live" and client_id in (None, g.client_id)
            ]

    def issued_secrets(self) -> list[str]:
        """Every access token, refresh token, device code and authorization code issued so
        far (the strings a leak test looks for)."""
        with self.account.lock:
            return list(self._issued)

    @property
    def events(self) -> collections.Counter[str]:
        """What happened, e.g. ``token:refresh_token`` (successful refreshes),
        ``token:device_code``, ``refresh_reuse`` (a rotated refresh token presented
        again), ``error:invalid_grant``, ``error:authorization_pending``."""
        with self.account.lock:
            return collections.Counter(self._events)

    def __repr__(self) -> str:
        with self.account.lock:
            devices, refresh = len(self._devices), len(self._refresh)
        return f"AuthServer({devices} device logins, {refresh} refresh tokens)"
