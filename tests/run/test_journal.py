"""The run journal, the shared daily count, and resuming runs: against a real SQLite file
and, where requests matter, the emulator over HTTP."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ccpandas
from ccpandas.api import RUN_COLUMNS, resume, run_plan, run_result, runs
from ccpandas.client.quota import QUOTA_FILE, DayCounter
from ccpandas.emulator.clock import ManualClock, OffsetClock
from ccpandas.errors import CCError, ConfigError, PlanError, QuotaShortError
from ccpandas.plan.planner import plan_removal
from ccpandas.report.progress import NullReporter
from ccpandas.run.clock import ClockFrom
from ccpandas.run.runner import Runner
from ccpandas.store.journal import (
    DATA_DIR_ENV,
    JOURNAL_FILE,
    RunJournal,
    RunLockedError,
    data_dir,
    open_journal,
)
from ccpandas.widgets.status import StatusDisplay

REMOVE = "/v3/activities/remove_list_memberships"
UID = "8b54d1f4-5b0e-11ee-8c99-0242ac120002"
LIST = "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"


def client_for(emu, **kwargs) -> ccpandas.Client:
    kwargs.setdefault("rate", None)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, **kwargs)
    client.stats.day_counter.day = client.stats.day_counter.today()  # no midnight empties it
    return client


def quick(client, **kwargs) -> Runner:
    return Runner(client, poll_min=0.01, poll_max=0.05, **kwargs)


def posts(emu, status=None) -> int:
    return emu.account.count(method="POST", route=REMOVE, status=status)


# -- where it lives ---------------------------------------------------------------------
def test_data_dir_comes_from_the_environment_else_platformdirs(monkeypatch, data_dir_env):
    assert data_dir() == data_dir_env
    monkeypatch.delenv(DATA_DIR_ENV)
    import platformdirs

    assert data_dir() == Path(platformdirs.user_data_dir("ccpandas", appauthor=False))


def test_an_unusable_directory_is_a_clear_error_before_anything_is_sent(emu, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocker / "sub"))
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    with pytest.raises(ConfigError, match=DATA_DIR_ENV):
        df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client_for(emu))
    assert posts(emu) == 0


def test_an_unusable_daily_count_never_breaks_a_request(emu, monkeypatch, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(DATA_DIR_ENV, str(blocker / "sub"))
    client = client_for(emu)
    assert len(ccpandas.read_contact_lists(client)) == 3
    assert client.stats.day_counter.broken
    assert "cannot keep the shared daily request count" in caplog.text
    assert client.stats.quota_used_today == 1  # the client's own count goes on


# -- what it stores -----------------------------------------------------------------------
ODD_INDEXES = [
    pd.RangeIndex(5, 12),
    pd.Index([3, 3, 1, 2, 9, 9, 0]),
    pd.Index(list("abcdefg"), name="key"),
    pd.MultiIndex.from_arrays([[0, 0, 1, 1, 2, 2, 3], list("abcdefg")], names=["a", None]),
    pd.date_range("2025-01-01", periods=7, freq="h", tz="Europe/Paris", name="when"),
    pd.Index([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]),
]


@pytest.mark.parametrize("index", ODD_INDEXES, ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("dtype", ["object", "str", "category", "string[pyarrow]"])
def test_rows_come_back_from_the_journal_as_planned(index, dtype):
    values = [UID, UID.upper(), None, "bad", " {" + UID + "} ", "", LIST]
    column = pd.Series(values, dtype=object)
    if dtype != "object":
        column = column.astype(dtype)
    frame = pd.DataFrame({"contact_id": column.to_numpy()}, index=index)
    if dtype != "object":
        frame["contact_id"] = frame["contact_id"].astype(dtype)
    plan = plan_removal(frame, [LIST])
    journal = RunJournal.create(plan, base_url="http://127.0.0.1:9/v3")
    back = open_journal().load_plan(journal.run_id)
    assert_same_rows_but_invalid_values(back.rows, plan.rows)
    assert back.rows["contact_id"].tolist()[3].startswith("<str value not kept")  # "bad"
    assert back.batches == plan.batches and back.list_ids == plan.list_ids


def assert_same_rows_but_invalid_values(back: pd.DataFrame, planned: pd.DataFrame) -> None:
    """Every column and row as planned; ids and missing values as given; the values
    that are not ids replaced (they are never stored)."""
    pd.testing.assert_frame_equal(
        back.drop(columns="contact_id"), planned.drop(columns="contact_id")
    )
    was_dtype, dtype = planned["contact_id"].dtype, back["contact_id"].dtype
    if isinstance(was_dtype, pd.CategoricalDtype):  # categories renamed, not retyped
        assert isinstance(dtype, pd.CategoricalDtype)
        assert dtype.categories.dtype == was_dtype.categories.dtype
    else:
        assert dtype == was_dtype
    invalid = (planned["plan_status"] == "invalid_id").to_numpy()
    kept, given = back["contact_id"].tolist(), planned["contact_id"].tolist()
    for was, now, bad in zip(given, kept, invalid, strict=True):
        if bad:
            assert "not kept" in repr(now) and repr(was) not in repr(now)
        else:
            assert now is was or now == was or (pd.isna(now) and pd.isna(was))


def test_values_that_are_not_ids_are_kept_as_their_type_only():
    email = "jane.doe@example.com"
    frame = pd.DataFrame(
        {"contact_id": [UID, 7, b"x", dt_value(), np.int64(3), (1, 2), uuid.UUID(LIST), email]}
    )
    plan = plan_removal(frame, LIST)
    run_id = RunJournal.create(plan).run_id
    back = open_journal().load_plan(run_id)
    assert [repr(v) for v in back.rows["contact_id"]] == [
        repr(UID),
        "<int value not kept>",
        "<bytes value not kept>",
        "<datetime value not kept>",
        "<int64 value not kept>",
        "<tuple value not kept>",
        "<UUID value not kept>",
        "'<str value not kept>'",
    ]
    # what the result shows of those rows: status, reason, the row's index label
    pd.testing.assert_frame_equal(
        back.rows.drop(columns="contact_id"), plan.rows.drop(columns="contact_id")
    )
    assert back.rows["reason"].tolist()[1:4] == [
        "not a string (int)",
        "not a string (bytes)",
        "not a string (datetime)",
    ]
    blob = open_journal().run_record(run_id)["rows"]
    import zlib

    stored = zlib.decompress(blob).decode()
    assert email not in stored and "example.com" not in stored
    assert LIST.replace("-", "") not in stored and "2025-01-01" not in stored


def test_invalid_categories_are_not_stored_either():
    column = pd.Series([UID, "jane@example.com", None, "jane@example.com"], dtype="category")
    column = column.cat.add_categories(["unused@example.com"])
    plan = plan_removal(column, LIST)
    run_id = RunJournal.create(plan).run_id
    back = open_journal().load_plan(run_id)
    assert_same_rows_but_invalid_values(back.rows, plan.rows)
    import zlib

    assert b"example.com" not in zlib.decompress(open_journal().run_record(run_id)["rows"])


def dt_value():
    import datetime as dt

    return dt.datetime(2025, 1, 1)


def test_source_plans_come_back_too(emu):
    client = client_for(emu)
    tag = emu.account.tag_ids()[0]
    keep = emu.account.contact_ids()[:3]
    result = ccpandas.remove_list_memberships(
        client,
        emu.account.list_ids()[:1],
        source=ccpandas.Source.tag_ids([tag]),
        progress=False,
        snapshot=False,
    )
    assert result.ok
    back = run_result(result.run_id)
    assert back.plan.batches == result.plan.batches and back.ok
    result = ccpandas.remove_list_memberships(
        client,
        emu.account.list_ids()[1:2],
        source=ccpandas.Source.all_active_contacts(),
        exclude=pd.Series(keep),
        confirm_all_active=True,
        progress=False,
        snapshot=False,
    )
    back = run_result(result.run_id)
    assert back.plan.exclude == tuple(keep)
    pd.testing.assert_frame_equal(back.rows, result.rows)


def test_the_journal_holds_ids_and_states_never_tokens_or_other_columns(emu, data_dir_env):
    client = client_for(emu)
    df = pd.DataFrame(
        {
            "contact_id": emu.account.contact_ids()[:700],
            "email": [f"person{i}@example.com" for i in range(700)],
        }
    )
    result = df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    assert result.ok and result.run_id
    stored = b"".join(p.read_bytes() for p in data_dir_env.rglob("*") if p.is_file())
    assert emu.token.encode() not in stored
    assert emu.token[:12].encode() not in stored
    assert b"@example.com" not in stored
    assert b"Bearer" not in stored
    with sqlite3.connect(data_dir_env / JOURNAL_FILE) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"meta", "runs", "batches", "attempts", "snapshots", "snapshot_pages"}
        (url,) = conn.execute("SELECT base_url FROM runs").fetchone()
        assert url == emu.base_url


# -- when it writes -----------------------------------------------------------------------
class Watching(ccpandas.Client):
    """A real client that, before each POST, reads the journal through another
    connection: what it sees there was committed before the request went out."""

    seen: list

    def remove_list_memberships(self, body):
        conn = sqlite3.connect(data_dir() / JOURNAL_FILE)
        try:
            rows = conn.execute("SELECT batch, attempt, outcome, activity_id FROM attempts")
            self.seen.append(rows.fetchall())
        finally:
            conn.close()
        return super().remove_list_memberships(body)


def test_each_attempt_is_committed_before_its_post_and_its_answer_before_the_next(emu):
    client = Watching(token=emu.token, base_url=emu.base_url, rate=None)
    client.seen = []
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1500]})
    offline = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    result = run_plan(offline, client, progress=False)
    assert result.ok and len(client.seen) == 3
    for n, rows in enumerate(client.seen):
        *answered, sending = sorted(rows)
        assert sending[:3] == (n, 1, "sending")  # this POST, on record before it went out
        assert [r[2] for r in answered] == ["accepted"] * n  # earlier answers, on record
        assert [r[3] for r in answered] == result.activity_ids[:n]


def _killed_mid_post(emu, client, *, reached_server: bool):
    """What a process killed mid-request leaves: the attempt on record as sending, the
    request applied by the server (or not), no answer recorded."""
    from ccpandas.store.batch import BatchRun

    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    plan = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    journal = RunJournal.create(plan, base_url=emu.base_url)
    journal.batch_sending(BatchRun(plan.batches[0]))
    if reached_server:
        client.remove_list_memberships(plan.batches[0].to_json())
    return journal


@pytest.mark.parametrize("reached_server", [True, False])
def test_a_post_without_an_answer_is_sent_again_counted_every_attempt_on_record(
    emu, caplog, reached_server
):
    # Whether the lost POST created an activity cannot be told from the server (an
    # activity does not say which contacts it touched): the batch is sent again, which
    # is harmless (idempotent), never matched to an activity by its shape.
    client = client_for(emu)
    journal = _killed_mid_post(emu, client, reached_server=reached_server)
    assert runs().set_index("run_id").loc[journal.run_id, "uncertain"] == 1
    with caplog.at_level("INFO", logger="ccpandas"):
        result = resume(journal.run_id, client=client, progress=False, runner=quick(client))
    assert result.ok
    batch0 = open_journal().attempts(journal.run_id).query("batch == 0")
    assert batch0["outcome"].tolist() == ["uncertain", "accepted"]
    assert batch0["reason"].tolist() == ["first", "uncertain"]
    assert "the process ended while the request was out" in batch0["error"].iloc[0]
    assert result.runs[0].resent == 1 and result.activities.loc[0, "resent"] == 1
    assert posts(emu, 201) == 2 + reached_server  # the lost one, if it got there
    assert "sending them again" in caplog.text


def test_the_summary_counts_every_post_sent_resends_included(emu):
    # The first POST's 201 names no activity (a proxy in the way): the batch is sent
    # again at once. The server got 3 POSTs; Summary.sent says "POST attempts, resends
    # included", so 3 too (the requests line counts 2 accepted and 1 re-sent).
    emu.configure(activity_answers="no_activity_id")
    client = client_for(emu)
    post = client.remove_list_memberships

    def then_answer_normally(body):
        try:
            return post(body)
        finally:
            emu.configure(activity_answers="json")

    client.remove_list_memberships = then_answer_normally
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    summary = result.summary()
    assert result.ok and posts(emu, 201) == 3
    assert (summary.batches, summary.accepted, summary.resent) == (2, 2, 1)
    assert summary.sent == posts(emu) == 3


def test_resume_continues_a_stopped_run_and_sends_only_what_is_missing(emu):
    client = client_for(emu)
    emu.configure(quota_left=3)  # the list listing (a run checks its lists) and 2 POSTs
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()}, index=range(100, 1700))
    with pytest.raises(ccpandas.QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    stopped = caught.value.result
    # an explicit client, no default one: the call to continue must pass it
    assert f"ccpandas.resume({stopped.run_id!r}, client=client)" in str(caught.value)
    listed = runs()
    assert list(listed.columns) == list(RUN_COLUMNS)
    row = listed.set_index("run_id").loc[stopped.run_id]
    assert (row["state"], row["stop_reason"], row["accepted"], row["batches"]) == (
        "stopped",
        "quota_exceeded",
        2,
        4,
    )
    assert row["contacts"] == 1600 and row["lists"] == 1 and row["progress"] < 1

    emu.configure(quota_left=None)
    rebuilt = run_result(stopped.run_id)  # no client needed to look
    pd.testing.assert_frame_equal(rebuilt.rows, stopped.rows)
    resumed = resume(stopped.run_id, client=client, progress=False, runner=quick(client))
    assert resumed.ok and posts(emu, 201) == 4
    assert resumed.rows.index.equals(df.index)
    row = runs().set_index("run_id").loc[stopped.run_id]
    assert (row["state"], row["progress"], row["stop_reason"]) == ("completed", 1.0, None)
    # resuming a finished run sends nothing
    again = resume(stopped.run_id, client=client, progress=False)
    assert again.ok and posts(emu, 201) == 4


def _stopped_half_way(emu, client):
    """A run of 4 batches the API's quota stopped after 2 (its journal keeps it)."""
    emu.configure(quota_left=3)  # the list listing (a run checks its lists) and 2 POSTs
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    with pytest.raises(ccpandas.QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    emu.configure(quota_left=None)
    return caught.value.result


@pytest.mark.parametrize("by", ["run_id", "result"])
def test_a_resume_today_s_quota_cannot_hold_refuses_before_sending(emu, by):
    # ccpandas.resume(run_id) never asked the shared daily count: with the day spent by
    # others it sent anyway and met the API's 429 half way (found by review).
    client = client_for(emu)
    stopped = _stopped_half_way(emu, client)
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)  # 2 left; the rest: 2 changes and polls
    sent = posts(emu)
    with pytest.raises(QuotaShortError, match=r"\(2 changes.*before sending the rest.*resume it"):
        if by == "run_id":
            resume(stopped.run_id, client=client, progress=False, runner=quick(client))
        else:
            stopped.resume(progress=False)
    assert posts(emu) == sent
    assert runs().set_index("run_id").loc[stopped.run_id, "state"] == "stopped"


