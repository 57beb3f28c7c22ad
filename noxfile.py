"""nox sessions: ccpandas on every supported Python, and on the oldest supported pandas.

Each session installs ccpandas as a regular, non-editable package in a virtual
environment of its own: the wheel named by ``CCPANDAS_WHEEL`` (``make test`` passes the
one ``make package`` built and checked), else a wheel pip builds from the source tree.
It then runs pytest on the installed copy (in worker processes, then the ``serial``
tests alone) over the core tests (plan, client, run, public) and the command line's:

- ``tests-3.11``, ``tests-3.12``, ``tests-3.13``: that Python, the newest pandas;
- ``pandas22``: pandas 2.2, the oldest ccpandas supports.

Run alone, ``nox`` runs the whole matrix: every session, ``pandas22`` on the oldest
Python. ``make test`` has just run every test on its own Python with the newest pandas
(``CCPANDAS_TESTED_PYTHON``), and runs one session more: ``pandas22`` on the newest
other Python present. That tests both ends of the Python range and both ends of the
pandas range in two runs, not four, which keeps ``make test`` within its time on two
cores; the ``tests-3.X`` sessions report themselves skipped, each saying why (a Python
in between, such as 3.12 beside 3.11 and 3.13, runs with ``nox -s tests-3.12``).

An interpreter that is not on the machine is reported by nox as a skipped session, never
counted as a pass. ``error_on_missing_interpreters`` is off here even on CI (nox turns it
on when ``CI`` is set): CI runs the interpreters its machine has, and its log names the
skipped ones. Run one session with ``nox -s tests-3.12``; ``nox -l`` lists them.

Interpreters are found on PATH (``python3.12``), else in pyenv's versions folder, so a
machine with pyenv's interpreters installed but not activated runs them too.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import nox

PYTHONS = ("3.11", "3.12", "3.13")
OLDEST_PANDAS = "pandas==2.2.*"
#: The core layers' tests, by folder: the folders mirror ccpandas/ (no hand-kept list of files).
CORE_TESTS = ("tests/plan", "tests/client", "tests/run", "tests/public")
# sybil: the root conftest.py collects the doc pages (not run in these sessions)
TEST_DEPS = (
    "pytest>=8",
    "pytest-timeout>=2.3",
    "pytest-xdist>=3.5",
    "hypothesis>=6.100",
    "sybil>=9",
    # the keep-alive tests save logins to a keyring backend of their own
    "keyring>=24",
)
#: As in the Makefile: the tests in worker processes, then the timing-sensitive ones alone.
WORKERS = os.environ.get("WORKERS", "4")

nox.options.error_on_missing_interpreters = False
# A kept environment made by another Python is made again, not reused: pandas22's Python
# depends on the machine and on make test's own (nox checks this only when asked to).
os.environ.setdefault("NOX_ENABLE_STALENESS_CHECK", "1")
nox.options.default_venv_backend = "venv"
# The sessions share nothing (each its own venv and temporary journal folders), so
# `nox --parallel N` (make test: NOX_JOBS=2) may run them at once.
nox.options.allow_parallel = True
# `make test` has just run these very tests (and more) on its own interpreter with the
# newest pandas, and names that version here: its session would run them a second time.
_TESTED = os.environ.get("CCPANDAS_TESTED_PYTHON", "")


def _find(version: str) -> str | None:
    """``python3.X`` if it runs from PATH, else pyenv's, else None."""
    name = f"python{version}"
    found = shutil.which(name)
    if found and subprocess.run([found, "--version"], capture_output=True).returncode == 0:
        return found
    root = os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv"))
    for path in sorted(glob.glob(f"{root}/versions/{version}.*/bin/{name}"), reverse=True):
        return path
    return None


def interpreter(version: str) -> str:
    """The interpreter to run, else the bare version (nox then reports it missing and
    skips the session)."""
    return _find(version) or version


#: pandas 2.2's Python: under ``make test`` the newest present but the one its suite ran
#: on (so that the two runs span the Python range), else the oldest.
PANDAS22_PYTHON = next(
    (v for v in reversed(PYTHONS) if _TESTED and v != _TESTED and _find(v)), PYTHONS[0]
)
#: Every session's tests: the core layers' and the command line's.
TESTS = (*CORE_TESTS, "tests/cli")


