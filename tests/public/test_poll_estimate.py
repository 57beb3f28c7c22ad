"""The plan's poll and time estimates against a real run: the runner polls the emulator
over HTTP, the emulator counts every ``GET /activities``. One manual clock drives the
emulator's processing, the client's rate limiter and the runner's sleeps, so the run
takes no wall time, no figure depends on the machine's load, and the clock's advance is
the run's duration."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ccpandas import Source
from ccpandas.api import remove_list_memberships, run_plan
from ccpandas.client.http import set_default_client
from ccpandas.client.ratelimit import DEFAULT_MARGIN
from ccpandas.emulator import ManualClock
from ccpandas.emulator.settings import Settings
from ccpandas.plan.planner import DEFAULT_RATE, plan_removal
from ccpandas.plan.polls import (
    ASSUMED_SPEED,
    POLL_GROWTH,
    POLL_MAX,
    POLL_MIN,
    SUBMIT_POLL_EVERY,
    PollModel,
    expected_polls,
    expected_run_seconds,
    request_items,
)
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner

POLL_ROUTES = ("/v3/activities", "/v3/activities/{activity_id}")
#: The client's limiter spaces requests (1 + DEFAULT_MARGIN) / rate apart; the plan
#: prices them at 1 / rate, so a run lasts up to this share longer than planned.
TOLERANCE = DEFAULT_MARGIN + 0.005


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
    assert PollModel().margin == 0 < DEFAULT_MARGIN  # left out: see TOLERANCE


def _run(cc_emulator_factory, connect, *, contacts: int, speed: float, rate: float = 4.0):
    """A removal of ``contacts`` ids at ``rate`` requests/s from an emulator processing
    ``speed`` contacts a second: (the plan, the polls the emulator counted, every
    request it counted, the runner's poll count, the seconds the run took)."""
    clock = ManualClock()
    emu = cc_emulator_factory(seed=2323, contacts=contacts, clock=clock, rate=None, speed=speed)
    client = connect(emu, rate=rate, clock=clock.monotonic, sleep=clock.advance)
    ids = pd.Series(emu.account.contact_ids())
    plan = plan_removal(ids, emu.account.list_ids()[:1], rate=rate)
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance))
    before, start = emu.account.count(), clock.monotonic()
    result = run_plan(plan, client, progress=False, runner=runner)
    assert result.ok
    count = emu.account.count
    polls = sum(count(method="GET", route=r) for r in POLL_ROUTES)
    return plan, polls, count() - before, result.runner.polls, clock.monotonic() - start


