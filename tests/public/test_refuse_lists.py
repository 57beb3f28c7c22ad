"""Target lists that are not active lists of this account are refused before anything
is sent (issue 21, section 3): a typo, a deleted list's id, another account's list.
Over real HTTP against the emulator; every count is the emulator's own."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

import ccpandas
from ccpandas.errors import PlanError

FAST = {"rate": None, "speed": 1_000_000.0}
LISTS = "/v3/contact_lists"


def _writes(emu) -> int:
    return emu.account.count(method="POST")


def _bad_lists(emu, other) -> dict[str, str]:
    """A typo'd id, a deleted list's id and another account's list id."""
    acct = emu.account
    gone = acct.list_ids()[2]
    acct.delete_list(gone)
    return {
        "typo": str(uuid.uuid4()),
        "deleted": gone,
        "other account": other.account.list_ids()[0],
    }


# A sync always reads the lists (snapshot=False is refused on its own): no such case.
_VERBS, _SNAPSHOTS = ("remove", "add", "sync"), ("auto", True, False)
_CASES = [(v, s) for v in _VERBS for s in _SNAPSHOTS if (v, s) != ("sync", False)]


@pytest.mark.parametrize(("verb", "snapshot"), _CASES)
def test_a_list_id_that_is_not_an_active_list_is_refused(
    cc_emulator_factory, connect, verb, snapshot
):
    emu = cc_emulator_factory(seed=5, contacts=200, **FAST)
    other = cc_emulator_factory(seed=6, contacts=20, **FAST)
    client, acct = connect(emu), emu.account
    runs_before = len(ccpandas.runs())
    good = acct.list_ids()[0]
    df = pd.DataFrame({"contact_id": sorted(acct.members(good))[:30]})
    call = {"remove": ccpandas.remove_from_lists, "add": ccpandas.add_to_lists}.get(
        verb, ccpandas.sync_lists
    )
    for why, bad in _bad_lists(emu, other).items():
        before = acct.count(route=LISTS)
        with pytest.raises(PlanError) as info:
            call(df, [good, bad], client=client, snapshot=snapshot, progress=False)
        assert bad in str(info.value), why
        assert info.value.values == [bad]
        assert ("deleted" in str(info.value)) == (why == "deleted")
        assert acct.count(route=LISTS) - before == 1, why  # one listing, no more
    assert _writes(emu) == 0
    assert acct.count(route="/v3/contacts") == 0  # no membership read either
    assert len(ccpandas.runs()) == runs_before  # nothing journaled: no run was started


def test_names_and_ids_of_deleted_lists_are_refused_with_one_listing(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=7, contacts=100, **FAST)
    client, acct = connect(emu), emu.account
    good, gone = acct.list_ids()[:2]
    name = acct.lists[gone].name
    acct.delete_list(gone)
    df = pd.DataFrame({"contact_id": sorted(acct.members(good))[:10]})
    for given in (name, gone):
        before = acct.count(route=LISTS)
        with pytest.raises(PlanError, match="deleted") as info:
            df.cc.remove_from_lists([good, given], client=client, progress=False)
        assert gone in str(info.value)
        assert acct.count(route=LISTS) - before == 1
    # A name and a snapshot: still one listing for names, ids and sizes together.
    before = acct.count(route=LISTS)
    plan = df.cc.plan([acct.lists[good].name], client=client, snapshot=True)
    assert plan.list_ids == (good,)
    assert acct.count(route=LISTS) - before == 1
    assert _writes(emu) == 0


def test_a_source_removal_refuses_unknown_target_and_source_lists(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=8, contacts=100, **FAST)
    client, acct = connect(emu), emu.account
    good, source = acct.list_ids()[:2]
    typo = str(uuid.uuid4())
    for targets, src in (([typo], [source]), ([good], [typo])):
        with pytest.raises(PlanError, match="not a list of this account") as info:
            ccpandas.remove_list_memberships(
                client,
                targets,
                source=ccpandas.Source.list_ids(src),
                snapshot=False,
                progress=False,
            )
        assert typo in str(info.value)
    assert _writes(emu) == 0


def test_planning_by_ids_without_a_client_stays_offline(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=9, contacts=50, **FAST)
    acct = emu.account
    df = pd.DataFrame({"contact_id": acct.contact_ids()[:5]})
    typo = str(uuid.uuid4())
    # No client, no snapshot, UUIDs only: planned offline, the lists not checked...
    plan = df.cc.plan([typo], snapshot=False)
    assert plan.list_ids == (typo,) and acct.count() == 0
    # ...but a removal (a run) checks them first, with the default client if need be.
    with pytest.raises(PlanError, match="not a list of this account"):
        ccpandas.remove_from_lists(df, [typo], client=connect(emu), snapshot=False, progress=False)
    assert _writes(emu) == 0
