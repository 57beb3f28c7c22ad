"""Saving after a rotating refresh fails: the old refresh token is spent, so the session
keeps the new tokens, says what failed and how to fix it, and saves them once it can.

Against the emulator's OAuth server (refresh tokens rotate), with a real ``keyring``
backend that refuses writes, and with a token file that cannot be written.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest
from auth_support import CLIENT_ID, capped_keyring, saved_login

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import SAVE_RETRY_INTERVAL, OAuthToken
from ccpandas.auth.tokenstore import Credentials, TokenStore, _file_failure
from ccpandas.errors import TokenStoreError


class Clock:
    """The provider's clock, moved by the test (the save is retried a minute later)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def logged_in(emu, store: TokenStore, clock: Clock) -> Credentials:
    return saved_login(emu, store, now=clock.now, obtained_at=clock.now - 10, origin="login-test")


def only_warning(recwarn) -> str:
    texts = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    assert len(texts) == 1, texts
    return texts[0]


def test_a_refused_keyring_write_after_a_rotation_keeps_the_session_going(
    auth_emu, recwarn
) -> None:
    emu = auth_emu()  # refresh tokens rotate
    ring = capped_keyring()
    store = TokenStore(keyring=ring)
    clock = Clock()
    creds = logged_in(emu, store, clock)
    token = OAuthToken(creds, store=store, clock=clock, min_refresh_interval=0)
    client = ccpandas.Client(token=token, base_url=emu.base_url, rate=None)

    ring.fail_writes = True  # e.g. the keyring got locked
    emu.revoke_token(creds.access_token.reveal())  # the next request gets a 401
    assert len(ccpandas.read_contact_lists(client)) == 3  # refreshed, not saved
    message = only_warning(recwarn)
    assert message.startswith(f"Refreshed the access token of {CLIENT_ID}, but could not save")
    assert "system keyring (CappedWindowsKeyring) refused" in message
    assert "Windows error 1312" in message and "CCPANDAS_KEYRING=0" in message
    assert "keeps working" in message and "saved refresh token is spent" in message
    assert "CredWrite in" not in message
    issued = emu.oauth.issued_secrets()
    assert all(secret not in message for secret in issued)
    assert token.unsaved is not None

    # The saved refresh token is spent; the session's new one is the only live one.
    live = emu.oauth.live_refresh_tokens(CLIENT_ID)
    assert live == [token.credentials.refresh_token.reveal()]
    assert store.load(CLIENT_ID).refresh_token == creds.refresh_token  # the spent one
    # No new login is needed: the next refresh starts from the tokens in memory.
    token.refresh(force=True)
    assert len(ccpandas.read_contact_lists(client)) == 3
    assert emu.oauth.events["refresh_reuse"] == 0

    # Fixed: the first request a minute later saves them, without a word of warning.
    ring.fail_writes = False
    clock.now += SAVE_RETRY_INTERVAL / 2
    ccpandas.read_contact_lists(client)
    assert store.load(CLIENT_ID).refresh_token == creds.refresh_token  # not yet
    clock.now += SAVE_RETRY_INTERVAL
    ccpandas.read_contact_lists(client)
    saved = store.load(CLIENT_ID)
    assert saved.refresh_token == token.credentials.refresh_token
    assert token.unsaved is None
    assert len([w for w in recwarn if issubclass(w.category, UserWarning)]) == 2  # 2 refreshes
    # ...so a later session picks the login up where this one left it.
    later = ccpandas.connect(CLIENT_ID, store=store, interactive=False, set_default=False)
    assert len(ccpandas.read_contact_lists(later)) == 3


def test_an_unwritable_token_file_names_the_file_and_the_fix(auth_emu) -> None:
    emu = auth_emu()
    store = TokenStore()
    creds = logged_in(emu, store, Clock())
    path = store.path(CLIENT_ID)
    path.unlink()
    path.mkdir()  # what a file cannot be replaced by: a folder of its name
    with pytest.raises(TokenStoreError) as caught:
        store.save(creds)
    message = str(caught.value)
    assert f"writing {path} failed (IsADirectoryError" in message
    assert f"remove the folder {path}" in message
    assert all(secret not in message for secret in emu.oauth.issued_secrets())
    # A refresh meanwhile cannot read the store either: it goes on from its own tokens.
    clock = Clock()
    token = OAuthToken(creds, store=store, clock=clock, min_refresh_interval=0)
    with pytest.warns(UserWarning, match="remove the folder"):
        token.refresh(force=True)
    assert token.unsaved is not None and emu.oauth.events["refresh_reuse"] == 0
    path.rmdir()  # fixed: the retry a minute later writes the file
    clock.now += SAVE_RETRY_INTERVAL + 1
    token()
    assert store.load(CLIENT_ID).refresh_token == token.credentials.refresh_token


@pytest.mark.parametrize(
    ("number", "fix"),
    [
        (errno.ENOSPC, "free some space on the disk of {folder}"),
        (errno.EACCES, "make {folder} writable by you, or set CCPANDAS_CONFIG_DIR"),
        (errno.EROFS, "make {folder} writable by you"),
        (errno.EIO, "check {folder}"),
    ],
)
def test_each_file_failure_says_how_to_fix_it(tmp_path: Path, number: int, fix: str) -> None:
    path = tmp_path / "tokens" / "app.json"
    error = OSError(number, os.strerror(number))  # OSError picks the subclass
    message = _file_failure(path, error)
    assert message.startswith(f"writing {path} failed ({type(error).__name__}: ")
    assert fix.format(folder=path.parent) in message


def test_a_retry_never_overwrites_a_newer_login(auth_emu, recwarn) -> None:
    emu = auth_emu()
    ring = capped_keyring()
    store = TokenStore(keyring=ring)
    clock = Clock()
    creds = logged_in(emu, store, clock)
    token = OAuthToken(creds, store=store, clock=clock, min_refresh_interval=0)
    ring.fail_writes = True
    token.refresh(force=True)
    only_warning(recwarn)
    ring.fail_writes = False
    newer = emu.oauth.grant(CLIENT_ID)  # meanwhile, a new login elsewhere
    store.save(
        Credentials(
            CLIENT_ID,
            Secret(newer["access_token"]),
            Secret(newer["refresh_token"]),
            obtained_at=clock.now + 5,
            origin="login-other",
        )
    )
    clock.now += SAVE_RETRY_INTERVAL + 10
    token()
    assert store.load(CLIENT_ID).refresh_token.reveal() == newer["refresh_token"]
    assert token.unsaved is None  # superseded: it stops trying


def test_long_lived_refresh_tokens_do_not_say_spent(auth_emu, recwarn) -> None:
    emu = auth_emu(rotate_refresh_tokens=False)
    ring = capped_keyring()
    store = TokenStore(keyring=ring)
    clock = Clock()
    token = OAuthToken(logged_in(emu, store, clock), store=store, clock=clock)
    ring.fail_writes = True
    token.refresh(force=True)
    message = only_warning(recwarn)
    assert "keeps working" in message and "spent" not in message
