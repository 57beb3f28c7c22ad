"""The journal's membership snapshots: pages of contact ids (never an address), and the
plans of journaled membership runs rebuilt from them.

Its own module so that the journal (which rebuilds plans) and the snapshot reader (which
writes pages) both use it without importing each other.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from ccpandas.errors import JournalError, PlanError
from ccpandas.plan.compact import PageCounts, Selection, SnapshotBuilder
from ccpandas.plan.ids import check_ids
from ccpandas.plan.membership import (
    READ_LISTS_PER_PASS,
    MembershipSnapshot,
    plan_membership_removal,
    preview_source,
    restore_email_rows,
)
from ccpandas.store.codec import encode_page, read_page
from ccpandas.vocab import VerifyMethod


class JournalFile(Protocol):
    """What the snapshot pages need of the journal file (a
    :class:`~ccpandas.store.journal.JournalDB`): named here so that the journal, which
    rebuilds plans from these pages, and this module do not import each other."""

    path: Path

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows of a SELECT, as dicts."""
        ...

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """A connection inside one committed (or rolled back) transaction."""
        ...


__all__ = [
    "SnapshotJournal",
    "journaled_after",
    "kept_after",
    "load_snapshot",
    "rebuild_membership_plan",
    "run_snapshot_ids",
    "run_summaries",
]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def insert_row(conn: sqlite3.Connection, table: str, **values: Any) -> None:
    """``INSERT INTO table`` one row, ``values`` by column name (names are code's own)."""
    marks = ", ".join("?" * len(values))
    sql = f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})"
    conn.execute(sql, tuple(values.values()))


def update_rows(
    conn: sqlite3.Connection, table: str, where: Mapping[str, Any], **values: Any
) -> None:
    """``UPDATE table SET`` ``values`` (by column name) on the rows whose every column
    in ``where`` equals its value."""
    sets = ", ".join(f"{name} = ?" for name in values)
    match = " AND ".join(f"{name} = ?" for name in where)
    conn.execute(f"UPDATE {table} SET {sets} WHERE {match}", (*values.values(), *where.values()))


