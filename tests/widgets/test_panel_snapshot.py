"""The panel's snapshot checkbox: emails as input, the per-list preview in the
confirmation, and exact outcomes; headless against the emulator over HTTP."""

from __future__ import annotations

import pandas as pd
import pytest

import ccpandas

pytest.importorskip("ipywidgets", reason="the panel needs ipywidgets")

FAST = {"rate": None, "speed": 1_000_000.0}


def test_panel_with_snapshot_takes_emails_and_says_who_leaves(cc_emulator_factory):
    from ccpandas.widgets import RemovalPanel

    emu = cc_emulator_factory(seed=21, contacts=900, **FAST)
    client, acct = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None), emu.account
    news, customers = acct.list_named("Newsletter"), acct.list_named("Customers")
    before = {news: acct.members(news), customers: acct.members(customers)}
    chosen = sorted(before[news])[:25]
    df = pd.DataFrame({"email": [acct.contact(c).email.upper() for c in chosen]})
    lists = ccpandas.read_contact_lists(client)
    panel = RemovalPanel(df, "email", client=client, lists=lists)
    panel.targets.value = ["Newsletter", "Customers"]
    assert panel.plan is None  # an email column cannot be planned without the snapshot
    panel.snapshot.value = True
    plan = panel.plan
    assert plan is not None and plan.membership.key == "email"
    leaving = {lid: len(set(chosen) & before[lid]) for lid in plan.list_ids}
    names = {news: "Newsletter", customers: "Customers"}
    shown = ", ".join(f"{names[lid]} {n}" for lid, n in leaving.items())
    total = sum(leaving.values())
    assert panel.confirm.description == (
        f"I understand {total} memberships will be removed ({shown})"
    )
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.wait(30)
    assert result is not None and result.ok
    changes = result.changes
    assert set(changes.loc[changes["outcome"] == "removed", "contact_id"]) == set(chosen)
    assert not acct.members(news) & set(chosen)
