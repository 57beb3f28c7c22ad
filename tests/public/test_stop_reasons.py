"""Why a run stopped, told alike by the result, its summary, ``run_result`` and
``runs()``: not waited for, a timeout, a dead process, another process driving it,
and a quota wait cut short by ``timeout=`` (real HTTP to the emulator)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import ccpandas
from ccpandas.api import plan_list_removal, run_plan
from ccpandas.emulator.clock import ManualClock, OffsetClock
from ccpandas.errors import QuotaExceededError
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner
from ccpandas.store.journal import RunJournal, open_journal
from ccpandas.vocab import STOP_DRIVER_ENDED


def _frame(emu, n: int = 20) -> tuple[pd.DataFrame, str]:
    list_id = emu.account.list_ids()[0]
    return pd.DataFrame({"contact_id": list(emu.account.members(list_id))[:n]}), list_id


def _views(result) -> tuple[ccpandas.Summary, ccpandas.Summary, pd.Series]:
    """The result's summary, the rebuilt one (another process's view), runs()' row."""
    rebuilt = ccpandas.run_result(result.run_id, client=result.runner.client).summary()
    return result.summary(), rebuilt, ccpandas.runs().set_index("run_id").loc[result.run_id]


def test_a_run_not_waited_for_says_so_not_timeout(fast_account):
    # wait=False, no timeout anywhere: the summary, run_result and runs() all said
    # stop_reason "timeout"; the advice named no result.wait().
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, _ = fast_account(seed=41, contacts=200, clock=clock, start_delay=3600.0)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["outcome"] == "processing"
    assert mine.stop_reason == rebuilt.stop_reason == row["stop_reason"] == "not_waited"
    for text in (str(result), str(ccpandas.run_result(result.run_id, client=client))):
        assert "result.wait() follows its activities" in text and "ccpandas.resume(" in text
    clock.advance(hours=2)
    emu.configure(speed=1_000_000.0)
    assert result.wait().ok  # waited to the end: the reason is gone everywhere
    mine, rebuilt, row = _views(result)
    assert mine.stop_reason is rebuilt.stop_reason is row["stop_reason"] is None


def test_a_run_whose_process_died_while_polling_is_told_alike(cc_emulator_factory, connect):
    # The rebuilt result said stop_reason "timeout"; runs() said the process ended.
    emu = cc_emulator_factory(seed=42, contacts=200, rate=None, start_delay=3600.0)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=connect(emu), progress=False, timeout=0)
    with open_journal().transaction() as conn:  # as a process killed while polling leaves it
        conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
    _, rebuilt, row = _views(result)
    assert str(rebuilt.outcome) == row["state"] == "processing"
    assert rebuilt.stop_reason == row["stop_reason"] == "the process driving it ended"


def test_a_run_another_process_drives_advises_waiting_not_resuming(fast_account):
    # run_result() of a run another live process drives advised "resume continues";
    # that call raises RunLockedError.
    emu, client, _ = fast_account(seed=43, contacts=200, start_delay=3600.0)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    with RunJournal.open(result.run_id).attach(result.runs):  # another process drives it
        rebuilt = ccpandas.run_result(result.run_id, client=client)
        text, summary = str(rebuilt), rebuilt.summary()
        assert ccpandas.runs().set_index("run_id").loc[result.run_id, "state"] == "running"
    assert "another process is driving it now" in text and "ccpandas runs" in text
    assert "continues" not in text and summary.stop_reason is None
    assert "another process is driving it now" in summary.html()


def test_a_quota_wait_ends_at_the_timeout_not_at_the_reset(fast_account):
    # wait_for_quota=True with timeout=600: the quota spent while polling was slept
    # through until 00:00 UTC, hours past the timeout.
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    emu, client, _ = fast_account(seed=44, contacts=200, clock=clock, start_delay=60.0)
    frame, list_id = _frame(emu)
    emu.configure(daily_quota=emu.quota_used + 2)  # the lists' check and the POST
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    plan = plan_list_removal(frame, [list_id], client=client)
    result = run_plan(plan, client, runner=runner, progress=False, wait_for_quota=True, timeout=600)
    assert clock.now() <= dt.datetime(2025, 3, 1, 22, 10, 1, tzinfo=dt.UTC)
    mine, rebuilt, row = _views(result)
    assert mine.stop_reason == rebuilt.stop_reason == row["stop_reason"] == "timeout"
    assert mine.stopped and "ccpandas.resume(" in str(result)  # resumable
    clock.set(dt.datetime(2025, 3, 2, 0, 1, tzinfo=dt.UTC))  # the reset
    assert result.resume().ok


