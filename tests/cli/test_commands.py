"""``ccpandas`` commands run in-process (``main([...])``) against the emulator: what they
print, what they send, and their exit codes."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.cli.main import ExitCode, LogReporter, main, read_table

#: The documented keys of the JSON object of remove, resume and undo (docs/cli.md).
REPORT_KEYS = {
    "kind",
    "ok",
    "skipped",
    "pairs_by_outcome",
    "verified_word",
    "verification",
    "command",
    "run_id",
    "dry_run",
    "outcome",
    "exit_code",
    "rows",
    "contacts",
    "rows_by_status",
    "requests",
    "activities",
    "requests_spent",  # every request the run spent, per part (added, not changed)
    "requests_spent_at_least",  # that count is a lower bound (a killed process's)
    "lists",
    "stopped",
    "stop_reason",
    "resume",
    "error",
    "notes",  # the summary's other lines, as the text's note lines (added, not changed)
    "undone_by",  # the undo that reverted the run, or null (added, not changed)
    "output",
    "input",
}
LIST_KEYS = {
    "list_id",
    "name",
    "requests",
    "accepted",
    "completed",
    "failed",
    "contacts_sent",
    "contacts_completed",
    "verified",
}


class FakeTerminal(io.StringIO):
    """Standard input that says it is a terminal, with the user's typed answer."""

    def isatty(self) -> bool:
        return True


def members_of(api, list_id: str) -> set[str]:
    return set(ccpandas.read_contacts(api, lists=[list_id])["contact_id"])


def names(lists: pd.DataFrame, n: int = 2) -> str:
    return ",".join(lists["name"].iloc[:n])


# --------------------------------------------------------------------------- lists, plan


def test_lists_text_and_json(cli, lists) -> None:
    ran = cli("lists")
    assert ran.code == ExitCode.OK
    for name in lists["name"]:
        assert name in ran.out
    ran = cli("lists", "--json")
    records = json.loads(ran.out)
    assert [r["name"] for r in records] == lists["name"].tolist()
    assert [r["list_id"] for r in records] == lists["list_id"].tolist()
    assert [r["members"] for r in records] == lists["membership_count"].tolist()


def test_plan_prints_the_plan_and_sends_no_change(cli, emu, api, lists, members_csv) -> None:
    first = lists["list_id"].iloc[0]
    before = members_of(api, first)
    used = emu.account.count()
    ran = cli("plan", str(members_csv), "--lists", names(lists), "--snapshot", "no")
    assert ran.code == ExitCode.OK, ran.err
    assert "nothing sent yet" in ran.out
    assert f"{len(before):,} unique valid ids" in ran.out
    assert emu.account.count() == used + 1  # the one listing that resolves the names
    assert members_of(api, first) == before


def test_the_plans_undo_line_names_the_command_not_the_python_call(cli, lists, members_csv) -> None:
    ran = cli("plan", str(members_csv), "--lists", names(lists), "--snapshot", "yes")
    assert ran.code == ExitCode.OK, ran.err
    assert "possible: ccpandas undo RUN_ID puts back" in ran.out
    assert "ccpandas.undo(" not in ran.out


def test_plan_with_list_ids_needs_no_connection(cli, emu, lists, members_csv) -> None:
    used = emu.account.count()
    ids = ",".join(lists["list_id"].iloc[:2])
    ran = cli("plan", str(members_csv), "--lists", ids, "--json", token=False)
    assert ran.code == ExitCode.OK, ran.err
    body = json.loads(ran.out)
    assert body["command"] == "plan"
    assert body["list_ids"] == lists["list_id"].iloc[:2].tolist()
    assert body["requests"] == 1
    assert emu.account.count() == used  # no request at all


# --------------------------------------------------------------------------- remove


