"""Saving videos, over real loopback sockets: the simulator's video host, and tiny scripted
servers started here for the hosts that cut, lie or redirect somewhere they should not.

Each test is named for what a user would notice. Retries never sleep: the module waits
between tries on its cancel event, so the tests hand it one whose `wait` returns at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from helpers_http import Reply, Respond, ScriptedHTTPServer, Seen, leave_part, ranged
from helpers_media import padded_video
from helpers_proc import Spawn

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import InvalidTaskId, TaskRecord
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.simulator import RequestLog, SimConfig, Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video import download, partfile
from starvideos_tui.video.download import (
    DownloadError,
    SavedVideo,
    fetch_to_file_sync,
    prepare_folder,
    target_path,
)

KEY = "sk-test-DOWNLOAD-SECRET-0042"
MiB = 1 << 20
# Two blocks of the module's and an odd tail, so cuts and resumes fall mid-block and
# off the direct-I/O alignment.
# A real video, padded with a `free` box (which players skip) to that size: only a video
# is ever called saved.
SOURCE = padded_video(2 * download.BLOCK + 12_345)
SOURCE_ETAG = '"source-v1"'
TASK = "video_starvideos_o3_5550001111"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- retries without sleeping ---------------------------------------------------------------


class NoWaitEvent(download.CancelToken):
    """A cancel token whose back-off `wait` returns at once and remembers what was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[NoWaitEvent]:
    """Every token the download module makes skips its back-off sleep (also via asyncio)."""
    made: list[NoWaitEvent] = []

    def make() -> NoWaitEvent:
        made.append(NoWaitEvent())
        return made[-1]

    monkeypatch.setattr(download, "CancelToken", make)
    return made


# -- the simulator's video host, through save_task_video ------------------------------------


def watch_task(watchlist: Watchlist, task_id: str) -> None:
    watchlist.add([TaskRecord(id=task_id, added_at=time.time())])


def record_of(watchlist: Watchlist, task_id: str) -> TaskRecord:
    return next(r for r in watchlist.load() if r.id == task_id)


async def save(sim: Simulator, watchlist: Watchlist, task_id: str, folder: Path) -> SavedVideo:
    async with StarVideosClient(sim.base_url, KEY) as client:
        return await save_task_video(
            task_id, client=client, watchlist=AsyncWatchlist(watchlist), folder=folder
        )


async def poll_once(sim: Simulator, watchlist: Watchlist, task_id: str) -> TaskRecord:
    """Poll as the monitor would, so the watchlist holds a completed task with its link."""
    async with StarVideosClient(sim.base_url, KEY) as client:
        result = await client.get_result(task_id)
    watchlist.update({task_id: lambda r: r.with_result(result, time.time())})
    return record_of(watchlist, task_id)


def video_requests(sim: Simulator) -> list[RequestLog]:
    return [r for r in sim.requests if not r.path.startswith("/v1/")]


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


# -- refused URLs and safe names ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://127.0.0.1/video.mp4",
        "http://user:secret@127.0.0.1:9/video.mp4",
        "https://user@cdn.example.com/video.mp4",
        "http://:pw@127.0.0.1:9/video.mp4",
        "data:video/mp4;base64,AAAA",
        "",
    ],
)
def test_non_http_urls_and_urls_with_credentials_are_refused_without_writing(
    url: str, tmp_path: Path
) -> None:
    final = target_path(TASK, tmp_path)
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(url, final, cancel=NoWaitEvent())
    assert caught.value.kind == "bad_url"
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x.mp4", "http://u:p@127.0.0.1:9/x.mp4"]
)
def test_redirect_to_a_non_http_or_credentialed_url_is_refused(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, location: str
) -> None:
    server = serve(lambda _n, _seen: Reply(302, b"", {"Location": location}))
    final = target_path(TASK, tmp_path)
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())
    assert caught.value.kind == "bad_url"
    assert len(server.seen) == 1
    assert files_in(tmp_path) == []


