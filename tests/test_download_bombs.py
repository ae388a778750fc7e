"""Downloads against bodies that grow without end or hide what they are (issue #23: classes
3, 4 and 7): a gzip bomb, a body with no length and no end, a compressed body that fails
and then a re-run, and files a user left where a rejected body would be set aside.

Real loopback servers; the CLI runs as a child process in its own process group, killed
whatever happens.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import Cli
from helpers_http import NoWait, Reply, ScriptedHTTPServer, Seen, leave_part, ranged
from helpers_media import padded_video

from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.videosize import DEFAULT_MAX_VIDEO_BYTES, MAX_VIDEO_ENV, max_video_bytes
from starvideos_tui.simulator import Simulator
from starvideos_tui.video.download import DownloadError, fetch_to_file_sync, target_path

TASK = "video_starvideos_o3_7770002323"
VIDEO = padded_video(300_000)
ETAG = '"v1"'
MiB = 1 << 20
Serve = Callable[..., ScriptedHTTPServer]


@cache
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of `size` zero bytes, about a thousandth of that, built in a moment:
    after a full flush deflate starts afresh, so every MiB of zeros compresses to the same
    bytes, and the stream is those bytes repeated."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(MiB)
    first = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    again = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    body = first + again * (size // MiB - 1) + end
    return header + body + struct.pack("<II", crc, size & 0xFFFFFFFF)


def test_the_bomb_is_what_it_says() -> None:
    bomb = gzip_bomb(8 * MiB)
    assert gzip.decompress(bomb) == bytes(8 * MiB)
    assert len(gzip_bomb(500 * MiB)) < 600_000


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def fetch(server: ScriptedHTTPServer, folder: Path, **kw: Any) -> Any:
    return fetch_to_file_sync(server.url(), target_path(TASK, folder), cancel=NoWait(), **kw)


# -- the CLI in a child process, its peak memory measured ----------------------------------


def completed_at(sim: Simulator, url: str) -> None:
    body = {"id": TASK, "object": "video", "created": 1774836724, "model": "starvideos_o3"}
    body |= {"status": "completed", "video_url": url, "actualDuration": 3, "error": None}
    sim.add_fixed(TASK, body)


@dataclass
class Measured:
    code: int
    out: str
    err: str
    peak_rss: int  # bytes: the CLI's high-water mark
    seconds: float


# getrusage of a child counts the RSS it had before its exec, and a child forked from this
# big pytest process starts with all of it: the CLI is started by a small Python instead,
# which reports the peak of its one child.
MEASURE = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as report:
    report.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024))
sys.exit(code)
"""


def run_measured(cli: Cli, *args: str, env: dict[str, str] | None = None) -> Measured:
    """Run the CLI as a child in a session of its own; kill its group whatever happens."""
    out, err, peak = cli.cwd / "out.txt", cli.cwd / "err.txt", cli.cwd / "peak.txt"
    command = [sys.executable, "-c", MEASURE, str(peak)]
    started = time.monotonic()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(
            [*command, sys.executable, "-m", "starvideos_tui", *args],
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env={**cli.env, **(env or {})},
            cwd=cli.cwd,
            start_new_session=True,
        )
    try:
        # A child that never ends (the bug this file guards against) fails here.
        code = child.wait(timeout=45)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)  # whatever is left of the group
        child.wait()
    return Measured(
        code,
        out.read_text(errors="replace"),
        err.read_text(errors="replace"),
        int(peak.read_text()),
        time.monotonic() - started,
    )


def one_line(run: Measured) -> str:
    assert "Traceback" not in run.err, run.err
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    return lines[0]


# -- class 3: a decompression bomb ---------------------------------------------------------


def test_a_gzip_bomb_from_the_video_host_keeps_download_under_100_mb(
    cli: Cli, sim: Simulator, serve: Serve
) -> None:
    """0.5 MB that expands to 500 MB: decoded a piece at a time, never whole in memory;
    what is set aside is the body as received, and the error says so."""
    bomb = gzip_bomb(500 * MiB)
    headers = {"Content-Encoding": "gzip", "Content-Type": "video/mp4"}
    host = serve(lambda _n, _seen: Reply(200, bomb, headers))
    completed_at(sim, host.url())
    cli.ok("add", TASK)

    run = run_measured(cli, "download", TASK)

    assert run.code == 1, run.err
    line = one_line(run)
    print(f"peak RSS of download: {run.peak_rss / MiB:.0f} MiB in {run.seconds:.1f} s")
    assert run.peak_rss < 100 * MiB, f"peak RSS {run.peak_rss / MiB:.0f} MiB"
    folder = cli.cwd / "starvideos-downloads"
    aside = folder / f"{TASK}.mp4.rejected"
    assert f"a gzip-compressed body of {human_size(len(bomb))} that decodes to 524 MB" in line
    assert f"kept aside as {aside} (the compressed bytes as received)" in line
    assert aside.read_bytes() == bomb
    # Asked twice (a page where the video should be gets one fresh link): kept once.
    assert len(host.seen) == 2
    assert files_in(folder) == [aside.name]


