"""The command line refuses what cannot be right before sending (issue 21, section 3):
a list id that is not an active list of the account. Real HTTP to the emulator."""

from __future__ import annotations

import uuid

import pytest

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
