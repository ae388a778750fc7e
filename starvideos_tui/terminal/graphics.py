"""Pictures the terminal draws itself, in its own pixels: the kitty graphics protocol
(kitty, WezTerm, Ghostty, Konsole) or Sixel (xterm -ti vt340, foot, mlterm, WezTerm,
Windows Terminal). Nothing here imports Textual.

A terminal is asked before the screen opens (`ask`), in one round trip: kitty's graphics
query and the primary device attributes (DA1, whose `4` says Sixel), with the cell size in
pixels from the tty (or asked with `CSI 16 t`), and its background colour (OSC 11), which
chooses a light or a dark theme. Every terminal answers DA1, and answers in order, so the
wait ends as soon as it does. Inside tmux with `allow-passthrough` on, the questions go
through its passthrough to the terminal outside (tmux.py), with XTVERSION: a Sixel
terminal's pictures go the same way, and a kitty's as Unicode placeholders
(placeholders.py) when it is 0.28 or later; otherwise, and inside screen, half-blocks are
drawn (with a hint saying how to have pictures): a multiplexer repaints its panes from its
own copy of the screen, in which a picture sent past it does not exist. The background
is asked there too: tmux 3.4 and later answer with what is behind the pane (its own
`window-style`, else the outer terminal's colour as of the last attach), which is what
the text must read on; tmux 3.3 and screen do not answer, and the theme stays dark.
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

from starvideos_tui.terminal import tmux
from starvideos_tui.terminal.placeholders import version_at_least

if TYPE_CHECKING:
    from PIL.Image import Image

ESC, ST = "\x1b", "\x1b\\"
KITTY_QUERY = f"{ESC}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA{ST}"
ASK_CELL = f"{ESC}[16t"  # the cell size in pixels: CSI 6 ; height ; width t
ASK_DA1 = f"{ESC}[c"
ASK_VERSION = f"{ESC}[>q"  # XTVERSION: DCS > | name(version) ST
ASK_BACKGROUND = f"{ESC}]11;?{ST}"
LIGHT_ABOVE = 50.0  # the CIE lightness (L*, 0-100) above which a background is light
PROBE_TIMEOUT = 1.0  # seconds: a terminal that answers nothing at all is not waited on longer
KITTY_CHUNK = 4096  # base64 bytes per escape, as the protocol asks
SIXEL_COLOURS = 255

_DA1 = re.compile(r"\x1b\[\?([0-9;]*)c")
_KITTY_OK = re.compile(r"\x1b_Gi=31;OK\x1b\\")
_VERSION = re.compile(r"\x1bP>\|([^\x1b]*)\x1b\\")
_CELL = re.compile(r"\x1b\[6;(\d+);(\d+)t")
# rgb:R/G/B, 1 to 4 hex digits a channel (rgba: adds an alpha), ended by ST or BEL
_HEX = "([0-9a-fA-F]{1,4})"
_BACKGROUND = re.compile(
    rf"\x1b\]11;rgba?:{_HEX}/{_HEX}/{_HEX}(?:/[0-9a-fA-F]{{1,4}})?(?:\x1b\\|\x07)"
)
_RUNS = re.compile(rb"(.)\1{3,}")
_SIXEL_CHARS = bytes(range(63, 127)) + bytes(192)  # a six-pixel column's bits as a character


@dataclass(frozen=True)
class Graphics:
    """What the terminal draws: `protocol` ("kitty" or "sixel") and its cell in pixels."""

    protocol: str
    cell_width: int
    cell_height: int
    tmux: bool = False  # sent through tmux's passthrough, placed in outer coordinates
    placeholders: bool = False  # kitty: drawn as Unicode placeholder cells (placeholders.py)


@dataclass(frozen=True)
class Answers:
    """What the terminal said before the screen opened."""

    graphics: Graphics | None = None
    light: bool | None = None  # its background is light (None: it did not say)
    hint: str = ""  # how to have pictures where there are none (inside tmux), said once


def probe(env: Mapping[str, str], fd_in: int, fd_out: int) -> Graphics | None:
    """The terminal's picture protocol, asked on the tty before anything else reads it;
    None when it has none, or when it cannot be asked (not a tty, inside tmux)."""
    return ask(env, fd_in, fd_out, pictures=True, background=False).graphics


def ask(
    env: Mapping[str, str], fd_in: int, fd_out: int, *, pictures: bool, background: bool
) -> Answers:
    """Ask the terminal, in one round trip, what it draws (`pictures`; never inside a
    multiplexer) and the colour of its background (`background`). Nothing is asked
    off a tty or when there is no question left."""
    import termios

    term = env.get("TERM", "")
    in_tmux, hint = tmux.inside(env), ""
    if in_tmux and pictures and not tmux.passthrough_on(env):
        pictures, hint = False, tmux.HINT_PASSTHROUGH
    elif (env.get("STY") or term.startswith(("screen", "tmux"))) and not in_tmux:
        pictures = False
    if not (pictures or background):
        return Answers(hint=hint)
    try:
        if not (os.isatty(fd_in) and os.isatty(fd_out)):
            return Answers()
        cell = _cell_from_tty(fd_out) if pictures else None
        if pictures and in_tmux:  # asked of the terminal outside, DA1 last to end the wait
            asked = [KITTY_QUERY, ASK_VERSION, *([] if cell else [ASK_CELL]), ASK_DA1]
            question = "".join(tmux.passthrough(q) for q in asked)
            question += ASK_BACKGROUND if background else ""
        else:
            question = (KITTY_QUERY + ("" if cell else ASK_CELL)) if pictures else ""
            question += (ASK_BACKGROUND if background else "") + ASK_DA1
        said = _ask(fd_in, fd_out, question)
    except (OSError, termios.error):  # a terminal gone meanwhile
        return Answers()
    found = reading(said, cell, tmux=in_tmux) if pictures else None
    if pictures and in_tmux and found is None and _KITTY_OK.search(said):
        hint = tmux.HINT_OLD_KITTY
    return Answers(
        graphics=found,
        light=background_is_light(said) if background else None,
        hint=hint,
    )


def background_is_light(said: str) -> bool | None:
    """The OSC 11 answer in `said` read: is that background light (its CIE lightness
    above LIGHT_ABOVE)? None when there is no answer."""
    found = _BACKGROUND.search(said)
    if found is None:
        return None
    # Each channel scaled from its own number of digits: "f" and "ffff" are both 1.0.
    red, green, blue = (int(h, 16) / (16 ** len(h) - 1) for h in found.groups())
    return lightness(red, green, blue) > LIGHT_ABOVE


def lightness(red: float, green: float, blue: float) -> float:
    """CIE L* (0 black, 100 white) of an sRGB colour whose channels run 0-1."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    y = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
    return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else y * 24389 / 27


