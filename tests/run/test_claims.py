"""A run never claims another run's work (issue 21, section 2): an uncertain batch is
sent again, never matched to an activity by its shape; a 201 that names an activity
another batch holds (a replayed answer), names none, or cannot be read leaves its batch
uncertain, and it is sent again, counted. Everything over HTTP against the emulator,
whose ``activity_answers`` setting mangles the 201s as a proxy or a cache would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any

import pandas as pd
import pytest

import ccpandas
from ccpandas.api import resume, runs
from ccpandas.emulator import Emulator
from ccpandas.errors import CCError, ServerError, UnusableAnswerError
from ccpandas.run.runner import Runner
from ccpandas.store.journal import DATA_DIR_ENV, open_journal

REMOVE = "/v3/activities/remove_list_memberships"


class Faulty(ccpandas.Client):
    """A real client to the emulator whose first activity POST meets ``settings`` (a
    503 storm, a mangled or replayed 201); the later ones are answered normally."""

    def __init__(self, emu: Emulator, **settings: Any) -> None:
        super().__init__(
            token=emu.token, base_url=emu.base_url, rate=None, max_attempts=2, sleep=_no_wait
        )
        self.emu = emu
        self.pending = [settings] if settings else []

    def remove_list_memberships(self, body):
        if not self.pending:
            return super().remove_list_memberships(body)
        settings = self.pending.pop()
        saved = {name: getattr(self.emu.settings, name) for name in settings}
        self.emu.configure(**settings)
        try:
            return super().remove_list_memberships(body)
        finally:
            self.emu.configure(**saved)


def _no_wait(seconds: float) -> None:
    pass  # the client's backoff between retries: nothing to wait for here


def quick(client) -> Runner:
    return Runner(client, poll_min=0.01, poll_max=0.05)


def new_list(emu: Emulator, name: str, contact_ids: list[str]) -> str:
    list_id = emu.account.create_list(name)
    emu.account.set_members(list_id, contact_ids)
    return list_id


def server_activities(emu: Emulator) -> set[str]:
    return set(emu.account.activities)


def add_up(emu: Emulator, result, before: set[str]) -> None:
    """The counts are honest: every activity the run left on the server is one it
    follows or one of its counted re-sends (an unanswered send may have made none)."""
    made = server_activities(emu) - before
    summary = result.summary()
    assert set(result.activity_ids) <= made
    assert summary.accepted <= len(made) <= summary.accepted + summary.resent
    assert summary.resent == sum(r.resent for r in result.runs)
    assert summary.resent == int(result.activities["resent"].sum())


# -- resume adopts a stranger's activity ---------------------------------------------------
@pytest.mark.parametrize("stranger", ["journal=False", "201 cut short"])
def test_resume_never_adopts_another_runs_activity_of_the_same_shape(emu, stranger):
    contacts = emu.account.contact_ids()
    b_ids, a_ids = contacts[:40], contacts[40:80]
    b_list, a_list = new_list(emu, "B's list", b_ids), new_list(emu, "A's list", a_ids)
    # Kernel B: its POST meets a 503 storm; its batch is uncertain, no activity exists.
    with pytest.raises(ServerError) as caught:
        pd.DataFrame({"contact_id": b_ids}).cc.remove_from_lists(
            [b_list], client=Faulty(emu, error_rate=1.0), progress=False
        )
    b_run = caught.value.result.run_id
    assert b_run in "".join(caught.value.__notes__)
    assert server_activities(emu) == set()
    assert runs().set_index("run_id").loc[b_run, "uncertain"] == 1
    # Kernel A removes 40 *other* contacts from *another* list: the same shape.
    a_frame = pd.DataFrame({"contact_id": a_ids})
    try:
        if stranger == "journal=False":
            theirs = a_frame.cc.remove_from_lists(
                [a_list], client=Faulty(emu), progress=False, journal=False
            )
        else:
            theirs = a_frame.cc.remove_from_lists(
                [a_list], client=Faulty(emu, activity_answers="truncated"), progress=False
            )
    except CCError as exc:  # before the fix: a 201 cut short stopped A's run as rejected
        theirs = exc.result
    assert not emu.account.members(a_list) & set(a_ids)  # A's activity ran
    before = server_activities(emu)

    client = Faulty(emu)
    result = resume(b_run, client=client, progress=False, runner=quick(client))
    assert not emu.account.members(b_list) & set(b_ids)  # B's own contacts are gone
    assert result.ok and result.after is not None
    assert not set(result.activity_ids) & set(theirs.activity_ids)
    assert set(result.activity_ids) == server_activities(emu) - before
    batch0 = open_journal().attempts(b_run)
    assert batch0["outcome"].tolist() == ["uncertain", "accepted"]
    assert batch0["reason"].tolist() == ["first", "uncertain"]
    # sends after one without an answer: the client's retry in the storm, the resume's
    assert result.runs[0].resent == 2 and batch0["resends"].tolist() == [1, 0]
    assert theirs.ok  # and A's run, its 201 cut short or not, ended as asked too


def test_a_201_cut_short_is_uncertain_not_rejected_and_its_activity_stays_claimed(emu):
    ids = emu.account.contact_ids()[:300]
    target = new_list(emu, "target", ids)
    client = Faulty(emu, activity_answers="truncated")
    result = pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
        [target], client=client, progress=False
    )
    # The activity ran: the batch was uncertain (not rejected) and sent again, counted.
    assert result.ok and not emu.account.members(target) & set(ids)
    attempts = open_journal().attempts(result.run_id)
    assert attempts["outcome"].tolist() == ["uncertain", "accepted"]
    assert "not JSON" in attempts["error"].iloc[0]
    cut_short = attempts["activity_id"].iloc[0]  # still legible in the half body
    assert cut_short in server_activities(emu) and cut_short not in result.activity_ids
    assert result.runs[0].resent == 1 and result.runs[0].previous_activity_ids == [cut_short]
    journal = result.runner.journal
    assert journal.activity_holder(cut_short) == f"batch 0 of run {result.run_id}"
    add_up(emu, result, set())


# -- one activity id, two batches ----------------------------------------------------------
def test_a_replayed_201_never_makes_two_batches_follow_one_activity(emu):
    ids = emu.account.contact_ids()[:1000]  # two batches of 500
    target = new_list(emu, "target", ids)
    emu.configure(activity_answers="replay")  # a cache answers every POST after the first
    with pytest.raises(UnusableAnswerError) as caught:
        pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
            [target], client=Faulty(emu), progress=False
        )
    err = caught.value
    stopped = err.result
    assert err.error_key == "replayed_answer" and err.status == 201
    first = stopped.runs[0].activity_id
    assert f"activity {first}, which batch 0 of this run already follows" in str(err)
    assert f"ccpandas.resume({stopped.run_id!r}" in "".join(err.__notes__)
    assert stopped.runs[1].activity_id is None and stopped.runs[1].state == "uncertain"
    assert len(server_activities(emu)) == 1  # the replays reached nothing
    assert len(emu.account.members(target) & set(ids)) == 500
    assert runs().set_index("run_id").loc[stopped.run_id, "uncertain"] == 1

    emu.configure(activity_answers="json")
    client = Faulty(emu)
    result = resume(stopped.run_id, client=client, progress=False, runner=quick(client))
    assert result.ok and not emu.account.members(target) & set(ids)
    assert len(set(result.activity_ids)) == 2
    # three sends of batch 1 were re-sends after an unusable answer: counted, and the
    # server's activities are within what was accepted and re-sent
    assert [r.resent for r in result.runs] == [0, 3]
    add_up(emu, result, set())
    assert "3 re-sent" in repr(result)


def test_two_runs_in_one_process_without_a_journal_never_share_an_activity(emu, caplog):
    contacts = emu.account.contact_ids()
    first_list = new_list(emu, "first", contacts[:50])
    second_list = new_list(emu, "second", contacts[50:100])
    first = pd.DataFrame({"contact_id": contacts[:50]}).cc.remove_from_lists(
        [first_list], client=Faulty(emu), progress=False, journal=False
    )
    # The second run's first POST gets the first run's 201 back from a cache.
    with caplog.at_level("WARNING", logger="ccpandas"):
        second = pd.DataFrame({"contact_id": contacts[50:100]}).cc.remove_from_lists(
            [second_list],
            client=Faulty(emu, activity_answers="replay"),
            progress=False,
            journal=False,
        )
    assert second.ok and not emu.account.members(second_list) & set(contacts[50:100])
    assert not set(second.activity_ids) & set(first.activity_ids)
    assert second.runs[0].resent == 1
    assert (
        f"activity {first.activity_ids[0]}, which batch 0 of a run of this process "
        "(not journaled) already follows" in caplog.text
    )


def test_an_answer_replaying_another_processes_journaled_activity_is_not_followed(
    emu, data_dir_env
):
    contacts = emu.account.contact_ids()
    theirs_list = new_list(emu, "theirs", contacts[:60])
    mine_list = new_list(emu, "mine", contacts[60:120])
    # Another kernel on this machine (a real process, same journal) removes first.
    child = textwrap.dedent(
        """
        import sys, pandas as pd, ccpandas
        base, token, list_id, *ids = sys.argv[1:]
        client = ccpandas.Client(token=token, base_url=base, rate=None)
        frame = pd.DataFrame({"contact_id": ids})
        result = frame.cc.remove_from_lists([list_id], client=client, progress=False)
        print(result.run_id, result.activity_ids[0], result.ok)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", child, emu.base_url, emu.token, theirs_list, *contacts[:60]],
        env={**os.environ, DATA_DIR_ENV: str(data_dir_env)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    their_run, their_activity, ok = done.stdout.split()
    assert ok == "True"
    # A cache answers this kernel's POST with that kernel's 201: the journal says whose.
    mine = pd.DataFrame({"contact_id": contacts[60:120]}).cc.remove_from_lists(
        [mine_list], client=Faulty(emu, activity_answers="replay"), progress=False
    )
    assert mine.ok and not emu.account.members(mine_list) & set(contacts[60:120])
    assert their_activity not in mine.activity_ids
    attempts = open_journal().attempts(mine.run_id)
    assert attempts["outcome"].tolist() == ["uncertain", "accepted"]
    assert f"which batch 0 of run {their_run} already follows" in attempts["error"].iloc[0]
    assert mine.runs[0].resent == 1


# -- a 201 without activity_id -------------------------------------------------------------
def test_a_201_without_activity_id_is_a_clear_error_and_the_run_resumes(emu):
    ids = emu.account.contact_ids()[:200]
    target = new_list(emu, "target", ids)
    emu.configure(activity_answers="no_activity_id")
    with pytest.raises(UnusableAnswerError) as caught:
        pd.DataFrame({"contact_id": ids}).cc.remove_from_lists(
            [target], client=Faulty(emu), progress=False
        )
    err = caught.value
    assert isinstance(err, CCError) and not isinstance(err, KeyError)
    assert err.error_key == "no_activity_id" and "names no activity_id" in str(err)
    run_id = err.result.run_id
    assert f"ccpandas.resume({run_id!r}" in "".join(err.__notes__)
    assert err.result.runs[0].state == "uncertain"
    assert len(server_activities(emu)) == 3  # each send did create an activity
    listed = runs().set_index("run_id").loc[run_id]
    assert (listed["state"], listed["uncertain"]) == ("stopped", 1)

    emu.configure(activity_answers="json")
    client = Faulty(emu)
    result = resume(run_id, client=client, progress=False, runner=quick(client))
    assert result.ok and not emu.account.members(target) & set(ids)
    assert result.runs[0].resent == 3
    add_up(emu, result, set())
