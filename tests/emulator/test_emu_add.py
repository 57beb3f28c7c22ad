"""POST /v3/activities/add_list_memberships against the spec, the guide and the shapes
of the removal: limits, sources, exclude, activity_errors, the 50-list cap and the
activity's status, all over real HTTP.

The limits and the sources are read from the official spec's text when it is beside
the repository (``../shared/reference``), so a drift between the two fails here.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import requests
from emu_support import FAST, SPEC, Api, assert_error, finish

from ccpandas.emulator import Emulator, ManualClock

UNKNOWN = "00000000-0000-4000-8000-000000000000"
T0 = dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)
#: What the status of a list-membership activity holds (the spec's
#: ActivityListsMembership); person_count and the other counts are the imports'.
STATUS_KEYS = {"items_total_count", "items_completed_count", "list_count"}
#: The developer guide's "Add Contacts to Lists" page adds one source to the spec's.
GUIDE_ONLY_SOURCES = {"new_subscriber"}


def _created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


def _spec_add_source() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    if not SPEC.is_file():
        pytest.skip(f"the V3 spec is not at {SPEC.resolve()}")
    with SPEC.open("rb") as fh:
        spec = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return spec["definitions"]["ListActivityAddContacts"]


def _spec_limit(prop: dict[str, Any]) -> int | None:
    """The "up to N" of a property's description (the spec's text, not its maxItems)."""
    found = re.search(r"up to (\d+)", prop["description"])
    return int(found.group(1)) if found else None


@pytest.fixture
def big() -> Any:
    """An account with 600 contacts, 50 lists and 50 tags, to reach every limit."""
    with Emulator(seed=1, contacts=600, lists=50, tags=50, **FAST) as emu:
        api = Api(emu)
        yield emu, api
        api.close()


# -- limits -------------------------------------------------------------------------------


def test_the_limits_are_those_of_the_spec_text(big: Any) -> None:
    emu, api = big
    acct = emu.account
    definition = _spec_add_source()
    source = definition["properties"]["source"]["properties"]
    limits = {
        "contact_ids": _spec_limit(source["contact_ids"]),
        "list_ids": _spec_limit(source["list_ids"]),
        # the spec gives tag_ids no number (and maxItems 0); the guide says "up to 50"
        "tag_ids": _spec_limit(source["tag_ids"]) or 50,
    }
    targets_limit = _spec_limit(definition["properties"]["list_ids"])
    assert limits == {"contact_ids": 500, "list_ids": 50, "tag_ids": 50} and targets_limit == 50
    pools = {
        "contact_ids": acct.contact_ids(),
        "list_ids": acct.list_ids(),
        "tag_ids": acct.tag_ids(),
    }
    target = acct.list_ids()[:1]
    for kind, limit in limits.items():
        assert len(pools[kind]) >= limit, kind
        ok = api.add({"source": {kind: pools[kind][:limit]}, "list_ids": target})
        assert _created(ok)["status"]["list_count"] == 1, kind
        too_many = [*pools[kind][:limit], UNKNOWN]
        message = assert_error(
            api.add({"source": {kind: too_many}, "list_ids": target}), 400, "validation_error"
        )
        assert f"source.{kind}" in message and str(limit + 1) in message and str(limit) in message
    all_lists = acct.list_ids()
    created = _created(api.add({"source": {"engagement_level": "low"}, "list_ids": all_lists}))
    assert created["status"]["list_count"] == targets_limit
    message = assert_error(
        api.add({"source": {"engagement_level": "low"}, "list_ids": [*all_lists, UNKNOWN]}),
        400,
        "validation_error",
    )
    assert "list_ids" in message and "51" in message


def test_500_contacts_count_as_500_items(big: Any) -> None:
    emu, api = big
    ids = emu.account.contact_ids()[:500]
    target = emu.account.create_list("Everyone")
    final = finish(emu, api, api.add({"source": {"contact_ids": ids}, "list_ids": [target]}))
    assert final["status"] == {
        "items_total_count": 500,
        "items_completed_count": 500,
        "list_count": 1,
    }
    live = set(emu.account.contact_ids()) - set(emu.account.contact_ids("deleted"))
    assert emu.account.members(target) == set(ids) & live


# -- sources and exclude ------------------------------------------------------------------


def test_every_source_of_the_spec_and_the_guide_is_accepted() -> None:
    spec_sources = set(_spec_add_source()["properties"]["source"]["properties"])
    assert spec_sources == {
        "list_ids",
        "all_active_contacts",
        "contact_ids",
        "tag_ids",
        "engagement_level",
        "segment_id",
    }
    clock = ManualClock(T0)
    with Emulator(seed=1, segments=1, speed=1e9, start_delay=0, rate=None, clock=clock) as emu:
        api = Api(emu)
        acct = emu.account
        fresh = acct.add_contact("fresh@example.com")  # subscribed now: a new subscriber
        source_list, tag = acct.list_ids()[1], acct.tag_ids()[0]
        bodies = {
            "contact_ids": ({"contact_ids": [fresh]}, {fresh}),
            "list_ids": ({"list_ids": [source_list]}, acct.members(source_list)),
            "all_active_contacts": ({"all_active_contacts": True}, acct.active_contacts()),
            "tag_ids": ({"tag_ids": [tag]}, acct.tagged(tag)),
            "engagement_level": ({"engagement_level": "high"}, acct.engaged("high")),
            "segment_id": ({"segment_id": 1}, {c.contact_id for c in acct.segment_members(1)}),
            "new_subscriber": ({"new_subscriber": True}, {fresh}),
        }
        assert set(bodies) == spec_sources | GUIDE_ONLY_SOURCES
        for kind, (source, expected) in bodies.items():
            target = acct.create_list(f"from {kind}")
            aid = _created(api.add({"source": source, "list_ids": [target]}))["activity_id"]
            clock.advance(1)
            final = api.get(f"/activities/{aid}").json()
            assert final["state"] == "completed", kind
            assert final["status"]["items_total_count"] == len(expected) > 0, kind
            assert acct.members(target) == expected, kind
        api.close()


def test_new_subscriber_selects_active_contacts_who_subscribed_in_the_last_30_days() -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, speed=1e9, start_delay=0, rate=None, clock=clock) as emu:
        api = Api(emu)
        acct = emu.account
        old = acct.add_contact("old@example.com")
        clock.advance(20 * 86400)
        recent = acct.add_contact("recent@example.com")
        other = acct.add_contact("other@example.com")
        acct.add_contact("gone@example.com", status="unsubscribed")
        acct.delete_contact(acct.add_contact("deleted@example.com"))
        clock.advance(15 * 86400)  # old subscribed 35 days ago, the rest 15
        target = acct.create_list("Welcome")
        body = {
            "source": {"new_subscriber": True},
            "list_ids": [target],
            "exclude": {"contact_ids": [other, UNKNOWN]},  # unknown excluded ids: ignored
        }
        created = _created(api.add(body))
        assert created["status"]["items_total_count"] == 1
        clock.advance(1)
        assert acct.members(target) == {recent} and old not in acct.members(target)
        for bad in (False, "yes", 1):
            r = api.add({"source": {"new_subscriber": bad}, "list_ids": [target]})
            assert "new_subscriber" in assert_error(r, 400, "validation_error")
        # a removal has no such source (neither the spec nor the guide gives it one)
        r = api.remove({"source": {"new_subscriber": True}, "list_ids": [target]})
        assert "new_subscriber" in assert_error(r, 400, "validation_error")
        api.close()


@pytest.mark.parametrize(
    ("kind", "value", "allowed"),
    [
        ("list_ids", "list", True),
        ("all_active_contacts", True, True),
        ("new_subscriber", True, True),
        ("contact_ids", "member", False),
        ("tag_ids", "tag", False),
        ("engagement_level", "high", False),
        ("segment_id", 1, False),
    ],
)
def test_exclude_only_with_the_sources_that_allow_it(kind: str, value: Any, allowed: bool) -> None:
    with Emulator(seed=1, segments=1, **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        source_list = acct.list_ids()[0]
        member = sorted(acct.members(source_list) & acct.active_contacts())[0]
        value = {"list": [source_list], "member": [member], "tag": acct.tag_ids()[:1]}.get(
            value, value
        )
        target = acct.create_list("Target")
        body = {
            "source": {kind: value},
            "list_ids": [target],
            "exclude": {"contact_ids": [member]},
        }
        if allowed:
            finish(emu, api, api.add(body))
            assert member not in acct.members(target)
        else:
            message = assert_error(api.add(body), 400, "validation_error")
            assert "exclude" in message and kind in message
            assert acct.activities == {}
            body["exclude"] = {"contact_ids": []}  # an empty exclude excludes nothing
            finish(emu, api, api.add(body))
        api.close()


# -- activity_errors: unknown and deleted contacts, the 50-list cap -----------------------


def _errors(final: dict[str, Any], shape: str) -> list[str]:
    if shape == "objects":
        assert all(isinstance(e, dict) and set(e) == {"message"} for e in final["activity_errors"])
        return [e["message"] for e in final["activity_errors"]]
    assert all(isinstance(e, str) for e in final["activity_errors"])
    return list(final["activity_errors"])


@pytest.mark.parametrize("shape", ["strings", "objects"])
def test_unknown_and_deleted_contacts_are_named_in_activity_errors(shape: str) -> None:
    with Emulator(seed=1, activity_errors=shape, **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        target = acct.create_list("Target")
        seeded_deleted = acct.contact_ids("deleted")[0]
        live, deleted_now = acct.contact_ids("active")[:2]
        acct.delete_contact(deleted_now)
        ids = [live, UNKNOWN, seeded_deleted, deleted_now, live.upper()]
        created = _created(api.add({"source": {"contact_ids": ids}, "list_ids": [target]}))
        # unknown ids are known at once; deleted ones when their turn comes
        assert _errors(created, shape) == [f"contact_id {UNKNOWN} was not found"]
        emu.wait_idle(10)
        final = api.get(f"/activities/{created['activity_id']}").json()
        assert final["state"] == "completed" and final["percent_done"] == 100
        assert final["status"] == {
            "items_total_count": 4,  # distinct ids, unknown and deleted ones included
            "items_completed_count": 4,
            "list_count": 1,
        }
        assert _errors(final, shape) == [
            f"contact_id {UNKNOWN} was not found",
            f"contact_id {seeded_deleted} is deleted and was not added to lists",
            f"contact_id {deleted_now} is deleted and was not added to lists",
        ]
        assert acct.members(target) == {live}
        # the removal names an unknown id the same way, in the same shape
        removal = finish(
            emu, api, api.remove({"source": {"contact_ids": [UNKNOWN]}, "list_ids": [target]})
        )
        assert _errors(removal, shape) == [f"contact_id {UNKNOWN} was not found"]
        api.close()


@pytest.mark.parametrize("shape", ["strings", "objects"])
def test_the_50_list_cap_fills_targets_in_request_order(shape: str) -> None:
    with Emulator(seed=2, contacts=5, lists=0, activity_errors=shape, **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        lists = [acct.create_list(f"L{i}") for i in range(53)]
        busy, free = acct.contact_ids("active")[:2]
        for list_id in lists[:48]:
            acct.add_members(list_id, [busy])
        # one target it is in already (no room needed), then room for two of four
        targets = [lists[0], *lists[49:53]]
        final = finish(
            emu, api, api.add({"source": {"contact_ids": [busy, free]}, "list_ids": targets})
        )
        assert acct.lists_of(busy) == set(lists[:48]) | set(lists[49:51])
        assert len(acct.lists_of(busy)) == 50
        assert acct.lists_of(free) == set(targets)
        assert _errors(final, shape) == [
            f"contact_id {busy} is already in 50 lists and was not added to list {lid}"
            for lid in lists[51:53]
        ]
        assert final["status"] == {
            "items_total_count": 2,  # the capped contact still counts as processed
            "items_completed_count": 2,
            "list_count": 5,
        }
        api.close()


# -- the activity's status: the same shapes as a removal ----------------------------------


def _shape(body: dict[str, Any]) -> tuple:
    return (
        tuple(sorted(body)),
        tuple(sorted(body["status"])),
        body["state"],
        body["percent_done"],
    )


@pytest.mark.parametrize("activity_shape", ["full", "sparse"])
def test_status_fields_have_the_removals_shapes_at_every_stage(activity_shape: str) -> None:
    clock = ManualClock(T0)
    with Emulator(
        seed=1, speed=10, start_delay=1, rate=None, clock=clock, activity_shape=activity_shape
    ) as emu:
        api = Api(emu)
        acct = emu.account
        a, b = acct.list_ids()[:2]
        members = sorted(acct.members(a) - acct.members(b))[:10]
        assert len(members) == 10
        # duplicates: the ids count once, the target lists once each
        body = {"source": {"contact_ids": members + members[:3]}, "list_ids": [b, b.upper()]}
        stages: dict[str, list[dict[str, Any]]] = {"add": [], "remove": []}
        for kind, send in (("add", api.add), ("remove", api.remove)):
            created = _created(send(body))
            aid = created["activity_id"]
            stages[kind].append(created)
            clock.advance(1.5)  # started after 1 s, 10 items/s: 5 done
            stages[kind].append(api.get(f"/activities/{aid}").json())
            stages[kind].append(api.get("/activities?state=processing").json()["activities"][0])
            clock.advance(5)
            stages[kind].append(api.get(f"/activities/{aid}").json())
        assert [_shape(s) for s in stages["add"]] == [_shape(s) for s in stages["remove"]]
        created, running, listed, done = stages["add"]
        if activity_shape == "sparse":
            assert created["status"] == {"list_count": 1} and created["percent_done"] == 1
            assert "_links" not in done
        else:
            assert created["status"] == {
                "items_total_count": 10,
                "items_completed_count": 0,
                "list_count": 1,
            }
            assert created["percent_done"] == 0 and "_links" in done
        for seen in (running, listed):
            assert seen["state"] == "processing" and set(seen["status"]) == STATUS_KEYS
            assert seen["status"]["items_completed_count"] == 5 and seen["percent_done"] == 50
        assert done["status"] == {
            "items_total_count": 10,
            "items_completed_count": 10,
            "list_count": 1,
        }
        assert done["state"] == "completed" and done["percent_done"] == 100
        assert set(done) >= {"started_at", "completed_at", "created_at", "updated_at"}
        assert not set(members) & acct.members(b)  # added, then removed again
        api.close()
