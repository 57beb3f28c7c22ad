"""Every number true (issue 21): rows and pairs say what is known, over HTTP against the
emulator. A contact the API reports in ``activity_errors`` is not ``removed``/``added``;
an activity that failed part way says what the re-read shows, or ``unknown``."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest
from engine_support import posts

from ccpandas.report.progress import NullReporter


def _strangers(n: int, seed: int) -> list[str]:
    """Well-formed contact ids no emulator account has."""
    return [str(uuid.UUID(int=(seed << 64) + i, version=4)) for i in range(n)]


@pytest.mark.parametrize("shape", ["strings", "objects"])
def test_unknown_contacts_removed_without_a_snapshot_are_not_reported_removed(fast_account, shape):
    emu, client, target = fast_account(seed=2101, contacts=400, activity_errors=shape)
    known = sorted(emu.account.members(target))[:20]
    assert len(known) == 20
    strangers = _strangers(80, 2101)
    df = pd.DataFrame({"contact_id": known + strangers})

    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)

    assert posts(emu, 201) == 1 and result.done
    rows = result.rows
    assert rows["status"].iloc[:20].tolist() == ["removed"] * 20
    assert rows["status"].iloc[20:].tolist() == ["api_error"] * 80
    # each row names its own contact's message, as text (never a dict's repr)
    for cid, err in zip(strangers, rows["error"].iloc[20:], strict=True):
        assert cid in err and "not found" in err and "{" not in err
    assert rows["error"].iloc[:20].isna().all()
    pairs = result.changes.set_index("contact_id")["outcome"].astype(str)
    assert (pairs.loc[strangers] == "api_error").all()
    assert (pairs.loc[known] == "unverified").all()
    summary = result.summary()
    assert not result.ok and str(summary.outcome) == "failed"
    assert summary.outcome.exit_code == 1
    assert "api_error 80" in summary.outcome_line


def test_unknown_contacts_added_without_a_snapshot_are_not_reported_added(fast_account):
    emu, client, target = fast_account(seed=2102, contacts=100)
    active = set(emu.account.contact_ids(status="active"))
    outside = sorted(active - set(emu.account.members(target)))[:10]
    deleted = sorted(set(emu.account.contact_ids(status="deleted")))[:1]
    assert len(outside) == 10 and deleted
    strangers = _strangers(5, 2102)
    df = pd.DataFrame({"contact_id": outside + strangers + deleted})

    result = df.cc.add_to_lists([target], client=client, progress=False, snapshot=False)

    assert result.done and set(outside) <= set(emu.account.members(target))
    assert result.rows["status"].iloc[:10].tolist() == ["added"] * 10
    assert result.rows["status"].iloc[10:].tolist() == ["api_error"] * 6
    assert "deleted" in result.rows["error"].iloc[-1]  # its own message
    pairs = result.changes.set_index("contact_id")["outcome"].astype(str)
    assert (pairs.loc[strangers + deleted] == "api_error").all()
    assert not result.ok and result.summary().outcome.exit_code == 1


def test_known_contacts_only_still_complete_ok(fast_account):
    # The control: with nothing in activity_errors, a run without a snapshot is ok.
    emu, client, target = fast_account(seed=2103, contacts=100)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    assert result.ok and set(result.rows["status"]) == {"removed"}


def test_a_failed_activity_without_a_snapshot_says_unknown_with_a_hint(fast_account):
    emu, client, target = fast_account(seed=2104, contacts=1000)
    members = sorted(emu.account.members(target))
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:500]})  # one batch
    emu.fail_next(1, state="failed", at=0.5)

    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)

    assert result.activities["state"].astype(str).tolist() == ["failed"]
    gone = set(members) - set(emu.account.members(target))
    assert gone  # the activity did part of its work before it failed
    rows = result.rows
    assert set(rows["status"].astype(str)) == {"unknown"}  # not "failed": some were removed
    assert rows["error"].str.contains("result.retry_failed()", regex=False).all()
    assert rows["error"].str.contains("50%", regex=False).all()
    assert set(result.changes["outcome"].astype(str)) == {"unknown"}
    assert not result.ok and result.summary().outcome.exit_code == 1


def failing_part_way(fast_account, seed: int, **options):
    """A removal with a snapshot of 500 members of a list, in one activity that fails
    half way: the result, the emulator, the list and the members."""
    emu, client, target = fast_account(seed=seed, contacts=1500)
    members = sorted(emu.account.members(target))[:500]
    df = pd.DataFrame({"contact_id": members})
    emu.fail_next(1, state="failed", at=0.5)
    kw = {"progress": False, "snapshot": True, **options}
    return df.cc.remove_from_lists([target], client=client, **kw), emu, target, members


def test_a_failed_activity_with_a_snapshot_says_what_the_reread_shows(fast_account):
    result, emu, target, members = failing_part_way(fast_account, 2105)

    assert result.after is not None  # verified by a re-read
    still = set(emu.account.members(target)) & set(members)
    gone = set(members) - still
    assert gone and still
    status = result.rows.set_index("contact_id")["status"].astype(str)
    assert (status.loc[sorted(gone)] == "removed").all()
    assert (status.loc[sorted(still)] == "failed").all()
    pairs = result.changes.set_index("contact_id")["outcome"].astype(str)
    assert (pairs.loc[sorted(gone)] == "removed").all()
    assert (pairs.loc[sorted(still)] == "failed").all()
    assert not result.ok


def test_a_failed_activity_with_a_snapshot_not_reread_says_unknown_and_verify(fast_account):
    result, emu, target, members = failing_part_way(fast_account, 2106, verify=False)

    assert result.after is None
    assert set(result.rows["status"].astype(str)) == {"unknown"}
    assert result.rows["error"].str.contains("result.verify()", regex=False).all()
    result.verify()
    status = result.rows["status"].astype(str)
    assert set(status) == {"removed", "failed"}
    assert (status == "removed").sum() == len(set(members) - set(emu.account.members(target)))


class DeleteOnStart(NullReporter):
    """Deletes a contact once the run starts (after the snapshot read, before the POST)."""

    def __init__(self, emu, contact_id: str) -> None:
        self.emu, self.contact_id = emu, contact_id

    def start(self, snapshot) -> None:
        if snapshot.phase == "starting":
            self.emu.account.delete_contact(self.contact_id)


def test_an_add_with_a_snapshot_maps_activity_errors_onto_rows_and_pairs(fast_account):
    emu, client, target = fast_account(seed=2107, contacts=300)
    active = set(emu.account.contact_ids(status="active"))
    outside = sorted(active - set(emu.account.members(target)))[:6]
    gone = outside[0]
    df = pd.DataFrame({"contact_id": outside})

    result = df.cc.add_to_lists(
        [target], client=client, progress=DeleteOnStart(emu, gone), snapshot=True
    )

    assert result.after is not None  # verified by a re-read
    status = result.rows.set_index("contact_id")["status"].astype(str)
    assert status[gone] == "api_error" and (status.drop(gone) == "added").all()
    error = result.rows.set_index("contact_id")["error"]
    assert gone in error[gone] and "deleted" in error[gone]
    pairs = result.changes.set_index("contact_id")["outcome"].astype(str)
    assert pairs[gone] == "api_error" and (pairs.drop(gone) == "added").all()
    assert not result.ok and result.summary().outcome.exit_code == 1


def test_a_failed_activity_verified_by_a_sample_says_unknown_for_pairs_it_did_not_see(fast_account):
    result, emu, target, members = failing_part_way(fast_account, 2107, verify="sample")

    assert result.verification()["sample"]
    seen = set(result.after.contact_ids)
    assert 0 < len(seen) < len(members)
    pairs = result.changes.set_index("contact_id")["outcome"].astype(str)
    # What the sample saw, it settles; the rest of a part-done activity is not known.
    gone = set(members) - set(emu.account.members(target))
    assert all(pairs[c] == ("removed" if c in gone else "failed") for c in seen)
    assert set(pairs.drop(sorted(seen))) == {"unknown"}


def test_a_run_nothing_verified_says_so_in_its_outcome_line(fast_account):
    # verify=False: the activity completed and nothing re-read the list. The outcome
    # line said "completed (ok)", as a verified run's does; it says "not verified" now,
    # in repr, HTML and the panel alike (they render this line).
    emu, client, target = fast_account(seed=2107, contacts=50)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:5]})
    result = df.cc.remove_from_lists(
        [target], client=client, progress=False, snapshot=False, verify=False
    )
    assert result.after is None and result.ok
    line = result.summary().outcome_line
    assert line == "outcome: completed (ok, not verified)"
    assert line in repr(result) and line in result._repr_html_()
    result.verify()
    assert result.summary().outcome_line == "outcome: completed (ok)"
