"""Every setting ccpandas reads from the environment, its default, and where files live.

One home for the environment: every other module asks :func:`env` (or the path helpers)
instead of reading ``os.environ`` its own way, so blank values, stripping and the names
themselves behave the same everywhere. Base layer: imports nothing from ccpandas.

Example:
    >>> import os
    >>> os.environ["CC_BASE_URL"] = "  http://127.0.0.1:9/v3 "
    >>> env(BASE_URL_ENV)
    'http://127.0.0.1:9/v3'
    >>> del os.environ["CC_BASE_URL"]
    >>> env(BASE_URL_ENV) is None
    True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "AUTH_URL_ENV",
    "BASE_URL_ENV",
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "CONFIG_DIR_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_AUTH_URL",
    "DEFAULT_BASE_URL",
    "ENV_VARIABLES",
    "KEYRING_ENV",
    "REFRESH_TOKEN_ENV",
    "SHARED_STATE_ENV",
    "TOKEN_ENV",
    "config_dir",
    "data_dir",
    "env",
    "env_flag",
]

#: The Constant Contact V3 API.
DEFAULT_BASE_URL = "https://api.cc.email/v3"
#: Constant Contact's OAuth2 server.
DEFAULT_AUTH_URL = "https://authz.constantcontact.com/oauth2/default/v1"

# -- the API and its credentials (the names Constant Contact users know) -----------------
TOKEN_ENV = "CC_ACCESS_TOKEN"
BASE_URL_ENV = "CC_BASE_URL"
CLIENT_ID_ENV = "CC_CLIENT_ID"
CLIENT_SECRET_ENV = "CC_CLIENT_SECRET"
REFRESH_TOKEN_ENV = "CC_REFRESH_TOKEN"
AUTH_URL_ENV = "CC_AUTH_URL"
#: Opt in to the system keyring for saved logins.
KEYRING_ENV = "CCPANDAS_KEYRING"
#: Every variable ccpandas reads to connect (tests clear exactly these).
ENV_VARIABLES = (
    TOKEN_ENV,
    REFRESH_TOKEN_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    AUTH_URL_ENV,
    BASE_URL_ENV,
    KEYRING_ENV,
)

# -- ccpandas' own files and services ----------------------------------------------------
DATA_DIR_ENV = "CCPANDAS_DATA_DIR"
CONFIG_DIR_ENV = "CCPANDAS_CONFIG_DIR"
#: Where the shared rate limit, quota ledger and run locks live (``redis://...``).
SHARED_STATE_ENV = "CCPANDAS_SHARED_STATE"


def env(name: str) -> str | None:
    """An environment variable, stripped; None when unset or blank.

    Example:
        >>> env("CCPANDAS_SURELY_UNSET") is None
        True
    """
    value = os.environ.get(name, "").strip()
    return value or None


def env_flag(name: str) -> bool:
    """True when the variable says yes (``1``, ``true``, ``yes``, any case).

    Example:
        >>> env_flag("CCPANDAS_SURELY_UNSET")
        False
    """
    return (env(name) or "").lower() in ("1", "true", "yes")


def data_dir() -> Path:
    """The directory of the journal and the daily request count.

    ``CCPANDAS_DATA_DIR`` when set, else the user data directory (platformdirs), e.g.
    ``~/.local/share/ccpandas`` on Linux.

    Example:
        >>> import os
        >>> os.environ["CCPANDAS_DATA_DIR"] = "/tmp/cc-example"
        >>> str(data_dir())
        '/tmp/cc-example'
        >>> del os.environ["CCPANDAS_DATA_DIR"]
    """
    return _user_dir(DATA_DIR_ENV, "data")


def config_dir() -> Path:
    """ccpandas' config directory: ``$CCPANDAS_CONFIG_DIR``, else the user config dir.

    Example:
        >>> isinstance(config_dir(), Path)
        True
    """
    return _user_dir(CONFIG_DIR_ENV, "config")


def _user_dir(name: str, kind: str) -> Path:
    """The folder the variable ``name`` sets, else platformdirs' user ``kind`` folder."""
    configured = env(name)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("ccpandas", appauthor=False))
