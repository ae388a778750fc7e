"""Downloads against a hostile world: planted links, bodies that are not the video, bodies
cut without a length, compressed bodies, checksums, dripping and stalled links, odd ranges.

Each test starts a real server on loopback (tests/helpers_http.py) and is named for what a
user would notice if the promise broke.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import os
import random
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_http import NoWait, Reply, Respond, ScriptedHTTPServer, Seen, leave_part, ranged
from helpers_media import padded_video

from starvideos_tui.video import download
from starvideos_tui.video.download import DownloadError, fetch_to_file_sync, target_path

TASK = "video_starvideos_o3_7770001111"
VIDEO = padded_video(300_000)
ETAG = '"v1"'
Serve = Callable[[Respond], ScriptedHTTPServer]


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fetch(server: ScriptedHTTPServer, folder: Path, **kw: object) -> download.SavedVideo:
    return fetch_to_file_sync(server.url(), target_path(TASK, folder), cancel=NoWait(), **kw)  # type: ignore[arg-type]


# -- files are created, never followed ------------------------------------------------------


@pytest.mark.parametrize("planted", [".mp4.part", ".mp4.part.json"])
def test_planted_symlink_beside_the_video_is_refused_and_its_target_untouched(
    serve: Serve, tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / f"{TASK}{planted}").symlink_to(victim)
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    assert caught.value.kind == "refused"
    assert "symbolic link" in caught.value.message
    assert victim.read_bytes() == b"precious"
    assert not (folder / f"{TASK}.mp4").exists()


def test_planted_part_link_with_a_resume_never_splices_into_its_target(
    serve: Serve, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"x" * 1000)  # as if 1000 bytes had arrived: a Range resume
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / f"{TASK}.mp4.part").symlink_to(victim)
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError):
        fetch(server, folder)

    assert victim.read_bytes() == b"x" * 1000
    assert server.seen == []  # refused before anything was asked


def test_planted_hard_link_as_the_part_is_refused(serve: Serve, tmp_path: Path) -> None:
    victim = tmp_path / "victim.bin"
    victim.write_bytes(b"y" * 100)
    folder = tmp_path / "videos"
    folder.mkdir()
    os.link(victim, folder / f"{TASK}.mp4.part")
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    assert "hard link" in caught.value.message
    assert victim.read_bytes() == b"y" * 100


def test_planted_fifo_as_the_part_is_refused_without_hanging(serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    os.mkfifo(folder / f"{TASK}.mp4.part")
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    assert "not a regular file" in caught.value.message


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant another user's file")
def test_part_owned_by_another_user_is_refused(serve: Serve, tmp_path: Path) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    part = folder / f"{TASK}.mp4.part"
    part.write_bytes(b"z" * 10)
    os.chown(part, 4321, 4321)
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    assert "another user" in caught.value.message
    assert part.read_bytes() == b"z" * 10


def test_symlink_planted_at_the_final_name_during_the_download_is_not_followed(
    serve: Serve, tmp_path: Path
) -> None:
    """The link appears after the look and before the rename: link(2) refuses to replace."""
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    folder = tmp_path / "videos"
    folder.mkdir()
    final = folder / f"{TASK}.mp4"

    def respond(_n: int, seen: Seen) -> Reply:
        if not final.is_symlink():
            final.symlink_to(victim)
        return ranged(VIDEO, ETAG, seen)

    server = serve(respond)
    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)
    assert caught.value.kind == "refused"
    assert victim.read_bytes() == b"precious"
    assert final.is_symlink()


# -- a saved video is a video ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "said"),
    [
        (b"<!DOCTYPE html><html><body>Please sign in</body></html>" * 20, "text/html", "HTML page"),
        (b'{"code": 403, "msg": "signature expired"}', "application/json", "JSON document"),
        (b"", "video/mp4", "empty body"),
        (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "text/xml", "XML"),
        # Seeded: pytest-xdist's workers must collect the same parameters.
        (random.Random(5).randbytes(5000), "video/mp4", "no video decoder reads"),
    ],
    ids=["html", "json", "empty", "xml", "random-bytes"],
)
def test_an_answer_that_is_not_the_video_is_never_saved_under_its_name(
    serve: Serve, tmp_path: Path, body: bytes, content_type: str, said: str
) -> None:
    server = serve(lambda _n, _seen: Reply(200, body, {"Content-Type": content_type}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert caught.value.kind == "not_video"
    assert said in caught.value.message
    assert not (tmp_path / f"{TASK}.mp4").exists()
    assert not (tmp_path / f"{TASK}.mp4.part").exists()
    aside = tmp_path / f"{TASK}.mp4.rejected"
    assert aside.read_bytes() == body
    assert str(aside) in caught.value.message


def test_a_body_cut_without_a_length_is_resumed_with_range_until_whole(
    serve: Serve, tmp_path: Path
) -> None:
    """HTTP/1.0 style: no Content-Length, the connection closes halfway. Only decoding the
    file can tell; a Range request fetches the rest."""
    half = len(VIDEO) // 2

    def respond(number: int, seen: Seen) -> Reply:
        if number == 0:
            return Reply(200, VIDEO[:half], {"ETag": ETAG}, length=False)
        return ranged(VIDEO, ETAG, seen)

    server = serve(respond)
    saved = fetch(server, tmp_path)

    assert server.seen[1].headers["range"] == f"bytes={half}-"
    assert saved.path.read_bytes() == VIDEO
    assert saved.media is not None and saved.media.duration == 3.0


def test_a_body_cut_without_a_length_from_a_host_without_ranges_is_never_called_saved(
    serve: Serve, tmp_path: Path
) -> None:
    half = len(VIDEO) // 2
    server = serve(lambda _n, _seen: Reply(200, VIDEO[:half], {}, length=False))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert "cut video" in caught.value.message
    assert "partial file is kept" in caught.value.message
    assert not (tmp_path / f"{TASK}.mp4").exists()


def test_a_host_whose_whole_file_is_cut_says_so_after_one_range_check(
    serve: Serve, tmp_path: Path
) -> None:
    """The host confirms (416) that what we have is all it has: a cut file at the source."""
    half = len(VIDEO) // 2
    cut = VIDEO[:half]

    def respond(number: int, seen: Seen) -> Reply:
        if "range" in seen.headers:
            return Reply(416, b"", {"Content-Range": f"bytes */{half}"})
        return Reply(200, cut, {"ETag": ETAG}, length=False)

    server = serve(respond)
    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert caught.value.kind == "not_video"
    assert "a cut video" in caught.value.message
    assert len(server.seen) == 2
    assert (tmp_path / f"{TASK}.mp4.rejected").read_bytes() == cut


def test_a_video_shorter_than_the_api_said_is_not_saved(serve: Serve, tmp_path: Path) -> None:
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path, expected_duration=10)

    assert "a video of 3.0 s where the API reported 10 s" in caught.value.message
    assert not (tmp_path / f"{TASK}.mp4").exists()


def test_a_video_of_the_reported_length_within_a_second_is_saved_with_its_facts(
    serve: Serve, tmp_path: Path
) -> None:
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    saved = fetch(server, tmp_path, expected_duration=3.6)

    assert saved.media is not None
    facts = saved.media
    assert (facts.codec, facts.width, facts.height, facts.fps) == ("h264", 320, 180, 12.0)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_body_is_decoded_not_kept_compressed(
    serve: Serve, tmp_path: Path, encoding: str
) -> None:
    packed = gzip.compress(VIDEO) if encoding == "gzip" else zlib.compress(VIDEO)
    server = serve(lambda _n, _seen: Reply(200, packed, {"Content-Encoding": encoding}))

    saved = fetch(server, tmp_path)

    assert saved.path.read_bytes() == VIDEO
    assert saved.sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert server.seen[0].headers["accept-encoding"] == "identity"
    assert files_in(tmp_path) == [f"{TASK}.mp4"]


def test_a_body_in_a_coding_we_cannot_undo_is_refused_by_name(serve: Serve, tmp_path: Path) -> None:
    server = serve(lambda _n, _seen: Reply(200, b"\x0b\x01\x80" * 50, {"Content-Encoding": "br"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert "br-compressed" in caught.value.message
    assert not (tmp_path / f"{TASK}.mp4").exists()


def test_a_body_that_fails_the_hosts_checksum_is_fetched_again(
    serve: Serve, tmp_path: Path
) -> None:
    good = base64.b64encode(hashlib.sha256(VIDEO).digest()).decode()
    corrupt = bytearray(VIDEO)
    corrupt[-100] ^= 0xFF  # inside the padding: still decodes, but it is not the file

    def respond(number: int, _seen: Seen) -> Reply:
        body = bytes(corrupt) if number == 0 else VIDEO
        return Reply(200, body, {"x-amz-checksum-sha256": good})

    server = serve(respond)
    saved = fetch(server, tmp_path)

    assert len(server.seen) == 2
    assert saved.path.read_bytes() == VIDEO


def test_a_206_to_a_plain_get_is_taken_as_the_start_of_the_file(
    serve: Serve, tmp_path: Path
) -> None:
    def respond(_n: int, seen: Seen) -> Reply:
        if "range" not in seen.headers:  # the whole file, as a 206 of every byte
            end = len(VIDEO) - 1
            return Reply(206, VIDEO, {"Content-Range": f"bytes 0-{end}/{len(VIDEO)}"})
        return ranged(VIDEO, ETAG, seen)

    saved = fetch(serve(respond), tmp_path)
    assert saved.path.read_bytes() == VIDEO


# -- slow, stalled and cancelled links ------------------------------------------------------


def test_a_dripping_link_reports_progress_every_fraction_of_a_second(
    serve: Serve, tmp_path: Path
) -> None:
    """1 kB every 50 ms (20 kB/s): a 1 MiB read would have shown nothing for 50 s."""
    server = serve(lambda _n, _seen: Reply(200, VIDEO[:60_000], {}, pace=0.05, piece=1000))
    seen: list[tuple[float, int]] = []
    cancel = NoWait()
    started = time.monotonic()

    def progress(done: int, _total: int | None) -> None:
        seen.append((time.monotonic() - started, done))
        if time.monotonic() - started > 1.2:
            cancel.set()

    with pytest.raises(download.Cancelled):
        fetch_to_file_sync(
            server.url(), target_path(TASK, tmp_path), progress=progress, cancel=cancel
        )

    assert seen and seen[0][0] < 0.5
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(seen)]
    assert max(gaps) < 0.5
    assert (tmp_path / f"{TASK}.mp4.part").stat().st_size == seen[-1][1]


def test_cancel_on_a_silent_link_returns_within_a_second_keeping_what_arrived(
    serve: Serve, tmp_path: Path
) -> None:
    """The host sends 20 kB, then nothing: a cancel (Ctrl-C, SIGTERM, the TUI's quit) must
    not wait for the read to time out, and the 20 kB stay in the `.part`."""
    server = serve(
        lambda _n, _seen: Reply(200, VIDEO[:20_000], {"Content-Length": str(len(VIDEO))}, hold=30)
    )
    cancel = NoWait()
    arrived = threading.Event()

    def progress(done: int, _total: int | None) -> None:
        if done >= 20_000:
            arrived.set()

    def cancel_soon() -> None:
        arrived.wait(10)
        time.sleep(0.3)
        cancel.set()

    timer = threading.Thread(target=cancel_soon)
    timer.start()
    started = time.monotonic()
    with pytest.raises(download.Cancelled):
        fetch_to_file_sync(
            server.url(), target_path(TASK, tmp_path), progress=progress, cancel=cancel
        )
    took = time.monotonic() - started
    timer.join()

    assert took < 2.0
    assert (tmp_path / f"{TASK}.mp4.part").read_bytes() == VIDEO[:20_000]


def test_a_stalled_transfer_is_a_clear_error_and_is_resumed(serve: Serve, tmp_path: Path) -> None:
    def respond(number: int, seen: Seen) -> Reply:
        if number == 0:
            return Reply(
                200, VIDEO[:50_000], {"Content-Length": str(len(VIDEO)), "ETag": ETAG}, hold=5
            )
        return ranged(VIDEO, ETAG, seen)

    server = serve(respond)
    started = time.monotonic()
    saved = fetch(server, tmp_path, stall=0.5)

    assert time.monotonic() - started < 4
    assert server.seen[1].headers["range"] == "bytes=50000-"
    assert saved.path.read_bytes() == VIDEO


def test_a_link_that_always_stalls_says_stalled(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "MAX_ATTEMPTS", 2)
    server = serve(lambda _n, _seen: Reply(200, b"", {"Content-Length": "1000"}, hold=3))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path, stall=0.3)

    assert "stalled: no data for 0.3 s" in caught.value.message
    assert "partial file is kept" not in caught.value.message  # nothing arrived


def test_resume_of_a_part_left_behind_still_works(serve: Serve, tmp_path: Path) -> None:
    final = target_path(TASK, tmp_path)
    leave_part(final, VIDEO[:1000], ETAG)
    server = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))

    saved = fetch(server, tmp_path)

    assert server.seen[0].headers["range"] == "bytes=1000-"
    assert saved.path.read_bytes() == VIDEO


def test_on_a_slow_link_what_arrived_reaches_the_part_within_moments(
    serve: Serve, tmp_path: Path
) -> None:
    """Not only on cancel: a kill -9 (no cleanup at all) loses at most a second or so."""
    server = serve(lambda _n, _seen: Reply(200, VIDEO[:80_000], {}, pace=0.05, piece=1000))
    cancel = NoWait()
    part = tmp_path / f"{TASK}.mp4.part"

    def run() -> None:
        with pytest.raises(download.Cancelled):
            fetch_to_file_sync(server.url(), target_path(TASK, tmp_path), cancel=cancel)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        time.sleep(2.5)
        on_disk = part.stat().st_size if part.exists() else 0
    finally:
        cancel.set()
        worker.join(10)
    assert on_disk >= 10_000  # ~40 kB arrived by then; all but the last second is written
