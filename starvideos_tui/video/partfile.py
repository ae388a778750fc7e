"""The download folder, the `.part` file and its writer: files created, never followed.

Everything in the folder is reached through one descriptor of the folder (`dir_fd`), by
name, with `O_NOFOLLOW`: a symlink planted where a `.part`, its sidecar or the video would
go is refused, and nothing outside the folder is written. A `.part` is resumed only when it
is a regular file of ours (our uid, one link: a hard link planted to a file elsewhere has
two); a new one is created with `O_EXCL`. The finished file is moved to its name with
`link(2)`, which refuses to replace anything, so no name is ever renamed onto or through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import mmap
import os
import stat
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from starvideos_tui.core.errors import StarVideosError

BLOCK = 4 << 20  # bytes written and hashed at a time
BUFFERS = 3  # blocks in flight: one arriving, one being written, one being hashed
ALIGN = 4096  # what O_DIRECT asks of positions and lengths on common file systems
_O_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux only; elsewhere every write is buffered
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


class DownloadError(StarVideosError):
    """A download that did not finish. `kind` is expired, disk, network, refused, bad_url,
    busy or not_video."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class DownloadFolder:
    """The download folder, held open; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise DownloadError("disk", f"cannot open the folder {path}: {exc.strerror}") from None

    def __enter__(self) -> DownloadFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.fd)

    def refused(self, name: str, what: str) -> DownloadError:
        return DownloadError(
            "refused",
            f"refusing to use {self.path / name}: it is {what}, not a file this tool made; "
            "move it away and try again",
        )

    def _checked(self, fd: int, name: str) -> int:
        """`fd` if it is a regular file of ours with one link; else close it and refuse."""
        st = os.fstat(fd)
        what = None
        if not stat.S_ISREG(st.st_mode):
            what = "not a regular file"
        elif st.st_uid != os.geteuid():
            what = "owned by another user"
        elif st.st_nlink != 1:
            what = "a hard link to another file"
        if what is not None:
            os.close(fd)
            raise self.refused(name, what)
        return fd

    def open_own(self, name: str, flags: int, *, create: bool) -> int:
        """Open an existing file of ours (never through a link), or create it anew."""
        for _ in range(3):
            try:
                fd = os.open(name, flags | _NOFOLLOW, dir_fd=self.fd)
            except FileNotFoundError:
                if not create:
                    raise
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.EMLINK):
                    raise self.refused(name, "a symbolic link") from None
                if exc.errno == errno.ENXIO:  # a FIFO or socket opened for writing
                    raise self.refused(name, "not a regular file") from None
                raise
            else:
                return self._checked(fd, name)
            try:
                return os.open(
                    name, flags | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=self.fd
                )
            except FileExistsError:
                continue  # made between our two opens: look again
        raise self.refused(name, "changing under us")

    def kind_of(self, name: str) -> str | None:
        """None when nothing is at `name`; 'file' for a regular file; else what it is."""
        try:
            st = os.stat(name, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode):
            return "a symbolic link"
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        return "file"

    def unlink(self, name: str) -> None:
        """Remove `name` (a link is removed itself, never what it points at)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self.fd)

    def publish(self, source: str, name: str) -> bool:
        """Give the file `source` the name `name`, never replacing anything there; False
        when `name` is taken. `source` is removed once the new name is durable."""
        try:
            os.link(source, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP):
                raise
            # A file system without hard links (FAT, some FUSE): a rename, after a look.
            if self.kind_of(name) is not None:
                return False
            os.rename(source, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            os.fsync(self.fd)
            return True
        os.fsync(self.fd)
        self.unlink(source)
        return True

    def hash_file(self, name: str) -> tuple[int, str] | None:
        """Size and sha256 of a regular file of ours at `name`; None when there is none."""
        if self.kind_of(name) != "file":
            return None
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=self.fd)
        try:
            size, digest = hash_fd(fd)
        finally:
            os.close(fd)
        return size, digest.hexdigest()


def hash_fd(fd: int, digest: hashlib._Hash | None = None) -> tuple[int, hashlib._Hash]:
    digest = digest or hashlib.sha256()
    size = 0
    while block := os.pread(fd, BLOCK, size):
        digest.update(block)
        size += len(block)
    return size, digest


