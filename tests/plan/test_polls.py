"""The poll estimate (ccpandas.plan.polls): the runner's own schedule, simulated.

Each expected figure is derived here from the runner's documented schedule (a poll
right after the last submission, then 1 s, growing by 1.6 up to 15 s; a poll every 5 s
while submitting; one ``GET /activities`` page per 500 unfinished activities), not
read back from the function."""

from __future__ import annotations

import pandas as pd
import pytest

from ccpandas.models import Batch, Source
from ccpandas.plan.planner import plan_removal
from ccpandas.plan.polls import (
    POLL_GROWTH,
    POLL_MAX,
    POLL_MIN,
    PollModel,
    expected_polls,
    expected_run_seconds,
    request_items,
)

FAST = PollModel(speed=1_000_000.0)  # activities end within a millisecond


def wait_polls(end: float, first: float) -> tuple[int, float]:
    """The wait phase's polls, the first at ``first`` s, until one at or after ``end`` s
    (the last activity's end) sees it: (how many, when that one went)."""
    t, interval, n = first, POLL_MIN, 1
    while t < end:
        t, interval, n = t + interval, min(interval * POLL_GROWTH, POLL_MAX), n + 1
    return n, t


def polls_until(end: float, first: float) -> int:
    return wait_polls(end, first)[0]


def test_nothing_sent_costs_no_poll() -> None:
    assert expected_polls(0, 4.0) == 0


def test_a_tiny_run_at_fast_processing_costs_one_poll() -> None:
    # The poll right after the POST (at the next rate slot, 0.25 s) sees it ended.
    assert expected_polls(1, 4.0, 100, model=FAST) == 1


def test_a_tiny_run_at_the_assumed_speed_is_polled_twice() -> None:
    # 0.25 s start delay + 0.05 s for 100 contacts: still running at 0.25 s, ended at 1.25 s
    assert expected_polls(1, 4.0, 100) == 2


def test_a_long_activity_is_polled_on_the_growing_schedule() -> None:
    # 500 contacts at 10/s without start delay: 50 s; the first poll at 0.25 s
    slow = PollModel(speed=10.0, start_delay=0.0)
    assert polls_until(50.0, 0.25) == 9
    assert expected_polls(1, 4.0, 500, model=slow) == 9


def test_a_backlog_costs_more_polls_the_slower_the_service() -> None:
    # 40 full requests in 10 s; processed at 4,000, 500 and 100 contacts/s they end
    # after about 5 s, 40 s and 200 s
    counts = [
        expected_polls(40, 4.0, model=PollModel(speed=s, start_delay=0.0))
        for s in (4_000.0, 500.0, 100.0)
    ]
    assert counts[0] < counts[1] < counts[2]
    # the slowest: 1 poll while submitting (after the 21st POST, at 5 s; its slot puts
    # the 40th and last POST at 10 s, which no poll follows), then the wait from the
    # next slot (10.25 s) until the backlog ends at 40 x 5 s = 200 s
    assert counts[2] == 1 + polls_until(200.0, 10.25)


@pytest.mark.parametrize(("n", "submission_polls"), [(20, 0), (21, 0), (22, 1), (40, 1), (41, 2)])
def test_polls_while_submitting_every_5_s_not_after_the_last_post(
    n: int, submission_polls: int
) -> None:
    # POSTs 0.25 s apart: the 21st goes at 5.0 s, so a poll follows it only when more
    # POSTs are to come (the runner's wait() polls after the last one anyway); that
    # poll takes a slot, so the 40th POST goes at 10.0 s, 5 s after the 21st: a poll
    # follows it when a 41st is to come
    assert expected_polls(n, 4.0, model=FAST) == submission_polls + 1


def test_polls_while_submitting_take_their_slot_in_the_rate() -> None:
    # 400 POSTs at 4/s: 100 s, a poll every 5 s; each poll delays the POSTs behind it
    polls = expected_polls(400, 4.0, model=FAST)
    assert 19 <= polls - 1 <= 21


def test_more_than_500_unfinished_activities_cost_a_page_each_500() -> None:
    # Everything is still waiting at each poll for 10 s: 600 unfinished cost 2 pages a
    # poll, 400 cost 1; the schedules (sent in 0.6 s and 0.4 s) poll as often
    waiting = PollModel(speed=1_000_000.0, start_delay=10.0)
    assert expected_polls(600, 1_000.0, 1, model=waiting) == 2 * expected_polls(
        400, 1_000.0, 1, model=waiting
    )


def test_items_is_one_count_for_all_or_one_per_request() -> None:
    slow = PollModel(speed=10.0, start_delay=0.0)
    assert expected_polls(2, 4.0, [500, 500], model=slow) == expected_polls(2, 4.0, 500, model=slow)
    # a small last request ends sooner than a full one
    assert expected_polls(2, 4.0, [10, 10], model=slow) < expected_polls(2, 4.0, 500, model=slow)
    with pytest.raises(ValueError, match="items has 1 counts for 2 requests"):
        expected_polls(2, 4.0, [500])


def test_bad_figures_are_refused_with_their_value() -> None:
    with pytest.raises(ValueError, match=r"rate must be a positive number.*got 0"):
        expected_polls(2, 0)
    with pytest.raises(ValueError, match=r"positive figures.*speed=0"):
        PollModel(speed=0)
    with pytest.raises(ValueError, match="start_delay must be 0 or more seconds, got -1"):
        PollModel(start_delay=-1)


