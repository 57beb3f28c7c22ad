"""``ccpandas login`` that fails: its error is printed once, in the command line's words.

Real HTTP to the emulator's OAuth server; nothing approves the login, so it gives up.
"""

from __future__ import annotations

import pytest

from ccpandas.cli.main import ExitCode


@pytest.mark.parametrize("flow", ["device", "pkce"])
def test_a_failed_login_prints_its_error_once(cli, emu, flow) -> None:
    emu.configure(device_interval=0.05)
    args = ["login", "--client-id", "cli-app", "--auth-url", emu.auth_url, "--flow", flow]
    no_browser = ["--no-browser"] if flow == "pkce" else []
    ran = cli(*args, *no_browser, "--timeout", "0.5", token=False)
    assert ran.code == ExitCode.USAGE
    # The error's first sentence, once: not also as the login's last status line.
    error = ran.err.split("ccpandas login: ", 1)[1].split(".")[0]
    assert ran.err.count(error) == 1, ran.err
    assert "The code expired" not in ran.err  # it did not: the --timeout ran out
    assert "ccpandas.login(" not in ran.err  # the Python spelling of the advice
    assert "ccpandas login --client-id YOUR_API_KEY" in ran.err
    if flow == "device":
        assert "No approval within 0.5 s" in ran.err  # not "within 0 s"


def test_no_login_advice_is_given_once_in_the_command_lines_words(cli, emu) -> None:
    ran = cli("doctor", "--client-id", "cli-app", token=False)
    assert ran.code == ExitCode.USAGE
    assert "token=" not in ran.err  # the command line has no such option
    assert ran.err.count("ccpandas login --client-id YOUR_API_KEY") == 1, ran.err
    assert "CC_ACCESS_TOKEN" in ran.err


def test_refresh_without_a_saved_login_names_the_login_command_once(cli, emu) -> None:
    ran = cli("login", "--refresh", "--client-id", "cli-app", token=False)
    assert ran.code == ExitCode.NO_LOGIN
    assert ran.err.count("ccpandas login --client-id YOUR_API_KEY") == 1, ran.err
