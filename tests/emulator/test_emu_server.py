"""The server itself: loopback only, life cycle, keep-alive, concurrency, robustness,
the seeded account, the CLI and the pytest fixture."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading

import pytest
import requests
from emu_support import FAST, Api, assert_error

from ccpandas.emulator import Emulator, routes
from ccpandas.emulator import __main__ as cli
from ccpandas.emulator.replies import Reply
from ccpandas.emulator.tokens import default_token

LINE = re.compile(r"^ccpandas emulator listening on (http://127\.0\.0\.1:(\d+)/v3) token=(\S+)$")


# -- binding and life cycle ----------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", ""])
def test_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host=host)


def test_binds_ipv6_loopback_when_asked() -> None:
    try:
        emu = Emulator(host="::1", **FAST).start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert emu.base_url.startswith("http://[::1]:")
        r = requests.get(emu.base_url + "/contact_tags", headers=emu.headers(), timeout=5)
        assert r.status_code == 200
    finally:
        emu.stop()


def test_start_stop_are_idempotent_and_restartable() -> None:
    emu = Emulator(seed=1, **FAST)
    with pytest.raises(RuntimeError):
        _ = emu.base_url
    emu.start()
    emu.start()
    url = emu.base_url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v3")
    emu.stop()
    emu.stop()
    assert not emu.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/contact_tags", timeout=2)
    with emu:  # again, on a fresh port, with the same account
        assert requests.get(emu.base_url + "/contact_tags", headers=emu.headers(), timeout=5).ok


def test_stop_closes_idle_keep_alive_connections() -> None:
    emu = Emulator(seed=1, **FAST).start()
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    conn.request("GET", "/v3/contact_tags", headers=emu.headers())
    assert conn.getresponse().read()
    emu.stop()
    with pytest.raises((http.client.HTTPException, OSError)):
        conn.request("GET", "/v3/contact_tags", headers=emu.headers())
        conn.getresponse()
    conn.close()


def test_keep_alive_serves_many_requests_on_one_connection(emu: Emulator) -> None:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=5)
    conn.connect()
    local = conn.sock.getsockname()
    target = emu.account.list_ids()[0]
    for i in range(20):
        if i % 2:
            body = json.dumps({"source": {"engagement_level": "low"}, "list_ids": [target]})
            conn.request(
                "POST", "/v3/activities/remove_list_memberships", body=body, headers=emu.headers()
            )
            expected = 201
        else:
            conn.request("GET", "/v3/contacts?limit=3", headers=emu.headers())
            expected = 200
        r = conn.getresponse()
        payload = r.read()
        assert r.status == expected
        assert int(r.headers["Content-Length"]) == len(payload)
        json.loads(payload)
        assert conn.sock is not None and conn.sock.getsockname() == local  # same connection
    conn.close()


def test_repr_never_shows_the_token(emu: Emulator) -> None:
    for text in (
        repr(emu),
        str(emu),
        repr(emu.account),
        repr(emu.account.tokens),
        repr(emu.settings),
    ):
        assert emu.token not in text


def test_token_defaults_from_seed_or_is_given() -> None:
    assert Emulator(seed=3, contacts=1).token == default_token(3) != default_token(4)
    assert Emulator(seed=3, contacts=1, token="my-token").token == "my-token"


# -- robustness ------------------------------------------------------------------------------


def test_concurrent_clients_are_served_consistently() -> None:
    with Emulator(seed=2, contacts=500, **FAST) as emu:
        lists = emu.account.list_ids()
        target = lists[0]
        members = sorted(emu.account.members(target))
        chunks = [members[i::8] for i in range(8)]
        errors: list[BaseException] = []

        def client(chunk: list[str]) -> None:
            try:
                api = Api(emu)
                for _ in range(5):
                    assert api.get("/contacts?limit=50").status_code == 200
                    assert api.get("/activities?limit=10").status_code == 200
                r = api.remove({"source": {"contact_ids": chunk}, "list_ids": [target]})
                assert r.status_code == 201
                r = api.add({"source": {"contact_ids": chunk[:1]}, "list_ids": [lists[3]]})
                assert r.status_code == 201
                api.close()
            except BaseException as exc:  # reported in the main thread
                errors.append(exc)

        before = emu.account.memberships()
        threads = [threading.Thread(target=client, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        emu.wait_idle(10)
        after = emu.account.memberships()
        assert after[target] == set()
        assert after[lists[3]] == before[lists[3]] | {c[0] for c in chunks}
        assert all(after[lst] == before[lst] for lst in lists[1:] if lst != lists[3])
        assert emu.account.count(status=201) == 16
        assert emu.account.count(method="GET", status=200) == 80


def test_an_internal_error_answers_500_and_the_server_keeps_serving(
    emu: Emulator, api: Api
) -> None:
    def broken(ctx: routes.Context) -> Reply:
        raise RuntimeError("a bug in a handler")

    standard = emu.pipeline.routes
    emu.pipeline.routes = routes.RouteTable(
        tuple(
            routes.Route(r.method, r.template, broken) if r.template == "/v3/contact_tags" else r
            for r in routes.ROUTES
        )
    )
    assert_error(api.get("/contact_tags"), 500, "internal_error")
    assert api.get("/contact_lists").status_code == 200
    emu.pipeline.routes = standard
    assert api.get("/contact_tags").status_code == 200
    assert emu.account.request_counts[("GET", "/v3/contact_tags", 500)] == 1


def test_extra_routes_can_be_served_with_or_without_a_token(emu: Emulator) -> None:
    def hello(ctx: routes.Context) -> Reply:
        return Reply(200, {"hello": ctx.query.get("name"), "ua": ctx.headers.get("user-agent")})

    emu.pipeline.routes = routes.RouteTable(
        (*routes.ROUTES, routes.Route("GET", "/oauth2/hello", hello, scope=None))
    )
    r = requests.get(emu.url + "/oauth2/hello?name=x", headers={"User-Agent": "t"}, timeout=5)
    assert r.json() == {"hello": "x", "ua": "t"}  # public: no bearer token needed
    assert emu.account.request_counts[("GET", "/oauth2/hello", 200)] == 1


def test_request_counts_by_route_template_and_status(emu: Emulator, api: Api) -> None:
    cid = emu.account.contact_ids()[0]
    api.get(f"/contacts/{cid}")
    api.get("/contacts/00000000-0000-4000-8000-000000000000")
    api.get("/nowhere")
    counts = emu.account.request_counts
    assert counts[("GET", "/v3/contacts/{contact_id}", 200)] == 1
    assert counts[("GET", "/v3/contacts/{contact_id}", 404)] == 1
    assert counts[("GET", "<unknown>", 404)] == 1
    assert emu.account.count(route="/v3/contacts/{contact_id}") == 2
    assert [r.status for r in emu.account.request_log] == [200, 404, 404]


# -- the seeded account ---------------------------------------------------------------------


def test_same_seed_same_account_different_seed_different_account() -> None:
    a, b, c = (Emulator(seed=s, contacts=100, lists=4) for s in (7, 7, 8))
    assert a.account.contact_ids() == b.account.contact_ids() != c.account.contact_ids()
    assert a.account.memberships() == b.account.memberships()
    assert [x.email for x in a.account.contacts.values()] == [
        x.email for x in b.account.contacts.values()
    ]


def test_seeded_account_is_realistic() -> None:
    acct = Emulator(seed=1, contacts=2000, lists=8, tags=5).account
    statuses = {c.status for c in acct.contacts.values()}
    assert {"active", "unsubscribed", "deleted"} <= statuses
    assert {c.engagement_level for c in acct.contacts.values()} == {
        "unqualified",
        "low",
        "medium",
        "high",
    }
    sizes = sorted(len(m) for m in acct.memberships().values())
    assert sizes[0] < sizes[-1] / 1.5  # sizes vary
    a, b = acct.list_ids()[:2]
    assert acct.members(a) & acct.members(b)  # lists overlap
    assert all(
        acct.contact(cid).status != "deleted" for m in acct.memberships().values() for cid in m
    )
    assert len({c.email for c in acct.contacts.values()}) == 2000


def test_a_hundred_thousand_contacts() -> None:
    with Emulator(seed=1, contacts=100_000, **FAST) as emu:
        api = Api(emu)
        body = api.get("/contacts?limit=500&include_count=true").json()
        assert len(body["contacts"]) == 500 and body["contacts_count"] > 90_000
        target = emu.account.list_ids()[0]
        members = emu.account.members(target)
        r = api.remove({"source": {"list_ids": [target]}, "list_ids": [target]})
        assert r.json()["status"]["items_total_count"] == len(members) > 10_000
        emu.wait_idle(30)
        assert emu.account.members(target) == set()
        api.close()


# -- the command line -------------------------------------------------------------------------


def _start_cli(*args: str) -> tuple[subprocess.Popen[str], str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ccpandas.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "0"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().rstrip("\n")
    match = LINE.match(line)
    if not match:
        proc.kill()
        raise AssertionError(
            f"unexpected first line {line!r}: {proc.stderr.read() if proc.stderr else ''}"
        )
    return proc, match.group(1), match.group(3)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_prints_one_line_serves_and_exits_cleanly(sig: signal.Signals) -> None:
    proc, base_url, token = _start_cli(
        "--seed", "4", "--contacts", "30", "--lists", "2", "--rate", "0"
    )
    try:
        assert token == default_token(4)
        r = requests.get(
            base_url + "/contact_lists", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert r.status_code == 200 and len(r.json()["lists"]) == 2
        body = requests.get(
            base_url + "/contacts?limit=500",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert len(body.json()["contacts"]) <= 30
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line, already read


def test_cli_flags_reach_the_settings() -> None:
    proc, base_url, token = _start_cli("--token", "tok-123", "--error-rate", "1", "--rate", "0")
    try:
        assert token == "tok-123"
        r = requests.get(
            base_url + "/contact_tags", headers={"Authorization": "Bearer tok-123"}, timeout=5
        )
        assert r.status_code in (500, 503)
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_cli_refuses_a_public_host_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ccpandas.emulator", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stdout == "" and "loopback" in done.stderr


@pytest.mark.parametrize(
    "args", [["--error-rate", "2"], ["--rate-algorithm", "magic"], ["--speed", "-1"], ["--x"]]
)
def test_cli_refuses_bad_arguments(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "error:" in err


# -- the pytest fixture shipped in ccpandas.emulator.pytest_plugin ----------------------------


def test_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.hasplugin("ccpandas")


def test_cc_emulator_fixture(cc_emulator: Emulator) -> None:
    assert cc_emulator.running and cc_emulator.settings.rate == 4
    r = requests.get(
        cc_emulator.base_url + "/contact_lists", headers=cc_emulator.headers(), timeout=5
    )
    assert len(r.json()["lists"]) == 6


@pytest.mark.cc_emulator(contacts=20, lists=2, rate=None, error_rate=1.0)
def test_cc_emulator_marker_configures_it(cc_emulator: Emulator) -> None:
    assert len(cc_emulator.account.contacts) == 20 and cc_emulator.settings.rate is None
    r = requests.get(
        cc_emulator.base_url + "/contact_lists", headers=cc_emulator.headers(), timeout=5
    )
    assert r.status_code in (500, 503)


def test_cc_emulator_factory_starts_several(cc_emulator_factory) -> None:
    one, two = cc_emulator_factory(seed=1), cc_emulator_factory(seed=2)
    assert one.port != two.port and one.token != two.token
    assert one.account.contact_ids() != two.account.contact_ids()
