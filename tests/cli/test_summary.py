"""One summary, one word (issue 19 item 4, issue 21 §1): Python (``result.ok``,
``repr``, HTML), the CLI's text, ``--json`` and exit code, and ``ccpandas.runs()`` say the
same thing about the same run. Everything runs against the emulator over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.cli.main import ExitCode
from ccpandas.run.result import RemovalResult
from ccpandas.run.summary import Summary
from ccpandas.vocab import RunOutcome


def runs_row(run_id: str) -> pd.Series:
    return ccpandas.runs().set_index("run_id").loc[run_id]


def test_blank_and_malformed_addresses_are_skipped_completed_exit_0(
    cli, api, lists, members_csv, tmp_path: Path
) -> None:
    # An export as nearly every one is: blanks and junk among real addresses. Before,
    # the CLI said "failed" and exited 1 for it, while `ccpandas runs` said completed.
    emails = pd.read_csv(members_csv, dtype=str)["email"].tolist()
    column = [*emails, "", "not an address", None, "x@@example", "  "]
    path = tmp_path / "churned.csv"
    names = [f"person {i}" for i in range(len(column))]  # a blank email is no blank line
    pd.DataFrame({"name": names, "email": column}).to_csv(path, index=False)
    name = lists["name"].iloc[0]
    args = ("remove", str(path), "--lists", name, "--column", "email", "--yes")
    ran = cli(*args, "--json")
    assert ran.code == ExitCode.OK, ran.out + ran.err
    report = json.loads(ran.out)
    assert report["outcome"] == "completed" and report["ok"] is True
    assert report["exit_code"] == 0 and report["stop_reason"] is None
    skipped = report["skipped"]
    assert sum(skipped.values()) == 5 and set(skipped) == {"missing", "invalid_email"}
    assert report["rows_by_status"]["removed"] == len(emails)
    assert report["lists"][0]["verified"] == len(emails)
    # runs(): the same word, from the journal
    row = runs_row(report["run_id"])
    assert row["state"] == "completed" and row["outcome"] == "completed"
    listed = cli("runs", "--json")
    assert json.loads(listed.out)[0]["state"] == "completed"
    # Python: the same result rebuilt from the journal says the same
    result = ccpandas.run_result(report["run_id"], api)
    summary = result.summary()
    assert result.ok and summary.outcome is RunOutcome.COMPLETED
    assert summary.skipped == skipped
    assert "outcome: completed (ok); skipped 5" in repr(result)
    assert "outcome: completed (ok); skipped 5" in result._repr_html_()


def test_the_text_summary_counts_the_skips(cli, lists, members_csv, tmp_path: Path) -> None:
    frame = pd.read_csv(members_csv, dtype=str)
    path = tmp_path / "with-blanks.csv"
    junk = pd.DataFrame({"email": [*frame["email"], "", "nope"]})
    junk.assign(name="someone").to_csv(path, index=False)
    name = lists["name"].iloc[0]
    ran = cli("remove", str(path), "--lists", name, "--column", "email", "--yes")
    assert ran.code == ExitCode.OK, ran.out + ran.err
    assert ": completed" in ran.out
    assert "skipped    2 rows never sendable" in ran.out
    assert "did not succeed" not in ran.out


def test_a_still_member_is_not_ok_exit_1_and_runs_agrees(cli, emu, api, lists, members_csv):
    # The activity completes, yet a re-read shows one contact still on the list: not
    # every pair ended as asked. Before, result.ok was True for it.
    first = lists["list_id"].iloc[0]
    stubborn = pd.read_csv(members_csv, dtype=str)["contact_id"].iloc[3]
    emu.keep_members([(stubborn, first)])
    args = ("remove", str(members_csv), "--lists", first, "--snapshot", "yes", "--yes")
    ran = cli(*args, "--json")
    assert ran.code == ExitCode.FAILED, ran.out + ran.err
    report = json.loads(ran.out)
    assert report["outcome"] == "failed" and report["ok"] is False
    assert report["activities"] == {"completed": 1}
    assert report["rows_by_status"]["still_member"] == 1
    assert report["pairs_by_outcome"]["still_member"] == 1
    assert "STILL MEMBERS" in ran.err  # the warning, on stderr
    row = runs_row(report["run_id"])
    assert row["state"] == "failed" and row["outcome"] == "failed"
    with pytest.warns(UserWarning, match="STILL MEMBERS"):
        result = ccpandas.run_result(report["run_id"], api).verify()
    assert not result.ok and result.summary().exit_code == ExitCode.FAILED
    assert "outcome: failed; not as asked 1 (still_member 1)" in repr(result)


def test_a_still_member_in_python_is_not_ok_and_runs_agrees(emu, api, lists, members_csv):
    first = lists["list_id"].iloc[0]
    ids = pd.read_csv(members_csv, dtype=str)["contact_id"].tolist()
    emu.keep_members([(ids[0], first)])
    df = pd.DataFrame({"contact_id": ids})
    with pytest.warns(UserWarning, match="STILL MEMBERS"):
        result = df.cc.remove_from_lists([first], client=api, snapshot=True, progress=False)
    summary = result.summary()
    assert not result.ok and summary.outcome is RunOutcome.FAILED
    assert summary.failures == {"still_member": 1}
    assert runs_row(result.run_id)["state"] == "failed"
    page = result._repr_html_()
    for line in summary.lines():
        assert line.replace("'", "&#x27;") in page  # the HTML shows the text's lines


def test_a_journal_without_outcomes_keeps_the_state_rules(emu, api, lists, members_csv):
    # An older journal (or a run whose process died) has no summary word: runs() tells
    # the state from the batches as before.
    first = lists["list_id"].iloc[0]
    df = pd.read_csv(members_csv, dtype=str)[["contact_id"]]
    result = df.cc.remove_from_lists([first], client=api, snapshot=False, progress=False)
    from ccpandas.store.journal import open_journal

    assert runs_row(result.run_id)["outcome"] == "completed"
    with open_journal().transaction() as conn:
        conn.execute("UPDATE runs SET outcome = NULL WHERE run_id = ?", (result.run_id,))
    row = runs_row(result.run_id)
    assert row["state"] == "completed" and row["outcome"] is None


def test_an_old_journal_file_gets_the_outcome_column(tmp_path: Path) -> None:
    import sqlite3

    from ccpandas.store.journal import JournalDB

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the runs table as the first release wrote it
        conn.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, base_url TEXT, source TEXT NOT NULL, list_ids TEXT "
            "NOT NULL, n_rows INTEGER NOT NULL, n_contacts INTEGER, n_batches INTEGER NOT "
            "NULL, plan TEXT NOT NULL, rows BLOB NOT NULL, status TEXT NOT NULL, "
            "stop_reason TEXT, stopped_at TEXT)"
        )
    JournalDB(path).query("SELECT 1")  # opening it migrates
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    assert {"kind", "parent", "outcome"} <= columns


def test_undo_shows_through_the_same_summary_without_display_overrides() -> None:
    # What differs between a removal and an undo is data the summary reads: an undo's
    # result is a RemovalResult itself, no subclass (issue 19 item 2: one result type).
    from ccpandas.run import undo

    classes = [v for v in vars(undo).values() if isinstance(v, type)]
    assert not [c for c in classes if issubclass(c, RemovalResult) and c is not RemovalResult]
    assert Summary.of.__doc__
