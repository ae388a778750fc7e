"""The simulator's task book: tasks, their timelines, handed-out video links, canned answers.

All times are read from the injected clock so tests can move a task through its statuses
without sleeping. One lock guards everything; every operation under it is O(1) apart from
the occasional sweep of expired links, so 2,000 tasks polled at once do not queue up here.
"""

from __future__ import annotations

import math
import random
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .links import signed_link

MODEL = "starvideos_o3"
ID_PREFIX = "video_starvideos_o3_"
# Output length when the task follows a reference video; docs/api.md says the reference decides.
REFERENCE_VIDEO_DURATION = 5

FAILURE_REASONS = (
    "Reference image resolution is too low.",
    "The prompt did not pass the content safety review.",
    "Video generation timed out, please submit the task again.",
    "The reference video could not be downloaded.",
    "Insufficient account balance.",
)

# Below this many live links a sweep for expired ones is not worth the time.
_MIN_SWEEP_SIZE = 4096


@dataclass(frozen=True)
class SimTask:
    id: str
    prompt: str
    created_unix: int
    started_at: float  # clock() at creation
    queued_seconds: float  # at speed 1
    processing_seconds: float  # at speed 1
    fails: bool
    error: str
    actual_duration: int


@dataclass(frozen=True)
class FixedAnswer:
    status_code: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class VideoLink:
    task_id: str
    expires_at: float  # clock() time; the link is dead from then on


class TaskBook:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        speed: float,
        queued_seconds: float,
        processing_seconds: float,
        url_ttl_seconds: float,
        seed: int | None,
    ) -> None:
        self._clock = clock
        self._speed = speed
        self._queued_seconds = queued_seconds
        self._processing_seconds = processing_seconds
        self._url_ttl_seconds = url_ttl_seconds
        self._lock = threading.Lock()
        self._tasks: dict[str, SimTask] = {}
        self._links: dict[str, VideoLink] = {}
        self._sweep_at = _MIN_SWEEP_SIZE
        self._fixed: dict[str, FixedAnswer] = {}
        # Unix times follow the injected clock, so a frozen clock also freezes `created`.
        self._wall_origin = time.time()
        self._clock_origin = clock()
        # A random start keeps ids from two simulator runs apart (a demo watchlist may
        # outlive one run); a seed makes them reproducible.
        id_rng = random.Random(seed) if seed is not None else random.SystemRandom()
        self._next_number = id_rng.randrange(1_000_000_000, 8_000_000_000)

    def unix_now(self) -> float:
        return self._wall_origin + (self._clock() - self._clock_origin)

    def create(
        self,
        prompt: str,
        *,
        actual_duration: int,
        queued: float | None = None,
        processing: float | None = None,
        fail: bool | None = None,
        error: str | None = None,
    ) -> SimTask:
        with self._lock:
            task_id = f"{ID_PREFIX}{self._next_number}"
            self._next_number += 1
            task = SimTask(
                id=task_id,
                prompt=prompt,
                created_unix=int(self.unix_now()),
                started_at=self._clock(),
                queued_seconds=self._queued_seconds if queued is None else queued,
                processing_seconds=self._processing_seconds if processing is None else processing,
                fails=("FAIL" in prompt) if fail is None else fail,
                error=error or failure_reason(task_id),
                actual_duration=actual_duration,
            )
            self._tasks[task_id] = task
        return task

    def status_of(self, task: SimTask) -> str:
        elapsed = (self._clock() - task.started_at) * self._speed
        if elapsed < task.queued_seconds:
            return "queued"
        if elapsed < task.queued_seconds + task.processing_seconds:
            return "processing"
        return "failed" if task.fails else "completed"

    def result(self, task_id: str, base_url: str) -> dict[str, Any] | None:
        """The poll answer for `task_id`, or None when no such task exists.

        A completed task gets a fresh link on every poll, as the real service may do; the
        client must cope with the URL changing under it.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            status = self.status_of(task)
            answer: dict[str, Any] = {
                "id": task.id,
                "object": "video",
                "created": task.created_unix,
                "model": MODEL,
                "status": status,
                "video_url": None,
                "error": task.error if status == "failed" else None,
            }
            if status == "completed":
                answer["video_url"] = self._hand_out_link(task.id, base_url)
                answer["actualDuration"] = task.actual_duration
            return answer

    def _hand_out_link(self, task_id: str, base_url: str) -> str:
        ttl = self._url_ttl_seconds / self._speed
        token = secrets.token_urlsafe(12)
        self._links[token] = VideoLink(task_id, self._clock() + ttl)
        if len(self._links) >= self._sweep_at:
            self._sweep_expired_links()
        return signed_link(base_url, task_id, token, self.unix_now(), ttl)

    def _sweep_expired_links(self) -> None:
        now = self._clock()
        self._links = {t: link for t, link in self._links.items() if link.expires_at > now}
        # Doubling keeps the sweeps amortised O(1) per handed-out link.
        self._sweep_at = max(_MIN_SWEEP_SIZE, 2 * len(self._links))

    def link_deadline(self, task_id: str, token: str) -> float | None:
        """Unix time the link dies, or None when it is not a live link to this task."""
        with self._lock:
            link = self._links.get(token)
            now = self._clock()
            if link is None or link.task_id != task_id or now >= link.expires_at:
                return None
            return self.unix_now() + (link.expires_at - now)

    def video_length(self, task_id: str) -> int:
        """Seconds of the task's video, as its poll answer's `actualDuration` says."""
        with self._lock:
            task = self._tasks.get(task_id)
            return task.actual_duration if task is not None else 3

    def expire_all_links(self) -> None:
        with self._lock:
            self._links = {t: VideoLink(link.task_id, -math.inf) for t, link in self._links.items()}

    def add_fixed(self, task_id: str, answer: FixedAnswer) -> None:
        with self._lock:
            self._fixed[task_id] = answer

    def fixed(self, task_id: str) -> FixedAnswer | None:
        with self._lock:
            return self._fixed.get(task_id)


def failure_reason(task_id: str) -> str:
    """A plausible reason, the same for the same id on every run."""
    return FAILURE_REASONS[zlib.crc32(task_id.encode()) % len(FAILURE_REASONS)]
