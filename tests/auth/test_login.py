"""Interactive logins end to end against the emulator: the device flow (approved through
the verification page or the emulator's test hook) and PKCE with a loopback redirect."""

from __future__ import annotations

import json
import os
import stat

import pytest
import requests
from auth_support import CLIENT_ID, User, pkce_login

import ccpandas
from ccpandas.auth import flows as authflows
from ccpandas.auth.connect import TextView, get_default_client, login
from ccpandas.auth.tokenstore import TokenStore
from ccpandas.errors import AuthError, ConfigError


def test_device_flow_end_to_end(auth_emu, store: TokenStore, capsys) -> None:
    emu = auth_emu()
    user = User(emu, after_pending=2, hook=True)  # approved through the test hook
    client = login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    user.join()

    out = capsys.readouterr().out
    code = user.codes[0]
    assert code.link in out and code.user_code in out
    assert user.states == ["waiting", "connected"] and user.ticks >= 2
    assert emu.oauth.events["error:authorization_pending"] >= 2
    assert emu.oauth.events["token:device_code"] == 1
    assert get_default_client() is client
    assert len(ccpandas.read_contact_lists(client)) == 3
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.refresh_token
    assert saved.auth_url == emu.auth_url and saved.base_url == emu.base_url
    assert set(saved.scopes) == {"contact_data", "offline_access"}
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [saved.refresh_token.reveal()]


def test_store_file_is_private_and_alone(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    path = store.path(CLIENT_ID)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == [
        f"{CLIENT_ID}.json",
        f"{CLIENT_ID}.json.lock",
    ]  # no temp file left behind
    data = json.loads(path.read_text())
    assert data["client_id"] == CLIENT_ID and data["format"] == 1


def test_device_flow_denied_keeps_the_saved_login(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    before = store.path(CLIENT_ID).read_bytes()
    user = User(emu, decision="deny", after_pending=1)
    with pytest.raises(AuthError, match="denied") as info:
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    user.join()
    assert info.value.error_key == "access_denied"
    assert user.states[-1] == "denied"
    assert store.path(CLIENT_ID).read_bytes() == before


def test_device_flow_code_expires(auth_emu) -> None:
    emu = auth_emu(device_code_lifetime=0.3, device_interval=0.1)

    class Nobody(User):
        def show_device_code(self, code):  # nobody answers
            self.codes.append(code)

    user = Nobody(emu)
    with pytest.raises(AuthError, match="expired") as info:
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    assert info.value.error_key == "expired_token"
    assert user.states[-1] == "expired"
    assert not TokenStore().client_ids()


def test_device_flow_slows_down_when_asked(auth_emu, monkeypatch) -> None:
    emu = auth_emu(device_interval=0.05)
    monkeypatch.setattr(authflows, "SLOW_DOWN_STEP", 0.4)  # RFC 8628 says 5 s; keep the test short

    class Busy(User):
        def show_device_code(self, code):
            # The server now wants 0.3 s between polls, more than it announced.
            self.emu.oauth.require_poll_interval(0.3, code.user_code)
            super().show_device_code(code)

    user = Busy(emu, after_pending=1, hook=True)
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    user.join()
    # one slow_down, then the client waited long enough: no second one
    assert emu.oauth.events["error:slow_down"] == 1
    assert emu.oauth.events["token:device_code"] == 1


def test_a_failed_sign_in_says_so_once(auth_emu, capsys) -> None:
    emu = auth_emu()

    class Elsewhere(User):  # another program redeems the approved code before this login
        def show_device_code(self, code):
            TextView.show_device_code(self, code)
            emu.oauth.approve(code.user_code)
            form = {"grant_type": authflows.DEVICE_GRANT, "client_id": CLIENT_ID}
            form["device_code"] = code.device_code.reveal()
            assert requests.post(f"{emu.auth_url}/token", data=form, timeout=5).ok

    user = Elsewhere(emu)
    with pytest.raises(AuthError, match="invalid or already used"):
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    with pytest.raises(AuthError, match="invalid_scope"):
        pkce_login(emu, pkce := User(emu), scopes=["nonsense"], timeout=20)
    pkce.join()
    out = capsys.readouterr().out
    assert user.states == ["waiting", "failed"] and pkce.states == ["waiting", "failed"]
    assert out.count("failed") == 2, out  # one line for each sign-in


def test_pkce_login_with_a_loopback_redirect(auth_emu, store: TokenStore) -> None:
    emu = auth_emu(auto_approve=True)
    user = User(emu)  # its browser follows the authorize URL and the redirect
    client = pkce_login(emu, user, timeout=20)
    user.join()
    assert emu.oauth.events["token:authorization_code"] == 1
    assert len(ccpandas.read_contact_lists(client)) == 3
    assert store.load(CLIENT_ID) is not None
    assert "connected" in user.states


def test_pkce_login_denied_on_the_page(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()  # no auto-approval: the page asks, the user denies
    user = User(emu, decision="deny")
    with pytest.raises(AuthError, match="denied"):
        pkce_login(emu, user, timeout=20)
    user.join()
    assert store.load(CLIENT_ID) is None
    assert emu.oauth.events["token:authorization_code"] == 0


def test_login_refuses_unsafe_settings_before_sending_anything(auth_emu) -> None:
    emu = auth_emu()
    with pytest.raises(ConfigError, match=r"plain http:// to example\.com"):
        login(CLIENT_ID, auth_url="http://example.com/oauth2/default/v1", view=User(emu))
    with pytest.raises(ConfigError, match=r"plain http:// to example\.com"):
        login(CLIENT_ID, auth_url=emu.auth_url, base_url="http://example.com/v3", view=User(emu))
    with pytest.raises(ConfigError, match="loopback"):
        login(
            CLIENT_ID,
            flow="pkce",
            auth_url=emu.auth_url,
            redirect_uri="http://192.0.2.1:8976/callback",
            base_url=emu.base_url,
            view=User(emu),
        )
    with pytest.raises(ConfigError, match="client id"):
        login(auth_url=emu.auth_url, view=User(emu))
    with pytest.raises(ConfigError, match="flow"):
        login(CLIENT_ID, flow="password", view=User(emu))
    assert emu.account.request_counts.total() == 0


def test_client_id_from_the_environment(auth_emu, monkeypatch, store: TokenStore) -> None:
    emu = auth_emu()
    monkeypatch.setenv("CC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CC_AUTH_URL", emu.auth_url)
    monkeypatch.setenv("CC_BASE_URL", emu.base_url)
    client = login(view=User(emu))
    assert client.base_url == emu.base_url
    assert store.client_ids() == [CLIENT_ID]
    assert os.environ["CC_CLIENT_ID"] == CLIENT_ID
