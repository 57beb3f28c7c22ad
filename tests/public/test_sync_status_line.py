"""A run's live status display ends on the same verified line as its result: for a
sync, "changed (verified): added ...; removed ..." (the result's own verb), not
"added (verified): ..." while the result says "memberships changed"."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ccpandas.report.progress import NullReporter, Snapshot

FAST = {"rate": None, "speed": 1_000_000.0}


class LastWord(NullReporter):
    """Keeps the message of the snapshot the run finished on."""

    message = ""

    def finish(self, snapshot: Snapshot) -> None:
        self.message = snapshot.message


def _verified_line(result: Any) -> str:
    line = next(x for x in repr(result).splitlines() if "(verified)" in x)
    return line.strip().removeprefix("memberships ")


def test_a_sync_status_ends_on_the_result_verified_line(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=24, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    members = sorted(acct.members(a))
    newcomers = [c for c in acct.contact_ids("active") if c not in set(members)][:5]
    segment = pd.DataFrame({"contact_id": members[: len(members) * 3 // 4] + newcomers})
    seen = LastWord()
    result = segment.cc.sync_lists([a], client=client, progress=seen)
    assert result.ok
    line = _verified_line(result)
    assert line.startswith("changed (verified): added ") and "; removed " in line
    assert line in seen.message, (line, seen.message)


def test_an_add_and_a_removal_keep_their_own_verb(cc_emulator_factory, connect) -> None:
    emu = cc_emulator_factory(seed=25, contacts=600, **FAST)
    client, acct = connect(emu), emu.account
    a = acct.list_ids()[0]
    outsiders = [c for c in acct.contact_ids("active") if c not in acct.members(a)][:5]
    df = pd.DataFrame({"contact_id": outsiders})
    for call, verb in (("add_to_lists", "added"), ("remove_from_lists", "removed")):
        seen = LastWord()
        result = getattr(df.cc, call)([a], client=client, progress=seen)
        line = _verified_line(result)
        assert line.startswith(f"{verb} (verified): ") and line in seen.message
