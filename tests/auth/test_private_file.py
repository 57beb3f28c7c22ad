"""``private_file`` on a database this process already has open keeps SQLite's locks.

POSIX drops every lock a process holds on a file when the process closes any descriptor
of that file; an open-and-close of the journal at each connection released the locks
other connections of the same process held. The database is only ever opened in child
processes here: opening it in the test process would itself drop locks SQLite holds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Holds a write lock (BEGIN IMMEDIATE) on the database, calls private_file on it, then
# asks a second process whether it can take the write lock too.
_HOLDER = textwrap.dedent(
    """
    import sqlite3, subprocess, sys
    from pathlib import Path
    from ccpandas._secret import private_file

    path = Path(sys.argv[1])
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN IMMEDIATE")
    private_file(path)
    probe = (
        "import sqlite3, sys\\n"
        "other = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\\n"
        "try:\\n"
        "    other.execute('BEGIN IMMEDIATE')\\n"
        "    print('taken')\\n"
        "except sqlite3.OperationalError as exc:\\n"
        "    print('locked' if 'locked' in str(exc) else exc)\\n"
    )
    answer = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    print(answer.stdout.strip())
    holder.execute("ROLLBACK")
    """
)


@pytest.mark.skipif(os.name != "posix", reason="POSIX advisory locks")
def test_private_file_keeps_the_locks_of_open_connections(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", _HOLDER, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "locked"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
