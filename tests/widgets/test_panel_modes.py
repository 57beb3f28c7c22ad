"""The panel's add and sync modes against the emulator over real HTTP, headless: the
mode choice, the per-list preview, the confirmation that names adds and removes, the
``max_removed`` guard, the live status and the undo. Every expected membership is
read independently from the emulator's ``Account``."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.errors import PlanError
from ccpandas.models import SourceKind
from ccpandas.widgets import RemovalPanel
from ccpandas.widgets.panel import max_removed_of

ADD = "/v3/activities/add_list_memberships"
REMOVE = "/v3/activities/remove_list_memberships"


def members(emu: Emulator, name: str) -> set[str]:
    return set(emu.account.members(emu.account.list_named(name)))


def posts(emu: Emulator, route: str) -> int:
    return emu.account.count(method="POST", route=route)


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def test_add_mode_previews_confirms_adds_and_undoes(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    news, customers = members(emu, "Newsletter"), members(emu, "Customers")
    outsiders = sorted(set(emu.account.contact_ids("active")) - news - customers)[:12]
    on_news = sorted(news - customers)[:5]
    ids = [*outsiders, *on_news]
    segment = pd.DataFrame({"contact_id": [*ids, "not-an-id", None, ids[0]]})
    panel = RemovalPanel(segment, client=client, lists=lists, background=False)
    assert panel.mode.value == "remove" and panel.remove_button.description == "Remove"
    panel.mode.value = "add"
    assert panel.snapshot.value and not panel.snapshot.disabled  # an add reads the lists
    assert panel.remove_button.description == "Add"
    assert "Add contacts to lists" in panel._title.value
    panel.targets.value = ["Newsletter", "Customers"]

    plan = panel.plan
    assert plan is not None and plan.kind == "add"
    to_news, to_customers = len(outsiders), len(ids)  # the Newsletter members stay
    adds = {"Newsletter": to_news, "Customers": to_customers}
    names = dict(zip(lists["list_id"], lists["name"], strict=True))
    per_list = ", ".join(f"{names[i]} {adds[names[i]]}" for i in plan.list_ids)
    assert panel.confirm.description == (
        f"I understand {to_news + to_customers} memberships will be added ({per_list})"
    )
    shown = plain(panel.preview.html.value)
    assert f"Newsletter {to_news} {len(on_news)}" in shown  # to add, already members
    assert f"Customers {to_customers} 0" in shown
    assert "contacts to add (valid, unique) 17" in shown and "+ 1 add + about" in shown
    assert panel.preview.text().startswith(
        f"plan: {to_news + to_customers} memberships will be added"
    )

    panel.remove_button.click()  # not confirmed: nothing is sent
    assert posts(emu, ADD) == 0 and panel.result is None
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    assert result is not None and result.ok and result.plan.kind == "add"
    assert members(emu, "Newsletter") == news | set(outsiders)
    assert members(emu, "Customers") == customers | set(ids)
    assert posts(emu, ADD) == 1 and posts(emu, REMOVE) == 0
    assert panel.status.text().startswith("done: 1 activity completed")
    assert "added (verified)" in panel.status.text()
    assert "AddResult" in panel.result_view.value
    assert panel.mode.disabled  # the run is over: no other mode for this plan

    assert panel.undo_confirm.description == (
        "I understand the undo will take the contacts it added off their lists "
        f"(up to {to_news + to_customers} memberships on 2 lists)"
    )
    panel.undo_confirm.value = True
    panel.undo_button.click()
    assert panel.undo_result is not None and panel.undo_result.ok
    assert members(emu, "Newsletter") == news and members(emu, "Customers") == customers


def test_sync_mode_guard_then_sync_in_the_background_and_undo(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    before = members(emu, "Customers")
    ranked = sorted(before)
    keep = ranked[: len(ranked) * 3 // 4]
    leave = set(ranked) - set(keep)
    newcomers = sorted(set(emu.account.contact_ids("active")) - before)[:9]
    segment = pd.DataFrame({"contact_id": [*keep, *newcomers, "junk", keep[0]]})
    panel = RemovalPanel(segment, client=client, lists=lists, mode="sync", background=True)
    assert panel.remove_button.description == "Sync"
    assert panel.snapshot.value and panel.snapshot.disabled  # a sync always reads
    assert panel._guard_box.layout.display is None and panel.max_removed.value == "0.5"
    assert not panel.max_removed.continuous_update  # typing does not read the lists per key
    panel.targets.value = ["Customers"]
    assert panel.plan is not None and panel.plan.kind == "sync"

    panel.max_removed.value = "0.1"  # fewer than the quarter the sync would remove
    assert panel.plan is None and panel.confirm.disabled
    error = panel.preview.error
    assert "max_removed" in error and "'Customers'" in error
    assert f"{len(leave)} of the {len(before)} members" in error
    panel.max_removed.value = "half"
    assert panel.plan is None and "max_removed 'half'" in panel.preview.error
    panel.max_removed.value = str(len(leave))  # a count: exactly enough
    assert panel.plan is not None
    panel.max_removed.value = "0.5"
    assert posts(emu, ADD) + posts(emu, REMOVE) == 0

    assert panel.confirm.description == (
        f"I understand {len(newcomers)} memberships will be added (Customers "
        f"{len(newcomers)}) and {len(leave)} removed (Customers {len(leave)})"
    )
    shown = plain(panel.preview.html.value)
    assert f"Customers {len(newcomers)} {len(leave)} {len(keep)}" in shown  # add, remove, kept
    assert "+ 1 add, 1 removal + about" in shown
    panel.confirm.value = True
    panel.remove_button.click()  # a worker thread; plain Python waits here
    result = panel.wait(60)
    assert result is not None and result.ok and panel.status.stoppable
    assert members(emu, "Customers") == set(keep) | set(newcomers)
    assert posts(emu, ADD) == 1 and posts(emu, REMOVE) == 1
    assert panel.status.text().startswith("done: 2 activities completed")
    assert "SyncResult" in panel.result_view.value

    assert panel.undo_confirm.description == (
        "I understand the undo will take the contacts it added off their lists and put "
        f"back those it removed (up to {len(newcomers)} and {len(leave)} memberships on 1 list)"
    )
    panel.undo_confirm.value = True
    panel.undo_button.click()
    panel.wait(60)
    assert panel.undo_result is not None and panel.undo_result.ok
    assert members(emu, "Customers") == before


def test_modes_take_the_dataframe_and_say_what_they_cannot_do(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="mode must be one of 'remove', 'add', 'sync'"):
        RemovalPanel(pd.DataFrame({"contact_id": []}), client=client, lists=lists, mode="move")
    ids = sorted(emu.account.contact_ids("active"))[:4]
    panel = RemovalPanel(pd.DataFrame({"contact_id": ids}), client=client, lists=lists)
    panel.targets.value = ["Prospects"]
    panel.source.kind.value = SourceKind.TAG_IDS
    panel.mode.value = "add"  # add takes the DataFrame's contacts: the source follows
    assert panel.source.kind.value is SourceKind.CONTACT_IDS
    panel.snapshot.value = False  # an add without the read: every contact is sent
    assert panel.confirm.description == "I understand 4 contacts will be added to 1 list"
    assert "not read" in plain(panel.preview.html.value)
    panel.source.kind.value = SourceKind.ENGAGEMENT_LEVEL
    panel.source.level.value = "low"
    assert panel.plan is None and "contacts in this DataFrame" in panel.preview.error
    panel.mode.value = "remove"  # the API's sources remove as before
    assert panel.plan is not None and panel.plan.kind == "remove"
    assert panel.remove_button.description == "Remove"
    assert panel.confirm.description.endswith("will be removed from 1 list")
    assert posts(emu, ADD) + posts(emu, REMOVE) == 0


def test_max_removed_as_typed() -> None:
    assert max_removed_of("0.5") == 0.5 and max_removed_of("12") == 12
    assert max_removed_of(" NONE ") is None
    for bad in ("1.5", "-3", "", "half"):
        with pytest.raises(PlanError, match="max_removed"):
            max_removed_of(bad)


def test_a_preview_over_todays_quota_says_so_before_reading(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    news = sorted(members(emu, "Newsletter"))
    segment = pd.DataFrame({"email": [emu.account.contact(c).email for c in news[:40]]})
    panel = RemovalPanel(segment, "email", client=client, lists=lists, background=False)
    _refused_before_reading(emu, client, panel)


def _refused_before_reading(emu: Emulator, client: ccpandas.Client, panel: RemovalPanel) -> None:
    """With 2 requests left today, picking the target list shows the refusal in place
    of the preview, and nothing is read."""
    counter = client.stats.day_counter
    counter.add(n=10_000 - 2 - counter.usage().used)  # 2 requests left today on the key
    reads = emu.account.count(method="GET", route="/v3/contacts")
    panel.targets.value = ["Newsletter"]
    assert panel.plan is None and panel.confirm.disabled  # nothing to confirm
    assert "stopped before its first list read" in panel.preview.error
    assert emu.account.count(method="GET", route="/v3/contacts") == reads


def test_a_source_preview_with_the_read_ticked_over_todays_quota_says_so_before_reading(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    panel = RemovalPanel(None, client=client, lists=lists, background=False)
    panel.source.kind.value = SourceKind.LIST_IDS
    panel.source.lists.value = ["Prospects"]
    panel.snapshot.value = True  # "read the lists": the preview reads their members
    _refused_before_reading(emu, client, panel)


def test_undo_confirmation_counts_every_pair_the_undo_reverses() -> None:
    # A busy account: the run's verification saw only some of its changed pairs (the
    # others stay "unverified"). The undo reverses them all, yet its tick box named the
    # verified ones only: "5 memberships will be added back" for an undo that also took
    # 20 contacts off the list.
    with (
        Emulator(seed=12, contacts=3000, lists=3, speed=1_000_000, rate=None) as emu,
        ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as client,
    ):
        acct = emu.account
        order = acct.contact_ids("active")
        big = acct.create_list("Big")
        acct.set_members(big, order[:1200])
        other = acct.create_list("Other")
        busy = pd.DataFrame({"contact_id": order[:2600]})
        assert busy.cc.add_to_lists([other], client=client, snapshot=False, progress=False).ok
        newcomers = order[-20:]
        segment = pd.DataFrame({"contact_id": [*order[5:1200], *newcomers]})
        panel = RemovalPanel(segment, client=client, background=False)
        panel.mode.value = "sync"
        panel.targets.value = [big]
        panel.confirm.value = True
        panel.remove_button.click()
        result = panel.result
        assert result is not None and result.ok
        assert result.verification()["sample"]  # the situation this test is about
        assert panel.undo_confirm.description == (
            "I understand the undo will take the contacts it added off their lists and "
            "put back those it removed (up to 20 and 5 memberships on 1 list)"
        )
        panel.undo_confirm.value = True
        panel.undo_button.click()
        undo = panel.undo_result
        assert undo is not None and undo.ok
        assert acct.members(big) == set(order[:1200])


def test_a_preview_sent_after_the_lists_grew_is_refused_and_shown_again(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    # Preview now, click later: the API chooses who leaves when the request is sent.
    # Contacts who joined in between would leave too, unshown and unconfirmed: refused,
    # nothing sent, and the preview is planned again with today's members.
    acct = emu.account
    target = acct.list_named("Prospects")
    keep = sorted(acct.members(target))[:5]
    panel = RemovalPanel(pd.DataFrame({"contact_id": keep}), client=client, lists=lists)
    panel.targets.value = ["Prospects"]
    panel.source.kind.value = SourceKind.LIST_IDS
    panel.source.keep.value = True
    panel.source.lists.value = ["Prospects"]
    assert panel.snapshot.value and panel.plan is not None and panel.plan.membership.known
    planned = panel.confirm.description
    m = panel.plan.membership  # the preview counts the read again before the send
    assert m.recheck_requests == m.snapshot.requests > 0
    assert f"{m.read_requests} reads (snapshot)" in plain(panel.preview.html.value)
    joined = [c for c in acct.contact_ids("active") if c not in acct.members(target)][:7]
    acct.add_members(target, joined)
    panel.confirm.value = True
    panel.remove_button.click()
    assert panel.result is None and posts(emu, REMOVE) == 0
    assert "7 more members of it would leave now" in plain(panel.message.value)
    assert set(joined) <= acct.members(target)
    # The preview shows today's members, and asks again.
    assert not panel.confirm.value and panel.remove_button.disabled
    assert panel.confirm.description != planned
    panel.confirm.value = True
    panel.remove_button.click()
    assert panel.result is not None and panel.result.ok
    assert set(acct.members(target)) == set(keep)
    assert panel.result.plan.read_requests == panel.plan.read_requests


def test_add_and_sync_pick_at_most_50_target_lists_and_say_why(client: ccpandas.Client) -> None:
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1, 61)]
    many = pd.DataFrame({"list_id": ids, "name": [f"List {i:02d}" for i in range(1, 61)]})
    panel = RemovalPanel(pd.DataFrame({"contact_id": []}), client=client, lists=many)
    for mode in ("add", "sync"):
        panel.mode.value = "remove"
        panel.targets.select.value = tuple(ids)  # a removal splits them into requests of 50
        assert len(panel.targets.value) == 60
        assert "split into 2 groups of at most 50" in plain(panel.targets.count.value)
        panel.mode.value = mode  # the 60 picked stay (the preview says why they can't)
        assert "can be on at most 50 lists" in plain(panel.targets.count.value)
        panel.targets.value = ()
        panel.targets.select.value = tuple(ids)
        assert panel.targets.value == tuple(ids[:50])
        message = plain(panel.targets.count.value)
        assert "50 of 60 lists selected" in message
        assert "Stopped at 50: a contact can be on at most 50 lists" in message
        assert "10 more were not added" in message and "split" not in message
