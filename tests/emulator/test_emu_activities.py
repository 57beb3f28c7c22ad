"""Bulk activities: every source kind, exclude, the add mirror, progress and memberships."""

from __future__ import annotations

import datetime as dt

import pytest
from emu_support import FAST, Api, assert_error, finish

from ccpandas.emulator import Emulator, ManualClock

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _expect_removed(before: dict[str, set[str]], after: dict[str, set[str]], targets, gone) -> None:
    """Exactly ``gone`` left exactly ``targets``; every other membership is untouched."""
    for list_id, members in before.items():
        if list_id in targets:
            assert after[list_id] == members - set(gone), list_id
        else:
            assert after[list_id] == members, list_id


# -- the five removal sources ----------------------------------------------------------


def test_remove_by_contact_ids(emu: Emulator, api: Api) -> None:
    target = emu.account.list_ids()[0]
    before = emu.account.memberships()
    chosen = sorted(before[target])[:7] + sorted(before[emu.account.list_ids()[1]])[:3]
    final = finish(emu, api, api.remove({"source": {"contact_ids": chosen}, "list_ids": [target]}))
    assert final["status"] == {
        "items_total_count": len(set(chosen)),
        "items_completed_count": len(set(chosen)),
        "list_count": 1,
    }
    assert final["percent_done"] == 100 and final["activity_errors"] == []
    _expect_removed(before, emu.account.memberships(), {target}, chosen)


def test_remove_by_source_lists_with_exclude(emu: Emulator, api: Api) -> None:
    lists = emu.account.list_ids()
    source, targets = lists[0], lists[1:3]
    before = emu.account.memberships()
    keep = sorted(before[source])[:4]
    body = {
        "source": {"list_ids": [source]},
        "list_ids": targets,
        "exclude": {"contact_ids": keep},
    }
    final = finish(emu, api, api.remove(body))
    gone = before[source] - set(keep)
    assert final["status"]["items_total_count"] == len(gone)
    assert final["status"]["list_count"] == 2
    _expect_removed(before, emu.account.memberships(), set(targets), gone)
    for cid in keep:  # excluded contacts keep their target memberships
        for t in targets:
            assert (cid in emu.account.members(t)) == (cid in before[t])


def test_remove_all_active_contacts_with_exclude(emu: Emulator, api: Api) -> None:
    target = emu.account.list_ids()[1]
    before = emu.account.memberships()
    active = emu.account.active_contacts()
    keep = sorted(active & before[target])[:3]
    body = {
        "source": {"all_active_contacts": True},
        "list_ids": [target],
        "exclude": {"contact_ids": keep},
    }
    finish(emu, api, api.remove(body))
    after = emu.account.memberships()
    _expect_removed(before, after, {target}, active - set(keep))
    assert after[target] == (before[target] - active) | set(keep)
    assert after[target] - set(keep)  # the non-active members stay


def test_remove_by_tags(emu: Emulator, api: Api) -> None:
    tags = emu.account.tag_ids()[:2]
    targets = emu.account.list_ids()[:3]
    before = emu.account.memberships()
    finish(emu, api, api.remove({"source": {"tag_ids": tags}, "list_ids": targets}))
    _expect_removed(before, emu.account.memberships(), set(targets), emu.account.tagged(*tags))


@pytest.mark.parametrize("level", ["unqualified", "low", "medium", "high"])
def test_remove_by_engagement_level(emu: Emulator, api: Api, level: str) -> None:
    target = emu.account.list_ids()[0]
    before = emu.account.memberships()
    finish(emu, api, api.remove({"source": {"engagement_level": level}, "list_ids": [target]}))
    gone = emu.account.engaged(level)
    _expect_removed(before, emu.account.memberships(), {target}, gone)
    assert before[target] & gone  # the seed made this removal meaningful


def test_removal_is_idempotent(emu: Emulator, api: Api) -> None:
    target = emu.account.list_ids()[0]
    chosen = sorted(emu.account.members(target))[:5]
    body = {"source": {"contact_ids": chosen}, "list_ids": [target]}
    finish(emu, api, api.remove(body))
    after_once = emu.account.memberships()
    finish(emu, api, api.remove(body))
    assert emu.account.memberships() == after_once


