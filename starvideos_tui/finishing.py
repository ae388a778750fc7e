"""A finished body, before it is called saved: its content coding undone, the host's
checksum compared, its bytes decoded as the video (media.py); then published under its
name without replacing anything, or set aside as `<name>.rejected` with what arrived."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from starvideos_tui.media import MediaFacts, NotAVideo, check_video
from starvideos_tui.partfile import (
    BLOCK,
    DownloadError,
    DownloadFolder,
    Part,
    hash_fd,
    part_error,
)

DECODABLE = {"gzip": 31, "x-gzip": 31, "deflate": 15}  # content codings we undo: zlib's wbits


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
    """What one answer brought: where its bytes ended, and the whole length if known."""

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


def _decoded(folder: DownloadFolder, part: Part, encoding: str) -> tuple[str, int, str]:
    """Undo the content coding of the `.part` into `<name>.decoded`: (name, size, sha256)."""
    name = part.name[: -len(".part")] + ".decoded"
    source = part.open()
    target = folder.open_own(name, os.O_RDWR, create=True)
    digest = hashlib.sha256()
    size = 0
    try:
        os.ftruncate(target, 0)
        inflater = zlib.decompressobj(DECODABLE[encoding])
        offset = 0
        while chunk := os.pread(source, BLOCK, offset):
            offset += len(chunk)
            for piece in (inflater.decompress(chunk),):
                digest.update(piece)
                size += os.write(target, piece)
        tail = inflater.flush()
        digest.update(tail)
        size += os.write(target, tail)
        if not inflater.eof:
            raise zlib.error("the compressed stream ends early")
        os.fsync(target)
    except zlib.error as exc:
        folder.unlink(name)
        raise NotAVideo(
            f"a {encoding}-compressed body that does not decompress ({exc})", cut=True
        ) from None
    except OSError as exc:
        folder.unlink(name)
        raise part_error(folder.path / name, exc, kept=False) from None
    finally:
        os.close(source)
        os.close(target)
    return name, size, digest.hexdigest()


def verify(
    folder: DownloadFolder, part: Part, body: Body, expected_duration: float | None
) -> Checked:
    """The checked file to publish: (name in the folder, size, sha256, media facts)."""
    name, size, sha256 = part.name, body.written, body.digest.hexdigest()
    if body.encoding:
        name, size, sha256 = _decoded(folder, part, body.encoding)
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
    except BaseException:
        if name != part.name:
            folder.unlink(name)
        raise
    return name, size, sha256, facts


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


def set_aside(folder: DownloadFolder, part: Part, arrived: str) -> DownloadError:
    aside = part.name[: -len(".part")] + ".rejected"
    try:
        folder.set_aside(part.name, aside)
    except OSError:
        part.discard()
        kept = ""
    else:
        part.discard()
        kept = f"; kept aside as {folder.path / aside}"
    return DownloadError("not_video", f"the host sent {arrived}, not the video{kept}")
