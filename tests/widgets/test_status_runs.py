"""The status display through whole removals against the emulator (real HTTP): one
display per call, and a text form that ends on the run's outcome.

A front end that cannot draw widgets (a static page, the docs, a saved notebook opened
as text) shows the display's ``text/plain``: what it was when displayed, replaced by
each ``update_display_data`` for its display id, as nbclient and JupyterLab keep it.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.report import progress
from ccpandas.report.progress import TqdmReporter
from ccpandas.widgets.status import TEXT_PREFIX, StatusDisplay

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def notebook_reporters() -> Iterator[list[StatusDisplay]]:
    """``progress="auto"`` builds what it builds in a Jupyter kernel after ``%load_ext
    ccpandas`` (a self-displaying StatusDisplay); the list holds each one built."""
    InteractiveShell.instance()
    built: list[StatusDisplay] = []

    def factory() -> StatusDisplay:
        built.append(StatusDisplay(stoppable=False, auto_display=True))
        return built[-1]

    progress.set_default_reporter_factory(factory)
    try:
        yield built
    finally:
        progress.set_default_reporter_factory(None)


def saved(outputs: list[Any]) -> list[dict[str, Any]]:
    """The outputs as a notebook saves them: one per display, each with the data of
    its last update (what nbclient does with ``update_display_data``)."""
    kept: list[dict[str, Any]] = []
    for out in outputs:
        display_id = (out.transient or {}).get("display_id")
        if out.update:
            for k in kept:
                if k["display_id"] == display_id:
                    k["data"] = out.data
        else:
            kept.append({"display_id": display_id, "data": out.data})
    return kept


def members_of_first_list(emu: Emulator, client: ccpandas.Client, n: int) -> tuple[str, list]:
    lists = ccpandas.read_contact_lists(client)
    first = lists.iloc[0]
    return str(first["name"]), sorted(emu.account.members(first["list_id"]))[:n]


def test_a_removal_shows_one_display_whose_text_ends_on_the_outcome(
    emu: Emulator, client: ccpandas.Client, notebook_reporters: list[StatusDisplay]
) -> None:
    """The membership read, the removal and its verification re-read: one display,
    whose text form (saved, and shown where widgets are not) is the widget's last
    state. It used to be three displays, the last two of the same widget, each text
    ending on "done: 0 activities completed"."""
    name, ids = members_of_first_list(emu, client, 12)
    with capture_output(display=True) as cap:
        result = pd.DataFrame({"contact_id": ids}).cc.remove_from_lists([name], client=client)
    assert result.ok and result.after is not None  # read before, removed, verified
    assert len(notebook_reporters) == 1  # one reporter for the whole call
    status = notebook_reporters[0]
    shown = [o for o in saved(cap.outputs) if WIDGET in o["data"]]
    assert len(shown) == 1
    assert shown[0]["data"][WIDGET]["model_id"] == status.model_id
    final = shown[0]["data"]["text/plain"]
    assert final == (
        f"{TEXT_PREFIX}done: 1 activity completed; 12 of 12 items\n  removed (verified): {name} 12"
    )
    assert final == repr(status)  # the widget's own final state, in words
    assert "done: 1 activity completed" in status.header.value
    assert f"removed (verified): {name} 12" in status.header.value
    assert f"memberships removed (verified): {name} 12" in repr(result)  # the same facts


def test_the_verification_is_a_labelled_phase_of_the_run(
    emu: Emulator, client: ccpandas.Client, notebook_reporters: list[StatusDisplay]
) -> None:
    """What the display goes through, in order: the read before, the removal, the
    re-read that verifies it, the end. Only the end says "done"."""
    name, ids = members_of_first_list(emu, client, 5)
    phases: list[str] = []

    def factory() -> StatusDisplay:
        status = StatusDisplay(stoppable=False, auto_display=True)
        status.observe(lambda c: phases.append(c["new"].phase), "value")
        notebook_reporters.append(status)
        return status

    progress.set_default_reporter_factory(factory)
    with capture_output(display=True) as cap:
        pd.DataFrame({"contact_id": ids}).cc.remove_from_lists([name], client=client)
    order = list(dict.fromkeys(phases))  # first appearance of each phase
    assert order[:3] == ["reading", "read", "starting"]
    assert order[-2:] == ["verifying", "done"] and phases.count("done") == 1
    # The text form followed it (front ends without widgets saw each phase).
    texts = [o.data["text/plain"] for o in cap.outputs if WIDGET in o.data]
    assert any("verifying the result: reading list members" in t for t in texts)
    assert [t for t in texts if "done" in t] == texts[-1:]


def test_a_read_on_its_own_says_what_it_read() -> None:
    """A membership read shown alone (``result.verify(progress=...)``) speaks of pages
    and contacts, never of activities it does not have."""
    from ccpandas.read.snapshot import _progress

    status = StatusDisplay()
    status.start(_progress(0, 3, 0))
    status.update(_progress(2, 3, 1000))
    assert status.text() == "reading list members: page 2 of ~3, 1,000 contacts"
    status.finish(_progress(3, 3, 1210, done=True))
    assert status.text() == "read list members: 3 pages, 1,210 contacts"
    assert "activit" not in status.header.value + status.counts.value
    assert status.rows.value == ""


def test_tqdm_bars_end_on_the_verified_truth(emu: Emulator, client: ccpandas.Client) -> None:
    """The verification re-read reports into the run's bars: no second pair of bars
    opened over the first, and the run's bars close on what the re-read verified."""
    name, ids = members_of_first_list(emu, client, 7)
    out = io.StringIO()
    pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
        [name], client=client, progress=TqdmReporter(file=out, ascii=True)
    )
    frames = [line for line in out.getvalue().replace("\r", "\n").splitlines() if line]
    submitted = [line for line in frames if line.startswith("submitted")]
    assert f"removed (verified): {name} 7" in submitted[-1]  # the run's last frame
    # A bar is drawn first without a postfix: one for the run (the re-read opens none).
    assert len([line for line in submitted if line.endswith("?req/s]")]) == 1
    # The read before the run counts pages of list members, not removal requests.
    reading = [line for line in frames if line.startswith("reading lists")]
    assert reading and "page" in reading[-1] and "read list members: 1 page" in reading[-1]
    assert frames.index(reading[-1]) < frames.index(submitted[0])


