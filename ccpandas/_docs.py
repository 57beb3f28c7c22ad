"""One description per recurring parameter, shared by every docstring that takes it.

In a decorated function's ``Args:`` section, the line ``name: {shared}`` becomes
``name: `` and the text of :data:`PARAMETERS` ``[name]`` (``{shared:key}`` takes another
key's text; a line of ``{shared:key}`` alone, as under a definition list's term, is that
text alone), wrapped at the line's own indentation, so the API reference says the same
thing in the same words everywhere and the words live in one place (pandas fills its
docstrings the same way, with its ``doc`` decorator).

Example:
    >>> @shared_params
    ... def f(wait=True):
    ...     '''Do it.
    ...
    ...     Args:
    ...         wait: {shared}
    ...     '''
    >>> "wait: True (the default) polls until every activity" in f.__doc__
    True
"""

from __future__ import annotations

import re
import textwrap
from typing import TypeVar

__all__ = ["PARAMETERS", "shared_params"]

T = TypeVar("T")

#: The shared descriptions, by parameter name (or by a key ``{shared:key}`` names).
PARAMETERS: dict[str, str] = {
    "client": (
        "The :class:`~ccpandas.Client` to use. None (the default) uses the default client "
        "(:func:`ccpandas.get_default_client`)."
    ),
    "dry_run": (
        "True plans the run and returns its result without sending any change (a "
        "membership snapshot, when one is taken, still reads the lists: that is the "
        "preview). False (the default) sends it."
    ),
    "wait": (
        "True (the default) polls until every activity has ended. False returns once "
        "every request is accepted; ``result.wait()`` follows the activities later."
    ),
    "progress": (
        'How progress is shown: ``"auto"`` (the widget display in a notebook after '
        '``%load_ext ccpandas``, else tqdm bars on stderr), ``"tqdm"``, True (same as '
        '``"auto"``), False or None (nothing), or a '
        ':class:`~ccpandas.report.progress.Reporter` object. Default ``"auto"``.'
    ),
    "progress_read": (
        "How the pages of a read are shown, as for :func:`ccpandas.remove_from_lists`: "
        '``"auto"`` (the default), ``"tqdm"``, True, False or None, or a '
        ":class:`~ccpandas.report.progress.Reporter`. Only a read of more than one page "
        'shows anything; with ``"auto"`` outside a notebook and with stderr not a '
        "terminal (a log, cron), plain timestamped lines instead of a bar."
    ),
    "progress_keep": (
        "How progress is shown, as for :func:`ccpandas.remove_from_lists`. None (the "
        "default) keeps the display the run already has."
    ),
    "timeout": (
        "Seconds to keep polling (a quota wait meanwhile too), e.g. ``600``. None (the "
        "default) polls until every "
        "activity has ended. Activities still running at the timeout keep running on the "
        "server and show as ``processing``; ``result.wait()`` follows them again."
    ),
    "wait_for_quota": (
        "True sleeps through a spent daily quota (it resets at 00:00 UTC) and then "
        "continues. False (the default) stops the run with "
        ":class:`~ccpandas.QuotaExceededError`; ``ccpandas.resume(run_id)`` continues it "
        "after the reset."
    ),
    "source_snapshot": (
        "Whether to read the target lists' members first (a membership snapshot): "
        '``"auto"`` (the default) reads them when the reads cost no more than the removal '
        'requests; True or False forces it; a ``"snap-..."`` id continues an interrupted '
        "read."
    ),
    "snapshot": (
        "Whether to read the target lists' members first (a membership snapshot): "
        '``"auto"`` (the default) reads them when email input needs it or when the reads '
        "cost no more than the removal requests; True or False forces it; a "
        '``"snap-..."`` id continues an interrupted read.'
    ),
    "verify": (
        "With a membership snapshot, how the run checks at the end what changed, so "
        "``result.changes`` says per (contact, list) pair ``removed`` or "
        '``still_member``: ``"auto"`` (the default) takes the plan\'s choice (its '
        "``verification`` line: a full re-read when it costs at most the sends, "
        "else a read of the contacts changed since the run started, else a "
        "random sample, labelled as one); True forces the full re-read; "
        '``"changed"`` or ``"sample"`` force those; False skips it. No effect without '
        "a snapshot."
    ),
    "verify_plan": (
        "A choice of the run, not of its plan: give ``verify`` where the plan runs "
        '(:func:`ccpandas.api.run_plan`, or the removal itself). ``"auto"`` (the '
        "default) or True changes nothing; False warns that it does nothing here."
    ),
    "list_ids": (
        "The target lists: one list UUID or exact name of an active list, or several (a "
        'list, tuple or Series), e.g. ``["Newsletter", "Customers"]``. Names cost one '
        "``GET /contact_lists`` to resolve."
    ),
    "record": (
        "True (the default) records the run in the journal on disk, so "
        "``ccpandas.resume(result.run_id)`` can finish it from any process and "
        "``ccpandas.runs()`` lists it. False records nothing (no ``run_id``; only "
        "``result.resume()`` in this process can continue it)."
    ),
    "by": (
        'What the column holds: ``"auto"`` (the default) tells contact ids and email '
        'addresses apart by their values; ``"contact_id"`` or ``"email"`` forces one.'
    ),
    "saved_client_id": (
        'Your application\'s API key (its OAuth2 client id), e.g. ``"0a1b2c3d-..."``. '
        "None (the default) reads ``CC_CLIENT_ID``, else takes the only application with a "
        "saved login."
    ),
    "saved_store": (
        "The :class:`~ccpandas.auth.tokenstore.TokenStore` that holds the saved login. None "
        "(the default) is the token store in your config folder (``CCPANDAS_CONFIG_DIR`` "
        "chooses it)."
    ),
    "change_options": (
        "The run's options by name, each described in :class:`~ccpandas.ChangeOptions`: "
        "``client``, ``dry_run``, ``wait``, ``progress``, ``timeout``, ``wait_for_quota``, "
        "``snapshot``, ``verify``, ``by`` and ``journal``."
    ),
    "source_options": (
        "The run's options by name, each described in :class:`~ccpandas.SourceOptions`: "
        "``dry_run``, ``wait``, ``progress``, ``timeout``, ``wait_for_quota``, ``snapshot``, "
        "``verify`` and ``journal``."
    ),
    "journal": (
        "The journal database to use (a :class:`~ccpandas.store.journal.JournalDB`). None "
        "(the default) opens the one in the data directory "
        "(:func:`~ccpandas.store.journal.data_dir`)."
    ),
}

_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<name>\w+): )?\{shared(?::(?P<key>\w+))?\}$", re.M)
#: Docstring lines stay within this many characters.
WIDTH = 88


def shared_params(obj: T) -> T:
    """Fill the ``{shared}`` placeholders of ``obj``'s docstring (a function or a
    class); an unknown name is a KeyError at import time, never a silent gap."""
    doc = obj.__doc__
    if doc:
        obj.__doc__ = _LINE.sub(_fill, doc)
    return obj


def _fill(match: re.Match[str]) -> str:
    indent, name = match["indent"], match["name"]
    text = PARAMETERS[match["key"] or name]
    return textwrap.fill(
        f"{name}: {text}" if name else text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + "    " * bool(name),
        break_long_words=False,
        break_on_hyphens=False,
    )
