"""The side panel: the whole record of the selected task, untrusted text shown literally."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.formatting import ago, link_left, media_summary, shorten
from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.engine.frames import (
    SPOTS,
    UPPER_HALF,
    Picture,
    PreviewError,
    cached_frames,
    picture,
)
from starvideos_tui.terminal.graphics import Graphics, cells, fitted, kitty_place, kitty_send, sixel
from starvideos_tui.tui.widgets.terminal_picture import KITTY_ID, TerminalPicture


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    try:
        return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):  # a time the calendar cannot show
        return f"{stamp:g} (Unix time)"


def describe(
    record: TaskRecord,
    download: DownloadState | None,
    now: float | None = None,
    colours: Mapping[str, str] | None = None,
    estimate: Estimate | None = None,
    width: int | None = None,
) -> Text:
    """The record as plain Text: nothing from the API can be read as markup. `colours`
    are the theme's (the table's), so the status and the error read as in the row. The id
    heading it is cut from its front to `width` cells (the panel's), never wrapped: what
    tells one id from the next is its end (the filter still finds it whole)."""
    now = time.time() if now is None else now
    colours = colours or {}
    look = status_look(record, download)
    out = Text()
    out.append(f"{look.glyph} {look.word}\n", style=f"bold {colours.get(look.colour, '')}".strip())
    out.append(f"{shorten(record.id, width, keep_end=True) if width else record.id}\n\n")

    def field(name: str, value: object, style: str = "") -> None:
        if value is None or value == "":
            return
        out.append(f"{name:<11}", style="dim")
        out.append(clean(str(value), keep_newlines=True) + "\n", style=style)

    if record.kind is TaskStatus.FAILED:
        out.append("Error\n", style=f"bold {colours.get('error', '')}".strip())
        out.append(clean(record.error or "no reason given", keep_newlines=True) + "\n\n")
    field("label", record.label)
    field("prompt", record.prompt)
    field("status", record.status or "new (not checked yet)")
    field("model", record.model)
    field("created", _when(record.created) if record.created else None)
    if estimate is not None and not record.is_final:
        _expected(field, estimate, now, colours.get("warning", ""))
    field("length", f"{record.actual_duration:g} s" if record.actual_duration else None)
    if record.video_url:
        field("video url", record.video_url)
        deadline = record.link_deadline
        if deadline is not None and not record.local_path:
            left, urgency = link_left(record, now)
            when = f"{_when(deadline)} ({left})" if left != "expired" else f"{_when(deadline)}"
            verb = "expired" if deadline <= now else "expires"
            field(verb, when, colours.get(urgency, "") if urgency else "")
        elif deadline is not None:
            field("expires", _when(deadline))
        else:
            age = ago(now - record.video_url_at) if record.video_url_at else "?"
            field("link age", f"{age} (the link does not say when it expires)")
    if download is not None and download.phase == "downloading":
        total = f" of {human_size(download.total)}" if download.total else ""
        field("download", f"{human_size(download.done)}{total}")
    field("saved to", record.local_path)
    field("size", f"{record.size:,} bytes" if record.size is not None else None)
    field("sha256", record.sha256)
    field("video", media_summary(record.media))
    field("not saved", record.download_error, colours.get("error", ""))
    field("added", _when(record.added_at))
    field("checked", _when(record.checked_at) if record.checked_at else "never")
    field("changed", _when(record.updated_at) if record.updated_at else None)
    if record.params:
        field("request", ", ".join(f"{k}={v}" for k, v in record.params.items() if k != "prompt"))
    problem = record.last_problem
    if problem is not None:
        out.append("\nLast problem\n", style="bold")
        code = f"HTTP {problem.status_code} " if problem.status_code else ""
        field("what", f"{code}{problem.kind}")
        field("message", problem.message)
        field("body", problem.body_excerpt)
        field("at", _when(problem.at))
    if record.history:
        out.append("\nHistory\n", style="bold")
        for status, at in record.history:
            out.append(f"{_when(at)}  ", style="dim")
            out.append(clean(status) + "\n")
    return out


def _expected(
    field: Callable[[str, object, str], None], estimate: Estimate, now: float, warning: str
) -> None:
    """When a running task should be done, or that it is stalled, and from what."""
    running = ago(estimate.running)
    if estimate.stalled and estimate.typical is not None:
        said = f"running {running}; {estimate.compared} past tasks took {ago(estimate.typical)}"
        field("stalled", said, warning)
    elif estimate.stalled:
        field("stalled", f"running {running}, with no past tasks to compare", warning)
    elif estimate.eta is not None and estimate.typical is not None:
        left = ago(max(0.0, estimate.eta - now))
        typical = ago(estimate.typical)
        said = f"{_when(estimate.eta)} (in ~{left}; {estimate.compared} past tasks took {typical})"
        field("expected", said, "")


Drawn = tuple[str, int, int, str, str]  # TerminalPicture.show's: protocol, size, escapes


def _drawn(frame: Path, graphics: Graphics, columns: int, max_rows: int) -> Drawn:
    """The frame at `frame` as the terminal's own picture (in a thread: Sixel takes a few
    tens of milliseconds to encode)."""
    import io

    from PIL import Image

    with Image.open(frame) as opened:
        image = fitted(opened, graphics, columns, max_rows)
    width, height = cells(image, graphics)
    if graphics.protocol == "kitty":
        png = io.BytesIO()
        image.save(png, format="PNG")
        send = kitty_send(png.getvalue(), KITTY_ID)
        return "kitty", width, height, kitty_place(KITTY_ID, width, height), send
    return "sixel", width, height, sixel(image), ""


def picture_text(picture: Picture) -> Text:
    """Half-block cells as text: the upper pixel the foreground, the lower the background."""
    out = Text(no_wrap=True, overflow="crop")
    for y, row in enumerate(picture.rows):
        if y:
            out.append("\n")
        for top, bottom in row:
            out.append(
                UPPER_HALF,
                Style(color=RichColor.from_rgb(*top), bgcolor=RichColor.from_rgb(*bottom)),
            )
    return out


class DetailPanel(VerticalScroll):
    """Shows one task; hidden until opened. A saved task's picture is taken in a thread
    (the table never waits for it) and `next_frame` steps through the filmstrip."""

    DEFAULT_CSS = """
    DetailPanel > Static { width: 1fr; }
    DetailPanel > #detail-preview { height: auto; margin-bottom: 1; }
    DetailPanel > #detail-graphic { display: none; }
    """
    MAX_PICTURE_ROWS = 12

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.preview = "blocks"  # or "off" (NO_COLOR, --preview off)
        self.graphics: Graphics | None = None  # the terminal draws pictures itself (probed)
        self.cache: Path | None = None  # where frames are kept; None: no pictures
        # A running task's expected finish (eta.py), as the app's history says.
        self.estimate: Callable[[TaskRecord, float], Estimate] | None = None
        self.frame = 0
        self._wanted: tuple[str, str, int, int, int] | None = (
            None  # (path, sha256, frame, width, rows)
        )
        self._shown: tuple[str, str, int, int, int] | None = None
        self._record: TaskRecord | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield TerminalPicture(id="detail-graphic")
        yield Static(id="detail-preview", markup=False)
        yield Static(id="detail-body", markup=False)

    def next_frame(self) -> bool:
        """`p`: the next frame of the filmstrip; False when there is no picture to step."""
        if self._wanted is None:
            return False
        self.frame = (self.frame + 1) % len(SPOTS)
        self._ask_picture(self._record)
        return True

    def _ask_picture(self, record: TaskRecord | None, *, laid_out: bool = False) -> None:
        if not self.size.height and not laid_out:  # just opened: sized once laid out
            self.call_after_refresh(partial(self._ask_picture, record, laid_out=True))
            return
        box = self.query_one("#detail-preview", Static)
        graphic = self.query_one(TerminalPicture)
        saved = record is not None and record.local_path and record.sha256
        if self.preview == "off" or self.cache is None or not saved or record is None:
            self._wanted = None
            box.display = False
            if graphic.picture:
                graphic.clear()
            graphic.display = False
            return
        box.display = True
        graphic.display = self.graphics is not None
        width = max(8, (self.scrollable_content_region.width or 40) - 1)
        rows = max(4, min(self.MAX_PICTURE_ROWS, (self.size.height or 24) // 2))
        wanted = (record.local_path or "", record.sha256 or "", self.frame, width, rows)
        if wanted in (self._wanted, self._shown):
            return
        self._wanted = wanted
        self.run_worker(
            partial(self._take_picture, wanted, self.cache),
            thread=True,
            group="preview",
            exclusive=True,
            exit_on_error=False,
        )

    def _take_picture(self, wanted: tuple[str, str, int, int, int], cache: Path) -> None:
        """In a thread: frames decoded (or read from the cache) and scaled, as half-blocks
        or as the terminal's own picture; then shown."""
        path, sha256, frame, width, rows = wanted
        drawn: Drawn | None = None
        caption = Text(f"frame {frame + 1} of {len(SPOTS)} · p: next", style="dim")
        try:
            frames = cached_frames(Path(path), sha256, cache)
            if self.graphics is not None:
                drawn = _drawn(frames[frame], self.graphics, width, rows)
                shown = caption
            else:
                shown = picture_text(picture(frames[frame], width, rows))
                shown.append("\n")
                shown.append_text(caption)
        except PreviewError as exc:
            shown = Text(f"no picture: {exc}", style="dim")
        except OSError as exc:
            shown = Text(f"no picture: {exc.strerror or exc}", style="dim")
        self.app.call_from_thread(self._show_picture, wanted, shown, drawn)

    def _show_picture(
        self, wanted: tuple[str, str, int, int, int], shown: Text, drawn: Drawn | None
    ) -> None:
        if wanted != self._wanted:
            return  # another task (or frame) was asked for meanwhile
        self._shown = wanted
        graphic = self.query_one(TerminalPicture)
        if drawn is None:
            if graphic.picture:
                graphic.clear()
        else:
            graphic.show(*drawn)
        self.query_one("#detail-preview", Static).update(shown)

    def show_record(
        self,
        record: TaskRecord | None,
        download: DownloadState | None,
        now: float,
        colours: Mapping[str, str] | None = None,
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if record is None or self._record is None or record.id != self._record.id:
            self.frame = 0  # another task: its filmstrip starts at its first frame
        self._record = record
        self._ask_picture(record)
        if record is None:
            body.update(Text("No task selected. Press a to add task ids."))
        else:
            estimate = self.estimate(record, now) if self.estimate is not None else None
            width = body.content_region.width or None  # 0 before the first layout
            body.update(describe(record, download, now, colours, estimate, width))