def test_remove_yes_json_completes(cli, api, lists, members_csv, tmp_path: Path) -> None:
    first, second = lists["list_id"].iloc[:2]
    ids = set(pd.read_csv(members_csv)["contact_id"])
    ran = cli("remove", str(members_csv), "--lists", names(lists), "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert set(report) == REPORT_KEYS
    assert report["outcome"] == "completed"
    assert report["exit_code"] == 0
    assert report["command"] == "remove"
    assert report["dry_run"] is False
    assert report["stopped"] is False and report["resume"] is None
    assert report["stop_reason"] is None and report["error"] is None
    assert report["rows_by_status"] == {"removed": len(ids)}
    assert report["requests"] == {"total": 1, "accepted": 1, "resent": 0}
    assert report["activities"] == {"completed": 1}
    assert [item["name"] for item in report["lists"]] == lists["name"].iloc[:2].tolist()
    for item in report["lists"]:
        assert set(item) == LIST_KEYS
        assert item["contacts_sent"] == item["contacts_completed"] == len(ids)
    # the lists show it
    assert not members_of(api, first) & ids
    assert not members_of(api, second) & ids
    # the run is journaled: runs lists it
    listed = json.loads(cli("runs", "--json").out)
    assert listed[0]["run_id"] == report["run_id"]
    assert listed[0]["state"] == "completed"
    text = cli("runs").out
    assert report["run_id"] in text and "completed" in text


def test_remove_text_summary_invalid_rows_are_skipped_exit_0(cli, lists, members_csv) -> None:
    # A row that could never be sent is skipped, counted apart, not a failure (issue 21
    # §1); it made the run "failed" with exit 1 before, while runs() said completed.
    frame = pd.read_csv(members_csv, dtype=str)
    frame.loc[len(frame)] = ["not-an-id", "x@example.com"]
    frame.to_csv(members_csv, index=False)
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), "--yes")
    assert ran.code == ExitCode.OK, ran.out + ran.err
    assert ": completed" in ran.out
    assert "invalid_id 1" in ran.out
    assert "skipped    1 rows never sendable" in ran.out and "did not succeed" not in ran.out
    assert "completed" in cli("runs").out


def test_failed_activity_exit_1(cli, emu, lists, members_csv) -> None:
    emu.fail_next(1)
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), "--yes", "--json")
    assert ran.code == ExitCode.FAILED
    report = json.loads(ran.out)
    assert report["outcome"] == "failed"
    assert report["activities"] == {"failed": 1}
    assert report["lists"][0]["failed"] == 1
    assert report["lists"][0]["contacts_completed"] == 0


def test_dry_run_sends_nothing(cli, emu, lists, members_csv, tmp_path: Path) -> None:
    used, posts = emu.account.count(), emu.account.count(method="POST")
    out = tmp_path / "plan.csv"
    ids = ",".join(lists["list_id"].iloc[:1])
    ran = cli(
        "remove", str(members_csv), "--lists", ids, "--dry-run", "--json", "--output", str(out)
    )
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["dry_run"] is True and report["outcome"] == "planned"
    assert report["run_id"] is None
    # The plan read the list's members (GET pages); no removal was sent.
    assert emu.account.count() > used
    assert emu.account.count(method="POST") == posts
    assert len(pd.read_csv(out)) == len(pd.read_csv(members_csv))


