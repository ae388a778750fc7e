"""Issue 25 item 4: what a year of history holds in memory, 30 s after the TUI starts.

- records read from the watchlist share one string for each equal label and error (a
  user's few labels, the API's errors of a kind, over thousands of tasks), values kept;
- a link dead already is neither told nor kept by the link watch (thousands in a year's
  history were held, and looked at every second); a new deadline of its task is told.
"""

from __future__ import annotations

from starvideos_tui.core.formatting import LINK_WARNING
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.alerts import Links

NOW = 1_765_000_000.0


def test_equal_labels_and_errors_are_one_string_each_their_values_kept() -> None:
    docs = [
        {
            "id": f"video_starvideos_o3_{i}",
            "status": "failed",
            "label": "".join(["ke", "ep"]),
            "error": "".join(["content ", "policy"]),
        }
        for i in range(3)
    ]
    records = [TaskRecord.from_doc(doc) for doc in docs]
    assert records[0].label is records[1].label is records[2].label
    assert records[0].error is records[2].error
    for doc, record in zip(docs, records, strict=True):
        assert record.to_doc()["label"] == doc["label"] == "keep"
        assert record.to_doc()["error"] == doc["error"]
    printed = TaskRecord.from_doc(docs[0], kept=False)  # `list`: read once, not shared
    assert printed == records[0]


def unsaved(task_id: str, deadline: float) -> TaskRecord:
    return TaskRecord(
        id=task_id,
        status="completed",
        video_url=f"https://cdn.example/{task_id}.mp4",
        link_expires_at=deadline,
    )


def test_a_dead_link_is_not_told_nor_kept_and_a_new_deadline_is_told() -> None:
    records = {f"old{i}": unsaved(f"old{i}", NOW - 300 * 86_400.0 + i) for i in range(500)}
    records["soon"] = unsaved("soon", NOW + LINK_WARNING / 2)
    links = Links()
    links.track(records, None)

    assert links.dying(NOW, ()) == [("soon", NOW + LINK_WARNING / 2)]
    assert set(links.deadlines) == {"soon"}  # the year-old dead links: not kept
    assert links.dying(NOW + 1, ()) == []  # told once

    # The old task's link refreshed (a new signed URL): its new deadline is watched.
    records["old7"] = unsaved("old7", NOW + 60)
    links.track(records, ["old7"])
    assert links.dying(NOW + 2, ()) == [("old7", NOW + 60)]
