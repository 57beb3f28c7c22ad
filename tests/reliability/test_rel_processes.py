"""Runs in other processes: killed with SIGKILL at seeded points and resumed from the
journal in a new process, and two "kernels" removing at once from one account.

The emulator runs in this test process, so it outlives every killed runner. Runners are
forked from a pre-imported server (rel_child.py serve, one for the module) so each starts
in milliseconds; the final resume runs in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from reliability_support import REMOVE, check_all, check_rows, memberships

import ccpandas
from ccpandas.api import run_result, runs
from ccpandas.client.quota import DayCounter
from ccpandas.emulator import OffsetClock
from ccpandas.errors import RunLockedError
from ccpandas.store.journal import open_journal

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL")

CHILD = Path(__file__).with_name("rel_child.py")
TIMEOUT = 60.0


class Server:
    """The pre-imported process that forks one worker per job (see rel_child.py)."""

    def __init__(self, env: dict[str, str], stderr: Path) -> None:
        self._stderr_path = stderr
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr.open("wb"),
            env=env,
        )
        self._queues: defaultdict[str, queue.Queue[str | None]] = defaultdict(queue.Queue)
        threading.Thread(target=self._read, daemon=True).start()
        self.line(str(self.proc.pid), lambda text: text == "READY")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            who, _, text = raw.decode().rstrip("\n").partition(" ")
            self._queues[who].put(text)
        for q in list(self._queues.values()):
            q.put(None)

    def line(self, who: str, match: Any = None) -> str:
        """The next line from ``who`` (a pid, or FORKED) that ``match`` accepts."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            left = deadline - time.monotonic()
            try:
                text = self._queues[who].get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"no line from {who}: {self.stderr()}") from None
            if text is None:
                raise AssertionError(f"the server ended: {self.stderr()}")
            if text.startswith("ERROR"):
                raise AssertionError(f"worker {who}: {text}")
            if match is None or match(text):
                return text

    def start(self, job: dict[str, Any]) -> str:
        """Fork a worker for ``job``; returns its pid (as text)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        return self.line("FORKED")

    def stderr(self) -> str:
        return self._stderr_path.read_text(errors="replace")[-2000:]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT)


class Shared:
    """One test's use of the module's server (:func:`serve`): each job carries the
    test's environment (its emulator, token and journal directory), applied by the
    forked worker before anything else."""

    def __init__(self, server: Server, base: dict[str, str], env: dict[str, str]) -> None:
        self._server = server
        self._env = {
            "set": {k: v for k, v in env.items() if base.get(k) != v},
            "unset": sorted(set(base) - set(env)),
        }

    def start(self, job: dict[str, Any]) -> str:
        return self._server.start({**job, "env": self._env})

    def line(self, who: str, match: Any = None) -> str:
        return self._server.line(who, match)

    def stderr(self) -> str:
        return self._server.stderr()

    def close(self) -> None:
        """Nothing to stop: the server serves the module's next test."""


def kill_at(server: Server | Shared, pid: str, point: tuple[str, int, float]) -> str:
    """Kill worker ``pid`` ``delay`` s after its ``n``-th ``kind`` event; returns
    ``"killed"``, or ``"finished"`` if it ended first."""
    kind, n, delay = point
    prefix = {
        "start": "EVENT run ",
        "sending": "EVENT sending batch",
        "accepted": "EVENT batch ",
        "poll": "EVENT poll ",
    }[kind]
    seen = 0
    while True:
        text = server.line(pid)
        if text.startswith("DONE"):
            return "finished"
        if text.startswith(prefix):
            seen += 1
            if seen == n:
                time.sleep(delay)
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    return "finished"
                return "killed"


