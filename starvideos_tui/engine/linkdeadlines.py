"""A new video link that does not say when it dies: its host is asked once (a HEAD, in a
thread; a ranged GET where links signed for GET alone refuse the HEAD), and what the host
says (linkexpiry.host_says) is handed to the engine, which records it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from starvideos_tui.core.linkexpiry import DEAD, host_says
from starvideos_tui.video.videohost import CancelToken, HostError, Unreachable, ask_link

log = logging.getLogger(__name__)

ASK_HOST_STALL = 10.0  # seconds of silence before asking a host about a link is given up


class DeadlineAsker:
    """`ask(task_id, url)` asks in the background; `learned(task_id, url, deadline)` is
    called, on the loop, when the host tells. `asking` holds the questions still out."""

    def __init__(
        self, wall_clock: Callable[[], float], learned: Callable[[str, str, float], None]
    ) -> None:
        self.wall_clock = wall_clock
        self.learned = learned
        self.asking: set[asyncio.Task[None]] = set()
        self._cancel = CancelToken()

    def ask(self, task_id: str, url: str) -> None:
        task = asyncio.get_running_loop().create_task(self._ask(task_id, url))
        self.asking.add(task)
        task.add_done_callback(self.asking.discard)

    async def _ask(self, task_id: str, url: str) -> None:
        ask = partial(ask_link, url, stall=ASK_HOST_STALL, cancel=self._cancel)
        try:
            status, headers = await asyncio.to_thread(ask)
            if status in DEAD or status == 405:
                # Links signed for GET alone refuse a HEAD: only a refused GET is a dead link.
                status, headers = await asyncio.to_thread(ask, method="GET", range_=True)
        except (HostError, Unreachable) as exc:
            log.info("task %s: the host of its link did not answer: %s", task_id, exc)
            return
        deadline = host_says(status, headers, self.wall_clock())
        if deadline is not None:
            self.learned(task_id, url, deadline)

    def close(self) -> None:
        """Stop asking: the questions out are cancelled."""
        self._cancel.set()
        for task in self.asking:
            task.cancel()
