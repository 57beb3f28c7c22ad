"""Helpers of the command-line tests (imported by name, like tests/auth/auth_support)."""

from __future__ import annotations

import os
from pathlib import Path

import ccpandas
from ccpandas._config import ENV_VARIABLES
from ccpandas.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]


def child_env(emu: Emulator | None, **extra: str) -> dict[str, str]:
    """The environment of a ``ccpandas`` child: this worktree first on the path, the
    test's data directories, the emulator's token."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    if Path(ccpandas.__file__).resolve().parents[1] == ROOT:
        # Testing the source tree: the child imports it too (not an installed copy).
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if emu is not None:
        env["CC_ACCESS_TOKEN"] = emu.token
    env.update(extra)
    return env