def test_endless_redirects_stop_after_the_limit(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda n, _seen: Reply(302, b"", {"Location": f"/hop{n + 1}"}))
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), target_path(TASK, tmp_path), cancel=NoWaitEvent())
    assert caught.value.kind == "network"
    assert "redirects" in caught.value.message
    assert len(server.seen) == download.MAX_REDIRECTS + 1
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999/v.mp4", "http://127.0.0.1:abc/v.mp4", "http://[::1/v.mp4"],
)
def test_malformed_host_or_port_in_a_video_url_is_refused_as_bad_url(
    url: str, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(url, target_path(TASK, tmp_path), cancel=NoWaitEvent())
    assert caught.value.kind == "bad_url"


@pytest.mark.parametrize(
    "task_id",
    ["../../etc/x", "..", ".", "a/b", "/etc/passwd", "x\x00y", "", "a\\b", "con\n"],
)
def test_hostile_task_id_never_becomes_a_path(task_id: str, tmp_path: Path) -> None:
    with pytest.raises((InvalidTaskId, DownloadError)):
        target_path(task_id, tmp_path)


@pytest.mark.parametrize("task_id", ["...", "-rf", "a:b", "video_starvideos_o3_1", "x" * 200])
def test_saved_path_is_always_directly_inside_the_download_dir(
    task_id: str, tmp_path: Path
) -> None:
    path = target_path(task_id, tmp_path / "sub" / ".." / "dl")
    assert path.parent == (tmp_path / "dl").resolve()
    assert path.name == f"{task_id}.mp4"


def test_symlink_under_the_final_name_pointing_outside_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / f"{TASK}.mp4").symlink_to(tmp_path / "elsewhere.mp4")
    with pytest.raises(DownloadError) as caught:
        target_path(TASK, folder)
    assert caught.value.kind == "bad_url"


