"""Fixtures for the authentication tests: a private config directory, emulators with
their authorization server, and the session-wide log collection of the leak test.

Every test here talks HTTP to the emulator on 127.0.0.1; nothing patches requests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import ENV_VARS, FAST_AUTH, Collector, Secrets

from ccpandas.auth.tokenstore import TokenStore
from ccpandas.client.http import set_default_client
from ccpandas.emulator import Emulator


@pytest.fixture(scope="session")
def secrets_seen() -> Iterator[Secrets]:
    """Session-wide: a DEBUG handler on the root logger (requests' and urllib3's own debug
    lines included) feeding every log record of the auth tests into one collection."""
    secrets = Secrets()
    handler = Collector(secrets)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield secrets
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture(autouse=True)
def private_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets_seen: Secrets
) -> Iterator[Path]:
    """A config and data directory of the test's own; no CC_* variables; no default client."""
    config = tmp_path / "config"
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(config))
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(tmp_path / "data"))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    old = set_default_client(None)
    try:
        yield config
    finally:
        set_default_client(old)


@pytest.fixture
def store(private_env: Path) -> TokenStore:
    return TokenStore()


@pytest.fixture
def auth_emu(secrets_seen: Secrets) -> Iterator[Callable[..., Emulator]]:
    """Start emulators with fast logins (``FAST_AUTH`` plus the arguments)."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        options = {"seed": 5, "contacts": 60, "lists": 3, **FAST_AUTH, **kwargs}
        emu = Emulator(**options).start()
        started.append(emu)
        secrets_seen.emulators.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the leak test after every other authentication test: it also greps the log
    records those tests produced."""
    leak = [item for item in items if item.nodeid.startswith("tests/auth/test_leaks.py")]
    if not leak:
        return
    rest = [item for item in items if item not in leak]
    auth = [i for i, item in enumerate(rest) if item.nodeid.startswith("tests/auth/")]
    at = auth[-1] + 1 if auth else len(rest)
    items[:] = [*rest[:at], *leak, *rest[at:]]
