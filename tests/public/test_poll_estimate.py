"""The plan's poll estimate against a real run: the runner polls the emulator over HTTP,
the emulator counts every ``GET /activities``. One manual clock drives the emulator's
processing, the client's rate limiter (4 requests/s) and the runner's sleeps, so the
run takes no wall time and no figure depends on the machine's load."""

from __future__ import annotations

import pandas as pd
import pytest

from ccpandas.api import run_plan
from ccpandas.emulator import ManualClock
from ccpandas.emulator.settings import Settings
from ccpandas.plan.planner import plan_removal
from ccpandas.plan.polls import (
    ASSUMED_SPEED,
    POLL_GROWTH,
    POLL_MAX,
    POLL_MIN,
    SUBMIT_POLL_EVERY,
    PollModel,
    expected_polls,
    request_items,
)
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner

POLL_ROUTES = ("/v3/activities", "/v3/activities/{activity_id}")


def test_the_estimate_assumes_the_emulators_pace_and_the_runners_schedule() -> None:
    settings = Settings()
    assert settings.speed == ASSUMED_SPEED
    assert PollModel().delay == settings.effective_start_delay
    runner = Runner(None)
    assert (runner.poll_min, runner.poll_max, runner.poll_growth) == (
        POLL_MIN,
        POLL_MAX,
        POLL_GROWTH,
    )
    assert runner.submit_poll_every == SUBMIT_POLL_EVERY


def _run(cc_emulator_factory, connect, *, contacts: int, speed: float):
    """A removal of ``contacts`` ids at 4 requests/s from an emulator processing
    ``speed`` contacts a second: (the plan, the polls the emulator counted, every
    request it counted, the runner's poll count)."""
    clock = ManualClock()
    emu = cc_emulator_factory(seed=2323, contacts=contacts, clock=clock, rate=None, speed=speed)
    client = connect(emu, rate=4.0, clock=clock.monotonic, sleep=clock.advance)
    plan = plan_removal(pd.Series(emu.account.contact_ids()), emu.account.list_ids()[:1])
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance))
    before = emu.account.count()
    result = run_plan(plan, client, progress=False, runner=runner)
    assert result.ok
    count = emu.account.count
    polls = sum(count(method="GET", route=r) for r in POLL_ROUTES)
    return plan, polls, count() - before, result.runner.polls


def test_a_run_at_the_assumed_speed_polls_as_the_plan_said(cc_emulator_factory, connect):
    # 24 removals: 6 s of sending, so the runner polls while it submits too
    plan, polls, spent, rounds = _run(
        cc_emulator_factory, connect, contacts=12_000, speed=ASSUMED_SPEED
    )
    assert plan.n_requests == 24
    assert polls == rounds >= 2  # one GET /activities a round (few are unfinished)
    assert abs(polls - plan.expected_polls) <= 0.1 * polls, (polls, plan.expected_polls)
    assert abs(spent - plan.total_requests) <= 0.1 * spent, (spent, plan.total_requests)


@pytest.mark.parametrize("speed", [500.0, 100.0])
def test_a_backlog_polls_as_the_simulation_of_its_pace_says(cc_emulator_factory, connect, speed):
    # Processing 500 contacts takes 1 s or 5 s, so the activities queue up behind the
    # sends and the runner waits on its growing intervals long after the last POST.
    plan, polls, _, rounds = _run(cc_emulator_factory, connect, contacts=6_000, speed=speed)
    model = PollModel(speed=speed)
    estimate = expected_polls(plan.n_requests, plan.rate, request_items(plan.batches), model=model)
    assert polls == rounds
    assert polls > plan.expected_polls  # more than at the assumed (faster) speed
    assert abs(polls - estimate) <= 0.1 * polls, (polls, estimate)
