"""The watchlist table's columns: which show, how wide, and how a task id is shortened
to fit (no Textual here: pure arithmetic on cells)."""

from __future__ import annotations

COLUMNS = (
    ("status", "Status", 18),  # "↓ downloading 100%": the longest state, whole
    ("task", "Task", 40),
    ("age", "Age", 4),
    ("length", "Len", 4),
    # Running: "~3m" (expected, eta.py) or "stalled"; completed: "9m left" (a signed link
    # says when it dies) or "5m old".
    ("link", "Due", 8),
    ("checked", "Seen", 5),
    # The user's stars, "★★★★☆" (or "4★" where room is short), or "✗ rej" for a reject.
    ("rating", "★", 5),
)
PAD = 1  # cells of padding on each side of a column

LABEL_ROOM = 16  # cells of a label worth shortening the id for
LABEL_MIN = 4  # cells of a label worth showing at all
TASK_ROOMY = 24  # the task column's width below which other columns give way
ID_MIN = 12  # "…" and an id's distinctive end: the task column never has less
STATUS_MIN = 1  # the status's glyph: what the status column keeps before it goes
RATING_MIN = 3  # "4★", "rej": the rating column short, before any column gives way
GIVE_WAY = ("checked", "rating", "link", "length", "age")  # least needed first


def column_widths(width: int, rating: bool = False) -> list[int]:
    """Each column's width in COLUMNS' order (0: not shown) at `width` cells. The task
    column, which names the task, takes what the others leave; where that is less than
    TASK_ROOMY the rating column gets short, then the others give way, least needed
    first, then the status shrinks to its glyph (the colour and the panel still tell),
    and under ID_MIN cells the id has it all. `rating`: any task is rated or rejected.
    """
    shown = {key: w for key, _, w in COLUMNS}
    if not rating:  # no task is rated or rejected: no column for it
        del shown["rating"]

    def left_for_task() -> int:
        others = sum(w + 2 * PAD for key, w in shown.items() if key != "task")
        return width - others - 2 * PAD

    if left_for_task() < TASK_ROOMY:
        shown["rating"] = RATING_MIN
    for key in GIVE_WAY:
        if left_for_task() >= TASK_ROOMY:
            break
        del shown[key]
    if left_for_task() < ID_MIN:
        shown["status"] = max(STATUS_MIN, shown["status"] - (ID_MIN - left_for_task()))
    if left_for_task() < ID_MIN:
        del shown["status"]
    shown["task"] = max(1, left_for_task())
    return [shown.get(key, 0) for key, _, _ in COLUMNS]


def short_id(task_id: str, width: int, *, label: bool = True) -> str:
    """The id as a task column `width` cells wide can hold it (beside a label, when there
    is one): whole when there is room, else its distinctive end ("…1814428523"; every id
    starts "video_starvideos_o3_"), cut from the front as far as it must be. The filter
    and the panel still have the whole id."""
    head, _, tail = task_id.rpartition("_")
    room = width - 2 - LABEL_ROOM if label else width
    if len(task_id) <= room:
        return task_id
    if head and len(tail) >= 6 and len(tail) < width:
        return f"…{tail}"
    if len(task_id) <= width:
        return task_id
    return f"…{task_id[len(task_id) - width + 1 :]}" if width > 1 else "…"
