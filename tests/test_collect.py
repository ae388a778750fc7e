"""`collect DIR` from the outside (CONTRACT.md; #26 item 5): real saved videos in a real
watchlist, the CLI in the test's process as a child would run it (helpers_inproc).

Picks are hard-linked under readable names (copied onto another file system), never over
anything or through a planted link, never a rejected take; a re-run adds only what is new
(known by the manifest and the sha256, not by name); a saved file gone, changed or not a
video is skipped with the reason; both manifests parse and list every collected file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from pathlib import Path

import pytest
from helpers_cli import Cli, assert_fails
from helpers_media import padded_video

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.collect import SLUG_MAX, file_name, slug
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video.media import check_video


@pytest.fixture
def cli(same_process_cli: Cli) -> Cli:
    return same_process_cli


MANIFEST_COLUMNS = {"id", "prompt", "label", "rating", "length", "width", "height", "codec"}
MANIFEST_COLUMNS |= {"fps", "duration", "sha256", "source", "file"}


class Takes:
    """Saved takes: real videos in a download folder, recorded in the CLI's watchlist."""

    def __init__(self, cli: Cli, folder: Path) -> None:
        self.cli = cli
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0

    def save(self, label: str | None = None, rating: int = 0, **fields: object) -> TaskRecord:
        self.count += 1
        task_id = f"video_starvideos_o3_17748{self.count:05d}"
        data = padded_video(60_000 + self.count * 1_000)  # each take its own bytes
        path = self.folder / f"{task_id}.mp4"
        path.write_bytes(data)
        record = TaskRecord(
            id=task_id,
            status="completed",
            created=1774836724 + self.count,
            actual_duration=3,
            prompt=f"take number {self.count} of a cat",
            label=label,
            added_at=time.time(),
            local_path=str(path),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            media=check_video(path).to_json(),
            rating=rating,
        )
        record = TaskRecord(**{**record.to_doc(), **fields, "history": ()})
        self.put(record)
        return record

    def put(self, record: TaskRecord) -> None:
        watchlist = Watchlist(self.cli.watchlist)
        try:
            if not watchlist.add([record])[0][1]:
                watchlist.update({record.id: lambda _r: record})
        finally:
            watchlist.close()


@pytest.fixture
def takes(cli: Cli, tmp_path: Path) -> Takes:
    return Takes(cli, tmp_path / "downloads")


def manifest(folder: Path) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    lines = (folder / "manifest.jsonl").read_text().splitlines()
    with (folder / "manifest.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return [json.loads(line) for line in lines], rows


def videos_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.suffix == ".mp4")


