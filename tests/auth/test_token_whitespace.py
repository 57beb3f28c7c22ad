"""Tokens and client secrets with spaces or line breaks around them (a copy-paste, a
hand-edited file) work; a client secret no header can carry is refused without being
shown. Against the emulator's API and authorization server."""

from __future__ import annotations

import io
import json
import time
import traceback

import pytest
from auth_support import CLIENT_ID

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import OAuthToken, connect
from ccpandas.auth.flows import OAuthSession
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.cli.main import ExitCode, main
from ccpandas.errors import ConfigError


def test_a_saved_login_with_line_breaks_around_its_tokens_works(auth_emu, store: TokenStore):
    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    now = time.time()
    store.save(
        Credentials(
            CLIENT_ID,
            Secret(body["access_token"]),
            Secret(body["refresh_token"]),
            expires_at=now + body["expires_in"],
            obtained_at=now,
            auth_url=emu.auth_url,
            base_url=emu.base_url,
        )
    )
    # the file, edited by hand (or pasted into): a line break after each token
    path = store.path(CLIENT_ID)
    data = json.loads(path.read_text())
    data["access_token"] += "\r\n"
    data["refresh_token"] = " " + data["refresh_token"] + "\n"
    path.write_text(json.dumps(data))

    client = connect(CLIENT_ID, base_url=emu.base_url, interactive=False)

    assert len(ccpandas.read_contact_lists(client)) >= 1
    provider = client._token_provider.func
    assert isinstance(provider, OAuthToken)
    assert provider.refresh(force=True)  # the refresh token, stripped, was accepted
    assert len(ccpandas.read_contact_lists(client)) >= 1
    assert emu.account.count(status=401) == 0


def test_credentials_strip_their_tokens():
    creds = Credentials("app", Secret(" at-1\n"), Secret("rt-1\r\n"))
    assert creds.access_token == Secret("at-1") and creds.refresh_token == Secret("rt-1")


def test_a_client_secret_is_stripped_or_refused_without_being_shown(auth_emu):
    emu = auth_emu()
    session = OAuthSession(CLIENT_ID, auth_url=emu.auth_url, client_secret=" s3cr3t-x\n")
    assert session._client_secret == Secret("s3cr3t-x")

    for bad in ("s3cr3t\r\nx", "s3cr3t\u20acx"):
        with pytest.raises(ConfigError) as info:
            OAuthSession(CLIENT_ID, auth_url=emu.auth_url, client_secret=bad)
        text = "".join(traceback.format_exception(info.value)) + repr(info.value)
        assert "s3cr3t" not in text and "client secret has" in text


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("Bearer {}", "'Bearer ' before it"),  # the header's value, copied whole
        ('"{}"', "a quote (character 1 of"),  # a .env file's quotes, kept by docker
        ("{}  copied", "a space (character"),  # two fields of a table, copied together
    ],
)
def test_a_token_pasted_with_more_than_the_token_is_refused_before_any_request(
    auth_emu, monkeypatch, pasted, says
):
    # It went out, met a 401 that said the token "may have expired", and a refreshing
    # login spent a refresh on it.
    emu = auth_emu()
    monkeypatch.setenv("CC_ACCESS_TOKEN", pasted.format(emu.token))
    out, err = io.StringIO(), io.StringIO()
    code = main(["lists", "--base-url", emu.base_url], stdout=out, stderr=err)
    assert code == ExitCode.USAGE
    assert says in err.getvalue() and "nothing was sent" in err.getvalue()
    assert emu.token not in out.getvalue() + err.getvalue()
    with pytest.raises(ccpandas.AuthError, match="no access token holds"):
        ccpandas.Client(token=pasted.format(emu.token), base_url=emu.base_url)
    assert emu.account.request_log == []


@pytest.mark.parametrize("blank", ["   ", "\n", "\t\r\n"])
def test_a_blank_token_is_refused_as_blank_before_any_request(auth_emu, blank) -> None:
    # "the access token has nothing, which no HTTP header can carry ... in one piece":
    # a token of spaces or a line break alone (an empty line of a .env file) was
    # described as a token with a bad character.
    emu = auth_emu()
    for token in (blank, lambda: blank):
        with pytest.raises(ccpandas.AuthError, match=r"is blank; nothing was sent") as caught:
            ccpandas.read_contact_lists(ccpandas.Client(token=token, base_url=emu.base_url))
        assert "has nothing" not in str(caught.value)
        assert caught.value.error_key == "malformed_token"
    assert emu.account.request_log == []
