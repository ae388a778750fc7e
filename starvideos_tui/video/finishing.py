"""A finished body, before it is called saved: its content coding undone, the host's
checksum compared, its bytes decoded as the video (media.py); then published under its
name without replacing anything, or set aside as `<name>.rejected` with what arrived.

A coded body (`<name>.coded`, as received) is undone into `<name>.decoded` a bounded piece
at a time, so memory stays flat whatever it expands to, and no further than the most a
video may have (videosize.py). When it is not the video, what is set aside is the body as
received, and the error says so."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from starvideos_tui.core.mediafacts import MediaFacts, human_size
from starvideos_tui.core.videosize import how_to_raise, shown
from starvideos_tui.video.media import NotAVideo, check_video
from starvideos_tui.video.partfile import (
    DownloadError,
    DownloadFolder,
    Part,
    hash_fd,
    part_error,
)

DECODABLE = {"gzip": 31, "x-gzip": 31, "deflate": 15}  # content codings we undo: zlib's wbits
CODED_IN = 1 << 20  # compressed bytes handed to zlib at a time
DECODED_OUT = 4 << 20  # the most zlib may hand back from one call
REJECTED_NAMES = 100  # `<name>.rejected`, then `<stem>-1.mp4.rejected` … `-99`


Checked = tuple[str, int, str, MediaFacts]  # name in the folder, size, sha256, media facts


class ChecksumMismatch(Exception):
    """The bytes are not the file the host vouched for: fetch them again."""


@dataclass(frozen=True)
class SavedVideo:
    path: Path
    size: int
    sha256: str
    reused: bool = False  # the same bytes were already there
    media: MediaFacts | None = None


@dataclass
class Body:
    """What one answer brought: the file in the folder holding it as received (the `.part`,
    or `<name>.coded` for a coded body), where its bytes ended, and the whole length if
    known."""

    name: str
    written: int
    total: int | None
    digest: hashlib._Hash
    encoding: str | None
    checksums: dict[str, str]


def checksums_of(response: http.client.HTTPResponse, *, whole_body: bool) -> dict[str, str]:
    """Checksums of the whole file the host vouches for, as hex: sha256 and md5."""
    found: dict[str, str] = {}

    def b64hex(value: str) -> str | None:
        try:
            return base64.b64decode(value.strip().strip(":"), validate=True).hex()
        except ValueError:
            return None

    if value := response.getheader("x-amz-checksum-sha256"):
        found["sha256"] = b64hex(value) or "?"
    for header in ("repr-digest", "digest"):
        for item in (response.getheader(header) or "").split(","):
            name, _, value = item.strip().partition("=")
            if name.strip().lower() == "sha-256" and value:
                found["sha256"] = b64hex(value) or "?"
    if whole_body and (value := response.getheader("content-md5")):
        found["md5"] = b64hex(value) or "?"
    for item in (response.getheader("x-goog-hash") or "").split(","):
        name, _, value = item.strip().partition("=")
        if name == "md5" and value:
            found["md5"] = b64hex(value) or "?"
    return found


def coded_name(part: Part) -> str:
    """Where a coded body goes as it arrives: never the `.part`, so never resumed."""
    return part.name[: -len(".part")] + ".coded"


def _decoded_name(part: Part) -> str:
    return part.name[: -len(".part")] + ".decoded"


@contextlib.contextmanager
def scratch_cleared(part: Part) -> Iterator[None]:
    """A coded body and its decoding are never resumed: however the download ends, they
    go (files of ours only: a link or folder planted there is left alone)."""
    try:
        yield
    finally:
        for name in (coded_name(part), _decoded_name(part)):
            if part.folder.kind_of(name) == "file":
                part.folder.unlink(name)


def _decoded(folder: DownloadFolder, part: Part, body: Body, limit: int) -> tuple[str, int, str]:
    """Undo the content coding of `body` into `<name>.decoded`: (name, size, sha256).
    A piece at a time: zlib never hands back more than DECODED_OUT bytes from one call, and
    the decoding stops as soon as it passes `limit`."""
    encoding = body.encoding or ""
    coded = f"a {encoding}-compressed body of {human_size(body.written)}"
    name = _decoded_name(part)
    source = folder.open_own(body.name, os.O_RDONLY, create=False)
    try:
        target = folder.open_own(name, os.O_RDWR, create=True)
    except BaseException:
        os.close(source)
        raise
    digest = hashlib.sha256()
    size = 0
    try:
        os.ftruncate(target, 0)
        inflater = zlib.decompressobj(DECODABLE[encoding])
        offset = 0
        pending = b""
        while not inflater.eof:
            if not pending:
                pending = os.pread(source, CODED_IN, offset)
                offset += len(pending)
                if not pending:
                    break
            piece = inflater.decompress(pending, DECODED_OUT)
            pending = inflater.unconsumed_tail
            size += len(piece)
            if size > limit:
                raise NotAVideo(
                    f"{coded} that expands past {shown(limit)}, the most taken for one "
                    f"video ({how_to_raise(limit)})"
                )
            digest.update(piece)
            _write_all(target, piece)
        if not inflater.eof:
            raise NotAVideo(f"{coded} that ends early", cut=True)
    except zlib.error as exc:
        folder.unlink(name)
        raise NotAVideo(f"{coded} that does not decompress ({exc})") from None
    except NotAVideo:
        folder.unlink(name)
        raise
    except OSError as exc:
        folder.unlink(name)
        raise part_error(folder.path / name, exc, kept=False) from None
    finally:
        os.close(source)
        os.close(target)
    return name, size, digest.hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def verify(
    folder: DownloadFolder, part: Part, body: Body, expected_duration: float | None, limit: int
) -> Checked:
    """The checked file to publish: (name in the folder, size, sha256, media facts).
    NotAVideo says what the body is instead (a coded one: as received, then decoded)."""
    name, size, sha256 = body.name, body.written, body.digest.hexdigest()
    if body.encoding:
        name, size, sha256 = _decoded(folder, part, body, limit)
    elif (want := body.checksums.get("sha256")) and want != sha256:
        part.discard()
        raise ChecksumMismatch("the body does not match the host's sha256 checksum")
    elif want_md5 := body.checksums.get("md5"):
        fd = part.open()
        try:
            _, md5 = hash_fd(fd, hashlib.md5())
        finally:
            os.close(fd)
        if md5.hexdigest() != want_md5:
            part.discard()
            raise ChecksumMismatch("the body does not match the host's MD5 checksum")
    try:
        facts = check_video(folder.path / name, expected_duration)
        if name != body.name:
            _fsync(folder, name)  # only what will be published is worth the disk's time
    except NotAVideo as exc:
        if not body.encoding:
            raise
        folder.unlink(name)
        coded = f"a {body.encoding}-compressed body of {human_size(body.written)}"
        raise NotAVideo(f"{coded} that decodes to {exc.arrived}", cut=exc.cut) from None
    except BaseException:
        if name != body.name:
            folder.unlink(name)
        raise
    return name, size, sha256, facts


def _fsync(folder: DownloadFolder, name: str) -> None:
    fd = folder.open_own(name, os.O_RDONLY, create=False)
    try:
        os.fsync(fd)
    except OSError as exc:
        raise part_error(folder.path / name, exc, kept=False) from None
    finally:
        os.close(fd)


def publish(folder: DownloadFolder, part: Part, final: Path, checked: Checked) -> SavedVideo:
    name, size, sha256, facts = checked
    candidate = final.name
    n = 0
    try:
        while True:
            kind = folder.kind_of(candidate)
            if kind is None:
                if folder.publish(name, candidate):
                    break
                continue  # taken between the look and the link: look again
            if kind != "file":
                raise folder.refused(candidate, kind)
            if folder.hash_file(candidate) == (size, sha256):
                folder.unlink(name)
                part.discard()
                return SavedVideo(folder.path / candidate, size, sha256, reused=True, media=facts)
            n += 1
            candidate = f"{final.stem}-{n}{final.suffix}"
    except OSError as exc:
        raise DownloadError(
            "disk", f"cannot save {folder.path / candidate}: {exc.strerror}"
        ) from None
    part.discard()
    return SavedVideo(folder.path / candidate, size, sha256, media=facts)


def set_aside(folder: DownloadFolder, part: Part, body: Body, arrived: str) -> DownloadError:
    """Keep the body as received beside the video's name, under the first free name of
    `<name>.rejected`, `<stem>-1.mp4.rejected`, …: nothing there (a user's file, a link) is
    ever replaced; the same bytes already kept there are not kept twice. The error says
    what arrived and where it is."""
    final = part.name[: -len(".part")]
    stem, dot, suffix = final.rpartition(".")
    names = [f"{final}.rejected"] + [
        f"{stem}-{n}{dot}{suffix}.rejected" for n in range(1, REJECTED_NAMES)
    ]
    sha256 = body.digest.hexdigest()
    kept = ""
    try:
        for name in names:
            if folder.publish(body.name, name) or _holds(folder, name, body.written, sha256):
                kept = f"; kept aside as {folder.path / name}"
                if body.encoding:
                    kept += " (the compressed bytes as received)"
                break
    except OSError:
        kept = ""
    folder.unlink(body.name)
    part.discard()
    return DownloadError("not_video", f"the host sent {arrived}, not the video{kept}")


def _holds(folder: DownloadFolder, name: str, size: int, sha256: str) -> bool:
    """Whether `name` is a regular file of these very bytes."""
    try:
        st = os.stat(name, dir_fd=folder.fd, follow_symlinks=False)
    except OSError:
        return False
    return (
        stat.S_ISREG(st.st_mode) and st.st_size == size and folder.hash_file(name) == (size, sha256)
    )