def test_hostile_url_path_and_headers_do_not_choose_the_file_name(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(
        lambda _n, _seen: Reply(
            200,
            SOURCE,
            {"Content-Disposition": 'attachment; filename="../../evil.sh"', "ETag": SOURCE_ETAG},
        )
    )
    folder = tmp_path / "dl"
    final = target_path(TASK, prepare_folder(folder))

    saved = fetch_to_file_sync(
        server.url("/videos/..%2F..%2Fevil.sh/../../../evil.mp4"), final, cancel=NoWaitEvent()
    )

    assert saved.path == folder.resolve() / f"{TASK}.mp4"
    assert files_in(folder) == [f"{TASK}.mp4"]
    assert files_in(tmp_path) == ["dl"]


# -- existing files -------------------------------------------------------------------------


def test_different_file_under_the_final_name_is_kept_and_ours_gets_a_suffix(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda _n, _seen: Reply(200, SOURCE, {"ETag": SOURCE_ETAG}))
    final = target_path(TASK, tmp_path)
    final.write_bytes(b"the user's own edit")
    final.with_name(f"{TASK}-1.mp4").write_bytes(b"an older edit")

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert saved.path.name == f"{TASK}-2.mp4" and not saved.reused
    assert saved.path.read_bytes() == SOURCE
    assert final.read_bytes() == b"the user's own edit"
    assert final.with_name(f"{TASK}-1.mp4").read_bytes() == b"an older edit"
    assert files_in(tmp_path) == sorted([final.name, f"{TASK}-1.mp4", f"{TASK}-2.mp4"])


def test_identical_file_under_the_final_name_is_reused(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda _n, _seen: Reply(200, SOURCE, {"ETag": SOURCE_ETAG}))
    final = target_path(TASK, tmp_path)
    final.write_bytes(SOURCE)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert saved.path == final and saved.reused
    assert saved.sha256 == sha256(SOURCE)
    assert files_in(tmp_path) == [final.name]


def test_directory_under_the_final_name_is_refused_and_left_alone(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    server = serve(lambda _n, _seen: Reply(200, SOURCE, {"ETag": SOURCE_ETAG}))
    final = target_path(TASK, tmp_path)
    final.mkdir()
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())
    assert caught.value.kind == "refused"
    assert "not a regular file" in caught.value.message
    assert final.is_dir() and list(final.iterdir()) == []


# -- disk trouble ---------------------------------------------------------------------------


def test_download_dir_that_is_a_file_is_a_clear_disk_error(tmp_path: Path) -> None:
    blocker = tmp_path / "videos"
    blocker.write_text("not a folder")
    for folder in (blocker, blocker / "inside"):
        with pytest.raises(DownloadError) as caught:
            prepare_folder(folder)
        assert caught.value.kind == "disk"
        assert caught.value.message.startswith(f"cannot create {folder}: {blocker} is a file")
    assert blocker.read_text() == "not a folder"


def test_download_dir_without_write_permission_is_a_clear_disk_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_access = os.access
    folder = tmp_path / "readonly"
    folder.mkdir()

    def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if Path(path) == folder and mode & os.W_OK:
            return False  # we run as root, which may write anywhere
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(download.os, "access", access)
    with pytest.raises(DownloadError) as caught:
        prepare_folder(folder)
    assert caught.value.kind == "disk"
    assert caught.value.message == f"cannot write to {folder}: permission denied"


async def test_unwritable_download_dir_is_recorded_in_the_row(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = simulator.seed_task("a dune", queued=0, processing=0)
    watch_task(watchlist, task_id)
    blocker = tmp_path / "videos"
    blocker.write_text("not a folder")

    with pytest.raises(DownloadError) as caught:
        await save(simulator, watchlist, task_id, blocker)

    assert caught.value.kind == "disk"
    assert record_of(watchlist, task_id).download_error == caught.value.message


def writes_a_part(fd: int) -> bool:
    """Whether `fd` is a `.part` being downloaded into: the fakes below wrap OS calls that
    every file of the test process goes through, and change only these."""
    return os.readlink(f"/proc/self/fd/{fd}").endswith(".mp4.part")


class FullDisk:
    """os.pwrite as on a disk with `room` bytes left for the `.part`: a short write, then
    ENOSPC, until `room` is raised again (space was freed)."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, room: int, hold: threading.Event | None = None
    ) -> None:
        self.room = room
        self.refused = 0
        self._hold = hold  # the first refusal waits for it: a failure that comes late
        self._real = os.pwrite
        monkeypatch.setattr(os, "pwrite", self._pwrite)

    def _pwrite(self, fd: int, data: Any, offset: int) -> int:
        if not writes_a_part(fd):
            return self._real(fd, data, offset)
        if not self.room:
            if self._hold is not None and not self.refused:
                assert self._hold.wait(10), "the body never arrived whole"
            self.refused += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._real(fd, memoryview(data)[: self.room], offset)
        self.room -= written
        return written


async def test_full_disk_keeps_the_part_and_a_later_save_resumes_it(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = sample_video()
    room = 4096
    task_id = simulator.seed_task("a reef", queued=0, processing=0)
    watch_task(watchlist, task_id)
    disk = FullDisk(monkeypatch, room)

    with pytest.raises(DownloadError) as caught:
        await save(simulator, watchlist, task_id, tmp_path)

    assert caught.value.kind == "disk"
    assert "No space left on device" in caught.value.message
    assert "partial file is kept" in caught.value.message
    assert record_of(watchlist, task_id).download_error == caught.value.message
    part = tmp_path / f"{task_id}.mp4.part"
    assert part.read_bytes() == video.data[:room]
    assert not (tmp_path / f"{task_id}.mp4").exists()

    disk.room = 1 << 30  # space was freed
    saved = await save(simulator, watchlist, task_id, tmp_path)

    assert video_requests(simulator)[-1].headers.get("range") == f"bytes={room}-"
    assert saved.path.read_bytes() == video.data
    assert record_of(watchlist, task_id).download_error is None
    assert not part.exists()


def test_no_block_is_written_after_a_failed_one_so_the_part_has_no_hole(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks queued behind a write that failed must not land further on: a resume from
    the file's size would then splice zeros into the video."""
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)
    room = download.BLOCK + 3 * download.ALIGN  # fails inside the second block
    all_read = threading.Event()  # so the tail is surely handed over behind the failure
    disk = FullDisk(monkeypatch, room, hold=all_read)

    def progress(done: int, total: int | None) -> None:
        if done == total:
            all_read.set()

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, progress=progress, cancel=NoWaitEvent())

    assert caught.value.kind == "disk"
    part = final.with_name(final.name + ".part")
    assert part.read_bytes() == SOURCE[:room]
    assert disk.refused == 1  # the third block was never tried

    disk.room = 1 << 30
    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert server.seen[-1].headers["range"] == f"bytes={room}-"
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Callable[[str], None]]:
    """A real 2 MiB tmpfs at tmp_path/"small" (needs mount rights: root in CI); the fixture
    gives a function that resizes it."""
    where = tmp_path / "small"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")

    def resize(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)

    try:
        yield resize
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_really_full_file_system_keeps_the_part_and_resumes_once_there_is_room(
    serve: Callable[[Respond], ScriptedHTTPServer],
    tmp_path: Path,
    small_filesystem: Callable[[str], None],
) -> None:
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path / "small")

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert caught.value.kind == "disk"
    assert "No space left on device" in caught.value.message
    part = final.with_name(final.name + ".part")
    kept = part.read_bytes()
    assert 0 < len(kept) < len(SOURCE) and kept == SOURCE[: len(kept)]
    assert not final.exists()

    small_filesystem("32m")
    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert server.seen[-1].headers["range"] == f"bytes={len(kept)}-"
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert files_in(final.parent) == [final.name]


