"""The client-side rate limiter on a fake clock (exact, no real waiting)."""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccpandas.client.ratelimit import DEFAULT_MARGIN, RateLimiter


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def starts(limiter: RateLimiter, clock: FakeClock, n: int, gaps=None) -> list[float]:
    """Acquire n times (with optional idle gaps before each); return the start times."""
    out = []
    for i in range(n):
        if gaps:
            clock.sleep(gaps[i % len(gaps)])
        limiter.acquire()
        out.append(clock())
    return out


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """Most starts in any half-open window [t, t + width)."""
    times = sorted(times)
    return max(bisect_right(times, t + width - 1e-12) - i for i, t in enumerate(times))


@pytest.mark.parametrize("rate", [1, 4, 10, 20, 2.5])
def test_starts_are_evenly_spaced_and_the_rate_is_kept(rate):
    clock = FakeClock()
    lim = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    times = starts(lim, clock, 200)
    gaps = {round(b - a, 9) for a, b in pairwise(times)}
    assert gaps == {round((1 + DEFAULT_MARGIN) / rate, 9)}
    # A one-second window holds at most `rate` starts (2.5/s is a bucket rate: 3 fit).
    assert max_in_window(times) <= math.ceil(rate)
    achieved = (len(times) - 1) / (times[-1] - times[0])
    assert achieved >= 0.95 * rate


@pytest.mark.parametrize("rate", [4, 20])
def test_a_sliding_window_never_sees_more_than_rate_despite_jitter(rate):
    """The server may see each request up to 10 ms late or early: still within the limit."""
    clock = FakeClock()
    lim = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    times = starts(lim, clock, 300)
    jitter = 0.009
    seen = [t + (jitter if i % 2 else -jitter) for i, t in enumerate(times)]
    assert max_in_window(seen) <= rate


@given(
    rate=st.sampled_from([1, 2, 4, 10, 20]),
    gaps=st.lists(st.floats(0, 2), min_size=1, max_size=20),
)
def test_idle_gaps_never_allow_a_burst_over_the_limit(rate, gaps):
    clock = FakeClock()
    lim = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    times = starts(lim, clock, 60, gaps)
    assert max_in_window(times) <= rate


def test_the_first_request_does_not_wait_and_idle_time_is_not_banked():
    clock = FakeClock()
    lim = RateLimiter(4, clock=clock, sleep=clock.sleep)
    assert lim.acquire() == 0.0
    clock.sleep(10)  # idle for a long time
    assert lim.acquire() == 0.0
    assert lim.acquire() == pytest.approx(lim.interval)  # no burst after idling


def test_concurrent_callers_get_distinct_spaced_slots():
    frozen = FakeClock()
    lim = RateLimiter(4, clock=frozen, sleep=lambda s: None)  # time stands still
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            w = lim.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(round(w / lim.interval) for w in waits) == list(range(200))


def test_defer_holds_everyone_back():
    clock = FakeClock()
    lim = RateLimiter(4, clock=clock, sleep=clock.sleep)
    lim.acquire()
    lim.defer(2.0)
    assert lim.acquire() == pytest.approx(2.0)
    lim.defer(0.0)  # never brings the next slot forward
    assert lim.acquire() == pytest.approx(lim.interval)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0)
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(-4)
    with pytest.raises(ValueError, match="margin"):
        RateLimiter(4, margin=1.5)


def test_repr():
    assert repr(RateLimiter(4)) == "RateLimiter(rate=4, margin=0.02)"
