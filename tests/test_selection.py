"""core/selection.py: which tasks a user means by a status, a label, an age, `--active`,
archived or not; when a task finished. Pure functions of records and a clock."""

from __future__ import annotations

import pytest

from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.models import HttpProblem, TaskRecord
from starvideos_tui.core.selection import (
    API_STATUSES,
    SHOWN_STATES,
    STATUS_CHOICES,
    STATUS_WORDS,
    Selection,
    finished_before,
    is_active,
    matches_status,
    parse_age,
    parse_status,
    shown_state,
)
from starvideos_tui.core.vocabulary import LINK_EXPIRED, DownloadState, status_word
from starvideos_tui.core.worklist import finished_at

NOW = 1_800_000_000.0
DAY = 86400.0


def problem(kind: str) -> HttpProblem:
    return HttpProblem(kind=kind, message=kind)


# One record for every state the TUI can show (and the download states it adds).
STATES: dict[str, tuple[TaskRecord, DownloadState | None]] = {
    "unchecked": (TaskRecord(id="a"), None),
    "queued": (TaskRecord(id="b", status="queued"), None),
    "processing": (TaskRecord(id="c", status="processing"), None),
    "completed": (TaskRecord(id="d", status="completed", video_url="https://x/v.mp4"), None),
    "failed": (TaskRecord(id="e", status="failed", error="no"), None),
    "downloaded": (TaskRecord(id="f", status="completed", local_path="/v/f.mp4"), None),
    "link expired": (TaskRecord(id="g", status="completed", download_error=LINK_EXPIRED), None),
    "not a video": (
        TaskRecord(id="h", status="completed", download_error="the host sent an HTML page"),
        None,
    ),
    "save failed": (TaskRecord(id="i", status="completed", download_error="disk full"), None),
    "rate limited": (
        TaskRecord(id="j", status="queued", last_problem=problem("rate_limited")),
        None,
    ),
    "unknown id": (TaskRecord(id="k", last_problem=problem("not_found")), None),
    "retrying": (TaskRecord(id="l", status="processing", last_problem=problem("server")), None),
    "download queued": (TaskRecord(id="m", status="completed"), DownloadState("queued")),
    "downloading": (
        TaskRecord(id="n", status="completed"),
        DownloadState("downloading", done=5, total=10),
    ),
}


def test_every_state_the_tui_shows_is_a_word_status_accepts_and_no_other() -> None:
    """A state added to the vocabulary without being added here would be refused by
    `list --status`: each word shown is accepted, and each accepted word is shown."""
    for word, (record, download) in STATES.items():
        assert shown_state(record, download) == word
    assert set(STATES) == set(STATUS_WORDS) == {*API_STATUSES, *SHOWN_STATES}
    assert set(API_STATUSES) == {"queued", "processing", "completed", "failed"}
    assert all(" " not in choice for choice in STATUS_CHOICES)  # one shell word each


@pytest.mark.parametrize(
    ("typed", "word"),
    [
        ("completed", "completed"),
        ("COMPLETED", "completed"),
        (" Queued ", "queued"),
        ("link-expired", "link expired"),
        ("Link_Expired", "link expired"),
        ("link expired", "link expired"),
        ("unknown-id", "unknown id"),
        ("Unchecked", "unchecked"),
    ],
)
def test_a_status_is_read_in_any_case_with_blanks_hyphens_or_underscores(
    typed: str, word: str
) -> None:
    assert parse_status(typed) == word


@pytest.mark.parametrize("typed", ["done", "new", "unknown", "", "complete", "link"])
def test_an_unknown_status_is_refused_naming_it_and_every_accepted_word(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_status(typed, "--status")
    message = str(caught.value)
    assert message.startswith("--status: unknown status ") and repr(typed) in message
    assert all(choice in message for choice in STATUS_CHOICES)


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 7 * DAY),
        ("2w", 14 * DAY),
        ("1.5h", 5400),
        ("1d12h", 1.5 * DAY),
        (" 7D ", 7 * DAY),
        ("0s", 0),
    ],
)
def test_an_age_is_read_as_people_type_it(typed: str, seconds: float) -> None:
    assert parse_age(typed) == seconds


