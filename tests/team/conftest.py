"""Fixtures of the team suite: a private data directory per test, emulators stopped
afterwards, and real ``redis-server`` processes on free loopback ports.

Without ``redis-server`` on PATH the Redis tests skip, except on CI (``CI=true``),
which installs it (``.ci/run``): there they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from team_support import RedisServer

from ccpandas.emulator import Emulator


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal and the shared state live here for the test (CCPANDAS_DATA_DIR)."""
    path = tmp_path / "ccpandas-data"
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(path))
    monkeypatch.delenv("CCPANDAS_SHARED_STATE", raising=False)
    return path


@pytest.fixture
def emulator(cc_emulator_factory: Callable[..., Emulator]) -> Callable[..., Emulator]:
    """Start emulators (fast activities, the API's 4/s unless told); stopped after."""
    return cc_emulator_factory


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start ``redis-server`` processes (``make(password=...)``); stopped after."""
    on_ci = os.environ.get("CI", "").lower() == "true"
    exe = shutil.which("redis-server")
    if exe is None:
        if on_ci:
            pytest.fail("redis-server is not on PATH; CI installs it (.ci/run)")
        pytest.skip("redis-server is not installed (Debian: apt install redis-server)")
    if importlib.util.find_spec("redis") is None:
        if on_ci:
            pytest.fail("the redis package is missing; it is in the test extra")
        pytest.skip("the redis package is not installed (pip install 'ccpandas[redis]')")
    started: list[RedisServer] = []

    def make(*, password: str | None = None) -> RedisServer:
        server = RedisServer(exe, tmp_path / f"redis-{len(started)}", password=password)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()
