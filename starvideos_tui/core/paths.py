"""Every file location the app uses, in one place.

Nothing is created at import time; callers create what they write, lazily. Tests point the
whole app elsewhere with `STARVIDEOS_HOME`, which puts data, config and state under one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from starvideos_tui.core.errors import StarVideosError

APP_NAME = "starvideos-tui"


def _home_override() -> Path | None:
    home = os.environ.get("STARVIDEOS_HOME")
    return Path(home) if home else None


class NoHome(StarVideosError):
    """No home directory can be found (HOME unset and no passwd entry): the places that
    live under it have to be named another way."""

    def __init__(self, what: str, instead: str) -> None:
        super().__init__(
            f"no home directory to keep the {what} in: set HOME or STARVIDEOS_HOME"
            + (f", or {instead}" if instead else "")
        )


def _user_dir(kind: str, what: str, instead: str) -> Path:
    if home := _home_override():
        return home / kind
    import platformdirs

    make = {
        "data": platformdirs.user_data_path,
        "config": platformdirs.user_config_path,
        "state": platformdirs.user_state_path,
        "cache": platformdirs.user_cache_path,
    }[kind]
    try:
        return make(APP_NAME, appauthor=False)
    except (RuntimeError, KeyError, OSError):
        # platformdirs expands "~", which fails for a user with no HOME and no passwd
        # entry (a service account, a container's random uid).
        raise NoHome(what, instead) from None


def data_dir() -> Path:
    return _user_dir("data", "watchlist", "name one with STARVIDEOS_DB or --db")


def config_dir() -> Path:
    return _user_dir("config", "API key", "give the key in STARVIDEOS_API_KEY")


def state_dir() -> Path:
    return _user_dir("state", "log file", "")


def cache_dir() -> Path:
    return _user_dir("cache", "pictures of videos", "")


def default_watchlist() -> Path:
    return data_dir() / "watchlist.json"


def config_file() -> Path:
    return config_dir() / "config.toml"


def key_file() -> Path:
    return config_dir() / "api-key"


def log_file() -> Path:
    return state_dir() / "starvideos-tui.log"


def default_download_dir() -> Path:
    return Path("starvideos-downloads")


def why_mkdir_failed(folder: Path, exc: OSError) -> str:
    """Why `folder` could not be created, in words: the part of its path that is a file
    rather than "File exists" or "Not a directory"."""
    for ancestor in (folder, *folder.parents):
        try:
            if ancestor.exists() and not ancestor.is_dir():
                return f"{ancestor} is a file, not a folder"
        except OSError:
            continue
    return exc.strerror or str(exc)
