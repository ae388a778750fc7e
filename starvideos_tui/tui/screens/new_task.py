"""The `n` form: submit a task, with the API's rules checked live before anything is sent.

The form stays open until the API accepted the task: a refusal is shown in the form and
nothing typed is lost. `N` on a failed task opens it pre-filled with that task's request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.textsafe import clean
from starvideos_tui.engine.submit import DEFAULT_DURATION, RATIOS, CreateRequest

Create = Callable[[CreateRequest], Awaitable[TaskRecord]]


def _urls(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.replace(",", "\n").splitlines() if line.strip())


def request_from_params(params: dict[str, Any] | None) -> dict[str, str]:
    """Form field values from a stored create request (for resubmitting)."""
    params = params or {}

    def lines(key: str) -> str:
        value = params.get(key) or []
        return "\n".join(str(v) for v in value) if isinstance(value, list) else ""

    return {
        "prompt": str(params.get("prompt") or ""),
        "duration": str(params.get("duration") or ""),
        "ratio": str(params.get("ratio") or ""),
        "images": lines("referenceImages"),
        "first": str(params.get("first_image") or ""),
        "last": str(params.get("last_image") or ""),
        "videos": lines("referenceVideos"),
    }


class NewTaskScreen(ModalScreen[str | None]):
    """Submits the task through `create` (the engine's) and returns its id, or None when
    cancelled. A refusal is shown in the form, which keeps what was typed."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, create: Create, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.create = create
        self.values = values or {}

    @staticmethod
    def values_of(record: TaskRecord, tell: Callable[[str], object]) -> dict[str, str]:
        """The form's values to resubmit `record` (`tell` says what cannot be known)."""
        values = request_from_params(record.params)
        if not record.params:
            values["prompt"] = record.prompt or ""
            tell("This task was not created here: only its prompt is known.")
        return values

    def compose(self) -> ComposeResult:
        v = self.values
        with Vertical(id="dialog", classes="form"):
            yield Label("New task — ctrl+s submits, esc cancels")
            with VerticalScroll():
                yield Label("Prompt: subject, action, camera, style")
                yield TextArea(v.get("prompt", ""), id="prompt", soft_wrap=True)
                with Horizontal(classes="row"):
                    yield Input(
                        v.get("duration", ""),
                        placeholder=f"duration 3-15 (default {DEFAULT_DURATION})",
                        id="duration",
                        type="integer",
                    )
                    yield Select(
                        [(r, r) for r in RATIOS],
                        prompt="ratio (default 9:16)",
                        value=v["ratio"] if v.get("ratio") in RATIOS else Select.NULL,
                        id="ratio",
                    )
                yield Label("Reference images, one URL per line (at most 7; 4 with videos)")
                yield TextArea(v.get("images", ""), id="images", classes="urls")
                with Horizontal(classes="row"):
                    yield Input(v.get("first", ""), placeholder="first frame URL", id="first")
                    yield Input(v.get("last", ""), placeholder="last frame URL", id="last")
                yield Label("Reference videos, one URL per line (length and ratio follow them)")
                yield TextArea(v.get("videos", ""), id="videos", classes="urls")
            yield Static("", id="form-problems", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Submit  ctrl+s", variant="primary", id="submit")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#prompt", TextArea).focus()
        self._check()

    def _text(self, selector: str) -> str:
        return self.query_one(selector, TextArea).text

    def _input(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def build(self) -> tuple[CreateRequest | None, list[str]]:
        """The request the form describes, and every rule it breaks."""
        duration_text = self._input("#duration")
        problems: list[str] = []
        duration: int | None = None
        if duration_text:
            try:
                duration = int(duration_text)
            except ValueError:
                problems.append("duration must be a whole number of seconds")
        ratio = self.query_one("#ratio", Select).value
        request = CreateRequest(
            prompt=self._text("#prompt"),
            duration=duration,
            ratio=ratio if isinstance(ratio, str) else None,
            reference_images=_urls(self._text("#images")),
            first_image=self._input("#first") or None,
            last_image=self._input("#last") or None,
            reference_videos=_urls(self._text("#videos")),
        )
        problems += request.problems()
        if request.reference_videos and (duration is not None or request.ratio):
            # Not an error: the API ignores them. Say so before the user wonders.
            problems.append("note: duration and ratio are ignored with reference videos")
        blocking = [p for p in problems if not p.startswith("note:")]
        return (None if blocking else request), problems

    @on(TextArea.Changed)
    @on(Input.Changed)
    @on(Select.Changed)
    def _check(self) -> None:
        request, problems = self.build()
        shown = Text("\n".join(clean(p) for p in problems))
        self.query_one("#form-problems", Static).update(shown)
        self.query_one("#submit", Button).disabled = request is None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        request, _ = self.build()
        if request is None:  # the problems line says why (_check): no toast over the form
            self._check()
            self.app.bell()
            return
        self.query_one("#submit", Button).disabled = True
        self.send(request)

    @work(exclusive=True, group="create", exit_on_error=False)
    async def send(self, request: CreateRequest) -> None:
        try:
            task_id = (await self.create(request)).id
        except Exception as exc:  # shown in the form, which keeps what was typed
            why = clean(str(exc))  # an ApiError's text is its message
            self.query_one("#form-problems", Static).update(Text(f"Not submitted: {why}"))
            self.query_one("#submit", Button).disabled = False
            return
        self.dismiss(task_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
