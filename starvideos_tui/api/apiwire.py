"""An API answer as it comes off the wire: its body read under a ceiling, decompressed as a
stream, and words for HTTP that is not HTTP. No httpx here: api.py hands over the raw
bytes and the texts of its errors.

- The ceiling holds for the bytes received and for the bytes they decode to: a small
  `Content-Encoding: gzip` body that would expand to gigabytes is stopped once it has made
  `limit` bytes, and never more than that is held (zlib's `max_length`, one chunk at a
  time), so memory stays bounded whatever the body.
- Codings: `gzip` (`x-gzip`), `deflate` (zlib-wrapped or raw, as browsers accept it) and
  `identity`, in any stacked order. Anything else was not asked for and is refused.
- Malformed HTTP is named by what was wrong (a bad status line, conflicting lengths, ...),
  never by quoting the bytes the server sent.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable

ACCEPT_ENCODING = "gzip, deflate"  # what the client asks for: what `read_body` can decode
MAX_CODINGS = 4  # more stacked codings than this is no honest answer


class BodyTooLarge(ValueError):
    """The body (as sent, or once decoded) is larger than the ceiling."""

    def __init__(self, limit: int, decoded: bool) -> None:
        super().__init__(
            f"larger than {limit // 1000} kB" + (" once decompressed" if decoded else "")
        )
        self.decoded = decoded


class BadCoding(ValueError):
    """A Content-Encoding that was not asked for, or data that does not decode."""


class _Inflater:
    """One coding undone a chunk at a time, never making more than it is allowed."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._raw_fallback = coding == "deflate"
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        """What `data` decodes to; at most `room + 1` bytes (one more tells "too large")."""
        fallback, self._raw_fallback = self._raw_fallback, False
        try:
            return self._z.decompress(data, room + 1)
        except zlib.error:
            if not fallback:
                raise BadCoding(f"its {self.coding} data is damaged") from None
        # Some servers send "deflate" without the zlib wrapper: a raw stream.
        self._z = zlib.decompressobj(-zlib.MAX_WBITS)
        return self.feed(data, room)

    def end(self) -> bytes:
        # Everything fed was consumed (a full output stops the read before this), so the
        # flush holds nothing more than zlib's last block.
        try:
            return self._z.flush()
        except zlib.error:
            raise BadCoding(f"its {self.coding} data is damaged") from None


def _inflaters(content_encoding: str | None) -> list[_Inflater]:
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise BadCoding(f"{len(codings)} stacked content codings")
    for coding in codings:
        if coding not in ("gzip", "x-gzip", "deflate"):
            shown = coding.encode("ascii", "backslashreplace").decode()[:30]
            raise BadCoding(f"a content coding it was not asked for ({shown!r})")
    return [_Inflater(c) for c in reversed(codings)]  # the last applied is undone first


async def read_body(
    chunks: AsyncIterable[bytes] | bytes, content_encoding: str | None, limit: int
) -> bytes:
    """The decoded body from its raw `chunks`; BodyTooLarge past `limit` bytes, sent or
    decoded; BadCoding for a coding that is unknown or data that does not decode."""
    if isinstance(chunks, bytes):
        chunks = _once(chunks)
    inflaters = _inflaters(content_encoding)
    parts: list[bytes] = []
    received = made = 0

    def decoded(data: bytes, final: bool) -> bytes:
        for stage in inflaters:  # each stage's output is held to the ceiling too
            out = stage.feed(data, limit - made) if data else b""
            if final:
                out += stage.end()
            if len(out) > limit - made:
                raise BodyTooLarge(limit, decoded=True)
            data = out
        return data

    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise BodyTooLarge(limit, decoded=False)
        piece = decoded(chunk, final=False)
        made += len(piece)
        parts.append(piece)
    if inflaters:
        parts.append(decoded(b"", final=True))
    return b"".join(parts)


async def _once(data: bytes) -> AsyncIterable[bytes]:
    yield data


# h11's words for what it refused in an answer (their start; what follows may quote the
# server's bytes and is never shown), and ours.
_MALFORMED = (
    ("illegal status line", "a bad status line"),
    ("no response line", "a bad status line"),
    ("illegal header line", "a bad header line"),
    ("illegal header name", "a bad header name"),
    ("illegal header value", "a bad header value"),
    ("continuation line", "a bad header line"),
    ("conflicting content-length", "conflicting Content-Length headers"),
    ("bad content-length", "a bad Content-Length"),
    ("receive buffer too long", "a header section over 100 kB"),
    ("illegal chunk header", "a bad chunk"),
    ("malformed chunk", "a bad chunk"),
    ("transfer-encoding", "an unsupported Transfer-Encoding"),
    ("got data when expecting eof", "data after the end of its answer"),
)
_CUT = (
    ("server disconnected without sending a response", "closed the connection without answering"),
    ("peer closed connection without sending complete", "closed the connection mid-answer"),
    ("peer unexpectedly closed connection", "closed the connection mid-answer"),
)


def describe_protocol_error(text: str) -> tuple[bool, str]:
    """(malformed, words) for an HTTP protocol error's text: malformed HTTP named by what
    was wrong ("a bad chunk"), or what the server did when it closed the connection early
    ("closed the connection mid-answer"): no fault of its grammar."""
    lowered = text.lower()
    for start, words in _CUT:
        if lowered.startswith(start):
            return False, words
    for start, words in _MALFORMED:
        if start in lowered.split(":", 1)[0]:
            return True, words
    return True, "not valid HTTP/1.1"