# -- how the bytes reach the disk -----------------------------------------------------------


def _takes_direct_io(folder: Path) -> bool:
    probe = folder / "direct-io-probe"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644))
    except OSError:
        return False
    finally:
        probe.unlink(missing_ok=True)
    return True


def spy_on_part_writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, bool]]:
    """(offset, length, O_DIRECT set) of every os.pwrite into a `.part`."""
    seen: list[tuple[int, int, bool]] = []
    real = os.pwrite

    def pwrite(fd: int, data: Any, offset: int) -> int:
        if writes_a_part(fd):
            direct = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
            seen.append((offset, len(data), direct))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    return seen


def test_big_blocks_go_straight_to_disk_and_only_odd_ends_through_the_page_cache(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The speed of a large download rests on direct writes (benchmarks/bench_download.py);
    a resume at an odd offset first realigns, then goes direct again."""
    if not _takes_direct_io(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)
    done = 12_345  # so a whole block follows the realigning one
    leave_part(final, SOURCE[:done], SOURCE_ETAG)
    writes: list[Any] = spy_on_part_writes(monkeypatch)
    real_fdatasync = os.fdatasync

    def fdatasync(fd: int) -> None:
        writes.append("fdatasync")
        real_fdatasync(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)

    fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert final.read_bytes() == SOURCE
    aligned = done + download.BLOCK - done % download.ALIGN
    tail = aligned + download.BLOCK
    assert aligned % download.ALIGN == 0 and 0 < len(SOURCE) - tail < download.BLOCK
    assert writes == [
        (done, aligned - done, False),  # from an odd offset up to an aligned one
        "fdatasync",  # on disk before a direct write extends the file past it
        (aligned, download.BLOCK, True),  # a whole block, straight to disk
        (tail, len(SOURCE) - tail, False),  # the odd tail
    ]


def test_file_system_without_direct_io_still_gets_the_whole_video(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on file systems that refuse O_DIRECT (EINVAL when the flag is set)."""
    real_fcntl = fcntl.fcntl

    def fcntl_without_direct_io(fd: int, command: int, arg: int = 0) -> Any:
        if command == fcntl.F_SETFL and arg & os.O_DIRECT:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real_fcntl(fd, command, arg)

    monkeypatch.setattr(fcntl, "fcntl", fcntl_without_direct_io)
    writes = spy_on_part_writes(monkeypatch)
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert writes and not any(direct for _, _, direct in writes)


def test_direct_write_refused_for_its_alignment_falls_back_to_the_page_cache(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As on a device whose direct I/O wants more alignment than 4 KiB (EINVAL on write)."""
    if not _takes_direct_io(tmp_path):
        pytest.skip("this file system takes no O_DIRECT")
    real = os.pwrite
    refused: list[int] = []

    def pwrite(fd: int, data: Any, offset: int) -> int:
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(offset)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert refused == [0]  # asked once, then never again
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)


def test_blocks_queued_behind_slow_writes_and_hashes_are_never_overwritten(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many more blocks than buffers, a disk and a hash slower than the network: a buffer
    refilled before its write or its hash finished would corrupt the file or the sha."""
    monkeypatch.setattr(download, "BLOCK", 2 * download.ALIGN)
    monkeypatch.setattr(partfile, "BLOCK", 2 * download.ALIGN)
    source = padded_video(40 * download.BLOCK + 999)
    real_pwrite, real_sha256 = os.pwrite, hashlib.sha256

    def slow_pwrite(fd: int, data: Any, offset: int) -> int:
        time.sleep(0.002)
        return real_pwrite(fd, data, offset)

    class SlowSha256:
        def __init__(self) -> None:
            self._real = real_sha256()

        def update(self, data: Any) -> None:
            time.sleep(0.001)
            self._real.update(data)

        def hexdigest(self) -> str:
            return self._real.hexdigest()

    monkeypatch.setattr(os, "pwrite", slow_pwrite)
    monkeypatch.setattr(download, "hashlib", SimpleNamespace(sha256=SlowSha256))
    server = serve(lambda _n, seen: ranged(source, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert final.read_bytes() == source
    assert saved.sha256 == sha256(source)


def _open_fds() -> set[str]:
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own fd is gone by now
            found.add(f"{fd}:{os.readlink(f'/proc/self/fd/{fd}')}")
    return found


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("part-")]


def assert_nothing_left_open(fds_before: set[str]) -> None:
    """No writer thread, and the fds back as they were: the scripted server's side of the
    connection may take a moment to close, a leak of ours stays for good."""
    assert _writer_threads() == []
    deadline = time.monotonic() + 5
    while (left := _open_fds() - fds_before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left


def test_cancelled_download_keeps_what_arrived_and_resumes_from_it(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path
) -> None:
    """What the TUI's quit does mid-block: the bytes read so far are written, nothing is
    left running or open, and the next download continues from there."""
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)
    cancel = NoWaitEvent()
    seen_done: list[int] = []
    stop_at = download.BLOCK + 2 * MiB  # inside the second block

    def progress(done: int, _total: int | None) -> None:
        seen_done.append(done)
        if done >= stop_at:
            cancel.set()

    fds = _open_fds()
    with pytest.raises(download.Cancelled):
        fetch_to_file_sync(server.url(), final, progress=progress, cancel=cancel)

    kept = final.with_name(final.name + ".part").read_bytes()
    assert len(kept) == seen_done[-1] >= stop_at
    assert kept == SOURCE[: len(kept)]
    assert_nothing_left_open(fds)

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert server.seen[-1].headers["range"] == f"bytes={len(kept)}-"
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)


def test_file_system_that_writes_nothing_is_a_disk_error_not_a_hang(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a broken FUSE daemon might: pwrite returns 0."""
    real = os.pwrite

    def pwrite(fd: int, data: Any, offset: int) -> int:
        if writes_a_part(fd):
            return 0
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)
    fds = _open_fds()

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert caught.value.kind == "disk"
    assert "wrote nothing" in caught.value.message
    assert_nothing_left_open(fds)


def test_failed_fsync_leaves_no_part_to_resume_from(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an fsync error the page cache may have dropped bytes that never reached the
    disk; resuming from such a file would splice holes into the video."""
    real = os.fsync

    def fsync(fd: int) -> None:
        if writes_a_part(fd):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    server = serve(lambda _n, seen: ranged(SOURCE, SOURCE_ETAG, seen))
    final = target_path(TASK, tmp_path)

    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert caught.value.kind == "disk"
    assert "Input/output error" in caught.value.message
    assert "kept" not in caught.value.message
    assert final.with_name(final.name + ".part").stat().st_size == 0
    assert not final.exists()


KILLED_DOWNLOAD = """
import sys
from pathlib import Path
from starvideos_tui.video import download, partfile
download.BLOCK = partfile.BLOCK = 64 * 1024  # many blocks in flight when the kill comes
download.fetch_to_file_sync(sys.argv[1], Path(sys.argv[2]))
"""


def test_download_killed_midway_resumes_from_its_part_and_matches_the_source(
    serve: Callable[[Respond], ScriptedHTTPServer], tmp_path: Path, spawn: Spawn
) -> None:
    """kill -9 of a process in the middle of a download, then a new one."""

    def respond(number: int, seen: Seen) -> Reply:
        reply = ranged(SOURCE, SOURCE_ETAG, seen)
        return replace(reply, pace=0.02) if number == 0 else reply  # ~3 s for the whole

    server = serve(respond)
    final = target_path(TASK, tmp_path)
    part = final.with_name(final.name + ".part")
    child = spawn([sys.executable, "-c", KILLED_DOWNLOAD, server.url(), str(final)])
    try:
        deadline = time.monotonic() + 20
        while not (part.exists() and part.stat().st_size > 2 * MiB) and child.poll() is None:
            assert time.monotonic() < deadline, "the child wrote too little"
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait()
    kept = part.read_bytes()
    assert 0 < len(kept) < len(SOURCE), "killed too late to test a resume"
    assert kept == SOURCE[: len(kept)]

    saved = fetch_to_file_sync(server.url(), final, cancel=NoWaitEvent())

    assert server.seen[-1].headers["range"] == f"bytes={len(kept)}-"
    assert final.read_bytes() == SOURCE and saved.sha256 == sha256(SOURCE)
    assert files_in(tmp_path) == [final.name]


# -- `watch`, end to end in a subprocess ----------------------------------------------------


@pytest.fixture
def live_simulator() -> Iterator[Simulator]:
    """The simulator on the real clock, for a subprocess that polls it."""
    sim = Simulator(SimConfig(port=0, seed=11)).start()
    try:
        yield sim
    finally:
        sim.stop()


def run_cli(
    sim: Simulator, home: Path, *args: str, key: str = KEY
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARVIDEOS_")}
    env.update(
        STARVIDEOS_HOME=str(home),
        STARVIDEOS_BASE_URL=sim.base_url,
        STARVIDEOS_API_KEY=key,
        NO_COLOR="1",
    )
    return subprocess.run(
        [sys.executable, "-m", "starvideos_tui", *args],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def transitions_of(stdout: str, task_id: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(f"{task_id} ") and "->" in line]


@pytest.mark.parametrize("with_failure", [True, False], ids=["one-fails", "all-complete"])
def test_watch_saves_every_video_unattended_and_exits_by_outcome(
    live_simulator: Simulator, tmp_path: Path, with_failure: bool
) -> None:
    sim = live_simulator
    good = [
        sim.seed_task("a heron takes off, slow pan", queued=0.4, processing=1.0),
        sim.seed_task("rain on a tin roof, close-up", queued=0.8, processing=1.2),
    ]
    bad = [sim.seed_task("FAIL: a render that breaks", queued=0.4, processing=0.6)]
    ids = good + (bad if with_failure else [])
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    added = run_cli(sim, home, "add", *ids)
    assert added.returncode == 0, added.stderr

    result = run_cli(sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch")

    assert result.returncode == (1 if with_failure else 0), result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    for task_id in good:
        steps = transitions_of(result.stdout, task_id)
        assert steps and steps[-1].endswith("-> completed"), result.stdout
        assert len(steps) == len(set(steps))  # one line per transition, never repeated
        assert lines.count(f"{task_id} saved {folder.resolve() / f'{task_id}.mp4'}") == 1
        assert (folder / f"{task_id}.mp4").read_bytes() == sample_video().data
    if with_failure:
        (failed,) = bad
        steps = transitions_of(result.stdout, failed)
        assert steps and steps[-1].endswith("-> failed") and len(steps) == len(set(steps))
        assert sum(line.startswith(f"{failed} failed: ") for line in lines) == 1
        assert not (folder / f"{failed}.mp4").exists()
    assert files_in(folder) == sorted(f"{t}.mp4" for t in good)
    video = [r for r in sim.requests if r.path.startswith("/videos/")]
    assert len(video) == len(good)
    assert all("authorization" not in r.headers for r in video)
    listed = json.loads(run_cli(sim, home, "list", "--json").stdout)
    by_id = {item["id"]: item for item in listed}
    for task_id in good:
        assert by_id[task_id]["status"] == "completed"


def test_watch_with_a_short_api_key_still_saves_the_videos(
    live_simulator: Simulator, tmp_path: Path
) -> None:
    """Regression: the client once masked the key in the body before parsing it, so with
    STARVIDEOS_API_KEY=k the link's 'token=' became 'to***en=' and every save got a 403."""
    sim = live_simulator
    task_id = sim.seed_task("a heron takes off", queued=0.2, processing=0.4)
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    assert run_cli(sim, home, "add", task_id, key="k").returncode == 0

    result = run_cli(
        sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch", key="k"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert (folder / f"{task_id}.mp4").read_bytes() == sample_video().data


def test_watch_survives_a_video_url_with_a_bad_port(
    live_simulator: Simulator, tmp_path: Path
) -> None:
    sim = live_simulator
    good = sim.seed_task("a heron takes off", queued=0.2, processing=0.4)
    broken = "video_starvideos_o3_9990000001"
    sim.add_fixed(
        broken,
        {
            "id": broken,
            "object": "video",
            "status": "completed",
            "video_url": "http://127.0.0.1:99999/x.mp4",
        },
    )
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    assert run_cli(sim, home, "add", broken, good).returncode == 0

    result = run_cli(sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch")

    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    assert f"{broken} completed but not saved: " in result.stdout
    assert (folder / f"{good}.mp4").read_bytes() == sample_video().data
