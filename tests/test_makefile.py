"""The Makefile's own promises: ``make -n`` shows what a target would do and runs nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_a_dry_run_of_make_test_runs_nothing(tmp_path: Path) -> None:
    # A recipe line that names $(MAKE) runs even under -n: make test's steps must not share
    # one. The overrides make any step that did run harmless and visible: every test run
    # starts with PRIVATE, which here leaves a mark, and VENV holds no Python nor nox.
    mark = tmp_path / "ran"
    done = subprocess.run(
        [
            "make",
            "-n",
            "--no-print-directory",
            "test",
            f"VENV={tmp_path}/venv",
            f"PRIVATE=touch {mark};",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "-m serial" in done.stdout  # the dry run shows the serial tests' command
    assert not mark.exists(), "make -n test ran a step of make test"
