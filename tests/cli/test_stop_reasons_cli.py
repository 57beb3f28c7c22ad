"""``ccpandas runs`` says why a run's activities were left running as the run's own
summary does: a run started with ``wait=False`` is ``not_waited``, not ``timeout``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import ccpandas
from ccpandas.cli.main import ExitCode
from ccpandas.errors import QuotaExceededError


@pytest.mark.emulator(start_delay=3600.0)  # the activities wait an hour to start
def test_runs_says_not_waited_for_a_run_started_with_wait_false(cli, emu, api) -> None:
    # Listed with stop_reason "timeout", though no timeout was set anywhere.
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": list(emu.account.members(target))[:10]})
    result = frame.cc.remove_from_lists([target], client=api, progress=False, wait=False)
    ran = cli("runs", "--json")
    assert ran.code == ExitCode.OK, ran.err
    listed = json.loads(ran.out)[0]
    rebuilt = ccpandas.run_result(result.run_id, client=api).summary()
    assert listed["run_id"] == result.run_id
    assert listed["stop_reason"] == rebuilt.stop_reason == result.summary().stop_reason
    assert listed["stop_reason"] == "not_waited"
    assert cli("runs").out.splitlines()[1].endswith("not_waited")


def test_runs_says_quota_exceeded_for_a_verify_the_quota_stopped(cli, emu, api) -> None:
    # `ccpandas runs` listed the run "completed" though its verify() read nothing.
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": list(emu.account.members(target))[:10]})
    result = frame.cc.remove_from_lists([target], client=api, progress=False, wait=False)
    emu.configure(quota_left=1)  # its look at the activities, not the read
    with pytest.raises(QuotaExceededError):
        result.verify()
    (listed,) = json.loads(cli("runs", "--json").out)
    assert listed["outcome"] == str(result.summary().outcome) == "quota_exceeded"
    assert listed["state"] == "stopped" and listed["stop_reason"] == "quota_exceeded"
    assert cli("runs").out.splitlines()[1].endswith("quota_exceeded")


def test_a_re_check_the_quota_refuses_leaves_a_run_that_asked_no_verification(
    cli, emu, api
) -> None:
    # verify=False: the run ended as asked; an explicit verify() refused by the quota
    # read nothing and changes nothing (it is not a stop to resume).
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": list(emu.account.members(target))[:10]})
    result = frame.cc.remove_from_lists([target], client=api, progress=False, verify=False)
    before = json.loads(cli("runs", "--json").out)[0]["outcome"]
    emu.configure(quota_left=0)  # spent
    with pytest.raises(QuotaExceededError):
        result.verify()
    (listed,) = json.loads(cli("runs", "--json").out)
    assert listed["outcome"] == str(result.summary().outcome) == before == "completed"
    assert listed["stop_reason"] is None