def new_passes(list_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The passes of a new read of ``list_ids``: 25 lists each, none read yet."""
    ids = list(list_ids)
    step = READ_LISTS_PER_PASS
    return [
        {"lists": ids[i : i + step], "next": None, "done": False, "pages": 0}
        for i in range(0, len(ids), step)
    ]


class SnapshotJournal:
    """The journal of one snapshot read: its passes, each page's members (ids only)
    and the cursor to continue from.

    Example:
        >>> import tempfile, pathlib
        >>> from ccpandas.store.journal import JournalDB
        >>> db = JournalDB(pathlib.Path(tempfile.mkdtemp()) / "j.sqlite3")
        >>> j = SnapshotJournal.create(db, ["l1"], base_url=None)
        >>> j.state, j.passes[0]["lists"]
        ('reading', ['l1'])
    """

    def __init__(self, db: JournalFile, snapshot_id: str) -> None:
        self.db = db
        self.snapshot_id = snapshot_id
        self._lists: list[str] | None = None

    def __repr__(self) -> str:
        return f"SnapshotJournal({self.snapshot_id!r})"

    @classmethod
    def create(
        cls,
        db: JournalFile,
        list_ids: Sequence[str],
        *,
        base_url: str | None,
        phase: str = "before",
        run_id: str | None = None,
        selection: Selection | None = None,
    ) -> SnapshotJournal:
        """Record a new read of ``list_ids`` (passes of 25 lists); ``selection``: the
        members its pages keep (the others are counted), None: every member."""
        now = dt.datetime.now(dt.UTC)
        snapshot_id = f"snap-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        with db.transaction() as conn:
            insert_row(
                conn,
                "snapshots",
                snapshot_id=snapshot_id,
                created_at=now.isoformat(),
                updated_at=now.isoformat(),
                base_url=base_url,
                run_id=run_id,
                phase=phase,
                list_ids=json.dumps(list(list_ids)),
                status_filter="all",
                state="reading",
                passes=json.dumps(new_passes(list_ids)),
                selection=None if selection is None else json.dumps(selection.record()),
            )
        return cls(db, snapshot_id)

    @classmethod
    def open(cls, db: JournalFile, snapshot_id: str) -> SnapshotJournal:
        """An existing read (PlanError naming the id when unknown)."""
        if not db.query("SELECT 1 FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)):
            raise PlanError(f"no membership snapshot {snapshot_id!r} in the journal {db.path}")
        return cls(db, snapshot_id)

    @property
    def record(self) -> dict[str, Any]:
        query = "SELECT * FROM snapshots WHERE snapshot_id = ?"
        return self.db.query(query, (self.snapshot_id,))[0]

    @property
    def state(self) -> str:
        """``reading``, ``complete`` or ``outdated`` (see :meth:`outdate`)."""
        return str(self.record["state"])

    @property
    def list_ids(self) -> list[str]:
        if self._lists is None:  # fixed at creation: read once, used by every page
            self._lists = list(json.loads(self.record["list_ids"]))
        return list(self._lists)

    @property
    def passes(self) -> list[dict[str, Any]]:
        return list(json.loads(self.record["passes"]))

    @property
    def selection(self) -> dict[str, Any] | None:
        """What selected the members its pages keep (``by``, ``keys`` and for ids a
        ``fingerprint``, see :meth:`Selection.record`), None when they keep every member."""
        text = self.record.get("selection")
        return None if text is None else dict(json.loads(text))

    def _set(self, conn: sqlite3.Connection, **values: Any) -> None:
        """Update this read's ``snapshots`` row (inside the caller's transaction)."""
        update_rows(conn, "snapshots", {"snapshot_id": self.snapshot_id}, **values)

    def set_selection(self, selection: Selection) -> None:
        """Its pages from now on keep what ``selection`` selects (a read for addresses,
        read again whole for another email column)."""
        with self.db.transaction() as conn:
            self._set(conn, selection=json.dumps(selection.record()))

    def page_read(
        self,
        pass_index: int,
        members: list[list[Any]],
        next_href: str | None,
        *,
        counts: PageCounts | None = None,
        positions: Sequence[int] | None = None,
        total: int | None = None,
    ) -> None:
        """Commit one page (ids only; ``counts``: the members it does not keep;
        ``positions``: per member, its position in the run's input, kept instead of
        its id; ``total``: the pass's ``contacts_count``, which a read continued later
        compares) and where the pass continues, in one transaction."""
        blob = encode_page(members, self.list_ids, counts=counts, positions=positions)
        with self.db.transaction() as conn:
            passes = self._passes(conn)
            p = passes[pass_index]
            conn.execute(
                "INSERT OR REPLACE INTO snapshot_pages (snapshot_id, pass, page, members) "
                "VALUES (?, ?, ?, ?)",
                (self.snapshot_id, pass_index, p["pages"], blob),
            )
            p.update(pages=p["pages"] + 1, next=next_href, done=next_href is None, count=total)
            self._set(conn, passes=json.dumps(passes), updated_at=_now())

    def restart_pass(self, pass_index: int) -> None:
        """Forget a pass (its cursor expired): it is read again from the start."""
        with self.db.transaction() as conn:
            passes = self._passes(conn)
            passes[pass_index].update(next=None, done=False, pages=0, count=None)
            conn.execute(
                "DELETE FROM snapshot_pages WHERE snapshot_id = ? AND pass = ?",
                (self.snapshot_id, pass_index),
            )
            self._set(conn, passes=json.dumps(passes))

    def _passes(self, conn: sqlite3.Connection) -> list[dict[str, Any]]:
        """The passes as of this transaction (a page commits with its pass's cursor)."""
        query = "SELECT passes FROM snapshots WHERE snapshot_id = ?"
        (text,) = conn.execute(query, (self.snapshot_id,)).fetchone()
        return list(json.loads(text))

    def members(self) -> list[list[Any]]:
        """Every journaled member record ``[contact_id, status, lists, tags]`` (those
        its pages keep, which hold ids rather than positions into a run's input)."""
        return [row for _, rows, _ in self.counted_pages() for row in rows]

    def counted_pages(
        self, pass_index: int | None = None, keys: Sequence[str | None] | None = None
    ) -> Iterator[tuple[int, list[list[Any]], PageCounts | None]]:
        """Per journaled page: its pass, its member records and the counts of the
        members it does not keep (None: it keeps every one). Pages written by an older
        version read too; an unreadable one is a JournalError."""
        sql = "SELECT pass, page FROM snapshot_pages WHERE snapshot_id = ?"
        params: list[Any] = [self.snapshot_id]
        if pass_index is not None:
            sql += " AND pass = ?"
            params.append(pass_index)
        at = [(r["pass"], r["page"]) for r in self.db.query(sql + " ORDER BY pass, page", params)]
        lists = self.list_ids
        for where in at:  # one blob in memory at a time
            (row,) = self.db.query(
                "SELECT members FROM snapshot_pages WHERE snapshot_id = ? AND pass = ? "
                "AND page = ?",
                (self.snapshot_id, *where),
            )
            rows, counts = read_page(row["members"], lists, keys)
            yield where[0], rows, counts

    def outdate(self) -> None:
        """The run sent more after this read (``retry_failed``, ``resume``): it no longer
        says what the run did, so nothing loads it again, and ``ccpandas.runs()`` shows no
        verified figures until the run is read again."""
        with self.db.transaction() as conn:
            self._set(conn, state="outdated", summary=None, updated_at=_now())

    def complete(self, summary: str | None = None) -> None:
        """The read is whole; ``summary`` (e.g. "Newsletter 43, Customers 16") is what
        ``ccpandas.runs()`` shows for a verification."""
        kept = {} if summary is None else {"summary": summary}  # None keeps the one it has
        with self.db.transaction() as conn:
            self._set(conn, state="complete", updated_at=_now(), **kept)


def load_snapshot(
    db: JournalFile,
    snapshot_id: str,
    list_ids: Sequence[str],
    names: Mapping[str, str],
    keys: Sequence[str | None] | None = None,
) -> MembershipSnapshot:
    """A journaled snapshot (ids only: no addresses; the members its pages only
    counted are counted; ``keys``: the run's input keys their positions point into)."""
    sj = SnapshotJournal.open(db, snapshot_id)
    return MembershipSnapshot.from_records(
        list_ids, journal_builder(sj, keys), list_names=dict(names)
    )


def kept_after(db: JournalFile, run_id: str) -> str | None:
    """The id of the run's complete verification read in the journal, or None: the
    newest, past any later re-read left unfinished (a re-check the quota stopped), but
    not past one a later send outdated."""
    rows = db.query(
        "SELECT snapshot_id, state FROM snapshots WHERE run_id = ? AND phase = 'after' "
        "ORDER BY created_at DESC",
        (run_id,),
    )
    state = next((r for r in rows if r["state"] != "reading"), None)
    return state["snapshot_id"] if state is not None and state["state"] == "complete" else None


def outdate_afters(db: JournalFile, run_id: str) -> None:
    """Every verification read of the run is outdated (see :meth:`SnapshotJournal.outdate`):
    the run sent more, and an older complete read is no truer than the newest."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE snapshots SET state = 'outdated', summary = NULL, updated_at = ? "
            "WHERE run_id = ? AND phase = 'after' AND state != 'outdated'",
            (_now(), run_id),
        )


def journaled_after(db: JournalFile, run_id: str, plan: Any) -> MembershipSnapshot | None:
    """The run's complete verification read from the journal (no request), or None."""
    sid = kept_after(db, run_id)
    return None if sid is None else load_snapshot(db, sid, *after_target(plan))


def after_target(plan: Any) -> tuple[list[str], dict[str, str]]:
    """The lists a verification of ``plan`` re-reads and their names: its target lists
    (the names its snapshot read), or those a kind without a snapshot sends to
    (``plan.verify_lists``, e.g. an undo's, named by ``plan.list_names``)."""
    own = getattr(plan, "verify_lists", None)
    if own is not None:
        return list(own), dict(plan.list_names)
    m = plan.membership
    names = dict(m.snapshot.list_names) if m is not None and m.snapshot is not None else {}
    return list(plan.list_ids), names


def run_snapshot_ids(db: JournalFile, run_id: str) -> dict[str, str]:
    """``{"before": id, "after": id}`` of a run's snapshots (the newest of each)."""
    rows = db.query(
        "SELECT snapshot_id, phase FROM snapshots WHERE run_id = ? ORDER BY created_at",
        (run_id,),
    )
    return {r["phase"]: r["snapshot_id"] for r in rows}


def run_summaries(db: JournalFile) -> dict[str, str]:
    """run_id -> the removed memberships per list its verification found."""
    rows = db.query(
        "SELECT run_id, summary FROM snapshots WHERE phase = 'after' AND summary IS NOT NULL "
        "ORDER BY created_at"
    )
    return {r["run_id"]: r["summary"] for r in rows}


# -- reading ----------------------------------------------------------------------------------
def journal_builder(
    sj: SnapshotJournal,
    keys: Sequence[str | None] | None = None,
    pass_index: int | None = None,
    builder: SnapshotBuilder | None = None,
) -> SnapshotBuilder:
    """A journaled read's members (of pass ``pass_index``, None: all) added to
    ``builder`` (None: a new one), a page at a time: the members its pages keep, and
    the counts of the others (as the read that wrote them built them)."""
    builder = SnapshotBuilder() if builder is None else builder
    passes = sj.passes
    for i, rows, counts in sj.counted_pages(pass_index, keys):
        builder.extend(map(_from_journal, rows))
        if counts is not None:
            builder.count_others(i, passes[i]["lists"], counts)
    return builder


def _input_keys(sj: SnapshotJournal, given: Any) -> Sequence[str | None] | None:
    """What the positions of ``sj``'s pages point into: the distinct ids of the run's
    journaled id column ``given``, or (a read for addresses) that column's rows, each
    row's contact; None when its pages keep ids. A column whose ids are not those the
    read was made for is a JournalError."""
    record = sj.selection
    if record is not None and record["by"] == "email" and given is not None:
        return [c if isinstance(c, str) else None for c in given.tolist()]
    if record is None or record["by"] != "contact_id":
        return None
    selection = Selection.of("contact_id", check_ids(given).ids if given is not None else ())
    if selection.fingerprint != record["fingerprint"]:
        raise JournalError(
            f"membership snapshot {sj.snapshot_id} was read for another id column than "
            "the one its run journaled: the run cannot be planned again from it"
        )
    return selection.keys


def _from_journal(rec: list[Any]) -> dict[str, Any]:
    contact_id, status, lists, tags = rec
    return {"contact_id": contact_id, "email": None, "status": status, "lists": lists, "tags": tags}


#: The request counts a membership plan journals (``membership_meta``), 0 when absent.
_JOURNALED_COUNTS = ("read_requests", "verify_requests", "full_verify_requests", "naive_requests")


def rebuild_membership_plan(
    db: JournalFile,
    meta: Mapping[str, Any],
    given: Any,
    list_ids: Sequence[str],
    pace: Mapping[str, Any],
    base: Any = None,
    kind: str = "remove",
) -> Any:
    """The plan of a journaled run with a snapshot, planned again from the journal:
    the snapshot's pages (ids only) and the run's id column."""
    mm = meta["membership"]
    keys = _input_keys(SnapshotJournal.open(db, mm["snapshot_id"]), given)
    snap = load_snapshot(db, mm["snapshot_id"], list_ids, mm.get("list_names") or {}, keys)
    column = meta["column"]
    if mm["key"] == "source":
        m = preview_source(snap, base.source, list(list_ids), exclude=base.exclude)
        plan = base
    else:
        plan = plan_membership_removal(
            given.rename(column),
            list(list_ids),
            snap,
            column=column,
            by="contact_id",
            allow_empty=mm["key"] == "email",
            kind=kind,
            **pace,
        )
        m = plan.membership
        if mm["key"] == "email":
            rows = restore_email_rows(plan.rows, mm.get("email_codes") or {})
            codes = rows["plan_status"].cat.codes.to_numpy()
            plan = dataclasses.replace(plan, rows=rows)
            m = dataclasses.replace(m, key="email", row_codes=codes)
    counts: dict[str, Any] = {name: int(mm.get(name, 0)) for name in _JOURNALED_COUNTS}
    m = dataclasses.replace(
        m,
        snapshot_id=mm["snapshot_id"],
        lookup=mm.get("lookup", "snapshot"),
        verify_method=str(mm.get("verify_method", VerifyMethod.FULL)),
        **counts,
    )
    return dataclasses.replace(plan, membership=m)