def test_the_timeout_does_not_cut_the_verifications_quota_wait(fast_account):
    # The run's activities all completed within timeout=600; the quota then ran out at
    # the re-read. wait()'s deadline was still set, so the re-read's quota wait ended
    # at 22:10, unverified, while the summary said "completed (ok)" and no stop reason.
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    emu, client, _ = fast_account(seed=44, contacts=200, clock=clock, start_delay=0.0)
    list_id = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(list_id))[:20]})
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    plan = plan_list_removal(frame, [list_id], client=client, snapshot=True)
    emu.configure(daily_quota=emu.quota_used + 3)  # the POST and polls; not the re-read
    result = run_plan(plan, client, runner=runner, progress=False, wait_for_quota=True, timeout=600)
    assert clock.now() >= dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC)  # waited the reset
    assert result.ok and result.summary().verified and not result.stopped


def test_a_verify_stopped_by_the_quota_is_told_as_wait_tells_it(fast_account):
    # result.verify() refused by the spent daily quota left the run "completed" in the
    # result, run_result and runs(), nothing verified; wait() stopped there says
    # quota_exceeded.
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, _ = fast_account(seed=46, contacts=200, clock=clock, start_delay=3600.0)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    clock.advance(hours=2)  # every activity ended on the server
    emu.configure(quota_left=1)  # its look at the activities, not the read
    with pytest.raises(QuotaExceededError, match=r"ccpandas\.resume\(") as caught:
        result.verify()
    assert caught.value.result is result and result.stopped
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["outcome"] == "quota_exceeded"
    assert mine.stop_reason == rebuilt.stop_reason == row["stop_reason"] == "quota_exceeded"
    assert row["state"] == "stopped" and not mine.ok and not row["removed_memberships"]
    assert set(result.changes["outcome"].astype(str)) == {"unverified"}
    emu.configure(quota_left=None)  # the reset
    assert result.verify().ok
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["state"] == "completed"
    assert mine.stop_reason is rebuilt.stop_reason is row["stop_reason"] is None


def _stopped_unread(fast_account, seed: int):
    """A run not waited for whose activities have all ended; its emulator and client."""
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, _ = fast_account(seed=seed, contacts=200, clock=clock, start_delay=3600.0)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    return result, emu, client, clock


def test_an_interrupted_run_whose_verify_meets_the_quota_tells_one_story(fast_account, monkeypatch):
    # Ctrl-C in wait(), then verify() refused by the quota: the result said interrupted,
    # run_result quota_exceeded, runs() interrupted with stop_reason quota_exceeded.
    result, emu, _, clock = _stopped_unread(fast_account, 47)

    def ctrl_c(*_):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Runner, "poll", ctrl_c)
        with pytest.raises(KeyboardInterrupt):
            result.wait(progress=False)
    clock.advance(hours=2)
    emu.configure(quota_left=1)
    with pytest.raises(QuotaExceededError):
        result.verify()
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["outcome"] == "quota_exceeded"
    assert mine.stop_reason == row["stop_reason"] == "quota_exceeded" and not result.interrupted


def test_a_verify_ends_a_stop_another_result_of_the_run_recorded(fast_account):
    # Another view of the run (run_result, another process) was stopped by the quota at
    # its verify(); this result's verify() then read every pair and said completed, while
    # the journal kept the stop: run_result said quota_exceeded.
    result, emu, client, clock = _stopped_unread(fast_account, 48)
    clock.advance(hours=2)
    other = ccpandas.run_result(result.run_id, client=client)
    emu.configure(quota_left=1)
    with pytest.raises(QuotaExceededError):
        other.verify()
    emu.configure(quota_left=None)
    assert result.verify().ok
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["state"] == "completed"
    assert rebuilt.ok and rebuilt.stop_reason is None


