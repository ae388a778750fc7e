"""Task ids, API answers, create requests and watchlist records: the untrusted edges."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from contract import LIST_JSON_KEYS

from starvideos_tui.api.answers import MalformedAnswer, parse_result
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.models import (
    HttpProblem,
    InvalidTaskId,
    TaskRecord,
    TaskResult,
    TaskStatus,
    validate_task_id,
)

TASK = "video_starvideos_o3_1234567890"
BASE = {"id": TASK, "object": "video", "created": 1774836724, "model": "starvideos_o3"}
QUEUED = {**BASE, "status": "queued", "error": None}
PROCESSING = {**BASE, "status": "processing", "video_url": None, "error": None}
COMPLETED = {
    **BASE,
    "status": "completed",
    "video_url": f"https://cdn.example.com/{TASK}.mp4",
    "actualDuration": 5,
    "error": None,
}
FAILED = {
    **BASE,
    "status": "failed",
    "video_url": None,
    "error": "Reference image resolution is too low.",
}
URL = "https://img.example.com/a.png"
VIDEO = "https://img.example.com/ref.mp4"


# -- task ids (CONTRACT: 1-200 of letters, digits, _ - . : and not '.' or '..') ---------------


@pytest.mark.parametrize(
    "task_id",
    [
        TASK,
        "a",
        "0",
        "A-b_c.d:e",
        "...",
        "._-:",
        "a" * 200,
    ],
)
def test_task_ids_the_contract_allows_are_accepted_unchanged(task_id: str) -> None:
    assert validate_task_id(task_id) == task_id


@pytest.mark.parametrize(
    "task_id",
    [
        pytest.param("", id="empty"),
        pytest.param(".", id="dot"),
        pytest.param("..", id="dotdot"),
        pytest.param("../x", id="traversal"),
        pytest.param("../../etc/passwd", id="deep-traversal"),
        pytest.param("a/b", id="slash"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("a b", id="space"),
        pytest.param(" abc", id="leading-space"),
        pytest.param("abc\n", id="trailing-newline"),
        pytest.param("a\nb", id="newline"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("\x1b[2J", id="escape-sequence"),
        pytest.param("a\tb", id="tab"),
        pytest.param("v\u0456deo", id="cyrillic-i-lookalike"),
        pytest.param("\uff56ideo", id="fullwidth-v"),
        pytest.param("video\u200b", id="zero-width-space"),
        pytest.param("\u0663", id="arabic-indic-digit"),
        pytest.param("a?b=1", id="query"),
        pytest.param("a#b", id="fragment"),
        pytest.param("a%2Fb", id="percent-encoded"),
        pytest.param("a" * 201, id="201-chars"),
        pytest.param("a" * 10_000, id="10kB"),
    ],
)
def test_unsafe_or_malformed_task_ids_are_refused(task_id: str) -> None:
    with pytest.raises(InvalidTaskId):
        validate_task_id(task_id)


@pytest.mark.parametrize("task_id", [None, 123, b"abc", ["abc"]])
def test_non_string_task_ids_are_refused_not_crashing(task_id: object) -> None:
    with pytest.raises(InvalidTaskId):
        validate_task_id(task_id)  # type: ignore[arg-type]


def test_invalid_id_is_a_value_error_so_generic_handlers_catch_it() -> None:
    assert issubclass(InvalidTaskId, ValueError)


@pytest.mark.parametrize("task_id", ["x" * 10_000, "\x1b]52;c;aGVsbG8=\x07", "a\nFAKE LINE"])
def test_refusal_message_is_one_short_line_without_terminal_escapes(task_id: str) -> None:
    with pytest.raises(InvalidTaskId) as caught:
        validate_task_id(task_id)
    message = str(caught.value)
    assert len(message) < 200
    assert "\n" not in message
    assert "\x1b" not in message and "\x07" not in message


# -- parse_result: the examples of api.md -----------------------------------------------------


def test_queued_create_answer_is_read_as_queued() -> None:
    result = parse_result(QUEUED)
    assert result.id == TASK
    assert result.status == "queued"
    assert result.kind is TaskStatus.QUEUED
    assert result.created == 1774836724
    assert result.model == "starvideos_o3"
    assert result.video_url is None and result.error is None
    assert not result.kind.is_final


def test_processing_answer_is_read_as_processing_and_not_final() -> None:
    result = parse_result(PROCESSING, TASK)
    assert result.kind is TaskStatus.PROCESSING
    assert not result.kind.is_final
    assert result.video_url is None


def test_completed_answer_gives_video_url_and_length() -> None:
    result = parse_result(COMPLETED, TASK)
    assert result.kind is TaskStatus.COMPLETED
    assert result.kind.is_final
    assert result.video_url == f"https://cdn.example.com/{TASK}.mp4"
    assert result.actual_duration == 5
    assert result.error is None


def test_failed_answer_gives_the_error_text() -> None:
    result = parse_result(FAILED, TASK)
    assert result.kind is TaskStatus.FAILED
    assert result.kind.is_final
    assert result.error == "Reference image resolution is too low."
    assert result.video_url is None


def test_extra_fields_from_a_newer_api_are_ignored() -> None:
    result = parse_result({**COMPLETED, "thumbnail": "x", "progress": 0.5, "nested": {"a": 1}})
    assert result.kind is TaskStatus.COMPLETED


@pytest.mark.parametrize(
    "word", ["cancelled", "expired", "done", "new", "unknown", "succeeded", "Completed!"]
)
def test_unknown_status_word_is_shown_as_sent_and_never_treated_as_final(word: str) -> None:
    result = parse_result({**PROCESSING, "status": word})
    assert result.status == word
    assert result.kind is TaskStatus.UNKNOWN
    assert not result.kind.is_final


@pytest.mark.parametrize("word", ["COMPLETED", "Completed", " completed "])
def test_a_documented_status_in_another_case_counts_as_that_status(word: str) -> None:
    """Else a completed task would be polled forever and never downloaded."""
    result = parse_result({**COMPLETED, "status": word})
    assert result.status == "completed"
    assert result.kind is TaskStatus.COMPLETED and result.kind.is_final


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        (1774836724, 1774836724),
        (1774836724123, 1774836724),  # milliseconds
        (1774836724123456, 1774836724),  # microseconds
        ("1774836724", 1774836724),
        ("2026-03-30T02:12:04Z", 1774836724),
        ("2026-03-30T10:12:04+08:00", 1774836724),
        (0, None),
    ],
)
def test_created_is_unix_seconds_whatever_unit_the_api_used(sent: object, read: object) -> None:
    assert parse_result({**PROCESSING, "created": sent}).created == read


@pytest.mark.parametrize("sent", ["5", "5.0", " 5 ", "5s", 5])
def test_a_duration_sent_as_text_is_read_as_the_number_it_is(sent: object) -> None:
    assert parse_result({**COMPLETED, "actualDuration": sent}).actual_duration == 5.0


def test_camel_and_snake_spellings_of_the_video_fields_are_both_read() -> None:
    body = {**COMPLETED, "video_url": None, "actualDuration": None}
    body |= {"videoUrl": "https://cdn.example.com/v.mp4", "actual_duration": 4}
    result = parse_result(body)
    assert (result.video_url, result.actual_duration) == ("https://cdn.example.com/v.mp4", 4.0)


def test_minimal_answer_with_only_id_and_status_is_accepted() -> None:
    result = parse_result({"id": TASK, "status": "queued"}, TASK)
    assert result.kind is TaskStatus.QUEUED
    assert result.created is None
    assert result.model is None
    assert result.video_url is None
    assert result.actual_duration is None
    assert result.error is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": "queued"}, id="no-id"),
        pytest.param({"id": TASK}, id="no-status"),
        pytest.param({"id": TASK, "status": ""}, id="empty-status"),
        pytest.param({"id": TASK, "status": "   "}, id="blank-status"),
        pytest.param({"id": None, "status": "queued"}, id="null-id"),
    ],
)
def test_answer_missing_id_or_status_is_malformed(body: dict[str, object]) -> None:
    with pytest.raises(MalformedAnswer):
        parse_result(body)


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"id": 1234567890}, id="id-number"),
        pytest.param({"id": ["x"]}, id="id-list"),
        pytest.param({"status": 3}, id="status-number"),
        pytest.param({"status": ["completed"]}, id="status-list"),
        pytest.param({"status": True}, id="status-bool"),
        pytest.param({"created": "yesterday"}, id="created-text"),
        pytest.param({"created": True}, id="created-bool"),
        pytest.param({"video_url": 5}, id="url-number"),
        pytest.param({"video_url": {"href": "https://x"}}, id="url-object"),
        pytest.param({"actualDuration": "five"}, id="duration-text"),
        pytest.param({"created": "yesterday"}, id="created-text"),
        pytest.param({"actualDuration": False}, id="duration-bool"),
        pytest.param({"error": {"message": "no"}}, id="error-object"),
        pytest.param({"error": 42}, id="error-number"),
        pytest.param({"model": 3}, id="model-number"),
    ],
)
def test_fields_of_the_wrong_type_make_the_answer_malformed(override: dict[str, object]) -> None:
    with pytest.raises(MalformedAnswer):
        parse_result({**COMPLETED, **override})


@pytest.mark.parametrize(
    "body", [None, [], [COMPLETED], "completed", 42, 4.2, True], ids=lambda b: type(b).__name__
)
def test_answer_that_is_not_a_json_object_is_malformed(body: object) -> None:
    with pytest.raises(MalformedAnswer):
        parse_result(body)


def test_answer_for_another_task_is_malformed() -> None:
    with pytest.raises(MalformedAnswer):
        parse_result({**COMPLETED, "id": "video_starvideos_o3_999"}, TASK)


@pytest.mark.parametrize("bad_id", ["../x", "a/b", "v\u0456deo", "a" * 201])
def test_answer_carrying_an_unsafe_id_is_malformed(bad_id: str) -> None:
    with pytest.raises(MalformedAnswer):
        parse_result({**COMPLETED, "id": bad_id})


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:video/mp4;base64,AAAA",
        "ftp://cdn.example.com/v.mp4",
        "//cdn.example.com/v.mp4",
        "/local/path.mp4",
        " javascript:alert(1)",
        "",
    ],
)
def test_video_url_that_is_not_http_is_dropped_so_it_is_never_fetched(url: str) -> None:
    result = parse_result({**COMPLETED, "video_url": url})
    assert result.video_url is None
    assert result.kind is TaskStatus.COMPLETED


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v.mp4", "HTTPS://CDN.example.com/v.mp4?sig=abc&exp=1"]
)
def test_http_video_urls_are_kept_exactly(url: str) -> None:
    assert parse_result({**COMPLETED, "video_url": url}).video_url == url


def test_huge_error_text_from_the_api_is_bounded() -> None:
    result = parse_result({**FAILED, "error": "x" * 1_000_000})
    assert result.error is not None
    assert 0 < len(result.error) <= 10_000


@pytest.mark.parametrize("field", ["created", "actualDuration"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_in_an_answer_are_refused_or_dropped(field: str, value: float) -> None:
    # Python's json module accepts NaN and Infinity, so a server can send them.
    body = json.loads(json.dumps({**COMPLETED, field: value}))
    try:
        result = parse_result(body)
    except MalformedAnswer:
        return
    for number in (result.created, result.actual_duration):
        assert number is None or math.isfinite(number)


# -- CreateRequest: every rule of api.md ------------------------------------------------------


def _problems(**kw: object) -> list[str]:
    return CreateRequest(prompt=kw.pop("prompt", "a cat surfing at dawn"), **kw).problems()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"duration": 3},
        {"duration": 15},
        {"ratio": "9:16"},
        {"ratio": "1:1"},
        {"ratio": "16:9"},
        {"reference_images": (URL,) * 7},
        {"reference_images": (URL,) * 4, "reference_videos": (VIDEO,)},
        {"first_image": URL},
        {"first_image": URL, "last_image": URL},
        {"last_image": URL},
        {"reference_videos": (VIDEO, VIDEO)},
        {"reference_images": ("http://127.0.0.1:8765/a.png",)},
    ],
    ids=repr,
)
def test_requests_api_md_allows_have_no_problems(kw: dict[str, object]) -> None:
    assert _problems(**kw) == []


@pytest.mark.parametrize("duration", [0, 2, 16, 60, -3])
def test_duration_outside_3_to_15_seconds_is_refused(duration: int) -> None:
    problems = _problems(duration=duration)
    assert len(problems) == 1
    assert "duration" in problems[0]


@pytest.mark.parametrize("ratio", ["4:3", "16:10", "", "9x16", "1:1 "])
def test_ratio_other_than_the_three_documented_is_refused(ratio: str) -> None:
    problems = _problems(ratio=ratio)
    assert len(problems) == 1
    assert "ratio" in problems[0]


def test_more_than_seven_reference_images_is_refused() -> None:
    problems = _problems(reference_images=(URL,) * 8)
    assert problems and any("7" in p for p in problems)


def test_more_than_four_images_together_with_videos_is_refused() -> None:
    problems = _problems(reference_images=(URL,) * 5, reference_videos=(VIDEO,))
    assert problems and any("4" in p and "video" in p for p in problems)


@pytest.mark.parametrize("frame", ["first_image", "last_image"])
def test_reference_images_with_a_first_or_last_frame_is_refused(frame: str) -> None:
    problems = _problems(reference_images=(URL,), **{frame: URL})
    assert problems and any("frame" in p and "image" in p for p in problems)


@pytest.mark.parametrize("frame", ["first_image", "last_image"])
def test_reference_videos_with_a_first_or_last_frame_is_refused(frame: str) -> None:
    problems = _problems(reference_videos=(VIDEO,), **{frame: URL})
    assert problems and any("frame" in p and "video" in p for p in problems)


@pytest.mark.parametrize(
    "bad",
    ["file:///etc/passwd", "javascript:alert(1)", "ftp://x.example/a.png", "a.png", "http://"],
)
@pytest.mark.parametrize(
    "slot", ["reference_images", "reference_videos", "first_image", "last_image"]
)
def test_non_http_url_in_any_slot_is_refused_and_named(slot: str, bad: str) -> None:
    value: object = (bad,) if slot.startswith("reference") else bad
    problems = _problems(**{slot: value})
    assert len(problems) == 1
    assert "URL" in problems[0]
    assert repr(bad)[:20] in problems[0] or bad[:20] in problems[0]


@pytest.mark.parametrize("prompt", ["", "   ", "\n"])
def test_empty_prompt_is_refused(prompt: str) -> None:
    assert _problems(prompt=prompt)


def test_every_broken_rule_is_reported_not_just_the_first() -> None:
    problems = _problems(duration=99, ratio="4:3", reference_images=(URL,) * 8, first_image=URL)
    assert len(problems) >= 4


def test_create_body_uses_the_api_field_names() -> None:
    request = CreateRequest(
        prompt="p",
        duration=5,
        ratio="1:1",
        reference_images=(URL,),
        reference_videos=(VIDEO,),
    )
    body = request.to_json()
    assert body == {
        "model": "starvideos_o3",
        "prompt": "p",
        "duration": 5,
        "ratio": "1:1",
        "referenceImages": [URL],
        "referenceVideos": [VIDEO],
    }
    frames = CreateRequest(prompt="p", first_image=URL, last_image=VIDEO).to_json()
    assert frames == {
        "model": "starvideos_o3",
        "prompt": "p",
        "first_image": URL,
        "last_image": VIDEO,
    }


# -- TaskRecord -------------------------------------------------------------------------------


def _answer(body: dict[str, object]) -> TaskResult:
    return parse_result(body, TASK)


def test_first_answer_records_status_history_and_times() -> None:
    record = TaskRecord(id=TASK, added_at=50.0).with_result(_answer(QUEUED), 100.0)
    assert record.status == "queued"
    assert record.history == (("queued", 100.0),)
    assert record.checked_at == 100.0
    assert record.updated_at == 100.0
    assert record.created == 1774836724
    assert record.added_at == 50.0


def test_same_answer_again_moves_only_the_last_check_time() -> None:
    first = TaskRecord(id=TASK).with_result(_answer(PROCESSING), 100.0)
    again = first.with_result(_answer(PROCESSING), 130.0)
    assert again.history == first.history
    assert again.updated_at == 100.0
    assert again.checked_at == 130.0


def test_each_status_change_is_added_to_history_in_order() -> None:
    record = TaskRecord(id=TASK)
    for at, body in [(100.0, QUEUED), (130.0, PROCESSING), (160.0, PROCESSING), (190.0, COMPLETED)]:
        record = record.with_result(_answer(body), at)
    assert record.history == (("queued", 100.0), ("processing", 130.0), ("completed", 190.0))
    assert record.updated_at == 190.0
    assert record.video_url == COMPLETED["video_url"]
    assert record.video_url_at == 190.0
    assert record.actual_duration == 5


def test_fresh_video_url_on_a_later_poll_is_kept_and_counts_as_a_change() -> None:
    done = TaskRecord(id=TASK).with_result(_answer(COMPLETED), 100.0)
    fresh = {**COMPLETED, "video_url": "https://cdn.example.com/new.mp4?sig=2"}
    later = done.with_result(_answer(fresh), 400.0)
    assert later.video_url == "https://cdn.example.com/new.mp4?sig=2"
    assert later.video_url_at == 400.0
    assert later.updated_at == 400.0
    assert later.history == done.history


def test_changed_error_text_counts_as_a_change() -> None:
    failed = TaskRecord(id=TASK).with_result(_answer(FAILED), 100.0)
    other = failed.with_result(_answer({**FAILED, "error": "Prompt rejected."}), 200.0)
    assert other.error == "Prompt rejected."
    assert other.updated_at == 200.0
    assert other.history == failed.history


def test_successful_answer_clears_the_previous_problem_but_keeps_local_fields() -> None:
    problem = HttpProblem(kind="server", message="HTTP 502", status_code=502, at=90.0)
    record = TaskRecord(
        id=TASK,
        prompt="a cat",
        label="cat",
        local_path="/videos/cat.mp4",
        params={"prompt": "a cat"},
        last_problem=problem,
        created=1,
    )
    after = record.with_result(_answer({"id": TASK, "status": "processing"}), 100.0)
    assert after.last_problem is None
    assert (after.prompt, after.label, after.local_path) == ("a cat", "cat", "/videos/cat.mp4")
    assert after.params == {"prompt": "a cat"}
    assert after.created == 1  # the answer had no `created`: the old one stays


def _full_record() -> TaskRecord:
    return TaskRecord(
        id=TASK,
        status="completed",
        created=1774836724,
        model="starvideos_o3",
        video_url="https://cdn.example.com/v.mp4?sig=1",
        video_url_at=190.5,
        actual_duration=5.0,
        error=None,
        prompt="a cat surfing, [bold]markup[/bold]",
        label="cat \u00e9\u00e8 \u2603",
        params={"prompt": "a cat", "duration": 5, "referenceImages": [URL]},
        added_at=10.25,
        checked_at=190.5,
        updated_at=190.5,
        history=(("queued", 100.0), ("processing", 130.0), ("completed", 190.5)),
        last_problem=HttpProblem("rate_limited", "slow down", 429, "<html>", 180.0),
        local_path="/videos/v.mp4",
        size=1234,
        sha256="ab" * 32,
        download_error=None,
    )


def test_record_survives_a_trip_through_the_json_file_unchanged() -> None:
    record = _full_record()
    doc = json.loads(json.dumps(record.to_doc()))
    assert TaskRecord.from_doc(doc) == record


def test_minimal_record_survives_the_round_trip() -> None:
    record = TaskRecord(id="a")
    assert TaskRecord.from_doc(json.loads(json.dumps(record.to_doc()))) == record


def test_record_written_by_a_newer_version_with_extra_fields_still_loads() -> None:
    doc = {**_full_record().to_doc(), "future_field": {"x": 1}}
    assert TaskRecord.from_doc(doc) == _full_record()


@pytest.mark.parametrize(
    "change",
    [
        {"id": 5},
        {"id": "../x"},
        {"status": 5},
        {"status": None},
        {"created": "yesterday"},
        {"created": 1.5},
        {"created": True},
        {"size": "big"},
        {"checked_at": "now"},
        {"checked_at": math.nan},
        {"actual_duration": math.inf},
        {"updated_at": 10**400},
        {"prompt": ["a", "cat"]},
        {"params": "prompt=a cat"},
        {"history": 5},
        {"history": [["queued"]]},
        {"history": [["queued", 1.0, 2.0]]},
        {"history": [[1, 1.0]]},
        {"history": [["queued", "then"]]},
        {"last_problem": "oops"},
        {"last_problem": {"bogus": 1}},
        {"last_problem": {"kind": "server", "message": "x", "status_code": "502"}},
    ],
    ids=lambda change: repr(change)[:50],
)
def test_stored_record_with_a_wrongly_typed_field_is_refused(change: dict[str, object]) -> None:
    with pytest.raises((TypeError, ValueError)):
        TaskRecord.from_doc({**_full_record().to_doc(), **change})


def test_stored_record_without_an_id_is_refused() -> None:
    doc = _full_record().to_doc()
    del doc["id"]
    with pytest.raises(TypeError, match="id"):
        TaskRecord.from_doc(doc)


CONTRACT_KEYS = LIST_JSON_KEYS


def test_list_json_item_has_every_contract_key_with_the_record_values() -> None:
    record = _full_record()
    item = record.public_json() | RunTimes.of([record]).fields(record, 200.0)  # as `list` does
    assert item.keys() >= CONTRACT_KEYS
    assert item["id"] == TASK
    assert item["status"] == "completed"
    assert item["created"] == 1774836724
    assert item["video_url"] == "https://cdn.example.com/v.mp4?sig=1"
    assert item["actual_duration"] == 5.0
    assert item["error"] is None
    assert item["local_path"] == "/videos/v.mp4"
    assert item["updated_at"] == 190.5
    assert item["prompt"] == "a cat surfing, [bold]markup[/bold]"
    json.dumps(item, allow_nan=False)


def test_never_polled_task_has_no_api_status_and_null_prompt_in_list_json() -> None:
    item = TaskRecord(id="a").public_json() | RunTimes().fields(TaskRecord(id="a"), 200.0)
    assert item.keys() >= CONTRACT_KEYS
    assert item["eta"] is None and item["stalled"] is False
    assert item["status"] is None  # the API has said nothing yet; "new" was our own word
    assert item["rating"] == 0 and item["rejected"] is False and item["archived"] is False
    assert item["prompt"] is None
    assert item["video_url"] is None
    json.dumps(item, allow_nan=False)


def test_list_json_of_a_failed_task_carries_the_error_text() -> None:
    record = TaskRecord(id=TASK).with_result(_answer(FAILED), 100.0)
    item = replace(record, prompt="p").public_json()
    assert item["status"] == "failed"
    assert item["error"] == "Reference image resolution is too low."


# -- link deadlines -------------------------------------------------------------------------


def test_a_signed_link_records_when_it_dies_and_list_json_carries_it() -> None:
    url = (
        "https://b.s3.amazonaws.com/a.mp4?X-Amz-Date=20261203T143000Z&X-Amz-Expires=600"
        "&X-Amz-Signature=s"
    )
    record = TaskRecord(id="a", status="processing")
    done = record.with_result(TaskResult(id="a", status="completed", video_url=url), now=5.0)
    assert done.link_expires_at == 1_796_308_200 + 600
    assert done.public_json()["link_expires_at"] == done.link_expires_at
    assert TaskRecord.from_doc(done.to_doc()) == done
    unsigned = done.with_result(
        TaskResult(id="a", status="completed", video_url="https://cdn/x.mp4?token=t"), now=9.0
    )
    assert unsigned.link_expires_at is None and unsigned.public_json()["link_expires_at"] is None


def test_a_record_kept_before_deadlines_were_recorded_reads_it_from_its_link() -> None:
    url = "https://b.oss-cn-hangzhou.aliyuncs.com/a.mp4?Expires=1796308200&Signature=s"
    kept = TaskRecord.from_doc({"id": "a", "status": "completed", "video_url": url})
    assert kept.link_expires_at is None
    assert kept.link_deadline == 1_796_308_200
    assert kept.public_json()["link_expires_at"] == 1_796_308_200
