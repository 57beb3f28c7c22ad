"""ccpandas: remove contacts from Constant Contact lists straight from a pandas DataFrame.

Importing ccpandas registers the ``df.cc`` accessor. Heavy parts (widgets, the
emulator) are imported lazily.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ccpandas.errors import (
    ActivityError,
    APIError,
    AuthError,
    CCError,
    PlanError,
    QuotaExceededError,
    ThrottledError,
)
from ccpandas.models import ActivityState, Source

try:
    __version__ = version("ccpandas")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "APIError",
    "ActivityError",
    "ActivityState",
    "AuthError",
    "CCError",
    "PlanError",
    "QuotaExceededError",
    "Source",
    "ThrottledError",
    "__version__",
]
