"""Team mode: "machines" (processes with their own data and config directories) share
one rate limit, quota ledger and run locks through a real ``redis-server``.

Redis going away mid-run must not crash or stall a run: each machine falls back to
its local limiter at its share of the rate as last seen (at most 1/s), warns once, and
returns to Redis when it answers. A wrong password fails at once; a Redis that lost its
data is warned about.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
import traceback

import pandas as pd
import pytest
from team_support import (
    REMOVE,
    busy_window,
    check_removed,
    child_env,
    combined_rate,
    removal_setup,
    run_children,
    shares,
)

import ccpandas
from ccpandas.client import shared
from ccpandas.client.quota import DayCounter
from ccpandas.client.ratelimit import DEFAULT_MARGIN, SharedRateLimiter
from ccpandas.client.shared import RedisState, SharedState, Unavailable
from ccpandas.errors import ConfigError
from ccpandas.store.journal import JournalDB, RunJournal, RunLockedError

# Several processes measure how they share one limit: alone, not beside busy workers.
pytestmark = [pytest.mark.timeout(300), pytest.mark.serial]


def machine_jobs(emu, tmp_path, url, ids, lists):
    """One machine (data and config directories of its own, Redis at ``url``) per list,
    removing ``ids`` from it at the key's 4/s: the jobs for run_children."""
    return [
        (
            {"ids": ids, "list": lid, "rate": 4},
            child_env(
                emu,
                tmp_path / f"machine-{i}" / "data",
                shared_state=url,
                config_dir=tmp_path / f"machine-{i}" / "config",
            ),
        )
        for i, lid in enumerate(lists)
    ]


def test_two_machines_share_one_limit_through_redis(emulator, redis_server, tmp_path):
    redis = redis_server()
    emu = emulator(seed=60, contacts=6000, lists=1, rate=4)
    ids, lists = removal_setup(emu, 2, 12)
    before = emu.account.memberships()
    jobs = machine_jobs(emu, tmp_path, redis.url, ids, lists)

    reports = run_children(jobs, tmp_path)

    assert all(r["ok"] for r in reports)
    check_removed(emu, before, ids, lists)
    assert emu.account.count(status=429) == 0
    assert emu.account.count(method="POST", route=REMOVE) == 24
    assert combined_rate(reports) >= 0.95 * 4
    start, end = busy_window(reports)
    assert end - start > 2.0, (start, end)  # long enough to judge
    got = shares(reports, start, end)
    assert abs(got[0] - got[1]) <= 0.2 * sum(got) / 2, got
    assert not any(r["warnings"] for r in reports), [r["warnings"] for r in reports]
    # nothing went into the machines' local files; the team ledger has it all
    for i in range(2):
        assert not (tmp_path / f"machine-{i}" / "data" / "quota.sqlite3").exists()
    usage = DayCounter(emu.base_url, state=SharedState.redis(redis.url)).usage()
    assert (usage.used, usage.processes) == (emu.quota_used, 2)


def test_redis_killed_mid_run_the_runs_complete_on_the_fallback(emulator, redis_server, tmp_path):
    redis = redis_server()
    emu = emulator(seed=61, contacts=8000, lists=1, rate=4)
    ids, lists = removal_setup(emu, 2, 16)
    before = emu.account.memberships()
    jobs = machine_jobs(emu, tmp_path, redis.url, ids, lists)
    outage: dict[str, float] = {}

    def kill_then_restart() -> None:
        time.sleep(2.5)
        outage["from"] = time.time()
        redis.kill()
        time.sleep(3.0)
        redis.start()  # the same port, empty (no persistence)
        outage["to"] = time.time()

    reports = run_children(jobs, tmp_path, during=kill_then_restart)

    assert all(r["ok"] for r in reports)
    check_removed(emu, before, ids, lists)  # nothing lost
    assert len(emu.account.activities) == 32  # one activity per batch: none sent twice
    # the switch-over may cost a few throttled answers, no more (the bucket holds 4)
    assert emu.account.count(status=429) <= 4
    for r in reports:
        down = [w for w in r["warnings"] if "cannot be reached" in w]
        back = [w for w in r["warnings"] if "answers again; using it" in w]
        assert len(down) == 1 and len(back) == 1, r["warnings"]
        # it kept sending during the outage, at the fallback's pace (its share, <= 1/s)
        during = [t for t, _m, _s in r["sent"] if outage["from"] + 0.5 < t < outage["to"]]
        assert 1 <= len(during) <= 3.0 * shared.FALLBACK_RATE + 2, during
        assert max(t for t, _m, _s in r["sent"]) > outage["to"]  # and went on after