# -- the add mirror ---------------------------------------------------------------------


def test_add_then_remove_restores_the_lists(emu: Emulator, api: Api) -> None:
    lists = emu.account.list_ids()
    before = emu.account.memberships()
    newcomers = sorted(before[lists[0]] - before[lists[4]])[:20]
    finish(emu, api, api.add({"source": {"contact_ids": newcomers}, "list_ids": [lists[4]]}))
    assert emu.account.members(lists[4]) == before[lists[4]] | set(newcomers)
    finish(emu, api, api.remove({"source": {"contact_ids": newcomers}, "list_ids": [lists[4]]}))
    assert emu.account.memberships() == before


def test_add_by_list_tag_and_engagement(emu: Emulator, api: Api) -> None:
    fresh = emu.account.create_list("Fresh")
    lists = emu.account.list_ids()
    finish(emu, api, api.add({"source": {"list_ids": lists[:2]}, "list_ids": [fresh]}))
    assert emu.account.members(fresh) == emu.account.members(lists[0]) | emu.account.members(
        lists[1]
    )
    other = emu.account.create_list("Other")
    tag = emu.account.tag_ids()[0]
    finish(emu, api, api.add({"source": {"tag_ids": [tag]}, "list_ids": [other]}))
    assert emu.account.members(other) == emu.account.tagged(tag)
    third = emu.account.create_list("Third")
    finish(emu, api, api.add({"source": {"engagement_level": "high"}, "list_ids": [third]}))
    assert emu.account.members(third) == emu.account.engaged("high")


def test_add_skips_deleted_contacts_and_reports_them(emu: Emulator, api: Api) -> None:
    fresh = emu.account.create_list("Fresh")
    deleted = emu.account.contact_ids(status="deleted")[0]
    active = emu.account.contact_ids(status="active")[0]
    final = finish(
        emu, api, api.add({"source": {"contact_ids": [deleted, active]}, "list_ids": [fresh]})
    )
    assert emu.account.members(fresh) == {active}
    assert any(deleted in e for e in final["activity_errors"])


def test_add_respects_the_50_list_cap() -> None:
    with Emulator(seed=2, contacts=5, lists=0, **FAST) as emu:
        api = Api(emu)
        lists = [emu.account.create_list(f"L{i}") for i in range(51)]
        cid = emu.account.contact_ids(status="active")[0]
        finish(emu, api, api.add({"source": {"contact_ids": [cid]}, "list_ids": lists[:50]}))
        final = finish(
            emu, api, api.add({"source": {"contact_ids": [cid]}, "list_ids": [lists[50]]})
        )
        assert emu.account.lists_of(cid) == set(lists[:50])
        assert "50 lists" in final["activity_errors"][0]
        api.close()


def test_add_from_an_unknown_segment_is_not_found(emu: Emulator, api: Api) -> None:
    target = emu.account.list_ids()[0]
    # 400, not 404: the spec documents no 404 for add_list_memberships
    assert_error(api.add({"source": {"segment_id": 4}, "list_ids": [target]}), 400, "not_found")
    r = api.remove({"source": {"segment_id": 4}, "list_ids": [target]})
    assert_error(r, 400, "validation_error")  # remove has no segment source


# -- unknown ids (the documented assumptions) -------------------------------------------


def test_unknown_contact_ids_are_reported_by_default(emu: Emulator, api: Api) -> None:
    target = emu.account.list_ids()[0]
    member = sorted(emu.account.members(target))[0]
    final = finish(
        emu, api, api.remove({"source": {"contact_ids": [member, UNKNOWN]}, "list_ids": [target]})
    )
    assert final["status"]["items_total_count"] == 2
    assert final["activity_errors"] == [f"contact_id {UNKNOWN} was not found"]
    assert member not in emu.account.members(target)


def test_unknown_contact_ids_can_be_rejected(emu: Emulator, api: Api) -> None:
    emu.configure(unknown_contacts="reject")
    target = emu.account.list_ids()[0]
    before = emu.account.memberships()
    member = sorted(before[target])[0]
    r = api.remove({"source": {"contact_ids": [member, UNKNOWN]}, "list_ids": [target]})
    assert UNKNOWN in assert_error(r, 400, "validation_error")
    assert emu.account.memberships() == before and emu.account.activities == {}


