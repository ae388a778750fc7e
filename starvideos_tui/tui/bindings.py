"""The monitor's keys, each with an id a user can rebind in config.toml's `[keys]` table.

    [keys]
    download = "D"
    quit = "q,ctrl+q"

Textual's keymap (`App.set_keymap`) does the rebinding; this module checks the table first,
so that a typo is one line at start (exit 2) rather than a key that silently does nothing:
an unknown id, a key Textual cannot name, or a key another binding keeps.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.keys import KEY_NAME_REPLACEMENTS, Keys, key_to_character

from starvideos_tui.engine.settings import SettingsError

# The keys of the work view, ratings and marks (picks.py). Several keys of one description
# make one row of the `?` screen ("1 2 3 4 5 0  Rate").
PICK_BINDINGS = [
    Binding(
        "H",
        "toggle_history",
        "History",
        show=False,
        tooltip="show old finished tasks, then archived ones too",
        id="history",
    ),
    Binding(
        "A",
        "archive",
        "Archive",
        show=False,
        tooltip="hide and stop polling (again: unarchive)",
        id="archive",
    ),
    *(
        Binding(
            str(n),
            f"rate({n})",
            "Rate",
            show=False,
            tooltip="1-5 stars, 0 clears",
            id=f"rate-{n}",
        )
        for n in (1, 2, 3, 4, 5, 0)
    ),
    Binding(
        "X", "reject", "Reject", show=False, tooltip="reject the take, or take it back", id="reject"
    ),
    Binding(
        "m", "mark", "Mark", show=False, tooltip="mark a row: d x l A X 0-5 act on all", id="mark"
    ),
    Binding(
        "shift+down",
        "mark_range(1)",
        "Mark range",
        show=False,
        tooltip="mark from here down or up",
        id="mark-down",
    ),
    Binding(
        "shift+up",
        "mark_range(-1)",
        "Mark range",
        show=False,
        tooltip="mark from here down or up",
        id="mark-up",
    ),
]

# Footer order: what a newcomer needs first, and how to see the rest (`?`) and leave
# (`q`) before what a narrow footer can lose (60 columns keep all; 45 keep ? and q).
APP_BINDINGS = [
    Binding(
        "d", "download", "Download", tooltip="save the video, or show why it failed", id="download"
    ),
    Binding("a", "add", "Add", tooltip="add task ids; paste many at once", id="add"),
    Binding("question_mark", "help", "Keys", id="help"),
    Binding("q", "quit", "Quit", id="quit"),
    Binding("x", "remove", "Remove", tooltip="stop watching the selected task", id="remove"),
    Binding("r", "refresh", "Refresh", tooltip="poll the selected task now", id="refresh"),
    Binding("n", "new_task", "New", show=False, tooltip="submit a new task", id="new-task"),
    Binding(
        "N",
        "resubmit",
        "Resubmit",
        show=False,
        tooltip="new task from the selected one",
        id="new-from",
    ),
    Binding(
        "R",
        "refresh_all",
        "Refresh all",
        show=False,
        tooltip="poll every unfinished task",
        id="refresh-all",
    ),
    Binding(
        "v",
        "toggle_sheet",
        "Sheet",
        show=False,
        tooltip="the table or a contact sheet of saved videos",
        id="toggle-sheet",
    ),
    Binding("c", "copy", "Copy URL", show=False, tooltip="video URL or id, via OSC 52", id="copy"),
    # Priority: `/` is acted on as it arrives, before the keys behind it are sent on, so
    # they go into the box however fast they come (view_actions.action_filter).
    Binding(
        "slash",
        "filter",
        "Filter",
        show=False,
        tooltip="by id, label, prompt or status",
        id="filter",
        priority=True,
    ),
    Binding(
        "s", "sort", "Sort", show=False, tooltip="work, added, status, age, id, rating", id="sort"
    ),
    Binding("l", "edit_label", "Label", show=False, tooltip="label the selected task", id="label"),
    Binding(
        "t", "toggle_auto", "Auto-download", show=False, tooltip="on or off", id="auto-download"
    ),
    Binding(
        "p",
        "next_frame",
        "Picture",
        show=False,
        tooltip="next frame of a saved video",
        id="next-frame",
    ),
    Binding(
        "space",
        "play",
        "Play",
        show=False,
        tooltip="play or pause a saved video in its panel (no sound: terminals play none)",
        id="play",
    ),
    Binding("left", "seek(-1)", "Back 1 s", show=False, tooltip="while playing", id="seek-back"),
    Binding(
        "right", "seek(1)", "Forward 1 s", show=False, tooltip="while playing", id="seek-forward"
    ),
    Binding(
        "escape",
        "close",
        "Close panel",
        show=False,
        tooltip="else unmark the marked rows, else clear the filter",
        id="close",
    ),
    *PICK_BINDINGS,
]

# The table's keys (widgets/task_table.py). Only enter has an id: the moving keys are the
# ones every list has, and the `?` screen writes them as three rows (screens/keys.py).
TABLE_BINDINGS = [
    Binding(
        "enter", "app.toggle_panel", "Details", tooltip="Show the whole record", id="toggle-panel"
    ),
    Binding("up,k", "cursor(-1)", "Up", show=False),
    Binding("down,j", "cursor(1)", "Down", show=False),
    Binding("pageup", "page(-1)", "Page up", show=False),
    Binding("pagedown", "page(1)", "Page down", show=False),
    Binding("home,g", "edge(0)", "First", show=False),
    Binding("end,G", "edge(1)", "Last", show=False),
]

# The contact sheet's (widgets/contact_sheet.py): the table's, up and down a row of cells,
# and left and right a cell.
SHEET_BINDINGS = [
    *TABLE_BINDINGS,
    Binding("left", "step(-1)", "Left", show=False),
    Binding("right", "step(1)", "Right", show=False),
]

MODIFIERS = frozenset({"ctrl", "alt", "shift", "meta", "super", "hyper"})
NAMED_KEYS = frozenset(k.value for k in Keys if "+" not in k.value and "<" not in k.value)


class KeymapError(SettingsError):
    """A bad entry of config.toml's [keys] table (exit 2)."""


