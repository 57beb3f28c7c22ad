"""Read membership snapshots over HTTP: who is on the target lists, before and after.

A snapshot is ``GET /contacts?lists=<up to 25 ids>&include=list_memberships,taggings
&status=all&include_count=true&limit=500``, paged by ``_links.next.href``: one pass
covers 25 lists, and reads ``ceil(union of their members / 500)`` pages. A pass whose
``contacts_count`` changes between two pages, or since the journaled pages of a read
continued later, is read again (at most twice): the API's next link counts the records
shown, so a member leaving mid-read would make a page skip one that stays. A pass still
changing after that is warned about; a read that keeps given contacts (the verification)
looks up each of them its pages did not show. A leave and a join between the same two
pages keep the count: nothing catches that. The reads go through the
:class:`~ccpandas.Client`, so they share its rate limiter, retries and daily count.
Long reads report progress (phase ``reading``) to the run's reporter.

Journaled: each page is committed with the cursor of the next one, so a read that was
interrupted (Ctrl-C, a dead kernel, a spent quota) continues where it stopped instead of
reading again what it already knows. The journal keeps contact ids, statuses, list ids
and tag ids, never the email addresses (personal data). So a read continued from the
journal knows no address for the pages read before; email input, which needs every
address, reads those pages again (``need_emails=True``); verification never needs them.

For a tiny segment of addresses against huge lists, :func:`lookup_emails` asks
``GET /contacts?email=<address>`` once per address instead;
:func:`ccpandas.read.costs.choose_read` picks whichever costs fewer requests, on the
exact read cost (union probes) when the list sizes leave it open.

Example:
    >>> snap = read_snapshot(client, ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"])  # doctest: +SKIP
    >>> snap.sizes()  # doctest: +SKIP
    {'2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f': 1331}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ccpandas.client.http import next_href
from ccpandas.errors import APIError, CCError, PlanError, SnapshotInterrupted
from ccpandas.models import SourceKind
from ccpandas.plan import planner
from ccpandas.plan.changes import REMOVE
from ccpandas.plan.compact import PageCounts, Selection, SnapshotBuilder
from ccpandas.plan.ids import check_ids
from ccpandas.plan.keys import email_keys
from ccpandas.plan.membership import (
    READ_PAGE_SIZE,
    UNREAD,
    VERIFY_SAMPLE_SIZE,
    MembershipSnapshot,
    changed_contacts,
    detect_key,
    plan_membership_removal,
    preview_source,
    verify_budget,
    with_verification,
)
from ccpandas.plan.planner import plural
from ccpandas.read.costs import BLIND, LOOKUPS, QuotaGate, ReadCost, choose_read, pace_of, passes
from ccpandas.read.lists import ListInfo, check_targets, read_lists
from ccpandas.report.progress import NullReporter, Reporter, Snapshot, make_reporter
from ccpandas.store.journal import JournalDB, open_journal
from ccpandas.store.snapshots import (
    SnapshotJournal,
    after_target,
    journal_builder,
    load_snapshot,
    new_passes,
    run_snapshot_ids,
)
from ccpandas.vocab import VerifyMethod

__all__ = [
    "SnapshotChoice",
    "contact_status",
    "lookup_emails",
    "lookup_sample",
    "read_changed",
    "read_snapshot",
    "target_info",
]

_INCLUDE = "list_memberships,taggings"
#: Times a pass of a membership read starts again when its lists change under it.
_REREADS = 2
#: Times in a row a pass starts again when the API refuses its next link (an expired
#: cursor) with no page read past the last refusal: one refused every time would
#: otherwise be read again until the day's quota is spent. A long read whose cursors
#: expire now and then gets further each time, and is never stopped.
_RESTARTS = 2
#: The journaled cursor of a pass read to its end whose lists kept changing: the
#: contacts its pages did not show are still to be looked up (a read continued later does).
_SETTLE = "settle"
#: The fewest contacts such a read may look up (about a minute); more when it read more
#: pages: a removal leaves most of a run's contacts off its lists, each one unseen.
SETTLE_LOOKUPS = 200

log = logging.getLogger(__name__)


def target_info(
    client: Any, targets: Sequence[str], lists: Mapping[str, ListInfo] | None = None
) -> dict[str, ListInfo]:
    """The target lists' names and sizes, from ``lists`` when the plan already read
    them (:class:`~ccpandas.read.lists.Targets`), else from one listing; a
    :class:`~ccpandas.errors.PlanError` naming any target that is not an active list
    of the account, before anything is sent.

    Example:
        >>> target_info(client, [newsletter_id])[newsletter_id].name  # doctest: +SKIP
        'Newsletter'
    """
    lists = read_lists(client) if lists is None else lists
    check_targets(targets, lists)
    return {t: lists[t] for t in targets}


# -- the journal of a read ---------------------------------------------------------------------
# permission_to_send values that are also a status of the GET /contacts status= filter.
_PERMISSION_STATUSES = frozenset({"unsubscribed", "pending_confirmation", "temp_hold", "not_set"})


def contact_status(item: Mapping[str, Any]) -> str:
    """A ``GET /contacts`` record's status, in the vocabulary of that endpoint's
    ``status=`` filter. The API has no status field on a contact: a deleted contact
    has ``deleted_at``; otherwise ``email_address.permission_to_send`` says
    ``unsubscribed``, ``pending_confirmation``, ``temp_hold`` or ``not_set``, and
    anything else (``explicit``, ``implicit``) is ``active``. The one place this is
    decided (snapshots and ``read_contacts`` both use it).

    Example:
        >>> contact_status({"email_address": {"permission_to_send": "implicit"}})
        'active'
        >>> contact_status({"deleted_at": "2025-01-01", "email_address": {}})
        'deleted'
    """
    if item.get("deleted_at"):
        return "deleted"
    permission = (item.get("email_address") or {}).get("permission_to_send")
    return permission if permission in _PERMISSION_STATUSES else "active"


def _record(item: Mapping[str, Any]) -> dict[str, Any]:
    """A contact of ``GET /contacts`` as a snapshot record.

    Its status is :func:`contact_status` (a separate ``status=active`` read makes it
    exact, see :func:`read_snapshot`).
    """
    return {
        "contact_id": str(item["contact_id"]).lower(),
        "email": (item.get("email_address") or {}).get("address"),
        "status": contact_status(item),
        "lists": _lower_ids(item.get("list_memberships"), "list_id"),
        "tags": _lower_ids(item.get("taggings"), "tag_id"),
    }


def _lower_ids(values: Any, key: str) -> list[str]:
    """The ids of an ``include=`` array, lower-case: ids, or objects with ``key``."""
    return [str(v.get(key) if isinstance(v, Mapping) else v).lower() for v in values or ()]


def read_snapshot(
    client: Any,
    list_ids: Sequence[str],
    *,
    reporter: Reporter | None = None,
    journal: JournalDB | bool | None = True,
    snapshot_id: str | None = None,
    phase: str = "before",
    run_id: str | None = None,
    need_emails: bool = True,
    names: Mapping[str, str] | None = None,
    exact_status: bool = False,
    expected_members: int | None = None,
    interrupt_as_error: bool = True,
    select: Selection | None = None,
) -> tuple[MembershipSnapshot, str | None]:
    """Read the members of ``list_ids`` (every status), 25 lists per pass.

    Returns the snapshot and its journal id (None with ``journal=False``).
    ``select``: the members the run's input selects; the snapshot (and the journal's
    pages) keep only those and count the others (``snap.others``), so a snapshot
    continued or loaded from the journal is the very one read. Continuing a read
    made for another input is a :class:`~ccpandas.errors.PlanError`.
    ``snapshot_id`` continues a journaled read (pages already read are not read again
    unless ``need_emails`` and their addresses are unknown). ``exact_status`` adds a
    ``status=active`` pass so ``all_active_contacts`` previews are exact.
    A Ctrl-C mid-read raises :class:`SnapshotInterrupted` naming the id that continues
    it (``interrupt_as_error=False``: the KeyboardInterrupt itself, for a run's
    verification, which ``resume`` continues); an error gets a note naming it.

    Example:
        >>> snap, sid = read_snapshot(client, [newsletter_id])  # doctest: +SKIP
    """
    reporter = reporter or NullReporter()
    db = _journal_db(journal)
    sj = _snapshot_journal(
        db, snapshot_id, list_ids, client, phase=phase, run_id=run_id, select=select
    )
    if sj is not None and sj.selection is None:
        # Its pages kept every member (each with all its lists): counting the others
        # from here on would count a contact of two passes of 25 lists twice.
        select = None
    passes = sj.passes if sj is not None else new_passes(list_ids)
    total_pages = math.ceil(expected_members / READ_PAGE_SIZE) if expected_members else None
    # Journaled pages are not read again.
    reading = _Reading(client, sj, reporter, total_pages, sum(int(p["pages"]) for p in passes))
    reading.select, reading.passes = select, passes
    reporter.start(reading.progress())
    try:
        for i, p in enumerate(passes):
            reading.read_pass(i, p, need_emails=need_emails)
        reading.settle()
        if exact_status:
            reading.mark_active(list_ids)
    except KeyboardInterrupt:
        if not interrupt_as_error:
            raise
        sid = sj.snapshot_id if sj is not None else None
        raise SnapshotInterrupted(
            f"the membership read was interrupted after {reading.pages_read:,} pages; "
            + (f"pass snapshot={sid!r} to continue it" if sid else "start it again"),
            sid,
        ) from None
    except CCError as exc:
        if sj is not None:
            exc.add_note(
                f"ccpandas: the membership read stopped after {reading.pages_read:,} pages; "
                f"pass snapshot={sj.snapshot_id!r} to continue it"
            )
        raise
    finally:
        reporter.finish(reading.progress(done=True))
    if reading.unsettled:
        warnings.warn(_unsettled_text(reading, names or {}), stacklevel=2)
    if sj is not None:
        sj.complete()
    snap = MembershipSnapshot.from_records(
        list_ids, reading.records, list_names=dict(names or {}), requests=reading.requests
    )
    return snap, (sj.snapshot_id if sj is not None else None)


def _unsettled_text(reading: _Reading, names: Mapping[str, str]) -> str:
    """The warning of a read whose lists kept changing: which, what it means, what to do."""
    shown = [repr(names.get(x, x)) for x in reading.unsettled]
    more = f" and {len(shown) - 3:,} more" if len(shown) > 3 else ""
    text = (
        f"ccpandas: the lists {', '.join(shown[:3])}{more} kept changing while they were "
        f"read (the count of their members, read together, moved in each of "
        f"{_REREADS + 1} reads), and the API pages by position: this read may have "
        "skipped members who stayed on them. "
    )
    sel, n, unread = reading.select, reading.looked_up, reading.unread
    if sel is None or sel.by == "email":
        return text + (
            "A preview or a sync would miss them. Read again (snapshot=True) when the "
            "lists are quiet"
        )
    if not n + unread:
        return text + "Every contact of this read was on its pages"
    text += (
        f"The {n + unread:,} contacts of this read they did not show: {n:,} looked up "
        f"one by one ({plural(n, 'request')}, {reading.found:,} found on them)"
    )
    if not unread:
        return text
    then = (
        "their pairs stay unverified. Verify again (result.verify())"
        if sel.by == "run"
        else "the plan takes them for non-members. Read again (snapshot=True)"
    )
    return text + (
        f"; {unread:,} not (over its {SETTLE_LOOKUPS} lookups or its pages): {then} "
        "when the lists are quiet"
    )


def _snapshot_journal(
    db: JournalDB | None,
    snapshot_id: str | None,
    list_ids: Sequence[str],
    client: Any,
    *,
    phase: str,
    run_id: str | None,
    select: Selection | None = None,
) -> SnapshotJournal | None:
    """The read's journal: the one ``snapshot_id`` continues, a new one, or None."""
    if db is None:
        return None
    if snapshot_id is None:
        base_url = getattr(client, "base_url", None)
        return SnapshotJournal.create(
            db, list_ids, base_url=base_url, phase=phase, run_id=run_id, selection=select
        )
    sj = SnapshotJournal.open(db, snapshot_id)
    if [x.lower() for x in sj.list_ids] != [x.lower() for x in list_ids]:
        raise PlanError(
            f"snapshot {snapshot_id} read the lists {sj.list_ids}, not {list(list_ids)}"
        )
    _check_selection(sj, select)
    kept = sj.selection
    if select is not None and kept is not None and kept != select.record():
        sj.set_selection(select)  # an email column's read, read again for it
    return sj


