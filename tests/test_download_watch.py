"""`watch`, end to end against the simulator (in the test's process as a child would run
it, helpers_inproc): every video saved unattended."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_cli import Run
from helpers_download import (
    KEY,
    files_in,
)
from helpers_inproc import run_in_process
from helpers_proc import child_environment

from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.simulator.video import sample_video

# -- `watch`, end to end -----------------------------------------------------------------


@pytest.fixture
def live_simulator() -> Iterator[Simulator]:
    """The simulator on the real clock, for a command that polls it."""
    sim = Simulator(SimConfig(port=0, seed=11)).start()
    try:
        yield sim
    finally:
        sim.stop()


def run_cli(
    capsys: pytest.CaptureFixture[str], sim: Simulator, home: Path, *args: str, key: str = KEY
) -> Run:
    """The command in the test's process as a child would run it (helpers_inproc)."""
    env = child_environment(home)
    env.update(
        STARVIDEOS_BASE_URL=sim.base_url,
        STARVIDEOS_API_KEY=key,
        NO_COLOR="1",
    )
    return run_in_process(capsys, args, env=env, cwd=home)


def transitions_of(stdout: str, task_id: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith(f"{task_id} ") and "->" in line]


@pytest.mark.parametrize("with_failure", [True, False], ids=["one-fails", "all-complete"])
def test_watch_saves_every_video_unattended_and_exits_by_outcome(
    live_simulator: Simulator,
    tmp_path: Path,
    with_failure: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = live_simulator
    good = [
        sim.seed_task("a heron takes off, slow pan", queued=0.4, processing=1.0),
        sim.seed_task("rain on a tin roof, close-up", queued=0.8, processing=1.2),
    ]
    bad = [sim.seed_task("FAIL: a render that breaks", queued=0.4, processing=0.6)]
    ids = good + (bad if with_failure else [])
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    added = run_cli(capsys, sim, home, "add", *ids)
    assert added.code == 0, added.err

    result = run_cli(capsys, sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch")

    assert result.code == (1 if with_failure else 0), result.out + result.err
    assert "Traceback" not in result.err
    lines = result.out.splitlines()
    for task_id in good:
        steps = transitions_of(result.out, task_id)
        assert steps and steps[-1].endswith("-> completed"), result.out
        assert len(steps) == len(set(steps))  # one line per transition, never repeated
        assert lines.count(f"{task_id} saved {folder.resolve() / f'{task_id}.mp4'}") == 1
        assert (folder / f"{task_id}.mp4").read_bytes() == sample_video().data
    if with_failure:
        (failed,) = bad
        steps = transitions_of(result.out, failed)
        assert steps and steps[-1].endswith("-> failed") and len(steps) == len(set(steps))
        assert sum(line.startswith(f"{failed} failed: ") for line in lines) == 1
        assert not (folder / f"{failed}.mp4").exists()
    assert files_in(folder) == sorted(f"{t}.mp4" for t in good)
    video = [r for r in sim.requests if r.path.startswith("/videos/")]
    assert len(video) == len(good)
    assert all("authorization" not in r.headers for r in video)
    listed = json.loads(run_cli(capsys, sim, home, "list", "--json").out)
    by_id = {item["id"]: item for item in listed}
    for task_id in good:
        assert by_id[task_id]["status"] == "completed"


def test_watch_with_a_short_api_key_still_saves_the_videos(
    live_simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the client once masked the key in the body before parsing it, so with
    STARVIDEOS_API_KEY=k the link's 'token=' became 'to***en=' and every save got a 403."""
    sim = live_simulator
    task_id = sim.seed_task("a heron takes off", queued=0.2, processing=0.4)
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    assert run_cli(capsys, sim, home, "add", task_id, key="k").code == 0

    result = run_cli(
        capsys, sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch", key="k"
    )

    assert result.code == 0, result.out + result.err
    assert (folder / f"{task_id}.mp4").read_bytes() == sample_video().data


def test_watch_survives_a_video_url_with_a_bad_port(
    live_simulator: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = live_simulator
    good = sim.seed_task("a heron takes off", queued=0.2, processing=0.4)
    broken = "video_starvideos_o3_9990000001"
    sim.add_fixed(
        broken,
        {
            "id": broken,
            "object": "video",
            "status": "completed",
            "video_url": "http://127.0.0.1:99999/x.mp4",
        },
    )
    home, folder = tmp_path / "home", tmp_path / "saved"
    home.mkdir()
    assert run_cli(capsys, sim, home, "add", broken, good).code == 0

    result = run_cli(capsys, sim, home, "--interval", "0.5", "--download-dir", str(folder), "watch")

    assert "Traceback" not in result.err
    assert result.code == 1
    assert f"{broken} completed but not saved: " in result.out
    assert (folder / f"{good}.mp4").read_bytes() == sample_video().data
