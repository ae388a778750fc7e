"""A saved video placed in another folder, checked: hard-linked where the file system
allows, copied elsewhere; never over anything, never through a link.

The source is opened once without following a link and its bytes checked against what
the watchlist recorded (size and sha256), so a file gone, replaced behind our back or
turned into a link is named and never placed. The hard link is made to that very opened
file (`/proc/self/fd`), so nothing swapped in between the check and the link is taken. A
copy is written to a temp file created anew in the folder, hashed as it is written,
fsynced, then given its name with `link(2)`, which refuses to replace anything.

Names are tried as the downloader does (`<stem>.mp4`, `<stem>-1.mp4`, ...): a regular
file with the same bytes is the video already there; a different file is passed over to
the next name; a symbolic link or anything not a regular file where a name is tried is
refused (partfile.DownloadFolder), the folder left as it was. `replace_file` writes a
small file (a manifest) whole: a temp file renamed over the name.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.video.partfile import BLOCK, DownloadError, DownloadFolder, hash_fd

NAMES = 1000  # names tried before giving up: `<stem>-999.mp4`
_NOFOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC
# link(2) refused for a reason a copy gets around: another file system, one without hard
# links, a file not ours under protected_hardlinks, too many links already.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EACCES}


class SourceProblem(StarVideosError):
    """The saved file cannot be placed: `kind` is gone, replaced or not_a_file."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Placed:
    path: Path
    how: str  # "linked", "copied", "already there"; with dry_run "would place"
    passed_over: int = 0  # names taken by other files before this one


@dataclass(frozen=True)
class _Source:
    fd: int
    st: os.stat_result


