"""Pictures the terminal draws itself: asking a terminal (on a real pseudo-terminal) what
it draws, Sixel that decodes back to the picture, kitty's chunks, and the side panel."""

from __future__ import annotations

import base64
import io
import os
import pty
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from starvideos_tui.terminal.graphics import (
    Graphics,
    cells,
    fitted,
    kitty_hide,
    kitty_place,
    kitty_send,
    probe,
    reading,
    sixel,
)

KITTY_OK = "\x1b_Gi=31;OK\x1b\\"


@pytest.mark.parametrize(
    ("said", "cell", "expected"),
    [
        (KITTY_OK + "\x1b[?62;22c", (10, 20), Graphics("kitty", 10, 20)),
        ("\x1b[?63;1;2;4;6;9;15;16;22;28c", (7, 15), Graphics("sixel", 7, 15)),
        ("\x1b[6;18;9t\x1b[?64;4c", None, Graphics("sixel", 9, 18)),  # cell size asked
        ("\x1b[?64;1;2;6;9;15;18;21;22c", (10, 20), None),  # xterm as vt420: no 4
        ("\x1b[?62;4c", None, None),  # no way to know a cell's pixels
        ("", (10, 20), None),  # nothing answered
    ],
)
def test_what_the_terminal_answers_says_what_it_draws(
    said: str, cell: tuple[int, int] | None, expected: Graphics | None
) -> None:
    assert reading(said, cell) == expected


def fake_terminal(answer: bytes | None) -> tuple[int, int, list[bytes]]:
    """A pseudo-terminal whose other end answers the first query like a terminal would
    (or never, with None). Returns (our end, its end, what it was asked)."""
    master, slave = pty.openpty()
    asked: list[bytes] = []

    def terminal() -> None:
        data = b""
        while b"\x1b[c" not in data:
            try:
                data += os.read(master, 4096)
            except OSError:  # the test closed the pty: nothing was asked
                return
        asked.append(data)
        if answer is not None:
            os.write(master, answer)

    threading.Thread(target=terminal, daemon=True).start()
    return slave, master, asked


