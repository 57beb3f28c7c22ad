"""Staying connected: refresh before expiry, once on a 401, at most about once a second,
rotating refresh tokens saved before use, invalid_grant, missing scope, two processes
sharing the store, and a 20,000-contact removal that crosses token expiries."""

from __future__ import annotations

import datetime as dt
import errno
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from auth_support import CLIENT_ID, User, saved_login, signed_in, spend_refresh_token, wait_for

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import OAuthToken, connect
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.emulator import ManualClock, OffsetClock
from ccpandas.errors import AuthError, ForbiddenError

REMOVE = "/v3/activities/remove_list_memberships"
TOKEN_ROUTE = "/oauth2/default/v1/token"


def provider_of(client: ccpandas.Client) -> OAuthToken:
    provider = client._token_provider.func  # the OAuthToken behind the client
    assert isinstance(provider, OAuthToken)
    return provider


def test_refresh_shortly_before_expiry(auth_emu, store: TokenStore) -> None:
    clock = ManualClock(dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC))
    emu = auth_emu(clock=clock)  # tokens live 24 h on this clock
    creds = saved_login(emu, store, now=clock.now().timestamp())
    # the provider reads the same time as the server
    provider = OAuthToken(creds, store=store, clock=lambda: clock.now().timestamp())
    client = ccpandas.Client(token=provider, base_url=emu.base_url, rate=None)
    ccpandas.read_contact_lists(client)
    assert emu.oauth.events["token:refresh_token"] == 0
    clock.advance(24 * 3600 - 120)  # two minutes left: inside the 5-minute margin
    ccpandas.read_contact_lists(client)
    assert emu.account.count(status=401) == 0  # refreshed before the server refused it
    assert emu.oauth.events["token:refresh_token"] == 1
    assert client.stats.refreshes == 0  # no 401-driven refresh
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.refresh_token
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [saved.refresh_token.reveal()]
    assert saved.expires_at == pytest.approx(clock.now().timestamp() + 24 * 3600)


