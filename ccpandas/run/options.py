"""The run options, defined once: one checked bundle from the entry point to the runner.

The public functions users call (``remove_from_lists``, ``remove_list_memberships``,
``df.cc.*``, ``resume``, ``undo``, the result's ``wait``/``resume``/``retry_failed``/
``undo``) spell each keyword out, so their signatures and the API reference show and
document every one. Each turns them into one :class:`RunOptions` with
:meth:`RunOptions.of`, which checks every value before anything is sent or journaled;
everything below takes the bundle whole and never checks it again. What a run owns
itself (one reporter for the whole call, its quota check) joins the bundle with
:meth:`RunOptions.started`.

Example:
    >>> RunOptions.of(dry_run=True, timeout=30).timeout
    30
    >>> RunOptions.of(timeout=-1)
    Traceback (most recent call last):
    ...
    ValueError: timeout must be None or seconds >= 0, not -1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from ccpandas.errors import check_timeout, short_repr
from ccpandas.report.progress import Reporter, check_progress, make_reporter
from ccpandas.run.budget import QuotaCheck
from ccpandas.run.runner import Runner
from ccpandas.vocab import VerifyMethod

if TYPE_CHECKING:
    from ccpandas.client.http import Client

__all__ = [
    "RunOptions",
    "check_client",
    "check_progress",
    "check_source",
    "pick_client",
]

_FLAGS = ("dry_run", "wait", "wait_for_quota")
#: The options a call takes by name (``gate`` is the run's own, never given).
_NAMES = (*_FLAGS[:2], "progress", "timeout", _FLAGS[2], "verify")
#: The words ``verify`` takes beside True and False.
VERIFY_WORDS = ("auto", *(str(m) for m in VerifyMethod if m is not VerifyMethod.NONE))


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a run is driven: built and checked once, at the call users make.

    Args:
        dry_run: Plan and return without sending anything. Default False.
        wait: Poll until every activity ends (True, the default), or return once every
            batch is accepted (False).
        progress: ``"auto"`` (the default), ``"tqdm"``, True, False, None or a
            :class:`~ccpandas.report.progress.Reporter`. Calls that continue a run read
            None as "keep the run's display".
        timeout: Seconds to keep polling (None, the default: until the end); the
            activities keep running on the server after it.
        wait_for_quota: Sleep through a spent daily quota (until 00:00 UTC) instead of
            stopping. Default False.
        verify: With a membership snapshot, how to check what changed once the
            activities end: ``"auto"`` (the default) takes the plan's choice (a full
            re-read when it costs at most the sends, else a read of the
            contacts changed since the run started, else a labelled sample); True (or
            ``"full"``) forces the full re-read; ``"changed"`` or ``"sample"`` force
            those; False reads nothing. A choice of the run, not of its plan.
        gate: The run's quota check (:class:`~ccpandas.run.budget.QuotaCheck`), set by
            :meth:`started`, never by a caller: asked before the first list read and
            again before the first change.

    Raises:
        TypeError: A value of the wrong type, e.g. ``wait="yes"``.
        ValueError: A value out of range, e.g. ``timeout=-1``.

    Example:
        >>> options = RunOptions.of(wait=False)
        >>> options.replace(progress=False).progress, options.wait
        (False, False)
    """

    dry_run: bool = False
    wait: bool = True
    progress: bool | Literal["auto", "tqdm"] | Reporter | None = "auto"
    timeout: float | None = None
    wait_for_quota: bool = False
    verify: bool | str = "auto"
    gate: QuotaCheck | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Checked here, so no RunOptions exists with a bad value (replace() builds anew).
        for name in (*_FLAGS, "verify"):
            value = getattr(self, name)
            words = VERIFY_WORDS if name == "verify" else ()  # verify also takes words
            if not isinstance(value, bool) and value not in words:
                also = f"; or one of {', '.join(map(repr, words))}" if words else ""
                raise TypeError(
                    f"{name} must be True or False, not {short_repr(value, 60)} "
                    f"({type(value).__name__}){also}"
                )
        check_timeout(self.timeout)
        check_progress(self.progress)

    @classmethod
    def of(cls, **options: Any) -> RunOptions:
        """The bundle of ``options`` (the rest take their defaults), checked: an
        unknown name is a TypeError that lists the known ones.

        Args:
            options: Run options by name: ``dry_run``, ``wait``, ``progress``,
                ``timeout``, ``wait_for_quota``, ``verify``.

        Example:
            >>> RunOptions.of(wiat=False)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            TypeError: unexpected run option wiat; the options are dry_run, wait, ...
        """
        if unknown := sorted(set(options) - set(_NAMES)):
            raise TypeError(
                f"unexpected run option{'s' * (len(unknown) != 1)} {', '.join(unknown)}; "
                f"the options are {', '.join(_NAMES)}"
            )
        return cls(**options)

    @classmethod
    def pick(cls, arguments: Mapping[str, Any]) -> RunOptions:
        """The bundle of the run options among ``arguments``, checked like :meth:`of`.

        A public call spells each option as a keyword for its users; it passes its
        ``locals()`` here first thing, so the options are not retyped a second time.

        Args:
            arguments: Names and values, e.g. a function's ``locals()``; names that are
                not run options are left out.

        Example:
            >>> def call(data, *, wait=True, timeout=None):
            ...     return RunOptions.pick(locals())
            >>> call("df", timeout=5)
            RunOptions(dry_run=False, wait=True, progress='auto', timeout=5, \
wait_for_quota=False, verify='auto')
        """
        return cls(**{k: v for k, v in arguments.items() if k in _NAMES})

    def replace(self, **changes: Any) -> RunOptions:
        """A copy with ``changes``, checked like :meth:`of`.

        Args:
            changes: Run options by name, as for :meth:`of`.

        Example:
            >>> RunOptions.of().replace(wait=False).wait
            False
        """
        return dataclasses.replace(self, **changes)

    def started(self, client: Any, *, quota: bool | None = None) -> RunOptions:
        """The bundle a run carries from its first read on, ``client`` its client (None:
        the default one, built once the data are checked): one reporter for the whole
        call (the membership read and the changes show in one display), and the quota
        check (``gate``) of a run that sends (``quota``: None, unless a dry run).

        Example:
            >>> RunOptions.of(dry_run=True, progress=False).started(None).gate is None
            True
        """
        reporter = make_reporter(self.progress)
        sends = not self.dry_run if quota is None else quota
        if sends:
            runner = Runner(client, reporter=reporter, wait_for_quota=self.wait_for_quota)
            return self.replace(progress=reporter, gate=QuotaCheck(runner))
        return self.replace(progress=reporter)


