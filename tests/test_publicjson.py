"""`list --json` prints a finished task of a stream from its stored document's checked
fields, without making its record (core/publicjson.py, cli/cmdline.finished_json): what it
prints must be what the record says, field for field, whatever the document leaves out."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from starvideos_tui.cli.cmdline import finished_json, record_json
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.models import HttpProblem, TaskRecord, checked_fields
from starvideos_tui.core.publicjson import public_of

URL = "https://b.oss-cn-hangzhou.aliyuncs.com/a.mp4?Expires=1796308200&Signature=s"
FULL = TaskRecord(
    id="video_starvideos_o3_1774836724",
    status="completed",
    created=1774836724,
    model="starvideos_o3",
    video_url=URL,
    video_url_at=190.5,
    actual_duration=5.0,
    prompt="un renard roux — 狐 \u202e",
    label="take \u00e9",
    params={"prompt": "a cat", "duration": 5},
    added_at=10.25,
    checked_at=190.5,
    updated_at=190.5,
    history=(("queued", 100.0), ("processing", 130.0), ("completed", 190.5)),
    last_problem=HttpProblem("rate_limited", "slow down", 429, "<html>", 180.0),
    local_path="/videos/v.mp4",
    size=1234,
    sha256="ab" * 32,
    media={"codec": "h264", "width": 640},
    link_expires_at=1_796_308_100.0,
    rating=4,
    rejected=True,
    archived=True,
    archived_at=300.0,
)
RECORDS = {
    "every field": FULL,
    "nothing but its id": TaskRecord(id="a"),
    "deadline read from its link": replace(FULL, link_expires_at=None, last_problem=None),
    "unsaved, link dead": replace(FULL, local_path=None, download_error="link expired"),
    "not a video": replace(FULL, local_path=None, download_error="the host sent HTML"),
    "failed": replace(FULL, status="failed", error="too low", local_path=None, rating=0),
    "a word the docs do not list": replace(FULL, status="Completed"),
}


def stored(record: TaskRecord) -> dict[str, object]:
    """The record's checked fields as a stream reads them back from its stored document."""
    return checked_fields(json.loads(json.dumps(record.to_doc())))


@pytest.mark.parametrize("record", RECORDS.values(), ids=RECORDS.keys())
def test_a_task_printed_from_its_document_is_its_record(record: TaskRecord) -> None:
    values = stored(record)
    assert public_of(values) == record.public_json()
    if record.is_final:
        assert finished_json(values, record.kind) == record_json(record, RunTimes(), 200.0)


def test_the_public_fields_are_the_records_own() -> None:
    item = public_of(stored(FULL))
    assert item["status"] == "completed" and item["rating"] == 4 and item["rejected"] is True
    assert item["archived"] is True and item["media"] == {"codec": "h264", "width": 640}
    assert item["history"][1] == {"status": "processing", "at": 130.0}
    assert item["last_problem"] == {
        "kind": "rate_limited",
        "message": "slow down",
        "status_code": 429,
        "body_excerpt": "<html>",
        "at": 180.0,
    }
    assert item["link_expires_at"] == 1_796_308_100.0
    linked = public_of(stored(RECORDS["deadline read from its link"]))
    assert linked["link_expires_at"] == 1_796_308_200


def test_left_out_fields_read_as_their_defaults() -> None:
    item = public_of(stored(TaskRecord(id="a")))
    assert item["status"] is None and item["history"] == [] and item["rating"] == 0
    assert item["rejected"] is False and item["archived"] is False and item["media"] is None


@pytest.mark.parametrize(
    ("record", "state"),
    [
        (RECORDS["every field"], "downloaded"),
        (RECORDS["unsaved, link dead"], "link expired"),
        (RECORDS["not a video"], "not a video"),
        (replace(FULL, local_path=None), "completed"),
        (RECORDS["failed"], "failed"),
    ],
)
def test_a_finished_tasks_state_is_what_its_video_became(record: TaskRecord, state: str) -> None:
    item = finished_json(stored(record), record.kind)
    assert item["state"] == state and item["eta"] is None and item["stalled"] is False
