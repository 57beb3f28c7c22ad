"""``--verify``: the CLI's summary and ``--json`` say when a run was verified by a
sample (issue 23 §2), against the emulator in-process."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.cli.main import ExitCode


@pytest.mark.emulator(seed=31, contacts=2000)
def test_a_sample_is_labelled_in_the_summary_json_and_runs(cli, emu, tmp_path: Path) -> None:
    acct = emu.account
    target = max(acct.list_ids(), key=lambda t: len(acct.members(t)))
    members = sorted(acct.members(target))
    assert len(members) >= 200
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    pd.DataFrame({"contact_id": members[:100]}).to_csv(first, index=False)
    pd.DataFrame({"contact_id": members[100:200]}).to_csv(second, index=False)
    flags = ("--lists", target, "--yes", "--snapshot", "yes", "--verify", "sample")
    ran = cli("remove", str(first), *flags, "--progress", "none")
    assert ran.code == ExitCode.OK, ran.err
    assert "verified   by a sample of 4 of 100 pairs" in ran.out
    assert "(verified in the sample) 4" in ran.out
    ran = cli("remove", str(second), *flags, "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["ok"] is True
    assert report["verification"] == {
        "method": "sample",
        "pairs": 100,
        "verified": 4,
        "sample": True,
    }
    assert report["pairs_by_outcome"] == {"removed": 4, "unverified": 96}
    listed = json.loads(cli("runs", "--json").out)
    assert "verified by a sample of 4 of 100 pairs" in listed[0]["removed_memberships"]
    assert not acct.members(target) & set(members[:200])


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--snapshot", "no"), "memberships: unverified (no snapshot)"),
        (("--snapshot", "yes", "--verify", "none"), "(not verified yet)"),
    ],
)
def test_an_unverified_run_says_so_as_its_python_result_does(
    cli, api, lists, tmp_path: Path, flags, says
) -> None:
    target = lists["list_id"].iloc[0]
    members = sorted(ccpandas.read_contacts(api, lists=[target])["contact_id"])
    path = tmp_path / "ids.csv"
    pd.DataFrame({"contact_id": members[:5]}).to_csv(path, index=False)
    ran = cli("remove", str(path), "--lists", target, "--yes", "--progress", "none", *flags)
    assert ran.code == ExitCode.OK, ran.err
    run_id = ran.out.split("Run ", 1)[1].split(":", 1)[0]
    assert says in repr(ccpandas.run_result(run_id))
    report = ran.out.split(f"Run {run_id}:", 1)[1].splitlines()
    assert any(line.startswith("  verified   ") and says in line for line in report), report


class _Terminal(io.StringIO):
    """Standard input that is a terminal, with the user's typed answer."""

    def isatty(self) -> bool:
        return True


@pytest.mark.emulator(seed=31, contacts=2000)
@pytest.mark.parametrize(("verify", "reads"), [("none", 0), ("sample", 4)])
def test_the_plan_shown_and_the_question_count_the_verification_asked_for(
    cli, emu, tmp_path: Path, verify, reads
) -> None:
    # `remove --verify none` showed "... 1 read to verify" (and `--verify sample` 1
    # read, not its 4 look-ups): the plan was costed for verify="auto" whatever the
    # flag said, and the question counted the change requests only.
    acct = emu.account
    target = max(acct.list_ids(), key=lambda t: len(acct.members(t)))
    path = tmp_path / "ids.csv"
    pd.DataFrame({"contact_id": sorted(acct.members(target))[:100]}).to_csv(path, index=False)
    flags = ("--lists", target, "--snapshot", "yes", "--verify", verify, "--progress", "none")
    ran = cli("remove", str(path), *flags, stdin=_Terminal("y\n"))
    assert ran.code == ExitCode.OK, ran.err
    shown = re.search(r"(\d+) in all with the snapshot's (\d+) reads? and (\d+) reads? to", ran.out)
    assert shown is not None, ran.out
    total, before, after = map(int, shown.groups())
    log = acct.request_log
    first_post = next(i for i, r in enumerate(log) if r.method == "POST")
    last_post = max(i for i, r in enumerate(log) if r.method == "POST")
    spent_after = [r for r in log[last_post + 1 :] if "/activities" not in r.route]
    assert after == len(spent_after) == reads
    # the question counts what saying yes spends: the change, the polls, the check
    question = re.search(r"with 1 request \(about (\d+) more, with 2 polls", ran.err)
    assert question is not None, ran.err
    # one "in all" on the screen: the plan's (the question's figure leaves its reads out)
    assert "in all" not in ran.err, ran.err
    assert int(question.group(1)) == total - before >= len(log) - first_post
