"""Frames of a saved video for the TUI's side panel (video/preview.py), named here so that
no face imports the video path itself (pyproject.toml's contract)."""

from starvideos_tui.video.preview import SPOTS as SPOTS
from starvideos_tui.video.preview import UPPER_HALF as UPPER_HALF
from starvideos_tui.video.preview import Picture as Picture
from starvideos_tui.video.preview import PreviewError as PreviewError
from starvideos_tui.video.preview import cached_frames as cached_frames
from starvideos_tui.video.preview import frame_paths as frame_paths
from starvideos_tui.video.preview import picture as picture
