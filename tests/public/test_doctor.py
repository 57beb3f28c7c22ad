"""``ccpandas.doctor()`` over real HTTP: the emulator answers every assumption as
assumed, and a proxy that changes one shape at a time makes exactly that row differ."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from doctor_support import CHANGES, ShapeProxy, _lists, _on, jwt

import ccpandas
from ccpandas._secret import jwt_parts
from ccpandas.emulator import Emulator
from ccpandas.errors import ServerError
from ccpandas.read.assumptions import ASSUMPTIONS, MAX_SKEW, DoctorReport, Result

NAMES = [a.name for a in ASSUMPTIONS]
TOKEN_ROWS = [n for n in NAMES if n.startswith("token.")]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """Three lists, and one completed activity in the past 10 days."""
    with Emulator(seed=11, contacts=40, lists=3, rate=None, speed=1e6, start_delay=0.0) as e:
        with ccpandas.Client(token=e.token, base_url=e.base_url, rate=None) as api:
            # The contact doctor reads is on every list (its list_memberships are seen).
            contact = next(api.paginate("/contacts", "contacts", {"limit": 1}))
            body = {"source": {"contact_ids": [contact["contact_id"]]}}
            api.add_list_memberships({**body, "list_ids": e.account.list_ids()})
        e.wait_idle()
        yield e


@pytest.fixture
def run(emu: Emulator) -> Iterator[Callable[..., tuple[DoctorReport, list[Any]]]]:
    """Run ``doctor`` with ``token`` (issued at the emulator) through ``base_url``;
    returns the report and the requests the emulator logged meanwhile."""
    clients: list[ccpandas.Client] = []

    def go(token: str, base_url: str | None = None, **scopes: Any) -> tuple[DoctorReport, list]:
        emu.issue_token(token=token, **scopes)
        client = ccpandas.Client(token=token, base_url=base_url or emu.base_url, rate=None)
        clients.append(client)
        before = len(emu.account.request_log)
        report = ccpandas.doctor(client)
        return report, emu.account.request_log[before:]

    yield go
    for c in clients:
        c.close()


def results(report: DoctorReport) -> dict[str, str]:
    return {c.name: c.result.value for c in report.checks}


def test_every_row_as_assumed_on_the_emulator(run: Callable[..., Any]) -> None:
    report, log = run(jwt())
    assert results(report) == dict.fromkeys(NAMES, "as assumed"), str(report)
    assert report.ok and report.differs == []
    # Read-only and few: GETs only, every one counted in the report.
    assert {r.method for r in log} == {"GET"}
    assert len(log) == report.requests == 7 <= 12


def test_an_opaque_token_gives_not_seen_for_its_claims(run: Callable[..., Any]) -> None:
    report, _ = run("an-opaque-token-0123456789")
    got = results(report)
    assert {n: got[n] for n in TOKEN_ROWS} == dict.fromkeys(TOKEN_ROWS, "not seen")
    assert set(got.values()) - {"not seen"} == {"as assumed"}
    assert report.ok


def test_a_malformed_jwt_is_opaque_and_raises_nothing(run: Callable[..., Any]) -> None:
    report, _ = run("eyJ.not-base64-json.sig")
    assert {c.result for c in report.checks if c.name in TOKEN_ROWS} == {Result.NOT_SEEN}


def test_every_assumption_has_a_change() -> None:
    assert set(CHANGES) == set(NAMES)
    assert len(NAMES) == len(set(NAMES))


def test_a_token_change_is_made_when_the_test_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # token.lifetime's exp was fixed at collection; under load its test ran minutes later.
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    claims = jwt_parts(jwt(**CHANGES["token.lifetime"].token))[1]  # type: ignore[index]
    assert claims["exp"] - claims["iat"] == 7 * 86400


@pytest.mark.parametrize("name", NAMES)
def test_a_changed_shape_differs_in_its_row_only(
    name: str, emu: Emulator, run: Callable[..., Any]
) -> None:
    change = CHANGES[name]
    proxy = ShapeProxy(emu.url)
    try:
        if change.alter is not None:
            proxy.alter = change.alter(proxy.url)
        report, log = run(jwt(**change.token), base_url=f"{proxy.url}/v3")
    finally:
        proxy.close()
    got = results(report)
    assert [n for n, r in got.items() if r == "differs"] == [name], str(report)
    row = next(c for c in report.checks if c.name == name)
    assert row.seen  # says what it saw
    assert {m for m, _ in proxy.requests} == {"GET"} and len(proxy.requests) <= 12
    assert {r.method for r in log} == {"GET"}


def test_the_proxy_alone_changes_nothing(emu: Emulator, run: Callable[..., Any]) -> None:
    proxy = ShapeProxy(emu.url)
    try:
        report, _ = run(jwt(), base_url=f"{proxy.url}/v3")
    finally:
        proxy.close()
    assert report.ok and set(results(report).values()) == {"as assumed"}, str(report)


def test_what_differs_is_said_in_shapes(emu: Emulator, run: Callable[..., Any]) -> None:
    proxy = ShapeProxy(emu.url, CHANGES["values.timestamps"].alter(""))  # type: ignore[misc]
    try:
        report, _ = run(jwt(aud="https://api.example.invalid/v2"), base_url=f"{proxy.url}/v3")
    finally:
        proxy.close()
    seen = {c.name: c.seen for c in report.checks}
    assert seen["values.timestamps"] == "created_at is 'dddd-dd-ddTdd:dd:dd.dddZ'"
    assert seen["token.audience"] == "aud 'https://api.example.invalid/v2'"
    assert report.differs == ["token.audience", "values.timestamps"]


def test_a_token_without_the_scope_makes_reads_differ(run: Callable[..., Any]) -> None:
    report, _ = run("opaque-no-scope", scopes={"offline_access"})
    seen = {c.name: c.seen for c in report.checks if c.result is Result.DIFFERS}
    assert seen["lists.page"] == (
        "GET /v3/contact_lists?limit=1&include_membership_count=all answered HTTP 403 "
        "('forbidden'), not 200"
    )
    assert {"contacts.page", "activities.page", "errors.array"} <= set(seen)
    assert not report.ok


def test_a_refused_token_raises(emu: Emulator) -> None:
    client = ccpandas.Client(token="never-issued", base_url=emu.base_url, rate=None)
    with client, pytest.raises(ccpandas.AuthError):
        ccpandas.doctor(client)


def test_one_list_leaves_the_next_page_unseen() -> None:
    with Emulator(seed=2, contacts=5, lists=1, rate=None) as e:
        e.issue_token(token=(token := jwt()))
        with ccpandas.Client(token=token, base_url=e.base_url, rate=None) as client:
            report = ccpandas.doctor(client)
    got = results(report)
    assert got["paging.next_link"] == got["paging.cursor_page_size"] == "not seen"
    assert got["paging.last_page"] == "as assumed"  # the one page is the last
    assert got["activities.fields"] == got["activities.states"] == "not seen"  # none yet
    assert report.requests == 5 and report.ok


@pytest.mark.parametrize(
    ("links", "seen"),
    [
        ("/v3/contact_lists?cursor=YQ==", '_links is a string, not an object {"next": ...}'),
        ({"next": ["/v3/contact_lists?cursor=YQ=="]}, "_links.next is a list, not an object"),
        ({"next": {"href": ""}}, 'an empty href (""): the readers take it for the last page'),
    ],
)
def test_a_next_link_the_readers_stop_at_differs(
    links: Any, seen: str, emu: Emulator, run: Callable[..., Any]
) -> None:
    # The readers refuse the first two (an error, not a last page) and end at the
    # third: none is the spec's next link (an object whose href is a path, or absent
    # or null on the last page), and 3 lists make a next page: the row differs.
    first = lambda p, q, s, b: _lists(p, q, s, b) and "include_membership" in q  # noqa: E731
    proxy = ShapeProxy(emu.url, _on(first, lambda body, headers: {**body, "_links": links}))
    try:
        report, _ = run(jwt(), base_url=f"{proxy.url}/v3")
    finally:
        proxy.close()
    row = next(c for c in report.checks if c.name == "paging.next_link")
    assert row.result is Result.DIFFERS and row.seen.startswith(seen), str(report)
    assert "paging.last_page" in report.differs  # a page with that _links is not the last


def test_client_none_is_the_default_client(emu: Emulator) -> None:
    token = emu.issue_token(token=jwt())
    old = ccpandas.set_default_client(
        ccpandas.Client(token=token, base_url=emu.base_url, rate=None)
    )
    try:
        assert ccpandas.doctor().ok
    finally:
        ccpandas.set_default_client(old)


def test_the_report_holds_no_value_of_the_account(
    emu: Emulator, run: Callable[..., Any], tmp_path: Path
) -> None:
    token = jwt()
    report, _ = run(token)
    path = report.write_report(tmp_path / "doctor.json")
    text = path.read_text()
    secrets = _account_values(emu) | set(token.split(".")) | {token}
    leaked = {s for s in secrets if s.lower() in text.lower()}
    assert leaked == set()
    for shown in (str(report), repr(report), report.to_frame().to_string()):
        assert {s for s in secrets if s.lower() in shown.lower()} == set()
    body = json.loads(text)
    assert body["token"]["form"] == "JWT"
    assert body["token"]["claims"]["aud"] == "url" and body["token"]["claims"]["exp"] == "int"
    assert body["answers"]["contacts"]["body"]["contacts"][0]["email_address"]["address"] == (
        "email-like string"
    )
    assert body["answers"]["not_found"]["request"] == "GET /v3/contacts/{random id}"
    assert [c["name"] for c in body["checks"]] == NAMES


def _account_values(emu: Emulator) -> set[str]:
    """Every id, address, name and list name of the account, and the token."""
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as api:
        lists = ccpandas.read_contact_lists(api)
        contacts = ccpandas.read_contacts(api, include="list_memberships")
        activities = list(api.iter_activities())
    values = set(lists["list_id"]) | set(lists["name"]) | set(contacts["contact_id"])
    values |= set(contacts["email"]) | {a["activity_id"] for a in activities}
    values |= {v for v in contacts["first_name"].dropna()} | set(contacts["last_name"].dropna())
    values |= {v.split("@")[0] for v in contacts["email"]}
    return {str(v) for v in values if v and len(str(v)) >= 4} | {emu.token}


def test_the_clock_check_allows_the_date_headers_rounding() -> None:
    from ccpandas.read.assumptions import Answer, _skew

    def answer(date: str, received: float) -> Answer:
        return Answer("GET /x", 200, {}, {"date": date}, received=received, elapsed=0.2)

    stamp = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    date = "Tue, 14 Nov 2023 22:13:20 GMT"
    assert _skew([answer(date, stamp + 0.9)]) is None
    # The server's time is taken as Date + 0.5 s, half-way through the request.
    assert _skew([answer(date, stamp + MAX_SKEW + 0.5)]) is None  # 4.9 s
    assert _skew([answer(date, stamp + MAX_SKEW + 2)]) == (
        "the server's clock is 6 s behind this machine's"  # 6.4 s
    )
    assert _skew([answer(date, stamp - MAX_SKEW)]) == (
        "the server's clock is 6 s ahead of this machine's"  # 5.6 s
    )
    assert _skew([Answer("GET /x", 200, {}, {})]) is Result.NOT_SEEN


@pytest.mark.parametrize(
    ("settings", "differs"),
    [
        ({"error_shape": "array"}, ["errors.namespaced_key", "errors.gateway_401"]),
        ({"timestamps": "milliseconds"}, ["values.timestamps"]),
        ({"last_page_links": "absent"}, ["paging.last_page"]),
    ],
)
def test_the_emulators_previous_shapes_differ(settings: dict, differs: list[str]) -> None:
    with Emulator(seed=4, contacts=10, lists=3, rate=None, **settings) as e:
        token = e.issue_token(token=jwt())
        with ccpandas.Client(token=token, base_url=e.base_url, rate=None) as client:
            assert ccpandas.doctor(client).differs == differs


@pytest.mark.parametrize(("tokens", "result"), [("jwt", "as assumed"), ("opaque", "not seen")])
def test_a_login_through_the_emulators_oauth_server(
    tokens: str, result: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The login is saved in a folder of the test's own: left in the worker's, it was a
    # saved login to an emulator gone by the next test (a "no client" test then failed).
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(tmp_path))
    # device_interval=0: the device flow polls at once instead of after the default 5 s
    emulated = {"auto_approve": True, "device_interval": 0, "access_tokens": tokens}
    with Emulator(seed=4, contacts=10, lists=3, **emulated) as e:
        client = ccpandas.login(
            client_id="practice", auth_url=e.auth_url, base_url=e.base_url, set_default=False
        )
        with client:
            report = ccpandas.doctor(client)
    assert {c.name: c.result.value for c in report.checks if c.name in TOKEN_ROWS} == (
        dict.fromkeys(TOKEN_ROWS, result)
    )
    assert report.ok


def test_what_was_seen_never_quotes_a_value_of_the_account() -> None:
    from ccpandas.read.assumptions import _timestamp_form, _word

    assert _timestamp_form("2024-10-30T18:56:35.5+00:00") == "is 'dddd-dd-ddTdd:dd:dd.d+dd:dd'"
    assert _timestamp_form("Ann Lee") == "is 'xxx xxx'"  # not a timestamp: its form only
    assert _word("contacts.api.not_found") == "'contacts.api.not_found'"  # an API word
    assert _word("ann@example.com") == "email-like string"
    assert _word("Ann Lee") == "string"
    assert _word("8b54d1f4-5b0e-11ee-8c99-0242ac120002") == "uuid-v1"


@pytest.mark.parametrize(
    ("settings", "fail"),
    [
        ({"activity_shape": "sparse", "start_delay": 1000.0}, False),  # initialized: sparse
        ({"activity_shape": "sparse"}, False),  # completed: no _links
        ({"activity_errors": "objects"}, True),  # failed: {"message": ...} errors
        ({"activity_errors": "strings"}, True),
    ],
)
def test_every_variant_of_the_real_activities_is_as_assumed(settings: dict, fail: bool) -> None:
    kwargs = {"seed": 4, "contacts": 10, "lists": 3, "rate": None, "speed": 1e6, **settings}
    with Emulator(**kwargs) as e:
        token = e.issue_token(token=jwt())
        with ccpandas.Client(token=token, base_url=e.base_url, rate=None) as client:
            if fail:
                e.fail_next()
            contact = next(client.paginate("/contacts", "contacts", {"limit": 1}))
            body = {"source": {"contact_ids": [contact["contact_id"]]}}
            client.add_list_memberships({**body, "list_ids": e.account.list_ids()})
            if settings.get("start_delay") is None:
                e.wait_idle()
            activity = next(client.iter_activities())
            report = ccpandas.doctor(client)
    assert bool(activity["activity_errors"]) is fail
    if fail:  # the errors' shape as the setting says
        objects = settings["activity_errors"] == "objects"
        assert isinstance(activity["activity_errors"][0], dict) is objects
    assert report.ok and set(results(report).values()) == {"as assumed"}, str(report)


def test_a_client_that_is_not_one_is_refused_before_any_request(emu: Emulator) -> None:
    with pytest.raises(
        TypeError, match=r"client must be a ccpandas\.Client \(or None.*\), not a str"
    ):
        ccpandas.doctor(emu.base_url)  # type: ignore[arg-type]
    assert emu.account.request_log[-1].method == "POST"  # the fixture's activity, no more


def test_the_table_in_a_notebook_and_as_a_frame(run: Callable[..., Any]) -> None:
    report, _ = run(jwt(aud="https://api.example.invalid/v2"))
    frame = report.to_frame()
    assert frame.columns.tolist() == ["name", "result", "assumes", "seen"]
    assert frame.set_index("name").loc["token.audience", "result"] == "differs"
    html = report._repr_html_()
    assert html.count("<tr>") == len(NAMES) and "aud 'https://api.example.invalid/v2'" in html
    assert repr(report) == "<DoctorReport 25 checks, differs: ['token.audience']>"


@pytest.mark.parametrize(
    ("claims", "row", "seen"),
    [
        ({"exp": dt.timedelta(hours=-2)}, "token.lifetime", "expired 2.0 h ago"),
        ({"exp": None}, "token.lifetime", "no exp claim"),
        ({"scp": None, "scope": "contact_data offline_access"}, "token.scopes", ""),
        ({"scp": None}, "token.scopes", "no scp or scope claim"),
        ({"aud": ["https://api.cc.email/v3", "other"]}, "token.audience", ""),
    ],
)
def test_token_claims_in_their_other_forms(
    run: Callable[..., Any], claims: dict, row: str, seen: str
) -> None:
    report, _ = run(jwt(**claims))
    check = next(c for c in report.checks if c.name == row)
    assert (check.result.value, check.seen) == ("differs" if seen else "as assumed", seen)
    assert report.differs == ([row] if seen else [])


def test_the_clock_check_sees_an_emulator_whose_clock_is_hours_away() -> None:
    # The emulator's Date header is its clock's time, as a server's is: doctor tells a
    # server clock two hours ahead, which decides when the daily quota resets.
    from ccpandas.emulator import OffsetClock

    clock = OffsetClock()
    clock.advance(hours=2)
    with (
        Emulator(seed=3, contacts=5, lists=2, rate=None, clock=clock) as emu,
        ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as client,
    ):
        report = ccpandas.doctor(client)
    row = next(c for c in report.checks if c.name == "clock.skew")
    assert row.result is Result.DIFFERS
    assert row.seen.startswith("the server's clock is 7,2") and "ahead of" in row.seen


def test_a_failing_api_raises_instead_of_differing(emu: Emulator) -> None:
    # A 5xx after the client's retries says nothing of the API's shapes: an outage, not
    # 13 assumptions that differ (exit 1) in a report to attach to a bug.
    emu.configure(error_rate=1.0)
    before = len(emu.account.request_log)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None, max_attempts=1)
    with client, pytest.raises(ServerError, match=r"GET /v3/contact_lists"):
        ccpandas.doctor(client)
    assert len(emu.account.request_log) - before == 1  # nothing more once it failed
