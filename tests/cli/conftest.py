"""Fixtures for the command-line tests: an emulator, a file of its contact ids, and two
ways to run ``ccpandas``: a child process (``python -m ccpandas``, as a user or cron
would) and an in-process ``main([...])`` call (fast).

Everything talks real HTTP to the emulator on 127.0.0.1; nothing patches requests.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from cli_support import child_env

import ccpandas
from ccpandas._config import ENV_VARIABLES
from ccpandas.cli.main import main
from ccpandas.emulator import Emulator


@dataclass
class Ran:
    """What one ``ccpandas`` command did."""

    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A journal and config directory of the test's own, and no CC_* variables."""
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(tmp_path / "config"))
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator(**kwargs): the emulator fixture's arguments")


@pytest.fixture
def emu(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A small seeded account that processes activities quickly (a test's
    ``@pytest.mark.emulator(...)`` changes its arguments)."""
    marker = request.node.get_closest_marker("emulator")
    kwargs: dict[str, Any] = {
        "seed": 3,
        "contacts": 120,
        "lists": 4,
        "speed": 50_000.0,
        "start_delay": 0.0,
    }
    kwargs.update(marker.kwargs if marker else {})
    with Emulator(**kwargs) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[ccpandas.Client]:
    """A client of the test's own, to look at the account."""
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as client:
        yield client


@pytest.fixture
def lists(api: ccpandas.Client) -> pd.DataFrame:
    return ccpandas.read_contact_lists(api)


@pytest.fixture
def members_csv(tmp_path: Path, api: ccpandas.Client, lists: pd.DataFrame) -> Path:
    """The members of the first list, as a CSV export with an email column too."""
    first = lists["list_id"].iloc[0]
    members = ccpandas.read_contacts(api, lists=[first])
    path = tmp_path / "members.csv"
    members[["contact_id", "email"]].to_csv(path, index=False)
    return path


@pytest.fixture
def cli(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """Run ``ccpandas ARGS`` in this process against ``emu`` (token in CC_ACCESS_TOKEN,
    ``--base-url`` added); ``stdin`` is text or a stream."""

    def run(*args: str, stdin: Any = "", token: bool = True) -> Ran:
        if token:
            monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
        else:
            monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
        out, err = io.StringIO(), io.StringIO()
        source = io.StringIO(stdin) if isinstance(stdin, str) else stdin
        code = main([*args, "--base-url", emu.base_url], stdin=source, stdout=out, stderr=err)
        return Ran(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def run_cli(emu: Emulator) -> Callable[..., Ran]:
    """Run ``python -m ccpandas ARGS --base-url URL`` as a child process; stdin is
    ``input`` (text), else not a terminal (/dev/null)."""

    def run(*args: str, input: str | None = None, timeout: float = 120) -> Ran:
        proc = subprocess.run(
            [sys.executable, "-m", "ccpandas", *args, "--base-url", emu.base_url],
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            env=child_env(emu),
            timeout=timeout,
        )
        return Ran(proc.returncode, proc.stdout, proc.stderr)

    return run
