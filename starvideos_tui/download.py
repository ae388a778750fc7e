"""Saving a video file: whole or resumable, never truncated under its final name.

- The file name is `<task id>.mp4`: the id is validated, and nothing from the URL or the
  server's headers reaches the file system. The path is checked to be inside the folder.
- Bytes go to `<name>.part`; a cut download resumes from there with `Range` (+ `If-Range`
  with the ETag seen before). Only a 206 starting exactly at our offset is appended; a 200
  or a changed validator restarts cleanly. The sha256 is computed as the bytes arrive.
- When the whole length has arrived it is fsynced and renamed; an existing file is never
  overwritten (identical content is reused, different content gets a `-N` suffix).
- The video host is fetched by this module alone, with `http.client` in a worker thread:
  it never holds the API key, so no header of ours can carry it to a CDN. Redirects are
  followed by hand, at most MAX_REDIRECTS, http(s) only.
- Speed (benchmarks/bench_download.py): the body is read in large blocks (httpx's 64 KiB
  reads reach about half of curl), and each block is written and hashed in two threads of
  their own while the next one arrives, with O_DIRECT where the file system allows it
  (see `_PartWriter`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import http.client
import json
import logging
import mmap
import os
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urljoin, urlsplit

from starvideos_tui.models import is_http_url, validate_task_id
from starvideos_tui.textsafe import excerpt

log = logging.getLogger(__name__)

READ_TIMEOUT = 30.0
READ = 1 << 20  # bytes asked of the socket at a time: progress and cancel act at this grain
BLOCK = 4 << 20  # bytes written and hashed at a time
BUFFERS = 3  # blocks in flight: one arriving, one being written, one being hashed
ALIGN = 4096  # what O_DIRECT asks of positions and lengths on common file systems
_O_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux only; elsewhere every write is buffered
MAX_REDIRECTS = 5
MAX_ATTEMPTS = 4
EXPIRED_STATUSES = (401, 403, 404, 410)
USER_AGENT = "starvideos-tui"

Progress = Callable[[int, int | None], None]


class DownloadError(Exception):
    """A download that did not finish; `kind` is expired, disk, network, refused or bad_url."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class _Transient(Exception):
    """Worth another try from where we are: a cut connection, a short body."""


class Cancelled(Exception):
    """The caller asked the download to stop; the `.part` is kept for a resume."""