def test_a_run_at_the_assumed_speed_polls_as_the_plan_said(cc_emulator_factory, connect):
    # 24 removals: 6 s of sending, so the runner polls while it submits too
    plan, polls, spent, rounds, _ = _run(
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
    plan, polls, _, rounds, _ = _run(cc_emulator_factory, connect, contacts=6_000, speed=speed)
    model = PollModel(speed=speed)
    estimate = expected_polls(plan.n_requests, plan.rate, request_items(plan.batches), model=model)
    assert polls == rounds
    assert polls > plan.expected_polls  # more than at the assumed (faster) speed
    assert abs(polls - estimate) <= 0.1 * polls, (polls, estimate)


# -- the time ---------------------------------------------------------------------------------
@pytest.mark.parametrize("rate", [4.0, 0.5])
def test_the_planned_time_is_the_runs_at_the_assumed_speed(cc_emulator_factory, connect, rate):
    # 24 removals: 6 s of sending at 4/s, 48 s at 0.5/s: polls while sending, in the pace
    plan, _, _, _, took = _run(
        cc_emulator_factory, connect, contacts=12_000, speed=ASSUMED_SPEED, rate=rate
    )
    assert plan.n_requests == 24 and plan.read_requests == plan.verify_requests == 0
    assert plan.estimated_seconds > plan.n_requests / rate  # the polls' slots, the wait
    assert took * (1 - TOLERANCE) <= plan.estimated_seconds <= took, (took, plan.summary())
    # with the client's margin the same simulation gives the run's clock exactly
    exact = PollModel(margin=DEFAULT_MARGIN)
    items = request_items(plan.batches)
    assert expected_run_seconds(24, rate, items, model=exact) == pytest.approx(took, abs=1e-6)


@pytest.mark.parametrize("rate", [4.0, 0.5])
@pytest.mark.parametrize("speed", [500.0, 100.0])
def test_a_backlog_takes_the_time_the_simulation_of_its_pace_says(
    cc_emulator_factory, connect, speed, rate
):
    # Processing 500 contacts takes 1 s or 5 s: at 4/s (and at 0.5/s for 5 s) the
    # activities queue up and the run lasts long after its last POST
    plan, _, _, _, took = _run(cc_emulator_factory, connect, contacts=6_000, speed=speed, rate=rate)
    items = request_items(plan.batches)
    estimate = expected_run_seconds(plan.n_requests, rate, items, model=PollModel(speed=speed))
    assert took * (1 - TOLERANCE) <= estimate <= took, (took, estimate)
    exact = PollModel(speed=speed, margin=DEFAULT_MARGIN)
    assert expected_run_seconds(plan.n_requests, rate, items, model=exact) == pytest.approx(
        took, abs=1e-6
    )
    assert estimate > plan.n_requests / rate


@pytest.mark.parametrize("rate", [4.0, 0.5])
def test_the_planned_time_holds_the_snapshot_and_the_verification(
    cc_emulator_factory, connect, rate
):
    # The snapshot's reads go before the first change, the verification's after the poll
    # that saw the last activity end; no poll goes during either. Run at once after
    # planning (as remove_from_lists does), the first change waits one slot behind the
    # last read: the runner's 5 s poll timer starts at that change, as the plan's does
    # (it used to start before, and spent a poll more than planned at 0.5 requests/s).
    clock = ManualClock()
    emu = cc_emulator_factory(seed=2324, contacts=6_000, clock=clock, rate=None, speed=2_000.0)
    client = connect(emu, rate=rate, clock=clock.monotonic, sleep=clock.advance)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    before, start = emu.account.count(), clock.monotonic()
    plan = df.cc.plan(emu.account.list_ids()[:1], client=client, snapshot=True)
    assert plan.rate == rate  # priced at the pace its client sends at
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance))
    result = run_plan(plan, client, progress=False, runner=runner)
    took = clock.monotonic() - start
    assert result.ok and result.after is not None
    assert plan.read_requests > 0 and plan.verify_requests > 0
    assert emu.account.count() - before == plan.total_requests
    assert took * (1 - TOLERANCE) <= plan.estimated_seconds <= took, (took, plan.summary())


def test_a_plan_made_with_a_client_is_priced_at_the_clients_pace(cc_emulator_factory, connect):
    """Its time, polls and quota share: a column sent blind, a column read first, and a
    source, each planned with a client limited to 1 request a second."""
    emu = cc_emulator_factory(seed=2325, contacts=300, rate=None)
    client = connect(emu, rate=1.0)
    target = emu.account.list_ids()[:1]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:40]})
    blind = df.cc.plan(target, client=client, snapshot=False)
    read = df.cc.plan(target, client=client, snapshot=True)
    source = remove_list_memberships(
        client, target, source=Source.list_ids(emu.account.list_ids()[1:2]), dry_run=True
    ).plan
    for plan in (blind, read, source):
        assert plan.rate == 1.0
        assert plan.expected_polls == expected_polls(
            plan.n_requests, 1.0, request_items(plan.batches)
        )


def test_the_default_client_sets_the_pace_and_an_unlimited_one_the_apis(
    cc_emulator_factory, connect
):
    """No client= given: the default client's rate (as the read paths use it); a
    client without a finite rate: the API's limit, never a refusal."""
    emu = cc_emulator_factory(seed=2326, contacts=200, rate=None)
    target = emu.account.list_ids()[:1]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:20]})
    old = set_default_client(connect(emu, rate=1.0))
    try:
        assert df.cc.plan(target, snapshot=False).rate == 1.0
    finally:
        set_default_client(old)
    unlimited = connect(emu, rate=math.inf)
    assert df.cc.plan(target, client=unlimited, snapshot=False).rate == DEFAULT_RATE
    assert df.cc.plan(target, client=unlimited, snapshot=True).rate == DEFAULT_RATE
