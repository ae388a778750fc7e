"""starvideos-tui: a terminal monitor for StarVideos O3 video-generation tasks."""

__version__ = "0.1.0"