def _pytest(session: nox.Session, *folders: str) -> None:
    # The installed copy, not the source tree: no PYTHONPATH, and the pytest script
    # (not python -m pytest, which would put the working directory first on sys.path).
    session.run(
        "python",
        "-P",  # not the working directory first on sys.path: the installed copy
        "-c",
        "import ccpandas, sys; f = ccpandas.__file__; "
        "sys.exit(0 if 'site-packages' in f else f'ccpandas imported from {f}')",
    )
    env = _env(session)
    common = ("-q", "-p", "no:cacheprovider", *folders, *session.posargs)
    # Not the `slow` ones (a 120,000-contact run end to end): they test scale, not the
    # interpreter or pandas, and make test's own suite has just run them.
    marks = "not serial and not slow" if _TESTED else "not serial"
    session.run("pytest", "-n", WORKERS, "--dist", "loadfile", "-m", marks, *common, env=env)
    if _TESTED:  # the serial tests time the rate limit, not the interpreter: make test's
        return  # own suite has just run them; `nox` alone runs them in every session
    # pytest exits 5 when no test is marked serial in these folders: nothing to run
    session.run("pytest", "-m", "serial", *common, env=env, success_codes=[0, 5])


def _env(session: nox.Session) -> dict[str, str]:
    tmp = session.create_tmp()
    return {
        "PYTHONPATH": "",
        "CCPANDAS_DATA_DIR": os.path.join(tmp, "data"),
        "CCPANDAS_CONFIG_DIR": os.path.join(tmp, "config"),
    }


def _install(session: nox.Session, *extra: str, tests: tuple[str, ...]) -> None:
    # CCPANDAS_WHEEL (make test sets it to the wheel `make package` built and checked):
    # every session tests that very file; without it, pip builds one from the source tree.
    wheel = os.environ.get("CCPANDAS_WHEEL") or "."
    # Not --no-compile: where PYTHONDONTWRITEBYTECODE is set (this CI's machines), every
    # test process would compile pandas again (measured: the tests took 218 s, not 150).
    session.install(f"{wheel}[excel]", *TEST_DEPS, *extra)
    # A reused environment already has this version: install the current build again.
    session.install("--no-deps", "--force-reinstall", wheel)
    # One collection now (make test's `nox --install-only` makes it while its own suite
    # runs): each worker of the session then finds the test modules' rewritten asserts
    # cached for this Python instead of rewriting all of them (make sets no
    # PYTHONDONTWRITEBYTECODE, see the Makefile).
    collect = ("pytest", "-q", "-p", "no:cacheprovider", "--collect-only", *tests)
    session.run_install(*collect, env=_env(session), silent=True)


def _skip_reason(version: str) -> str:
    """Why ``make test`` skips ``tests-<version>`` ("": it runs)."""
    if version == _TESTED:
        return f"make test has just run these tests on Python {version}"
    if _TESTED and version == PANDAS22_PYTHON:
        return f"pandas22 runs these tests on Python {version} (with pandas 2.2)"
    if _TESTED and _find(version):
        return (
            f"make test spans the Python range with {_TESTED} and {PANDAS22_PYTHON}; "
            f"nox -s tests-{version} runs it"
        )
    return ""


def _tests(version: str) -> None:
    reason = _skip_reason(version)

    # A session that skips itself makes no virtual environment (venv_backend "none").
    @nox.session(
        name=f"tests-{version}",
        python=interpreter(version),
        reuse_venv=True,
        venv_backend="none" if reason else None,
    )
    def tests(session: nox.Session) -> None:
        """Core and command-line tests on the newest pandas."""
        if reason:
            session.skip(reason)
        _install(session, tests=TESTS)
        _pytest(session, *TESTS)


for _version in PYTHONS:
    _tests(_version)


@nox.session(python=interpreter(PANDAS22_PYTHON), reuse_venv=True)
def pandas22(session: nox.Session) -> None:
    """Core and command-line tests on pandas 2.2, the oldest pandas ccpandas supports."""
    _install(session, OLDEST_PANDAS, tests=TESTS)
    session.run(
        "python",
        "-c",
        "import pandas, sys; v = pandas.__version__; "
        "sys.exit(0 if v.startswith('2.2.') else f'pandas {v}, not 2.2')",
    )
    _pytest(session, *TESTS)
