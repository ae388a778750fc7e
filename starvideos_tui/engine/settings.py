"""Settings, resolved flag > environment > config file > default (docs/contract.md).

The API key is never taken from a flag: it comes from `STARVIDEOS_API_KEY` or from the
key file `login` writes with mode 0600.
"""

from __future__ import annotations

import codecs
import ipaddress
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starvideos_tui.core import localfile, paths
from starvideos_tui.core.errors import StarVideosError, UsageError
from starvideos_tui.core.models import DEFAULT_BASE_URL, ApiKey
from starvideos_tui.core.schedule import DEFAULT_INTERVAL, MIN_REMOTE_INTERVAL
from starvideos_tui.core.values import http_url
from starvideos_tui.terminal.notify import check_mode

MAX_INTERVAL = 3600.0


class SettingsError(UsageError):
    """A bad setting value: the user's mistake (exit 2)."""


class KeyFileError(StarVideosError):
    """The key file exists but cannot be used (exit 1)."""


CONFIG_LIMIT = 1_000_000  # bytes of config.toml: a few settings, never megabytes
KEY_LIMIT = 4_000  # bytes of the key file: a key is one short line


@dataclass(frozen=True)
class Settings:
    db: Path
    base_url: str
    interval: float
    download_dir: Path
    auto_download: bool
    log_level: str = "info"
    notify: str = "auto"  # notify.MODES
    notify_given: bool = False  # set by flag, environment or config: headless commands notify
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
    parts = http_url(url)
    if parts is None:
        raise refused
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
    if seconds < MIN_REMOTE_INTERVAL and not is_loopback_url(base_url):
        # 0 or -5 as well: for a remote API the rule to state is this one.
        raise SettingsError(
            f"--interval {seconds:g} is too fast for {urlsplit(base_url).hostname}: "
            f"the API asks for {MIN_REMOTE_INTERVAL:g} s or more "
            "(shorter intervals are allowed only for a loopback simulator)"
        )
    if not seconds > 0:  # NaN too
        raise SettingsError(f"--interval must be more than 0 seconds, got {value!r}")
    if seconds > MAX_INTERVAL:
        raise SettingsError(
            f"--interval must be at most {MAX_INTERVAL:g} seconds (an hour), got {value!r}"
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
        raw = localfile.read_regular(path, CONFIG_LIMIT)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.removeprefix(codecs.BOM_UTF8).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SettingsError(f"config file {path} is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
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
    notify = pick("notify", "STARVIDEOS_NOTIFY", None)
    theme = check_theme(pick("theme", "STARVIDEOS_THEME", "auto"))
    return Settings(
        notify=check_mode(str(notify)) if notify is not None else "auto",
        notify_given=notify is not None,
        theme=theme,
        db=db,
        base_url=base_url,
        interval=interval,
        download_dir=Path(str(folder)).expanduser(),
        auto_download=auto,
        log_level=level,
    )


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


def load_api_key(env: Mapping[str, str]) -> ApiKey | None:
    """The key from the environment, else from the key file; None when there is none."""
    if key := env.get("STARVIDEOS_API_KEY", "").strip():
        if why := key_problem(key):
            raise SettingsError(f"the key in STARVIDEOS_API_KEY {why}")
        return ApiKey(key)
    try:
        path = paths.key_file()
    except paths.NoHome:
        return None  # no home, so no key file: the environment is the only way
    try:
        fd = localfile.open_regular(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"key file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                f"run: chmod 600 {path}"
            )
        try:
            raw = handle.read(KEY_LIMIT + 1)
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if len(raw) > KEY_LIMIT:
        raise KeyFileError(
            f"key file {path} is over {localfile.size_words(KEY_LIMIT)}: a key is one short line"
        )
    try:
        key = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise KeyFileError(
            f"key file {path} is not UTF-8 text; write it again with starvideos-tui login"
        ) from None
    if why := key_problem(key):
        raise KeyFileError(f"the key in {path} {why}")
    return ApiKey(key) if key else None


def key_problem(key: str) -> str | None:
    """Why `key` (stripped) cannot go in an Authorization header, in words that never
    show it; None when it can."""
    if "\n" in key or "\r" in key:
        return "holds a line break (a key is one line)"
    if not key.isascii():
        return "holds a character that is not ASCII"
    if any(c.isspace() or not c.isprintable() for c in key):
        return "holds a space or a control character"
    return None


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
