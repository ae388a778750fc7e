"""Settings, resolved flag > environment > config file > default (docs/contract.md).

The API key is never taken from a flag: it comes from `STARVIDEOS_API_KEY` or from the
key file `login` writes with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starvideos_tui import paths
from starvideos_tui.errors import StarVideosError, UsageError
from starvideos_tui.models import DEFAULT_BASE_URL, ApiKey, is_http_url
from starvideos_tui.notify import check_mode
from starvideos_tui.schedule import DEFAULT_INTERVAL, MIN_REMOTE_INTERVAL


class SettingsError(UsageError):
    """A bad setting value: the user's mistake (exit 2)."""


class KeyFileError(StarVideosError):
    """The key file exists but cannot be used (exit 1)."""


@dataclass(frozen=True)
class Settings:
    db: Path
    base_url: str
    interval: float
    download_dir: Path
    auto_download: bool
    log_level: str = "info"
    notify: str = "auto"  # notify.MODES
    theme: str = "auto"  # THEMES: the TUI's colours for a dark or a light background

    def api_key(self, env: Mapping[str, str] | None = None) -> ApiKey | None:
        return load_api_key(os.environ if env is None else env)


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    refused = SettingsError(f"--base-url must be an http(s) URL with a host, got {url[:80]!r}")
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        raise refused from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not is_http_url(url):
        raise refused
    if parts.username or parts.password:
        raise SettingsError("--base-url must not carry a user name or password")
    if parts.scheme == "http" and not is_loopback_url(url):
        raise SettingsError(
            "--base-url uses plain http to a remote host; the API key would travel "
            "unencrypted. Use https (plain http is allowed only for loopback)"
        )
    return url.rstrip("/")


def check_interval(value: Any, base_url: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"--interval must be a number of seconds, got {value!r}") from None
    if not seconds > 0 or seconds > 3600:
        raise SettingsError(f"--interval must be between 0 and 3600 seconds, got {value!r}")
    if seconds < MIN_REMOTE_INTERVAL and not is_loopback_url(base_url):
        raise SettingsError(
            f"--interval {seconds:g} is too fast for {urlsplit(base_url).hostname}: "
            f"the API asks for {MIN_REMOTE_INTERVAL:g} s or more "
            "(shorter intervals are allowed only for a loopback simulator)"
        )
    return seconds


THEMES = ("auto", "dark", "light")


def check_theme(value: Any) -> str:
    """--theme, STARVIDEOS_THEME or the config's theme: auto (the terminal's background
    says, where it answers), dark or light."""
    theme = str(value).strip().lower()
    if theme not in THEMES:
        raise SettingsError(f"--theme must be auto, dark or light, got {str(value)[:40]!r}")
    return theme


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"{name} must be 1 or 0, got {value!r}")


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    if path is None:
        try:
            path = paths.config_file()
        except paths.NoHome:
            return {}  # no home, so no config file in it
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc}") from None
    if "api_key" in data:
        raise SettingsError(
            f"config file {path} holds an api_key: keys go in the 0600 key file "
            "(starvideos-tui login) or STARVIDEOS_API_KEY"
        )
    return data


def resolve(
    flags: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Settings:
    """Settings from flags (None = not given), environment, config file and defaults."""
    env = os.environ if env is None else env
    config = read_config_file() if config is None else config

    def pick(flag: str, env_name: str, default: Any) -> Any:
        """The setting's value; a callable default is called only when it is needed."""
        if flags.get(flag) is not None:
            return flags[flag]
        if env.get(env_name):
            return env[env_name]
        if config.get(flag) is not None:
            return config[flag]
        return default() if callable(default) else default

    base_url = check_base_url(str(pick("base_url", "STARVIDEOS_BASE_URL", DEFAULT_BASE_URL)))
    interval = check_interval(pick("interval", "STARVIDEOS_INTERVAL", DEFAULT_INTERVAL), base_url)
    auto = parse_bool(
        pick("auto_download", "STARVIDEOS_AUTO_DOWNLOAD", False), "STARVIDEOS_AUTO_DOWNLOAD"
    )
    db = Path(str(pick("db", "STARVIDEOS_DB", paths.default_watchlist))).expanduser()
    folder = pick("download_dir", "STARVIDEOS_DOWNLOAD_DIR", paths.default_download_dir())
    level = str(pick("log_level", "STARVIDEOS_LOG_LEVEL", "info")).lower()
    if level not in ("debug", "info", "warning", "error"):
        raise SettingsError(f"--log-level must be debug, info, warning or error, got {level!r}")
    notify = check_mode(str(pick("notify", "STARVIDEOS_NOTIFY", "auto")))
    theme = check_theme(pick("theme", "STARVIDEOS_THEME", "auto"))
    return Settings(
        notify=notify,
        theme=theme,
        db=db,
        base_url=base_url,
        interval=interval,
        download_dir=Path(str(folder)).expanduser(),
        auto_download=auto,
        log_level=level,
    )


def check_network_settings() -> None:
    """Refuse proxy variables the clients cannot use, before anything is sent."""
    from starvideos_tui.network import ProxySettingError, check_proxy_settings

    try:
        check_proxy_settings()
    except ProxySettingError as exc:
        raise SettingsError(str(exc)) from None


def load_api_key(env: Mapping[str, str]) -> ApiKey | None:
    """The key from the environment, else from the key file; None when there is none."""
    if key := env.get("STARVIDEOS_API_KEY", "").strip():
        return ApiKey(key)
    try:
        path = paths.key_file()
    except paths.NoHome:
        return None  # no home, so no key file: the environment is the only way
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run: chmod 600 {path}"
        )
    try:
        key = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    return ApiKey(key) if key else None


def store_api_key(key: str) -> Path:
    """Write the key file with mode 0600 from its first byte, atomically."""
    path = paths.key_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(key.strip() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path
