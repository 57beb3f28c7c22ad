"""Old plugin path, kept so ``-p ccpandas.testing`` works: see :mod:`ccpandas.widgets.testing`."""

from ccpandas.widgets.testing import *  # noqa: F403
from ccpandas.widgets.testing import __all__ as __all__
from ccpandas.widgets.testing import pytest_configure as pytest_configure
