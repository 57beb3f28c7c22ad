"""Every activity shape the service sends, through the public API over HTTP: errors as
strings or ``{"message": ...}`` objects read as their text wherever ccpandas shows
them, and sparse activities (``initialized`` with only ``list_count``, ``completed``
without ``_links``) never trouble the poller. Membership snapshots page to the end
whichever last page the API sends."""

from __future__ import annotations

import pandas as pd
import pytest
from engine_support import posts

import ccpandas


@pytest.mark.parametrize("shape", ["strings", "objects"])
def test_activity_errors_show_as_their_text_in_every_display(fast_account, shape):
    emu, client, target = fast_account(seed=11, contacts=600, activity_errors=shape)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 2 batches
    emu.fail_next(1, state="failed")
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    errors = [e for errs in result.activities["errors"] for e in errs]
    assert len(errors) == 1 and isinstance(errors[0], str)
    assert errors[0].startswith("The activity failed while processing")
    with pytest.raises(ccpandas.ActivityError) as info:
        result.raise_for_errors()
    shown = [str(info.value), result.summary_text(), result._repr_html_()]
    shown += [str(e) for e in result.rows["error"].dropna()]
    assert all("{'message'" not in text and '"message"' not in text for text in shown)
    assert "The activity failed while processing" in str(info.value)
    assert (result.rows["error"].dropna() != "").any()


def test_sparse_activities_are_polled_to_the_end(fast_account):
    emu, client, _ = fast_account(
        seed=12, contacts=1000, speed=4000.0, start_delay=0.3, activity_shape="sparse"
    )
    target = emu.account.list_ids()[0]
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(target))})
    result = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    assert result.done and result.ok
    assert set(result.rows["status"]) == {"removed"}
    assert result.activities["percent_done"].tolist() == [100] * len(result.activities)
    assert not emu.account.members(target)
    polls = [r for r in emu.account.request_log if r.method == "GET" and "activities" in r.route]
    assert polls  # the poller really read the sparse bodies


@pytest.mark.parametrize("links", ["empty", "absent"])
def test_snapshot_reads_and_readers_page_to_the_end(fast_account, links):
    emu, client, _ = fast_account(seed=13, contacts=1200, lists=3, last_page_links=links)
    lists = emu.account.list_ids()[:2]
    contacts = ccpandas.read_contacts(client, lists=lists, limit=50)
    members = set().union(*(emu.account.members(lid) for lid in lists))
    live = {c for c in members if emu.account.contacts[c].status != "deleted"}
    assert set(contacts["contact_id"]) == live
    df = pd.DataFrame({"contact_id": sorted(emu.account.members(lists[0]))[:40]})
    result = df.cc.remove_from_lists(lists, client=client, progress=False, snapshot=True)
    assert result.ok and "memberships removed (verified):" in str(result)
    assert posts(emu, 201) == 1
    assert not set(df["contact_id"]) & emu.account.members(lists[0])
