"""Connecting to Constant Contact: token sources, OAuth2 login, refresh, logout.

:func:`connect` tries the token sources in this order and returns a ready
:class:`~ccpandas.client.Client`:

1. an explicit ``token=`` (a string, or a callable returning one);
2. ``CC_ACCESS_TOKEN`` from the environment (with ``CC_REFRESH_TOKEN``,
   ``CC_CLIENT_ID`` and optionally ``CC_CLIENT_SECRET``, it is refreshed too);
3. credentials saved by an earlier login (:mod:`ccpandas.tokenstore`), per client id;
4. an interactive :func:`login`: the OAuth2 device flow by default (a link and a code;
   works on hosted notebooks), or the authorization code flow with PKCE on a loopback
   redirect (``flow="pkce"``, for desktops).

A login's access token is wrapped in an :class:`OAuthToken`, which refreshes it shortly
before it expires and once after a 401, at most about once per second, saving a rotated
refresh token before anything else happens. Several kernels sharing the saved
credentials take turns through the store's file lock, so none sends a refresh token
another has already used.

What comes from a library and what is hand-written: oauthlib builds the token requests
(device code, authorization code with the PKCE verifier, refresh), makes the PKCE
verifier and S256 challenge, and parses and checks every token answer. Written here: the
device authorization request and the polling loop of RFC 8628 (oauthlib has no poller),
the authorization URL (oauthlib refuses ``http://`` even to the loopback emulator unless
a process-wide environment variable is set), the loopback redirect listener, the HTTP
calls (plain requests, whose debug logging never shows a body), the refresh schedule and
the token store.

Nothing here ever puts a token in a repr, a log record, an exception or a widget.

Example:
    >>> import ccpandas
    >>> client = ccpandas.login(client_id="0a1b2c3d-...")  # doctest: +SKIP
    >>> client = ccpandas.connect()  # later sessions: the saved login  # doctest: +SKIP
    >>> ccpandas.logout()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import logging
import os
import secrets
import sys
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol, TextIO

import requests

from ccpandas._secret import Secret
from ccpandas.client import (
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    TOKEN_ENV,
    Client,
    is_loopback_host,
    normalize_base_url,
    set_default_client,
)
from ccpandas.errors import AuthError, ConfigError
from ccpandas.tokenstore import Credentials, TokenStore

__all__ = [
    "AUTH_URL_ENV",
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "DEFAULT_AUTH_URL",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "REFRESH_TOKEN_ENV",
    "DeviceCode",
    "LoginView",
    "OAuthSession",
    "OAuthToken",
    "TextView",
    "connect",
    "login",
    "logout",
    "normalize_auth_url",
]

DEFAULT_AUTH_URL = "https://authz.constantcontact.com/oauth2/default/v1"
AUTH_URL_ENV = "CC_AUTH_URL"
CLIENT_ID_ENV = "CC_CLIENT_ID"
CLIENT_SECRET_ENV = "CC_CLIENT_SECRET"
REFRESH_TOKEN_ENV = "CC_REFRESH_TOKEN"
#: ``contact_data`` for the contact endpoints, ``offline_access`` for a refresh token.
DEFAULT_SCOPES = ("contact_data", "offline_access")
#: Register exactly this redirect URI in your Constant Contact application for
#: ``flow="pkce"`` (or pass your own loopback ``redirect_uri=``).
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

#: RFC 8628 section 3.5: after ``slow_down`` the device poll interval grows by 5 seconds.
SLOW_DOWN_STEP = 5.0
#: The token endpoint allows about one request per second.
MIN_REFRESH_INTERVAL = 1.0
#: Refresh this long before expiry at most (less for short-lived tokens: 10 % of the life).
MAX_REFRESH_MARGIN = 300.0

_log = logging.getLogger("ccpandas.auth")
_GUIDE = (
    "see the Authentication guide: https://ccpandas.readthedocs.io/en/latest/authentication.html"
)
# Every live OAuthToken, so logout() can make the ones of its client id forget their tokens.
_providers: weakref.WeakSet[OAuthToken] = weakref.WeakSet()


# --------------------------------------------------------------------------- small helpers


def normalize_auth_url(url: str) -> str:
    """Check an authorization server URL and return it without a trailing slash.

    Only ``https://``, or plain ``http://`` to a loopback host (the emulator): the
    token endpoint receives refresh tokens and client secrets.

    Example:
        >>> normalize_auth_url("https://authz.constantcontact.com/oauth2/default/v1/")
        'https://authz.constantcontact.com/oauth2/default/v1'
        >>> normalize_auth_url("http://example.com/oauth2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.ConfigError: refusing plain http:// to example.com: ...
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"auth_url must be a non-empty URL string, not {url!r}")
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"auth_url must look like https://host/oauth2/default/v1, not {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("auth_url must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigError("auth_url must not contain a query string or fragment")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: refresh tokens and client secrets "
            "would travel unencrypted. Use https://, or a loopback host for the emulator."
        )
    return urllib.parse.urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def _fingerprint(token: str) -> str:
    """A stable, one-way name for a refresh token (never the token itself)."""
    return hashlib.sha256(f"ccpandas:{token}".encode()).hexdigest()[:32]


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _scopes(scopes: Iterable[str] | str) -> tuple[str, ...]:
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    if not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise ConfigError(f"scopes must be non-empty strings, e.g. {DEFAULT_SCOPES}")
    return tuple(dict.fromkeys(s.strip() for s in items))


