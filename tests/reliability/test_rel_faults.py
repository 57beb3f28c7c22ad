"""Fault scenarios in one process, over real HTTP against the emulator's fault settings.

Each scenario ends with the three invariants (reliability_support.check_all): every row
accounted for, the emulator's memberships exactly as asked, no accepted batch re-sent
except after a send without an answer (counted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import pandas as pd
import pytest
from reliability_support import (
    REMOVE,
    check_all,
    check_memberships,
    fast_client,
    fast_runner,
    memberships,
)

import ccpandas
import ccpandas.run.options as run_options
from ccpandas import QuotaExceededError
from ccpandas.api import resume, run_plan, run_result, runs
from ccpandas.emulator import ManualClock, OffsetClock
from ccpandas.report.progress import NullReporter
from ccpandas.run import clock as run_clock
from ccpandas.run.clock import ClockFrom
from ccpandas.store.journal import open_journal


def segment(emu, n: int | None = None, *, extra: bool = True) -> pd.DataFrame:
    """The emulator's contacts as a frame, with a duplicate, a bad id and a blank."""
    ids = emu.account.contact_ids()[:n]
    frame = pd.DataFrame({"contact_id": ids})
    if extra:
        junk = pd.DataFrame({"contact_id": [ids[0].upper(), "not-an-id", "  "]})
        frame = pd.concat([frame, junk], ignore_index=True)
    return frame


class Recorder(NullReporter):
    """Keeps every snapshot; ``hook(snapshot)`` may act on the emulator mid-run."""

    def __init__(self, hook=None) -> None:
        self.snapshots: list = []
        self.hook = hook

    def update(self, snapshot) -> None:
        self.snapshots.append(snapshot)
        if self.hook is not None:
            self.hook(snapshot)


def test_server_errors_dropped_connections_and_latency_spikes(emulator):
    # 10% answer 500/503, 5% of connections dropped after the request was handled,
    # 5% of answers delayed beyond the client's read timeout.
    # Seed 1: the first 18 requests (all POSTs, so in a fixed order) meet four 5xx, a
    # dropped connection and two spikes; the polls that follow meet more.
    emu = emulator(
        seed=1,
        contacts=3000,
        lists=130,
        speed=4_000.0,
        error_rate=0.10,
        drop_rate=0.05,
        spike_rate=0.05,
        spike_latency=0.4,
    )
    client = fast_client(emu, seed=1, timeout=(2.0, 0.2))
    targets = emu.account.list_ids()[:120]  # 3 list groups x 6 contact groups = 18 batches
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(targets, snapshot=False)

    runner = fast_runner(client, poll_min=0.001, poll_max=0.005)
    result = run_plan(plan, client, progress=False, runner=runner)

    assert result.ok and plan.n_batches == 18
    counts = check_all(emu, before, [result], [frame])
    log = emu.account.request_log
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0
    assert any(r.dropped for r in log)
    assert client.stats.transport_errors > 0  # drops and spikes, seen by the client
    assert client.stats.resent_posts > 0  # POSTs without an answer were sent again...
    assert client.stats.resent_posts == sum(r.resent for r in result.runs)  # ...and counted
    assert counts[0]["uncertain_sends"] == client.stats.resent_posts
    assert counts[0]["duplicates_on_server"] >= 1  # the dropped POST had been applied


def test_throttling_storm_mid_run(emulator):
    emu = emulator(seed=22, contacts=1500, rate=20)
    client = fast_client(emu, seed=22, rate=15)
    # backoff from 0.25 s (the real schedule starts at 0.5 s), so the storm stays short
    client.retry_policy = dataclasses.replace(client.retry_policy, base_delay=0.25, max_delay=2.0)
    before = memberships(emu)
    frame = segment(emu)

    def storm(snapshot) -> None:
        if snapshot.batches_submitted == 2 and emu.settings.rate != 1:
            emu.configure(rate=1)  # the limit drops to 1 request per second mid-run

    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    result = run_plan(plan, client, progress=Recorder(storm), runner=fast_runner(client))

    assert result.ok and plan.n_batches == 3
    assert emu.settings.rate == 1
    assert emu.account.count(status=429) > 0 and client.stats.throttled > 0
    assert emu.account.count(method="POST", route=REMOVE, status=201) == 3
    check_all(emu, before, [result], [frame])


