"""Every number true (issue 21 §6), live: the display's total is the planned total from
the start, and Ctrl-C while a request waits in the rate limiter is not a request
"without an answer". Over HTTP against the emulator."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from engine_support import posts

from ccpandas.api import runs
from ccpandas.report.progress import NullReporter
from ccpandas.store.journal import open_journal


class Recorder(NullReporter):
    """Keeps every snapshot a run reports."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def start(self, snapshot: Any) -> None:
        self.seen.append(snapshot)

    def update(self, snapshot: Any) -> None:
        self.seen.append(snapshot)

    def finish(self, snapshot: Any) -> None:
        self.seen.append(snapshot)


def test_the_live_total_is_the_planned_total_from_the_start(fast_account):
    # Slow activities: the run reports many times while some are not yet accepted.
    emu, client, _ = fast_account(seed=2121, contacts=1500, speed=3000.0)
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches
    seen = Recorder()
    result = df.cc.remove_from_lists([target], client=client, progress=seen, snapshot=False)
    assert result.ok and len(seen.seen) >= 3
    assert seen.seen[0].batches_submitted == 0  # the first report, before any POST
    assert [s.items_total for s in seen.seen] == [1500] * len(seen.seen)
    assert seen.seen[-1].items_completed == 1500


class CtrlCInLimiter:
    """A rate limiter whose wait is interrupted (Ctrl-C) once ``posts`` POSTs went out:
    the next request never leaves."""

    rate = 100.0

    def __init__(self, emu: Any, posts: int) -> None:
        self.emu, self.posts, self.fired = emu, posts, False

    def acquire(self) -> float:
        if not self.fired and self.emu.account.count(method="POST") >= self.posts:
            self.fired = True
            raise KeyboardInterrupt
        return 0.0

    def defer(self, seconds: float) -> None:
        pass


def test_ctrl_c_in_the_rate_limiter_is_not_a_request_without_an_answer(
    cc_emulator_factory, connect
):
    emu = cc_emulator_factory(seed=2122, contacts=1000, rate=None, speed=1_000_000.0)
    client = connect(emu, limiter=CtrlCInLimiter(emu, posts=1))
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 2 batches
    with pytest.raises(KeyboardInterrupt) as caught:
        df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    (note,) = caught.value.__notes__
    result = caught.value.result
    assert posts(emu) == 1  # the second POST never left
    assert "without an answer" not in note and "1 of 2 requests accepted" in note
    assert result.activities["state"].astype(str).tolist()[1:] == ["pending"]
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["uncertain"] == 0 and row["accepted"] == 1

    # resume sends it as a first send, not a re-send of a request that may have gone out
    result.resume(progress=False)
    assert result.ok and posts(emu, 201) == 2 and not emu.account.members(target)
    assert result.activities["resent"].tolist() == [0, 0]
    reasons = open_journal().attempts(result.run_id)["reason"].tolist()
    assert "uncertain" not in reasons
