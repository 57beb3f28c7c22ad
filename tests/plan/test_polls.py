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
    request_items,
)

FAST = PollModel(speed=1_000_000.0)  # activities end within a millisecond


def polls_until(end: float, first: float) -> int:
    """Polls of the wait phase, the first at ``first`` s, until one at or after
    ``end`` s (the last activity's end) sees it."""
    t, interval, n = first, POLL_MIN, 1
    while t < end:
        t, interval, n = t + interval, min(interval * POLL_GROWTH, POLL_MAX), n + 1
    return n


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
