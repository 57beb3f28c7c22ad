"""The token store on its own: private files, atomic replacement, locking, odd input."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from auth_support import capped_keyring

from ccpandas._secret import Secret
from ccpandas.auth.tokenstore import Credentials, TokenStore, config_dir
from ccpandas.errors import AuthError


def creds(client_id: str = "app-1", n: int = 1) -> Credentials:
    return Credentials(
        client_id,
        Secret(f"access-{n}"),
        Secret(f"refresh-{n}"),
        expires_at=2e9 + n,
        scopes=("contact_data", "offline_access"),
        obtained_at=1e9 + n,
        auth_url="http://127.0.0.1:9/oauth2/default/v1",
    )


def test_config_dir_follows_the_environment(private_env: Path, monkeypatch) -> None:
    assert config_dir() == private_env
    assert TokenStore().directory == private_env / "tokens"
    monkeypatch.delenv("CCPANDAS_CONFIG_DIR")
    assert config_dir().name == "ccpandas"  # platformdirs' user config dir


def test_round_trip_one_entry_per_client_id(store: TokenStore) -> None:
    store.save(creds("app-1", 1))
    store.save(creds("app-2", 2))
    store.save(creds("app-1", 3))  # replaces app-1's entry
    loaded = store.load("app-1")
    assert loaded is not None
    assert loaded.access_token.reveal() == "access-3" and loaded.refresh_token == Secret(
        "refresh-3"
    )
    assert loaded.scopes == ("contact_data", "offline_access")
    assert store.client_ids() == ["app-1", "app-2"]
    assert "access-3" not in repr(loaded) and "refresh-3" not in repr(loaded)
    assert store.delete("app-1") and not store.delete("app-1")
    assert store.client_ids() == ["app-2"]


def test_files_are_private_and_replaced_whole(store: TokenStore) -> None:
    store.save(creds())
    path = store.path("app-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    inode = path.stat().st_ino
    store.save(creds(n=2))
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert not [p for p in store.directory.iterdir() if p.name.endswith(".tmp")]
    path.chmod(0o644)  # someone widened it
    store.load("app-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_odd_client_ids_get_safe_file_names(store: TokenStore) -> None:
    odd = "../../etc/passwd"
    store.save(creds(odd))
    path = store.path(odd)
    assert path.parent == store.directory and ".." not in path.name
    assert store.load(odd) is not None and store.client_ids() == [odd]
    with pytest.raises(AuthError):
        store.path(" ")


def test_unreadable_file_is_ignored_with_a_warning_and_kept(store: TokenStore, caplog) -> None:
    store.save(creds())
    path = store.path("app-1")
    path.write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="ccpandas.auth.connect"):
        assert store.load("app-1") is None
    assert "unreadable" in caplog.text and path.exists()
    path.write_text(json.dumps({"format": 1, "client_id": "someone-else", "access_token": "x"}))
    assert store.load("app-1") is None


def test_keyring_holds_the_secrets_when_enabled(private_env: Path) -> None:
    ring = capped_keyring()  # a real keyring backend, in memory
    store = TokenStore(keyring=ring)
    store.save(creds())
    text = store.path("app-1").read_text()
    assert "access-1" not in text and "refresh-1" not in text
    assert json.loads(text)["secrets"] == "keyring"
    loaded = store.load("app-1")
    assert loaded is not None and loaded.refresh_token == Secret("refresh-1")
    assert TokenStore(keyring=False).load("app-1") is None  # the file alone is not enough
    store.delete("app-1")
    assert ring.entries == {}


def test_the_lock_keeps_other_processes_out(store: TokenStore, tmp_path: Path) -> None:
    store.save(creds())
    holder = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from ccpandas.auth.tokenstore import TokenStore
        release, deadline = Path(sys.argv[1]), time.monotonic() + 60
        with TokenStore().locked("app-1"):
            print("locked", flush=True)
            # held until the test says so (or a minute, should the test die first)
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        """
    )
    release = tmp_path / "release"
    proc = subprocess.Popen(
        [sys.executable, "-c", holder, str(release)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        impatient = TokenStore(lock_timeout=0.2)
        with pytest.raises(AuthError, match="locked by another process"):
            impatient.save(creds(n=2))
    finally:
        release.touch()
        proc.wait(10)
    loaded = store.load("app-1")
    assert loaded is not None and loaded.access_token.reveal() == "access-1"
    with store.locked("app-1"), store.locked("app-1"):  # re-entrant: no deadlock
        store.save(creds(n=3))
    loaded = store.load("app-1")
    assert loaded is not None and loaded.access_token.reveal() == "access-3"