def _check_selection(sj: SnapshotJournal, select: Selection | None) -> None:
    """Refuse to continue a read whose pages kept the members of another input (what
    this one needs may not be in them); a read that kept every member continues
    keeping every member. A read for addresses is read again whole (the journal
    keeps no address, nor anything that tells which were the input), so any email
    column continues it, unless a run was planned from it: its pages are that run's."""
    kept = sj.selection
    by = None if kept is None else kept["by"]
    if kept is None or (by != "email" and select is not None and select.record() == kept):
        return
    run_id = sj.record["run_id"]
    if by == "email" and run_id is not None:
        raise PlanError(
            f"snapshot {sj.snapshot_id} was read for run {run_id}: its pages are that "
            "run's. Pass snapshot=True to read the lists again"
        )
    if by == "email" and select is not None and select.by == "email":
        return
    what = {
        "contact_id": "contact ids",
        "email": "email addresses",
        "run": "the contacts of a run",
    }.get(kept["by"], kept["by"])
    raise PlanError(
        f"snapshot {sj.snapshot_id} was read for other input ({kept['keys']:,} {what}): "
        "its pages keep only the members that input selects, so it cannot plan this one. "
        "Continue it with the same column it was started with, or pass snapshot=True to "
        "read the lists again"
    )


@dataclass
class _Reading:
    """One membership read under way: what it has read, what it spent, who watches."""

    client: Any
    sj: SnapshotJournal | None
    reporter: Reporter
    total_pages: int | None
    pages_read: int = 0
    requests: int = 0
    #: What the read found so far, compact (codes, not a dict per contact).
    records: SnapshotBuilder = field(default_factory=SnapshotBuilder)
    #: The members kept (the others are counted), None: every one.
    select: Selection | None = None
    #: The passes of 25 lists (``lists`` each).
    passes: list[dict[str, Any]] = field(default_factory=list)
    #: Address -> the first member kept with it (see :meth:`Selection.positions`).
    addresses: dict[str, str] = field(default_factory=dict)
    #: The lists whose pages were still changing after their re-reads.
    unsettled: list[str] = field(default_factory=list)
    #: Pass -> its contacts_count: passes read to their end whose lists kept changing,
    #: the contacts of ``select`` their pages did not show still to be looked up.
    pending: dict[int, Any] = field(default_factory=dict)
    #: The contacts of ``select`` those pages did not show: looked up one by one (and
    #: found on a target list), and not looked up (over the budget).
    looked_up: int = 0
    found: int = 0
    unread: int = 0
    #: Pass -> the times in a row the API refused its next link with no page read past
    #: the last refusal, and the pages of the pass read then; the refusals in all.
    refused: dict[int, tuple[int, int]] = field(default_factory=dict)
    refusals: int = 0
    #: Pass -> its pages read since it (last) started.
    depth: dict[int, int] = field(default_factory=dict)

    def progress(self, *, done: bool = False) -> Snapshot:
        return _progress(self.pages_read, self.total_pages, self.records.n_contacts, done=done)

    def read_pass(self, i: int, p: dict[str, Any], *, need_emails: bool) -> None:
        """Read pass ``i`` from where its journal left it (or take its journaled pages)."""
        sj = self.sj
        if sj is not None and p["pages"] and need_emails:
            # The journal has no addresses: read this pass again for them.
            sj.restart_pass(i)
            p.update(next=None, done=False, pages=0)
        if sj is not None and p["pages"]:
            # (A read for addresses never gets here: its pages are read again.)
            keys = self.select.keys if self.select is not None else None
            journal_builder(sj, keys, i, self.records)
        if p["next"] == _SETTLE:  # read to its end, its lookups not yet made
            self.pending[i] = p.get("count")
            self.unsettled.extend(p["lists"])
        if p["done"] or p["next"] == _SETTLE:
            return
        href = p["next"]
        # contacts_count when the pass began (journaled: a read continued later compares)
        first: int | None = p.get("count") if p["pages"] else None
        rereads, unsettled = 0, False
        while True:
            body = self._fetch(i, p, href)
            self.requests += 1
            self.depth[i] = self.depth.get(i, 0) + 1
            count = body.get("contacts_count") if isinstance(body, dict) else None
            count = count if isinstance(count, int) else None
            if first is None:
                first = count
            elif count is not None and count != first:
                # The lists changed under the read. The API's next link counts the
                # records shown (an offset), so one that left before it makes a page
                # skip a member: read the pass again.
                if rereads < _REREADS:
                    log.info(
                        "lists changed during the read (%d, now %d): reading again", first, count
                    )
                    self._restart(i, p)
                    first, href, rereads = None, None, rereads + 1
                    continue
                unsettled, first = True, count
            href = next_href(body, f"GET {urlsplit(self.client.url_for('/contacts')).path}")
            if href is None and unsettled:
                self.unsettled.extend(p["lists"])
                if self.select is not None and self.select.by != "email":
                    self.pending[i], href = first, _SETTLE  # journaled: the lookups to make
            page = [_record(item) for item in body.get("contacts") or ()]
            self._keep(i, p, page, href, first)
            self.pages_read += 1
            self.reporter.update(self.progress())
            if href is None or href == _SETTLE:
                return

    def _keep(
        self, i: int, p: dict[str, Any], page: list[dict[str, Any]], href: str | None, total: Any
    ) -> None:
        """Keep (and journal, with the cursor ``href``) a page of pass ``i``'s records."""
        kept, counts = self._project(i, page)
        self.records.extend(kept)
        if counts is not None:
            self.records.count_others(i, p["lists"], counts)
        if self.sj is not None:
            sel = self.select
            at = sel.positions(kept, self.addresses) if sel is not None else None
            rows = _journal_rows(kept)
            self.sj.page_read(i, rows, href, counts=counts, positions=at, total=total)

    def settle(self) -> None:
        """Look up the contacts of ``select`` that the pages of passes whose lists kept
        changing did not show (they may have skipped them; a verification takes an
        absent contact for a removal), once after every pass, as :func:`read_changed`
        does: at most as many as the pages read, or :data:`SETTLE_LOOKUPS`. A run's contacts
        left over are kept as :data:`UNREAD` (their pairs stay unverified). Journaled
        as one more page that ends those passes."""
        if not self.pending:
            return
        sel = self.select
        assert sel is not None  # only a read that keeps given contacts has pending passes
        missed = sorted(set(sel.keys).difference(self.records.contact_ids))
        chosen = missed[: max(SETTLE_LOOKUPS, self.pages_read)]
        targets = [x for q in self.passes for x in q["lists"]]
        found = _looked_up(self.client, chosen, targets, self.reporter, self.pages_read)
        records = [r for r in found if r["lists"]]
        self.requests += len(chosen)
        self.looked_up, self.found = len(chosen), len(records)
        self.unread = len(missed) - len(chosen)
        if sel.by == "run":
            rest = missed[len(chosen) :]
            records += [
                {"contact_id": c, "email": None, "status": UNREAD, "lists": [], "tags": []}
                for c in rest
            ]
        for i, total in sorted(self.pending.items()):
            self._keep(i, self.passes[i], records, None, total)
            records = []
        self.pending.clear()

    def _project(self, i: int, page: list[dict[str, Any]]) -> tuple[list[Any], PageCounts | None]:
        """The records of pass ``i``'s page that the read keeps, and the counts of the
        others (None: it keeps every one). The live snapshot and the journal get the
        very same, so a plan made again from the journal is the one made now."""
        if self.select is None:
            return page, None
        earlier = frozenset(x.lower() for q in self.passes[:i] for x in q["lists"])
        targets = frozenset(x.lower() for q in self.passes for x in q["lists"])
        return self.select.split(page, self.passes[i]["lists"], earlier, targets)

    def _fetch(self, i: int, p: dict[str, Any], href: str | None) -> Any:
        """The page at ``href``, or the pass's first page (None); a cursor that expired
        reads the pass again from its start."""
        try:
            if href is None:
                params = {
                    "lists": ",".join(p["lists"]),
                    "include": _INCLUDE,
                    "status": "all",
                    "include_count": "true",  # each page's: a change under the read shows
                    "limit": READ_PAGE_SIZE,
                }
                return self.client.request("GET", "/contacts", params=params)
            return self.client.request("GET", href)
        except APIError as exc:
            if href is None or not 400 <= exc.status < 500 or exc.status == 429:
                raise
            n, at = self.refused.get(i, (0, -1))
            depth = self.depth.get(i, 0)
            n = n + 1 if depth <= at else 1  # no page read past the last refusal: again
            self.refused[i], self.refusals = (n, depth), self.refusals + 1
            if n > _RESTARTS:
                spent = self.requests + self.refusals
                raise CCError(
                    f"the API refused its own next link {n} times ({exc}), each time after "
                    f"the read started these lists again; stopped after {spent:,} requests"
                ) from exc
        # The cursor expired: read the pass again from its start.
        self._restart(i, p)
        return self._fetch(i, p, None)

    def _restart(self, i: int, p: dict[str, Any]) -> None:
        """Forget what pass ``i`` read: it is read again from its start."""
        if self.sj is not None:
            self.sj.restart_pass(i)
        self.records.forget_pass(i, p["lists"])
        self.depth[i] = 0

    def mark_active(self, list_ids: Sequence[str]) -> None:
        """Tell ``active`` members from the rest exactly (a ``status=active`` pass)."""
        active, requests = _read_active(self.client, list_ids)
        self.requests += requests
        b = self.records
        b.set_statuses(
            [
                "active" if cid in active else (s if s != "active" else "not_active")
                for cid, s in zip(b.contact_ids, b.statuses, strict=True)
            ]
        )