def test_a_kitty_terminal_is_asked_on_the_tty_and_its_answer_not_echoed() -> None:
    slave, master, asked = fake_terminal(b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;10t\x1b[?62;c")
    try:
        found = probe({"TERM": "xterm-kitty"}, slave, slave)
        assert found is not None and found.protocol == "kitty"
        assert asked and asked[0].startswith(b"\x1b_Gi=31,") and asked[0].endswith(b"\x1b[c")
    finally:
        os.close(slave)
        os.close(master)


def test_a_silent_terminal_is_waited_on_for_a_second_at_most() -> None:
    slave, master, _ = fake_terminal(None)
    try:
        started = time.monotonic()
        assert probe({"TERM": "xterm"}, slave, slave) is None
        assert time.monotonic() - started < 1.5
    finally:
        os.close(slave)
        os.close(master)


def test_inside_tmux_or_off_a_tty_nothing_is_asked() -> None:
    slave, master, asked = fake_terminal(KITTY_OK.encode() + b"\x1b[?62;4c")
    try:
        assert probe({"TERM": "screen-256color", "TMUX": "/tmp/t,1,0"}, slave, slave) is None
        assert probe({"TERM": "xterm", "STY": "1.pts-0"}, slave, slave) is None
        time.sleep(0.2)
        assert asked == []
    finally:
        os.close(slave)
        os.close(master)
    read_end, write_end = os.pipe()
    try:
        assert probe({"TERM": "xterm"}, read_end, write_end) is None
    finally:
        os.close(read_end)
        os.close(write_end)


def scene(width: int = 96, height: int = 60) -> Image.Image:
    """A picture with flat areas and edges, as a video frame has."""
    image = Image.new("RGB", (width, height), (40, 180, 220))
    for y in range(height // 2, height):
        for x in range(width):
            image.putpixel((x, y), (30, 120 + x % 40, 40))
    for y in range(8, 20):
        for x in range(60, 72):
            image.putpixel((x, y), (250, 210, 40))
    return image


def decode_sixel(data: str) -> Image.Image:
    """A small Sixel reader of the test's own: palette, colour selection, repeats, `$`
    (back to the band's start) and `-` (next band)."""
    body = data[data.index("q") + 1 : data.rindex("\x1b\\")]
    size = re.match(r'"1;1;(\d+);(\d+)', body)
    assert size, body[:40]
    width, height = int(size.group(1)), int(size.group(2))
    image = Image.new("RGB", (width, height), (0, 0, 0))
    palette: dict[int, tuple[int, int, int]] = {}
    x = band = 0
    colour = 0
    tokens = re.finditer(
        r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)(.)|([?-~])|(\$)|(-)", body[size.end() :]
    )
    for t in tokens:
        if t.group(1) is not None:
            colour = int(t.group(1))
            if t.group(2) is not None:
                palette[colour] = tuple(round(int(t.group(i)) * 255 / 100) for i in (2, 3, 4))  # type: ignore[assignment]
            continue
        if t.group(8):
            x = 0
            continue
        if t.group(9):
            x, band = 0, band + 1
            continue
        count, char = (int(t.group(5)), t.group(6)) if t.group(5) else (1, t.group(7))
        bits = ord(char) - 63
        for _ in range(count):
            for k in range(6):
                if bits >> k & 1 and band * 6 + k < height:
                    image.putpixel((x, band * 6 + k), palette[colour])
            x += 1
    return image


def difference(a: Image.Image, b: Image.Image) -> float:
    """The mean difference of two pictures, per channel (0 to 255)."""
    first, second = a.convert("RGB").tobytes(), b.convert("RGB").tobytes()
    assert len(first) == len(second)
    return sum(abs(p - q) for p, q in zip(first, second, strict=True)) / len(first)


def test_sixel_decodes_back_to_the_picture() -> None:
    image = scene()
    encoded = sixel(image)
    assert encoded.startswith("\x1bP") and encoded.endswith("\x1b\\")
    assert "\x1b" not in encoded[2:-2]  # one sequence, nothing else inside
    assert difference(decode_sixel(encoded), image) < 2.0  # out of 255, per channel
    assert "!" in encoded  # flat runs are coded as repeats


def _imagemagick_fails(folder: Path) -> str | None:
    """Why ImageMagick's `convert` cannot read Sixel here, or None when it can: it must
    turn a tiny Sixel picture (2x6 red pixels) into a PNG of that size. A `convert` that
    is missing, crashes, lacks the Sixel coder or writes something else is no ImageMagick
    to test against."""
    if shutil.which("convert") is None:
        return "ImageMagick is not installed"
    (folder / "probe.six").write_bytes(b"\x1bPq#0;2;100;0;0#0~~\x1b\\")
    try:
        done = subprocess.run(
            ["convert", f"sixel:{folder / 'probe.six'}", str(folder / "probe.png")],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"ImageMagick's convert does not run: {exc}"
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no message"])[0]
        return f"ImageMagick's convert cannot read Sixel (exit {done.returncode}: {said})"
    try:
        with Image.open(folder / "probe.png") as probe:
            size = probe.size
    except OSError as exc:
        return f"ImageMagick's convert wrote no readable PNG: {exc}"
    if size != (2, 6):
        return f"ImageMagick's convert read a 2x6 Sixel picture as {size[0]}x{size[1]}"
    return None


def test_imagemagick_reads_our_sixel_as_the_picture(tmp_path: Path) -> None:
    if (why := _imagemagick_fails(tmp_path)) is not None:
        pytest.skip(why)
    image = scene(120, 66)
    (tmp_path / "p.six").write_text(sixel(image))
    subprocess.run(["convert", f"sixel:{tmp_path / 'p.six'}", str(tmp_path / "p.png")], check=True)
    with Image.open(tmp_path / "p.png") as back:
        assert back.size == image.size
        assert difference(back.convert("RGB"), image) < 2.0


def test_kitty_sends_the_png_in_chunks_and_places_it_over_cells() -> None:
    png = io.BytesIO()
    Image.effect_noise((200, 120), 64).convert("RGB").save(png, format="PNG")
    sent = kitty_send(png.getvalue(), 77)
    parts = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", sent)
    assert len(parts) > 1 and parts[0][0].startswith("a=t,f=100,t=d,i=77,q=2,m=1")
    assert [p[0][-3:] for p in parts[1:]] == ["m=1"] * (len(parts) - 2) + ["m=0"]
    assert all(len(p[1]) <= 4096 for p in parts)
    assert base64.b64decode("".join(p[1] for p in parts)) == png.getvalue()
    assert kitty_place(77, 30, 9) == "\x1b_Ga=p,i=77,p=1,c=30,r=9,C=1,q=2\x1b\\"
    assert kitty_hide(77) == "\x1b_Ga=d,d=i,i=77,q=2\x1b\\"


@pytest.mark.parametrize("protocol", ["sixel", "kitty"])
def test_a_frame_is_fitted_to_whole_cells(protocol: str) -> None:
    graphics = Graphics(protocol, 9, 19)
    wide = fitted(Image.new("RGB", (320, 180)), graphics, 40, 12)
    assert wide.width == 360 and 180 <= wide.height <= 203
    # Kitty scales to whole cells; Sixel paints six pixel rows at a time.
    assert wide.height % (6 if protocol == "sixel" else 19) == 0
    assert cells(wide, graphics) == (40, 10)
    tall = fitted(Image.new("RGB", (320, 180)), graphics, 90, 6)
    assert tall.height <= 6 * 19 and cells(tall, graphics)[1] <= 6
