"""The DataFrame readers: argument checks (nothing sent), then real reads from the emulator."""

from __future__ import annotations

import pandas as pd
import pytest

from ccpandas.client.http import Client, set_default_client
from ccpandas.errors import AuthError, PlanError
from ccpandas.readers import (
    CONTACT_COLUMNS,
    CONTACT_LIST_COLUMNS,
    CONTACT_TAG_COLUMNS,
    read_contact_lists,
    read_contact_tags,
    read_contacts,
)

UUID = "0b2d9f5e-6c1a-4e2b-9a57-1d3c4b5a6e7f"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # Tag names are resolved with a request; values that are no string never are.
        ({"tags": [42]}, "tag ids and names must be strings"),
        ({"tags": [UUID, 42]}, "tag ids and names must be strings"),
        ({"tags": []}, "tags is empty"),
        ({"lists": []}, "lists is empty"),
        ({"lists": {"a": 1}}, "lists must be"),
        ({"status": "gone"}, "status must be one of"),
        ({"status": ["active", "nope"]}, "status must be one of"),
        ({"include": "everything"}, "include must be one of"),
        ({"email": ""}, "email must be"),
        ({"limit": 0}, "limit must be"),
        ({"limit": 501}, "limit must be"),
        ({"limit": True}, "limit must be"),
    ],
)
def test_read_contacts_checks_arguments_before_sending(offline, kwargs, match):
    with pytest.raises(PlanError, match=match):
        read_contacts(offline, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        # List names cost a listing: a tag no request can resolve was refused after it.
        ({"lists": ["Newsletter"], "tags": [42]}, "tag ids and names must be strings"),
        ({"lists": ["Newsletter"], "tags": [None]}, "tag ids and names must be strings"),
        # A blank tag name was looked up (2 requests), then "unknown tag name: '  '".
        ({"tags": ["VIP", "  "]}, "blank"),
    ],
)
def test_read_contacts_checks_tags_before_list_names_cost_a_request(offline, kwargs, match):
    with pytest.raises(PlanError, match=match):
        read_contacts(offline, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"status": "archived"}, "status must be one of"),
        ({"include_membership_count": "some"}, "include_membership_count must be"),
    ],
)
def test_read_contact_lists_checks_arguments_before_sending(offline, kwargs, match):
    with pytest.raises(PlanError, match=match):
        read_contact_lists(offline, **kwargs)


def test_readers_refuse_something_that_is_not_a_client():
    with pytest.raises(TypeError, match=r"ccpandas\.Client"):
        read_contact_tags("https://api.cc.email/v3")  # type: ignore[arg-type]


def test_readers_without_any_client_explain_how_to_configure_one(monkeypatch, tmp_path):
    old = set_default_client(None)
    monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(tmp_path))  # no saved login either
    try:
        with pytest.raises(AuthError, match="CC_ACCESS_TOKEN"):
            read_contact_lists()
    finally:
        set_default_client(old)


def test_column_schemas_are_the_documented_ones():
    assert list(CONTACT_LIST_COLUMNS) == [
        "list_id",
        "name",
        "description",
        "favorite",
        "created_at",
        "updated_at",
        "membership_count",
    ]
    assert list(CONTACT_COLUMNS) == [
        "contact_id",
        "email",
        "first_name",
        "last_name",
        "status",
        "permission_to_send",
        "created_at",
        "updated_at",
    ]
    assert list(CONTACT_TAG_COLUMNS) == [
        "tag_id",
        "name",
        "contacts_count",
        "created_at",
        "updated_at",
    ]


def assert_dtypes(df: pd.DataFrame, schema: dict[str, str]) -> None:
    """Each column has the dtype its kind promises, whether or not the frame has rows."""
    text = pd.Series([], dtype="str").dtype
    for col, kind in schema.items():
        dtype = df[col].dtype
        if kind == "str":
            assert dtype == text, (col, dtype)
        elif kind == "datetime":
            assert str(dtype) == "datetime64[ns, UTC]", (col, dtype)
        elif kind == "int":
            assert dtype == "Int64", (col, dtype)
        elif kind == "bool":
            assert dtype == "boolean", (col, dtype)
        else:
            assert dtype == "object", (col, dtype)


# --------------------------------------------------------------------------- against the emulator

FAST = {"speed": 1e9, "rate": None, "daily_quota": None}


@pytest.fixture
def emu(cc_emulator_factory):
    return cc_emulator_factory(seed=11, contacts=300, lists=5, tags=4, **FAST)


