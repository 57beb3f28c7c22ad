"""ccpandas: remove contacts from Constant Contact lists straight from a pandas DataFrame.

Importing ccpandas registers the ``df.cc`` accessor. The planner, the runner, the journal,
the HTTP client, the readers, the widgets and the emulator are imported on first use (of
``df.cc``, of a public name, or of a submodule as ``ccpandas.api``), so ``import ccpandas``
stays cheap.

Example:
    >>> import ccpandas
    >>> ccpandas.Source.engagement_level("low").to_json()
    {'engagement_level': 'low'}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ccpandas import _env
from ccpandas import accessor as _accessor  # noqa: F401  (registers df.cc)
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

if TYPE_CHECKING:  # loaded on first use (see _LAZY); named here for type checkers
    from ccpandas.api import (
        ChangeOptions,
        RemovalPlan,
        RemovalResult,
        SourceOptions,
        add_to_lists,
        remove_from_lists,
        remove_list_memberships,
        sync_lists,
        wait,
    )


def _notebook_login_view() -> Any:
    # The package root wires the front end: auth asks ccpandas._env for a view and never
    # imports widgets itself. ipywidgets load only when a login is shown in a notebook.
    if not _env.in_notebook():
        return None
    from ccpandas.widgets.login import notebook_login_view

    return notebook_login_view()


_env.set_login_view_factory(_notebook_login_view)


# Public names that live in modules imported on first use: the planner, runner and
# journal (sqlite3) with ccpandas.api, requests with the client, the widgets.
_LAZY = {
    "ChangeOptions": "ccpandas.api",
    "SourceOptions": "ccpandas.api",
    "RemovalPlan": "ccpandas.api",
    "RemovalResult": "ccpandas.api",
    "add_to_lists": "ccpandas.api",
    "remove_from_lists": "ccpandas.api",
    "remove_list_memberships": "ccpandas.api",
    "sync_lists": "ccpandas.api",
    "wait": "ccpandas.api",
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

__version__: str  # set by __getattr__ on first use
_lazy_getattr, __dir__ = _env.attach("ccpandas", _LAZY, globals(), __all__)


def __getattr__(name: str) -> Any:
    if name == "__version__":  # read from the installed metadata (importlib.metadata) if asked
        globals()[name] = _env.package_version()
        return globals()[name]
    return _lazy_getattr(name)
