"""Run the notebooks top to bottom and save them with their outputs.

The saved outputs are what ``pytest --nbval`` compares against (ids, ports and timestamps
are sanitised by ``sanitize.cfg``), and what the documentation renders (widgets as their
text form: notebook 03's panel is a screenshot that tests/widgets/test_browser.py takes).
The widget state is saved too, so Jupyter draws the widgets of a notebook opened without
running it. Run it after editing a notebook::

    .venv/bin/python notebooks/execute.py                # all of them
    .venv/bin/python notebooks/execute.py 01-quickstart.ipynb
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 120) -> float:
    """Execute ``path`` in place; returns the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(HERE)}},
        store_widget_state=True,  # Jupyter draws the saved widgets on opening
        record_timing=False,  # no timestamps in the saved file
    ).execute()
    nbformat.write(nb, path)
    return time.monotonic() - start


def main(argv: list[str]) -> int:
    paths = [HERE / a for a in argv] if argv else sorted(HERE.glob("[0-9][0-9]-*.ipynb"))
    for path in paths:
        print(f"{path.name}: {execute(path):.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
