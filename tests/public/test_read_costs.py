"""Exact read costs and every request counted (issue 23 §1, §3), over HTTP against the
emulator: union probes (``GET /contacts?include_count=true``) when the list sizes
leave the choice open, none when they decide it; a run that cannot fit in what is left
of today's quota refused before its first list read; the plan's request figure within
10 % of what the run then spends."""

from __future__ import annotations

import datetime as dt
import warnings
from urllib.parse import parse_qsl, urlsplit

import pandas as pd
import pytest

import ccpandas.api
from ccpandas.api import plan_list_removal
from ccpandas.emulator.clock import ManualClock
from ccpandas.errors import QuotaExceededError, QuotaShortError
from ccpandas.models import quota_day
from ccpandas.report.progress import NullReporter
from ccpandas.run.budget import QuotaCheck
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner
from ccpandas.widgets.preview import PlanPreview

FAST = {"rate": None, "speed": 1_000_000.0}


def _probe(path: str) -> bool:
    """A union probe: a count asked for with a page of one (a membership read asks for
    the count on its pages too, to see its lists change under it)."""
    query = dict(parse_qsl(urlsplit(path).query))
    return query.get("include_count") == "true" and query.get("limit") == "1"


def probes(emu) -> int:
    """The union probes the emulator answered."""
    return sum(1 for r in emu.account.request_log if r.method == "GET" and _probe(r.path))


def list_reads(emu) -> int:
    """``GET /contacts`` requests other than the probes (pages, lookups)."""
    return sum(
        1
        for r in emu.account.request_log
        if r.method == "GET" and r.route == "/v3/contacts" and not _probe(r.path)
    )


def shape(emu, lists: list[list[str]]) -> list[str]:
    """The account's first lists hold exactly these members; their ids."""
    ids = emu.account.list_ids()[: len(lists)]
    for lid, members in zip(ids, lists, strict=True):
        emu.account.set_members(lid, members)
    return ids


@pytest.fixture
def account(cc_emulator_factory):
    return cc_emulator_factory(seed=2301, contacts=4000, lists=3, **FAST)


def test_overlapping_lists_are_probed_and_read(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    # Three lists of the same 1,000 members: their sizes say 2 to 6 pages, the sends
    # without a snapshot 3: only the union's count can tell whether reading pays.
    targets = shape(emu, [active[:1000]] * 3)
    df = pd.DataFrame({"contact_id": active[:1200]})
    before = emu.account.count()
    plan = df.cc.plan(targets, client=client)
    spent = emu.account.count() - before

    assert probes(emu) == 1 and list_reads(emu) == 2
    assert plan.verifiable and plan.membership.lookup == "snapshot"
    assert plan.read_requests == 1 + 1 + 2 == spent  # listing, probe, pages
    (note,) = [n for n in plan.notes if n.startswith("read choice")]
    assert "1 union probe" in note and "counted 1,000 members" in note
    assert "costs 2 requests (the list sizes said 2 to 6)" in note
    assert "3 requests to send without a snapshot" in note and "chose reading" in note
    # a full re-read after the removal finds the lists empty: one page
    assert plan.verify_requests == 1


def test_disjoint_lists_are_probed_then_sent_blind(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    targets = shape(emu, [active[:1500], active[1500:3000]])
    df = pd.DataFrame({"contact_id": active[:2000]})
    before = emu.account.count()
    plan = df.cc.plan(targets, client=client)
    spent = emu.account.count() - before

    assert probes(emu) == 1 and list_reads(emu) == 0
    assert not plan.verifiable and plan.snapshot_cost == 6
    # the listing and the probe are the plan's reads, in its total and its text
    assert plan.read_requests == plan.planning_requests == 2 == spent
    assert plan.total_requests == 2 + plan.n_requests + plan.expected_polls
    assert f"{plan.total_requests:,} in all with 2 reads to plan" in str(plan)
    preview = PlanPreview()
    preview.value = plan
    assert f"{plan.total_requests:,} in all: 2 reads + " in preview.html.value
    (note,) = [n for n in plan.notes if n.startswith("read choice")]
    assert "counted 3,000 members" in note and "chose sending without a snapshot" in note


def test_no_probe_when_the_list_sizes_decide(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    targets = shape(emu, [active[:1000]] * 2)
    df = pd.DataFrame({"contact_id": active[:1200]})
    # one list: its size is its union
    df.cc.plan(targets[:1], client=client)
    # forced: the lists are read whatever they cost
    plan = df.cc.plan(targets, client=client, snapshot=True)
    # an email segment far larger than the upper bound: the read wins either way
    emails = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[:1000]]})
    by_email = emails.cc.plan(targets, client=client, column="email")
    assert probes(emu) == 0
    assert plan.verifiable and by_email.membership.lookup == "snapshot"
    assert "not probed, it could not change the choice" in by_email.notes[-1]