def gone(pid: str) -> None:
    """Wait until the OS has ended worker ``pid`` (and so freed its run's lock)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def kill_points(seed: int, count: int, batches: int) -> list[tuple[str, int, float]]:
    """Seeded kill points: half during submission (before the first request, before
    or after a POST, mid-POST), half while polling."""
    rng = random.Random(seed)
    points = []
    for i in range(count):
        if i % 2:
            points.append(("poll", rng.randint(1, 4), rng.uniform(0.0, 0.02)))
        else:
            kind = ("start", "sending", "accepted", "sending")[(i // 2) % 4]
            n = 1 if kind == "start" else rng.randint(1, batches)
            # right after "sending" the POST is out (the emulator answers after 20 ms)
            points.append((kind, n, rng.uniform(0.0, 0.008)))
    return points


@pytest.fixture(scope="module")
def _server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    """One pre-imported server for the module (its start-up costs about a second of CPU:
    pandas and ccpandas imported); every worker is still a new forked process."""
    base = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    server = Server(base, tmp_path_factory.mktemp("rel-server") / "server.err")
    yield server, base
    server.close()


@pytest.fixture
def serve(_server: tuple[Server, dict[str, str]]) -> Callable[[dict[str, str]], Shared]:
    """``serve(env)``: the module's server, its workers run with ``env``."""
    server, base = _server
    return lambda env: Shared(server, base, env)


@pytest.fixture
def child_env(emulator, data_dir) -> Any:
    def make(emu: Any) -> dict[str, str]:
        return {
            **os.environ,
            "CC_BASE_URL": emu.base_url,
            "CC_ACCESS_TOKEN": emu.token,
            "CCPANDAS_DATA_DIR": str(data_dir),
            "OPENBLAS_NUM_THREADS": "1",
        }

    return make


def test_sigkill_at_24_seeded_points_then_resume_in_a_new_process(emulator, child_env, serve):
    emu = emulator(seed=31, contacts=1600, lists=2, speed=5_000.0, concurrency=2, latency=0.02)
    ids = emu.account.contact_ids()  # 4 batches per run: 500, 500, 500, 100
    points = kill_points(seed=2024, count=24, batches=4)
    targets = [emu.account.create_list(f"kill point {i}") for i in range(len(points) + 4)]
    for list_id in targets:
        emu.account.add_members(list_id, ids)
    before = memberships(emu)
    env = child_env(emu)
    server = serve(env)
    job = {"op": "run", "ids": ids, "poll": 0.02, "poll_max": 0.04}
    try:
        outcomes = []
        for point, list_id in zip(points, targets, strict=False):
            pid = server.start({**job, "lists": [list_id]})
            outcomes.append((point[0], kill_at(server, pid, point)))
        # four more runs killed while polling, whose first resume is killed too
        for list_id in targets[len(points) :]:
            pid = server.start({**job, "lists": [list_id]})
            outcomes.append(("poll", kill_at(server, pid, ("poll", 1, 0.0))))
        journal = open_journal()
        by_list = {journal.load_plan(r).list_ids[0]: r for r in runs()["run_id"]}
        for i, list_id in enumerate(targets[len(points) :]):
            pid = server.start({**job, "op": "resume", "run_ids": [by_list[list_id]]})
            point = ("sending" if i % 2 else "poll", 1, 0.005)
            outcomes.append(("resume", kill_at(server, pid, point)))
    finally:
        server.close()

    killed = [kind for kind, outcome in outcomes if outcome == "killed"]
    assert len(killed) >= 20, outcomes
    assert {"start", "sending", "accepted", "poll", "resume"} <= set(killed), outcomes
    listed = runs()
    assert len(listed) == len(targets)
    assert set(listed["state"]) - {"completed"}, "every run finished before its kill"

    run_ids = [by_list[list_id] for list_id in targets]
    emu.configure(speed=1_000_000.0, latency=0.0)  # the kills are over: finish quickly
    done = subprocess.run(
        [sys.executable, str(CHILD), "resume", *run_ids],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(" True") == len(run_ids), done.stdout

    results = [run_result(r) for r in run_ids]
    counts = check_all(emu, before, results)
    assert set(runs()["state"]) == {"completed"}
    # some kills landed while a POST was out; each such batch was uncertain and sent
    # again on resume (counted; check_all bounds the duplicates by those sends)
    attempts = pd.concat([open_journal().attempts(r) for r in run_ids])
    assert int(attempts["reason"].eq("uncertain").sum()) >= 1
    duplicates = sum(c["duplicates_on_server"] for c in counts)
    assert duplicates <= sum(c["uncertain_sends"] for c in counts)


def test_two_kernels_remove_at_once_from_one_account(emulator, child_env, serve):
    # The API's limits are per application and per account: two processes share them.
    emu = emulator(
        seed=32,
        contacts=6000,
        lists=4,
        rate=10,  # each process is told 10/s: they share it (one application key)
        speed=1_500.0,  # slower than 10 requests/s submit: the queue of 4 fills
        concurrency=2,
        max_queued_activities=4,
        latency=0.005,
    )
    ids = emu.account.contact_ids()
    lists = emu.account.list_ids()
    before = memberships(emu)
    server = serve(child_env(emu))
    jobs = [
        {"op": "run", "ids": ids[:5000], "lists": lists[:1], "rate": 10},
        {"op": "run", "ids": ids[1000:], "lists": lists[1:2], "rate": 10},
    ]
    try:
        pids = [server.start(job) for job in jobs]  # both run at the same time
        done = [json.loads(server.line(pid, lambda t: t.startswith("DONE"))[5:]) for pid in pids]
    finally:
        server.close()

    assert all(d["ok"] for d in done)
    results = [run_result(d["run_id"]) for d in done]
    check_all(emu, before, results)
    assert set(runs()["state"]) == {"completed"}
    # they did run at the same time: each sent while the other was sending
    spans = []
    for d in done:
        sent = open_journal().attempts(d["run_id"])["sent_at"]
        spans.append((sent.min(), sent.max()))
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], spans
    # the account's queue (4 here, 1,000 for real) was full at times: both waited it out
    assert emu.account.count(method="POST", route=REMOVE, status=429) > 0
    # both processes counted every request the server counted in the one shared ledger
    assert DayCounter(emu.base_url).used() == emu.quota_used


