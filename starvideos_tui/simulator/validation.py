"""Checks a create request's JSON body against the rules in docs/api.md.

Written from the API description, not from the client's own models, so a client that
misreads the rules fails against the simulator instead of agreeing with itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .state import MODEL, REFERENCE_VIDEO_DURATION

RATIOS = ("9:16", "1:1", "16:9")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 15, 3
MAX_REFERENCE_IMAGES = 7
MAX_REFERENCE_IMAGES_WITH_VIDEOS = 4


class InvalidCreateRequest(ValueError):
    """The message is sent back to the client as the 400 answer's error message."""


@dataclass(frozen=True)
class CreateRequest:
    prompt: str
    actual_duration: int


def validate_create(body: Any) -> CreateRequest:
    if not isinstance(body, dict):
        raise InvalidCreateRequest("request body must be a JSON object")
    model = body.get("model")
    if model is None:
        raise InvalidCreateRequest("model is required")
    if model != MODEL:
        raise InvalidCreateRequest(f"model must be {MODEL!r}")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidCreateRequest("prompt is required and must be a non-empty string")

    images = _url_list(body, "referenceImages")
    videos = _url_list(body, "referenceVideos")
    first_image = _url(body, "first_image")
    last_image = _url(body, "last_image")
    if images and (first_image or last_image):
        raise InvalidCreateRequest(
            "referenceImages cannot be combined with first_image or last_image"
        )
    image_limit = MAX_REFERENCE_IMAGES_WITH_VIDEOS if videos else MAX_REFERENCE_IMAGES
    if len(images) > image_limit:
        together = " together with referenceVideos" if videos else ""
        raise InvalidCreateRequest(f"referenceImages allows at most {image_limit} URLs{together}")

    duration = body.get("duration")
    if duration is not None and (not isinstance(duration, int) or isinstance(duration, bool)):
        raise InvalidCreateRequest("duration must be an integer")
    ratio = body.get("ratio")
    if ratio is not None and not isinstance(ratio, str):
        raise InvalidCreateRequest("ratio must be a string")
    # docs/api.md: duration and ratio are ignored when a reference video decides them.
    if videos:
        return CreateRequest(prompt=prompt, actual_duration=REFERENCE_VIDEO_DURATION)
    if duration is not None and not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidCreateRequest(
            f"duration must be between {MIN_DURATION} and {MAX_DURATION} seconds"
        )
    if ratio is not None and ratio not in RATIOS:
        raise InvalidCreateRequest(f"ratio must be one of {', '.join(RATIOS)}")
    return CreateRequest(
        prompt=prompt, actual_duration=DEFAULT_DURATION if duration is None else duration
    )


def _url_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidCreateRequest(f"{field} must be an array of URLs")
    for item in value:
        if not _is_http_url(item):
            raise InvalidCreateRequest(f"{field} must contain only http(s) URLs")
    return value


def _url(body: dict[str, Any], field: str) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not _is_http_url(value):
        raise InvalidCreateRequest(f"{field} must be an http(s) URL")
    return str(value)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
