"""A journal file that is damaged, or a disk that fills up mid-run: a JournalError that
names the file and what to do, never a raw sqlite3 error, and a run id to resume."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.errors import JournalError
from ccpandas.report.progress import NullReporter, Snapshot
from ccpandas.store.journal import DATA_DIR_ENV, JOURNAL_FILE, open_journal

REMOVE = "/v3/activities/remove_list_memberships"


@pytest.fixture
def emu():
    with Emulator(seed=7, contacts=3000, lists=3, rate=None, speed=1e6) as emulator:
        yield emulator


def client_for(emu) -> ccpandas.Client:
    return ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)


def posts(emu) -> int:
    return emu.account.count(method="POST", route=REMOVE)


def damaged_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The journal copied into a new data directory (as another process would open it),
    with garbage written over the page that holds the ``runs`` table."""
    copy = tmp_path / "other" / JOURNAL_FILE
    copy.parent.mkdir()
    target = sqlite3.connect(copy)
    open_journal().connect().backup(target)
    (root,) = target.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
    (page_size,) = target.execute("PRAGMA page_size").fetchone()
    target.close()
    with open(copy, "r+b") as f:
        f.seek(page_size * (root - 1))
        f.write(b"\x0d" + os.urandom(page_size - 1))
    monkeypatch.setenv(DATA_DIR_ENV, str(copy.parent))
    return copy


def test_a_damaged_journal_is_a_journal_error_naming_the_file(
    emu, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:600]})
    first = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    copy = damaged_copy(monkeypatch, tmp_path)
    sent = posts(emu)

    calls = {
        "runs": lambda: ccpandas.runs(),
        "resume": lambda: ccpandas.resume(first.run_id, client=client, progress=False),
        "remove": lambda: df.cc.remove_from_lists(
            emu.account.list_ids()[1:2], client=client, progress=False, snapshot=False
        ),
    }
    for name, call in calls.items():
        with pytest.raises(JournalError) as caught:
            call()
        text = str(caught.value)
        assert caught.value.path == copy, name
        assert str(copy) in text and "damaged" in text and "Move it aside" in text, name
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError), name
    assert posts(emu) == sent  # the new removal sent nothing
    assert copy.exists()  # never moved without the user's say

    # What the message says works: the file moved aside, the next run starts afresh.
    copy.rename(copy.with_name(JOURNAL_FILE + ".damaged"))
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "fresh"))  # a new process's view
    assert ccpandas.runs().empty


class DiskFillsUp(NullReporter):
    """Fills the journal's file to its page limit as the first request is accepted,
    as a disk that fills up mid-run would."""

    def __init__(self) -> None:
        super().__init__()
        self.filled = False

    def update(self, snap: Snapshot) -> None:
        if snap.phase != "submitting" or self.filled:
            return
        self.filled = True
        conn = open_journal().connect()
        conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
        (pages,) = conn.execute("PRAGMA page_count").fetchone()
        conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        for size in (4000, 400, 40, 4):
            with pytest.raises(sqlite3.OperationalError, match="full"):
                while True:
                    conn.execute("INSERT INTO filler VALUES (randomblob(?))", (size,))


def test_a_full_disk_mid_run_is_a_journal_error_with_the_run_id(emu):
    client = client_for(emu)
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 6 batches

    with pytest.raises(JournalError) as caught:
        df.cc.remove_from_lists([target], client=client, progress=DiskFillsUp(), snapshot=False)

    assert "disk is full" in str(caught.value)
    result = caught.value.result
    assert result is not None and result.run_id
    assert result.run_id in "\n".join(caught.value.__notes__)

    # Space freed: the run resumes from what was journaled, nothing accepted sent twice.
    conn = open_journal().connect()
    conn.execute("DROP TABLE filler")
    conn.execute("PRAGMA max_page_count = 1073741823")
    resumed = ccpandas.resume(result.run_id, client=client, progress=False)
    assert resumed.ok
    assert not emu.account.members(target) & set(df["contact_id"])
    assert posts(emu) <= 6 + sum(r.resent for r in resumed.runs)


@pytest.mark.parametrize(
    ("table", "column", "garbage"),
    [
        ("runs", "rows", b"\x78\x01half a page"),  # the input column: zlib cut short
        ("runs", "plan", '{"verify": tr'),  # the plan's JSON cut short
        ("batches", "errors", "["),  # a batch's record
        ("snapshot_pages", "members", b"CCJ3\x00"),  # a page of the membership read
    ],
)
def test_a_damaged_record_in_a_sound_file_is_a_journal_error_naming_file_and_run(
    emu, table: str, column: str, garbage: object
):
    # SQLite keeps no checksum of what a page holds: bytes damaged inside a record (a
    # disk fault, a half-written page) read back as they are. Such a record was a raw
    # zlib.error or JSONDecodeError traceback from runs(), run_result() and resume().
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:600]})
    run = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=True, wait=False
    )
    db = open_journal()
    db.connect().execute(f"UPDATE {table} SET {column} = ?", (garbage,))
    sent = emu.account.count()
    calls = {
        "runs": lambda: ccpandas.runs(),
        "run_result": lambda: ccpandas.run_result(run.run_id),
        "resume": lambda: ccpandas.resume(run.run_id, client=client, progress=False),
    }
    if table != "runs" or column != "plan":
        del calls["runs"]  # runs() lists what it can: it needs no other record
    for name, call in calls.items():
        with pytest.raises(JournalError) as caught:
            call()
        text = str(caught.value)
        assert caught.value.path == db.path and str(db.path) in text, (name, text)
        assert run.run_id in text and "cannot be read" in text, (name, text)
    assert emu.account.count() == sent  # nothing read or sent


def test_a_full_disk_before_a_run_starts_says_no_run_was_started(emu):
    # The journal could not record the new run: the error said "resuming the run
    # continues it", of a run that does not exist and has no id to resume.
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:600]})
    DiskFillsUp().update(Snapshot("submitting", 0, 0))  # full before the run
    with pytest.raises(JournalError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    text = str(caught.value)
    assert "disk is full" in text and "resum" not in text
    assert "No run was started" in text and "nothing was sent" in text
    assert posts(emu) == 0
