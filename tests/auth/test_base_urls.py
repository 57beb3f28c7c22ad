"""One base-URL rule for every way a client is made; saved logins per base URL; practice
logins kept out of the real token store; a host name that does not resolve fails at once."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from auth_support import CLIENT_ID, User

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import connect, login
from ccpandas.auth.tokenstore import Credentials, MemoryTokenStore, TokenStore
from ccpandas.client.http import DEFAULT_BASE_URL, Client
from ccpandas.errors import AuthError, TransportError


def test_client_reads_cc_base_url_like_connect_and_the_default_client(monkeypatch) -> None:
    monkeypatch.setenv("CC_BASE_URL", "http://127.0.0.1:7/v3/")
    monkeypatch.setenv("CC_ACCESS_TOKEN", "t")
    assert Client(token="t").base_url == "http://127.0.0.1:7/v3"
    assert connect(set_default=False).base_url == "http://127.0.0.1:7/v3"
    assert ccpandas.get_default_client().base_url == "http://127.0.0.1:7/v3"
    assert Client(token="t", base_url="http://127.0.0.1:8/v3").base_url.endswith(":8/v3")
    monkeypatch.delenv("CC_BASE_URL")
    assert Client(token="t").base_url == DEFAULT_BASE_URL


def test_a_saved_login_is_used_only_for_its_base_url(
    auth_emu, store: TokenStore, monkeypatch
) -> None:
    emu = auth_emu()
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu), store=store)
    assert store.load(CLIENT_ID).base_url == emu.base_url  # recorded with the login
    # Asked for the real API (or any other base URL): the emulator login is not picked,
    # and no server is tried (no connection is even opened; no clock bound).
    opened: list[object] = []
    with monkeypatch.context() as m:
        m.setattr(socket.socket, "connect", lambda sock, address: opened.append(address))
        for other in (DEFAULT_BASE_URL, "http://127.0.0.1:9/v3"):
            with pytest.raises(AuthError, match="Not connected"):
                connect(base_url=other, interactive=False, store=store)
            with pytest.raises(AuthError, match=f"No saved login for {CLIENT_ID}"):
                connect(CLIENT_ID, base_url=other, interactive=False, store=store)
    assert opened == []
    # Asked for its own base URL, or for none: it is used, with its base URL.
    assert connect(base_url=emu.base_url, interactive=False, store=store).base_url == emu.base_url
    assert connect(interactive=False, store=store).base_url == emu.base_url


def test_old_saved_logins_without_a_base_url_count_as_the_real_apis(store: TokenStore) -> None:
    store.save(Credentials(CLIENT_ID, Secret("at"), Secret("rt"), expires_at=time.time() + 3600))
    with pytest.raises(AuthError, match="Not connected"):
        connect(base_url="http://127.0.0.1:9/v3", interactive=False, store=store)
    client = connect(base_url=DEFAULT_BASE_URL, interactive=False, store=store, set_default=False)
    assert client.base_url == DEFAULT_BASE_URL


def test_a_practice_login_does_not_land_in_the_real_token_store(
    auth_emu, monkeypatch, tmp_path: Path
) -> None:
    emu = auth_emu()
    # The platform's default folder (no CCPANDAS_CONFIG_DIR), made harmless for the test.
    monkeypatch.delenv("CCPANDAS_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    real = TokenStore()
    assert not real.chosen and str(tmp_path) in str(real.directory)
    client = login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    assert len(ccpandas.read_contact_lists(client)) == 3
    assert real.client_ids() == [] and not real.directory.exists()
    provider = client._token_provider.func
    assert isinstance(provider.store, MemoryTokenStore)  # rotated tokens stay in memory
    provider.refresh(force=True)
    assert real.client_ids() == []
    # Given explicitly, a store is used as asked.
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu), store=real)
    assert real.client_ids() == [CLIENT_ID]


def test_a_host_name_that_does_not_resolve_fails_at_once() -> None:
    sleeps: list[float] = []
    client = Client(token="t", base_url="https://api.cc-pandas-test.invalid/v3", rate=None)
    client._sleep = sleeps.append  # type: ignore[method-assign]
    with pytest.raises(TransportError) as info:
        client.get("/contact_lists")
    err = info.value
    assert "api.cc-pandas-test.invalid" in str(err) and "does not resolve" in str(err)
    assert err.host == "api.cc-pandas-test.invalid" and err.sent is False
    assert client.stats.requests == 1 and client.stats.retries == 0 and sleeps == []
    assert client.stats.quota_used_today == 0  # "at once": no retry, no sleep (no clock bound)