def test_an_executed_notebook_saves_one_display_with_the_final_counts(
    tmp_path: Path, kernel_manager_class: type
) -> None:
    """In a real kernel executed by nbclient (as notebooks/execute.py does), the saved
    cell holds one status display, its text the run's outcome, matching the result."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext ccpandas"),
            nbformat.v4.new_code_cell("%cc_emulator --contacts 120 --seed 4 --lists 2 --rate 0"),
            nbformat.v4.new_code_cell(
                "import ccpandas\n"
                "name = ccpandas.read_contact_lists()['name'].iloc[0]\n"
                "members = ccpandas.read_contacts(lists=[name])\n"
                "result = members.cc.remove_from_lists([name])\n"
                "result"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    env = {
        **os.environ,
        "CCPANDAS_DATA_DIR": str(tmp_path / "data"),
        "CCPANDAS_CONFIG_DIR": str(tmp_path / "config"),
    }
    for variable in ("CC_ACCESS_TOKEN", "CC_REFRESH_TOKEN", "CC_CLIENT_ID", "CC_CLIENT_SECRET"):
        env.pop(variable, None)
    NotebookClient(  # guards against a hang (a loaded machine starts kernels slowly)
        nb,
        timeout=600,
        startup_timeout=600,
        kernel_name="python3",
        kernel_manager_class=kernel_manager_class,  # Unix sockets: see conftest.py
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute(env=env)
    outputs = nb.cells[2].outputs
    status = [o for o in outputs if WIDGET in o.get("data", {})]
    assert len(status) == 1
    text = status[0]["data"]["text/plain"]
    result = next(o for o in outputs if o.output_type == "execute_result")["data"]["text/plain"]
    assert "activities: 1 of 1 accepted; completed 1" in result
    verified = re.search(r"memberships removed \(verified\): (.+)", result)
    assert verified is not None
    n = int(verified.group(1).rsplit(" ", 1)[1])
    assert text == (
        f"{TEXT_PREFIX}done: 1 activity completed; {n:,} of {n:,} items\n"
        f"  removed (verified): {verified.group(1)}"
    )


def test_a_run_not_ended_as_asked_says_so_in_the_status_display(
    emu: Emulator, client: ccpandas.Client
) -> None:
    """Every activity completed, yet the re-read shows a contact still on the list: the
    display ends on the summary's outcome line, the word repr(result), the CLI and
    runs() use, not only on "done: 1 activity completed"."""
    name, ids = members_of_first_list(emu, client, 12)
    list_id = ccpandas.read_contact_lists(client).iloc[0]["list_id"]
    emu.keep_members([(ids[0], list_id)])
    status = StatusDisplay(stoppable=False)
    with pytest.warns(UserWarning, match="STILL MEMBERS"):
        result = pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
            [name], client=client, progress=status
        )
    line = result.summary().outcome_line
    assert line == "outcome: failed; not as asked 1 (still_member 1)"
    assert status.text().startswith("done: 1 activity completed; 12 of 12 items")
    assert "\n  " + line in status.text()
    assert line in status.header.value
    assert line in repr(result)
