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

import contextlib
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
from ccpandas._secret import Secret, header_problem
from ccpandas.auth.tokenstore import Credentials
from ccpandas.client.transport import SecretAuth, disarm, mask_authorization
from ccpandas.client.urls import is_loopback_host, secure_url
from ccpandas.errors import AuthError, ConfigError

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "DEVICE_GRANT",
    "SLOW_DOWN_STEP",
    "DeviceCode",
    "LoginView",
    "OAuthSession",
    "TextView",
    "credentials_from_answer",
    "device_flow",
    "pkce_flow",
]

#: Register exactly this redirect URI in your Constant Contact application for
#: ``flow="pkce"`` (or pass your own loopback ``redirect_uri=``).
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after ``slow_down`` the device poll interval grows by 5 seconds.
SLOW_DOWN_STEP = 5.0

_log = logging.getLogger("ccpandas.auth.connect")


def pop_secret(options: Any, key: str = "client_secret") -> None:
    """``options[key]`` (a client secret, or None) made a Secret in place (``options``: a
    dict, e.g. a call's ``**options``), without surrounding whitespace (None when absent
    or blank), so no caller keeps it in clear. One no HTTP header could carry is a
    ConfigError, not showing it, raised once every local copy is dropped: no frame of
    its traceback, and no chained error, holds it.

    Example:
        >>> given = {"client_secret": " s3cret "}
        >>> pop_secret(given); given
        {'client_secret': Secret('********')}
    """
    raw = options.pop(key, None)
    if raw is not None and not isinstance(raw, str | Secret):
        kind = type(raw).__name__
        del raw  # bytes, say: no frame of the error's traceback keeps them
        raise TypeError(f"client_secret must be a string, not {kind}")
    text = (raw.reveal() if isinstance(raw, Secret) else raw or "").strip()
    problem = header_problem(text) if text else None
    options[key] = Secret(text) if text and problem is None else None
    del raw, text
    if problem is not None:
        raise ConfigError(f"the client secret has {problem}; copy it again, in one piece")


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

    # A session whose __init__ refused an argument still has a repr: a traceback shown
    # with its frames' locals (IPython's verbose mode, Sentry) calls it.
    client_id = auth_url = ""

    def __init__(
        self,
        client_id: str,
        *,
        auth_url: str | None = None,
        client_secret: str | Secret | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        given: dict[str, Any] = {"client_secret": client_secret}
        del client_secret  # from here on no frame of this call holds it in clear
        pop_secret(given)
        self._client_secret = given["client_secret"]
        if not isinstance(client_id, str) or not client_id.strip():
            raise ConfigError("client_id must be a non-empty string (your application's API key)")
        self.client_id = client_id.strip()
        if problem := header_problem(self.client_id):  # it goes into the Basic header
            raise ConfigError(
                f"client_id has {problem}: an API key is printable ASCII; copy it again "
                "from your application's page"
            )
        # Only https, or plain http to a loopback host (the emulator): the token endpoint
        # receives refresh tokens and client secrets.
        self.auth_url = secure_url(
            auth_url or env(AUTH_URL_ENV) or DEFAULT_AUTH_URL,
            name="auth_url",
            example="https://host/oauth2/default/v1",
            carries="refresh tokens and client secrets",
        )
        self.timeout = timeout
        self._sleep = sleep
        self._session = requests.Session()
        self._session.trust_env = False  # no .netrc credentials, no proxy env surprises
        form, accept = "application/x-www-form-urlencoded", "application/json"
        self._session.headers.update({"Content-Type": form, "Accept": accept})
        if self._client_secret is not None:  # no local holds the header in clear
            self._session.auth = SecretAuth(self._client_secret, user=self.client_id)

    def __repr__(self) -> str:
        return f"OAuthSession(client_id={self.client_id!r}, auth_url={self.auth_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    # -- HTTP ----------------------------------------------------------------------------

    def _post(self, endpoint: str, fields: Secret, *, what: str) -> requests.Response:
        """POST a form; retry answers that say nothing happened (429, 503, refused).

        ``fields`` is the urlencoded form, kept as a Secret (it holds a refresh token, a
        device code or an authorization code). Errors are raised outside any ``except``
        block, so they chain no requests exception (whose frames hold the form).
        """
        url = f"{self.auth_url}/{endpoint}"
        for attempt in (1, 2, 3):
            why = ""  # why no answer came (never the form), or "" for an answer
            try:
                resp = self._session.post(
                    url, data=fields.reveal(), timeout=self.timeout, allow_redirects=False
                )
            except requests.ConnectionError as exc:
                disarm(exc)
                refused = "refused" in str(exc).lower() or "NewConnectionError" in repr(exc)
                why = f" {urllib.parse.urlsplit(url).netloc} ({type(exc).__name__})"
            except Exception as exc:  # http.client's errors quote the header
                disarm(exc)
                where = "" if isinstance(exc, requests.RequestException) else " in the HTTP library"
                refused, why = False, f" ({type(exc).__name__}{where})"
            except BaseException as exc:  # Ctrl-C mid-request: let it go, disarmed
                disarm(exc)
                raise
            else:  # the request it keeps: body removed, Authorization masked
                mask_authorization(resp.request)
            if why and (not refused or attempt == 3):
                raise AuthError(
                    f"{what}: no answer from the authorization server{why}", error_key="transport"
                )
            if why:  # refused: nothing was sent
                self._sleep(0.5 * attempt)
            elif (resp.status_code == 429 or resp.status_code >= 500) and attempt < 3:
                retry_after = resp.headers.get("Retry-After", "")
                status = resp.status_code
                _log.info("%s: the authorization server answered %d; retrying", what, status)
                self._sleep(float(retry_after) if retry_after.isdigit() else 1.0 * attempt)
            else:
                return resp
        raise AssertionError("unreachable")  # pragma: no cover

    def _grant(self, grant_type: str, what: str, **fields: Any) -> dict[str, Any]:
        """POST a token request (oauthlib builds the form: the grant's fields, and the
        client id when no client secret authenticates it); the checked token answer, or
        AuthError."""
        from oauthlib.oauth2.rfc6749.parameters import prepare_token_request

        # Without a client secret (a public application) the form names the client.
        named = {"client_id": self.client_id, "include_client_id": self._client_secret is None}
        form = Secret(prepare_token_request(grant_type, **named, **fields))
        fields.clear()  # codes and tokens in clear: not in this frame if the POST fails
        resp = self._post("token", form, what=what)
        status = resp.status_code
        if status != 200 and '"error"' not in resp.text:
            raise AuthError(
                f"{what}: the authorization server answered HTTP {status}",
                error_key=f"http_{status}",
            )
        token, problem = _parse_token_answer(self.client_id, resp.text)
        del resp  # its body may hold tokens: not in this frame when an error is raised
        if token is None:
            raise AuthError(f"{what}: {problem[1]}", error_key=problem[0])
        return token

    # -- the grants ----------------------------------------------------------------------

    def start_device_login(self, scopes: Iterable[str]) -> DeviceCode:
        """POST /device/authorize: a device code and the user code to show."""
        fields = Secret(
            urllib.parse.urlencode({"client_id": self.client_id, "scope": " ".join(scopes)})
        )
        resp = self._post("device/authorize", fields, what="device login")
        status = resp.status_code
        body: Any = {}
        with contextlib.suppress(ValueError):
            body = resp.json()
        del resp
        body = body if isinstance(body, dict) else {}
        if status != 200 or "device_code" not in body:
            error, detail = body.get("error"), body.get("error_description")
            raise AuthError(
                f"device login refused: HTTP {status} {error or ''}"
                + (f" ({detail})" if detail else ""),
                error_key=error or f"http_{status}",
            )
        code = _device_code(body)
        del body  # the device code in clear: out of this frame before raising
        if code is None:
            raise AuthError("device login: an incomplete answer", error_key="invalid_response")
        return code

    def poll_device_login(self, code: DeviceCode) -> dict[str, Any]:
        """One poll of the token endpoint; AuthError with ``error_key``
        ``authorization_pending`` / ``slow_down`` / ``expired_token`` / ``access_denied``."""
        return self._grant(DEVICE_GRANT, "device login", device_code=code.device_code.reveal())

    def exchange_code(
        self, code: str | Secret, redirect_uri: str, verifier: str | Secret
    ) -> dict[str, Any]:
        """Exchange an authorization code (PKCE) for tokens."""
        return self._grant(
            "authorization_code",
            "login",
            code=Secret(code).reveal(),
            redirect_uri=redirect_uri,
            code_verifier=Secret(verifier).reveal(),
        )

    def refresh(self, refresh_token: Secret, scopes: Iterable[str] | None = None) -> dict[str, Any]:
        """Use a refresh token; the answer may hold a new (rotated) one."""
        return self._grant(
            "refresh_token",
            "token refresh",
            refresh_token=refresh_token.reveal(),
            scope=list(scopes) if scopes else None,
        )

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
        extra = {"client_id": self.client_id} if self._client_secret is None else {}
        fields = Secret(
            urllib.parse.urlencode({"token": token.reveal(), "token_type_hint": hint, **extra})
        )
        resp = self._post("revoke", fields, what="logout")
        if resp.status_code != 200:
            raise AuthError(
                f"logout: the server answered HTTP {resp.status_code} to the revocation",
                error_key=f"http_{resp.status_code}",
            )


def _device_code(body: dict[str, Any]) -> DeviceCode | None:
    """The DeviceCode of a device authorization answer, or None if it is incomplete."""
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
        return None


def _parse_token_answer(client_id: str, text: str) -> tuple[dict[str, Any] | None, tuple[str, str]]:
    """oauthlib's checks of a token answer: ``(token, ("", ""))``, or ``(None, (error_key,
    message))``. Returns instead of raising, so no oauthlib frame (they hold the answer,
    tokens included) is chained to the error the caller raises."""
    from oauthlib.oauth2 import OAuth2Error, WebApplicationClient

    parser = WebApplicationClient(client_id)
    try:
        return dict(parser.parse_request_body_response(text)), ("", "")
    except OAuth2Error as exc:
        detail = f" ({exc.description})" if exc.description else ""
        return None, (exc.error, f"{exc.error}{detail}")
    except ValueError:
        return None, ("invalid_response", "the token answer is not JSON")
    finally:
        parser.token = {}  # drop oauthlib's copy of the tokens at once
        parser.access_token = parser.refresh_token = None


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
        raise AuthError("the token answer has no access token", error_key="invalid_response")
    refresh, expires_in, scope = (body.get(k) for k in ("refresh_token", "expires_in", "scope"))
    if isinstance(scope, list | tuple):
        scopes = tuple(str(s) for s in scope)
    else:  # none came: the previous ones stand
        scopes = tuple(scope.split()) if isinstance(scope, str) else ()
        scopes = scopes or getattr(previous, "scopes", ())
    kept = Secret(refresh) if isinstance(refresh, str) and refresh else None  # else the old one
    return Credentials(
        client_id=client_id,
        access_token=Secret(access),
        refresh_token=kept or getattr(previous, "refresh_token", None),
        expires_at=now + float(expires_in) if expires_in is not None else None,
        scopes=scopes,
        obtained_at=now,
        auth_url=auth_url,
        base_url=base_url,
        origin=origin if origin is not None else getattr(previous, "origin", None),
    )


# --------------------------------------------------------------------------- login views


class LoginView(Protocol):
    """What a login shows the user. :class:`TextView` prints; in a notebook,
    :class:`ccpandas.widgets.login.LoginWidget` shows a link, the code and a countdown.
    Any object with these four methods can be passed as ``login(view=...)``."""

    def show_device_code(self, code: DeviceCode) -> None:
        """A device login started: show ``code.link`` and ``code.user_code``.

        Args:
            code: The started device login (a ``DeviceCode``): the page to open
                (``link``), the code it must show (``user_code``) and how many seconds
                it stays valid (``expires_in``).
        """

    def show_url(self, url: str) -> None:
        """A PKCE login started: the user must open ``url``.

        Args:
            url: The authorization server's sign-in page for this login.
        """

    def tick(self, remaining: float) -> None:
        """About once a second while waiting: seconds left before the code expires.

        Args:
            remaining: Seconds left before the login gives up, e.g. ``540.0``.
        """

    def status(self, state: str, message: str) -> None:
        """The login's state changed.

        Args:
            state: ``"waiting"``, ``"connected"``, ``"denied"``, ``"expired"``,
                ``"cancelled"`` or ``"failed"``.
            message: The same in a sentence for the user (never a token), e.g.
                ``"Login cancelled."``.
        """


class TextView:
    """The terminal's view of a login: plain lines on ``stream`` (default stdout).

    Args:
        stream: Where the lines go, e.g. an ``io.StringIO``. None (the default) is
            ``sys.stdout`` at each line.

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


def _wait(seconds: float, deadline: float, view: LoginView) -> None:
    """Sleep ``seconds`` in slices of at most one, ticking the countdown."""
    end = time.monotonic() + seconds
    while True:
        now = time.monotonic()
        view.tick(max(0.0, deadline - now))
        if now >= end:
            return
        time.sleep(min(1.0, end - now))


def _ended(view: LoginView, state: str, message: str, exc: AuthError) -> AuthError:
    """``exc``, once ``view`` showed how the login ended: ``connect._run_flow`` shows every
    ending the flow did not (one line each time, whatever key the server sent).

    Example:
        >>> _ended(TextView(), "denied", "Denied.", AuthError("denied"))._shown
        Denied.
        True
    """
    view.status(state, message)
    exc._shown = True
    return exc


def device_flow(
    session: OAuthSession,
    scopes: tuple[str, ...],
    view: LoginView,
    *,
    timeout: float | None,
) -> dict[str, Any]:
    code = session.start_device_login(scopes)
    view.show_device_code(code)
    view.status("waiting", "Waiting for you to approve in the browser...")
    life = code.expires_in if timeout is None else min(code.expires_in, timeout)
    deadline = time.monotonic() + life
    interval = max(0.0, code.interval)
    while True:
        _wait(min(interval, max(0.0, deadline - time.monotonic())), deadline, view)
        try:
            return session.poll_device_login(code)
        except AuthError as exc:
            key = exc.error_key
            if key not in ("authorization_pending", "slow_down", "access_denied", "expired_token"):
                raise  # not shown: the login's caller says that it failed
        # Out of the except block: the errors below chain no earlier one.
        if key == "slow_down":
            interval += SLOW_DOWN_STEP
        elif key == "access_denied":
            why = "The sign-in was denied in the browser. Run ccpandas.login() again to retry."
            raise _ended(view, "denied", "The sign-in was denied.", AuthError(why, error_key=key))
        elif key == "expired_token":
            why = (
                "The sign-in code expired before it was approved. Run ccpandas.login() again "
                "for a new one."
            )
            raise _ended(view, "expired", "The code expired.", AuthError(why, error_key=key))
        if time.monotonic() >= deadline:
            why = f"No approval within {life:g} s. Run ccpandas.login() again for a new code."
            late = AuthError(why, error_key="expired_token")
            raise _ended(view, "expired", f"No approval within {life:g} s.", late)


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
        verifier = Secret(pkce.create_code_verifier(64))
        challenge = pkce.create_code_challenge(verifier.reveal(), "S256")
        del pkce  # it keeps the verifier as an attribute
        state = secrets.token_urlsafe(24)
        url = session.authorization_url(
            redirect_uri=redirect, scopes=scopes, state=state, challenge=challenge
        )
        view.show_url(url)
        view.status("waiting", "Waiting for the browser to come back...")
        if open_browser:
            import webbrowser

            webbrowser.open(url)
        deadline = time.monotonic() + (timeout if timeout is not None else 600.0)
        server.timeout = 0.25
        while server.answer is None:
            if time.monotonic() >= deadline:
                late = AuthError(
                    "The browser did not come back in time. Run ccpandas.login() again.",
                    error_key="timeout",
                )
                raise _ended(view, "expired", "No answer from the browser.", late)
            view.tick(max(0.0, deadline - time.monotonic()))
            server.handle_request()
        answer = server.answer
        code = Secret(answer.pop("code", ""))  # the one secret of the redirect
        server.answer = None
    finally:
        server.server_close()
    if not secrets.compare_digest(answer.get("state", ""), state):
        raise AuthError(
            "the login answer did not match this login (state); try again.", error_key="state"
        )
    if "error" in answer:
        key, why = answer["error"], answer.get("error_description", "")
        if key != "access_denied":  # not shown: the login's caller says that it failed
            raise AuthError(
                f"authorization page: {key}" + (f" ({why})" if why else ""), error_key=key
            )
        denied = AuthError("The sign-in was denied in the browser.", error_key=key)
        raise _ended(view, "denied", "The sign-in was not completed.", denied)
    if not code:
        raise AuthError(
            "The browser came back without an authorization code.", error_key="invalid_response"
        )
    return session.exchange_code(code, redirect, verifier)
