"""End to end in a real browser: JupyterLab 4 and Notebook 7 + Chromium driven by Playwright.

The test runs once per front end (``lab``: JupyterLab 4, ``notebook7``: Jupyter Notebook 7,
built on the same JupyterLab components). It starts the server on 127.0.0.1 (no token)
in a subprocess, opens a notebook whose kernel runs the emulator (``%cc_emulator``),
clicks the removal panel like an analyst (pick two lists, tick the confirmation, Remove),
waits until the status display says every activity completed, and checks in the kernel
that the memberships are gone.
A second panel proves the Stop button reaches the kernel while a removal runs. The
panel is photographed at its main steps: into pytest's temporary directory, or into
``docs/_static`` for the Jupyter guide when ``CCPANDAS_UPDATE_SCREENSHOTS=1`` is set (so
a plain run leaves the clone clean).

It needs the system Chromium (``apt-get install chromium``; never a downloaded browser)
and the ``playwright``, ``jupyterlab`` and ``notebook`` (7) packages. Without them it
skips, saying which is missing, except in CI (``CI=true``), where a missing piece is a
failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

# A real JupyterLab, kernel and Chromium: one at a time, not in the parallel workers. Their
# timeouts only stop a hung test, so they are generous: make test runs these beside the
# nox sessions, and a loaded machine (measured at a load of 12 on 2 cores) took over 60 s
# to start JupyterLab.
pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
#: Where the Jupyter guide's screenshots live; written only when this variable is ``1``.
DOCS_SHOTS = ROOT / "docs" / "_static"
UPDATE_SCREENSHOTS_ENV = "CCPANDAS_UPDATE_SCREENSHOTS"
CHROMIUM = os.environ.get("CCPANDAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the CI container runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 180_000
START_TIMEOUT = 240


# Per front end: the server module, its notebook URL, its screenshots (step -> file) and
# the window width. The widths make the panel at most 720 px wide, so the Jupyter guide
# shows each screenshot at its own size (one image pixel per CSS pixel) inside the docs
# theme's 736 px text column.
FRONT_ENDS = {
    "lab": {
        "module": "jupyterlab",
        "path": "/doc/tree/panel.ipynb",  # single-document mode: no sidebars
        "shots": {"confirm": "jupyter-panel-confirm.png", "done": "jupyter-panel-done.png"},
        "width": 888,
    },
    "notebook7": {
        "module": "notebook",
        "path": "/notebooks/panel.ipynb",
        "shots": {"done": "jupyter-panel-notebook7.png"},
        "width": 740,
    },
}
#: The widest a screenshot may be to show at its own size in the docs' text column.
SHOT_MAX_WIDTH = 720


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser test must run in CI)")
    pytest.skip(reason)


def _requirements(front_end: str) -> None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    server = FRONT_ENDS[front_end]["module"]
    for module, package in (("playwright.sync_api", "playwright"), (server, server)):
        try:
            __import__(module)
        except ImportError:
            _missing(f"the {package} package is not installed (pip install -e '.[test]')")
    if front_end == "notebook7":
        from importlib.metadata import version

        if int(version("notebook").split(".")[0]) < 7:
            _missing(
                f"notebook {version('notebook')} is not Notebook 7 (pip install 'notebook>=7')"
            )


def _shots_dir(tmp_path: Path) -> Path:
    """``docs/_static`` when asked to update the guide's screenshots, else a temporary
    folder (a test run must not change tracked files)."""
    if os.environ.get(UPDATE_SCREENSHOTS_ENV, "").strip() == "1":
        return DOCS_SHOTS
    return tmp_path / "screenshots"


NOTEBOOK = [
    "%load_ext ccpandas",
    "%cc_emulator --contacts 240 --seed 5",
    # the panel under test
    "import ccpandas\n"
    "segment = ccpandas.read_contacts(lists=['Newsletter'])\n"
    "panel = segment.cc.remove_from_lists()\n"
    "panel",
    # verification, from inside the kernel (the emulator lives there)
    "acct = ccpandas.widgets.ipython.current_emulator().account\n"
    "left = [len(set(segment.contact_id) & acct.members(acct.list_named(n)))"
    " for n in ('Newsletter', 'Customers')]\n"
    "after = ccpandas.read_contacts(lists=['Newsletter'])\n"
    "print('VERIFY', left, len(after), panel.result.ok, panel.status.stoppable)",
    # a slow removal to stop
    "ccpandas.widgets.ipython.current_emulator().configure(start_delay=30)\n"
    "slow = ccpandas.read_contacts(lists=['Prospects']).cc.remove_from_lists()\n"
    "slow",
    "print('STOPPED', slow.result.stopped, slow.result.done, "
    "slow.result.activities['state'].tolist())",
]


@pytest.fixture(params=list(FRONT_ENDS))
def front_end(request: pytest.FixtureRequest) -> str:
    """The front end under test: ``lab`` (JupyterLab 4) or ``notebook7`` (Notebook 7)."""
    return str(request.param)


@pytest.fixture
def notebook_url(front_end: str, tmp_path: Path) -> Iterator[str]:
    """The front end serving ``tmp_path`` on a free loopback port; yields the notebook URL."""
    _requirements(front_end)
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src) for src in NOTEBOOK],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)"}},
    )
    nbformat.write(nb, tmp_path / "panel.ipynb")
    with _serve(front_end, tmp_path) as url:
        yield url + FRONT_ENDS[front_end]["path"]


@contextlib.contextmanager
def _serve(front_end: str, tmp_path: Path) -> Iterator[str]:
    """Run the front end's server on ``tmp_path`` (no token, a private home) on a free
    loopback port; yields its URL."""
    home = tmp_path / "home"
    settings = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # No news or update pop-ups over the notebook (and no network for them).
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Short: the kernel's Unix sockets live beside its connection file (see below).
    runtime = tempfile.mkdtemp(prefix="jr-")
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": runtime,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    env.pop("CC_ACCESS_TOKEN", None)
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            FRONT_ENDS[front_end]["module"],
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            # A port of its own choosing, read back from its server file: a port chosen
            # here could be taken before it binds (as a kernel's was, see conftest.py).
            "--ServerApp.port=0",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={tmp_path}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no PyPI look-ups
            # No TCP ports for the kernel to lose to another process (see conftest.py).
            "--KernelManager.transport=ipc",
            *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    info, url = Path(runtime) / f"jpserver-{proc.pid}.json", ""
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{front_end} exited: {(tmp_path / 'lab.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError, ValueError, KeyError):  # not written yet
                url = url or f"http://127.0.0.1:{json.loads(info.read_text())['port']}"
            with (
                contextlib.suppress(OSError, ValueError),
                urllib.request.urlopen(f"{url}/api/status", timeout=2) as r,
            ):
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{front_end} did not start within {START_TIMEOUT} s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(runtime, ignore_errors=True)


def _run_cell(page, index: int) -> None:
    """Select cell ``index`` (0-based) by its input and run it with Shift+Enter, until
    the kernel has taken it: its prompt shows ``[*]`` or an execution count.

    Notebook 7 can lose a Shift+Enter (the keypress reaches the page before the cell's
    editor has focus), and a lost ``%load_ext`` makes the next cell's magic unknown: a
    cell whose prompt is still empty is sent again. Nothing is sent twice, since a cell
    the kernel took no longer has an empty prompt.
    """
    from playwright.sync_api import expect

    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    for _ in range(5):
        _no_dialog(page)
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=10_000)
            return
        except AssertionError:
            continue  # the keypress was lost: the prompt is still "[ ]:"
    expect(prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"))


def _no_dialog(page) -> None:
    """Fail with a JupyterLab dialog's own words when one covers the notebook (a click
    behind it would only time out, saying nothing of why)."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        raise AssertionError(f"a JupyterLab dialog is open: {dialog.first.inner_text()!r}")


