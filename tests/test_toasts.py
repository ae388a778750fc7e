"""Toasts that every terminal can read (issue 25, item 6): in 16 colours and under NO_COLOR
a toast is drawn in the terminal's own palette, and its text must read on a white xterm
and on a black one, whichever theme the app guessed (a guess can be wrong: xterm over ssh,
tmux, --theme). Textual's own ansi toast is on ansi black (or white): black on black on a
white xterm with the dark theme.

The screen is taken as the terminal receives it (the compositor's strips through the app's
own line filters, NO_COLOR's among them) and every colour is resolved as xterm draws it:
"default" is the terminal's foreground or background, ansi 0-15 its palette.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_tui import until
from rich.color import Color as RichColor
from rich.color import ColorType
from rich.segment import Segment
from textual.notifications import SeverityLevel
from textual.widgets._toast import Toast

from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig

RGB = tuple[int, int, int]
XTERM = (  # xterm's default palette, ansi 0-15
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
)  # fmt: skip
WHITE_XTERM = ((0, 0, 0), (255, 255, 255))  # -fg black -bg white: (foreground, background)
BLACK_XTERM = ((255, 255, 255), (0, 0, 0))
SEVERITIES: tuple[SeverityLevel, ...] = ("information", "warning", "error")
LEAST_CONTRAST = 4.5  # WCAG AA for body text
FRAME = set("─│╭╮╰╯━┃┏┓┗┛═║╔╗╚╝▊▎▐▌")  # drawn in the severity's colour: seen, not read


def resolve(colour: RichColor | None, default: RGB) -> RGB:
    """A colour as xterm draws it: the default is the terminal's own."""
    if colour is None or colour.type is ColorType.DEFAULT:
        return default
    if colour.type is ColorType.STANDARD and colour.number is not None:
        return XTERM[colour.number]
    triplet = colour.get_truecolor()
    return (triplet.red, triplet.green, triplet.blue)


def contrast(one: RGB, two: RGB) -> float:
    def luminance(rgb: RGB) -> float:
        def channel(value: int) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def cells_of(segments: list[Segment], terminal: tuple[RGB, RGB]) -> list[tuple[str, RGB, RGB]]:
    """Each visible character with the foreground and background xterm draws it in."""
    out: list[tuple[str, RGB, RGB]] = []
    for segment in segments:
        if segment.control or not segment.text.strip():
            continue
        style = segment.style
        fg = resolve(style.color if style else None, terminal[0])
        bg = resolve(style.bgcolor if style else None, terminal[1])
        if style and style.reverse:
            fg, bg = bg, fg
        out.extend((char, fg, bg) for char in segment.text if not char.isspace())
    return out


def toast_segments(app: StarVideosApp, toast: Toast) -> list[Segment]:
    """The toast's part of the screen as the terminal receives it: filters applied."""
    strips = app.screen._compositor.render_strips()
    region = toast.region
    out: list[Segment] = []
    for y in range(region.y, region.bottom):
        strip = strips[y]
        for line_filter in app.get_line_filters():
            strip = strip.apply_filter(line_filter, app.screen.styles.background)
        out.extend(strip.crop(region.x, region.right))
    return out


def app_in(tmp_path: Path, *, light: bool) -> StarVideosApp:
    config = AppConfig(download_dir=tmp_path / "videos", bell=False, ansi=True, light=light)
    return StarVideosApp(watchlist=Watchlist(tmp_path / "w.json"), client=None, config=config)


def laid_out(app: StarVideosApp) -> list[Toast]:
    return [toast for toast in app.screen.query(Toast) if toast.region.width]


async def shown_toasts(app: StarVideosApp) -> dict[str, list[Segment]]:
    """One toast of each severity, with a title and without: their segments by text."""
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await pilot.pause()
        app.clear_notifications()
        for severity in SEVERITIES:
            app.notify(f"{severity} body text", title=f"{severity} title", severity=severity)
            app.notify(f"{severity} untitled", severity=severity)
        await until(pilot, lambda: len(laid_out(app)) == 2 * len(SEVERITIES), "the toasts")
        toasts = laid_out(app)
        return {str(toast.render()): toast_segments(app, toast) for toast in toasts}


@pytest.mark.parametrize("light", [False, True], ids=["dark-theme", "light-theme"])
@pytest.mark.parametrize("no_color", [False, True], ids=["16-colours", "NO_COLOR"])
async def test_every_toast_reads_on_a_white_and_a_black_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, light: bool, no_color: bool
) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is built
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    shown = await shown_toasts(app_in(tmp_path, light=light))
    for text, segments in shown.items():
        for name, terminal in (("white", WHITE_XTERM), ("black", BLACK_XTERM)):
            cells = [cell for cell in cells_of(segments, terminal) if cell[0] not in FRAME]
            words = "".join(char for char, _, _ in cells)
            assert "".join(text.split()) in words, (text, words)  # all of it drawn
            for char, fg, bg in cells:
                ratio = contrast(fg, bg)
                assert ratio >= LEAST_CONTRAST, (
                    f"{text!r} on a {name} xterm: {char!r} in {fg} on {bg} ({ratio:.1f}:1)"
                )


async def test_the_severity_is_told_without_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under NO_COLOR the frame's line says it: round, heavy, double."""
    monkeypatch.setenv("NO_COLOR", "1")
    shown = await shown_toasts(app_in(tmp_path, light=False))
    frames = {
        text.split()[0]: {s.text for s in segments if s.text.strip()}
        for text, segments in shown.items()
    }
    assert "╭" in "".join(frames["information"])
    assert "┏" in "".join(frames["warning"])
    assert "╔" in "".join(frames["error"])