def test_a_resume_by_run_id_waits_for_the_reset_with_wait_for_quota(emu):
    client = client_for(emu)
    stopped = _stopped_half_way(emu, client)
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    runner = quick(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    result = resume(
        stopped.run_id, client=client, progress=False, runner=runner, wait_for_quota=True
    )
    assert clock.now() >= dt.datetime(2025, 3, 2, tzinfo=dt.UTC)  # waited for the reset
    assert result.ok and posts(emu, 201) == 4


class StopClicked(StatusDisplay):
    """The widget display; its user clicks "Stop waiting" once the first batch is sent."""

    sleep = None  # the runner's (manual) clock sleeps
    clicked = False

    def update(self, snapshot):
        super().update(snapshot)
        if not self.clicked and snapshot.batches_submitted == 1:
            self.clicked = True
            self.request_stop()


class CtrlCWhilePolling(NullReporter):
    """Ctrl-C while the run polls (once)."""

    fired = False

    def update(self, snapshot):
        if snapshot.phase == "polling" and not self.fired:
            self.fired = True
            raise KeyboardInterrupt


def _stopped_by_a_click(emu, **kwargs):
    """A run of 4 batches whose user clicked Stop after the first; its manual clock."""
    emu.account.set_members(emu.account.list_ids()[0], emu.account.contact_ids())
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    lists = emu.account.list_ids()[:1]
    plan = df.cc.remove_from_lists(lists, client=client, progress=False, dry_run=True).plan
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    runner = quick(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    stopped = run_plan(plan, client=client, runner=runner, progress=StopClicked(), **kwargs)
    assert stopped.stopped and posts(emu, 201) == 1  # 3 of 4 batches left
    return stopped, client, clock


def test_a_resume_after_a_stop_click_waits_for_the_reset_in_the_same_display(emu):
    # The quota check ran before the resume re-armed the display: the earlier click
    # ended the wait at once, and QuotaShortError told the user to pass
    # wait_for_quota=True, which they had (found by review).
    stopped, client, clock = _stopped_by_a_click(emu)
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)  # others spent the day
    done = stopped.resume(wait_for_quota=True)  # keeps the run's display
    assert clock.now() >= dt.datetime(2025, 3, 2, tzinfo=dt.UTC)  # waited for the reset
    assert done.ok and posts(emu, 201) == 4


def test_a_resume_after_a_ctrl_c_in_a_wait_with_a_timeout_still_waits_for_the_reset(emu):
    # The interrupted wait's deadline stayed on the runner: the resume's quota check
    # cut its wait for the reset short (found by review).
    stopped, client, clock = _stopped_by_a_click(emu, wait_for_quota=True)
    with pytest.raises(KeyboardInterrupt):
        stopped.wait(timeout=60, progress=CtrlCWhilePolling())
    clock.advance(120)  # the timeout is over
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)  # others spent the day
    done = stopped.resume(progress=False)  # the run's wait_for_quota=True
    assert clock.now() >= dt.datetime(2025, 3, 2, tzinfo=dt.UTC)  # waited for the reset
    assert done.ok and posts(emu, 201) == 4


