"""Connecting to Constant Contact: token sources, OAuth2 login, refresh, logout.

:func:`connect` tries the token sources in this order and returns a ready
:class:`~ccpandas.client.Client`:

1. an explicit ``token=`` (a string, or a callable returning one);
2. ``CC_ACCESS_TOKEN`` from the environment (with ``CC_REFRESH_TOKEN``,
   ``CC_CLIENT_ID`` and optionally ``CC_CLIENT_SECRET``, it is refreshed too);
3. credentials saved by an earlier login (:mod:`ccpandas.auth.tokenstore`), per client id;
4. an interactive :func:`login`: the OAuth2 device flow by default (a link and a code;
   works on hosted notebooks), or the authorization code flow with PKCE on a loopback
   redirect (``flow="pkce"``, for desktops).

A login's access token is wrapped in an :class:`OAuthToken`, which refreshes it shortly
before it expires and once after a 401, at most about once per second, saving a rotated
refresh token before anything else happens. Several kernels sharing the saved
credentials take turns through the store's file lock, so none sends a refresh token
another has already used.

The conversation with the authorization server (device flow, PKCE, refresh calls; what
oauthlib does and what is written here) is in :mod:`ccpandas.auth.flows`; the saved
credentials in :mod:`ccpandas.auth.tokenstore`.

Nothing here ever puts a token in a repr, a log record, an exception or a widget.

Example:
    >>> import ccpandas
    >>> client = ccpandas.login(client_id="0a1b2c3d-...")  # doctest: +SKIP
    >>> client = ccpandas.connect()  # later sessions: the saved login  # doctest: +SKIP
    >>> ccpandas.logout()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import urlsplit

from ccpandas._config import (
    AUTH_URL_ENV,
    BASE_URL_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    ENV_VARIABLES,
    REFRESH_TOKEN_ENV,
    TOKEN_ENV,
    env,
)
from ccpandas._docs import shared_params
from ccpandas._env import in_notebook, login_view
from ccpandas._secret import Secret, env_client_id, looks_like_token
from ccpandas.auth.flows import (
    DEFAULT_REDIRECT_URI,
    DeviceCode,
    LoginView,
    OAuthSession,
    TextView,
    credentials_from_answer,
    device_flow,
    pkce_flow,
    pop_secret,
)
from ccpandas.auth.tokenstore import Credentials, CredentialStore, MemoryTokenStore, TokenStore
from ccpandas.client.http import (
    DEFAULT_BASE_URL,
    Client,
    default_client,
    normalize_base_url,
    set_default_client,
)
from ccpandas.client.shared import SharedState, hide
from ccpandas.client.urls import is_loopback_host
from ccpandas.errors import (
    AuthError,
    ConfigError,
    TokenStoreError,
    check_timeout,
    refuse_unknown,
    short_repr,
)

__all__ = [
    "DEFAULT_SCOPES",
    "ENV_VARIABLES",
    "ConnectOptions",
    "DeviceCode",
    "InteractiveOptions",
    "LoginOptions",
    "OAuthToken",
    "SessionOptions",
    "TextView",
    "connect",
    "get_default_client",
    "login",
    "logout",
    "refresh_saved_login",
]

#: ``contact_data`` for the contact endpoints, ``offline_access`` for a refresh token.
DEFAULT_SCOPES = ("contact_data", "offline_access")
#: The token endpoint allows about one request per second.
MIN_REFRESH_INTERVAL = 1.0
#: Refresh this long before expiry at most (less for short-lived tokens: 10 % of the life).
MAX_REFRESH_MARGIN = 300.0
#: Refresh failures that say "not now" rather than "no": no answer, or a busy server.
_TRY_LATER = frozenset(
    {"transport", "rate_limited", "http_429", "temporarily_unavailable", "server_error"}
)
#: After a failed save of refreshed credentials, try again this many seconds later.
SAVE_RETRY_INTERVAL = 60.0
#: Constant Contact drops a refresh token left unused this many days...
REFRESH_IDLE_LIMIT_DAYS = 180
#: ...and ccpandas warns this many days after its last use.
REFRESH_IDLE_WARNING_DAYS = 150

_log = logging.getLogger("ccpandas.auth.connect")
_GUIDE = (
    "see the Authentication guide: https://ccpandas.readthedocs.io/en/latest/authentication.html"
)
# Every live OAuthToken, so logout() can make the ones of its client id forget their tokens.
_providers: weakref.WeakSet[OAuthToken] = weakref.WeakSet()


# --------------------------------------------------------------------------- option bundles
# As stripe-python does (a TypedDict per bundle, taken with Unpack): login() and
# connect() name what picks the application and the servers, and take the rest as one
# bundle, checked once (an unknown name is a TypeError, as for any keyword) and passed
# on whole: connect() to login(), %cc_connect to connect(), the login prompt to login().


class InteractiveOptions(TypedDict, total=False):
    """Options only an interactive :func:`login` uses. Every key is optional:

    ``redirect_uri``
        Where the PKCE flow's browser comes back: an ``http://`` loopback address
        registered in your application. Default ``"http://127.0.0.1:8976/callback"``.
        Only ``flow="pkce"`` uses it.
    ``open_browser``
        Whether the PKCE flow opens the sign-in page in a browser itself (the link is
        shown either way). None (the default) opens it outside a notebook only. Only
        ``flow="pkce"`` uses it.
    ``view``
        Where the login shows its link, code and status: a
        :class:`~ccpandas.auth.flows.LoginView` such as
        :class:`~ccpandas.auth.flows.TextView`. None (the default) is the login widget
        in a notebook, else lines of text on stdout.
    ``timeout``
        Seconds to wait for your approval at most, e.g. ``120``. None (the default)
        waits as long as the device code is valid (the server says how long, e.g. 10
        minutes), or 600 seconds for the PKCE flow.
    ``save``
        True (the default) saves the credentials in ``store`` for later sessions, and
        each refresh after them. False keeps them in this client only.
    """

    redirect_uri: str
    open_browser: bool | None
    view: LoginView | None
    timeout: float | None
    save: bool


class SessionOptions(TypedDict, total=False):
    """Options of every token source of :func:`connect` and of :func:`login`. Every key
    is optional:

    ``scopes``
        The scopes a login asks for, e.g. ``["contact_data"]``. Default
        ``contact_data`` (the contact endpoints) and ``offline_access`` (a refresh
        token, to stay connected beyond the access token's 24 hours).
    ``client_secret``
        A confidential application's client secret, e.g. from ``getpass.getpass()``
        (never type it into a widget). None (the default) reads ``CC_CLIENT_SECRET``;
        without either, the application is public.
    ``store``
        The :class:`~ccpandas.auth.tokenstore.TokenStore` that keeps the credentials
        (:func:`connect` reads saved logins from it too). None (the default) is the
        token store in your config folder (``CCPANDAS_CONFIG_DIR`` chooses it), except
        for a practice login to the emulator, which then keeps them in a
        :class:`~ccpandas.auth.tokenstore.MemoryTokenStore` of this process.
    ``set_default``
        True (the default) makes the client the default client
        (:func:`ccpandas.set_default_client`), which every call with ``client=None``
        uses. False only returns it.
    ``client_options``
        More keyword arguments for the :class:`~ccpandas.Client`, e.g.
        ``{"rate": 2.0, "max_attempts": 4}``. None (the default) uses its defaults.
    ``min_refresh_interval``
        The fewest seconds between two refreshes of the access token (the token
        endpoint allows about one request a second). Default 1.0.
    """

    scopes: Iterable[str]
    client_secret: str | Secret | None
    store: CredentialStore | None
    set_default: bool
    client_options: Mapping[str, Any] | None
    min_refresh_interval: float


class LoginOptions(InteractiveOptions, SessionOptions, total=False):
    """Every keyword of :func:`login` but ``client_id``: those of
    :class:`InteractiveOptions` and :class:`SessionOptions`, and these (all optional):

    ``flow``
        ``"device"`` (the default): a link and a code to approve in any browser, on any
        machine. ``"pkce"``: the browser on this machine, which comes back to
        ``redirect_uri``.
    ``auth_url``
        The authorization server, e.g. ``emu.auth_url`` for the emulator's. None (the
        default) reads ``CC_AUTH_URL``, else Constant Contact's
        (``https://authz.constantcontact.com/oauth2/default/v1``).
    ``base_url``
        The API the client talks to, e.g. ``emu.base_url`` for the emulator. None (the
        default) reads ``CC_BASE_URL``, else the real API, ``https://api.cc.email/v3``.
        The saved login records it.

    Example:
        >>> options: LoginOptions = {"flow": "pkce", "open_browser": False}
        >>> sorted(LoginOptions.__optional_keys__)[:3]
        ['auth_url', 'base_url', 'client_options']
    """

    flow: str
    auth_url: str | None
    base_url: str | None


class ConnectOptions(InteractiveOptions, SessionOptions, total=False):
    """The keywords of :func:`connect` after its client id, servers and flow (what
    ``%cc_connect`` passes on): those of :class:`InteractiveOptions` (for the login it
    may end with) and :class:`SessionOptions`, and these (both optional):

    ``token``
        An access token, or a function returning one (called before each request),
        e.g. ``os.environ["MY_TOKEN"]``: the first source, used as it is (ccpandas does
        not refresh it). None (the default) goes on to the environment.
    ``interactive``
        True (the default) ends with an interactive :func:`login` when no other source
        has a token (a client id is needed). False raises
        :class:`~ccpandas.errors.AuthError` with what to do instead.
    """

    token: str | Callable[[], str] | None
    interactive: bool


# The options' defaults but None (login() and connect() fill the ones not given).
_DEFAULTS: dict[str, Any] = {
    "redirect_uri": DEFAULT_REDIRECT_URI,
    "save": True,
    "scopes": DEFAULT_SCOPES,
    "set_default": True,
    "min_refresh_interval": MIN_REFRESH_INTERVAL,
    "flow": "device",
    "interactive": True,
}


def hide_secrets(options: dict[str, Any]) -> None:
    """The secrets among a call's ``options`` made Secrets in place, first thing: the
    client secret, a ``token`` string and a Redis URL in ``client_options`` (its
    password), so no frame of a call refused later (a plain http:// base URL...) holds
    them in clear. ``client_options`` is copied, never changed.

    Example:
        >>> given = {"token": "t0k", "client_options": {"shared_state": "redis://:pw@h/0"}}
        >>> hide_secrets(given); given["token"], given["client_options"]
        (Secret('********'), {'shared_state': Secret('********')})
    """
    pop_secret(options)
    if "token" in options:
        options["token"] = hide(options["token"], Callable)
    extra = options.get("client_options")
    if isinstance(extra, Mapping) and "shared_state" in extra:
        options["client_options"] = {
            **extra,
            "shared_state": hide(extra["shared_state"], SharedState),
        }


def _options(given: Any, bundle: type, function: str) -> dict[str, Any]:
    """Every option of ``bundle`` (a TypedDict): the ``given`` ones, else the default;
    a name not in the bundle is refused as Python refuses an unknown keyword."""
    names = bundle.__optional_keys__ | bundle.__required_keys__  # type: ignore[attr-defined]
    hide_secrets(given)  # first: no frame of a refused call holds one in clear
    refuse_unknown(given, names, function)
    o = {name: given.get(name, _DEFAULTS.get(name)) for name in names}
    browser, wait = o.get("open_browser"), o.get("min_refresh_interval", 0.0)
    if browser is not None and not isinstance(browser, bool):
        raise TypeError(f"open_browser must be True, False or None, not {short_repr(browser)}")
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not wait >= 0:
        raise ValueError(f"min_refresh_interval must be seconds >= 0, not {short_repr(wait)}")
    return o


# --------------------------------------------------------------------------- small helpers


def _login_store(
    store: CredentialStore | None, base_url: str | None, auth_url: str | None
) -> CredentialStore:
    """Where a login keeps its credentials: ``store`` when given; for a practice login
    (the emulator) an in-memory store unless the token store's place was chosen
    (``CCPANDAS_CONFIG_DIR``), so it never lands in your real token store; else the
    default :class:`TokenStore`."""
    if store is not None:
        return store
    default = TokenStore()
    practice = any(url and is_loopback_host(urlsplit(url).hostname) for url in (base_url, auth_url))
    if practice and not default.chosen:
        return MemoryTokenStore()
    return default


def _scopes(scopes: Iterable[str] | str) -> tuple[str, ...]:
    items = scopes.split() if isinstance(scopes, str) else list(scopes)
    if not items or not all(isinstance(s, str) and s.strip() for s in items):
        raise ConfigError(f"scopes must be non-empty strings, e.g. {DEFAULT_SCOPES}")
    return tuple(dict.fromkeys(s.strip() for s in items))


def _why(exc: BaseException) -> str:
    """What went wrong, without anything a third-party message might carry."""
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    if isinstance(exc, AuthError | ConfigError):
        return str(exc)  # ours: never holds a token
    return type(exc).__name__


def _client_secret(o: Mapping[str, Any]) -> Secret | str | None:
    """The client secret of the options ``o``, else ``CC_CLIENT_SECRET`` (None: neither)."""
    given = o["client_secret"]
    return given if given is not None else env(CLIENT_SECRET_ENV)


def _login_advice(client_id: str | None) -> str:
    who = f"client_id={client_id!r}" if client_id else "client_id=..."
    return f"Log in again with ccpandas.login({who})"


# --------------------------------------------------------------------------- the provider


class OAuthToken:
    """A token provider for :class:`~ccpandas.client.Client` that keeps itself valid.

    Called before each request, it returns the access token, first refreshing it when it
    expires within ``min(5 min, 10 % of its life)``. The client calls :meth:`refresh`
    once after a 401. Refreshes are at least ``min_refresh_interval`` seconds apart (the
    token endpoint's limit), take the store's file lock, start from the newest saved
    refresh token of the same token chain (another kernel may have rotated it; the saved
    credentials of another login are never taken over), and save the new one before
    returning (if that fails, the new tokens are kept in memory, a warning says what
    failed and how to fix it, and the save is tried again once a minute). While the
    token is still valid, an unreachable or busy (429, 5xx) token endpoint only logs a
    warning, and the refresh is tried again 10 seconds later. A refused refresh
    (``invalid_grant``) raises AuthError and leaves the saved credentials alone until a
    new login replaces them.

    Args:
        credentials: The :class:`~ccpandas.auth.tokenstore.Credentials` to start from:
            a login's, or the ones a token store saved.
        session: The ``ccpandas.auth.flows.OAuthSession`` that calls the token
            endpoint. None (the default) makes one for ``credentials.client_id`` with
            ``auth_url`` and ``client_secret``.
        auth_url: The authorization server, e.g. ``emu.auth_url`` for the emulator's.
            None (the default) is the one the credentials came from
            (``credentials.auth_url``), else ``CC_AUTH_URL``, else Constant Contact's.
            Not used with ``session``.
        client_secret: A confidential application's client secret, sent with each
            refresh. None (the default) sends none (a public application). Not used
            with ``session``.
        store: The :class:`~ccpandas.auth.tokenstore.TokenStore` that keeps the
            credentials: each refresh is saved there, under its file lock, and a newer
            refresh by another kernel of the same login is read from it. None (the
            default) keeps the refreshed tokens in this provider only.
        clock: How the provider reads the time, a function returning seconds since the
            epoch. Default ``time.time``; tests pass a fake one.
        sleep: How to wait, a function of seconds. Default ``time.sleep``; tests pass a
            fake one.
        min_refresh_interval: The fewest seconds between two refreshes (the token
            endpoint allows about one request a second); a refresh due sooner waits.
            Default 1.0.

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
        store: CredentialStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        min_refresh_interval: float = MIN_REFRESH_INTERVAL,
    ) -> None:
        self._creds: Credentials | None = credentials  # first: a half-built token has a repr
        self.client_id = credentials.client_id
        given: dict[str, Any] = {"client_secret": client_secret}
        del client_secret  # no frame of a refused secret holds it in clear
        pop_secret(given)
        self._session = session or OAuthSession(
            credentials.client_id,
            auth_url=auth_url or credentials.auth_url,
            client_secret=given["client_secret"],
            sleep=sleep,
        )
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self.min_refresh_interval = min_refresh_interval
        self._lock = threading.RLock()
        self._last_refresh = self._next_try = float("-inf")
        self._handed = threading.local()
        #: Successful refreshes by this provider (proactive and after a 401).
        self.refreshes = 0
        #: Why the current credentials are not saved yet (None: saved, or no store).
        self.unsaved: str | None = None
        self._retry_save_at = float("inf")
        _providers.add(self)

    def __repr__(self) -> str:
        creds = self._creds
        if creds is None:
            return f"OAuthToken(client_id={self.client_id!r}, logged out)"
        left = None if creds.expires_at is None else creds.expires_at - self._clock()
        expires = "unknown" if left is None else f"in {left:.0f} s" if left > 0 else "expired"
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
            if self.unsaved is not None and self._clock() >= self._retry_save_at:
                self._retry_save()
            creds, now = self.credentials, self._clock()
            if self._due(creds) and (now >= self._next_try or now >= (creds.expires_at or 0)):
                try:
                    self._refresh(force=False)
                except AuthError as exc:
                    still_valid = creds.expires_at is not None and self._clock() < creds.expires_at
                    key = exc.error_key or ""
                    if still_valid and (key in _TRY_LATER or key.startswith("http_5")):
                        # The server is unreachable or busy (429, 5xx) but the token has a
                        # little life left: use it, and try again ten seconds later.
                        _log.warning("could not refresh the access token yet: %s", exc)
                        self._next_try = self._clock() + 10.0
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

        Args:
            force: True asks the server for a new token even when another thread or
                kernel has just renewed it. False (the default) takes that newer token
                instead, as the client does after a 401.
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
            latest = self._load_latest(store) if store is not None else None
            if (
                latest is not None
                and creds.origin == latest.origin
                and latest.obtained_at > creds.obtained_at
                and latest.access_token != creds.access_token
            ):
                # Another kernel refreshed this chain since we read the store: its
                # refresh token is the live one now, ours is spent. (Another login's
                # credentials, maybe another user's, are not ours to take over.)
                self._creds = creds = latest
                _log.info("using the access token another session refreshed for %s", self.client_id)
                if not force and not self._due(creds):
                    return True
            if creds.refresh_token is None:
                raise AuthError(
                    f"The access token for {self.client_id} expired or was refused, and there is "
                    "no refresh token to renew it (log in with the 'offline_access' scope to get "
                    f"one). {_login_advice(self.client_id)}.",
                    error_key="no_refresh_token",
                )
            # The token endpoint allows about one request a second; the last refresh may
            # have been another kernel's (its time is in the store).
            since = self._clock() - max(creds.obtained_at, self._last_refresh)
            if since < self.min_refresh_interval:
                self._sleep(self.min_refresh_interval - since)
            body = self._ask_for_refresh(creds.refresh_token)
            fresh = credentials_from_answer(
                body,
                client_id=self.client_id,
                now=self._clock(),
                auth_url=self._session.auth_url,
                base_url=creds.base_url,
                previous=creds,
            )
            del body  # raw tokens: out of this frame before anything else can raise
            if store is not None:
                # Before anything else: with rotation the old refresh token is dead now,
                # and this new one exists nowhere else.
                if latest is not None and creds.origin != latest.origin:
                    _log.warning(
                        f"the saved credentials of {self.client_id} came from another login; "
                        "this session's refreshed credentials replace them"
                    )
                self._save_refreshed(store, creds, fresh)
            self._creds = fresh
            self._last_refresh = fresh.obtained_at
            self.refreshes += 1
        left = None if fresh.expires_at is None else fresh.expires_at - fresh.obtained_at
        life = "unknown" if left is None else f"{left:.0f} s"
        _log.info("refreshed the access token for %s (valid for %s)", self.client_id, life)
        return True

    def _load_latest(self, store: CredentialStore) -> Credentials | None:
        """The saved credentials, or None when they cannot be read now (the refresh goes
        on from this session's own tokens rather than end the session)."""
        try:
            return store.load(self.client_id)
        except TokenStoreError as exc:
            _log.warning("refreshing without the saved credentials: %s", exc)
            return None

    def _save_refreshed(self, store: CredentialStore, old: Credentials, fresh: Credentials) -> None:
        """Save a refresh's credentials; if that fails, keep them (the caller does), warn
        what failed and how to fix it, and try again :data:`SAVE_RETRY_INTERVAL` later."""
        try:
            store.save(fresh)
        except Exception as exc:  # disk full, lock timeout, keyring refused...
            failure = _why(exc)
        else:
            self.unsaved = None
            return
        # Outside the except block: the failed save's frames held the tokens.
        self.unsaved = failure
        self._retry_save_at = self._clock() + SAVE_RETRY_INTERVAL
        rotated = fresh.refresh_token is not None and fresh.refresh_token != old.refresh_token
        message = (
            f"Refreshed the access token of {self.client_id}, but {failure}. This session "
            "keeps working with the new tokens; fix that and it saves them by itself (it "
            "tries again at its requests, once a minute)."
        )
        if rotated:
            message += (
                " Until then the saved refresh token is spent (the server replaced it), so "
                "other and later sessions would have to log in again."
            )
        warnings.warn(message, UserWarning, stacklevel=4)

    def _retry_save(self) -> None:
        """Try again to save credentials a failed save left in memory only, unless the
        store now holds newer ones (another login's, or this chain's)."""
        store, creds = self.store, self._creds
        if store is None or creds is None:
            self.unsaved = None
            return
        try:
            with store.locked(self.client_id):
                latest = store.load(self.client_id)
                if latest is not None and (
                    creds.origin != latest.origin or latest.obtained_at > creds.obtained_at
                ):
                    self.unsaved = None  # superseded: not ours to overwrite
                    return
                store.save(creds)
        except Exception as exc:  # still failing: quietly, the warning was given
            _log.debug("still cannot save the credentials of %s (%s)", self.client_id, _why(exc))
            self._retry_save_at = self._clock() + SAVE_RETRY_INTERVAL
            return
        self.unsaved = None
        _log.warning("saved the refreshed credentials of %s now", self.client_id)

    def _ask_for_refresh(self, refresh_token: Secret) -> dict[str, Any]:
        """The token endpoint's answer to ``refresh_token``; a refused one (``invalid_grant``)
        becomes an AuthError with advice, raised outside the ``except`` block so it chains
        nothing (the refused attempt's frames held the refresh token)."""
        try:
            return self._session.refresh(refresh_token)
        except AuthError as exc:
            if exc.error_key != "invalid_grant":
                raise
        raise AuthError(
            f"Constant Contact refused the refresh token for {self.client_id}: it "
            "expired (180 days unused), was revoked, or was already used by another "
            f"session. {_login_advice(self.client_id)}; the saved credentials stay "
            "until the new login succeeds.",
            error_key="invalid_grant",
        )

    def forget(self) -> None:
        """Drop the tokens from memory (logout); later calls raise AuthError."""
        with self._lock:
            self._creds = None


# --------------------------------------------------------------------------- login


def _given_client_id(client_id: Any) -> str | None:
    """``client_id`` stripped (None stays None); ConfigError unless a non-empty string,
    or when it is shaped like an access token (a JWT: ``connect(token)`` reads naturally,
    but the first argument is the client id), which the error does not quote."""
    if client_id is None:
        return None
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigError("client_id must be a non-empty string (your application's API key)")
    text = client_id.strip()
    if looks_like_token(text):
        raise ConfigError(
            f"client_id looks like an access token ({len(text)} characters, not shown), not "
            f"your application's API key: set {TOKEN_ENV} to a token (or pass token=...)"
        )
    return text


def _resolve_client_id(
    client_id: str | None, store: CredentialStore, base_url: str | None = None
) -> str | None:
    """``client_id``, else ``CC_CLIENT_ID``, else the only application with a saved login
    (with ``base_url``: the only one saved for that base URL)."""
    if client_id is not None:
        return _given_client_id(client_id)
    if from_env := env_client_id():
        return from_env
    saved = store.client_ids()
    if base_url is not None:
        saved = [cid for cid in saved if _saved_for(store, cid, base_url) is not None]
    if len(saved) == 1:
        return saved[0]
    if len(saved) > 1:
        raise AuthError(
            f"Credentials are saved for several applications ({', '.join(saved)}): pass "
            f"client_id=..., or set {CLIENT_ID_ENV}."
        )
    return None


def _saved_for(store: CredentialStore, client_id: str, base_url: str | None) -> Credentials | None:
    """The saved login of ``client_id``, if it was made for ``base_url`` (any base URL
    when None: it is then used with the base URL it was made for)."""
    saved = store.load(client_id)
    if saved is None or base_url is None:
        return saved
    wanted, made_for = normalize_base_url(base_url), saved.base_url or DEFAULT_BASE_URL
    # Credentials saved before the base URL was recorded count as the real API's.
    with contextlib.suppress(ConfigError):
        if normalize_base_url(made_for) == wanted:
            return saved
    _log.info(
        f"not using the saved login of {client_id}: it was made for {made_for}, not {base_url}"
    )
    return None


def _client_for(
    provider: Callable[[], str] | str | None, base_url: str, o: Mapping[str, Any]
) -> Client:
    """A client of ``provider`` at ``base_url``, with the session options ``o``
    (``client_options``, and ``set_default``: it becomes the default client)."""
    client = Client(token=provider, base_url=base_url, **dict(o["client_options"] or {}))
    if o["set_default"]:
        set_default_client(client)
    return client


def login(client_id: str | None = None, **options: Unpack[LoginOptions]) -> Client:
    """Log in to Constant Contact interactively and return a connected client.

    ``flow="device"`` (default) shows a link and a code (a widget in a notebook, text in
    a terminal) and waits until you approve in any browser, on any machine: it works on
    JupyterHub, Colab and VS Code remote. ``flow="pkce"`` opens the browser on this
    machine and catches the redirect on ``redirect_uri`` (a loopback address registered
    in your application). The credentials are saved (``save=True``) for the next
    session, replacing the previous ones only once this login succeeded, and the client
    becomes the default one (``set_default=True``).

    Args:
        client_id: Your application's API key (its OAuth2 client id), e.g.
            ``"0a1b2c3d-..."``. None (the default) reads ``CC_CLIENT_ID``.
        **options: How to log in, by name, each described in :class:`LoginOptions`:
            ``flow`` (``"device"``, the default, or ``"pkce"``), ``auth_url``,
            ``base_url``, ``scopes``, ``client_secret``, ``redirect_uri``,
            ``open_browser``, ``view``, ``store``, ``save``, ``timeout``,
            ``set_default``, ``client_options`` and ``min_refresh_interval``.

    Returns:
        The connected :class:`~ccpandas.Client`.

    Raises:
        TypeError: An option that :class:`LoginOptions` does not name.

    Example:
        >>> client = ccpandas.login(client_id="0a1b2c3d-...")  # doctest: +SKIP
        To connect ccpandas to Constant Contact, open this page and sign in: ...
    """
    o = _options(options, LoginOptions, "login")
    if o["flow"] not in ("device", "pkce"):
        raise ConfigError(f"flow must be 'device' or 'pkce', not {o['flow']!r}")
    check_timeout(o["timeout"])
    cid = _given_client_id(client_id) or env_client_id()
    if cid is None:
        raise ConfigError(
            "login needs your application's client id (its API key): "
            f"ccpandas.login(client_id=...) or set {CLIENT_ID_ENV}; {_GUIDE}"
        )
    scope_list = _scopes(o["scopes"])
    api_url = o["base_url"] or env(BASE_URL_ENV) or DEFAULT_BASE_URL
    normalize_base_url(api_url)  # a bad base URL fails now, not after the login
    session = OAuthSession(cid, auth_url=o["auth_url"], client_secret=_client_secret(o))
    store = _login_store(o["store"], api_url, session.auth_url)
    # No view given: the front end registered in ccpandas._env decides (the notebook
    # widget in Jupyter), else lines of text.
    view = o["view"] if o["view"] is not None else (login_view() or TextView())
    body = _run_flow(session, scope_list, view, o)
    creds = credentials_from_answer(
        body,
        client_id=cid,
        now=time.time(),
        auth_url=session.auth_url,
        base_url=api_url,
        # The token chain this login starts (not a secret: it says which saved credentials
        # continue which login, so one login never takes over another's).
        origin="login-" + uuid.uuid4().hex,
    )
    del body  # raw tokens: not in this frame if saving fails
    if o["save"]:
        store.save(creds)  # only now: a failed login leaves the old credentials alone
    if "contact_data" not in creds.scopes and creds.scopes:
        granted = " ".join(creds.scopes)
        _log.warning(
            f"the login was granted {granted} without 'contact_data': the contact "
            "endpoints will answer 403"
        )
    provider = OAuthToken(
        creds,
        session=session,
        store=store if o["save"] else None,
        min_refresh_interval=o["min_refresh_interval"],
    )
    view.status("connected", f"Connected to Constant Contact ({' '.join(creds.scopes)}).")
    return _client_for(provider, api_url, o)


def _run_flow(
    session: OAuthSession, scopes: tuple[str, ...], view: LoginView, o: Mapping[str, Any]
) -> dict[str, Any]:
    """The token endpoint's answer to the login's flow; the view says how it ended
    when it did not succeed."""
    try:
        if o["flow"] == "device":
            return device_flow(session, scopes, view, timeout=o["timeout"])
        browser = not in_notebook() if o["open_browser"] is None else o["open_browser"]
        redirect, timeout = o["redirect_uri"], o["timeout"]
        return pkce_flow(
            session, scopes, view, redirect_uri=redirect, open_browser=browser, timeout=timeout
        )
    except KeyboardInterrupt:
        view.status("cancelled", "Login cancelled.")
        raise
    except AuthError as exc:
        if not exc._shown:  # the flow showed none of this ending
            view.status("failed", f"The sign-in failed: {exc}")
        raise


def connect(
    client_id: str | None = None,
    *,
    base_url: str | None = None,
    auth_url: str | None = None,
    flow: str = "device",
    **options: Unpack[ConnectOptions],
) -> Client:
    """A connected client from the first token source that has one: ``token=``, then
    ``CC_ACCESS_TOKEN`` (refreshable with ``CC_REFRESH_TOKEN`` and ``CC_CLIENT_ID``), then
    credentials saved by an earlier login, then (``interactive=True``) :func:`login`.

    A saved login is only used for the base URL it was made for: with ``base_url`` (or
    ``CC_BASE_URL``) set, a login saved for another base URL is never picked (files saved
    before the base URL was recorded count as the real API's); without, the saved login's
    own base URL is used. The client becomes the default one (``set_default=True``).
    Raises AuthError with what to do when no source has a token and ``interactive`` is
    False.

    Args:
        client_id: Your application's API key (its OAuth2 client id), e.g.
            ``"0a1b2c3d-..."``: it picks the saved login and refreshes
            ``CC_ACCESS_TOKEN``. None (the default) reads ``CC_CLIENT_ID``, else takes
            the only application with a saved login (for this base URL).
        base_url: The API the client talks to, e.g. ``emu.base_url`` for the emulator.
            None (the default) reads ``CC_BASE_URL``, else the saved login's own base
            URL, else the real API, ``https://api.cc.email/v3``.
        auth_url: The authorization server that refreshes and logs in, e.g.
            ``emu.auth_url`` for the emulator's. None (the default) is the saved
            login's, else ``CC_AUTH_URL``, else Constant Contact's.
        flow: How an interactive login runs: ``"device"`` (the default) or ``"pkce"``,
            as for :func:`login`.
        **options: The rest, by name, each described in :class:`ConnectOptions`:
            ``token``, ``interactive``, ``scopes``, ``client_secret``, ``store``,
            ``set_default``, ``client_options``, ``min_refresh_interval``, and the
            interactive login's ``redirect_uri``, ``open_browser``, ``view``,
            ``timeout`` and ``save``.

    Returns:
        The connected :class:`~ccpandas.Client`.

    Raises:
        TypeError: An option that :class:`ConnectOptions` does not name.

    Example:
        >>> client = ccpandas.connect()  # doctest: +SKIP
        >>> client = ccpandas.connect(client_id="0a1b2c3d-...", interactive=False)  # doctest: +SKIP
    """
    o = _options(options, ConnectOptions, "connect")
    store = o["store"] if o["store"] is not None else TokenStore()
    api_url = base_url or env(BASE_URL_ENV)
    if o["token"] is not None:  # 1. explicit token
        return _client_for(o["token"], api_url or DEFAULT_BASE_URL, o)
    if env(TOKEN_ENV):  # 2. the environment
        return _connect_env(client_id, api_url, auth_url, o)
    # 3. saved credentials (made for this base URL)
    cid = _resolve_client_id(client_id, store, api_url)
    saved = _saved_for(store, cid, api_url) if cid else None
    if cid is not None and saved is not None:
        client = _connect_saved(cid, saved, store, api_url, auth_url, o)
        if client is not None:
            return client
    # 4. interactive login
    if not o["interactive"] or cid is None:
        how = (
            f"Pass token=..., set {TOKEN_ENV}, or log in once with "
            f"ccpandas.login(client_id=...) (or set {CLIENT_ID_ENV})"
        )
        if cid is not None:
            how = f"No saved login for {cid}. {how}"
        raise AuthError(f"Not connected to Constant Contact. {how}; {_GUIDE}")
    passed_on = {k: v for k, v in o.items() if k not in ("token", "interactive")}
    return login(
        cid,
        flow=flow,
        auth_url=auth_url or (saved.auth_url if saved else None),
        base_url=api_url or (saved.base_url if saved else None),
        **passed_on,  # the store as given: a login applies the practice-login rule to None
    )


def _provider(
    creds: Credentials,
    store: CredentialStore,
    auth_url: str | None,
    o: Mapping[str, Any],
    clock: Callable[[], float] = time.time,
) -> OAuthToken:
    """The refreshing token provider of ``creds``, with the session options ``o``
    (``client_secret``, default ``CC_CLIENT_SECRET``; ``min_refresh_interval``)."""
    return OAuthToken(
        creds,
        auth_url=auth_url,
        client_secret=_client_secret(o),
        store=store,
        clock=clock,
        min_refresh_interval=o.get("min_refresh_interval", MIN_REFRESH_INTERVAL),
    )


def _connect_env(
    client_id: str | None, api_url: str | None, auth_url: str | None, o: Mapping[str, Any]
) -> Client:
    """A client with ``CC_ACCESS_TOKEN``: refreshed with ``CC_REFRESH_TOKEN`` when the
    client id is known (continuing its saved successors), else used as it is."""
    env_refresh = hide(env(REFRESH_TOKEN_ENV))  # no frame holds it in clear
    cid = client_id or env_client_id()
    url = api_url or DEFAULT_BASE_URL
    if env_refresh and not cid:
        _log.warning(
            f"{REFRESH_TOKEN_ENV} is set but {CLIENT_ID_ENV} is not: refreshing needs the "
            f"client id (your application's API key), so {TOKEN_ENV} is used as it is and "
            f"requests will fail with 401 once it expires. Set {CLIENT_ID_ENV} (or pass "
            "client_id=) to refresh it."
        )
    if not (env_refresh and cid):
        _log.info("connecting with %s", TOKEN_ENV)
        return _client_for(None, url, o)
    store = _login_store(o["store"], api_url, auth_url or env(AUTH_URL_ENV))
    # A stable, one-way name of the refresh token (never the token itself).
    origin = hashlib.sha256(f"ccpandas:{env_refresh.reveal()}".encode()).hexdigest()[:32]
    saved = store.load(cid)
    if saved is not None and saved.origin == origin:
        creds = saved  # the rotated successors of this same refresh token
    else:
        access = Secret(env(TOKEN_ENV) or "")
        creds = Credentials(cid, access, env_refresh, base_url=api_url, origin=origin)
    provider = _provider(creds, store, auth_url, o)
    _log.info("connecting with %s and %s", TOKEN_ENV, REFRESH_TOKEN_ENV)
    return _client_for(provider, url, o)


def _connect_saved(
    cid: str,
    saved: Credentials,
    store: CredentialStore,
    api_url: str | None,
    auth_url: str | None,
    o: Mapping[str, Any],
) -> Client | None:
    """A client with a saved login, refreshed now if its token has expired; None when
    the login no longer works and ``interactive`` lets a new one replace it."""
    _warn_if_idle(saved, time.time())
    provider = _provider(saved, store, auth_url, o)
    try:
        provider()  # refreshes now if the saved token has expired
    except AuthError as exc:
        if not o["interactive"] or exc.error_key not in ("invalid_grant", "no_refresh_token"):
            raise
        _log.warning("the saved login no longer works; logging in again")
        return None
    _log.info("connecting with the saved login of %s", cid)
    url = api_url or saved.base_url or DEFAULT_BASE_URL
    return _client_for(provider, url, o)


@shared_params
def logout(
    client_id: str | None = None,
    *,
    store: CredentialStore | None = None,
    revoke: bool = True,
    auth_url: str | None = None,
    client_secret: str | Secret | None = None,
) -> bool:
    """Forget the saved login of ``client_id`` (default ``CC_CLIENT_ID``, or the only one
    saved): revoke its refresh token at the server (``revoke=True``, best effort), delete
    it from the token store, and drop it from every client of this kernel. True if a
    saved login was removed.

    Args:
        client_id: {shared:saved_client_id}
        store: {shared:saved_store}
        revoke: True (the default) revokes the refresh token at the authorization
            server first (best effort: without network it only logs a warning). False
            only forgets it here.
        auth_url: The authorization server to revoke the token at, e.g.
            ``emu.auth_url``. None (the default) is the one the login was made with,
            else ``CC_AUTH_URL``, else Constant Contact's.
        client_secret: A confidential application's client secret, which its revocation
            must carry. None (the default) reads ``CC_CLIENT_SECRET``; without either,
            the application is public.

    Example:
        >>> ccpandas.logout()  # doctest: +SKIP
        True
    """
    secret: dict[str, Any] = {"client_secret": client_secret}
    del client_secret  # first: no frame of a refused logout holds it in clear
    pop_secret(secret)
    store = store if store is not None else TokenStore()
    cid = _resolve_client_id(client_id, store)
    if cid is None:
        return False
    with store.locked(cid):
        creds = store.load(cid)
        if creds is not None and revoke:
            token = creds.refresh_token or creds.access_token
            hint = "refresh_token" if creds.refresh_token else "access_token"
            try:
                session = OAuthSession(
                    cid, auth_url=auth_url or creds.auth_url, client_secret=_client_secret(secret)
                )
                with contextlib.closing(session):
                    session.revoke(token, hint)
            except (AuthError, ConfigError) as exc:
                _log.warning("could not revoke the token at the server (%s); deleting it here", exc)
        removed = store.delete(cid)
    for provider in list(_providers):
        if provider.client_id == cid:
            provider.forget()
    # Read the default client without get_default_client(), which would build one.
    default = default_client()
    func = getattr(getattr(default, "_token_provider", None), "func", None)
    if isinstance(func, OAuthToken) and func.client_id == cid:
        set_default_client(None)
    return removed


def _warn_if_idle(creds: Credentials, now: float) -> None:
    """Warn when the saved refresh token has gone unused for
    :data:`REFRESH_IDLE_WARNING_DAYS` days: the server drops it at
    :data:`REFRESH_IDLE_LIMIT_DAYS`. Its last use is when the saved tokens were obtained
    (each refresh uses the refresh token and saves its answer)."""
    if creds.refresh_token is None or not creds.obtained_at:
        return  # nothing to keep alive, or not known when it was last used
    days = (now - creds.obtained_at) / 86400
    if days < REFRESH_IDLE_WARNING_DAYS:
        return
    warnings.warn(
        f"The saved refresh token of {creds.client_id} has gone unused for {days:.0f} "
        f"days; Constant Contact drops one unused for {REFRESH_IDLE_LIMIT_DAYS} days, and "
        "then only a new login works. Keep it alive with `ccpandas login --refresh` from "
        f"cron (weekly is plenty); {_GUIDE}",
        UserWarning,
        stacklevel=3,
    )


@shared_params
def refresh_saved_login(
    client_id: str | None = None,
    *,
    store: CredentialStore | None = None,
    auth_url: str | None = None,
    client_secret: str | Secret | None = None,
    clock: Callable[[], float] = time.time,
) -> Credentials:
    """Refresh the saved login now and save the new tokens, without a browser: the
    keep-alive that ``ccpandas login --refresh`` runs from cron.

    It first checks that the store can be written (before the refresh token is spent),
    warns when the refresh token had gone unused for 150 days, then refreshes. Raises
    :class:`~ccpandas.errors.AuthError` whose ``error_key`` says what failed:
    ``"no_saved_login"``, ``"invalid_grant"`` or ``"no_refresh_token"`` (log in again),
    ``"token_store"`` (a :class:`~ccpandas.errors.TokenStoreError`: the store could not
    be read or written), ``"transport"`` (the server did not answer: try later).

    Args:
        client_id: {shared:saved_client_id}
        store: {shared:saved_store}
        auth_url: The authorization server, e.g. ``emu.auth_url``. None (the default)
            is the one the login was made with, else ``CC_AUTH_URL``, else Constant
            Contact's.
        client_secret: A confidential application's client secret. None (the default)
            reads ``CC_CLIENT_SECRET``; without either, the application is public.
        clock: How the time is read, a function returning seconds since the epoch.
            Default ``time.time``; tests pass a fake one.

    Returns:
        The new, saved :class:`~ccpandas.auth.tokenstore.Credentials` (tokens masked).

    Example:
        >>> creds = refresh_saved_login(client_id="0a1b2c3d-...")  # doctest: +SKIP
    """
    secret: dict[str, Any] = {"client_secret": client_secret}
    del client_secret  # first: no frame of a refused refresh holds it in clear
    pop_secret(secret)
    store = store if store is not None else TokenStore()
    cid = _resolve_client_id(client_id, store)
    saved = store.load(cid) if cid else None
    if cid is None or saved is None:
        which = f" for {cid}" if cid else ""
        raise AuthError(
            f"No saved login{which} to refresh. Log in once with `ccpandas login "
            f"--client-id YOUR_API_KEY` (or ccpandas.login()); {_GUIDE}",
            error_key="no_saved_login",
        )
    _warn_if_idle(saved, clock())
    with store.locked(cid):
        # Can the store be written? Found out now, while the saved refresh token works.
        store.save(store.load(cid) or saved)
    provider = _provider(saved, store, auth_url, secret, clock)
    with warnings.catch_warnings(record=True):  # its advice is for a session that goes on
        warnings.simplefilter("always")
        provider.refresh(force=True)
    if provider.unsaved is not None:
        raise TokenStoreError(
            f"Refreshed the access token of {cid}, but {provider.unsaved}. The new tokens "
            "end with this process and the saved refresh token is spent: fix that, then "
            f"log in again (`ccpandas login --client-id {cid}`)."
        )
    return provider.credentials


def get_default_client() -> Client:
    """The default client: the one set with :func:`set_default_client`, else the one
    :func:`ccpandas.connect` builds without asking anything: from the environment
    (``CC_ACCESS_TOKEN``, refreshed with ``CC_REFRESH_TOKEN`` and ``CC_CLIENT_ID`` like
    ``connect()`` does; ``CC_BASE_URL`` for the base URL), else from the credentials an
    earlier :func:`ccpandas.login` saved; kept for later calls so they share one rate
    limiter.

    Raises :class:`~ccpandas.errors.AuthError` with advice when neither is available.

    Example:
        >>> old = set_default_client(None)
        >>> get_default_client()  # no CC_ACCESS_TOKEN, no saved login  # doctest: +SKIP
        Traceback (most recent call last):
        ccpandas.errors.AuthError: No client given and no default client configured. ...
        >>> _ = set_default_client(old)
    """
    client = default_client(_build_default_client)
    assert client is not None  # the builder returns a client or raises
    return client


def _build_default_client() -> Client:
    # The same sources as ccpandas.connect(): a plain Client(token=None) would not
    # refresh CC_ACCESS_TOKEN and would stop at its expiry with a 401.
    try:
        return connect(interactive=False, set_default=False)
    except AuthError as exc:
        if exc.error_key:
            raise  # a saved login that failed (refresh refused...): its own advice
        raise AuthError(
            "No client given and no default client configured. Pass client=, call "
            f"ccpandas.set_default_client(ccpandas.Client(token=...)), set {TOKEN_ENV}"
            f" (and {BASE_URL_ENV} for another base URL), or log in once with "
            "ccpandas.login(client_id=...)."
        ) from None
