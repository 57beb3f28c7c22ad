"""What reading the target lists costs, exactly, and the choice it decides.

A membership read (:func:`ccpandas.read.snapshot.read_snapshot`) fetches the *union*
of the members of each pass of 25 lists, ``ceil(union / 500)`` pages. The list sizes
bound that union: at most their sum, at least the largest list. When the bounds leave
a choice open, one ``GET /contacts?lists=<25 ids>&status=all&include_count=true&limit=1``
per pass (a *union probe*, counted in the plan's reads) says the union exactly.

:func:`choose_read` then chooses, on those costs, between a blind send (contact ids
sent to every list, no read), a snapshot (the lists read) and email lookups (one
``GET /contacts?email=`` per address, only when that is cheaper than the read). It
never probes when the bounds already decide, so small runs pay nothing extra.

Before the first list read, a :class:`QuotaGate` (given by a run) is told the whole
run's requests: it refuses, or waits for the reset, when they do not fit in what is
left of today's quota.

Example:
    >>> cost = ReadCost(most=1_200, least=60, unions=(10_000, 10_000, 10_000))
    >>> cost.reads, cost.probes
    (60, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ccpandas.models import MAX_CONTACTS_PER_REQUEST, MAX_LISTS_PER_REQUEST
from ccpandas.plan.membership import (
    READ_LISTS_PER_PASS,
    plan_requests,
    snapshot_reads,
    union_reads,
    verify_budget,
)
from ccpandas.plan.planner import DEFAULT_RATE, plural
from ccpandas.plan.polls import expected_polls

__all__ = [
    "AUTO_FREE_READS",
    "BLIND",
    "LOOKUPS",
    "SNAPSHOT",
    "QuotaGate",
    "ReadCost",
    "auto_takes",
    "choose_read",
    "pace_of",
    "passes",
    "probe_unions",
]


def pace_of(client: Any) -> float:
    """The requests per second a plan made with ``client`` is priced at (its time, polls
    and quota share): the client's rate (the default client's for None), the API's
    limit (4) for a client without a finite one.

    Example:
        >>> pace_of(type("C", (), {"rate": 1.0})()), pace_of(type("C", (), {"rate": None})())
        (1.0, 4.0)
    """
    if client is None:
        from ccpandas.client.http import default_client  # HTTP stays out of import ccpandas

        client = default_client()
    rate = getattr(client, "rate", None)
    return float(rate) if rate and math.isfinite(rate) else DEFAULT_RATE


#: The three ways a frame's plan can learn (or not learn) who is on the lists.
BLIND, SNAPSHOT, LOOKUPS = "blind", "snapshot", "email lookups"

#: ``snapshot="auto"`` always reads when the read costs at most this many requests
#: (one second at 4/s): knowing the truth is worth that much.
AUTO_FREE_READS = 4


def auto_takes(key: str, reads: int, removal_requests: int) -> bool:
    """The ``snapshot="auto"`` rule: always for email input (it cannot work without);
    otherwise when the reads cost at most the removal requests the plan would send
    without a snapshot (or at most :data:`AUTO_FREE_READS`). The snapshot can only
    lower the removal requests, so at that break-even the whole run costs at most
    twice today's requests, plus the verification, and says exactly what changed.

    Example:
        >>> auto_takes("contact_id", 500, 200), auto_takes("contact_id", 3, 1)
        (False, True)
    """
    if key == "email":
        return True
    return reads <= max(AUTO_FREE_READS, removal_requests)


class QuotaGate(Protocol):
    """What a run tells planning about today's quota (``ccpandas.api`` makes one from
    the client's shared ledger): how many requests are left, and what to do when a
    run needs more (refuse with :class:`~ccpandas.errors.QuotaShortError`, or wait
    for the reset with ``wait_for_quota=True``)."""

    def left(self) -> int:
        """Requests left today on the key (the ledger's figure)."""
        ...

    def check(self, needed: int, detail: str) -> None:
        """Return when ``needed`` requests fit in what is left; otherwise refuse or wait."""
        ...


@dataclass(frozen=True)
class ReadCost:
    """The read requests of a membership read: bounds from the list sizes, and the
    exact figure once the unions were probed.

    Args:
        most: The upper bound, ``ceil(sum of sizes / 500)`` per pass.
        least: The lower bound, ``ceil(largest list / 500)`` per pass.
        unions: The members of each pass, counted by :func:`probe_unions`; None (the
            default) when not probed.

    Example:
        >>> ReadCost(most=1_200, least=60).reads
        1200
    """

    most: int
    least: int
    unions: tuple[int, ...] | None = None

    @classmethod
    def of(cls, sizes: Sequence[int]) -> ReadCost:
        """The bounds for lists of these sizes (no request)."""
        return cls(snapshot_reads(sizes), snapshot_reads(sizes, least=True))

    @property
    def probes(self) -> int:
        """The probe requests spent (one per pass), 0 when not probed."""
        return len(self.unions) if self.unions is not None else 0

    @property
    def exact(self) -> bool:
        """Whether :attr:`reads` is exact: probed, or bounds that meet (one list a pass)."""
        return self.unions is not None or self.least == self.most

    @property
    def reads(self) -> int:
        """The read requests: exact when :attr:`exact`, else the upper bound."""
        return union_reads(self.unions) if self.unions is not None else self.most

    def members(self, sizes: Sequence[int]) -> int:
        """At most how many contacts the read returns (the unions, or the sizes' sum)."""
        return sum(self.unions) if self.unions is not None else sum(sizes)

    def text(self) -> str:
        """The figures, for the plan's note."""
        if self.unions is None:
            if self.exact:
                return f"reading the lists costs {plural(self.reads, 'request')}"
            return (
                f"reading the lists costs {self.least:,} to {self.most:,} requests "
                "(the union of the members is not known: not probed, it could not "
                "change the choice)"
            )
        counts = ", ".join(f"{u:,}" for u in self.unions)
        return (
            f"{plural(self.probes, 'union probe')} (GET /contacts?include_count=true, "
            f"one per {READ_LISTS_PER_PASS} lists) counted {counts} members: reading the "
            f"lists costs {plural(self.reads, 'request')} (the list sizes said "
            f"{self.least:,} to {self.most:,})"
        )


def passes(items: Sequence[Any]) -> list[Sequence[Any]]:
    """``items`` (list ids, or their sizes) in the passes of 25 lists a read makes.

    Example:
        >>> [len(p) for p in passes(range(60))]
        [25, 25, 10]
    """
    step = READ_LISTS_PER_PASS
    return [items[i : i + step] for i in range(0, len(items), step)]


def probe_unions(client: Any, list_ids: Sequence[str], sizes: Sequence[int]) -> tuple[int, ...]:
    """The members (every status) of each pass of 25 lists, one counted
    ``GET /contacts?lists=...&status=all&include_count=true&limit=1`` per pass. A reply
    without ``contacts_count`` counts the pass as the sum of its list sizes (the upper
    bound, so a cost is never under-stated).

    Example:
        >>> probe_unions(client, [newsletter_id, vip_id], [1_331, 40])  # doctest: +SKIP
        (1349,)
    """
    out = []
    for lists, bound in zip(passes(list_ids), map(sum, passes(sizes)), strict=True):
        params = {"lists": ",".join(lists), "status": "all", "include_count": "true", "limit": 1}
        body = client.request("GET", "/contacts", params=params)
        count = body.get("contacts_count") if isinstance(body, dict) else None
        out.append(int(count) if isinstance(count, int) else bound)
    return tuple(out)


@dataclass(frozen=True)
class _Rule:
    """What decides a frame's read: the key, the run kind, what the user forced, and
    the counts the costs are weighed with."""

    key: str
    kind: str
    forced: bool  # snapshot=True, a sync, or a read to continue: contact ids are read
    n_contacts: int  # unique valid ids, or unique addresses
    blind_sends: int | None  # the sends without a snapshot; None when not allowed
    n_lists: int
    rate: float

    def decide(self, reads: int) -> str:
        if self.key == "email":  # a sync must know every member: it reads
            cheaper = not self.forced and self.kind != "sync" and self.n_contacts < reads
            return LOOKUPS if cheaper else SNAPSHOT
        if self.blind_sends is None or self.forced:
            return SNAPSHOT
        return SNAPSHOT if auto_takes(self.key, reads, self.blind_sends) else BLIND

    def estimate(self, how: str, reads: int, members: int) -> int:
        """Every request of the run after the listing: reads (or lookups), sends,
        polls and the verification ``verify="auto"`` spends at most (a full re-read
        or lookups, within :func:`~ccpandas.plan.membership.verify_budget`; upper
        bounds where the read will tell)."""
        n = self.n_contacts
        if how == BLIND:
            sends = self.blind_sends or 0
            return sends + self.polls(sends, n)
        if how == LOOKUPS:
            reads = n  # one per address, and at most as many contacts to verify
        reached = {"add": n, "sync": n + members}.get(str(self.kind), min(n, members))
        sends = plan_requests(reached, self.n_lists) if reached else 0
        if self.key == "source":  # the API picks the contacts: the plan's own requests
            sends, reached = self.blind_sends or 0, 0
        # The most the verification may spend: a re-read of the lists costs about what
        # their read did, but after lookups (no list read) it may be a read of the changed
        # contacts, counted at its budget by the check before the first change.
        most = verify_budget(sends)
        verify = most if how == LOOKUPS and sends else min(reads, most)
        return reads + verify + sends + self.polls(sends, reached)

    def polls(self, sends: int, contacts: int) -> int:
        """The polls that follow ``sends`` requests carrying ``contacts`` contacts to
        every group of 50 lists (0: the API picks them, full requests assumed)."""
        if not sends:
            return 0
        groups = math.ceil(self.n_lists / MAX_LISTS_PER_REQUEST)
        per = math.ceil(contacts * groups / sends) if contacts else MAX_CONTACTS_PER_REQUEST
        return expected_polls(sends, self.rate, min(per, MAX_CONTACTS_PER_REQUEST))


def choose_read(
    client: Any,
    list_ids: Sequence[str],
    sizes: Sequence[int],
    *,
    key: str,
    kind: str = "remove",
    forced: bool = False,
    n_contacts: int,
    blind_sends: int | None,
    rate: float = 4.0,
    gate: QuotaGate | None = None,
) -> tuple[str, ReadCost, str]:
    """How a frame's plan learns who is on the lists (:data:`BLIND`, :data:`SNAPSHOT`
    or :data:`LOOKUPS`), the read's cost, and a note with the figures behind the choice.

    Email input takes lookups only when there are fewer addresses than read requests
    (``forced``, a read to continue, and a sync always read); contact ids follow
    :func:`auto_takes` unless ``forced`` or ``blind_sends`` is None (a sync). The
    unions are probed only when the bounds of :class:`ReadCost` leave the choice, or
    the ``gate``'s verdict, open. The ``gate`` is asked before the probes (with the
    cheapest figure: a run that cannot fit is refused without them) and after.

    Example:
        >>> choose_read(client, ids, [10_000] * 60, key="email", n_contacts=1_000,
        ...             blind_sends=None)[0]  # doctest: +SKIP
        'snapshot'
    """
    rule = _Rule(key, str(kind), forced, n_contacts, blind_sends, len(list_ids), rate)
    cost = ReadCost.of(sizes)
    low, high = rule.decide(cost.least), rule.decide(cost.most)
    least = rule.estimate(low, cost.least, max(sizes, default=0))
    most = rule.estimate(high, cost.most, sum(sizes))
    if gate is not None:  # the cheaper end first: refused so, the run needs no probe
        cheap = min((least, low), (most, high))
        gate.check(cheap[0], _needs(cheap[1], cheap[0], cost, rule, probed=False))
    # Probe only when the count can change something: the choice (the bounds choose
    # differently) or the quota's verdict (the worst case does not fit). A forced read,
    # one list a pass, or bounds on one side of the break-even cost no probe.
    if not cost.exact and (low != high or (gate is not None and max(least, most) > gate.left())):
        cost = ReadCost(cost.most, cost.least, probe_unions(client, list_ids, sizes))
    how = rule.decide(cost.reads)
    needed = rule.estimate(how, cost.reads, cost.members(sizes))
    if gate is not None:
        gate.check(needed, _needs(how, needed, cost, rule, probed=True))
    return how, cost, _choice_note(how, cost, rule)


def _needs(how: str, needed: int, cost: ReadCost, rule: _Rule, *, probed: bool) -> str:
    """What a refusal says the run needs, and why."""
    what = {BLIND: "sends and polls", LOOKUPS: "email lookups, sends, polls and their check"}
    parts = what.get(how, "the list reads, sends, polls and the check after")
    bound = "" if probed or cost.exact else " at the least (the lists' sizes bound the read)"
    return f"about {needed:,} requests{bound}: {parts}"


def _choice_note(how: str, cost: ReadCost, rule: _Rule) -> str:
    """The figures behind a choice, for the plan's notes."""
    figures = [cost.text()]
    if rule.blind_sends is not None and rule.key != "email":
        figures.append(f"{plural(rule.blind_sends, 'request')} to send without a snapshot")
    if rule.key == "email" and not rule.forced and rule.kind != "sync":
        figures.append(f"{plural(rule.n_contacts, 'email lookup')} (one per address)")
    chose = {
        BLIND: "sending without a snapshot (the read costs more than the sends)",
        LOOKUPS: "email lookups (fewer than the read's requests)",
    }.get(how, "reading the lists")
    return f"read choice: {'; '.join(figures)}; chose {chose}"
