"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.widgets.ipython`."""

from ccpandas.widgets.ipython import *  # noqa: F403
from ccpandas.widgets.ipython import __all__ as __all__
