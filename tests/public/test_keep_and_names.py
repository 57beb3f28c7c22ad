"""Guards before anything is sent: an empty keep set, and list names that only a
deleted list has. Over HTTP against the emulator, counting what it saw."""

from __future__ import annotations

import pandas as pd
import pytest
from engine_support import posts

import ccpandas
from ccpandas import PlanError, Source


def test_an_empty_keep_set_is_refused_unless_confirmed(fast_account):
    emu, client, target = fast_account(seed=41, contacts=400)
    before = set(emu.account.members(target))
    members = pd.DataFrame({"contact_id": sorted(before)})
    # A filter that matched nothing: keeping "these" would empty the list.
    vip = members[members["contact_id"] == "nobody"]
    assert vip.empty

    with pytest.raises(PlanError, match="confirm_empty=True"):
        vip.cc.keep_in_lists([target], client=client, progress=False)
    for source in (Source.list_ids([target]), Source.all_active_contacts()):
        for exclude in (vip["contact_id"], [], vip):
            with pytest.raises(PlanError, match="would remove every contact"):
                ccpandas.remove_list_memberships(
                    client,
                    [target],
                    source=source,
                    exclude=exclude,
                    confirm_all_active=True,
                    progress=False,
                )
    assert posts(emu) == 0
    assert emu.account.members(target) == before

    # Said explicitly, it is done.
    result = vip.cc.keep_in_lists([target], client=client, confirm_empty=True, progress=False)
    assert result.ok and posts(emu, 201) == 1
    assert emu.account.members(target) == set()


def test_list_names_resolve_against_active_lists_only(fast_account):
    emu, client, _ = fast_account(seed=42, contacts=300)
    acct = emu.account
    old = acct.list_ids()[1]
    name = acct.lists[old].name
    acct.delete_list(old)
    df = pd.DataFrame({"contact_id": acct.contact_ids()[:20]})

    # Only a deleted list has the name: a PlanError that says so, and nothing sent.
    with pytest.raises(PlanError, match="only a deleted list has that name") as info:
        df.cc.remove_from_lists([name], client=client, progress=False)
    assert old in str(info.value) and info.value.values == [name]
    with pytest.raises(PlanError, match="deleted list"):
        df.cc.keep_in_lists([name], client=client, progress=False)
    with pytest.raises(PlanError, match="deleted list"):
        ccpandas.read_contacts(client, lists=[name])
    assert posts(emu) == 0
    with pytest.raises(PlanError, match="unknown list name") as info:
        df.cc.remove_from_lists([name + " 2"], client=client, progress=False)
    assert "deleted" not in str(info.value)

    # Re-created under the same name: the name means the new list, not "ambiguous".
    new = acct.create_list(name)
    acct.add_members(new, df["contact_id"])
    live = {c for c in df["contact_id"] if acct.contacts[c].status != "deleted"}
    assert set(ccpandas.read_contacts(client, lists=name)["contact_id"]) == live
    result = df.cc.remove_from_lists([name], client=client, progress=False)
    assert result.ok and result.plan.list_ids == (new,)
    assert acct.members(new) == set()
    assert posts(emu, 404) == 0


def test_keep_in_lists_is_guarded_by_max_removed_like_a_sync(fast_account):
    # Keeping 20 members of a list removes all the others: as a sync would, keep_in_lists
    # refuses to take more than max_removed (0.5 of a list by default) off a list.
    emu, client, target = fast_account(seed=43, contacts=1200)
    acct = emu.account
    name = acct.lists[target].name
    before = acct.members(target)
    size = len(before)
    few = pd.DataFrame({"contact_id": sorted(before)[:20]})
    refusal = (
        rf"keep_in_lists would remove {size - 20:,} of the {size:,} members of {name!r}, "
        rf"more than max_removed=0.5 allows \({size // 2:,}\)"
    )
    for options in ({}, {"dry_run": True}, {"snapshot": True}):
        with pytest.raises(PlanError, match=refusal):
            few.cc.keep_in_lists([name], client=client, progress=False, **options)
    # Without a read the guard cannot count: refused before any request.
    gets = acct.count(method="GET")
    with pytest.raises(PlanError, match="max_removed=None"):
        few.cc.keep_in_lists([target], client=client, snapshot=False, progress=False)
    with pytest.raises(ValueError, match=r"max_removed=1\.5"):
        few.cc.keep_in_lists([target], client=client, max_removed=1.5)
    assert acct.count(method="GET") == gets
    assert posts(emu) == 0 and acct.members(target) == before

    # Most of the list kept passes the default guard; a count or None allows the rest.
    most = pd.DataFrame({"contact_id": sorted(before)[: size * 3 // 4]})
    assert most.cc.keep_in_lists([target], client=client, progress=False).ok
    assert few.cc.keep_in_lists([target], client=client, max_removed=size, progress=False).ok
    assert acct.members(target) == set(few["contact_id"])


def test_the_plans_advice_to_keep_the_rest_is_one_the_guard_lets_through(fast_account):
    # Removing most of a list, the plan advises keep_in_lists instead; followed as
    # written, that keep (most of the list leaving) met its max_removed guard.
    emu, client, target = fast_account(seed=44, contacts=400)
    acct = emu.account
    members = sorted(acct.members(target))
    leave, stay = members[: len(members) * 3 // 4], members[len(members) * 3 // 4 :]
    plan = pd.DataFrame({"contact_id": leave}).cc.plan([target], client=client, snapshot=True)
    advice = next(n for n in plan.notes if "keep_in_lists" in n)
    assert "keep_in_lists([...], max_removed=None)" in advice
    kept = pd.DataFrame({"contact_id": stay}).cc.keep_in_lists(
        [target], client=client, max_removed=None, progress=False
    )
    assert kept.ok and acct.members(target) == set(stay)


def test_refused_input_names_the_tags_and_lists_it_did_not_look_up(fast_account):
    emu, client, target = fast_account(seed=43, contacts=100)
    before = emu.account.request_counts.total()
    says = {
        (target,): "tag name 'Spring fair' not looked up",
        ("Newsletter",): "list name 'Newsletter' and tag name 'Spring fair' not looked up",
    }
    for targets, message in says.items():
        with pytest.raises(PlanError, match=f"nothing was sent; {message}"):
            ccpandas.remove_list_memberships(
                client, targets, source=Source.tag_ids(["Spring fair"]), exclude=[target]
            )
    assert emu.account.request_counts.total() == before