def test_email_lookups_only_when_cheaper_than_the_exact_read(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    targets = shape(emu, [active[:1000]] * 2)
    three = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[:3]]})
    # 3 lookups against a read of 2 to 4 pages: the probe says 2, so the read
    plan = three.cc.plan(targets, client=client, column="email")
    assert probes(emu) == 1 and plan.membership.lookup == "snapshot"
    assert "3 email lookups (one per address)" in plan.notes[-1]
    # 1 lookup is cheaper than any read of these lists: no probe, one lookup
    one = three.head(1).cc.plan(targets, client=client, column="email")
    assert probes(emu) == 1 and one.membership.lookup == "email lookups"
    assert one.read_requests == 1 + 1 and one.verify_requests == 1


def test_an_add_by_email_lookups_looks_each_address_up_once(account, connect):
    # The lookups found the addresses' contacts, kept those on a target list only, then
    # looked every other address up again (and counted the account first): 3 addresses
    # cost 7 requests where the plan chose them for 3, and its quota check said 3.
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:3000]])  # 6 pages: 4 lookups are cheaper
    emails = [emu.account.contact(c).email for c in [active[10], *active[3000:3002]]]
    df = pd.DataFrame({"email": [*emails, "nobody@example.com"]})
    before = emu.account.count()
    plan = df.cc.plan([target], client=client, column="email", kind="add")
    lookups = sum(1 for r in emu.account.request_log if "email=" in r.path)
    assert plan.membership.lookup == "email lookups" and lookups == 4
    assert emu.account.count() - before == plan.read_requests == 1 + 4
    result = ccpandas.api.run_plan(plan, client=client, progress=False)
    assert result.ok and emu.account.members(target) >= set(active[3000:3002])


def test_a_sync_by_email_reads_the_lists_however_few_the_addresses(account, connect):
    # 3 addresses against a list of 3,000 chose 3 lookups over 6 pages: the plan knew
    # no other member, removed nobody, and said "completed (ok)" with 3,002 left on it.
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:3000]])
    df = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[3000:3003]]})
    result = df.cc.sync_lists([target], client=client, column="email", max_removed=1.0)
    assert result.plan.membership.lookup == "snapshot"
    assert result.ok and emu.account.members(target) == set(active[3000:3003])


# -- the quota, before the first read ---------------------------------------------------------
@pytest.fixture
def big_list(cc_emulator_factory):
    """A list of 99,000 members: 198 pages to read, as many to verify."""
    emu = cc_emulator_factory(seed=2302, contacts=100_000, lists=1, tags=0, **FAST)
    (target,) = emu.account.list_ids()
    emu.account.set_members(target, emu.account.contact_ids()[:99_000])
    return emu, target


def test_a_run_that_cannot_fit_refuses_before_its_first_read(big_list, connect):
    emu, target = big_list
    client = connect(emu)
    client.stats.day_counter.add(n=9_850)
    emails = [emu.account.contact(c).email for c in emu.account.contact_ids()[:1000]]
    df = pd.DataFrame({"email": emails})
    with pytest.raises(QuotaShortError) as caught:
        df.cc.remove_from_lists([target], client=client, column="email", progress=False)
    err = caught.value
    # 198 reads, 2 sends and their 2 polls, at most 4 to verify (verify="auto" spends at
    # most the sends, or 4); only the listing spent
    assert err.needed == 206 and err.left == 150 - 1
    assert "this run needs about 206 requests" in str(err)
    assert "9,851 of 10,000 are used today on this key" in str(err)
    assert "Only 149 are left, so it stopped before its first list read" in str(err)
    assert "wait_for_quota=True" in str(err)
    assert isinstance(err, QuotaExceededError)  # handled as the quota everywhere
    assert emu.account.count(route="/v3/contacts") == 0
    assert emu.account.count(method="POST") == 0
    assert emu.account.count() == 1  # the list listing


def test_a_client_counts_on_its_pinned_day_so_no_midnight_empties_the_ledger(
    cc_emulator_factory, connect
):
    # A test filled the ledger, then its run checked it: a midnight in between showed a
    # fresh day and the run was not refused. The day pinned when the test began (here: a
    # midnight ago) is the one its requests, its counts and the check all use.
    emu = cc_emulator_factory(seed=2306, contacts=600, lists=1, **FAST)
    client = connect(emu)
    counter = client.stats.day_counter
    counter.day = quota_day() - dt.timedelta(days=1)
    counter.add(n=10_000)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    with pytest.raises(QuotaShortError):
        df.cc.remove_from_lists(emu.account.list_ids(), client=client, progress=False)
    assert counter.used() == 10_001 and counter.used(quota_day()) == 0  # the listing too
    assert client.stats.quota_day == counter.day