@dataclass(frozen=True)
class SavedVideo:
    path: Path
    size: int
    sha256: str
    reused: bool = False  # the same bytes were already there


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
        raise DownloadError("disk", f"cannot create {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise DownloadError("disk", f"cannot write to {folder}: permission denied")
    return folder


def _hash_file(path: Path, digest: hashlib._Hash | None = None) -> tuple[int, hashlib._Hash]:
    digest = digest or hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            size += len(block)
    return size, digest


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Part:
    """The `.part` file and its sidecar that remembers the validator for `If-Range`."""

    def __init__(self, final: Path) -> None:
        self.path = final.with_name(final.name + ".part")
        self.meta = final.with_name(final.name + ".part.json")

    def offset(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def validator(self) -> str | None:
        try:
            value = json.loads(self.meta.read_text()).get("etag")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    def remember(self, etag: str | None) -> None:
        self.meta.write_text(json.dumps({"etag": etag}))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the sidecar locked so two processes never write the same `.part`."""
        fd = os.open(self.meta, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise DownloadError(
                    "busy", f"{self.path.name[:-5]} is already being downloaded by another process"
                ) from None
            try:
                yield
            finally:
                if not self.path.exists():
                    with contextlib.suppress(FileNotFoundError):
                        self.meta.unlink()
        finally:
            os.close(fd)

    def discard(self) -> None:
        for path in (self.path, self.meta):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def _checked_url(url: str) -> SplitResult:
    """The parts of an http(s) URL without credentials and with a valid port, or refuse."""
    # Named without user:password or query: those are secrets, and the message is kept.
    shown = re.sub(r"//[^/?#]*@", "//", url).split("?", 1)[0]
    refused = DownloadError("bad_url", f"refusing to fetch {excerpt(shown, 80)!r}")
    if not is_http_url(url):
        raise refused
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        raise refused from None
    if parts.username or parts.password or not parts.hostname:
        raise refused
    return parts


def _connect(parts: SplitResult) -> http.client.HTTPConnection:
    host = parts.hostname or ""
    if parts.scheme == "https":
        return http.client.HTTPSConnection(
            host, parts.port, timeout=READ_TIMEOUT, context=ssl.create_default_context()
        )
    return http.client.HTTPConnection(host, parts.port, timeout=READ_TIMEOUT)


def _open(
    url: str, headers: dict[str, str]
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """GET `url`, following at most MAX_REDIRECTS redirects, http(s) only, no credentials."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = _checked_url(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn = _connect(parts)
        try:
            conn.request("GET", target, headers={"User-Agent": USER_AGENT, **headers})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _Transient(type(exc).__name__) from None
        if response.status not in (301, 302, 303, 307, 308):
            return conn, response
        location = response.getheader("location") or ""
        conn.close()
        url = urljoin(url, location)
    raise DownloadError("network", f"more than {MAX_REDIRECTS} redirects")


_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def _fetch_once(
    url: str, final: Path, part: _Part, progress: Progress | None, cancel: threading.Event
) -> SavedVideo:
    offset = part.offset()
    headers: dict[str, str] = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag := part.validator():
            headers["If-Range"] = etag
    conn, response = _open(url, headers)
    try:
        status = response.status
        if status in EXPIRED_STATUSES:
            raise DownloadError("expired", f"the video link was refused (HTTP {status})")
        total: int | None
        if status == 206 and offset:
            match = _RANGE_RE.fullmatch(response.getheader("content-range") or "")
            etag = part.validator()
            if not match or int(match.group(1)) != offset:
                part.discard()  # not where we are: start over
                raise _Transient("misplaced range")
            if etag is not None and response.getheader("etag") not in (None, etag):
                part.discard()  # a host that ignored If-Range sent another version
                raise _Transient("the file changed on the server")
            total = int(match.group(3)) if match.group(3) != "*" else None
            _, digest = _hash_file(part.path)
        elif status == 200:
            offset = 0
            length = response.getheader("content-length")
            total = int(length) if length and length.isdigit() else None
            digest = hashlib.sha256()
        elif status == 416 and offset:
            part.discard()  # our part is longer than the file: start over
            raise _Transient("range not satisfiable")
        else:
            raise DownloadError("refused", f"the video host answered HTTP {status}")
        try:
            part.remember(response.getheader("etag"))
        except OSError as exc:
            raise _part_error(part.path, exc) from None
        with _PartWriter(part.path, digest, restart=offset == 0) as writer:
            written = _copy_body(response, writer, offset, total, progress, cancel)
    finally:
        response.close()  # the response holds the socket open after conn.close()
        conn.close()
    if total is not None and written != total:
        if written > total:
            part.discard()
        raise _Transient(f"got {written} of {total} bytes")
    return _finish(final, part, written, digest.hexdigest())


def _copy_body(
    response: http.client.HTTPResponse,
    writer: _PartWriter,
    written: int,
    total: int | None,
    progress: Progress | None,
    cancel: threading.Event,
) -> int:
    """Read the body block by block into the writer's buffers; what has arrived is handed
    over even when the connection breaks or the caller cancels, so a resume starts there.
    Returns the offset after the last byte."""
    while True:
        buffer = writer.free_buffer()
        # A resume at an odd offset fills its first block only up to a multiple of ALIGN,
        # so every later block can be written directly.
        room = BLOCK - written % ALIGN
        filled = 0
        try:
            while filled < room:
                if cancel.is_set():
                    raise Cancelled()
                try:
                    n = response.readinto(buffer[filled : min(room, filled + READ)])
                except (OSError, http.client.HTTPException) as exc:
                    raise _Transient(type(exc).__name__) from None
                if not n:
                    break
                filled += n
                if progress is not None:
                    progress(written + filled, total)
        finally:
            if filled:
                writer.write(filled, written)
                written += filled
        if filled < room:
            return written


def _part_error(path: Path, exc: OSError, *, kept: bool = True) -> DownloadError:
    reason = f"cannot write {path}: {exc.strerror or exc}"
    return DownloadError("disk", reason + ("; the partial file is kept" if kept else ""))


def _open_for_writing(path: Path, flags: int) -> tuple[int, bool]:
    """The file opened with O_DIRECT when its file system takes it; (fd, direct)."""
    if _O_DIRECT:
        try:
            return os.open(path, flags | _O_DIRECT, 0o644), True
        except OSError as exc:
            # EINVAL (or EOPNOTSUPP on some network file systems): no direct I/O here.
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
    return os.open(path, flags, 0o644), False


class _PartWriter:
    """Writes blocks into the `.part` at their offsets and feeds them to the sha256, each in
    a thread of its own (os.pwrite and hashlib release the GIL), while the reader fills the
    next buffer. Used as a context manager: leaving it waits for every block, raises a disk
    error if a write failed, and fsyncs the file when all went well.

    With O_DIRECT the bytes go from our buffer to the disk instead of piling up in the page
    cache for the closing fsync to write back: on this project's 2-core machine the same
    pipeline with buffered writes stayed near half of curl's throughput on 512 MiB, and
    direct writes took it past curl's (benchmarks/bench_download.py); a big video also no
    longer evicts the page cache of everything else. Direct writes need aligned offsets and
    lengths; the few that are not (the head of a resume, the tail of the body) go through
    the page cache. After a failed write nothing more is written and the file is cut back
    to the last byte known written, so the `.part` is always a prefix of the body.
    """

    def __init__(self, path: Path, digest: hashlib._Hash, *, restart: bool) -> None:
        self.path = path
        self._digest = digest
        # Anonymous maps are page-aligned, as direct I/O wants its buffers.
        self._buffers = [memoryview(mmap.mmap(-1, BLOCK)) for _ in range(BUFFERS)]
        self._busy: list[list[Future[None]]] = [[] for _ in range(BUFFERS)]
        self._turn = 0
        self._failed: OSError | None = None
        self._good = 0  # the writer thread's: every byte before this offset was written
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="part-writer")
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="part-hasher")
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if restart else 0)
        try:
            self._fd, self._can_direct = _open_for_writing(path, flags)
        except OSError as exc:
            raise _part_error(path, exc) from None
        self._direct = self._can_direct

    def free_buffer(self) -> memoryview:
        """The next buffer, once the block it held last is written and hashed."""
        for pending in self._busy[self._turn]:
            pending.result()
        self._busy[self._turn] = []
        if self._failed is not None:
            raise _part_error(self.path, self._failed)
        return self._buffers[self._turn]

    def write(self, length: int, offset: int) -> None:
        """Hand over the first `length` bytes of the buffer last given, for `offset`."""
        block = self._buffers[self._turn][:length]
        self._busy[self._turn] = [
            self._writer.submit(self._write_at, block, offset),
            self._hasher.submit(self._digest.update, block),
        ]
        self._turn = (self._turn + 1) % BUFFERS

    def _write_at(self, block: memoryview, offset: int) -> None:
        if self._failed is not None:
            return
        self._good = offset
        try:
            while block:
                self._use_direct(offset % ALIGN == 0 and len(block) % ALIGN == 0)
                try:
                    n = os.pwrite(self._fd, block, offset)
                except OSError as exc:
                    if not (self._direct and exc.errno == errno.EINVAL):
                        raise
                    self._can_direct = False  # alignment this file system does not take
                    continue
                if not n:
                    raise OSError(errno.EIO, "the file system wrote nothing")
                block, offset = block[n:], offset + n
                self._good = offset
        except OSError as exc:
            self._failed = exc.with_traceback(None)  # no cycle through this frame's buffer
            # A file system that writes a block in parallel pieces (NFS) may have stored a
            # later piece past the one that failed: keep only what is known written.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._good)

    def _use_direct(self, wanted: bool) -> None:
        wanted = wanted and self._can_direct
        if wanted == self._direct:
            return
        flags = fcntl.fcntl(self._fd, fcntl.F_GETFL)
        if not wanted:
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags & ~_O_DIRECT)
            self._direct = False
            return
        # Bytes written through the page cache (a resume's head) go to disk before a direct
        # write extends the file past them; else a power cut could leave zeros under them.
        os.fdatasync(self._fd)
        try:
            fcntl.fcntl(self._fd, fcntl.F_SETFL, flags | _O_DIRECT)
        except OSError:
            self._can_direct = False  # a stacked file system that refuses to switch back
            return
        self._direct = True

    def __enter__(self) -> _PartWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._writer.shutdown()
            self._hasher.shutdown()
            for pending in self._busy:
                for future in pending:
                    future.result()
            if self._failed is not None:
                raise _part_error(self.path, self._failed)
            try:
                os.fsync(self._fd)
            except OSError as exc:
                # After a failed fsync the cache may have dropped bytes that never reached
                # the disk: nothing in this file can be trusted for a resume.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, 0)
                raise _part_error(self.path, exc, kept=False) from None
        finally:
            os.close(self._fd)
            self._buffers.clear()


