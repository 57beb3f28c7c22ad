"""A run whose contacts the API selects (keep_in_lists, remove_list_memberships) is
resumed or retried after its lists changed: the API would choose who leaves at the new
send, so the run re-reads the lists and refuses to take off members its plan (and its
max_removed guard) never counted. Over HTTP against the emulator."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
from engine_support import InterruptAfter, posts

import ccpandas
from ccpandas import PlanError, QuotaExceededError, Source
from ccpandas.api import run_plan
from ccpandas.emulator.clock import ManualClock
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner
from ccpandas.store.journal import RunJournal, RunLockedError


def _joined(emu, target, n):
    """``n`` contacts of the account put on ``target`` by someone else: their ids."""
    outside = [c for c in emu.account.contact_ids() if c not in emu.account.members(target)]
    emu.account.add_members(target, outside[:n])
    return set(outside[:n])


def _planned_keep(emu, client):
    """A keep_in_lists plan of 60% of the first list's members made earlier (the lists
    read, the guard counted): (plan, the requests spent planning it, frame)."""
    target = emu.account.list_ids()[0]
    members = sorted(emu.account.members(target))
    vip = pd.DataFrame({"contact_id": members[: len(members) * 6 // 10]})
    count = emu.account.count()
    plan = vip.cc.keep_in_lists([target], client=client, dry_run=True, progress=False).plan
    return plan, emu.account.count() - count, vip


def _stopped_keep(emu, client):
    """The keep_in_lists run of _planned_keep stopped by the quota before its request:
    (result, frame)."""
    plan, _, vip = _planned_keep(emu, client)
    emu.configure(quota_left=0)
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, progress=False)
    emu.configure(quota_left=None)
    assert posts(emu, 201) == 0
    return caught.value.result, vip


def test_a_resumed_keep_in_lists_never_removes_members_that_joined_since(fast_account):
    emu, client, target = fast_account(seed=41, contacts=400)
    result, vip = _stopped_keep(emu, client)
    joined = _joined(emu, target, 150)  # the list grows while the run waits

    # The API would empty the list of everyone outside the frame, 150 contacts the
    # plan never showed (and max_removed=0.5 never counted) among them: refused.
    for resume in (
        lambda: ccpandas.resume(result.run_id, client=client, progress=False),
        lambda: result.resume(progress=False),
    ):
        with pytest.raises(PlanError, match="150 more members of it would leave now") as info:
            resume()
        assert "Nothing was sent" in str(info.value) and "Newsletter" in str(info.value)
    assert posts(emu, 201) == 0
    assert joined <= emu.account.members(target)

    # Planned again, the guard counts today's members; without the joiners it runs.
    with pytest.raises(PlanError, match="max_removed"):
        vip.cc.keep_in_lists([target], client=client, progress=False)
    emu.account.remove_members(target, joined)
    done = ccpandas.resume(result.run_id, client=client, progress=False)
    assert done.ok and emu.account.members(target) == set(vip["contact_id"])


def test_a_resume_of_a_keep_another_process_drives_reads_no_list(fast_account):
    # The resume read the lists again before it took the run's lock: with another
    # process driving the run it spent those reads, then raised RunLockedError.
    emu, client, _ = fast_account(seed=48, contacts=400)
    result, _ = _stopped_keep(emu, client)
    gets = emu.account.count(method="GET", route="/v3/contacts")
    with RunJournal.open(result.run_id).attach(result.runs):  # another process drives it
        for resume in (
            lambda: ccpandas.resume(result.run_id, client=client, progress=False),
            lambda: result.resume(progress=False),
        ):
            with pytest.raises(RunLockedError):
                resume()
    assert emu.account.count(method="GET", route="/v3/contacts") == gets
    assert posts(emu, 201) == 0


def test_retry_failed_of_a_source_removal_checks_the_lists_again(fast_account):
    emu, client, target = fast_account(seed=42, contacts=400)
    other = emu.account.list_ids()[1]
    emu.fail_next(1, state="failed", at=0.0)  # nothing done
    result = ccpandas.remove_list_memberships(
        client, [target], source=Source.list_ids([other]), snapshot=True, progress=False
    )
    assert not result.ok and posts(emu, 201) == 1
    # Someone puts 5 members of `other` on `target`: the retry would take them off too.
    both = emu.account.members(other) - emu.account.members(target)
    emu.account.add_members(target, sorted(both)[:5])
    with pytest.raises(PlanError, match="5 more members of it would leave now"):
        result.retry_failed(progress=False)
    assert posts(emu, 201) == 1


def test_a_source_of_the_lists_own_members_has_keep_in_lists_guard(fast_account):
    emu, client, target = fast_account(seed=43, contacts=400)
    acct = emu.account
    name = acct.lists[target].name
    before = set(acct.members(target))
    spared = sorted(before)[:3]

    # One call emptied the list but `spared`, unasked: now the guard refuses it, by
    # id or by name (checked once the name is resolved), before any change.
    for given in ([target], [name]):
        with pytest.raises(PlanError, match=r"more than max_removed=0\.5 allows") as info:
            ccpandas.remove_list_memberships(
                client, given, source=Source.list_ids(given), exclude=spared, progress=False
            )
        assert f"of the {len(before):,} members of {name!r}" in str(info.value)
    with pytest.raises(PlanError, match="snapshot=False cannot count them"):
        ccpandas.remove_list_memberships(
            client, [target], source=Source.list_ids([target]), snapshot=False
        )
    assert posts(emu) == 0 and acct.members(target) == before

    # Said explicitly, it is done.
    result = ccpandas.remove_list_memberships(
        client,
        [target],
        source=Source.list_ids([target]),
        exclude=spared,
        max_removed=None,
        progress=False,
    )
    assert result.ok and acct.members(target) == set(spared)


def test_a_resumed_sync_removes_only_the_members_it_planned(fast_account):
    # A sync names the contacts it removes: the newcomers of a list grown while the run
    # waited stay, and the guard counted exactly what is removed.
    emu, client, target = fast_account(seed=44, contacts=400)
    members = sorted(emu.account.members(target))
    segment = pd.DataFrame({"contact_id": members[: len(members) * 6 // 10]})
    plan = segment.cc.plan([target], client=client, kind="sync")
    emu.configure(quota_left=0)
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, progress=False)
    emu.configure(quota_left=None)
    joined = _joined(emu, target, 150)
    done = ccpandas.resume(caught.value.result.run_id, client=client, progress=False)
    assert done.ok
    assert emu.account.members(target) == set(segment["contact_id"]) | joined


def _quota_stopped_keep_on_a_clock(fast_account):
    """A keep_in_lists run stopped by the quota at 22:00 UTC on a clock of its own, the
    quota still spent: (emu, client, runner, result, frame)."""
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    emu, client, _ = fast_account(seed=41, contacts=400, clock=clock, start_delay=0.0)
    plan, _, vip = _planned_keep(emu, client)
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    emu.configure(daily_quota=emu.quota_used)
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, runner=runner, progress=False)
    assert posts(emu, 201) == 0
    return emu, client, runner, caught.value.result, vip


def test_a_quota_stopped_keep_resumed_with_wait_for_quota_waits_then_checks(fast_account):
    # The re-read that checks the lists met the spent quota and raised it at once: a
    # resume with wait_for_quota=True no longer waited for the reset (found by review).
    emu, _, _, result, vip = _quota_stopped_keep_on_a_clock(fast_account)
    target = emu.account.list_ids()[0]
    done = result.resume(wait_for_quota=True, progress=False)
    assert done.ok and emu.account.members(target) == set(vip["contact_id"])


def test_a_quota_stopped_keep_resumed_from_the_journal_waits_too(fast_account):
    emu, client, runner, result, vip = _quota_stopped_keep_on_a_clock(fast_account)
    done = ccpandas.resume(
        result.run_id, client=client, runner=runner, progress=False, wait_for_quota=True
    )
    assert done.ok and emu.account.members(emu.account.list_ids()[0]) == set(vip["contact_id"])


def test_a_quota_stopped_keep_resumed_too_early_stops_as_a_spent_quota_does(fast_account):
    # Without wait_for_quota the resume stops as any run on a spent quota does (the
    # result, its stop reason, the call that continues it), not on a bare GET error.
    emu, _, _, result, _ = _quota_stopped_keep_on_a_clock(fast_account)
    with pytest.raises(QuotaExceededError) as caught:
        result.resume(progress=False)
    assert caught.value.result is result and result.stop_reason == "quota_exceeded"
    assert result.resume_call and posts(emu, 201) == 0


def test_run_plan_of_a_keep_plan_made_earlier_refuses_members_that_joined_since(fast_account):
    # "Plan now, send later": a dry run's plan, given to run_plan after the list grew.
    # The API would remove the newcomers too, a removal its preview (46) and its guard
    # (max_removed=0.5 of 115 allows 57) never showed: refused, nothing sent or journaled.
    emu, client, target = fast_account(seed=45, contacts=400)
    plan, _, vip = _planned_keep(emu, client)
    joined = _joined(emu, target, 150)
    runs_before = len(ccpandas.runs())
    with pytest.raises(PlanError, match="150 more members of it would leave now") as info:
        run_plan(plan, client=client, progress=False)
    assert "Nothing was sent" in str(info.value) and getattr(info.value, "result", None) is None
    assert posts(emu) == 0 and joined <= emu.account.members(target)
    assert len(ccpandas.runs()) == runs_before  # no run was started

    # Lists as planned: the re-read finds nobody new and the run goes; its cost counts it.
    emu.account.remove_members(target, joined)
    gets = emu.account.count(method="GET", route="/v3/contacts")
    done = run_plan(plan, client=client, progress=False)
    assert done.ok and emu.account.members(target) == set(vip["contact_id"])
    spent = emu.account.count(method="GET", route="/v3/contacts") - gets
    reread = plan.membership.snapshot.requests
    assert done.plan.read_requests == plan.read_requests + reread
    assert spent == reread + done.plan.verify_requests


def test_run_plan_of_a_source_plan_made_earlier_checks_its_lists(fast_account):
    emu, client, target = fast_account(seed=46, contacts=400)
    other = emu.account.list_ids()[1]
    plan = ccpandas.remove_list_memberships(
        client, [target], source=Source.list_ids([other]), snapshot=True, dry_run=True
    ).plan
    both = emu.account.members(other) - emu.account.members(target)
    emu.account.add_members(target, sorted(both)[:5])
    with pytest.raises(PlanError, match="5 more members of it would leave now"):
        run_plan(plan, client=client, progress=False)
    assert posts(emu) == 0


def test_run_plan_counts_the_read_again_in_its_quota_check(fast_account):
    # The run would fit today without the second read of the lists, not with it:
    # refused before that read, nothing read nor sent; with room for it, it runs.
    import dataclasses

    from ccpandas.api import run_requests
    from ccpandas.run.budget import day_usage

    emu, client, _ = fast_account(seed=47, contacts=400)
    plan, _, _ = _planned_keep(emu, client)
    limit = day_usage(client).used + run_requests(plan)  # the sends, polls and check
    count = emu.account.count()
    with pytest.raises(QuotaExceededError, match="reads of the lists to check them"):
        run_plan(dataclasses.replace(plan, daily_quota=limit), client=client, progress=False)
    assert emu.account.count() == count
    reads = plan.membership.snapshot.requests
    enough = dataclasses.replace(plan, daily_quota=limit + reads)
    assert run_plan(enough, client=client, progress=False).ok


def test_spent_counts_the_read_again_of_the_lists_only_once_made(fast_account):
    # The API's quota refused the re-read before the first change: spent counted the
    # re-read anyway (7 reads where 4 were made), and again after the resume.
    emu, client, _ = fast_account(seed=41, contacts=3000)
    plan, planning, _ = _planned_keep(emu, client)
    count = emu.account.count()
    emu.configure(quota_left=0)  # the re-read is refused
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, progress=False)
    emu.configure(quota_left=None)
    result = caught.value.result
    assert sum(result.spent.values()) == planning + emu.account.count() - count
    done = result.resume(progress=False)
    assert done.ok and sum(done.spent.values()) == planning + emu.account.count() - count


def test_spent_counts_a_re_read_after_the_quota_s_reset_as_reads(fast_account):
    # With wait_for_quota=True the re-read made after the reset was counted twice: as
    # the estimate in the reads and as polls.
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    emu, client, _ = fast_account(seed=41, contacts=3000, clock=clock, start_delay=0.0)
    plan, planning, _ = _planned_keep(emu, client)
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    emu.configure(daily_quota=emu.quota_used)  # the re-read is refused until the reset
    count, gets, made = emu.account.count(), _contact_reads(emu), _contact_reads(emu, 200)
    done = run_plan(
        plan, client=client, runner=runner, progress=False, wait_for_quota=True, verify=False
    )
    assert done.done and sum(done.spent.values()) == planning + emu.account.count() - count
    made, tried = _contact_reads(emu, 200) - made, _contact_reads(emu) - gets
    assert planning + made <= done.spent["reads"] <= planning + tried  # refusals: polls


def _keep_refused_in_the_run(fast_account):
    """_planned_keep's plan run by run_plan once the API's quota is spent (22:00 on a
    manual clock): its read again of the lists refused until the reset. (The emulator,
    the requests planning spent, the stopped result, the account's count before.)"""
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    emu, client, _ = fast_account(seed=41, contacts=400, clock=clock, start_delay=0.0)
    count = emu.account.count()
    plan, planning, _ = _planned_keep(emu, client)
    runner = Runner(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    emu.configure(daily_quota=emu.quota_used)  # the re-read is refused until the reset
    with pytest.raises(QuotaExceededError) as caught:
        run_plan(plan, client=client, runner=runner, progress=False)
    return emu, planning, caught.value.result, count


def test_run_plans_refused_read_again_is_reads_as_a_resumes_is(fast_account):
    # run_plan's read again of the lists, refused by the API's quota inside the run,
    # counted its refused requests as polls, where a resume's refused read again counts
    # them as reads (found while the split of a call's requests was mended).
    emu, planning, result, count = _keep_refused_in_the_run(fast_account)
    spent = result.spent
    assert sum(spent.values()) == emu.account.count() - count
    assert spent["reads"] > planning and spent["polls"] == spent["changes"] == 0


def _contact_reads(emu, status=None):
    return emu.account.count(method="GET", route="/v3/contacts", status=status)


@pytest.mark.parametrize("wait_for_quota", [True, False])
def test_spent_counts_a_resume_s_refused_read_again(fast_account, wait_for_quota):
    # The API's quota refused a resume's re-read of the lists: those refused requests
    # were missing from spent (4 counted where the API saw 5; 14 of 15 with the wait
    # for the reset), though the run counts the requests it made (found by review).
    emu, _, result, count = _keep_refused_in_the_run(fast_account)
    assert sum(result.spent.values()) == emu.account.count() - count
    before = dict(result.spent)
    if wait_for_quota:
        result.resume(wait_for_quota=True, progress=False)
        assert result.ok
    else:
        with pytest.raises(QuotaExceededError):
            result.resume(progress=False)
        refused = emu.account.count() - count - sum(before.values())
        assert refused and result.spent == {**before, "reads": before["reads"] + refused}
    assert sum(result.spent.values()) == emu.account.count() - count


def test_a_stopped_keep_whose_resume_is_refused_undoes_the_part_that_ran(fast_account):
    # Stopped after the first of its two requests, then the list grew: a resume would
    # take off members the plan never showed (refused), and undo said "resume first".
    # The undo puts back exactly what the request that went out took off.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    emu.configure(speed=1.0, start_delay=0.0)  # its activity still runs when the undo asks the API
    acct = emu.account
    sources = acct.list_ids()[1:]  # 51 source lists: two requests (50 per request)
    before = {lid: acct.members(lid) for lid in acct.list_ids()}
    vip = pd.DataFrame({"contact_id": sorted(before[target])[: len(before[target]) // 2]})
    with pytest.raises(KeyboardInterrupt) as caught:
        vip.cc.keep_in_lists(
            [target], source=Source.list_ids(sources), client=client, progress=InterruptAfter(1)
        )
    result = caught.value.result
    assert [r.in_flight for r in result.runs] == [True, False]
    with pytest.raises(PlanError, match=r"its activities still run: wait for them to end"):
        ccpandas.undo(result.run_id, client=client, progress=False)
    emu.configure(speed=1_000_000.0)
    result.wait()  # its one activity followed to its end
    assert posts(emu, 201) == 1 and not result.done
    removed = {(c, target) for c in before[target] - acct.members(target)}
    assert removed
    sourced = set().union(*(before[lid] for lid in sources)) - set(vip["contact_id"])
    newcomers = sorted(sourced - acct.members(target))[:20]
    acct.add_members(target, newcomers)
    with pytest.raises(PlanError, match="20 more members of it would leave now"):
        result.resume(progress=False)
    with pytest.raises(PlanError, match="20 more members of it would leave now"):
        ccpandas.resume(result.run_id, client=client, progress=False)
    assert posts(emu, 201) == 1

    preview = result.undo(dry_run=True)
    assert "undoes only the part that ran (1 of 2 requests)" in str(preview)
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    for shown in (undo, ccpandas.run_result(undo.run_id)):  # the journal's too
        assert f"part that ran (1 of 2 requests) of run {result.run_id}" in str(shown)
    restored = undo.changes[undo.changes["outcome"] == "restored"]
    assert set(zip(restored["contact_id"], restored["list_id"], strict=True)) == removed
    assert set(undo.changes["outcome"]) == {"restored"}
    assert acct.members(target) == before[target] | set(newcomers)
    assert all(acct.members(lid) == before[lid] for lid in sources)
    assert posts(emu, 201) == 1  # the second request never went


def _keep_stopped_after_one(emu, client, target, lone=None, wait=True):
    """A keep_in_lists run of 51 source lists (two requests) stopped after its first,
    its activity followed to its end (``wait``): (the result, the source lists)."""
    sources = emu.account.list_ids()[1:]
    members = sorted(emu.account.members(target))
    vip = pd.DataFrame({"contact_id": members[: len(members) // 2]})
    if lone is not None:  # on the last source list only: only the second request takes it
        for lid in sources[:50]:
            emu.account.remove_members(lid, [lone])
        emu.account.add_members(sources[50], [lone])
    with pytest.raises(KeyboardInterrupt) as caught:
        vip.cc.keep_in_lists(
            [target], source=Source.list_ids(sources), client=client, progress=InterruptAfter(1)
        )
    result = caught.value.result
    if wait:
        result.wait()
    return result, sources


def test_a_stopped_keep_s_undo_restores_only_what_its_sent_request_could_remove(fast_account):
    # Two requests to one target, split by source group: the first went out. A contact
    # on the 51st source list only (the second request's) whom someone else took off
    # the target was "restored": the first request named the target, not its source.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    lone = max(emu.account.members(target))  # not among the kept half
    before = emu.account.members(target)
    result, _ = _keep_stopped_after_one(emu, client, target, lone=lone)
    assert posts(emu, 201) == 1 and lone in emu.account.members(target)
    removed = before - emu.account.members(target)
    emu.account.remove_members(target, [lone])  # someone else
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    restored = undo.changes[undo.changes["outcome"] == "restored"]
    assert set(restored["contact_id"]) == removed
    assert lone not in emu.account.members(target)
    assert posts(emu, 201) == 1  # the second request never went
    # The CLI's report (text and --json) says which part was undone, as str() does.
    part = f"undoes only the part that ran (1 of 2 requests) of run {result.run_id}"
    assert part in undo.summary().report_text()
    assert any(part in note for note in undo.summary().to_json("undo")["notes"])


def test_a_stopped_keep_with_a_request_sent_without_an_answer_is_not_undone(fast_account):
    # The second request went out, no answer came (a process killed mid-POST): the
    # API may have made an activity that still runs. The undo went ahead.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    result, _ = _keep_stopped_after_one(emu, client, target)
    result.runner.journal.batch_sending(result.runs[1])
    client.remove_list_memberships(result.runs[1].batch.to_json())
    sent = posts(emu, 201)
    with pytest.raises(PlanError, match="without an answer") as caught:
        ccpandas.undo(result.run_id, client=client, progress=False)
    assert "nothing was sent" in str(caught.value)
    assert f"ccpandas.resume({result.run_id!r}" in str(caught.value)
    assert posts(emu, 201) == sent


def test_an_undone_stopped_keep_is_not_resumed(fast_account, capsys):
    # Undone, then resumed: the resume took off again the contacts the undo put back.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    result, _ = _keep_stopped_after_one(emu, client, target)
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    after, sent = emu.account.members(target), emu.account.count(method="POST")
    for call in (
        lambda: result.resume(progress=False),
        lambda: ccpandas.resume(result.run_id, client=client, progress=False),
        lambda: result.retry_failed(progress=False),
        lambda: result.wait(progress=False),  # it polled on, as Keep waiting does not
    ):
        with pytest.raises(PlanError, match=f"undone by run {undo.run_id}.*nothing was sent"):
            call()
    assert emu.account.count(method="POST") == sent and emu.account.members(target) == after
    for shown in (result, ccpandas.run_result(result.run_id)):
        lines = "\n".join(shown.summary().lines())
        assert "resume(" not in lines and f"undone by run {undo.run_id}" in lines
        assert "Continue with" not in shown.summary().report_text()
        assert shown.summary().to_json("resume")["resume"] is None


def test_a_run_undone_elsewhere_with_nothing_left_to_send_is_not_continued(fast_account):
    # Every request accepted, this result left waiting; another view of the run
    # finished and verified it, and it was undone. This result's resume() was not
    # refused (nothing to send): it said the run completed, nothing of the undo, while
    # summary() says an undone run is not resumed (found by review).
    from ccpandas.emulator.clock import OffsetClock

    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu, client, target = fast_account(seed=51, contacts=200, clock=clock, start_delay=3600.0)
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:20]})
    result = frame.cc.remove_from_lists([target], client=client, progress=False, wait=False)
    clock.advance(hours=2)
    assert ccpandas.run_result(result.run_id, client=client).wait(progress=False).ok
    emu.configure(start_delay=0.0)  # the undo's own activity starts at once
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    requests = len(emu.account.request_log)
    for call in (result.resume, result.wait):  # wait() polled and verified on
        with pytest.raises(PlanError, match=f"undone by run {undo.run_id}.*nothing was sent"):
            call(progress=False)
    assert len(emu.account.request_log) == requests  # not a poll, not a read
    # Rebuilt, the run is as the journal has it: ended and verified, nothing to continue.
    assert ccpandas.resume(result.run_id, client=client, progress=False).ok
    assert len(emu.account.request_log) == requests


def test_a_stopped_keep_s_undo_asks_whether_its_activity_ended(fast_account):
    # Refused while its activity ran, the undo said "result.wait() follows them": no
    # result in hand for ccpandas.undo(run_id), no wait command in the CLI. Ended since
    # (nobody followed it), the undo was still refused: the journal had it running.
    from ccpandas.cli.main import in_flags

    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    before = emu.account.members(target)
    emu.configure(speed=1.0, start_delay=0.0)
    result, _ = _keep_stopped_after_one(emu, client, target, wait=False)
    with pytest.raises(PlanError, match="still run: wait for them to end") as caught:
        ccpandas.undo(result.run_id, client=client, progress=False)
    said = str(caught.value)
    assert f"ccpandas.run_result({result.run_id!r}).wait() follows them" in said
    assert "run_result" not in in_flags(said) and "the undo asks the API" in in_flags(said)
    emu.configure(speed=1_000_000.0)  # it ends; nobody waits for it
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    restored = undo.changes[undo.changes["outcome"] == "restored"]
    assert len(restored) and emu.account.members(target) == before
    assert posts(emu, 201) == 1


def test_an_undo_s_look_at_a_stopped_run_s_activities_counts_as_polls(fast_account):
    # The undo asks the API whether the stopped run's activity ended: those requests
    # were counted, and said, as reads "(lists, members, contacts)" (found by review).
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    emu.configure(speed=1.0, start_delay=0.0)
    result, _ = _keep_stopped_after_one(emu, client, target, wait=False)
    emu.configure(speed=1_000_000.0)  # it ends; nobody waits for it
    start = len(emu.account.request_log)
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    sent = emu.account.request_log[start:]
    first_post = next(i for i, r in enumerate(sent) if r.method == "POST")
    polls = [r.method == "GET" and r.route.startswith("/v3/activities") for r in sent]
    looked = sum(polls[:first_post])  # before the undo's own send
    checked = first_post - looked
    assert looked > 0 and checked > 0 and undo.ok
    want = {"reads": checked, "changes": 1, "polls": sum(polls)}
    want["verification"] = len(sent) - sum(want.values())
    for shown in (undo, ccpandas.run_result(undo.run_id)):  # the journal's, as runs() shows
        assert shown.summary().spent == want
    note = f"checked just now with {checked} read requests (lists, members, contacts)"
    assert f"{note} and {looked} status check" in str(undo.plan)
    (cost,) = [text for label, text in undo.plan.summary_lines() if label == "cost"]
    assert f"{checked} reads to check the lists (as this preview did) + {looked} status" in cost


def test_an_undo_preview_s_cost_is_what_the_undo_then_spends(fast_account):
    # The preview's look at the stopped run's activities (journaled: ended) was in its
    # cost; the undo after it does not look again: the preview said a request too many.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    emu.configure(speed=1.0, start_delay=0.0)
    result, _ = _keep_stopped_after_one(emu, client, target, wait=False)
    emu.configure(speed=1_000_000.0)  # it ends; nobody waits for it
    shown = ccpandas.undo(result.run_id, client=client, dry_run=True)
    preview = shown.plan
    assert shown.summary().spent["polls"] == 1  # the preview's look: it spent it
    start = len(emu.account.request_log)
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    sent = emu.account.request_log[start:]
    assert undo.ok and undo.summary().spent_total == len(sent)
    polls = undo.summary().spent["polls"]  # its own activity's: the preview says "about"
    assert preview.total_requests - preview.expected_polls == len(sent) - polls, str(preview)


def test_a_stopped_engagement_level_run_is_not_undone_by_guess(fast_account):
    # No snapshot says whom the API took off by engagement level: the undo said the
    # run "changed no membership", while its request that went out had removed some.
    emu, client, _ = fast_account(seed=49, contacts=400, lists=52)
    targets = emu.account.list_ids()[:51]  # two requests (50 lists per request)
    before = {lid: emu.account.members(lid) for lid in targets}
    with pytest.raises(KeyboardInterrupt) as caught:
        ccpandas.remove_list_memberships(
            client,
            targets,
            source=Source.engagement_level("low"),
            snapshot=True,
            progress=InterruptAfter(1),
        )
    result = caught.value.result.wait()
    assert any(emu.account.members(lid) != before[lid] for lid in targets)  # it removed
    sent = emu.account.count(method="POST")
    with pytest.raises(PlanError, match=r"by engagement_level.*nothing was sent"):
        ccpandas.undo(result.run_id, client=client, progress=False)
    assert emu.account.count(method="POST") == sent and posts(emu, 201) == 1


def test_a_run_undone_is_not_retried(fast_account):
    # A finished run with a failed activity, undone, then retried: the retry took off
    # again the contacts the undo had put back.
    emu, client, target = fast_account(seed=50, contacts=400)
    before = emu.account.members(target)
    emu.fail_next(1, state="failed")
    frame = pd.DataFrame({"contact_id": sorted(before)})
    result = frame.cc.remove_from_lists([target], client=client, progress=False, snapshot=True)
    assert result.done and result.retryable_runs
    undo = ccpandas.undo(result.run_id, client=client, progress=False)
    assert emu.account.members(target) == before
    sent = emu.account.count(method="POST")
    with pytest.raises(PlanError, match=f"undone by run {undo.run_id}"):
        result.retry_failed(progress=False)
    assert emu.account.count(method="POST") == sent and emu.account.members(target) == before


def test_a_later_stopped_source_removal_without_a_snapshot_does_not_block_an_undo(fast_account):
    # A later keep-like removal without a snapshot, stopped after one request: the undo
    # of an earlier add said the later run "changed some of these pairs again".
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    outsiders = sorted(set(emu.account.contact_ids()) - emu.account.members(target))[:3]
    frame = pd.DataFrame({"contact_id": outsiders})
    added = frame.cc.add_to_lists([target], client=client, progress=False, snapshot=True)
    with pytest.raises(KeyboardInterrupt) as caught:
        ccpandas.remove_list_memberships(
            client,
            [target],
            source=Source.list_ids(emu.account.list_ids()[1:]),
            snapshot=False,
            progress=InterruptAfter(1),
        )
    caught.value.result.wait()
    undo = ccpandas.undo(added.run_id, client=client, progress=False)
    assert undo.ok


def test_a_finished_run_undone_is_retried_and_resumed_as_a_no_op(fast_account):
    # Nothing left to send: retry_failed() and resume() said "undone ... nothing was sent".
    emu, client, target = fast_account(seed=3, contacts=100, lists=3)
    frame = pd.DataFrame({"contact_id": sorted(emu.account.members(target))[:10]})
    result = frame.cc.remove_from_lists([target], client=client, progress=False, snapshot=True)
    assert result.done and result.ok and not result.retryable_runs
    ccpandas.undo(result.run_id, client=client, progress=False)
    sent = emu.account.count(method="POST")
    assert result.retry_failed(progress=False) is result
    ccpandas.resume(result.run_id, client=client, progress=False)
    assert emu.account.count(method="POST") == sent


def _queue_full(emu, client) -> None:
    """The account's activity queue full (one slow activity of its own), and the client
    retrying its 429 too_many_activities at once, not over a minute of jittered backoff:
    the runner's own wait for room comes at once."""
    lists = emu.account.list_ids()
    emu.configure(speed=1.0, start_delay=0.0, max_queued_activities=1)
    client.remove_list_memberships({"source": {"list_ids": lists[1:3]}, "list_ids": lists[-1:]})
    quick = {"activities_base_delay": 0.01, "activities_max_delay": 0.02}
    client.retry_policy = dataclasses.replace(client.retry_policy, **quick)


def test_an_undo_that_sent_nothing_does_not_block_the_resume(fast_account):
    # Stopped before its request was taken (the account's queue full): the resume of
    # the run it reverses said "undone by run X", though X changed nothing.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    result, _ = _keep_stopped_after_one(emu, client, target)
    _queue_full(emu, client)
    sent = emu.account.count(method="POST", status=201)
    with pytest.raises(KeyboardInterrupt):
        ccpandas.undo(result.run_id, client=client, progress=InterruptAfter(0, "waiting"))
    assert emu.account.count(method="POST", status=201) == sent
    emu.configure(speed=1_000_000.0, max_queued_activities=1_000)
    result.resume(progress=False)
    assert result.done and emu.account.count(method="POST", status=201) == sent + 1


def test_an_undo_not_yet_sending_blocks_the_resume_then_one_stopped_does_not(fast_account):
    # An undo waiting for room in the account's queue (journaled, nothing sent yet) was
    # not counted: the resume of the run it reverses went ahead, and both sent. Once
    # that undo stopped with nothing sent, a new undo was refused ("resume it first").
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    result, _ = _keep_stopped_after_one(emu, client, target)
    _queue_full(emu, client)
    sent, refused = emu.account.count(method="POST", status=201), []

    class ResumeWhileWaiting(InterruptAfter):
        def update(self, snapshot) -> None:
            if snapshot.phase == "waiting" and not refused:
                with pytest.raises(PlanError, match="undone by run") as info:
                    ccpandas.resume(result.run_id, client=client, progress=False)
                refused.append(info.value)
            super().update(snapshot)

    with pytest.raises(KeyboardInterrupt):
        ccpandas.undo(result.run_id, client=client, progress=ResumeWhileWaiting(0, "waiting"))
    assert refused and emu.account.count(method="POST", status=201) == sent
    emu.configure(speed=1_000_000.0, max_queued_activities=1_000)
    assert ccpandas.undo(result.run_id, client=client, progress=False, dry_run=True) is not None


def test_an_undo_waits_for_a_brief_hold_of_a_stopped_run(fast_account, monkeypatch):
    # Its look at the activities took the run's lock without waiting, and said "then
    # resume it" (a resume's words) when another process held it for a moment.
    import ccpandas.run.undo as undo_mod

    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    emu.configure(speed=1.0, start_delay=0.0)
    result, _ = _keep_stopped_after_one(emu, client, target, wait=False)
    emu.configure(speed=1_000_000.0)
    monkeypatch.setattr(undo_mod, "_CLAIM_WAIT", 0.05)
    held = RunJournal(result.runner.journal.db, result.run_id).hold()
    with held, pytest.raises(RunLockedError, match="undo it again once that ends"):
        ccpandas.undo(result.run_id, client=client, progress=False)


def test_a_stopped_keep_unanswered_and_grown_is_undone_with_force(fast_account):
    # A request without an answer and lists grown since: the undo said "resume it", the
    # resume was refused (the lists grew), and force=True did not get past either.
    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    before = emu.account.members(target)
    result, _ = _keep_stopped_after_one(emu, client, target)
    result.runner.journal.batch_sending(result.runs[1])
    client.remove_list_memberships(result.runs[1].batch.to_json())
    with pytest.raises(PlanError, match=r"without an answer.*force=True"):
        ccpandas.undo(result.run_id, client=client, progress=False)
    ccpandas.undo(result.run_id, client=client, progress=False, force=True)
    assert emu.account.members(target) == before


def test_a_stopped_keep_s_undo_previews_each_source_once(fast_account, monkeypatch):
    # Its pairs were worked out twice, each a preview of the snapshot per request: some
    # 10 s per call for 200 requests on a snapshot of 100,000 members.
    import ccpandas.run.undo as undo_mod

    emu, client, target = fast_account(seed=49, contacts=400, lists=52)
    result, _ = _keep_stopped_after_one(emu, client, target)
    calls = []
    real = undo_mod.preview_source
    monkeypatch.setattr(undo_mod, "preview_source", lambda *a: calls.append(a) or real(*a))
    assert len(undo_mod.undo_pairs(result))
    assert len(calls) == 1


def test_a_run_s_undos_are_found_by_an_index():
    # Every summary of a result asks the journal for its undos: a scan of every run.
    db = ccpandas.store.journal.open_journal()
    plan = db.query("EXPLAIN QUERY PLAN SELECT run_id FROM runs WHERE parent = 'x'")
    assert "runs_by_parent" in " ".join(str(r["detail"]) for r in plan)
