"""Reading a local file by name: only a regular file, and no more of it than makes sense.

A path can name something that is not a file of bytes with an end. `open()` of a FIFO
waits for a writer that may never come; `/dev/zero`, or a FIFO fed for ever, never ends,
and reading it whole ends in the OOM killer. So a file is opened without blocking
(O_NONBLOCK: a FIFO opens at once), the descriptor is checked with fstat, and anything
but a regular file is refused, naming what it is. A symlink the user made is followed:
what it names is what is checked (a watchlist kept elsewhere through a link is fine,
a link to `/dev/zero` is not).

The errors are OSErrors, so a caller's `except OSError` turns them into its own line:
`strerror` reads "it is a FIFO, not a regular file" or "it is over 1 MB".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What a file of this mode is, in words ("a FIFO (named pipe)")."""
    return next((word for test, word in _KINDS if test(mode)), "not a regular file")


class NotRegularFile(OSError):
    """The path names a folder, FIFO, device or socket, not a regular file."""

    def __init__(self, path: str | os.PathLike[str], mode: int) -> None:
        kind = kind_of(mode)
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
        super().__init__(code, f"it is {kind}, not a regular file", os.fspath(path))
        self.kind = kind


class FileTooLarge(OSError):
    """The file holds more than its reader accepts."""

    def __init__(self, path: str | os.PathLike[str], limit: int) -> None:
        super().__init__(errno.EFBIG, f"it is over {size_words(limit)}", os.fspath(path))
        self.limit = limit


def size_words(size: int) -> str:
    """4 kB, 1 MB: the round decimal sizes the caps are given in."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def check_regular(path: str | os.PathLike[str]) -> None:
    """Raise NotRegularFile when `path` exists and is not a regular file (symlinks
    followed); say nothing when it does not exist or cannot be looked at (the reading
    that follows reports that). For a quick refusal before a lock file is made."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return
    if not stat.S_ISREG(mode):
        raise NotRegularFile(path, mode)


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of `path`, which must be a regular file; opening never
    blocks. FileNotFoundError and the other OSErrors of open() pass through."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket, or a device with nothing behind it
            check_regular(path)
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_binary(path: str | os.PathLike[str]) -> BinaryIO:
    """`open_regular` as a buffered binary file object."""
    return os.fdopen(open_regular(path), "rb")


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file `path`, refused (FileTooLarge) past `limit` bytes:
    only `limit` + 1 are ever read."""
    with open_binary(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(path, limit)
    return data


def followed(path: Path) -> Path:
    """What a symlink the user made names (the path itself when it is not one), for a
    file that is rewritten by rename: a rename over the link would replace it with a
    copy its target never sees, and files kept beside it (a journal, a lock) belong
    beside the target. A loop or an unreadable folder: the path as given."""
    try:
        return path.resolve() if path.is_symlink() else path
    except (OSError, RuntimeError):
        return path
