"""Connecting from a notebook, and the hook where interactive login plugs in.

:func:`connect` is what ``%cc_connect`` runs: a token from the environment
(``CC_ACCESS_TOKEN``) first, then the login flow registered with
:func:`set_login_flow` (the authentication work provides it: saved credentials, then
the device flow with its own widget), and otherwise a :class:`LoginPrompt` that says
how to connect. No token ever goes into a widget, an output or a message.

Example:
    >>> set_login_flow(None)  # no interactive login registered
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from ccpandas.widgets._html import box, esc, note

if TYPE_CHECKING:
    from ccpandas.client import Client

__all__ = ["LoginPrompt", "connect", "describe_connection", "set_login_flow"]

#: ``flow(base_url=...) -> Client | None``: None when it shows a widget and connects
#: later (the device flow completes after the user approves in another tab).
LoginFlow = Callable[..., "Client | None"]
_login_flow: LoginFlow | None = None


def set_login_flow(flow: LoginFlow | None) -> None:
    """Register the interactive login ``%cc_connect`` falls back to (None removes it)."""
    global _login_flow
    _login_flow = flow


class LoginPrompt(w.VBox):
    """Says how to connect when no token is available. Holds no secret: it never asks
    for a token (a pasted token would end up in the notebook's widget state)."""

    value = traitlets.Any(None, help="the Client, once a login flow connects")

    def __init__(self, base_url: str = "") -> None:
        self.html = w.HTML(
            box(
                note("<b>Not connected to Constant Contact.</b>"),
                note(
                    "Set the <code>CC_ACCESS_TOKEN</code> environment variable before "
                    "starting Jupyter (and <code>CC_BASE_URL</code> for another server), "
                    "then run <code>%cc_connect</code> again; or practise on a local "
                    "emulator with <code>%cc_emulator</code>."
                ),
                note(esc(f"server: {base_url}"), "muted") if base_url else "",
            )
        )
        super().__init__([self.html])

    def __repr__(self) -> str:
        return (
            "Not connected to Constant Contact: set CC_ACCESS_TOKEN and run %cc_connect "
            "again, or use %cc_emulator to practise."
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


def connect(base_url: str | None = None) -> Client | LoginPrompt | None:
    """Connect and make the client the default: environment token, else the registered
    login flow, else a :class:`LoginPrompt`. Returns the client, or the prompt to show.
    """
    from ccpandas.client import (
        BASE_URL_ENV,
        DEFAULT_BASE_URL,
        TOKEN_ENV,
        Client,
        set_default_client,
    )

    url = base_url or os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    if os.environ.get(TOKEN_ENV, "").strip():
        client = Client(base_url=url)
    elif _login_flow is not None:
        client = _login_flow(base_url=url)
        if client is None:
            return None
    else:
        return LoginPrompt(url)
    set_default_client(client)
    return client