def test_token_expiry_mid_run_then_resume_with_a_new_token(emulator):
    emu = emulator(seed=23, contacts=5000)
    short_lived = emu.issue_token(expires_after=5)  # five requests, then 401
    client = fast_client(emu, token=short_lived)
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)

    with pytest.raises(ccpandas.AuthError, match="401") as caught:
        run_plan(plan, client, progress=False, runner=fast_runner(client))
    result = caught.value.result
    assert result.run_id and result.stopped
    assert len(result.activity_ids) == 5
    assert result.rows["status"].value_counts()["not_sent"] == 2500
    # The message itself says what to do: log in again, then the call that continues.
    assert f"then continue with ccpandas.resume({result.run_id!r}" in str(caught.value)
    check_memberships(emu, before, [result], exact=False)  # nothing else touched so far

    fresh = fast_client(emu, token=emu.issue_token())
    resumed = resume(result.run_id, client=fresh, progress=False)
    assert resumed.ok
    attempts = open_journal().attempts(result.run_id)
    refused = attempts[attempts["outcome"] == "not_sent"]
    assert len(refused) == 1 and "401" in refused["error"].iloc[0]
    assert emu.account.count(method="POST", route=REMOVE, status=201) == 10
    check_all(emu, before, [resumed], [frame])


def test_token_expiry_mid_run_with_a_refreshing_token(emulator):
    emu = emulator(seed=24, contacts=3000)

    class Refreshing:
        """A token provider that gets a new token after a 401 (as the auth module's)."""

        def __init__(self) -> None:
            self.token = emu.issue_token(expires_after=3)

        def __call__(self) -> str:
            return self.token

        def refresh(self) -> bool:
            self.token = emu.issue_token(expires_after=3)
            return True

    client = fast_client(emu, token=Refreshing())
    before = memberships(emu)
    frame = segment(emu)
    result = run_plan(
        frame.cc.plan(emu.account.list_ids()[:2], snapshot=False),
        client,
        progress=False,
        runner=fast_runner(client),
    )
    assert result.ok
    assert client.stats.refreshes >= 2 and emu.account.count(status=401) >= 2
    check_all(emu, before, [result], [frame])


def test_failed_and_timed_out_activities_then_retry_failed(emulator):
    # Seed 1: of the first ten activities, two end failed and two timed out, part-way.
    emu = emulator(seed=1, contacts=5000, speed=200_000.0, fail_rate=0.2, timeout_rate=0.1)
    client = fast_client(emu)
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(emu.account.list_ids()[:2], snapshot=False)
    result = run_plan(plan, client, progress=False, runner=fast_runner(client))

    states = set(result.activities["state"])
    assert {"failed", "timed_out"} <= states and not result.ok
    # final and accounted even now: the failed rows say so; nothing else was touched
    counts = check_all(emu, before, [result], [frame], exact=False)
    assert counts[0]["duplicates_on_server"] == 0
    with pytest.raises(ccpandas.ActivityError):
        result.raise_for_errors()

    emu.configure(fail_rate=0.0, timeout_rate=0.0)
    failed = len(result.failed_runs)
    result.retry_failed()
    assert result.ok
    attempts = open_journal().attempts(result.run_id)
    assert (attempts["reason"] == "retry_failed").sum() == failed
    assert emu.account.count(method="POST", route=REMOVE, status=201) == 10 + failed
    check_all(emu, before, [result], [frame])


def _evening(minutes_to_midnight: float) -> OffsetClock:
    start = dt.datetime(2025, 3, 1, tzinfo=dt.UTC) + dt.timedelta(
        days=1, minutes=-minutes_to_midnight
    )
    return OffsetClock(start)


