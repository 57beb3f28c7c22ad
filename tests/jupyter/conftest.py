"""Fixtures for the Jupyter tests: a fast emulator and a client speaking HTTP to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ccpandas
from ccpandas.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A small seeded account that processes activities almost at once, no rate limit."""
    with Emulator(seed=11, contacts=400, lists=5, tags=4, speed=1_000_000, rate=None) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[ccpandas.Client]:
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as c:
        yield c


@pytest.fixture
def lists(client: ccpandas.Client):  # type: ignore[no-untyped-def]
    return ccpandas.read_contact_lists(client)


@pytest.fixture
def removal_posts(emu: Emulator):  # type: ignore[no-untyped-def]
    """A function: how many removal requests the emulator has received so far."""
    return lambda: emu.account.count(method="POST", route="/v3/activities/remove_list_memberships")
