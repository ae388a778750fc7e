"""Asking the API about tasks: one round of requests, each answer handed on as it lands.

The round is shared by the engine (monitor.py) under both faces. It never runs two
requests for the same task, keeps at most `concurrency` requests in flight, and stops
starting new ones the moment a Retry-After or a refused key arrives. It writes nothing:
`change_for` turns an answer into the change of a record, and the engine decides when the
watchlist is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

from starvideos_tui.api import (
    ApiError,
    AuthError,
    RateLimited,
    StarVideosClient,
    TaskNotFound,
)
from starvideos_tui.models import HttpProblem, TaskRecord, TaskResult
from starvideos_tui.schedule import PollSchedule

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8

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
    ) -> None:
        self.client = client
        self.schedule = schedule
        self.concurrency = concurrency

    async def ask(self, ids: list[str], answered: Callable[[str, Answer], None]) -> int:
        """Ask about each of `ids`, calling `answered(id, answer)` as each answer lands, so
        a request that hangs until its timeout holds up no other. Returns how many were
        asked (fewer than all when a pause or a refused key stopped the round)."""
        queue = list(reversed(dict.fromkeys(ids)))
        asked = 0

        async def worker() -> None:
            nonlocal asked
            while queue and not self.schedule.is_paused():
                task_id = queue.pop()
                asked += 1
                answered(task_id, await self._ask(task_id))

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(queue)))))
        return asked

    async def _ask(self, task_id: str) -> Answer:
        try:
            result = await self.client.get_result(task_id)
        except RateLimited as exc:
            self.schedule.on_rate_limited(task_id, exc.retry_after)
            log.warning("rate limited, pausing %.0f s", exc.retry_after)
            return exc
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