def test_remove_by_email_reads_the_lists_and_reports_what_they_show(
    cli, emu, api, lists, tmp_path: Path
) -> None:
    first = lists["list_id"].iloc[0]
    members = ccpandas.read_contacts(api, lists=[first])
    path = tmp_path / "emails.csv"
    segment = members[["email"]].head(20)
    # Upper case and one address that is on no list: matched case-insensitively; the
    # stranger is reported, not sent.
    frame = pd.concat(
        [segment.assign(email=segment["email"].str.upper()), pd.DataFrame({"email": ["x@y.z"]})]
    )
    frame.to_csv(path, index=False)
    name = lists["name"].iloc[0]
    planned = cli("plan", str(path), "--column", "email", "--lists", name)
    assert planned.code == ExitCode.OK, planned.err
    assert "members leaving" in planned.out and f"{name} 20" in planned.out
    assert "pages read" in planned.err  # the read's progress, in pages, on stderr
    ran = cli("remove", str(path), "--column", "email", "--lists", name, "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["verified_word"] == "removed"
    assert report["lists"][0]["verified"] == 20
    assert report["rows_by_status"]["removed"] == 20
    assert sum(report["rows_by_status"].values()) == 21  # no row dropped
    assert not set(members["contact_id"].head(20)) & members_of(api, first)
    text = cli("remove", str(path), "--column", "email", "--lists", name, "--dry-run")
    assert text.code == ExitCode.OK, text.err
    no_snapshot = cli("plan", str(path), "--column", "email", "--lists", name, "--snapshot", "no")
    assert no_snapshot.code == ExitCode.USAGE
    assert "--snapshot yes or auto" in no_snapshot.err and "snapshot=" not in no_snapshot.err


def test_confirmation_on_a_terminal(cli, emu, api, lists, members_csv) -> None:
    first = lists["list_id"].iloc[0]
    before = members_of(api, first)
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), stdin=FakeTerminal("n\n"))
    assert ran.code == ExitCode.USAGE
    assert "[y/N]" in ran.err and "not confirmed" in ran.err
    assert members_of(api, first) == before
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), stdin=FakeTerminal("y\n"))
    assert ran.code == ExitCode.OK, ran.err
    assert not members_of(api, first) & before


def test_refuses_without_a_terminal_and_without_yes(cli, emu, api, lists, members_csv) -> None:
    first = lists["list_id"].iloc[0]
    before = members_of(api, first)
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1))
    assert ran.code == ExitCode.USAGE
    assert "--yes" in ran.err and "Nothing was sent" in ran.err
    assert members_of(api, first) == before


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_output_has_one_row_per_input_row(cli, lists, members_csv, tmp_path, suffix) -> None:
    out = tmp_path / f"result{suffix}"
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), "--yes", "--output", str(out))
    assert ran.code == ExitCode.OK, ran.err
    rows = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    given = pd.read_csv(members_csv, dtype=str)
    assert len(rows) == len(given)
    assert rows["contact_id"].astype(str).tolist() == given["contact_id"].tolist()
    assert set(rows["status"].astype(str)) == {"removed"}
    assert f"Wrote {len(given):,} rows to {out}" in ran.out


def test_parquet_and_excel_input(cli, lists, members_csv, tmp_path) -> None:
    frame = pd.read_csv(members_csv, dtype=str)
    pq, xlsx = tmp_path / "ids.parquet", tmp_path / "ids.xlsx"
    frame.to_parquet(pq)
    for path in (pq, xlsx):
        if path is xlsx:
            pytest.importorskip("openpyxl", reason="Excel files need openpyxl")
            frame.to_excel(path, index=False)
        ran = cli("plan", str(path), "--lists", names(lists, 1), "--json")
        assert ran.code == ExitCode.OK, ran.err
        assert json.loads(ran.out)["contacts"] == len(frame)


def test_stdin_csv(cli, lists, members_csv) -> None:
    text = members_csv.read_text()
    ran = cli("remove", "-", "--lists", names(lists, 1), "--yes", "--json", stdin=text)
    assert ran.code == ExitCode.OK, ran.err
    assert json.loads(ran.out)["rows"] == len(text.splitlines()) - 1


# --------------------------------------------------------------------------- exit code 2


@pytest.mark.parametrize(
    ("make", "extra", "says"),
    [
        (lambda p: p.with_suffix(".json"), [], "cannot tell the format"),
        (lambda p: p.parent / "nowhere.csv", [], "no such file"),
        (lambda p: p, ["--column", "contact"], "contact_id"),
        (lambda p: p, ["--output", "out.txt"], ".csv or .parquet"),
    ],
    ids=["unknown-extension", "missing-file", "missing-column", "bad-output"],
)
def test_bad_input_exit_2_nothing_sent(cli, emu, lists, members_csv, make, extra, says) -> None:
    path = make(members_csv)
    if path.suffix == ".json":
        path.write_text("{}")
    used = emu.account.count()
    ids = lists["list_id"].iloc[0]  # ids, not names: not even a listing is needed
    ran = cli("remove", str(path), "--lists", ids, "--yes", *extra)
    assert ran.code == ExitCode.USAGE, ran.err
    assert says in ran.err
    assert emu.account.count() == used  # not one request


