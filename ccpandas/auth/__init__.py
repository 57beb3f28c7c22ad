"""Logging in and building clients: OAuth2 flows, the token store, ``connect``.

Builds :class:`~ccpandas.client.Client` objects; picks no user interface itself (a front
end registers one through :mod:`ccpandas._env`). The package names the entry points the
guide documents; everything else is imported from its module
(:mod:`ccpandas.auth.connect`, :mod:`ccpandas.auth.flows`, :mod:`ccpandas.auth.tokenstore`).

Example:
    >>> from ccpandas.auth import login
    >>> login.__module__
    'ccpandas.auth.connect'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.auth.connect import (
        OAuthToken,
        get_default_client,
        login,
        logout,
        refresh_saved_login,
    )
    from ccpandas.auth.flows import TextView

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "OAuthToken": "ccpandas.auth.connect",
    "TextView": "ccpandas.auth.flows",
    "get_default_client": "ccpandas.auth.connect",
    "login": "ccpandas.auth.connect",
    "logout": "ccpandas.auth.connect",
    "refresh_saved_login": "ccpandas.auth.connect",
}
__all__ = [
    "OAuthToken",
    "TextView",
    "get_default_client",
    "login",
    "logout",
    "refresh_saved_login",
]

__getattr__, __dir__ = _env.attach("ccpandas.auth", _LAZY, globals(), __all__)