@pytest.mark.parametrize("w", [True, False])  # wait_for_quota
def test_a_resume_of_a_run_driven_elsewhere_is_refused_before_the_quota_check(emu, w):
    # The quota check came before the run's lock: wait_for_quota=True slept until the
    # reset and only then said RunLockedError; without it, QuotaShortError.
    client = client_for(emu)
    stopped = _stopped_half_way(emu, client)
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 1)  # the day spent by others
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))
    runner = quick(client, clock=ClockFrom(clock, sleep=clock.advance), quota_jitter=0)
    elsewhere = RunJournal.open(stopped.run_id).attach(stopped.runs)  # another process
    with elsewhere, pytest.raises(RunLockedError):
        resume(stopped.run_id, client=client, progress=False, runner=runner, wait_for_quota=w)
    assert clock.now() == dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC)  # no wait first


def test_waiting_on_a_finished_rebuilt_run_needs_no_login(emu, monkeypatch):
    # run_result(run_id).wait() built the default client first: AuthError with no
    # login, for a run with nothing left to ask the API.
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    done = df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    assert done.ok
    old = ccpandas.set_default_client(None)
    monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
    try:
        assert run_result(done.run_id).wait(progress=False).ok
    finally:
        ccpandas.set_default_client(old)


@pytest.mark.parametrize("how", ["ccpandas.resume", "run_result.resume"])
def test_a_missing_login_is_said_before_the_lock_of_a_run_driven_elsewhere(emu, monkeypatch, how):
    # A resume with no login said RunLockedError while another process drove the run
    # (the default client was built under the run's lock): once that process was done,
    # the user met the AuthError the call could have said first (found by review).
    stopped = _stopped_half_way(emu, client_for(emu))
    old = ccpandas.set_default_client(None)
    monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
    calls = {
        "ccpandas.resume": lambda: resume(stopped.run_id, progress=False),
        "run_result.resume": lambda: run_result(stopped.run_id).resume(progress=False),
    }
    try:
        elsewhere = RunJournal.open(stopped.run_id).attach(stopped.runs)  # another process
        with elsewhere, pytest.raises(ccpandas.AuthError):
            calls[how]()
    finally:
        ccpandas.set_default_client(old)


