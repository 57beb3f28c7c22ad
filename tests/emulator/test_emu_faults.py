"""Fault injection: 500/503, latency and spikes, dropped connections, failed and timed-out
activities, expiring tokens. All deterministic under the seed."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from emu_support import FAST, Api, assert_error

from ccpandas.emulator import Emulator, ManualClock

TAGS = "/contact_tags"


def _body(emu: Emulator) -> dict:
    return {"source": {"engagement_level": "low"}, "list_ids": [emu.account.list_ids()[0]]}


def test_error_rate_one_answers_every_request_with_5xx_and_changes_nothing() -> None:
    with Emulator(seed=1, error_rate=1.0, **FAST) as emu:
        api = Api(emu)
        before = emu.account.memberships()
        statuses = set()
        for _ in range(20):
            r = api.remove(_body(emu))
            assert r.status_code in (500, 503)
            assert_error(
                r, r.status_code, {500: "internal_error", 503: "service_unavailable"}[r.status_code]
            )
            statuses.add(r.status_code)
        assert statuses == {500, 503}
        assert emu.account.activities == {} and emu.account.memberships() == before
        emu.configure(error_rate=0)
        assert api.get(TAGS).status_code == 200
        api.close()


def _error_pattern(seed: int) -> list[int]:
    with Emulator(seed=seed, error_rate=0.3, **FAST) as emu:
        api = Api(emu)
        pattern = [api.get(TAGS).status_code for _ in range(40)]
        api.close()
        return pattern


def test_faults_are_deterministic_under_the_seed() -> None:
    first = _error_pattern(5)
    assert first == _error_pattern(5)
    assert first != _error_pattern(6)
    assert 0 < sum(s != 200 for s in first) < 40


def test_switching_one_fault_on_does_not_reshuffle_another() -> None:
    def pattern(**extra) -> list[int]:
        with Emulator(seed=9, error_rate=0.3, **FAST, **extra) as emu:
            api = Api(emu)
            out = [api.get(TAGS).status_code for _ in range(30)]
            api.close()
            return out

    assert pattern() == pattern(spike_rate=0.5, spike_latency=0.0)


def test_latency_makes_a_short_client_timeout_expire_but_the_request_happens() -> None:
    with Emulator(seed=1, latency=2.0, **FAST) as emu:
        api = Api(emu)
        with pytest.raises(requests.exceptions.ReadTimeout):
            api.remove(_body(emu), timeout=0.2)
        assert len(emu.account.activities) == 1  # handled before the delay
        emu.configure(latency=0)
        assert api.get(TAGS).status_code == 200
        api.close()


def test_latency_spikes_hit_the_drawn_fraction() -> None:
    with Emulator(seed=1, spike_rate=1.0, spike_latency=2.0, **FAST) as emu:
        api = Api(emu)
        with pytest.raises(requests.exceptions.ReadTimeout):
            api.get(TAGS, timeout=0.2)
        emu.configure(spike_rate=0.0)
        assert api.get(TAGS, timeout=5).status_code == 200
        api.close()


def test_dropped_connection_after_a_post_still_created_the_activity() -> None:
    with Emulator(seed=1, drop_rate=1.0, **FAST) as emu:
        api = Api(emu)
        with pytest.raises(requests.exceptions.ConnectionError):
            api.remove(_body(emu))
        emu.wait_idle(10)
        (activity,) = emu.account.activities.values()
        assert activity.state == "completed"
        assert emu.account.members(emu.account.list_ids()[0]).isdisjoint(emu.account.engaged("low"))
        (record,) = emu.account.request_log
        assert record.dropped and record.status == 201
        emu.configure(drop_rate=0)
        assert api.get(TAGS).status_code == 200  # a new connection works
        api.close()


def test_drop_rate_drops_about_that_fraction() -> None:
    with Emulator(seed=4, drop_rate=0.5, **FAST) as emu:
        api = Api(emu)
        outcomes = []
        for _ in range(40):
            try:
                outcomes.append(api.get(TAGS).status_code)
            except requests.exceptions.ConnectionError:
                outcomes.append("dropped")
        assert 5 < outcomes.count("dropped") < 35
        assert set(outcomes) == {200, "dropped"}
        assert sum(r.dropped for r in emu.account.request_log) == outcomes.count("dropped")
        api.close()


@pytest.mark.parametrize(
    ("setting", "state"), [("fail_rate", "failed"), ("timeout_rate", "timed_out")]
)
def test_failed_activities_leave_the_unprocessed_part_untouched(setting: str, state: str) -> None:
    with Emulator(seed=1, **{setting: 1.0}, **FAST) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        before = emu.account.members(target)
        ordered = sorted(before, key=lambda c: emu.account.contact(c).ordinal)
        aid = api.remove({"source": {"contact_ids": ordered}, "list_ids": [target]}).json()[
            "activity_id"
        ]
        emu.wait_idle(10)
        final = api.get(f"/activities/{aid}").json()
        assert final["state"] == state
        done = final["status"]["items_completed_count"]
        assert 0 <= done < len(ordered) and final["percent_done"] == done * 100 // len(ordered)
        assert final["activity_errors"] and "were not changed" in final["activity_errors"][-1]
        assert "completed_at" in final
        assert emu.account.members(target) == set(ordered[done:])
        api.close()


def test_fail_rate_fraction_is_deterministic() -> None:
    def states(seed: int) -> list[str]:
        with Emulator(seed=seed, fail_rate=0.3, timeout_rate=0.2, **FAST) as emu:
            for _ in range(30):
                emu.account.submit_activity(_body(emu))
            emu.wait_idle(10)
            return [a.state for a in emu.account.activities.values()]

    first = states(2)
    assert first == states(2)
    assert {"completed", "failed", "timed_out"} == set(first)


def test_fail_next_hook_picks_exact_activities(emu: Emulator, api: Api) -> None:
    emu.fail_next(1, "timed_out", at=0.0)
    emu.fail_next(1, "failed", at=1.0)
    states = []
    for _ in range(3):
        aid = api.remove(_body(emu)).json()["activity_id"]
        emu.wait_idle(10)
        states.append(api.get(f"/activities/{aid}").json())
    assert [s["state"] for s in states] == ["timed_out", "failed", "completed"]
    assert states[0]["status"]["items_completed_count"] == 0
    assert states[1]["status"]["items_completed_count"] == states[1]["status"]["items_total_count"]
    with pytest.raises(ValueError):
        emu.fail_next(1, "exploded")


def test_token_expires_after_n_requests() -> None:
    # error_shape="array": messages that say why (the gateway's 401 says "Unauthorized")
    with Emulator(seed=1, token_expires_after=3, error_shape="array", **FAST) as emu:
        api = Api(emu)
        assert [api.get(TAGS).status_code for _ in range(3)] == [200] * 3
        assert "expired" in assert_error(api.get(TAGS), 401, "unauthorized")
        fresh = emu.issue_token(expires_after=100)
        other = Api(emu, token=fresh)
        assert [other.get(TAGS).status_code for _ in range(5)] == [200] * 5
        emu.revoke_token(fresh)
        assert "revoked" in assert_error(other.get(TAGS), 401, "unauthorized")
        emu.configure(token_expires_after=None)  # no budget: the default token works again
        assert api.get(TAGS).status_code == 200
        api.close()
        other.close()


def test_token_can_expire_at_a_clock_time() -> None:
    clock = ManualClock()
    with Emulator(seed=1, clock=clock, **FAST) as emu:
        token = emu.account.tokens.issue(expires_at=clock.now() + dt.timedelta(hours=24))
        api = Api(emu, token=token)
        assert api.get(TAGS).status_code == 200
        assert emu.account.tokens.is_valid(token, now=clock.now())
        clock.advance(24 * 3600)
        assert_error(api.get(TAGS), 401, "unauthorized")
        assert not emu.account.tokens.is_valid(token, now=clock.now())
        api.close()


def test_configure_rejects_bad_settings_and_keeps_the_old_ones(emu: Emulator) -> None:
    with pytest.raises(TypeError, match="no_such"):
        emu.configure(no_such=1)
    with pytest.raises(ValueError, match="error_rate"):
        emu.configure(error_rate=1.5)
    with pytest.raises(ValueError, match="fail_rate"):
        emu.configure(fail_rate=0.7, timeout_rate=0.7)
    with pytest.raises(ValueError):
        emu.configure(unknown_list_status=500)
    with pytest.raises(ValueError):
        emu.configure(speed=0)
    assert emu.settings.error_rate == 0 and emu.settings.speed == 1e9


# -- activity_answers: a 201 mangled or replayed on its way --------------------------------
def test_a_201_cut_short_is_not_json_yet_its_activity_exists(emu: Emulator, api: Api) -> None:
    emu.configure(activity_answers="truncated")
    r = api.remove(_body(emu))
    assert r.status_code == 201 and r.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        r.json()
    (activity_id,) = emu.account.activities
    assert f'"activity_id":"{activity_id}"' in r.text  # the first half: the id is legible


def test_a_201_without_activity_id_still_created_its_activity(emu: Emulator, api: Api) -> None:
    emu.configure(activity_answers="no_activity_id")
    body = api.remove(_body(emu)).json()
    assert "activity_id" not in body and body["state"] == "initialized"
    assert len(emu.account.activities) == 1


def test_replay_answers_the_last_201_again_and_creates_nothing(emu: Emulator, api: Api) -> None:
    emu.configure(activity_answers="replay")
    first = api.remove(_body(emu))  # no 201 yet: handled, and kept
    again = [api.remove({"source": {"contact_ids": []}, "list_ids": []}) for _ in range(2)]
    assert [r.status_code for r in again] == [201, 201]
    assert {r.text for r in again} == {first.text}  # even for a body that is not valid
    assert list(emu.account.activities) == [first.json()["activity_id"]]
    emu.configure(activity_answers="json")
    assert api.remove(_body(emu)).json()["activity_id"] != first.json()["activity_id"]


def test_two_emulators_with_one_seed_never_hand_out_the_same_activity_id() -> None:
    # The service's activity ids are time-based (version 1) UUIDs: unique over time,
    # so a journal that outlives an emulator never meets one of its ids again.
    def first_activity() -> str:
        with Emulator(seed=3, **FAST) as emu:
            return emu.account.submit_activity(_body(emu)).activity_id

    one, two = first_activity(), first_activity()
    assert one != two
    assert uuid.UUID(one).version == 1
