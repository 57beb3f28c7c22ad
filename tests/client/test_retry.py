"""The pure retry decision and backoff schedule (ccpandas.client.retry)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccpandas.client.retry import (
    RetryKind,
    RetryPolicy,
    backoff_delay,
    classify,
    should_retry,
)


@pytest.mark.parametrize(
    ("status", "key", "sent", "expected"),
    [
        (429, "throttled", True, RetryKind.THROTTLED),
        (429, "quota_exceeded", True, None),
        (429, "too_many_requests", True, RetryKind.TOO_MANY_ACTIVITIES),
        (429, None, True, None),  # no error_key: the daily quota ({"message": "Limit Exceeded"})
        (500, None, True, RetryKind.SERVER_ERROR),
        (502, None, True, RetryKind.SERVER_ERROR),
        (503, "service_unavailable", True, RetryKind.SERVER_ERROR),
        (504, None, True, RetryKind.SERVER_ERROR),
        (501, None, True, None),
        (400, "bad_request", True, None),
        (401, "unauthorized", True, None),
        (403, None, True, None),
        (404, None, True, None),
        (409, None, True, None),
        (415, None, True, None),
        (None, None, True, RetryKind.CONNECTION_LOST),
        (None, None, False, RetryKind.CONNECT_FAILED),
    ],
)
def test_classify(status, key, sent, expected):
    assert classify(status, key, sent=sent) is expected


def test_only_failures_the_server_may_have_acted_on_are_ambiguous():
    assert {k for k in RetryKind if k.ambiguous} == {
        RetryKind.SERVER_ERROR,
        RetryKind.CONNECTION_LOST,
    }


def test_backoff_doubles_up_to_the_cap():
    top = [backoff_delay(n, base=0.5, cap=5.0, jitter=lambda: 1.0) for n in range(1, 7)]
    assert top == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_is_full_jitter_and_clamps_the_jitter():
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=lambda: 0.25) == 1.0
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=lambda: 0.0) == 0.0
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=lambda: 7.0) == 4.0  # clamped to 1
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=lambda: -1.0) == 0.0
    assert backoff_delay(3, base=1.0, cap=60.0, jitter=lambda: 0.0, floor=0.3) == 0.3


def test_backoff_survives_huge_retry_numbers_and_rejects_zero():
    assert backoff_delay(10_000, base=0.5, cap=30.0, jitter=lambda: 1.0) == 30.0
    with pytest.raises(ValueError, match="counts from 1"):
        backoff_delay(0, base=0.5, cap=30.0, jitter=lambda: 1.0)


@given(
    retry=st.integers(1, 200),
    base=st.floats(0.001, 10),
    cap=st.floats(0.001, 100),
    j=st.floats(0, 1),
)
def test_backoff_stays_within_zero_and_the_cap(retry, base, cap, j):
    delay = backoff_delay(retry, base=base, cap=cap, jitter=lambda: j)
    assert 0.0 <= delay <= cap


def test_too_many_activities_backs_off_longer_with_a_floor():
    p = RetryPolicy()
    normal = p.delay(RetryKind.SERVER_ERROR, retry=1, jitter=lambda: 1.0)
    busy = p.delay(RetryKind.TOO_MANY_ACTIVITIES, retry=1, jitter=lambda: 1.0)
    assert busy > normal
    assert p.delay(RetryKind.TOO_MANY_ACTIVITIES, retry=1, jitter=lambda: 0.0) == (
        p.activities_base_delay / 2
    )
    assert p.delay(RetryKind.TOO_MANY_ACTIVITIES, retry=30, jitter=lambda: 1.0) == (
        p.activities_max_delay
    )


def test_retry_after_raises_the_delay_but_never_lowers_it():
    p = RetryPolicy()
    assert p.delay(RetryKind.THROTTLED, retry=1, jitter=lambda: 0.0, retry_after=3.0) == 3.0
    assert p.delay(RetryKind.THROTTLED, retry=1, jitter=lambda: 1.0, retry_after=0.0) == 0.5


def test_should_retry_respects_max_attempts():
    p = RetryPolicy(max_attempts=3)
    kw = {"elapsed": 0.0, "delay": 0.1, "policy": p}
    assert should_retry(RetryKind.SERVER_ERROR, attempts=1, **kw)
    assert should_retry(RetryKind.SERVER_ERROR, attempts=2, **kw)
    assert not should_retry(RetryKind.SERVER_ERROR, attempts=3, **kw)


def test_throttled_answers_have_their_own_budget():
    # Two kernels on one key meet many throttles in a row: they must not use up the
    # attempts meant for failures, nor may failures hide behind throttles.
    p = RetryPolicy(max_attempts=3, max_throttled=5)
    kw = {"elapsed": 0.0, "delay": 0.1, "policy": p}
    assert should_retry(RetryKind.THROTTLED, attempts=5, throttled=5, **kw)
    assert not should_retry(RetryKind.THROTTLED, attempts=6, throttled=6, **kw)
    # 10 throttles and 2 server errors: one more server-error attempt is allowed
    assert should_retry(RetryKind.SERVER_ERROR, attempts=12, throttled=10, **kw)
    assert not should_retry(RetryKind.SERVER_ERROR, attempts=13, throttled=10, **kw)
    # the time budget bounds throttles too
    late = {"elapsed": 299.5, "delay": 1.0, "policy": RetryPolicy()}
    assert not should_retry(RetryKind.THROTTLED, attempts=2, throttled=2, **late)
    assert not should_retry(
        RetryKind.THROTTLED,
        attempts=1,
        throttled=1,
        **{**kw, "policy": RetryPolicy(max_throttled=0)},
    )


def test_throttled_backoff_stays_within_the_limit_window():
    p = RetryPolicy()
    waits = [p.delay(RetryKind.THROTTLED, retry=n, jitter=lambda: 1.0) for n in (1, 2, 3, 10, 60)]
    assert waits == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert p.delay(RetryKind.SERVER_ERROR, retry=10, jitter=lambda: 1.0) == 20.0


def test_should_retry_respects_the_time_budget_including_the_next_wait():
    p = RetryPolicy(max_retry_seconds=10.0)
    assert should_retry(RetryKind.SERVER_ERROR, attempts=1, elapsed=9.0, delay=1.0, policy=p)
    assert not should_retry(RetryKind.SERVER_ERROR, attempts=1, elapsed=9.0, delay=1.5, policy=p)


def test_should_retry_never_for_unretryable_failures():
    assert not should_retry(None, attempts=1, elapsed=0.0, delay=0.0, policy=RetryPolicy())


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (RetryKind.THROTTLED, True),  # a 429 proves the server did nothing
        (RetryKind.TOO_MANY_ACTIVITIES, True),
        (RetryKind.CONNECT_FAILED, True),  # never reached the server
        (RetryKind.SERVER_ERROR, False),  # may have been applied
        (RetryKind.CONNECTION_LOST, False),
    ],
)
def test_non_replayable_requests_retry_only_unambiguous_failures(kind, expected):
    got = should_retry(
        kind, attempts=1, elapsed=0.0, delay=0.0, policy=RetryPolicy(), replayable=False
    )
    assert got is expected


def test_policy_validates_its_bounds():
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="max_retry_seconds"):
        RetryPolicy(max_retry_seconds=-1)
    with pytest.raises(ValueError, match="max_throttled"):
        RetryPolicy(max_throttled=-1)


# --------------------------------------------------------------------------- RetryBudget


def test_budget_counts_throttles_apart_from_other_failures():
    from ccpandas.client.retry import RetryBudget

    budget = RetryBudget(RetryPolicy(max_attempts=2, max_throttled=2), started=0.0)
    one = lambda: 1.0  # noqa: E731
    budget.attempt()
    first = budget.decide(RetryKind.THROTTLED, now=0.0, jitter=one)
    assert (first.retry, first.number, first.budget, first.delay) == (True, 1, 2, 0.5)
    budget.attempt()
    assert budget.decide(RetryKind.THROTTLED, now=0.5, jitter=one).retry
    budget.attempt()
    # The third throttle is over max_throttled=2, whatever max_attempts says.
    last = budget.decide(RetryKind.THROTTLED, now=1.5, jitter=one)
    assert not last.retry and last.note == "gave up after 3 attempts (3 throttled) in 1.5 s"


def test_budget_never_retries_an_unretryable_failure_and_adds_no_note():
    from ccpandas.client.retry import RetryBudget

    budget = RetryBudget(RetryPolicy(), started=0.0)
    budget.attempt()
    budget.attempt()
    decision = budget.decide(None, now=1.0, jitter=lambda: 1.0)
    assert (decision.retry, decision.note, budget.throttled) == (False, None, 0)


def test_budget_stops_at_the_time_limit_and_for_unreplayable_ambiguous_failures():
    from ccpandas.client.retry import RetryBudget

    budget = RetryBudget(RetryPolicy(max_retry_seconds=3.0), started=10.0)
    budget.attempt()
    assert budget.decide(RetryKind.SERVER_ERROR, now=12.0, jitter=lambda: 1.0).retry
    budget.attempt()
    late = budget.decide(RetryKind.SERVER_ERROR, now=12.5, jitter=lambda: 1.0)
    assert not late.retry and late.delay == 1.0 and "in 2.5 s" in late.note
    once = RetryBudget(RetryPolicy(), started=0.0)
    once.attempt()
    assert not once.decide(
        RetryKind.CONNECTION_LOST, now=0.0, jitter=lambda: 1.0, replayable=False
    ).retry
    assert once.decide(
        RetryKind.CONNECT_FAILED, now=0.0, jitter=lambda: 1.0, replayable=False
    ).retry


@pytest.mark.parametrize(
    ("method", "expected"),
    [("GET", RetryKind.NOT_COMPLETE), ("POST", None), ("PUT", None), (None, None)],
)
def test_a_202_is_a_read_not_complete_only_for_a_get(method, expected):
    # An unknown method's 202 is no failure: a default of "GET" made every 202 retryable.
    given = {} if method is None else {"method": method}
    assert classify(202, None, **given) is expected
