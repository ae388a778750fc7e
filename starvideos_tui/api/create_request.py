"""The body of `POST /v1/starvideos/videos` (docs/api.md), checked against the API's rules
before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starvideos_tui.core.models import MODEL_NAME, TaskRecord, TaskResult
from starvideos_tui.core.textsafe import lone_surrogate
from starvideos_tui.core.values import is_http_url

RATIOS = ("9:16", "1:1", "16:9")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 15, 3
MAX_REFERENCE_IMAGES = 7
MAX_REFERENCE_IMAGES_WITH_VIDEOS = 4


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """The body of `POST /v1/starvideos/videos`, validated by `check()`."""

    prompt: str
    duration: int | None = None
    ratio: str | None = None
    reference_images: tuple[str, ...] = ()
    first_image: str | None = None
    last_image: str | None = None
    reference_videos: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """Every rule of docs/api.md this request breaks, as sentences a user can act on."""
        found: list[str] = []
        if not self.prompt.strip():
            found.append("the prompt is empty")
        if (half := lone_surrogate(self.prompt)) is not None:
            found.append(
                f"the prompt is not valid text: {half} is half of a character (a lone surrogate)"
            )
        if self.duration is not None and not MIN_DURATION <= self.duration <= MAX_DURATION:
            found.append(f"duration must be {MIN_DURATION} to {MAX_DURATION} seconds")
        if self.ratio is not None and self.ratio not in RATIOS:
            found.append(f"ratio must be one of {', '.join(RATIOS)}")
        images = len(self.reference_images)
        if images > MAX_REFERENCE_IMAGES:
            found.append(f"at most {MAX_REFERENCE_IMAGES} reference images")
        if self.reference_videos and images > MAX_REFERENCE_IMAGES_WITH_VIDEOS:
            found.append(
                f"at most {MAX_REFERENCE_IMAGES_WITH_VIDEOS} reference images "
                "together with reference videos"
            )
        frames = self.first_image is not None or self.last_image is not None
        if frames and images:
            found.append("reference images cannot be combined with first/last frame images")
        if frames and self.reference_videos:
            found.append("reference videos cannot be combined with first/last frame images")
        urls = [*self.reference_images, *self.reference_videos]
        urls += [u for u in (self.first_image, self.last_image) if u is not None]
        found += [f"not an http(s) URL: {u[:80]!r}" for u in urls if not is_http_url(u)]
        return found

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": MODEL_NAME, "prompt": self.prompt}
        if self.duration is not None:
            body["duration"] = self.duration
        if self.ratio is not None:
            body["ratio"] = self.ratio
        if self.reference_images:
            body["referenceImages"] = list(self.reference_images)
        if self.first_image is not None:
            body["first_image"] = self.first_image
        if self.last_image is not None:
            body["last_image"] = self.last_image
        if self.reference_videos:
            body["referenceVideos"] = list(self.reference_videos)
        return body


def record_of_created(
    result: TaskResult, request: CreateRequest, now: float, label: str | None = None
) -> TaskRecord:
    """The record of a task we just submitted: it keeps the request for resubmitting."""
    return TaskRecord(
        id=result.id,
        prompt=request.prompt,
        label=" ".join((label or request.prompt).split())[:80],
        params=request.to_json(),
        added_at=now,
    ).with_result(result, now)
