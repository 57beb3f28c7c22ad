"""The command line refuses what cannot be right before sending (issue 21, section 3):
a list id that is not an active list of the account. Real HTTP to the emulator."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

import ccpandas
from ccpandas.api import run_plan
from ccpandas.vocab import ExitCode


@pytest.mark.parametrize("command", ["remove", "add", "sync", "plan"])
def test_a_list_id_of_no_active_list_exits_2_naming_it(cli, emu, lists, members_csv, command):
    typo = str(uuid.uuid4())
    good = lists["list_id"].iloc[0]
    extra = [] if command == "plan" else ["--yes"]
    reads = emu.account.count(route="/v3/contacts")  # the fixtures' own reads
    ran = cli(command, str(members_csv), "--lists", f"{good},{typo}", *extra)
    assert ran.code == ExitCode.USAGE, ran.err
    assert typo in ran.err and "not a list of this account" in ran.err
    assert emu.account.count(method="POST") == 0
    assert emu.account.count(route="/v3/contacts") == reads  # no membership read either


@pytest.mark.parametrize("value", ["-5", "nan"])
@pytest.mark.parametrize("command", ["remove", "login"])
def test_a_bad_timeout_exits_2_before_any_request(cli, emu, lists, members_csv, command, value):
    if command == "login":
        args = ["login", "--client-id", "cli-app", "--auth-url", emu.auth_url]
    else:
        args = [command, str(members_csv), "--lists", lists["name"].iloc[0], "--yes"]
    before = len(emu.account.request_log)
    ran = cli(*args, "--timeout", value, token=command != "login")
    assert ran.code == ExitCode.USAGE, ran.err
    assert "--timeout" in ran.err and "Traceback" not in ran.err
    assert len(emu.account.request_log) == before  # not even the lists' lookup


def test_runs_refuses_a_negative_limit(cli, api, lists):
    first = lists["list_id"].iloc[0]
    for _ in range(2):
        pd.DataFrame({"contact_id": [str(uuid.uuid4())]}).cc.remove_from_lists(
            [first], client=api, snapshot=False, progress=False
        )
    # pandas' head(-1) would show every run but the oldest, silently.
    ran = cli("runs", "--limit", "-1", "--json")
    assert ran.code == ExitCode.USAGE and "--limit" in ran.err
    assert len(json.loads(cli("runs", "--limit", "0", "--json").out)) == 2


def test_undo_refusals_name_undos_own_flags(cli, api, lists):
    first = lists["list_id"].iloc[0]
    ids = sorted(ccpandas.read_contacts(api, lists=[first])["contact_id"])[:5]
    removal = pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
        [first], client=api, snapshot=True, progress=False
    )
    unconfirmed = cli("undo", removal.run_id)
    assert unconfirmed.code == ExitCode.USAGE and "--yes" in unconfirmed.err
    assert "--dry-run" in unconfirmed.err  # undo has it too now (it had not)
    assert cli("undo", removal.run_id, "--yes").code == ExitCode.OK
    again = cli("undo", removal.run_id, "--yes")
    assert again.code == ExitCode.USAGE, again.err
    assert "--force" in again.err and "force=True" not in again.err
    assert cli("undo", removal.run_id, "--yes", "--force").code == ExitCode.OK


def test_resume_refuses_a_keep_run_whose_lists_grew_exit_2(cli, emu, api, lists):
    # A keep_in_lists run (Python) stopped by the quota; the list grows; `ccpandas
    # resume` would let the API remove the newcomers too: exit 2, nothing sent, the
    # run left as it was (still stopped by the quota).
    acct, target = emu.account, lists["list_id"].iloc[0]
    members = sorted(acct.members(target))
    vip = pd.DataFrame({"contact_id": members[: len(members) * 6 // 10]})
    plan = vip.cc.keep_in_lists([target], client=api, dry_run=True, progress=False).plan
    emu.configure(quota_left=0)  # the day's quota spent (no midnight in the test refills it)
    with pytest.raises(ccpandas.QuotaExceededError) as caught:
        run_plan(plan, client=api, progress=False)
    emu.configure(quota_left=None)
    run_id = caught.value.result.run_id
    acct.add_members(target, [c for c in acct.contact_ids() if c not in members][:10])
    ran = cli("resume", run_id)
    assert ran.code == ExitCode.USAGE, ran.err
    assert "10 more members of it would leave now" in ran.err and "Nothing was sent" in ran.err
    assert emu.account.count(method="POST", status=201) == 0
    row = ccpandas.runs().set_index("run_id").loc[run_id]
    assert row["stop_reason"] == "quota_exceeded"
