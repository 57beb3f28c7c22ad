"""The IPython extension in an in-process shell: magics, default client, progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import ccpandas
from ccpandas.auth.connect import get_default_client
from ccpandas.client.http import set_default_client
from ccpandas.report import progress
from ccpandas.widgets import ipython as ext


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    sh = InteractiveShell.instance()
    old = set_default_client(None)
    try:
        sh.run_line_magic("load_ext", "ccpandas.widgets.ipython")
        yield sh
    finally:
        sh.run_line_magic("unload_ext", "ccpandas.widgets.ipython")
        set_default_client(old)
        progress.set_default_reporter_factory(None)


def test_emulator_magic_starts_and_connects(shell: InteractiveShell, capsys) -> None:
    shell.run_line_magic("cc_emulator", "--contacts 60 --seed 4 --lists 3")
    out = capsys.readouterr().out
    emu = ext.current_emulator()
    assert emu is not None and emu.running
    assert out.startswith(f"Emulator running at {emu.base_url} (seed 4): 60 contacts, 3 lists")
    assert emu.token not in out
    assert get_default_client().base_url == emu.base_url
    lists = ccpandas.read_contact_lists()
    assert len(lists) == 3
    assert ccpandas.read_segments().empty  # none unless asked for
    # a second %cc_emulator replaces the first
    shell.run_line_magic("cc_emulator", "--contacts 10 --seed 5 --lists 2 --segments 2")
    assert not emu.running and ext.current_emulator() is not emu
    assert sorted(ccpandas.read_segments().segment_id) == [1, 2]


def test_connect_magic_uses_the_environment_and_never_prints_the_token(
    shell: InteractiveShell, capsys, monkeypatch
) -> None:
    from ccpandas.emulator import Emulator

    with Emulator(seed=2, contacts=20, lists=4) as emu:
        monkeypatch.setenv("CC_ACCESS_TOKEN", emu.token)
        shell.run_line_magic("cc_connect", f"--base-url {emu.base_url}")
        out = capsys.readouterr().out
        assert out == f"Connected to {emu.base_url}: 4 contact lists.\n"
        assert get_default_client().base_url == emu.base_url


def test_connect_magic_without_token_says_how(
    shell: InteractiveShell, capsys, monkeypatch, tmp_path
) -> None:
    # Nothing of this machine's own: a saved login or CC_CLIENT_ID would start a real
    # login here and wait for its approval.
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(tmp_path / "config"))
    for name in ("CC_ACCESS_TOKEN", "CC_REFRESH_TOKEN", "CC_CLIENT_ID", "CC_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    shell.run_line_magic("cc_connect", "")
    out = capsys.readouterr().out
    assert "Not connected to Constant Contact: set CC_ACCESS_TOKEN" in out
    assert list((tmp_path / "config").rglob("*.json")) == []  # no login was saved


def test_terminal_keeps_text_progress_and_cc_progress_switches(
    shell: InteractiveShell, capsys
) -> None:
    # not a Jupyter kernel: the extension leaves tqdm in place
    assert isinstance(progress.make_reporter("auto"), progress.TqdmReporter)
    shell.run_line_magic("cc_progress", "off")
    assert isinstance(progress.make_reporter("auto"), progress.NullReporter)
    shell.run_line_magic("cc_progress", "widgets")  # outside a kernel: still text
    assert isinstance(progress.make_reporter("auto"), progress.TqdmReporter)
    with pytest.raises(ValueError, match="widgets, text or off"):
        shell.run_line_magic("cc_progress", "fancy")


def test_undo_magic_previews_then_restores(shell: InteractiveShell, capsys) -> None:
    import pandas as pd

    shell.run_line_magic("cc_emulator", "--contacts 300 --seed 8 --lists 2 --rate 0")
    emu = ext.current_emulator()
    acct = emu.account
    first = acct.list_ids()[0]
    before = acct.members(first)
    removal = pd.DataFrame({"contact_id": sorted(before)}).cc.remove_from_lists(
        [first], snapshot=True, progress=False
    )
    assert acct.members(first) == set()
    preview = shell.run_line_magic("cc_undo", f"{removal.run_id} --dry-run")
    assert preview.dry_run and acct.members(first) == set()
    assert f"{acct.lists[first].name} {len(before):,}" in repr(preview)
    undo = shell.run_line_magic("cc_undo", removal.run_id)
    assert undo.ok and acct.members(first) == before
    assert set(undo.changes["outcome"]) == {"restored"}
    with pytest.raises(ccpandas.PlanError, match=undo.run_id):
        shell.run_line_magic("cc_undo", removal.run_id)
