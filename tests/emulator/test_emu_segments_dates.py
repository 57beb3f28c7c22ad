"""Segments (GET /segments, GET /contacts?segment_id=, add from a segment) and the date
filters of GET /contacts, over real HTTP, checked against the account's own records."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from emu_support import FAST, Api, assert_error
from specs import dated as _expected

from ccpandas.emulator import Emulator
from ccpandas.emulator.seed import seed_account


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=4, contacts=300, lists=3, segments=4, **FAST) as emulator:
        yield emulator


def _ids(api: Api, path: str) -> list[str]:
    return [c["contact_id"] for body in api.pages(path) for c in body["contacts"]]


def test_seeded_opt_outs_are_dated_apart_from_updates() -> None:
    data = seed_account(seed=4, contacts=400, lists=1, tags=1)
    gone = [c for c in data.contacts if c.status == "unsubscribed"]
    assert len(gone) > 10
    assert all(c.created_at <= c.opt_out_at for c in gone)
    assert sum(c.opt_out_at != c.updated_at for c in gone) == len(gone)
    others = [c for c in data.contacts if c.status != "unsubscribed"]
    assert all(c.opt_out_at is None for c in others)


def test_segments_are_seeded_apart_from_the_other_records() -> None:
    with_segments = seed_account(seed=4, contacts=50, lists=2, tags=2, segments=3)
    without = seed_account(seed=4, contacts=50, lists=2, tags=2)
    assert with_segments.contacts == without.contacts
    assert with_segments.memberships == without.memberships
    assert [g.segment_id for g in with_segments.segments] == [1, 2, 3]
    assert without.segments == []
    live = {c.contact_id for c in without.contacts if c.status != "deleted"}
    for segment in with_segments.segments:
        assert segment.contact_ids and segment.contact_ids <= live


def test_get_segments_lists_names_and_ids_sorted_and_paged(emu: Emulator, api: Api) -> None:
    segments = emu.account.segments
    body = api.get("/segments").json()
    assert set(body) == {"segments"}  # one page: no next link
    rows = body["segments"]
    assert {r["segment_id"] for r in rows} == set(segments)
    assert set(rows[0]) == {"name", "segment_id", "created_at", "edited_at"}
    # sort_by=date (the default): the most recently edited first
    edited = [segments[r["segment_id"]].edited_at for r in rows]
    assert edited == sorted(edited, reverse=True)
    by_name = [r["name"] for r in api.get("/segments?sort_by=name").json()["segments"]]
    assert by_name == sorted(g.name for g in segments.values())
    paged = api.pages("/segments?limit=3&sort_by=name")
    assert [len(p["segments"]) for p in paged] == [3, 1]
    assert [r["name"] for p in paged for r in p["segments"]] == by_name
    assert_error(api.get("/segments?sort_by=size"), 400, "validation_error")


def test_contacts_of_a_segment_are_its_live_members_in_account_order(
    emu: Emulator, api: Api
) -> None:
    acct = emu.account
    members = sorted(acct.segments[2].contact_ids, key=lambda c: acct.contacts[c].ordinal)
    acct.delete_contact(members[0])  # a deleted contact meets no criteria
    got = _ids(api, "/contacts?segment_id=2&limit=7")
    assert got == members[1:]
    assert len(got) > 7  # really several pages


@pytest.mark.parametrize(
    "other",
    [
        "status=all",
        "lists=",
        "include=taggings",
        "include_count=true",
        "updated_after=2024-01-01T00:00:00Z",
        "email=a@example.com",
    ],
)
def test_segment_id_combines_with_limit_only(api: Api, other: str) -> None:
    message = assert_error(api.get(f"/contacts?segment_id=1&limit=5&{other}"), 400)
    assert "only be combined with the limit" in message and other.split("=")[0] in message


def test_unknown_or_malformed_segment_id(api: Api) -> None:
    assert_error(api.get("/contacts?segment_id=99"), 404, "not_found")
    assert_error(api.get("/contacts?segment_id=abc"), 400, "validation_error")


def test_a_segment_made_in_a_test_and_an_add_from_it(emu: Emulator, api: Api) -> None:
    acct = emu.account
    chosen = acct.contact_ids("active")[:5]
    sid = acct.create_segment("Five", [c.upper() for c in chosen])
    assert _ids(api, f"/contacts?segment_id={sid}") == chosen
    target = acct.create_list("From the segment")
    r = api.add({"source": {"segment_id": sid}, "list_ids": [target]})
    assert r.status_code == 201, r.text
    emu.wait_idle(10)
    assert acct.members(target) == set(chosen)
    with pytest.raises(ValueError, match="exists already"):
        acct.create_segment("Five", chosen)
    with pytest.raises(KeyError):
        acct.create_segment("Six", ["00000000-0000-4000-8000-000000000000"])


@pytest.mark.parametrize(
    ("name", "field"),
    [("created", "created_at"), ("updated", "updated_at"), ("optout", "opt_out_at")],
)
def test_date_filters_bound_their_own_field(emu: Emulator, api: Api, name: str, field: str) -> None:
    after = dt.datetime(2022, 3, 1, tzinfo=dt.UTC)
    before = dt.datetime(2023, 9, 1, tzinfo=dt.UTC)
    range_ = f"{name}_after=2022-03-01T00:00:00Z&{name}_before=2023-09-01T00:00:00Z"
    got = _ids(api, f"/contacts?{range_}&limit=50")
    expected = _expected(emu, field, after, before)
    assert got == expected and 0 < len(expected) < 300  # the seed spreads the dates
    assert _ids(api, f"/contacts?{name}_after=2022-03-01T00:00:00Z") == _expected(
        emu, field, after, None
    )
    assert _ids(api, f"/contacts?{name}_before=2023-09-01") == _expected(emu, field, None, before)


def test_optout_filters_follow_an_unsubscribe_made_now(emu: Emulator, api: Api) -> None:
    acct = emu.account
    cid = acct.contact_ids("active")[0]
    since = (emu.clock.now() - dt.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(api, f"/contacts?optout_after={since}") == []
    updated = acct.contact(cid).updated_at
    acct.set_contact_status(cid, "unsubscribed")
    assert _ids(api, f"/contacts?optout_after={since}") == [cid]
    # An opt-out dates the email address, not the contact (as the real service does).
    assert acct.contact(cid).updated_at == updated
    assert _ids(api, f"/contacts?updated_after={since}") == []
    # combined with the other filters: all must match
    assert _ids(api, f"/contacts?optout_after={since}&status=active") == []
    assert _ids(api, f"/contacts?optout_after={since}&status=unsubscribed") == [cid]


def test_a_bad_date_is_refused(api: Api) -> None:
    assert_error(api.get("/contacts?optout_after=yesterday"), 400, "validation_error")


def test_a_segments_contacts_may_first_answer_202_accepted(emu: Emulator, api: Api) -> None:
    # The spec: with segment_id "the V3 API may return a 202 ... accepted, but not fully
    # completed. Retry ... to return the completed results and a 200".
    acct = emu.account
    members = [c.contact_id for c in acct.segment_members(2)]
    emu.configure(segment_pending_reads=2)
    for _ in range(2):
        pending = api.get("/contacts?segment_id=2&limit=7")
        assert pending.status_code == 202
        assert pending.json() == {"contacts": [], "_links": {}}
    assert _ids(api, "/contacts?segment_id=2&limit=7") == members  # then 200, every page
    assert api.get("/contacts?segment_id=3").status_code == 202  # each segment its own
    assert acct.count(method="GET", route="/v3/contacts", status=202) == 3
    emu.configure(segment_pending_reads=0)
    assert api.get("/contacts?segment_id=1").status_code == 200


def test_segment_pending_reads_is_a_flag_and_refuses_a_negative_count() -> None:
    from ccpandas.emulator import __main__ as cli

    args = cli.build_parser().parse_args(["--segment-pending-reads", "2"])
    assert (
        Emulator(seed=1, contacts=1, **cli.settings_from(args)).settings.segment_pending_reads == 2
    )
    with pytest.raises(ValueError, match="segment_pending_reads must be an integer >= 0"):
        Emulator(seed=1, contacts=1, segment_pending_reads=-1)