def test_a_run_the_check_before_its_reads_lets_go_is_not_refused_after_them(
    cc_emulator_factory, connect
):
    # 2 addresses off a list of 3,000: 2 lookups, then a verification of the changed
    # contacts ("at most 4"). The check before the reads counted the verification as the
    # lookups' 2, the check before the first change as 4: with 9 left the run spent its
    # listing and lookups, then was refused before its change (found by review).
    emu = cc_emulator_factory(seed=2301, contacts=4000, lists=3, **FAST)
    client = connect(emu)
    active = emu.account.contact_ids(status="active")
    target = emu.account.list_ids()[0]
    emu.account.set_members(target, active[:3000])
    df = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[10:12]]})
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 9)
    with pytest.raises(QuotaShortError, match="before its first list read"):
        df.cc.remove_from_lists([target], client=client, column="email", progress=False)
    assert emu.account.count() == 1  # the listing: no lookup spent for nothing
    counter.add(n=-2)  # the refused run's listing and one more left: it fits, completes
    result = df.cc.remove_from_lists([target], client=client, column="email", progress=False)
    assert result.ok and counter.used() <= 10_000


def test_the_check_before_the_first_change_counts_the_most_the_verification_spends(
    account, connect
):
    # A verification of the contacts changed since the run started reads every contact
    # changed since (a run a minute before changed 1,500): "about 1 request, at most 4",
    # the plan says. The check before the first change counted 1: the run went, and its
    # verification was refused by the quota half way.
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:3000]])
    earlier = pd.DataFrame({"contact_id": active[:1500]})
    assert earlier.cc.remove_from_lists([target], client=client, progress=False).ok
    df = pd.DataFrame({"contact_id": active[1500:1510]})
    plan = df.cc.plan([target], client=client, snapshot=True)
    assert plan.membership.verify_method == "changed" and plan.verify_requests == 1
    needed = plan.n_requests + plan.expected_polls + plan.verify_requests
    client.stats.day_counter.add(n=10_000 - client.stats.day_counter.used() - needed)
    emu.configure(quota_left=needed)
    with pytest.raises(QuotaShortError, match="at most 4 reads to verify"):
        ccpandas.api.run_plan(plan, client=client, progress=False)
    assert emu.account.count(method="POST") == 3  # the earlier run's only


def test_a_run_refused_before_its_first_change_leaves_no_run_behind(
    cc_emulator_factory, connect, monkeypatch, tmp_path
):
    # The check before the first change came after the run was journaled: a refused
    # run ("run it then") stayed in runs() as `stopped` with no reason, for ever, and
    # with wait_for_quota=True the run waited for the reset journaled but not held
    # (`stopped` while its process waited). Refused or stopped in that wait: no run.
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(tmp_path / "data"))  # a journal of its own
    emu = cc_emulator_factory(seed=2305, contacts=600, lists=1, **FAST)
    client = connect(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    plan = df.cc.plan(emu.account.list_ids(), client=client, snapshot=True)
    client.stats.day_counter.add(n=10_000)
    with pytest.raises(QuotaShortError, match="before its first change"):
        ccpandas.api.run_plan(plan, client=client, progress=False)

    class StopsTheWait(NullReporter):
        stop_requested = True

    with pytest.raises(QuotaShortError):
        ccpandas.api.run_plan(plan, client=client, progress=StopsTheWait(), wait_for_quota=True)
    assert ccpandas.runs().empty
    assert emu.account.count(method="POST") == 0


def _runner(client, clock: ManualClock, **kwargs) -> Runner:
    return Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0, **kwargs)


def test_wait_for_quota_waits_for_the_reset_before_the_first_read(fast_account):
    _, client, _ = fast_account(seed=2303, contacts=50)
    client.stats.day_counter.add(n=9_700)
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    refusing = QuotaCheck(_runner(client, clock))
    assert refusing.left() == 300
    refusing.check(300, "300 requests")  # fits: returns
    with pytest.raises(QuotaShortError, match="resets at 2025-03-02 00:00 UTC"):
        refusing.check(402, "about 402 requests")
    assert clock.now().hour == 22  # no wait

    waiting = QuotaCheck(_runner(client, clock, wait_for_quota=True))
    waiting.check(402, "about 402 requests")
    assert clock.now() >= dt.datetime(2025, 3, 2, tzinfo=dt.UTC) and waiting.waited
    waiting.check(402, "about 402 requests")  # waited once: goes on
    assert clock.now() < dt.datetime(2025, 3, 2, 0, 1, tzinfo=dt.UTC)