def test_run_locks_live_in_redis_and_a_dead_holder_frees_them(redis_server, tmp_path, monkeypatch):
    redis = redis_server()
    state = SharedState.redis(redis.url)
    from ccpandas.plan.planner import plan_removal

    plan = plan_removal(
        pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]), "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
    )
    # two machines whose journals both hold the run (one copied to the other: the
    # journal is never on a shared disk): only Redis can keep them apart
    db1 = JournalDB(tmp_path / "m1" / "journal.sqlite3")
    journal = RunJournal.create(plan, db=db1, base_url="http://127.0.0.1:9/v3")
    (tmp_path / "m2").mkdir()
    db1.connect().execute("PRAGMA wal_checkpoint(FULL)")
    (tmp_path / "m2" / "journal.sqlite3").write_bytes(
        (tmp_path / "m1" / "journal.sqlite3").read_bytes()
    )
    db2 = JournalDB(tmp_path / "m2" / "journal.sqlite3")
    other = RunJournal.open(journal.run_id, db=db2)

    with journal.attach([], shared_state=state):
        assert db2.is_driven(journal.run_id, shared_state=state)
        with pytest.raises(RunLockedError), other.attach([], shared_state=state):
            pass
    assert not db2.is_driven(journal.run_id, shared_state=state)
    with other.attach([], shared_state=state):
        pass

    # a holder that dies stops renewing: its lock expires after LOCK_TTL
    monkeypatch.setattr(shared, "LOCK_TTL", 1.0)
    dead = state.lease("run:x")
    assert dead is not None and dead.acquire()
    dead._stop.set()  # as if the process were killed: no renewal, no release
    assert state.lease("run:x").acquire() is False
    time.sleep(1.3)
    alive = state.lease("run:x")
    assert alive.acquire() is True
    time.sleep(1.2)  # renewed while held
    assert state.lease("run:x").acquire() is False
    alive.release()


def test_the_redis_password_never_shows(
    emulator, redis_server, tmp_path, data_dir, caplog, monkeypatch
):
    password = "S3cret-redis-pw-0451"
    redis = redis_server(password=password)
    emu = emulator(seed=62, contacts=600, lists=1, rate=20)
    ids, lists = removal_setup(emu, 1, 1)
    monkeypatch.setenv("CCPANDAS_SHARED_STATE", redis.url)
    caplog.set_level("DEBUG")
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=20)
    result = pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
        [lists[0]], client=client, progress=False
    )
    assert result.ok
    assert client.shared_state.kind == "redis" and not client.shared_state.degraded
    usage = client.stats.day_counter.usage()
    assert usage.used == emu.quota_used
    shown = [
        repr(client),
        repr(client.limiter),
        repr(client.shared_state),
        repr(client.stats),
        repr(client.stats.day_counter),
        str(usage),
        repr(result),
        str(ccpandas.runs()),
        caplog.text,
    ]
    for path in data_dir.rglob("*"):
        if path.is_file():
            shown.append(path.read_bytes().decode("latin-1"))
    assert all(password not in text for text in shown)
    assert "redis://:********@127.0.0.1" in repr(client.shared_state)

    # a wrong password: refused at once (never a lasting fallback), neither password shown
    wrong = redis.url.replace(password, "Wr0ng-pw-7781")
    caplog.clear()
    with pytest.raises(ConfigError) as refused:
        ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=20, shared_state=wrong)
    assert "refused the login" in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    for text in (str(refused.value), caplog.text):
        assert "Wr0ng-pw-7781" not in text and password not in text

    # the error itself: no password in its text, its chain or its frames' locals
    with pytest.raises(Unavailable) as info:
        RedisState(wrong).reserve("k", 0.25)
    exc = info.value
    assert exc.__cause__ is None and exc.__context__ is None
    assert "AuthenticationError" in str(exc) and "Wr0ng-pw-7781" not in str(exc)
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    ours = [frame for frame in tb.stack if "/ccpandas/" in frame.filename]  # not this test's
    assert ours
    assert all("Wr0ng-pw-7781" not in repr(frame.locals) for frame in ours)

    # a malformed URL is refused with the password masked
    with pytest.raises(ConfigError) as bad:
        ccpandas.Client(token="t", base_url=emu.base_url, shared_state="http://:Pw-9931@cache:1/0")
    assert "Pw-9931" not in str(bad.value) and "********" in str(bad.value)


