"""Settings: everything that configures a run, resolved once, into one frozen `Settings`
that both faces take (the CLI's commands and the TUI's launch). Each comes from its flag,
else its environment variable, else config.toml, else its default (docs/contract.md); each
default is written once, here or in the module that owns the value.

- The TUI's own settings (--preview, STARVIDEOS_BELL) are not read from the config file,
  as before; the demo reads no config file and takes only the flags it uses.
- The API key is never taken from a flag: it comes from `STARVIDEOS_API_KEY` or from the
  key file `login` writes with mode 0600 (`apikey`), read when a command needs it.
- `open_watchlist` is the one way to open the watchlist the settings name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from starvideos_tui.core import paths
from starvideos_tui.core.models import DEFAULT_BASE_URL, ApiKey
from starvideos_tui.core.schedule import DEFAULT_INTERVAL
from starvideos_tui.core.worklist import DEFAULT_HISTORY_DAYS
from starvideos_tui.engine.apikey import KeyFileError, key_problem, load_api_key, store_api_key
from starvideos_tui.engine.setting_values import (
    CONFIG_LIMIT,
    MAX_INTERVAL,
    SettingsError,
    check_base_url,
    check_history_days,
    check_interval,
    check_theme,
    is_loopback_url,
    keys_table,
    parse_bool,
    read_config_file,
)
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal.notify import check_mode

__all__ = [
    "CONFIG_LIMIT",
    "DEMO_INTERVAL",
    "MAX_INTERVAL",
    "KeyFileError",
    "Settings",
    "SettingsError",
    "check_base_url",
    "check_interval",
    "check_network_settings",
    "check_theme",
    "is_loopback_url",
    "key_problem",
    "load_api_key",
    "parse_bool",
    "read_config_file",
    "resolve",
    "store_api_key",
]

DEFAULT_NOTIFY = "auto"  # notify.MODES: the terminal's own notifications where it has them
DEFAULT_PREVIEW = "auto"  # the terminal's own pictures where it has them, else half-blocks
PREVIEW_MODES = ("auto", "blocks", "off")
LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LOG_LEVEL = "info"
DEFAULT_THEME = "auto"  # THEMES: the terminal's background says, where it answers
DEMO_INTERVAL = 5.0  # the demo polls its own simulator: no API to spare


@dataclass(frozen=True)
class Settings:
    db: Path
    base_url: str
    interval: float
    download_dir: Path
    auto_download: bool
    log_level: str
    notify: str  # notify.MODES
    preview: str  # PREVIEW_MODES: pictures of saved videos in the TUI's side panel
    theme: str  # THEMES: the TUI's colours for a dark or a light background
    bell: bool  # False: the TUI notifies not at all (STARVIDEOS_BELL=0)
    frames_dir: Path | None  # where the TUI keeps those pictures' frames (None: no home)
    demo: bool  # the TUI on the built-in simulator, in a throw-away folder
    given: frozenset[str]  # the settings set by flag, environment or config (not defaults)
    # The environment the settings were read from: the key and the terminal's own facts
    # (TMUX, NO_COLOR, TERM) are read from it, never from os.environ again.
    keymap: tuple[tuple[str, str], ...]  # config.toml's [keys]: (binding id, keys)
    # The TUI's history: tasks finished more than this many days ago (config history_days)
    history_days: float
    environ: Mapping[str, str] = field(repr=False)

    @property
    def notify_given(self) -> bool:
        """Set by flag, environment or config: headless commands notify."""
        return "notify" in self.given

    def api_key(self) -> ApiKey | None:
        return load_api_key(self.environ)

    def open_watchlist(self) -> Watchlist:
        """The watchlist these settings name: the one way every command and face opens it."""
        return Watchlist(self.db)

    def demo_session(self, folder: Path, base_url: str) -> Settings:
        """The demo's settings once its throw-away folder and simulator exist: its
        watchlist, frames and (unless --download-dir says otherwise) videos in the folder.
        Finished takes are saved as they finish (unless auto-download was set off), so that
        a new user's `v` shows their thumbnails and `space` plays them."""
        return replace(
            self,
            auto_download=self.auto_download if "auto_download" in self.given else True,
            db=folder / "watchlist.json",
            base_url=base_url,
            download_dir=(
                self.download_dir if "download_dir" in self.given else folder / "downloads"
            ),
            frames_dir=folder / "frames",
        )


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Settings:
    """Every setting of a run from flags (None = not given: argparse's namespace, as a
    mapping), environment, config file and defaults; a bad one raises SettingsError."""
    environ = MappingProxyType(dict(os.environ if env is None else env))
    demo = bool(flags.get("demo"))
    given: set[str] = set()
    if demo:
        # The demo runs on its own simulator and folder: it takes --download-dir,
        # --auto-download and --log-level, and nothing from the environment or a config
        # file, for those; its notifications and pictures are set as the TUI's are.
        run_flags: Mapping[str, Any] = {
            k: flags.get(k) for k in ("download_dir", "auto_download", "log_level")
        }
        run_env: Mapping[str, str] = {}
        config = {}
    else:
        run_flags, run_env = flags, environ
        config = read_config_file() if config is None else config

    def pick(
        name: str,
        env_name: str,
        default: Any,
        *,
        flags: Mapping[str, Any] = run_flags,
        env: Mapping[str, str] = run_env,
        config: Mapping[str, Any] = config,
    ) -> Any:
        """The setting's value; a callable default is called only when it is needed."""
        if flags.get(name) is not None:
            value = flags[name]
        elif env.get(env_name):
            value = env[env_name]
        elif config.get(name) is not None:
            value = config[name]
        else:
            return default() if callable(default) else default
        given.add(name)
        return value

    if demo:
        base_url, interval, db = "", DEMO_INTERVAL, Path(os.devnull)  # demo_session's
    else:
        base_url = check_base_url(str(pick("base_url", "STARVIDEOS_BASE_URL", DEFAULT_BASE_URL)))
        interval = check_interval(
            pick("interval", "STARVIDEOS_INTERVAL", DEFAULT_INTERVAL), base_url
        )
    auto = parse_bool(
        pick("auto_download", "STARVIDEOS_AUTO_DOWNLOAD", False), "STARVIDEOS_AUTO_DOWNLOAD"
    )
    if not demo:
        db = Path(str(pick("db", "STARVIDEOS_DB", paths.default_watchlist))).expanduser()
    folder = Path(str(pick("download_dir", "STARVIDEOS_DOWNLOAD_DIR", paths.default_download_dir)))
    level = str(pick("log_level", "STARVIDEOS_LOG_LEVEL", DEFAULT_LOG_LEVEL)).lower()
    if level not in LOG_LEVELS:
        raise SettingsError(f"--log-level must be debug, info, warning or error, got {level!r}")
    notify = check_mode(
        str(pick("notify", "STARVIDEOS_NOTIFY", DEFAULT_NOTIFY, flags=flags, env=environ))
    )
    # The TUI's own: flag, else environment, else default (no config file keys).
    preview = (
        str(
            pick(
                "preview",
                "STARVIDEOS_PREVIEW",
                DEFAULT_PREVIEW,
                flags=flags,
                env=environ,
                config={},
            )
        )
        .strip()
        .lower()
    )
    if preview not in PREVIEW_MODES:
        raise SettingsError(f"STARVIDEOS_PREVIEW must be auto, blocks or off, got {preview!r}")
    theme = check_theme(pick("theme", "STARVIDEOS_THEME", DEFAULT_THEME, flags=flags, env=environ))
    bell = parse_bool(environ.get("STARVIDEOS_BELL", "1"), "STARVIDEOS_BELL")
    history_days = check_history_days(
        pick("history_days", "STARVIDEOS_HISTORY_DAYS", DEFAULT_HISTORY_DAYS)
    )
    return Settings(
        db=db,
        base_url=base_url,
        interval=interval,
        download_dir=folder if demo else folder.expanduser(),
        auto_download=auto,
        log_level=level,
        notify=notify,
        preview=preview,
        theme=theme,
        bell=bell,
        frames_dir=None if demo else _frames_dir(),
        demo=demo,
        given=frozenset(given),
        keymap=keys_table(config.get("keys")),
        history_days=history_days,
        environ=environ,
    )


def _frames_dir() -> Path | None:
    try:
        return paths.cache_dir() / "frames"
    except paths.NoHome:
        return None  # no home, no cache: the panel shows no picture


def check_network_settings() -> None:
    """Refuse proxy variables the clients cannot use, and a video size limit the downloader
    cannot read (STARVIDEOS_MAX_VIDEO_BYTES), before anything is sent."""
    from starvideos_tui.api.network import ProxySettingError, check_proxy_settings
    from starvideos_tui.core.videosize import max_video_bytes

    try:
        check_proxy_settings()
        max_video_bytes()
    except (ProxySettingError, ValueError) as exc:
        raise SettingsError(str(exc)) from None
