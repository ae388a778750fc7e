"""Pictures the terminal draws itself, in its own pixels: the kitty graphics protocol
(kitty, WezTerm, Ghostty, Konsole) or Sixel (xterm -ti vt340, foot, mlterm, WezTerm,
Windows Terminal). Nothing here imports Textual.

A terminal is asked before the screen opens (`probe`): kitty's graphics query and the
primary device attributes (DA1, whose `4` says Sixel), with the cell size in pixels from
the tty (or asked with `CSI 16 t`). Every terminal answers DA1, so the wait ends as soon
as it does. Inside tmux (or screen) nothing is asked and half-blocks are drawn: a
multiplexer repaints its panes from its own copy of the screen, in which such a picture
does not exist, so it would vanish or smear on the first switch of window.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import select
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

ESC, ST = "\x1b", "\x1b\\"
KITTY_QUERY = f"{ESC}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA{ST}"
ASK_CELL = f"{ESC}[16t"  # the cell size in pixels: CSI 6 ; height ; width t
ASK_DA1 = f"{ESC}[c"
PROBE_TIMEOUT = 1.0  # seconds: a terminal that answers nothing at all is not waited on longer
KITTY_CHUNK = 4096  # base64 bytes per escape, as the protocol asks
SIXEL_COLOURS = 255

_DA1 = re.compile(r"\x1b\[\?([0-9;]*)c")
_KITTY_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")
_CELL = re.compile(r"\x1b\[6;(\d+);(\d+)t")
_RUNS = re.compile(rb"(.)\1{3,}")
_SIXEL_CHARS = bytes(range(63, 127)) + bytes(192)  # a six-pixel column's bits as a character


@dataclass(frozen=True)
class Graphics:
    """What the terminal draws: `protocol` ("kitty" or "sixel") and its cell in pixels."""

    protocol: str
    cell_width: int
    cell_height: int


def probe(env: Mapping[str, str], fd_in: int, fd_out: int) -> Graphics | None:
    """The terminal's picture protocol, asked on the tty before anything else reads it;
    None when it has none, or when it cannot be asked (not a tty, inside tmux)."""
    import termios

    term = env.get("TERM", "")
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return None
    try:
        if not (os.isatty(fd_in) and os.isatty(fd_out)):
            return None
        cell = _cell_from_tty(fd_out)
        said = _ask(fd_in, fd_out, KITTY_QUERY + ("" if cell else ASK_CELL) + ASK_DA1)
    except (OSError, termios.error):  # a terminal gone meanwhile
        return None
    return reading(said, cell)


def reading(said: str, cell: tuple[int, int] | None) -> Graphics | None:
    """The terminal's answers (`said`) read: kitty first, then Sixel; None without a way
    to draw or to know how many pixels a cell holds."""
    if cell is None and (found := _CELL.search(said)):
        height, width = int(found.group(1)), int(found.group(2))
        cell = (width, height) if width and height else None
    if cell is None:
        return None
    if _KITTY_OK.search(said):
        return Graphics("kitty", *cell)
    da1 = _DA1.search(said)
    if da1 and "4" in da1.group(1).split(";"):
        return Graphics("sixel", *cell)
    return None


def _cell_from_tty(fd: int) -> tuple[int, int] | None:
    import fcntl
    import struct
    import termios

    packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    rows, columns, width, height = struct.unpack("HHHH", packed)
    if not (rows and columns and width and height):
        return None
    return width // columns, height // rows


def _ask(fd_in: int, fd_out: int, question: str) -> str:
    """Write `question` with the tty in non-canonical mode without echo; what comes back
    until the DA1 answer (or PROBE_TIMEOUT)."""
    import termios

    before = termios.tcgetattr(fd_in)
    quiet = list(before)
    quiet[3] &= ~(termios.ICANON | termios.ECHO)
    termios.tcsetattr(fd_in, termios.TCSANOW, quiet)
    said = b""
    try:
        os.write(fd_out, question.encode())
        deadline = time.monotonic() + PROBE_TIMEOUT
        while not _DA1.search(said.decode("latin-1")):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd_in], [], [], left)[0]:
                break
            answer = os.read(fd_in, 4096)
            if not answer:  # end of file: a terminal that hung up
                break
            said += answer
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd_in, termios.TCSANOW, before)
    return said.decode("latin-1")


# -- drawing ----------------------------------------------------------------------------


def fitted(image: Image, graphics: Graphics, columns: int, max_rows: int) -> Image:
    """`image` scaled to at most `columns` x `max_rows` cells, its shape kept; the height
    a whole number of cells and (for Sixel, which paints six pixel rows at a time) of six."""
    width = columns * graphics.cell_width
    height = round(image.height * width / image.width)
    limit = max_rows * graphics.cell_height
    if height > limit:
        width, height = round(image.width * limit / image.height), limit
    height -= height % graphics.cell_height if height > graphics.cell_height else 0
    if graphics.protocol == "sixel":
        height -= height % 6
    return image.convert("RGB").resize((max(1, width), max(6, height)))


def cells(image: Image, graphics: Graphics) -> tuple[int, int]:
    """The columns and rows of cells `image` covers."""
    return (
        -(-image.width // graphics.cell_width),
        -(-image.height // graphics.cell_height),
    )


def sixel(image: Image) -> str:
    """`image` as one Sixel sequence: up to SIXEL_COLOURS colours, six pixel rows a band,
    each colour's run of a band drawn in one pass, repeats run-length coded."""
    from PIL import Image as PILImage

    indexed = image.convert("RGB").quantize(
        colors=SIXEL_COLOURS, method=PILImage.Quantize.MEDIANCUT, dither=PILImage.Dither.NONE
    )
    width, height = indexed.size
    palette = indexed.getpalette() or []
    pixels = indexed.tobytes()  # one palette index a pixel
    used = max(pixels) + 1 if pixels else 0
    out = [f"{ESC}P0;1;0q", f'"1;1;{width};{height}']
    for n in range(used):
        r, g, b = palette[3 * n : 3 * n + 3]
        out.append(f"#{n};2;{r * 100 // 255};{g * 100 // 255};{b * 100 // 255}")
    for top in range(0, height, 6):
        masks: dict[int, bytearray] = {}
        for k in range(min(6, height - top)):
            bit = 1 << k
            row = pixels[(top + k) * width : (top + k + 1) * width]
            for x, colour in enumerate(row):
                mask = masks.get(colour)
                if mask is None:
                    mask = masks[colour] = bytearray(width)
                mask[x] |= bit
        band = []
        for colour, mask in masks.items():
            drawn = mask.translate(_SIXEL_CHARS).rstrip(b"?")  # "?" paints nothing
            data = _RUNS.sub(lambda m: b"!%d%c" % (len(m.group(0)), m.group(1)[0]), drawn)
            band.append(f"#{colour}{data.decode('ascii')}")
        out.append("$".join(band) + "-")
    out.append(ST)
    return "".join(out)


def kitty_send(png: bytes, ident: int) -> str:
    """Send the PNG `png` to the terminal as image `ident` (one sent before under the same
    number is replaced), not shown yet; the terminal answers nothing (q=2)."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i : i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)] or [""]
    out = []
    for n, chunk in enumerate(chunks):
        more = int(n < len(chunks) - 1)
        control = f"a=t,f=100,t=d,i={ident},q=2,m={more}" if n == 0 else f"m={more}"
        out.append(f"{ESC}_G{control};{chunk}{ST}")
    return "".join(out)


def kitty_place(ident: int, columns: int, rows: int) -> str:
    """Show image `ident` at the cursor over `columns` x `rows` cells (its one placement:
    placed again, it moves), the cursor left where it was."""
    return f"{ESC}_Ga=p,i={ident},p=1,c={columns},r={rows},C=1,q=2{ST}"


def kitty_hide(ident: int) -> str:
    """Take image `ident` off the screen (its data is kept for the next placement)."""
    return f"{ESC}_Ga=d,d=i,i={ident},q=2{ST}"
