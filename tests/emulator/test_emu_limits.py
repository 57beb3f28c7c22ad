"""The three limits: requests per second, requests per UTC day, queued activities.

The per-second tests run on a ManualClock, so they are exact and never flaky.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import requests
from emu_support import Api, assert_error

from ccpandas.emulator import Emulator, ManualClock, OffsetClock
from ccpandas.emulator import __main__ as cli

TAGS = "/v3/contact_tags"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2025, 3, 1, 23, 0, tzinfo=dt.UTC))


def _limited(clock: ManualClock, **settings) -> Emulator:
    return Emulator(seed=1, clock=clock, **{"speed": 1e9, **settings})


@pytest.fixture
def limited(clock: ManualClock) -> Iterator[tuple[Emulator, Api]]:
    with _limited(clock) as emu:
        api = Api(emu)
        yield emu, api
        api.close()


def _statuses(api: Api, n: int) -> list[int]:
    return [api.get(TAGS).status_code for _ in range(n)]


# -- per second ------------------------------------------------------------------------------


def test_a_burst_over_the_rate_is_throttled(limited, clock: ManualClock) -> None:
    emu, api = limited
    emu.configure(error_shape="array")  # the message naming the rate (the gateway's does not)
    assert _statuses(api, 4) == [200] * 4
    assert "4 requests per second" in assert_error(api.get(TAGS), 429, "throttled")
    clock.advance(0.25)  # one request's worth of budget comes back
    assert _statuses(api, 2) == [200, 429]
    assert emu.account.count(status=429) == 2


def test_a_client_spacing_requests_never_sees_a_throttle(limited, clock: ManualClock) -> None:
    emu, api = limited
    for _ in range(40):
        assert api.get(TAGS).status_code == 200
        clock.advance(0.25)
    assert emu.account.count(status=429) == 0


def test_throttled_requests_do_not_use_up_the_limit(limited, clock: ManualClock) -> None:
    emu, api = limited
    _statuses(api, 4)
    assert _statuses(api, 20) == [429] * 20  # hammering earns nothing and costs nothing
    clock.advance(1)
    assert _statuses(api, 5) == [200] * 4 + [429]
    assert emu.quota_used == 8  # throttled requests do not count against the day either


def test_sliding_window_counts_any_one_second(clock: ManualClock) -> None:
    with _limited(clock, rate_algorithm="sliding") as emu:
        api = Api(emu)
        assert _statuses(api, 4) == [200] * 4
        clock.advance(0.5)
        assert _statuses(api, 1) == [429]  # the bucket would have let two through here
        clock.advance(0.5)  # the first four left the window
        assert _statuses(api, 5) == [200] * 4 + [429]
        clock.advance(1)
        for _ in range(12):  # evenly spaced at the rate: never throttled
            assert api.get(TAGS).status_code == 200
            clock.advance(0.25)
        api.close()


def test_lowering_the_rate_mid_run_applies_at_once(limited, clock: ManualClock) -> None:
    emu, api = limited
    assert _statuses(api, 2) == [200, 200]
    emu.configure(rate=1)
    assert _statuses(api, 1) == [200]  # one token left of the old budget, capped at 1
    assert_error(api.get(TAGS), 429, "throttled")
    clock.advance(1)
    assert _statuses(api, 2) == [200, 429]
    emu.configure(rate=None)
    assert _statuses(api, 30) == [200] * 30


def test_fractional_rate(clock: ManualClock) -> None:
    with _limited(clock, rate=0.5) as emu:
        api = Api(emu)
        assert _statuses(api, 2) == [200, 429]
        clock.advance(1)
        assert _statuses(api, 1) == [429]
        clock.advance(1)
        assert _statuses(api, 1) == [200]
        api.close()


def test_401_does_not_count_against_the_limits(limited) -> None:
    emu, api = limited
    for _ in range(10):
        assert requests.get(emu.base_url + "/contacts", timeout=5).status_code == 401
    assert _statuses(api, 4) == [200] * 4
    assert emu.quota_used == 4


# -- per day ---------------------------------------------------------------------------------


def test_daily_quota_runs_out_and_resets_at_utc_midnight(clock: ManualClock) -> None:
    with _limited(clock, rate=None, daily_quota=5) as emu:
        api = Api(emu)
        assert _statuses(api, 5) == [200] * 5
        message = assert_error(api.get(TAGS), 429, "quota_exceeded")
        assert "2025-03-02T00:00:00Z" in message
        target = emu.account.list_ids()[0]
        r = api.remove({"source": {"engagement_level": "low"}, "list_ids": [target]})
        assert_error(r, 429, "quota_exceeded")
        assert emu.account.activities == {} and emu.quota_used == 5
        clock.set(dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=dt.UTC))
        assert_error(api.get(TAGS), 429, "quota_exceeded")
        clock.advance(1)  # 00:00 UTC
        assert _statuses(api, 6) == [200] * 5 + [429]
        emu.configure(daily_quota=10)  # raising it mid-day frees the difference
        assert _statuses(api, 6) == [200] * 5 + [429]
        api.close()


def test_quota_is_reported_before_throttling(clock: ManualClock) -> None:
    with _limited(clock, rate=1, daily_quota=1) as emu:
        api = Api(emu)
        assert _statuses(api, 1) == [200]
        assert_error(api.get(TAGS), 429, "quota_exceeded")
        api.close()


def test_offset_clock_crosses_midnight_in_a_real_run() -> None:
    clock = OffsetClock(dt.datetime(2025, 3, 1, 23, 59, tzinfo=dt.UTC))
    with Emulator(seed=1, rate=None, daily_quota=3, clock=clock) as emu:
        api = Api(emu)
        assert _statuses(api, 4) == [200] * 3 + [429]
        clock.advance(hours=1)
        assert _statuses(api, 1) == [200]
        api.close()


def test_quota_left_counts_from_when_it_is_set_so_no_midnight_refills_it(clock) -> None:
    # Tests said "N left" as daily_quota=quota_used + N: a midnight before the requests
    # restarted the day's count, the test got a day's quota more and its stop never came.
    with _limited(clock, rate=None) as emu:
        api = Api(emu)
        clock.set(dt.datetime(2025, 3, 1, 23, 59, 59, tzinfo=dt.UTC))
        assert _statuses(api, 3) == [200] * 3
        emu.configure(daily_quota=emu.quota_used + 1)  # the old way
        clock.advance(1)  # 00:00 UTC
        assert _statuses(api, 2) == [200, 200] and emu.quota_used == 2  # refilled
        emu.configure(daily_quota=None, quota_left=1)
        clock.advance(86_400)  # another midnight: the day's count restarts, the 1 does not
        assert emu.quota_used == 0 and _statuses(api, 1) == [200]
        clock.advance(86_400)
        assert_error(api.get(TAGS), 429, "quota_exceeded")
        assert emu.quota_used == 0  # refused: not counted
        emu.configure(quota_left=0, daily_quota=10_000)
        assert_error(api.get(TAGS), 429, "quota_exceeded")
        emu.configure(quota_left=None)
        assert _statuses(api, 1) == [200]
        api.close()


def test_the_429_of_quota_left_names_it_and_promises_no_reset(clock) -> None:
    # It said "The daily quota of 10000 requests is spent; it resets at <midnight>"
    # (with daily_quota=None: "of its requests"), though no midnight frees quota_left.
    with _limited(clock, rate=None, quota_left=0) as emu:
        api = Api(emu)
        for daily in (10_000, None):
            emu.configure(daily_quota=daily)
            message = assert_error(api.get(TAGS), 429, "quota_exceeded")
            assert "quota_left setting" in message and "no midnight" in message
            assert "daily quota" not in message and "resets at" not in message
        emu.configure(daily_quota=1, quota_left=5)
        assert _statuses(api, 1) == [200]  # the day's quota spent too: it says so
        assert "daily quota of 1 requests" in assert_error(api.get(TAGS), 429, "quota_exceeded")
        emu.configure(daily_quota=None, quota_left=0, quota_error="limit_exceeded")
        assert api.get(TAGS).json() == {"message": "Limit Exceeded"}  # the same shapes
        api.close()


def test_quota_left_0_on_the_command_line_is_none_left_and_its_help_says_so() -> None:
    # Its neighbours' 0 means "no limit"; --quota-left's help did not say what 0 means.
    parser = cli.build_parser()
    settings = Emulator(
        seed=1, contacts=1, **cli.settings_from(parser.parse_args(["--quota-left", "0"]))
    ).settings
    assert settings.quota_left == 0
    assert "0: none left" in " ".join(parser.format_help().split())


# -- queued activities -------------------------------------------------------------------------


def test_too_many_queued_activities_get_a_distinct_429(clock: ManualClock) -> None:
    with _limited(clock, rate=None, speed=1, start_delay=0, max_queued_activities=3) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        body = {"source": {"engagement_level": "low"}, "list_ids": [target]}
        assert [api.remove(body).status_code for _ in range(3)] == [201] * 3
        message = assert_error(api.remove(body), 429, "too_many_activities")
        assert "3" in message
        assert_error(api.add(body), 429, "too_many_activities")
        assert api.get(TAGS).status_code == 200  # only activity POSTs are refused
        emu.account.cancel_activity(next(iter(emu.account.activities)))
        assert api.remove(body).status_code == 201
        emu.configure(max_queued_activities=0)  # 0 switches it off
        assert api.remove(body).status_code == 201
        api.close()


def test_default_queue_limit_is_1000(clock: ManualClock) -> None:
    with _limited(clock, rate=None, speed=1, daily_quota=None) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        body = {"source": {"engagement_level": "low"}, "list_ids": [target]}
        for _ in range(1000):
            emu.account.submit_activity(body)
        assert emu.account.queued_activities == 1000
        assert_error(api.remove(body), 429, "too_many_activities")
        clock.advance(3600)  # everything finishes
        assert api.remove(body).status_code == 201
        api.close()
