"""The picture widget (tui/widgets/picture.py): several on one screen, each with its own
kitty image and placement ids; half-blocks in the image's shape; a picture scrolled
partly out of sight draws no pixels and takes its kitty image away; text instead of a
picture; and, on a real pseudo-terminal, the kitty image taken off the screen when the
widget is hidden or removed."""

from __future__ import annotations

import os
import pty
import re
import sys
import textwrap
import time
from pathlib import Path

from helpers_proc import Spawn
from PIL import Image
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region

from starvideos_tui.terminal.graphics import Graphics
from starvideos_tui.tui.widgets.picture import Picture, blocks


def scene(
    width: int = 160, height: int = 90, colour: tuple[int, int, int] = (200, 40, 40)
) -> Image.Image:
    image = Image.new("RGB", (width, height), colour)
    for x in range(width // 2, width):
        for y in range(height):
            image.putpixel((x, y), (20, 20, 200))
    return image


class Sheet(App[None]):
    """Three pictures in a scrolling column, as a contact sheet would hold them."""

    def __init__(self, graphics: Graphics | None) -> None:
        super().__init__()
        self.graphics = graphics

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            for n in range(3):
                yield Picture(self.graphics, id=f"p{n}")


def text_of(picture: Picture) -> str:
    lines = picture.render_lines(Region(0, 0, picture.size.width, picture.size.height))
    return "".join(segment.text for line in lines for segment in line)


async def test_several_kitty_pictures_each_have_their_own_image_and_placement() -> None:
    app = Sheet(Graphics("kitty", 10, 20))
    async with app.run_test(size=(80, 40)) as pilot:
        pictures = list(app.query(Picture))
        for n, picture in enumerate(pictures):
            picture.set_image(scene(colour=(n * 80, 0, 0)), columns=20, rows=4)
        await pilot.pause()
        idents = {p.ident for p in pictures}
        placements = {p.placement for p in pictures}
        assert len(idents) == 3 and len(placements) == 3
        assert all(0 < ident < 1 << 24 for ident in idents)  # a placeholder's colour holds it
        for picture in pictures:
            drawing = picture.drawing
            assert drawing is not None and drawing.kind == "kitty"
            assert drawing.send[0].startswith(f"\x1b_Ga=t,f=100,t=d,i={picture.ident},q=2,")
            drawn = text_of(picture)
            region = picture.region
            place = f"\x1b_Ga=p,i={picture.ident},p={picture.placement},c={drawing.columns},r="
            assert f"\x1b[{region.y + 1};{region.x + 1}H{place}" in drawn  # at its own place
            others = idents - {picture.ident}
            assert not any(f"i={o}," in drawn for o in others)


async def test_a_picture_scrolled_partly_away_draws_no_pixels_and_takes_kitty_away() -> None:
    app = Sheet(Graphics("kitty", 10, 20))
    async with app.run_test(size=(60, 12)) as pilot:
        pictures = list(app.query(Picture))
        for picture in pictures:
            picture.set_image(scene(), columns=20, rows=5)
        await pilot.pause()
        first = pictures[0]
        assert "a=p," in text_of(first)  # whole in sight: placed
        app.query_one("#scroll", VerticalScroll).scroll_to(y=3, animate=False)
        await pilot.pause()
        assert "a=p," not in text_of(first)  # the pty test below sees it taken away
        app.query_one("#scroll", VerticalScroll).scroll_to(y=0, animate=False)
        await pilot.pause()
        assert "a=p," in text_of(first)  # whole again: placed again


async def test_sixel_pictures_and_half_blocks_and_text_instead() -> None:
    app = Sheet(Graphics("sixel", 10, 20))
    async with app.run_test(size=(80, 40)) as pilot:
        one, two, three = app.query(Picture)
        one.set_image(scene(), columns=16, rows=4)
        two.graphics = None  # half-blocks beside it
        two.set_image(scene(160, 80), columns=16, rows=8)
        three.set_image(None, "no picture: the file is gone")
        await pilot.pause()
        assert one.drawing is not None and one.drawing.escape.startswith("\x1bP0;1;0q")
        assert "\x1bP0;1;0q" in text_of(one)
        assert two.drawing is not None and two.drawing.kind == "blocks"
        assert (two.drawing.columns, two.drawing.rows) == (16, 4)  # 2:1 kept, 2 px a cell
        assert "▀" * 16 in text_of(two) and "\x1b" not in text_of(two)
        assert text_of(three).startswith("no picture: the file is gone")
        assert three.size.height == 1
        two.clear()
        await pilot.pause()
        assert not two.drawing
        assert two.size.height == 0


def test_half_blocks_keep_the_colours_top_and_bottom() -> None:
    image = Image.new("RGB", (4, 4), (255, 0, 0))
    for x in range(4):
        for y in (1, 3):
            image.putpixel((x, y), (0, 0, 255))
    drawing = blocks(image, 4, 2)
    assert (drawing.columns, drawing.rows) == (4, 2)
    style = drawing.lines[0]._segments[0].style
    assert style is not None and style.color is not None and style.bgcolor is not None
    assert style.color.triplet == (255, 0, 0) and style.bgcolor.triplet == (0, 0, 255)


# -- on a real terminal (a pseudo-terminal): what reaches it when a picture goes ---------

SCRIPT = textwrap.dedent(
    """
    import sys
    from PIL import Image
    from textual.app import App
    from starvideos_tui.terminal.graphics import Graphics
    from starvideos_tui.tui.escapes import to_terminal
    from starvideos_tui.tui.widgets.picture import Picture

    from textual.containers import VerticalScroll

    class Three(App):
        CSS = "VerticalScroll { height: 8; }"

        def compose(self):
            yield Picture(Graphics("kitty", 10, 20), id="a")
            yield Picture(Graphics("kitty", 10, 20), id="b")
            with VerticalScroll():
                for n in range(3):
                    yield Picture(Graphics("kitty", 10, 20))

        def on_mount(self):
            for p in self.query(Picture):
                p.set_image(Image.new("RGB", (80, 160), (9, 99, 199)), columns=8, rows=4)
            ids = [p.ident for p in self.query(Picture)]
            with open(sys.argv[1], "w") as out:
                out.write(" ".join(map(str, ids)))
            a, b = ids[:2]
            self.set_timer(0.6, lambda: setattr(self.query_one("#a"), "display", False))
            self.set_timer(0.9, self.query_one("#b").remove)
            scroll = self.query_one(VerticalScroll)
            self.set_timer(1.2, lambda: scroll.scroll_to(y=2, animate=False))
            self.set_timer(1.7, lambda: to_terminal(self, "\\x1b]2;END-MARK\\x07"))
            self.set_timer(1.8, self.exit)

    Three().run()
    """
)


def test_a_hidden_or_removed_kitty_picture_is_taken_off_the_terminal(
    spawn: Spawn, tmp_path: Path
) -> None:
    script = tmp_path / "two.py"
    script.write_text(SCRIPT)
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24"}
    ids = tmp_path / "ids"
    child = spawn(
        [sys.executable, str(script), str(ids)], stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    raw = b""
    end = time.monotonic() + 10
    try:
        while child.poll() is None and time.monotonic() < end:
            raw += _read(master, 0.2)
        raw += _read(master, 0.2)
    finally:
        os.close(master)
    text = raw.decode("utf-8", "replace")
    assert ids.exists(), text[-2000:]
    a, b, c, d, e = ids.read_text().split()
    for ident in (a, b, c, d, e):
        assert text.count(f"\x1b_Ga=t,f=100,t=d,i={ident},") == 1  # its data, sent once
    end = text.index("\x1b]2;END-MARK\x07")  # before the app's end takes all away
    for ident in (a, b, c):  # hidden, removed, scrolled partly out of sight
        placed = text.index(f"\x1b_Ga=p,i={ident},")
        gone = text.index(f"\x1b_Ga=d,d=i,i={ident},q=2\x1b\\")
        assert placed < gone < end, ident
    assert text.index(f"\x1b_Ga=d,d=I,i={b},") < end  # removed: its data freed too
    # Still whole in sight after the scroll: moved (placed again, higher), not taken away
    # before the app's end takes every picture away.
    moved = re.findall(rf"\x1b\[(\d+);(\d+)H\x1b_Ga=p,i={d},", text)
    assert len(set(moved)) >= 2, moved
    assert text.index(f"\x1b_Ga=d,d=i,i={d},") > end


def _read(fd: int, seconds: float) -> bytes:
    import select

    out = b""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if not select.select([fd], [], [], left)[0]:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out
