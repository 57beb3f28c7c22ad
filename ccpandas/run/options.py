"""The run options, defined once: what every removal call passes down to the runner.

The public functions users call (``remove_from_lists``, ``remove_list_memberships``,
``df.cc.*``, ``resume``) spell each keyword out, so their signatures and the API
reference show and document every one; everything in between forwards them as one
bundle, ``**options: Unpack[RunOptions]`` (the pattern of stripe-python's
``_request_options.py``). :func:`check_run_options` checks a bundle before anything is
sent or journaled, at every entry point.

Example:
    >>> check_run_options({"dry_run": True, "timeout": 30})
    >>> check_run_options({"timeout": -1})
    Traceback (most recent call last):
    ...
    ValueError: timeout must be None or seconds >= 0, not -1
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from ccpandas.errors import short_repr
from ccpandas.report.progress import Reporter, check_progress

__all__ = [
    "RUN_OPTION_DEFAULTS",
    "RunOptions",
    "check_client",
    "check_progress",
    "check_run_options",
    "check_source",
    "check_timeout",
]


class RunOptions(TypedDict, total=False):
    """How a run is driven; every key is optional (see :data:`RUN_OPTION_DEFAULTS`).

    - ``dry_run``: plan and return without sending anything (bool).
    - ``wait``: poll until every activity ends (True), or return once every batch is
      accepted (False).
    - ``progress``: ``"auto"``, ``"tqdm"``, True, False, None or a
      :class:`~ccpandas.report.progress.Reporter`.
    - ``timeout``: seconds to keep polling (None: until the end); the activities keep
      running on the server after it.
    - ``wait_for_quota``: sleep through a spent daily quota (until 00:00 UTC) instead
      of stopping.
    """

    dry_run: bool
    wait: bool
    progress: bool | Literal["auto", "tqdm"] | Reporter | None
    timeout: float | None
    wait_for_quota: bool


#: The value each option takes when a call does not give it.
RUN_OPTION_DEFAULTS: RunOptions = {
    "dry_run": False,
    "wait": True,
    "progress": "auto",
    "timeout": None,
    "wait_for_quota": False,
}

_FLAGS = ("dry_run", "wait", "wait_for_quota")


def check_run_options(options: Mapping[str, Any]) -> None:
    """Raise TypeError/ValueError, naming the option and the bad value, unless every
    option in ``options`` has a value it accepts (an unknown key is a TypeError too).

    Called at every entry point before the first request and the first journal row.

    Example:
        >>> check_run_options({"wait": "yes"})
        Traceback (most recent call last):
        ...
        TypeError: wait must be True or False, not 'yes' (str)
    """
    unknown = sorted(set(options) - set(RunOptions.__annotations__))
    if unknown:
        raise TypeError(
            f"unexpected run option{'s' * (len(unknown) != 1)} {', '.join(unknown)}; "
            f"the options are {', '.join(RunOptions.__annotations__)}"
        )
    for name in _FLAGS:
        if name in options and not isinstance(options[name], bool):
            value = options[name]
            shown = f"{short_repr(value, 60)} ({type(value).__name__})"
            raise TypeError(f"{name} must be True or False, not {shown}")
    if "timeout" in options:
        check_timeout(options["timeout"])
    if "progress" in options:
        check_progress(options["progress"])


def check_timeout(timeout: Any, name: str = "timeout") -> None:
    """TypeError unless ``timeout`` is None or a real number of seconds (bool is not);
    ValueError when it is negative or NaN.

    Example:
        >>> check_timeout(True)
        Traceback (most recent call last):
        ...
        TypeError: timeout must be None or seconds (an int or float), not True (bool)
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(
            f"{name} must be None or seconds (an int or float), not "
            f"{short_repr(timeout, 60)} ({type(timeout).__name__})"
        )
    if math.isnan(float(timeout)) or timeout < 0:
        raise ValueError(f"{name} must be None or seconds >= 0, not {timeout!r}")


def check_client(client: Any, name: str = "client") -> None:
    """TypeError unless ``client`` is None (the default client) or a
    :class:`ccpandas.Client`; checked before anything is sent.

    Example:
        >>> check_client("my-token")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: client must be a ccpandas.Client (or None ...), not 'my-token' (str)
    """
    from ccpandas.client.http import Client

    if client is not None and not isinstance(client, Client):
        text = repr(client)
        text = text if len(text) <= 60 else text[:57] + "..."
        raise TypeError(
            f"{name} must be a ccpandas.Client (or None for the default client), "
            f"not {text} ({type(client).__name__})"
        )


def check_source(source: Any) -> None:
    """TypeError unless ``source`` is a :class:`ccpandas.Source`.

    Example:
        >>> check_source(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: source must be a ccpandas.Source (e.g. ...), not a list
    """
    from ccpandas.models import Source

    if not isinstance(source, Source):
        raise TypeError(
            "source must be a ccpandas.Source (e.g. Source.tag_ids([...]) or "
            f"Source.contact_ids([...])), not a {type(source).__name__}"
        )
