"""connect(): the token sources in order; logout(); the default client; what %cc_connect
runs in a notebook (the login widget and the prompt)."""

from __future__ import annotations

import json

import pytest
from auth_support import CLIENT_ID, User, signed_in

import ccpandas
from ccpandas.auth.connect import OAuthToken, connect, get_default_client, login, logout
from ccpandas.auth.tokenstore import TokenStore
from ccpandas.client.http import EnvToken, StaticToken
from ccpandas.errors import AuthError
from ccpandas.widgets import login as widget_login


def test_explicit_token_comes_first(auth_emu, monkeypatch) -> None:
    emu = auth_emu()
    signed_in(emu)
    monkeypatch.setenv("CC_ACCESS_TOKEN", "from-the-environment")
    client = connect(CLIENT_ID, token=emu.token, base_url=emu.base_url)
    assert isinstance(client._token_provider, StaticToken)
    assert len(ccpandas.read_contact_lists(client)) == 3


def test_environment_comes_before_the_saved_login(auth_emu, monkeypatch) -> None:
    emu = auth_emu()
    signed_in(emu)
    monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
    client = connect(CLIENT_ID, base_url=emu.base_url)
    assert isinstance(client._token_provider, EnvToken)
    assert len(ccpandas.read_contact_lists(client)) == 3


