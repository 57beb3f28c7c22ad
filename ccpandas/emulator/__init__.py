"""A local, faithful Constant Contact V3 server for tests, demos and practice.

Start it from Python::

    from ccpandas.emulator import Emulator

    with Emulator(seed=1) as emu:
        print(emu.base_url, emu.account.list_ids())

or from a shell: ``python -m ccpandas.emulator --port 8765``. The emulator guide in
the documentation describes every endpoint, setting, fault and assumption.

Example:
    >>> emu = Emulator(seed=1, contacts=10, lists=2)
    >>> len(emu.account.contacts), len(emu.account.lists)
    (10, 2)
"""

from __future__ import annotations

from ccpandas.emulator.account import Account, RequestRecord
from ccpandas.emulator.clock import Clock, ManualClock, OffsetClock, SystemClock
from ccpandas.emulator.core import Emulator
from ccpandas.emulator.model import Activity, Contact, ContactList, Segment, Tag
from ccpandas.emulator.settings import Settings
from ccpandas.emulator.tokens import TokenStore

__all__ = [
    "Account",
    "Activity",
    "Clock",
    "Contact",
    "ContactList",
    "Emulator",
    "ManualClock",
    "OffsetClock",
    "RequestRecord",
    "Segment",
    "Settings",
    "SystemClock",
    "Tag",
    "TokenStore",
]
