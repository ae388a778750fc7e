"""A picture on screen: one widget, usable anywhere, several at once.

`Picture` shows a PIL image in the best way the terminal has (`Graphics`, probed at start):

- half-blocks ("▀", two pixels a cell, the upper as the foreground): everywhere;
- Sixel: the picture's escape drawn over blank cells (through tmux's passthrough inside
  tmux, placed in the outer terminal's coordinates);
- kitty: the image sent once under this widget's own image id, then placed over blank
  cells (outside tmux), or drawn as Unicode placeholder cells (kitty 0.28+, and the
  only kitty way inside tmux: tmux keeps and redraws them as text).

Each instance has its own kitty image id (and placement id), so any number can be on
screen together. A picture partly scrolled out of sight draws no pixels (half-blocks and
placeholders are clipped as text is); scrolled away, hidden or removed, a kitty image is
taken off the screen.

Use:

    picture = Picture(app.config.graphics, app.picture_pane)  # None, None: half-blocks
    picture.set_image(image, columns=40, rows=12)  # draws now, on the loop
    picture.set_image(None, "no picture: the file is gone")  # a line of text instead
    picture.clear()                             # nothing

Many at once (a contact sheet), made off the loop, shown on it:

    drawing = picture.make(image, columns, rows)    # in a worker thread: encodes
    app.call_from_thread(picture.show, drawing)     # on the loop: sends, places

`redraw()` draws the pixels again after the terminal lost them (tmux repaints its pane on
a window switch or an attach: the app calls `redraw_all(app)` on focus-in and resize).
"""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.color import Color as RichColor
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.app import App
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.errors import NoWidget
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from starvideos_tui.terminal.graphics import (
    Graphics,
    cells,
    fitted,
    kitty_hide,
    kitty_place,
    kitty_send,
    sixel,
)
from starvideos_tui.terminal.placeholders import (
    colour_of,
    kitty_forget,
    kitty_virtual,
    placeholder_rows,
)
from starvideos_tui.terminal.tmux import Pane, passthrough
from starvideos_tui.tui.escapes import to_terminal

if TYPE_CHECKING:
    from PIL.Image import Image

UPPER_HALF = "▀"
_NO_STYLE = Style()
# Image ids: 24 bits (a placeholder's colour carries them), this process's own range.
_ID_BASE = 0x100000 * (1 + os.getpid() % 14)
_numbers = itertools.count(1)


def new_ident() -> tuple[int, int]:
    """A kitty image id and placement id no other picture of this process has."""
    number = next(_numbers)
    return _ID_BASE + number % 0x100000, number


@dataclass(frozen=True)
class Drawing:
    """A picture made ready for the screen (off the loop): `lines` of cells (half-blocks
    or placeholders), or `escape` drawing it at the cursor over blank cells (Sixel, a
    kitty placement); `send` is written to the terminal once, before (kitty's data)."""

    kind: str  # "blocks", "placeholders", "sixel" or "kitty"
    columns: int
    rows: int
    lines: tuple[Strip, ...] = ()
    escape: str = ""
    send: tuple[str, ...] = field(default=(), repr=False)


def blocks(image: Image, columns: int, rows: int) -> Drawing:
    """`image` in at most `columns` x `rows` half-block cells, its shape kept (a cell is
    about twice as tall as wide: two pixels a cell)."""
    columns, rows = max(1, columns), max(1, rows)
    wide = max(1, min(columns, round(image.width * rows * 2 / max(1, image.height))))
    high = max(1, min(rows, round(image.height * wide / max(1, image.width) / 2)))
    raw = image.convert("RGB").resize((wide, high * 2)).tobytes()
    rgb = RichColor.from_rgb
    lines = []
    stride = wide * 3
    for y in range(high):
        top, bottom = raw[2 * y * stride : (2 * y + 1) * stride], raw[(2 * y + 1) * stride :]
        segments = [
            Segment(
                UPPER_HALF,
                Style(
                    color=rgb(top[i], top[i + 1], top[i + 2]),
                    bgcolor=rgb(bottom[i], bottom[i + 1], bottom[i + 2]),
                ),
            )
            for i in range(0, stride, 3)
        ]
        lines.append(Strip(segments, wide))
    return Drawing("blocks", wide, high, tuple(lines))