def test_saved_login_comes_before_an_interactive_one(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    signed_in(emu)
    ccpandas.set_default_client(None)

    class NoLogin(User):
        def show_device_code(self, code):
            raise AssertionError("no interactive login expected")

    client = connect(view=NoLogin(emu))  # the only saved client id, its base URL
    assert isinstance(client._token_provider.func, OAuthToken)
    assert client.base_url == emu.base_url
    assert get_default_client() is client
    assert emu.oauth.events["token:device_code"] == 1  # the first login only


def test_interactive_login_comes_last(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    user = User(emu)
    client = connect(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=user)
    assert user.codes and len(ccpandas.read_contact_lists(client)) == 3


def test_without_any_source_the_error_says_what_to_do(store: TokenStore) -> None:
    with pytest.raises(AuthError, match=r"ccpandas\.login\(client_id=\.\.\.\)"):
        connect(interactive=False)
    with pytest.raises(AuthError, match="No saved login for app-x"):
        connect("app-x", interactive=False)
    with pytest.raises(AuthError, match="set_default_client"):
        get_default_client()


def test_several_saved_logins_need_a_client_id(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    signed_in(emu)
    login("second-app", auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    with pytest.raises(AuthError, match="several applications"):
        connect(interactive=False)
    assert connect("second-app", interactive=False).base_url == emu.base_url


def test_default_client_uses_the_saved_login(auth_emu) -> None:
    emu = auth_emu()
    signed_in(emu)
    ccpandas.set_default_client(None)
    assert len(ccpandas.read_contact_lists()) == 3  # no client given: the saved login
    assert isinstance(get_default_client()._token_provider.func, OAuthToken)


def test_logout_revokes_deletes_and_forgets(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    client = signed_in(emu)
    refresh = store.load(CLIENT_ID).refresh_token.reveal()
    assert logout() is True
    assert store.load(CLIENT_ID) is None and store.client_ids() == []
    assert emu.oauth.events["revoke"] == 1
    assert refresh not in emu.oauth.live_refresh_tokens()
    with pytest.raises(AuthError, match="logged out"):
        ccpandas.read_contact_lists(client)
    with pytest.raises(AuthError):
        get_default_client()  # the default client was dropped, nothing saved remains
    assert logout() is False


def test_logout_still_deletes_when_the_server_is_unreachable(auth_emu, store, caplog) -> None:
    emu = auth_emu()
    signed_in(emu)
    emu.stop()
    assert logout(CLIENT_ID) is True
    assert store.load(CLIENT_ID) is None
    assert "could not revoke" in caplog.text


def test_notebook_connect_prompts_without_a_client_id(store: TokenStore) -> None:
    outcome = widget_login.connect()
    assert isinstance(outcome, widget_login.LoginPrompt)
    assert "Not connected to Constant Contact: set CC_ACCESS_TOKEN" in repr(outcome)
    assert "--client-id" in outcome.html.value


def test_notebook_prompt_logs_in_with_the_typed_client_id(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    prompt = widget_login.connect(emu.base_url, auth_url=emu.auth_url)
    assert isinstance(prompt, widget_login.LoginPrompt) and prompt.value is None
    user = User(emu)  # a person who approves on the page the prompt shows
    prompt.login.show_device_code = _tee(prompt.login.show_device_code, user.show_device_code)  # type: ignore[method-assign]
    seen: list[object] = []
    prompt.observe(lambda change: seen.append(change["new"]), "value")

    prompt.login_button.click()  # no client id yet: says so, starts nothing
    assert "client id" in prompt.login.message.value
    assert emu.oauth.events["token:device_code"] == 0 and prompt.value is None

    prompt.client_id.value = f"  {CLIENT_ID} "
    prompt.login_button.click()
    user.join()
    client = prompt.value
    assert isinstance(client, ccpandas.Client) and seen == [client]
    assert client.base_url == emu.base_url
    assert emu.oauth.events["token:device_code"] == 1
    code = user.codes[0]
    assert code.user_code in prompt.login.prompt.value
    assert prompt.login.value == "connected"
    assert get_default_client() is client  # later cells leave out client=
    assert len(ccpandas.read_contact_lists()) == 3
    assert store.load(CLIENT_ID) is not None  # and later sessions reuse it
    state = json.dumps([widget.get_state() for widget in _widgets(prompt)])
    for secret in emu.oauth.issued_secrets():
        assert secret not in state and secret not in repr(prompt)


def test_notebook_prompt_can_try_again_after_a_denied_login(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    prompt = widget_login.connect(emu.base_url, auth_url=emu.auth_url)
    denier = User(emu, decision="deny")
    prompt.login.show_device_code = _tee(prompt.login.show_device_code, denier.show_device_code)  # type: ignore[method-assign]
    prompt.client_id.value = CLIENT_ID
    prompt.login_button.click()
    denier.join()
    assert prompt.value is None and prompt.login.value == "denied"
    assert not prompt.login_button.disabled and not prompt.client_id.disabled
    assert store.load(CLIENT_ID) is None


def _widgets(root):
    """A widget and every widget inside it."""
    out, todo = [], [root]
    while todo:
        widget = todo.pop()
        out.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return out


def test_notebook_connect_logs_in_with_the_widget(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    widget = widget_login.LoginWidget()
    user = User(emu)
    # The widget is the view; a person approves on the page meanwhile.
    widget.show_device_code = _tee(widget.show_device_code, user.show_device_code)  # type: ignore[method-assign]
    client = widget_login.connect(
        emu.base_url, client_id=CLIENT_ID, auth_url=emu.auth_url, view=widget
    )
    user.join()
    assert isinstance(client, ccpandas.Client)
    assert widget.value == "connected"
    code = user.codes[0]
    assert code.user_code in widget.prompt.value and code.link in widget.prompt.value
    assert "Connected" in widget.message.value
    state = json.dumps([child.get_state() for child in widget.children])
    assert store.load(CLIENT_ID).access_token.reveal() not in state
    # later sessions: the saved login, no widget
    assert isinstance(widget_login.connect(), ccpandas.Client)


def _tee(first, second):
    def both(*args):
        first(*args)
        second(*args)

    return both


def test_logout_of_a_confidential_application_revokes_with_its_secret(
    auth_emu, store: TokenStore, monkeypatch
) -> None:
    # The revocation was sent without the client secret a confidential application's
    # calls need: refused (invalid_client), so the refresh token stayed valid at the
    # server after logout (only a warning said so).
    emu = auth_emu()
    emu.oauth.client_secrets[CLIENT_ID] = "s3cret-of-the-app"
    monkeypatch.setenv("CC_CLIENT_SECRET", "s3cret-of-the-app")
    signed_in(emu)
    refresh = store.load(CLIENT_ID).refresh_token.reveal()
    assert refresh in emu.oauth.live_refresh_tokens(CLIENT_ID)
    assert logout(CLIENT_ID) is True
    assert emu.oauth.events["revoke"] == 1
    assert refresh not in emu.oauth.live_refresh_tokens()
    # Given as an argument, as to login() and connect().
    monkeypatch.delenv("CC_CLIENT_SECRET")
    signed_in(emu, client_secret="s3cret-of-the-app")
    refresh = store.load(CLIENT_ID).refresh_token.reveal()
    assert logout(CLIENT_ID, client_secret="s3cret-of-the-app") is True
    assert refresh not in emu.oauth.live_refresh_tokens()
