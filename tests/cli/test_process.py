"""``python -m ccpandas`` as a child process, the way a shell, cron or CI runs it:
streams that are not terminals, a real pseudo-terminal, stdin CSV, Ctrl-C, log lines."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys

import pandas as pd
import pytest
from cli_support import child_env

import ccpandas
from ccpandas.cli.main import ExitCode

#: A log-mode progress line: local ISO time with its offset, then the message.
CLI = (sys.executable, "-m", "ccpandas")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} ccpandas: \w+: ")


def first_list(lists: pd.DataFrame) -> str:
    return str(lists["name"].iloc[0])


def _without_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` as a child with no emulator to talk to, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        env=child_env(None),
        timeout=60,
    )


def test_help_and_the_emulator_module_still_works() -> None:
    ran = _without_emulator("ccpandas", "--help")
    assert ran.returncode == 0
    for command in ("lists", "plan", "remove", "runs", "resume", "undo", "login", "logout"):
        assert command in ran.stdout
    ran = _without_emulator("ccpandas.emulator", "--help")
    assert ran.returncode == 0 and "--daily-quota" in ran.stdout


def test_no_terminal_no_yes_refuses(run_cli, api, lists, members_csv) -> None:
    before = set(ccpandas.read_contacts(api, lists=[lists["list_id"].iloc[0]])["contact_id"])
    ran = run_cli("remove", str(members_csv), "--lists", first_list(lists))
    assert ran.code == ExitCode.USAGE
    assert "--yes" in ran.err and "Nothing was sent" in ran.err
    after = set(ccpandas.read_contacts(api, lists=[lists["list_id"].iloc[0]])["contact_id"])
    assert after == before


def test_stdin_csv_and_log_progress(run_cli, api, lists, members_csv) -> None:
    text = members_csv.read_text()
    refused = run_cli("remove", "-", "--lists", first_list(lists), input=text)
    assert refused.code == ExitCode.USAGE  # stdin is the CSV: nobody can confirm
    ran = run_cli("remove", "-", "--lists", first_list(lists), "--yes", "--json", input=text)
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)  # stdout is the JSON object alone
    assert report["outcome"] == "completed"
    assert report["rows"] == len(text.splitlines()) - 1
    # stderr is a pipe, not a terminal: plain timestamped lines, no \r, no escapes
    assert "\r" not in ran.err and "\x1b" not in ran.err
    lines = ran.err.splitlines()
    assert len(lines) >= 2
    assert all(LOG_LINE.match(line) for line in lines), lines
    assert ": done: 1 of 1 requests sent" in lines[-1]


def test_confirmation_on_a_real_terminal(emu, api, lists, members_csv) -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [
                *CLI,
                "remove",
                str(members_csv),
                "--lists",
                first_list(lists),
                "--base-url",
                emu.base_url,
            ],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(emu),
        )
        os.write(master, b"y\n")
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == ExitCode.OK, err
    assert "[y/N]" in err
    assert ": completed" in out
    gone = set(pd.read_csv(members_csv)["contact_id"])
    assert not gone & set(
        ccpandas.read_contacts(api, lists=[lists["list_id"].iloc[0]])["contact_id"]
    )


def _removal_polling(emu, lists, members_csv) -> tuple[subprocess.Popen, str, str]:
    """``ccpandas remove --json`` as a child, once its activity is being polled: the
    child and its first two log lines (the start, before the POST; the next, 5 s later,
    while polling)."""
    args = ("remove", str(members_csv), "--lists", first_list(lists), "--yes", "--json")
    proc = subprocess.Popen(
        # --snapshot no: the log lines are the run's, not a membership read's
        [*CLI, *args, "--snapshot", "no", "--base-url", emu.base_url],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(emu),
    )
    assert proc.stderr is not None
    return proc, proc.stderr.readline(), proc.stderr.readline()


@pytest.mark.emulator(speed=2.0)  # 2 items a second: the activity runs for a while
def test_interrupt_exit_130_then_resume(emu, api, lists, members_csv, run_cli) -> None:
    proc, started, polling = _removal_polling(emu, lists, members_csv)
    assert LOG_LINE.match(started) and LOG_LINE.match(polling), (started, polling)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED
    report = json.loads(out)
    assert report["outcome"] == "interrupted" and report["stopped"] is True
    assert report["requests"]["accepted"] == 1  # sent and journaled before Ctrl-C
    assert report["resume"] == f"ccpandas resume {report['run_id']}"
    emu.configure(speed=50_000.0)
    again = run_cli("resume", report["run_id"], "--json")
    assert again.code == ExitCode.OK, again.err
    resumed = json.loads(again.out)
    assert resumed["outcome"] == "completed"
    assert resumed["requests"] == {"total": 1, "accepted": 1, "resent": 0}  # not sent twice


def test_emulator_subcommand_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccpandas", "emulator", "--port", "0", "--contacts", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(None),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("ccpandas emulator listening on http://127.0.0.1:")
        url, token = line.split()[4], line.split("token=")[1].strip()
        client = ccpandas.Client(token=token, base_url=url, rate=None)
        assert len(ccpandas.read_contacts(client)) == 5
        client.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_bad_emulator_option_exit_2() -> None:
    ran = _without_emulator("ccpandas", "emulator", "--fail-rate", "2")
    assert ran.returncode == ExitCode.USAGE
    assert "fail_rate" in ran.stderr or "fail-rate" in ran.stderr


def test_a_reader_that_leaves_early_gets_no_traceback(emu, lists) -> None:
    # `ccpandas lists | head -1`: the pipe's reader is gone before the output is written.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ccpandas", "lists", "--base-url", emu.base_url],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(emu),
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr


def test_a_list_name_the_output_encoding_lacks_is_escaped_not_a_traceback(emu, lists) -> None:
    # Windows writes a redirected stdout (`ccpandas lists > lists.txt`) in its ANSI code
    # page: a list named with an emoji ended the command in a UnicodeEncodeError.
    first = lists["list_id"].iloc[0]
    emu.account.lists[first].name = "Café ☕ VIP"
    ran = subprocess.run(
        [*CLI, "lists", "--base-url", emu.base_url],
        capture_output=True,
        env=child_env(emu, PYTHONIOENCODING="cp1252"),
        timeout=120,
    )
    assert ran.returncode == ExitCode.OK, ran.stderr.decode("cp1252", "replace")
    assert "Café \\u2615 VIP" in ran.stdout.decode("cp1252")


@pytest.mark.emulator(speed=2.0)  # 2 items a second: the activity runs for a while
def test_sigterm_is_an_interruption_exit_130_journal_settled(emu, lists, members_csv, run_cli):
    # cron, systemd and `timeout` stop a job with SIGTERM: the run must stop as on
    # Ctrl-C (the journal settled, the JSON report with the run id, exit 130, as the
    # cron example in docs/cli.md expects), not die with no word (exit -15).
    proc, _, _ = _removal_polling(emu, lists, members_csv)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    report = json.loads(out)
    assert report["outcome"] == "interrupted" and report["requests"]["accepted"] == 1
    (row,) = ccpandas.runs().itertuples()
    assert (row.run_id, row.stop_reason, row.state) == (report["run_id"], "interrupted", "stopped")
    emu.configure(speed=50_000.0)
    again = run_cli("resume", report["run_id"], "--json")
    assert again.code == ExitCode.OK, again.err
    assert json.loads(again.out)["requests"] == {"total": 1, "accepted": 1, "resent": 0}


@pytest.mark.emulator(speed=2.0)  # 2 items a second: the activity runs for a while
def test_a_killed_run_spent_at_least_what_it_journaled_and_a_resume_adds(
    emu, lists, members_csv, cli, run_cli
):
    # SIGKILL mid-run (kill -9, a kernel restarted): the journal counted a run's requests
    # only when a call ended, so the killed run said its spend was unknown for good, in
    # `runs`, its summary and after a resume. Counted with each journal write it makes:
    # at least those (the client's attempts, all of which reach the emulator here, so no
    # more than it counted); the resume adds its own, once.
    before = emu.account.count()
    proc, _, _ = _removal_polling(emu, lists, members_csv)  # sent, journaled, polling
    proc.kill()
    proc.communicate(timeout=60)
    killed = emu.account.count()
    (row,) = json.loads(cli("runs", "--json").out)
    spent = row["requests_spent"]
    assert row["requests_spent_at_least"] is True and 0 < spent <= killed - before, row
    assert f"at least {spent:,}" in cli("runs").out.splitlines()[1]
    summary = ccpandas.run_result(row["run_id"]).summary()
    assert (summary.spent_total, summary.spent_at_least) == (spent, True)
    assert f"requests spent: at least {spent:,} (" in summary.text()
    emu.configure(speed=50_000.0)
    again = run_cli("resume", row["run_id"], "--json")
    assert again.code == ExitCode.OK, again.err
    resumed = json.loads(again.out)
    # The resume's requests added, none twice (a poll out at the kill may reach the
    # server after `killed` was read: at most the server's count since).
    total = resumed["requests_spent"]["total"]
    assert spent < total <= spent + emu.account.count() - killed, (spent, resumed)
    assert resumed["requests_spent_at_least"] is True
    assert ccpandas.runs()["requests_spent"].tolist() == [total]


@pytest.mark.emulator(speed=2.0)  # 2 items a second: the activity runs for a while
def test_a_result_rebuilt_mid_run_adds_its_own_to_the_count_the_run_ended_with(
    emu, api, lists, members_csv, cli
):
    # A result rebuilt while another process drove the run took that run's count so far
    # ("at least"); driven later (wait, verify), it wrote that old count plus its own
    # requests back over the exact count the other process ended with. Under the run's
    # lock a call now adds its own requests to what the journal has.
    proc, _, _ = _removal_polling(emu, lists, members_csv)  # sent, journaled, polling
    (row,) = json.loads(cli("runs", "--json").out)
    peek = ccpandas.run_result(row["run_id"], client=api)
    early = ccpandas.run_result(row["run_id"], client=api)
    assert peek.summary().spent_at_least and peek.driven_elsewhere
    emu.configure(speed=50_000.0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.OK, err
    (row,) = json.loads(cli("runs", "--json").out)
    spent = json.loads(out)["requests_spent"]["total"]
    assert (row["requests_spent"], row["requests_spent_at_least"]) == (spent, False)
    for call in (peek.wait, early.verify):  # each adds exactly its own requests
        before = emu.account.count()
        summary = call().summary()
        spent += emu.account.count() - before
        (row,) = json.loads(cli("runs", "--json").out)
        assert (row["requests_spent"], row["requests_spent_at_least"]) == (spent, False), row
        assert (summary.spent_total, summary.spent_at_least) == (spent, False)
