"""Fixtures for the Jupyter tests: a fast emulator and a client speaking HTTP to it,
and no credentials of the machine's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ccpandas
from ccpandas.auth.connect import ENV_VARIABLES
from ccpandas.emulator import Emulator

#: Credentials a developer's shell may hold: with CC_CLIENT_ID (or a saved login) a
#: %cc_connect would start a real login and wait for its approval.
CC_VARIABLES = ENV_VARIABLES


@pytest.fixture(autouse=True)
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config directory of the test's own (no saved login) and no CC_* variables."""
    config = tmp_path / "ccpandas-config"
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(config))
    for name in CC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A small seeded account that processes activities almost at once, no rate limit."""
    with Emulator(seed=11, contacts=400, lists=5, tags=4, speed=1_000_000, rate=None) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[ccpandas.Client]:
    """On a pinned quota day: a midnight during the test does not empty the ledger it filled."""
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as c:
        c.stats.day_counter.day = c.stats.day_counter.today()
        yield c


@pytest.fixture
def lists(client: ccpandas.Client):  # type: ignore[no-untyped-def]
    return ccpandas.read_contact_lists(client)


@pytest.fixture
def removal_posts(emu: Emulator):  # type: ignore[no-untyped-def]
    """A function: how many removal requests the emulator has received so far."""
    return lambda: emu.account.count(method="POST", route="/v3/activities/remove_list_memberships")