@pytest.mark.parametrize("status", [None, 404, 400])
def test_unknown_lists_and_tags(emu: Emulator, api: Api, status: int | None) -> None:
    emu.configure(unknown_list_status=status)
    known = emu.account.list_ids()[0]
    cid = sorted(emu.account.members(known))[0]
    bodies = [
        {"source": {"contact_ids": [cid]}, "list_ids": [known, UNKNOWN]},
        {"source": {"list_ids": [UNKNOWN]}, "list_ids": [known]},
        {"source": {"tag_ids": [UNKNOWN]}, "list_ids": [known]},
    ]
    for body in bodies:
        # by default each POST as the spec documents it: 404 removal, 400 add
        assert UNKNOWN in assert_error(api.remove(body), status or 404, "not_found")
        assert UNKNOWN in assert_error(api.add(body), status or 400, "not_found")
    assert emu.account.activities == {}


def test_deleted_target_list_counts_as_unknown(emu: Emulator, api: Api) -> None:
    gone = emu.account.list_ids()[0]
    emu.account.delete_list(gone)
    r = api.remove({"source": {"engagement_level": "low"}, "list_ids": [gone]})
    assert_error(r, 404, "not_found")


# -- progress over time -------------------------------------------------------------------


def test_activity_progresses_through_its_states_with_the_clock() -> None:
    clock = ManualClock(dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC))
    with Emulator(
        seed=1, speed=10, start_delay=2, rate=None, clock=clock, timestamps="milliseconds"
    ) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        members = sorted(emu.account.members(target), key=lambda c: emu.account.contact(c).ordinal)
        r = api.remove({"source": {"contact_ids": members[:20]}, "list_ids": [target]})
        assert r.status_code == 201
        created = r.json()
        assert created["state"] == "initialized" and created["percent_done"] == 0
        assert created["created_at"] == "2025-06-01T09:00:00.000Z"
        assert "started_at" not in created and "completed_at" not in created
        aid = created["activity_id"]

        clock.advance(1)
        assert api.get(f"/activities/{aid}").json()["state"] == "initialized"
        clock.advance(1.5)  # started at t=2, 0.5 s at 10 items/s = 5 items
        seen = api.get(f"/activities/{aid}").json()
        assert seen["state"] == "processing"
        assert seen["started_at"] == "2025-06-01T09:00:02.000Z"
        assert seen["status"]["items_completed_count"] == 5 and seen["percent_done"] == 25
        # changes apply progressively, in order: the first 5 are gone, the rest not yet
        assert not set(members[:5]) & emu.account.members(target)
        assert set(members[5:20]) <= emu.account.members(target)

        clock.advance(1)
        later = api.get(f"/activities/{aid}").json()
        assert later["status"]["items_completed_count"] == 15 and later["percent_done"] == 75

        clock.advance(10)
        done = api.get(f"/activities/{aid}").json()
        assert done["state"] == "completed" and done["percent_done"] == 100
        assert done["completed_at"] == "2025-06-01T09:00:04.000Z"
        assert not set(members[:20]) & emu.account.members(target)
        assert set(members[20:]) <= emu.account.members(target)
        api.close()


def test_activities_queue_for_the_processing_slots() -> None:
    clock = ManualClock()
    with Emulator(seed=1, speed=10, start_delay=0, concurrency=1, rate=None, clock=clock) as emu:
        target = emu.account.list_ids()[0]
        members = sorted(emu.account.members(target))
        first = emu.account.submit_activity(
            {"source": {"contact_ids": members[:10]}, "list_ids": [target]}
        )
        second = emu.account.submit_activity(
            {"source": {"contact_ids": members[10:20]}, "list_ids": [target]}
        )
        clock.advance(0.5)
        assert emu.account.activity(first.activity_id).state == "processing"
        assert emu.account.activity(second.activity_id).state == "initialized"
        clock.advance(1)  # the first ends at 1.0 s, the second then runs for 0.5 s
        assert emu.account.activity(first.activity_id).state == "completed"
        assert emu.account.activity(second.activity_id).items_completed == 5
        emu.configure(concurrency=2, speed=1000)  # takes effect from now
        clock.advance(1)
        assert emu.account.queued_activities == 0


