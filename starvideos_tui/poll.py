"""One polling pass: ask the API about the due tasks, then save every answer in one write.

The pass is shared by the CLI (`refresh`, `watch`, `download`) and the TUI's worker. It
never runs two requests for the same task, keeps at most `concurrency` requests in flight,
and stops starting new ones the moment a Retry-After or a refused key arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from starvideos_tui.api import (
    ApiError,
    AuthError,
    RateLimited,
    StarVideosClient,
    TaskNotFound,
)
from starvideos_tui.models import HttpProblem, PassReport, TaskRecord, TaskResult
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.store import Watchlist

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8


def problem_from(exc: ApiError, now: float) -> HttpProblem:
    return HttpProblem(
        kind=exc.kind,
        message=exc.message,
        status_code=exc.status_code,
        body_excerpt=exc.body_excerpt,
        at=now,
    )


class Poller:
    """Polls watched tasks through `client` and records the answers in `watchlist`."""

    def __init__(
        self,
        client: StarVideosClient,
        watchlist: Watchlist,
        schedule: PollSchedule,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.watchlist = watchlist
        self.schedule = schedule
        self.concurrency = concurrency
        self.wall_clock = wall_clock
        self._running = asyncio.Lock()

    def sync(self, records: Iterable[TaskRecord]) -> None:
        """Schedule exactly the unfinished ones of these records."""
        self.schedule.sync(r.id for r in records if not r.is_final)

    async def run_pass(self, task_ids: Iterable[str] | None = None) -> PassReport:
        """Poll `task_ids` (default: the due ones) and persist the outcome.

        Passes never overlap: a second call waits for the first to finish.
        """
        async with self._running:
            if task_ids is None:
                self.schedule.pass_started()
                ids = self.schedule.due()
            else:
                ids = list(dict.fromkeys(task_ids))
            report = PassReport()
            if not ids:
                report.auth_failed = self.schedule.auth_blocked
                return report
            answers = await self._ask_all(ids)
            report.polled = len(answers)
            self._record(answers, report)
            report.auth_failed = self.schedule.auth_blocked
            if self.schedule.paused_until > self.schedule.clock():
                report.paused_until = self.schedule.paused_until
            return report

    async def _ask_all(self, ids: list[str]) -> dict[str, TaskResult | ApiError]:
        answers: dict[str, TaskResult | ApiError] = {}
        queue = list(reversed(ids))

        async def worker() -> None:
            while queue and not self.schedule.is_paused():
                task_id = queue.pop()
                answers[task_id] = await self._ask(task_id)

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, len(ids)))))
        return answers

    async def _ask(self, task_id: str) -> TaskResult | ApiError:
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

    def _record(self, answers: dict[str, TaskResult | ApiError], report: PassReport) -> None:
        now = self.wall_clock()
        before: dict[str, str] = {}

        def answered(result: TaskResult) -> Callable[[TaskRecord], TaskRecord]:
            def change(record: TaskRecord) -> TaskRecord:
                before[record.id] = record.status
                return record.with_result(result, now)

            return change

        def failed(problem: HttpProblem) -> Callable[[TaskRecord], TaskRecord]:
            return lambda record: replace(record, last_problem=problem)

        changes = {}
        for task_id, answer in answers.items():
            if isinstance(answer, ApiError):
                report.problems[task_id] = problem = problem_from(answer, now)
                changes[task_id] = failed(problem)
            else:
                changes[task_id] = answered(answer)
        report.records = self.watchlist.update(changes)
        for task_id, old in before.items():
            new = report.records[task_id].status
            if new != old:
                report.transitions.append((task_id, old, new))
                log.info("task %s: %s -> %s", task_id, old or "new", new)
