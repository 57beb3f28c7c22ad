"""Fixtures of the team suite: a private data directory per test, emulators stopped
afterwards, and real ``redis-server`` processes on free loopback ports.

Without ``redis-server`` on PATH the Redis tests skip, except on CI (``CI=true``),
which installs it (``.ci/run``): there they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccpandas.emulator import Emulator


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal and the shared state live here for the test (CCPANDAS_DATA_DIR)."""
    path = tmp_path / "ccpandas-data"
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(path))
    monkeypatch.delenv("CCPANDAS_SHARED_STATE", raising=False)
    return path


@pytest.fixture
def emulator() -> Iterator[Callable[..., Emulator]]:
    """Start emulators (fast activities, the API's 4/s unless told); stopped after."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        kwargs.setdefault("speed", 1_000_000.0)
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One ``redis-server`` on 127.0.0.1, no persistence, in a temp directory."""

    def __init__(self, exe: str, workdir: Path, *, password: str | None = None) -> None:
        self.exe = exe
        self.workdir = workdir
        self.password = password
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(
            args,
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        import redis

        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
                return self
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.workdir / "redis.log").read_text(errors="replace")
                    raise AssertionError(f"redis-server did not start: {log[-1500:]}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: gone at once, as a crashed or unplugged server."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Start ``redis-server`` processes (``make(password=...)``); stopped after."""
    exe = shutil.which("redis-server")
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is not on PATH; CI installs it (.ci/run)")
        pytest.skip("redis-server is not installed (Debian: apt install redis-server)")
    pytest.importorskip("redis", reason="the redis extra is not installed")
    started: list[RedisServer] = []

    def make(*, password: str | None = None) -> RedisServer:
        server = RedisServer(exe, tmp_path / f"redis-{len(started)}", password=password)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()
