"""The engine's events, as Textual messages: the app handles them on its own loop."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from starvideos_tui.engine.events import Event


@dataclass
class EngineEvent(Message):
    """Something the engine (monitor.py) reports; `event` is one of events.py's."""

    event: Event
