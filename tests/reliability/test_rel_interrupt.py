"""Ctrl-C in a plain script: the run stops with the journal consistent, then the
interrupt propagates (exit code non-zero) with the way to resume in its message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ccpandas.api import run_result, runs

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs SIGINT to a subprocess")

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import pandas as pd
    import ccpandas

    client = ccpandas.Client(base_url=os.environ["CC_BASE_URL"], rate=None)
    df = pd.DataFrame({"contact_id": sys.argv[2:]})
    print("STARTING", flush=True)
    df.cc.remove_from_lists([sys.argv[1]], client=client, progress=False)
    print("RETURNED", flush=True)
    """
)


def test_ctrl_c_in_a_script_exits_non_zero_names_the_run_and_keeps_the_result(
    emulator, data_dir, tmp_path
):
    # Slow activities: the run is still polling (or submitting) when SIGINT arrives.
    emu = emulator(seed=51, contacts=3000, lists=1, speed=500.0, latency=0.05)
    ids = emu.account.contact_ids()
    target = emu.account.list_ids()[0]
    script = tmp_path / "remove.py"
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "CC_BASE_URL": emu.base_url,
        "CC_ACCESS_TOKEN": emu.token,
        "CCPANDAS_DATA_DIR": str(data_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), target, *ids],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "STARTING"
    deadline = time.monotonic() + 60
    while emu.account.count(method="POST", status=201) < 2:  # some batches accepted
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode != 0  # cron and CI see that it did not finish
    assert "RETURNED" not in out
    assert "KeyboardInterrupt" in err
    (listed,) = runs().itertuples()
    run_id = listed.run_id
    assert f"run {run_id} interrupted" in err
    assert f"ccpandas.resume({run_id!r}" in err and f"ccpandas.run_result({run_id!r})" in err
    assert listed.stop_reason == "interrupted" and listed.state != "running"
    # the partial result is reachable, and agrees with the server
    partial = run_result(run_id)
    accepted = emu.account.count(method="POST", status=201)
    assert len(partial.activity_ids) + listed.uncertain >= accepted >= len(partial.activity_ids)
    assert not partial.done
