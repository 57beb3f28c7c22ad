"""What the engine's membership snapshots, undo and activity polling rely on.

Snapshots read every member of up to 25 lists through ``GET /contacts``; undo re-adds
contacts with ``add_list_memberships``; the runner follows many activities with one
``GET /activities``. Plus the "kept" fault and the hooks that change the account
between operations. All over real HTTP.
"""

from __future__ import annotations

import datetime as dt

import pytest
from emu_support import FAST, Api, assert_error, finish

from ccpandas.emulator import Emulator, ManualClock
from ccpandas.emulator.model import CONTACT_STATUSES

UNKNOWN = "00000000-0000-4000-8000-000000000000"
T0 = dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)


def _ids(pages: list[dict]) -> list[str]:
    return [c["contact_id"] for p in pages for c in p["contacts"]]


# -- GET /contacts: snapshots ---------------------------------------------------------------


def test_a_snapshot_of_25_lists_pages_to_the_end() -> None:
    # the old last-page shape (no "_links"); the default ({}) is tested in test_emu_shapes
    with Emulator(seed=3, contacts=3000, lists=25, last_page_links="absent", **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        lists = acct.list_ids()
        assert len(lists) == 25
        pages = api.pages(
            f"/contacts?lists={','.join(lists)}&include=list_memberships,taggings"
            "&status=all&limit=500"
        )
        ids = _ids(pages)
        union = set().union(*(acct.members(lid) for lid in lists))
        assert len(pages) > 2 and all(len(p["contacts"]) == 500 for p in pages[:-1])
        assert len(ids) == len(set(ids)) and set(ids) == union  # a union, no repeats
        assert ids == [cid for cid in acct.contact_ids() if cid in union]  # account order
        for contact in (c for p in pages for c in p["contacts"]):
            cid = contact["contact_id"]
            assert sorted(contact["list_memberships"]) == contact["list_memberships"]
            assert set(contact["list_memberships"]) == acct.lists_of(cid)
            assert contact["taggings"] == list(acct.contact(cid).tag_ids)
        assert "_links" not in pages[-1]
        api.close()


def test_more_than_25_lists_is_a_400(emu: Emulator, api: Api) -> None:
    for i in range(20):
        emu.account.create_list(f"extra {i}")
    lists = emu.account.list_ids()
    assert api.get(f"/contacts?lists={','.join(lists[:25])}").status_code == 200
    message = assert_error(api.get(f"/contacts?lists={','.join(lists[:26])}"), 400)
    assert "lists" in message and "25" in message


def test_status_filter_takes_every_spec_value(emu: Emulator, api: Api) -> None:
    acct = emu.account
    for status in CONTACT_STATUSES:  # at least one of each, whatever the seed drew
        acct.add_contact(f"extra-{status}@example.com", status=status)
    for status in CONTACT_STATUSES:
        found = _ids(api.pages(f"/contacts?status={status}&limit=500"))
        assert found == acct.contact_ids(status=status) and found, status
    both = _ids(api.pages("/contacts?status=unsubscribed,Deleted&limit=500"))
    assert set(both) == set(acct.contact_ids("unsubscribed")) | set(acct.contact_ids("deleted"))
    assert _ids(api.pages("/contacts?status=all&limit=500")) == acct.contact_ids()
    default = _ids(api.pages("/contacts?limit=500"))
    assert default == [c for c in acct.contact_ids() if acct.contact(c).status != "deleted"]
    assert_error(api.get("/contacts?status=archived"), 400, "validation_error")


def test_email_matches_case_insensitively_and_ignores_whitespace(emu: Emulator, api: Api) -> None:
    cid = emu.account.contact_ids(status="active")[3]
    email = emu.account.contact(cid).email
    for given in (email, email.upper(), f"  {email.title()}\t"):
        found = api.get("/contacts", params={"email": given}).json()["contacts"]
        assert [c["contact_id"] for c in found] == [cid], given
    assert api.get("/contacts", params={"email": "x" + email}).json()["contacts"] == []


def test_unsubscribed_contacts_keep_their_lists(emu: Emulator, api: Api) -> None:
    acct = emu.account
    target = acct.list_ids()[0]
    cid = next(c for c in acct.contact_ids("active") if c in acct.members(target))
    lists = acct.lists_of(cid)
    acct.set_contact_status(cid, "unsubscribed")
    assert acct.lists_of(cid) == lists
    for query in (f"lists={target}", f"lists={target}&status=unsubscribed"):
        found = api.get(f"/contacts?{query}&include=list_memberships&limit=500").json()
        mine = [c for c in found["contacts"] if c["contact_id"] == cid]
        assert len(mine) == 1 and set(mine[0]["list_memberships"]) == lists, query
        assert "opt_out_date" in mine[0]["email_address"]


def test_a_deleted_contact_is_in_no_list(emu: Emulator, api: Api) -> None:
    acct = emu.account
    target = acct.list_ids()[0]
    cid = sorted(acct.members(target))[0]
    acct.delete_contact(cid.upper())
    assert acct.contact(cid).status == "deleted" and acct.lists_of(cid) == set()
    for status in ("", "&status=all", "&status=deleted"):
        found = _ids(api.pages(f"/contacts?lists={target}{status}&limit=500"))
        assert cid not in found, status
    assert cid in _ids(api.pages("/contacts?status=deleted&limit=500"))
    one = api.get(f"/contacts/{cid}?include=list_memberships").json()
    assert one["list_memberships"] == [] and "deleted_at" in one
    with pytest.raises(KeyError):
        acct.delete_contact(UNKNOWN)
    with pytest.raises(ValueError):
        acct.set_contact_status(cid, "archived")


def test_a_deleted_list_leaves_every_contacts_memberships(emu: Emulator, api: Api) -> None:
    acct = emu.account
    gone = acct.list_ids()[0]
    members = acct.members(gone)
    acct.delete_list(gone)
    found = api.pages(f"/contacts?lists={gone}&status=all")
    assert _ids(found) == []
    everyone = api.pages("/contacts?include=list_memberships&status=all&limit=500")
    assert all(gone not in c["list_memberships"] for p in everyone for c in p["contacts"])
    assert all(gone not in acct.lists_of(cid) for cid in members)


# -- add_list_memberships: undo ---------------------------------------------------------------


def test_add_undoes_a_removal_through_the_same_lifecycle() -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, contacts=600, speed=100, start_delay=1, rate=None, clock=clock) as emu:
        api = Api(emu)
        acct = emu.account
        target = acct.list_ids()[0]
        before = acct.memberships()
        members = sorted(before[target], key=lambda c: acct.contact(c).ordinal)[:150]
        body = {"source": {"contact_ids": members}, "list_ids": [target]}
        removal = api.remove(body).json()
        clock.advance(10)
        assert api.get(f"/activities/{removal['activity_id']}").json()["state"] == "completed"
        assert not set(members) & acct.members(target)

        undo = api.add(body)
        assert undo.status_code == 201
        created = undo.json()
        aid = created["activity_id"]
        assert created["state"] == "initialized"
        assert created["status"] == {
            "items_total_count": 150,
            "items_completed_count": 0,
            "list_count": 1,
        }
        clock.advance(1.5)  # started after 1 s: 50 items in 0.5 s
        seen = api.get(f"/activities/{aid}").json()
        assert seen["state"] == "processing" and seen["status"]["items_completed_count"] == 50
        assert set(members[:50]) <= acct.members(target)
        assert not set(members[50:]) & acct.members(target)
        listed = api.get("/activities?state=processing").json()["activities"]
        assert [a["activity_id"] for a in listed] == [aid]
        clock.advance(5)
        done = api.get(f"/activities/{aid}").json()
        assert done["state"] == "completed" and done["activity_errors"] == []
        assert done["status"]["items_completed_count"] == 150 and done["percent_done"] == 100
        assert acct.memberships() == before
        api.close()


