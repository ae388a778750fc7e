"""Threads that never hold the process's exit: a download stuck in a DNS lookup or in a
connect to a host that never answers must not keep `watch` alive after SIGTERM.

`asyncio.run` waits for every thread of the loop's default executor when it ends, and the
interpreter joins every `ThreadPoolExecutor` worker at exit: one blocked `getaddrinfo` (no
timeout of ours reaches it) or one connect (up to its 30 s timeout) holds the exit that
long. `DaemonThreads` runs each call in a daemon thread of its own and waits at most
`grace` seconds for them when shut down; what is still running then is left to end with
the process. Used for the video transfers (video/download.py) and as the default
executor of the headless commands' loop (cli/running.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

GRACE = 0.25  # seconds a shutdown waits for the threads still running


class DaemonThreads(ThreadPoolExecutor):
    """An executor (a ThreadPoolExecutor, as asyncio's default executor must be) whose
    calls each run in a daemon thread, and whose shutdown waits `grace` seconds at most."""

    def __init__(self, name: str = "daemon", grace: float = GRACE) -> None:
        super().__init__(max_workers=1, thread_name_prefix=name)  # its pool is never used
        self._name = name
        self._grace = grace
        self._running: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            try:
                if not future.set_running_or_notify_cancel():
                    return
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:  # handed to the awaiting side, as a pool does
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            finally:
                with self._lock:
                    self._running.discard(threading.current_thread())

        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            thread = threading.Thread(target=run, name=self._name, daemon=True)
            self._running.add(thread)
        thread.start()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            running = list(self._running)
        super().shutdown(wait=False, cancel_futures=cancel_futures)
        if not wait:
            return
        deadline = time.monotonic() + self._grace
        for thread in running:
            thread.join(max(0.0, deadline - time.monotonic()))

    def running(self) -> int:
        """How many calls are running now."""
        with self._lock:
            return len(self._running)
