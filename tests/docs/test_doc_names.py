"""Every ``ccpandas.x.y`` the docs name in code spans exists, and every one they call
(``ccpandas.x.y(...)``) works right after ``import ccpandas`` in a fresh interpreter,
as a reader types it: the documented ``ccpandas.journal.open_journal()`` raised
AttributeError once (issue 21). The benchmark page is a measured report, written by
``benchmarks/report.py``."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: A dotted ccpandas name at the start of a code span: `ccpandas.undo(...)`, `ccpandas.Client`.
NAME = re.compile(r"`(ccpandas(?:\.[A-Za-z_]\w*)+)(\(?)")

#: Resolves each called name by attribute access only, after `import ccpandas`.
_CALLED = """
import functools, json, sys
import ccpandas
bad = {}
for dotted in json.loads(sys.argv[1]):
    try:
        functools.reduce(getattr, dotted.split(".")[1:], ccpandas)
    except AttributeError as exc:
        bad[dotted] = str(exc)
print(json.dumps(bad))
"""


def _resolve(dotted: str) -> Any:
    """The object ``dotted`` names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)  # pragma: no cover - "ccpandas" always imports


def _names(text: str) -> list[tuple[str, bool]]:
    """``(name, called)`` for each dotted name in ``text``'s code spans."""
    return sorted({(m[1], bool(m[2])) for m in NAME.finditer(text)})


def _pages() -> list[tuple[str, str, bool]]:
    return [
        (page.name, name, called)
        for page in PAGES
        if page.name != "benchmarks.md"
        for name, called in _names(page.read_text())
    ]


@pytest.mark.parametrize(("page", "dotted", "called"), _pages())
def test_a_documented_name_exists(page: str, dotted: str, called: bool) -> None:
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{page} names `{dotted}`, which does not exist: {exc}")


def test_every_documented_call_works_after_import_ccpandas() -> None:
    called = sorted({name for _, name, call in _pages() if call})
    assert "ccpandas.store.journal.open_journal" in called
    proc = subprocess.run(
        [sys.executable, "-c", _CALLED, json.dumps(called)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert json.loads(proc.stdout) == {}


def test_the_old_journal_path_would_be_caught() -> None:
    old = "`ccpandas.journal.open_journal().attempts(run_id)`"
    assert _names(old) == [("ccpandas.journal.open_journal", True)]
    with pytest.raises((ImportError, AttributeError)):
        _resolve("ccpandas.journal.open_journal")
