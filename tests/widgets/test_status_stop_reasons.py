"""The panel's status says why a run's activities are left running, as its summary
does: not waited for (``wait=False``) is not a timeout. A removal over HTTP against
the emulator."""

from __future__ import annotations

import pandas as pd
import pytest

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


def test_a_run_stopped_by_an_error_says_why_not_stopped_waiting(emu: Emulator) -> None:
    # A 401 before the POST said "stopped waiting" (the Stop button's words), while
    # runs() and the summary said stop_reason "unauthorized".
    token = emu.issue_token(expires_after=1)  # the list read, then the POST is refused
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:20]})
    status = StatusDisplay(stoppable=False)
    with (
        ccpandas.Client(token=token, base_url=emu.base_url, rate=None) as client,
        pytest.raises(ccpandas.errors.UnauthorizedError) as caught,
    ):
        df.cc.remove_from_lists([target], client=client, progress=status, snapshot=False)
    reason = caught.value.result.summary().stop_reason  # type: ignore[attr-defined]
    assert reason == ccpandas.runs().iloc[0]["stop_reason"] == "unauthorized"
    assert status.text().startswith("stopped: unauthorized; 1 request not sent")
    assert "stopped waiting" not in status.text()


def test_a_run_left_after_the_activity_timeout_says_it_stopped_waiting() -> None:
    # Nothing moved for the activity timeout (2 h): the runner stopped following, no
    # error. The error wording read "stopped: activity_timeout" (review).
    from types import SimpleNamespace

    from ccpandas.report.progress import Snapshot
    from ccpandas.vocab import STOP_ACTIVITY_TIMEOUT
    from ccpandas.widgets.status import headline

    summary = SimpleNamespace(stop_reason=STOP_ACTIVITY_TIMEOUT)
    line = headline(Snapshot("stopped", 1, 1, extra={"summary": summary}))
    assert line.startswith("stopped waiting: nothing moved for the activity timeout"), line
