"""A status that passes for another word (issue 23, class 12): "completed" with a
zero-width character in it printed exactly like "completed" in `list`. Invisible
characters are shown as escapes (`completed\\u200b`), as bidi overrides already were, and
a status that is not one of the API's words (in any ASCII case) is never treated as one."""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import assert_fails
from helpers_http import Reply, ScriptedHTTPServer, Seen
from helpers_inproc import SameProcessCli

from starvideos_tui.api.answers import parse_result
from starvideos_tui.core import textsafe
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import status_word

Serve = Callable[..., ScriptedHTTPServer]
JSON = {"Content-Type": "application/json"}


def task(n: int) -> str:
    return f"video_starvideos_o3_55{n:08d}"


LOOKALIKES = [
    "completed\u200b",
    "\u200bcompleted",
    "comp\u200cleted",
    "compl\u200deted",
    "completed\u2060",
    "\ufeffcompleted",
    "completed\u200e",
    "completed\u200f",
    "completed\u061c",
    "completed\u00ad",
    "completed\u034f",
    "completed\u180e",
    "completed\ufe0f",
    "completed\U000e0041",
    "complete\u202ed",
    "complete\u2066d",
    "proce\u017f\u017fing",  # folds to "processing" by casefold(), not by ASCII case
    "\u212aueued",  # KELVIN SIGN: lower() gives "k"
]


@pytest.mark.parametrize("status", LOOKALIKES)
def test_a_lookalike_status_is_never_a_documented_state_and_never_prints_as_one(
    status: str,
) -> None:
    result = parse_result({"id": "t1", "status": status, "video_url": "http://h.example/v"})
    assert result.kind is TaskStatus.UNKNOWN
    record = TaskRecord(id="t1").with_result(result, 1.0)
    assert record.kind is TaskStatus.UNKNOWN and not record.is_final
    assert TaskStatus.from_word(status) is TaskStatus.UNKNOWN
    word = status_word(record)
    assert word not in ("completed", "processing", "queued", "failed")
    # Every character of the word is seen: letters, digits, punctuation, symbols; no mark,
    # format character or separator that draws nothing.
    unseen = [c for c in word if unicodedata.category(c)[0] not in "LNPS"]
    assert not unseen, (word, unseen)


def test_the_documented_words_in_any_ascii_case_are_still_read() -> None:
    for word in ("COMPLETED", "Completed", " completed ", "Failed"):
        assert parse_result({"id": "t1", "status": word}).kind.is_final


def test_invisible_characters_are_shown_as_escapes_like_bidi_overrides() -> None:
    assert textsafe.clean("completed\u200b") == "completed\\u200b"
    assert textsafe.clean("\ufeffa\u2060b\u202e") == "\\ufeffa\\u2060b\\u202e"
    assert textsafe.clean("x\U000e0041\U000e0042") == "x\\U000e0041\\U000e0042"
    assert textsafe.clean("completed\ufe0f\u200d\u0628") == "completed\\ufe0f\\u200d\u0628"
    # Real text keeps its joiners and selectors where they join or select: emoji, a
    # keycap, a flag, Persian's zero-width non-joiner, a Devanagari conjunct.
    for text in (
        "\U0001f469\u200d\U0001f4bb",
        "\u2764\ufe0f",
        "\u2764\ufe0f\u200d\U0001f525",
        "1\ufe0f\u20e3",
        "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "\u0915\u094d\u200d\u0937",
    ):
        assert textsafe.clean(f"a {text} cat") == f"a {text} cat"
    # Beside an ASCII letter they are escaped: no ASCII word carries one unseen.
    assert textsafe.clean("done\u200c") == "done\\u200c"
    assert textsafe.clean("do\u200dne") == "do\\u200dne"
    assert textsafe.clean("done\ufe0f") == "done\\ufe0f"
    assert textsafe.clean("done\U000e0067") == "done\\U000e0067"


def test_list_shows_a_lookalike_completed_with_its_invisible_character(
    serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = serve(lambda _n, _seen: Reply(200, b"not a video"))
    looks = {task(1): "completed\u200b", task(2): "\ufeffcompleted"}

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        body = {"id": task_id, "status": looks[task_id], "video_url": video.url()}
        return Reply(200, json.dumps(body).encode(), JSON)

    api = serve(respond)
    cli = SameProcessCli(tmp_path, api.url(""), capsys)
    cli.ok("add", task(1), task(2))
    cli.ok("refresh")
    rows = {line.split()[0]: line for line in cli.ok("list").out_lines[1:]}
    # The column is 12 wide: the escape is cut, but never to the bare word.
    assert rows[task(1)].split()[1] == "completed\\u…"
    assert rows[task(2)].split()[1] == "\\ufeffcompl…"
    # Not completed for the engine either: nothing is downloaded for them.
    assert_fails(cli.run("download", task(1)), 1, "not completed yet (completed\\u200b)")
    fetched = [s for s in video.seen if s.method == "GET" and "range" not in s.headers]
    assert fetched == [], fetched  # (a HEAD asks when the link dies; that is no download)


async def test_the_tui_shows_a_lookalike_completed_with_its_invisible_character(
    serve: Serve, tmp_path: Path
) -> None:
    from starvideos_tui.api.client import StarVideosClient
    from starvideos_tui.storage.store import Watchlist
    from starvideos_tui.tui.app import StarVideosApp
    from starvideos_tui.tui.config import AppConfig
    from starvideos_tui.tui.widgets.task_table import TaskTable

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        return Reply(200, json.dumps({"id": task_id, "status": "completed\u200b"}).encode(), JSON)

    api = serve(respond)
    path = tmp_path / "w.json"
    Watchlist(path).add([TaskRecord(id=task(1))])
    app = StarVideosApp(
        watchlist=Watchlist(path),
        client=StarVideosClient(api.url(""), "sk-tui-test-key-0000"),
        config=AppConfig(download_dir=tmp_path / "videos", interval=30, bell=False),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 15
        # (the records arrive once the watchlist is read, a moment after the app starts)
        while (record := app.records.get(task(1))) is None or not record.checked_at:
            assert time.monotonic() < deadline, "the first pass did not finish"
            await pilot.pause(0.05)
        await pilot.pause()
        cells = [str(cell) for cell in app.query_one(TaskTable).get_row(task(1))]
        app.exit()
    assert "completed\\u200b" in cells[0], cells
