"""GET endpoints: lists, tags, contacts, with their filters, counts and cursor paging."""

from __future__ import annotations

import datetime as dt

import pytest
from emu_support import FAST, Api, assert_error

from ccpandas.emulator import Emulator

UNKNOWN = "00000000-0000-4000-8000-000000000000"


# -- contact lists ------------------------------------------------------------------------


def test_contact_lists_match_the_account(emu: Emulator, api: Api) -> None:
    emu.configure(last_page_links="absent")  # the old shape; the default is tested in shapes
    r = api.get("/contact_lists?include_count=true&include_membership_count=all")
    assert r.status_code == 200
    body = r.json()
    assert [lst["list_id"] for lst in body["lists"]] == emu.account.list_ids()
    assert body["lists_count"] == 6
    for lst in body["lists"]:
        assert lst["membership_count"] == len(emu.account.members(lst["list_id"]))
    assert "_links" not in body  # one page only


def test_contact_lists_leave_optional_fields_out_by_default(api: Api) -> None:
    body = api.get("/contact_lists").json()
    assert "lists_count" not in body
    assert all("membership_count" not in lst for lst in body["lists"])


def test_active_membership_count_counts_only_active_contacts(emu: Emulator, api: Api) -> None:
    lst = api.get("/contact_lists?include_membership_count=active").json()["lists"][0]
    members = emu.account.members(lst["list_id"])
    active = emu.account.active_contacts()
    assert lst["membership_count"] == len(members & active) < len(members)


def test_contact_lists_page_with_cursors(emu: Emulator, api: Api) -> None:
    pages = api.pages("/contact_lists?limit=4&include_count=true")
    assert [len(p["lists"]) for p in pages] == [4, 2]
    assert all(p["lists_count"] == 6 for p in pages)
    ids = [lst["list_id"] for p in pages for lst in p["lists"]]
    assert ids == emu.account.list_ids()
    href = pages[0]["_links"]["next"]["href"]
    assert href.startswith("/v3/contact_lists?cursor=")


def test_contact_lists_filter_by_name_and_status(emu: Emulator, api: Api) -> None:
    r = api.get("/contact_lists", params={"name": "Customers"})
    assert [lst["name"] for lst in r.json()["lists"]] == ["Customers"]
    assert api.get("/contact_lists?name=Nope").json()["lists"] == []
    gone = emu.account.list_ids()[-1]
    emu.account.delete_list(gone)
    assert gone not in {lst["list_id"] for lst in api.get("/contact_lists").json()["lists"]}
    deleted = api.get("/contact_lists?status=deleted").json()["lists"]
    assert [lst["list_id"] for lst in deleted] == [gone] and "deleted_at" in deleted[0]
    assert len(api.get("/contact_lists?status=all").json()["lists"]) == 6


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "include_count=maybe",
        "include_membership_count=some",
        "status=archived",
        "cursor=not-a-cursor",
    ],
)
def test_contact_lists_reject_bad_parameters(api: Api, query: str) -> None:
    assert_error(api.get(f"/contact_lists?{query}"), 400, "validation_error")


def test_one_contact_list(emu: Emulator, api: Api) -> None:
    list_id = emu.account.list_ids()[2]
    r = api.get(f"/contact_lists/{list_id}?include_membership_count=all")
    assert r.status_code == 200
    assert r.json()["list_id"] == list_id
    assert r.json()["membership_count"] == len(emu.account.members(list_id))
    # ids are case-insensitive, as UUIDs are
    assert api.get(f"/contact_lists/{list_id.upper()}").json()["list_id"] == list_id


def test_one_contact_list_errors(api: Api) -> None:
    assert_error(api.get(f"/contact_lists/{UNKNOWN}"), 404, "not_found")
    assert_error(api.get("/contact_lists/not-a-uuid"), 400, "validation_error")


# -- tags ---------------------------------------------------------------------------------


def test_contact_tags_with_counts_and_paging(emu: Emulator, api: Api) -> None:
    pages = api.pages("/contact_tags?limit=2&include_count=true")
    assert [len(p["tags"]) for p in pages] == [2, 2, 1]
    tags = [t for p in pages for t in p["tags"]]
    assert [t["tag_id"] for t in tags] == emu.account.tag_ids()
    for tag in tags:
        assert tag["contacts_count"] == len(emu.account.tagged(tag["tag_id"]))
    plain = api.get("/contact_tags").json()["tags"]
    assert all("contacts_count" not in t for t in plain)
    assert_error(api.get("/contact_tags?limit=501"), 400, "validation_error")


# -- contacts -----------------------------------------------------------------------------


def test_contacts_default_to_everyone_not_deleted(emu: Emulator, api: Api) -> None:
    pages = api.pages("/contacts?limit=500")
    ids = [c["contact_id"] for p in pages for c in p["contacts"]]
    expected = [
        cid for cid in emu.account.contact_ids() if emu.account.contact(cid).status != "deleted"
    ]
    assert ids == expected
    everyone = [
        c["contact_id"] for p in api.pages("/contacts?status=all&limit=500") for c in p["contacts"]
    ]
    assert everyone == emu.account.contact_ids()