def test_refresh_once_on_401_then_retry(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    creds = saved_login(emu, store)
    client = connect(CLIENT_ID, interactive=False, client_options={"rate": None})
    emu.revoke_token(creds.access_token.reveal())  # the server forgets it early
    lists = ccpandas.read_contact_lists(client)
    assert len(lists) == 3
    assert client.stats.refreshes == 1
    assert emu.account.count(route="/v3/contact_lists", status=401) == 1
    assert emu.oauth.events["token:refresh_token"] == 1


def test_at_most_one_refresh_per_second() -> None:
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    class Server:
        """Stands in for OAuthSession: counts refresh calls (the HTTP path is tested
        against the emulator elsewhere)."""

        auth_url = "http://127.0.0.1:9/oauth2/default/v1"
        calls = 0

        def refresh(self, refresh_token):
            Server.calls += 1
            return {"access_token": f"at-{Server.calls}", "refresh_token": f"rt-{Server.calls}"}

    creds = Credentials(CLIENT_ID, Secret("at-0"), Secret("rt-0"), obtained_at=now[0] - 0.2)
    token = OAuthToken(creds, session=Server(), clock=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
    assert token() == "at-0"
    assert token.refresh() is True and Server.calls == 1  # a 401 for at-0
    assert slept == [pytest.approx(0.8)]  # it waited until a second had passed
    # Another request that left with at-0 gets its 401 too: at-1 is already there.
    assert token.refresh() is True and Server.calls == 1
    assert token() == "at-1"
    assert token.refresh() is True and Server.calls == 2  # a 401 for at-1 itself
    assert slept[-1] == pytest.approx(1.0)
    assert token.refresh(force=True) is True and Server.calls == 3
    assert slept[-1] == pytest.approx(1.0)
    assert token() == "at-3"


def test_rotated_refresh_token_is_saved_before_it_is_used(auth_emu) -> None:
    emu = auth_emu()
    events: list[str] = []
    watched: list[OAuthToken] = []

    class WatchedStore(TokenStore):
        def save(self, credentials: Credentials) -> None:
            if watched:
                old = watched[0].credentials.refresh_token
                rotated = old is not None and old.reveal() not in emu.oauth.live_refresh_tokens()
                in_use = watched[0].credentials is credentials
                events.append(f"save rotated={rotated} in_use={in_use}")
            super().save(credentials)

    store = WatchedStore()
    creds = saved_login(emu, store)
    current = OAuthToken(creds, store=store, min_refresh_interval=0)
    watched.append(current)
    client = ccpandas.Client(token=current, base_url=emu.base_url, rate=None)
    emu.revoke_token(creds.access_token.reveal())
    ccpandas.read_contact_lists(client)
    # saved once, after the server rotated the old one out, before the new one was used
    assert events == ["save rotated=True in_use=False"]
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.access_token == current.credentials.access_token


def test_invalid_grant_says_log_in_again_and_keeps_the_saved_login(
    auth_emu, store: TokenStore
) -> None:
    emu = auth_emu()
    creds = saved_login(emu, store)
    # Another machine used the refresh token: ours is spent.
    r = spend_refresh_token(emu, creds.refresh_token.reveal())
    assert r.status_code == 200
    before = store.path(CLIENT_ID).read_bytes()
    client = connect(CLIENT_ID, interactive=False, client_options={"rate": None})
    emu.revoke_token(creds.access_token.reveal())
    with pytest.raises(AuthError, match=r"Log in again with ccpandas.login\(client_id=") as info:
        ccpandas.read_contact_lists(client)
    assert info.value.error_key == "invalid_grant"
    assert "saved credentials stay" in str(info.value)
    assert store.path(CLIENT_ID).read_bytes() == before  # nothing deleted or changed
    # a new login replaces it
    signed_in(emu)
    assert store.path(CLIENT_ID).read_bytes() != before
    assert len(ccpandas.read_contact_lists()) == 3


def test_connect_logs_in_again_when_the_saved_login_is_dead(auth_emu, store: TokenStore) -> None:
    clock = ManualClock()
    emu = auth_emu(clock=clock)
    creds = saved_login(emu, store, now=time.time() - 2 * 86400)  # expired by our clock
    emu.oauth.revoke_refresh_token(creds.refresh_token.reveal())
    # The emulator's clock is frozen: a poll that came before the approval would make
    # every later one answer slow_down. The person approves before the first poll.
    user = User(emu, at_once=True)
    client = connect(CLIENT_ID, view=user, client_options={"rate": None})
    user.join()
    assert user.codes and emu.oauth.events["token:device_code"] == 1
    assert emu.oauth.events["error:authorization_pending"] == 0  # one poll: the tokens
    assert len(ccpandas.read_contact_lists(client)) == 3
    with pytest.raises(AuthError, match="Log in again"):
        emu.oauth.revoke_refresh_token(store.load(CLIENT_ID).refresh_token.reveal())
        saved_expired = store.load(CLIENT_ID)
        store.save(
            Credentials(
                CLIENT_ID,
                saved_expired.access_token,
                saved_expired.refresh_token,
                expires_at=time.time() - 1,
                obtained_at=time.time() - 100,
                auth_url=emu.auth_url,
                base_url=emu.base_url,
            )
        )
        connect(CLIENT_ID, interactive=False)


def test_missing_scope_is_a_clear_403(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    client = signed_in(emu, scopes=("account_read", "offline_access"))
    with pytest.raises(ForbiddenError) as info:
        ccpandas.read_contact_lists(client)
    err = info.value
    assert err.status == 403 and "'contact_data' scope" in str(err)
    assert any("contact_data" in note for note in err.__notes__)


def test_long_lived_refresh_tokens(auth_emu, store: TokenStore) -> None:
    emu = auth_emu(rotate_refresh_tokens=False)
    creds = saved_login(emu, store)
    token = OAuthToken(creds, store=store, min_refresh_interval=0)
    token.refresh(force=True)
    token.refresh(force=True)
    assert token.credentials.refresh_token == creds.refresh_token
    assert emu.oauth.events["token:refresh_token"] == 2


def test_environment_refresh_token_and_its_rotated_successors(
    auth_emu, store: TokenStore, monkeypatch
) -> None:
    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    emu.revoke_token(body["access_token"])  # stale in the environment
    for name, value in {
        "CC_ACCESS_TOKEN": body["access_token"],
        "CC_REFRESH_TOKEN": body["refresh_token"],
        "CC_CLIENT_ID": CLIENT_ID,
        "CC_AUTH_URL": emu.auth_url,
        "CC_BASE_URL": emu.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    first = connect(client_options={"rate": None})
    assert len(ccpandas.read_contact_lists(first)) == 3
    assert first.stats.refreshes == 1
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.origin  # remembers which env token it continues
    # A new session with the same (now spent) environment continues the saved chain.
    second = connect(client_options={"rate": None})
    provider_of(second).refresh(force=True)
    assert emu.oauth.events["refresh_reuse"] == 0
    assert len(ccpandas.read_contact_lists(second)) == 3


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from ccpandas.auth.connect import OAuthToken
    from ccpandas.auth.tokenstore import TokenStore

    client_id, go, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    store = TokenStore()
    token = OAuthToken(store.load(client_id), store=store, min_refresh_interval=0)
    print("loaded", flush=True)  # the test starts both once both say so
    while not go.exists():  # start together with the other process
        time.sleep(0.001)
    errors = []
    for _ in range(rounds):
        try:
            token.refresh(force=True)
        except Exception as exc:
            errors.append(type(exc).__name__ + ": " + str(exc))
    print(json.dumps({"refreshes": token.refreshes, "errors": errors}))
    """
)


def test_two_processes_share_the_store_without_forking_the_chain(
    auth_emu, store: TokenStore, tmp_path: Path
) -> None:
    emu = auth_emu()
    saved_login(emu, store)
    go = tmp_path / "go"
    rounds = 12
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, CLIENT_ID, str(go), str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    # Both have loaded the same saved refresh token before either refreshes, however
    # slowly they started.
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "loaded"
    go.touch()
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["errors"] for o in outs] == [[], []]
    assert sum(o["refreshes"] for o in outs) == 2 * rounds
    # no refresh token was ever presented twice, and exactly one is alive: the saved one
    assert emu.oauth.events["refresh_reuse"] == 0
    assert emu.oauth.events["token:refresh_token"] == 2 * rounds
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.refresh_token
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [saved.refresh_token.reveal()]
    # and it still works here
    client = connect(CLIENT_ID, interactive=False, client_options={"rate": None})
    provider_of(client).refresh(force=True)
    assert len(ccpandas.read_contact_lists(client)) == 3


def test_a_20000_contact_removal_crosses_token_expiries(auth_emu, store: TokenStore) -> None:
    # Every access token answers 401 after 10 requests: the run crosses several expiries.
    emu = auth_emu(contacts=20_000, lists=2, token_expires_after=10)
    signed_in(emu, client_options={"rate": None})
    list_id = emu.account.list_ids()[0]
    members = sorted(emu.account.members(list_id))
    extra = [c for c in emu.account.contact_ids() if c not in set(members)]
    frame = pd.DataFrame({"contact_id": (members + extra)[:20_000]})
    assert len(frame) == 20_000

    result = frame.cc.remove_from_lists([list_id], progress=False, snapshot=False)

    assert result.ok and result.done
    assert emu.account.members(list_id) == set()
    n = result.plan.n_requests
    assert n == 40
    # every batch accepted exactly once: none lost, none repeated
    assert emu.account.count(method="POST", route=REMOVE, status=201) == n
    assert emu.account.count(method="POST", route=REMOVE) == n + emu.account.count(
        method="POST", route=REMOVE, status=401
    )
    assert emu.account.count(status=401) >= 3  # it did cross expiries
    assert emu.oauth.events["token:refresh_token"] == emu.account.count(status=401)
    assert emu.oauth.events["refresh_reuse"] == 0
    assert sorted(result.rows["status"].unique()) == ["removed"]


def set_env(monkeypatch, emu, body: dict, *, client_id: str | None = CLIENT_ID) -> None:
    """Tokens in the environment, as a script or a CI job would have them."""
    monkeypatch.setenv("CC_ACCESS_TOKEN", body["access_token"])
    monkeypatch.setenv("CC_REFRESH_TOKEN", body["refresh_token"])
    monkeypatch.setenv("CC_AUTH_URL", emu.auth_url)
    monkeypatch.setenv("CC_BASE_URL", emu.base_url)
    if client_id:
        monkeypatch.setenv("CC_CLIENT_ID", client_id)


def test_the_default_client_refreshes_environment_tokens(auth_emu, monkeypatch) -> None:
    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    emu.revoke_token(body["access_token"])  # expired since the environment was written
    set_env(monkeypatch, emu, body)
    ccpandas.set_default_client(None)
    lists = ccpandas.read_contact_lists()  # no client: the default one, from the environment
    assert len(lists) == 3
    assert emu.oauth.events["token:refresh_token"] == 1
    assert emu.account.count(route="/v3/contact_lists", status=401) == 1
    assert body["refresh_token"] not in emu.oauth.live_refresh_tokens(CLIENT_ID)  # rotated
    assert isinstance(provider_of(ccpandas.get_default_client()), OAuthToken)


def test_environment_tokens_never_take_over_another_saved_login(
    auth_emu, store: TokenStore, monkeypatch
) -> None:
    emu = auth_emu()
    # B: a device login saved on this machine for the same application (maybe by
    # another user, of another account).
    signed_in(emu)
    b = store.load(CLIENT_ID)
    assert b is not None and b.refresh_token
    emu.revoke_token(b.access_token.reveal())  # any request carrying it answers 401
    # A: the environment's tokens for the same client id; the access token has expired.
    a = emu.oauth.grant(CLIENT_ID)
    emu.revoke_token(a["access_token"])
    set_env(monkeypatch, emu, a)
    client = connect(interactive=False, client_options={"rate": None})
    assert len(ccpandas.read_contact_lists(client)) == 3
    # one 401 (A's expired token), one refresh with A's refresh token; B's access token
    # was never sent (it would have answered 401 too) and B's refresh token is untouched
    assert emu.account.count(status=401) == 1
    assert emu.oauth.events["token:refresh_token"] == 1
    live = emu.oauth.live_refresh_tokens(CLIENT_ID)
    assert a["refresh_token"] not in live
    assert b.refresh_token.reveal() in live
    assert provider_of(client).credentials.access_token != b.access_token
    assert provider_of(client).credentials.origin != b.origin


def test_a_login_never_takes_over_a_newer_login_of_the_same_app(
    auth_emu, store: TokenStore
) -> None:
    emu = auth_emu()
    first = signed_in(emu, client_options={"rate": None})
    mine = provider_of(first).credentials
    # Someone else signs in with the same application in another kernel.
    signed_in(emu)
    theirs = store.load(CLIENT_ID)
    assert theirs is not None and theirs.origin and theirs.origin != mine.origin
    emu.revoke_token(theirs.access_token.reveal())
    emu.revoke_token(mine.access_token.reveal())
    assert len(ccpandas.read_contact_lists(first)) == 3
    assert emu.account.count(status=401) == 1  # the other login's token never went out
    live = emu.oauth.live_refresh_tokens(CLIENT_ID)
    assert mine.refresh_token.reveal() not in live  # refreshed with its own chain
    assert theirs.refresh_token.reveal() in live


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        AuthError("the token store is locked by another process for over 60 s"),
    ],
    ids=["disk-full", "lock-timeout"],
)
def test_a_failed_save_keeps_the_fresh_tokens_in_memory(
    auth_emu, recwarn, failure: Exception
) -> None:
    emu = auth_emu()

    class BrokenStore(TokenStore):
        broken = False

        def save(self, credentials: Credentials) -> None:
            if self.broken:
                raise failure
            super().save(credentials)

    store = BrokenStore()
    creds = saved_login(emu, store)
    store.broken = True
    token = OAuthToken(creds, store=store, min_refresh_interval=0)
    client = ccpandas.Client(token=token, base_url=emu.base_url, rate=None)
    emu.revoke_token(creds.access_token.reveal())
    assert len(ccpandas.read_contact_lists(client)) == 3  # refreshed; not saved
    token.refresh(force=True)  # starts from the rotated token kept in memory
    assert len(ccpandas.read_contact_lists(client)) == 3
    assert emu.oauth.events["token:refresh_token"] == 2
    assert emu.oauth.events["refresh_reuse"] == 0  # never an invalid_grant
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [token.credentials.refresh_token.reveal()]
    warned = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    assert len(warned) == 2  # one a failed refresh save
    assert warned[0].startswith(f"Refreshed the access token of {CLIENT_ID}, but ")
    assert ("No space left" if isinstance(failure, OSError) else "locked") in warned[0]
    assert "keeps working with the new tokens" in warned[0]
    assert token.unsaved is not None
    for secret in emu.oauth.issued_secrets():
        assert all(secret not in text for text in warned)
    assert store.load(CLIENT_ID).access_token == creds.access_token  # the file: unchanged


def test_a_refresh_token_without_client_id_is_a_warning(auth_emu, monkeypatch, caplog) -> None:
    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    set_env(monkeypatch, emu, body, client_id=None)
    with caplog.at_level(logging.WARNING, logger="ccpandas.auth.connect"):
        client = connect(interactive=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "CC_REFRESH_TOKEN is set but CC_CLIENT_ID is not" in warnings[0]
    assert "Set CC_CLIENT_ID" in warnings[0]
    assert body["refresh_token"] not in caplog.text and body["access_token"] not in caplog.text
    assert len(ccpandas.read_contact_lists(client)) == 3  # the access token still works


def _removal_by_login(emu):
    """A device-flow login to ``emu`` that may refresh often, its first list and a frame
    of all its contacts: (client, list id, frame)."""
    client = signed_in(emu, client_options={"rate": None}, min_refresh_interval=0.1)
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    return client, emu.account.list_ids()[0], frame


def test_tokens_expiring_by_time_during_a_long_removal(auth_emu) -> None:
    # Access tokens live 1 s on the emulator's (real) clock and every request takes
    # 200 ms: a removal of 8,000 contacts crosses several expiries by time, refreshing
    # shortly before each (or once after a 401 that raced it).
    life = 1
    emu = auth_emu(contacts=8_000, lists=2, access_token_lifetime=life, latency=0.2, speed=2_000)
    client, list_id, frame = _removal_by_login(emu)
    started = time.monotonic()

    result = frame.cc.remove_from_lists([list_id], progress=False, snapshot=False)

    took = time.monotonic() - started
    assert result.ok and result.done
    assert emu.account.members(list_id) == set()
    n = result.plan.n_requests
    assert n == 16
    assert emu.account.count(method="POST", route=REMOVE, status=201) == n  # none repeated
    refreshes = emu.oauth.events["token:refresh_token"]
    assert took > 3 * life  # it did outlive several tokens, each refreshed
    # No bound from the wall clock (a loaded machine stalls between requests, and a
    # stall needs no token): at least three tokens were outlived, and not every
    # refresh waited for a 401 (the client refreshes shortly before expiry).
    assert refreshes >= 3
    assert emu.account.count(status=401) < refreshes
    # every 401 (a token that expired on the way) was answered by one refresh and a resend
    assert client.stats.refreshes == emu.account.count(status=401)
    assert emu.oauth.events["refresh_reuse"] == 0
    assert sorted(result.rows["status"].unique()) == ["removed"]


def test_tokens_expiring_on_the_servers_clock_during_a_removal(auth_emu) -> None:
    # The server's clock jumps a day ahead three times while 8,000 contacts are removed:
    # every token the client holds has expired there, though not by the client's clock,
    # so each jump costs one 401, one refresh and a resend, never an error.
    clock = OffsetClock()
    emu = auth_emu(contacts=8_000, lists=2, clock=clock, latency=0.05)
    client, list_id, frame = _removal_by_login(emu)
    accepted = lambda: emu.account.count(method="POST", route=REMOVE, status=201)  # noqa: E731
    jumps: list[int] = []
    errors: list[BaseException] = []

    def jump() -> None:
        try:
            for after in (3, 8, 13):
                wait_for(lambda: accepted() >= after, timeout=60)  # noqa: B023
                clock.advance(hours=25)
                jumps.append(after)
        except BaseException as exc:  # reported below
            errors.append(exc)

    jumper = threading.Thread(target=jump, daemon=True)
    jumper.start()
    result = frame.cc.remove_from_lists([list_id], progress=False, snapshot=False)
    jumper.join(10)

    assert errors == [] and jumps == [3, 8, 13]
    assert result.ok and result.done
    assert emu.account.members(list_id) == set()
    assert accepted() == result.plan.n_requests == 16  # none lost, none repeated
    assert emu.account.count(status=401) == 3  # one per jump
    assert client.stats.refreshes == 3
    assert emu.oauth.events["token:refresh_token"] == 3
    assert emu.oauth.events["refresh_reuse"] == 0
    assert sorted(result.rows["status"].unique()) == ["removed"]


def test_a_rate_limited_refresh_keeps_a_still_valid_token(auth_emu, store: TokenStore) -> None:
    clock = ManualClock(dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC))
    emu = auth_emu(clock=clock, token_rate=1)  # the bucket refills only as this clock moves
    creds = saved_login(emu, store, now=clock.now().timestamp())
    provider = OAuthToken(
        creds, store=store, clock=lambda: clock.now().timestamp(), sleep=lambda s: None
    )
    client = ccpandas.Client(token=provider, base_url=emu.base_url, rate=None)

    def spend_the_token_endpoint() -> None:
        form = {"client_id": CLIENT_ID, "grant_type": "password"}
        answer = requests.post(f"{emu.auth_url}/token", data=form, timeout=5)
        assert answer.status_code == 400  # took the endpoint's one request of this second

    clock.advance(24 * 3600 - 120)  # two minutes left: a refresh is due
    spend_the_token_endpoint()
    assert len(ccpandas.read_contact_lists(client)) == 3  # the token still works
    refused = emu.oauth.events["error:rate_limited"]
    assert refused >= 1 and provider.credentials.access_token == creds.access_token
    ccpandas.read_contact_lists(client)  # not asked again at once: tried again later
    assert emu.oauth.events["error:rate_limited"] == refused
    clock.advance(30)  # the endpoint accepts again: the next request refreshes
    ccpandas.read_contact_lists(client)
    assert emu.oauth.events["token:refresh_token"] == 1
    assert emu.account.count(status=401) == 0
    clock.advance(24 * 3600 + 60)  # this token has expired: a refused refresh must fail
    spend_the_token_endpoint()
    with pytest.raises(AuthError) as caught:
        ccpandas.read_contact_lists(client)
    assert caught.value.error_key == "rate_limited"
    assert "token refresh" in str(caught.value)
