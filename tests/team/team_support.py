"""Running several "kernels" (real processes) against one emulator, and reading what
they sent: the busy window, the combined rate, each process's share."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

CHILD = Path(__file__).with_name("team_child.py")
TIMEOUT = 180.0
REMOVE = "/v3/activities/remove_list_memberships"


def child_env(
    emu: Any, data_dir: Path, *, shared_state: str | None = None, config_dir: Path | None = None
) -> dict[str, str]:
    """The environment of one child: its own data and config directories ("machine")."""
    env = {
        **os.environ,
        "CC_BASE_URL": emu.base_url,
        "CC_ACCESS_TOKEN": emu.token,
        "CCPANDAS_DATA_DIR": str(data_dir),
        "CCPANDAS_CONFIG_DIR": str(config_dir or data_dir / "config"),
        "OPENBLAS_NUM_THREADS": "1",
    }
    for name in ("CCPANDAS_SHARED_STATE", "CC_CLIENT_ID", "CC_REFRESH_TOKEN"):
        env.pop(name, None)
    if shared_state:
        env["CCPANDAS_SHARED_STATE"] = shared_state
    return env


def run_children(
    jobs: Sequence[tuple[dict[str, Any], dict[str, str]]],
    tmp_path: Path,
    *,
    during: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Start one child per ``(job, env)``, release them together once all are ready,
    run ``during()`` (in this process) while they work, and return their reports."""
    procs = []
    for i, (job, env) in enumerate(jobs):
        err = (tmp_path / f"child-{i}.err").open("wb")
        proc = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(job) + "\n")
        proc.stdin.flush()
        procs.append(proc)
    try:
        for i, proc in enumerate(procs):
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line == "READY", f"child {i}: {line!r} {stderr(tmp_path, i)}"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        if during is not None:
            during()
        reports = []
        for i, proc in enumerate(procs):
            out, _ = proc.communicate(timeout=TIMEOUT)
            assert proc.returncode == 0, f"child {i} failed: {stderr(tmp_path, i)}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def stderr(tmp_path: Path, i: int) -> str:
    return (tmp_path / f"child-{i}.err").read_text(errors="replace")[-3000:]


def busy_window(reports: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """From the moment the last process sent its first request to the moment the first
    process sent its last removal: every process had requests to send throughout."""
    start = max(min(t for t, _m, _s in r["sent"]) for r in reports)
    end = min(max(t for t, m, _s in r["sent"] if m == "POST") for r in reports)
    return start, end


def shares(reports: Sequence[dict[str, Any]], start: float, end: float) -> list[int]:
    """Requests each process sent inside the window."""
    return [sum(start <= t <= end for t, _m, _s in r["sent"]) for r in reports]


def combined_rate(reports: Sequence[dict[str, Any]]) -> float:
    """Requests per second sent by all processes together while all were busy."""
    start, end = busy_window(reports)
    if end <= start:
        return float("nan")
    return (sum(shares(reports, start, end)) - 1) / (end - start)


def removal_setup(emu: Any, n_processes: int, batches: int) -> tuple[list[str], list[str]]:
    """``n_processes`` lists holding the same ``batches * 500`` contacts; returns
    ``(ids, lists)``: process i removes every id from list i."""
    ids = emu.account.contact_ids()[: batches * 500]
    assert len(ids) == batches * 500
    lists = [emu.account.create_list(f"team {i}") for i in range(n_processes)]
    for list_id in lists:
        emu.account.add_members(list_id, ids)
    return ids, lists


def check_removed(emu: Any, before: dict[str, set[str]], ids: list[str], lists: list[str]) -> None:
    """Every id left each target list; no other membership changed."""
    after = emu.account.memberships()
    for list_id, members in before.items():
        expected = members - set(ids) if list_id in lists else members
        assert after.get(list_id, set()) == expected, list_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _PortTaken(Exception):
    """redis-server could not bind its port."""


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
        """Start it. At its first start, on a port another process took since
        ``_free_port`` chose it, again on a new one (the suite's many loopback connections
        draw on the same ports); a restart keeps its port, as a restarted server does."""
        for _ in range(5 if self.proc is None else 1):
            try:
                return self._start()
            except _PortTaken:
                self.port = _free_port()
        raise AssertionError(f"redis-server found its port taken: {self._log()[-1500:]}")

    def _start(self) -> RedisServer:
        logged = len(self._log())
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
            # By parts, not from the URL: a password may hold / # ? as it is.
            server = redis.Redis("127.0.0.1", self.port, password=self.password, socket_timeout=0.5)
            with contextlib.suppress(redis.RedisError):
                if server.info("server")["process_id"] == self.proc.pid:  # not another's
                    return self
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = self._log()
                if self.proc.poll() is not None and "already in use" in log[logged:]:
                    raise _PortTaken
                raise AssertionError(f"redis-server did not start: {log[-1500:]}")
            time.sleep(0.05)

    def _log(self) -> str:
        path = self.workdir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

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