def test_waiting_on_a_finished_rebuilt_run_keeps_what_it_spent(emu):
    # wait() no longer takes the default client for a finished run: the display then
    # found no client counts and made spent unknown ("requests spent: unknown"), where
    # runs() kept the journaled count (found by review).
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    done = df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    spent = run_result(done.run_id).summary().spent
    assert spent is not None and sum(spent.values()) > 0
    old = ccpandas.set_default_client(client)  # a login exists
    try:
        again = run_result(done.run_id).wait(progress=False)
    finally:
        ccpandas.set_default_client(old)
    assert again.summary().spent == spent
    assert "unknown" not in again.summary().spent_text


class CtrlCAfterTheFirstSend(NullReporter):
    """Ctrl-C once the first batch is sent; the start and finish of each call after."""

    fired = False

    def __init__(self):
        self.events = []

    def start(self, snapshot):
        self.events.append(("start", snapshot.phase))

    def update(self, snapshot):
        if snapshot.batches_submitted == 1 and not self.fired:
            self.fired = True
            raise KeyboardInterrupt

    def finish(self, snapshot):
        self.events.append(("finish", snapshot.phase, snapshot.extra.get("summary")))


def _interrupted(emu):
    """A run of 4 batches interrupted by Ctrl-C after the first; its client."""
    emu.account.set_members(emu.account.list_ids()[0], emu.account.contact_ids())
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    lists = emu.account.list_ids()[:1]
    plan = df.cc.remove_from_lists(lists, client=client, progress=False, dry_run=True).plan
    with pytest.raises(KeyboardInterrupt) as caught:
        run_plan(plan, client=client, runner=quick(client), progress=CtrlCAfterTheFirstSend())
    return caught.value.result, client


