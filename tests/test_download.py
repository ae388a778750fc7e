"""Saving videos, over real loopback sockets: the simulator's video host, and tiny scripted
servers started here for the hosts that cut, lie or redirect; expired links; the key stays home.

Each test is named for what a user would notice. Retries never sleep: the module waits
between tries on its cancel event, so the tests hand it one whose `wait` returns at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers_download import (
    KEY,
    SOURCE,
    SOURCE_ETAG,
    TASK,
    NoWaitEvent,
    files_in,
    poll_once,
    record_of,
    save,
    sha256,
    video_requests,
    watch_task,
)
from helpers_http import Reply, Respond, ScriptedHTTPServer, Seen, leave_part, ranged
from helpers_media import padded_video

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video import download
from starvideos_tui.video.download import (
    DownloadError,
    fetch_to_file_sync,
    target_path,
)


async def test_completed_video_is_saved_whole_under_its_task_id(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    sample = sample_video().data
    task_id = simulator.seed_task("a fox in the snow", queued=0, processing=0)
    watch_task(watchlist, task_id)
    folder = tmp_path / "videos"

    saved = await save(simulator, watchlist, task_id, folder)  # polls first: it is "new"

    assert saved.path == folder.resolve() / f"{task_id}.mp4"
    assert saved.path.read_bytes() == sample
    assert files_in(folder) == [f"{task_id}.mp4"]  # no .part, no .part.json
    record = record_of(watchlist, task_id)
    assert record.local_path == str(saved.path)
    assert record.size == len(sample)
    assert record.sha256 == sha256(sample) == saved.sha256
    assert record.download_error is None
    assert [r.status for r in video_requests(simulator)] == [200]


async def test_saving_again_reuses_the_file_without_fetching(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = simulator.seed_task("a boat", queued=0, processing=0)
    watch_task(watchlist, task_id)
    first = await save(simulator, watchlist, task_id, tmp_path)
    again = await save(simulator, watchlist, task_id, tmp_path)
    assert again.path == first.path and again.reused
    assert len(video_requests(simulator)) == 1


async def test_part_left_by_a_killed_process_is_resumed_not_restarted(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    video = sample_video()
    half = len(video.data) // 2
    task_id = simulator.seed_task("a kite", queued=0, processing=0)
    watch_task(watchlist, task_id)
    folder = tmp_path / "videos"
    leave_part(folder / f"{task_id}.mp4", video.data[:half], video.etag)

    saved = await save(simulator, watchlist, task_id, folder)

    (request,) = video_requests(simulator)
    assert request.headers.get("range") == f"bytes={half}-"
    assert request.headers.get("if-range") == video.etag
    assert request.status == 206  # only the second half travelled
    assert saved.path.read_bytes() == video.data
    assert record_of(watchlist, task_id).sha256 == sha256(video.data)  # of the whole file
    assert files_in(folder) == [f"{task_id}.mp4"]


async def test_part_of_a_changed_video_is_restarted_cleanly(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    """The `.part` came from another version (other ETag): the host answers 200, we restart."""
    video = sample_video()
    task_id = simulator.seed_task("a lake", queued=0, processing=0)
    watch_task(watchlist, task_id)
    leave_part(tmp_path / f"{task_id}.mp4", b"\xff" * 4000, '"an-older-version"')

    saved = await save(simulator, watchlist, task_id, tmp_path)

    (request,) = video_requests(simulator)
    assert request.headers.get("if-range") == '"an-older-version"'
    assert request.status == 200
    assert saved.path.read_bytes() == video.data
    assert not saved.path.with_name(saved.path.name + ".part").exists()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[NoWaitEvent]:
    """Every token the download module makes skips its back-off sleep (also via asyncio)."""
    made: list[NoWaitEvent] = []

    def make() -> NoWaitEvent:
        made.append(NoWaitEvent())
        return made[-1]

    monkeypatch.setattr(download, "CancelToken", make)
    return made


# -- cut, short and lying hosts -------------------------------------------------------------


def test_download_cut_halfway_resumes_with_range_and_matches_the_source(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    half = len(SOURCE) // 2

    def respond(number: int, seen: Seen) -> Reply:
        if number == 0:  # says the whole length, sends half, hangs up
            return Reply(
                200,
                SOURCE[:half],
                {"Content-Length": str(len(SOURCE)), "ETag": SOURCE_ETAG},
            )
        return ranged(SOURCE, SOURCE_ETAG, seen)

    server = serve(respond)
    final = target_path(TASK, tmp_path)
    event = NoWaitEvent()

    saved = fetch_to_file_sync(server.url(), final, cancel=event)

    first, second = server.seen
    assert "range" not in first.headers
    assert second.headers["range"] == f"bytes={half}-"
    assert second.headers["if-range"] == SOURCE_ETAG
    assert final.read_bytes() == SOURCE
    assert (saved.size, saved.sha256) == (len(SOURCE), sha256(SOURCE))
    assert files_in(tmp_path) == [final.name]
    assert event.waits == [1.0]  # one back-off before the resume


async def test_save_cut_halfway_resumes_and_records_the_whole_files_sha(
    serve: Callable[[Respond], ScriptedHTTPServer],
    watchlist: Watchlist,
    tmp_path: Path,
    no_backoff: list[NoWaitEvent],
) -> None:
    """The user's path (save_task_video -> fetch_to_file in a thread) over a cut CDN."""
    half = len(SOURCE) // 2

    def respond(number: int, seen: Seen) -> Reply:
        if number == 0:
            return Reply(
                200, SOURCE[:half], {"Content-Length": str(len(SOURCE)), "ETag": SOURCE_ETAG}
            )
        return ranged(SOURCE, SOURCE_ETAG, seen)

    server = serve(respond)
    watchlist.add([TaskRecord(id=TASK, status="completed", video_url=server.url("/v/x.mp4?sig=1"))])
    folder = tmp_path / "videos"

    async with StarVideosClient("http://127.0.0.1:9", KEY) as unused_api:
        saved = await save_task_video(
            TASK, client=unused_api, watchlist=AsyncWatchlist(watchlist), folder=folder
        )

    assert [s.headers.get("range") for s in server.seen] == [None, f"bytes={half}-"]
    assert saved.path.read_bytes() == SOURCE
    record = record_of(watchlist, TASK)
    assert (record.size, record.sha256) == (len(SOURCE), sha256(SOURCE))
    assert files_in(folder) == [f"{TASK}.mp4"]
    assert [event.waits for event in no_backoff] == [[1.0]]  # one back-off, not slept