def _twenty_kill_points(batches: int) -> list[dict[str, Any]]:
    """Twenty kill points of one 30-batch run: before anything, in flight (the POST on
    its way), between the server's 201 and the journal write (the worker kills
    itself there), just after an answer was journaled, and while polling."""
    rng = random.Random(2025)
    points: list[dict[str, Any]] = [{"at": ("start", 1, 0.0)}]
    for _ in range(7):  # the server created the activity; its answer is not journaled
        points.append({"kill_after_post": rng.randint(1, batches)})
    for _ in range(5):  # in flight: the emulator answers after 30 ms
        points.append({"at": ("sending", rng.randint(1, batches), rng.uniform(0.0, 0.02))})
    for _ in range(4):
        points.append({"at": ("accepted", rng.randint(1, batches), 0.0)})
    for _ in range(3):
        points.append({"at": ("poll", rng.randint(1, 2), 0.0)})
    return points


def test_sigkill_a_30_batch_run_at_20_points_resume_sends_the_minimum(emulator, child_env, serve):
    # Each point: a fresh 30-batch run (15,000 contacts, one list) killed there, then
    # resumed in a new process. Exact every time. The server holds the 30 activities
    # the journal follows, plus one per batch whose answer was lost, sent again and
    # counted: never an activity taken for a batch's by its shape.
    emu = emulator(seed=41, contacts=15_000, lists=1, speed=200_000.0, latency=0.03)
    ids = emu.account.contact_ids()
    target = emu.account.list_ids()[0]
    env = child_env(emu)
    server = serve(env)
    report = []
    try:
        for i, point in enumerate(_twenty_kill_points(batches=30)):
            emu.configure(latency=0.03)
            emu.account.set_members(target, ids)
            before = memberships(emu)
            activities_before = len(emu.account.activities)
            job = {"op": "run", "ids": ids, "lists": [target], "poll": 0.02, "poll_max": 0.04}
            if "kill_after_post" in point:
                pid = server.start({**job, "kill_after_post": point["kill_after_post"]})
                server.line(pid, lambda t: t.startswith("EVENT answered, dying"))
                outcome = "killed"
            else:
                pid = server.start(job)
                outcome = kill_at(server, pid, point["at"])
            assert outcome == "killed", (i, point)
            (run_id,) = [r for r in runs()["run_id"] if r not in {x[0] for x in report}]
            emu.configure(latency=0.0)
            if i % 5 == 4:  # now and then a fresh interpreter; else a forked new process
                done = subprocess.run(
                    [sys.executable, str(CHILD), "resume", run_id],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert done.returncode == 0, done.stderr[-3000:]
            else:
                pid = server.start({**job, "op": "resume", "run_ids": [run_id]})
                server.line(pid, lambda t: t.startswith("DONE"))
            result = run_result(run_id)
            assert result.ok, (i, point, result.summary())
            check_rows(result)
            assert memberships(emu)[target] == before[target] - set(ids)  # every one removed
            # the server's activities of this run: the 30 its journal follows, and at
            # most one more per send without an answer (each counted as re-sent)
            new = {a.activity_id for a in list(emu.account.activities.values())[activities_before:]}
            attempts = open_journal().attempts(run_id)
            followed = {r.activity_id for r in result.runs}
            resent = sum(r.resent for r in result.runs)
            report.append((run_id, point, len(new), resent))
            assert len(followed) == 30 and followed <= new, (i, point, report[-1])
            assert len(new) <= 30 + resent, (i, point, report[-1])
            assert set(attempts["activity_id"].dropna()) == followed
            if "kill_after_post" in point:  # the lost answer's activity, and the re-send
                assert (len(new), resent) == (31, 1), (i, point, report[-1])
    finally:
        server.close()
    # the lost answers were really lost: their batches were sent again, counted
    assert sum(1 for r in report if r[3] >= 1) >= 7, report


def test_a_killed_runs_unanswered_batch_is_uncertain_in_runs_and_run_result_alike(
    emulator, child_env, serve
):
    # A run killed between the server's 201 for its second batch and the journal write:
    # the server has that activity, the journal an attempt left "sending". runs() counts
    # the batch uncertain (a resume sends it again); run_result() must tell the same,
    # not "not_sent" rows, which would claim that nothing went out.
    emu = emulator(seed=43, contacts=1500, lists=1)
    ids = emu.account.contact_ids()
    server = serve(child_env(emu))
    try:
        job = {"op": "run", "ids": ids, "lists": emu.account.list_ids(), "kill_after_post": 2}
        pid = server.start(job)
        server.line(pid, lambda t: t.startswith("EVENT answered, dying"))
    finally:
        server.close()
    gone(pid)
    assert len(emu.account.activities) == 2  # the second 201 was never journaled
    row = runs().iloc[0]
    assert (row["state"], row["accepted"], row["uncertain"]) == ("stopped", 1, 1)
    result = run_result(row["run_id"])
    statuses = result.rows["status"].astype(str).value_counts().to_dict()
    assert statuses == {"processing": 500, "uncertain": 500, "not_sent": 500}
    assert result.summary().activity_states["uncertain"] == 1


def test_a_run_killed_before_journaling_an_answer_spent_at_least_what_it_journaled(
    emulator, child_env, serve
):
    # Killed between the server's 201 for its second batch and the journal write: the
    # run's spend was unknown (journaled when a call ends), after its resume too. Now
    # it is at least what its journal writes counted, short of that last POST, in runs()
    # and run_result() alike; the resume adds exactly its own requests to it.
    emu = emulator(seed=43, contacts=1500, lists=1)
    job = {"op": "run", "ids": emu.account.contact_ids(), "lists": emu.account.list_ids()}
    server = serve(child_env(emu))
    try:
        pid = server.start({**job, "kill_after_post": 2})
        server.line(pid, lambda t: t.startswith("EVENT answered, dying"))
        gone(pid)  # it killed itself with no request out: the server's count is final
        killed = emu.account.count()
        row = runs().iloc[0]
        summary = run_result(row["run_id"]).summary()
        spent = summary.spent_total
        assert 0 < spent == row["requests_spent"] < killed
        assert summary.spent_at_least and row["requests_spent_at_least"]
        assert summary.to_json("runs")["requests_spent_at_least"] is True
        pid = server.start({"op": "resume", "run_ids": [row["run_id"]]})
        server.line(pid, lambda t: t.startswith("DONE"))
    finally:
        server.close()
    done = run_result(row["run_id"]).summary()
    assert done.ok and done.spent_at_least, done.text()
    assert done.spent_total == spent + emu.account.count() - killed  # its own, none twice


def test_a_run_killed_in_the_clients_retry_pause_has_every_resend_on_record(
    emulator, child_env, serve
):
    # Every answer is dropped after the server handled it: each POST creates an activity.
    # The client re-sends the POST itself (idempotent), pausing in between; the pause
    # after its second POST is made long (120 s), so the kill lands in it. Both POSTs
    # reached the server: the journal must have both, so that after the resume the
    # server's activities are exactly the accepted ones plus the counted re-sends.
    emu = emulator(seed=44, contacts=500, lists=1, drop_rate=1.0)
    ids = emu.account.contact_ids()  # one batch
    target = emu.account.list_ids()[0]
    env = child_env(emu)
    server = serve(env)
    retry = {"base_delay": 60.0, "max_delay": 600.0, "max_retry_seconds": 3600.0}
    job = {"op": "run", "ids": ids, "lists": [target], "retry": retry, "jitter": [0.0, 1.0]}
    try:
        pid = server.start(job)
        server.line(pid, lambda t: t.startswith("EVENT sending batch"))
        # The second POST dropped, counted, and its retry logged: the worker is in its
        # 120 s pause (the server seeing the POST is too soon: not yet counted there).
        server.line(pid, lambda t: t.startswith("EVENT retry:") and "retry 2 of" in t)
        assert emu.account.count(method="POST", route=REMOVE) == 2
        os.kill(int(pid), signal.SIGKILL)  # in the 120 s pause before its third POST
        gone(pid)
        emu.configure(drop_rate=0.0)
        pid = server.start({**job, "op": "resume", "run_ids": runs()["run_id"].tolist()})
        server.line(pid, lambda t: t.startswith("DONE"))
    finally:
        server.close()

    (run_id,) = runs()["run_id"]
    result = run_result(run_id)
    assert result.ok, result.summary()
    posts = emu.account.count(method="POST", route=REMOVE)
    assert posts == len(emu.account.activities) == 3  # two dropped, one answered
    summary = result.summary()
    assert (summary.accepted, summary.resent, summary.sent) == (1, 2, posts)
    assert int(result.activities["resent"].sum()) == 2
    attempts = open_journal().attempts(run_id)
    assert int(attempts["resends"].sum()) + len(attempts) == posts
    assert DayCounter(emu.base_url).used() == emu.quota_used


def test_a_run_another_live_process_drives_is_running_in_run_result_and_runs_alike(
    emulator, child_env, serve
):
    # A worker process drives a run whose activity stays initialized (the emulator's
    # start delay): runs() said "running", while run_result() in this process said the
    # word its batches give ("processing"), one run told two ways.
    emu = emulator(seed=44, contacts=200, lists=1, start_delay=3600.0)
    job = {"op": "run", "ids": emu.account.contact_ids()[:20], "lists": emu.account.list_ids()}
    server = serve(child_env(emu))
    try:
        pid = server.start(job)
        server.line(pid, lambda t: t.startswith("EVENT poll "))  # sent; now it polls
        row = runs().iloc[0]
        summary = run_result(row["run_id"]).summary()
        assert row["state"] == str(summary.outcome) == "running"
        assert summary.outcome.unfinished and summary.stop_reason is None
        assert "another process is driving it now" in summary.text()
    finally:
        os.kill(int(pid), signal.SIGKILL)
        server.close()
    gone(pid)


def test_a_process_killed_while_its_request_is_out_leaves_it_in_the_ledger(emulator, child_env):
    # The server counts a request when it gets it; the ledger counted it when the
    # answer came: a process killed in between (a kernel restarted, kill -9) left the
    # ledger one short per kill, though it may only over-count, never under-count.
    emu = emulator(seed=45, contacts=20, lists=1, latency=120.0)  # answers in 2 minutes
    child = "import ccpandas\nccpandas.Client(rate=None).get('/contact_tags')\n"
    proc = subprocess.Popen([sys.executable, "-c", child], env=child_env(emu))
    try:
        deadline = time.monotonic() + TIMEOUT
        while emu.account.count() == 0:  # the server has it, and waits to answer
            assert proc.poll() is None and time.monotonic() < deadline, proc.returncode
            time.sleep(0.01)
    finally:
        proc.kill()  # SIGKILL
        proc.wait(timeout=TIMEOUT)
    assert emu.quota_used == 1
    assert DayCounter(emu.base_url).used() == 1


def test_a_run_killed_in_its_verification_is_stopped_until_a_resume_reads(
    emulator, child_env, tmp_path
):
    # Every activity completed, then SIGKILL before the verification's first read (a
    # cron job stopped, a kernel restarted). runs() said `completed` with no stop
    # reason, run_result() "completed (ok, not verified)": ok without the re-read the
    # run asked for, nothing advising the resume that makes it.
    emu = emulator(seed=46, contacts=1500, lists=1)
    target = emu.account.list_ids()[0]
    ids = sorted(emu.account.members(target))
    job = {"op": "run", "ids": ids, "lists": [target], "snapshot": True}
    server = Server(child_env(emu), tmp_path / "server.err")
    try:
        pid = server.start({**job, "kill_before_read": 2})  # read 1: the plan's snapshot
        server.line(pid, lambda t: t.startswith("EVENT reading, dying"))
        gone(pid)
        row = runs().iloc[0]
        rebuilt = run_result(row["run_id"]).summary()
        assert (row["state"], str(rebuilt.outcome), rebuilt.ok) == ("stopped", "stopped", False)
        assert row["stop_reason"] == rebuilt.stop_reason == "the process driving it ended"
        assert f"ccpandas.resume('{row['run_id']}')" in rebuilt.text()
        posts = emu.account.count(method="POST", route=REMOVE)
        pid = server.start({**job, "op": "resume", "run_ids": [row["run_id"]]})
        server.line(pid, lambda t: t.startswith("DONE"))
    finally:
        server.close()
    done = run_result(row["run_id"])
    assert done.ok and done.after is not None, done.summary()  # verified by the resume
    assert emu.account.count(method="POST", route=REMOVE) == posts  # nothing sent again
    assert runs()["state"].tolist() == ["completed"]
    assert not emu.account.members(target) & set(ids)


def test_a_verify_of_a_run_another_process_drives_is_refused_not_taken_for_its_own(
    emulator, child_env, tmp_path
):
    # run_result(run_id).verify() (or `ccpandas verify`) while another process still
    # drove the run read the lists before the activities ran and journaled that read
    # complete; the driving process, once its activities completed, took it for its
    # own verification: every pair `still_member`, the run `failed`, though all left.
    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu = emulator(seed=47, contacts=1500, lists=1, clock=clock, start_delay=3600.0)
    target = emu.account.list_ids()[0]
    ids = sorted(emu.account.members(target))
    job = {"op": "run", "ids": ids, "lists": [target], "snapshot": True}
    server = Server(child_env(emu), tmp_path / "server.err")
    try:
        pid = server.start(job)
        server.line(pid, lambda t: t.startswith("EVENT poll "))  # sent; now it polls
        (run_id,) = runs()["run_id"]
        client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
        reads = emu.account.count(route="/v3/contacts")
        with pytest.raises(RunLockedError, match="another process"):
            run_result(run_id, client=client).verify()
        with pytest.raises(ccpandas.PlanError, match="another process drives it now"):
            ccpandas.undo(run_id, client=client)  # it advised a resume, refused likewise
        with pytest.raises(RunLockedError, match="another process"):  # a second driver
            ccpandas.resume(run_id, client=client, progress=False)
        assert emu.account.count(route="/v3/contacts") == reads  # refused before reading
        assert emu.account.count(method="POST") == 1  # the driver's one batch
        clock.advance(hours=2)  # the activity runs and completes
        done = json.loads(server.line(pid, lambda t: t.startswith("DONE"))[5:])
    finally:
        server.close()
    assert done["ok"], run_result(run_id).summary()
    assert not emu.account.members(target) & set(ids)
