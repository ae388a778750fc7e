"""The side panel: the whole record of the selected task, untrusted text shown literally."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.formatting import ago, link_left, media_summary, shorten
from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.engine.frames import SPOTS, PreviewError, cached_frames
from starvideos_tui.terminal.graphics import Graphics
from starvideos_tui.terminal.tmux import Pane
from starvideos_tui.tui.widgets.picture import Drawing, Picture
from starvideos_tui.tui.widgets.playing import PanelPlayback


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


class DetailPanel(VerticalScroll):
    """Shows one task; hidden until opened. A saved task's picture is taken in a thread
    (the table never waits for it) and `next_frame` steps through the filmstrip."""

    DEFAULT_CSS = """
    DetailPanel > Static { width: 1fr; }
    DetailPanel > #detail-preview { height: auto; margin-bottom: 1; }
    DetailPanel > #detail-picture { display: none; }
    """
    MAX_PICTURE_ROWS = 12

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.preview = "blocks"  # or "off" (NO_COLOR, --preview off)
        self.graphics: Graphics | None = None  # the terminal draws pictures itself (probed)
        self.pane: Pane | None = None  # inside tmux: where the pane is on the outer terminal
        self.cache: Path | None = None  # where frames are kept; None: no pictures
        # A running task's expected finish (eta.py), as the app's history says.
        self.estimate: Callable[[TaskRecord, float], Estimate] | None = None
        self.frame = 0
        self._wanted: tuple[str, str, int, int, int] | None = (
            None  # (path, sha256, frame, width, rows)
        )
        self._shown: tuple[str, str, int, int, int] | None = None
        self._record: TaskRecord | None = None
        self._described: (
            tuple[
                TaskRecord, DownloadState | None, float, Mapping[str, str] | None, Estimate | None
            ]
            | None
        ) = None  # what the body says
        self.playback: PanelPlayback | None = None

    def on_mount(self) -> None:
        caption = self.query_one("#detail-preview", Static)
        self.playback = PanelPlayback(self.picture, caption.update, self.picture_room)

    def on_hide(self) -> None:
        self.stop_playing()  # the panel closed

    def on_unmount(self) -> None:
        if self.playback is not None:
            self.playback.stop()  # the app ends: its thread too

    def on_resize(self) -> None:
        if self.playback is not None:
            self.playback.resized()

    def play(self) -> bool:
        """`space`: play the selected saved video in the picture, or pause it; False when
        there is none to play (no saved task, no pictures)."""
        record, playback = self._record, self.playback
        if playback is None or record is None or self._wanted is None or not record.local_path:
            return False
        if playback.task_id == record.id:
            playback.toggle()
        else:
            playback.start(record.id, Path(record.local_path))
        return True

    def seek(self, seconds: float) -> bool:
        """`←`/`→` while a video plays or is paused: False when none is."""
        if self.playback is None or not self.playback.active:
            return False
        self.playback.seek(seconds)
        return True

    def stop_playing(self) -> None:
        if self.playback is not None and self.playback.active:
            self.playback.stop()
            self._shown = self._wanted = None  # the still picture comes back
            self.call_later(self._ask_picture, self._record)

    def compose(self):  # type: ignore[no-untyped-def]
        yield Picture(id="detail-picture")
        yield Static(id="detail-preview", markup=False)
        yield _Body(id="detail-body", markup=False)

    def next_frame(self) -> bool:
        """`p`: the next frame of the filmstrip; False when there is no picture to step."""
        if self._wanted is None:
            return False
        self.stop_playing()
        self.frame = (self.frame + 1) % len(SPOTS)
        self._ask_picture(self._record)
        return True

    def _ask_picture(self, record: TaskRecord | None, *, laid_out: bool = False) -> None:
        if not self.size.height and not laid_out:  # just opened: sized once laid out
            self.call_after_refresh(partial(self._ask_picture, record, laid_out=True))
            return
        box = self.query_one("#detail-preview", Static)
        graphic = self.picture
        graphic.graphics, graphic.pane = self.graphics, self.pane
        saved = record is not None and record.local_path and record.sha256
        if self.preview == "off" or self.cache is None or not saved or record is None:
            self._wanted = None
            box.display = False
            graphic.clear()
            graphic.display = False
            return
        box.display = True
        graphic.display = True
        width, rows = self.picture_room()
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

    @property
    def picture(self) -> Picture:
        return self.query_one("#detail-picture", Picture)

    def picture_room(self) -> tuple[int, int]:
        """The columns and rows the picture may take."""
        width = max(8, (self.scrollable_content_region.width or 40) - 1)
        rows = max(4, min(self.MAX_PICTURE_ROWS, (self.size.height or 24) // 2))
        return width, rows

    def _take_picture(self, wanted: tuple[str, str, int, int, int], cache: Path) -> None:
        """In a thread: frames decoded (or read from the cache) and scaled, as half-blocks
        or as the terminal's own picture; then shown."""
        from PIL import Image

        path, sha256, frame, width, rows = wanted
        drawing: Drawing | None = None
        caption = Text(f"frame {frame + 1} of {len(SPOTS)} · p: next · space: play", style="dim")
        try:
            frames = cached_frames(Path(path), sha256, cache)
            with Image.open(frames[frame]) as opened:
                drawing = self.picture.make(opened.convert("RGB"), width, rows)
        except PreviewError as exc:
            caption = Text(f"no picture: {exc}", style="dim")
        except OSError as exc:
            caption = Text(f"no picture: {exc.strerror or exc}", style="dim")
        self.app.call_from_thread(self._show_picture, wanted, caption, drawing)

    def _show_picture(
        self, wanted: tuple[str, str, int, int, int], caption: Text, drawing: Drawing | None
    ) -> None:
        if wanted != self._wanted or (self.playback is not None and self.playback.active):
            return  # another task (or frame) was asked for meanwhile, or a video plays
        self._shown = wanted
        self.picture.show(drawing)
        self.query_one("#detail-preview", Static).update(caption)

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
        playback = self.playback
        if playback is not None and playback.active and playback.task_id != (record and record.id):
            playback.stop()  # the selection moved: the still picture of the new one
            self._shown = self._wanted = None
        if self.playback is None or not self.playback.active:
            self._ask_picture(record)
        if record is None:
            self._described = None
            body.update(Text("No task selected. Press a to add task ids."))
        else:
            estimate = self.estimate(record, now) if self.estimate is not None else None
            self._described = (record, download, now, colours, estimate)
            self.redescribe()

    def redescribe(self) -> None:
        """The record's text for the body's width now (0 before the first layout): again
        when a scrollbar comes or goes, so that the heading cut to it never wraps."""
        if self._described is not None:
            body = self.query_one("#detail-body", Static)
            width = body.content_region.width or None
            body.update(describe(*self._described, width))


class _Body(Static):
    """The record's text, described again for each new width (a scrollbar came or went)."""

    _width = 0

    def on_resize(self) -> None:
        width = self.content_region.width
        if width != self._width and isinstance(self.parent, DetailPanel):
            self._width = width
            self.parent.redescribe()