def draw(
    image: Image,
    columns: int,
    rows: int,
    graphics: Graphics | None,
    ident: int,
    placement: int = 1,
) -> Drawing:
    """`image` in at most `columns` x `rows` cells, the way `graphics` says (None:
    half-blocks), as image `ident`. Safe in any thread: it only encodes."""
    if graphics is None:
        return blocks(image, columns, rows)
    scaled = fitted(image, graphics, max(1, columns), max(1, rows))
    width, height = cells(scaled, graphics)
    if graphics.protocol == "sixel":
        return Drawing("sixel", width, height, escape=sixel(scaled))
    png = io.BytesIO()
    scaled.save(png, format="PNG", compress_level=1)
    if graphics.placeholders:
        colour = Style(color=RichColor.from_rgb(*colour_of(ident)))
        lines = tuple(
            Strip([Segment(text, colour)], width) for text in placeholder_rows(ident, width, height)
        )
        send = kitty_virtual(png.getvalue(), ident, width, height)
        if graphics.tmux:
            send = [passthrough(chunk) for chunk in send]
        return Drawing("placeholders", width, height, lines, send=tuple(send))
    return Drawing(
        "kitty",
        width,
        height,
        escape=kitty_place(ident, width, height, placement),
        send=(kitty_send(png.getvalue(), ident),),
    )


