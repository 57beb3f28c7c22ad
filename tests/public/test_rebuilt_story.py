"""A rebuilt result (``ccpandas.run_result``) tells what the live result told: every line
of its summary, the duplicates' example included, for each kind of run and key (real
HTTP to the emulator)."""

from __future__ import annotations

import pandas as pd
import pytest

import ccpandas

_METHODS = {"remove": "remove_from_lists", "add": "add_to_lists", "sync": "sync_lists"}


@pytest.mark.parametrize(
    ("kind", "key"),
    [("remove", "contact_id"), ("remove", "email"), ("add", "email"), ("sync", "contact_id")],
)
def test_a_rebuilt_summary_has_every_line_of_the_live_one(fast_account, kind, key):
    # Row 23 repeats row 3 (an id in capitals, an address in capitals): the live text
    # says "row 23 is a duplicate of row 3"; the rebuilt one must say it too.
    emu, client, _ = fast_account(seed=61, contacts=300)
    list_id = emu.account.list_ids()[0]
    ids = list(emu.account.members(list_id))[:23]
    values = ids if key == "contact_id" else [emu.account.contact(c).email for c in ids]
    frame = pd.DataFrame({key: [*values, values[3].upper()]})
    change = getattr(frame.cc, _METHODS[kind])
    options = {"max_removed": None} if kind == "sync" else {}
    result = change([list_id], key, client=client, progress=False, **options)
    live = result.summary()
    rebuilt = ccpandas.run_result(result.run_id, client=client).summary()
    assert "duplicate rows: 1 (sent once; e.g. row 23 is a duplicate of row 3)" in live.lines()
    assert rebuilt.lines() == live.lines()
    assert rebuilt.outcome is live.outcome and rebuilt.by_status == live.by_status


def test_a_rebuilt_summary_does_not_claim_zero_reads(fast_account):
    # The live summary counts the snapshot's and the verification's read requests; the
    # rebuilt one said reads=0 (it reads the journal, which does not keep that count),
    # as if the run had read nothing. Not known is None, as Summary.reads documents.
    emu, client, _ = fast_account(seed=62, contacts=300)
    list_id = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": list(emu.account.members(list_id))[:20]})
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False)
    assert result.summary().reads >= 2  # the snapshot and the verification read
    assert ccpandas.run_result(result.run_id, client=client).summary().reads is None