def _read_active(client: Any, list_ids: Sequence[str]) -> tuple[set[str], int]:
    """The ids of the ``active`` members (``status=active``), and the requests spent."""
    found: set[str] = set()
    pages: list[bool] = []
    for lists in passes(list_ids):
        params = {"lists": ",".join(lists), "status": "active", "limit": READ_PAGE_SIZE}
        items = client.paginate(
            "/contacts", "contacts", params, on_page=lambda _, m: pages.append(m)
        )
        found.update(str(c["contact_id"]).lower() for c in items)
    return found, len(pages)


def _progress(pages: int, total: int | None, contacts: int, *, done: bool = False) -> Snapshot:
    """A read's progress: phase ``reading``, then ``read`` at its end (a read is not a
    removal: it never ends ``done``, which a display would count activities for)."""
    if done:
        text = f"read list members: {plural(pages, 'page')}, {contacts:,} contacts"
        return Snapshot("read", pages, pages, message=text)
    of = f" of ~{total:,}" if total else ""
    text = f"reading list members: page {pages:,}{of}, {contacts:,} contacts"
    return Snapshot("reading", total or pages, pages, message=text)


def lookup_emails(
    client: Any,
    emails: Iterable[str],
    list_ids: Sequence[str],
    *,
    reporter: Reporter | None = None,
    names: Mapping[str, str] | None = None,
    every: bool = False,
) -> MembershipSnapshot:
    """One ``GET /contacts?email=<address>&include=list_memberships,taggings&status=all``
    per address (the API matches case-insensitively); the contacts found that are on a
    target list make the snapshot (``every``: every contact found, as an add or a sync
    needs, so no address is looked up twice). For a tiny segment against huge lists.

    Example:
        >>> snap = lookup_emails(client, ["ann@example.com"], [newsletter_id])  # doctest: +SKIP
    """
    reporter = reporter or NullReporter()
    targets = {x.lower() for x in list_ids}
    wanted = list(dict.fromkeys(emails))
    records: list[dict[str, Any]] = []
    reporter.start(_progress(0, len(wanted), 0))
    try:
        for n, address in enumerate(wanted, 1):
            records.extend(
                r for r in _by_email(client, address) if every or targets & set(r["lists"])
            )
            reporter.update(_progress(n, len(wanted), len(records)))
    finally:
        reporter.finish(_progress(len(wanted), len(wanted), len(records), done=True))
    return MembershipSnapshot.from_records(
        list_ids, records, list_names=dict(names or {}), requests=len(wanted)
    )


