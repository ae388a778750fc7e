"""Checks of setting values, and the config file's reading: each refusal is one line naming
the setting (a SettingsError, exit 2)."""

from __future__ import annotations

import codecs
import ipaddress
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starvideos_tui.core import localfile, paths
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.schedule import MIN_REMOTE_INTERVAL
from starvideos_tui.core.values import http_url

MAX_INTERVAL = 3600.0
CONFIG_LIMIT = 1_000_000  # bytes of config.toml: a few settings, never megabytes


class SettingsError(UsageError):
    """A bad setting value: the user's mistake (exit 2)."""


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


MAX_HISTORY_DAYS = 36_500.0  # a century: "never history" without an infinity


def check_history_days(value: Any) -> float:
    """config.toml's history_days (or STARVIDEOS_HISTORY_DAYS): the TUI hides tasks that
    finished more than this many days ago until its history key shows them."""
    refused = SettingsError(
        f"history_days must be a number of days above 0 (e.g. 7 or 0.5), got {str(value)[:40]!r}"
    )
    if isinstance(value, bool):
        raise refused
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise refused from None
    if not 0 < days <= MAX_HISTORY_DAYS:  # NaN too
        raise refused
    return days


THEMES = ("auto", "dark", "light")


def check_theme(value: Any) -> str:
    """--theme, STARVIDEOS_THEME or the config's theme: auto (the terminal's background
    says, where it answers), dark or light."""
    theme = str(value).strip().lower()
    if theme not in THEMES:
        raise SettingsError(f"--theme must be auto, dark or light, got {str(value)[:40]!r}")
    return theme


def keys_table(value: Any) -> tuple[tuple[str, str], ...]:
    """config.toml's [keys] table as (binding id, keys) pairs; which ids and keys exist is
    the TUI's to check (tui/bindings.py)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise SettingsError(
            'config.toml: keys must be a table, e.g. [keys] then download = "D" on its own line'
        )
    pairs = []
    for name, keys in value.items():
        if not isinstance(keys, str):
            raise SettingsError(
                f'config.toml [keys] {name} = {keys!r}: keys are a string, e.g. "D" or "q,ctrl+q"'
            )
        pairs.append((name, keys))
    return tuple(pairs)
