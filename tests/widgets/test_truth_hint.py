"""The status display's interrupt hint (issue 21 §6): after Ctrl-C the call never
returned, so no ``result`` was assigned: the hint names the run (``ccpandas.resume(run_id)``,
``ccpandas.run_result(run_id)``), never ``result.wait()``. A removal over HTTP against
the emulator."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.widgets.status import StatusDisplay


class InterruptedStatus(StatusDisplay):
    """A display in a kernel whose user interrupts once a request was accepted."""

    def update(self, snapshot: Any) -> None:
        super().update(snapshot)
        if snapshot.phase == "submitting" and snapshot.batches_submitted >= 1:
            raise KeyboardInterrupt


def test_the_interrupt_hint_names_the_run_not_result_wait(
    emu: Emulator, client: ccpandas.Client
) -> None:
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    status = InterruptedStatus(stoppable=False)
    with pytest.raises(KeyboardInterrupt) as caught:
        df.cc.remove_from_lists([target], client=client, progress=status, snapshot=False)
    run_id = caught.value.result.run_id
    hint = re.sub(r"<[^>]+>", "", status.hint.value).replace("&#x27;", "'")
    assert f"ccpandas.resume({run_id!r})" in hint
    assert f"ccpandas.run_result({run_id!r})" in hint
    assert "result.wait()" not in hint


def test_the_hint_before_a_run_names_no_result_either() -> None:
    hint = StatusDisplay(stoppable=False).hint.value
    assert "ccpandas.resume(run_id)" in hint and "result.wait()" not in hint
