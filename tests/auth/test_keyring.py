"""The keyring in real life: Windows' Credential Manager takes 2,560 bytes a secret, as
UTF-16, and a real JWT pair does not fit in one entry; ccpandas splits it.

The keyring here is a real ``keyring`` backend (``CappedWindowsKeyring``) with the
Windows cap and the error Windows gives; nothing is patched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import keyring
import pytest
from auth_support import CLIENT_ID, WinError, capped_keyring, jwt_like, okta_refresh_token

from ccpandas._secret import Secret
from ccpandas.auth import keyring_chunks
from ccpandas.auth.connect import logout
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.errors import TokenStoreError

SERVICE = "ccpandas"


def pair(access_chars: int, seed: int = 0) -> Credentials:
    """A real-sized pair: a JWT access token (an opaque one under 1,000 characters, shorter
    than any JWT of Constant Contact's) and Okta's 43-character refresh token."""
    short = f"at-{seed}-".ljust(access_chars, "z")
    return Credentials(
        CLIENT_ID,
        Secret(jwt_like(access_chars, seed=seed) if access_chars >= 1000 else short),
        Secret(okta_refresh_token(seed)),
        expires_at=2e9,
        scopes=("contact_data", "offline_access"),
        obtained_at=1.7e9,
    )


def entries(ring) -> list[str]:
    return sorted(user for service, user in ring.entries if service == SERVICE)


@pytest.fixture
def ring() -> Iterator:
    """The capped backend as the process's keyring (what ``keyring=True`` uses)."""
    backend = capped_keyring()
    old = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(old)


def test_one_entry_takes_a_1150_character_jwt_pair_but_not_a_1200_one(ring) -> None:
    # What ccpandas stored before: the JSON pair, whole, in one entry.
    for chars, fits in ((1150, True), (1200, False)):
        secret = json.dumps(pair(chars).secret_dict())
        # 41 characters of JSON around a JWT and Okta's 43-character refresh token; two
        # bytes a character as UTF-16: 1,234 characters (2,468 bytes) fit in 2,560,
        # 1,284 (2,568 bytes) do not.
        assert len(secret) == 41 + chars + 43
        if fits:
            ring.set_password(SERVICE, CLIENT_ID, secret)
        else:
            with pytest.raises(WinError) as caught:
                ring.set_password(SERVICE, CLIENT_ID, secret)
            assert caught.value.winerror == 1783
            # ...which ccpandas showed as "OSError: CredWrite in <folder>":
            assert caught.value.strerror == "CredWrite"


def test_the_store_splits_a_1200_character_jwt_pair_and_reads_it_back(ring) -> None:
    store = TokenStore(keyring=True)
    creds = pair(1200)
    store.save(creds)
    loaded = store.load(CLIENT_ID)
    assert loaded is not None
    assert loaded.access_token == creds.access_token
    assert loaded.refresh_token == creds.refresh_token
    assert entries(ring) == [CLIENT_ID, f"{CLIENT_ID}#a1", f"{CLIENT_ID}#a2"]
    assert all(len(v.encode("utf-16-le")) <= 2560 for v in ring.entries.values())
    text = store.path(CLIENT_ID).read_text()
    assert json.loads(text)["secrets"] == "keyring"
    assert creds.access_token.reveal() not in text and creds.refresh_token.reveal() not in text
    manifest = ring.entries[(SERVICE, CLIENT_ID)]
    assert creds.refresh_token.reveal() not in manifest  # the manifest names pieces only


def test_an_overwrite_with_fewer_pieces_leaves_no_stale_piece(ring) -> None:
    store = TokenStore(keyring=True)
    store.save(pair(2600, seed=1))  # 2,686 characters: 3 pieces
    assert len(entries(ring)) == 4
    store.save(pair(900, seed=2))  # 1 piece, in the other slot; the 3 old ones go
    assert entries(ring) == [CLIENT_ID, f"{CLIENT_ID}#b1"]
    assert store.load(CLIENT_ID).access_token == pair(900, seed=2).access_token
    store.save(pair(1200, seed=3))
    assert entries(ring) == [CLIENT_ID, f"{CLIENT_ID}#a1", f"{CLIENT_ID}#a2"]
    assert store.load(CLIENT_ID).access_token == pair(1200, seed=3).access_token


def test_logout_deletes_every_piece(ring) -> None:
    store = TokenStore(keyring=True)
    store.save(pair(1200))
    ring.writes_left = 1  # a save interrupted after its first piece leaves one behind
    with pytest.raises(TokenStoreError):
        store.save(pair(2600, seed=1))
    ring.writes_left = None
    assert len(entries(ring)) == 4  # the manifest, 2 live pieces, 1 left-over
    assert logout(CLIENT_ID, store=store, revoke=False) is True
    assert ring.entries == {}
    assert not store.path(CLIENT_ID).exists()


def test_an_interrupted_save_keeps_the_previous_login_and_says_what_failed(ring) -> None:
    store = TokenStore(keyring=True)
    old, new = pair(1200), pair(1190, seed=7)
    store.save(old)
    ring.writes_left = 1  # the first new piece is written, the second fails
    with pytest.raises(TokenStoreError) as caught:
        store.save(new)
    message = str(caught.value)
    assert "CappedWindowsKeyring" in message and "Windows error 1726" in message
    assert "CCPANDAS_KEYRING=0" in message  # how to get out of it
    assert "CredWrite in" not in message
    for secret in (*old.secret_dict().values(), *new.secret_dict().values()):
        assert secret not in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    # The manifest was never switched: the previous login is whole.
    assert store.load(CLIENT_ID).access_token == old.access_token
    ring.writes_left = None
    store.save(new)  # the next save clears the interrupted one's piece
    assert store.load(CLIENT_ID).access_token == new.access_token
    assert entries(ring) == [CLIENT_ID, f"{CLIENT_ID}#b1", f"{CLIENT_ID}#b2"]


@pytest.mark.parametrize("damage", ["missing", "from another save"])
def test_a_half_written_set_is_detected_never_joined(ring, caplog, damage: str) -> None:
    store = TokenStore(keyring=True)
    store.save(pair(1200))
    piece = (SERVICE, f"{CLIENT_ID}#a2")
    if damage == "missing":
        del ring.entries[piece]
    else:
        ring.entries[piece] = "0123456789abcdef:" + ring.entries[piece].split(":", 1)[1]
    with caplog.at_level(logging.WARNING, logger="ccpandas.auth.connect"):
        assert store.load(CLIENT_ID) is None  # a new login replaces it
    assert f"part 2 of 2 in the keyring is {damage}" in caplog.text
    with pytest.raises(keyring_chunks.IncompleteSecret):
        keyring_chunks.read(ring, SERVICE, CLIENT_ID)


def test_a_secret_saved_whole_by_an_earlier_version_still_reads(ring) -> None:
    store = TokenStore(keyring=True)
    store.save(pair(900))
    creds = pair(800, seed=4)
    ring.entries.clear()
    ring.entries[(SERVICE, CLIENT_ID)] = json.dumps(creds.secret_dict())  # the old layout
    assert store.load(CLIENT_ID).access_token == creds.access_token
    store.save(creds)  # rewritten in the new layout
    assert entries(ring) == [CLIENT_ID, f"{CLIENT_ID}#a1"]
    assert store.load(CLIENT_ID).refresh_token == creds.refresh_token