def reading(said: str, cell: tuple[int, int] | None, *, tmux: bool = False) -> Graphics | None:
    """The terminal's answers (`said`) read: kitty first, then Sixel; None without a way
    to draw or to know how many pixels a cell holds. Inside tmux (`tmux`) a kitty draws
    only as placeholders, so only one of 0.28 or later (its XTVERSION says) is taken."""
    if cell is None and (found := _CELL.search(said)):
        height, width = int(found.group(1)), int(found.group(2))
        cell = (width, height) if width and height else None
    if cell is None:
        return None
    if _KITTY_OK.search(said):
        if not tmux:
            return Graphics("kitty", *cell)
        version = _VERSION.search(said)
        if version and version_at_least(version.group(1)):
            return Graphics("kitty", *cell, tmux=True, placeholders=True)
        return None
    da1 = _DA1.search(said)
    if da1 and "4" in da1.group(1).split(";"):
        return Graphics("sixel", *cell, tmux=tmux)
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


def kitty_place(ident: int, columns: int, rows: int, placement: int = 1) -> str:
    """Show image `ident` at the cursor over `columns` x `rows` cells as its placement
    `placement` (placed again, it moves), the cursor left where it was."""
    return f"{ESC}_Ga=p,i={ident},p={placement},c={columns},r={rows},C=1,q=2{ST}"


def kitty_hide(ident: int) -> str:
    """Take image `ident` off the screen (its data is kept for the next placement)."""
    return f"{ESC}_Ga=d,d=i,i={ident},q=2{ST}"