def test_request_items_are_the_contacts_each_request_carries() -> None:
    batches = [
        Batch(0, Source.contact_ids(["a", "b", "c"]), ("l",)),
        Batch(1, Source.contact_ids(["a"]), ("l",), size=7),
        Batch(2, Source.list_ids(["l2"]), ("l",)),  # the API picks: a full request
    ]
    assert request_items(batches) == [3, 7, 500]


def test_the_plan_counts_the_simulated_polls_of_its_own_requests() -> None:
    ids = pd.Series([f"8b54d1f4-5b0e-11ee-8c99-{i:012x}" for i in range(10_100)])
    plan = plan_removal(ids, "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
    assert request_items(plan.batches) == [500] * 20 + [100]
    assert plan.expected_polls == expected_polls(21, 4.0, [500] * 20 + [100])
    assert plan.total_requests == 21 + plan.expected_polls
    slower = plan_removal(ids, "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f", rate=1.0)
    # 21 s of sending at 1/s: polls every 5 s while sending (and their slots count)
    assert slower.expected_polls > plan.expected_polls


# -- the time from the first change to the poll that sees the last activity end ------------
def test_nothing_sent_takes_no_time() -> None:
    assert expected_run_seconds(0, 4.0) == 0.0


def test_a_tiny_run_ends_with_the_poll_that_sees_it() -> None:
    # the POST at 0 s; ended at once: the poll at the next slot sees it
    assert expected_run_seconds(1, 4.0, 100, model=FAST) == pytest.approx(0.25)
    # ended at 0.3 s (0.25 s start delay + 0.05 s): seen by the second poll, 1 s later
    assert expected_run_seconds(1, 4.0, 100) == pytest.approx(1.25)


def test_a_long_activity_is_seen_ended_on_the_growing_schedule() -> None:
    slow = PollModel(speed=10.0, start_delay=0.0)  # 50 s for 500 contacts
    n, seen = wait_polls(50.0, 0.25)
    assert seen == pytest.approx(56.545, abs=1e-3)  # 0.25 + 1 + 1.6 + ... + 15 + 15
    assert expected_run_seconds(1, 4.0, 500, model=slow) == pytest.approx(seen)
    assert expected_polls(1, 4.0, 500, model=slow) == n


def test_a_backlog_takes_its_processing_time_not_its_sending_time() -> None:
    # 40 full requests sent in 10 s, processed at 100 contacts/s: the backlog ends at
    # 200 s; the wait polls from 10.25 s (as test_a_backlog_costs_more_polls... counts)
    slow = PollModel(speed=100.0, start_delay=0.0)
    assert expected_run_seconds(40, 4.0, model=slow) == pytest.approx(wait_polls(200.0, 10.25)[1])
    # at fast processing the time is the sending's: 40 POSTs and 1 poll, then a poll
    assert expected_run_seconds(40, 4.0, model=FAST) == pytest.approx(41 * 0.25)


@pytest.mark.parametrize(("n", "submission_polls"), [(20, 0), (22, 1), (41, 2), (400, 20)])
def test_polls_while_submitting_take_their_slot_in_the_time(n: int, submission_polls: int) -> None:
    # the last poll goes a slot after the last POST; the POSTs are pushed back a slot by
    # each poll that went between them
    last_post = (n - 1 + submission_polls) * 0.25
    assert expected_polls(n, 4.0, model=FAST) == submission_polls + 1
    assert expected_run_seconds(n, 4.0, model=FAST) == pytest.approx(last_post + 0.25)


def test_a_slower_rate_stretches_the_sending_and_the_polls_slots() -> None:
    # at 0.5/s: POSTs 2 s apart; the 4th goes at 6 s, 5 s or more after the start, so
    # a poll follows it, and then every other POST (the 6th, 8th and 10th; not the
    # 12th and last); the closing poll takes the slot after the last POST
    assert expected_polls(12, 0.5, model=FAST) == 4 + 1
    assert expected_run_seconds(12, 0.5, model=FAST) == pytest.approx((12 + 4) * 2.0)


def test_the_clients_margin_spaces_every_slot() -> None:
    # the client's limiter adds 2 %: each start (POSTs and polls) 0.255 s apart at 4/s
    spaced = PollModel(speed=1_000_000.0, margin=0.02)
    assert expected_run_seconds(10, 4.0, model=spaced) == pytest.approx(10 * 0.255)
    with pytest.raises(ValueError, match=r"margin must be in \[0, 1\), got 1"):
        PollModel(margin=1)


def test_the_run_time_shares_the_polls_checks() -> None:
    with pytest.raises(ValueError, match=r"rate must be a positive number.*got -1"):
        expected_run_seconds(2, -1)
    with pytest.raises(ValueError, match="items has 3 counts for 2 requests"):
        expected_run_seconds(2, 4.0, [500, 500, 500])


def test_the_plan_times_its_run_by_the_same_simulation() -> None:
    ids = pd.Series([f"8b54d1f4-5b0e-11ee-8c99-{i:012x}" for i in range(10_100)])
    plan = plan_removal(ids, "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f")
    # no snapshot: the time is the run's, 21 POSTs and polls, then the wait
    assert plan.estimated_seconds == expected_run_seconds(21, 4.0, [500] * 20 + [100])
    assert plan.estimated_seconds > plan.n_requests / plan.rate
    # at 0.5/s the polls while sending (after the 4th, 6th, ..., 20th POST: 9) each
    # take a 2 s slot, and the closing poll the slot after the last POST
    slow = plan_removal(ids, "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f", rate=0.5)
    assert slow.expected_polls == 9 + 1
    assert slow.estimated_seconds == pytest.approx((21 + 9) * 2.0)
    assert slow.estimated_seconds > 1.4 * slow.n_requests / slow.rate  # the old figure
