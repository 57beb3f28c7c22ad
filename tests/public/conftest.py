"""Engine tests: the public API over real HTTP against the emulator on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ccpandas


@pytest.fixture
def connect() -> Iterator[Callable[..., ccpandas.Client]]:
    """Build a client for an emulator; closed after the test. Fast defaults: no client
    rate limit unless the test asks for one, short polls. Its quota day is pinned: a
    midnight during the test does not empty the ledger the test filled."""
    made: list[Any] = []

    def make(emu: Any, **kwargs: Any) -> ccpandas.Client:
        kwargs.setdefault("rate", None)
        client = ccpandas.Client(token=emu.token, base_url=emu.base_url, **kwargs)
        client.stats.day_counter.day = client.stats.day_counter.today()
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def fast_account(
    cc_emulator_factory: Callable[..., Any], connect: Callable[..., ccpandas.Client]
) -> Callable[..., tuple[Any, ccpandas.Client, str]]:
    """Start an emulator with ``options`` (no rate limit and fast activities unless they
    say otherwise): (the emulator, a client of it, its first list)."""

    def make(**options: Any) -> tuple[Any, ccpandas.Client, str]:
        emu = cc_emulator_factory(**{"rate": None, "speed": 1_000_000.0, **options})
        return emu, connect(emu), emu.account.list_ids()[0]

    return make


@pytest.fixture
def offline() -> Iterator[ccpandas.Client]:
    """A client whose server does not exist: any request would fail loudly."""
    with ccpandas.Client(token="t", base_url="http://127.0.0.1:9/v3", max_attempts=1) as client:
        yield client
    assert client.stats.requests == 0, "argument checks must not send anything"


@pytest.fixture
def client(emu: Any) -> Iterator[ccpandas.Client]:
    """A client of the module's ``emu`` fixture, no rate limit."""
    with ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as c:
        yield c
