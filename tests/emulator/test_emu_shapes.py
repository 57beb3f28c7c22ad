"""The emulator answers in the real service's shapes, and serves every variant.

Each shape where the API varies is a setting; the default is the real shape and each
test here asks for every variant over HTTP. docs/emulator.md names each shape's source.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
import urllib.parse
import uuid

import pytest
import requests
from emu_support import FAST, Api, assert_error

from ccpandas.emulator import Emulator, ManualClock
from ccpandas.emulator import __main__ as cli
from ccpandas.emulator.oauth import REFRESH_IDLE_LIMIT

TAGS = "/contact_tags"
T0 = dt.datetime(2025, 6, 1, 9, tzinfo=dt.UTC)
SECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
UNKNOWN = "00000000-0000-1000-8000-000000000000"


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rate_headers(response: requests.Response) -> list[str]:
    return [h for h in response.headers if "rate" in h.lower() or "retry" in h.lower()]


# -- gateway errors: objects ----------------------------------------------------------------


def test_the_gateways_401_is_an_object_with_a_bearer_challenge(emu: Emulator) -> None:
    url = emu.base_url + "/contact_lists"
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = requests.get(url, headers=headers, timeout=5)
        assert r.status_code == 401
        assert r.json() == {"error_key": "unauthorized", "error_message": "Unauthorized"}
        assert r.headers["WWW-Authenticate"] == "Bearer realm=api.cc.email"
        assert _rate_headers(r) == []
    emu.configure(error_shape="array")
    old = requests.get(url, timeout=5)
    assert "Bearer" in assert_error(old, 401, "unauthorized")
    assert isinstance(old.json(), list)


def test_the_gateways_429_throttled_is_an_object() -> None:
    with Emulator(seed=1, rate=1, daily_quota=None, speed=1e9, clock=ManualClock(T0)) as emu:
        api = Api(emu)
        assert api.get(TAGS).status_code == 200
        r = api.get(TAGS)
        assert r.status_code == 429
        assert r.json() == {"error_key": "throttled", "error_message": "Too Many Requests"}
        emu.configure(error_shape="array")
        assert "per second" in assert_error(api.get(TAGS), 429, "throttled")
        api.close()


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, {"error_key": "quota_exceeded"}),
        ({"quota_error": "limit_exceeded"}, {"message": "Limit Exceeded"}),
        ({"error_shape": "array"}, None),
    ],
)
def test_every_shape_of_the_daily_quota_429(settings, expected) -> None:
    # The real daily quota on a clock no midnight moves (quota_left's 429 says other words).
    clock = ManualClock(T0)
    with Emulator(seed=1, rate=None, daily_quota=1, speed=1e9, clock=clock, **settings) as emu:
        api = Api(emu)
        assert api.get(TAGS).status_code == 200
        r = api.get(TAGS)
        assert r.status_code == 429
        body = r.json()
        if expected is None:
            assert "daily quota" in assert_error(r, 429, "quota_exceeded")
        elif "message" in expected:
            assert body == expected
        else:
            assert body["error_key"] == "quota_exceeded" and "00:00 UTC" in body["error_message"]
        api.close()


# -- application errors: arrays with namespaced keys --------------------------------------------


def test_application_errors_are_arrays_with_namespaced_keys(emu: Emulator, api: Api) -> None:
    r = api.get(f"/contacts/{UNKNOWN}")
    assert r.status_code == 404 and r.json()[0]["error_key"] == "contacts.api.not_found"
    bad = api.get("/contacts?limit=501")
    assert bad.status_code == 400
    assert bad.json()[0]["error_key"] == "contacts.api.validation.error"
    emu.configure(error_shape="array")
    assert api.get(f"/contacts/{UNKNOWN}").json()[0]["error_key"] == "not_found"
    assert api.get("/contacts?limit=501").json()[0]["error_key"] == "validation_error"


# -- paging ------------------------------------------------------------------------------------


def test_the_next_link_is_a_path_with_a_base64_cursor_carrying_the_page_size(api: Api) -> None:
    href = api.get("/contacts?limit=7").json()["_links"]["next"]["href"]
    path, _, query = href.partition("?")
    assert path == "/v3/contacts"
    cursor = dict(urllib.parse.parse_qsl(query))["cursor"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", cursor)  # one base64url string, nothing else
    assert json.loads(_b64(cursor))["limit"] == 7
    follow = api.get(href).json()
    assert len(follow["contacts"]) == 7  # the cursor alone keeps the page size


def test_the_last_page_keeps_an_empty_links_object(emu: Emulator, api: Api) -> None:
    pages = api.pages("/contacts?limit=150")
    assert len(pages) == 2 and pages[-1]["_links"] == {}
    assert api.get("/contact_lists").json()["_links"] == {}
    emu.configure(last_page_links="absent")
    assert "_links" not in api.pages("/contacts?limit=150")[-1]


@pytest.mark.parametrize("paging", ["stable", "offset"])
def test_contact_pages_continue_after_the_last_record_or_at_an_offset(
    emu: Emulator, api: Api, paging: str
) -> None:
    lid, members = emu.account.list_ids()[0], emu.account.contact_ids(status="active")[:30]
    emu.account.set_members(lid, members)
    emu.configure(contact_paging=paging)
    first = api.get(f"/contacts?lists={lid}&limit=10&include_count=true").json()
    shown = [c["contact_id"] for c in first["contacts"]]
    emu.account.remove_members(lid, shown[:3])  # three records before the next page leave
    second = api.get(first["_links"]["next"]["href"]).json()
    after = members[10:]
    # offset: the next page starts at the 11th of the 27 left, so 3 that stay are skipped
    expected = after[:10] if paging == "stable" else after[3:13]
    assert [c["contact_id"] for c in second["contacts"]] == expected
    assert first["contacts_count"] == 30 and second["contacts_count"] == 27  # every page


# -- values ------------------------------------------------------------------------------------


def _all_stamps(body: dict) -> list[str]:
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith(("_at", "_date")) and isinstance(value, str):
                    found.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body)
    # a contact's deleted_at is a date (the spec's format: date), not a date-time
    return [s for s in found if not re.fullmatch(r"\d{4}-\d\d-\d\d", s)]


def test_timestamps_have_whole_seconds_or_milliseconds(emu: Emulator, api: Api) -> None:
    lid = emu.account.list_ids()[0]
    member = sorted(emu.account.members(lid))[0]
    activity = api.remove({"source": {"contact_ids": [member]}, "list_ids": [lid]}).json()
    emu.wait_idle()
    for path in ("/contacts?status=all&limit=500", "/contact_lists", TAGS, "/activities"):
        stamps = _all_stamps(api.get(path).json())
        assert stamps and all(SECONDS.match(s) for s in stamps), (path, stamps[:3])
    assert SECONDS.match(activity["created_at"])
    emu.configure(timestamps="milliseconds")
    for path in ("/contacts?limit=5", "/contact_lists", "/activities"):
        stamps = _all_stamps(api.get(path).json())
        assert stamps and all(MILLISECONDS.match(s) for s in stamps), (path, stamps[:3])


def test_ids_are_version_1_uuids(emu: Emulator, api: Api) -> None:
    lid = emu.account.list_ids()[0]
    member = sorted(emu.account.members(lid))[0]
    activity = api.remove({"source": {"contact_ids": [member]}, "list_ids": [lid]}).json()
    ids = [activity["activity_id"]]
    ids += [c["contact_id"] for c in api.get("/contacts?limit=20").json()["contacts"]]
    ids += [x["list_id"] for x in api.get("/contact_lists").json()["lists"]]
    ids += [t["tag_id"] for t in api.get(TAGS).json()["tags"]]
    assert {uuid.UUID(i).version for i in ids} == {1}


def test_a_contact_has_no_top_level_status_whatever_is_included(api: Api) -> None:
    everything = "list_memberships,taggings,custom_fields,phone_numbers,street_addresses,notes"
    for path in ("/contacts?status=all&limit=500", f"/contacts?include={everything}"):
        contacts = api.get(path).json()["contacts"]
        assert contacts and not any("status" in c for c in contacts)
    one = api.get("/contacts?limit=1").json()["contacts"][0]["contact_id"]
    assert "status" not in api.get(f"/contacts/{one}?include={everything}").json()


# -- activities --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["full", "sparse"])
def test_activity_shapes_from_initialized_to_completed(shape: str) -> None:
    clock = ManualClock(T0)
    with Emulator(
        seed=1, speed=100, start_delay=1, rate=None, clock=clock, activity_shape=shape
    ) as emu:
        api = Api(emu)
        lid = emu.account.list_ids()[0]
        members = sorted(emu.account.members(lid))[:4]
        created = api.remove({"source": {"contact_ids": members}, "list_ids": [lid]}).json()
        aid = created["activity_id"]
        listed = api.get("/activities").json()["activities"][0]
        clock.advance(5)
        done = api.get(f"/activities/{aid}").json()
        assert done["state"] == "completed" and done["percent_done"] == 100
        assert done["status"]["items_total_count"] == 4
        if shape == "sparse":
            for early in (created, listed):
                assert early["state"] == "initialized" and early["percent_done"] == 1
                assert early["status"] == {"list_count": 1}
            assert "_links" not in done
        else:
            assert created["percent_done"] == 0 and created["status"]["items_total_count"] == 4
            assert done["_links"]["self"]["href"] == f"/v3/activities/{aid}"
        api.close()


@pytest.mark.parametrize("shape", ["strings", "objects"])
def test_activity_errors_as_strings_or_message_objects(shape: str) -> None:
    with Emulator(seed=1, activity_errors=shape, **FAST) as emu:
        api = Api(emu)
        lid = emu.account.list_ids()[0]
        emu.fail_next(1, "failed", at=0.5)
        members = sorted(emu.account.members(lid))[:4]
        aid = api.remove({"source": {"contact_ids": members}, "list_ids": [lid]}).json()
        emu.wait_idle()
        errors = api.get(f"/activities/{aid['activity_id']}").json()["activity_errors"]
        assert len(errors) == 1
        text = errors[0] if shape == "strings" else errors[0]["message"]
        assert isinstance(text, str) and "2 of 4 items" in text
        if shape == "objects":
            assert set(errors[0]) == {"message"}
        api.close()


# -- faults ------------------------------------------------------------------------------------


def test_injected_faults_are_500_503_and_504_on_reads_and_no_504_on_writes() -> None:
    with Emulator(seed=4, error_rate=1.0, **FAST) as emu:
        api = Api(emu)
        reads = [api.get(TAGS) for _ in range(60)]
        assert {r.status_code for r in reads} == {500, 503, 504}
        timeout = next(r for r in reads if r.status_code == 504)
        assert timeout.json() == {"message": "Endpoint request timed out"}
        lid = emu.account.list_ids()[0]
        body = {"source": {"contact_ids": [UNKNOWN]}, "list_ids": [lid]}
        writes = [api.remove(body) for _ in range(30)]
        assert {r.status_code for r in writes} == {500, 503}
        emu.configure(gateway_timeouts=False)
        assert {api.get(TAGS).status_code for _ in range(40)} == {500, 503}
        api.close()


# -- tokens ------------------------------------------------------------------------------------


def _claims(token: str) -> tuple[dict, dict, bytes]:
    header, payload, signature = token.split(".")
    return json.loads(_b64(header)), json.loads(_b64(payload)), _b64(signature)


def test_access_tokens_are_rs256_jwts_of_the_real_length(emu: Emulator) -> None:
    body = emu.oauth.grant("my-app")
    access = body["access_token"]
    assert 1_100 <= len(access) <= 1_200
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", access)
    header, claims, signature = _claims(access)
    assert header["alg"] == "RS256" and len(signature) == 256
    assert claims["aud"] == "https://api.cc.email/v3"
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 86_400
    assert sorted(claims["scp"]) == ["contact_data", "offline_access"]
    r = requests.get(emu.base_url + "/contact_lists", headers=emu.headers(access), timeout=5)
    assert r.status_code == 200
    emu.configure(access_tokens="opaque")
    opaque = emu.oauth.grant("my-app")["access_token"]
    assert "." not in opaque and len(opaque) < 100


def _pkce_token(emu: Emulator) -> requests.Response:
    verifier = "v" * 64
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    redirect = "http://127.0.0.1:5999/callback"
    answer = requests.get(
        emu.auth_url + "/authorize",
        params={
            "response_type": "code",
            "client_id": "my-app",
            "redirect_uri": redirect,
            "scope": "contact_data offline_access",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=5,
    )
    location = urllib.parse.urlsplit(answer.headers["Location"])
    code = dict(urllib.parse.parse_qsl(location.query))["code"]
    form = {
        "client_id": "my-app",
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "code_verifier": verifier,
    }
    return requests.post(emu.auth_url + "/token", data=form, timeout=5)


def test_the_pkce_answer_carries_an_id_token() -> None:
    with Emulator(seed=1, auto_approve=True, token_rate=None, **FAST) as emu:
        body = _pkce_token(emu).json()
        header, claims, _ = _claims(body["id_token"])
        assert header["alg"] == "RS256" and claims["aud"] == "my-app"
        assert claims["sub"] == _claims(body["access_token"])[1]["sub"]
        assert body["id_token"] in emu.oauth.issued_secrets()  # leak tests look for it too
        assert "id_token" not in emu.oauth.grant("my-app")  # the device flow has none


def test_the_token_endpoint_allows_one_request_per_second() -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, clock=clock, **FAST) as emu:
        refresh = emu.oauth.grant("my-app")["refresh_token"]
        form = {"client_id": "my-app", "grant_type": "refresh_token", "refresh_token": refresh}
        first = requests.post(emu.auth_url + "/token", data=form, timeout=5)
        assert first.status_code == 200
        form["refresh_token"] = first.json()["refresh_token"]
        second = requests.post(emu.auth_url + "/token", data=form, timeout=5)
        assert second.status_code == 429
        clock.advance(1)
        assert requests.post(emu.auth_url + "/token", data=form, timeout=5).status_code == 200


@pytest.mark.parametrize("rotate", [True, False])
def test_refresh_tokens_die_after_180_days_unused(rotate: bool) -> None:
    clock = ManualClock(T0)
    with Emulator(seed=1, clock=clock, rotate_refresh_tokens=rotate, **FAST) as emu:
        refresh = emu.oauth.grant("my-app")["refresh_token"]
        form = {"client_id": "my-app", "grant_type": "refresh_token", "refresh_token": refresh}
        clock.advance(REFRESH_IDLE_LIMIT.total_seconds() - 60)
        used = requests.post(emu.auth_url + "/token", data=form, timeout=5).json()
        assert (used["refresh_token"] != refresh) is rotate
        form["refresh_token"] = used["refresh_token"]
        clock.advance(REFRESH_IDLE_LIMIT.total_seconds() + 60)
        dead = requests.post(emu.auth_url + "/token", data=form, timeout=5)
        assert dead.json()["error"] == "invalid_grant" and "180 days" in dead.text


# -- settings and flags ------------------------------------------------------------------------


def test_every_variant_is_a_setting_and_a_flag() -> None:
    args = cli.build_parser().parse_args(
        [
            "--error-shape=array",
            "--quota-error=limit_exceeded",
            "--timestamps=milliseconds",
            "--activity-errors=objects",
            "--activity-shape=sparse",
            "--gateway-timeouts=no",
            "--last-page-links=absent",
            "--access-tokens=opaque",
        ]
    )
    settings = Emulator(seed=1, contacts=1, **cli.settings_from(args)).settings
    assert (settings.error_shape, settings.quota_error, settings.gateway_timeouts) == (
        "array",
        "limit_exceeded",
        False,
    )
    with pytest.raises(ValueError, match="error_shape must be one of"):
        Emulator(seed=1, contacts=1, error_shape="xml")


def test_cursor_text_is_not_base64_of_anything_else(api: Api) -> None:
    # A cursor with a character outside base64url is refused, not half read.
    href = api.get("/contacts?limit=5").json()["_links"]["next"]["href"]
    cursor = href.split("cursor=")[1]
    assert_error(api.get(f"/contacts?cursor={cursor[:-2]}"), 400, "validation_error")
    with pytest.raises((binascii.Error, ValueError)):
        json.loads(_b64(cursor[:-2]))


# -- the server's own clock ------------------------------------------------------------------


def test_the_date_header_is_the_emulators_clock_as_a_servers_is() -> None:
    # A real server's Date is the time its timestamps, token expiry and quota day come
    # from; an emulator on a moved clock must say that time, not the machine's.
    clock = ManualClock(T0)
    with Emulator(seed=1, contacts=3, clock=clock, **FAST) as emu:
        api = Api(emu)
        first = api.get(TAGS)
        clock.advance(90)
        later = api.get(TAGS)
        unauthenticated = requests.get(f"{emu.base_url}{TAGS}", timeout=10)
        api.close()
    assert first.headers["Date"] == "Sun, 01 Jun 2025 09:00:00 GMT"
    assert later.headers["Date"] == "Sun, 01 Jun 2025 09:01:30 GMT"
    assert unauthenticated.headers["Date"] == later.headers["Date"]


def test_segment_timestamps_follow_the_timestamps_setting_too() -> None:
    with Emulator(seed=3, contacts=10, segments=2, timestamps="milliseconds", **FAST) as emu:
        api = Api(emu)
        segments = api.get("/segments").json()["segments"]
        api.close()
    stamps = [s[k] for s in segments for k in ("created_at", "edited_at")]
    assert len(stamps) == 4 and all(MILLISECONDS.match(s) for s in stamps), stamps
