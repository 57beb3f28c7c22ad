"""Talking to the OAuth2 authorization server: the device flow, the authorization code
flow with PKCE on a loopback redirect, refreshing, revoking.

What comes from a library and what is written here: oauthlib builds the token requests
(device code, authorization code with the PKCE verifier, refresh token), makes the PKCE
verifier and its S256 challenge, and parses and checks every token answer. Written here:
the device authorization request and the polling loop of RFC 8628 (oauthlib has no
poller), the authorization URL (oauthlib refuses ``http://`` even to the loopback
emulator unless a process-wide environment variable is set), the loopback listener that
catches the browser's redirect, and the HTTP calls themselves (plain requests: its debug
logging shows URLs, never bodies, and no call here puts a secret in a URL).

Example:
    >>> session = OAuthSession("my-app", auth_url="https://authz.example.com/oauth2/default/v1")
    >>> session.authorization_url(
    ...     redirect_uri="http://127.0.0.1:8976/callback",
    ...     scopes=["contact_data"],
    ...     state="s",
    ...     challenge="c" * 43,
    ... )[:69]
    'https://authz.example.com/oauth2/default/v1/authorize?response_type=c'
"""

from __future__ import annotations

import dataclasses
import html
import logging
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Protocol, TextIO

import requests

from ccpandas._config import AUTH_URL_ENV, DEFAULT_AUTH_URL, env
from ccpandas._secret import Secret
from ccpandas.auth.tokenstore import Credentials
from ccpandas.client.urls import is_loopback_host, secure_url
from ccpandas.errors import AuthError, ConfigError

__all__ = [
    "AUTH_URL_ENV",
    "DEFAULT_AUTH_URL",
    "DEFAULT_REDIRECT_URI",
    "DEVICE_GRANT",
    "SLOW_DOWN_STEP",
    "DeviceCode",
    "LoginView",
    "OAuthSession",
    "TextView",
    "auth_error",
    "credentials_from_answer",
    "device_flow",
    "normalize_auth_url",
    "pkce_flow",
]

#: Register exactly this redirect URI in your Constant Contact application for
#: ``flow="pkce"`` (or pass your own loopback ``redirect_uri=``).
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after ``slow_down`` the device poll interval grows by 5 seconds.
SLOW_DOWN_STEP = 5.0

_log = logging.getLogger("ccpandas.auth.connect")


def secret_or_none(value: str | Secret | None) -> Secret | None:
    """A client secret as a Secret (None when absent or blank)."""
    if value is None or isinstance(value, Secret):
        return value or None
    if not isinstance(value, str):
        raise TypeError(f"client_secret must be a string, not {type(value).__name__}")
    return Secret(value) if value.strip() else None


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
    return secure_url(
        url,
        name="auth_url",
        example="https://host/oauth2/default/v1",
        carries="refresh tokens and client secrets",
    )


def auth_error(message: str, error_key: str | None = None) -> AuthError:
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
        self.auth_url = normalize_auth_url(auth_url or env(AUTH_URL_ENV) or DEFAULT_AUTH_URL)
        self._client_secret = secret_or_none(client_secret)
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
                _forget_request(exc)
                refused = "refused" in str(exc).lower() or "NewConnectionError" in repr(exc)
                if refused and attempt < 3:
                    self._sleep(0.5 * attempt)
                    continue
                raise auth_error(
                    f"{what}: no answer from the authorization server "
                    f"{urllib.parse.urlsplit(url).netloc} ({type(exc).__name__})",
                    "transport",
                ) from None
            except requests.RequestException as exc:
                _forget_request(exc)
                raise auth_error(
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
            raise auth_error(
                f"{what}: the authorization server answered HTTP {resp.status_code}",
                f"http_{resp.status_code}",
            )
        parser = WebApplicationClient(self.client_id)
        try:
            token = dict(parser.parse_request_body_response(text))
        except OAuth2Error as exc:
            raise auth_error(
                f"{what}: {exc.error}" + (f" ({exc.description})" if exc.description else ""),
                exc.error,
            ) from None
        except ValueError:
            raise auth_error(f"{what}: the token answer is not JSON", "invalid_response") from None
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
            raise auth_error(
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
            raise auth_error("device login: an incomplete answer", "invalid_response") from None

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
            raise auth_error(
                f"logout: the server answered HTTP {resp.status_code} to the revocation",
                f"http_{resp.status_code}",
            )


def _forget_request(exc: requests.RequestException) -> None:
    """Empty the request that requests keeps on its exception: its body holds a refresh
    token, a code or a client secret. (The exception stays reachable as the
    ``__context__`` of ours even with ``from None``; a debugger could show it.)"""
    for req in (getattr(exc, "request", None), getattr(exc.response, "request", None)):
        if req is not None:
            req.body = None
            req.headers.pop("Authorization", None)


def credentials_from_answer(
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
        raise auth_error("the token answer has no access token", "invalid_response")
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


def device_flow(
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
                raise auth_error(
                    "The sign-in was denied in the browser. Run ccpandas.login() again to retry.",
                    "access_denied",
                ) from None
            elif key == "expired_token":
                view.status("expired", "The code expired.")
                raise auth_error(
                    "The sign-in code expired before it was approved. Run ccpandas.login() "
                    "again for a new one.",
                    "expired_token",
                ) from None
            else:
                view.status("failed", f"The sign-in failed ({key}).")
                raise
        if clock() >= deadline:
            view.status("expired", "The code expired.")
            raise auth_error(
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


def pkce_flow(
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
                raise auth_error(
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
        raise auth_error("The login answer did not match this login (state); try again.", "state")
    if "error" in answer:
        denied = answer["error"] == "access_denied"
        view.status("denied" if denied else "failed", "The sign-in was not completed.")
        raise auth_error(
            "The sign-in was denied in the browser."
            if denied
            else f"The sign-in failed: {answer['error']}. {answer.get('error_description', '')}",
            answer["error"],
        )
    if "code" not in answer:
        raise auth_error("The browser came back without an authorization code.", "invalid_response")
    return session.exchange_code(answer["code"], redirect, verifier)
