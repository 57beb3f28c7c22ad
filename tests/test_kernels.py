"""The suite's Jupyter kernels (nbval's notebooks, the doc pages', nbclient's) start over
Unix sockets (see ``_over_unix_sockets`` in the root conftest.py).

Over TCP, jupyter_client picks the kernel's five ports and the kernel binds them a moment
later; a port another process takes in between (here: bound on purpose, in the suite: the
local end of one of its many loopback HTTP connections) kills the kernel before it ever
answers. CI once lost a whole notebook that way.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from jupyter_client.manager import AsyncKernelManager


async def _start(manager: Any, taken: socket.socket | None = None) -> str:
    """Start ``manager``'s kernel (a port of it taken first, if ``taken`` is given); its
    answer to ``1 + 1``, or the error the start ended with."""
    if taken is not None:
        # The ports jupyter_client picks as it starts (kept: no second pick at the start).
        manager.cache_ports = False
        manager.write_connection_file()
        taken.bind((manager.ip, manager.shell_port))
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=600)  # a hang guard, not a timing
        reply = await client.execute_interactive("1 + 1", timeout=600)
        return str(reply["content"]["status"])
    except RuntimeError as e:
        return str(e)
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def test_a_tcp_kernel_whose_port_was_taken_dies_at_once() -> None:
    """The control: the failure the suite's kernels must not meet."""
    with socket.socket() as taken:
        outcome = asyncio.run(_start(AsyncKernelManager(kernel_name="python3"), taken))
    assert outcome == "Kernel died before replying to kernel_info"


def test_the_suites_kernels_use_no_tcp_port(kernel_manager_class: type) -> None:
    manager = kernel_manager_class(kernel_name="python3")
    assert manager.transport == "ipc"
    assert manager.ip.startswith("/") and len(manager.ip) < 90  # a socket path's limit: 107
    assert asyncio.run(_start(manager)) == "ok"


def test_nbval_starts_its_kernels_over_unix_sockets(pytestconfig: Any) -> None:
    assert pytestconfig.pluginmanager.hasplugin("nbval")  # a test extra
    import nbval.kernel

    assert nbval.kernel.KernelManager(kernel_name="python3").transport == "ipc"
