"""What resume() and retry_failed() send again, and the call a stopped run suggests:
over HTTP against the emulator, counting the POSTs the emulator saw."""

from __future__ import annotations

import pandas as pd
import pytest
from engine_support import posts

import ccpandas
from ccpandas import QuotaExceededError
from ccpandas.api import run_plan, runs
from ccpandas.emulator import OffsetClock
from ccpandas.errors import APIError
from ccpandas.store.journal import open_journal

#: A well-formed contact id the seeded accounts do not have.
STRANGER = "00000000-0000-4000-8000-00000000beef"


def test_resume_never_resends_a_failed_activity_retry_failed_does(fast_account):
    emu, client, target = fast_account(seed=21, contacts=1200)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches
    emu.fail_next(1, state="failed", at=0.0)  # nothing done: its rows say failed
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    assert sorted(result.activities["state"]) == ["completed", "completed", "failed"]
    assert posts(emu) == 3

    # Every batch has an accepted activity: resuming follows them and sends nothing,
    # in this process and from the journal alike.
    result.resume(progress=False)
    assert posts(emu) == 3
    assert "failed" in set(result.rows["status"])
    again = ccpandas.resume(result.run_id, client=client, progress=False)
    assert posts(emu) == 3
    assert sorted(again.activities["state"]) == ["completed", "completed", "failed"]

    # retry_failed() is the way to send a failed batch again.
    again.retry_failed(progress=False)
    assert again.ok and posts(emu) == 4
    assert not emu.account.members(target)
    reasons = open_journal().attempts(result.run_id)["reason"].tolist()
    assert reasons.count("retry_failed") == 1


def test_a_refused_batch_is_left_by_resume_and_sent_again_by_retry_failed(fast_account):
    # The emulator refuses (400) a request naming a contact it does not know.
    emu, client, target = fast_account(seed=22, contacts=1500, unknown_contacts="reject")
    ids = emu.account.contact_ids()
    df = pd.DataFrame({"contact_id": [*ids[:500], STRANGER, *ids[500:]]})  # 4 batches
    with pytest.raises(APIError) as caught:
        df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    result = caught.value.result
    assert caught.value.status == 400
    assert result.activities["state"].tolist()[1:] == ["rejected", "pending", "pending"]

    # What was refused is the request's own fault: resume sends the rest, not it.
    emu.configure(unknown_contacts="report")
    result.resume(progress=False)
    assert posts(emu, 400) == 1 and posts(emu, 201) == 3
    assert result.activities["state"].tolist() == [
        "completed",
        "rejected",
        "completed",
        "completed",
    ]
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["state"] == "failed"  # "... or were refused: result.retry_failed() ..."

    result.retry_failed(progress=False)
    assert posts(emu, 400) == 1 and posts(emu, 201) == 4
    assert emu.account.members(target) == set()
    # The stranger was sent again and the API reported it not found (issue 21: it was
    # called removed, and the run ok/completed): every other row is removed.
    status = result.rows.set_index("contact_id")["status"].astype(str)
    assert status[STRANGER] == "api_error" and (status.drop(STRANGER) == "removed").all()
    assert not result.ok
    assert runs().set_index("run_id").loc[result.run_id, "state"] == "failed"


def test_quota_stop_suggests_the_call_that_works_for_this_client(fast_account):
    emu, client, _ = fast_account(seed=23, contacts=1000, quota_left=1)
    first, second = emu.account.list_ids()[:2]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 2 batches

    # An explicit client and no default: ccpandas.resume(run_id) alone would raise an
    # AuthError, so the message passes the client.
    with pytest.raises(QuotaExceededError) as caught:
        df.cc.remove_from_lists([first], client=client, progress=False, snapshot=False)
    run_id = caught.value.result.run_id
    assert f"continue with ccpandas.resume({run_id!r}, client=client), or" in str(caught.value)
    assert "client=client" in caught.value.result.resume_call
    emu.configure(quota_left=None)
    assert ccpandas.resume(run_id, client=client, progress=False).ok  # as suggested

    # The same client as the default one: the short call works, and is the one given.
    old = ccpandas.set_default_client(client)
    try:
        emu.configure(quota_left=1)
        with pytest.raises(QuotaExceededError) as caught:
            df.cc.remove_from_lists([second], progress=False, snapshot=False)
        run_id = caught.value.result.run_id
        assert f"continue with ccpandas.resume({run_id!r}), or" in str(caught.value)
        emu.configure(quota_left=None)
        assert ccpandas.resume(run_id, progress=False).ok
    finally:
        ccpandas.set_default_client(old)


