"""kitty's Unicode placeholders: a picture that is text (kitty 0.28 and later).

The image is sent once with a *virtual* placement (`U=1`): the terminal keeps it and draws
it wherever a placeholder cell names it. A placeholder cell is U+10EEEE followed by two
combining marks from kitty's table, the first giving the cell's row within the picture,
the second its column; the cell's foreground colour (24-bit) carries the low 24 bits of
the image id, and a third mark its high byte. Because the cells are ordinary text, a
multiplexer (tmux) keeps them in its copy of the screen and redraws them on every window
switch, resize or attach: the picture comes back with them, moved and clipped as text is.
Protocol: https://sw.kovidgoyal.net/kitty/graphics-protocol/#unicode-placeholders
"""

from __future__ import annotations

import base64

ESC, ST = "\x1b", "\x1b\\"
PLACEHOLDER = "\U0010eeee"
KITTY_CHUNK = 4096  # base64 bytes per escape, as the protocol asks
SINCE = (0, 28, 0)  # the first kitty version that draws placeholders

# kitty's gen/rowcolumn-diacritics.txt: combining marks of class 230 with no decomposition
# (Unicode 6.0), as ranges of code points; the n-th mark stands for the number n.
_RANGES = """
0305 030D-030E 0310 0312 033D-033F 0346 034A-034C 0350-0352 0357 035B 0363-036F 0483-0487
0592-0595 0597-0599 059C-05A1 05A8-05A9 05AB-05AC 05AF 05C4 0610-0617 0657-065B 065D-065E
06D6-06DC 06DF-06E2 06E4 06E7-06E8 06EB-06EC 0730 0732-0733 0735-0736 073A 073D 073F-0741
0743 0745 0747 0749-074A 07EB-07F1 07F3 0816-0819 081B-0823 0825-0827 0829-082D 0951
0953-0954 0F82-0F83 0F86-0F87 135D-135F 17DD 193A 1A17 1A75-1A7C 1B6B 1B6D-1B73 1CD0-1CD2
1CDA-1CDB 1CE0 1DC0-1DC1 1DC3-1DC9 1DCB-1DCC 1DD1-1DE6 1DFE 20D0-20D1 20D4-20D7 20DB-20DC
20E1 20E7 20E9 20F0 2CEF-2CF1 2DE0-2DFF A66F A67C-A67D A6F0-A6F1 A8E0-A8F1 AAB0 AAB2-AAB3
AAB7-AAB8 AABE-AABF AAC1 FE20-FE26 10A0F 10A38 1D185-1D189 1D1AA-1D1AD 1D242-1D244
"""


def _marks() -> tuple[str, ...]:
    out: list[str] = []
    for part in _RANGES.split():
        first, _, last = part.partition("-")
        out.extend(chr(c) for c in range(int(first, 16), int(last or first, 16) + 1))
    return tuple(out)


DIACRITICS = _marks()  # 297 marks: a picture of up to 297 x 297 cells


def version_at_least(xtversion: str, since: tuple[int, ...] = SINCE) -> bool:
    """Is the terminal that answered XTVERSION `xtversion` ("kitty(0.31.0)") a kitty of
    `since` or later?"""
    name, _, rest = xtversion.partition("(")
    if name.strip().lower() != "kitty" or not rest.endswith(")"):
        return False
    try:
        found = tuple(int(p) for p in rest[:-1].split("."))
    except ValueError:
        return False
    return found >= since


def colour_of(ident: int) -> tuple[int, int, int]:
    """The 24-bit foreground colour that names image `ident` (its low 24 bits)."""
    return (ident >> 16) & 0xFF, (ident >> 8) & 0xFF, ident & 0xFF


def placeholder_rows(ident: int, columns: int, rows: int) -> list[str]:
    """The text of each row of a `columns` x `rows` picture of image `ident` (to be drawn
    in the foreground colour `colour_of(ident)`): every cell names its row and column,
    and the id's high byte when it has one."""
    if columns > len(DIACRITICS) or rows > len(DIACRITICS):
        raise ValueError(f"a placeholder picture is at most {len(DIACRITICS)} cells a side")
    high = ident >> 24
    third = DIACRITICS[high] if high else ""
    return [
        "".join(PLACEHOLDER + DIACRITICS[y] + DIACRITICS[x] + third for x in range(columns))
        for y in range(rows)
    ]


def kitty_virtual(png: bytes, ident: int, columns: int, rows: int) -> list[str]:
    """The escapes that send the PNG `png` as image `ident` (replacing one of that id) and
    make its virtual placement over `columns` x `rows` cells, chunked as the protocol asks
    (each chunk one escape, so that a multiplexer can pass each through on its own); the
    terminal answers nothing (q=2)."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i : i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)] or [""]
    out = []
    for n, chunk in enumerate(chunks):
        more = int(n < len(chunks) - 1)
        if n == 0:
            control = f"a=T,U=1,f=100,t=d,i={ident},c={columns},r={rows},q=2,m={more}"
        else:
            control = f"m={more}"
        out.append(f"{ESC}_G{control};{chunk}{ST}")
    return out


def kitty_forget(ident: int) -> str:
    """Delete image `ident` and free its data (its placeholder cells then draw nothing)."""
    return f"{ESC}_Ga=d,d=I,i={ident},q=2{ST}"
