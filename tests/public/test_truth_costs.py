"""Every number true (issue 21 §6): the plan's, the undo preview's and the panel's
cost figures count every request, over HTTP against the emulator: the snapshot's reads
(or email lookups), the changes, the expected polls and the verification's reads."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ccpandas.api import run_plan
from ccpandas.plan.polls import expected_run_seconds, request_items
from ccpandas.widgets.preview import PlanPreview

CHANGES = ("/v3/activities/remove_list_memberships", "/v3/activities/add_list_memberships")


def _reads(emu) -> int:
    """GET requests the emulator saw, activity polls left out."""
    return sum(
        1 for r in emu.account.request_log if r.method == "GET" and "activities" not in r.route
    )


def test_an_email_plan_counts_its_reads_and_verification(fast_account):
    emu, client, target = fast_account(seed=2111, contacts=1200, lists=3)
    members = sorted(emu.account.members(target))
    emails = [emu.account.contact(c).email for c in members]
    df = pd.DataFrame({"email": [*emails, "not an address", ""]})

    before = emu.account.count()
    plan = df.cc.plan([target], client=client, column="email", snapshot=True)
    spent = emu.account.count() - before

    assert plan.read_requests > 0 and plan.verify_requests > 0
    # the plan's reads are the requests planning cost (a list listing at most beside)
    assert plan.read_requests <= spent <= plan.read_requests + 1
    total = plan.read_requests + plan.n_requests + plan.expected_polls + plan.verify_requests
    assert plan.total_requests == total > plan.n_requests + plan.expected_polls
    assert plan.quota_share == total / plan.daily_quota
    assert plan.summary()["total_requests"] == total
    # the reads before and after, and the run between: its changes, polls and wait
    run = expected_run_seconds(plan.n_requests, plan.rate, request_items(plan.batches))
    reads = plan.read_requests + plan.verify_requests
    assert plan.estimated_seconds == pytest.approx(reads / plan.rate + run)
    assert run >= (plan.n_requests + plan.expected_polls - 1) / plan.rate
    assert f"{total:,} in all" in str(plan)

    # the panel's cost line says the same
    preview = PlanPreview()
    preview.value = plan
    shown = re.sub(r"<[^>]+>", " ", preview.html.value)
    assert f"{total:,} in all" in shown and "to verify" in shown

    # the run spends what the plan said on changes and verification
    before_reads, before_posts = _reads(emu), emu.account.count(method="POST")
    result = run_plan(plan, client=client, progress=False)
    assert result.ok and result.after is not None
    assert emu.account.count(method="POST") - before_posts == plan.n_requests
    assert _reads(emu) - before_reads == plan.verify_requests


def test_a_plan_without_a_snapshot_counts_changes_and_polls_only(fast_account):
    emu, client, target = fast_account(seed=2112, contacts=600)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    plan = df.cc.plan([target], client=client, snapshot=False)
    assert plan.read_requests == plan.verify_requests == 0
    assert plan.total_requests == plan.n_requests + plan.expected_polls
    assert "in all" not in str(plan)


def test_the_undo_preview_counts_its_fresh_read(fast_account):
    emu, client, target = fast_account(seed=2113, contacts=800, lists=2)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=True)
    assert result.ok

    before = emu.account.count()
    preview = result.undo(dry_run=True, progress=False)
    spent = emu.account.count() - before
    plan = preview.plan
    assert plan.check_requests == spent > 0
    total = plan.check_requests + plan.n_requests + plan.expected_polls + plan.read_requests
    assert plan.total_requests == total
    (cost,) = [text for label, text in plan.summary_lines() if label == "cost"]
    assert cost.startswith(f"{total:,} requests: {spent:,} reads to check the lists")
    verify = f"{plan.read_requests:,} read{'s' * (plan.read_requests != 1)} to verify"
    assert verify in cost

    # the undo itself reads as much again, then changes, polls and verifies
    before = emu.account.count()
    undone = result.undo(progress=False)
    assert undone.ok
    posts = sum(emu.account.count(method="POST", route=r) for r in CHANGES)
    assert posts >= plan.n_requests
    assert emu.account.count() - before >= plan.check_requests + plan.n_requests


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_a_plan_with_nothing_to_change_counts_no_verification(fast_account, kind):
    # A sync run again (a daily job) with nothing left to change said "1 in all with the
    # snapshot's 1 read and 1 read to verify", and its quota check asked for that read:
    # the run reads nothing after, since no contact changed.
    emu, client, target = fast_account(seed=2114, contacts=300, lists=2)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    plan = df.cc.plan([target], client=client, kind=kind, snapshot=True, max_removed=1.0)
    assert plan.n_requests == 0
    before = emu.account.count()
    result = run_plan(plan, client=client, progress=False)
    assert result.ok
    assert emu.account.count() - before == 0
    assert plan.verify_requests == 0
    assert plan.total_requests == plan.read_requests


def test_a_run_counts_every_request_planning_sent(fast_account):
    """A run's spent reads are the requests its planning sent, as the emulator counts
    them: the list listing of a run without a snapshot (and of its dry run), and a
    snapshot's read sent again after a 5xx."""
    emu, client, target = fast_account(seed=2114, contacts=1500, lists=3)
    members = sorted(emu.account.members(target))
    name = emu.account.lists[target].name

    def spent(call):
        before = emu.account.count()
        result = call()
        return result, result.summary().spent_total, emu.account.count() - before

    ids = pd.DataFrame({"contact_id": members[:40]})
    result, total, sent = spent(
        lambda: ids.cc.remove_from_lists([name], client=client, snapshot=False, progress=False)
    )
    assert result.ok and total == sent == 3  # the listing, the removal, a poll
    dry, total, sent = spent(
        lambda: ids.cc.remove_from_lists([name], client=client, snapshot=False, dry_run=True)
    )
    assert total == sent == 1 and dry.summary().spent["reads"] == 1

    start = emu.account.count()
    emu.configure(error_rate=0.5, gateway_timeouts=False)
    plan = pd.DataFrame({"contact_id": members[40:]}).cc.plan(
        [target], client=client, snapshot=True
    )
    emu.configure(error_rate=0)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    result = run_plan(plan, client=client, progress=False)
    assert result.ok and result.summary().spent_total == emu.account.count() - start