def _by_email(client: Any, address: str) -> list[dict[str, Any]]:
    """The records of ``GET /contacts?email=<address>`` (the API matches any case)."""
    params = {"email": address, "include": _INCLUDE, "status": "all"}
    body = client.request("GET", "/contacts", params=params)
    return [_record(item) for item in body.get("contacts") or ()]


def resolve_addresses(
    client: Any, addresses: Sequence[str], snap: MembershipSnapshot
) -> tuple[MembershipSnapshot, str]:
    """``snap`` with the contacts of ``addresses`` that are on none of its lists (an
    add or sync by email must know them), and a note of how they were found: one
    ``GET /contacts?email=`` each, or every contact read (a count, then pages of 500),
    whichever costs fewer requests. An address no contact has stays unknown.

    Example:
        >>> snap, how = resolve_addresses(client, ["new@example.com"], snap)  # doctest: +SKIP
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    given = list(dict.fromkeys(addresses))
    # The snapshot's addresses as planning matches them (Arrow keys, trimmed and folded).
    known = pc.is_in(pa.array(given, pa.string()), value_set=snap.email_keys).to_pylist()
    missing = [a for a, k in zip(given, known, strict=True) if not k]
    if not missing:
        return snap, ""
    requests, how = len(missing), "one GET /contacts?email= per address"
    pages = contact_pages(client) if len(missing) > 2 else None
    if pages is not None and pages < len(missing):
        wanted = set(missing)
        records = every_contact(client, lambda r: str(r["email"] or "").lower() in wanted)
        requests, how = pages + 1, "reading every contact (a count, then pages of 500)"
    else:
        records = [r for address in missing for r in _by_email(client, address)]
        requests += 0 if pages is None else 1
    merged = MembershipSnapshot.from_records(
        snap.list_ids,
        [*_snapshot_records(snap), *records],
        list_names=snap.list_names,
        requests=snap.requests + requests,
        others=snap.others,
    )
    note = (
        f"{len(missing):,} addresses on none of the target lists looked up by {how}: "
        f"{plural(requests, 'request')}, {len(merged) - len(snap):,} contacts found"
    )
    return merged, note


def contact_pages(client: Any) -> int:
    """The pages of 500 a read of every contact takes (``status=all``), from one
    counted ``GET /contacts?limit=1&include_count=true``: what a lookup per item is
    weighed against.

    Example:
        >>> contact_pages(client)  # doctest: +SKIP
        41
    """
    params = {"status": "all", "limit": 1, "include_count": "true"}
    total = int(client.request("GET", "/contacts", params=params).get("contacts_count") or 0)
    return max(1, math.ceil(total / READ_PAGE_SIZE))


def every_contact(client: Any, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The snapshot records (:func:`_record`) of every contact of the account
    (``status=all``, with list memberships) that ``keep`` accepts, in pages of 500."""
    params = {"status": "all", "include": _INCLUDE, "limit": READ_PAGE_SIZE}
    records = map(_record, client.paginate("/contacts", "contacts", params))
    return [rec for rec in records if keep(rec)]