def test_retry_failed_of_a_verified_run_verifies_again(fast_account):
    # A run with a snapshot is verified when its activities end. A part-failed activity
    # leaves pairs `failed`; retry_failed() sends that batch again, and its result must
    # say what the lists hold now, not what the re-read before the retry saw.
    emu, client, target = fast_account(seed=23, contacts=600)
    members = sorted(emu.account.members(target))
    df = pd.DataFrame({"contact_id": members})
    emu.fail_next(1, state="failed", at=0.5)
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=True)
    assert result.activities["state"].tolist() == ["failed"]
    assert "failed" in set(result.changes["outcome"].astype(str))

    result.retry_failed(progress=False)
    assert not emu.account.members(target)  # every pair really left
    assert set(result.rows["status"].astype(str)) == {"removed"}
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert result.ok and result.summary().outcome_line == "outcome: completed (ok)"
    assert f"memberships removed (verified): {emu.account.lists[target].name} {len(members)}" in (
        str(result)
    )
    row = runs().set_index("run_id").loc[result.run_id]
    assert (row["state"], row["outcome"]) == ("completed", "completed")
    # Another process rebuilding the run from the journal tells the same story.
    again = ccpandas.run_result(result.run_id, client=client)
    assert again.ok and str(again) == str(result)


def _verified_part_way(fast_account):
    """A removal stopped by the quota after the first of its 2 batches, its activity
    followed and the run verified there (result.verify()): (emu, target, result)."""
    emu, client, target = fast_account(seed=24, contacts=2400)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    plan = df.cc.plan([target], client=client, snapshot=True)
    assert plan.n_requests == 2
    emu.configure(quota_left=1)  # the first batch only
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, progress=False)
    result = caught.value.result
    emu.configure(quota_left=None)
    result.wait(progress=False)
    result.verify()
    assert "not_sent" in set(result.changes["outcome"].astype(str))
    assert runs().set_index("run_id").loc[result.run_id, "removed_memberships"]
    return emu, target, result


def test_a_run_verified_part_way_is_verified_again_after_resume_sends(fast_account):
    # resume() sends the rest: the result must be read again, not keep the re-read that
    # saw the second batch's members still on the list.
    emu, target, result = _verified_part_way(fast_account)
    result.resume(progress=False)
    assert not emu.account.members(target)
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert result.ok


def test_a_read_before_a_later_send_is_not_the_journal_s_verification(fast_account):
    # The rest sent (resume(wait=False)) and no re-read yet: the journal must not hand
    # another process, or runs(), the earlier read as the run's.
    emu, target, result = _verified_part_way(fast_account)
    result.resume(wait=False, progress=False)
    other = ccpandas.run_result(result.run_id, client=result.runner.client)
    assert other.after is None and other.summary_text() == "not verified"
    assert not runs().set_index("run_id").loc[result.run_id, "removed_memberships"]
    other.wait(progress=False)  # verifies when done: a new read
    assert not emu.account.members(target)
    assert other.ok and set(other.changes["outcome"].astype(str)) == {"removed"}


def test_a_verify_while_the_activities_run_is_read_again_when_they_end(fast_account):
    # result.verify() while the activities had not run yet (wait=False) kept that read
    # as the run's verification: once they completed, wait() verified nothing more and
    # the run said "failed; not as asked (still_member)" in its result and runs(), and
    # undo had nothing to restore, though every contact had left the list.
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, target = fast_account(seed=25, contacts=1500, clock=clock, start_delay=3600.0)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, wait=False)
    result.verify()  # nothing removed yet: each pair still a member
    assert not runs().set_index("run_id").loc[result.run_id, "removed_memberships"]
    clock.advance(hours=2)
    result.wait(progress=False)
    assert not emu.account.members(target) & set(df["contact_id"])
    assert result.ok and set(result.changes["outcome"].astype(str)) == {"removed"}
    assert runs().set_index("run_id").loc[result.run_id, "state"] == "completed"


def test_a_verify_once_the_activities_ended_is_the_run_s_verification(fast_account):
    # After wait=False the result's last look saw its activities running; verify() made
    # once they had ended on the server was set aside all the same (taken for early)
    # and wait() read the lists again. Its one poll says they ended: the read is kept.
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, target = fast_account(seed=25, contacts=1500, clock=clock, start_delay=3600.0)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, wait=False)
    clock.advance(hours=2)  # every activity ended on the server
    polls = result.spent["polls"]
    result.verify()
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert result.spent["polls"] == polls + 1  # its look at the activities: a poll
    reads = emu.account.count(route="/v3/contacts")
    result.wait(progress=False)
    assert result.ok and emu.account.count(route="/v3/contacts") == reads  # not read again
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["state"] == "completed" and row["removed_memberships"]


def test_verify_counts_each_request_of_its_poll_when_it_pages(fast_account):
    # The result's look at its activities before verify() reads: when 500 newer
    # activities push them off the first page, it takes two GET /activities, and the
    # run's spent counts both (polls), as the emulator saw them.
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, target = fast_account(seed=25, contacts=400, clock=clock, start_delay=3600.0)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, wait=False)
    other = {"source": {"contact_ids": df["contact_id"][:1].tolist()}, "list_ids": [target]}
    for _ in range(500):
        emu.account.submit_activity(other)
    clock.advance(hours=2)  # every activity ended on the server
    spent, polls, seen = sum(result.spent.values()), result.spent["polls"], emu.account.count()
    result.verify()
    assert set(result.changes["outcome"].astype(str)) == {"removed"}
    assert emu.account.count(route="/v3/activities") == 2  # wait=False: never polled before
    assert result.spent["polls"] == polls + 2
    assert sum(result.spent.values()) - spent == emu.account.count() - seen
