"""ccpandas: remove contacts from Constant Contact lists straight from a pandas DataFrame.

Importing ccpandas registers the ``df.cc`` accessor. The HTTP client, the readers, the
widgets and the emulator are imported on first use, so ``import ccpandas`` stays cheap.

Example:
    >>> import ccpandas
    >>> ccpandas.Source.engagement_level("low").to_json()
    {'engagement_level': 'low'}
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import Any

from ccpandas import _env
from ccpandas import accessor as _accessor  # noqa: F401  (registers df.cc)
from ccpandas.api import (
    ChangeOptions,
    SourceOptions,
    add_to_lists,
    remove_from_lists,
    remove_list_memberships,
    sync_lists,
    wait,
)
from ccpandas.errors import (
    ActivityError,
    APIError,
    AuthError,
    CCError,
    ConfigError,
    PlanError,
    QuotaExceededError,
    QuotaShortError,
    ThrottledError,
    TransportError,
)
from ccpandas.models import ActivityState, Source
from ccpandas.plan.planner import RemovalPlan
from ccpandas.run.result import RemovalResult


def _notebook_login_view() -> Any:
    # The package root wires the front end: auth asks ccpandas._env for a view and never
    # imports widgets itself. ipywidgets load only when a login is shown in a notebook.
    if not _env.in_notebook():
        return None
    from ccpandas.widgets.login import notebook_login_view

    return notebook_login_view()


_env.set_login_view_factory(_notebook_login_view)


try:
    # Through the module: a bare ``version`` import would be ccpandas.version, a function.
    __version__ = _metadata.version("ccpandas")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

# Public names that live in modules imported on first use (requests, widgets).
_LAZY = {
    "Client": "ccpandas.client.http",
    "get_default_client": "ccpandas.auth.connect",
    "set_default_client": "ccpandas.client.http",
    # Where the rate limit, quota ledger and run locks are shared (team mode: Redis).
    "configure": "ccpandas.client.shared",
    "read_contact_lists": "ccpandas.readers",
    "read_contacts": "ccpandas.readers",
    "read_contact_tags": "ccpandas.readers",
    # A read-only check of the API's shapes against the account.
    "doctor": "ccpandas.api",
    "read_segments": "ccpandas.readers",
    # OAuth2 login and the token store load on first use.
    "login": "ccpandas.auth.connect",
    "logout": "ccpandas.auth.connect",
    "connect": "ccpandas.auth.connect",
    # The run journal (sqlite3) loads on first use.
    "runs": "ccpandas.api",
    "run_result": "ccpandas.api",
    "resume": "ccpandas.api",
    "undo": "ccpandas.api",
    # IPython extension hooks (%load_ext ccpandas); IPython is imported only then.
    "load_ipython_extension": "ccpandas.widgets.ipython",
    "unload_ipython_extension": "ccpandas.widgets.ipython",
}

__all__ = [
    "APIError",
    "ActivityError",
    "ActivityState",
    "AuthError",
    "CCError",
    "ChangeOptions",
    "Client",
    "ConfigError",
    "PlanError",
    "QuotaExceededError",
    "QuotaShortError",
    "RemovalPlan",
    "RemovalResult",
    "Source",
    "SourceOptions",
    "ThrottledError",
    "TransportError",
    "__version__",
    "add_to_lists",
    "configure",
    "connect",
    "doctor",
    "get_default_client",
    "login",
    "logout",
    "read_contact_lists",
    "read_contact_tags",
    "read_contacts",
    "read_segments",
    "remove_from_lists",
    "remove_list_memberships",
    "resume",
    "run_result",
    "runs",
    "set_default_client",
    "sync_lists",
    "undo",
    "wait",
]

__getattr__, __dir__ = _env.attach("ccpandas", _LAZY, globals(), __all__)
