"""How the runner follows activities: the collection endpoint, the fallback by id, the
backoff while activities stay busy, and Ctrl-C while polling. Real HTTP against the
emulator; its request log and counts are the evidence."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from engine_support import InterruptAfter, posts

from ccpandas.api import run_plan, runs
from ccpandas.emulator import ManualClock
from ccpandas.plan.planner import plan_removal
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner

COLLECTION = "/v3/activities"
ONE = "/v3/activities/{activity_id}"


def polls_by_route(emu) -> tuple[int, int]:
    """(GET /activities, GET /activities/{id}) requests the emulator answered."""
    count = emu.account.count
    return count(method="GET", route=COLLECTION), count(method="GET", route=ONE)


def test_busy_activities_are_polled_less_and_less_often(fast_account):
    # One activity that takes 100 s on the emulator's clock and progresses all along.
    # The runner's clock and sleep are the same manual clock: 100 s pass in no time.
    clock = ManualClock()
    emu, client, _ = fast_account(seed=31, contacts=500, clock=clock, speed=5.0, start_delay=0.0)
    plan = plan_removal(pd.Series(emu.account.contact_ids()), emu.account.list_ids()[:1])
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance))

    result = run_plan(plan, client, progress=False, runner=runner)

    assert result.ok
    log = emu.account.request_log
    (post,) = [r.at for r in log if r.method == "POST"]
    polls = [r.at for r in log if r.method == "GET" and r.route == COLLECTION]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(polls)]
    # The first poll right after the last submission, the next poll_min (1 s) later,
    # then growing by 1.6 up to poll_max (15 s), progress or not.
    assert (polls[0] - post).total_seconds() == 0
    assert gaps[:7] == pytest.approx([1.0, 1.6, 2.56, 4.096, 6.5536, 10.48576, 15.0], abs=1e-6)
    assert gaps[6:] == pytest.approx([15.0] * len(gaps[6:]), abs=1e-6)
    assert 100 <= (polls[-1] - post).total_seconds() < 100 + 15 + 1e-6
    # Polled about a dozen times in 100 s (it was once a second before).
    assert len(polls) == result.runner.polls <= 13


def test_polling_reads_the_collection_not_each_activity(fast_account):
    # The emulator's clock moves only when the runner sleeps: all six activities are
    # still unfinished at the first poll, however long the six POSTs took.
    clock = ManualClock()
    emu, client, _ = fast_account(seed=32, contacts=3000, clock=clock, speed=20_000.0)
    plan = plan_removal(pd.Series(emu.account.contact_ids()), emu.account.list_ids()[:1])
    runner = Runner(
        client, poll_min=0.02, poll_max=0.1, clock=ClockFrom(clock, sleep=clock.advance)
    )

    result = run_plan(plan, client, progress=False, runner=runner)

    assert result.ok and plan.n_batches == 6
    collection, one_by_one = polls_by_route(emu)
    assert result.runner.polls >= 2  # the activities took a while: polled more than once
    assert collection == result.runner.polls  # one page per round covers all six
    assert one_by_one == 0


def test_an_activity_the_collection_no_longer_lists_is_read_by_id(fast_account):
    emu, client, _ = fast_account(seed=33, contacts=600, max_queued_activities=None)
    ids = emu.account.contact_ids()
    target, other = emu.account.list_ids()[:2]
    plan = plan_removal(pd.Series(ids[:500]), [target])
    runner = Runner(client, poll_min=0.01, poll_max=0.05)
    result = run_plan(plan, client, progress=False, runner=runner, wait=False)
    assert len(result.activity_ids) == 1
    # Meanwhile another tool creates 1,000 newer activities on the account: the run's
    # own activity is past the two pages of 500 the runner reads for one activity.
    for i in range(1_000):
        emu.account.submit_activity(
            {"source": {"contact_ids": [ids[500 + i % 100]]}, "list_ids": [other]}
        )

    result.wait()

    assert result.ok and not emu.account.members(target) & set(ids[:500])
    assert polls_by_route(emu) == (2, 1)  # two pages, then the one activity by id


def test_keyboard_interrupt_while_polling_leaves_a_resumable_result(fast_account):
    # Activities that take about a second: still running at the first poll.
    emu, client, _ = fast_account(seed=34, contacts=1500, speed=2_000.0)
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches

    with pytest.raises(KeyboardInterrupt) as caught:
        df.cc.remove_from_lists(
            [target], client=client, progress=InterruptAfter(3, phase="polling"), snapshot=False
        )
    result = caught.value.result  # the interruption propagates, with the result so far
    assert result.run_id in "\n".join(caught.value.__notes__)

    assert result.interrupted and result.stopped and not result.done
    assert len(result.activity_ids) == 3 and posts(emu) == 3
    assert "processing" in set(result.rows["status"])
    assert "not_sent" not in set(result.rows["status"])
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["stop_reason"] == "interrupted" and row["accepted"] == 3

    result.resume(progress=False)
    assert result.ok and posts(emu) == 3  # followed to the end, nothing sent again
    assert not emu.account.members(target) & set(df["contact_id"])


def test_a_stuck_activity_is_polled_ever_less_often_then_left_resumable(fast_account):
    # An activity that stays `processing` without moving (one item every 10,000 s on the
    # emulator's clock). Polled every 15 s it would cost 480 requests in two hours.
    clock = ManualClock()
    emu, client, _ = fast_account(seed=35, contacts=500, clock=clock, speed=1e-4, start_delay=0.0)
    target = emu.account.list_ids()[0]
    plan = plan_removal(pd.Series(emu.account.contact_ids()), [target])
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance))

    # timeout: a guard, so code that polls forever fails rather than hangs.
    result = run_plan(plan, client, progress=False, runner=runner, timeout=3 * 3600)

    assert result.stopped and not result.ok and result.stop_reason == "activity_timeout"
    assert set(result.rows["status"]) == {"processing"}  # never "failed"
    polls = [r.at for r in emu.account.request_log if r.route == COLLECTION]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(polls)]
    # Up to 15 s as before, then doubling while nothing changes, up to 5 min.
    assert gaps[7:12] == pytest.approx([30.0, 60.0, 120.0, 240.0, 300.0], abs=1e-6)
    assert max(gaps) == pytest.approx(300.0)
    # Stopped after 2 h without any change: about 35 polls instead of 480.
    assert 7200 <= (polls[-1] - polls[1]).total_seconds() < 7200 + 300
    assert len(polls) <= 40
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["stop_reason"] == "activity_timeout"

    # The activity gets going again: resuming follows it to the end, nothing re-sent.
    emu.configure(speed=1e6)
    result.resume(progress=False)
    assert result.ok and posts(emu) == 1
    assert not emu.account.members(target)
