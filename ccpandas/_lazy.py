"""Names a package exports but loads on first use, so importing it stays cheap.

One helper for every package ``__init__`` (PEP 562 module ``__getattr__``): importing
``ccpandas`` must not import requests, sqlite3 or ipywidgets until they are needed.

Example:
    >>> getattr_, dir_ = attach("json", {"dumps": "json"}, {})  # what json.__init__ would do
    >>> getattr_("dumps")({"a": 1})
    '{"a": 1}'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

__all__ = ["attach"]


def attach(
    package: str,
    names: dict[str, str],
    namespace: MutableMapping[str, Any],
    extra: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each lazy name to the
    module that defines it; a loaded value is cached in ``namespace`` (the package's
    ``globals()``), so the import happens once."""
    listed = set(names) | set(extra)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | listed)

    return __getattr__, __dir__
