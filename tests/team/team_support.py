"""Running several "kernels" (real processes) against one emulator, and reading what
they sent: the busy window, the combined rate, each process's share."""

from __future__ import annotations

import json
import os
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
    assert end - start > 2.0, (start, end)
    return start, end


def shares(reports: Sequence[dict[str, Any]], start: float, end: float) -> list[int]:
    """Requests each process sent inside the window."""
    return [sum(start <= t <= end for t, _m, _s in r["sent"]) for r in reports]


def combined_rate(reports: Sequence[dict[str, Any]]) -> float:
    """Requests per second sent by all processes together while all were busy."""
    start, end = busy_window(reports)
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


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
