"""`collect DIR`: the picked takes gathered in one folder, with a manifest (#26 item 5).

Which: every saved task whose rating is at least `min_rating` (0: all) and whose label
(or, without one, prompt) holds `label`; never a rejected one (told as skipped). Each
goes in under a readable name, a slug of its label or prompt (ASCII, at most SLUG_MAX
characters) and the end of its id (`a-red-fox-at-dawn-94836724.mp4`), hard-linked where
the file system allows and copied elsewhere (video/copies.py: never over anything, never
through a link, checked against the record's size and sha256).

A re-run adds only what is new: a task the manifest lists with the same sha256, whose
file in DIR still holds those bytes, is already there. A saved file gone, changed since
it was saved, or not a video is skipped with the reason and never copied.

`DIR/manifest.jsonl` and `DIR/manifest.csv` list every file collected, old and new (an
old entry whose file was removed from DIR is dropped): each is rewritten whole, a temp
file renamed over it, and only when its content changes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starvideos_tui.core.errors import StarVideosError, UsageError
from starvideos_tui.core.mediafacts import MediaFacts
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.recordfields import MAX_RATING
from starvideos_tui.core.selection import label_of
from starvideos_tui.engine.videos import is_saved
from starvideos_tui.video.copies import (
    SourceProblem,
    folder_locked,
    holds,
    place,
    read_small,
    regular_file,
    replace_file,
)
from starvideos_tui.video.media import NotAVideo, check_video

SLUG_MAX = 40
ID_TAIL = 8  # the end of an id is what tells two of them apart (video_starvideos_o3_…)
MANIFEST_JSONL = "manifest.jsonl"
MANIFEST_CSV = "manifest.csv"
MANIFEST_MAX = 64 << 20  # bytes of an old manifest read back
COLUMNS = (
    "file",
    "id",
    "prompt",
    "label",
    "rating",
    "length",
    "width",
    "height",
    "codec",
    "fps",
    "duration",
    "size",
    "sha256",
    "source",
)
# A cell a spreadsheet would run as a formula (CSV injection): shown as text instead.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def slug(text: str | None) -> str:
    """`text` as a file-name word: ASCII letters and digits joined by `-`, at most
    SLUG_MAX characters, cut at a word's end where one is near; "" when nothing is left."""
    if not text:
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(words) <= SLUG_MAX:
        return words
    cut = words[: SLUG_MAX + 1]
    at = cut.rfind("-")
    return (cut[:at] if at >= SLUG_MAX // 2 else words[:SLUG_MAX]).strip("-")


def short_id(task_id: str) -> str:
    """The distinctive end of a task id, safe in a file name on any file system."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", task_id[-ID_TAIL:])


def file_name(record: TaskRecord) -> str:
    """`<slug of the label, else of the prompt>-<end of the id>.mp4`."""
    words = slug(record.label) or slug(record.prompt) or "video"
    return f"{words}-{short_id(record.id)}.mp4"


@dataclass(frozen=True)
class Outcome:
    """What became of one task: collected (linked or copied), already there, skipped."""

    task_id: str
    outcome: str  # "collected", "already there", "skipped"; "would collect" in a dry run
    path: Path | None = None
    how: str | None = None  # "linked", "copied"
    reason: str | None = None  # why it was skipped

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.task_id,
            "outcome": self.outcome,
            "path": str(self.path) if self.path else None,
            "how": self.how,
            "reason": self.reason,
        }


@dataclass
class Collection:
    folder: Path
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    manifests: tuple[Path, Path] | None = None  # written (or, dry, that would be)

    @property
    def problems(self) -> list[Outcome]:
        """Skipped for a reason other than the user's choice (a rejected take)."""
        return [o for o in self.outcomes if o.outcome == "skipped" and o.reason != "rejected"]


def check_min_rating(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_RATING:
        raise UsageError(f"--min-rating takes 0 to {MAX_RATING} (0: all), not {text!r}")
    return value


def chosen(records: Iterable[TaskRecord], min_rating: int, label: str | None) -> list[TaskRecord]:
    """The saved tasks that match, oldest first (a rejected one too: it is told)."""
    needle = label.casefold() if label else None
    picked = [
        r
        for r in records
        if is_saved(r)
        and r.rating >= min_rating
        and (needle is None or needle in label_of(r).casefold())
    ]
    picked.sort(key=lambda r: (r.created or 0, r.id))
    return picked


def collect(
    records: Iterable[TaskRecord],
    folder: Path,
    *,
    min_rating: int = 0,
    label: str | None = None,
    dry_run: bool = False,
) -> Collection:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    result = Collection(folder, dry_run)
    picks = chosen(records, min_rating, label)
    if not picks and not folder.is_dir():
        return result
    if not dry_run:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StarVideosError(f"cannot create the folder {folder}: {exc.strerror}") from None
        with folder_locked(folder):
            _collect_into(result, picks)
    else:
        _collect_into(result, picks)
    return result


def _collect_into(result: Collection, picks: list[TaskRecord]) -> None:
    folder = result.folder
    _check_manifests(folder)
    old = _read_manifest(folder)
    entries: dict[str, dict[str, Any]] = {}  # file name -> entry, in manifest order
    for entry in old:
        if regular_file(folder, entry["file"]):
            entries[entry["file"]] = entry
    listed = {(e["id"], e["sha256"]): e["file"] for e in entries.values()}
    for record in picks:
        known = listed.get((record.id, record.sha256))
        outcome = _one(record, folder, known, result.dry_run)
        result.outcomes.append(outcome)
        if outcome.path is not None and outcome.outcome != "skipped":
            if known is not None and outcome.path.name != known:
                entries.pop(known, None)  # its file there no longer holds these bytes
            entries[outcome.path.name] = _entry(record, outcome.path.name)
    rows = list(entries.values())
    if not rows and not old:
        return
    jsonl = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    jsonl_bytes = jsonl.encode("utf-8", "replace")
    csv_bytes = _csv(rows)
    result.manifests = (folder / MANIFEST_JSONL, folder / MANIFEST_CSV)
    if result.dry_run:
        return
    for name, data in ((MANIFEST_JSONL, jsonl_bytes), (MANIFEST_CSV, csv_bytes)):
        if read_small(folder, name, MANIFEST_MAX) != data:
            replace_file(folder, name, data)


def _check_manifests(folder: Path) -> None:
    """StarVideosError, before anything is done, when a file under a manifest's name is
    not one collect wrote: a user's file is never replaced."""
    for name in (MANIFEST_JSONL, MANIFEST_CSV):
        held = read_small(folder, name, MANIFEST_MAX)
        if held and not _a_manifest(name, held):
            raise StarVideosError(
                f"{folder / name} is not a manifest collect wrote: it is left as it is "
                "(move it away, or collect into another folder)"
            )


def _a_manifest(name: str, held: bytes) -> bool:
    """Whether a file under a manifest's name is one collect wrote (its header, or JSON
    lines of entries), and so may be written again: a user's file is never replaced."""
    if name == MANIFEST_CSV:
        return held.startswith(",".join(COLUMNS).encode() + b"\r\n")
    lines = [line for line in held.splitlines() if line.strip()]
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


def _one(record: TaskRecord, folder: Path, listed: str | None, dry_run: bool) -> Outcome:
    assert record.local_path and record.sha256 and record.size is not None
    if record.rejected:
        return Outcome(record.id, "skipped", reason="rejected")
    if listed is not None and holds(folder, listed, record.size, record.sha256):
        return Outcome(record.id, "already there", folder / listed)
    source = Path(record.local_path)
    try:
        if MediaFacts.from_json(record.media) is None:
            # Saved before its facts were kept: decode it now, so only videos are taken.
            check_video(source, record.actual_duration)
        placed = place(
            source, record.size, record.sha256, folder, file_name(record), dry_run=dry_run
        )
    except SourceProblem as exc:
        return Outcome(record.id, "skipped", reason=str(exc))
    except NotAVideo as exc:
        return Outcome(record.id, "skipped", reason=f"{source} is not a video: {exc.arrived}")
    except OSError as exc:
        return Outcome(record.id, "skipped", reason=f"cannot read {source}: {exc.strerror}")
    except StarVideosError as exc:  # a refused name, a full disk
        return Outcome(record.id, "skipped", reason=str(exc))
    if placed.how == "already there":
        return Outcome(record.id, "already there", placed.path)
    if placed.how == "would place":
        return Outcome(record.id, "would collect", placed.path)
    return Outcome(record.id, "collected", placed.path, placed.how)


def _entry(record: TaskRecord, name: str) -> dict[str, Any]:
    facts = MediaFacts.from_json(record.media)
    return {
        "file": name,
        "id": record.id,
        "prompt": record.prompt,
        "label": record.label,
        "rating": record.rating,
        "length": record.actual_duration,
        "width": facts.width if facts else None,
        "height": facts.height if facts else None,
        "codec": facts.codec if facts else None,
        "fps": facts.fps if facts else None,
        "duration": facts.duration if facts else None,
        "size": record.size,
        "sha256": record.sha256,
        "source": record.local_path,
    }


def _read_manifest(folder: Path) -> list[dict[str, Any]]:
    """The entries of an old manifest.jsonl that make sense; the rest ignored."""
    raw = read_small(folder, MANIFEST_JSONL, MANIFEST_MAX)
    if not raw:
        return []
    entries = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("file"), str)
            and isinstance(entry.get("id"), str)
            and isinstance(entry.get("sha256"), str)
            and "/" not in entry["file"]
            and entry["file"] not in ("", ".", "..")
        ):
            entries.append({key: entry.get(key) for key in COLUMNS})
    return entries


def _csv(rows: list[dict[str, Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in COLUMNS])
    return text.getvalue().encode("utf-8", "replace")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text