@pytest.mark.parametrize(
    "kind", ["contact_ids", "list_ids", "all_active_contacts", "tag_ids", "engagement_level"]
)
def test_add_takes_every_source_the_spec_allows(emu: Emulator, api: Api, kind: str) -> None:
    acct = emu.account
    source_list, tag = acct.list_ids()[1], acct.tag_ids()[0]
    fresh = [acct.create_list("fresh A"), acct.create_list("fresh B")]
    active = acct.contact_ids("active")
    source, expected = {
        "contact_ids": ({"contact_ids": active[:7]}, set(active[:7])),
        "list_ids": ({"list_ids": [source_list]}, acct.members(source_list)),
        "all_active_contacts": ({"all_active_contacts": True}, acct.active_contacts()),
        "tag_ids": ({"tag_ids": [tag]}, acct.tagged(tag)),
        "engagement_level": ({"engagement_level": "high"}, acct.engaged("high")),
    }[kind]
    body: dict = {"source": source, "list_ids": fresh}
    if kind in ("list_ids", "all_active_contacts"):  # the two sources exclude works with
        skip = sorted(expected)[:3]
        body["exclude"] = {"contact_ids": skip}
        expected = expected - set(skip)
    final = finish(emu, api, api.add(body))
    assert final["status"]["items_total_count"] == len(expected)
    assert final["status"]["list_count"] == 2
    assert acct.members(fresh[0]) == acct.members(fresh[1]) == expected