def test_a_refused_resume_leaves_an_interrupted_run_interrupted(emu):
    # The resume cleared the result's interrupted flag before its quota check: once
    # refused, the run's summary said stopped while runs() said interrupted, and the
    # display ended on "stopped" with no summary (found by review).
    result, client = _interrupted(emu)
    state = (result.summary().outcome, result.stopped, result.stop_reason, result.interrupted)
    assert state[0] == "interrupted"
    journaled = dict(open_journal().run_record(result.run_id))
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)  # others spent the day
    display = CtrlCAfterTheFirstSend()
    with pytest.raises(QuotaShortError, match="before sending the rest"):
        result.resume(progress=display)
    assert (result.summary().outcome, result.stopped, result.stop_reason, result.interrupted) == (
        state
    )
    assert dict(open_journal().run_record(result.run_id)) == journaled
    assert runs().set_index("run_id").loc[result.run_id, "outcome"] == "interrupted"
    assert display.events[0] == ("start", "starting")
    assert display.events[-1][2] is not None  # the display ends on the run's summary
    assert display.events[-1][2].outcome == "interrupted"


def test_a_ctrl_c_in_a_resume_s_wait_for_the_reset_leaves_the_run_as_it_was(emu):
    # The same with Ctrl-C during the resume's wait for the quota's reset: the run
    # stays interrupted, its display ends, its lock is free for another process.
    result, client = _interrupted(emu)
    journaled = dict(open_journal().run_record(result.run_id))
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 2)  # others spent the day
    clock = ManualClock(dt.datetime(2025, 3, 1, 22, 0, tzinfo=dt.UTC))

    def sleep(seconds):
        raise KeyboardInterrupt

    result.runner = quick(
        client, clock=ClockFrom(clock, sleep=sleep), journal=result.runner.journal
    )
    display = CtrlCAfterTheFirstSend()
    with pytest.raises(KeyboardInterrupt):
        result.resume(wait_for_quota=True, progress=display)
    assert result.interrupted and result.summary().outcome == "interrupted"
    assert dict(open_journal().run_record(result.run_id)) == journaled
    assert display.events[-1][:2] == ("finish", "stopped")
    with RunJournal.open(result.run_id).attach(result.runs):  # not held any more
        pass