def test_read_contact_lists(emu, client):
    emu.configure(timestamps="milliseconds")  # the old precision, so .floor("ms") below holds
    df = read_contact_lists(client)
    acct = emu.account
    assert list(df.columns) == list(CONTACT_LIST_COLUMNS)
    assert_dtypes(df, CONTACT_LIST_COLUMNS)
    assert df.list_id.tolist() == acct.list_ids()
    assert df.name.tolist() == [acct.lists[i].name for i in acct.list_ids()]
    assert df.membership_count.tolist() == [acct.membership_count(i) for i in acct.list_ids()]
    first = acct.lists[df.list_id[0]]
    assert df.created_at[0] == pd.Timestamp(first.created_at).floor("ms")
    assert df.favorite.tolist() == [acct.lists[i].favorite for i in acct.list_ids()]


def test_read_contact_lists_status_and_counts(emu, client):
    acct = emu.account
    gone = acct.list_ids()[1]
    acct.delete_list(gone)
    assert gone not in read_contact_lists(client).list_id.tolist()
    assert read_contact_lists(client, status="deleted").list_id.tolist() == [gone]
    assert len(read_contact_lists(client, status="all")) == 5
    active = read_contact_lists(client, include_membership_count="active")
    lid = active.list_id[0]
    assert active.membership_count[0] == acct.membership_count(lid, active_only=True)
    none = read_contact_lists(client, include_membership_count=None)
    assert none.membership_count.isna().all()
    assert none.membership_count.dtype == "Int64"