def test_daily_quota_mid_run_then_past_midnight_resume(emulator):
    clock = _evening(30)
    emu = emulator(seed=26, contacts=5000, clock=clock, daily_quota=8)
    client = fast_client(emu)
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)

    runner = fast_runner(client, clock=ClockFrom(clock))
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client, progress=False, runner=runner)
    err, result = caught.value, caught.value.result
    # an explicit client and no default: the call to continue passes it
    assert f"ccpandas.resume({result.run_id!r}, client=client)" in str(err)
    assert "resets at 2025-03-02 00:00 UTC" in str(err)
    assert err.reset_at == dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    assert len(result.activity_ids) == 8 and result.stopped
    listed = runs().set_index("run_id").loc[result.run_id]
    assert listed["state"] == "stopped" and listed["stop_reason"] == "quota_exceeded"
    check_memberships(emu, before, [result], exact=False)

    clock.set(dt.datetime(2025, 3, 2, 0, 0, 5, tzinfo=dt.UTC))  # past midnight: reset
    resumed = resume(
        result.run_id,
        client=client,
        progress=False,
        runner=fast_runner(client, clock=ClockFrom(clock)),
    )
    assert resumed.ok
    assert runs().set_index("run_id").loc[result.run_id, "state"] == "completed"
    check_all(emu, before, [resumed], [frame])


def test_wait_for_quota_sleeps_until_midnight_and_shows_the_wait(emulator):
    clock = _evening(2)
    emu = emulator(seed=27, contacts=5000, clock=clock, daily_quota=6)
    client = fast_client(emu)
    before = memberships(emu)
    frame = segment(emu)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # time passes at once, on the emulator's clock
        slept.append(seconds)
        clock.advance(seconds)

    runner = fast_runner(
        client,
        clock=ClockFrom(clock, sleep=sleep),
        jitter=lambda: 0.5,
        quota_jitter=60.0,
    )
    recorder = Recorder()
    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    result = run_plan(plan, client, progress=recorder, runner=runner, wait_for_quota=True)

    assert result.ok and not result.stopped
    waits = [s for s in recorder.snapshots if s.phase == "waiting"]
    assert waits and "daily quota spent" in waits[0].message
    assert "2025-03-02 00:00:30 UTC" in waits[0].message  # midnight plus half the jitter
    assert 0 < waits[-1].wait_seconds <= 1.0 < waits[0].wait_seconds <= 151
    assert clock.now() >= dt.datetime(2025, 3, 2, 0, 0, 30, tzinfo=dt.UTC)
    assert emu.account.count(status=429) == 1  # one refusal, then a wait, not a hammering
    check_all(emu, before, [result], [frame])


def test_wait_for_quota_waits_through_a_quota_spent_at_the_verification(emulator):
    # Every activity completed, then the quota runs out: the verification's re-read is
    # refused. wait_for_quota=True must wait for the reset and verify then, not stop
    # the run with a QuotaExceededError that says "pass wait_for_quota=True to wait".
    clock = _evening(2)
    emu = emulator(seed=31, contacts=3000, clock=clock)
    client = fast_client(emu)
    before = memberships(emu)
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})  # 2 batches
    runner = fast_runner(client, clock=ClockFrom(clock, sleep=clock.advance), jitter=lambda: 0)

    def spend_the_quota_once_all_completed(snapshot) -> None:
        states = {str(a.state) for a in snapshot.activities}
        if snapshot.phase == "polling" and states == {"completed"}:
            emu.configure(daily_quota=emu.quota_used)

    recorder = Recorder(spend_the_quota_once_all_completed)
    plan = frame.cc.plan([target], client=client, snapshot=True)
    result = run_plan(plan, client, progress=recorder, runner=runner, wait_for_quota=True)

    assert result.ok and result.after is not None  # verified, after the wait
    assert any(s.phase == "waiting" for s in recorder.snapshots)
    assert emu.account.count(status=429) == 1  # one refusal, then the wait
    check_all(emu, before, [result], [frame])


def test_never_more_than_the_queue_limit_in_flight(emulator):
    emu = emulator(seed=28, contacts=5000, speed=10_000.0, max_queued_activities=3)
    client = fast_client(emu)
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    recorder = Recorder()
    result = run_plan(plan, client, progress=recorder, runner=fast_runner(client, max_queued=3))
    assert result.ok
    assert emu.account.count(status=429) == 0  # it paused instead of being refused
    assert any("queued" in s.message for s in recorder.snapshots if s.phase == "waiting")
    check_all(emu, before, [result], [frame])