def key_name(key: str) -> str | None:
    """Textual's name of one key ("?" -> "question_mark", "ctrl+Q" kept as typed), or
    None when Textual has no such key."""
    *modifiers, base = key.split("+")
    if any(m not in MODIFIERS for m in modifiers):
        return None
    if len(base) == 1:
        if not base.isprintable() or base.isspace():
            return None
        if not base.isalnum():
            try:
                base = unicodedata.name(base).lower().replace("-", "_").replace(" ", "_")
            except ValueError:
                return None
            base = KEY_NAME_REPLACEMENTS.get(base, base)
    elif base not in NAMED_KEYS and key_to_character(base) is None:
        return None
    return "+".join([*modifiers, base])


def check_keymap(
    table: Iterable[tuple[str, str]],
    rebindable: Iterable[Binding],
    kept: Iterable[Binding] = (),
) -> dict[str, str]:
    """The keymap for `App.set_keymap`, from config.toml's [keys] pairs (id, keys).

    `rebindable` are the bindings with ids; `kept` those a user cannot rebind, whose keys
    a rebound key must not take. Raises KeymapError naming the first bad entry."""
    by_id = {b.id: b for b in rebindable if b.id}
    keymap: dict[str, str] = {}
    for binding_id, value in table:
        entry = f"config.toml [keys] {binding_id} = {value!r}"
        if binding_id not in by_id:
            known = ", ".join(sorted(by_id))
            raise KeymapError(f"{entry}: no key is called {binding_id!r} (known: {known})")
        names = [key_name(k.strip()) for k in value.split(",")]
        if not value.strip() or None in names:
            raise KeymapError(
                f'{entry}: not a key Textual knows; write e.g. "D", "ctrl+d", "f5" '
                'or several as "q,ctrl+q"'
            )
        keymap[binding_id] = ",".join(n for n in names if n)
    owner: dict[str, str] = {}
    for binding in kept:
        if binding.id is not None:
            continue  # rebindable: checked below, on its keys as the user has them
        for key in binding.key.split(","):
            owner[key_name(key.strip()) or key] = binding.description or binding.action
    for binding_id, binding in by_id.items():
        keys = keymap.get(binding_id, binding.key)
        for key in keys.split(","):
            name = key_name(key.strip()) or key
            if name in owner and owner[name] != binding_id:
                taken = owner[name]
                raise KeymapError(
                    f"config.toml [keys]: {key!r} would do both {binding_id!r} and {taken!r}; "
                    "rebind one of them"
                )
            owner[name] = binding_id
    return keymap


def rebindable() -> list[Binding]:
    """Every binding a user can rebind: the app's and the table's with an id."""
    return [b for b in (*TABLE_BINDINGS, *APP_BINDINGS) if b.id is not None]


def rebound(bindings: Iterable[Binding], keymap: Mapping[str, str]) -> list[Binding]:
    """The bindings as the user has them: those in `keymap` on their new keys."""
    return [
        b.with_key(keymap[b.id]) if b.id is not None and b.id in keymap else b for b in bindings
    ]
