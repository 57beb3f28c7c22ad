"""Fixtures for the emulator tests: every test speaks real HTTP to 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emu_support import FAST, Api

from ccpandas.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A running emulator with instant activities and no limits."""
    with Emulator(seed=1, **FAST) as emulator:
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> Iterator[Api]:
    client = Api(emu)
    yield client
    client.close()