def test_too_many_queued_activities_answer_is_waited_out(emulator):
    # The runner does not know the account's queue (another run may fill it): the 429
    # that says so pauses submission until activities finish.
    # The emulator's clock moves only when the runner sleeps: activities stay queued
    # while batches are sent and while the client retries (its real-time sleep), however
    # slow the machine, so the third POST always finds the queue full.
    clock = ManualClock()
    emu = emulator(seed=29, contacts=5000, speed=10_000.0, max_queued_activities=2, clock=clock)
    client = fast_client(emu, max_attempts=2)  # so the runner, not the client, waits
    before = memberships(emu)
    frame = segment(emu)
    plan = frame.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    recorder = Recorder()
    runner = fast_runner(client, clock=ClockFrom(clock, sleep=clock.advance))
    result = run_plan(plan, client, progress=recorder, runner=runner)
    assert result.ok
    assert emu.account.count(method="POST", route=REMOVE, status=429) > 0
    assert any("too many queued" in s.message for s in recorder.snapshots)
    assert emu.account.count(method="POST", route=REMOVE, status=201) == 10
    check_all(emu, before, [result], [frame])


def test_a_verification_stopped_by_an_error_is_a_stopped_run_everywhere(emulator):
    # Every activity completed, then the verification's re-read meets 503s until the
    # client gives up. The call raised "... resume continues the run", yet the journal
    # said `completed` (runs()) and the rebuilt result "completed (ok, not verified)":
    # ok without the re-read the run asked for, and nothing advising the resume.
    emu = emulator(seed=32, contacts=3000)
    client = fast_client(emu)
    before = memberships(emu)
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})

    def fail_the_reads_once_verifying(snapshot) -> None:
        if snapshot.phase == "verifying":
            emu.configure(error_rate=1.0)

    plan = frame.cc.plan([target], client=client, snapshot=True)
    runner = fast_runner(client)
    recorder = Recorder(fail_the_reads_once_verifying)
    with pytest.raises(ccpandas.errors.ServerError) as caught:
        run_plan(plan, client, progress=recorder, runner=runner)
    live = caught.value.result
    rebuilt = ccpandas.run_result(live.run_id, client=client)
    (row,) = runs().itertuples()
    for summary in (live.summary(), rebuilt.summary()):
        assert (str(summary.outcome), summary.ok) == ("stopped", False), summary.text()
        assert "ccpandas.resume(" in summary.text()
    assert (row.state, row.outcome) == ("stopped", "stopped")
    assert row.stop_reason == live.summary().stop_reason == rebuilt.summary().stop_reason

    emu.configure(error_rate=0.0)
    posts = emu.account.count(method="POST", route=REMOVE)
    done = resume(live.run_id, client=client, progress=False, runner=runner)
    assert done.ok and done.after is not None  # verified now; nothing sent again
    assert emu.account.count(method="POST", route=REMOVE) == posts
    assert runs()["state"].tolist() == ["completed"]
    check_all(emu, before, [done], [frame])


def test_a_run_that_waited_for_the_reset_backs_off_briefly_when_the_server_lags(emulator):
    # wait_for_quota=True: the check before the first change waits for 00:00 UTC (our
    # clock); the server's lags 3 minutes, so its first POST is refused 429. The run's
    # runner was rebuilt after that check without its count of waits: it slept a whole
    # day more (a first wait) instead of backing off a few minutes.
    midnight = dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    ours = ManualClock(midnight - dt.timedelta(hours=1))
    server = ManualClock(ours.now() - dt.timedelta(minutes=3))

    def sleep(seconds: float) -> None:
        ours.advance(seconds)
        server.advance(seconds)
        if server.now() >= midnight:
            emu.configure(daily_quota=10_000)  # the server's new day

    emu = emulator(seed=41, contacts=600, speed=1_000_000.0, clock=server)
    client = fast_client(emu)
    before = memberships(emu)
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:100]})
    plan = frame.cc.plan([target], client=client, snapshot=True)
    emu.configure(daily_quota=emu.quota_used)  # the server's day is spent
    client.stats.day_counter.day = client.stats.day_counter.today()  # no midnight empties it
    client.stats.day_counter.add(n=10_000 - client.stats.day_counter.used())  # ours too
    runner = fast_runner(client, clock=ClockFrom(ours, sleep=sleep), jitter=lambda: 0)
    result = run_plan(plan, client, progress=False, runner=runner, wait_for_quota=True)
    assert result.ok
    assert emu.account.count(method="POST", status=429) >= 1  # the lagging server refused
    assert ours.now() < midnight + dt.timedelta(hours=1), ours.now()  # not a day more
    check_all(emu, before, [result], [frame])


