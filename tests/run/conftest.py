"""Fixtures of the run tests: a private journal directory per test, and an emulator
with fast activities and no rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ccpandas.emulator import Emulator
from ccpandas.store.journal import DATA_DIR_ENV


@pytest.fixture(autouse=True)
def data_dir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The journal and the daily count of the test live here (``CCPANDAS_DATA_DIR``)."""
    path = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(path))
    return path


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """1,600 contacts in 3 lists; activities finish at once."""
    with Emulator(seed=5, contacts=1600, lists=3, rate=None, speed=1e6) as emulator:
        yield emulator
