"""One "kernel" of a team test: removes contacts from one list, paced by the shared
limiter, and reports every request it sent.

The test starts it with ``python team_child.py``, writes one JSON job line to its
stdin, waits for ``READY`` (ccpandas is imported), then writes ``go``: so several
children start sending at the same moment. The last stdout line is the report, JSON:
``{"ok", "run_id", "sent": [[unix_time, method, status], ...], "warnings": [...]}``.

Job: ``{"ids": [...], "list": "<list id>", "rate": 4, "own_limiter": false}``;
``own_limiter`` paces this process alone (as ccpandas did before the shared limiter),
to force throttling. The API is in ``CC_BASE_URL`` / ``CC_ACCESS_TOKEN``; the data
directory, config directory and shared state in the ``CCPANDAS_*`` variables.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
from typing import Any

import pandas as pd
import requests

import ccpandas
from ccpandas.api import run_plan
from ccpandas.client.ratelimit import RateLimiter
from ccpandas.run.runner import Runner


class RecordingSession(requests.Session):
    """A real session that notes when each request was sent and how it was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, str, int | None]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        started = time.time()
        try:
            resp = super().request(method, url, *args, **kwargs)
        except Exception:
            self.sent.append((started, method, None))
            raise
        self.sent.append((started, method, resp.status_code))
        return resp


class Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    job = json.loads(sys.stdin.readline())
    warned = Warnings()
    logging.getLogger("ccpandas").addHandler(warned)
    session = RecordingSession()
    rate = float(job.get("rate", 4))
    api = ccpandas.Client(
        base_url=os.environ["CC_BASE_URL"],
        rate=rate,
        session=session,
        limiter=RateLimiter(rate) if job.get("own_limiter") else None,
    )
    api.retry_policy = dataclasses.replace(
        api.retry_policy, activities_base_delay=0.05, activities_max_delay=0.2
    )
    plan = pd.DataFrame({"contact_id": job["ids"]}).cc.plan([job["list"]], snapshot=False)
    runner = Runner(api, poll_min=0.2, poll_max=0.5)
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")
    result = run_plan(plan, api, progress=False, runner=runner)
    report = {
        "ok": bool(result.ok),
        "run_id": result.run_id,
        "sent": session.sent,
        "warnings": warned.messages,
        "counted": api.stats.quota_used_today,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
