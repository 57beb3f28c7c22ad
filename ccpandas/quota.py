"""Old import path, kept so existing code and docs work: see :mod:`ccpandas.client.quota`."""

from ccpandas.client.quota import *  # noqa: F403
from ccpandas.client.quota import __all__ as __all__
