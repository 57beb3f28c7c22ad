"""login() and connect() take their options as one bundle (LoginOptions,
ConnectOptions): a misspelt option is refused before any request, and connect() hands
the options of its interactive login on to login() whole."""

from __future__ import annotations

import pytest
from auth_support import CLIENT_ID, User

import ccpandas
from ccpandas.auth.connect import connect, login
from ccpandas.auth.tokenstore import TokenStore


def test_login_refuses_a_misspelt_option_before_any_request(auth_emu) -> None:
    emu = auth_emu()
    user = User(emu)
    with pytest.raises(TypeError, match=r"login\(\) got an unexpected keyword argument 'flwo'"):
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user, flwo="pkce")
    assert user.codes == [] and emu.oauth.issued_secrets() == []


def test_connect_refuses_a_misspelt_option_before_any_request(auth_emu) -> None:
    emu = auth_emu()
    user = User(emu)
    with pytest.raises(TypeError, match=r"connect\(\) got an unexpected keyword argument"):
        connect(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user, interactiv=1)
    assert user.codes == [] and emu.oauth.issued_secrets() == []


def test_connect_hands_its_login_options_to_login(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    user = User(emu)
    client = connect(
        CLIENT_ID,
        auth_url=emu.auth_url,
        base_url=emu.base_url,
        view=user,  # the login shows its code here, not on stdout
        scopes=["contact_data"],  # no offline_access: no refresh token
        store=store,
        save=False,
        set_default=False,
        client_options={"rate": None},
    )
    user.join()
    assert len(user.codes) == 1 and user.states[-1] == "connected"
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == []
    assert store.load(CLIENT_ID) is None  # save=False reached login()
    assert ccpandas.set_default_client(None) is None  # set_default=False too
    assert len(ccpandas.read_contact_lists(client)) == 3


@pytest.mark.parametrize(
    ("timeout", "error"), [(-1, ValueError), ("5", TypeError), (float("nan"), ValueError)]
)
def test_login_refuses_a_bad_timeout_before_any_request(auth_emu, timeout, error) -> None:
    emu = auth_emu()
    user = User(emu)
    with pytest.raises(error, match="timeout must be None or seconds"):
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user, timeout=timeout)
    assert user.codes == [] and emu.oauth.issued_secrets() == []
    assert emu.account.request_counts.total() == 0


@pytest.mark.parametrize("client_id", [5, "", "  "])
def test_login_names_a_bad_client_id_as_bad_not_as_missing(auth_emu, client_id) -> None:
    emu = auth_emu()
    user = User(emu)
    with pytest.raises(ccpandas.ConfigError, match="client_id must be a non-empty string"):
        login(client_id, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    assert user.codes == [] and emu.account.request_counts.total() == 0


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("open_browser", "no", "open_browser must be True, False or None"),
        ("min_refresh_interval", -3, "min_refresh_interval must be seconds >= 0"),
        ("min_refresh_interval", float("nan"), "min_refresh_interval must be seconds >= 0"),
        ("min_refresh_interval", "60", "min_refresh_interval must be seconds >= 0"),
    ],
)
def test_login_refuses_a_bad_browser_or_refresh_option_first(auth_emu, option, value, words):
    emu = auth_emu()
    user = User(emu)
    with pytest.raises((TypeError, ValueError), match=words):
        login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user, **{option: value})
    assert user.codes == [] and emu.oauth.issued_secrets() == []
    assert emu.account.request_counts.total() == 0


@pytest.mark.parametrize("call", ["connect", "login", "logout"])
def test_an_access_token_passed_as_the_client_id_is_refused_unquoted(auth_emu, call) -> None:
    # connect(token) reads naturally, but the first argument is the client id: the token
    # was quoted whole in "No saved login for eyJ...", and sent to the authorization
    # server as a client id by the device login connect() then started.
    emu = auth_emu()
    user = User(emu)
    token = emu.oauth.grant(CLIENT_ID)["access_token"]  # a JWT, as Constant Contact's are
    urls = {"auth_url": emu.auth_url}
    given = {
        "connect": lambda: connect(token, base_url=emu.base_url, view=user, **urls),
        "login": lambda: login(token, base_url=emu.base_url, view=user, **urls),
        "logout": lambda: ccpandas.logout(token, **urls),
    }[call]
    with pytest.raises(ccpandas.ConfigError, match="looks like an access token") as refused:
        given()
    assert token not in str(refused.value) and token[:40] not in str(refused.value)
    assert "CC_ACCESS_TOKEN" in str(refused.value)
    assert user.codes == [] and emu.oauth.events["token:device_code"] == 0
    folder = TokenStore().directory  # no lock file named after the token either
    assert not folder.exists() or [p.name for p in folder.iterdir()] == []
