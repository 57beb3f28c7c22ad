"""The client-side rate limiters: the in-process one on a fake clock (exact, no real
waiting), the shared one on one SQLite file with the real clock."""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from bisect import bisect_right
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccpandas.client.backends import sqlite as sqlite_backend
from ccpandas.client.quota import DayCounter, QuotaUsage
from ccpandas.client.ratelimit import DEFAULT_MARGIN, RateLimiter, SharedRateLimiter
from ccpandas.client.shared import ALONE_SLOTS, MAX_AHEAD, BudgetKey, SharedState


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


# -- the shared limiter (real clock, one SQLite file: what every process on a machine
# -- shares; processes themselves are in tests/team) ------------------------------------


KEY = "http://127.0.0.1:9/v3 app=test"


@pytest.fixture
def state(tmp_path, monkeypatch):
    # A lock held past the wait is what the locked-file tests hold: 0.5 s, not the 10 s
    # a real process waits, reaches the same "held too long" (the lock is never freed
    # by time, only by the test's ROLLBACK).
    monkeypatch.setattr(sqlite_backend, "BUSY_WAIT", 0.5)
    return SharedState.local(tmp_path / "quota.sqlite3")


def test_limiters_on_one_key_share_their_slots_in_order(state):
    a = SharedRateLimiter(4, key=KEY, state=state)
    b = SharedRateLimiter(4, key=KEY, state=state)
    interval = (1 + DEFAULT_MARGIN) / 4
    waits, before, after = [], [], []
    for limiter in (a, b, a, b):
        before.append(time.time())  # the limiter's own clock (shared across processes)
        waits.append(limiter.reserve())
        after.append(time.time())
    assert waits[0] == 0.0
    # Slot i starts i intervals after slot 0, however long a loaded machine takes between
    # two reserve() calls: each call read the clock somewhere in [before, after], so
    # slot i lies in [before[i] + wait, after[i] + wait] and slot 0 in [before, after].
    for i, wait in enumerate(waits[1:], start=1):
        low, high = before[i] + wait - after[0], after[i] + wait - before[0]
        assert low - 1e-3 <= i * interval <= high + 1e-3, (waits, before, after)
        assert wait <= i * interval  # never longer than the queue ahead of it
    # another key has a budget of its own
    assert SharedRateLimiter(4, key=KEY + "2", state=state).reserve() == 0.0


def test_a_throttled_answer_holds_back_every_limiter_of_the_key(state):
    a = SharedRateLimiter(4, key=KEY, state=state)
    b = SharedRateLimiter(4, key=KEY, state=state)
    before = time.time()
    a.defer(2.0)
    wait = b.reserve()
    passed = time.time() - before
    # b waits for the end of a's 2 s, less the time since: on a busy machine that time is
    # more than a few milliseconds (the microsecond: the clock's float resolution)
    assert 2.0 - passed - 1e-6 <= wait <= 2.0 + 1e-6, (wait, passed)


def test_a_dead_process_leaves_no_lock_and_at_most_its_one_slot(state, tmp_path):
    script = textwrap.dedent(
        f"""
        import os, pathlib
        from ccpandas.client.shared import SharedState
        state = SharedState.local(pathlib.Path({str(state.local_state.path)!r}))
        state.reserve({KEY!r}, 0.25)
        os._exit(9)  # dies holding its slot, without closing anything
        """
    )
    assert subprocess.run([sys.executable, "-c", script], timeout=60).returncode == 9
    conn = sqlite3.connect(state.local_state.path, timeout=0)
    conn.execute("BEGIN IMMEDIATE")  # nobody holds the write lock
    conn.rollback()
    conn.close()
    assert state.reserve(KEY, 0.25) <= 0.25  # the dead one's slot, at most


def test_a_clock_that_jumped_back_does_not_stall_everyone(state):
    state.reserve(KEY, 0.25)
    conn = sqlite3.connect(state.local_state.path)
    conn.execute("UPDATE gcra SET tat = ? WHERE scope = ?", (time.time() + 2 * MAX_AHEAD, KEY))
    conn.commit()
    conn.close()
    assert state.reserve(KEY, 0.25) == 0.0