def _finish(final: Path, part: _Part, size: int, sha256: str) -> SavedVideo:
    candidate = final
    n = 0
    while candidate.exists() or candidate.is_symlink():
        if candidate.is_file() and not candidate.is_symlink():
            existing_size, existing = _hash_file(candidate)
            if (existing_size, existing.hexdigest()) == (size, sha256):
                part.discard()
                return SavedVideo(candidate, size, sha256, reused=True)
        n += 1
        candidate = final.with_name(f"{final.stem}-{n}{final.suffix}")
    try:
        os.replace(part.path, candidate)
        _fsync_dir(candidate.parent)
    except OSError as exc:
        raise DownloadError("disk", f"cannot save {candidate}: {exc.strerror}") from None
    part.discard()
    return SavedVideo(candidate, size, sha256)


def fetch_to_file_sync(
    url: str,
    final: Path,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SavedVideo:
    """Download `url` into `final` (via `final.part`), resuming what is already there."""
    cancel = cancel or threading.Event()
    part = _Part(final)
    with part.exclusive():
        return _fetch_with_retries(url, final, part, progress, cancel)


def _fetch_with_retries(
    url: str, final: Path, part: _Part, progress: Progress | None, cancel: threading.Event
) -> SavedVideo:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return _fetch_once(url, final, part, progress, cancel)
        except _Transient as exc:
            if attempt == MAX_ATTEMPTS:
                raise DownloadError(
                    "network",
                    f"download of {final.name} failed after {attempt} tries ({exc}); "
                    "the partial file is kept for a resume",
                ) from None
            log.warning("download %s interrupted (%s), retrying", final.name, exc)
            if cancel.wait(min(8.0, 0.5 * 2**attempt)):
                raise Cancelled() from None
    raise AssertionError("unreachable")


async def fetch_to_file(url: str, final: Path, *, progress: Progress | None = None) -> SavedVideo:
    """`fetch_to_file_sync` in a worker thread; cancelling the caller stops the transfer."""
    cancel = threading.Event()
    try:
        return await asyncio.shield(
            asyncio.to_thread(fetch_to_file_sync, url, final, progress=progress, cancel=cancel)
        )
    except asyncio.CancelledError:
        cancel.set()
        raise
