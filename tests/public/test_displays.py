"""Displays that tell the truth: the result's HTML carries every fact of its text, a dry
run says planned, runs() names the lists with one missing value, journal= is public,
tqdm rates count this session only, and progress moves during a long submission. Real
HTTP against the emulator."""

from __future__ import annotations

import html
import io
import re
import uuid
import warnings

import pandas as pd
import pytest
from engine_support import posts

import ccpandas
from ccpandas.api import remove_from_lists, remove_list_memberships, run_plan, runs
from ccpandas.emulator import ManualClock
from ccpandas.errors import PlanError, QuotaExceededError
from ccpandas.models import Source
from ccpandas.plan.planner import plan_removal
from ccpandas.report.progress import TqdmReporter
from ccpandas.run.clock import ClockFrom
from ccpandas.run.result import ROW_STATUSES
from ccpandas.run.runner import Runner

FAST = {"rate": None, "speed": 1_000_000.0}


def html_text(page: str) -> str:
    """The HTML as a reader sees it: tags gone, entities decoded, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def assert_same_facts(result) -> str:
    text, page = repr(result), result._repr_html_()
    shown = html_text(page)
    for line in text.splitlines():
        fact = re.sub(r"\s+", " ", line.strip())
        assert fact in shown, f"{fact!r} is in the text but not in the HTML"
    assert "<table>" in page and "<tbody></tbody>" not in page  # never an empty table
    return text


def test_every_kind_of_result_shows_the_same_facts_in_text_and_html(cc_emulator_factory, connect):
    emu = cc_emulator_factory(seed=41, contacts=1500, daily_quota=None, **FAST)
    client, acct = connect(emu), emu.account
    target, other = acct.list_ids()[:2]
    everyone = acct.contact_ids()
    df = pd.DataFrame({"contact_id": everyone[:700] + everyone[:3]})  # 2 requests

    # dry run, with and without a snapshot: marked, rows planned (not not_sent)
    for snapshot in (False, True):
        dry = df.cc.remove_from_lists([target], client=client, dry_run=True, snapshot=snapshot)
        text = assert_same_facts(dry)
        assert "dry run: nothing was sent" in text and "planned" in text
        assert "not_sent" not in text
        assert {"planned", "duplicate"} <= set(dry.rows["status"].astype(str))
        assert "not_sent" not in set(dry.rows["status"].astype(str))
        assert "duplicate of row 700" not in text and "is a duplicate of row 0" in text
    assert posts(emu) == 0

    # failed activities: the activities line (failed 1, completed 1) is in both
    emu.fail_next(1, state="failed")
    failed = df.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    text = assert_same_facts(failed)
    assert re.search(r"activities: 2 of 2 accepted; .*failed 1", text)

    # with a snapshot and verification: the membership truth per list, in both
    rest = pd.DataFrame({"contact_id": everyone[700:]})
    verified = rest.cc.remove_from_lists(
        [target, other], client=client, progress=False, snapshot=True
    )
    text = assert_same_facts(verified)
    assert "memberships removed (verified):" in text

    # sources the API selects: tag, engagement level, keep (exclude) -- no input rows
    tag = acct.tag_ids()[0]
    for source in (Source.tag_ids([tag]), Source.engagement_level("low")):
        for snapshot in (False, True):
            res = remove_list_memberships(
                client, [other], source=source, progress=False, snapshot=snapshot
            )
            text = assert_same_facts(res)
            assert "selected by the API" in text
    keep = pd.DataFrame({"contact_id": sorted(acct.members(other))[:5]})
    kept = keep.cc.keep_in_lists([other], client=client, progress=False, max_removed=None)
    assert_same_facts(kept)


def test_a_stopped_run_shows_how_to_continue_in_both(fast_account):
    emu, client, _ = fast_account(seed=42, contacts=2000, quota_left=3)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    with pytest.raises(QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    result = caught.value.result
    text = assert_same_facts(result)
    assert f"stopped before the end: {result.resume_call} continues" in text
    assert "not_sent" in text  # a real run that stopped: not_sent, not planned
    # the reset time once in the message (the server's message says it too)
    message = str(caught.value)
    assert len(re.findall(r"00:00", message)) == 1, message
    assert result.resume_call in message


def test_rows_put_status_and_reason_first(fast_account):
    emu, client, _ = fast_account(seed=43, contacts=50)
    df = pd.DataFrame({"contact_id": [*emu.account.contact_ids()[:5], "nope"]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    assert list(result.rows.columns[:2]) == ["status", "reason"]
    assert "planned" in ROW_STATUSES and "not_sent" in ROW_STATUSES


def test_runs_names_the_lists_and_has_one_missing_value(fast_account):
    emu, client, target = fast_account(seed=44, contacts=600)
    acct = emu.account
    name = acct.lists[target].name
    df = pd.DataFrame({"contact_id": sorted(acct.members(target))})
    done = df.cc.remove_from_lists([name], client=client, progress=False, snapshot=True)
    first = runs().set_index("run_id")
    # only completed runs so far: stop_reason None (it was None here, NaN elsewhere)
    assert first.loc[done.run_id, "stop_reason"] is None
    assert first["stop_reason"].dtype == object
    assert first.loc[done.run_id, "list_names"] == name
    plain = pd.DataFrame({"contact_id": acct.contact_ids()[:10]})
    other = plain.cc.remove_from_lists([target], client=client, progress=False, snapshot=False)
    both = runs().set_index("run_id")
    assert both.loc[done.run_id, "stop_reason"] is None
    assert both.loc[other.run_id, "stop_reason"] is None
    # no snapshot: the journal knows no name, the id stands in (never blank)
    assert both.loc[other.run_id, "list_names"] in (name, target)


def test_journal_false_is_a_public_keyword_and_works_end_to_end(fast_account):
    emu, client, target = fast_account(seed=45, contacts=1200, quota_left=2)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    before = len(runs())
    with pytest.raises(TypeError, match="journal must be True or False"):
        df.cc.remove_from_lists([target], client=client, journal="no")
    with pytest.raises(QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            [target], client=client, progress=False, snapshot=False, journal=False
        )
    result = caught.value.result
    assert result.run_id is None and len(runs()) == before  # nothing recorded
    assert "result.resume()" in repr(result) and "result.resume()" in result._repr_html_()
    with pytest.raises(PlanError, match="journal=False"):
        ccpandas.resume(result.run_id, client=client)
    emu.configure(quota_left=None)
    assert result.resume(progress=False).ok and posts(emu, 201) == 3
    # the other entry points take it too
    res = remove_from_lists(df[:5], [target], client=client, progress=False, journal=False)
    assert res.run_id is None
    keep = df[:5].cc.keep_in_lists(
        [target], client=client, progress=False, journal=False, max_removed=None
    )
    assert keep.run_id is None and len(runs()) == before


def test_tqdm_rate_of_a_resume_counts_only_this_sessions_work(fast_account):
    emu, client, _ = fast_account(seed=46, contacts=5000, quota_left=8)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 10 requests
    with pytest.raises(QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    result = caught.value.result
    emu.configure(quota_left=None)
    out = io.StringIO()
    reporter = TqdmReporter(file=out, mininterval=0, ascii=True)
    result.resume(progress=reporter)
    assert result.ok
    shown = out.getvalue()
    rates = [float(r) for r in re.findall(r"([\d.]+)req/s", shown)]
    assert rates and re.search(r"10/10", shown), shown
    # 2 requests in this session: the 8 sent before are the bar's start (initial=),
    # not work done now (a rate like 88246.50req/s before)
    assert all(r < 1000 for r in rates), rates


def test_progress_is_polled_during_a_long_submission(fast_account):
    # 40 requests at 4 per second on a manual clock: 10 s of submission. The activities
    # are followed while it goes on, within a few percent more requests.
    clock = ManualClock()
    emu, client, _ = fast_account(
        seed=47, contacts=20_000, clock=clock, speed=5_000.0, start_delay=0.0
    )
    plan = plan_removal(pd.Series(emu.account.contact_ids()), emu.account.list_ids()[:1])
    assert plan.n_requests == 40

    class Paced:
        """Advance the manual clock by 0.25 s per POST (4 req/s)."""

        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def remove_list_memberships(self, body):
            clock.advance(0.25)
            return self.inner.remove_list_memberships(body)

    seen: list[tuple[str, int, int]] = []

    class Watch(ccpandas.report.progress.NullReporter):
        def update(self, snapshot):
            seen.append((snapshot.phase, snapshot.batches_submitted, snapshot.items_completed))

    runner = Runner(Paced(client), clock=ClockFrom(clock, sleep=clock.advance))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_plan(plan, client, progress=Watch(), runner=runner)
    assert result.ok
    during = [items for phase, sent, items in seen if phase == "submitting" and sent < 40]
    assert max(during) > 0, "nothing shown as processed before the last POST"
    log = emu.account.request_log
    last_post = max(r.at for r in log if r.method == "POST")
    early = [
        r for r in log if r.method == "GET" and r.route == "/v3/activities" and r.at < last_post
    ]
    # one poll per 5 s of submission: 1 more request for 40 POSTs (2.5 %)
    assert len(early) == 1


def test_a_run_that_sends_nothing_shows_no_stray_separator(fast_account):
    emu, client, target = fast_account(seed=5)
    acct = emu.account
    outside = [c for c in acct.contact_ids() if c not in acct.members(target)][:3]
    result = pd.DataFrame({"contact_id": outside}).cc.remove_from_lists(
        [target], client=client, progress=False
    )
    assert posts(emu) == 0
    text = assert_same_facts(result)
    assert "0 of 0 accepted\n" in text and "accepted; " not in text


def test_a_client_of_the_wrong_type_is_named_in_good_english():
    df = pd.DataFrame({"contact_id": ["a"]})
    with pytest.raises(TypeError, match=r"not an object \(not shown"):
        df.cc.remove_from_lists(["x"], client=object())
    with pytest.raises(TypeError, match=r"not a dict \(not shown"):
        df.cc.remove_from_lists(["x"], client={})
    with pytest.raises(TypeError, match=r"not a UUID \(not shown"):  # said "an UUID"
        df.cc.remove_from_lists(["x"], client=uuid.uuid4())