def test_a_run_bigger_than_a_day_warns_and_goes_with_wait_for_quota(fast_account):
    _, client, _ = fast_account(seed=2304, contacts=50)
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    with pytest.raises(QuotaShortError, match="12,000 requests"):
        QuotaCheck(_runner(client, clock)).check(12_000, "about 12,000 requests")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        QuotaCheck(_runner(client, clock, wait_for_quota=True)).check(12_000, "12,000")
    assert any("more than a whole day's quota" in str(w.message) for w in caught)
    assert clock.now().hour == 22  # nothing used today: waiting would not help


# -- the plan's figure against the run's --------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "read"),
    [("contact_id", True), ("contact_id", False), ("email", True)],
    ids=["ids-read", "ids-blind", "emails"],
)
def test_the_plan_counts_what_the_run_spends(fast_account, column, read):
    emu, client, _ = fast_account(seed=2305, contacts=30_000, lists=3)
    active = emu.account.contact_ids(status="active")
    # a union of 12,000 members (24 pages) against 32 sends, or 18,000 (36): blind; the
    # sizes (20 to 48 pages) leave it open. Big enough that the polls, which the plan
    # can only estimate, weigh little.
    start = 2000 if read else 8000
    targets = shape(emu, [active[:10_000], active[start : start + 10_000], active[5000:9000]])
    segment = active[1000:17_000]
    values = segment if column == "contact_id" else [emu.account.contact(c).email for c in segment]
    df = pd.DataFrame({column: values})
    before = emu.account.count()
    result = df.cc.remove_from_lists(targets, client=client, column=column, progress=False)
    spent = emu.account.count() - before
    plan = result.plan
    assert result.ok and plan.verifiable is read
    assert probes(emu) == (column == "contact_id")  # 16,000 addresses: the read, surely
    assert abs(spent - plan.total_requests) <= 0.1 * spent, (spent, plan.summary())
    # The summary's figure is exactly what the server counted, in every display.
    assert_spent(result, spent, emu)


def assert_spent(result, spent: int, emu, *, posts: int | None = None) -> None:
    """``result``'s summary says it spent ``spent`` requests in all, ``posts`` of them
    changes (default: every POST the emulator answered), in its text, ``--json`` and
    ``runs()`` alike."""
    summary = result.summary()
    assert summary.spent_total == spent, summary.spent
    assert summary.spent["changes"] == (
        emu.account.count(method="POST") if posts is None else posts
    )
    assert summary.spent["reads"] == result.plan.read_requests
    assert f"requests spent: {spent:,} in all (reads " in repr(result)
    assert f"requests spent: {spent:,} in all" in result._repr_html_()
    assert f"spent      {spent:,} in all" in summary.report_text()
    assert summary.to_json("remove")["requests_spent"]["total"] == spent
    # Exact: a run whose every call ended says so, never "at least" (a killed one's).
    assert not summary.spent_at_least and "at least" not in summary.spent_text
    assert summary.to_json("remove")["requests_spent_at_least"] is False
    if result.run_id is not None:
        row = ccpandas.runs().set_index("run_id").loc[result.run_id]
        assert row["requests_spent"] == spent and not row["requests_spent_at_least"]
        assert ccpandas.run_result(result.run_id).summary().spent == summary.spent