def test_a_refused_retry_says_to_retry_after_the_reset(emu):
    # retry_failed()'s QuotaShortError said to resume after the reset or pass
    # wait_for_quota=True: resume() never sends a failed batch again, and
    # retry_failed() has no wait_for_quota (found by review).
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 4 batches
    emu.fail_next(1, state="failed", at=0.0)
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    assert len(result.retryable_runs) == 1
    counter = client.stats.day_counter
    counter.add(n=10_000 - counter.used() - 1)  # others spent the day
    with pytest.raises(QuotaShortError) as caught:
        result.retry_failed(progress=False)
    said = str(caught.value)
    assert "before sending the failed batches again" in said
    assert said.endswith("UTC: call retry_failed() then")
    assert "resume" not in said and "wait_for_quota" not in said


def test_a_mismatched_resume_counts_in_good_english(emu):
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, wait=False, progress=False, snapshot=False
    )
    with pytest.raises(PlanError) as caught:
        df.iloc[:1].cc.resume(result.run_id, client=client)
    message = str(caught.value)
    assert "plans 1 row and 1 contact in 1 request," in message
    assert "the run had 3 rows and 3 contacts in 1 request." in message


def test_df_cc_resume_checks_the_frame_and_keeps_its_rows(emu):
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": pd.Series(emu.account.contact_ids(), dtype="category")})
    df.index = [f"c{i}" for i in range(len(df))]
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, wait=False, progress=False, snapshot=False
    )
    with pytest.raises(PlanError, match="does not match run"):
        df.iloc[:-1].cc.resume(result.run_id, client=client)
    sent = posts(emu)
    resumed = df.cc.resume(result.run_id, client=client, progress=False)
    assert resumed.ok and posts(emu) == sent  # all accepted already: only polls
    assert resumed.rows.index.equals(df.index)
    assert isinstance(resumed.rows["contact_id"].dtype, pd.CategoricalDtype)


def test_a_run_driven_elsewhere_cannot_be_resumed_meanwhile(emu):
    client = client_for(emu)
    emu.configure(quota_left=2)  # the list listing (a run checks its lists) and 1 POST
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    with pytest.raises(ccpandas.QuotaExceededError) as caught:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    emu.configure(quota_left=None)
    result = caught.value.result
    holder = RunJournal.open(result.run_id)
    with holder.attach(result.runs):
        assert runs().set_index("run_id").loc[result.run_id, "state"] == "running"
        with pytest.raises(RunLockedError, match="another process"):
            resume(result.run_id, client=client, progress=False)
        assert posts(emu, 201) == 1
    assert resume(result.run_id, client=client, progress=False, runner=quick(client)).ok


def test_a_dead_process_shows_as_stopped_with_its_reason(emu):
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:100]})
    result = df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    with open_journal().transaction() as conn:  # as a killed process leaves it
        conn.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", (result.run_id,))
        conn.execute("UPDATE batches SET state = 'pending', activity_id = NULL")
    row = runs().set_index("run_id").loc[result.run_id]
    assert row["state"] == "stopped" and row["stop_reason"] == "the process driving it ended"


