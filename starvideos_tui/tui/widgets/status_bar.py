"""The one-line summary: the state of the API, counts per status, the next poll.

At any width it shows what matters most and drops the rest whole, never half a word: the
API's state first, then what kind of session it is (a demo), what the view shows (the
filter, "12 of 50,000"), the tasks running now, failures and unknown ids, the next poll,
the other counts, and auto-download.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.widgets import Static

ORDER = ["unchecked", "queued", "processing", "completed", "downloaded", "failed"]
WORK = ("unchecked", "queued", "processing")  # what is running now
URGENT = ("failed", "not a video", "save failed", "link expired", "unknown id", "retrying")
SEPARATOR = " │ "


class StatusBar(Static):
    _shown: Text | None = None
    _parts: tuple[tuple[str, str], list[str], str | None, bool, str, str] | None = None

    def show(
        self,
        counts: Counter[str],
        api_state: str,
        api_colour: str,
        next_poll: float | None,
        auto_download: bool,
        extra: str = "",
        session: str = "",
    ) -> None:
        poll = f"poll in {max(0, next_poll):.0f}s" if next_poll is not None else None
        words = [w for w in ORDER if counts.get(w)]
        words += sorted(w for w, n in counts.items() if w not in ORDER and n)
        tallies = [f"{counts[w]} {w}" for w in words]
        self._parts = ((api_state, api_colour), tallies, poll, auto_download, extra, session)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._parts is None:
            return
        (state, colour), tallies, poll, auto, extra, session = self._parts
        work = [t for t in tallies if t.split(" ", 1)[1] in WORK]
        urgent = [t for t in tallies if t.split(" ", 1)[1] in URGENT]
        # (priority, place, text): the most important are kept first, and each later one
        # is dropped whole when it does not fit; what is kept is shown in place order.
        pieces = [(0, 0, state)]
        pieces += [(1, 1, session)] if session else []  # "demo: removed on quit"
        pieces += [(1, 3, extra)] if extra else []  # "12 of 50,000 · filter: fox": the view
        pieces += [(2, 5, t) for t in work]  # before a year's 5,858 failures
        pieces += [(2, 5, t) for t in urgent]
        pieces += [(3, 1, poll)] if poll else []
        pieces += [(4, 5, t) for t in tallies if t not in urgent and t not in work]
        pieces += [(5, 2, f"auto-dl {'on' if auto else 'off'}")]
        room = max(20, (self.size.width or 80) - 2)
        kept = _fitting(pieces, room)
        dropped = len(tallies) - sum(1 for _, place, _ in kept if place == 5)
        if dropped:  # counts are never dropped silently: "+2 more" says so, in their room
            kept = _fitting(pieces, room - len(f"{SEPARATOR}+{len(tallies)} more"))
            dropped = len(tallies) - sum(1 for _, place, _ in kept if place == 5)
        text = Text(no_wrap=True, overflow="crop")
        text.append(state, style=f"bold {colour}".strip())
        for _, place, shown in sorted(kept, key=lambda k: k[1]):
            if place in (1, 2, 3):
                text.append(SEPARATOR + shown)
        kept_tallies = {shown for _, place, shown in kept if place == 5}
        counts = [t for t in tallies if t in kept_tallies]  # in the usual order
        more = [f"+{dropped} more"] if dropped else []
        if counts or more:
            text.append(SEPARATOR + " · ".join([*counts, *more]))
        elif not tallies:
            text.append(SEPARATOR + "no tasks")
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # always one line: no layout pass needed


def _fitting(pieces: list[tuple[int, int, str]], room: int) -> list[tuple[int, int, str]]:
    """The pieces kept in `room` cells, the most important first, each later one dropped
    whole when it does not fit."""
    kept: list[tuple[int, int, str]] = []
    for piece in pieces:
        if not kept or _width([*kept, piece]) <= room:
            kept.append(piece)
    return kept


def _width(pieces: list[tuple[int, int, str]]) -> int:
    counts = [p for _, place, p in pieces if place == 5]
    rest = [p for _, place, p in pieces if place != 5]
    return len(SEPARATOR.join(rest)) + (len(SEPARATOR) + len(" · ".join(counts)) if counts else 0)
