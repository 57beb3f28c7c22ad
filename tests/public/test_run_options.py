"""Run options over HTTP: checked once where the user gives them (before any request),
and ``verify`` kept by the run (its result and its journal), not by its plan."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import ccpandas
from ccpandas import Source

CONTACTS = "/v3/contacts"


def reads(emu) -> int:
    return emu.account.count(method="GET", route=CONTACTS)


def test_verify_false_is_kept_by_the_run_and_a_resume_from_the_journal(fast_account):
    emu, client, target = fast_account(seed=71, contacts=900)
    acct = emu.account
    chosen = sorted(acct.members(target))[:30]
    df = pd.DataFrame({"contact_id": chosen})
    result = ccpandas.remove_from_lists(
        df, [target], client=client, snapshot=True, verify=False, wait=False, progress=False
    )
    assert result.plan.membership.known and not hasattr(result.plan.membership, "verify")
    assert result.verify_after is False
    read_before = reads(emu)
    # Another process: only the journal says the run was not to be verified.
    again = ccpandas.resume(result.run_id, client=client, progress=False)
    assert again.done and again.verify_after is False
    assert again.after is None and reads(emu) == read_before  # no re-read
    assert set(again.changes["outcome"].astype(str)) == {"unverified"}
    assert not acct.members(target) & set(chosen)
    # verify() still reads on demand.
    assert set(again.verify().changes["outcome"].astype(str)) == {"removed"}


def test_verify_auto_by_default_rereads_after_a_resume(fast_account):
    emu, client, target = fast_account(seed=72, contacts=900)
    acct = emu.account
    df = pd.DataFrame({"contact_id": sorted(acct.members(target))[:30]})
    result = df.cc.remove_from_lists([target], client=client, snapshot=True, wait=False)
    read_before = reads(emu)
    again = ccpandas.resume(result.run_id, client=client, progress=False)
    assert again.verify_after == "auto" and again.after is not None
    assert reads(emu) > read_before
    assert set(again.changes["outcome"].astype(str)) == {"removed"}


@pytest.mark.parametrize(
    ("key", "value", "kind", "words"),
    [
        ("snapshot", "yes", ValueError, "snapshot must be 'auto', True, False"),
        ("verify", "no", TypeError, "verify must be True or False, not 'no' (str)"),
        ("verify", None, TypeError, "verify must be True or False"),
    ],
)
def test_membership_choices_are_refused_before_list_names_cost_a_request(
    fast_account, key, value, kind, words
):
    emu, client, _ = fast_account(seed=73, contacts=300)
    name = emu.account.lists[emu.account.list_ids()[0]].name  # resolving it is a request
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:5]})
    # snapshot=False: verify was left unchecked on that path before (a snapshot is off).
    given = {"snapshot": False, key: value}
    calls = [
        lambda: df.cc.remove_from_lists([name], client=client, **given),
        lambda: ccpandas.remove_from_lists(df, [name], client=client, **{key: value}),
        lambda: ccpandas.remove_list_memberships(
            client, [name], source=Source.list_ids([name]), **{key: value}
        ),
        lambda: df.cc.keep_in_lists([name], client=client, **{key: value}),
    ]
    for call in calls:
        with pytest.raises(kind, match=re.escape(words)):
            call()
    assert emu.account.count() == 0, [(r.method, r.route) for r in emu.account.request_log]


def test_by_is_refused_before_list_names_cost_a_request(fast_account):
    emu, client, _ = fast_account(seed=74, contacts=300)
    name = emu.account.lists[emu.account.list_ids()[0]].name
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:5]})
    with pytest.raises(ValueError, match="by must be 'auto', 'email' or 'contact_id'"):
        df.cc.remove_from_lists([name], client=client, by="name")
    assert emu.account.count() == 0


def test_a_plan_says_that_verify_false_belongs_to_the_run():
    df = pd.DataFrame({"contact_id": ["2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"]})
    target = "7c6b5a4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
    with pytest.warns(UserWarning, match="verify=False does nothing to a plan"):
        plan = df.cc.plan([target], verify=False, snapshot=False)
    assert plan.n_requests == 1
    with pytest.raises(TypeError, match="verify must be True or False"):
        df.cc.plan([target], snapshot=False, verify="no")


def test_a_plans_progress_is_checked_with_its_other_options_before_any_request(fast_account):
    emu, client, _ = fast_account(seed=75, contacts=300)
    name = emu.account.lists[emu.account.list_ids()[0]].name  # resolving it is a request
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:5]})
    # snapshot=False reads no member, so nothing showed progress: it went unchecked.
    with pytest.raises(ValueError, match="progress must be 'auto', 'tqdm', True, False"):
        ccpandas.api.plan_list_removal(df, [name], client=client, snapshot=False, progress="bar")
    assert emu.account.count() == 0, [(r.method, r.route) for r in emu.account.request_log]


# -- a keyword that is no option of the call: a TypeError naming it, before any request
@pytest.mark.parametrize(
    ("call", "name"),
    [
        (
            lambda df, t, c: ccpandas.remove_from_lists(df, t, client=c, max_removed=0.1),
            "remove_from_lists",
        ),
        (lambda df, t, c: ccpandas.add_to_lists(df, t, client=c, max_removed=0.1), "add_to_lists"),
        (lambda df, t, c: df.cc.add_to_lists(t, client=c, max_removed=0.1), "add_to_lists"),
        (
            lambda df, t, c: df.cc.remove_from_lists(t, client=c, keep=(df, "x")),
            "remove_from_lists",
        ),
        (lambda df, t, c: df.cc.remove_from_lists(client=c, dry_ru=True), "remove_from_lists"),
        (
            lambda df, t, c: ccpandas.remove_list_memberships(
                c, t, source=Source.list_ids(t), keep=(df, "contact_id")
            ),
            "remove_list_memberships",
        ),
        (lambda df, t, c: df.cc.keep_in_lists(t, client=c, max_remove=3), "keep_in_lists"),
    ],
)
def test_an_internal_or_misspelt_keyword_is_refused_before_any_request(
    fast_account, monkeypatch, call, name
):
    # max_removed (a sync's), keep (the accessor's) and a typo are no options of these
    # calls: they used to pass through **options unchecked (max_removed ran the change).
    import ccpandas._env

    monkeypatch.setattr(ccpandas._env, "in_notebook", lambda: True)  # the panel's branch
    emu, client, target = fast_account(seed=73, contacts=50)
    acct = emu.account
    df = pd.DataFrame({"contact_id": sorted(acct.members(target))[:3]})
    before = acct.request_counts.total()
    with pytest.raises(TypeError, match=rf"{name}\(\) got an unexpected keyword argument"):
        call(df, [target], client)
    assert acct.request_counts.total() == before