def test_a_post_on_its_way_in_a_driven_run_is_not_counted_uncertain(emu):
    # runs() while a process drives the run, each time a POST is on its way (its attempt
    # journaled "sending", the answer not back yet): nothing is without an answer, and
    # no resume could send it again (the run is locked). Only a dead process's counts.
    client = client_for(emu)
    post, seen = client.remove_list_memberships, []

    def look_then_post(body):
        row = runs().iloc[0]
        seen.append((row["state"], int(row["uncertain"])))
        return post(body)

    client.remove_list_memberships = look_then_post
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
    )
    assert result.ok and posts(emu, 201) == 2
    assert seen == [("running", 0), ("running", 0)]
    assert runs().iloc[0]["uncertain"] == 0


def test_failed_and_processing_runs_are_told_apart(emu):
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1000]})
    emu.fail_next(1, "failed")
    failed = df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    emu.configure(speed=10.0)
    slow = df.cc.remove_from_lists(
        emu.account.list_ids()[1:2], client=client, progress=False, wait=False
    )
    states = runs().set_index("run_id")["state"]
    assert states[failed.run_id] == "failed" and states[slow.run_id] == "processing"


def test_a_refused_retry_with_nothing_left_to_resume_is_failed_not_stopped(emu):
    # A batch the API refuses (400: an unknown contact, as the API may be set to answer);
    # resume sends the rest and follows them; retry_failed() sends the refused batch,
    # which is refused again. Every request is answered: nothing is left for a resume
    # (it would send nothing), so the run has failed; its advice is not resume.
    emu.configure(unknown_contacts="reject")
    client = client_for(emu)
    ids = emu.account.contact_ids()[:1200]
    ids[700] = str(uuid.UUID(int=12345))  # no such contact: batch 1 is refused
    df = pd.DataFrame({"contact_id": ids})
    with pytest.raises(CCError) as first:
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    run_id = first.value.result.run_id
    assert runs().iloc[0]["state"] == "stopped"  # batch 2 was never sent
    result = resume(run_id, client=client, progress=False, runner=quick(client))
    assert result.summary().outcome == "failed" and posts(emu, 201) == 2
    with pytest.raises(CCError) as again:
        result.retry_failed(progress=False)
    assert posts(emu, 400) == 2 and posts(emu, 201) == 2
    summary = result.summary()
    assert (summary.outcome, summary.resume_call) == ("failed", None)
    assert "resume" not in "".join(getattr(again.value, "__notes__", []))
    row = runs().iloc[0]
    assert (row["state"], row["outcome"]) == ("failed", "failed")


def test_resume_refuses_a_client_for_another_api(emu):
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client_for(emu), progress=False
    )
    other = ccpandas.Client(token="t", base_url="http://127.0.0.1:9/v3")
    with pytest.raises(CCError, match="was sent to"):
        resume(result.run_id, client=other)


def test_unknown_run_ids_name_the_known_ones(emu):
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    result = df.cc.remove_from_lists(
        emu.account.list_ids()[:1], client=client_for(emu), progress=False
    )
    with pytest.raises(CCError, match=result.run_id):
        run_result("20990101-000000-000000")


def test_journal_false_records_nothing(emu, data_dir_env):
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:10]})
    plan = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    result = run_plan(plan, client_for(emu), progress=False, journal=False)
    assert result.ok and result.run_id is None
    assert not (data_dir_env / JOURNAL_FILE).exists()


def test_top_level_names():
    assert ccpandas.resume is resume and ccpandas.runs is runs
    assert ccpandas.run_result is run_result
    assert {"resume", "runs", "run_result"} <= set(ccpandas.__all__)


# -- the daily count ----------------------------------------------------------------------
def test_a_run_that_needs_more_than_todays_quota_refuses_before_sending(emu):
    # It used to warn and send until the quota ran out; issue 23 asks it to refuse, or
    # to wait with wait_for_quota=True, before anything is spent.
    client = client_for(emu)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    offline = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    plan = dataclasses.replace(offline, daily_quota=3)
    with pytest.raises(
        QuotaShortError, match=r"needs about 6 requests \(4 changes.*0 of 3 are used"
    ):
        run_plan(plan, client, progress=False, runner=quick(client))
    with pytest.raises(QuotaShortError, match="so it stopped before its first change"):
        run_plan(plan, client, progress=False, runner=quick(client))
    assert emu.account.count(method="POST") == 0
    # More than a whole day of 3, nothing used today: waiting would not help, it goes
    # and waits at each reset.
    with pytest.warns(UserWarning, match=r"more than a whole day's quota of 3"):
        result = run_plan(plan, client, progress=False, runner=quick(client), wait_for_quota=True)
    assert result.ok