class Part:
    """`<name>.part` and its sidecar `<name>.part.json`, which remembers the validator for
    `If-Range` and is held locked (flock) so two processes never write the same `.part`."""

    def __init__(self, folder: DownloadFolder, final_name: str) -> None:
        self.folder = folder
        self.name = final_name + ".part"
        self.meta_name = final_name + ".part.json"
        self.path = folder.path / self.name
        self._meta_fd: int | None = None

    @contextlib.contextmanager
    def exclusive(self, busy: DownloadError) -> Iterator[None]:
        fd = self.folder.open_own(self.meta_name, os.O_RDWR, create=True)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy from None
            self._meta_fd = fd
            try:
                yield
            finally:
                self._meta_fd = None
                if self.folder.kind_of(self.name) is None:
                    self.folder.unlink(self.meta_name)
        finally:
            os.close(fd)

    def open(self) -> int:
        """The `.part` for reading and writing (created when missing)."""
        return self.folder.open_own(self.name, os.O_RDWR, create=True)

    def exists(self) -> bool:
        return self.folder.kind_of(self.name) is not None

    def size(self) -> int:
        """Bytes in the `.part` (0 when there is none; a planted link is refused)."""
        kind = self.folder.kind_of(self.name)
        if kind is None:
            return 0
        if kind != "file":
            raise self.folder.refused(self.name, kind)
        return os.stat(self.name, dir_fd=self.folder.fd, follow_symlinks=False).st_size

    def validator(self) -> str | None:
        if self._meta_fd is None:
            return None
        try:
            value = json.loads(os.pread(self._meta_fd, 4096, 0) or b"{}").get("etag")
        except (OSError, ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None

    def remember(self, etag: str | None) -> None:
        if self._meta_fd is None:
            return
        data = json.dumps({"etag": etag}).encode()
        os.ftruncate(self._meta_fd, 0)
        os.pwrite(self._meta_fd, data, 0)

    def discard(self) -> None:
        self.folder.unlink(self.name)
        if self._meta_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._meta_fd, 0)


def part_error(path: Path, exc: OSError, *, kept: bool = True) -> DownloadError:
    reason = f"cannot write {path}: {exc.strerror or exc}"
    return DownloadError("disk", reason + ("; the partial file is kept" if kept else ""))


class PartWriter:
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

    The writer takes over `fd` (opened without O_DIRECT) and closes it.
    """

    def __init__(self, fd: int, path: Path, digest: hashlib._Hash) -> None:
        self.path = path
        self._fd = fd
        self._digest = digest
        # Anonymous maps are page-aligned, as direct I/O wants its buffers.
        self._buffers = [memoryview(mmap.mmap(-1, BLOCK)) for _ in range(BUFFERS)]
        self._busy: list[list[Future[None]]] = [[] for _ in range(BUFFERS)]
        self._turn = 0
        self._failed: OSError | None = None
        self._good = 0  # the writer thread's: every byte before this offset was written
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="part-writer")
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="part-hasher")
        self._can_direct = bool(_O_DIRECT)
        self._direct = False

    def free_buffer(self) -> memoryview:
        """The next buffer, once the block it held last is written and hashed."""
        for pending in self._busy[self._turn]:
            pending.result()
        self._busy[self._turn] = []
        if self._failed is not None:
            raise part_error(self.path, self._failed)
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
            # EINVAL (or EOPNOTSUPP on some network file systems): no direct I/O here.
            self._can_direct = False
            return
        self._direct = True

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._writer.shutdown()
            self._hasher.shutdown()
            for pending in self._busy:
                for future in pending:
                    future.result()
            if self._failed is not None:
                raise part_error(self.path, self._failed)
            try:
                os.fsync(self._fd)
            except OSError as exc:
                # After a failed fsync the cache may have dropped bytes that never reached
                # the disk: nothing in this file can be trusted for a resume.
                with contextlib.suppress(OSError):
                    os.ftruncate(self._fd, 0)
                raise part_error(self.path, exc, kept=False) from None
        finally:
            os.close(self._fd)
            self._buffers.clear()
