"""The emulator's authorization server over raw HTTP: device flow, PKCE, refresh
rotation, expiry on the emulator's clock, scopes, the token endpoint's limit."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import urllib.parse

import pytest
import requests
from auth_support import CLIENT_ID

from ccpandas.emulator import ManualClock
from ccpandas.emulator import __main__ as cli
from ccpandas.emulator.oauth import DEVICE_GRANT


def token(emu, **form) -> requests.Response:
    return requests.post(f"{emu.auth_url}/token", data={"client_id": CLIENT_ID, **form}, timeout=5)


def device_start(emu, scope: str = "contact_data offline_access") -> dict:
    r = requests.post(
        f"{emu.auth_url}/device/authorize", data={"client_id": CLIENT_ID, "scope": scope}, timeout=5
    )
    assert r.status_code == 200, r.text
    return r.json()


def poll(emu, device: dict) -> requests.Response:
    return token(emu, grant_type=DEVICE_GRANT, device_code=device["device_code"])


def api_get(emu, access: str) -> requests.Response:
    return requests.get(
        f"{emu.base_url}/contact_lists", headers={"Authorization": f"Bearer {access}"}, timeout=5
    )


def test_device_flow_over_http(auth_emu) -> None:
    emu = auth_emu(device_interval=0)
    device = device_start(emu)
    assert set(device) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert device["verification_uri"].startswith(emu.auth_url)
    assert emu.oauth.pending_user_codes() == [device["user_code"]]
    r = poll(emu, device)
    assert (r.status_code, r.json()["error"]) == (400, "authorization_pending")
    assert r.headers["Cache-Control"] == "no-store"
    page = requests.get(device["verification_uri_complete"], timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert device["user_code"] in page.text
    approve = requests.post(
        device["verification_uri"],
        data={"user_code": device["user_code"].lower().replace("-", ""), "decision": "approve"},
        timeout=5,
    )
    assert approve.status_code == 200 and "Device connected" in approve.text
    body = poll(emu, device).json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert set(body["scope"].split()) == {"contact_data", "offline_access"}
    assert api_get(emu, body["access_token"]).status_code == 200
    again = poll(emu, device)  # a device code is used once
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_device_flow_denied_slow_down_and_expired(auth_emu) -> None:
    clock = ManualClock(dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    emu = auth_emu(clock=clock, device_interval=5, device_code_lifetime=60)
    denied = device_start(emu)
    assert poll(emu, denied).json()["error"] == "authorization_pending"
    assert poll(emu, denied).json()["error"] == "slow_down"  # the clock did not move
    clock.advance(5)
    emu.oauth.deny(denied["user_code"])
    assert poll(emu, denied).json()["error"] == "access_denied"

    late = device_start(emu)
    clock.advance(61)
    assert poll(emu, late).json()["error"] == "expired_token"
    assert emu.oauth.pending_user_codes() == []
    with pytest.raises(ValueError, match="unknown or has expired"):
        emu.oauth.approve(late["user_code"])


def pkce_pair() -> tuple[str, str]:
    verifier = "v" * 43 + "erifier"
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize(emu, redirect: str, challenge: str, **extra) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect,
        "scope": "contact_data offline_access",
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return requests.get(
        f"{emu.auth_url}/authorize", params=params, timeout=5, allow_redirects=False
    )


def test_authorization_code_with_pkce_over_http(auth_emu) -> None:
    emu = auth_emu()
    verifier, challenge = pkce_pair()
    redirect = "http://127.0.0.1:5999/callback"
    page = authorize(emu, redirect, challenge)
    assert page.status_code == 200 and "Allow access?" in page.text
    request_id = page.text.split("name='request_id' value='")[1].split("'")[0]
    answer = requests.post(
        f"{emu.auth_url}/authorize",
        data={"request_id": request_id, "decision": "approve"},
        timeout=5,
        allow_redirects=False,
    )
    assert answer.status_code == 302
    location = urllib.parse.urlsplit(answer.headers["Location"])
    query = dict(urllib.parse.parse_qsl(location.query))
    assert location.netloc == "127.0.0.1:5999" and query["state"] == "s-1"
    wrong = token(
        emu,
        grant_type="authorization_code",
        code=query["code"],
        redirect_uri=redirect,
        code_verifier="w" * 50,
    )
    assert wrong.json()["error"] == "invalid_grant"  # and the code is spent
    emu.configure(auto_approve=True)
    direct = authorize(emu, redirect, challenge)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(direct.headers["Location"]).query))
    good = token(
        emu,
        grant_type="authorization_code",
        code=code["code"],
        redirect_uri=redirect,
        code_verifier=verifier,
    )
    assert good.status_code == 200 and api_get(emu, good.json()["access_token"]).status_code == 200


def test_authorize_refuses_bad_redirects_and_plain_pkce(auth_emu) -> None:
    emu = auth_emu(auto_approve=True)
    _, challenge = pkce_pair()
    bad = authorize(emu, "http://example.com/callback", challenge)
    assert bad.status_code == 400 and "loopback" in bad.text  # never redirected elsewhere
    plain = authorize(emu, "http://127.0.0.1:5999/cb", challenge, code_challenge_method="plain")
    error = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(plain.headers["Location"]).query))
    assert error["error"] == "invalid_request" and error["state"] == "s-1"


def test_refresh_tokens_rotate_or_live_long(auth_emu) -> None:
    emu = auth_emu()
    first = emu.oauth.grant(CLIENT_ID)
    second = token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = token(emu, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert (reuse.status_code, reuse.json()["error"]) == (400, "invalid_grant")
    assert emu.oauth.events["refresh_reuse"] == 1
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [second["refresh_token"]]
    # the access token of the first grant stays valid until it expires
    assert api_get(emu, first["access_token"]).status_code == 200

    emu.configure(rotate_refresh_tokens=False)
    third = token(emu, grant_type="refresh_token", refresh_token=second["refresh_token"]).json()
    fourth = token(emu, grant_type="refresh_token", refresh_token=second["refresh_token"]).json()
    assert third["refresh_token"] == fourth["refresh_token"] == second["refresh_token"]
    assert third["access_token"] != fourth["access_token"]


def test_tokens_expire_on_the_emulator_clock_and_scopes_are_enforced(auth_emu) -> None:
    clock = ManualClock()
    # error_shape="array": the 401 says why (the gateway's default says "Unauthorized")
    emu = auth_emu(clock=clock, access_token_lifetime=3600, error_shape="array")
    body = emu.oauth.grant(CLIENT_ID)
    assert body["expires_in"] == 3600
    assert api_get(emu, body["access_token"]).status_code == 200
    clock.advance(3600)
    expired = api_get(emu, body["access_token"])
    assert expired.status_code == 401 and "expired" in expired.text
    narrow = emu.oauth.grant(CLIENT_ID, scopes=["account_read"])
    forbidden = api_get(emu, narrow["access_token"])
    assert forbidden.status_code == 403 and "contact_data" in forbidden.text
    r = requests.post(
        f"{emu.auth_url}/device/authorize",
        data={"client_id": CLIENT_ID, "scope": "contact_data everything"},
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_token_endpoint_limit_revocation_and_errors(auth_emu) -> None:
    emu = auth_emu(token_rate=1)
    body = emu.oauth.grant(CLIENT_ID)
    assert token(emu, grant_type="password").json()["error"] == "unsupported_grant_type"
    limited = token(emu, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    emu.configure(token_rate=None)
    revoke = requests.post(
        f"{emu.auth_url}/revoke",
        data={"client_id": CLIENT_ID, "token": body["refresh_token"]},
        timeout=5,
    )
    assert revoke.status_code == 200
    assert emu.oauth.live_refresh_tokens() == []
    requests.post(
        f"{emu.auth_url}/revoke",
        data={"client_id": CLIENT_ID, "token": body["access_token"]},
        timeout=5,
    )
    assert api_get(emu, body["access_token"]).status_code == 401
    json_body = requests.post(f"{emu.auth_url}/token", json={"grant_type": "x"}, timeout=5)
    assert json_body.json()["error"] == "invalid_request"  # the token endpoint takes forms
    missing = requests.get(f"{emu.auth_url}/nowhere", timeout=5)
    assert missing.status_code == 404
    assert emu.account.count(route="/oauth2/default/v1/revoke", status=200) == 2
    # the API's daily quota counted none of this (the 401 is refused before it)
    assert emu.quota_used == 0


def test_settings_and_cli_flags() -> None:
    args = cli.build_parser().parse_args(
        ["--rotate-refresh-tokens", "no", "--auto-approve", "yes", "--access-token-lifetime", "60"]
    )
    assert cli.settings_from(args) == {
        "rotate_refresh_tokens": False,
        "auto_approve": True,
        "access_token_lifetime": 60.0,
    }
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--auto-approve", "maybe"])
    from ccpandas.emulator import Settings

    assert Settings(access_token_lifetime=0).access_token_lifetime is None
    with pytest.raises(TypeError):
        Settings(auto_approve="yes")  # type: ignore[arg-type]