@pytest.mark.parametrize(
    "typed", ["7", "", "d", "7x", "-1d", "1e3s", "7 d", "nan", "inf", "٣d", "1d-2h", "1.d"]
)
def test_a_bad_age_is_refused_naming_the_flag(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_age(typed, "--older-than")
    assert str(caught.value).startswith("--older-than must be an age such as 90s, 30m")


def test_a_bare_number_is_told_to_take_a_unit_and_a_huge_age_is_refused() -> None:
    with pytest.raises(UsageError, match=r"add a unit"):
        parse_age("30", "--since")
    with pytest.raises(UsageError, match="at most 100 years"):
        parse_age("99999999999w", "--since")


def test_a_status_matches_the_apis_word_or_the_shown_state() -> None:
    """`completed` is the API's word: saved or not, every completed task; `downloaded` only
    the saved; `queued` takes a queued task that is being retried, as `retrying` does."""
    saved, unsaved = STATES["downloaded"][0], STATES["completed"][0]
    assert matches_status(saved, {"completed"}) and matches_status(unsaved, {"completed"})
    assert matches_status(saved, {"downloaded"}) and not matches_status(unsaved, {"downloaded"})
    limited = STATES["rate limited"][0]
    assert matches_status(limited, {"queued"}) and matches_status(limited, {"rate limited"})
    assert not matches_status(limited, {"processing", "failed"})
    assert matches_status(STATES["unchecked"][0], {"unchecked"})
    record, download = STATES["downloading"]
    assert matches_status(record, {"downloading"}, download)
    assert not matches_status(record, {"downloading"})  # nothing downloading it here


def test_a_task_finished_when_its_final_status_came() -> None:
    record = TaskRecord(
        id="t",
        status="completed",
        created=int(NOW - 10 * DAY),
        updated_at=NOW - DAY,  # a later change (a new link): not when it finished
        history=(("queued", NOW - 10 * DAY), ("completed", NOW - 9 * DAY)),
    )
    assert finished_at(record) == NOW - 9 * DAY
    assert finished_before(record, NOW - 8 * DAY)
    assert not finished_before(record, NOW - 9.5 * DAY)
    no_history = TaskRecord(id="u", status="failed", created=int(NOW - 5 * DAY), updated_at=NOW)
    assert finished_at(no_history) == NOW
    only_created = TaskRecord(id="v", status="failed", created=int(NOW - 5 * DAY))
    assert finished_at(only_created) == NOW - 5 * DAY
    assert finished_at(TaskRecord(id="w", status="failed")) is None
    running = TaskRecord(id="x", status="processing", history=(("completed", NOW - 9 * DAY),))
    assert finished_at(running) is None and not finished_before(running, NOW)


def test_active_is_what_is_not_final_or_completed_and_not_saved() -> None:
    active = {word for word, (record, _) in STATES.items() if is_active(record)}
    # A link known dead is past saving: not active (as the TUI's work view has it).
    assert active == set(STATES) - {"failed", "downloaded", "link expired"}


def test_archived_tasks_are_left_out_unless_asked_for() -> None:
    kept = TaskRecord(id="kept", status="queued")
    shelved = TaskRecord(id="shelved", status="queued", archived=True, archived_at=NOW)
    assert Selection().select([kept, shelved], NOW) == [kept]
    assert Selection(archived=True).select([kept, shelved], NOW) == [kept, shelved]


def test_label_is_a_substring_in_any_case_of_the_label_else_the_prompt() -> None:
    labelled = TaskRecord(id="a", label="Fox in Snow", prompt="a red fox")
    prompted = TaskRecord(id="b", prompt="A FOX at night")
    plain = TaskRecord(id="c")
    picks = Selection(label="fox").select([labelled, prompted, plain], NOW)
    assert picks == [labelled, prompted]
    assert Selection(label="red").select([labelled, prompted], NOW) == []  # the label wins
    assert Selection(label="IN SNOW").select([labelled], NOW) == [labelled]


def test_since_compares_the_creation_else_when_the_task_was_watched() -> None:
    new = TaskRecord(id="new", created=int(NOW - 3600))
    old = TaskRecord(id="old", created=int(NOW - 3 * DAY), added_at=NOW)  # created wins
    added = TaskRecord(id="added", added_at=NOW - 60)
    timeless = TaskRecord(id="timeless")
    assert Selection(since=DAY).select([new, old, added, timeless], NOW) == [new, added]


def test_filters_combine_with_and_and_statuses_with_or() -> None:
    records = [record for record, _ in STATES.values()]
    either = Selection(statuses=frozenset({"failed", "downloaded"})).select(records, NOW)
    assert [r.id for r in either] == ["e", "f"]
    both = Selection(statuses=frozenset({"completed"}), active=True).select(records, NOW)
    assert {shown_state(r) for r in both} == {"completed", "not a video", "save failed"}
    assert {status_word(r) for r in both} <= set(STATUS_WORDS)
    none = Selection(statuses=frozenset({"failed"}), active=True).select(records, NOW)
    assert none == []
