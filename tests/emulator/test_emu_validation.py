"""Every documented request error: 400, 401, 403, 404, 405, 413, 415."""

from __future__ import annotations

import http.client
import json

import pytest
import requests
from emu_support import Api, assert_error

from ccpandas.emulator import Emulator

UNKNOWN = "00000000-0000-4000-8000-000000000000"
REMOVE = "/v3/activities/remove_list_memberships"


def _ids(n: int) -> list[str]:
    return [f"00000000-0000-4000-8000-{i:012d}" for i in range(n)]


@pytest.fixture
def target(emu: Emulator) -> str:
    return emu.account.list_ids()[0]


@pytest.fixture
def member(emu: Emulator, target: str) -> str:
    return sorted(emu.account.members(target))[0]


def _bad_bodies(target: str, member: str) -> dict[str, object]:
    return {
        "not an object": [1, 2],
        "missing source": {"list_ids": [target]},
        "missing list_ids": {"source": {"contact_ids": [member]}},
        "empty list_ids": {"source": {"contact_ids": [member]}, "list_ids": []},
        "51 target lists": {"source": {"contact_ids": [member]}, "list_ids": _ids(51)},
        "bad target uuid": {"source": {"contact_ids": [member]}, "list_ids": ["list-1"]},
        "braced uuid": {"source": {"contact_ids": [member]}, "list_ids": ["{" + target + "}"]},
        "two sources": {
            "source": {"contact_ids": [member], "tag_ids": [UNKNOWN]},
            "list_ids": [target],
        },
        "no source": {"source": {}, "list_ids": [target]},
        "false all_active": {"source": {"all_active_contacts": False}, "list_ids": [target]},
        "all_active not bool": {"source": {"all_active_contacts": "yes"}, "list_ids": [target]},
        "501 contacts": {"source": {"contact_ids": _ids(501)}, "list_ids": [target]},
        "51 source lists": {"source": {"list_ids": _ids(51)}, "list_ids": [target]},
        "51 tags": {"source": {"tag_ids": _ids(51)}, "list_ids": [target]},
        "empty contact_ids": {"source": {"contact_ids": []}, "list_ids": [target]},
        "bad contact uuid": {"source": {"contact_ids": [member, 42]}, "list_ids": [target]},
        "contact_ids not array": {"source": {"contact_ids": member}, "list_ids": [target]},
        "bad engagement": {"source": {"engagement_level": "extreme"}, "list_ids": [target]},
        "unknown source": {"source": {"segment": 1}, "list_ids": [target]},
        "unknown field": {"source": {"contact_ids": [member]}, "list_ids": [target], "lists": []},
        "exclude with contact_ids": {
            "source": {"contact_ids": [member]},
            "list_ids": [target],
            "exclude": {"contact_ids": [member]},
        },
        "exclude with tags": {
            "source": {"tag_ids": [UNKNOWN]},
            "list_ids": [target],
            "exclude": {"contact_ids": [member]},
        },
        "exclude not object": {
            "source": {"list_ids": [target]},
            "list_ids": [target],
            "exclude": [],
        },
        "exclude bad uuid": {
            "source": {"list_ids": [target]},
            "list_ids": [target],
            "exclude": {"contact_ids": ["x"]},
        },
    }


def test_every_bad_body_gets_400_and_changes_nothing(
    emu: Emulator, api: Api, target: str, member: str
) -> None:
    before = emu.account.memberships()
    for name, body in _bad_bodies(target, member).items():
        for send in (api.remove, api.add):
            message = assert_error(send(body), 400, "validation_error")
            assert message, name
    assert emu.account.activities == {} and emu.account.memberships() == before


def test_limits_are_inclusive(emu: Emulator, api: Api, target: str) -> None:
    members = sorted(emu.account.members(target))
    ok = api.remove({"source": {"contact_ids": (members * 20)[:500]}, "list_ids": [target]})
    assert ok.status_code == 201  # duplicates count towards the 500, then collapse
    for i in range(44):
        emu.account.create_list(f"L{i}")
    lists = emu.account.list_ids()
    assert len(lists) == 50
    assert api.remove({"source": {"engagement_level": "low"}, "list_ids": lists}).status_code == 201


def test_message_names_the_problem(api: Api, target: str, member: str) -> None:
    r = api.remove(
        {"source": {"contact_ids": [member], "engagement_level": "low"}, "list_ids": [target]}
    )
    assert "mutually exclusive" in assert_error(r, 400)
    r = api.remove({"source": {"contact_ids": _ids(501)}, "list_ids": [target]})
    assert "501" in assert_error(r, 400) and "500" in assert_error(r, 400)


