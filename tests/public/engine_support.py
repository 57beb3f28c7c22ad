"""Helpers for the engine tests."""

from __future__ import annotations

from typing import Any

from ccpandas.report.progress import NullReporter

REMOVE = "/v3/activities/remove_list_memberships"


def posts(emu: Any, status: int | None = None) -> int:
    """How many removal POSTs the emulator saw (with ``status``, if given)."""
    return emu.account.count(method="POST", route=REMOVE, status=status)


class InterruptAfter(NullReporter):
    """Simulates Ctrl-C arriving in ``phase`` (``submitting`` or ``polling``) once ``n``
    batches were accepted."""

    def __init__(self, n: int, phase: str = "submitting") -> None:
        self.n = n
        self.phase = phase

    def update(self, snapshot: Any) -> None:
        if snapshot.phase == self.phase and snapshot.batches_submitted >= self.n:
            raise KeyboardInterrupt
