"""A resume under faults that mislead: a server clock apart from this machine's (no
activity is matched by time or shape: the uncertain batch is re-sent and counted), and
an activity listing whose pages repeat under new links. Real HTTP to the emulator;
the journal's record and the emulator's activities are the evidence."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import ccpandas
from ccpandas.api import resume
from ccpandas.emulator import Emulator
from ccpandas.emulator.clock import OffsetClock
from ccpandas.run.runner import Runner
from ccpandas.store.batch import BatchRun
from ccpandas.store.journal import RunJournal, open_journal

REMOVE = "/v3/activities/remove_list_memberships"


def client_for(emu) -> ccpandas.Client:
    return ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)


def quick(client) -> Runner:
    return Runner(client, poll_min=0.01, poll_max=0.05)


def killed_after_the_server_applied_it(emu, client) -> RunJournal:
    """A process killed mid-POST: its attempt on record as sending, the server's
    activity created, no answer recorded."""
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    plan = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    journal = RunJournal.create(plan, base_url=emu.base_url)
    journal.batch_sending(BatchRun(plan.batches[0]))
    client.remove_list_memberships(plan.batches[0].to_json())
    return journal


def test_a_server_clock_apart_never_records_a_duplicate_as_never_sent(caplog):
    # The server's clock is 10 minutes behind this machine's: the lost request's
    # activity was created "before" the attempt's journaled send time.
    behind = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with Emulator(
        seed=9, contacts=1600, lists=3, rate=None, speed=1e6, clock=OffsetClock(behind)
    ) as emu:
        client = client_for(emu)
        journal = killed_after_the_server_applied_it(emu, client)
        with caplog.at_level("WARNING", logger="ccpandas"):
            result = resume(journal.run_id, client=client, progress=False, runner=quick(client))

        assert result.ok
        batch0 = open_journal().attempts(journal.run_id).query("batch == 0")
        # Not "never took effect": the first attempt stays uncertain, the second one is
        # a re-send of it, and the possible duplicate is counted.
        assert batch0["outcome"].tolist() == ["uncertain", "accepted"]
        assert batch0["reason"].tolist() == ["first", "uncertain"]
        assert result.runs[0].resent == 1 and result.activities.loc[0, "resent"] == 1
        assert "never took effect" not in " ".join(batch0["error"].fillna(""))
        # The server holds one activity more than the batches: exactly the counted one.
        created = emu.account.count(method="POST", route=REMOVE, status=201)
        assert created == len(result.runs) + sum(r.resent for r in result.runs)


@pytest.mark.timeout(120)  # the old listing never ended: fail rather than hang
def test_reconciliation_reads_a_repeating_activity_listing_to_an_end():
    with Emulator(
        seed=10, contacts=1600, lists=3, rate=None, speed=1e6, max_queued_activities=None
    ) as emu:
        client = client_for(emu)
        ids = emu.account.contact_ids()
        other = emu.account.list_ids()[2]
        for i in range(600):  # more than one page of 500
            emu.account.submit_activity({"source": {"contact_ids": [ids[i]]}, "list_ids": [other]})
        journal = killed_after_the_server_applied_it(emu, client)
        emu.configure(activity_paging="repeating")
        before = emu.account.count(route="/v3/activities")

        result = resume(journal.run_id, client=client, progress=False, runner=quick(client))

        assert result.ok
        assert not emu.account.members(emu.account.list_ids()[0]) & set(ids[:1000])
        # The listing: page 1, then its repeat, where reading stopped; then the polls.
        listings = emu.account.count(route="/v3/activities") - before
        assert listings <= 2 + result.runner.polls * 2
