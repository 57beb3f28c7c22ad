"""Connecting from a notebook: the login widget, and what ``%cc_connect`` runs.

:class:`LoginWidget` is the notebook's view of :func:`ccpandas.login`: the link to open,
the code the page must show, a countdown and the status. It never holds a token: the
only secret of a login (the device code) stays in the kernel, and the widget's state,
which Jupyter may save into the notebook, has only what is on screen.

:func:`connect` is ``%cc_connect``: :func:`ccpandas.auth.connect` (``token=``, then
``CC_ACCESS_TOKEN``, then the saved login, then an interactive login when a client id
is known), or a :class:`LoginPrompt`: a client id field and a *Log in* button that
starts the device login (a client id is your application's API key, not a secret).

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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Unpack

import ipywidgets as w
import traitlets

from ccpandas.plan.planner import duration
from ccpandas.widgets._html import box, esc, note
from ccpandas.widgets._parts import TextBox, row

if TYPE_CHECKING:
    from ccpandas.auth.connect import ConnectOptions, DeviceCode, LoginOptions
    from ccpandas.client.http import Client

__all__ = ["LoginPrompt", "LoginWidget", "connect", "describe_connection", "notebook_login_view"]

_STATES = {
    "idle": ("", ""),
    "waiting": ("Waiting for approval", "muted"),
    "connected": ("Connected", ""),
    "denied": ("Denied", "danger"),
    "expired": ("Code expired", "warn"),
    "cancelled": ("Cancelled", "warn"),
    "failed": ("Failed", "danger"),
}


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


class LoginPrompt(TextBox):
    """Shown when no token source works: says how to connect, and logs in from the
    notebook with a client id field and a *Log in* button (the device login, with a
    :class:`LoginWidget` for its link and code). Holds no secret and asks for none: a
    client id is the application's API key, which is not secret.

    ``value`` is the connected :class:`~ccpandas.client.Client` once the login
    succeeded (None before; observe it to react). The client becomes the default one.

    Example:
        >>> prompt = LoginPrompt("https://api.cc.email/v3")
        >>> prompt.client_id.value = "0a1b2c3d-..."
        >>> prompt.login_button.click()  # waits for approval in a browser  # doctest: +SKIP
        >>> prompt.value  # doctest: +SKIP
        Client(base_url='https://api.cc.email/v3', ...)
    """

    value = traitlets.Any(None, help="the Client, once the login connects")

    def __init__(
        self,
        base_url: str = "",
        *,
        auth_url: str | None = None,
        flow: str = "device",
        login_options: LoginOptions | None = None,
    ) -> None:
        # What the Log in button hands to ccpandas.login, beside the client id and view.
        self._login_kw: dict[str, Any] = dict(
            login_options or {}, flow=flow, auth_url=auth_url, base_url=base_url or None
        )
        self.html = w.HTML(
            box(
                note("<b>Not connected to Constant Contact.</b>"),
                note(
                    "Enter your application's API key (its client id) and log in: you get a "
                    "link and a code to approve in any browser, and later sessions reuse the "
                    "saved login. The same in code: <code>%cc_connect --client-id "
                    "YOUR_API_KEY</code> or <code>ccpandas.login(client_id=...)</code>. Or set "
                    "the <code>CC_ACCESS_TOKEN</code> environment variable before starting "
                    "Jupyter, or practise on a local emulator with <code>%cc_emulator</code>."
                ),
                note(esc(f"server: {base_url}"), "muted") if base_url else "",
            )
        )
        self.client_id = w.Text(
            placeholder="your application's API key",
            description="Client id",
            layout=w.Layout(width="28em"),
        )
        self.login_button = w.Button(
            description="Log in",
            icon="sign-in",
            button_style="primary",
            tooltip="Start a device login: a link and a code to approve in any browser",
        )
        self.login = LoginWidget()
        self.login.layout.display = "none"  # until a login starts
        self.login_button.on_click(self._on_login)
        super().__init__([self.html, row(self.client_id, self.login_button), self.login])

    def _on_login(self, _button: Any = None) -> None:
        """Run the login in this callback: the kernel waits for the approval, as a
        ``%cc_connect`` cell does (a worker thread must not touch widgets)."""
        from ccpandas.auth.connect import login
        from ccpandas.errors import AuthError, ConfigError

        client_id = self.client_id.value.strip()
        self.login.layout.display = None
        if not client_id:
            self.login.status("failed", "Enter your application's API key (client id) first.")
            return
        self.login_button.disabled = self.client_id.disabled = True
        self.login.value = "idle"  # a new attempt: what the flow says next is about it
        try:
            client = login(client_id, view=self.login, **self._login_kw)
        except (AuthError, ConfigError, OSError, KeyboardInterrupt) as exc:
            # A KeyboardInterrupt: the kernel was interrupted while waiting.
            if not isinstance(exc, KeyboardInterrupt) and self.login.value in ("idle", "waiting"):
                # not told by the flow itself (a bad URL, an unreachable server...)
                self.login.status("failed", str(exc))
            self.login_button.disabled = self.client_id.disabled = False
            return
        self.login_button.layout.display = "none"
        self.value = client

    def __repr__(self) -> str:
        if self.value is not None:
            return f"Connected to Constant Contact ({self.value.base_url})."
        return (
            "Not connected to Constant Contact: set CC_ACCESS_TOKEN, or log in with "
            "%cc_connect --client-id YOUR_API_KEY (ccpandas.login), or use %cc_emulator "
            "to practise."
        )


def _login_options(options: Mapping[str, Any]) -> LoginOptions:
    """The options of ``%cc_connect`` that :func:`ccpandas.auth.login` takes too (the
    prompt brings its own view, flow and servers)."""
    from ccpandas.auth.connect import LoginOptions

    own = {"flow", "auth_url", "base_url", "view"}
    names = (LoginOptions.__required_keys__ | LoginOptions.__optional_keys__) - own
    return {k: v for k, v in options.items() if k in names}  # type: ignore[return-value]


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
    **options: Unpack[ConnectOptions],
) -> Client | LoginPrompt:
    """What ``%cc_connect`` runs: :func:`ccpandas.auth.connect` (the token sources in
    order, then an interactive login with its widget when a client id is known) and make
    the client the default. Returns the client, or a :class:`LoginPrompt` to show when
    nothing can connect (its client id field and *Log in* button log in from there).
    ``options`` are those of
    :func:`ccpandas.auth.connect` (:class:`~ccpandas.auth.connect.ConnectOptions`:
    ``token``, ``interactive``, ``scopes``, ``client_secret``, ``store``,
    ``set_default``, ``client_options``, ``min_refresh_interval``, ``redirect_uri``,
    ``open_browser``, ``view``, ``timeout``, ``save``).

    Example:
        >>> connect(client_id="0a1b2c3d-...")  # doctest: +SKIP
    """
    from ccpandas._config import BASE_URL_ENV, CLIENT_ID_ENV, DEFAULT_BASE_URL, env
    from ccpandas.auth.connect import connect as auth_connect
    from ccpandas.auth.connect import hide_secrets
    from ccpandas.auth.tokenstore import TokenStore
    from ccpandas.errors import AuthError

    hide_secrets(options)  # type: ignore[arg-type]
    url = base_url or env(BASE_URL_ENV)
    rest: dict[str, Any] = dict(options)
    given = rest.pop("store", None)  # None: a practice login is not saved for good
    store = given if given is not None else TokenStore()
    known = bool(client_id or env(CLIENT_ID_ENV) or store.client_ids())
    interactive = bool(rest.pop("interactive", True)) and known
    try:
        return auth_connect(
            client_id,
            base_url=url,
            auth_url=auth_url,
            flow=flow,
            store=given,
            interactive=interactive,
            **rest,
        )
    except AuthError:
        if known:
            raise  # a real failure (denied, expired, refused): say so
        return LoginPrompt(
            url or DEFAULT_BASE_URL,
            auth_url=auth_url,
            flow=flow,
            login_options=_login_options({**rest, "store": given}),
        )


def notebook_login_view() -> LoginWidget | None:
    """The login view for ``ccpandas.login()`` in a Jupyter kernel (None elsewhere).

    Registered by the package root through :func:`ccpandas._env.set_login_view_factory`.
    """
    from ccpandas._env import in_notebook

    if not in_notebook():
        return None
    from IPython.display import display

    widget = LoginWidget()
    display(widget)
    return widget
