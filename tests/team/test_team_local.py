"""One machine, several kernels, one application key: the rate limit and the daily
quota ledger are shared through the data directory, with nothing to configure.

Real processes against one emulator enforcing the API's 4 requests per second.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest
from team_support import (
    REMOVE,
    busy_window,
    check_removed,
    child_env,
    combined_rate,
    removal_setup,
    run_children,
    shares,
)

import ccpandas
from ccpandas.client.quota import DayCounter

# Several processes measure how they share one limit: alone, not beside busy workers.
pytestmark = [pytest.mark.timeout(300), pytest.mark.serial]


@pytest.mark.parametrize(("n_processes", "batches"), [(2, 12), (4, 12)])
def test_processes_on_one_machine_share_the_limit_fairly_without_throttling(
    emulator, data_dir, tmp_path, n_processes, batches
):
    emu = emulator(seed=40 + n_processes, contacts=batches * 500, lists=1, rate=4)
    ids, lists = removal_setup(emu, n_processes, batches)
    before = emu.account.memberships()
    env = child_env(emu, data_dir)
    jobs = [({"ids": ids, "list": list_id, "rate": 4}, env) for list_id in lists]

    reports = run_children(jobs, tmp_path)

    assert all(r["ok"] for r in reports)
    check_removed(emu, before, ids, lists)
    assert emu.account.count(status=429) == 0  # each process alone would send 4/s
    assert emu.account.count(method="POST", route=REMOVE) == n_processes * batches
    rate = combined_rate(reports)
    assert rate >= 0.95 * 4, rate
    assert rate <= 4.0, rate
    start, end = busy_window(reports)
    assert end - start > 2.0, (start, end)  # long enough to judge
    got = shares(reports, start, end)
    fair = sum(got) / n_processes
    assert all(abs(n - fair) <= 0.2 * fair for n in got), got
    # one ledger for all of them, equal to the server's own count
    assert DayCounter(emu.base_url).used() == emu.quota_used
    assert DayCounter(emu.base_url).usage().processes == n_processes
    # and the next plan on the key says so, from the same ledger
    here = ccpandas.Client(token=emu.token, base_url=emu.base_url)
    plan = pd.DataFrame({"contact_id": ids}).cc.plan(lists[:1], client=here, snapshot=False)
    # The plan checks its target list first (one listing, from this process): counted.
    by = n_processes + 1
    expected = f"{emu.quota_used:,} of 10,000 used today on this key by {by} processes"
    assert expected in str(plan) and expected in plan._repr_html_()


def test_the_ledger_equals_the_servers_count_after_mixed_runs_with_throttling_forced(
    emulator, data_dir, tmp_path
):
    emu = emulator(seed=50, contacts=2000, lists=1, rate=4)
    ids, lists = removal_setup(emu, 3, 4)
    env = child_env(emu, data_dir)
    # two processes pacing themselves alone at 8/s each (the old behaviour): throttled
    forced = [({"ids": ids, "list": lid, "rate": 8, "own_limiter": True}, env) for lid in lists[:2]]
    reports = run_children(forced, tmp_path)
    assert all(r["ok"] for r in reports)
    assert emu.account.count(status=429) > 0, "throttling was not forced"
    # then one sharing the limit, and requests refused before the limits (a bad token)
    (shared,) = run_children([({"ids": ids, "list": lists[2], "rate": 4}, env)], tmp_path)
    assert shared["ok"]
    bad = ccpandas.Client(token="not-the-token", base_url=emu.base_url, rate=None)
    with pytest.raises(ccpandas.AuthError):
        bad.get("/contact_lists")
    assert emu.account.count(status=401) == 1

    assert DayCounter(emu.base_url).used() == emu.quota_used
    assert emu.quota_used < emu.account.count()  # the 429s and the 401 cost nothing
    # the children's own counts agree with the ledger too
    assert sum(r["counted"] for r in [*reports, shared]) == emu.quota_used
    assert os.path.exists(data_dir / "quota.sqlite3")


def test_two_access_tokens_of_one_application_share_its_budget(emulator, data_dir):
    # The limits belong to the application key. Two people (or a notebook and a cron
    # job) each with an access token of the same application were two budgets (a hash
    # of each token): each paced alone at 4/s, and each plan saw only its own count.
    emu = emulator(seed=56, contacts=20, lists=1, rate=4)
    first, second = (emu.oauth.grant("team-app")["access_token"] for _ in range(2))
    other = emu.oauth.grant("other-app")["access_token"]
    assert len({first, second, other}) == 3
    clients = [ccpandas.Client(token=t, base_url=emu.base_url) for t in (first, second, other)]
    for client in clients:
        client.get("/contact_tags")
    a, b, c = (str(client.budget_key) for client in clients)
    assert a == b == f"{emu.base_url} app=team-app" != c
    assert DayCounter(a).used() == 2 and DayCounter(c).used() == 1
    assert DayCounter(emu.base_url).used() == emu.quota_used == 3
    # a token that is not a JWT keeps its hashed key
    assert " token=" in str(ccpandas.Client(token=emu.token, base_url=emu.base_url).budget_key)


def test_an_access_token_in_cc_client_id_is_refused_before_any_request(
    emulator, data_dir, monkeypatch
):
    # A token pasted into CC_CLIENT_ID named the budget "app=<the whole token>": the
    # token was written into quota.sqlite3 (and Redis' key names in team mode).
    emu = emulator(seed=57, contacts=5, lists=1)
    token = emu.oauth.grant("team-app")["access_token"]
    monkeypatch.setenv("CC_CLIENT_ID", token)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url)
    with pytest.raises(ccpandas.ConfigError, match="CC_CLIENT_ID looks like an access token") as e:
        client.get("/contact_tags")
    assert token not in str(e.value) and token[:40] not in str(e.value)
    assert emu.account.count() == 0
    quota = data_dir / "quota.sqlite3"
    assert not quota.exists() or token.encode() not in quota.read_bytes()
