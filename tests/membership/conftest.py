"""Membership tests over HTTP: a client per emulator, closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import ccpandas


@pytest.fixture
def connect() -> Iterator[Callable[..., ccpandas.Client]]:
    """Build a client for an emulator (no client-side rate limit unless asked)."""
    made: list[Any] = []

    def make(emu: Any, **kwargs: Any) -> ccpandas.Client:
        kwargs.setdefault("rate", None)
        client = ccpandas.Client(token=emu.token, base_url=emu.base_url, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
