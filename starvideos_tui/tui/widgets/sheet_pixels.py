"""The contact sheet's thumbnails in the terminal's own pixels (Sixel or kitty; inside
tmux through its passthrough), with the Picture widget's machinery (widgets/picture.py).

Each task on the sheet has its own kitty image id (and placement id), so every cell on
screen is a picture of its own. A cell's drawing is made in the thumbnail worker's thread
(`make`, from the cached 480-pixel frame: the 48-pixel thumbnail is for half-blocks), kept
here (the last PIXELS_KEPT, by task id), and drawn by the sheet: the cell's picture area
is left blank and, on the line that ends it, `escape` draws the picture over those blank
cells at the cell's place on the screen. Only cells wholly in sight get pixels; kitty
placements of cells scrolled away, or of a sheet hidden or covered by a dialog, are taken
off the screen (`hide`); Sixel pixels go as the cells under them are written again.
Unicode placeholders (kitty 0.28+, and the only kitty way in tmux) are text: the sheet
draws their lines in the cell, as half-blocks would be.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from starvideos_tui.engine.frames import Picture as HalfBlocks
from starvideos_tui.engine.thumbnails import Job
from starvideos_tui.terminal.graphics import Graphics, kitty_hide
from starvideos_tui.terminal.placeholders import kitty_forget
from starvideos_tui.terminal.tmux import Pane, passthrough
from starvideos_tui.tui.escapes import to_terminal
from starvideos_tui.tui.widgets.picture import Drawing, draw, new_ident
from starvideos_tui.tui.widgets.sheet_cells import CELL_W, PICTURE, pixels_offset

if TYPE_CHECKING:
    from textual.app import App

PIXELS_KEPT = 96  # drawings kept: a big screen's cells (about 40) and pages either side


class SheetPixels:
    """The pixel drawings of a sheet's cells, and which kitty placements are on screen."""

    def __init__(self, graphics: Graphics, pane: Pane | None = None) -> None:
        self.graphics = graphics
        self.pane = pane  # inside tmux: where the pane is on the outer terminal
        self._ids: dict[str, tuple[int, int]] = {}  # task id: (image id, placement id)
        self._drawings: OrderedDict[str, tuple[Job, Drawing]] = OrderedDict()
        self._sent: set[str] = set()  # kitty: tasks whose image data the terminal holds
        self.placed: set[str] = set()  # kitty: tasks placed on the screen now
        self.drawn = 0  # escapes drawn (tests, measures)

    # -- made off the loop ---------------------------------------------------------------

    def make(self, job: Job, frame: Path) -> Drawing:
        """The drawing of `job`'s cell from the cached frame `frame`; in any thread."""
        from PIL import Image

        with Image.open(frame) as opened:
            image = opened.convert("RGB")
        ident, placement = self.ident(job.task_id)
        return draw(image, job.columns, job.rows, self.graphics, ident, placement)

    def ident(self, task_id: str) -> tuple[int, int]:
        ids = self._ids.get(task_id)
        if ids is None:
            ids = self._ids.setdefault(task_id, new_ident())
        return ids

    # -- on the loop ---------------------------------------------------------------------

    def drawing(self, task_id: str, job: Job) -> Drawing | None:
        """The cell's drawing, if one was made for this very file."""
        kept = self._drawings.get(task_id)
        if kept is None or kept[0] != job:
            return None
        self._drawings.move_to_end(task_id)
        return kept[1]

    def lacks(self, job: Job, thumb: object) -> bool:
        """A thumbnail made without its drawing (pixels came on later, or it was let go)."""
        return isinstance(thumb, HalfBlocks) and self.drawing(job.task_id, job) is None

    def add(self, app: App[Any], job: Job, drawing: Drawing) -> list[str]:
        """Keep `drawing` (its kitty data sent to the terminal now); the tasks whose
        drawings went to make room (their cells are drawn again)."""
        task_id = job.task_id
        if drawing.send and to_terminal(app, "".join(self._wrapped_data(drawing))):
            self._sent.add(task_id)
        self._drawings[task_id] = (job, drawing)
        self._drawings.move_to_end(task_id)
        gone = []
        while len(self._drawings) > PIXELS_KEPT:
            old, _ = self._drawings.popitem(last=False)
            gone.append(old)
        self.forget(app, gone)
        return gone

    def _wrapped_data(self, drawing: Drawing) -> tuple[str, ...]:
        if self.graphics.tmux and drawing.kind == "kitty":  # placeholders' come wrapped
            return tuple(passthrough(chunk) for chunk in drawing.send)
        return drawing.send

    def escape(self, task_id: str, drawing: Drawing, x: int, y: int) -> str:
        """The escape drawing `drawing` with its top left at the screen's cell (x, y), the
        cursor left where it was."""
        if drawing.kind not in ("sixel", "kitty"):
            return ""
        self.drawn += 1
        if drawing.kind == "kitty":
            self.placed.add(task_id)
        if self.graphics.tmux and self.pane is not None:
            return self.pane.wrap(x, y, drawing.escape)
        return f"\x1b7{Control.move_to(x, y).segment.text}{drawing.escape}\x1b8"

    def line(
        self,
        strips: list[Strip],
        task_ids: list[str],
        drawings: list[Drawing | None],
        region: Region,
        visible: Region,
        top: int,
    ) -> list[Strip]:
        """A line of a grid row's cells (the last of their pictures' area, `top` the
        first on the sheet, at `region` on the screen, `visible` of it in sight), each
        cell wholly in sight with its picture's escape after its left margin (kept when
        Textual crops the line to the cell)."""
        out = []
        for n, (strip, task_id, drawing) in enumerate(zip(strips, task_ids, drawings, strict=True)):
            escape = ""
            if drawing is not None:
                left, down = pixels_offset(drawing)
                x = region.x + n * CELL_W + PICTURE.x + left
                y = region.y + top + down
                if visible.contains_region(Region(x, y, drawing.columns, drawing.rows)):
                    escape = self.escape(task_id, drawing, x, y)
            if escape:
                segments = list(strip)
                strip = Strip([*segments[:1], control(escape), *segments[1:]], CELL_W)
            out.append(strip)
        return out

    def hide(self, app: App[Any], keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Kitty placements of every task but `keep` taken off the screen."""
        going = self.placed - keep
        if going:
            ids = [self.ident(task_id)[0] for task_id in going]
            to_terminal(app, "".join(self._wrapped(kitty_hide(ident)) for ident in ids))
            self.placed &= keep

    def forget(self, app: App[Any], task_ids: list[str]) -> None:
        """The terminal lets go of these tasks' images (kitty), and so do we."""
        out = []
        for task_id in task_ids:
            self._drawings.pop(task_id, None)
            self.placed.discard(task_id)
            if task_id in self._sent:
                self._sent.discard(task_id)
                out.append(self._wrapped(kitty_forget(self.ident(task_id)[0])))
        if out:
            to_terminal(app, "".join(out))

    def close(self, app: App[Any]) -> None:
        self.forget(app, list(self._sent | set(self._drawings)))

    def _wrapped(self, escape: str) -> str:
        return passthrough(escape) if self.graphics.tmux else escape


def control(escape: str) -> Segment:
    """Bytes for the terminal that take no cell (Textual counts control segments as none)."""
    return Segment(escape, Style(), ((ControlType.CURSOR_FORWARD, 0),))


def sheet_graphics(graphics: Graphics | None) -> Graphics | None:
    """The pixels the sheet draws in: the terminal's, except placed pictures through tmux's
    passthrough (Sixel, kitty placements). In xterm -ti vt340 inside tmux 3.3a the sheet's
    Sixel thumbnails were wiped by tmux's next redraw of those lines and not drawn again,
    leaving blank cells: the sheet keeps to half-blocks there (kitty's placeholders, text
    that tmux itself redraws, stay); the side panel's one picture is redrawn and keeps them."""
    if graphics is not None and graphics.tmux and not graphics.placeholders:
        return None
    return graphics
