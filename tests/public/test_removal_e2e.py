"""df.cc.remove_from_lists and friends, end to end over HTTP against the emulator."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
from engine_support import REMOVE, InterruptAfter, posts

import ccpandas
from ccpandas import PlanError, QuotaExceededError, Source
from ccpandas.api import run_result, runs
from ccpandas.emulator import ManualClock


def members_frame(emu, list_id: str) -> pd.DataFrame:
    return pd.DataFrame({"contact_id": sorted(emu.account.members(list_id))})


def test_removes_a_segment_by_list_name_and_touches_nothing_else(fast_account):
    emu, client, _ = fast_account(seed=3, contacts=1500, lists=4)
    lists = ccpandas.read_contact_lists(client)
    first, second = lists["list_id"][0], lists["list_id"][1]
    before = {lid: set(emu.account.members(lid)) for lid in lists["list_id"]}
    segment = members_frame(emu, first).iloc[::2]
    bad = pd.DataFrame({"contact_id": ["not-a-uuid", None, segment["contact_id"].iloc[0]]})
    frame = pd.concat([segment, bad], ignore_index=True)

    result = frame.cc.remove_from_lists([lists["name"][0], second], client=client, progress=False)

    gone = set(segment["contact_id"])
    assert result.done and result.ok
    assert emu.account.members(first) == before[first] - gone
    assert emu.account.members(second) == before[second] - gone
    for other in lists["list_id"][2:]:
        assert emu.account.members(other) == before[other]
    rows = result.rows
    assert rows.index.equals(frame.index)
    assert rows["status"].value_counts()[
        ["removed", "invalid_id", "missing", "duplicate"]
    ].tolist() == [
        len(segment),
        1,
        1,
        1,
    ]
    assert posts(emu) == result.plan.n_requests == -(-len(segment) // 500)


def test_unknown_list_name_is_a_plan_error_and_nothing_is_sent(fast_account):
    emu, client, _ = fast_account()
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:5]})
    with pytest.raises(PlanError, match="No such list"):
        df.cc.remove_from_lists(["No such list"], client=client, progress=False)
    assert posts(emu) == 0


def test_dry_run_sends_nothing(fast_account):
    emu, client, _ = fast_account()
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:50]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, dry_run=True, snapshot=False
    )
    assert result.dry_run and not result.activity_ids
    assert set(result.rows["status"]) == {"planned"}  # was not_sent: a dry run now says planned
    assert posts(emu) == 0


def test_more_than_50_lists_are_split_into_groups(fast_account):
    emu, client, _ = fast_account(lists=60, contacts=700)
    lists = emu.account.list_ids()
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    # Blind (snapshot=False): with "auto" the union probes find the read cheaper than
    # these 4 sends, and the read's membership-aware batches need only 3.
    result = df.cc.remove_from_lists(lists, client=client, progress=False, snapshot=False)
    assert result.ok
    assert posts(emu) == 2 * 2  # ceil(700/500) x ceil(60/50)
    assert all(not emu.account.members(lid) for lid in lists)


def test_tag_and_engagement_sources(fast_account):
    emu, client, target = fast_account(seed=5, contacts=800)
    tag = emu.account.tag_ids()[0]
    tagged = emu.account.tagged(tag)
    before = set(emu.account.members(target))
    assert before & tagged, "the seeded account should tag some members"

    result = ccpandas.remove_list_memberships(
        client, [target], source=Source.tag_ids([tag]), progress=False
    )
    assert result.ok
    assert emu.account.members(target) == before - tagged
    assert "contacts: selected by the API" in repr(result)
    assert "<table>" in result._repr_html_()

    low = emu.account.engaged("low")
    before = set(emu.account.members(target))
    ccpandas.remove_list_memberships(
        client, [target], source=Source.engagement_level("low"), progress=False
    ).raise_for_errors()
    assert emu.account.members(target) == before - low


def test_list_source_with_a_dataframe_as_exclude(fast_account):
    emu, client, target = fast_account(seed=6, contacts=600)
    members = sorted(emu.account.members(target))
    keep = pd.DataFrame({"contact_id": members[:10]})

    result = keep.cc.keep_in_lists([target], client=client, progress=False, max_removed=None)

    assert result.ok
    assert emu.account.members(target) == set(members[:10])
    assert set(result.rows["status"]) == {"kept"}
    assert posts(emu, 201) == 1


def test_all_active_contacts_needs_confirmation(fast_account):
    emu, client, _ = fast_account(seed=7, contacts=400)
    target = emu.account.list_ids()[1]
    with pytest.raises(PlanError, match="confirm_all_active"):
        ccpandas.remove_list_memberships(
            client, [target], source=Source.all_active_contacts(), progress=False
        )
    assert posts(emu) == 0

    keep = sorted(emu.account.members(target) & emu.account.active_contacts())[:5]
    before = set(emu.account.members(target))
    result = ccpandas.remove_list_memberships(
        client,
        [target],
        source=Source.all_active_contacts(),
        exclude=pd.Series(keep),
        confirm_all_active=True,
        progress=False,
    )
    assert result.ok
    assert emu.account.members(target) == before - (emu.account.active_contacts() - set(keep))


# Zero throttled answers needs steady spacing: alone, not beside busy workers.
@pytest.mark.serial
def test_client_rate_limit_means_no_throttled_answers(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=8, contacts=10_000, speed=1_000_000.0)  # real 4/s limit
    client = connect(emu, rate=4.0)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    assert result.ok and posts(emu, 201) == 20
    assert emu.account.count(status=429) == 0
    assert client.stats.throttled == 0


def test_injected_errors_and_dropped_connections_still_complete(cc_emulator_factory, connect):
    emu = cc_emulator_factory(
        seed=9, contacts=5000, error_rate=0.25, drop_rate=0.1, rate=None, speed=1e6
    )
    client = connect(emu, jitter=lambda: 0.0)
    client_retry_floor(client)
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    assert result.ok
    assert not emu.account.members(target)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0
    assert client.stats.server_errors > 0 and client.stats.transport_errors > 0
    # every batch accepted once from the runner's view; re-sends are counted, not hidden
    assert len(result.activity_ids) == result.plan.n_batches
    assert posts(emu, 201) >= result.plan.n_batches


def client_retry_floor(client) -> None:
    """Keep retry sleeps short in tests (the schedule itself is unit-tested)."""
    client.retry_policy = dataclasses.replace(
        client.retry_policy, base_delay=0.01, activities_base_delay=0.01
    )


def test_quota_exhaustion_stops_cleanly_and_resume_finishes(fast_account):
    # 7: the list listing (a run checks its lists) and 6 POSTs.
    emu, client, target = fast_account(seed=10, contacts=5000, quota_left=7)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 10 batches
    with pytest.raises(QuotaExceededError, match="resets at") as caught:
        df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    result = caught.value.result
    assert len(result.activity_ids) == 6
    counts = result.rows["status"].value_counts()
    assert counts["not_sent"] == 2000 and counts["removed"] + counts["processing"] == 3000

    emu.configure(quota_left=None)
    result.resume(progress=False)
    assert result.ok
    assert posts(emu, 201) == 10  # nothing sent twice
    assert not emu.account.members(target)


def test_failed_activities_then_retry_failed(fast_account):
    emu, client, target = fast_account(seed=11, contacts=1200)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches
    emu.fail_next(1, state="failed", at=0.0)  # nothing done: its rows are failed
    emu.fail_next(1, state="timed_out")  # half done, no snapshot: unknown (issue 21)
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    states = result.activities["state"].tolist()
    assert sorted(states) == ["completed", "failed", "timed_out"]
    assert {"failed", "unknown"} <= set(result.rows["status"])
    with pytest.raises(ccpandas.ActivityError, match="2 of 3 activities"):
        result.raise_for_errors()

    result.retry_failed(progress=False)
    assert result.ok and set(result.rows["status"]) == {"removed"}
    assert posts(emu, 201) == 5  # only the two failed batches again
    assert not emu.account.members(target)


def test_wait_false_then_wait(fast_account):
    emu, client, _ = fast_account(seed=12, contacts=1000, speed=2000.0)
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    result = df.cc.remove_from_lists(
        [target], client=client, wait=False, progress=False, snapshot=False
    )
    assert len(result.activity_ids) == 2
    assert not result.done
    ccpandas.wait(result)
    assert result.done and result.ok


def test_timeout_reports_running_activities_as_processing(fast_account):
    # The emulator's clock stands still until the test moves it: the activities are
    # still running when the 0.3 s timeout ends the wait, however slow the machine.
    clock = ManualClock()
    emu, client, _ = fast_account(seed=13, contacts=1000, clock=clock, speed=300.0)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, timeout=0.3, progress=False
    )
    assert not result.done
    assert "failed" not in set(result.rows["status"])
    assert "processing" in set(result.rows["status"])
    clock.advance(60)  # both batches' 1,000 contacts take under 10 s at this speed
    result.wait()
    assert result.ok


def test_keyboard_interrupt_leaves_a_consistent_result(fast_account):
    emu, client, target = fast_account(seed=14, contacts=2500)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 5 batches
    with pytest.raises(KeyboardInterrupt) as caught:
        df.cc.remove_from_lists([target], client=client, progress=InterruptAfter(2), snapshot=False)
    (note,) = caught.value.__notes__
    result = caught.value.result
    assert f"ccpandas.run_result({result.run_id!r})" in note and "resume(" in note
    assert result.interrupted
    # what runs() says agrees with what the result holds and a resume will do
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["accepted"] == 2 and row["uncertain"] == 0 and row["stop_reason"] == "interrupted"
    assert run_result(result.run_id).rows["status"].value_counts()["not_sent"] == 1500
    assert len(result.activity_ids) == 2
    assert result.rows["status"].value_counts()["not_sent"] == 1500

    result.resume(progress=False)
    assert result.ok
    assert posts(emu, 201) == 5
    assert not emu.account.members(target)


def test_ctrl_c_while_a_post_is_counted_leaves_it_not_sent(fast_account, monkeypatch):
    # Each attempt is counted in the shared ledger before it is sent, which may wait
    # (Redis, a busy quota.sqlite3): a Ctrl-C there made a POST that never went out
    # "uncertain", as if it may have reached the server.
    from ccpandas.client.quota import DayCounter

    emu, client, target = fast_account(seed=14, contacts=2500)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 5 batches
    real_add, accepted = DayCounter.add, []

    def add(self, day=None, n=1):
        if n > 0 and posts(emu, 201) == 2 and not accepted:
            accepted.append(True)
            raise KeyboardInterrupt  # while the third POST is counted
        return real_add(self, day, n)

    monkeypatch.setattr(DayCounter, "add", add)
    with pytest.raises(KeyboardInterrupt) as caught:
        df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    result = caught.value.result
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["accepted"] == 2 and row["uncertain"] == 0
    assert posts(emu, 201) == 2
    assert result.rows["status"].value_counts()["not_sent"] == 1500


@pytest.mark.slow
def test_120k_contacts_three_lists_end_to_end(fast_account):
    emu, client, _ = fast_account(seed=15, contacts=120_000, lists=5)
    targets = emu.account.list_ids()[:3]
    others = {lid: set(emu.account.members(lid)) for lid in emu.account.list_ids()[3:]}
    ids = pd.Series(emu.account.contact_ids())
    frame = pd.DataFrame(
        {"contact_id": pd.concat([ids, ids.iloc[:500], pd.Series(["bad"] * 7 + [None] * 3)])}
    ).reset_index(drop=True)

    result = frame.cc.remove_from_lists(targets, client=client, progress=False, snapshot=False)

    assert result.ok
    assert posts(emu, 201) == 240
    assert len(result.rows) == len(frame)
    counts = result.rows["status"].value_counts()
    assert counts["removed"] == 120_000 and counts["duplicate"] == 500
    assert counts["invalid_id"] == 7 and counts["missing"] == 3
    assert all(not emu.account.members(lid) for lid in targets)
    assert {lid: set(emu.account.members(lid)) for lid in others} == others
    assert emu.account.count(route=REMOVE, status=400) == 0
