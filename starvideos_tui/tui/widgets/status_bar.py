"""The one-line summary: counts per status, the next poll, and the state of the API."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.widgets import Static


class StatusBar(Static):
    _shown: Text | None = None

    def show(
        self,
        counts: Counter[str],
        api_state: str,
        api_colour: str,
        next_poll: float | None,
        auto_download: bool,
        extra: str = "",
    ) -> None:
        # The API's state first: it must stay visible however many statuses there are.
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(api_state, style=f"bold {api_colour}".strip())
        if next_poll is not None:
            text.append(f" │ poll in {max(0, next_poll):.0f}s")
        text.append(f" │ auto-dl {'on' if auto_download else 'off'}")
        if extra:
            text.append(f" │ {extra}")
        order = ["new", "queued", "processing", "completed", "downloaded", "failed"]
        parts = [f"{counts[w]} {w}" for w in order if counts.get(w)]
        parts += [f"{n} {w}" for w, n in sorted(counts.items()) if w not in order and n]
        text.append(" │ ")
        text.append(" · ".join(parts) or "no tasks")
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # always one line: no layout pass needed
