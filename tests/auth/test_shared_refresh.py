"""Kernels sharing a token store: the token endpoint takes about 1 request a second, so
when several find the access token expired at the same moment, exactly one refreshes and
the others take its tokens from the store (after the store's lock, they re-read it).

And a saved login unused for 150 days is warned about when a session picks it up.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from auth_support import CLIENT_ID, saved_login

import ccpandas
from ccpandas.auth.connect import connect, refresh_saved_login
from ccpandas.auth.tokenstore import Credentials, TokenStore

# One kernel: loads the saved (expired) login, says it is ready, waits for the signal,
# then makes one request's worth of token use: the provider refreshes if it must.
KERNEL = textwrap.dedent(
    """
    import hashlib, json, sys, time
    from pathlib import Path
    from ccpandas.auth.connect import OAuthToken
    from ccpandas.auth.tokenstore import TokenStore

    client_id, go = sys.argv[1], Path(sys.argv[2])
    store = TokenStore()
    token = OAuthToken(store.load(client_id), store=store)
    print("ready", flush=True)
    while not go.exists():
        time.sleep(0.001)
    access = token()
    print(json.dumps({
        "refreshes": token.refreshes,
        "token": hashlib.sha256(access.encode()).hexdigest(),
    }))
    """
)


def expired_login(emu, store: TokenStore, *, days_ago: float = 0.0) -> Credentials:
    then = time.time() - days_ago * 86400 - 60
    return saved_login(emu, store, now=then, expires_by=time.time() - 30, origin="login-test")


def test_kernels_refreshing_at_once_make_one_token_request(
    auth_emu, store: TokenStore, tmp_path: Path
) -> None:
    emu = auth_emu(token_rate=1.0)  # the real endpoint's limit
    expired_login(emu, store)
    go = tmp_path / "go"
    kernels = [
        subprocess.Popen(
            [sys.executable, "-c", KERNEL, CLIENT_ID, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for kernel in kernels:  # both hold the same expired token and spent nothing yet
        assert kernel.stdout is not None and kernel.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for kernel in kernels:
        out, err = kernel.communicate(timeout=60)
        assert kernel.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert emu.oauth.events["token:refresh_token"] == 1
    assert emu.oauth.events["error:rate_limited"] == 0
    assert emu.oauth.events["refresh_reuse"] == 0
    assert sorted(r["refreshes"] for r in results) == [0, 1]  # one refreshed, one took it
    saved = store.load(CLIENT_ID)
    digest = hashlib.sha256(saved.access_token.reveal().encode()).hexdigest()
    assert [r["token"] for r in results] == [digest, digest]


def test_connect_warns_about_a_login_unused_for_150_days(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    expired_login(emu, store, days_ago=151)
    with pytest.warns(UserWarning, match=r"has gone unused for 151 days") as warned:
        client = connect(CLIENT_ID, interactive=False, set_default=False)
    assert "ccpandas login --refresh" in str(warned[0].message)
    assert len(ccpandas.read_contact_lists(client)) == 3  # it still works: refreshed now
    saved = store.load(CLIENT_ID)
    assert time.time() - saved.obtained_at < 3600  # the last use is now


def test_the_warning_reads_the_injected_clock(auth_emu, store: TokenStore, recwarn) -> None:
    emu = auth_emu()
    creds = expired_login(emu, store)
    in_160_days = creds.obtained_at + 160 * 86400
    refresh_saved_login(CLIENT_ID, store=store, clock=lambda: in_160_days)
    texts = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    assert len(texts) == 1 and "unused for 160 days" in texts[0]
    saved = store.load(CLIENT_ID)
    assert saved.obtained_at == in_160_days  # the refresh's time, on the same clock
    refresh_saved_login(CLIENT_ID, store=store, clock=lambda: in_160_days + 5)
    assert len(recwarn) == 1  # just used: no warning
