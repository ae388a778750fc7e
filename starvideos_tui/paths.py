"""Every file location the app uses, in one place.

Nothing is created at import time; callers create what they write, lazily. Tests point the
whole app elsewhere with `STARVIDEOS_HOME`, which puts data, config and state under one folder.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "starvideos-tui"


def _home_override() -> Path | None:
    home = os.environ.get("STARVIDEOS_HOME")
    return Path(home) if home else None


def data_dir() -> Path:
    if home := _home_override():
        return home / "data"
    from platformdirs import user_data_path

    return user_data_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    if home := _home_override():
        return home / "config"
    from platformdirs import user_config_path

    return user_config_path(APP_NAME, appauthor=False)


def state_dir() -> Path:
    if home := _home_override():
        return home / "state"
    from platformdirs import user_state_path

    return user_state_path(APP_NAME, appauthor=False)


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
