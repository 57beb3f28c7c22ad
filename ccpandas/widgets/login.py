"""Connecting from a notebook: the login widget, and what ``%cc_connect`` runs.

:class:`LoginWidget` is the notebook's view of :func:`ccpandas.login`: the link to open,
the code the page must show, a countdown and the status. It never holds a token: the
only secret of a login (the device code) stays in the kernel, and the widget's state,
which Jupyter may save into the notebook, has only what is on screen.

:func:`connect` is ``%cc_connect``: :func:`ccpandas.auth.connect` (``token=``, then
``CC_ACCESS_TOKEN``, then the saved login, then an interactive login when a client id
is known), or a :class:`LoginPrompt` saying how to connect.

Secrets are never typed into a widget (a Password widget's value is widget state, which
"save widget state" writes into the notebook file). Where one is needed, such as a
confidential application's client secret, use ``getpass.getpass()``: Jupyter shows a
password field and keeps nothing.

Example:
    >>> w = LoginWidget()
    >>> w.value
    'idle'
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ccpandas.widgets._html import box, duration, esc, note

if TYPE_CHECKING:
    from ccpandas.auth import DeviceCode
    from ccpandas.client import Client

__all__ = ["LoginPrompt", "LoginWidget", "connect", "describe_connection", "set_login_flow"]

#: ``flow(base_url=..., client_id=...) -> Client | None``: replaces the interactive login
#: of :func:`connect` (None: the default, :func:`ccpandas.auth.connect`).
LoginFlow = Callable[..., "Client | None"]
_login_flow: LoginFlow | None = None

_STATES = {
    "idle": ("", ""),
    "waiting": ("Waiting for approval", "muted"),
    "connected": ("Connected", ""),
    "denied": ("Denied", "danger"),
    "expired": ("Code expired", "warn"),
    "cancelled": ("Cancelled", "warn"),
    "failed": ("Failed", "danger"),
}


def set_login_flow(flow: LoginFlow | None) -> None:
    """Replace the interactive login :func:`connect` falls back to (None: the default)."""
    global _login_flow
    _login_flow = flow


class LoginWidget(w.VBox):
    """A login in progress: link, user code, countdown and status (a ``LoginView``).

    ``value`` is the state: ``idle``, ``waiting``, ``connected``, ``denied``,
    ``expired``, ``cancelled`` or ``failed`` (observe it to react).
    """

    value = traitlets.Unicode("idle", help="the login's state")

    def __init__(self) -> None:
        self.prompt = w.HTML(box(note("<b>Connect to Constant Contact</b>")))
        self.countdown = w.HTML("")
        self.message = w.HTML("")
        super().__init__([self.prompt, self.countdown, self.message])

    # -- the LoginView protocol ----------------------------------------------------------

    def show_device_code(self, code: DeviceCode) -> None:
        link = esc(code.link)
        self.prompt.value = box(
            note("<b>Connect to Constant Contact</b>"),
            note(
                f'1. Open <a href="{link}" target="_blank" rel="noopener">{link}</a> '
                "(any browser, any device) and sign in."
            ),
            note(
                "2. Check that the page shows this code: "
                f'<code style="font-size:1.4em;letter-spacing:.1em">{esc(code.user_code)}</code>'
            ),
        )
        self.tick(code.expires_in)

    def show_url(self, url: str) -> None:
        link = esc(url)
        self.prompt.value = box(
            note("<b>Connect to Constant Contact</b>"),
            note(f'Open <a href="{link}" target="_blank" rel="noopener">the sign-in page</a>.'),
            note("It must open on this computer: it hands the login back to this kernel.", "muted"),
        )

    def tick(self, remaining: float) -> None:
        text = f"Code valid for {duration(remaining)}" if remaining > 0 else "Code expired"
        self.countdown.value = box(note(esc(text), "muted"))

    def status(self, state: str, message: str) -> None:
        label, kind = _STATES.get(state, (state, ""))
        self.message.value = box(note(f"<b>{esc(label)}</b>: {esc(message)}", kind))
        if state in ("connected", "denied", "expired", "cancelled", "failed"):
            self.countdown.value = ""
        self.value = state

    def __repr__(self) -> str:
        return f"LoginWidget(state={self.value!r})"


class LoginPrompt(w.VBox):
    """Says how to connect when no token source works. Holds no secret and asks for none."""

    value = traitlets.Any(None, help="the Client, once a login flow connects")

    def __init__(self, base_url: str = "") -> None:
        self.html = w.HTML(
            box(
                note("<b>Not connected to Constant Contact.</b>"),
                note(
                    "Log in with <code>%cc_connect --client-id YOUR_API_KEY</code> (or "
                    "<code>ccpandas.login(client_id=...)</code>); later sessions reuse the "
                    "saved login. Or set the <code>CC_ACCESS_TOKEN</code> environment "
                    "variable before starting Jupyter, or practise on a local emulator "
                    "with <code>%cc_emulator</code>."
                ),
                note(esc(f"server: {base_url}"), "muted") if base_url else "",
            )
        )
        super().__init__([self.html])

    def __repr__(self) -> str:
        return (
            "Not connected to Constant Contact: set CC_ACCESS_TOKEN, or log in with "
            "%cc_connect --client-id YOUR_API_KEY (ccpandas.login), or use %cc_emulator "
            "to practise."
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = repr(self)
        return data


def describe_connection(client: Client) -> str:
    """Who we are connected to, checked with one request (never shows the token)."""
    from ccpandas.readers import read_contact_lists

    lists = read_contact_lists(client, include_membership_count=None)
    return f"Connected to {client.base_url}: {len(lists):,} contact lists."


def connect(
    base_url: str | None = None,
    *,
    client_id: str | None = None,
    flow: str = "device",
    auth_url: str | None = None,
    **options: Any,
) -> Client | LoginPrompt | None:
    """What ``%cc_connect`` runs: :func:`ccpandas.auth.connect` (the token sources in
    order, then an interactive login with its widget when a client id is known) and make
    the client the default. Returns the client, or a :class:`LoginPrompt` to show when
    nothing can connect (None when a registered login flow connects later).

    Example:
        >>> connect(client_id="0a1b2c3d-...")  # doctest: +SKIP
    """
    from ccpandas.auth import CLIENT_ID_ENV
    from ccpandas.auth import connect as auth_connect
    from ccpandas.client import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV
    from ccpandas.errors import AuthError
    from ccpandas.tokenstore import TokenStore

    url = base_url or os.environ.get(BASE_URL_ENV, "").strip() or None
    if _login_flow is not None and not os.environ.get(TOKEN_ENV, "").strip():
        client = _login_flow(base_url=url or DEFAULT_BASE_URL, client_id=client_id)
        if client is None:
            return None
        from ccpandas.client import set_default_client

        set_default_client(client)
        return client
    store = options.pop("store", None) or TokenStore()
    known = bool(client_id or os.environ.get(CLIENT_ID_ENV, "").strip() or store.client_ids())
    try:
        return auth_connect(
            client_id,
            base_url=url,
            auth_url=auth_url,
            flow=flow,
            store=store,
            interactive=known,
            **options,
        )
    except AuthError:
        if known:
            raise  # a real failure (denied, expired, refused): say so
        return LoginPrompt(url or DEFAULT_BASE_URL)
