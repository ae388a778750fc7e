"""Asking the API about tasks: one round of requests, each answer handed on as it lands.

The round is shared by the engine (monitor.py) under both faces. It never runs two
requests for the same task, keeps at most `concurrency` requests in flight, and stops
starting new ones the moment a Retry-After or a refused key arrives. It writes nothing:
`change_for` turns an answer into the change of a record, and the engine decides when the
watchlist is written.

A slow answer does not hold a round open: once every request of the round has been sent,
those still out after `patience` seconds are handed on. They go on (each ends by the
client's deadline), their answers are handed to the same callback when they land, and the
schedule does not count their tasks due meanwhile; the next round keeps its own time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.errors import ApiError, AuthError, RateLimited, TaskNotFound
from starvideos_tui.core.models import HttpProblem, TaskRecord, TaskResult
from starvideos_tui.core.schedule import PollSchedule

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
PATIENCE = 2.0  # seconds a round waits for its last requests before handing them on

Answer = TaskResult | ApiError
Change = Callable[[TaskRecord], TaskRecord]


def problem_from(exc: ApiError, now: float) -> HttpProblem:
    return HttpProblem(
        kind=exc.kind,
        message=exc.message,
        status_code=exc.status_code,
        body_excerpt=exc.body_excerpt,
        at=now,
    )


def change_for(answer: Answer, now: float) -> Change:
    """How an answer received at `now` changes the task's record."""
    if isinstance(answer, ApiError):
        problem = problem_from(answer, now)
        return lambda record: replace(record, last_problem=problem)
    return lambda record: record.with_result(answer, now)


class Poller:
    """Asks the API about watched tasks through `client`, keeping `schedule` up to date."""

    def __init__(
        self,
        client: StarVideosClient,
        schedule: PollSchedule,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        patience: float = PATIENCE,
    ) -> None:
        self.client = client
        self.schedule = schedule
        self.concurrency = concurrency
        self.patience = patience
        self._handed_on: set[asyncio.Task[None]] = set()

    async def ask(
        self, ids: list[str], answered: Callable[[str, Answer], None], *, wait_all: bool = False
    ) -> int:
        """Ask about each of `ids` (those not already out), calling `answered(id, answer)`
        as each answer lands, so a request that hangs holds up no other. Returns how many
        were asked (fewer than all when a pause or a refused key stopped the round).

        Returns once every answer has landed, or (unless `wait_all`) once all were sent and
        the ones still out have been out `patience` seconds: those are handed on."""
        queue = [i for i in reversed(dict.fromkeys(ids)) if i not in self.schedule.asking]
        asked = 0
        loop = asyncio.get_running_loop()
        sent_at: dict[str, float] = {}

        async def worker() -> None:
            nonlocal asked
            while queue and not self.schedule.is_paused():
                task_id = queue.pop()
                asked += 1
                sent_at[task_id] = loop.time()
                try:
                    answer = await self._ask(task_id)
                finally:
                    del sent_at[task_id]
                answered(task_id, answer)

        workers = {loop.create_task(worker()) for _ in range(min(self.concurrency, len(queue)))}
        try:
            while workers:
                timeout = None if wait_all else self.patience
                if not wait_all and (not queue or self.schedule.is_paused()):
                    # All sent: wait for the youngest request still out to reach `patience`.
                    youngest = max(sent_at.values(), default=loop.time())
                    timeout = youngest + self.patience - loop.time()
                    if timeout <= 0:
                        break
                done, workers = await asyncio.wait(
                    workers, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for worker_done in done:
                    worker_done.result()  # a bug in `answered` is the round's
        except BaseException:
            for still in workers:
                still.cancel()
            raise
        for still in workers:
            self._handed_on.add(still)
            still.add_done_callback(self._landed)
        return asked

    def _landed(self, worker: asyncio.Task[None]) -> None:
        self._handed_on.discard(worker)
        if not worker.cancelled() and (exc := worker.exception()) is not None:
            log.error("a poll handed on by its round failed", exc_info=exc)

    def cancel(self) -> None:
        """Give up the requests handed on (the engine is closing)."""
        for worker in list(self._handed_on):
            worker.cancel()

    async def _ask(self, task_id: str) -> Answer:
        self.schedule.asking.add(task_id)
        try:
            return await self._answer(task_id)
        finally:
            self.schedule.asking.discard(task_id)

    async def _answer(self, task_id: str) -> Answer:
        try:
            result = await self.client.get_result(task_id)
        except RateLimited as exc:
            pause = self.schedule.on_rate_limited(task_id, exc.retry_after)
            log.warning("rate limited, pausing %.0f s", pause)
            return exc.waiting(pause)  # its message names the wait that is kept
        except AuthError as exc:
            self.schedule.on_auth_failed()
            log.error("API key refused: %s", exc.message)
            return exc
        except TaskNotFound as exc:
            self.schedule.on_not_found(task_id)
            return exc
        except ApiError as exc:
            delay = self.schedule.on_failure(task_id)
            log.warning("poll %s failed (%s), retry in %.0f s", task_id, exc.message, delay)
            return exc
        self.schedule.on_answer(task_id, result.kind.is_final)
        return result
