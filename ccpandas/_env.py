"""Where are we running, what loads lazily: answers that never import ipywidgets, the
front-end hook, and the lazy exports (:func:`attach`) every package ``__init__`` uses.

The lower layers never pick a user interface themselves: a front end registers one with
:func:`set_login_view_factory` (the package root registers the notebook login widget,
imported only when a login is shown), and ``ccpandas.auth`` asks :func:`login_view`.

The accessor asks :func:`in_notebook` before opening the removal panel, and the panel
asks :func:`in_widget_event` to decide whether a click came from the browser (run in the
background so the Stop button stays live) or from code in a cell (run in that cell).

Example:
    >>> in_notebook()  # plain Python, not a Jupyter kernel
    False
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

__all__ = [
    "attach",
    "in_notebook",
    "in_widget_event",
    "kernel",
    "login_view",
    "package_version",
    "set_login_view_factory",
]


def kernel() -> Any | None:
    """The running ipykernel ``Kernel``, or None outside a Jupyter kernel."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, nbclient), where
    widgets can be displayed; False in plain Python and the IPython terminal."""
    return kernel() is not None


def in_widget_event() -> bool:
    """True while the kernel handles a message from a widget in the front end (a real
    click in the browser), False while it runs a cell or outside a kernel.

    The kernel records the message it is handling as its "parent"; a click arrives as
    a ``comm_msg``, a cell as an ``execute_request``.
    """
    k = kernel()
    if k is None:
        return False
    try:
        parent = k.get_parent("shell")
    except Exception:  # older or exotic kernels: behave as in a cell
        return False
    header = (parent or {}).get("header") or {}
    return header.get("msg_type") == "comm_msg"


#: Builds the view a login shows (or returns None to let the caller print text).
LoginViewFactory = Callable[[], Any]
_login_view_factory: LoginViewFactory | None = None


def set_login_view_factory(factory: LoginViewFactory | None) -> LoginViewFactory | None:
    """Install how a login shows itself (None: plain text); return the previous one.

    Example:
        >>> old = set_login_view_factory(lambda: None)
        >>> login_view() is None
        True
        >>> _ = set_login_view_factory(old)
    """
    global _login_view_factory
    old, _login_view_factory = _login_view_factory, factory
    return old


def login_view() -> Any | None:
    """The registered front end's login view, or None when there is none to show."""
    factory = _login_view_factory
    return factory() if factory is not None else None


# -- lazy exports (PEP 562): importing ccpandas must not import requests, sqlite3 or
# ipywidgets until they are needed; every package __init__ uses this one helper.
def attach(
    package: str,
    names: dict[str, str],
    namespace: MutableMapping[str, Any],
    extra: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each lazy name to the
    module that defines it; a loaded value is cached in ``namespace`` (the package's
    ``globals()``), so the import happens once.

    Example:
        >>> getattr_, dir_ = attach("json", {"dumps": "json"}, {})  # as json.__init__ would
        >>> getattr_("dumps")({"a": 1})
        '{"a": 1}'
    """
    listed = set(names) | set(extra)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            return _submodule(package, name)
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | listed)

    return __getattr__, __dir__


def _submodule(package: str, name: str) -> Any:
    """``package.name`` imported on first use, as ``ccpandas.api`` after ``import ccpandas``
    (the module is then an attribute of the package); else the usual AttributeError."""
    if not name.startswith("__"):
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":  # the module exists; an import in it failed
                raise
    raise AttributeError(f"module {package!r} has no attribute {name!r}")


def package_version() -> str:
    """The installed ccpandas version (importlib.metadata loads only when asked)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ccpandas")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return "0.0.0"