def test_add_takes_50_target_lists_and_an_unknown_segment_id_is_refused(
    emu: Emulator, api: Api
) -> None:
    acct = emu.account
    lists = [acct.create_list(f"T{i}") for i in range(50)]
    cid = next(c for c in acct.contact_ids("active") if not acct.lists_of(c))
    final = finish(emu, api, api.add({"source": {"contact_ids": [cid]}, "list_ids": lists}))
    assert final["status"]["list_count"] == 50 and acct.lists_of(cid) == set(lists)
    r = api.add({"source": {"segment_id": 1}, "list_ids": lists[:1]})
    assert "segment" in assert_error(r, 400, "not_found")


def test_a_contact_in_50_lists_is_skipped_and_named_in_the_errors() -> None:
    with Emulator(seed=2, contacts=5, lists=0, **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        lists = [acct.create_list(f"L{i}") for i in range(52)]
        full, other = acct.contact_ids(status="active")[:2]
        acct.add_members(lists[0], [full])
        for list_id in lists[1:49]:
            acct.add_members(list_id, [full])
        assert len(acct.lists_of(full)) == 49
        body = {"source": {"contact_ids": [full, other]}, "list_ids": lists[49:]}
        final = finish(emu, api, api.add(body))
        # room for one more: the first target in request order; the other two are skipped
        assert acct.lists_of(full) == set(lists[:50])
        assert acct.lists_of(other) == set(lists[49:])
        assert final["activity_errors"] == [
            f"contact_id {full} is already in 50 lists and was not added to list {lid}"
            for lid in lists[50:]
        ]
        assert final["status"]["items_completed_count"] == final["status"]["items_total_count"]
        api.close()


def test_add_skips_a_contact_deleted_since_the_removal(emu: Emulator, api: Api) -> None:
    acct = emu.account
    target = acct.list_ids()[0]
    a, b = sorted(acct.members(target))[:2]
    finish(emu, api, api.remove({"source": {"contact_ids": [a, b]}, "list_ids": [target]}))
    acct.delete_contact(a)
    final = finish(emu, api, api.add({"source": {"contact_ids": [a, b]}, "list_ids": [target]}))
    assert a not in acct.members(target) and b in acct.members(target)
    assert final["activity_errors"] == [f"contact_id {a} is deleted and was not added to lists"]


def test_adding_a_member_again_changes_nothing(emu: Emulator, api: Api) -> None:
    acct = emu.account
    target = acct.list_ids()[0]
    members = sorted(acct.members(target))[:5]
    before = acct.memberships()
    final = finish(emu, api, api.add({"source": {"contact_ids": members}, "list_ids": [target]}))
    assert final["activity_errors"] == [] and final["status"]["items_completed_count"] == 5
    assert acct.memberships() == before


def test_a_deleted_target_list_is_400_on_add_and_404_on_removal(emu: Emulator, api: Api) -> None:
    acct = emu.account
    gone, live = acct.list_ids()[:2]
    cid = acct.contact_ids("active")[0]
    acct.delete_list(gone)
    body = {"source": {"contact_ids": [cid]}, "list_ids": [live, gone]}
    assert gone in assert_error(api.add(body), 400, "not_found")
    assert gone in assert_error(api.remove(body), 404, "not_found")
    emu.configure(unknown_list_status=404)
    assert_error(api.add(body), 404, "not_found")
    assert acct.activities == {}


def test_a_list_deleted_while_an_add_waits_gets_no_members() -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, speed=100, start_delay=1, rate=None, clock=clock) as emu:
        api = Api(emu)
        acct = emu.account
        doomed, kept = acct.create_list("doomed"), acct.create_list("kept")
        ids = acct.contact_ids("active")[:10]
        aid = api.add({"source": {"contact_ids": ids}, "list_ids": [doomed, kept]}).json()[
            "activity_id"
        ]
        acct.delete_list(doomed)
        clock.advance(10)
        assert api.get(f"/activities/{aid}").json()["state"] == "completed"
        assert acct.members(doomed) == set() and acct.members(kept) == set(ids)
        api.close()


# -- the "kept" fault ---------------------------------------------------------------------------


def test_keep_members_leaves_exact_pairs_behind_yet_completes(emu: Emulator, api: Api) -> None:
    acct = emu.account
    a, b = acct.list_ids()[:2]
    both = sorted(acct.members(a) & acct.members(b))[:4]
    assert len(both) == 4
    stuck = both[0]
    emu.keep_members([(stuck.upper(), a.upper())])
    final = finish(emu, api, api.remove({"source": {"contact_ids": both}, "list_ids": [a, b]}))
    assert final["activity_errors"] == [] and final["percent_done"] == 100
    assert final["status"]["items_completed_count"] == 4
    assert acct.members(a) & set(both) == {stuck}  # only the named pair stays
    assert not acct.members(b) & set(both)
    seen = api.get(f"/contacts?lists={a}&include=list_memberships&limit=500").json()
    assert stuck in [c["contact_id"] for c in seen["contacts"]]
    emu.faults.keep_members.clear()
    finish(emu, api, api.remove({"source": {"contact_ids": [stuck]}, "list_ids": [a]}))
    assert stuck not in acct.members(a)


