"""Import time: ``python -c "import ccpandas"`` beside ``import pandas`` alone.

Each statement runs in a fresh interpreter (a subprocess), several times after one
warm-up run (so the file cache is warm for all of them); the median wall time counts.
A bare ``python -c pass`` gives the interpreter's own start-up for reference.

It also lists which heavy modules ``import ccpandas`` pulls in: the planner, runner and
journal (sqlite3), the HTTP stack, tqdm, the widgets, IPython, the emulator and the
installed metadata (importlib.metadata, email) are all meant to load on first use only.

Example:
    >>> out = run(repeats=1, warm_up=False)
    >>> sorted(out["seconds"]), out["heavy_imported"]
    (['ccpandas', 'pandas', 'python'], [])
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from typing import Any

from benchmarks._util import python_exe, table

__all__ = ["HEAVY_MODULES", "imported_modules", "print_table", "run"]

#: Modules that ``import ccpandas`` should not import (they load on first use of their
#: feature; tests/public/test_public_api.py checks the same list on every test run).
HEAVY_MODULES = (
    *("requests", "urllib3", "tqdm", "ipywidgets", "IPython", "traitlets", "comm"),
    *("matplotlib", "openpyxl", "jwt", "cryptography", "redis", "jsonschema"),
    *("sqlite3", "email", "importlib.metadata", "difflib", "http.server"),
    *("ccpandas.api", "ccpandas.readers", "ccpandas.plan", "ccpandas.run", "ccpandas.read"),
    *("ccpandas.store", "ccpandas.report", "ccpandas.client", "ccpandas.auth"),
    *("ccpandas.widgets", "ccpandas.cli", "ccpandas.emulator"),
)

_STATEMENTS = {"python": "pass", "pandas": "import pandas", "ccpandas": "import ccpandas"}


def _time_once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([python_exe(), "-c", statement], check=True, capture_output=True)
    return time.perf_counter() - start


def imported_modules(statement: str = "import ccpandas") -> list[str]:
    """The modules loaded after running ``statement`` in a fresh interpreter."""
    code = f"{statement}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([python_exe(), "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(repeats: int = 7, *, warm_up: bool = True) -> dict[str, Any]:
    """Median start-up times (seconds) and the heavy modules ``import ccpandas`` loads.

    Returns ``seconds`` (median per statement: ``python``, ``pandas``, ``ccpandas``),
    ``runs`` (every time), ``added_by_ccpandas`` (ccpandas minus pandas),
    ``heavy_imported`` (those of :data:`HEAVY_MODULES` it loaded), ``checked`` (that
    list) and ``ccpandas_modules``.
    """
    if warm_up:
        for statement in _STATEMENTS.values():  # warm the file cache
            _time_once(statement)
    runs: dict[str, list[float]] = {name: [] for name in _STATEMENTS}
    for _ in range(repeats):
        # Interleaved, so a burst of load on the machine hits every statement alike.
        for name, statement in _STATEMENTS.items():
            runs[name].append(_time_once(statement))
    seconds = {name: statistics.median(times) for name, times in runs.items()}
    loaded = imported_modules()
    heavy = [m for m in HEAVY_MODULES if any(x == m or x.startswith(m + ".") for x in loaded)]
    return {
        "repeats": repeats,
        "seconds": seconds,
        "runs": runs,
        "added_by_ccpandas": seconds["ccpandas"] - seconds["pandas"],
        "heavy_imported": heavy,
        "checked": list(HEAVY_MODULES),
        "ccpandas_modules": sorted(m for m in loaded if m.split(".")[0] == "ccpandas"),
    }


def print_table(result: dict[str, Any]) -> str:
    """The results as a text table (returned and printed)."""
    s = result["seconds"]
    body = [
        ["python -c pass", s["python"]],
        ["python -c 'import pandas'", s["pandas"]],
        ["python -c 'import ccpandas'", s["ccpandas"]],
        ["added by ccpandas", result["added_by_ccpandas"]],
    ]
    text = table(["statement", f"median s ({result['repeats']} runs)"], body)
    heavy = ", ".join(result["heavy_imported"]) or "none"
    text += f"\nheavy modules imported by 'import ccpandas': {heavy}"
    print(text)
    return text


if __name__ == "__main__":
    print_table(run())