def test_uppercase_uuids_are_accepted(emu: Emulator, api: Api, target: str, member: str) -> None:
    r = api.remove({"source": {"contact_ids": [member.upper()]}, "list_ids": [target.upper()]})
    assert r.status_code == 201
    emu.wait_idle(10)
    assert member not in emu.account.members(target)


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"{'source': 1}", b"[1,]", b"\xff\xfe", b'{"a": NaN}', b"[" * 100_000],
)
def test_malformed_json_gets_400(api: Api, raw: bytes) -> None:
    r = api.session.post(api.url(REMOVE), data=raw, headers={"Content-Type": "application/json"})
    assert_error(r, 400, "malformed_json")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_non_json_content_type_gets_415(
    api: Api, target: str, member: str, content_type: str | None
) -> None:
    body = json.dumps({"source": {"contact_ids": [member]}, "list_ids": [target]}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    if content_type is None:
        api.session.headers.pop("Content-Type", None)
    r = api.session.post(api.url(REMOVE), data=body, headers=headers)
    assert_error(r, 415, "unsupported_media_type")


def test_json_with_charset_is_fine(api: Api, target: str, member: str) -> None:
    body = json.dumps({"source": {"contact_ids": [member]}, "list_ids": [target]}).encode()
    r = api.session.post(
        api.url(REMOVE), data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 201


def test_missing_or_wrong_token_gets_401(emu: Emulator) -> None:
    emu.configure(error_shape="array")  # the messages that say why (the gateway says less)
    url = emu.base_url + "/contact_lists"
    assert_error(requests.get(url, timeout=5), 401, "unauthorized")
    assert_error(
        requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5), 401, "unauthorized"
    )
    assert_error(requests.get(url, headers={"Authorization": f"Basic {emu.token}"}, timeout=5), 401)
    message = assert_error(requests.get(url, headers={"Authorization": "Bearer"}, timeout=5), 401)
    assert "Bearer" in message
    assert (
        requests.get(url, headers={"Authorization": f"bearer {emu.token}"}, timeout=5).status_code
        == 200
    )


def test_401_is_checked_before_the_body(emu: Emulator) -> None:
    r = requests.post(emu.base_url + "/activities/remove_list_memberships", data=b"{", timeout=5)
    assert_error(r, 401, "unauthorized")


def test_token_without_contact_data_scope_gets_403(emu: Emulator) -> None:
    token = emu.issue_token(scopes={"offline_access"})
    r = requests.get(
        emu.base_url + "/contacts", headers={"Authorization": f"Bearer {token}"}, timeout=5
    )
    assert "contact_data" in assert_error(r, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v3/activities/remove_list_memberships", "POST"),
        ("DELETE", "/v3/contacts", "GET"),
        ("POST", "/v3/contact_lists", "GET"),
        ("PUT", f"/v3/contacts/{UNKNOWN}", "GET"),
        ("PATCH", "/v3/activities", "GET"),
        ("OPTIONS", "/v3/contact_tags", "GET"),
        ("BREW", "/v3/contact_tags", "GET"),
    ],
)
def test_wrong_method_gets_405(api: Api, method: str, path: str, allow: str) -> None:
    r = api.session.request(method, api.url(path), timeout=5)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == allow


def test_head_gets_405_without_a_body(emu: Emulator) -> None:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    conn.request("HEAD", "/v3/contacts")
    r = conn.getresponse()
    assert r.status == 405 and int(r.headers["Content-Length"]) > 0 and r.read() == b""
    conn.close()


@pytest.mark.parametrize(
    "path", ["/", "/v3", "/v2/contacts", "/v3/segments/x/y", "/v3/contacts/x/y"]
)
def test_unknown_path_gets_404(api: Api, path: str) -> None:
    assert_error(api.session.get(api.url(path), timeout=5), 404, "not_found")


def test_trailing_slash_is_the_same_endpoint(api: Api) -> None:
    assert api.get("/contact_tags/").status_code == 200


def test_huge_body_gets_413_and_the_server_keeps_serving(emu: Emulator, api: Api) -> None:
    r = api.session.post(
        api.url(REMOVE), data=b" " * (9 * 1024 * 1024), headers={"Content-Type": "application/json"}
    )
    assert_error(r, 413, "request_too_large")
    assert api.get("/contact_tags").status_code == 200


def test_chunked_body_is_read(api: Api, target: str, member: str) -> None:
    payload = json.dumps({"source": {"contact_ids": [member]}, "list_ids": [target]}).encode()
    r = api.session.post(
        api.url(REMOVE),
        data=iter([payload[:10], payload[10:]]),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201


def test_bad_content_length_gets_400(emu: Emulator) -> None:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    conn.putrequest("POST", REMOVE)
    conn.putheader("Content-Length", "lots")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 400 and json.loads(r.read())[0]["error_key"] == "bad_request"
    conn.close()


def test_garbage_request_line_gets_json_400(emu: Emulator) -> None:
    import socket

    with socket.create_connection((emu.host, emu.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.") and b" 400 " in head.split(b"\r\n")[0]
    assert json.loads(body)[0]["error_key"] == "bad_request"
