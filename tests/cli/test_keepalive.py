"""``ccpandas login --refresh``: the keep-alive for cron. It refreshes and re-saves the
saved login without a browser, and its exit status says what happened: 0 done, 4 no
saved login, 5 refresh refused, 6 the token store failed. It warns when the saved
refresh token had gone unused for 150 days (the server drops it at 180).

Against the emulator's OAuth server (rotating refresh tokens, 1 token request a second).
"""

from __future__ import annotations

import datetime as dt
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.cli.main import ExitCode
from ccpandas.emulator import Emulator, ManualClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))
from auth_support import CLIENT_ID, capped_keyring, saved_login  # the auth tests' helpers

DAY = 86400.0


def save_login(emu: Emulator, *, days_ago: float = 0.0) -> Credentials:
    """What a login saved ``days_ago`` (its tokens obtained then)."""
    then = time.time() - days_ago * DAY
    return saved_login(emu, TokenStore(), now=then, origin="login-test")


def refresh(cli):
    return cli("login", "--refresh", "--client-id", CLIENT_ID, token=False)


def assert_no_secret(emu: Emulator, *texts: str) -> None:
    for secret in emu.oauth.issued_secrets():
        assert all(secret not in text for text in texts)


def test_refresh_renews_and_saves_the_login(emu: Emulator, cli) -> None:
    old = save_login(emu)
    ran = refresh(cli)
    assert ran.code == ExitCode.OK, ran.err
    assert ran.out.startswith(f"Refreshed and saved the login of {CLIENT_ID}, valid until 20")
    assert ran.err == ""  # nothing to warn about
    saved = TokenStore().load(CLIENT_ID)
    assert saved is not None and saved.refresh_token != old.refresh_token
    assert saved.obtained_at > old.obtained_at  # the last use, for the 150-day warning
    assert emu.oauth.events["token:refresh_token"] == 1
    assert emu.oauth.live_refresh_tokens(CLIENT_ID) == [saved.refresh_token.reveal()]
    assert_no_secret(emu, ran.out, ran.err)


def test_no_saved_login_exits_4(emu: Emulator, cli) -> None:
    ran = refresh(cli)
    assert ran.code == ExitCode.NO_LOGIN == 4
    assert f"No saved login for {CLIENT_ID} to refresh" in ran.err
    assert "ccpandas login --client-id" in ran.err


def test_a_refused_refresh_exits_5_and_keeps_the_saved_login(emu: Emulator, cli) -> None:
    old = save_login(emu)
    emu.oauth.revoke_refresh_token(old.refresh_token.reveal())
    ran = refresh(cli)
    assert ran.code == ExitCode.REFRESH_REFUSED == 5
    assert "refused the refresh token" in ran.err and "Log in again" in ran.err
    assert TokenStore().load(CLIENT_ID).refresh_token == old.refresh_token
    assert_no_secret(emu, ran.out, ran.err)


@pytest.mark.emulator(clock=ManualClock(dt.datetime(2025, 1, 6, 9, tzinfo=dt.UTC)))
def test_a_refresh_token_unused_for_180_days_is_refused(emu: Emulator, cli) -> None:
    save_login(emu)
    emu.clock.advance(181 * DAY)  # the server's idle limit
    ran = refresh(cli)
    assert ran.code == ExitCode.REFRESH_REFUSED
    assert "180 days unused" in ran.err


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A Windows-like keyring as the process's keyring, with CCPANDAS_KEYRING=1."""
    backend = capped_keyring()
    old = keyring.get_keyring()
    keyring.set_keyring(backend)
    monkeypatch.setenv("CCPANDAS_KEYRING", "1")
    try:
        yield backend
    finally:
        keyring.set_keyring(old)


def test_a_store_that_cannot_be_written_exits_6_before_spending_the_token(
    emu: Emulator, cli, ring
) -> None:
    old = save_login(emu)
    ring.fail_writes = True
    ran = refresh(cli)
    assert ran.code == ExitCode.STORE_FAILED == 6
    assert "the system keyring (CappedWindowsKeyring) refused" in ran.err
    assert "CCPANDAS_KEYRING=0" in ran.err
    assert emu.oauth.events["token:refresh_token"] == 0  # the saved token still works
    ring.fail_writes = False
    ran = refresh(cli)
    assert ran.code == ExitCode.OK, ran.err
    assert TokenStore().load(CLIENT_ID).refresh_token != old.refresh_token


@pytest.mark.parametrize(("days", "warned"), [(149.5, False), (151.2, True), (179.5, True)])
def test_a_login_unused_for_150_days_is_warned_about(
    emu: Emulator, cli, days: float, warned: bool
) -> None:
    save_login(emu, days_ago=days)
    ran = refresh(cli)
    assert ran.code == ExitCode.OK, ran.err
    warning = (
        f"ccpandas: warning: The saved refresh token of {CLIENT_ID} has gone unused for "
        f"{days:.0f} days; Constant Contact drops one unused for 180 days"
    )
    assert (warning in ran.err) is warned
    assert ("ccpandas login --refresh` from cron" in ran.err) is warned


def test_cron_runs_it_as_a_process(emu: Emulator, run_cli) -> None:
    ran = run_cli("login", "--refresh", "--client-id", CLIENT_ID)
    assert ran.code == ExitCode.NO_LOGIN, ran.err
    old = save_login(emu)
    ran = run_cli("login", "--refresh", "--client-id", CLIENT_ID)
    assert ran.code == ExitCode.OK, ran.err
    assert TokenStore().load(CLIENT_ID).refresh_token != old.refresh_token
    emu.oauth.revoke_refresh_token(TokenStore().load(CLIENT_ID).refresh_token.reveal())
    ran = run_cli("login", "--refresh", "--client-id", CLIENT_ID)
    assert ran.code == ExitCode.REFRESH_REFUSED, ran.err
    assert_no_secret(emu, ran.out, ran.err)


def test_an_unreachable_server_exits_1_and_keeps_the_login(emu: Emulator, cli) -> None:
    old = save_login(emu)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/oauth2/default/v1"
    ran = cli("login", "--refresh", "--client-id", CLIENT_ID, "--auth-url", dead, token=False)
    assert ran.code == ExitCode.FAILED == 1
    assert "no answer from the authorization server" in ran.err
    assert "The saved login is unchanged; try again later." in ran.err
    assert TokenStore().load(CLIENT_ID).refresh_token == old.refresh_token
    assert_no_secret(emu, ran.out, ran.err)
