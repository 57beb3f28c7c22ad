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
    panel.snapshot.value = False  # ticked by default, as snapshot="auto"
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


def newsletter_and_outsiders(factory, seed: int, n_members: int, n_outsiders: int):
    """An emulator (900 contacts), a client, and the first members of its Newsletter
    and active contacts not on it."""
    emu = factory(seed=seed, contacts=900, **FAST)
    client, acct = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None), emu.account
    on_news = acct.members(acct.list_named("Newsletter"))
    outsiders = [c for c in acct.contact_ids("active") if c not in on_news][:n_outsiders]
    return emu, client, sorted(on_news)[:n_members], outsiders


def test_the_preview_counts_every_row_once(cc_emulator_factory):
    # Issue 21: "402 rows = 267 + 0 + 0 + 0", with no "not a member" line.
    from ccpandas.widgets import RemovalPanel

    emu, client, members, outsiders = newsletter_and_outsiders(cc_emulator_factory, 22, 30, 12)
    acct = emu.account
    emails = [acct.contact(c).email for c in [*members, *outsiders]]
    df = pd.DataFrame({"email": [*emails, "not an address", emails[0]]})
    panel = RemovalPanel(df, "email", client=client, lists=ccpandas.read_contact_lists(client))
    panel.targets.value = ["Newsletter"]
    panel.snapshot.value = True
    text = " ".join(panel.preview.html.value.split())
    assert "RemovalPlan" not in text  # (the panel shows its own table)
    figures = {
        "rows in the DataFrame": len(df),
        "contacts to remove (valid, unique)": 30,
        "invalid emails (never sent)": 1,
        "duplicate rows (sent once)": 1,
        "on none of the target lists (nothing to remove)": 12,
    }
    for label, n in figures.items():
        assert f"<td>{label}</td><td>{n}</td>" in text.replace("> <", "><"), label
    assert sum(list(figures.values())[1:]) == len(df)
    assert "invalid ids" not in text


def test_the_panel_reads_the_lists_by_default_as_python_does(cc_emulator_factory):
    # Issue 21: the panel read nothing by default where snapshot="auto" reads; its
    # confirmation counted rows ("402 contacts will be removed") where fewer were members,
    # and an email column said "no valid contact id" without naming the box.
    from ccpandas.widgets import RemovalPanel

    emu, client, members, outsiders = newsletter_and_outsiders(cc_emulator_factory, 23, 20, 7)
    acct = emu.account
    df = pd.DataFrame({"email": [acct.contact(c).email for c in [*members, *outsiders]]})
    panel = RemovalPanel(df, "email", client=client, lists=ccpandas.read_contact_lists(client))
    assert panel.snapshot.value is True
    panel.targets.value = ["Newsletter"]
    plan = panel.plan
    assert plan is not None and plan.membership is not None and plan.membership.known
    confirm = "I understand 20 memberships will be removed (Newsletter 20)"
    assert panel.confirm.description == confirm
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.wait(30)
    assert result is not None and result.ok and result.after is not None  # verified
    assert not acct.members(acct.list_named("Newsletter")) & set(members)


def test_panel_source_with_snapshot_counts_every_request_it_sent(cc_emulator_factory):
    # A source's plan with the lists read (the checkbox) was made outside the measured
    # planning: its reads sent again after a 5xx were missing from the spent requests.
    from ccpandas.models import SourceKind
    from ccpandas.widgets import RemovalPanel

    emu = cc_emulator_factory(seed=22, contacts=3000, lists=3, **FAST)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    first, target, source = emu.account.list_ids()
    lists = ccpandas.read_contact_lists(client)
    names = dict(zip(lists["list_id"], lists["name"], strict=True))
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(first))[:50]})
    panel = RemovalPanel(df, client=client, lists=lists, background=False)
    panel.snapshot.value = False
    panel.targets.value = [names[target]]
    panel.source.kind.value = SourceKind.LIST_IDS
    panel.source.lists.value = [names[source]]
    before = emu.account.count()
    emu.configure(error_rate=0.5, gateway_timeouts=False)
    panel.snapshot.value = True
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    emu.configure(error_rate=0)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    assert result is not None and result.ok
    assert result.summary().spent_total == emu.account.count() - before
