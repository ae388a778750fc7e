"""A video host's answer as download.py reads it: its content coding, its Content-Range,
its body a piece at a time, and how one attempt can end (worth another try, cancelled,
too big). The attempt itself, the retries and the `.part` are download.py's."""

from __future__ import annotations

import http.client
import re

from starvideos_tui.api.network import describe_network_error
from starvideos_tui.video.finishing import DECODABLE
from starvideos_tui.video.partfile import DownloadError
from starvideos_tui.video.videohost import CancelToken, VideoResponse


class Transient(Exception):
    """Worth another try from where we are: a cut connection, a short body."""


class Cancelled(Exception):
    """The caller asked the download to stop; the `.part` is kept for a resume."""


class TooBig(Exception):
    """More bytes arrived than any video may have."""


RANGE_RE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
UNSATISFIED_RE = re.compile(r"bytes \*/(\d+)")


def content_coding(response: http.client.HTTPResponse) -> str | None:
    """The body's content coding when one we can undo was applied; refuse the others."""
    coding = (response.getheader("content-encoding") or "").strip().lower()
    if coding in ("", "identity"):
        return None
    if coding in DECODABLE:
        return coding
    raise DownloadError(
        "not_video",
        f"the host sent the video {coding[:20]}-compressed, which this tool cannot undo",
    )


def read_some(response: VideoResponse, into: memoryview, cancel: CancelToken, stall: float) -> int:
    """Bytes read into `into` as they arrive; 0 at the end of the body."""
    try:
        n = response.readinto1(into)
    except TimeoutError:
        raise Transient(f"the transfer stalled: no data for {stall:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        if cancel.is_set():
            raise Cancelled() from None
        raise Transient(describe_network_error(exc)) from None
    if not n and cancel.is_set():
        raise Cancelled()
    return n
