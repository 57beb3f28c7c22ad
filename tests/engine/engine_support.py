"""Helpers for the engine tests."""

from __future__ import annotations

from typing import Any

REMOVE = "/v3/activities/remove_list_memberships"


def posts(emu: Any, status: int | None = None) -> int:
    """How many removal POSTs the emulator saw (with ``status``, if given)."""
    return emu.account.count(method="POST", route=REMOVE, status=status)
