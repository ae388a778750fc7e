"""Running a headless command's coroutine: asyncio.run, with a default executor whose
threads never hold the exit (core/daemonthreads.py).

A request to the API resolves its host in the loop's default executor; a lookup that hangs
(a slow resolver, a dead VPN) would keep `asyncio.run` waiting for that thread when the
command ends, and SIGTERM would take as long as the resolver. Here the command ends within
moments of being stopped, whatever its threads are blocked in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from starvideos_tui.core.daemonthreads import DaemonThreads


def run_command(work: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run(work)`, its blocking calls in daemon threads."""

    async def main() -> int:
        asyncio.get_running_loop().set_default_executor(DaemonThreads("command"))
        return await work

    return asyncio.run(main())
