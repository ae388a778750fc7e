"""Saving a task's video: whole or resumable, never truncated under its final name.

- The file name is `<task id>.mp4`: the id is validated, and nothing from the URL or the
  server's headers reaches the file system. The path is checked to be inside the folder.
- Bytes go to `<name>.part`; a cut download resumes from there with `Range` (+ `If-Range`
  with the ETag seen before). Only a 206 starting exactly at our offset is appended; a 200
  or a changed validator restarts cleanly.
- When the whole length has arrived it is fsynced and renamed; an existing file is never
  overwritten (identical content is reused, different content gets a `-N` suffix).
- The video host is fetched with a client that has no credentials: it never sees the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from starvideos_tui.models import is_http_url, validate_task_id
from starvideos_tui.textsafe import excerpt

log = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
CHUNK = 1 << 20
MAX_REDIRECTS = 5
MAX_ATTEMPTS = 4
EXPIRED_STATUSES = (401, 403, 404, 410)

Progress = Callable[[int, int | None], None]


class DownloadError(Exception):
    """A download that did not finish; `kind` is expired, disk, network, refused or bad_url."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


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


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _disk_error(exc: OSError, path: Path) -> DownloadError:
    return DownloadError(
        "disk", f"cannot write {path}: {exc.strerror or exc}; the partial file is kept"
    )


def credential_free_client() -> httpx.AsyncClient:
    """The client for video hosts: no Authorization, no cookies kept, redirects by hand."""
    return httpx.AsyncClient(
        timeout=DOWNLOAD_TIMEOUT,
        follow_redirects=False,
        headers={"User-Agent": "starvideos-tui"},
    )


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

    def discard(self) -> None:
        for path in (self.path, self.meta):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


_RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


async def _open_following_redirects(
    http: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        if not is_http_url(url):
            raise DownloadError("bad_url", f"refusing to fetch {excerpt(url, 80)!r}")
        request = http.build_request("GET", url, headers=headers)
        response = await http.send(request, stream=True)
        if response.status_code not in (301, 302, 303, 307, 308):
            return response
        location = response.headers.get("location", "")
        await response.aclose()
        url = str(httpx.URL(url).join(location))
    raise DownloadError("network", f"more than {MAX_REDIRECTS} redirects")


async def fetch_to_file(
    url: str,
    final: Path,
    *,
    http: httpx.AsyncClient,
    progress: Progress | None = None,
) -> SavedVideo:
    """Download `url` into `final` (via `final.part`), resuming what is already there."""
    part = _Part(final)
    attempt = 0
    while True:
        attempt += 1
        try:
            return await _fetch_once(url, final, part, http, progress)
        except (httpx.TransportError, _Short) as exc:
            if attempt >= MAX_ATTEMPTS:
                raise DownloadError(
                    "network",
                    f"download of {final.name} failed after {attempt} tries "
                    f"({type(exc).__name__}); the partial file is kept for a resume",
                ) from None
            delay = min(8.0, 0.5 * 2**attempt)
            log.warning("download %s interrupted (%s), retrying", final.name, type(exc).__name__)
            await asyncio.sleep(delay)


class _Short(Exception):
    """The connection ended before the announced length arrived."""


async def _fetch_once(
    url: str, final: Path, part: _Part, http: httpx.AsyncClient, progress: Progress | None
) -> SavedVideo:
    offset = part.offset()
    headers: dict[str, str] = {}
    etag = part.validator()
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if etag:
            headers["If-Range"] = etag
    response = await _open_following_redirects(http, url, headers)
    try:
        status = response.status_code
        if status in EXPIRED_STATUSES:
            raise DownloadError("expired", f"the video link was refused (HTTP {status})")
        if status == 416 and offset:
            part.discard()  # our part is longer than the file: start again
            raise _Short()
        if status == 206 and offset:
            match = _RANGE_RE.fullmatch(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != offset:
                part.discard()
                raise _Short()
            total = int(match.group(3)) if match.group(3) != "*" else None
            mode = "ab"
        elif status == 200:
            offset = 0
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            mode = "wb"
        else:
            raise DownloadError("refused", f"the video host answered HTTP {status}")
        new_etag = response.headers.get("etag")
        try:
            part.remember(new_etag)
            written = offset
            with part.path.open(mode) as handle:
                async for chunk in response.aiter_bytes(CHUNK):
                    handle.write(chunk)
                    written += len(chunk)
                    if progress:
                        progress(written, total)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise _disk_error(exc, part.path) from None
    finally:
        await response.aclose()
    if total is not None and written != total:
        if written > total:
            part.discard()
        raise _Short()
    return _finish(final, part)


def _finish(final: Path, part: _Part) -> SavedVideo:
    size, digest = _hash_file(part.path)
    candidate = final
    n = 0
    while candidate.exists():
        if _hash_file(candidate) == (size, digest):
            part.discard()
            return SavedVideo(candidate, size, digest, reused=True)
        n += 1
        candidate = final.with_name(f"{final.stem}-{n}{final.suffix}")
    try:
        os.replace(part.path, candidate)
        dir_fd = os.open(candidate.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise _disk_error(exc, candidate) from None
    part.discard()
    return SavedVideo(candidate, size, digest)


def prepare_folder(folder: Path) -> Path:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError("disk", f"cannot create {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise DownloadError("disk", f"cannot write to {folder}: permission denied")
    return folder


def url_host(url: str) -> str:
    return urlsplit(url).hostname or ""
