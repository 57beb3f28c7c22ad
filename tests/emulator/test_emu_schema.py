"""Every emulator response body validates against the official V3 Swagger schemas.

The spec lives outside the repository (``../shared/reference``) and is never copied
in; without it this module skips. ``$ref`` is resolved into ``definitions``, the
documented ``maxItems: 0`` defect is stripped, and objects are closed
(``additionalProperties: false``) so the emulator cannot invent fields either.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")

from emu_support import FAST, SPEC, Api  # noqa: E402

from ccpandas.emulator import Emulator, ManualClock  # noqa: E402

if not SPEC.is_file():
    pytest.skip(
        f"the Constant Contact V3 spec is not at {SPEC.resolve()} (it is kept beside the "
        "repository, not in it)",
        allow_module_level=True,
    )


def _strip_defect_and_close(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _strip_defect_and_close(v) for k, v in node.items()}
        if node.get("maxItems") == 0:
            del node["maxItems"]
        if "properties" in node and node.get("type", "object") == "object":
            node.setdefault("additionalProperties", False)
        return node
    if isinstance(node, list):
        return [_strip_defect_and_close(v) for v in node]
    return node


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC.open("rb") as fh:
        raw = yaml.load(fh, Loader=loader)
    raw["definitions"] = _strip_defect_and_close(raw["definitions"])
    return raw


class Checker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.checked: set[str] = set()

    def schema_for(self, method: str, path: str, status: int) -> dict[str, Any]:
        response = self.spec["paths"][path][method.lower()]["responses"][str(status)]
        return _strip_defect_and_close(copy.deepcopy(response["schema"]))

    def validate(self, schema: dict[str, Any], body: Any, what: str) -> None:
        root = {**schema, "definitions": self.spec["definitions"]}
        # formats are checked too: uuid, date, and date-time where rfc3339-validator exists
        validator = jsonschema.Draft4Validator(root, format_checker=jsonschema.FormatChecker())
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, f"{what}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
        )
        self.checked.add(what)

    def response(self, r, method: str, path: str) -> Any:
        body = r.json()
        if r.status_code >= 400:
            self.validate({"$ref": "#/definitions/APIErrorSchema"}, body, f"error {r.status_code}")
        else:
            self.validate(self.schema_for(method, path, r.status_code), body, f"{method} {path}")
        return body


@pytest.fixture
def checker(spec: dict[str, Any]) -> Checker:
    return Checker(spec)


def test_read_endpoints_match_the_spec(checker: Checker) -> None:
    with Emulator(seed=1, **FAST) as emu:
        api = Api(emu)
        for query in [
            "",
            "?include_count=true&include_membership_count=all&limit=2",
            "?status=all",
        ]:
            checker.response(api.get(f"/contact_lists{query}"), "GET", "/contact_lists")
        list_id = emu.account.list_ids()[0]
        r = api.get(f"/contact_lists/{list_id}?include_membership_count=active")
        checker.response(r, "GET", "/contact_lists/{list_id}")
        emu.account.delete_list(emu.account.list_ids()[-1])
        checker.response(api.get("/contact_lists?status=deleted"), "GET", "/contact_lists")
        for query in ["", "?include_count=true&limit=2"]:
            checker.response(api.get(f"/contact_tags{query}"), "GET", "/contact_tags")
        everything = "list_memberships,taggings,custom_fields,phone_numbers,street_addresses,notes"
        for query in ["", f"?include={everything}&include_count=true&status=all&limit=500"]:
            checker.response(api.get(f"/contacts{query}"), "GET", "/contacts")
        for status in ("active", "unsubscribed", "deleted"):
            cid = emu.account.contact_ids(status=status)[0]
            r = api.get(f"/contacts/{cid}?include=list_memberships,taggings")
            checker.response(r, "GET", "/contacts/{contact_id}")
        api.close()
    assert len(checker.checked) == 5


def test_activity_bodies_match_the_spec_in_every_state(checker: Checker) -> None:
    clock = ManualClock(dt.datetime(2025, 5, 5, tzinfo=dt.UTC))
    with Emulator(seed=1, speed=10, start_delay=1, rate=None, clock=clock) as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        members = sorted(emu.account.members(target))
        body = {"source": {"contact_ids": members[:20]}, "list_ids": [target]}
        checker.validate({"$ref": "#/definitions/ListActivityRemoveContacts"}, body, "request body")
        path = "/activities/remove_list_memberships"
        created = checker.response(api.remove(body), "POST", path)
        emu.fail_next(1, "failed", at=0.5)
        failing = api.add({"source": {"contact_ids": members[:4]}, "list_ids": [target]})
        checker.response(failing, "POST", "/activities/add_list_memberships")
        aid = created["activity_id"]
        for step in (0, 1.5, 30):  # initialized, processing, completed / failed
            clock.advance(step)
            one = checker.response(
                api.get(f"/activities/{aid}"), "GET", "/activities/{activity_id}"
            )
            checker.response(api.get("/activities?limit=500"), "GET", "/activities")
        assert one["state"] == "completed"
        states = {a["state"] for a in api.get("/activities").json()["activities"]}
        assert states == {"completed", "failed"}
        paged = api.get("/activities?limit=1").json()
        checker.validate(checker.schema_for("GET", "/activities", 200), paged, "paged activities")
        api.close()


def test_error_bodies_match_the_spec(checker: Checker) -> None:
    # The spec's error body is an array: the "array" shape. The gateway's objects of the
    # default "real" shape are not in the spec (test_emu_shapes checks them).
    with Emulator(seed=1, rate=1, daily_quota=None, speed=1e9, error_shape="array") as emu:
        api = Api(emu)
        target = emu.account.list_ids()[0]
        bad = [
            api.get("/contacts/00000000-0000-4000-8000-000000000000"),  # 404
            api.remove({"source": {}, "list_ids": [target]}),  # 400 (throttled: checked below)
        ]
        emu.configure(rate=None)
        bad += [
            api.remove({"source": {}, "list_ids": [target]}),  # 400
            api.session.post(api.url("/v3/activities/remove_list_memberships"), data=b"x"),  # 415
            api.session.delete(api.url("/v3/contacts")),  # 405
            Api(emu, token="wrong").get("/contacts"),  # 401
        ]
        emu.configure(error_rate=1.0)
        bad.append(api.get("/contact_tags"))  # 500 / 503
        statuses = set()
        for r in bad:
            checker.response(r, "GET", "-")
            statuses.add(r.status_code)
        assert {400, 401, 404, 405, 415, 429} <= statuses
        api.close()


def test_snapshot_undo_and_polling_bodies_match_the_spec(checker: Checker) -> None:
    with Emulator(seed=2, contacts=700, lists=8, **FAST) as emu:
        api = Api(emu)
        acct = emu.account
        lists = acct.list_ids()
        acct.set_contact_status(sorted(acct.members(lists[0]))[0], "unsubscribed")
        acct.delete_contact(sorted(acct.members(lists[1]))[0])
        query = f"?lists={','.join(lists)}&include=list_memberships,taggings&status=all&limit=500"
        href: str | None = f"/contacts{query}"
        while href:
            body = checker.response(api.get(href), "GET", "/contacts")
            href = body.get("_links", {}).get("next", {}).get("href")
        full = lists[2:4]
        cids = sorted(acct.members(lists[0]))[:3]
        emu.keep_members([(cids[0], lists[0])])
        removed = api.remove({"source": {"contact_ids": cids}, "list_ids": [lists[0]]})
        checker.response(removed, "POST", "/activities/remove_list_memberships")
        gone = sorted(acct.contact_ids("deleted"))[0]
        undo = api.add({"source": {"contact_ids": [*cids, gone]}, "list_ids": full})
        checker.response(undo, "POST", "/activities/add_list_memberships")
        emu.wait_idle(10)
        done = api.get(f"/activities/{undo.json()['activity_id']}")
        assert checker.response(done, "GET", "/activities/{activity_id}")["activity_errors"]
        for query in ("", "?state=completed&limit=1"):
            checker.response(api.get(f"/activities{query}"), "GET", "/activities")
        api.close()


def test_segment_bodies_match_the_spec(checker: Checker) -> None:
    with Emulator(seed=3, contacts=60, segments=3, **FAST) as emu:
        api = Api(emu)
        for query in ("", "?sort_by=name", "?limit=2"):
            checker.response(api.get(f"/segments{query}"), "GET", "/segments")
        checker.response(api.get("/contacts?segment_id=1&limit=3"), "GET", "/contacts")
        dates = "optout_after=2021-01-01T00:00:00Z&created_before=2024-12-31&status=all"
        checker.response(api.get(f"/contacts?{dates}"), "GET", "/contacts")
        api.close()
    assert checker.checked == {"GET /segments", "GET /contacts"}
