"""Saving videos: refused URLs, safe file names, and files already under the final name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_download import (
    SOURCE,
    SOURCE_ETAG,
    TASK,
    NoWaitEvent,
    files_in,
    sha256,
)
from helpers_http import Reply, Respond, ScriptedHTTPServer

from starvideos_tui.core.models import InvalidTaskId
from starvideos_tui.video import download
from starvideos_tui.video.download import (
    DownloadError,
    fetch_to_file_sync,
    prepare_folder,
    target_path,
)

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