@pytest.mark.parametrize("command", ["plan", "remove"])
def test_a_missing_column_costs_not_even_the_listing_of_list_names(
    cli, emu, lists, members_csv, command
) -> None:
    # Lists by name: the listing that resolves them went first, then the column's error.
    used = emu.account.count()
    yes = ["--yes"] if command == "remove" else []
    ran = cli(command, str(members_csv), "--lists", names(lists, 1), *yes, "--column", "id")
    assert ran.code == ExitCode.USAGE and "column 'id' not found" in ran.err
    assert emu.account.count() == used  # not one request


def test_unknown_list_name_exit_2(cli, members_csv) -> None:
    ran = cli("remove", str(members_csv), "--lists", "Newsleter", "--yes")
    assert ran.code == ExitCode.USAGE
    assert "unknown list name" in ran.err and "Nothing was changed" in ran.err


def test_usage_errors_exit_2(cli, members_csv) -> None:
    assert cli("remove", "--lists", "A").code == ExitCode.USAGE  # no FILE
    assert cli("frobnicate").code == ExitCode.USAGE
    ran = cli("remove", str(members_csv), "--lists", "A,,B", "--yes")
    assert ran.code == ExitCode.USAGE and "empty list name" in ran.err
    ran = cli("resume", "20990101-000000-abcdef")
    assert ran.code == ExitCode.USAGE


def test_not_connected_exit_2(cli, lists, members_csv) -> None:
    ran = cli("remove", str(members_csv), "--lists", names(lists, 1), "--yes", token=False)
    assert ran.code == ExitCode.USAGE
    assert "ccpandas login" in ran.err and "CC_ACCESS_TOKEN" in ran.err


# --------------------------------------------------------------------------- exit code 3


@pytest.mark.emulator(contacts=700, lists=2)
def test_quota_spent_exit_3_then_resume(cli, emu, api, tmp_path) -> None:
    contacts = ccpandas.read_contacts(api)  # 700 contacts: two requests of <= 500
    path = tmp_path / "all.csv"
    contacts[["contact_id"]].to_csv(path, index=False)
    list_ids = ",".join(ccpandas.read_contact_lists(api)["list_id"])
    # The list listing (a run checks its lists) and the first POST fit, not the second.
    emu.configure(quota_left=2)
    # No snapshot: the reads would take the one request the quota has left.
    ran = cli("remove", str(path), "--lists", list_ids, "--yes", "--json", "--snapshot", "no")
    assert ran.code == ExitCode.QUOTA, ran.err
    report = json.loads(ran.out)
    assert report["outcome"] == "quota_exceeded"
    assert report["requests"]["total"] == 2 and report["requests"]["accepted"] == 1
    assert report["stopped"] is True and report["stop_reason"] == "quota_exceeded"
    assert report["resume"] == f"ccpandas resume {report['run_id']}"
    assert "quota" in report["error"]
    emu.configure(quota_left=None)  # the reset
    again = cli("resume", report["run_id"], "--json")
    assert again.code == ExitCode.OK, again.err
    resumed = json.loads(again.out)
    assert resumed["outcome"] == "completed"
    assert resumed["rows_by_status"] == {"removed": len(contacts)}
    assert ccpandas.read_contacts(api, lists=list_ids.split(",")).empty


def test_the_printed_resume_command_works_as_printed(cli, emu, api, tmp_path, monkeypatch) -> None:
    # A run started with --base-url (no CC_BASE_URL, as in a cron line) and stopped by
    # the quota prints "ccpandas resume RUN_ID": copied as it is, it must continue the run
    # on the API the run started on, not refuse it for talking to another one.
    contacts = ccpandas.read_contacts(api)
    path = tmp_path / "all.csv"
    contacts[["contact_id"]].to_csv(path, index=False)
    list_ids = ",".join(ccpandas.read_contact_lists(api)["list_id"])
    emu.configure(quota_left=2)
    ran = cli("remove", str(path), "--lists", list_ids, "--yes", "--snapshot", "no")
    assert ran.code == ExitCode.QUOTA, ran.err
    run_id = ccpandas.runs()["run_id"].iloc[0]
    printed = f"ccpandas resume {run_id}"
    assert f"Continue with: {printed}" in ran.out
    emu.configure(quota_left=None)  # the reset
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
    code = main([*printed.split()[1:], "--json"], stdin=io.StringIO(), stdout=out, stderr=err)
    assert code == ExitCode.OK, err.getvalue()
    assert json.loads(out.getvalue())["outcome"] == "completed"
    assert ccpandas.read_contacts(api, lists=list_ids.split(",")).empty