def test_an_unusable_state_file_paces_the_process_alone_and_never_raises(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    broken = SharedState.local(blocker / "sub" / "quota.sqlite3")
    lim = SharedRateLimiter(4, key=KEY, state=broken)
    with caplog.at_level(logging.WARNING):
        before = time.monotonic()
        waits = [lim.reserve(), lim.reserve()]
        passed = time.monotonic() - before
    # paced alone: the second slot 0.255 s after the first, less the time between them
    assert waits[0] == 0.0 and 0.255 - passed - 1e-6 <= waits[1] <= 0.255, (waits, passed)
    assert caplog.text.count("cannot share the rate limit") == 1


def test_a_locked_state_file_is_shared_again_once_the_lock_is_gone(state, caplog):
    lim = SharedRateLimiter(4, key=KEY, state=state)
    lim.reserve()  # the file exists, this process's connection too
    other = sqlite3.connect(state.local_state.path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock too long
    with caplog.at_level(logging.WARNING):
        lim.reserve()  # waits for the lock, then paces alone
    assert "cannot share the rate limit" in caplog.text
    other.execute("ROLLBACK")
    (before,) = other.execute("SELECT tat FROM gcra WHERE scope = ?", (KEY,)).fetchone()
    for _ in range(100):  # a later request takes its slot in the shared file again
        lim.reserve()
    (after,) = other.execute("SELECT tat FROM gcra WHERE scope = ?", (KEY,)).fetchone()
    other.close()
    assert after > before


def test_a_locked_ledger_counts_again_once_the_lock_is_gone(state, caplog):
    counter, day = DayCounter(KEY, state=state), dt.date(2025, 3, 1)
    counter.add(day)
    other = sqlite3.connect(state.local_state.path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock too long
    with caplog.at_level(logging.WARNING):
        counter.add(day)  # waits for the lock, then this count is lost
    assert counter.broken and "cannot keep the shared daily request count" in caplog.text
    other.execute("ROLLBACK")
    other.close()
    for _ in range(100):  # later requests are counted in the shared ledger again
        counter.add(day)
    assert not counter.broken and counter.used(day) > 1


def test_counts_made_while_the_ledger_is_locked_are_added_once_it_answers(state):
    counter, day = DayCounter(KEY, state=state), dt.date(2025, 3, 1)
    lim = SharedRateLimiter(4, key=KEY, state=state, sleep=lambda s: None)
    counter.add(day)
    other = sqlite3.connect(state.local_state.path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock too long
    for _ in range(100):  # a request: its slot, its count, and one in 4 given back
        lim.reserve()
        counter.add(day)
    for _ in range(25):
        counter.add(day, -1)
    assert counter.broken and counter.used(day) == 76  # read beside the lock (WAL)
    other.execute("ROLLBACK")
    other.close()
    for _ in range(2 * ALONE_SLOTS):  # the file answers again: what waited is added
        lim.reserve()
        counter.add(day)
    assert not counter.broken
    assert state.ledger_usage(KEY, day) == (76 + 2 * ALONE_SLOTS, 1, False)


def test_a_give_back_never_takes_the_ledger_below_what_was_added(state):
    counter, day = DayCounter(KEY, state=state), dt.date(2025, 3, 1)
    counter.add(day)  # the file exists
    other = sqlite3.connect(state.local_state.path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    for _ in range(ALONE_SLOTS + 1):  # counts that wait, the last one tried again
        counter.add(day)
    other.execute("ROLLBACK")
    other.close()
    counter.add(day, -1)  # the last request's answer: not counted
    assert state.ledger_usage(KEY, day)[0] == 1 + ALONE_SLOTS


def test_one_file_has_one_countdown_locally_and_in_team_mode(tmp_path):
    # Team mode's fallback and this machine's state on one file: one skip countdown
    # (two would each wait for the locked file, and try it again on their own).
    pytest.importorskip("redis")
    path = tmp_path / "quota.sqlite3"
    local, team = (
        SharedState.local(path),
        SharedState.redis("redis://127.0.0.1:1/0", local_path=path),
    )
    assert local.local_state is team.local_state


def test_a_locked_file_is_tried_again_briefly_and_once_for_limiter_and_ledger(state):
    counter, day = DayCounter(KEY, state=state), dt.date(2025, 3, 1)
    lim = SharedRateLimiter(4, key=KEY, state=state, sleep=lambda s: None)
    counter.add(day)
    tried: list[str] = []
    conn = sqlite_backend._connect(state.local_state.path)
    conn.set_trace_callback(tried.append)
    other = sqlite3.connect(state.local_state.path, timeout=0, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        for _ in range(2 * ALONE_SLOTS):
            lim.reserve()
            counter.add(day)
    finally:
        conn.set_trace_callback(None)
        other.execute("ROLLBACK")
        other.close()
    writes = [i for i, sql in enumerate(tried) if sql.startswith("INSERT")]
    assert 2 <= len(writes) <= 5  # both share one retry every ALONE_SLOTS uses
    retries = [tried[i - 1] for i in writes[1:]]  # the first waited as always
    assert retries and all(sql.startswith("PRAGMA busy_timeout = ") for sql in retries)
    assert {sql.split()[-1] for sql in retries} == {str(int(sqlite_backend.RETRY_WAIT * 1000))}
    assert sqlite_backend.RETRY_WAIT < 1


def test_threads_of_one_client_switching_to_and_from_the_shared_file_never_raise():
    class Gate:  # a state whose reserve fails for thread A after B asked, and then works
        def __init__(self):
            self.b_inside, self.a_done = threading.Event(), threading.Event()

        def reserve(self, key, interval):
            if threading.current_thread().name == "A":
                self.b_inside.wait()
                raise sqlite3.OperationalError("database is locked")
            if threading.current_thread().name == "B":
                self.b_inside.set()
                self.a_done.wait()
            return 0.0

    gate, out = Gate(), {}
    lim = SharedRateLimiter(4, key=KEY, state=gate, sleep=lambda s: None)

    def run(name):
        try:
            out[name] = lim.reserve()
        except BaseException as exc:
            out[name] = exc
        if name == "A":
            gate.a_done.set()

    threads = [threading.Thread(target=run, args=(n,), name=n) for n in "BA"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["next"] = [lim.reserve() for _ in range(3)]
    assert out == {"A": 0.0, "B": 0.0, "next": [0.0, 0.0, 0.0]}


def test_the_budget_key_never_holds_the_token(monkeypatch):
    monkeypatch.delenv("CC_CLIENT_ID", raising=False)
    from ccpandas.client.http import EnvToken, StaticToken

    url = "https://api.cc.email/v3"
    key = BudgetKey(url, StaticToken("secret-token-123")).value
    assert key.startswith(url + " token=") and "secret-token-123" not in key
    assert BudgetKey(url, StaticToken("secret-token-123")).value == key  # stable
    assert BudgetKey(url, StaticToken("another")).value != key
    monkeypatch.setenv("CC_ACCESS_TOKEN", "secret-token-123")
    assert BudgetKey(url, EnvToken()).value == key  # the same token, read from the env

    class Provider:
        client_id = "app-1"

        def __call__(self) -> str:
            raise AssertionError("not called to name the key")

    assert BudgetKey(url, Provider()).value == f"{url} app=app-1"
    assert BudgetKey(url, lambda: "tok").value == url  # not called: the whole API
    monkeypatch.setenv("CC_CLIENT_ID", "app-2")
    assert BudgetKey(url, StaticToken("secret-token-123")).value == f"{url} app=app-2"


def test_the_ledger_counts_per_process_and_a_base_url_reads_every_key(state):
    day = dt.date(2025, 3, 1)
    state.ledger_add(KEY, day, 2, process="host:1")
    state.ledger_add(KEY, day, 3, process="host:2")
    state.ledger_add("http://127.0.0.1:9/v3 token=ab", day, 4, process="host:2")
    state.ledger_add("http://127.0.0.1:99/v3 app=test", day, 100, process="host:3")
    assert DayCounter(KEY, state=state).usage(day) == QuotaUsage(5, 2, day=day)
    assert DayCounter("http://127.0.0.1:9/v3", state=state).used(day) == 9
    assert DayCounter(KEY, state=state).used(day + dt.timedelta(days=1)) == 0
    assert str(QuotaUsage(3412, 3, day=day)) == (
        "3,412 of 10,000 used on 2025-03-01 on this key by 3 processes"
    )