def _snapshot_records(snap: MembershipSnapshot) -> list[dict[str, Any]]:
    return [
        {"contact_id": c, "email": e, "status": s, "lists": ls, "tags": ts}
        for c, e, s, ls, ts in zip(
            snap.contact_ids.tolist(),
            snap.emails.tolist(),
            snap.statuses.tolist(),
            snap.lists,
            snap.tags,
            strict=True,
        )
    ]


def _journal_db(journal: JournalDB | bool | None) -> JournalDB | None:
    """The journal a ``journal=`` option names: True the default one, False or None none."""
    return open_journal() if journal is True else (journal or None)


def _journal_whole(
    db: JournalDB | None,
    snap: MembershipSnapshot,
    client: Any,
    *,
    phase: str,
    run_id: str | None = None,
) -> str | None:
    """Journal a snapshot found by lookups as one page (ids only)."""
    sj = _snapshot_journal(db, None, snap.list_ids, client, phase=phase, run_id=run_id)
    if sj is None:
        return None
    for i in range(len(sj.passes)):
        sj.page_read(i, [] if i else _journal_rows(_snapshot_records(snap)), None)
    sj.complete()
    return sj.snapshot_id


def _journal_rows(records: Iterable[Mapping[str, Any]]) -> list[list[Any]]:
    """Snapshot records as the journal keeps them: ids, statuses, lists, tags (no address)."""
    return [[r["contact_id"], r["status"], list(r["lists"]), list(r["tags"])] for r in records]


def _looked_up(
    client: Any,
    contact_ids: Sequence[str],
    list_ids: Sequence[str] | None,
    reporter: Reporter | None = None,
    done: int = 0,
) -> list[dict[str, Any]]:
    """Each contact as ``GET /contacts/{id}`` shows it, its lists cut to ``list_ids``
    (maybe none; None: all its lists); a contact that is gone (404) is deleted, on no
    list. ``reporter`` hears of each (``done`` requests before them)."""
    targets = None if list_ids is None else {x.lower() for x in list_ids}
    records: list[dict[str, Any]] = []
    for cid in contact_ids:
        if reporter is not None:
            reporter.update(_progress(done + len(records), None, len(records)))
        try:
            item = client.request("GET", f"/contacts/{cid}", params={"include": _INCLUDE})
        except APIError as exc:
            if exc.status != 404:
                raise
            item = {"contact_id": cid, "deleted_at": "gone"}
        rec = _record(item)
        records.append(rec if targets is None else _on_targets(rec, targets))
    return records


def _on_targets(rec: dict[str, Any], targets: set[str]) -> dict[str, Any]:
    return {**rec, "lists": [x for x in rec["lists"] if x in targets]}


