"""Every Python code block of README.md and docs/*.md runs as a test (Sybil).

Run them with ``pytest README.md docs`` (``make test`` does). Each page is one namespace,
run top to bottom like a reader would; a page starts its own emulator in a visible block,
so every snippet works when pasted into a fresh session. ``teardown`` stops anything a
page left running. The Jupyter page, and any block with a ``%`` magic or a ``getpass``
prompt, run in a real ipykernel, as notebook cells, so magics, widgets and input prompts
work as they do there (a prompt gets a fixed practice answer).

Markers a page may use (MyST comments, invisible in the rendered docs):

- ``% skip: next "reason"`` skips the next block (only for a block that needs a real
  Constant Contact account or a browser);
- ``% invisible-code-block: python`` runs a block without showing it.
"""

from __future__ import annotations

import functools
import os
import signal
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from sybil import Example, Sybil
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.myst import ClearNamespaceParser, CodeBlockParser, SkipParser


def _over_unix_sockets(base: type) -> type:
    """``base`` (a jupyter_client kernel manager) reaching its kernel over Unix sockets.

    Over TCP, jupyter_client picks five free ports and the kernel binds them a second or
    two later; on a machine busy with loopback HTTP (the suite), another process's
    connection can take one of them in between, and the kernel dies at once ("Kernel died
    before replying to kernel_info": tests/test_kernels.py shows it). A socket file in the
    temp folder, unique to the kernel, has no such race."""
    from traitlets import CaselessStrEnum

    class Manager(base):  # type: ignore[valid-type, misc]
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def _ip_default(self) -> str:  # the sockets' path prefix, unique to this kernel
            return os.path.join(tempfile.gettempdir(), f"ccpandas-kernel-{uuid.uuid4().hex[:16]}")

    Manager.__name__ = Manager.__qualname__ = f"UnixSocket{base.__name__}"
    return Manager


@functools.cache  # one class each: nbval, every doc page and every fixture use the same
def kernel_manager(*, asynchronous: bool = False) -> type:
    """The kernel manager class every test kernel starts with (see ``_over_unix_sockets``):
    nbval's, the doc pages' and, through the ``kernel_manager_class`` fixture, nbclient's."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager

    return _over_unix_sockets(AsyncKernelManager if asynchronous else KernelManager)


@pytest.fixture
def kernel_manager_class() -> type:
    """For ``NotebookClient(..., kernel_manager_class=...)``: a kernel over Unix sockets."""
    return kernel_manager(asynchronous=True)


def pytest_configure(config: Any) -> None:
    """Under pytest-xdist (``make test`` runs ``-n 4``), each worker process gets its own
    journal and saved-login folders beneath the ones the run was given, so doc pages and
    notebook kernels on different workers never read each other's runs.

    Ctrl-C is what Python makes it, whatever started the run: a shell without job
    control (a script's ``make test &``) starts its background jobs with SIGINT ignored,
    which Python then keeps, here and in every child, so the Ctrl-C tests would see no
    interrupt.

    nbval's kernels start over Unix sockets (``_over_unix_sockets``)."""
    if config.pluginmanager.hasplugin("nbval"):
        import nbval.kernel

        nbval.kernel.KernelManager = kernel_manager()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    for variable in ("CCPANDAS_DATA_DIR", "CCPANDAS_CONFIG_DIR"):
        base = os.environ.get(variable)
        if base:
            os.environ[variable] = os.path.join(base, worker)


#: Pages whose blocks run in a Jupyter kernel, like notebook cells (magics, widgets).
_KERNEL_PAGES = {"jupyter.md"}


def _needs_kernel(example: Example) -> bool:
    """A block for a notebook: on a Jupyter page, with a ``%`` magic, or asking for
    input (``getpass``: the kernel answers it with a practice value)."""
    source = str(example.parsed)
    magic = any(line.lstrip().startswith("%") for line in source.splitlines())
    return Path(example.path).name in _KERNEL_PAGES or magic or "getpass" in source


def _kernel_evaluator(example: Example) -> str | None:
    """Run a block in a real ipykernel, as a notebook cell runs (widgets, magics)."""
    kernel = example.namespace.get("__kernel__")
    if kernel is None:
        manager = kernel_manager()(kernel_name="python3")
        manager.start_kernel()
        kernel = example.namespace["__kernel__"] = (manager, manager.client())
        kernel[1].start_channels()
        kernel[1].wait_for_ready(timeout=600)  # a hang guard, as nbval's in the Makefile
    _, client = kernel
    errors: list[str] = []

    def on_output(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "error":
            errors.append(f"{msg['content']['ename']}: {msg['content']['evalue']}")

    # A block that asks for input (getpass) gets a fixed practice answer.
    reply = client.execute_interactive(
        example.parsed,
        timeout=60,
        output_hook=on_output,
        allow_stdin=True,
        stdin_hook=lambda msg: client.input("practice-input"),
    )
    if reply["content"]["status"] != "ok" or errors:
        raise AssertionError("the block failed in the kernel: " + "; ".join(errors))
    return None


class _PageEvaluator:
    """Plain Python for most pages, IPython for the Jupyter page."""

    def __init__(self) -> None:
        self._python = PythonEvaluator()

    def __call__(self, example: Example) -> str | None:
        if _needs_kernel(example):
            return _kernel_evaluator(example)
        return self._python(example)


def _setup(namespace: dict[str, Any]) -> None:
    # A page never touches the reader's real journal, daily count or saved logins.
    namespace["__dirs__"] = [tempfile.TemporaryDirectory(prefix="ccpandas-docs-") for _ in "dc"]
    namespace["__env__"] = {
        k: os.environ.get(k) for k in ("CCPANDAS_DATA_DIR", "CCPANDAS_CONFIG_DIR")
    }
    os.environ["CCPANDAS_DATA_DIR"] = namespace["__dirs__"][0].name
    os.environ["CCPANDAS_CONFIG_DIR"] = namespace["__dirs__"][1].name


def _teardown(namespace: dict[str, Any]) -> None:
    import ccpandas
    from ccpandas.emulator import Emulator

    kernel = namespace.get("__kernel__")
    if kernel is not None:
        manager, client = kernel
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    values = list(namespace.values())
    for value in values:
        if isinstance(value, ccpandas.Client):
            value.close()
    for value in values:
        if isinstance(value, Emulator):
            value.stop()
    ccpandas.set_default_client(None)
    for key, old in namespace["__env__"].items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old
    for folder in namespace["__dirs__"]:
        folder.cleanup()


if Sybil is not None:
    pytest_collect_file = Sybil(
        parsers=[
            CodeBlockParser(language="python", evaluator=_PageEvaluator()),
            SkipParser(),
            ClearNamespaceParser(),
        ],
        patterns=["README.md", "docs/*.md"],
        setup=_setup,
        teardown=_teardown,
    ).pytest()