class Picture(Widget):
    """One picture (or one line of text saying why there is none)."""

    DEFAULT_CSS = "Picture { height: auto; width: auto; }"

    def __init__(
        self, graphics: Graphics | None = None, pane: Pane | None = None, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.ident, self.placement = new_ident()
        self.graphics = graphics
        self.pane = pane  # inside tmux: where the pane is on the outer terminal
        self.drawing: Drawing | None = None
        self.text = ""
        self.shown_pixels = 0  # escapes drawn (tests, measures)
        self._kitty_placed = False  # a direct kitty placement may be on the screen
        self._kitty_data = False  # the terminal holds this widget's image data

    # -- the API -------------------------------------------------------------------------

    def make(self, image: Image, columns: int, rows: int) -> Drawing:
        """`image` made ready for `show` in at most `columns` x `rows` cells; in any thread."""
        return draw(image, columns, rows, self.graphics, self.ident, self.placement)

    def set_image(
        self,
        image: Image | None,
        text_if_none: str = "",
        *,
        columns: int | None = None,
        rows: int | None = None,
    ) -> None:
        """Show `image` (at most `columns` x `rows` cells; by default the room the widget
        has), or, for None, the line `text_if_none`."""
        if image is None:
            self.show(None, text_if_none)
            return
        columns = columns or self.size.width or 40
        rows = rows or self.size.height or 12
        self.show(self.make(image, columns, rows))

    def show(self, drawing: Drawing | None, text: str = "") -> None:
        """Show `drawing` (made by `make`), or the line `text` when it is None."""
        if self._over(drawing):
            return
        if drawing is not None and drawing.send:
            for chunk in drawing.send:
                to_terminal(self.app, chunk)
            self._kitty_data = True
        if drawing is None or drawing.kind != "kitty":
            self._take_kitty_away()
        if drawing is None and self._kitty_data and self.graphics and self.graphics.placeholders:
            self._forget()
        self.drawing, self.text = drawing, text
        self.refresh(layout=True)

    def _over(self, drawing: Drawing | None) -> bool:
        """A picture in pixels the same size as the one on screen (a video's next frame):
        drawn straight over it, its blank cells not written again (which would flash the
        terminal's background between frames and double the bytes). False when it is not
        in sight whole, or not in pixels: then it is drawn as the screen is."""
        old = self.drawing
        if (
            drawing is None
            or old is None
            or drawing.kind not in ("sixel", "kitty")
            or (old.kind, old.columns, old.rows) != (drawing.kind, drawing.columns, drawing.rows)
            or (drawing.kind == "kitty" and not self._kitty_placed)
        ):
            return False
        try:
            where = self.screen.find_widget(self)
        except (NoScreen, NoWidget, NoMatches):
            return False
        if where.visible_region != where.region or not self.screen.is_active:
            return False
        x, y = where.region.x, where.region.y
        if self.graphics is not None and self.graphics.tmux and self.pane is not None:
            escape = self.pane.wrap(x, y, drawing.escape)
        else:
            escape = f"\x1b7{Control.move_to(x, y).segment.text}{drawing.escape}\x1b8"
        written = to_terminal(self.app, "".join(drawing.send) + escape)
        if written:
            self.drawing = drawing
            self.shown_pixels += 1
        return written

    def clear(self) -> None:
        """No picture and no text; a kitty image is taken off the screen now."""
        self.show(None, "")

    def redraw(self) -> None:
        """Draw the pixels again (the terminal painted over them)."""
        if self.drawing is not None and self.drawing.kind in ("sixel", "kitty"):
            self.refresh()

    # -- Textual -------------------------------------------------------------------------

    def on_hide(self) -> None:
        self._take_kitty_away()

    def on_show(self) -> None:
        self.redraw()

    def on_unmount(self) -> None:
        self._take_kitty_away()
        if self._kitty_data:
            self._forget()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        if self.drawing is not None:
            return self.drawing.columns
        return len(self.text)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.drawing is not None:
            return self.drawing.rows
        return 1 if self.text else 0

    def render_lines(self, crop: Region) -> list[Strip]:
        drawing = self.drawing
        style = self.rich_style
        if drawing is None or drawing.kind in ("blocks", "placeholders"):
            source = drawing.lines if drawing else (Strip([Segment(self.text, style)]),)
            return [
                (source[y] if y < len(source) else Strip.blank(0)).crop_extend(
                    crop.x, crop.right, style
                )
                for y in range(crop.y, crop.bottom)
            ]
        blank = Segment(" " * crop.width, style)
        lines = [Strip([blank], crop.width) for _ in range(crop.height)]
        escape = self._pixels(crop, drawing)
        if escape and lines:
            lines[-1] = Strip([blank, _control(escape)], crop.width)
        return lines

    def _pixels(self, crop: Region, drawing: Drawing) -> str:
        """The escape that draws `drawing` over this widget (or takes a kitty one away when
        it is not all in sight); empty when there is nothing to write."""
        try:
            if not self.screen.is_active:
                return ""
            where = self.screen.find_widget(self)
        except (NoScreen, NoWidget, NoMatches):
            return ""
        whole = where.visible_region == where.region and drawing.columns <= where.region.width
        if not whole:
            if self._kitty_placed:  # partly out of sight: drawn again when whole
                self._kitty_placed = False
                return self._wrapped(kitty_hide(self.ident))
            return ""
        region = where.region
        self.shown_pixels += 1
        self._kitty_placed = drawing.kind == "kitty"
        if self.graphics is not None and self.graphics.tmux and self.pane is not None:
            return self.pane.wrap(region.x, region.y, drawing.escape)
        return (
            Control.move_to(region.x, region.y).segment.text
            + drawing.escape
            + Control.move_to(region.x + crop.right, region.y + crop.bottom - 1).segment.text
        )

    def _wrapped(self, escape: str) -> str:
        return passthrough(escape) if self.graphics and self.graphics.tmux else escape

    def _take_kitty_away(self) -> None:
        if self._kitty_placed:
            self._kitty_placed = not to_terminal(self.app, self._wrapped(kitty_hide(self.ident)))

    def _forget(self) -> None:
        if to_terminal(self.app, self._wrapped(kitty_forget(self.ident))):
            self._kitty_data = False


def redraw_all(app: App[Any]) -> int:
    """Every picture on the screen drawn again (after tmux repainted it); how many."""
    shown = 0
    try:
        pictures = list(app.screen.query(Picture))
    except (NoScreen, NoMatches):
        return 0
    for picture in pictures:
        picture.redraw()
        shown += 1
    for widget in app.screen.query(".-pixels"):  # a contact sheet's pictures
        widget.refresh()
    return shown


def _control(escape: str) -> Segment:
    """Bytes for the terminal that take no cell (Textual counts control segments as none)."""
    return Segment(escape, _NO_STYLE, ((ControlType.CURSOR_FORWARD, 0),))
