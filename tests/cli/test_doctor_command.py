"""``ccpandas doctor``: the table, --json, --report and the exit codes, over real HTTP."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from ccpandas.cli.main import ExitCode, main
from ccpandas.read.assumptions import ASSUMPTIONS

NAMES = [a.name for a in ASSUMPTIONS]


def doctor_with(token: str, emu, monkeypatch) -> SimpleNamespace:
    """``ccpandas doctor`` with another token in CC_ACCESS_TOKEN (the ``cli`` fixture
    sets the emulator's own)."""
    monkeypatch.setenv("CC_ACCESS_TOKEN", token)
    out, err = io.StringIO(), io.StringIO()
    code = main(["doctor", "--base-url", emu.base_url], stdout=out, stderr=err)
    return SimpleNamespace(code=code, out=out.getvalue(), err=err.getvalue())


def test_doctor_prints_the_table_exit_0(cli, emu) -> None:
    ran = cli("doctor")
    assert ran.code == ExitCode.OK, ran.out + ran.err
    rows = [line.split()[:2] for line in ran.out.splitlines()[2:] if not line.startswith(" ")]
    assert [name for name, _ in rows] == NAMES
    assert {result for _, result in rows} <= {"as", "not"}  # "as assumed", "not seen"
    assert emu.token not in ran.out + ran.err
    assert {r.method for r in emu.account.request_log} == {"GET"}


def test_doctor_json_and_report(cli, emu, lists, tmp_path: Path) -> None:
    path = tmp_path / "doctor.json"
    ran = cli("doctor", "--json", "--report", str(path))
    assert ran.code == ExitCode.OK, ran.out + ran.err
    body = json.loads(ran.out)
    assert body["command"] == "doctor" and body["ok"] is True and body["report"] == str(path)
    assert [c["name"] for c in body["checks"]] == NAMES
    assert {c["result"] for c in body["checks"]} <= {"as assumed", "not seen"}
    assert 0 < body["requests"] <= 12
    report = path.read_text()
    assert [c["name"] for c in json.loads(report)["checks"]] == NAMES
    for value in [emu.token, *lists["name"], *lists["list_id"]]:
        assert value not in report


def test_doctor_exit_1_when_something_differs(emu, monkeypatch) -> None:
    # A token without the contact_data scope: every read answers 403, which differs.
    token = emu.issue_token(token="doctor-no-scope", scopes={"offline_access"})
    ran = doctor_with(token, emu, monkeypatch)
    assert ran.code == ExitCode.FAILED
    assert "lists.page                 differs" in ran.out
    assert "answered HTTP 403 ('forbidden'), not 200" in ran.out


@pytest.mark.parametrize(
    ("report", "says"),
    [("missing-folder/doctor.json", "does not exist"), (".", "is a directory")],
)
def test_doctor_bad_report_path_exit_2_nothing_sent(cli, emu, tmp_path, report, says) -> None:
    ran = cli("doctor", "--report", str(tmp_path / report))
    assert ran.code == ExitCode.USAGE
    assert says in ran.err
    assert emu.account.request_log == []


def test_doctor_without_a_token_exit_2(cli, emu) -> None:
    ran = cli("doctor", token=False)
    assert ran.code == ExitCode.USAGE
    assert "CC_ACCESS_TOKEN" in ran.err
    assert emu.account.request_log == []


def test_doctor_with_a_refused_token_exit_2(emu, monkeypatch) -> None:
    ran = doctor_with("a-token-the-api-refuses", emu, monkeypatch)
    assert ran.code == ExitCode.USAGE
    assert "401" in ran.err and "a-token-the-api-refuses" not in ran.err + ran.out


def test_doctor_as_a_child_process(run_cli) -> None:
    ran = run_cli("doctor", "--json")
    assert ran.code == ExitCode.OK, ran.err
    assert json.loads(ran.out)["ok"] is True


def test_doctor_report_path_that_cannot_be_written_exit_2_nothing_sent(cli, emu, tmp_path):
    # Its folder exists, but no file system makes a name this long: the 7 requests went,
    # then a traceback instead of the table.
    ran = cli("doctor", "--report", str(tmp_path / ("x" * 300 + ".json")))
    assert ran.code == ExitCode.USAGE, ran.out + ran.err
    assert "--report" in ran.err and "cannot write it" in ran.err
    assert emu.account.request_log == []