def test_an_unreachable_redis_from_the_start_never_stalls(emulator, tmp_path, caplog):
    pytest.importorskip("redis")
    # nothing listens on this port: connection refused, at once
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = emulator(seed=63, contacts=50, lists=1, rate=4)
    client = ccpandas.Client(
        token=emu.token, base_url=emu.base_url, shared_state=f"redis://127.0.0.1:{port}/0"
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the limiter's real waits, recorded
        waits.append(seconds)
        time.sleep(seconds)

    client.limiter = SharedRateLimiter(
        client.limiter.rate, key=client.budget_key, state=client.shared_state, sleep=sleep
    )
    started = time.monotonic()
    for _ in range(5):
        client.get("/contact_lists")
    took = time.monotonic() - started
    # Paced at the fallback's 1 request/s (no share seen): the fifth start is at least 4
    # slots after the first (a busy machine only adds to that) ...
    assert took > 3.0, took
    # ... and no wait ever exceeded one fallback slot: the limiter never stalled on Redis.
    assert max(waits, default=0.0) <= (1 + DEFAULT_MARGIN) / shared.FALLBACK_RATE, waits
    assert client.shared_state.degraded
    assert caplog.text.count("cannot be reached") == 1
    assert emu.account.count(status=429) == 0


def test_counts_made_while_redis_is_away_reach_it_when_it_returns(redis_server, caplog):
    redis = redis_server()
    state = SharedState.redis(redis.url)
    key = "http://127.0.0.1:9/v3 app=team"
    day = dt.date(2025, 3, 1)
    state.ledger_add(key, day, 2)
    assert state.ledger_usage(key, day) == (2, 1, False)
    redis.kill()
    state.ledger_add(key, day, 3)  # kept in this process
    assert state.degraded
    assert state.ledger_usage(key, day) == (5, 1, True)  # last seen + this process's own
    redis.start()  # empty: no persistence
    state._next_probe = 0.0  # due for a try now, not in PROBE_EVERY seconds
    state.ledger_add(key, day, 1)
    assert not state.degraded
    assert state.ledger_usage(key, day) == (4, 1, False)  # 3 held back + 1; the 2 died with it
    assert caplog.text.count("cannot be reached") == 1


def test_counts_of_a_process_that_ended_while_redis_was_away_reach_it(
    emulator, redis_server, data_dir
):
    # A command run during an outage (a cron job, `ccpandas remove`) kept its counts in
    # memory: it ended before Redis came back, and the team's ledger never saw them.
    redis = redis_server()
    emu = emulator(seed=64, contacts=20, lists=1, rate=None)
    redis.kill()
    child = (
        "import ccpandas\n"
        "client = ccpandas.Client()\n"
        "for _ in range(3):\n"
        "    client.get('/contact_tags')\n"
        "assert client.shared_state.degraded\n"
    )
    env = child_env(emu, data_dir, shared_state=redis.url)
    ran = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, timeout=120)
    assert ran.returncode == 0, ran.stderr.decode()
    assert emu.quota_used == 3
    redis.start()  # empty (no persistence): the 3 are on this machine only
    team = SharedState.redis(redis.url)  # another process of the same machine
    assert DayCounter(emu.base_url, state=team).usage().used == 3
    assert not team.degraded
    # they reached Redis: another machine (its own data directory) sees them too
    elsewhere = SharedState.redis(redis.url, local_path=data_dir / "elsewhere.sqlite3")
    assert DayCounter(emu.base_url, state=elsewhere).usage().used == 3


def test_machines_fall_back_to_their_share_of_the_rate_at_most_1_per_second(redis_server):
    # Four processes took slots through Redis (as four machines would), then Redis dies:
    # each falls back to its share, 4/s / 4 = 1/s, so together they keep the key's 4/s.
    redis = redis_server()
    state = SharedState.redis(redis.url)
    key, interval = "http://127.0.0.1:9/v3 app=team", 0.25
    for member in ("m1:1", "m2:1", "m3:1"):
        state.redis_state.reserve(key, interval, member)
    state.reserve(key, interval)  # this process: the fourth
    assert state.redis_state.team_seen[key] == 4
    redis.kill()

    # Each slot is the limiter's clock reading plus the wait it returns: it lies between
    # this clock read just before the call and just after it, plus that wait. (The waits
    # alone shrink by any pause between two calls, as on a busy machine.)
    slots, waits = [], []
    for _ in range(3):
        before = time.time()
        waits.append(state.reserve(key, interval))
        slots.append((before + waits[-1], time.time() + waits[-1]))

    assert state.degraded
    assert waits[0] == 0.0
    # one second apart (1/s), where half the rate would be 0.5 s (2/s each, 8/s in all)
    for i in (1, 2):
        low, high = slots[i][0] - slots[0][1], slots[i][1] - slots[0][0]
        # (the microsecond: the clock's float resolution)
        assert i / 2 < low < i + 1e-6 and high > i - 1e-6, (i, low, high)
    # with eight processes last seen: 0.5/s each; with none seen (Redis never reached): 1/s
    state.redis_state.team_seen[key] = 8
    assert state.fallback_interval(key, interval) == 2.0
    assert SharedState.redis(redis.url).fallback_interval(key, interval) == 1.0