def _output(page, index: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def _named(label: str) -> re.Pattern[str]:
    # a button's accessible name starts with its icon's glyph (CSS generated content)
    return re.compile(rf"^\W?\s*{re.escape(label)}$")


def _pick(panel, names: list[str]) -> None:
    select = panel.locator(".widget-select-multiple select").first
    labels = select.locator("option").all_inner_texts()
    # ipywidgets writes the option labels with non-breaking spaces
    wanted = [
        label
        for label in labels
        if any(label.replace("\xa0", " ").startswith(n + " (") for n in names)
    ]
    assert len(wanted) == len(names), labels
    select.select_option(label=wanted)


def test_panel_removes_in_a_real_browser(notebook_url: str, front_end: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = FRONT_ENDS[front_end]["shots"]
    shots_dir = _shots_dir(tmp_path)

    def shoot(page, step: str) -> None:  # type: ignore[no-untyped-def]
        # each front end saves only its own screenshots (no overwriting the other's)
        if step in shots:
            shots_dir.mkdir(parents=True, exist_ok=True)
            cell = page.locator(".jp-Notebook .jp-Cell").nth(2)
            # JupyterLab's: the panel alone; Notebook 7's: the whole cell, code included
            what = cell if front_end == "notebook7" else cell.locator(".jp-OutputArea-output")
            box = what.first.bounding_box()
            assert box is not None and box["width"] <= SHOT_MAX_WIDTH, box
            what.first.screenshot(path=str(shots_dir / shots[step]))

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": FRONT_ENDS[front_end]["width"], "height": 2600},  # all the panel
        )
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(notebook_url)
            page.locator(".jp-Notebook .jp-Cell").nth(len(NOTEBOOK) - 1).wait_for()
            # a Shift+Enter sent before the kernel is connected can be lost (Notebook 7)
            page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]").wait_for()
            for i in range(3):
                _run_cell(page, i)
            expect(_output(page, 1)).to_contain_text("Emulator running at http://127.0.0.1:")

            panel = _output(page, 2)
            expect(panel.get_by_text("Remove contacts from lists")).to_be_visible()
            remove = panel.get_by_role("button", name=_named("Remove"))
            expect(remove).to_be_disabled()

            # 1. pick two lists; 3. the preview follows; 4. confirm
            _pick(panel, ["Newsletter", "Customers"])
            confirm = panel.locator("label", has_text="memberships will be removed (")
            expect(confirm).to_be_visible()
            expect(panel).to_contain_text("contacts to remove (valid, unique)")
            expect(remove).to_be_disabled()
            confirm.locator("input[type=checkbox]").check()
            expect(remove).to_be_enabled()
            shoot(page, "confirm")

            # 5. remove and watch: every activity completed
            remove.click()
            expect(panel).to_contain_text(re.compile(r"done: \d+ activit(y|ies) completed"))
            expect(panel).to_contain_text("result.rows")  # 6. the result
            expect(panel.locator(".badge.bad")).to_have_count(0)
            shoot(page, "done")

            # the memberships are gone, checked in the kernel; the click ran in the
            # background (the Stop button was live)
            _run_cell(page, 3)
            expect(_output(page, 3)).to_contain_text("VERIFY [0, 0] 0 True True")

            # Stop: a slow removal, stopped from the browser while it waits
            _run_cell(page, 4)
            slow = _output(page, 4)
            expect(slow.get_by_text("Remove contacts from lists")).to_be_visible()
            _pick(slow, ["Prospects"])
            slow.locator("label", has_text="memberships will be removed (").locator(
                "input[type=checkbox]"
            ).check()
            slow.get_by_role("button", name=_named("Remove")).click()
            expect(slow).to_contain_text("waiting for the API: 0 of 1 activity finished")
            slow.get_by_role("button", name=_named("Stop waiting")).click()
            expect(slow).to_contain_text("1 activity keeps running on the server")
            expect(slow.get_by_role("button", name=_named("Keep waiting"))).to_be_visible()
            _run_cell(page, 5)
            expect(_output(page, 5)).to_contain_text("STOPPED True False ['initialized']")
        finally:
            context.close()
    assert set(shots.values()) <= {p.name for p in shots_dir.glob("*.png")}


