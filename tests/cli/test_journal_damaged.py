"""A damaged journal file, as the command line meets it: the file named, what to do,
exit code 2 and nothing sent; never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from ccpandas.store.journal import JOURNAL_FILE

REMOVE = "/v3/activities/remove_list_memberships"


def test_a_damaged_journal_is_named_with_what_to_do(cli, emu, lists, members_csv, tmp_path: Path):
    journal = tmp_path / "data" / JOURNAL_FILE
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(os.urandom(8192))  # not a database any more

    listed = cli("runs")
    removed = cli(
        "remove", str(members_csv), "--lists", lists["list_id"].iloc[0], "--column",
        "contact_id", "--yes",
    )  # fmt: skip

    for ran in (listed, removed):
        assert ran.code == 2, ran
        assert str(journal) in ran.err and "damaged" in ran.err and "Move it aside" in ran.err
        assert "Traceback" not in ran.err
    assert "Nothing was changed" in removed.err
    assert emu.account.count(method="POST", route=REMOVE) == 0
