"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.run.journal`."""

from ccpandas.run.journal import *  # noqa: F403
from ccpandas.run.journal import __all__ as __all__