#: The interactive-panel notebook, and the screenshot of its panel that the docs show
#: beneath the panel's cell (static pages cannot draw widgets).
PANEL_NOTEBOOK = ROOT / "notebooks" / "03-interactive-panel.ipynb"
PANEL_NOTEBOOK_SHOT = "03-interactive-panel.png"


def test_panel_notebook_in_a_real_browser(tmp_path: Path) -> None:
    """Notebook 03 run cell by cell in JupyterLab: its panel ends as the notebook says
    (two lists, every activity completed, the result rows), photographed for the docs:
    into ``notebooks/`` with ``CCPANDAS_UPDATE_SCREENSHOTS=1``, else a temporary folder."""
    from playwright.sync_api import expect, sync_playwright

    _requirements("lab")
    nb = nbformat.read(PANEL_NOTEBOOK, as_version=4)
    nb.metadata.pop("widgets", None)  # nothing from the saved run: only this one's
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, tmp_path / PANEL_NOTEBOOK.name)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    panel_cell = next(i for i in code if nb.cells[i].source.strip().endswith("\npanel"))
    left_cell = next(i for i in code if "of the segment left" in nb.cells[i].source)
    updating = os.environ.get(UPDATE_SCREENSHOTS_ENV, "").strip() == "1"
    shots_dir = PANEL_NOTEBOOK.parent if updating else tmp_path / "screenshots"

    with _serve("lab", tmp_path) as url, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": FRONT_ENDS["lab"]["width"], "height": 2600},
        )
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{url}/doc/tree/{PANEL_NOTEBOOK.name}")
            page.locator(".jp-Notebook .jp-Cell").nth(len(nb.cells) - 1).wait_for()
            page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]").wait_for()
            for i in code:
                _run_cell(page, i)
            expect(_output(page, left_cell)).to_contain_text("0 of the segment left")
            panel = _output(page, panel_cell)
            expect(panel).to_contain_text(
                "I understand 37 memberships will be removed (Newsletter 11, Prospects 26)"
            )
            expect(panel).to_contain_text("done: 1 activity completed")
            expect(panel).to_contain_text("result.rows")
            expect(panel.locator(".badge.bad")).to_have_count(0)
            output = panel.locator(".jp-OutputArea-output").first
            box = output.bounding_box()
            assert box is not None and box["width"] <= SHOT_MAX_WIDTH, box
            shots_dir.mkdir(parents=True, exist_ok=True)
            output.screenshot(path=str(shots_dir / PANEL_NOTEBOOK_SHOT))
        finally:
            context.close()
    assert (shots_dir / PANEL_NOTEBOOK_SHOT).stat().st_size > 0
