"""Logging in and building clients: OAuth2 flows, the token store, ``connect``.

Builds :class:`~ccpandas.client.Client` objects; picks no user interface itself (a front
end registers one through :mod:`ccpandas._env`). ``ccpandas.auth`` keeps every name it
had as a single module.

Example:
    >>> from ccpandas.auth import DEFAULT_SCOPES
    >>> DEFAULT_SCOPES
    ('contact_data', 'offline_access')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.auth.connect import (
        AUTH_URL_ENV,
        CLIENT_ID_ENV,
        CLIENT_SECRET_ENV,
        DEFAULT_AUTH_URL,
        DEFAULT_REDIRECT_URI,
        DEFAULT_SCOPES,
        ENV_VARIABLES,
        REFRESH_TOKEN_ENV,
        ConnectOptions,
        DeviceCode,
        InteractiveOptions,
        LoginOptions,
        LoginView,
        OAuthSession,
        OAuthToken,
        SessionOptions,
        TextView,
        connect,
        get_default_client,
        login,
        logout,
        normalize_auth_url,
        refresh_saved_login,
    )
    from ccpandas.auth.flows import (
        DEVICE_GRANT,
        SLOW_DOWN_STEP,
        auth_error,
        credentials_from_answer,
        device_flow,
        pkce_flow,
    )
    from ccpandas.auth.tokenstore import (
        CONFIG_DIR_ENV,
        KEYRING_ENV,
        Credentials,
        MemoryTokenStore,
        TokenStore,
        config_dir,
    )

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "CredentialStore": "ccpandas.auth.tokenstore",
    "MemoryTokenStore": "ccpandas.auth.tokenstore",
    "SessionOptions": "ccpandas.auth.connect",
    "LoginOptions": "ccpandas.auth.connect",
    "InteractiveOptions": "ccpandas.auth.connect",
    "ConnectOptions": "ccpandas.auth.connect",
    "AUTH_URL_ENV": "ccpandas.auth.connect",
    "CLIENT_ID_ENV": "ccpandas.auth.connect",
    "CLIENT_SECRET_ENV": "ccpandas.auth.connect",
    "CONFIG_DIR_ENV": "ccpandas.auth.tokenstore",
    "Credentials": "ccpandas.auth.tokenstore",
    "DEFAULT_AUTH_URL": "ccpandas.auth.connect",
    "DEFAULT_REDIRECT_URI": "ccpandas.auth.connect",
    "DEFAULT_SCOPES": "ccpandas.auth.connect",
    "DEVICE_GRANT": "ccpandas.auth.flows",
    "DeviceCode": "ccpandas.auth.connect",
    "ENV_VARIABLES": "ccpandas.auth.connect",
    "KEYRING_ENV": "ccpandas.auth.tokenstore",
    "LoginView": "ccpandas.auth.connect",
    "OAuthSession": "ccpandas.auth.connect",
    "OAuthToken": "ccpandas.auth.connect",
    "REFRESH_TOKEN_ENV": "ccpandas.auth.connect",
    "SLOW_DOWN_STEP": "ccpandas.auth.flows",
    "TextView": "ccpandas.auth.connect",
    "TokenStore": "ccpandas.auth.tokenstore",
    "auth_error": "ccpandas.auth.flows",
    "config_dir": "ccpandas.auth.tokenstore",
    "connect": "ccpandas.auth.connect",
    "credentials_from_answer": "ccpandas.auth.flows",
    "device_flow": "ccpandas.auth.flows",
    "get_default_client": "ccpandas.auth.connect",
    "login": "ccpandas.auth.connect",
    "logout": "ccpandas.auth.connect",
    "normalize_auth_url": "ccpandas.auth.connect",
    "pkce_flow": "ccpandas.auth.flows",
    "refresh_saved_login": "ccpandas.auth.connect",
}

__all__ = [
    "AUTH_URL_ENV",
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "CONFIG_DIR_ENV",
    "DEFAULT_AUTH_URL",
    "DEFAULT_REDIRECT_URI",
    "DEFAULT_SCOPES",
    "DEVICE_GRANT",
    "ENV_VARIABLES",
    "KEYRING_ENV",
    "REFRESH_TOKEN_ENV",
    "SLOW_DOWN_STEP",
    "ConnectOptions",
    "Credentials",
    "DeviceCode",
    "InteractiveOptions",
    "LoginOptions",
    "LoginView",
    "MemoryTokenStore",
    "OAuthSession",
    "OAuthToken",
    "SessionOptions",
    "TextView",
    "TokenStore",
    "auth_error",
    "config_dir",
    "connect",
    "credentials_from_answer",
    "device_flow",
    "get_default_client",
    "login",
    "logout",
    "normalize_auth_url",
    "pkce_flow",
    "refresh_saved_login",
]

__getattr__, __dir__ = _env.attach("ccpandas.auth", _LAZY, globals(), __all__)