def test_a_verify_of_a_run_rebuilt_while_driven_elsewhere_ends_it(fast_account, monkeypatch):
    # Rebuilt while another process drove the run, verified after that one ended: the
    # verify() journaled "running" for good (runs() said running, run_result completed).
    result, _, client, clock = _stopped_unread(fast_account, 49)

    def status(word: str) -> None:
        with open_journal().transaction() as conn:
            conn.execute("UPDATE runs SET status = ? WHERE run_id = ?", (word, result.run_id))

    status("running")
    with monkeypatch.context() as m:  # as while another process holds the run
        m.setattr(ccpandas.store.journal.JournalDB, "is_driven", lambda *_: True)
        rebuilt = ccpandas.run_result(result.run_id, client=client)
    assert rebuilt.driven_elsewhere
    status("ended")  # that process ended, its run not waited for
    clock.advance(hours=2)
    assert rebuilt.verify().ok
    mine, again, row = _views(rebuilt)
    assert str(mine.outcome) == str(again.outcome) == row["state"] == "completed"


def test_a_verify_of_a_run_whose_driver_died_since_says_so(fast_account, monkeypatch):
    # Rebuilt while another process drove the run, verified (its activities still
    # running) after that process was killed: the result said processing with no stop
    # reason, run_result and runs() "the process driving it ended".
    result, _, client, _ = _stopped_unread(fast_account, 52)
    with open_journal().transaction() as conn:  # as a process killed while polling leaves it
        conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
    with monkeypatch.context() as m:  # as while another process holds the run
        m.setattr(ccpandas.store.journal.JournalDB, "is_driven", lambda *_: True)
        rebuilt = ccpandas.run_result(result.run_id, client=client)
    assert not rebuilt.verify().done
    mine, again, row = _views(rebuilt)
    assert str(mine.outcome) == str(again.outcome) == row["state"] == "processing"
    assert mine.stop_reason == again.stop_reason == row["stop_reason"] == STOP_DRIVER_ENDED


def test_a_re_check_of_a_run_that_ended_journals_no_stop(fast_account):
    # verify() of a run that had ended, nothing to clear, journaled its end again on
    # every read: a write (the journal's lock) for nothing, its stopped_at the re-check's.
    emu, client, _ = fast_account(seed=53, contacts=200)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False)
    ended = open_journal().run_record(result.run_id)["stopped_at"]
    assert result.verify().ok and ccpandas.run_result(result.run_id, client=client).verify().ok
    assert open_journal().run_record(result.run_id)["stopped_at"] == ended


def test_a_verify_of_a_run_whose_driver_stopped_since_says_so(fast_account, monkeypatch):
    # As above, but that process stopped (the quota) and ended: verify() said
    # "processing" with the stop reason beside it, run_result "quota_exceeded" (review).
    result, _, client, _ = _stopped_unread(fast_account, 53)
    with open_journal().transaction() as conn:  # as the other process drives it
        conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
    with monkeypatch.context() as m:
        m.setattr(ccpandas.store.journal.JournalDB, "is_driven", lambda *_: True)
        rebuilt = ccpandas.run_result(result.run_id, client=client)
    with open_journal().transaction() as conn:  # as it leaves the run when the quota stops it
        conn.execute(
            "UPDATE runs SET status = 'stopped', stop_reason = 'quota_exceeded' WHERE run_id = ?",
            (result.run_id,),
        )
    rebuilt.verify()
    mine, again, row = _views(rebuilt)
    assert str(mine.outcome) == str(again.outcome) == row["outcome"] == "quota_exceeded"
    assert row["state"] == "stopped" and mine.stopped and not mine.ok
    assert mine.stop_reason == again.stop_reason == row["stop_reason"] == "quota_exceeded"


def test_a_verified_run_stays_verified_when_a_re_check_meets_the_quota(fast_account):
    # A completed, verified run whose verify() again was refused by the quota became
    # "stopped ... continue with ccpandas.resume(...)", and its rebuild "not verified".
    emu, client, _ = fast_account(seed=50, contacts=200)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False)
    assert result.ok
    emu.configure(quota_left=0)
    with pytest.raises(QuotaExceededError) as caught:
        result.verify()
    assert "resume" not in str(caught.value)
    mine, rebuilt, row = _views(result)
    assert str(mine.outcome) == str(rebuilt.outcome) == row["state"] == "completed"
    assert mine.ok and rebuilt.ok and row["removed_memberships"]