def test_a_wrong_redis_password_fails_at_configure_not_for_good(redis_server, caplog):
    redis = redis_server(password="Right-pw-1187")
    wrong = redis.url.replace("Right-pw-1187", "Wr0ng-pw-2290")
    try:
        with pytest.raises(ConfigError) as refused:
            ccpandas.configure(shared_state=wrong)
        text = str(refused.value)
        assert "refused the login" in text and "redis://:********@127.0.0.1" in text
        assert "Wr0ng-pw-2290" not in text and "Right-pw-1187" not in text
        # no Redis password at all, where one is required: refused the same way
        with pytest.raises(ConfigError, match="refused the login"):
            ccpandas.configure(shared_state=f"redis://127.0.0.1:{redis.port}/0")
        # the right one, and an unreachable Redis (an outage, fallen back from): accepted
        ccpandas.configure(shared_state=redis.url)
        redis.kill()
        ccpandas.configure(shared_state=f"redis://127.0.0.1:{redis.port}/1")
    finally:
        ccpandas.configure(shared_state=None)
    assert "refused" not in caplog.text  # nothing degraded for good, nothing logged


def test_a_redis_that_lost_its_data_is_warned_about(redis_server, caplog, monkeypatch):
    import redis as redis_py

    redis = redis_server()
    state = SharedState.redis(redis.url)
    key = "http://127.0.0.1:9/v3 app=team"
    day = dt.date(2025, 3, 1)
    state.ledger_add(key, day, 5)
    state.ledger_add(key, day, 1)
    monkeypatch.setattr(shared, "LOCK_TTL", 0.6)  # renewed every 0.2 s
    lease = state.lease("run:flushed")
    assert lease is not None and lease.acquire()
    assert "was reset" not in caplog.text
    redis_py.Redis.from_url(redis.url).flushall()  # someone's FLUSHALL

    state.ledger_add(key, day, 1)
    state.ledger_add(key, day, 1)

    assert state.ledger_usage(key, day) == (2, 1, False)  # the 6 before are gone ...
    assert caplog.text.count("was reset") == 1  # ... and that is said, once
    assert "counts it held are gone" in caplog.text
    # the run lock's holder finds it gone at its next renewal, and says so
    deadline = time.monotonic() + 10
    while "lost its data" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    lease.release()
    assert "run lock ccpandas:lock:run:flushed expired while held, or Redis lost" in caplog.text


def test_four_machines_on_the_fallback_keep_the_keys_rate(emulator, redis_server, tmp_path):
    # Four machines share the key's 4/s through Redis; Redis dies for good early on.
    # Each falls back to its share as last seen (1/s): together 4/s, never 8/s.
    redis = redis_server()
    emu = emulator(seed=64, contacts=6000, lists=1, rate=4)
    ids, lists = removal_setup(emu, 4, 12)
    before = emu.account.memberships()
    jobs = machine_jobs(emu, tmp_path, redis.url, ids, lists)
    outage: dict[str, float] = {}

    def kill() -> None:
        time.sleep(2.5)
        outage["from"] = time.time()
        redis.kill()

    reports = run_children(jobs, tmp_path, during=kill)

    assert all(r["ok"] for r in reports)
    check_removed(emu, before, ids, lists)
    # From a second after the outage began to the moment the first machine finished:
    # every machine on its fallback, all four still busy.
    start = outage["from"] + 1.0
    end = min(max(t for t, _m, _s in r["sent"]) for r in reports)
    assert end - start > 3.0, (start, end)  # long enough to judge
    sent = sum(start <= t <= end for r in reports for t, _m, _s in r["sent"])
    assert sent / (end - start) <= 4.0 * 1.15 + 1 / (end - start), sent
    # the switch-over may cost a few throttled answers, no more (the bucket holds 4)
    assert emu.account.count(status=429) <= 4