def test_part_left_by_a_killed_process_is_resumed_from_a_cdn(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)
    done = 1_234_567
    leave_part(final, SOURCE[:done], SOURCE_ETAG)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    (seen,) = server.seen
    assert seen.headers["range"] == f"bytes={done}-"
    assert seen.headers["if-range"] == SOURCE_ETAG
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert files_in(tmp_path) == [final.name]


def test_host_answering_200_to_a_range_request_restarts_cleanly(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda _n, _seen: Reply(200, SOURCE, {"ETag": SOURCE_ETAG}))
    final = target_path(TASK, tmp_path)
    leave_part(final, b"stale bytes of something else" * 1000, SOURCE_ETAG)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert (
        server.seen[0].headers["range"] == f"bytes={len(b'stale bytes of something else') * 1000}-"
    )
    assert len(server.seen) == 1
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert files_in(tmp_path) == [final.name]


def test_range_answer_starting_elsewhere_restarts_from_zero(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    def respond(number: int, seen: Seen) -> Reply:
        if "range" in seen.headers:  # a 206 for the whole file, not for where we are
            return Reply(
                206,
                SOURCE,
                {"Content-Range": f"bytes 0-{len(SOURCE) - 1}/{len(SOURCE)}", "ETag": SOURCE_ETAG},
            )
        return Reply(200, SOURCE, {"ETag": SOURCE_ETAG})

    server = serve(respond)
    final = target_path(TASK, tmp_path)
    leave_part(final, SOURCE[:1000], SOURCE_ETAG)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert server.seen[0].headers["range"] == "bytes=1000-"
    assert "range" not in server.seen[1].headers  # the misplaced part was thrown away
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert files_in(tmp_path) == [final.name]


def test_host_ignoring_if_range_with_a_new_etag_does_not_splice_two_versions(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    old = SOURCE
    new = padded_video(len(SOURCE), duration=4)
    half = len(old) // 2

    def respond(_number: int, seen: Seen) -> Reply:
        # Ignores If-Range: always serves the new version's bytes from the asked offset.
        return ranged(new, '"source-v2"', Seen(seen.path, {"range": seen.headers.get("range", "")}))

    server = serve(respond)
    final = target_path(TASK, tmp_path)
    leave_part(final, old[:half], SOURCE_ETAG)

    fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert final.read_bytes() == new


def test_host_whose_content_length_lies_never_leaves_a_file_under_the_final_name(
    serve: Callable[[Respond], ScriptedHTTPServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(download, "MAX_ATTEMPTS", 3)
    lie = {"Content-Length": str(len(SOURCE) + 1000), "ETag": SOURCE_ETAG}
    server = serve(lambda _n, _seen: Reply(200, SOURCE, lie))
    final = target_path(TASK, tmp_path)
    event = NoWaitEvent()

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=event)

    assert caught.value.kind == "network"
    assert "after 3 tries" in caught.value.message
    assert "partial file is kept" in caught.value.message
    assert len(server.seen) == 3  # bounded
    assert event.waits == [1.0, 2.0]  # growing back-off between the tries
    assert not final.exists()
    assert final.with_name(final.name + ".part").read_bytes() == SOURCE


def test_body_longer_than_a_resumed_range_is_thrown_away(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    """A 206 that claims the right start but a total shorter than what we hold restarts."""

    def respond(_number: int, seen: Seen) -> Reply:
        if "range" in seen.headers:
            start = int(seen.headers["range"][len("bytes=") : -1])
            return Reply(
                206,
                SOURCE[start:],
                {"Content-Range": f"bytes {start}-{len(SOURCE) - 1}/{start + 10}"},
            )
        return Reply(200, SOURCE, {"ETag": SOURCE_ETAG})

    server = serve(respond)
    final = target_path(TASK, tmp_path)
    leave_part(final, SOURCE[:5000], SOURCE_ETAG)

    fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert final.read_bytes() == SOURCE
    assert "range" not in server.seen[-1].headers


# -- expired links --------------------------------------------------------------------------


async def test_expired_link_is_refreshed_by_polling_again(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = simulator.seed_task("a comet", queued=0, processing=0)
    watch_task(watchlist, task_id)
    old_url = (await poll_once(simulator, watchlist, task_id)).video_url
    simulator.expire_all_urls()

    saved = await save(simulator, watchlist, task_id, tmp_path)

    assert saved.path.read_bytes() == sample_video().data
    assert [r.status for r in video_requests(simulator)] == [403, 200]
    record = record_of(watchlist, task_id)
    assert record.video_url and record.video_url != old_url
    assert record.download_error is None and record.local_path == str(saved.path)


async def test_link_still_refused_after_refresh_says_link_expired(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = simulator.seed_task("a glacier", queued=0, processing=0)
    watch_task(watchlist, task_id)
    await poll_once(simulator, watchlist, task_id)
    simulator.expire_all_urls()
    real_get_result = StarVideosClient.get_result

    async def dead_on_arrival(self: StarVideosClient, tid: str) -> Any:
        result = await real_get_result(self, tid)
        simulator.expire_all_urls()  # every fresh link is already dead
        return result

    monkeypatch.setattr(StarVideosClient, "get_result", dead_on_arrival)

    with pytest.raises(DownloadError) as caught:
        await save(simulator, watchlist, task_id, tmp_path)

    assert caught.value.kind == "expired"
    record = record_of(watchlist, task_id)
    assert record.download_error == "link expired"
    assert record.local_path is None
    assert [r.status for r in video_requests(simulator)] == [403, 403, 403]  # bounded
    assert not (tmp_path / f"{task_id}.mp4").exists()
    assert not list(tmp_path.glob("*.part*"))


async def test_api_giving_the_same_dead_link_again_says_link_expired(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = "video_starvideos_o3_7770000001"
    dead = f"{simulator.base_url}/videos/{task_id}.mp4?token=gone"
    simulator.add_fixed(
        task_id,
        {"id": task_id, "object": "video", "status": "completed", "video_url": dead},
    )
    watch_task(watchlist, task_id)

    folder = tmp_path / "videos"
    with pytest.raises(DownloadError) as caught:
        await save(simulator, watchlist, task_id, folder)

    assert caught.value.kind == "expired"
    assert record_of(watchlist, task_id).download_error == "link expired"
    assert files_in(folder) == []


# -- the key stays home ---------------------------------------------------------------------


@pytest.mark.parametrize("cross_origin", [False, True], ids=["same-host", "other-host-name"])
async def test_video_host_never_sees_the_api_key_even_across_a_redirect(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path, cross_origin: bool
) -> None:
    task_id = simulator.seed_task("a lighthouse", queued=0, processing=0)
    watch_task(watchlist, task_id)
    real_url = (await poll_once(simulator, watchlist, task_id)).video_url
    assert real_url is not None
    location = real_url[len(simulator.base_url) :]
    if cross_origin:
        location = real_url.replace("127.0.0.1", "localhost")
    redirecting = f"{simulator.base_url}/redirect?to={quote(location, safe='')}"
    watchlist.update({task_id: lambda r: replace(r, video_url=redirecting)})

    saved = await save(simulator, watchlist, task_id, tmp_path)

    assert saved.path.read_bytes() == sample_video().data
    api = [r for r in simulator.requests if r.path.startswith("/v1/")]
    host = video_requests(simulator)
    assert [r.path.split("?")[0] for r in host] == ["/redirect", f"/videos/{task_id}.mp4"]
    assert [r.status for r in host] == [302, 200]
    assert api and all(r.headers.get("authorization") == f"Bearer {KEY}" for r in api)
    for request in host:
        assert "authorization" not in request.headers
        assert not any(KEY in value for value in request.headers.values())
        assert KEY not in request.path
