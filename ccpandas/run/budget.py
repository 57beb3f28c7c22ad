"""Whether a run fits in what is left of today's quota, decided before it spends any.

A run tells :class:`QuotaCheck` every request it needs (the list reads or lookups,
the sends, the polls and the verification) before its first list read, and again
before its first change. The key's shared ledger (:mod:`ccpandas.client.quota`) says
what is used today. When the run needs more than is left:

- ``wait_for_quota=False`` (the default) refuses it with
  :class:`~ccpandas.errors.QuotaShortError`, naming the figures: nothing is spent on
  a run that would stop half way;
- ``wait_for_quota=True`` waits for the reset (00:00 UTC) first, once, so the run
  starts on a fresh day; a run bigger than a whole day then goes, and the runner
  waits at each reset.

Without a ledger (a client that keeps none) nothing is known to be used: the check
lets the run go, and the API's own ``429 quota_exceeded`` stays the authority.

Example:
    >>> check = QuotaCheck(Runner(None))
    >>> check.left()  # no client, no ledger: the whole day
    10000
    >>> check.check(412, "about 412 requests")  # fits: returns
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ccpandas.errors import UNDOING, QuotaShortError, next_utc_midnight
from ccpandas.models import DAILY_QUOTA
from ccpandas.plan.membership import verify_budget
from ccpandas.run.runner import Runner
from ccpandas.vocab import VerifyMethod

__all__ = ["QuotaCheck", "day_usage"]

log = logging.getLogger("ccpandas")


@dataclass
class QuotaCheck:
    """A run's quota check (:class:`ccpandas.read.costs.QuotaGate`), on its runner's
    client (the ledger), clock and ``wait_for_quota``.

    Args:
        runner: The run's runner: its client's ledger (the default client's when it has
            none) says what is used today; its clock and reporter wait for the reset.
        limit: The daily quota. Default 10,000.
    """

    runner: Runner
    limit: int = DAILY_QUOTA
    #: Whether this run already waited for a reset (it waits once).
    waited: bool = False

    def _used(self) -> int | None:
        usage = day_usage(self.runner.client)
        return None if usage is None else int(usage.used)

    def left(self) -> int:
        """Requests left today on the key (the whole day when no ledger is kept)."""
        used = self._used()
        return self.limit if used is None else max(0, self.limit - used)

    def check(self, needed: int, detail: str, before: str = "its first list read") -> None:
        """Return when ``needed`` requests fit in what is left today; otherwise refuse
        (:class:`~ccpandas.errors.QuotaShortError`) or, with ``wait_for_quota``, wait
        for the reset. ``detail`` says what the requests are, ``before`` what comes
        next, for the message."""
        if before == UNDOING and needed > self.limit:  # undo() takes no wait_for_quota
            # No day holds it: it goes, stops when today's quota is spent; a resume goes on.
            self._whole_day(
                "undo", detail, "it stops when today's is spent; resume it after the reset"
            )
            return
        used = self._used()
        if used is None or self.waited or needed <= self.limit - used:
            return
        reset = next_utc_midnight(self.runner.clock.now())
        short = QuotaShortError(
            needed, used=used, limit=self.limit, detail=detail, reset_at=reset, before=before
        )
        if not self.runner.wait_for_quota:
            raise short
        self.waited = True
        if used == 0:  # a fresh day cannot hold it: go now, waiting at each reset
            self._whole_day("run", detail, "it will wait for each reset (wait_for_quota=True)")
            return
        log.warning("%s; waiting for the reset (wait_for_quota=True)", short)
        if not self.runner.wait_for_reset():
            raise short  # stopped while waiting, before anything of the run was spent

    def _whole_day(self, what: str, detail: str, then: str) -> None:
        """Warn that the ``what`` ("run", "undo") needs more than a whole day's quota;
        the warning names the user's call (an undo's check is two calls deeper)."""
        text = f"this {what} needs {detail}, more than a whole day's quota of {self.limit:,}"
        warnings.warn(f"{text}: {then}", stacklevel=7 if what == "undo" else 5)

    def check_run(self, plan: Any, reads: int = 0, before: str | None = None) -> None:
        """:meth:`check` before the first change of ``plan`` (a
        :class:`~ccpandas.plan.planner.RemovalPlan`; of a resumed run, its batches still
        to send): its changes, polls and verification, and ``reads``, a read of the
        lists first (a plan whose contacts the API selects, read again). ``before``: what
        comes next, for the message (a resume: ``SENDING_THE_REST``); None: that read,
        else the first change."""
        # The snapshot's reads are spent already (the ledger counts them). A read of the
        # contacts changed since the run started spends "about" the plan's figure, "at
        # most" its budget (others' changes are read too): the check counts the most.
        # A kind's part (an undo's) says its own verification read.
        verify, most = plan.read_requests if plan.part else plan.verify_requests, ""
        m = plan.membership
        if verify and m is not None and m.verify_method == VerifyMethod.CHANGED:
            verify, most = max(verify, verify_budget(plan.n_requests)), "at most "
        needed = plan.n_requests + plan.expected_polls + verify + reads
        first = f"{reads:,} reads of the lists to check them, " if reads else ""
        detail = (
            f"about {needed:,} requests ({first}{plan.n_requests:,} changes, "
            f"~{plan.expected_polls:,} polls and {most}{verify:,} reads to verify)"
        )
        before = before or ("its first list read" if reads else "its first change")
        self.check(needed, detail, before=before)


def requests_sent(client: Any) -> int | None:
    """Requests ``client`` has sent so far, every attempt (a retry, a throttled one)
    included, as the API counts them; None for a client that counts nothing.
    ``client`` None: the default client's, once one exists (asking never logs in).

    Example:
        >>> requests_sent(object()) is None
        True
    """
    stats = _stats_of(client)
    return None if stats is None else int(stats.requests)


_T = TypeVar("_T")


def sent_by(client: Any, call: Callable[[], _T]) -> tuple[_T, int | None]:
    """``call()``, and the requests ``client`` sent meanwhile, every attempt (retries
    included) as the API counts them; None for a client that counts nothing. A client
    another thread uses meanwhile counts that thread's requests too.

    Example:
        >>> sent_by(object(), lambda: "read")
        ('read', None)
    """
    before = requests_sent(client) or 0  # (``call`` may make the default client)
    value = call()
    after = requests_sent(client)
    return value, None if after is None else after - before


def count_planning(client: Any, make: Callable[[], _T], listed: int = 0) -> _T:
    """The plan ``make()`` returns, its ``spent_reads`` every request its planning sent
    through ``client`` (:func:`sent_by`: what a run of it has spent), with ``listed``
    sent for it before (the listing of a :class:`~ccpandas.read.lists.Targets` it was
    given). A plan of a client that counts nothing, or a part, as it is.

    Example:
        >>> count_planning(object(), lambda: None) is None
        True
    """
    plan: Any
    plan, sent = sent_by(client, make)
    if sent is None or plan.part is not None:
        return plan
    spent = max(sent + listed, plan.read_requests)
    return dataclasses.replace(plan, spent_reads=spent)


def day_usage(client: Any) -> Any:
    """Today's figures of the shared quota ledger of ``client``'s key (``used``,
    ``processes``), or None when the client keeps no ledger. ``client`` None: the
    default client's, once one exists (asking never logs in).

    Example:
        >>> day_usage(object()) is None
        True
    """
    counter = getattr(_stats_of(client), "day_counter", None)
    return None if counter is None else counter.usage()


def _stats_of(client: Any) -> Any:
    """The counts of ``client`` (None: the default client's, once one exists; asking
    never logs in), or None when it keeps none."""
    if client is None:
        http = sys.modules.get("ccpandas.client.http")  # loaded: a default client may exist
        client = http.default_client() if http is not None else None
    return getattr(client, "stats", None)