def check_client(client: Any, name: str = "client") -> None:
    """TypeError unless ``client`` is None (the default client) or a
    :class:`ccpandas.Client`; checked before anything is sent. Only a number is quoted
    back: a string given as a client is most likely a token, and a tuple or a dict may
    hold one.

    Example:
        >>> check_client("my-token")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        TypeError: client must be a ccpandas.Client (or None ...), not a str (8 characters...
    """
    from ccpandas.client.http import Client

    if client is not None and not isinstance(client, Client):
        kind = type(client).__name__
        given = (
            f"a {kind} ({len(client)} characters, not shown: a token? connect with "
            "ccpandas.connect() or ccpandas.login() for a client)"
            if isinstance(client, str | bytes)
            else f"{short_repr(client, 60)} ({kind})"
            if isinstance(client, int | float)
            else f"{'an' if kind[:1].lower() in 'aeio' else 'a'} {kind} (not shown: it may "
            "hold a token)"
        )
        raise TypeError(
            f"{name} must be a ccpandas.Client (or None for the default client), not {given}"
        )


def pick_client(client: Any) -> Client:
    """``client`` checked by :func:`check_client`, or the default client for None
    (:func:`ccpandas.get_default_client`): the public calls' one way to pick theirs.

    Example:
        >>> from ccpandas import Client
        >>> pick_client(api := Client(token="t", base_url="http://127.0.0.1:9/v3")) is api
        True
    """
    from ccpandas.auth.connect import get_default_client

    check_client(client)
    return client if client is not None else get_default_client()


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