def test_every_client_and_process_adds_to_one_daily_count(emu, data_dir_env):
    client = client_for(emu)
    day = client.stats.day_counter.day  # pinned: the processes count on it too
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:600]})
    df.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    assert client.stats.day_counter.used() == emu.account.count() == client.stats.requests

    script = textwrap.dedent(
        f"""
        import datetime as dt
        from ccpandas.client.quota import DayCounter
        counter = DayCounter({emu.base_url!r})
        counter.day = dt.date.fromisoformat({day.isoformat()!r})
        for _ in range(200):
            counter.add()
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    assert DayCounter(emu.base_url).used(day) == emu.account.count() + 400
    assert (data_dir_env / QUOTA_FILE).exists()
    # Today's count: the pinned day's, unless a midnight since made today another day.
    today = ccpandas.client.quota.used_today(emu.base_url)
    assert today == emu.account.count() + 400 or ccpandas.models.quota_day() > day


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_a_post_cut_short_by_ctrl_c_is_in_the_daily_count(cc_emulator_factory):
    # Ctrl-C while the server holds its answer: the server counted the POST (and made
    # its activity); the run makes the batch uncertain. The shared daily count must
    # count it too, or plans and the quota check see one request fewer than the API.
    # The server's day starts at noon (real time flows on): no midnight in the test
    # restarts its count (emu.quota_used) while the client's pinned ledger goes on.
    noon = dt.datetime(2025, 6, 1, 12, tzinfo=dt.UTC)
    emu = cc_emulator_factory(seed=5, contacts=1600, lists=3, rate=None, clock=OffsetClock(noon))
    client = client_for(emu)
    main = threading.main_thread().ident
    assert main is not None

    def interrupt_once_the_server_has_it() -> None:
        while posts(emu) == 0:
            time.sleep(0.001)
        signal.pthread_kill(main, signal.SIGINT)  # a real Ctrl-C, in the main thread

    # The answer comes 10 s after the POST is handled: room for the Ctrl-C to land
    # first on a loaded machine (3 s left little); the test waits that out once.
    emu.configure(latency=10.0)
    threading.Thread(target=interrupt_once_the_server_has_it, daemon=True).start()
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:100]})
    with pytest.raises(KeyboardInterrupt):
        df.cc.remove_from_lists(
            emu.account.list_ids()[:1], client=client, progress=False, snapshot=False
        )
    emu.configure(latency=0.0)
    assert posts(emu) == 1 and runs().iloc[0]["uncertain"] == 1
    assert client.stats.day_counter.used() == emu.quota_used == client.stats.requests


def test_journal_rows_are_json_in_a_compressed_blob():
    plan = plan_removal(pd.Series([UID, "x"]), LIST)
    run_id = RunJournal.create(plan).run_id
    record = open_journal().run_record(run_id)
    import zlib

    doc = json.loads(zlib.decompress(record["rows"]))
    # the ids as given, nothing else: "x" is not an id, only its kind is kept
    assert doc["column"]["values"] == [UID, "<str value not kept>"]
    assert doc["column"]["index"] == {"range": [0, 2, 1], "name": None}
    assert json.loads(record["plan"])["digest"]


def test_a_batch_reads_activities_in_every_shape_the_service_sends(emu):
    # Bodies without status, percent_done or _links, and errors as strings or objects:
    # applying them never fails, and errors are kept as their text.
    import datetime as dt

    from ccpandas.store.batch import BatchRun
    from ccpandas.vocab import BatchState

    df = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]})
    run = BatchRun(df.cc.plan(emu.account.list_ids()[:1], snapshot=False).batches[0])
    now = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    assert run.apply({"activity_id": "a", "state": "initialized"}, now)
    assert (run.state, run.percent_done, run.items_completed) == (BatchState.INITIALIZED, 0, 0)
    run.apply({"state": "processing", "status": {"items_total_count": 3}}, now)
    run.apply({"state": "processing", "percent_done": 1, "status": {"list_count": 1}}, now)
    assert run.items_total == 3  # kept: the sparse body did not say
    errors = ["gone", {"message": "not changed"}, {"error_message": "x"}, {"code": 7}]
    run.apply({"state": "failed", "percent_done": 50, "activity_errors": errors}, now)
    assert run.errors == ("gone", "not changed", "x", '{"code": 7}')
    assert run.terminal and run.finished_at == now
