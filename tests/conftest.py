"""Session-wide test settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Journal and daily request count of the whole session in a temporary directory,
    never the developer's real data directory."""
    path = tmp_path_factory.mktemp("ccpandas-data")
    patch = pytest.MonkeyPatch()
    patch.setenv("CCPANDAS_DATA_DIR", str(path))
    # get_default_client() falls back to a saved login: never the developer's own.
    patch.setenv("CCPANDAS_CONFIG_DIR", str(path / "config"))
    yield path
    patch.undo()
