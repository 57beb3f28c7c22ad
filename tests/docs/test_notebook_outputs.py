"""The saved outputs of ``notebooks/`` (what the docs render) tell the truth about runs.

nbval compares each output with a fresh run, but it ignores ``update_display_data``: of
a live status display it sees only the first state, while the saved notebook holds the
last (nbclient applies the updates). So ``sanitize.cfg`` masks a status display's text,
and this test checks what nbval cannot: in every cell that runs a removal, one status
display, ending on the counts of the result the same cell shows.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from ccpandas.widgets.status import TEXT_PREFIX

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"


def run_cells(path: Path) -> list[tuple[list[str], str]]:
    """(status display texts, result text) of each cell whose result is a removal's."""
    found = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        results = [
            o["data"]["text/plain"]
            for o in outputs
            if o.output_type == "execute_result"
            and "activities:" in o["data"].get("text/plain", "")
        ]
        statuses = [
            o["data"]["text/plain"]
            for o in outputs
            if WIDGET in o.get("data", {})
            and o["data"].get("text/plain", "").startswith(TEXT_PREFIX)
        ]
        if statuses:
            assert results, f"{path.name}: a status display without the result in its cell"
        if results and statuses:
            found.append((statuses, results[0]))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_run_saves_one_status_display_ending_on_its_outcome(path: Path) -> None:
    for statuses, result in run_cells(path):
        assert len(statuses) == 1, f"{path.name}: {len(statuses)} status displays in one cell"
        text = statuses[0]
        completed = re.search(r"activities: .*; completed (\d+)", result)
        if completed and "failed" not in result:
            n = int(completed.group(1))
            word = "activity" if n == 1 else "activities"
            assert text.startswith(f"{TEXT_PREFIX}done: {n:,} {word} completed"), text
        verified = re.search(r"memberships (\w+) \(verified\): (.+)", result)
        if verified:
            assert f"{verified.group(1)} (verified): {verified.group(2)}" in text, text


def test_the_notebooks_run_removals_with_status_displays() -> None:
    """The check above has something to check: the quickstart and the segmentation
    notebooks show a removal with its live status."""
    checked = {p.name: len(run_cells(p)) for p in NOTEBOOKS}
    assert checked["01-quickstart.ipynb"] >= 1
    assert checked["02-segmentation-workflow.ipynb"] >= 1
