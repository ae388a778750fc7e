"""Saving a video file: whole, checked, and resumable; never a page or a cut body under the
video's name, never through a link.

- The file name is `<task id>.mp4`: the id is validated, and nothing from the URL or the
  server's headers reaches the file system. Every file is reached through the folder's
  descriptor, never through a symlink (partfile.py).
- Bytes go to `<name>.part`; a cut download resumes from there with `Range` (+ `If-Range`
  with the ETag seen before). Only a 206 starting exactly at our offset is appended; a 200
  or a changed validator restarts cleanly. The sha256 is computed as the bytes arrive.
- A finished body is decoded before it is called saved (media.py): a page, a document, an
  empty or cut body is not the video. A cut one is resumed where a resume can help; the
  rest are set aside as `<name>.rejected` (or `<stem>-N.mp4.rejected`: nothing there is
  replaced), and the error says what arrived.
- A body with a content coding never touches the `.part` and is never resumed (a `Range`
  counts the coded form): it goes to `<name>.coded` and is decoded in bounded pieces.
- No video is bigger than `videosize.max_video_bytes()`: a bigger body is refused.
- When the file is whole it is fsynced and linked to its name; an existing file is never
  overwritten (identical content is reused, different content gets a `-N` suffix).
- The video host is fetched by videohost.py alone, never by the API's client, so no
  header of ours can carry the key to a CDN.
- Speed (benchmarks/bench_download.py): the body is read in large pieces straight into
  the writer's buffers, and each block is written and hashed in two threads of their own
  while the next one arrives, with O_DIRECT where the file system allows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import logging
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from starvideos_tui.core.daemonthreads import DaemonThreads
from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.models import validate_task_id
from starvideos_tui.core.paths import why_mkdir_failed
from starvideos_tui.core.videosize import max_video_bytes, too_big
from starvideos_tui.video.finishing import (
    Body,
    ChecksumMismatch,
    SavedVideo,
    checksums_of,
    coded_name,
    publish,
    scratch_cleared,
    set_aside,
    verify,
)
from starvideos_tui.video.hostanswer import (
    RANGE_RE,
    UNSATISFIED_RE,
    Cancelled,
    TooBig,
    Transient,
    content_coding,
    read_some,
)
from starvideos_tui.video.media import NotAVideo
from starvideos_tui.video.partfile import (
    ALIGN,
    BLOCK,
    DownloadError,
    DownloadFolder,
    Part,
    PartWriter,
    hash_fd,
    part_error,
)
from starvideos_tui.video.videohost import (
    MAX_REDIRECTS,
    CancelToken,
    HostError,
    Unreachable,
    VideoResponse,
    open_video,
    shut_down,
)

__all__ = [
    "BLOCK",
    "MAX_REDIRECTS",
    "CancelToken",
    "Cancelled",
    "DownloadError",
    "SavedVideo",
    "fetch_to_file",
    "fetch_to_file_sync",
    "prepare_folder",
    "target_path",
]

log = logging.getLogger(__name__)

STALL_SECONDS = 30.0  # no byte for this long: the transfer stalled
MAX_ATTEMPTS = 4
EXPIRED_STATUSES = (401, 403, 404, 410)
PROGRESS_EVERY = 0.1  # seconds between progress reports, whatever the rate
KEEP_EVERY = 1.0  # seconds after which what arrived goes to the `.part`, block full or not
CANCEL_GRACE = 0.5  # seconds a cancelled transfer is given to put what arrived in the `.part`
_TRANSFERS = DaemonThreads("video-transfer")

Progress = Callable[[int, int | None], None]


def target_path(task_id: str, folder: Path) -> Path:
    """Where the video of `task_id` is saved; always inside `folder`."""
    validate_task_id(task_id)
    folder = folder.resolve()
    path = (folder / f"{task_id}.mp4").resolve()
    if path.parent != folder:
        raise DownloadError("bad_url", f"refusing to write outside {folder}")
    return path


def prepare_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = why_mkdir_failed(folder, exc)
        raise DownloadError("disk", f"cannot create {folder}: {why}") from None
    if not os.access(folder, os.W_OK):
        raise DownloadError("disk", f"cannot write to {folder}: permission denied")
    return folder


def _fetch_once(
    url: str, part: Part, progress: Progress | None, cancel: CancelToken, stall: float, limit: int
) -> Body:
    offset = part.size()
    headers: dict[str, str] = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag := part.validator():
            headers["If-Range"] = etag
    try:
        conn, response = open_video(url, headers, stall=stall, cancel=cancel)
    except HostError as exc:
        raise DownloadError("bad_url", str(exc)) from None
    except Unreachable as exc:
        if cancel.is_set():
            raise Cancelled() from None
        if not exc.retry:
            raise DownloadError("network", f"cannot fetch the video: {exc.reason}") from None
        raise Transient(exc.reason) from None
    try:
        status = response.status
        if status in EXPIRED_STATUSES:
            raise DownloadError("expired", f"the video link was refused (HTTP {status})")
        encoding = content_coding(response)
        restart = False
        if status == 206:
            match = RANGE_RE.fullmatch(response.getheader("content-range") or "")
            if encoding and offset:
                part.discard()  # its offsets count the coded form, which ours are not
                raise Transient(f"the host sent a {encoding}-compressed part of the file")
            if not match or int(match.group(1)) != offset:
                part.discard()  # not where we are: start over
                raise Transient("the host sent a part of the file we did not ask for")
            etag = part.validator()
            if offset and etag is not None and response.getheader("etag") not in (None, etag):
                part.discard()  # a host that ignored If-Range sent another version
                raise Transient("the file changed on the host")
            total = int(match.group(3)) if match.group(3) != "*" else None
            restart = offset == 0
        elif status == 200:
            offset, restart = 0, True
            length = response.getheader("content-length")
            total = int(length) if length and length.isdigit() and not encoding else None
        elif status == 416 and offset:
            whole = UNSATISFIED_RE.fullmatch(response.getheader("content-range") or "")
            if whole and int(whole.group(1)) == offset:
                # The host says our `.part` is its whole file: nothing left to fetch.
                return Body(part.name, offset, offset, _hash_part(part), None, {})
            part.discard()  # our part is longer than the file: start over
            raise Transient("the file on the host is shorter than what we have")
        else:
            raise DownloadError("refused", f"the video host answered HTTP {status}")
        if total is not None and total > limit:
            raise DownloadError("refused", too_big(limit, human_size(total)))
        checksums = checksums_of(response, whole_body=status == 200)
        if encoding:
            part.discard()  # a new whole body: what the `.part` held is not its start
            name = coded_name(part)
            fd = part.folder.open_own(name, os.O_RDWR, create=True)
        else:
            name = part.name
            fd = part.open()
        try:
            if not encoding:
                part.remember(response.getheader("etag"))
            if restart:
                os.ftruncate(fd, 0)
                digest = hashlib.sha256()
            else:
                _, digest = hash_fd(fd)
        except OSError as exc:
            os.close(fd)
            raise part_error(part.folder.path / name, exc) from None
        try:
            with PartWriter(fd, part.folder.path / name, digest) as writer:
                written = _copy_body(
                    conn, response, writer, offset, total, progress, cancel, stall, limit
                )
        except TooBig:
            part.folder.unlink(name)  # bytes past any video's size are not a video
            part.discard()
            raise DownloadError("refused", too_big(limit)) from None
    finally:
        response.close()  # the response holds the socket open after conn.close()
        conn.close()
    if total is not None and written != total:
        if written > total:
            part.folder.unlink(name)
        raise Transient(f"the connection closed after {written:,} of {total:,} bytes")
    return Body(name, written, total, digest, encoding, checksums)


def _hash_part(part: Part) -> hashlib._Hash:
    fd = part.open()
    try:
        return hash_fd(fd)[1]
    finally:
        os.close(fd)


def _copy_body(
    conn: http.client.HTTPConnection,
    response: VideoResponse,
    writer: PartWriter,
    written: int,
    total: int | None,
    progress: Progress | None,
    cancel: CancelToken,
    stall: float,
    limit: int,
) -> int:
    """Read the body into the writer's buffers as it arrives; what has arrived is handed
    over even when the connection breaks or the caller cancels, so a resume starts there.
    On a slow link a block is handed over after KEEP_EVERY seconds, full or not, so what
    arrived is on disk within moments. Returns the offset after the last byte; TooBig
    once the body passes `limit`."""
    reported, reported_at = 0.0, written  # progress: every PROGRESS_EVERY or MiB
    ended = False
    with cancel.on_cancel(lambda: shut_down(conn)):
        while not ended:
            buffer = writer.free_buffer()
            # A block that starts at an odd offset (a resume, a slow link's early hand-over)
            # ends at a multiple of ALIGN, so every later block can be written directly.
            room = BLOCK - written % ALIGN
            filled = 0
            started = time.monotonic()
            try:
                while filled < room:
                    if cancel.is_set():
                        raise Cancelled()
                    n = read_some(response, buffer[filled:room], cancel, stall)
                    if not n:
                        ended = True
                        break
                    filled += n
                    now = time.monotonic()
                    done = written + filled
                    if done > limit:
                        raise TooBig()
                    if progress is not None and (
                        now - reported >= PROGRESS_EVERY or done - reported_at >= 1 << 20
                    ):
                        reported, reported_at = now, done
                        progress(done, total)
                    if now - started >= KEEP_EVERY:
                        break
            finally:
                if filled:
                    writer.write(filled, written)
                    written += filled
    if progress is not None:
        progress(written, total)
    return written


# -- the whole download -------------------------------------------------------------------------


def fetch_to_file_sync(
    url: str,
    final: Path,
    *,
    progress: Progress | None = None,
    cancel: CancelToken | None = None,
    expected_duration: float | None = None,
    stall: float = STALL_SECONDS,
) -> SavedVideo:
    """Download `url` into `final` (via `final.part`), resuming what is already there, and
    call it saved only once it decodes as a video of `expected_duration` seconds."""
    cancel = cancel or CancelToken()
    try:
        limit = max_video_bytes()
    except ValueError as exc:
        raise DownloadError("refused", str(exc)) from None
    with DownloadFolder(final.parent) as folder:
        part = Part(folder, final.name)
        busy = DownloadError("busy", f"{final.name} is already being downloaded by another process")
        with part.exclusive(busy), scratch_cleared(part):
            return _fetch_with_retries(
                url, final, folder, part, progress, cancel, expected_duration, stall, limit
            )


def _fetch_with_retries(
    url: str,
    final: Path,
    folder: DownloadFolder,
    part: Part,
    progress: Progress | None,
    cancel: CancelToken,
    expected_duration: float | None,
    stall: float,
    limit: int,
) -> SavedVideo:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            body = _fetch_once(url, part, progress, cancel, stall, limit)
            try:
                checked = verify(folder, part, body, expected_duration, limit)
            except NotAVideo as exc:
                if exc.cut and body.total is None:
                    # No length from the host: the connection's end may not be the file's.
                    raise Transient(f"the body ended early: {exc.arrived}") from None
                raise set_aside(folder, part, body, exc.arrived) from None
            return publish(folder, part, final, checked)
        except (Transient, ChecksumMismatch) as exc:
            if attempt == MAX_ATTEMPTS:
                kept = part.size() > 0 if part.exists() else False
                raise DownloadError(
                    "network",
                    f"download of {final.name} failed after {attempt} tries ({exc})"
                    + ("; the partial file is kept for a resume" if kept else ""),
                ) from None
            log.warning("download %s interrupted (%s), retrying", final.name, exc)
            if cancel.wait(min(8.0, 0.5 * 2**attempt)):
                raise Cancelled() from None
    raise AssertionError("unreachable")


async def fetch_to_file(
    url: str,
    final: Path,
    *,
    progress: Progress | None = None,
    expected_duration: float | None = None,
) -> SavedVideo:
    """`fetch_to_file_sync` in a daemon thread of its own; cancelling the caller stops the
    transfer within a moment, with what arrived kept in the `.part`. A thread that cannot
    stop (in a DNS lookup, or a connect to a host that never answers) is not waited for
    past CANCEL_GRACE: it ends with the process, holding nothing that a resume needs."""
    cancel = CancelToken()
    loop = asyncio.get_running_loop()
    transfer = loop.run_in_executor(
        _TRANSFERS,
        partial(
            fetch_to_file_sync,
            url,
            final,
            progress=progress,
            cancel=cancel,
            expected_duration=expected_duration,
        ),
    )
    try:
        return await asyncio.shield(transfer)
    except asyncio.CancelledError:
        cancel.set()
        # The thread ends on its own a moment later, with Cancelled or what it was
        # failing with: its outcome is taken here, not reported as "Task exception was
        # never retrieved" when the command ends.
        transfer.add_done_callback(_outcome_taken)
        # A moment for the bytes that arrived to reach the `.part` (a read ends at once
        # when its socket is shut down); a second cancel does not wait.
        await asyncio.wait([transfer], timeout=CANCEL_GRACE)
        raise


def _outcome_taken(transfer: asyncio.Future[SavedVideo]) -> None:
    if not transfer.cancelled():
        transfer.exception()
