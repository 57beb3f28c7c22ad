"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.widgets.testing`."""

from ccpandas.widgets.testing import *  # noqa: F403
from ccpandas.widgets.testing import __all__ as __all__
