"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.run.result`."""

from ccpandas.run.result import *  # noqa: F403
from ccpandas.run.result import __all__ as __all__