def test_collect_links_the_picks_under_readable_names_and_writes_both_manifests(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    fox = takes.save("Red fox at dawn", rating=5)
    takes.save("meh", rating=2)
    rejected = takes.save("shaky", rating=5, rejected=True)
    picks = tmp_path / "picks"
    result = cli.ok("collect", str(picks), "--min-rating", "4")
    name = f"red-fox-at-dawn-{fox.id[-8:]}.mp4"
    assert videos_in(picks) == [name]
    assert (picks / name).stat().st_ino == Path(fox.local_path or "").stat().st_ino
    assert f"collected (linked) {fox.id}: {picks / name}" in result.out_lines
    assert f"skipped {rejected.id}: rejected" in result.out_lines
    entries, rows = manifest(picks)
    assert [e["id"] for e in entries] == [fox.id] and [r["id"] for r in rows] == [fox.id]
    assert set(entries[0]) >= MANIFEST_COLUMNS and set(rows[0]) >= MANIFEST_COLUMNS
    assert entries[0]["sha256"] == fox.sha256 and rows[0]["sha256"] == fox.sha256
    assert entries[0]["width"] and entries[0]["codec"] and rows[0]["duration"]
    assert rows[0]["source"] == fox.local_path and rows[0]["label"] == "Red fox at dawn"


def test_a_rerun_adds_only_what_is_new_and_leaves_the_manifest_alone(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    first = takes.save("first pick", rating=4)
    second = takes.save("second pick", rating=1)
    picks = tmp_path / "picks"
    cli.ok("collect", str(picks), "--min-rating", "3")
    stamp = (picks / "manifest.jsonl").stat().st_mtime_ns
    again = cli.ok("collect", str(picks), "--min-rating", "3")
    assert again.out_lines == [f"already there {first.id}: {picks / file_name(first)}"]
    assert (picks / "manifest.jsonl").stat().st_mtime_ns == stamp
    takes.put(TaskRecord(**{**second.to_doc(), "rating": 5, "history": ()}))
    third = cli.ok("collect", str(picks), "--min-rating", "3")
    assert f"collected (linked) {second.id}: {picks / file_name(second)}" in third.out_lines
    assert videos_in(picks) == sorted([file_name(first), file_name(second)])
    entries, rows = manifest(picks)
    assert sorted(e["id"] for e in entries) == sorted([first.id, second.id])  # type: ignore[type-var]
    assert len(rows) == 2


def test_a_file_in_dir_under_the_name_but_with_other_bytes_is_not_taken_as_collected(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    take = takes.save("a pick", rating=5)
    picks = tmp_path / "picks"
    cli.ok("collect", str(picks))
    there = picks / file_name(take)
    there.unlink()
    there.write_bytes(b"the user's own notes")  # the manifest's name, other bytes
    result = cli.ok("collect", str(picks))
    assert there.read_bytes() == b"the user's own notes"
    renamed = picks / file_name(take).replace(".mp4", "-1.mp4")
    assert f"collected (linked) {take.id}: {renamed}" in result.out_lines
    entries, _ = manifest(picks)
    assert [e["file"] for e in entries] == [renamed.name]


def test_collect_onto_another_file_system_copies_and_checks(
    cli: Cli, takes: Takes, other_fs: Path
) -> None:
    take = takes.save("far away", rating=3)
    picks = other_fs / "picks"  # made by collect
    result = cli.ok("collect", str(picks))
    placed = picks / file_name(take)
    assert f"collected (copied) {take.id}: {placed}" in result.out_lines
    assert hashlib.sha256(placed.read_bytes()).hexdigest() == take.sha256
    assert placed.stat().st_ino != Path(take.local_path or "").stat().st_ino
    assert sorted(p.name for p in picks.iterdir()) == sorted(
        [placed.name, "manifest.jsonl", "manifest.csv"]
    )


def test_saved_files_gone_changed_or_not_video_are_skipped_with_why_and_never_copied(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    good = takes.save("good", rating=5)
    gone = takes.save("gone", rating=5)
    changed = takes.save("changed", rating=5)
    Path(gone.local_path or "").unlink()
    path = Path(changed.local_path or "")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    page = b"<html>not the video</html>"
    page_path = takes.folder / "page.mp4"
    page_path.write_bytes(page)
    not_video = takes.save("page", rating=5)
    takes.put(
        TaskRecord(
            **{
                **not_video.to_doc(),
                "history": (),
                "local_path": str(page_path),
                "size": len(page),
                "sha256": hashlib.sha256(page).hexdigest(),
                "media": None,
            }
        )
    )
    picks = tmp_path / "picks"
    result = cli.run("collect", str(picks))
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert videos_in(picks) == [file_name(good)]
    lines = "\n".join(result.out_lines)
    assert f"skipped {gone.id}: the saved file {gone.local_path} is gone" in lines
    assert f"skipped {changed.id}: the saved file {path} was changed" in lines
    assert f"skipped {not_video.id}: {page_path} is not a video" in lines


def test_a_symlink_planted_where_a_pick_would_go_is_refused(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    take = takes.save("target", rating=5)
    picks = tmp_path / "picks"
    picks.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    (picks / file_name(take)).symlink_to(victim)
    result = cli.run("collect", str(picks))
    assert result.code == 1 and "symbolic link" in result.out, str(result)
    assert victim.read_text() == "do not touch"
    # A manifest name planted as a link: refused before anything is collected.
    (picks / file_name(take)).unlink()
    (picks / "manifest.jsonl").symlink_to(victim)
    assert_fails(cli.run("collect", str(picks)), 1, "symbolic link")
    assert victim.read_text() == "do not touch"
    assert videos_in(picks) == []


HOSTILE = [
    "../../etc/passwd",
    "a/b\\c/..",
    "..",
    "\x1b[31mred\x07 alert\r\n",
    "🦊" * 300,
    "CON",
    "x" * 300,
    "-rf --no-preserve-root",
]


@pytest.mark.parametrize("name", ["manifest.csv", "manifest.jsonl"])
def test_a_users_file_under_a_manifests_name_is_never_replaced(
    cli: Cli, takes: Takes, tmp_path: Path, name: str
) -> None:
    take = takes.save("kept", rating=5)
    picks = tmp_path / "picks"
    picks.mkdir()
    (picks / name).write_text("my own notes, not a manifest\n")
    assert_fails(cli.run("collect", str(picks)), 1, "is not a manifest collect wrote")
    assert (picks / name).read_text() == "my own notes, not a manifest\n"
    assert not (picks / file_name(take)).exists()  # refused before anything was done
    (picks / name).unlink()
    cli.ok("collect", str(picks))
    cli.ok("collect", str(picks))  # its own manifests are written again


def test_names_from_hostile_labels_stay_short_ascii_and_inside_dir(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    records = [takes.save(label, rating=5) for label in HOSTILE]
    picks = tmp_path / "picks"
    cli.ok("collect", str(picks))
    names = videos_in(picks)
    assert len(names) == len(HOSTILE)
    for name in names:
        assert name.isascii() and name.isprintable() and not name.startswith((".", "-"))
        assert "/" not in name and "\\" not in name and len(name) <= SLUG_MAX + 1 + 8 + 4
    assert file_name(records[4]).startswith("take-number-5-of-a-cat-")  # emoji: the prompt
    assert not list(tmp_path.glob("etc*")) and not (tmp_path / "passwd").exists()
    entries, rows = manifest(picks)
    assert [e["label"] for e in entries] == HOSTILE  # the manifest keeps the text itself
    assert rows[7]["label"] == "'-rf --no-preserve-root"  # no formula for a spreadsheet
    assert len(slug("🦊" * 300)) == 0 and len(slug("word " * 100)) <= SLUG_MAX


def test_dry_run_writes_nothing_and_json_is_one_document(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    take = takes.save("dry", rating=5)
    rejected = takes.save("no", rating=5, rejected=True)
    picks = tmp_path / "picks"
    dry = cli.ok("collect", str(picks), "--dry-run", "--json")
    document = json.loads(dry.out)
    assert not picks.exists()
    assert [f["outcome"] for f in document["files"]] == ["would collect"]
    assert document["skipped"] == [{"id": rejected.id, "reason": "rejected"}]
    real = json.loads(cli.ok("collect", str(picks), "--json").out)
    assert real["files"][0]["path"] == str(picks / file_name(take))
    assert real["files"][0]["how"] == "linked"
    assert real["manifest"] == {
        "jsonl": str(picks / "manifest.jsonl"),
        "csv": str(picks / "manifest.csv"),
    }


@pytest.mark.parametrize("bad", ["6", "-1", "x", "2.5"])
def test_a_bad_min_rating_is_bad_input_and_writes_nothing(
    cli: Cli, takes: Takes, tmp_path: Path, bad: str
) -> None:
    takes.save("any", rating=5)
    picks = tmp_path / "picks"
    assert_fails(cli.run("collect", str(picks), f"--min-rating={bad}"), 2, "--min-rating")
    assert not picks.exists()


def test_label_filters_and_min_rating_zero_means_all(
    cli: Cli, takes: Takes, tmp_path: Path
) -> None:
    cat = takes.save("Cat on a skateboard")
    takes.save("dog in the rain")
    picks = tmp_path / "picks"
    result = cli.ok("collect", str(picks), "--label", "CAT", "--min-rating", "0")
    assert videos_in(picks) == [file_name(cat)]
    assert len(result.out_lines) == 1