def _secret_or_none(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value or None
    if not isinstance(value, str):
        raise TypeError(f"client_secret must be a string, not {type(value).__name__}")
    return Secret(value) if value.strip() else None


def _login_advice(client_id: str | None) -> str:
    who = f"client_id={client_id!r}" if client_id else "client_id=..."
    return f"Log in again with ccpandas.login({who})"


def _auth_error(message: str, error_key: str | None = None) -> AuthError:
    err = AuthError(message)
    err.error_key = error_key  # type: ignore[attr-defined]  # the OAuth2 error code
    return err


# --------------------------------------------------------------------------- the server


@dataclasses.dataclass(frozen=True, repr=False)
class DeviceCode:
    """A started device login: what the user must open and the code they must see there.

    Example:
        >>> DeviceCode(Secret("dc"), "BCDF-GHJK", "https://x/activate", None, 600, 5)
        DeviceCode(user_code='BCDF-GHJK', link='https://x/activate', expires_in=600)
    """

    device_code: Secret
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    @property
    def link(self) -> str:
        """The page to open (with the code filled in, when the server offers that)."""
        return self.verification_uri_complete or self.verification_uri

    def __repr__(self) -> str:
        return (
            f"DeviceCode(user_code={self.user_code!r}, link={self.link!r}, "
            f"expires_in={self.expires_in:g})"
        )


class OAuthSession:
    """Calls to one authorization server for one client id (its own HTTP session).

    Example:
        >>> OAuthSession("my-app", auth_url="http://127.0.0.1:9/oauth2/default/v1")
        OAuthSession(client_id='my-app', auth_url='http://127.0.0.1:9/oauth2/default/v1')
    """

    def __init__(
        self,
        client_id: str,
        *,
        auth_url: str | None = None,
        client_secret: str | Secret | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ConfigError("client_id must be a non-empty string (your application's API key)")
        self.client_id = client_id.strip()
        self.auth_url = normalize_auth_url(auth_url or _env(AUTH_URL_ENV) or DEFAULT_AUTH_URL)
        self._client_secret = _secret_or_none(client_secret)
        self.timeout = timeout
        self._sleep = sleep
        self._session = requests.Session()
        self._session.trust_env = False  # no .netrc credentials, no proxy env surprises

    def __repr__(self) -> str:
        return f"OAuthSession(client_id={self.client_id!r}, auth_url={self.auth_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- HTTP ----------------------------------------------------------------------------

    def _post(self, endpoint: str, fields: str, *, what: str) -> requests.Response:
        """POST a form; retry answers that say nothing happened (429, 503, refused)."""
        url = f"{self.auth_url}/{endpoint}"
        auth = None
        if self._client_secret is not None:
            auth = (self.client_id, self._client_secret.reveal())
        for attempt in range(1, 4):
            try:
                resp = self._session.post(
                    url,
                    data=fields,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                    },
                    auth=auth,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.ConnectionError as exc:
                # Raised without its cause: requests keeps the request, whose body holds
                # the refresh token, on the exception.
                refused = "refused" in str(exc).lower() or "NewConnectionError" in repr(exc)
                if refused and attempt < 3:
                    self._sleep(0.5 * attempt)
                    continue
                raise _auth_error(
                    f"{what}: no answer from the authorization server "
                    f"{urllib.parse.urlsplit(url).netloc} ({type(exc).__name__})",
                    "transport",
                ) from None
            except requests.RequestException as exc:
                raise _auth_error(
                    f"{what}: no answer from the authorization server ({type(exc).__name__})",
                    "transport",
                ) from None
            if (resp.status_code == 429 or resp.status_code >= 500) and attempt < 3:
                retry_after = resp.headers.get("Retry-After", "")
                delay = float(retry_after) if retry_after.isdigit() else 1.0 * attempt
                _log.info(
                    "%s: the authorization server answered %d; retrying", what, resp.status_code
                )
                self._sleep(delay)
                continue
            return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _token(self, fields: str, *, what: str) -> dict[str, Any]:
        """POST to the token endpoint; the checked token answer, or AuthError."""
        from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

        resp = self._post("token", fields, what=what)
        text = resp.text
        if resp.status_code != 200 and '"error"' not in text:
            raise _auth_error(
                f"{what}: the authorization server answered HTTP {resp.status_code}",
                f"http_{resp.status_code}",
            )
        parser = WebApplicationClient(self.client_id)
        try:
            token = dict(parser.parse_request_body_response(text))
        except OAuth2Error as exc:
            raise _auth_error(
                f"{what}: {exc.error}" + (f" ({exc.description})" if exc.description else ""),
                exc.error,
            ) from None
        except ValueError:
            raise _auth_error(f"{what}: the token answer is not JSON", "invalid_response") from None
        finally:
            parser.token = {}  # drop oauthlib's copy of the tokens at once
            parser.access_token = parser.refresh_token = None
        return token

    # -- the grants ----------------------------------------------------------------------

    def start_device_login(self, scopes: Iterable[str]) -> DeviceCode:
        """POST /device/authorize: a device code and the user code to show."""
        fields = urllib.parse.urlencode({"client_id": self.client_id, "scope": " ".join(scopes)})
        resp = self._post("device/authorize", fields, what="device login")
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or "device_code" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            detail = body.get("error_description") if isinstance(body, dict) else None
            raise _auth_error(
                f"device login refused: HTTP {resp.status_code} {error or ''}"
                + (f" ({detail})" if detail else ""),
                error or f"http_{resp.status_code}",
            )
        try:
            return DeviceCode(
                device_code=Secret(str(body["device_code"])),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=body.get("verification_uri_complete"),
                expires_in=float(body.get("expires_in") or 600),
                interval=float(body["interval"]) if body.get("interval") is not None else 5.0,
            )
        except (KeyError, TypeError, ValueError):
            raise _auth_error("device login: an incomplete answer", "invalid_response") from None

    def poll_device_login(self, code: DeviceCode) -> dict[str, Any]:
        """One poll of the token endpoint; AuthError with ``error_key``
        ``authorization_pending`` / ``slow_down`` / ``expired_token`` / ``access_denied``."""
        from oauthlib.oauth2.rfc8628.clients import DeviceClient

        fields = DeviceClient(self.client_id).prepare_request_body(
            code.device_code.reveal(), include_client_id=self._client_secret is None
        )
        return self._token(fields, what="device login")

    def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """Exchange an authorization code (PKCE) for tokens."""
        from oauthlib.oauth2 import WebApplicationClient

        fields = WebApplicationClient(self.client_id).prepare_request_body(
            code=code,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
            include_client_id=self._client_secret is None,
        )
        return self._token(fields, what="login")

    def refresh(self, refresh_token: Secret, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """Use a refresh token; the answer may hold a new (rotated) one."""
        from oauthlib.oauth2 import WebApplicationClient

        kwargs: dict[str, Any] = {}
        if self._client_secret is None:
            kwargs["client_id"] = self.client_id
        fields = WebApplicationClient(self.client_id).prepare_refresh_body(
            refresh_token=refresh_token.reveal(),
            scope=list(scopes) if scopes else None,
            **kwargs,
        )
        return self._token(fields, what="token refresh")

    def authorization_url(
        self, *, redirect_uri: str, scopes: Iterable[str], state: str, challenge: str
    ) -> str:
        """The ``/authorize`` URL of a PKCE login (S256)."""
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": " ".join(scopes),
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.auth_url}/authorize?{query}"

    def revoke(self, token: Secret, hint: str = "refresh_token") -> None:
        """Revoke a token at the server (RFC 7009); AuthError if the server cannot be reached."""
        fields = {"token": token.reveal(), "token_type_hint": hint}
        if self._client_secret is None:
            fields["client_id"] = self.client_id
        resp = self._post("revoke", urllib.parse.urlencode(fields), what="logout")
        if resp.status_code != 200:
            raise _auth_error(
                f"logout: the server answered HTTP {resp.status_code} to the revocation",
                f"http_{resp.status_code}",
            )


def _credentials(
    body: Mapping[str, Any],
    *,
    client_id: str,
    now: float,
    auth_url: str,
    base_url: str | None,
    previous: Credentials | None = None,
    origin: str | None = None,
) -> Credentials:
    """Credentials from a token answer (keeping the old refresh token when none came)."""
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise _auth_error("the token answer has no access token", "invalid_response")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in")
    scope = body.get("scope")
    if isinstance(scope, list | tuple):
        scopes = tuple(str(s) for s in scope)
    elif isinstance(scope, str) and scope.strip():
        scopes = tuple(scope.split())
    else:
        scopes = previous.scopes if previous else ()
    return Credentials(
        client_id=client_id,
        access_token=Secret(access),
        refresh_token=(
            Secret(refresh)
            if isinstance(refresh, str) and refresh
            else (previous.refresh_token if previous else None)
        ),
        expires_at=now + float(expires_in) if expires_in is not None else None,
        scopes=scopes,
        obtained_at=now,
        auth_url=auth_url,
        base_url=base_url,
        origin=origin if origin is not None else (previous.origin if previous else None),
    )


# --------------------------------------------------------------------------- the provider


class OAuthToken:
    """A token provider for :class:`~ccpandas.client.Client` that keeps itself valid.

    Called before each request, it returns the access token, first refreshing it when it
    expires within ``min(5 min, 10 % of its life)``. The client calls :meth:`refresh`
    once after a 401. Refreshes are at least ``min_refresh_interval`` seconds apart (the
    token endpoint's limit), take the store's file lock, start from the newest saved
    refresh token (another kernel may have rotated it), and save the new one before
    returning. A refused refresh (``invalid_grant``) raises AuthError and leaves the
    saved credentials alone until a new login replaces them.

    Example:
        >>> creds = Credentials("my-app", Secret("at"), Secret("rt"), expires_at=None)
        >>> token = OAuthToken(creds, auth_url="http://127.0.0.1:9/oauth2/default/v1")
        >>> token
        OAuthToken(client_id='my-app', expires=unknown, refresh_token=yes)
        >>> token() == "at"
        True
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        session: OAuthSession | None = None,
        auth_url: str | None = None,
        client_secret: str | Secret | None = None,
        store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL,
    ) -> None:
        self._creds: Credentials | None = credentials
        self.client_id = credentials.client_id
        self._session = session or OAuthSession(
            credentials.client_id,
            auth_url=auth_url or credentials.auth_url,
            client_secret=client_secret,
            sleep=sleep,
        )
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self.min_refresh_interval = min_refresh_interval
        self._lock = threading.RLock()
        self._last_refresh = float("-inf")
        self._handed = threading.local()
        #: Successful refreshes by this provider (proactive and after a 401).
        self.refreshes = 0
        _providers.add(self)

    def __repr__(self) -> str:
        creds = self._creds
        if creds is None:
            return f"OAuthToken(client_id={self.client_id!r}, logged out)"
        if creds.expires_at is None:
            expires = "unknown"
        else:
            left = creds.expires_at - self._clock()
            expires = f"in {left:.0f} s" if left > 0 else "expired"
        refresh = "yes" if creds.refresh_token else "no"
        return (
            f"OAuthToken(client_id={self.client_id!r}, expires={expires}, refresh_token={refresh})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("an OAuthToken cannot be pickled (it would write the tokens out)")

    @property
    def credentials(self) -> Credentials:
        """The current credentials (their tokens stay masked)."""
        creds = self._creds
        if creds is None:
            raise AuthError(f"logged out of {self.client_id}. {_login_advice(self.client_id)}.")
        return creds

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the server granted."""
        return self.credentials.scopes

    @property
    def expires_at(self) -> float | None:
        """When the access token expires (seconds since the epoch), if known."""
        return self.credentials.expires_at

    def _due(self, creds: Credentials) -> bool:
        if creds.expires_at is None or creds.refresh_token is None:
            return False
        life = max(0.0, creds.expires_at - creds.obtained_at)
        margin = min(MAX_REFRESH_MARGIN, 0.1 * life)
        return self._clock() >= creds.expires_at - margin

    def __call__(self) -> str:
        with self._lock:
            creds = self.credentials
            if self._due(creds):
                try:
                    self._refresh(force=False)
                except AuthError as exc:
                    still_valid = creds.expires_at is not None and self._clock() < creds.expires_at
                    if getattr(exc, "error_key", None) == "transport" and still_valid:
                        # The server is unreachable but the token has a little life left.
                        _log.warning("could not refresh the access token yet: %s", exc)
                    else:
                        raise
            token = self.credentials.access_token
            self._handed.token = token  # what this thread's next request carries
            return token.reveal()

    def refresh(self, *, force: bool = False) -> bool:
        """Renew the access token; True when there is a new one to try.

        Without ``force`` (the client's call after a 401): when another thread or
        kernel has renewed the token since this thread took it, that newer token is the
        answer and the server is not asked again. ``force=True`` always asks the server.
        Either way, refreshes are ``min_refresh_interval`` seconds apart at least (the
        call waits).
        """
        with self._lock:
            if not force:
                sent = getattr(self._handed, "token", None)
                if sent is not None and sent != self.credentials.access_token:
                    return True  # renewed since this thread's request left: just resend
            return self._refresh(force=force)

    def _refresh(self, *, force: bool) -> bool:
        creds = self.credentials
        store = self.store
        with store.locked(self.client_id) if store is not None else contextlib.nullcontext():
            latest = store.load(self.client_id) if store is not None else None
            if (
                latest is not None
                and latest.obtained_at > creds.obtained_at
                and latest.access_token != creds.access_token
            ):
                # Another kernel refreshed since we read the store: its refresh token is
                # the live one now, ours is spent.
                self._creds = creds = latest
                _log.info("using the access token another session refreshed for %s", self.client_id)
                if not force and not self._due(creds):
                    return True
            if creds.refresh_token is None:
                raise _auth_error(
                    f"The access token for {self.client_id} expired or was refused, and there is "
                    "no refresh token to renew it (log in with the 'offline_access' scope to get "
                    f"one). {_login_advice(self.client_id)}.",
                    "no_refresh_token",
                )
            # The token endpoint allows about one request a second; the last refresh may
            # have been another kernel's (its time is in the store).
            since = self._clock() - max(creds.obtained_at, self._last_refresh)
            if since < self.min_refresh_interval:
                self._sleep(self.min_refresh_interval - since)
            try:
                body = self._session.refresh(creds.refresh_token)
            except AuthError as exc:
                if getattr(exc, "error_key", None) == "invalid_grant":
                    raise _auth_error(
                        f"Constant Contact refused the refresh token for {self.client_id}: it "
                        "expired (180 days unused), was revoked, or was already used by another "
                        f"session. {_login_advice(self.client_id)}; the saved credentials stay "
                        "until the new login succeeds.",
                        "invalid_grant",
                    ) from None
                raise
            fresh = _credentials(
                body,
                client_id=self.client_id,
                now=self._clock(),
                auth_url=self._session.auth_url,
                base_url=creds.base_url,
                previous=creds,
            )
            if store is not None:
                # Before anything else: with rotation the old refresh token is dead now,
                # and this new one exists nowhere else.
                store.save(fresh)
            self._creds = fresh
            self._last_refresh = fresh.obtained_at
            self.refreshes += 1
        left = (
            "unknown"
            if fresh.expires_at is None
            else f"{fresh.expires_at - fresh.obtained_at:.0f} s"
        )
        _log.info("refreshed the access token for %s (valid for %s)", self.client_id, left)
        return True

    def forget(self) -> None:
        """Drop the tokens from memory (logout); later calls raise AuthError."""
        with self._lock:
            self._creds = None


# --------------------------------------------------------------------------- login views


class LoginView(Protocol):
    """What a login shows the user. :class:`TextView` prints; in a notebook,
    :class:`ccpandas.widgets.login.LoginWidget` shows a link, the code and a countdown."""

    def show_device_code(self, code: DeviceCode) -> None:
        """A device login started: show ``code.link`` and ``code.user_code``."""

    def show_url(self, url: str) -> None:
        """A PKCE login started: the user must open ``url``."""

    def tick(self, remaining: float) -> None:
        """About once a second while waiting: seconds left before the code expires."""

    def status(self, state: str, message: str) -> None:
        """``waiting``, ``connected``, ``denied``, ``expired``, ``cancelled`` or ``failed``."""


class TextView:
    """The terminal's view of a login: plain lines on ``stream`` (default stdout).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> TextView(out).status("connected", "Connected.")
        >>> out.getvalue()
        'Connected.\\n'
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self._stream or sys.stdout, flush=True)

    def show_device_code(self, code: DeviceCode) -> None:
        minutes = max(1, round(code.expires_in / 60))
        self._print(
            "To connect ccpandas to Constant Contact, open this page and sign in:\n"
            f"    {code.link}\n"
            f"Check that it shows the code {code.user_code} (valid for {minutes} min)."
        )

    def show_url(self, url: str) -> None:
        self._print(
            f"To connect ccpandas to Constant Contact, open this page and sign in:\n    {url}"
        )

    def tick(self, remaining: float) -> None:
        pass  # a terminal does not need a ticking countdown

    def status(self, state: str, message: str) -> None:
        self._print(message)


def _default_view() -> LoginView:
    from ccpandas.widgets._env import in_notebook  # no ipywidgets import

    if in_notebook():
        from IPython.display import display

        from ccpandas.widgets.login import LoginWidget

        widget = LoginWidget()
        display(widget)
        return widget
    return TextView()


# --------------------------------------------------------------------------- the flows


def _wait(
    seconds: float,
    deadline: float,
    view: LoginView,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Sleep ``seconds`` in slices of at most one, ticking the countdown."""
    end = clock() + seconds
    while True:
        now = clock()
        view.tick(max(0.0, deadline - now))
        if now >= end:
            return
        sleep(min(1.0, end - now))


def _device_flow(
    session: OAuthSession,
    scopes: tuple[str, ...],
    view: LoginView,
    *,
    timeout: float | None,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    code = session.start_device_login(scopes)
    view.show_device_code(code)
    view.status("waiting", "Waiting for you to approve in the browser...")
    life = code.expires_in if timeout is None else min(code.expires_in, timeout)
    deadline = clock() + life
    interval = max(0.0, code.interval)
    while True:
        _wait(min(interval, max(0.0, deadline - clock())), deadline, view, sleep, clock)
        try:
            return session.poll_device_login(code)
        except AuthError as exc:
            key = getattr(exc, "error_key", None)
            if key == "authorization_pending":
                pass
            elif key == "slow_down":
                interval += SLOW_DOWN_STEP
            elif key == "access_denied":
                view.status("denied", "The sign-in was denied.")
                raise _auth_error(
                    "The sign-in was denied in the browser. Run ccpandas.login() again to retry.",
                    "access_denied",
                ) from None
            elif key == "expired_token":
                view.status("expired", "The code expired.")
                raise _auth_error(
                    "The sign-in code expired before it was approved. Run ccpandas.login() "
                    "again for a new one.",
                    "expired_token",
                ) from None
            else:
                view.status("failed", f"The sign-in failed ({key}).")
                raise
        if clock() >= deadline:
            view.status("expired", "The code expired.")
            raise _auth_error(
                f"No approval within {life:.0f} s. Run ccpandas.login() again for a new code.",
                "expired_token",
            )


class _CallbackHandler(BaseHTTPRequestHandler):
    server: _LoopbackServer

    def do_GET(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        if parts.path != self.server.expected_path:
            self.send_error(404)
            return
        self.server.answer = dict(urllib.parse.parse_qsl(parts.query))
        ok = "code" in self.server.answer
        text = (
            "Signed in. You can close this tab and go back to your notebook."
            if ok
            else "The sign-in did not complete. Go back to your notebook for details."
        )
        body = f"<!doctype html><meta charset='utf-8'><p>{html.escape(text)}</p>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default writes the request line, with the authorization code, to stderr


class _LoopbackServer(HTTPServer):
    """Waits for the browser's redirect to ``http://127.0.0.1:PORT/path?code=...``."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self.expected_path = path or "/"
        self.answer: dict[str, str] | None = None
        super().__init__((host, port), _CallbackHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's name, which can hang without network.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


def _pkce_flow(
    session: OAuthSession,
    scopes: tuple[str, ...],
    view: LoginView,
    *,
    redirect_uri: str,
    open_browser: bool,
    timeout: float | None,
    clock: Callable[[], float],
) -> dict[str, Any]:
    from oauthlib.oauth2 import WebApplicationClient

    parts = urllib.parse.urlsplit(redirect_uri)
    if parts.scheme != "http" or not is_loopback_host(parts.hostname):
        raise ConfigError(
            "redirect_uri must be http:// to a loopback address, e.g. "
            f"{DEFAULT_REDIRECT_URI} (the browser hands the code to this process)"
        )
    host = parts.hostname or "127.0.0.1"
    try:
        server = _LoopbackServer(host, 80 if parts.port is None else parts.port, parts.path)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{parts.port} for the login redirect ({exc.strerror}); "
            "pass another redirect_uri= registered in your application"
        ) from None
    try:
        shown_host = f"[{host}]" if ":" in host else host
        redirect = urllib.parse.urlunsplit(
            ("http", f"{shown_host}:{server.server_port}", parts.path or "/", "", "")
        )
        pkce = WebApplicationClient(session.client_id)
        verifier = pkce.create_code_verifier(64)
        challenge = pkce.create_code_challenge(verifier, "S256")
        state = secrets.token_urlsafe(24)
        url = session.authorization_url(
            redirect_uri=redirect, scopes=scopes, state=state, challenge=challenge
        )
        view.show_url(url)
        view.status("waiting", "Waiting for the browser to come back...")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        deadline = clock() + (timeout if timeout is not None else 600.0)
        server.timeout = 0.25
        while server.answer is None:
            if clock() >= deadline:
                view.status("expired", "No answer from the browser.")
                raise _auth_error(
                    "The browser did not come back in time. Run ccpandas.login() again.",
                    "timeout",
                )
            view.tick(max(0.0, deadline - clock()))
            server.handle_request()
        answer = server.answer
    finally:
        server.server_close()
    if not secrets.compare_digest(answer.get("state", ""), state):
        view.status("failed", "The answer did not match this login.")
        raise _auth_error("The login answer did not match this login (state); try again.", "state")
    if "error" in answer:
        denied = answer["error"] == "access_denied"
        view.status("denied" if denied else "failed", "The sign-in was not completed.")
        raise _auth_error(
            "The sign-in was denied in the browser."
            if denied
            else f"The sign-in failed: {answer['error']}. {answer.get('error_description', '')}",
            answer["error"],
        )
    if "code" not in answer:
        raise _auth_error(
            "The browser came back without an authorization code.", "invalid_response"
        )
    return session.exchange_code(answer["code"], redirect, verifier)


def _resolve_client_id(client_id: str | None, store: TokenStore) -> str | None:
    if client_id is not None:
        if not isinstance(client_id, str) or not client_id.strip():
            raise ConfigError("client_id must be a non-empty string (your application's API key)")
        return client_id.strip()
    env = _env(CLIENT_ID_ENV)
    if env:
        return env
    saved = store.client_ids()
    if len(saved) == 1:
        return saved[0]
    if len(saved) > 1:
        raise AuthError(
            f"Credentials are saved for several applications ({', '.join(saved)}): pass "
            f"client_id=..., or set {CLIENT_ID_ENV}."
        )
    return None


def _client_for(
    provider: Callable[[], str] | str | None,
    base_url: str,
    client_options: Mapping[str, Any] | None,
    set_default: bool,
) -> Client:
    client = Client(token=provider, base_url=base_url, **dict(client_options or {}))
    if set_default:
        set_default_client(client)
    return client


def login(
    client_id: str | None = None,
    *,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    flow: str = "device",
    auth_url: str | None = None,
    base_url: str | None = None,
    client_secret: str | Secret | None = None,
    redirect_uri: str = DEFAULT_REDIRECT_URI,
    open_browser: bool | None = None,
    view: LoginView | None = None,
    store: TokenStore | None = None,
    save: bool = True,
    timeout: float | None = None,
    set_default: bool = True,
    client_options: Mapping[str, Any] | None = None,
    min_refresh_interval: float = MIN_REFRESH_INTERVAL,
) -> Client:
    """Log in to Constant Contact interactively and return a connected client.

    ``flow="device"`` (default) shows a link and a code (a widget in a notebook, text in
    a terminal) and waits until you approve in any browser, on any machine: it works on
    JupyterHub, Colab and VS Code remote. ``flow="pkce"`` opens the browser on this
    machine and catches the redirect on ``redirect_uri`` (a loopback address registered
    in your application). The credentials are saved (``save=True``) for the next
    session, replacing the previous ones only once this login succeeded, and the client
    becomes the default one (``set_default=True``).

    ``client_id`` is your application's API key (default ``CC_CLIENT_ID``); ``auth_url``
    the authorization server (default ``CC_AUTH_URL``, else Constant Contact's);
    ``base_url`` the API (default ``CC_BASE_URL``, else Constant Contact's);
    ``client_options`` more keyword arguments for the Client (``rate``, ``timeout``...).

    Example:
        >>> client = ccpandas.login(client_id="0a1b2c3d-...")  # doctest: +SKIP
        To connect ccpandas to Constant Contact, open this page and sign in: ...
    """
    if flow not in ("device", "pkce"):
        raise ConfigError(f"flow must be 'device' or 'pkce', not {flow!r}")
    store = store if store is not None else TokenStore()
    cid = client_id.strip() if isinstance(client_id, str) and client_id.strip() else None
    cid = cid or _env(CLIENT_ID_ENV)
    if cid is None:
        raise ConfigError(
            "login needs your application's client id (its API key): "
            f"ccpandas.login(client_id=...) or set {CLIENT_ID_ENV}; {_GUIDE}"
        )
    scope_list = _scopes(scopes)
    api_url = base_url or _env(BASE_URL_ENV) or DEFAULT_BASE_URL
    normalize_base_url(api_url)  # a bad base URL fails now, not after the login
    session = OAuthSession(
        cid,
        auth_url=auth_url,
        client_secret=client_secret if client_secret is not None else _env(CLIENT_SECRET_ENV),
    )
    view = view if view is not None else _default_view()
    try:
        if flow == "device":
            body = _device_flow(
                session, scope_list, view, timeout=timeout, sleep=time.sleep, clock=time.monotonic
            )
        else:
            if open_browser is None:
                from ccpandas.widgets._env import in_notebook

                open_browser = not in_notebook()
            body = _pkce_flow(
                session,
                scope_list,
                view,
                redirect_uri=redirect_uri,
                open_browser=open_browser,
                timeout=timeout,
                clock=time.monotonic,
            )
    except KeyboardInterrupt:
        view.status("cancelled", "Login cancelled.")
        raise
    except AuthError as exc:
        if getattr(exc, "error_key", None) not in ("access_denied", "expired_token"):
            view.status("failed", f"The sign-in failed: {exc}")
        raise
    creds = _credentials(
        body, client_id=cid, now=time.time(), auth_url=session.auth_url, base_url=api_url
    )
    if save:
        store.save(creds)  # only now: a failed login leaves the old credentials alone
    if "contact_data" not in creds.scopes and creds.scopes:
        _log.warning(
            "the login was granted %s without 'contact_data': the contact endpoints will "
            "answer 403",
            " ".join(creds.scopes),
        )
    provider = OAuthToken(
        creds,
        session=session,
        store=store if save else None,
        min_refresh_interval=min_refresh_interval,
    )
    view.status("connected", f"Connected to Constant Contact ({' '.join(creds.scopes)}).")
    return _client_for(provider, api_url, client_options, set_default)


def connect(
    client_id: str | None = None,
    *,
    token: str | Callable[[], str] | None = None,
    base_url: str | None = None,
    auth_url: str | None = None,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    flow: str = "device",
    client_secret: str | Secret | None = None,
    interactive: bool = True,
    store: TokenStore | None = None,
    set_default: bool = True,
    client_options: Mapping[str, Any] | None = None,
    min_refresh_interval: float = MIN_REFRESH_INTERVAL,
    **login_options: Any,
) -> Client:
    """A connected client from the first token source that has one: ``token=``, then
    ``CC_ACCESS_TOKEN`` (refreshable with ``CC_REFRESH_TOKEN`` and ``CC_CLIENT_ID``), then
    credentials saved by an earlier login, then (``interactive=True``) :func:`login`.

    ``client_id`` picks the saved credentials (default ``CC_CLIENT_ID``, or the only
    application with saved credentials). ``login_options`` go to :func:`login`
    (``view``, ``redirect_uri``, ``open_browser``, ``timeout``). The client becomes the
    default one (``set_default=True``). Raises AuthError with what to do when no source
    has a token and ``interactive`` is False.

    Example:
        >>> client = ccpandas.connect()  # doctest: +SKIP
        >>> client = ccpandas.connect(client_id="0a1b2c3d-...", interactive=False)  # doctest: +SKIP
    """
    store = store if store is not None else TokenStore()
    api_url = base_url or _env(BASE_URL_ENV)
    options = dict(client_options or {})

    # 1. explicit token
    if token is not None:
        return _client_for(token, api_url or DEFAULT_BASE_URL, options, set_default)

    # 2. the environment
    if _env(TOKEN_ENV):
        env_refresh = _env(REFRESH_TOKEN_ENV)
        cid = client_id or _env(CLIENT_ID_ENV)
        if env_refresh and cid:
            origin = _fingerprint(env_refresh)
            saved = store.load(cid)
            if saved is not None and saved.origin == origin:
                creds = saved  # the rotated successors of this same refresh token
            else:
                creds = Credentials(
                    cid,
                    Secret(_env(TOKEN_ENV) or ""),
                    Secret(env_refresh),
                    obtained_at=0.0,
                    auth_url=None,
                    base_url=api_url,
                    origin=origin,
                )
            provider = OAuthToken(
                creds,
                auth_url=auth_url,
                client_secret=client_secret
                if client_secret is not None
                else _env(CLIENT_SECRET_ENV),
                store=store,
                min_refresh_interval=min_refresh_interval,
            )
            _log.info("connecting with %s and %s", TOKEN_ENV, REFRESH_TOKEN_ENV)
            return _client_for(provider, api_url or DEFAULT_BASE_URL, options, set_default)
        _log.info("connecting with %s", TOKEN_ENV)
        return _client_for(None, api_url or DEFAULT_BASE_URL, options, set_default)

    # 3. saved credentials
    cid = _resolve_client_id(client_id, store)
    saved = store.load(cid) if cid else None
    if saved is not None:
        provider = OAuthToken(
            saved,
            auth_url=auth_url,
            client_secret=client_secret if client_secret is not None else _env(CLIENT_SECRET_ENV),
            store=store,
            min_refresh_interval=min_refresh_interval,
        )
        try:
            provider()  # refreshes now if the saved token has expired
        except AuthError as exc:
            if not interactive or getattr(exc, "error_key", None) not in (
                "invalid_grant",
                "no_refresh_token",
            ):
                raise
            _log.warning("the saved login no longer works; logging in again")
        else:
            _log.info("connecting with the saved login of %s", cid)
            return _client_for(
                provider, api_url or saved.base_url or DEFAULT_BASE_URL, options, set_default
            )

    # 4. interactive login
    if not interactive or cid is None:
        how = (
            f"Pass token=..., set {TOKEN_ENV}, or log in once with "
            f"ccpandas.login(client_id=...) (or set {CLIENT_ID_ENV})"
        )
        if cid is not None:
            how = f"No saved login for {cid}. {how}"
        raise AuthError(f"Not connected to Constant Contact. {how}; {_GUIDE}")
    return login(
        cid,
        scopes=scopes,
        flow=flow,
        auth_url=auth_url or (saved.auth_url if saved else None),
        base_url=api_url or (saved.base_url if saved else None),
        client_secret=client_secret,
        store=store,
        set_default=set_default,
        client_options=options,
        min_refresh_interval=min_refresh_interval,
        **login_options,
    )


def logout(
    client_id: str | None = None,
    *,
    store: TokenStore | None = None,
    revoke: bool = True,
    auth_url: str | None = None,
) -> bool:
    """Forget the saved login of ``client_id`` (default ``CC_CLIENT_ID``, or the only one
    saved): revoke its refresh token at the server (``revoke=True``, best effort), delete
    it from the token store, and drop it from every client of this kernel. True if a
    saved login was removed.

    Example:
        >>> ccpandas.logout()  # doctest: +SKIP
        True
    """
    store = store if store is not None else TokenStore()
    cid = _resolve_client_id(client_id, store)
    if cid is None:
        return False
    with store.locked(cid):
        creds = store.load(cid)
        if creds is not None and revoke:
            token, hint = (
                (creds.refresh_token, "refresh_token")
                if creds.refresh_token
                else (creds.access_token, "access_token")
            )
            try:
                session = OAuthSession(cid, auth_url=auth_url or creds.auth_url)
                try:
                    session.revoke(token, hint)
                finally:
                    session.close()
            except (AuthError, ConfigError) as exc:
                _log.warning("could not revoke the token at the server (%s); deleting it here", exc)
        removed = store.delete(cid)
    for provider in list(_providers):
        if provider.client_id == cid:
            provider.forget()
    from ccpandas import client as client_module

    # Read the default client without get_default_client(), which would build one.
    default = client_module._default_client
    func = getattr(getattr(default, "_token_provider", None), "func", None)
    if isinstance(func, OAuthToken) and func.client_id == cid:
        set_default_client(None)
    return removed
