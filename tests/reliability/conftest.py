"""Fixtures for the reliability suite: a private journal directory per test, and
emulators that the suite stops afterwards. Every scenario speaks real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ccpandas.emulator import Emulator


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal and the daily count live here for the test (CCPANDAS_DATA_DIR)."""
    path = tmp_path / "ccpandas-data"
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(path))
    return path


@pytest.fixture
def emulator(cc_emulator_factory: Callable[..., Emulator]) -> Callable[..., Emulator]:
    """Start emulators (fast activities, no rate limit unless asked); stopped after."""
    return lambda **kwargs: cc_emulator_factory(**{"rate": None, **kwargs})