def test_an_interrupted_drain_loses_no_held_count(redis_server, monkeypatch):
    # The drain deleted every held row first, then added them one by one: a Ctrl-C
    # (or a kill) between lost the rest (10 of these 15). Now each row is deleted in
    # the transaction that adds it: at worst one row is added twice (over-counted).
    redis = redis_server()
    team, key, day = SharedState.redis(redis.url), "http://127.0.0.1:9/v3 app=team", dt.date.today()
    for process in ("h:1", "h:2", "h:3"):  # three ended processes' counts, held in an outage
        team.local_state.hold(team.redis_state.url, key, day, process, 5)
    real, calls = RedisState.ledger_add, []

    def interrupted(self, *args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(RedisState, "ledger_add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        team.ledger_usage(key, day)
    monkeypatch.setattr(RedisState, "ledger_add", real)
    fresh = SharedState.redis(redis.url)
    assert fresh.ledger_usage(key, day) == (15, 3, False)
    assert fresh.local_state.ledger_usage(key, day, held=fresh.redis_state.url) == (0, 0)


def test_a_long_lived_process_adds_counts_another_held_while_redis_was_away(
    redis_server, monkeypatch
):
    # A notebook kernel that sent nothing during an outage never drained: the counts a
    # cron job held on disk meanwhile reached Redis only when some process started.
    redis = redis_server()
    key, day = "http://127.0.0.1:9/v3 app=team", dt.date.today()
    kernel = SharedState.redis(redis.url)
    kernel.ledger_add(key, day, 1, process="h:kernel")
    redis.kill()
    cron = SharedState.redis(redis.url)
    cron.ledger_add(key, day, 7, process="h:cron")
    assert cron.degraded
    redis.start()  # empty (no persistence)
    assert kernel.ledger_usage(key, day) == (7, 1, False)  # a figure asked for: drained
    redis.kill()
    cron.ledger_add(key, day, 2, process="h:cron")
    redis.start()  # empty again: the 7 are gone
    monkeypatch.setattr(shared, "HELD_CHECK_EVERY", 0.0)  # not once a minute: at once
    kernel.ledger_add(key, day, 1, process="h:kernel")  # a request sent: drained too
    elsewhere = SharedState.redis(redis.url, local_path=data_dir_of(kernel) / "other.sqlite3")
    assert elsewhere.ledger_usage(key, day) == (3, 2, False)


def data_dir_of(state):
    return state.local_state.path.parent


def test_counts_wait_in_memory_when_the_local_file_cannot_hold_them(redis_server, tmp_path, caplog):
    # In team mode an unusable quota.sqlite3 (a file where its folder should be, a full
    # disk) made holding a count raise: the ledger switched itself off for good.
    redis = redis_server()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    key, day = "http://127.0.0.1:9/v3 app=team", dt.date.today()
    team = SharedState.redis(redis.url, local_path=blocker / "quota.sqlite3")
    counter = DayCounter(key, state=team)
    counter.add(day)
    assert counter.used(day) == 1
    redis.kill()
    counter.add(day, 2)  # during the outage
    assert counter.usage(day).used == 3 and counter.usage(day).stale
    redis.start()  # empty (no persistence)
    team._next_probe = 0.0  # due for a try now
    counter.add(day)
    assert not counter.broken
    assert team.ledger_usage(key, day) == (3, 1, False)  # the 2 held in memory + 1
    assert "holding them in this process" in caplog.text


def test_two_processes_adding_held_counts_at_once_add_each_once(redis_server, monkeypatch):
    # The second waits for the first's row (its transaction) and finds it gone.
    redis = redis_server()
    key, day = "http://127.0.0.1:9/v3 app=team", dt.date.today()
    first, second = SharedState.redis(redis.url), SharedState.redis(redis.url)
    for process in ("h:1", "h:2", "h:3"):
        first.local_state.hold(first.redis_state.url, key, day, process, 5)
    real, others = RedisState.ledger_add, []

    def add(self, *args):
        if not others:  # mid-way through the first's first row: the second starts
            others.append(threading.Thread(target=second.ledger_usage, args=(key, day)))
            others[0].start()
        return real(self, *args)

    monkeypatch.setattr(RedisState, "ledger_add", add)
    first.ledger_usage(key, day)
    others[0].join()
    assert first.ledger_usage(key, day) == (15, 3, False)
