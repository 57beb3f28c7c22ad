"""Property tests: whatever JSON a client sends, the emulator answers 201 or a 4xx with
the documented error body, never a 5xx or a dropped connection (faults off); a rejected
request changes nothing, an accepted one changes exactly what it says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emu_support import Api
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ccpandas.emulator import Emulator


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Emulator, Api]]:
    with Emulator(
        seed=11, contacts=120, lists=5, tags=4, speed=1e9, rate=None, daily_quota=None
    ) as emu:
        api = Api(emu)
        yield emu, api
        api.close()


_ACCOUNT = Emulator(seed=11, contacts=120, lists=5, tags=4).account  # the same ids, for drawing
_LISTS = _ACCOUNT.list_ids()
_CONTACTS = _ACCOUNT.contact_ids()
_TAGS = _ACCOUNT.tag_ids()
_JUNK_IDS = st.sampled_from(
    ["", "x", "00000000-0000-4000-8000-000000000000", "{" + _LISTS[0] + "}", _LISTS[0].upper(), 7]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)


def _ids(pool: list[str], max_size: int = 6) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(pool) | _JUNK_IDS, max_size=max_size)


sources = st.one_of(
    st.fixed_dictionaries({"contact_ids": _ids(_CONTACTS, 12)}),
    st.fixed_dictionaries({"list_ids": _ids(_LISTS)}),
    st.fixed_dictionaries({"tag_ids": _ids(_TAGS)}),
    st.fixed_dictionaries({"all_active_contacts": st.sampled_from([True, False, "true", 1])}),
    st.fixed_dictionaries(
        {"engagement_level": st.sampled_from(["unqualified", "low", "medium", "high", "LOW", ""])}
    ),
    st.dictionaries(
        st.sampled_from(["contact_ids", "list_ids", "tag_ids", "engagement_level", "segment_id"]),
        json_values,
        max_size=3,
    ),
)
near_valid = st.fixed_dictionaries(
    {"source": sources, "list_ids": _ids(_LISTS, 4)},
    optional={
        "exclude": st.fixed_dictionaries({"contact_ids": _ids(_CONTACTS)}) | json_values,
        "extra": json_values,
    },
)
_clean = {
    "contact_ids": st.lists(st.sampled_from(_CONTACTS), min_size=1, max_size=12),
    "list_ids": st.lists(st.sampled_from(_LISTS), min_size=1, max_size=3),
    "tag_ids": st.lists(st.sampled_from(_TAGS), min_size=1, max_size=3),
    "all_active_contacts": st.just(True),
    "engagement_level": st.sampled_from(["unqualified", "low", "medium", "high"]),
}
valid = st.sampled_from(sorted(_clean)).flatmap(
    lambda kind: st.fixed_dictionaries(
        {
            "source": st.fixed_dictionaries({kind: _clean[kind]}),
            "list_ids": st.lists(st.sampled_from(_LISTS), min_size=1, max_size=3),
        },
        optional={"exclude": st.fixed_dictionaries({"contact_ids": _clean["contact_ids"]})}
        if kind in ("list_ids", "all_active_contacts")
        else {},
    )
)
bodies = st.one_of(json_values, near_valid, valid)


def _expected_gone(emu: Emulator, body: dict[str, Any], before: dict[str, set[str]]) -> set[str]:
    source = body["source"]
    exclude = {c.lower() for c in (body.get("exclude") or {}).get("contact_ids", [])}
    if "contact_ids" in source:
        return {c.lower() for c in source["contact_ids"]}
    if "list_ids" in source:
        return set().union(*(before[lid.lower()] for lid in source["list_ids"])) - exclude
    if "tag_ids" in source:
        return emu.account.tagged(*source["tag_ids"])
    if source.get("all_active_contacts") is True:
        return emu.account.active_contacts() - exclude
    return emu.account.engaged(source["engagement_level"])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_any_json_body_gets_201_or_a_clean_4xx(shared: tuple[Emulator, Api], body: Any) -> None:
    emu, api = shared
    before = emu.account.memberships()
    known = set(emu.account.activities)
    try:
        r = api.session.post(
            api.url("/v3/activities/remove_list_memberships"),
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
    except requests.exceptions.ConnectionError as exc:  # pragma: no cover - the failure
        pytest.fail(f"connection dropped for {body!r}: {exc}")
    assert r.status_code == 201 or 400 <= r.status_code < 500, (r.status_code, r.text, body)
    event(f"status {r.status_code}")
    if r.status_code != 201:
        errors = r.json()
        assert isinstance(errors, list) and errors
        assert all(set(e) == {"error_key", "error_message"} for e in errors)
        assert set(emu.account.activities) == known
        assert emu.account.memberships() == before
        return
    emu.wait_idle(10)
    after = emu.account.memberships()
    targets = {lid.lower() for lid in body["list_ids"]}
    gone = _expected_gone(emu, body, before)
    for list_id, members in before.items():
        expected = members - gone if list_id in targets else members
        assert after[list_id] == expected, (list_id, body)
    for list_id, members in before.items():  # restore, so examples stay independent
        emu.account.set_members(list_id, members)


_PARAMS = [
    "limit", "cursor", "status", "include", "include_count", "include_membership_count",
    "lists", "tags", "email", "name", "state", "created_after", "updated_before",
]  # fmt: skip


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(
        [
            "/contacts",
            "/contact_lists",
            "/contact_tags",
            "/activities",
            f"/contact_lists/{_LISTS[0]}",
        ]
    ),
    params=st.dictionaries(st.sampled_from(_PARAMS), st.text(max_size=30), max_size=4),
)
def test_any_query_gets_200_or_a_clean_4xx(
    shared: tuple[Emulator, Api], path: str, params: dict[str, str]
) -> None:
    _, api = shared
    r = api.get(path, params=params)
    assert r.status_code == 200 or 400 <= r.status_code < 500, (r.status_code, r.text, params)
    if r.status_code != 200:
        assert all(set(e) == {"error_key", "error_message"} for e in r.json())