def _open_source(source: Path, size: int, sha256: str) -> _Source:
    try:
        fd = os.open(source, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise SourceProblem("gone", f"the saved file {source} is gone") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SourceProblem(
                "replaced", f"the saved file {source} was replaced by a symbolic link"
            ) from None
        why = f"cannot read the saved file {source}: {exc.strerror}"
        raise SourceProblem("gone", why) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise SourceProblem("not_a_file", f"the saved file {source} is not a regular file")
    try:
        found_size, digest = hash_fd(fd) if st.st_size == size else (st.st_size, None)
    except OSError as exc:
        os.close(fd)
        why = f"cannot read the saved file {source}: {exc.strerror}"
        raise SourceProblem("gone", why) from None
    if found_size != size or digest is None or digest.hexdigest() != sha256:
        os.close(fd)
        raise SourceProblem(
            "replaced",
            f"the saved file {source} was changed since it was saved "
            f"({'its size' if found_size != size else 'its sha256'} differs from the record's)",
        )
    return _Source(fd, st)


def place(
    source: Path, size: int, sha256: str, folder: Path, name: str, *, dry_run: bool = False
) -> Placed:
    """Put the saved file `source` (recorded as `size` bytes of `sha256`) into `folder`
    under `name`, or the first free `<stem>-N<suffix>`. SourceProblem for a bad source,
    DownloadError for a refused name or the folder's disk."""
    src = _open_source(source, size, sha256)
    try:
        if dry_run and not folder.is_dir():
            return Placed(folder / name, "would place")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = f"cannot create the folder {folder}: {exc.strerror}"
            raise DownloadError("disk", why) from None
        with DownloadFolder(folder) as dest:
            return _place_in(src, size, sha256, dest, name, dry_run)
    finally:
        os.close(src.fd)


def _place_in(
    src: _Source, size: int, sha256: str, dest: DownloadFolder, name: str, dry_run: bool
) -> Placed:
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidates = [name] + [f"{stem}-{n}{dot}{suffix}" for n in range(1, NAMES)]
    copied: str | None = None  # the temp copy, once made, tried under each free name
    try:
        for passed, candidate in enumerate(candidates):
            kind = dest.kind_of(candidate)
            if kind is not None:
                if kind != "file":
                    raise dest.refused(candidate, kind)
                if dest.hash_file(candidate) == (size, sha256):
                    return Placed(dest.path / candidate, "already there", passed)
                continue
            if dry_run:
                return Placed(dest.path / candidate, "would place", passed)
            if copied is None:
                linked = _link(src, dest, candidate)
                if linked is not None:
                    if linked:
                        return Placed(dest.path / candidate, "linked", passed)
                    continue  # taken between the look and the link
                copied = _copy(src, size, sha256, dest)
            if dest.publish(copied, candidate):  # removes the temp once linked
                copied = None
                return Placed(dest.path / candidate, "copied", passed)
    except OSError as exc:
        raise DownloadError("disk", f"cannot write into {dest.path}: {exc.strerror}") from None
    finally:
        if copied is not None:
            dest.unlink(copied)
    raise DownloadError("disk", f"no free name for {name} in {dest.path}")


def _link(src: _Source, dest: DownloadFolder, name: str) -> bool | None:
    """Hard-link the opened source as `name`: True when made, False when the name was
    taken meanwhile, None when this folder cannot hold a link to it (copy instead)."""
    try:
        # The file we opened and checked, not whatever its path names now.
        os.link(f"/proc/self/fd/{src.fd}", name, dst_dir_fd=dest.fd, follow_symlinks=True)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno == errno.ENOENT:  # no /proc: no link we could trust
            return None
        if exc.errno in _NO_LINK:
            return None
        raise
    made = os.stat(name, dir_fd=dest.fd, follow_symlinks=False)
    if (made.st_dev, made.st_ino) != (src.st.st_dev, src.st.st_ino):  # cannot happen; be sure
        dest.unlink(name)
        return None
    os.fsync(dest.fd)
    return True


def _copy(src: _Source, size: int, sha256: str, dest: DownloadFolder) -> str:
    """The source's bytes in a new temp file of the folder, checked as written; its name."""
    temp = f".collect-{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dest.fd)
    try:
        digest = hashlib.sha256()
        offset = 0
        while block := os.pread(src.fd, BLOCK, offset):
            digest.update(block)
            view = memoryview(block)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            offset += len(block)
        os.utime(fd, ns=(src.st.st_atime_ns, src.st.st_mtime_ns))  # as cp -p: when it was made
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        dest.unlink(temp)
        raise
    os.close(fd)
    if offset != size or digest.hexdigest() != sha256:
        dest.unlink(temp)
        raise SourceProblem("replaced", "the saved file changed while it was being copied")
    return temp


def replace_file(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` as `folder/name` whole: a temp file of the folder, fsynced, renamed
    over the name. A link or anything but a regular file there is refused."""
    with DownloadFolder(folder) as dest:
        kind = dest.kind_of(name)
        if kind is not None and kind != "file":
            raise dest.refused(name, kind)
        temp = f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644, dir_fd=dest.fd
            )
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, name, src_dir_fd=dest.fd, dst_dir_fd=dest.fd)
            os.fsync(dest.fd)
        except OSError as exc:
            dest.unlink(temp)
            raise DownloadError("disk", f"cannot write {folder / name}: {exc.strerror}") from None
        return folder / name


def read_small(folder: Path, name: str, limit: int) -> bytes | None:
    """The bytes of the regular file `folder/name` (never through a link), at most
    `limit`; None when there is none. DownloadError when something else is there."""
    if not folder.is_dir():
        return None
    with DownloadFolder(folder) as dest:
        kind = dest.kind_of(name)
        if kind is None:
            return None
        if kind != "file":
            raise dest.refused(name, kind)
        fd = os.open(name, os.O_RDONLY | _NOFOLLOW, dir_fd=dest.fd)
        try:
            return os.pread(fd, limit + 1, 0)
        finally:
            os.close(fd)


def holds(folder: Path, name: str, size: int, sha256: str) -> bool:
    """Whether `folder/name` is a regular file of exactly these bytes (never through a
    link)."""
    if not folder.is_dir():
        return False
    with DownloadFolder(folder) as dest:
        return dest.hash_file(name) == (size, sha256)


def regular_file(folder: Path, name: str) -> bool:
    """Whether `folder/name` is a regular file (a link is not)."""
    try:
        return stat.S_ISREG(os.lstat(folder / name).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def folder_locked(folder: Path) -> Iterator[None]:
    """The folder held by this process alone (flock on the folder itself) while the block
    runs: two collects into one folder take turns, so neither loses the other's manifest."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
