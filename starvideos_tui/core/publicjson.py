"""A task as the outside sees it: the fields `list --json` (and `create --json`, `wait
--json`) promise (docs/contract.md), made from a record's field values.

One builder for both ways a task reaches it: a `TaskRecord` held in memory, and the checked
fields of a stored document read once to be printed (`list --json` of a year of history
builds no record for a finished task: half its cost). Fields missing from the values are
their defaults, as a record has them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from starvideos_tui.core import linkexpiry

# The record fields the outside sees that a stored document may leave out, at their
# defaults (TaskRecord's): a missing one reads as this.
DEFAULTS: dict[str, Any] = {
    "status": "",
    "created": None,
    "video_url": None,
    "actual_duration": None,
    "error": None,
    "local_path": None,
    "updated_at": None,
    "checked_at": None,
    "prompt": None,
    "label": None,
    "size": None,
    "sha256": None,
    "media": None,
    "link_expires_at": None,
    "download_error": None,
    "last_problem": None,
    "history": (),
    "rating": 0,
    "rejected": False,
    "archived": False,
}


def link_deadline(expires_at: float | None, url: str | None) -> float | None:
    """When the video link dies, if it says: recorded when the link arrived (`expires_at`),
    else read from the link itself (records kept before that was recorded)."""
    if expires_at is not None or not url:
        return expires_at
    return linkexpiry.link_expires_at(url)


def public_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """The shape `list --json` promises, plus a few useful extras, from a task's checked
    field values (`id` always among them; a field left out is at its default)."""
    got = {**DEFAULTS, **values}
    problem = got["last_problem"]
    return {
        "id": got["id"],
        "status": got["status"] or None,  # the API's own word: none before its first answer
        "created": got["created"],
        "video_url": got["video_url"],
        "actual_duration": got["actual_duration"],
        "error": got["error"],
        "local_path": got["local_path"],
        "updated_at": got["updated_at"],
        "checked_at": got["checked_at"],
        "prompt": got["prompt"],
        "label": got["label"],
        "size": got["size"],
        "sha256": got["sha256"],
        "media": got["media"],
        "link_expires_at": link_deadline(got["link_expires_at"], got["video_url"]),
        "download_error": got["download_error"],
        "last_problem": asdict(problem) if problem else None,
        "history": [{"status": s, "at": t} for s, t in got["history"]],
        "rating": got["rating"],
        "rejected": got["rejected"],
        "archived": got["archived"],
    }
