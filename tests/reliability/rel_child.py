"""Removals in other processes, for the SIGKILL and two-kernel scenarios.

Two ways to run it:

``python rel_child.py serve``
    Imports ccpandas once, prints ``READY``, then reads one JSON job per line from
    stdin and forks a worker process for each (so each worker starts in milliseconds,
    and the test can kill it at a precise point). Every line a worker prints starts
    with its pid: ``<pid> EVENT sending batch 2``, ``<pid> DONE {...}``. The server
    itself prints ``FORKED <pid>``. POSIX only (fork).

``python rel_child.py resume RUN_ID [RUN_ID ...]``
    A fresh interpreter that resumes the runs and prints ``RESUMED <run_id> <ok>``.

Jobs: ``{"op": "run", "ids": [...], "lists": [...]}`` (a removal of those contact ids)
or ``{"op": "resume", "run_ids": [...]}``; ``"kill_after_post": n`` makes the worker
SIGKILL itself right after its n-th POST is answered, before the answer is journaled
(``"kill_before_read": n``: right before its n-th read of list members);
``"env": {"set": {...}, "unset": [...]}`` changes the worker's environment first (a
server serving several tests); ``"retry": {...}`` replaces fields of the client's retry
policy and ``"jitter": [...]`` gives its random draws in order (the last one repeats), so
a retry pause is as long as a test needs.
The API's base URL is in ``CC_BASE_URL`` and the token in ``CC_ACCESS_TOKEN`` (never on
a command line); the journal directory in ``CCPANDAS_DATA_DIR``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from typing import Any

import pandas as pd

import ccpandas
import ccpandas.client.http  # imported before forking, so each worker starts at once
from ccpandas.api import resume, run_plan
from ccpandas.run.runner import Runner

# The log lines that mark the points a test may kill a worker at.
_EVENTS = ("run ", "sending batch", "batch ", "poll ")


class _Events(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name == "ccpandas" and message.startswith(_EVENTS):
            say("EVENT", message)
        elif record.name == "ccpandas.client.http" and ", retry " in message:
            say("EVENT", "retry:", message)  # logged right before the client's pause


def say(*parts: Any) -> None:
    # One write per line: lines from concurrent workers never interleave (< PIPE_BUF).
    os.write(1, (" ".join([str(os.getpid()), *map(str, parts)]) + "\n").encode())


def client(job: dict[str, Any]) -> ccpandas.Client:
    made = ccpandas.Client(
        base_url=os.environ["CC_BASE_URL"],
        rate=job.get("rate"),
        timeout=(2.0, float(job.get("read_timeout", 5.0))),
    )
    import dataclasses

    kill_after = job.get("kill_after_post")
    if kill_after:
        # Test-only: die (SIGKILL) right after the n-th POST is answered, before the
        # runner journals the answer: the server has the activity, the journal has not.
        answered = [0]
        post = made.remove_list_memberships

        def remove_then_die(body: dict[str, Any]) -> dict[str, Any]:
            out = post(body)
            answered[0] += 1
            if answered[0] == kill_after:
                say("EVENT", "answered, dying")
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        made.remove_list_memberships = remove_then_die  # type: ignore[method-assign]
    kill_at_read = job.get("kill_before_read")
    if kill_at_read:
        # Test-only: die (SIGKILL) right before the n-th read of list members (GET
        # /contacts): the verification's, once every activity completed.
        reads = [0]
        request = made.request

        def read_or_die(method: str, path: str, **kwargs: Any) -> Any:
            reads[0] += method == "GET" and path.startswith("/contacts")
            if reads[0] == kill_at_read:
                say("EVENT", "reading, dying")
                os.kill(os.getpid(), signal.SIGKILL)
            return request(method, path, **kwargs)

        made.request = read_or_die  # type: ignore[method-assign]
    fast = {"base_delay": 0.02, "max_delay": 0.2}
    fast.update(activities_base_delay=0.02, activities_max_delay=0.2)
    made.retry_policy = dataclasses.replace(made.retry_policy, **{**fast, **job.get("retry", {})})
    if "jitter" in job:
        draws = list(job["jitter"])
        made._jitter = lambda: draws.pop(0) if len(draws) > 1 else draws[0]
    return made


def runner(job: dict[str, Any], api: ccpandas.Client) -> Runner:
    return Runner(
        api, poll_min=float(job.get("poll", 0.02)), poll_max=float(job.get("poll_max", 0.05))
    )


def do(job: dict[str, Any]) -> None:
    env = job.get("env", {})  # a server shared by several tests: this test's environment
    for name in env.get("unset", ()):
        os.environ.pop(name, None)
    os.environ.update(env.get("set", {}))
    logger = logging.getLogger("ccpandas")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(_Events())
    api = client(job)
    if job["op"] == "run":
        frame = pd.DataFrame({"contact_id": job["ids"]})
        snapshot = {"snapshot": True, "client": api} if job.get("snapshot") else {}
        plan = frame.cc.plan(job["lists"], **{"snapshot": False, **snapshot})
        result = run_plan(plan, api, progress=False, runner=runner(job, api))
        say("DONE", json.dumps({"run_id": result.run_id, "ok": result.ok}))
    elif job["op"] == "resume":
        for run_id in job["run_ids"]:
            result = resume(run_id, client=api, progress=False, runner=runner(job, api))
            say("RESUMED", run_id, result.ok)
        say("DONE", "{}")
    else:
        raise ValueError(job)


def serve() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped automatically
    say("READY")
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                do(job)
            except BaseException as exc:
                say("ERROR", type(exc).__name__, str(exc).replace("\n", " ")[:500])
                code = 1
            os._exit(code)
        os.write(1, f"FORKED {pid}\n".encode())


def main(argv: list[str]) -> None:
    if argv[:1] == ["serve"]:
        serve()
    elif argv[:1] == ["resume"]:
        do({"op": "resume", "run_ids": argv[1:]})
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
