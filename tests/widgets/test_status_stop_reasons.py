"""The panel's status says why a run's activities are left running, as its summary
does: not waited for (``wait=False``) is not a timeout. A removal over HTTP against
the emulator."""

from __future__ import annotations

import pandas as pd

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.widgets.status import StatusDisplay


def test_a_run_not_waited_for_is_not_shown_as_a_timeout(
    emu: Emulator, client: ccpandas.Client
) -> None:
    # The status said "stopped waiting at the timeout" though nobody set one.
    emu.configure(start_delay=3600.0)  # the activity is still running when the call returns
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:20]})
    status = StatusDisplay(stoppable=False)
    result = df.cc.remove_from_lists(
        [target], client=client, progress=status, snapshot=False, wait=False
    )
    assert result.summary().stop_reason == "not_waited"
    assert status.text().startswith("not waited for (wait=False): 1 activity still running")
    assert "timeout" not in status.text()
