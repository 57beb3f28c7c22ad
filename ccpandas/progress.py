"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.run.progress`."""

from ccpandas.run.progress import *  # noqa: F403
from ccpandas.run.progress import __all__ as __all__
