"""Saving videos and the disk: unwritable folders, a full disk, direct I/O, cancelled and
killed downloads that resume from their part."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
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

import pytest
from helpers_download import (
    SOURCE,
    SOURCE_ETAG,
    TASK,
    MiB,
    NoWaitEvent,
    files_in,
    record_of,
    save,
    sha256,
    video_requests,
    watch_task,
)
from helpers_http import Reply, Respond, ScriptedHTTPServer, Seen, leave_part, ranged
from helpers_media import padded_video
from helpers_proc import Spawn

from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video import download, partfile
from starvideos_tui.video.download import (
    DownloadError,
    fetch_to_file_sync,
    prepare_folder,
    target_path,
)

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

    monkeypatch.setattr(os, "access", access)
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
    room = download.BLOCK + 3 * partfile.ALIGN  # fails inside the second block
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
    aligned = done + download.BLOCK - done % partfile.ALIGN
    tail = aligned + download.BLOCK
    assert aligned % partfile.ALIGN == 0 and 0 < len(SOURCE) - tail < download.BLOCK
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
    monkeypatch.setattr(download, "BLOCK", 2 * partfile.ALIGN)
    monkeypatch.setattr(partfile, "BLOCK", 2 * partfile.ALIGN)
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