# --------------------------------------------------------------------------- undo


def test_undo_calls_the_library_once_it_exists(cli, monkeypatch) -> None:
    calls = []

    def undo(run_id, *, client, force=False, dry_run=False, progress=None, timeout=None):
        calls.append((run_id, client.base_url))
        return f"undid {run_id}"

    monkeypatch.setattr(ccpandas, "undo", undo, raising=False)
    ran = cli("undo", "20250301-231501-7f3a2c", "--yes")
    assert ran.code == ExitCode.OK, ran.err
    assert calls and calls[0][0] == "20250301-231501-7f3a2c"
    assert "undid 20250301-231501-7f3a2c" in ran.out


def test_undo_end_to_end_output_and_exit_codes(cli, api, emu, lists) -> None:
    first = lists["list_id"].iloc[0]
    before = members_of(api, first)
    removal = pd.DataFrame({"contact_id": sorted(before)}).cc.remove_from_lists(
        [first], client=api, snapshot=True, progress=False
    )
    assert members_of(api, first) == set()
    ran = cli("undo", removal.run_id, "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert set(report) == REPORT_KEYS and report["command"] == "undo"
    assert report["outcome"] == "completed"
    assert report["rows_by_status"] == {"restored": len(before)}
    assert report["lists"][0]["name"] == lists["name"].iloc[0]
    assert members_of(api, first) == before
    # Twice: refused, naming the first undo, nothing sent: a usage/input error.
    again = cli("undo", removal.run_id, "--yes")
    assert again.code == ExitCode.USAGE and report["run_id"] in again.err
    # A run without a snapshot cannot be undone exactly: says which option would have.
    blind = pd.DataFrame({"contact_id": sorted(before)[:5]}).cc.remove_from_lists(
        [first], client=api, snapshot=False, progress=False
    )
    refused = cli("undo", blind.run_id, "--yes")
    assert refused.code == ExitCode.USAGE and "--snapshot yes" in refused.err


@pytest.mark.parametrize(
    ("output", "says"),
    [("undone.txt", ".csv or .parquet"), ("no-such-folder/undone.csv", "does not exist")],
)
def test_undo_and_resume_refuse_a_bad_output_before_any_request(
    cli, api, emu, lists, tmp_path, output, says
) -> None:
    # The undo was sent (its POST and the re-read), then a KeyError ('.txt') or a
    # FileNotFoundError traceback instead of its summary; a resume likewise.
    first = lists["list_id"].iloc[0]
    removal = pd.DataFrame({"contact_id": sorted(members_of(api, first))}).cc.remove_from_lists(
        [first], client=api, snapshot=True, progress=False
    )
    used = emu.account.count()
    for command in ("undo", "resume"):
        yes = ["--yes"] if command == "undo" else []  # a resume asks nothing
        ran = cli(command, removal.run_id, *yes, "--output", str(tmp_path / output))
        assert ran.code == ExitCode.USAGE, ran.err
        assert f"ccpandas {command}: --output" in ran.err and says in ran.err
    assert emu.account.count() == used  # not one request
    assert members_of(api, first) == set()


# --------------------------------------------------------------------------- login, logout


def test_login_then_lists_then_logout(cli, emu) -> None:
    emu.configure(auto_approve=True, device_interval=0.05)
    ran = cli("login", "--client-id", "cli-app", "--auth-url", emu.auth_url, token=False)
    assert ran.code == ExitCode.OK, ran.err
    assert "Logged in" in ran.out
    assert "open this page" in ran.err  # the instructions, on stderr
    assert cli("lists", "--client-id", "cli-app", token=False).code == ExitCode.OK
    ran = cli("logout", "--client-id", "cli-app", token=False)
    assert ran.code == ExitCode.OK and "Logged out" in ran.out
    assert cli("lists", "--client-id", "cli-app", token=False).code == ExitCode.USAGE


# --------------------------------------------------------------------------- pieces


def test_log_reporter_prints_at_most_every_interval_and_at_the_end() -> None:
    from ccpandas.report.progress import Snapshot

    ticks = iter([0.0, 1.0, 2.0, 6.0, 7.0, 7.5])
    out = io.StringIO()
    rep = LogReporter(out, interval=5.0, clock=lambda: next(ticks))
    rep.start(Snapshot("starting", 10, 0))  # t=0: a line
    rep.update(Snapshot("submitting", 10, 1))  # t=1: too soon
    rep.update(Snapshot("submitting", 10, 2))  # t=2: too soon
    rep.update(Snapshot("polling", 10, 10, message="a\rb\x1b[2K"))  # t=6: a line
    rep.update(Snapshot("polling", 10, 10))  # t=7: too soon
    rep.finish(Snapshot("done", 10, 10))  # the end: always a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "starting: 0 of 10" in lines[0]
    assert "polling: 10 of 10" in lines[1]
    assert "done: 10 of 10" in lines[2]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_log_reporter_counts_a_membership_read_in_pages() -> None:
    from ccpandas.report.progress import Snapshot

    out = io.StringIO()
    rep = LogReporter(out, interval=0.0)
    rep.start(Snapshot("reading", 4, 0, message="reading list members: page 0 of ~4"))
    rep.finish(Snapshot("read", 4, 4, message="read list members: 4 pages, 1,721 contacts"))
    first, last = out.getvalue().splitlines()
    assert "reading: 0 of 4 pages read" in first and "requests" not in first
    assert "read: 4 of 4 pages read" in last and "requests" not in last


def test_read_table_keeps_ids_as_text() -> None:
    frame = read_table("-", stdin=io.StringIO("contact_id\n00123\n\n"))
    assert frame["contact_id"].tolist()[0] == "00123"


@pytest.mark.emulator(contacts=700, lists=2)
def test_a_run_over_todays_quota_is_refused_before_its_first_read(cli, emu, api, tmp_path) -> None:
    contacts = ccpandas.read_contacts(api)
    path = tmp_path / "all.csv"
    contacts[["contact_id"]].to_csv(path, index=False)
    list_ids = ",".join(ccpandas.read_contact_lists(api)["list_id"])
    # The key's shared ledger (the command's process reads the same one): 5 left today,
    # and tomorrow (a ledger of this test's own), so a midnight in the test changes nothing.
    counter = api.stats.day_counter
    today = counter.today()
    for day in (today, today + dt.timedelta(days=1)):
        counter.add(day, n=10_000 - 5 - counter.usage(day).used)
    reads, posts = emu.account.count(route="/v3/contacts"), emu.account.count(method="POST")
    ran = cli("remove", str(path), "--lists", list_ids, "--yes", "--json", "--snapshot", "yes")
    assert ran.code == ExitCode.QUOTA, ran.err
    assert "stopped before its first list read" in ran.err
    assert emu.account.count(route="/v3/contacts") == reads  # no list read, no lookup
    assert emu.account.count(method="POST") == posts
    # --dry-run spends the reads a plan needs, and says what the run would cost.
    assert cli("remove", str(path), "--lists", list_ids, "--dry-run").code == ExitCode.OK


def test_a_library_warning_is_shown_in_the_command_line_s_words():
    # The warnings the CLI prints came through in Python's words ("snapshot=True"),
    # where its errors were put in its flags.
    import warnings

    from ccpandas.cli.main import _plain_warnings

    err = io.StringIO()
    with _plain_warnings(err):
        warnings.warn("read again (snapshot=True) when the lists are quiet", stacklevel=1)
    assert "read again (--snapshot yes) when" in err.getvalue(), err.getvalue()
