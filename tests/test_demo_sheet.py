"""The demo's contact sheet: its finished takes are saved into its throw-away folder, with
a frame cache there too, so `v` shows thumbnails to a new user (engine/settings.py)."""

from __future__ import annotations

from pathlib import Path

from starvideos_tui.engine.settings import resolve


def test_the_demo_saves_its_takes_and_keeps_frames_in_its_folder(tmp_path: Path) -> None:
    settings = resolve({"demo": True}, env={"HOME": str(tmp_path)}, config={})
    session = settings.demo_session(tmp_path / "demo", "http://127.0.0.1:1")
    assert session.auto_download
    assert session.frames_dir == tmp_path / "demo" / "frames"
    assert session.download_dir == tmp_path / "demo" / "downloads"


def test_auto_download_set_off_by_flag_is_kept_in_the_demo(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path)}
    settings = resolve({"demo": True, "auto_download": False}, env=env, config={})
    assert not settings.demo_session(tmp_path / "d", "http://127.0.0.1:1").auto_download