def _kept_under(seed: int, rate: float) -> set[str]:
    with Emulator(seed=seed, contacts=400, keep_rate=rate, **FAST) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        before = emu.account.members(target)
        finish(emu, api, api.remove({"source": {"list_ids": [target]}, "list_ids": [target]}))
        api.close()
        kept = emu.account.members(target)
        assert kept <= before
        return kept


def test_keep_rate_keeps_about_that_fraction_deterministically() -> None:
    kept = _kept_under(5, 0.5)
    assert kept == _kept_under(5, 0.5)  # same seed, same survivors
    with Emulator(seed=5, contacts=400) as emu:
        total = len(emu.account.members(emu.account.list_ids()[0]))
    assert 0.3 * total < len(kept) < 0.7 * total
    assert _kept_under(5, 0.0) == set()
    with pytest.raises(ValueError):
        Emulator(keep_rate=1.5)


# -- hooks between operations -----------------------------------------------------------------


def test_hooks_apply_finished_work_before_their_own_change() -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, speed=100, start_delay=0, rate=None, clock=clock) as emu:
        api = Api(emu)
        acct = emu.account
        target = acct.list_ids()[0]
        member = sorted(acct.members(target))[0]
        api.remove({"source": {"contact_ids": [member]}, "list_ids": [target]})
        clock.advance(10)  # the removal is done by now, though nobody has looked yet
        acct.add_members(target, [member])  # someone re-adds the contact afterwards
        assert member in acct.members(target)  # ... and it stays: the removal came first
        api.close()


# -- GET /activities: following many activities at once ---------------------------------------


def test_activity_items_carry_what_polling_reads() -> None:
    clock = ManualClock(T0)
    # the old shapes: timestamps with milliseconds, no _links on the last page (the
    # defaults, whole seconds and "_links": {}, are tested in test_emu_shapes)
    with Emulator(
        seed=1,
        speed=10,
        start_delay=1,
        rate=None,
        clock=clock,
        timestamps="milliseconds",
        last_page_links="absent",
    ) as emu:
        api = Api(emu)
        acct = emu.account
        a, b = acct.list_ids()[:2]
        members = sorted(acct.members(a))[:6]
        first = api.remove({"source": {"contact_ids": members + members[:2]}, "list_ids": [a, b]})
        clock.advance(0.25)
        second = api.add({"source": {"contact_ids": members[:3]}, "list_ids": [b]})
        clock.advance(0.25)
        third = api.remove({"source": {"engagement_level": "low"}, "list_ids": [b]})
        ids = [r.json()["activity_id"] for r in (first, second, third)]

        items = api.get("/activities").json()["activities"]
        assert [i["activity_id"] for i in items] == ids[::-1]  # newest first
        by_id = {i["activity_id"]: i for i in items}
        one = by_id[ids[0]]
        assert one["state"] == "initialized"  # listed, though not a state= filter value
        assert one["created_at"] == "2025-06-01T09:00:00.000Z"
        assert by_id[ids[1]]["created_at"] == "2025-06-01T09:00:00.250Z"
        assert one["status"]["items_total_count"] == 6  # distinct contact ids
        assert one["status"]["list_count"] == 2
        assert by_id[ids[1]]["status"]["items_total_count"] == 3
        assert by_id[ids[1]]["status"]["list_count"] == 1
        assert "kind" not in one and set(one["_links"]) == {"self"}  # the spec has no kind

        clock.advance(0.8)  # t=1.3: the first is processing (from t=1, 10 items/s, one slot)
        processing = api.get("/activities?state=processing").json()["activities"]
        assert [i["activity_id"] for i in processing] == ids[:1]
        clock.advance(1000)
        pages = api.pages("/activities?state=completed&limit=1")
        assert [i["activity_id"] for p in pages for i in p["activities"]] == ids[::-1]
        assert pages[0]["_links"]["next"]["href"].startswith("/v3/activities?cursor=")
        assert "_links" not in pages[-1]
        assert api.get("/activities?state=failed").json()["activities"] == []
        assert len(api.get("/activities?limit=500").json()["activities"]) == 3
        for bad in ("limit=0", "limit=501", "state=initialized", "state=done"):
            assert_error(api.get(f"/activities?{bad}"), 400, "validation_error")
        api.close()
