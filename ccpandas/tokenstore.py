"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.auth.tokenstore`."""

from ccpandas.auth.tokenstore import *  # noqa: F403
from ccpandas.auth.tokenstore import __all__ as __all__