def test_read_contacts_of_a_list_over_many_pages(emu, client):
    acct = emu.account
    lid = acct.list_ids()[0]
    df = read_contacts(client, lists=[lid], limit=10, include=["list_memberships", "taggings"])
    live = {c for c in acct.members(lid) if acct.contacts[c].status != "deleted"}
    assert len(live) > 10  # really several pages
    assert set(df.contact_id) == live and df.contact_id.is_unique
    assert list(df.columns) == [*CONTACT_COLUMNS, "list_memberships", "taggings"]
    assert_dtypes(df, {**CONTACT_COLUMNS, "list_memberships": "o", "taggings": "o"})
    row = df.iloc[0]
    contact = acct.contacts[row.contact_id]
    assert row.email == contact.email
    assert row.first_name == contact.first_name
    assert row.permission_to_send == contact.permission_to_send
    assert row.status == contact.status
    assert sorted(row.list_memberships) == sorted(acct.lists_of(row.contact_id))
    assert list(row.taggings) == list(contact.tag_ids)
    assert client.stats.requests == -(-len(live) // 10)  # each page once


def test_read_contacts_filters(emu, client):
    acct = emu.account
    contact = acct.contacts[acct.contact_ids(status="active")[0]]
    one = read_contacts(client, email=contact.email)
    assert one.contact_id.tolist() == [contact.contact_id]
    unsub = read_contacts(client, status="unsubscribed")
    assert set(unsub.contact_id) == set(acct.contact_ids(status="unsubscribed"))
    tag = acct.tag_ids()[0]
    tagged = read_contacts(client, tags=tag.upper())  # case forgiven
    assert set(tagged.contact_id) == acct.tagged(tag)


def test_status_column_speaks_the_status_filters_vocabulary(emu, client):
    # status= reads and the status column agree: filtering the frame by the column
    # selects exactly what the filter reads, for every status, deleted ones included.
    acct = emu.account
    everyone = read_contacts(client, status="all")
    by_status = everyone.groupby("status")["contact_id"].agg(set).to_dict()
    for status in ("active", "unsubscribed", "deleted", "pending_confirmation", "temp_hold"):
        filtered = read_contacts(client, status=status)
        assert set(filtered.contact_id) == set(acct.contact_ids(status=status)) != set()
        assert by_status[status] == set(filtered.contact_id), status
        assert (filtered["status"] == status).all(), status
    # the docs' segmentation still selects the unsubscribed contacts
    unsub = everyone[everyone["status"] == "unsubscribed"]
    assert set(unsub.contact_id) == set(acct.contact_ids(status="unsubscribed"))
    # the email permission has its own column; a deleted contact is not "implicit"
    deleted = everyone[everyone.status == "deleted"]
    assert len(deleted) and "implicit" not in set(everyone["status"])
    assert set(everyone["permission_to_send"]) >= {"unsubscribed"}


def test_read_contacts_by_list_name(emu, client):
    acct = emu.account
    name = acct.lists[acct.list_ids()[2]].name
    by_name = read_contacts(client, lists=name)
    by_id = read_contacts(client, lists=acct.list_ids()[2])
    assert by_name.contact_id.tolist() == by_id.contact_id.tolist()
    with pytest.raises(PlanError, match="No such list"):
        read_contacts(client, lists=["No such list"])


def test_list_names_match_active_lists_only(emu, client):
    acct = emu.account
    old = acct.list_ids()[3]
    name = acct.lists[old].name
    acct.delete_list(old)
    with pytest.raises(PlanError, match="only a deleted list has that name") as info:
        read_contacts(client, lists=[name])
    assert old in str(info.value)
    new = acct.create_list(name)  # re-created: the name is the new list, not ambiguous
    member = acct.contact_ids(status="active")[0]
    acct.add_members(new, [member])
    assert read_contacts(client, lists=name).contact_id.tolist() == [member]


def test_more_than_25_lists_are_split_and_merged_without_duplicates(emu, client):
    acct = emu.account
    contacts = acct.contact_ids(status="active")
    new_lists = []
    for i in range(30):
        lid = acct.create_list(f"split {i}")
        acct.add_members(lid, contacts[i : i + 5])  # neighbours overlap: shared members
        new_lists.append(lid)
    df = read_contacts(client, lists=new_lists)
    assert df.contact_id.tolist() == contacts[:34]  # account order within each query
    assert acct.count(route="/v3/contacts") == 2  # 25 lists, then 5


def test_more_than_50_tags_are_split(emu, client):
    acct = emu.account
    real = acct.tag_ids()
    others = [f"00000000-0000-4000-8000-{i:012d}" for i in range(56)]  # tags nobody has
    df = read_contacts(client, tags=others[:30] + real + others[30:])
    assert set(df.contact_id) == acct.tagged(*real)
    assert df.contact_id.is_unique
    assert acct.count(route="/v3/contacts") == 2  # 50 tags, then 10


def test_empty_results_have_the_right_columns_and_dtypes(emu, client):
    df = read_contacts(client, email="nobody@nowhere.example", include="taggings")
    assert df.empty
    assert list(df.columns) == [*CONTACT_COLUMNS, "taggings"]
    assert_dtypes(df, {**CONTACT_COLUMNS, "taggings": "o"})
    assert_dtypes(read_contact_lists(client, status="deleted"), CONTACT_LIST_COLUMNS)


def test_empty_and_full_frames_agree_on_dtypes(emu, client):
    full = read_contacts(client)
    empty = read_contacts(client, email="nobody@nowhere.example")
    assert full.dtypes.to_dict() == empty.dtypes.to_dict()


def test_read_contact_tags(emu, client):
    acct = emu.account
    df = read_contact_tags(client)
    assert list(df.columns) == list(CONTACT_TAG_COLUMNS)
    assert_dtypes(df, CONTACT_TAG_COLUMNS)
    assert df.tag_id.tolist() == acct.tag_ids()
    assert df.contacts_count.tolist() == [acct.tag_count(t) for t in acct.tag_ids()]


def test_an_account_without_tags_gives_an_empty_typed_frame(cc_emulator_factory):
    emu = cc_emulator_factory(seed=1, contacts=5, lists=1, tags=0, **FAST)
    with Client(token=emu.token, base_url=emu.base_url, rate=None) as client:
        df = read_contact_tags(client)
    assert df.empty and list(df.columns) == list(CONTACT_TAG_COLUMNS)
    assert_dtypes(df, CONTACT_TAG_COLUMNS)


def test_readers_use_the_default_client(emu, monkeypatch):
    old = set_default_client(None)
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
    monkeypatch.setenv("CC_BASE_URL", emu.base_url)
    try:
        assert read_contact_lists().list_id.tolist() == emu.account.list_ids()
        with Client(token=emu.token, base_url=emu.base_url, rate=None) as mine:
            set_default_client(mine)
            read_contact_tags()
            assert mine.stats.requests == 1
    finally:
        set_default_client(old)


def test_read_contacts_takes_a_numpy_integer_limit(emu, client):
    # A page size computed from a frame (len(), .sum(), .iloc[0]) is a numpy integer.
    size = pd.Series([7]).iloc[0]
    df = read_contacts(client, limit=size, progress=False)
    assert client.stats.requests > 1  # 300 contacts in pages of 7
    assert df.contact_id.tolist() == read_contacts(client, progress=False).contact_id.tolist()


def test_read_contact_lists_tells_deleted_lists_apart(emu, client):
    acct = emu.account
    gone = acct.list_ids()[1]
    acct.delete_list(gone)
    every = read_contact_lists(client, status="all", progress=False)
    assert str(every.deleted_at.dtype) == "datetime64[ns, UTC]"
    assert every.loc[every.deleted_at.notna(), "list_id"].tolist() == [gone]
    assert every.deleted_at.isna().sum() == len(every) - 1
    assert read_contact_lists(client, status="deleted", progress=False).deleted_at.notna().all()
    # The default (active lists only) keeps the documented columns.
    assert list(read_contact_lists(client, progress=False).columns) == list(CONTACT_LIST_COLUMNS)
