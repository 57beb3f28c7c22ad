"""The HTTP layer: one ``Client`` per application, its retries, rate limit and quota.

Never imports ``ccpandas.auth`` or ``ccpandas.run``: a client is handed its token (or a
provider of one) by whoever builds it. The package names the client; everything else is
imported from its module (:mod:`ccpandas.client.http`, :mod:`ccpandas.client.retry`,
:mod:`ccpandas.client.shared`, :mod:`ccpandas.client.quota`...).

Example:
    >>> from ccpandas.client import Client
    >>> Client(token="t", base_url="http://127.0.0.1:9/v3").base_url
    'http://127.0.0.1:9/v3'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.client.http import Client

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {"Client": "ccpandas.client.http"}
__all__ = ["Client"]

__getattr__, __dir__ = _env.attach("ccpandas.client", _LAZY, globals(), __all__)