def _afters(run_id: str) -> list[tuple[str, str | None]]:
    """The run's verification reads in the journal, oldest first: (state, summary)."""
    rows = open_journal().query(
        "SELECT state, summary FROM snapshots WHERE run_id = ? AND phase = 'after' "
        "ORDER BY created_at",
        (run_id,),
    )
    return [(r["state"], r["summary"]) for r in rows]


def test_a_stale_result_s_re_check_of_a_run_verified_elsewhere_changes_nothing(fast_account):
    # Another view verified the run; this result (no read of its own) re-checked with
    # the quota spent, and recorded quota_exceeded on a completed, verified run.
    emu, client, _ = fast_account(seed=63, contacts=200)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    assert ccpandas.run_result(result.run_id, client=client).wait(progress=False).ok
    emu.configure(quota_left=0)  # spent
    with pytest.raises(QuotaExceededError):
        result.verify()
    _, rebuilt, row = _views(result)
    assert row["outcome"] == str(rebuilt.outcome) == "completed" and rebuilt.ok


def test_a_retry_from_a_result_without_its_own_read_is_read_again(fast_account):
    # The retry's verification took the read another view made before the retry (it
    # was outdated only when this result held a read of its own): 20 pairs "still
    # members" that the retry had removed, in the result, run_result and runs().
    emu, client, _ = fast_account(seed=61, contacts=200)
    frame, list_id = _frame(emu)
    emu.fail_next(1, state="failed", at=0.0)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    emu.configure(quota_left=1)  # its poll, not its read
    with pytest.raises(QuotaExceededError):
        result.wait(progress=False)
    emu.configure(quota_left=None)
    ccpandas.run_result(result.run_id, client=client).verify()  # another view reads it
    assert result.after is None and result.retryable_runs
    result.retry_failed(progress=False)
    assert not set(emu.account.members(list_id)) & set(frame["contact_id"])
    _, rebuilt, row = _views(result)
    assert result.ok and rebuilt.ok and row["outcome"] == "completed"


def test_a_send_outdates_every_earlier_verification_read(fast_account):
    # Verified, a re-check cut short by the quota, then a retry: only the newest read
    # was outdated, so runs() kept showing the older one's figures for the retried run.
    clock = OffsetClock()
    emu, client, _ = fast_account(seed=62, contacts=200, clock=clock, start_delay=3600.0)
    frame, list_id = _frame(emu)
    emu.fail_next(1, state="failed", at=0.5)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, wait=False)
    clock.advance(hours=2)
    result.wait(progress=False)
    emu.configure(quota_left=0)
    with pytest.raises(QuotaExceededError):
        result.verify()
    emu.configure(quota_left=None)
    result.retry_failed(progress=False, timeout=0)  # sent, not yet ended
    assert [state for state, _ in _afters(result.run_id)] == ["outdated", "outdated"]
    row = ccpandas.runs().set_index("run_id").loc[result.run_id]
    assert not row["removed_memberships"]


def test_runs_reads_a_dead_verified_run_s_state_from_the_journal(fast_account, monkeypatch):
    # A run verified, its process killed before it journaled its end ('running', no
    # lock): runs() rebuilt the whole run (its plan, batches and verification read) on
    # every call to learn whether its verification was due; the journal says it was made.
    emu, client, _ = fast_account(seed=45, contacts=200)
    frame, list_id = _frame(emu)
    result = frame.cc.remove_from_lists([list_id], client=client, progress=False, snapshot=True)
    assert result.ok and result.after is not None
    with open_journal().transaction() as conn:  # as a process killed at its end leaves it
        conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
    rebuilt = []
    rebuild = ccpandas.api.rebuild_run
    monkeypatch.setattr(ccpandas.api, "rebuild_run", lambda *a: rebuilt.append(a) or rebuild(*a))
    assert ccpandas.runs().set_index("run_id").loc[result.run_id, "state"] == "completed"
    assert not rebuilt