def test_contacts_page_without_gaps_or_repeats(emu: Emulator, api: Api) -> None:
    emu.configure(last_page_links="absent")  # the old shape; the default is tested in shapes
    pages = api.pages("/contacts?limit=37&include_count=true")
    ids = [c["contact_id"] for p in pages for c in p["contacts"]]
    assert len(ids) == len(set(ids)) == pages[0]["contacts_count"]
    assert all(len(p["contacts"]) == 37 for p in pages[:-1])
    assert "_links" not in pages[-1]


def test_contacts_filter_by_list_with_memberships(emu: Emulator, api: Api) -> None:
    a, b = emu.account.list_ids()[:2]
    pages = api.pages(f"/contacts?lists={a},{b}&include=list_memberships&status=all&limit=50")
    found = {c["contact_id"]: set(c["list_memberships"]) for p in pages for c in p["contacts"]}
    assert set(found) == emu.account.members(a) | emu.account.members(b)
    for cid, lists in found.items():
        assert lists == emu.account.lists_of(cid)


def test_contacts_filter_by_tag_status_and_email(emu: Emulator, api: Api) -> None:
    tag = emu.account.tag_ids()[0]
    pages = api.pages(f"/contacts?tags={tag}&include=taggings&limit=500")
    tagged = {c["contact_id"] for p in pages for c in p["contacts"]}
    assert tagged == emu.account.tagged(tag)
    assert all(tag in c["taggings"] for p in pages for c in p["contacts"])

    unsub = api.pages("/contacts?status=unsubscribed&limit=500")
    ids = {c["contact_id"] for p in unsub for c in p["contacts"]}
    assert ids == set(emu.account.contact_ids(status="unsubscribed"))
    assert all(
        c["email_address"]["permission_to_send"] == "unsubscribed" for c in unsub[0]["contacts"]
    )

    someone = emu.account.contact(emu.account.contact_ids(status="active")[3])
    r = api.get("/contacts", params={"email": someone.email.upper()})
    assert [c["contact_id"] for c in r.json()["contacts"]] == [someone.contact_id]


def test_email_lookup_follows_address_changes_deletes_and_new_contacts(
    emu: Emulator, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct = emu.account

    def scan() -> list:
        raise AssertionError("GET /contacts?email= scanned the whole account")

    monkeypatch.setattr(acct, "contacts_in_order", scan)  # the index answers, or a 500

    def found(email: str, **params: str) -> list[str]:
        """Every contact id the lookup answers, following the next links."""
        ids: list[str] = []
        r = api.get("/contacts", params={"email": email, **params})
        assert r.status_code == 200, r.text
        while True:
            ids += [c["contact_id"] for c in r.json()["contacts"]]
            href = r.json().get("_links", {}).get("next", {}).get("href")
            if not href:
                return ids
            r = api.get(href)

    cid = acct.contact_ids(status="active")[5]
    old = acct.contact(cid).email
    assert found(old.upper()) == [cid]
    acct.set_contact_email(cid, "New.Address@Example.ORG")
    assert found(old, status="all") == []
    new = "new.address@example.org"
    assert found(new) == [cid]
    shown = api.get("/contacts", params={"email": new, "include": "list_memberships"}).json()
    assert shown["contacts"][0]["email_address"]["address"] == "New.Address@Example.ORG"
    assert set(shown["contacts"][0]["list_memberships"]) == acct.lists_of(cid)

    acct.delete_contact(cid)
    assert found(new) == []  # the default status leaves deleted contacts out
    assert found(new.upper(), status="all") == found(new, status="deleted") == [cid]

    newcomer = acct.add_contact("NEW.address@example.org")  # the address is free again
    assert found(new) == [newcomer]
    assert found(new, status="all", limit="1") == [cid, newcomer]  # account order, 2 pages
    r = api.get("/contacts", params={"email": new, "status": "all", "include_count": "true"})
    assert r.json()["contacts_count"] == 2

    acct.set_contact_email(newcomer, old)  # the first contact's old address
    assert found(old) == [newcomer] and found(new, status="all") == [cid]


def test_contacts_filter_by_dates(emu: Emulator, api: Api) -> None:
    cut = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    pages = api.pages("/contacts?created_after=2023-01-01T00:00:00Z&status=all&limit=500")
    ids = {c["contact_id"] for p in pages for c in p["contacts"]}
    expected = {c.contact_id for c in emu.account.contacts.values() if c.created_at > cut}
    assert ids == expected and 0 < len(ids) < 200
    assert_error(api.get("/contacts?updated_before=yesterday"), 400, "validation_error")


def test_contacts_empty_sub_resources_on_request(api: Api) -> None:
    c = api.get(
        "/contacts?limit=1&include=custom_fields,phone_numbers,street_addresses,notes"
    ).json()
    contact = c["contacts"][0]
    assert contact["custom_fields"] == contact["phone_numbers"] == contact["notes"] == []


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "status=gone",
        "include=everything",
        "lists=not-a-uuid",
        "lists=" + ",".join([UNKNOWN] * 26),
        "tags=" + ",".join(["x"]),
        "include_count=yes",
    ],
)
def test_contacts_reject_bad_parameters(api: Api, query: str) -> None:
    assert_error(api.get(f"/contacts?{query}"), 400, "validation_error")


