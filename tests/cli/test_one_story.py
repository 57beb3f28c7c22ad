"""Issue 21, section 6, on the command line: ``undo`` logs as ``remove`` does, ``runs``
names kinds, parents and lists, ``resume --json`` names lists given by name, messages
name flags, a missing column points at the one that holds addresses, ``--output`` CSVs
are safe to open in a spreadsheet, and a 401 says to log in again, then resume.

Every command runs in-process against the emulator over real HTTP."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.cli.main import ExitCode, main
from ccpandas.store.journal import RunJournal

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ccpandas: \w+: ")


def _removed(cli, members_csv: Path, name: str, *extra: str) -> dict:
    ran = cli("remove", str(members_csv), "--lists", name, "--yes", "--json", *extra)
    assert ran.code == ExitCode.OK, ran.err
    return json.loads(ran.out)


# --------------------------------------------------------------------------- undo and runs


def test_undo_in_a_log_writes_timestamped_lines_like_remove(cli, lists, members_csv) -> None:
    run = _removed(cli, members_csv, lists["name"].iloc[0])
    ran = cli("undo", run["run_id"], "--yes")  # stderr is a StringIO: not a terminal
    assert ran.code == ExitCode.OK, ran.err
    lines = ran.err.splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), ran.err
    assert "\r" not in ran.err and "\x1b" not in ran.err and "it/s" not in ran.err
    assert any("restored (verified)" in line for line in lines)


def test_runs_shows_kind_parent_and_list_names(cli, lists, members_csv) -> None:
    name = lists["name"].iloc[0]
    run = _removed(cli, members_csv, name, "--snapshot", "yes")
    undo = json.loads(cli("undo", run["run_id"], "--yes", "--json").out)
    ran = cli("runs")
    assert ran.code == ExitCode.OK, ran.err
    header, *rows = ran.out.splitlines()
    assert header.split()[:4] == ["run_id", "started_at", "kind", "state"]
    assert "parent" in header.split() and "lists" in header.split()
    undo_row = next(r for r in rows if r.startswith(undo["run_id"]))
    remove_row = next(r for r in rows if r.startswith(run["run_id"]))
    assert " undo " in undo_row and run["run_id"] in undo_row  # its parent
    assert " remove " in remove_row and name in remove_row and name in undo_row
    # Which run undid it, structured (a note only before): runs --json, resume --json.
    records = {r["run_id"]: r for r in json.loads(cli("runs", "--json").out)}
    assert records[run["run_id"]]["undone_by"] == undo["run_id"]
    assert records[undo["run_id"]]["undone_by"] is None and undo["undone_by"] is None
    resumed = cli("resume", run["run_id"], "--json")  # over: nothing to send, not refused
    assert json.loads(resumed.out)["undone_by"] == undo["run_id"], resumed.err


# --------------------------------------------------------------------------- resume and 401


def test_a_401_says_log_in_then_resume_and_resume_names_the_lists(
    cli, emu, api, lists, members_csv, monkeypatch
) -> None:
    name = lists["name"].iloc[0]
    # One accepted request (the listing that resolves the name), then 401: expired.
    short = emu.issue_token(token="short-lived", expires_after=1)
    monkeypatch.setenv("CC_ACCESS_TOKEN", short)
    out, err = io.StringIO(), io.StringIO()
    args = ["remove", str(members_csv), "--lists", name, "--yes", "--snapshot", "no", "--json"]
    code = main([*args, "--base-url", emu.base_url], stdin=io.StringIO(), stdout=out, stderr=err)
    report = json.loads(out.getvalue())
    assert code == ExitCode.FAILED and report["outcome"] == "stopped"
    assert report["lists"][0]["name"] == name
    error = report["error"]
    assert "expired or was revoked" in error and "Log in again" in error
    assert "`ccpandas login`" in error and "%cc_connect" in error
    assert f"ccpandas resume {report['run_id']}" in error and "ccpandas.resume(" not in error
    assert short not in out.getvalue() + err.getvalue()
    again = cli("resume", report["run_id"], "--json")  # the emulator's own token: a new login
    resumed = json.loads(again.out)
    assert again.code == ExitCode.OK and resumed["outcome"] == "completed", again.err
    assert resumed["lists"][0]["name"] == name  # given by name: not null
    assert resumed["error"] is None


def test_the_python_401_names_the_login_and_the_resume_call(emu, api, lists) -> None:
    first = lists["list_id"].iloc[0]
    ids = sorted(ccpandas.read_contacts(api, lists=[first])["contact_id"])[:3]
    short = emu.issue_token(token="revoked-soon")
    client = ccpandas.Client(token=short, base_url=emu.base_url, rate=None)
    plan = ccpandas.api.plan_list_removal(
        pd.DataFrame({"contact_id": ids}), [first], snapshot=False
    )
    emu.revoke_token(short)
    try:
        ccpandas.api.run_plan(plan, client, progress=False)
    except ccpandas.AuthError as exc:
        text = str(exc)
        run_id = exc.result.run_id  # type: ignore[attr-defined]
    else:  # pragma: no cover - the point of the test
        raise AssertionError("a revoked token did not stop the run")
    finally:
        client.close()
    assert "Log in again (`%cc_connect` in a notebook, `ccpandas login`" in text
    assert f"ccpandas.resume({run_id!r}, client=client)" in text
    assert short not in text


def test_error_is_null_not_an_empty_string(api, lists, members_csv) -> None:
    from ccpandas.run.summary import Summary

    data = pd.read_csv(members_csv, dtype=str)
    plan = ccpandas.api.plan_list_removal(data, [lists["list_id"].iloc[0]], snapshot=False)
    result = ccpandas.api.run_plan(plan, api, dry_run=True)
    # A Ctrl-C's KeyboardInterrupt has no text: the key is null, as documented.
    assert Summary.of(result, error=KeyboardInterrupt()).to_json("remove", None)["error"] is None


# --------------------------------------------------------------------------- messages


def test_messages_name_the_flags_not_the_python_arguments(cli, lists, members_csv) -> None:
    name = lists["name"].iloc[0]
    missing = cli("plan", str(members_csv), "--lists", name, "--column", "mail")
    assert missing.code == ExitCode.USAGE
    assert "--column NAME" in missing.err and "column='" not in missing.err
    blind = cli(
        "remove", str(members_csv), "--lists", name, "--column", "email", "--snapshot", "no"
    )
    assert blind.code == ExitCode.USAGE
    assert "--snapshot yes or auto" in blind.err and "--by contact_id" in blind.err
    assert "snapshot=" not in blind.err and "by='" not in blind.err


def test_resume_messages_name_the_runs_command(cli, lists, members_csv) -> None:
    # An unknown run id, and a run another process drives: each message points at the
    # list of runs, as the command line spells it.
    unknown = cli("resume", "20990101-000000-000000")
    assert unknown.code == ExitCode.USAGE
    run = _removed(cli, members_csv, lists["name"].iloc[0], "--snapshot", "no")
    with RunJournal.open(run["run_id"]).attach([]):  # as another process driving it
        locked = cli("resume", run["run_id"])
    assert locked.code == ExitCode.USAGE and "another process" in locked.err
    for ran in (unknown, locked):
        assert "ccpandas runs" in ran.err and "ccpandas.runs()" not in ran.err


def test_undo_of_a_run_without_snapshot_names_the_flag(cli, lists, members_csv) -> None:
    run = _removed(cli, members_csv, lists["name"].iloc[0], "--snapshot", "no")
    refused = cli("undo", run["run_id"], "--yes")
    assert refused.code == ExitCode.USAGE
    assert "--snapshot yes" in refused.err and "snapshot=True" not in refused.err


def test_in_flags_translates_the_library_spellings() -> None:
    from ccpandas.cli.main import in_flags

    assert in_flags("pass snapshot=False") == "pass --snapshot no"
    assert in_flags("or pass wait_for_quota=True to wait") == "or pass --wait-for-quota to wait"
    assert in_flags("max_removed=0.5 or none") == "--max-removed 0.5 or none"
    assert (
        in_flags("continue with ccpandas.resume('20250301-231501-7f3a2c', client=client)")
        == "continue with ccpandas resume 20250301-231501-7f3a2c"
    )


def test_a_missing_column_suggests_the_only_one_holding_addresses(
    cli, lists, members_csv, tmp_path: Path
) -> None:
    export = pd.read_csv(members_csv, dtype=str)
    frame = pd.DataFrame(
        {
            "Email Address": export["email"],
            "First Name": "Ann",
            "contact": "yes",  # a name like contact_id, but no ids in it
        }
    )
    path = tmp_path / "crm.csv"
    frame.to_csv(path, index=False)
    ran = cli("plan", str(path), "--lists", lists["name"].iloc[0])
    assert ran.code == ExitCode.USAGE
    assert "Did you mean 'Email Address'?" in ran.err
    assert "the only column that holds email addresses" in ran.err
    assert "'contact'?" not in ran.err


# --------------------------------------------------------------------------- --output


def test_output_csv_defuses_formulas_and_has_no_index_column(
    cli, lists, members_csv, tmp_path: Path
) -> None:
    ids = pd.read_csv(members_csv, dtype=str)["contact_id"].head(2).tolist()
    hostile = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", *ids]
    source = tmp_path / "in.csv"
    pd.DataFrame({"contact_id": hostile}).to_csv(source, index=False)
    out = tmp_path / "out.csv"
    ran = cli(
        "remove", str(source), "--lists", lists["name"].iloc[0], "--yes", "--output", str(out)
    )
    assert ran.code == ExitCode.OK, ran.err
    with out.open(newline="") as fh:
        header, *rows = list(csv.reader(fh))
    assert header[0] == "status" and "" not in header  # no unnamed index column
    given = [row[header.index("contact_id")] for row in rows]
    assert given == ["'" + v for v in hostile[:4]] + ids
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)
    # Parquet keeps the values as they were (no spreadsheet runs them).
    pq = tmp_path / "out.parquet"
    assert cli("plan", str(source), "--lists", lists["name"].iloc[0], "--output", str(pq)).code == 0
    assert pd.read_parquet(pq)["contact_id"].tolist() == hostile


def test_the_documented_output_columns_are_the_written_ones(
    cli, lists, members_csv, tmp_path: Path
) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    paragraph = doc[doc.index("`--output result.csv`") : doc.index("`plan\n--output`")]
    documented = set(re.findall(r"`([a-z_]+)`", paragraph))
    out = tmp_path / "out.csv"
    ran = cli(
        "remove", str(members_csv), "--lists", lists["name"].iloc[0], "--column", "email",
        "--yes", "--dry-run", "--output", str(out),
    )  # fmt: skip
    assert ran.code == ExitCode.OK, ran.err
    written = pd.read_csv(out, nrows=0).columns.tolist()
    assert set(written) == documented


@pytest.mark.emulator(contacts=700, lists=2)
def test_a_run_stopped_by_the_quota_is_told_alike_by_cli_runs_and_run_result(
    cli, emu, api, tmp_path: Path
) -> None:
    contacts = ccpandas.read_contacts(api)  # 700 contacts: two requests of <= 500
    path = tmp_path / "all.csv"
    contacts[["contact_id"]].to_csv(path, index=False)
    list_ids = ",".join(ccpandas.read_contact_lists(api)["list_id"])
    emu.configure(quota_left=2)  # the lists' check and one POST
    ran = cli("remove", str(path), "--lists", list_ids, "--yes", "--json", "--snapshot", "no")
    assert ran.code == ExitCode.QUOTA, ran.err
    report = json.loads(ran.out)
    listed = json.loads(cli("runs", "--json").out)[0]
    rebuilt = ccpandas.run_result(report["run_id"]).summary()  # another process's view
    assert report["outcome"] == listed["outcome"] == str(rebuilt.outcome) == "quota_exceeded"
    assert report["stop_reason"] == listed["stop_reason"] == rebuilt.stop_reason
    emu.configure(quota_left=None)  # the reset: a resume clears the stop
    assert cli("resume", report["run_id"]).code == ExitCode.OK
    assert ccpandas.run_result(report["run_id"]).summary().outcome == "completed"


@pytest.mark.emulator(start_delay=3600.0)  # the activities wait an hour to start
def test_a_run_that_timed_out_is_told_alike_by_cli_runs_and_run_result(
    cli, lists, members_csv
) -> None:
    name = lists["name"].iloc[0]
    ran = cli("remove", str(members_csv), "--lists", name, "--yes", "--json", "--timeout", "0")
    assert ran.code == ExitCode.FAILED, ran.err
    report = json.loads(ran.out)
    rebuilt = ccpandas.run_result(report["run_id"]).summary()  # another process's view
    views = [report, json.loads(cli("runs", "--json").out)[0], dataclasses.asdict(rebuilt)]
    assert {str(view["outcome"]) for view in views} == {"processing"}
    assert {view["stop_reason"] for view in views} == {"timeout"}
    shown = cli("runs").out.splitlines()[1]
    assert shown.startswith(report["run_id"]) and shown.endswith("timeout")


def test_a_401_before_any_run_names_no_python_argument(emu, monkeypatch) -> None:
    # cli.md: messages name the command line's flags, not the Python arguments. A token
    # the API refused at the first request (`ccpandas lists`, or the listing of a
    # `remove` by name) said "pass a fresh token as token=... or in CC_ACCESS_TOKEN": the
    # command line has no token option.
    monkeypatch.setenv("CC_ACCESS_TOKEN", "a-token-the-api-refuses")
    out, err = io.StringIO(), io.StringIO()
    code = main(["lists", "--base-url", emu.base_url], stdin=io.StringIO(), stdout=out, stderr=err)
    assert code == ExitCode.USAGE and "401" in err.getvalue(), err.getvalue()
    assert "token=" not in err.getvalue() and "CC_ACCESS_TOKEN" in err.getvalue()
    assert "a-token-the-api-refuses" not in out.getvalue() + err.getvalue()


def test_an_unverified_run_s_undo_refusal_names_the_flag(cli, lists, members_csv) -> None:
    # The refusal said "not verified (verify=False, ...)": the command line's word is
    # --verify none (cli.md: messages name the flags, not the Python arguments).
    name = lists["name"].iloc[0]
    ran = cli(
        "remove", str(members_csv), "--lists", name, "--snapshot", "yes", "--verify", "none",
        "--yes", "--json",
    )  # fmt: skip
    assert ran.code == ExitCode.OK, ran.err
    refused = cli("undo", json.loads(ran.out)["run_id"], "--dry-run")
    assert refused.code == ExitCode.USAGE and "not verified" in refused.err, refused.err
    assert "verify=False" not in refused.err and "--verify none" in refused.err


@pytest.mark.emulator(contacts=2_000)
def test_the_plan_names_the_verify_flag(cli, api, lists, tmp_path: Path) -> None:
    # A plan that verifies by the changed contacts said "verify=True forces a full
    # re-read" on the command line too, which has --verify full, not verify=True.
    biggest = lists.sort_values("membership_count").iloc[-1]
    assert biggest["membership_count"] > 500  # a full re-read costs more than the send
    few = ccpandas.read_contacts(api, lists=[biggest["list_id"]])[["contact_id"]].head(5)
    few.to_csv(tmp_path / "few.csv", index=False)
    ran = cli("plan", str(tmp_path / "few.csv"), "--lists", biggest["list_id"], "--snapshot", "yes")
    assert ran.code == ExitCode.OK, ran.err
    line = next(x for x in ran.out.splitlines() if x.strip().startswith("verification"))
    assert "forces a full re-read" in line and "--verify full" in line, line


def test_a_list_not_of_the_account_points_to_ccpandas_lists(cli, emu) -> None:
    # The refusal said "read_contact_lists() shows the account's active lists": the
    # command line's way to see them is `ccpandas lists`.
    ids = sorted(emu.account.members(emu.account.list_ids()[0]))[:2]
    stdin = "contact_id\n" + "\n".join(ids) + "\n"
    refused = cli("plan", "-", "--lists", "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f", stdin=stdin)
    assert refused.code == ExitCode.USAGE and "not a list of this account" in refused.err
    assert "read_contact_lists" not in refused.err and "ccpandas lists" in refused.err


@pytest.mark.parametrize("snapshot", ["no", "yes"])
def test_a_run_by_list_name_counts_its_listing_retries_included(
    cli, emu, lists, members_csv, snapshot
) -> None:
    # The listing that resolves the names is sent before the plan is made: it (and its
    # retries after a 5xx) were missing from the requests a run said it spent.
    name = lists["name"].iloc[0]
    before = emu.account.count()
    dry = cli(
        "remove", str(members_csv), "--lists", name, "--snapshot", "no", "--dry-run", "--json"
    )
    assert dry.code == ExitCode.OK, dry.err
    assert json.loads(dry.out)["requests_spent"]["total"] == emu.account.count() - before == 1
    before = emu.account.count()
    emu.configure(error_rate=0.5, gateway_timeouts=False)
    run = _removed(cli, members_csv, name, "--snapshot", snapshot)
    emu.configure(error_rate=0)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    spent = emu.account.count() - before
    assert run["requests_spent"]["total"] == spent
    (row,) = [r for r in json.loads(cli("runs", "--json").out) if r["run_id"] == run["run_id"]]
    assert row["requests_spent"] == spent


def test_remove_and_runs_say_the_requests_the_run_spent(cli, emu, lists, members_csv) -> None:
    # The summary's "requests" counts change requests only: the reads, polls and
    # verification the run spent were on no line, --json key or runs() column.
    name = lists["name"].iloc[0]
    before = emu.account.count()
    run = _removed(cli, members_csv, name, "--snapshot", "yes")
    spent = emu.account.count() - before
    assert run["requests_spent"]["total"] == spent > run["requests"]["total"]
    parts = {k: v for k, v in run["requests_spent"].items() if k != "total"}
    assert sum(parts.values()) == spent and parts["changes"] == run["requests"]["total"]
    assert parts["reads"] > 0 and parts["polls"] > 0 and parts["verification"] > 0
    (row,) = [r for r in json.loads(cli("runs", "--json").out) if r["run_id"] == run["run_id"]]
    assert row["requests_spent"] == spent and row["requests_spent_at_least"] is False
    header, *rows = cli("runs").out.splitlines()
    assert "spent" in header.split() and re.search(rf"%\s+{spent:,}\b", rows[0]), rows[0]
    text = cli("resume", run["run_id"]).out  # a finished run: its summary again
    assert f"spent      {spent:,} in all (reads {parts['reads']:,}, " in text
