"""Session-wide test settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="session")
def docs_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built HTML of docs/: ``CCPANDAS_DOCS_HTML``, a build made before (``make docs``
    writes ``docs/_build/html``), else one Sphinx build for the whole session (about
    15 s), shared by the layout test and the API reference test."""
    given = os.environ.get("CCPANDAS_DOCS_HTML")
    if given:
        return Path(given).resolve()  # a relative path from the Makefile: as a file URI
    out = tmp_path_factory.mktemp("docs-html")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-q",
            "-b",
            "html",
            "-d",
            str(out / ".doctrees"),
            str(ROOT / "docs"),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, f"sphinx failed:\n{build.stdout}\n{build.stderr}"
    return out
