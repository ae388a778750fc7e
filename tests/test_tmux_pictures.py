"""Pictures inside tmux: passthrough's bytes (ESCs doubled, the cursor saved, moved to the
pane's outer cell and restored), kitty's Unicode placeholders as its protocol writes them
(no kitty 0.28 here: tested against the published protocol), what a terminal's answers
through tmux mean, and a real tmux 3.3: whether passthrough is on, where a pane is, when
it comes back into sight, and the terminal outside asked through it."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import sys
import termios
import textwrap
import threading
import time
from pathlib import Path

import pytest
from helpers_proc import Spawn, Tmux
from helpers_tui import AppFactory, row_ids, running, saved_task, until
from PIL import Image

from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal.graphics import Graphics, reading
from starvideos_tui.terminal.placeholders import (
    DIACRITICS,
    colour_of,
    kitty_virtual,
    placeholder_rows,
    version_at_least,
)
from starvideos_tui.terminal.tmux import Pane, passthrough, passthrough_on
from starvideos_tui.tui.widgets.picture import draw

E = "\x1b"


def test_passthrough_doubles_every_esc_and_ends_with_st() -> None:
    sixel = f"{E}P0;1;0q#0;2;0;0;0~~-{E}\\"
    assert passthrough(sixel) == f"{E}Ptmux;{E}{E}P0;1;0q#0;2;0;0;0~~-{E}{E}\\{E}\\"
    kitty = f"{E}_Ga=p,i=5,q=2{E}\\"
    assert passthrough(kitty) == f"{E}Ptmux;{E}{E}_Ga=p,i=5,q=2{E}{E}\\{E}\\"


def test_a_picture_in_a_pane_is_placed_in_the_outer_terminals_cells() -> None:
    """The pane at row 1, column 40 of the terminal (a split, the status line on top):
    its cell (2, 3) is the terminal's row 5, column 43 (1-based), the cursor saved and
    restored around the picture, inside one passthrough."""
    pane = Pane({}, top=1, left=40)
    picture = f"{E}P0;1;0q~{E}\\"
    assert pane.wrap(2, 3, picture) == passthrough(f"{E}7{E}[5;43H{picture}{E}8")


def test_placeholder_cells_name_their_row_column_and_image() -> None:
    assert len(DIACRITICS) == 297
    assert DIACRITICS[:3] == ("\u0305", "\u030d", "\u030e") and DIACRITICS[-1] == "\U0001d244"
    ident = 0x01ABCDEF
    rows = placeholder_rows(ident, 3, 2)
    high = DIACRITICS[0x01]
    cell = "\U0010eeee"
    assert rows == [
        f"{cell}\u0305\u0305{high}{cell}\u0305\u030d{high}{cell}\u0305\u030e{high}",
        f"{cell}\u030d\u0305{high}{cell}\u030d\u030d{high}{cell}\u030d\u030e{high}",
    ]
    assert colour_of(ident) == (0xAB, 0xCD, 0xEF)  # the low 24 bits, as the foreground
    assert placeholder_rows(0x00ABCDEF, 1, 1) == [f"{cell}\u0305\u0305"]  # no high byte
    with pytest.raises(ValueError, match="297"):
        placeholder_rows(1, 298, 1)


def test_the_image_goes_with_a_virtual_placement_in_chunks() -> None:
    png = bytes(range(256)) * 20  # 5,120 bytes: 6,828 of base64, two chunks
    chunks = kitty_virtual(png, 77, 30, 9)
    assert len(chunks) == 2
    assert chunks[0].startswith(f"{E}_Ga=T,U=1,f=100,t=d,i=77,c=30,r=9,q=2,m=1;")
    assert chunks[1].startswith(f"{E}_Gm=0;") and chunks[1].endswith(f"{E}\\")
    assert all(len(c) <= 4096 + 64 for c in chunks)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("kitty(0.28.0)", True),
        ("kitty(0.31.2)", True),
        ("kitty(0.26.5)", False),
        ("XTerm(379)", False),
        ("kitty(x)", False),
        ("", False),
    ],
)
def test_placeholders_need_kitty_0_28(answer: str, expected: bool) -> None:
    assert version_at_least(answer) is expected


def test_what_the_terminal_outside_answers_through_tmux() -> None:
    ok = f"{E}_Gi=31;OK{E}\\"
    new_kitty = f"{ok}{E}P>|kitty(0.35.1){E}\\{E}[?62;c"
    old_kitty = f"{ok}{E}P>|kitty(0.26.5){E}\\{E}[?62;c"
    xterm = f"{E}P>|XTerm(379){E}\\{E}[?63;1;2;4;6;9;15;16;22;28c"
    assert reading(new_kitty, (9, 20), tmux=True) == Graphics("kitty", 9, 20, True, True)
    assert reading(old_kitty, (9, 20), tmux=True) is None  # half-blocks, and the hint
    assert reading(old_kitty, (9, 20)) == Graphics("kitty", 9, 20)  # outside tmux: fine
    assert reading(xterm, (6, 13), tmux=True) == Graphics("sixel", 6, 13, tmux=True)


def test_a_kitty_picture_inside_tmux_is_placeholder_text_and_wrapped_data() -> None:
    graphics = Graphics("kitty", 10, 20, tmux=True, placeholders=True)
    ident = 0x2A0105
    drawing = draw(Image.new("RGB", (200, 100), (1, 2, 3)), 20, 10, graphics, ident)
    assert drawing.kind == "placeholders" and (drawing.columns, drawing.rows) == (20, 5)
    first = drawing.lines[0]._segments[0]
    assert first.text.startswith("\U0010eeee\u0305\u0305\U0010eeee\u0305\u030d")
    assert first.style is not None and first.style.color is not None
    assert first.style.color.triplet == colour_of(ident)
    assert drawing.lines[0].cell_length == 20  # one cell each: the marks take none
    assert not drawing.escape  # nothing drawn at a cursor: tmux redraws it as text
    assert all(c.startswith(f"{E}Ptmux;{E}{E}_G") and c.endswith(f"{E}\\") for c in drawing.send)
    assert drawing.send[0].startswith(f"{E}Ptmux;{E}{E}_Ga=T,U=1,f=100,t=d,i={ident},c=20,r=5,")


# -- a real tmux ------------------------------------------------------------------------


def _pane_env(tmux: Tmux, pane: str) -> dict[str, str]:
    """The environment of a program in `pane` of this server (what tmux sets)."""
    socket = tmux("display", "-p", "#{socket_path}").stdout.strip()
    return {**tmux.env, "TMUX": f"{socket},{tmux.server or 0},0", "TMUX_PANE": pane}


class Client:
    """A tmux client attached on a pseudo-terminal of ours, `columns` x `rows` (800x480
    pixels), whose output a thread reads and answers as xterm -ti vt340 would."""

    def __init__(self, tmux: Tmux, spawn: Spawn, columns: int = 80, rows: int = 24) -> None:
        self.master, slave = pty.openpty()
        size = struct.pack("HHHH", rows, columns, 800, 480)
        fcntl.ioctl(slave, termios.TIOCSWINSZ, size)
        env = {**tmux.env, "TERM": "xterm-256color"}
        argv = ["tmux", "-L", tmux.name, "attach"]
        spawn(argv, stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.heard = b""
        self.open = True
        threading.Thread(target=self._answer, daemon=True).start()
        time.sleep(0.4)

    def _answer(self) -> None:
        while self.open:
            try:
                if select.select([self.master], [], [], 0.1)[0]:
                    chunk = os.read(self.master, 65536)
                    self.heard += chunk
                    os.write(self.master, xterm_answers(chunk))
            except (OSError, ValueError):
                return

    def close(self) -> None:
        self.open = False
        time.sleep(0.15)
        os.close(self.master)


def test_passthrough_on_and_the_panes_place_as_a_real_tmux_says(tmux: Tmux, spawn: Spawn) -> None:
    tmux("new-session", "-d", "-x", "100", "-y", "30", "sleep 30")
    client = Client(tmux, spawn, 100, 31)
    tmux("split-window", "-h", "-t", "%0", "sleep 30")
    right = tmux("display", "-p", "-t", "%1", "#{pane_id}").stdout.strip()
    env = _pane_env(tmux, right)
    assert not passthrough_on(env)  # tmux 3.3's default
    tmux("set", "-g", "allow-passthrough", "on")
    assert passthrough_on(env)
    pane = Pane(env)
    pane.update()
    assert (pane.top, pane.left) == (0, 51)  # right of a 50-column pane and its border
    tmux("set", "-g", "status-position", "top")
    pane.update()
    assert pane.top == 1  # the status line above it
    tmux("new-window", "-d", "sleep 30")
    tmux("select-window", "-t", ":1")
    assert pane.update() is False and not pane.seen  # out of sight
    tmux("select-window", "-t", ":0")
    assert pane.update() is True  # back: its pictures are to be drawn again
    assert pane.update() is False  # once
    tmux("detach-client", "-a")
    client.close()
    assert pane.update() is False and not pane.seen  # detached: on no terminal


ASK = textwrap.dedent(
    """
    import os, sys
    from starvideos_tui.terminal.graphics import ask
    said = ask(os.environ, 0, 1, pictures=True, background=False)
    with open(sys.argv[1], "w") as out:
        out.write(repr(said))
    """
)


def test_the_terminal_outside_is_asked_through_passthrough(
    tmux: Tmux, spawn: Spawn, tmp_path: Path
) -> None:
    """A client attached on our pseudo-terminal, which answers as xterm -ti vt340 does:
    the program in the pane learns that Sixel goes through tmux."""
    script, result = tmp_path / "ask.py", tmp_path / "said"
    script.write_text(ASK)
    tmux("new-session", "-d", "-x", "80", "-y", "24", "sleep 30")
    tmux("set", "-g", "allow-passthrough", "on")
    client = Client(tmux, spawn)
    try:
        tmux("new-window", f"{sys.executable} {script} {result}")
        end = time.monotonic() + 8
        while not result.exists() and time.monotonic() < end:
            time.sleep(0.05)
        assert result.exists(), client.heard[-500:]
        # Passed through: tmux handed the questions to the terminal outside unwrapped.
        assert b"\x1b_Gi=31,s=1,v=1,a=q" in client.heard and b"\x1b[c" in client.heard
        assert result.read_text() == repr_graphics(Graphics("sixel", 10, 20, tmux=True))
    finally:
        client.close()


def xterm_answers(asked: bytes) -> bytes:
    """What xterm -ti vt340 answers to the questions in `asked` (tmux's own and those
    passed through)."""
    out = b""
    for question, answer in (
        (b"\x1b[>c", b"\x1b[>41;379;0c"),  # DA2 (tmux asks on attach)
        (b"\x1b[>q", b"\x1bP>|XTerm(379)\x1b\\"),  # XTVERSION
        (b"\x1b[16t", b"\x1b[6;20;10t"),  # the cell in pixels
        (b"\x1b[c", b"\x1b[?63;1;2;4;6;9;15;16;22;28c"),  # DA1: 4 is Sixel
    ):
        out += answer * asked.count(question)
    return out


def repr_graphics(graphics: Graphics) -> str:
    from starvideos_tui.terminal.graphics import Answers

    return repr(Answers(graphics=graphics))


# -- the hint, and pictures drawn again when tmux repainted the pane --------------------


def test_inside_tmux_without_passthrough_nothing_is_asked_and_a_hint_says_how() -> None:
    from starvideos_tui.terminal.graphics import ask
    from starvideos_tui.terminal.tmux import HINT_PASSTHROUGH

    env = {"TMUX": "/nonexistent/tmux-0/default,1,0", "TERM": "tmux-256color"}
    read_end, write_end = os.pipe()  # were anything asked, it would be written here
    try:
        said = ask(env, read_end, write_end, pictures=True, background=False)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert said.graphics is None and said.hint == HINT_PASSTHROUGH
    assert "set -g allow-passthrough on" in said.hint


async def test_the_hint_is_shown_once_and_pictures_are_drawn_again_on_focus_in(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    from textual import events

    from starvideos_tui.terminal.tmux import HINT_PASSTHROUGH
    from starvideos_tui.tui.widgets.picture import Picture

    task_id = await saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    app = make_app([task_id])
    app.config.frames_dir = tmp_path / "frames"
    app.config.graphics = Graphics("sixel", 10, 20)
    app.config.picture_hint = HINT_PASSTHROUGH
    async with running(app, (100, 30)) as pilot:
        await until(pilot, lambda: row_ids(app) == [task_id], "the row")
        hints = [n for n in app._notifications if "allow-passthrough" in n.message]
        assert len(hints) == 1
        await pilot.press("enter")
        picture = app.query_one(Picture)
        await until(pilot, lambda: picture.shown_pixels > 0, "the picture drawn")
        before = picture.shown_pixels
        app.post_message(events.AppFocus())  # tmux: back to this window (focus-events on)
        await until(pilot, lambda: picture.shown_pixels > before, "drawn again")
        before = picture.shown_pixels
        await pilot.resize_terminal(110, 32)  # an attach from another terminal, a resize
        await until(pilot, lambda: picture.shown_pixels > before, "drawn again on resize")