def test_a_removal_s_spend_counts_its_verification_or_not(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    targets = shape(emu, [active[:1200], active[600:1500]])
    df = pd.DataFrame({"contact_id": active[300:900]})
    for verify in (True, False):
        before, posts = emu.account.count(), emu.account.count(method="POST")
        result = df.cc.remove_from_lists(
            targets, client=client, snapshot=True, verify=verify, progress=False
        )
        spent = emu.account.count() - before
        assert result.ok and (result.summary().spent["verification"] > 0) is verify
        assert_spent(result, spent, emu, posts=emu.account.count(method="POST") - posts)
        assert abs(spent - result.plan.total_requests) <= 2 + 0.1 * spent  # the polls vary
        if not verify:  # verified later: the re-read adds to the same figure
            before = emu.account.count() - spent
            result.verify()
            assert_spent(result, emu.account.count() - before, emu, posts=result.summary().sent)
        if verify:  # the undo's: its fresh read, changes, polls and re-read
            before = emu.account.count()
            undone = ccpandas.undo(result.run_id, client=client, progress=False)
            assert undone.ok and undone.summary().spent_total == emu.account.count() - before


def test_a_resumed_run_s_spend_is_the_whole_run_s(account, connect):
    # A run left to its activities (wait=False), then resumed from the journal in a
    # "new process": the resumed result counts the run's every request, not its own.
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:800]])
    df = pd.DataFrame({"contact_id": active[:300]})
    before = emu.account.count()
    first = df.cc.remove_from_lists([target], client=client, wait=False, progress=False)
    assert not first.done
    assert first.summary().spent_total == emu.account.count() - before
    done = ccpandas.resume(first.run_id, client=connect(emu), progress=False)
    assert done.ok
    assert_spent(done, emu.account.count() - before, emu)
    # Journaled before the count (an earlier version): unknown, never a wrong number.
    from ccpandas.store.journal import open_journal

    with open_journal().transaction() as conn:
        conn.execute("UPDATE runs SET spent = NULL WHERE run_id = ?", (first.run_id,))
    rebuilt = ccpandas.run_result(first.run_id, client=client).summary()
    assert rebuilt.spent is None and "requests spent: unknown" in rebuilt.text()
    assert rebuilt.to_json("remove")["requests_spent"] is None
    row = ccpandas.runs().set_index("run_id").loc[first.run_id]
    assert pd.isna(row["requests_spent"])


def test_a_verify_the_quota_stops_leaves_the_count_it_says_in_the_journal(account, connect):
    # verify() stopped by a spent quota: its poll journaled the run's count as "at least"
    # (a process ended before counting its last requests) and nothing wrote the exact one
    # the result said. Recorded at the end whatever happens, as a driving call's is.
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:800]])
    df = pd.DataFrame({"contact_id": active[:300]})
    result = df.cc.remove_from_lists([target], client=client, wait=False, progress=False)
    emu.configure(quota_left=1)  # the poll goes, the re-read is refused
    with pytest.raises(QuotaExceededError):
        result.verify()
    summary = result.summary()
    row = ccpandas.runs().set_index("run_id").loc[result.run_id]
    assert not summary.spent_at_least and not row["requests_spent_at_least"], row
    assert row["requests_spent"] == summary.spent_total


@pytest.mark.parametrize("kind", ["add", "sync"])
def test_an_add_or_a_sync_by_email_spends_what_it_says(account, connect, kind):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:1000]])
    df = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[900:1100]]})
    before = emu.account.count()
    call = df.cc.add_to_lists if kind == "add" else df.cc.sync_lists
    extra = {"max_removed": 1.0} if kind == "sync" else {}
    result = call([target], client=client, column="email", progress=False, **extra)
    spent = emu.account.count() - before
    assert result.ok
    assert_spent(result, spent, emu)
    assert abs(spent - result.plan.total_requests) <= 2 + 0.1 * spent


def test_a_run_that_cannot_fit_even_at_its_cheapest_spends_no_probe(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    targets = shape(emu, [active[:1000]] * 2)  # 2 to 4 pages: open until probed
    client.stats.day_counter.add(n=9_995)
    df = pd.DataFrame({"email": [emu.account.contact(c).email for c in active[:1000]]})
    with pytest.raises(QuotaShortError, match=r"about 8 requests at the least \(the lists"):
        df.cc.remove_from_lists(targets, client=client, column="email", progress=False)
    assert probes(emu) == 0 and list_reads(emu) == 0
    assert emu.account.count() == 1  # the list listing


def test_keep_in_lists_over_todays_quota_refuses_before_its_first_read(account, connect):
    emu, client = account, connect(account)
    active = emu.account.contact_ids(status="active")
    (target,) = shape(emu, [active[:3000]])  # 6 pages to read, up to 6 to verify
    client.stats.day_counter.add(n=10_000 - 5)
    keep = pd.DataFrame({"contact_id": active[:10]})
    with pytest.raises(QuotaShortError, match="stopped before its first list read"):
        keep.cc.keep_in_lists([target], client=client, snapshot=True, progress=False)
    assert list_reads(emu) == 0 and probes(emu) == 0
    assert emu.account.count(method="POST") == 0


def test_a_plan_s_quota_check_takes_only_true_or_false(account, connect):
    emu, client = account, connect(account)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids(status="active")[:3]})
    before = emu.account.count()
    with pytest.raises(TypeError, match="wait_for_quota must be True or False, not 'yes'"):
        plan_list_removal(df, emu.account.list_ids()[:1], client=client, wait_for_quota="yes")
    assert emu.account.count() == before  # nothing sent