def _seeded_pick(ids: Sequence[str], k: int, seed: str | None) -> list[str]:
    """``k`` of ``ids`` at random, the same ones for the same ``seed`` (a run id: a
    resumed verification looks up the same contacts)."""
    if k >= len(ids):
        return list(ids)
    digest = hashlib.sha256((seed or "ccpandas").encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    return [ids[i] for i in sorted(rng.choice(len(ids), size=k, replace=False).tolist())]


def lookup_sample(
    client: Any,
    contact_ids: Sequence[str],
    list_ids: Sequence[str],
    *,
    k: int,
    seed: str | None,
    reporter: Reporter | None = None,
) -> MembershipSnapshot:
    """A sample of ``k`` of ``contact_ids`` (seeded by ``seed``, the run id), each looked
    up with ``GET /contacts/{id}?include=list_memberships``: the snapshot holds exactly
    the contacts looked up (their lists cut to ``list_ids``, maybe none).

    Example:
        >>> snap = lookup_sample(  # doctest: +SKIP
        ...     client, ids, [newsletter_id], k=50, seed=run_id
        ... )
        >>> len(snap)  # doctest: +SKIP
        50
    """
    chosen = _seeded_pick(list(contact_ids), k, seed)
    records = _looked_up(client, chosen, list_ids, reporter)
    return MembershipSnapshot.from_records(list_ids, records, requests=len(chosen))


#: How long before the first change request the read of changed contacts starts: the
#: server's clock may lag this machine's (a contact it misses is looked up, never
#: assumed changed).
CHANGED_SINCE_MARGIN = dt.timedelta(minutes=10)


def read_changed(
    client: Any,
    contact_ids: Sequence[str],
    list_ids: Sequence[str],
    *,
    since: dt.datetime,
    budget: int,
    seed: str | None = None,
    reporter: Reporter | None = None,
) -> MembershipSnapshot:
    """The contacts of ``contact_ids`` as they are now, for at most ``budget`` requests:
    ``GET /contacts?updated_after=<since>&status=all&include=list_memberships&limit=500``
    (the contacts changed since the run started, with their lists), then one
    ``GET /contacts/{id}`` per contact that read did not show, while the budget lasts
    (a seeded sample of them when it does not). The snapshot holds exactly the contacts
    seen (their lists cut to ``list_ids``, maybe none): one it does not hold is not
    verified. Relies on nothing: a contact whose membership change did not touch its
    ``updated_at`` is looked up like any other unseen one.

    Example:
        >>> snap = read_changed(  # doctest: +SKIP
        ...     client, ids, [newsletter_id], since=start, budget=4
        ... )
    """
    targets = {x.lower() for x in list_ids}
    wanted = set(contact_ids)
    stamp = (since - CHANGED_SINCE_MARGIN).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    params = {"updated_after": stamp, "status": "all", "include": _INCLUDE, "limit": READ_PAGE_SIZE}
    seen: dict[str, dict[str, Any]] = {}
    pages: list[bool] = []

    def page(body: Mapping[str, Any], more: bool) -> None:
        pages.append(more)
        if reporter is not None:
            reporter.update(_progress(len(pages), None, len(seen)))

    # An expired cursor ends the read: the contacts not seen yet are looked up instead.
    for item in client.paginate("/contacts", "contacts", params, on_page=page, budget=budget):
        rec = _record(item)
        if rec["contact_id"] in wanted:
            seen[rec["contact_id"]] = _on_targets(rec, targets)
    unseen = [c for c in contact_ids if c not in seen]
    chosen = _seeded_pick(unseen, max(0, budget - len(pages)), seed)
    records = [*seen.values(), *_looked_up(client, chosen, list_ids, reporter, len(pages))]
    return MembershipSnapshot.from_records(list_ids, records, requests=len(pages) + len(chosen))


# -- choosing and planning ------------------------------------------------------------------
@dataclass(frozen=True)
class SnapshotChoice:
    """Whether a plan reads the target lists' members first, and what a column holds:
    checked once, where the user gives them.

    Args:
        snapshot: ``"auto"`` (the default), True, False, or a ``"snap-..."`` id that
            continues an interrupted read.
        by: What the column holds: ``"auto"`` (the default), ``"contact_id"`` or
            ``"email"``.

    Raises:
        ValueError: A value it does not know.

    Example:
        >>> SnapshotChoice(snapshot="yes")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: snapshot must be 'auto', True, False or a snapshot id to continue ...
    """

    snapshot: bool | str = "auto"
    by: str = "auto"

    def __post_init__(self) -> None:
        snapshot = self.snapshot
        snapshot_id = isinstance(snapshot, str) and snapshot.startswith("snap-")
        if not (isinstance(snapshot, bool) or snapshot == "auto" or snapshot_id):
            raise ValueError(
                f"snapshot must be 'auto', True, False or a snapshot id to continue "
                f"('snap-...'), not {snapshot!r}"
            )
        if self.by not in ("auto", "email", "contact_id"):
            raise ValueError(f"by must be 'auto', 'email' or 'contact_id', not {self.by!r}")

    @property
    def snapshot_id(self) -> str | None:
        """The interrupted read to continue (a ``"snap-..."`` id), or None."""
        snap = self.snapshot
        return snap if isinstance(snap, str) and snap != "auto" else None


#: The note of a frame's plan that sends without a snapshot.
_NO_SNAPSHOT = (
    "no membership snapshot (snapshot='auto'): outcomes will say 'unverified' and the run "
    "cannot be undone. snapshot=True reads the lists anyway."
)


def prepare_frame_plan(
    data: Any,
    targets: Sequence[str],
    client: Any,
    *,
    choice: SnapshotChoice,
    column: Any = "contact_id",
    progress: Any = False,
    journal: JournalDB | bool | None = True,
    kind: str = "remove",
    max_removed: float | int | None = None,
    lists: Mapping[str, ListInfo] | None = None,
    gate: QuotaGate | None = None,
) -> Any:
    """Plan removing (``kind``: adding, syncing) the contacts of ``data[column]`` (ids
    or emails), reading a membership snapshot when ``choice.snapshot`` says so (see
    :func:`~ccpandas.read.costs.choose_read`: on the exact read cost, from union
    probes when the list sizes leave the choice open; a sync always reads).
    ``lists``: the account's lists when the caller read them already (names
    resolved), so the listing is read once. ``gate``: a run's quota check, told the
    whole run's requests before the first list read (it refuses or waits).

    The plan says what it chose, what it cost and why (a ``read choice`` note).
    Without a snapshot the plan is today's (every contact to every list).

    Example:
        >>> plan = prepare_frame_plan(  # doctest: +SKIP
        ...     df, [newsletter_id], client, choice=SnapshotChoice(), column="email"
        ... )
        >>> plan.changes  # doctest: +SKIP
    """

    snapshot = choice.snapshot
    values, _ = planner._column_of(data, column)
    key = detect_key(values, choice.by) if len(values) else "contact_id"
    # Priced at the pace the client will send at: its time, polls and quota share.
    rate = pace_of(client)
    base = _blind_base(data, targets, rate, column=column, key=key, snapshot=snapshot, kind=kind)
    if base is not None and snapshot is False:
        return base
    if client is None:
        raise PlanError("a membership snapshot needs a client (GET /contacts)")
    if lists is None:  # (a caller that listed the lists checked it before that)
        check_continued(journal, choice.snapshot_id, values, key, kind)  # before any request
    info = target_info(client, targets, lists)
    sizes = [info[t].members for t in targets]
    uniques = _unique_addresses(values) if key == "email" else []
    blind = base.n_requests if base is not None and kind != "sync" and snapshot == "auto" else None
    how, cost, why = choose_read(
        client,
        targets,
        sizes,
        key=key,
        kind=kind,
        forced=choice.snapshot_id is not None or (key == "contact_id" and snapshot is True),
        n_contacts=len(uniques) if base is None else int(base.n_contacts or 0),
        blind_sends=blind,
        rate=rate,
        gate=gate,
    )
    if base is not None and how == BLIND:
        return _blind(base, cost, why, _NO_SNAPSHOT)
    snap, sid, note = _read_for_plan(
        client,
        targets,
        uniques,
        values=values,
        kind=kind,
        how=how,
        snapshot_id=choice.snapshot_id,
        key=key,
        info=info,
        cost=cost,
        reporter=make_reporter(progress),
        journal=journal,
    )
    plan = plan_membership_removal(
        data,
        targets,
        snap,
        column=column,
        by=key,
        rate=rate,
        lookup=how,
        read_requests=snap.requests + 1 + cost.probes,  # + the listing and the probes
        kind=kind,
        max_removed=max_removed,
        check_room=True,
    )
    # A full check looks each contact up again, or re-reads what the lists keep.
    full = len(plan.membership.contact_ids) if how == LOOKUPS else snap.requests
    m = with_verification(plan.membership, full, plan.n_requests, targets)
    m = dataclasses.replace(m, snapshot_id=sid)
    notes = (*plan.notes, why, *([note] if note else ()))
    return dataclasses.replace(plan, membership=m, notes=notes)


def _blind(plan: Any, cost: ReadCost, *notes: str) -> Any:
    """``plan``, sent without a snapshot: its notes, and the listing and probes its reads."""
    reads = {"snapshot_cost": cost.reads, "planning_requests": 1 + cost.probes}
    return dataclasses.replace(plan, notes=(*plan.notes, *notes), **reads)


def _blind_base(
    data: Any,
    targets: Sequence[str],
    rate: float,
    *,
    column: Any,
    key: str,
    snapshot: bool | str,
    kind: str,
) -> Any:
    """The plan without a snapshot of a column of contact ids (every contact to every
    list), None for addresses; a :class:`PlanError` for addresses with
    ``snapshot=False``, which cannot be matched without the read."""

    if key == "contact_id":
        plan = planner.plan_removal(data, targets, column=column, rate=rate)
        return planner.as_kind(plan, kind)
    check_addresses_read(key, snapshot, column)
    return None


def check_addresses_read(key: str, snapshot: bool | str, column: Any) -> None:
    """A :class:`PlanError` for a column of addresses (``key`` ``"email"``) with
    ``snapshot=False``: matching them to contacts needs the read. Asked before any
    request (the lists' listing included).

    Example:
        >>> check_addresses_read("contact_id", False, "id")  # ids need no read
    """
    if key == "email" and snapshot is False:
        raise PlanError(
            f"column {column!r} holds email addresses; matching them to contacts needs a "
            "membership snapshot: pass snapshot=True or 'auto' (or by='contact_id' if the "
            "column really holds ids)",
            column=column,
        )


def _unique_addresses(values: Any) -> list[str]:
    """The distinct valid addresses of an email column, normalised, in order.

    Example:
        >>> import pandas as pd
        >>> _unique_addresses(pd.Series([" B@x.co", "a@x.co", "b@x.co", "typo", None]))
        ['b@x.co', 'a@x.co']
    """
    import pyarrow.compute as pc

    # In Arrow: a Python string for each distinct address only (the lookups need them).
    keys = email_keys(values)[0]
    return [str(x) for x in pc.unique(keys.drop_null()).to_pylist()]


def check_continued(
    journal: JournalDB | bool | None,
    snapshot_id: str | None,
    values: Any = None,
    key: str = "contact_id",
    kind: str = "remove",
) -> None:
    """Refuse, before any request, to continue a read ``snapshot_id`` that was made
    for another input than the column ``values`` (see :func:`_check_selection`;
    None: a source, which keeps every member).

    Example:
        >>> check_continued(False, "snap-1")  # no journal: nothing to continue
    """
    db = _journal_db(journal)
    if db is not None and snapshot_id is not None:
        select = None if values is None else _input_selection(values, key, kind)
        _check_selection(SnapshotJournal.open(db, snapshot_id), select)


def _input_selection(values: Any, key: str, kind: str) -> Selection | None:
    """The members a frame's read keeps: those its ids or its valid addresses name
    (an add's: with every list of those near the 50-list cap, ``every_list``); None
    for a sync, which needs every member (each one not named leaves).

    Example:
        >>> import pandas as pd
        >>> _input_selection(pd.Series([" B@x.co", "typo", None]), "email", "add").keys
        ('b@x.co',)
    """
    if kind == "sync":
        return None
    if key == "email":
        select = Selection.of_emails(values)
    else:
        select = Selection.of("contact_id", check_ids(values).ids)
    return dataclasses.replace(select, every_list=kind == "add")


def _read_for_plan(
    client: Any,
    targets: Sequence[str],
    uniques: Sequence[str],
    *,
    values: Any,
    kind: str,
    how: str,
    snapshot_id: str | None,
    key: str,
    info: Mapping[str, ListInfo],
    cost: ReadCost,
    reporter: Reporter,
    journal: JournalDB | bool | None,
) -> tuple[MembershipSnapshot, str | None, str]:
    """What a frame's plan reads of the lists (``how``: the lists, or a lookup per
    address): ``(snapshot, snapshot id, note)``. A read of the lists keeps the members
    the column ``values`` selects (a sync: every one); an add or sync by email then
    finds the addresses on no target list (the note says how); lookups found them."""
    names = {t: i.name for t, i in info.items()}
    if how == LOOKUPS:
        every = kind != "remove"  # an add or a sync needs each address's contact: kept
        snap = lookup_emails(client, uniques, targets, reporter=reporter, names=names, every=every)
        sid = _journal_whole(_journal_db(journal), snap, client, phase="before")
        return snap, sid, ""
    snap, sid = read_snapshot(
        client,
        targets,
        reporter=reporter,
        journal=journal,
        snapshot_id=snapshot_id,
        need_emails=key == "email",
        names=names,
        expected_members=cost.members([i.members for i in info.values()]),
        select=_input_selection(values, key, kind),
    )
    if key == "email" and kind != "remove":  # an address on no target list: who is it?
        snap, note = resolve_addresses(client, uniques, snap)
        return snap, sid, note
    return snap, sid, ""


def prepare_source_plan(
    plan: Any,
    client: Any,
    *,
    choice: SnapshotChoice,
    progress: Any = False,
    journal: JournalDB | bool | None = True,
    lists: Mapping[str, ListInfo] | None = None,
    gate: QuotaGate | None = None,
) -> Any:
    """Add a preview to a plan whose contacts the API selects (tags, lists, all
    active, engagement level, ``keep_in_lists``): who of each target list will leave.
    ``lists``: the account's lists when the caller read them already. ``gate``: a
    run's quota check, told the whole run's requests before the first list read.

    Example:
        >>> plan = prepare_source_plan(  # doctest: +SKIP
        ...     plan, client, choice=SnapshotChoice(snapshot=True)
        ... )
        >>> plan.changes.groupby("list_name")["will_leave"].sum()  # doctest: +SKIP
    """
    snapshot = choice.snapshot
    if snapshot is False:
        return plan
    if lists is None:  # (a caller that listed the lists checked it before that)
        check_continued(journal, choice.snapshot_id)  # before any request
    info = target_info(client, plan.list_ids, lists)
    sizes = [info[t].members for t in plan.list_ids]
    how, cost, why = choose_read(
        client,
        plan.list_ids,
        sizes,
        key="source",
        forced=snapshot != "auto",
        n_contacts=0,
        blind_sends=plan.n_requests if snapshot == "auto" else None,
        rate=plan.rate,
        gate=gate,
    )
    if how == BLIND:
        note = (
            "no membership snapshot (snapshot='auto'): no preview of who leaves, and the "
            "run cannot be undone. snapshot=True reads the lists anyway."
        )
        return _blind(plan, cost, why, note)
    exact = plan.source.kind is SourceKind.ALL_ACTIVE_CONTACTS
    snap, sid = read_snapshot(
        client,
        plan.list_ids,
        reporter=make_reporter(progress),
        journal=journal,
        snapshot_id=choice.snapshot_id,
        need_emails=False,
        names={t: i.name for t, i in info.items()},
        exact_status=exact,
        expected_members=cost.members(sizes),
    )
    m = preview_source(snap, plan.source, plan.list_ids, exclude=plan.exclude)
    m = dataclasses.replace(
        with_verification(m, snap.requests, plan.n_requests, plan.list_ids),
        snapshot_id=sid,
        read_requests=snap.requests + 1 + cost.probes,  # + the listing and the probes
        naive_requests=plan.n_requests,
    )
    return dataclasses.replace(plan, membership=m, notes=(*plan.notes, why))


def _rechecked(plan: Any) -> Any:
    """``plan``'s membership part when its lists are read again before it sends
    (:func:`check_still_planned`: the API selects its contacts, and a snapshot showed
    them); None when there is nothing to check."""
    m = plan.membership
    if m is None or m.snapshot is None or not plan.source.kind.api_selects:
        return None
    return m


def check_still_planned(plan: Any, client: Any, list_ids: Sequence[str], run: str) -> int:
    """Before a resumed (or retried) run, or a plan made earlier and given to
    :func:`~ccpandas.api.run_plan`, whose contacts the API selects sends to
    ``list_ids`` again: read those lists and refuse (a PlanError, nothing sent) when the
    API would now take off members the plan's preview did not show (they joined the
    lists since, or took the source's tag): the run would remove more than was planned,
    shown and guarded (``max_removed``), and its verification and undo would not see
    them. A plan without a preview (``snapshot=False``) left the choice to the API.
    Returns the read requests spent (0: nothing to check)."""
    m = _rechecked(plan)
    if m is None:
        return 0
    names = {t: m.snapshot.name_of(t) for t in list_ids}
    exact = plan.source.kind is SourceKind.ALL_ACTIVE_CONTACTS
    snap, _ = read_snapshot(
        client, list_ids, journal=False, need_emails=False, names=names, exact_status=exact
    )
    now = preview_source(snap, plan.source, list_ids, exclude=plan.exclude).change_set
    planned = set(m.change_set.pairs(REMOVE))
    more = Counter(lid for cid, lid in now.pairs(REMOVE) if (cid, lid) not in planned)
    before = m.change_set.per_list(REMOVE)
    if more:
        lid, n = next(iter(more.items()))
        raise PlanError(
            f"{run} was planned to remove {before.get(lid, 0):,} "
            f"members of {names[lid]!r}; {plural(n, 'more member')} of it would leave now "
            "(since it was planned, they joined it or came to match its source), and the "
            "API chooses who leaves when the request is sent. Nothing was sent: plan it "
            "again (call keep_in_lists or remove_list_memberships again), so its preview "
            "and max_removed count today's members",
            values=list(more),
        )
    return int(snap.requests)


def recheck_reads(plan: Any) -> int:
    """The reads of the lists read again before ``plan`` sends
    (:func:`check_still_planned`), as its snapshot spent them; 0: nothing to check."""
    m = _rechecked(plan)
    return 0 if m is None else int(m.snapshot.requests)


def with_recheck(plan: Any, reads: int | None = None, sent: int | None = None) -> Any:
    """``plan`` counting, in its reads, the lists read again before its first change
    (:func:`check_still_planned`): ``reads`` spent, or None for the estimate
    (:func:`recheck_reads`); in its spent reads, the requests that read ``sent``
    (retries included), else ``reads``. ``plan`` itself when it has nothing to check."""
    m = _rechecked(plan)
    if m is None:
        return plan
    reads = recheck_reads(plan) if reads is None else reads
    total = m.read_requests - m.recheck_requests + reads
    spent = plan.spent_reads  # what planning sent: the run's reads, with this read
    spent = (
        spent if spent is None else spent - m.recheck_requests + (reads if sent is None else sent)
    )
    m = dataclasses.replace(m, read_requests=total, recheck_requests=reads)
    return dataclasses.replace(plan, membership=m, spent_reads=spent)


def read_after(
    client: Any,
    plan: Any,
    *,
    db: JournalDB | None,
    run_id: str | None,
    reporter: Reporter | None = None,
    fresh: bool = False,
    method: VerifyMethod = VerifyMethod.FULL,
    since: dt.datetime | None = None,
) -> tuple[MembershipSnapshot, str | None]:
    """The verification read: the target lists again (continuing a journaled
    verification of ``run_id`` that was interrupted), or, for plans found by email
    lookups, each contact again. A verification already complete in the journal is
    loaded from it unless ``fresh`` (``result.verify()`` reads anew).

    ``method`` :attr:`~ccpandas.vocab.VerifyMethod.CHANGED` reads the contacts changed
    since ``since`` (see :func:`read_changed`), ``SAMPLE`` looks up a sample (see
    :func:`lookup_sample`): their snapshot holds exactly the contacts it verified, on
    the target lists or not (a contact it does not hold is not verified)."""
    m = plan.membership
    lists, names = after_target(plan)
    sid = None if db is None or run_id is None else run_snapshot_ids(db, run_id).get("after")
    state = None if sid is None else SnapshotJournal(db, sid).state  # type: ignore[arg-type]
    looked = m is not None and method in (VerifyMethod.CHANGED, VerifyMethod.SAMPLE)
    # A plan found by email lookups looks each contact up again, never from the journal.
    lookups = not looked and m is not None and m.lookup == LOOKUPS
    if state == "complete" and not fresh and not lookups:
        # Verified before (another process): the journal has the answer.
        return load_snapshot(db, sid, lists, names), sid  # type: ignore[arg-type]
    if looked or lookups:
        if looked:
            snap = _changed_or_sample(client, plan, method, since, run_id, reporter)
        else:  # one GET /contacts/{id} each: a contact gone (404, deleted) is on no list
            ids = m.contact_ids.tolist()
            found = [r for r in _looked_up(client, ids, plan.list_ids) if r["lists"]]
            snap = MembershipSnapshot.from_records(plan.list_ids, found, requests=len(ids))
        snap = MembershipSnapshot(**{**snap.__dict__, "list_names": names})
        return snap, _journal_whole(db, snap, client, phase="after", run_id=run_id)
    # Only the rows of the run's contacts say anything of its pairs (the rest are
    # counted): a contact left as it was shows a removal by someone else too.
    ours = m.contact_ids if m is not None else None
    return read_snapshot(
        client,
        lists,
        reporter=reporter,
        journal=db,
        snapshot_id=sid if state == "reading" else None,  # an interrupted verification
        phase="after",
        run_id=run_id,
        need_emails=False,
        names=names,
        interrupt_as_error=False,
        select=Selection.of("run", ours) if ours is not None else None,
    )


def _changed_or_sample(
    client: Any,
    plan: Any,
    method: VerifyMethod,
    since: dt.datetime | None,
    seed: str | None,
    reporter: Reporter | None,
) -> MembershipSnapshot:
    """The changed contacts of ``plan`` as they are now, for at most its sends (or 4)
    requests: read since the run started (``CHANGED``, with ``since``) or a sample."""
    budget = verify_budget(plan.n_requests)
    m = plan.membership
    ids = m.contact_ids[changed_contacts(m)].tolist()
    reporter = reporter or NullReporter()
    reporter.start(_progress(0, budget, 0))
    snap = None
    try:
        if method is VerifyMethod.CHANGED and since is not None:
            snap = read_changed(
                client, ids, plan.list_ids, since=since, budget=budget, seed=seed, reporter=reporter
            )
        else:
            k = min(VERIFY_SAMPLE_SIZE, budget)
            snap = lookup_sample(client, ids, plan.list_ids, k=k, seed=seed, reporter=reporter)
        return snap
    finally:
        spent, seen = (snap.requests, len(snap)) if snap is not None else (0, 0)
        reporter.finish(_progress(spent, budget, seen, done=True))