def test_empty_activity_completes(emu: Emulator, api: Api) -> None:
    fresh = emu.account.create_list("Empty")
    target = emu.account.list_ids()[0]
    final = finish(emu, api, api.remove({"source": {"list_ids": [fresh]}, "list_ids": [target]}))
    assert final["status"]["items_total_count"] == 0 and final["percent_done"] == 100


def test_cancel_hook_stops_an_activity_where_it_is() -> None:
    clock = ManualClock()
    with Emulator(seed=1, speed=10, start_delay=0, rate=None, clock=clock) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        members = sorted(emu.account.members(target), key=lambda c: emu.account.contact(c).ordinal)
        aid = api.remove({"source": {"contact_ids": members[:20]}, "list_ids": [target]}).json()[
            "activity_id"
        ]
        clock.advance(1)
        assert emu.account.cancel_activity(aid) is True
        clock.advance(100)
        final = api.get(f"/activities/{aid}").json()
        assert final["state"] == "cancelled" and final["status"]["items_completed_count"] == 10
        assert set(members[10:20]) <= emu.account.members(target)
        assert emu.account.cancel_activity(aid) is False
        api.close()


# -- listing activities ---------------------------------------------------------------------


def test_activity_collection_newest_first_with_state_filter_and_paging(
    emu: Emulator, api: Api
) -> None:
    target = emu.account.list_ids()[0]
    emu.fail_next(2, "failed", at=0.0)
    ids = []
    for level in ["unqualified", "low", "medium", "high", "low"]:
        r = api.remove({"source": {"engagement_level": level}, "list_ids": [target]})
        ids.append(r.json()["activity_id"])
    emu.wait_idle(10)
    pages = api.pages("/activities?limit=2")
    listed = [a["activity_id"] for p in pages for a in p["activities"]]
    assert listed == ids[::-1]
    assert [len(p["activities"]) for p in pages] == [2, 2, 1]
    failed = api.get("/activities?state=failed").json()["activities"]
    assert [a["activity_id"] for a in failed] == ids[1::-1]
    completed = api.pages("/activities?state=completed&limit=1")
    assert [a["activity_id"] for p in completed for a in p["activities"]] == ids[:1:-1]
    assert_error(api.get("/activities?state=initialized"), 400, "validation_error")
    assert_error(api.get("/activities?limit=501"), 400, "validation_error")


def test_activities_are_kept_ten_days() -> None:
    clock = ManualClock()
    with Emulator(seed=1, speed=1e9, rate=None, daily_quota=None, clock=clock) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        aid = api.remove({"source": {"engagement_level": "low"}, "list_ids": [target]}).json()[
            "activity_id"
        ]
        clock.advance(9 * 86400)
        assert api.get(f"/activities/{aid}").status_code == 200
        assert len(api.get("/activities").json()["activities"]) == 1
        clock.advance(86400 + 1)
        assert_error(api.get(f"/activities/{aid}"), 404, "not_found")
        assert api.get("/activities").json()["activities"] == []
        api.close()


def test_get_activity_errors(api: Api) -> None:
    assert_error(api.get(f"/activities/{UNKNOWN}"), 404, "not_found")
    assert_error(api.get("/activities/04fe9a-a579-43c5-bb1a-58ed29bf0a6a"), 400, "validation_error")


def test_two_emulators_on_one_seed_and_clock_never_share_an_activity_id() -> None:
    # Activity ids carried the creation time and bits drawn from the seed only: two
    # emulators of one seed on clocks at the same time handed out the same id, so a
    # run on the second met the first's id in the journal ("replayed_answer").
    ids = []
    for _ in range(2):
        with Emulator(seed=5, contacts=20, clock=ManualClock(), **FAST) as emu:
            api = Api(emu)
            list_id = emu.account.list_ids()[0]
            member = sorted(emu.account.members(list_id))[0]
            answer = api.remove({"source": {"contact_ids": [member]}, "list_ids": [list_id]})
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["activity_id"])
    assert ids[0] != ids[1]