def test_one_contact(emu: Emulator, api: Api) -> None:
    cid = emu.account.contact_ids()[5]
    r = api.get(f"/contacts/{cid}?include=list_memberships,taggings")
    assert r.status_code == 200
    body = r.json()
    assert body["contact_id"] == cid
    assert set(body["list_memberships"]) == emu.account.lists_of(cid)
    assert tuple(body["taggings"]) == emu.account.contact(cid).tag_ids
    assert "list_memberships" not in api.get(f"/contacts/{cid}").json()
    assert_error(api.get(f"/contacts/{UNKNOWN}"), 404, "not_found")
    assert_error(api.get("/contacts/12345"), 400, "validation_error")
    assert_error(api.get(f"/contacts/{cid}?include=bogus"), 400, "validation_error")


def test_deleted_contact_shows_its_deletion_date(emu: Emulator, api: Api) -> None:
    cid = emu.account.contact_ids(status="deleted")[0]
    body = api.get(f"/contacts/{cid}").json()
    assert body["deleted_at"] == emu.account.contact(cid).deleted_at.date().isoformat()


def test_cursor_keeps_filters_and_a_cursor_from_elsewhere_is_refused(
    emu: Emulator, api: Api
) -> None:
    list_id = emu.account.list_ids()[0]
    first = api.get(f"/contacts?lists={list_id}&limit=5&status=all").json()
    href = first["_links"]["next"]["href"]
    second = api.get(href).json()
    assert {c["contact_id"] for c in second["contacts"]} <= emu.account.members(list_id)
    cursor = href.split("cursor=")[1]
    assert_error(api.get(f"/contact_lists?cursor={cursor}"), 400, "validation_error")
    # an explicit limit next to the cursor changes the page size only
    assert len(api.get(href + "&limit=2").json()["contacts"]) == 2


def test_paging_survives_removals_between_pages(emu: Emulator, api: Api) -> None:
    list_id = emu.account.list_ids()[0]
    first = api.get(f"/contacts?lists={list_id}&limit=10&status=all").json()
    seen = [c["contact_id"] for c in first["contacts"]]
    emu.account.remove_members(list_id, seen[:5])  # records already served vanish
    rest = [
        c["contact_id"] for p in api.pages(first["_links"]["next"]["href"]) for c in p["contacts"]
    ]
    assert not set(rest) & set(seen)
    assert set(seen) | set(rest) == emu.account.members(list_id) | set(seen[:5])


def test_large_account_pages_in_500s() -> None:
    with Emulator(seed=3, contacts=2_000, lists=3, **FAST) as emu:
        api = Api(emu)
        pages = api.pages("/contacts?limit=500&status=all")
        assert [len(p["contacts"]) for p in pages] == [500, 500, 500, 500]
        api.close()


def test_an_edited_cursor_is_refused(emu: Emulator, api: Api) -> None:
    import base64
    import json

    href = api.get("/contacts?limit=5").json()["_links"]["next"]["href"]
    body, _, digest = href.split("cursor=")[1].partition(".")
    state = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    del state["filter"]
    forged = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    assert_error(api.get(f"/contacts?cursor={forged}.{digest}"), 400, "validation_error")
    assert_error(api.get(f"/contacts?cursor={forged}"), 400, "validation_error")


def test_a_cursor_signed_without_the_servers_key_is_refused(emu: Emulator, api: Api) -> None:
    # Anyone can read this source: a checksum with a published salt could be recomputed
    # for a made-up cursor (a page size of ten million, or a state missing its filter,
    # which once ended in a 500). The signature needs a key only the server holds.
    import base64
    import hashlib
    import json

    for state in ({"c": "contacts", "limit": 1}, {"c": "contacts", "limit": 10_000_000}):
        raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
        body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        for digest in (
            hashlib.sha256(b"ccpandas-emulator-cursor:" + raw).hexdigest()[:12],
            hashlib.sha256(raw).hexdigest()[:24],
        ):
            assert_error(api.get(f"/contacts?cursor={body}.{digest}"), 400, "validation_error")
    # A cursor the server made still works.
    href = api.get("/contacts?limit=5").json()["_links"]["next"]["href"]
    assert api.get(href.removeprefix("/v3")).status_code == 200