def test_a_df_cc_run_that_waited_for_the_reset_backs_off_briefly_when_the_server_lags(
    emulator, monkeypatch
):
    # As the run_plan test above, through df.cc: the quota check before the first change
    # is the call's own (RunOptions.started), on a runner of its own, and the run did
    # not learn of its wait: refused just after midnight, it waited a day more (found
    # by review). The run's clocks are the system's here: patched to manual ones.
    midnight = dt.datetime(2025, 3, 2, tzinfo=dt.UTC)
    ours = ManualClock(midnight - dt.timedelta(hours=1))
    server = ManualClock(ours.now() - dt.timedelta(minutes=3))

    def sleep(self, seconds: float) -> None:
        if ours.now() < midnight:  # the server's day is spent from the wait on
            emu.configure(daily_quota=emu.quota_used)
        ours.advance(seconds)
        server.advance(seconds)
        if server.now() >= midnight:
            emu.configure(daily_quota=10_000)  # the server's new day

    monkeypatch.setattr(run_options, "Runner", functools.partial(run_options.Runner, jitter=_0))
    monkeypatch.setattr(run_clock.SystemClock, "now", lambda self: ours.now())
    monkeypatch.setattr(run_clock.SystemClock, "monotonic", lambda self: ours.monotonic())
    monkeypatch.setattr(run_clock.SystemClock, "sleep", sleep)
    emu = emulator(seed=41, contacts=600, speed=1_000_000.0, clock=server)
    client = fast_client(emu)
    before = memberships(emu)
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:100]})
    client.stats.day_counter.day = client.stats.day_counter.today()  # no midnight empties it
    client.stats.day_counter.add(n=10_000 - client.stats.day_counter.used())  # ours spent
    result = frame.cc.remove_from_lists(
        [target], client=client, progress=False, wait_for_quota=True, snapshot=False
    )
    assert result.ok
    assert emu.account.count(method="POST", status=429) >= 1  # the lagging server refused
    assert ours.now() < midnight + dt.timedelta(hours=1), ours.now()  # not a day more
    check_all(emu, before, [result], [frame])


def _0() -> float:
    return 0.0


def test_a_stale_results_verify_keeps_another_calls_retry_in_the_journal(emulator):
    # r1 (wait=False) last saw its activity running; it failed, and another call
    # retried the batch and verified the run. r1.verify() polled its old look and wrote
    # it back: the journal lost the retry, runs() said failed and a retry_failed() sent
    # the done batch again (found by review).
    clock = OffsetClock()
    emu = emulator(seed=25, contacts=1500, clock=clock, start_delay=3600.0, speed=1_000_000.0)
    client = fast_client(emu)
    target = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:300]})
    emu.fail_next(1, "failed", 0.0)
    r1 = frame.cc.remove_from_lists([target], client=client, progress=False, wait=False)
    clock.advance(hours=2)  # the activity failed on the server
    emu.configure(start_delay=0.0)
    r2 = run_result(r1.run_id, client=client)
    r2.wait(progress=False)
    assert r2.failed_runs
    assert r2.retry_failed(progress=False).ok
    posts = emu.account.count(method="POST")
    r1.verify()  # a stale result's look
    rebuilt = run_result(r1.run_id, client=client)
    assert rebuilt.activities["activity_id"].tolist() == r2.activities["activity_id"].tolist()
    assert not rebuilt.failed_runs
    rebuilt.retry_failed(progress=False)
    assert emu.account.count(method="POST") == posts  # the done batch not sent again
