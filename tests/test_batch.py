"""`create --from FILE`'s reading: JSON Lines and CSV, every line checked against api.md's
rules before anything is sent, and lines matched with the tasks already made."""

from __future__ import annotations

import json

import pytest

from starvideos_tui.api.create_request import record_of_created
from starvideos_tui.cli.batch import already, read_requests, submitted
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.models import TaskResult


def jsonl(*bodies: object) -> str:
    return "".join(json.dumps(b) + "\n" for b in bodies)


def test_json_lines_with_labels_and_blank_lines() -> None:
    text = (
        jsonl({"prompt": "a fox", "duration": 5, "label": "fox"})
        + "\n"
        + jsonl(
            {
                "model": "starvideos_o3",
                "prompt": "a cat",
                "referenceImages": ["https://i.test/a.png"],
            }
        )
    )
    lines = read_requests(text, "f.jsonl")
    assert [line.number for line in lines] == [1, 3]
    assert lines[0].label == "fox" and lines[0].request.duration == 5
    assert lines[1].request.to_json() == {
        "model": "starvideos_o3",
        "prompt": "a cat",
        "referenceImages": ["https://i.test/a.png"],
    }


def test_csv_with_a_header_row_and_several_urls_in_a_cell() -> None:
    text = (
        "\ufeffprompt,duration,ratio,referenceImages,label\r\n"
        '"a fox, in snow",5,16:9,https://i.test/a.png https://i.test/b.png,fox\r\n'
        "a cat,,,,\r\n"
    )
    lines = read_requests(text, "f.csv")
    assert [line.number for line in lines] == [2, 3]
    assert lines[0].request.prompt == "a fox, in snow"
    assert lines[0].request.reference_images == ("https://i.test/a.png", "https://i.test/b.png")
    assert lines[1].request.to_json() == {"model": "starvideos_o3", "prompt": "a cat"}
    assert lines[1].label is None


BAD = {
    "not-json": ('{"prompt": "a"}\n{"prompt": \n', "line 2", "not JSON"),
    "not-an-object": ('{"prompt": "a"}\n["a"]\n', "line 2", "JSON object"),
    "no-prompt": ('{"prompt": "a"}\n{"duration": 5}\n', "line 2", "prompt is required"),
    "duration-16": ('{"prompt": "a", "duration": 16}\n', "line 1", "duration must be 3 to 15"),
    "duration-text": ('{"prompt": "a", "duration": "5"}\n', "line 1", "whole number"),
    "ratio": ('{"prompt": "a", "ratio": "4:3"}\n', "line 1", "ratio must be one of"),
    "unknown-field": ('{"prompt": "a", "promt": "b"}\n', "line 1", "unknown field 'promt'"),
    "model": ('{"prompt": "a", "model": "other"}\n', "line 1", "model must be"),
    "frames-and-images": (
        jsonl({"prompt": "a", "first_image": "https://i/a", "referenceImages": ["https://i/b"]}),
        "line 1",
        "cannot be combined",
    ),
    "file-url": (
        jsonl({"prompt": "a", "referenceVideos": ["file:///etc/passwd"]}),
        "line 1",
        "URL",
    ),
    "images-not-a-list": (
        jsonl({"prompt": "a", "referenceImages": "https://i/a"}),
        "line 1",
        "list",
    ),
    "csv-without-prompt": ("duration\n5\n", "f", "header row naming 'prompt'"),
    "csv-short-row": ("prompt,duration\na cat\n", "line 2", "1 cells"),
    "csv-bad-duration": ("prompt,duration\na cat,five\n", "line 2", "whole number"),
    "empty": ("\n\n", "f", "no requests"),
}


@pytest.mark.parametrize(("text", "where", "rule"), BAD.values(), ids=BAD.keys())
def test_a_bad_line_refuses_the_whole_file_naming_the_line_and_the_rule(
    text: str, where: str, rule: str
) -> None:
    with pytest.raises(UsageError) as caught:
        read_requests(text, "f")
    assert where in str(caught.value) and rule in str(caught.value), str(caught.value)


def test_twin_lines_each_match_their_own_earlier_task() -> None:
    """The same shot asked twice is two tasks; a re-run after the first was made sends only
    the second."""
    lines = read_requests(jsonl({"prompt": "a"}, {"prompt": "b"}, {"prompt": "a"}), "f")
    assert [line.twin for line in lines] == [0, 0, 1]
    first = record_of_created(
        TaskResult(id="video_1", status="queued"), lines[0].request, 100.0, "a"
    )
    made = submitted([first])
    assert [already(line, made) for line in lines] == ["video_1", None, None]
    second = record_of_created(
        TaskResult(id="video_2", status="queued"), lines[2].request, 200.0, "a"
    )
    made = submitted([second, first])
    assert [already(line, made) for line in lines] == ["video_1", None, "video_2"]


def test_the_label_is_not_part_of_the_request() -> None:
    a, b = read_requests(jsonl({"prompt": "a", "label": "x"}, {"prompt": "a", "label": "y"}), "f")
    assert a.key == b.key and (a.twin, b.twin) == (0, 1)