def test_an_undo_counts_its_fresh_read_retries_included(fast_account):
    """The undo's fresh read, retried after 5xx answers: the preview's `checked just now
    with N read requests` and both results' spent requests are what the emulator got."""
    emu, client, target = fast_account(seed=2115, contacts=3000, lists=2)
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:900]})
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=True)
    assert result.ok

    emu.configure(error_rate=0.5, gateway_timeouts=False)
    before = emu.account.count()
    preview = result.undo(dry_run=True, progress=False)
    sent = emu.account.count() - before
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    assert preview.summary().spent_total == preview.plan.check_requests == sent
    assert f"checked just now with {sent:,} read requests" in str(preview)

    before = emu.account.count()
    undone = result.undo(progress=False)
    emu.configure(error_rate=0)
    assert undone.ok and undone.summary().spent_total == emu.account.count() - before


def test_a_run_of_a_plan_made_earlier_counts_the_lists_it_read_again(fast_account):
    """`run_plan` of a keep plan reads its lists again before its first change: the
    run's spent requests count that read beside its planning's."""
    emu, client, target = fast_account(seed=2116, contacts=3000)
    keep = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:300]})
    before = emu.account.count()
    plan = keep.cc.keep_in_lists([target], client=client, max_removed=None, dry_run=True).plan
    result = run_plan(plan, client=client, progress=False)
    assert result.ok and result.summary().spent_total == emu.account.count() - before


def test_a_plan_of_targets_resolved_first_counts_their_listing_retries_included(fast_account):
    """`plan_list_removal(df, resolve_targets(...))`: the listing that resolved the
    names, sent again after a 5xx, is the plan's (and its run's) as the emulator
    counts it; the plan's own read figure stays the estimate without a snapshot."""
    from ccpandas.api import plan_list_removal, resolve_targets

    emu, client, target = fast_account(seed=2117, contacts=600, lists=3)
    ids = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:20]})
    before = emu.account.count()
    emu.configure(error_rate=0.5, gateway_timeouts=False)
    targets = resolve_targets((emu.account.lists[target].name,), client)
    plan = plan_list_removal(ids, targets, client=client)
    result = run_plan(plan, client=client, progress=False)
    emu.configure(error_rate=0)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    assert plan.read_requests == 0 and plan.spent_reads is not None
    assert result.ok and result.summary().spent_total == emu.account.count() - before


def test_targets_resolved_once_and_planned_twice_count_their_listing_once(fast_account):
    """Two plans of one `resolve_targets`: the listing was sent once, so only the first
    plan (and its run) counts it; both counted it, the runs claiming more than the
    emulator got (review)."""
    from ccpandas.api import plan_list_removal, resolve_targets

    emu, client, target = fast_account(seed=2117, contacts=600, lists=3)
    members = sorted(emu.account.members(target))
    before = emu.account.count()
    targets = resolve_targets((emu.account.lists[target].name,), client)
    spent = 0
    for part in (members[:10], members[10:20]):
        plan = plan_list_removal(pd.DataFrame({"contact_id": part}), targets, client=client)
        result = run_plan(plan, client=client, progress=False)
        assert result.ok
        spent += result.summary().spent_total
    assert spent == emu.account.count() - before


def test_a_plan_made_earlier_counts_its_read_again_retries_included(fast_account):
    """`run_plan` of a keep plan whose lists' read again is answered 5xx and sent
    again: the run's spent requests are every one the emulator got."""
    emu, client, target = fast_account(seed=2125, contacts=3000)
    keep = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:300]})
    before = emu.account.count()
    plan = keep.cc.keep_in_lists([target], client=client, max_removed=None, dry_run=True).plan
    emu.configure(error_rate=0.5, gateway_timeouts=False)
    result = run_plan(plan, client=client, progress=False)
    emu.configure(error_rate=0)
    assert emu.account.count(status=500) + emu.account.count(status=503) > 0  # retried
    assert result.ok and result.summary().spent_total == emu.account.count() - before


def test_a_plan_without_its_client_named_counts_the_default_clients_requests(fast_account):
    """The planning below the public call, its client left out: the default client's
    requests (the listing) are the plan's, not a guess from its first argument."""
    import ccpandas
    from ccpandas.api import _plan_list
    from ccpandas.read.snapshot import SnapshotChoice
    from ccpandas.run.options import RunOptions

    emu, client, target = fast_account(seed=2119, contacts=200)
    ids = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:5]})
    old = ccpandas.set_default_client(client)
    try:
        before = emu.account.count()
        options = RunOptions.of(dry_run=True, progress=False).started(None)
        choice = SnapshotChoice(snapshot=False)
        plan = _plan_list(ids, (emu.account.lists[target].name,), choice=choice, options=options)
    finally:
        ccpandas.set_default_client(old)
    assert plan.spent_reads == emu.account.count() - before == 1
