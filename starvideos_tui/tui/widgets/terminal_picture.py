"""A picture the terminal draws in its own pixels (graphics.py: kitty or Sixel), placed
over the cells this widget holds.

Textual draws text, so the widget's lines are blank cells in its background, and the last
line it draws ends with the picture's escape: the cursor moved to the widget's top-left
corner, the picture, the cursor put back where that line ends. Drawn after the blanks of
every line above, the picture is on top whenever any part of the widget is redrawn. A
widget scrolled partly out of sight draws no picture (a kitty one is taken away).
"""

from __future__ import annotations

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.errors import NoWidget
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from starvideos_tui.terminal.graphics import kitty_hide
from starvideos_tui.tui.escapes import to_terminal

_NO_STYLE = Style()
KITTY_ID = 4_517  # the panel's one picture: each new one replaces it


class TerminalPicture(Widget):
    DEFAULT_CSS = "TerminalPicture { height: auto; width: 1fr; }"

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.protocol = ""
        self.columns = 0
        self.rows = 0
        self.picture = ""  # the escape that draws it at the cursor
        self._kitty_shown = False

    def show(self, protocol: str, columns: int, rows: int, picture: str, send: str = "") -> None:
        """Draw `picture` (an escape drawing at the cursor) over `columns` x `rows` cells;
        `send` goes to the terminal first, once (a kitty image's data)."""
        to_terminal(self.app, send)
        self.protocol, self.columns, self.rows, self.picture = protocol, columns, rows, picture
        self.refresh(layout=True)

    def clear(self) -> None:
        """No picture: a kitty one is taken off the screen now."""
        self.picture = ""
        self.rows = 0
        self._hide_kitty()
        self.refresh(layout=True)

    def on_hide(self) -> None:
        self._hide_kitty()

    def on_unmount(self) -> None:
        self._hide_kitty()

    def _hide_kitty(self) -> None:
        if self._kitty_shown and to_terminal(self.app, kitty_hide(KITTY_ID)):
            self._kitty_shown = False

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.columns

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.rows

    def render_lines(self, crop: Region) -> list[Strip]:
        blank = Segment(" " * crop.width, self.rich_style)
        lines = [Strip([blank], crop.width) for _ in range(crop.height)]
        if not self.picture or not lines:
            return lines
        try:
            if not self.screen.is_active:
                return lines
            where = self.screen.find_widget(self)
        except (NoScreen, NoWidget, NoMatches):
            return lines
        if where.visible_region != where.region or self.columns > where.region.width:
            if self._kitty_shown:  # partly out of sight: taken away, drawn again when whole
                escape = kitty_hide(KITTY_ID)
                self._kitty_shown = False
                lines[-1] = Strip([blank, _control(escape)], crop.width)
            return lines
        region = where.region
        end_x, end_y = region.x + crop.right, region.y + crop.bottom - 1
        escape = (
            Control.move_to(region.x, region.y).segment.text
            + self.picture
            + Control.move_to(end_x, end_y).segment.text
        )
        self._kitty_shown = self.protocol == "kitty"
        lines[-1] = Strip([blank, _control(escape)], crop.width)
        return lines


def _control(escape: str) -> Segment:
    """Bytes for the terminal that take no cell (Textual counts control segments as none)."""
    return Segment(escape, _NO_STYLE, [(ControlType.CURSOR_FORWARD, 0)])
