"""``make demo`` (``python -m ccpandas.cli.demo``): it verifies both target lists, and its
practice run stays out of the user's real data directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ccpandas.cli import demo
from ccpandas.store.journal import DATA_DIR_ENV


def test_demo_verifies_both_lists_and_keeps_its_journal_to_itself(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Where the real journal would go without CCPANDAS_DATA_DIR (platformdirs).
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    assert demo.main(["--contacts", "600", "--speed", "1000000"]) == 0

    captured = capsys.readouterr()
    out = captured.out
    assert out.count(" now has ") == 2  # both target lists read back
    # stderr is no terminal here (as in `make demo > demo.log`): plain timestamped lines,
    # the read counted in pages, no tqdm redraws.
    log = captured.err
    assert "\r" not in log and "\x1b" not in log
    assert "ccpandas: read: " in log and "pages read" in log
    assert "removed (verified): " in log and "restored (verified): " in log
    assert "Verified: no contact of the segment is still a member of either list." in out
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [], f"the demo wrote into the user's data directory: {written}"
    assert DATA_DIR_ENV not in os.environ  # restored


def test_demo_uses_ccpandas_data_dir_when_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "chosen"))
    assert demo.main(["--contacts", "300", "--speed", "1000000"]) == 0
    assert (tmp_path / "chosen" / "journal.sqlite3").exists()
    assert os.environ[DATA_DIR_ENV] == str(tmp_path / "chosen")
    capsys.readouterr()


def test_demo_calls_the_status_column_status_not_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # removing.md: `status` is the contact's status (active, unsubscribed, ...), not the
    # email permission (`permission_to_send`). The demo printed its counts under "by
    # permission status:".
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert demo.main(["--contacts", "300", "--speed", "1000000"]) == 0
    out = capsys.readouterr().out
    assert "permission" not in out and "; by status:" in out, out
