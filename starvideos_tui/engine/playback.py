"""Playing a saved video (video/playback.py), named here so that no face imports the
video path itself (pyproject.toml's contract)."""

from starvideos_tui.video.playback import MAX_FPS as MAX_FPS
from starvideos_tui.video.playback import SEEK_STEP as SEEK_STEP
from starvideos_tui.video.playback import Frame as Frame
from starvideos_tui.video.playback import Player as Player
from starvideos_tui.video.playback import clock_text as clock_text