def test_a_gzip_bomb_past_the_size_limit_stops_there_and_keeps_what_arrived(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_VIDEO_ENV, "20M")
    bomb = gzip_bomb(200 * MiB)
    server = serve(lambda _n, _seen: Reply(200, bomb, {"Content-Encoding": "gzip"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    message = caught.value.message
    assert caught.value.kind == "not_video"
    assert f"a gzip-compressed body of {human_size(len(bomb))} that expands past 20 MiB" in message
    assert f"set {MAX_VIDEO_ENV} to allow more than 20 MiB" in message
    aside = tmp_path / f"{TASK}.mp4.rejected"
    assert f"kept aside as {aside} (the compressed bytes as received)" in message
    assert aside.read_bytes() == bomb
    assert files_in(tmp_path) == [aside.name]


def test_a_compressed_page_is_named_and_kept_as_it_arrived(serve: Serve, tmp_path: Path) -> None:
    """The .rejected holds what the message names: the compressed bytes, said to be so."""
    page = b"<!DOCTYPE html><html><body>Please sign in</body></html>" * 30
    packed = gzip.compress(page)
    server = serve(lambda _n, _seen: Reply(200, packed, {"Content-Encoding": "gzip"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    aside = tmp_path / f"{TASK}.mp4.rejected"
    message = caught.value.message
    assert f"a gzip-compressed body of {len(packed)} bytes that decodes to an HTML page" in message
    assert f"kept aside as {aside} (the compressed bytes as received)" in message
    assert aside.read_bytes() == packed
    assert files_in(tmp_path) == [aside.name]


def test_a_body_that_is_not_deflate_at_all_is_set_aside_at_once(
    serve: Serve, tmp_path: Path
) -> None:
    junk = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 990
    server = serve(lambda _n, _seen: Reply(200, junk, {"Content-Encoding": "gzip"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert "that does not decompress" in caught.value.message
    assert len(server.seen) == 1
    assert (tmp_path / f"{TASK}.mp4.rejected").read_bytes() == junk


# -- class 4: a body with no length and no end ---------------------------------------------


class _Endless(BaseHTTPRequestHandler):
    """200, no Content-Length, then zeros until the client goes away (or, so that a client
    without a limit cannot fill this machine's disk, 256 MiB: 128 times the limit set)."""

    protocol_version = "HTTP/1.0"
    server: EndlessHost

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen += 1
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.end_headers()
        chunk = bytes(256 * 1024)
        try:
            for _ in range(1024):
                if self.server.stopping.is_set():
                    break
                self.wfile.write(chunk)
        except OSError:
            pass

    def log_message(self, *args: Any) -> None:
        pass


class EndlessHost(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Endless)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.seen = 0

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/forever.mp4"


@pytest.fixture
def endless() -> Iterator[EndlessHost]:
    host = EndlessHost()
    thread = threading.Thread(target=host.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield host
    finally:
        host.stopping.set()
        host.shutdown()
        host.server_close()
        thread.join(timeout=5)


def test_a_body_with_no_length_and_no_end_stops_at_the_size_limit(
    cli: Cli, sim: Simulator, endless: EndlessHost
) -> None:
    completed_at(sim, endless.url())
    cli.ok("add", TASK)

    run = run_measured(cli, "download", TASK, env={MAX_VIDEO_ENV: "2M"})

    assert run.code == 1, run.err
    line = one_line(run)
    assert "the video host sent more than 2 MiB, the most taken for one video" in line
    assert f"set {MAX_VIDEO_ENV} to allow more than 2 MiB" in line
    assert run.seconds < 30
    assert endless.seen == 1  # refused, not retried
    folder = cli.cwd / "starvideos-downloads"
    assert files_in(folder) == []  # bytes past any video's size are discarded, .part too
    assert "more than 2 MiB" in cli.record(TASK)["download_error"]


def test_a_host_announcing_more_than_the_limit_is_refused_before_a_byte_is_kept(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_VIDEO_ENV, "1MiB")
    big = padded_video(2_000_000)
    server = serve(lambda _n, seen: ranged(big, ETAG, seen))

    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)

    assert caught.value.kind == "refused"
    assert "says the video is 2.0 MB, more than 1 MiB" in caught.value.message
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_a_size_limit_that_is_not_a_size_is_refused_before_anything_is_sent(
    cli: Cli, sim: Simulator, serve: Serve, value: str
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, ETAG, seen))
    completed_at(sim, host.url())
    cli.ok("add", TASK)

    run = cli.run("download", TASK, env={MAX_VIDEO_ENV: value})

    assert run.code == 2, str(run)
    assert "Traceback" not in run.err and len(run.err_lines) == 1, str(run)
    assert MAX_VIDEO_ENV in run.err and repr(value) in run.err
    assert host.seen == []


def test_the_size_limit_reads_bytes_and_binary_units() -> None:
    assert max_video_bytes({}) == DEFAULT_MAX_VIDEO_BYTES == 4 << 30
    assert max_video_bytes({MAX_VIDEO_ENV: "100000"}) == 100_000
    assert max_video_bytes({MAX_VIDEO_ENV: " 8G "}) == 8 << 30
    assert max_video_bytes({MAX_VIDEO_ENV: "512MiB"}) == 512 << 20
    assert max_video_bytes({MAX_VIDEO_ENV: "64kb"}) == 64 << 10
    for bad in ("1.5G", "8 X", "G", "0M", "١٢٣", "9" * 21):
        with pytest.raises(ValueError, match=MAX_VIDEO_ENV):
            max_video_bytes({MAX_VIDEO_ENV: bad})


# -- class 7: files beside a download ------------------------------------------------------

PAGE = b"<!DOCTYPE html><html><body>Access denied</body></html>" * 20


def test_a_users_file_or_link_where_a_rejected_body_goes_is_never_replaced(
    serve: Serve, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    mine = folder / f"{TASK}.mp4.rejected"
    mine.write_bytes(b"my own notes")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    link = folder / f"{TASK}-1.mp4.rejected"
    link.symlink_to(victim)
    server = serve(lambda _n, _seen: Reply(200, PAGE, {"Content-Type": "text/html"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    aside = folder / f"{TASK}-2.mp4.rejected"
    assert f"kept aside as {aside}" in caught.value.message
    assert aside.read_bytes() == PAGE
    assert mine.read_bytes() == b"my own notes"
    assert link.is_symlink() and os.readlink(link) == str(victim)
    assert victim.read_bytes() == b"precious"

    # The same page again is not kept twice.
    with pytest.raises(DownloadError) as again:
        fetch(server, folder)
    assert f"kept aside as {aside}" in again.value.message
    assert files_in(folder) == sorted([mine.name, link.name, aside.name])


def test_a_failed_decompression_leaves_nothing_a_rerun_would_resume_from(
    serve: Serve, tmp_path: Path
) -> None:
    """Issue #23: 1,000 compressed bytes that ended early were kept as the `.part`, and the
    next run asked for `Range: bytes=1000-` and spliced the video onto them."""
    cut = gzip.compress(VIDEO)[:1000]
    honest = threading.Event()

    def respond(_n: int, seen: Seen) -> Reply:
        if honest.is_set():
            return ranged(VIDEO, ETAG, seen)
        return Reply(200, cut, {"Content-Encoding": "gzip", "ETag": ETAG}, length=False)

    server = serve(respond)
    with pytest.raises(DownloadError) as caught:
        fetch(server, tmp_path)
    assert "ends early" in caught.value.message
    assert "kept for a resume" not in caught.value.message
    assert all("range" not in seen.headers for seen in server.seen)
    assert files_in(tmp_path) == []

    honest.set()
    first_rerun = len(server.seen)
    saved = fetch(server, tmp_path)

    assert [s.headers.get("range") for s in server.seen[first_rerun:]] == [None]
    assert saved.path.read_bytes() == VIDEO
    assert files_in(tmp_path) == [f"{TASK}.mp4"]


def test_a_compressed_answer_to_a_range_is_never_spliced_onto_the_part(
    serve: Serve, tmp_path: Path
) -> None:
    """Our `.part` holds the video's own bytes; a Range answered in gzip counts another
    form's bytes. The transfer starts over, without Range."""
    final = target_path(TASK, tmp_path)
    leave_part(final, VIDEO[:1000], ETAG)

    def respond(_n: int, seen: Seen) -> Reply:
        if "range" in seen.headers:
            rest = gzip.compress(VIDEO[1000:])
            headers = {"Content-Encoding": "gzip", "ETag": ETAG}
            headers["Content-Range"] = f"bytes 1000-{len(VIDEO) - 1}/{len(VIDEO)}"
            return Reply(206, rest, headers)
        return Reply(200, VIDEO, {"ETag": ETAG})

    server = serve(respond)
    saved = fetch(server, tmp_path)

    assert [s.headers.get("range") for s in server.seen] == ["bytes=1000-", None]
    assert saved.path.read_bytes() == VIDEO
    assert files_in(tmp_path) == [final.name]


@pytest.mark.parametrize("planted", [".mp4.coded", ".mp4.decoded"])
def test_a_link_planted_where_a_compressed_body_goes_is_refused_and_left(
    serve: Serve, tmp_path: Path, planted: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    folder = tmp_path / "videos"
    folder.mkdir()
    link = folder / f"{TASK}{planted}"
    link.symlink_to(victim)
    packed = gzip.compress(VIDEO)
    server = serve(lambda _n, _seen: Reply(200, packed, {"Content-Encoding": "gzip"}))

    with pytest.raises(DownloadError) as caught:
        fetch(server, folder)

    assert caught.value.kind == "refused" and "symbolic link" in caught.value.message
    assert victim.read_bytes() == b"precious"
    assert link.is_symlink()
    assert not (folder / f"{TASK}.mp4").exists()
