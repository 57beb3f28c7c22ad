"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.auth.flows`."""

from ccpandas.auth.flows import *  # noqa: F403
from ccpandas.auth.flows import __all__ as __all__
