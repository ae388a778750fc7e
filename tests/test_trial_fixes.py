"""Defects a new user met trying issue 23's result (the trial round), each with its test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.segment import Segment

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.widgets.task_table import TaskTable
from starvideos_tui.video.media import describe_bytes

# -- the cursor row in 16 colours and NO_COLOR: every field readable ----------------------

LABEL = "Timelapse of clouds"


def _labelled_app(
    sim: Simulator, folder: Path, *, ansi: bool, light: bool = False
) -> StarVideosApp:
    watchlist = Watchlist(folder / "watchlist.json")
    ids = [sim.seed_task(f"task {n}", queued=600) for n in range(2)]
    watchlist.add([TaskRecord(id=task_id, added_at=time.time(), label=LABEL) for task_id in ids])
    config = AppConfig(download_dir=folder / "videos", bell=False, ansi=ansi, light=light)
    return StarVideosApp(
        watchlist=watchlist, client=StarVideosClient(sim.base_url, "sk-test"), config=config
    )


def _unreadable(segments: list[Segment]) -> list[str]:
    """The cursor row's cells a terminal could draw unreadably: dim text (the terminal
    halves the cursor's bright white to about its bright-black background: xterm's grey
    is #7f7f7f either way), or a colour the same as the background."""
    bad = []
    for segment in segments:
        style = segment.style
        if not segment.text.strip() or style is None:
            continue
        if style.dim:
            bad.append(f"dim: {segment.text!r}")
        elif style.color is not None and style.color == style.bgcolor:
            bad.append(f"{style.color.name} on itself: {segment.text!r}")
    return bad


@pytest.mark.parametrize(
    ("ansi", "light", "no_color"),
    [(True, False, False), (True, True, False), (True, False, True)],
    ids=["16-dark", "16-light", "no-color"],
)
async def test_the_cursor_rows_label_stays_readable_without_256_colours(
    simulator: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ansi: bool,
    light: bool,
    no_color: bool,
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is built
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = _labelled_app(simulator, tmp_path, ansi=ansi, light=light)
    async with app.run_test(size=(100, 20)) as pilot:
        await pilot.pause(0.5)
        table = app.screen.query_one(TaskTable)
        assert table.has_focus
        cursor_y = 1 + table.cursor_row  # below the header
        focused = list(table.render_line(cursor_y))
        assert LABEL[:10] in "".join(s.text for s in focused)
        assert _unreadable(focused) == []
        other = list(table.render_line(cursor_y + 1))  # not the cursor's: still dimmed
        assert any(s.style and s.style.dim for s in other if LABEL[:10] in s.text)
        await pilot.press("slash")  # the filter box takes the focus: the blurred cursor
        await pilot.pause(0.2)
        assert not _has_focus(table)  # (a call: mypy keeps no narrowing across the await)
        blurred = list(table.render_line(cursor_y))
        assert LABEL[:10] in "".join(s.text for s in blurred)
        assert _unreadable(blurred) == []
        app.exit()


def _has_focus(table: TaskTable) -> bool:
    return table.has_focus


@pytest.mark.parametrize("first", [b"<", b"{", b"["])
def test_binary_that_starts_like_a_document_is_not_named_one(first: bytes) -> None:
    """Random bytes that happen to start with "<" or "{" (1 body in 40 of os.urandom) are
    left to the decoder, not called an XML or JSON document."""
    body = first + bytes(range(128, 256)) * 20
    assert describe_bytes(body[:4096], len(body)) is None
    assert describe_bytes(first + b' "ok": 1}', 10) is not None


async def test_a_cancelled_download_leaves_no_unretrieved_task_exception(tmp_path: Path) -> None:
    """`watch` stopped by SIGTERM while a download was failing printed "Task exception was
    never retrieved" with a traceback: the transfer's thread outcome must be taken."""
    import asyncio
    import gc
    import socket

    from starvideos_tui.video.download import fetch_to_file, target_path

    with socket.socket() as sock:  # a port nobody listens on: every try fails at once
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reported: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    folder = tmp_path / "videos"
    folder.mkdir()
    url = f"http://127.0.0.1:{port}/v.mp4"
    job = asyncio.ensure_future(fetch_to_file(url, target_path("video_starvideos_o3_1", folder)))
    await asyncio.sleep(0.2)  # inside its retries
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    await asyncio.sleep(1.0)  # the thread ends on the cancel
    gc.collect()
    await asyncio.sleep(0)
    assert [c.get("message") for c in reported] == []
